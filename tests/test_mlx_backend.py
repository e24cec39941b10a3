"""The upstream-MLX backend plugin: loaded only on demand, zero-copy views of
strided inputs, results equal to the native CPU backend's.

The whole op suite also runs on it: OXMLX_TEST_BACKEND=mlx python -m pytest tests
"""

import subprocess
import sys

import numpy as np
import pytest

import oxmlx.core as mx

pytestmark = pytest.mark.skipif("mlx" not in mx.backends(),
                                reason="this build has no mlx backend (MLX not found at build time)")


@pytest.fixture(scope="module")
def s():
    return mx.new_stream(mx.cpu, backend="mlx")


def test_import_does_not_load_libmlx():
    code = ("import oxmlx.core as mx; mx.eval(mx.ones(3) + 1); "
            "maps = open('/proc/self/maps').read(); print('libmlx' in maps); "
            "mx.eval(mx.add(mx.ones(3), 1, stream=mx.new_stream(mx.cpu, backend='mlx'))); "
            "print('libmlx' in open('/proc/self/maps').read())")
    if not sys.platform.startswith("linux"):
        pytest.skip("reads /proc/self/maps")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_stream_reports_backend(s):
    assert s.backend == "mlx" and s.device == mx.cpu


def test_strided_inputs_are_read_correctly(s):
    x = (np.arange(60, dtype=np.float32) / 16).reshape(3, 4, 5)
    a = mx.array(x)
    views = {
        "transpose": (a.transpose(2, 0, 1), x.transpose(2, 0, 1)),
        "slice": (a[1:, ::2, 1:4], x[1:, ::2, 1:4]),
        "reverse": (a[::-1, :, ::-2], x[::-1, :, ::-2]),
        "broadcast": (mx.broadcast_to(a[:, :1, :], (3, 4, 5)), np.broadcast_to(x[:, :1, :], (3, 4, 5))),
    }
    for name, (v, ref) in views.items():
        np.testing.assert_allclose(np.array(mx.exp(v, stream=s)), np.exp(ref), rtol=2e-6, err_msg=name)
        np.testing.assert_array_equal(np.array(mx.add(v, v, stream=s)), ref + ref, err_msg=name)


@pytest.mark.parametrize("dtype", ["int8", "uint16", "int32", "int64", "float16", "bfloat16",
                                   "float32", "float64", "complex64", "bool_"])
def test_dtypes_round_trip_against_native(s, dtype):
    rng = np.random.default_rng(0)
    x = mx.array(rng.integers(-5, 5, (7, 3))).astype(getattr(mx, dtype))
    native = mx.contiguous(x.T)
    through = mx.contiguous(x.T, stream=s)
    assert through.dtype == native.dtype
    assert np.array_equal(np.array(through.astype(mx.float32) if dtype == "bfloat16" else through),
                          np.array(native.astype(mx.float32) if dtype == "bfloat16" else native))


def test_families_agree_with_native(s):
    rng = np.random.default_rng(1)
    a = mx.array(rng.standard_normal((4, 6)).astype(np.float32))
    b = mx.array(rng.standard_normal((6, 5)).astype(np.float32))
    cases = [
        lambda st: mx.matmul(a, b, stream=st),
        lambda st: mx.sum(a, axis=1, stream=st),
        lambda st: mx.max(a, axis=0, keepdims=True, stream=st),
        lambda st: mx.argmax(a, axis=1, stream=st),
        lambda st: mx.cumsum(a, axis=1, reverse=True, stream=st),
        lambda st: mx.where(a > 0, a, -a, stream=st),
        lambda st: mx.take(a, mx.array([3, 0, -1]), axis=1, stream=st),
        lambda st: mx.random.uniform(shape=(5,), key=mx.random.key(7), stream=st),
    ]
    for i, f in enumerate(cases):
        np.testing.assert_allclose(np.array(f(s)), np.array(f(mx.cpu)), rtol=1e-6, atol=1e-6,
                                   err_msg=str(i))


def test_errors_keep_their_types(s):
    a = mx.arange(5)
    with pytest.raises(IndexError, match="out of bounds"):
        mx.eval(mx.take(a, mx.array([7]), stream=s))
    x = mx.array([5, -7, 0], mx.int32)
    # x // 0 and INT_MIN // -1 are defined (numpy's answers), never a trap.
    assert mx.floor_divide(x, mx.zeros((3,), mx.int32), stream=s).tolist() == [0, 0, 0]
    m = mx.array([-(2**31)], mx.int32)
    assert mx.floor_divide(m, mx.array([-1], mx.int32), stream=s).tolist() == [-(2**31)]
