"""The foundation's promises end to end: promotion, broadcasting, the lazy graph
(deep chains, memory release), conversion in and out, devices and streams."""

import gc
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import oxmlx.core as mx

DTYPES = [
    "bool_", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
    "float16", "float32", "float64", "bfloat16", "complex64",
]


@pytest.mark.parametrize("a", DTYPES)
@pytest.mark.parametrize("b", DTYPES)
def test_promotion_table_matches_mlx(a, b):
    M = pytest.importorskip("mlx.core")
    got = (mx.zeros((1,), getattr(mx, a)) + mx.zeros((1,), getattr(mx, b))).dtype
    want = (M.zeros((1,), getattr(M, a)) + M.zeros((1,), getattr(M, b))).dtype
    assert repr(got).split(".")[-1] == repr(want).split(".")[-1]


def test_promotion_without_mlx_follows_numpy_where_they_agree():
    # Where numpy and MLX agree (same-kind widening), check against numpy.
    pairs = [("int8", "int16"), ("uint8", "int8"), ("uint16", "int32"), ("float16", "float32"),
             ("int32", "float32"), ("bool_", "int8"), ("uint32", "int64")]
    for a, b in pairs:
        got = (mx.zeros((1,), getattr(mx, a)) + mx.zeros((1,), getattr(mx, b))).dtype
        na = np.bool_ if a == "bool_" else getattr(np, a)
        want = np.promote_types(na, getattr(np, b)).name
        if (a, b) == ("int32", "float32"):
            want = "float32"  # MLX keeps float32 (numpy would widen to float64)
        assert repr(got).split(".")[-1] == want


def test_weak_python_scalars():
    assert (mx.array([1], mx.uint8) + 100).dtype == mx.uint8
    assert (mx.array([1], mx.uint8) + 100).tolist() == [101]
    assert (mx.array([1, 2]) + 2.5).dtype == mx.float32
    assert (mx.array([1.0], mx.float16) + 2.0).dtype == mx.float16
    assert (mx.array([True]) + 1).dtype == mx.int32
    assert (2 * mx.array([1.5], mx.bfloat16)).dtype == mx.bfloat16
    with pytest.raises(ValueError, match="overflow"):
        mx.array([1], mx.uint8) + 1000


shape_st = st.lists(st.integers(1, 4), min_size=0, max_size=4)


@settings(max_examples=60, deadline=None)
@given(shape_st, st.data())
def test_broadcasting_matches_numpy(shape, data):
    # Derive a compatible shape by dropping leading dims and setting some to 1.
    k = data.draw(st.integers(0, len(shape)))
    other = [1 if data.draw(st.booleans()) else d for d in shape[k:]]
    x = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    y = np.arange(int(np.prod(other)), dtype=np.float32).reshape(other) + 1
    got = mx.array(x) * mx.array(y) - mx.array(y)
    np.testing.assert_array_equal(np.array(got), x * y - y)
    assert got.shape == np.broadcast_shapes(x.shape, y.shape)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(2, 4), min_size=1, max_size=3), st.integers(0, 2))
def test_incompatible_broadcast_raises(shape, axis):
    axis = axis % len(shape)
    other = list(shape)
    other[axis] += 1
    with pytest.raises(ValueError, match="broadcast"):
        mx.ones(shape) + mx.ones(other)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 5), min_size=1, max_size=4), st.data())
def test_shape_inference_matches_numpy(shape, data):
    x = np.arange(int(np.prod(shape))).reshape(shape).astype(np.int32)
    a = mx.array(x)
    perm = data.draw(st.permutations(range(len(shape))))
    np.testing.assert_array_equal(np.array(mx.transpose(a, perm)), x.transpose(perm))
    np.testing.assert_array_equal(np.array(a.reshape(-1)), x.reshape(-1))
    np.testing.assert_array_equal(np.array(mx.transpose(a, perm).reshape(-1)), x.transpose(perm).reshape(-1))
    idx = tuple(
        slice(data.draw(st.integers(-d, d)), data.draw(st.integers(-d, d)), data.draw(st.sampled_from([1, 2, -1, -3])))
        for d in shape
    )
    np.testing.assert_array_equal(np.array(a[idx]), x[idx])
    np.testing.assert_array_equal(np.array(mx.sum(a, axis=0, keepdims=True)), x.sum(0, keepdims=True))
    np.testing.assert_array_equal(np.array(mx.expand_dims(a, 0).squeeze(0)), x)


def test_million_deep_chain_evaluates_and_releases():
    x = mx.array(0.0)
    for _ in range(10**6):
        x = x + 1
    mx.eval(x)
    assert x.item() == 1e6
    y = mx.array(0, mx.int32)
    for _ in range(10**6):
        y = y + 1
    del y  # dropping an unevaluated deep graph must not recurse
    gc.collect()


def test_memory_returns_to_baseline_and_intermediates_are_released():
    mx.clear_cache()
    base = mx.get_active_memory()
    n = 1 << 20  # 4 MB of float32
    x = mx.ones((n,))
    y = x
    for i in range(20):
        y = mx.exp(y * 0.5) - 1.0
    mx.reset_peak_memory()
    mx.eval(y)
    peak = mx.get_peak_memory()
    assert peak - base < 8 * 4 * n  # a few live buffers, not 40+
    del x, y
    gc.collect()
    assert mx.get_active_memory() - base < 4096
    assert mx.get_cache_memory() > 0
    mx.clear_cache()
    assert mx.get_cache_memory() == 0
    old = mx.set_cache_limit(0)
    assert mx.set_cache_limit(old) == 0


def test_lazy_graph_and_eval_pytrees():
    a = mx.array([1.0, 2.0])
    tree = {"x": [a * 2, (a + 1,)], "y": a - 1}
    mx.eval(tree)
    assert tree["x"][0].tolist() == [2.0, 4.0] and tree["x"][1][0].tolist() == [2.0, 3.0]
    z = mx.exp(a)
    mx.async_eval(z)
    np.testing.assert_allclose(np.array(z), np.exp([1.0, 2.0]), rtol=1e-6)


def test_numpy_in_and_zero_copy_out():
    x = np.arange(12, dtype=np.float64).reshape(3, 4)[:, ::-2]
    a = mx.array(x)
    assert a.dtype == mx.float32
    np.testing.assert_array_equal(np.array(a), x.astype(np.float32))
    b = mx.array(x, dtype=mx.float64)
    assert b.dtype == mx.float64
    c = mx.arange(6, stream=mx.cpu).reshape(2, 3, stream=mx.cpu)  # host memory: zero-copy
    mx.eval(c)
    v1, v2 = np.asarray(c), np.asarray(c)
    assert v1.__array_interface__["data"][0] == v2.__array_interface__["data"][0]
    m = memoryview(c)
    assert m.format == "i" and m.shape == (2, 3) and m.strides == (12, 4)
    np.testing.assert_array_equal(np.from_dlpack(c), np.arange(6).reshape(2, 3))
    assert mx.array(np.array([1, 2], np.uint16)).dtype == mx.uint16
    assert mx.array([[1, 2], [3, 4]]).T.tolist() == [[1, 3], [2, 4]]
    with pytest.raises(ValueError, match="non-uniform"):
        mx.array([[1, 2], [3]])


def test_devices_and_streams():
    start = mx.gpu if os.environ.get("OXMLX_TEST_DEFAULT_DEVICE") == "gpu" else mx.cpu
    assert mx.default_device() == start
    s = mx.new_stream(mx.cpu)
    assert s != mx.default_stream(mx.cpu)
    with mx.stream(s):
        assert mx.default_stream(mx.cpu) == s
        r = mx.add(mx.array(1), 2)
    assert mx.default_stream(mx.cpu) != s
    assert r.item() == 3 and mx.add(1, 2, stream=s).item() == 3 and mx.add(1, 2, stream=mx.cpu).item() == 3
    if mx.is_available(mx.gpu):  # tests/test_cuda.py covers the GPU
        assert mx.zeros((2,), stream=mx.gpu).tolist() == [0.0, 0.0]
        return
    with pytest.raises(ValueError, match="gpu"):
        mx.set_default_device(mx.gpu)
    with pytest.raises(ValueError):
        mx.zeros((2,), stream=mx.gpu)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"\(2\).*\(3\)"):
        mx.array([1, 2]) + mx.array([1, 2, 3])
    with pytest.raises(IndexError, match="axis 2"):
        mx.sum(mx.array([1, 2]), axis=2)
    with pytest.raises(IndexError, match="Index 5"):
        mx.array([1, 2])[5]
    with pytest.raises(ValueError, match="reshape"):
        mx.reshape(mx.array([1, 2]), (3,))
    with pytest.raises(ValueError, match="floating point"):
        mx.array([1, 2]) @ mx.array([1, 2])
