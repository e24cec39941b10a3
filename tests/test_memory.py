"""Memory: active memory returns to its baseline, eval releases intermediates
(peak memory of a long elementwise chain), the buffer cache and its limits.
These are the host (CPU) allocator's statistics, so every test runs on the
CPU stream, also where the GPU is the default device
(scripts/pytest_gpu_default.py)."""

import gc

import numpy as np
import pytest

import oxmlx.core as mx

N = 1 << 20  # 4 MB of float32
MB4 = 4 * N


@pytest.fixture(autouse=True)
def clean_cache():
    gc.collect()
    mx.clear_cache()
    limit = mx.get_memory_limit()
    cache = mx.set_cache_limit(1 << 40)
    mx.set_cache_limit(cache)
    with mx.stream(mx.cpu):
        yield
    mx.set_memory_limit(limit)
    mx.set_cache_limit(cache)
    gc.collect()
    mx.clear_cache()


def test_active_memory_returns_to_baseline():
    base = mx.get_active_memory()
    x = mx.ones((4 * N,))  # 16 MB
    y = mx.exp(x) * 2 + mx.sin(x)
    mx.eval(y)
    assert mx.get_active_memory() - base >= 4 * MB4  # y is alive
    assert y[0].item() == pytest.approx(2 * np.e + np.sin(1.0), rel=1e-6)
    del x, y
    gc.collect()
    assert abs(mx.get_active_memory() - base) < 64 * 1024


def test_building_a_graph_allocates_nothing_until_eval():
    x = mx.ones((N,))
    mx.eval(x)
    base = mx.get_active_memory()
    y = x
    for _ in range(10):
        y = mx.exp(y * 0.5)
    assert mx.get_active_memory() - base < 64 * 1024  # only scalar constants
    mx.eval(y)
    assert mx.get_active_memory() - base >= MB4


def test_intermediates_are_released_during_eval():
    x = mx.ones((N,))
    mx.eval(x)
    base = mx.get_active_memory()
    y = x
    for _ in range(20):
        y = mx.exp(y * 0.5) - 1.0  # 60 elementwise ops, each a 4 MB intermediate
    mx.reset_peak_memory()
    mx.eval(y)
    peak = mx.get_peak_memory() - base
    assert peak < 4 * MB4, f"peak {peak / MB4:.1f} x 4 MB"  # far below 60 x 4 MB
    np.testing.assert_allclose(np.array(y[:3]), np.full(3, _chain(1.0)), rtol=1e-5)


def _chain(v):
    for _ in range(20):
        v = np.exp(np.float32(v) * np.float32(0.5)) - np.float32(1.0)
    return v


def test_reductions_and_views_release_intermediates():
    base = mx.get_active_memory()
    x = mx.ones((8 * N,))  # 32 MB, never evaluated on its own
    total = mx.sum(mx.exp(x[::2] * 2.0) + 1.0)
    mx.reset_peak_memory()
    assert total.item() == pytest.approx(4 * N * (np.exp(2.0) + 1.0), rel=1e-4)
    assert mx.get_peak_memory() - base < 8 * 8 * N  # x plus at most one half-size temp
    del x, total
    gc.collect()
    assert abs(mx.get_active_memory() - base) < 64 * 1024


def test_peak_memory_reset():
    x = mx.ones((2 * N,))
    mx.eval(x)
    del x
    gc.collect()
    assert mx.get_peak_memory() >= 2 * MB4
    mx.reset_peak_memory()
    assert mx.get_peak_memory() <= mx.get_active_memory() + 64 * 1024


def test_cache_reuse_and_clear_cache():
    x = mx.ones((N,)) + 1
    mx.eval(x)
    active = mx.get_active_memory()
    del x
    gc.collect()
    assert mx.get_cache_memory() >= MB4  # the freed buffer is kept
    assert mx.get_active_memory() <= active - MB4
    cached = mx.get_cache_memory()
    y = mx.zeros((N,)) + 2  # same size: served from the cache
    mx.eval(y)
    assert mx.get_cache_memory() <= cached - MB4 + 64 * 1024
    assert y[0].item() == 2.0  # no stale data from the reused buffer
    del y
    gc.collect()
    mx.clear_cache()
    assert mx.get_cache_memory() == 0


def test_cache_limit():
    old = mx.set_cache_limit(0)
    assert mx.set_cache_limit(0) == 0
    x = mx.ones((N,)) * 3
    mx.eval(x)
    del x
    gc.collect()
    assert mx.get_cache_memory() == 0  # nothing kept with a zero limit
    assert mx.set_cache_limit(old) == 0
    x = mx.ones((N,)) * 3
    mx.eval(x)
    del x
    gc.collect()
    assert mx.get_cache_memory() >= MB4
    mx.set_cache_limit(MB4 // 2)  # lowering the limit trims the cache
    assert mx.get_cache_memory() <= MB4 // 2


def test_memory_limit_returns_previous_and_trims_cache():
    old = mx.get_memory_limit()
    assert old > 0
    assert mx.set_memory_limit(1 << 33) == old
    assert mx.get_memory_limit() == 1 << 33
    assert mx.set_memory_limit(old) == 1 << 33
    # Over the (soft) limit, new allocations first drop the cache.
    x = mx.ones((N,)) * 3
    mx.eval(x)
    del x
    gc.collect()
    assert mx.get_cache_memory() >= MB4
    mx.set_memory_limit(mx.get_active_memory() + 1024)
    y = mx.ones((2 * N,)) * 5
    mx.eval(y)
    assert mx.get_cache_memory() < MB4
    assert y[-1].item() == 5.0


def test_limits_match_mlx_semantics(mlx):
    # Both return the previous value.
    for m in (mx, mlx):
        old = m.set_cache_limit(12345)
        assert m.set_cache_limit(old) == 12345
        old = m.set_memory_limit(1 << 34)
        assert m.set_memory_limit(old) == 1 << 34
