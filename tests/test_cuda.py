"""The CUDA backend (plugin liboxmlx_cuda): every kernel family on the GPU
against the CPU backend / numpy. Skipped where no GPU is usable (CI); run on
an NVIDIA machine with `pytest tests/test_cuda.py`."""

import numpy as np
import pytest

import oxmlx.core as mx
from conftest import NP_OF, bf16_round, to_np

HAS_GPU = mx.is_available(mx.gpu)
gpu_only = pytest.mark.skipif(not HAS_GPU, reason="no usable CUDA GPU (or the cuda backend is not built)")

G, C = mx.gpu, mx.cpu
FLOATS = ["float32", "float16", "bfloat16", "float64"]
INTS = ["uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64"]
TOL = {"float32": 2e-5, "float16": 4e-3, "bfloat16": 2e-2, "float64": 1e-12}


def dt(name):
    return getattr(mx, name)


def rand(shape, dtype="float32", lo=-2.0, hi=2.0, seed=0):
    r = np.random.default_rng(seed)
    if dtype in INTS or dtype == "bool_":
        info = np.iinfo(NP_OF[dtype]) if dtype != "bool_" else None
        if dtype == "bool_":
            return mx.array(r.integers(0, 2, shape).astype(np.bool_))
        a = r.integers(max(info.min, -100), min(info.max, 100), shape, endpoint=True)
        return mx.array(a.astype(NP_OF[dtype]))
    x = r.uniform(lo, hi, shape).astype(np.float32 if dtype == "bfloat16" else NP_OF[dtype])
    return mx.array(x).astype(dt(dtype))


def same(g, c, dtype=None, rtol=None):
    """GPU result g equals the CPU backend's result c (tolerance for floats)."""
    assert g.shape == c.shape and g.dtype == c.dtype, (g.shape, c.shape, g.dtype, c.dtype)
    gn, cn = to_np(g), to_np(c)
    name = str(g.dtype).split(".")[-1]
    if name in TOL:
        t = TOL[name] if rtol is None else rtol
        np.testing.assert_allclose(gn, cn, rtol=t, atol=t, equal_nan=True)
    else:
        np.testing.assert_array_equal(gn, cn)


def test_availability_is_clean():
    # Without a GPU (or driver) the GPU reports unavailable and selecting it
    # raises ValueError; with one, it works. Never a crash.
    assert isinstance(mx.is_available(mx.gpu), bool)
    assert mx.device_count(mx.gpu) == (1 if HAS_GPU else 0)
    if not HAS_GPU:
        with pytest.raises(ValueError):
            mx.set_default_device(mx.gpu)
        assert mx.default_device() == mx.cpu


UNARY_FLOAT = {
    "abs": (-2, 2), "negative": (-2, 2), "sign": (-2, 2), "floor": (-3, 3), "ceil": (-3, 3),
    "round": (-3, 3), "sqrt": (0.1, 4), "rsqrt": (0.1, 4), "square": (-2, 2),
    "reciprocal": (0.5, 2), "exp": (-2, 2), "expm1": (-1, 1), "log": (0.1, 4),
    "log1p": (0, 3), "log2": (0.1, 4), "log10": (0.1, 4), "sin": (-3, 3), "cos": (-3, 3),
    "tan": (-1, 1), "arcsin": (-0.9, 0.9), "arccos": (-0.9, 0.9), "arctan": (-3, 3),
    "sinh": (-2, 2), "cosh": (-2, 2), "tanh": (-3, 3), "arcsinh": (-3, 3),
    "arccosh": (1.1, 4), "arctanh": (-0.9, 0.9), "sigmoid": (-6, 6), "erf": (-2, 2),
    "erfinv": (-0.9, 0.9), "isnan": (-1, 1), "isinf": (-1, 1), "isfinite": (-1, 1),
    "logical_not": (-1, 1),
}


@gpu_only
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("op", sorted(UNARY_FLOAT))
def test_unary_float(op, dtype):
    lo, hi = UNARY_FLOAT[op]
    x = rand((37, 29), dtype, lo, hi)
    f = getattr(mx, op)
    same(f(x, stream=G), f(x, stream=C))
    same(f(x.T, stream=G), f(x.T, stream=C))  # strided input


@gpu_only
def test_unary_special_values():
    x = mx.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.5, -2.5], dtype=mx.float32)
    for op in ["isnan", "isinf", "isfinite", "isposinf", "isneginf", "sign", "abs", "round"]:
        f = getattr(mx, op)
        same(f(x, stream=G), f(x, stream=C))


@gpu_only
@pytest.mark.parametrize("dtype", INTS + ["bool_"])
def test_unary_int(dtype):
    x = rand((50,), dtype)
    ops = ["logical_not"] if dtype == "bool_" else ["abs", "negative", "sign", "square", "bitwise_invert", "logical_not", "floor"]
    for op in ops:
        f = getattr(mx, op)
        same(f(x, stream=G), f(x, stream=C))


BINARY = ["add", "subtract", "multiply", "divide", "power", "remainder", "floor_divide",
          "maximum", "minimum", "equal", "not_equal", "less", "less_equal", "greater",
          "greater_equal", "logical_and", "logical_or", "arctan2", "logaddexp"]
BINARY_INT = ["add", "subtract", "multiply", "power", "remainder", "floor_divide", "maximum",
              "minimum", "equal", "less", "greater_equal", "bitwise_and", "bitwise_or",
              "bitwise_xor", "left_shift", "right_shift"]


@gpu_only
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("op", BINARY)
def test_binary_float(op, dtype):
    a = rand((17, 1, 33), dtype, 0.5, 3, seed=1)
    b = rand((1, 5, 33), dtype, 0.5, 3, seed=2)  # broadcast both ways
    f = getattr(mx, op)
    same(f(a, b, stream=G), f(a, b, stream=C))
    same(f(a[::-2], b[:, ::2].T.T, stream=G), f(a[::-2], b[:, ::2], stream=C))
    same(f(a, 2.0, stream=G), f(a, 2.0, stream=C))  # host scalar


@gpu_only
@pytest.mark.parametrize("dtype", INTS)
@pytest.mark.parametrize("op", BINARY_INT)
def test_binary_int(op, dtype):
    a = rand((40, 3), dtype, seed=3)
    b = rand((40, 3), dtype, seed=4)
    if op in ("left_shift", "right_shift", "power"):
        b = mx.array(np.abs(np.array(b)) % 9).astype(dt(dtype))
    f = getattr(mx, op)
    same(f(a, b, stream=G), f(a, b, stream=C))
    z = mx.zeros((40, 3), dt(dtype))
    if op in ("remainder", "floor_divide"):
        same(f(a, z, stream=G), f(a, z, stream=C))  # x // 0 == 0, as on the CPU


ALL = ["bool_"] + INTS + ["float16", "float32", "float64", "bfloat16"]


@gpu_only
@pytest.mark.parametrize("src", ALL)
def test_copy_casts(src):
    x = rand((6, 7), src, 0, 100)
    for dst in ALL:
        same(x.astype(dt(dst), stream=G), x.astype(dt(dst), stream=C))


@gpu_only
def test_copy_strided_layouts():
    x = rand((4, 5, 6), "float32")
    views = [x.T, x[::-1, 1:, ::2], mx.broadcast_to(x[:, :1], (4, 5, 6)), x.transpose(1, 0, 2)[2:]]
    for v in views:
        same(mx.contiguous(v, stream=G) if hasattr(mx, "contiguous") else v.astype(mx.float32, stream=G),
             v.astype(mx.float32, stream=C))
        same(v.astype(mx.float16, stream=G), v.astype(mx.float16, stream=C))
    e = mx.zeros((0, 3))
    assert mx.exp(e, stream=G).shape == (0, 3)


@gpu_only
def test_where_broadcast():
    c = mx.array(np.random.default_rng(5).integers(0, 2, (8, 1, 6)).astype(bool))
    for d in ["float32", "int64", "bfloat16", "uint8"]:
        a, b = rand((1, 4, 6), d, seed=6), rand((8, 4, 1), d, seed=7)
        same(mx.where(c, a, b, stream=G), mx.where(c, a, b, stream=C))


@gpu_only
@pytest.mark.parametrize("d", ["int32", "int64", "float32", "float16", "uint8", "float64"])
def test_arange(d):
    for args in [(0, 10), (3, 50, 3), (0.5, 7.0, 0.25), (10, 0, -1)]:
        if d == "uint8" and args[-1] == -1:
            continue
        same(mx.arange(*args, dtype=dt(d), stream=G), mx.arange(*args, dtype=dt(d), stream=C))


REDUCE = ["sum", "prod", "max", "min", "all", "any"]


@gpu_only
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "float64", "int32", "uint8", "int64", "bool_"])
@pytest.mark.parametrize("op", REDUCE)
def test_reduce(op, dtype):
    lo, hi = (0.9, 1.1) if op == "prod" else (-2, 2)
    x = rand((6, 35, 9), dtype, lo, hi, seed=8)
    f = getattr(mx, op)
    for axis in [None, 0, 1, 2, (0, 2), (1, 2), -1]:
        same(f(x, axis=axis, stream=G), f(x, axis=axis, stream=C), rtol=1e-2 if dtype in ("float16", "bfloat16") else None)
    same(f(x.transpose(2, 0, 1), axis=1, stream=G), f(x.transpose(2, 0, 1), axis=1, stream=C),
         rtol=1e-2 if dtype in ("float16", "bfloat16") else None)


@gpu_only
def test_reduce_large_and_nan():
    x = rand((3, 100_000), "float32", seed=9)  # block-per-output path
    same(mx.sum(x, axis=1, stream=G), mx.sum(x, axis=1, stream=C), rtol=1e-4)
    np.testing.assert_allclose(mx.sum(x, stream=G).item(), np.array(x, dtype=np.float64).sum(), rtol=1e-4)
    y = mx.array([1.0, np.nan, 3.0])
    assert np.isnan(mx.max(y, stream=G).item()) and np.isnan(mx.min(y, stream=G).item())


@gpu_only
@pytest.mark.parametrize("dtype", ["float32", "float16", "int32", "uint8", "float64", "bfloat16"])
@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_arg_reduce(op, dtype):
    x = rand((7, 130, 5), dtype, seed=10)
    f = getattr(mx, op)
    for axis in [0, 1, 2]:
        same(f(x, axis=axis, stream=G), f(x, axis=axis, stream=C))
    same(f(x, stream=G), f(x, stream=C))
    t = mx.array([3, 1, 3, 3, 1], dtype=mx.int32)  # ties: the first wins
    same(f(t, stream=G), f(t, stream=C))
    n = mx.array([1.0, np.nan, 5.0, np.nan])
    same(f(n, stream=G), f(n, stream=C))


@gpu_only
@pytest.mark.parametrize("op", ["cumsum", "cumprod", "cummax", "cummin", "logcumsumexp"])
@pytest.mark.parametrize("dtype", ["float32", "float16", "int32", "float64"])
def test_scan(op, dtype):
    if op == "logcumsumexp" and dtype == "int32":
        return
    x = rand((5, 40, 3), dtype, 0.9, 1.1, seed=11) if dtype != "int32" else rand((5, 40, 3), dtype, seed=11)
    f = getattr(mx, op)
    for axis in [0, 1, -1]:
        for rev in [False, True]:
            for inc in [True, False]:
                if op == "logcumsumexp" and not inc:
                    continue
                kw = dict(axis=axis, reverse=rev, inclusive=inc)
                same(f(x, stream=G, **kw), f(x, stream=C, **kw), rtol=1e-2 if dtype == "float16" else None)


@gpu_only
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "float64"])
def test_matmul(dtype):
    tol = {"float32": 1e-4, "float16": 2e-2, "bfloat16": 6e-2, "float64": 1e-10}[dtype]
    a, b = rand((3, 33, 65), dtype, seed=12), rand((3, 65, 17), dtype, seed=13)
    cases = [(a, b), (a[0], b[0]), (mx.swapaxes(a, 1, 2).transpose(0, 2, 1), b),
             (a, mx.swapaxes(mx.swapaxes(b, 1, 2), 1, 2)), (a[0].T.T, b[1]),
             (a, b[0]), (a[:, ::2], b), (a[1, 3], b[0]), (a[0], b[0, :, 4])]
    # transposed operands (column-major storage)
    at = mx.contiguous(mx.swapaxes(a, 1, 2), stream=C) if hasattr(mx, "contiguous") else None
    if at is not None:
        cases.append((mx.swapaxes(at, 1, 2), b))
    for x, y in cases:
        same(mx.matmul(x, y, stream=G), mx.matmul(x, y, stream=C), rtol=tol)
    e = mx.zeros((4, 0), dt(dtype))
    same(mx.matmul(e, mx.zeros((0, 3), dt(dtype)), stream=G), mx.zeros((4, 3), dt(dtype)))


@gpu_only
def test_matmul_large_bf16():
    a, b = rand((512, 1024), "bfloat16", seed=14), rand((1024, 256), "bfloat16", seed=15)
    g = mx.matmul(a, b, stream=G).astype(mx.float32)
    ref = to_np(a).astype(np.float64) @ to_np(b).astype(np.float64)
    np.testing.assert_allclose(to_np(g), ref, rtol=2e-2, atol=0.3)


@gpu_only
def test_default_device_and_host_reads():
    old = mx.default_device()
    mx.set_default_device(mx.gpu)
    try:
        assert mx.default_device() == mx.gpu
        x = mx.array(np.arange(12, dtype=np.float32).reshape(3, 4))  # host data, uploaded on use
        y = (x * 2 + 1).sum(axis=0)
        np.testing.assert_array_equal(np.array(y), (np.arange(12).reshape(3, 4) * 2 + 1).sum(0))
        assert y.tolist() == [27.0, 33.0, 39.0, 45.0]
        assert mx.sum(y).item() == 144.0
        assert "array([27, 33, 39, 45], dtype=float32)" == repr(y)
        assert bytes(memoryview(y)) == np.array([27, 33, 39, 45], np.float32).tobytes()
        z = mx.exp(x)[1:, ::-2]  # a view of a device buffer
        np.testing.assert_allclose(np.array(z), np.exp(np.arange(12, dtype=np.float32).reshape(3, 4))[1:, ::-2], rtol=1e-6)
        # A CPU op reading a GPU result.
        w = mx.add(y, 1, stream=mx.cpu)
        assert w.tolist() == [28.0, 34.0, 40.0, 46.0]
        # Lists of GPU arrays.
        assert mx.array([y, y]).tolist()[1] == y.tolist()
        with pytest.raises(ValueError, match="complex64"):
            mx.eval(mx.exp(mx.array([1 + 2j])))
    finally:
        mx.set_default_device(old)


@gpu_only
def test_slice_update_and_views():
    x = rand((6, 8), "float32", seed=16)
    u = rand((2, 4), "float32", seed=17)
    old = mx.default_device()
    mx.set_default_device(mx.gpu)
    try:
        y = mx.array(x)
        y[1:5:2, ::2] = u
        ref = np.array(x)
        ref[1:5:2, ::2] = np.array(u)
        np.testing.assert_array_equal(np.array(y), ref)
    finally:
        mx.set_default_device(old)


@gpu_only
def test_cpu_fallback_families():
    # Families without CUDA kernels run on the CPU backend through host copies.
    x = rand((6, 8), "float32", seed=18)
    idx = mx.array([0, 5, 2, -1])
    same(mx.take(x, idx, axis=0, stream=G), mx.take(x, idx, axis=0, stream=C))
    same(mx.sort(x, axis=1, stream=G), mx.sort(x, axis=1, stream=C))
    same(mx.argsort(x, axis=0, stream=G), mx.argsort(x, axis=0, stream=C))
    k = mx.random.key(3)
    same(mx.random.uniform(shape=(100,), key=k, stream=G), mx.random.uniform(shape=(100,), key=k, stream=C))
    # The result lives on the GPU and feeds GPU kernels.
    t = mx.take(x, idx, axis=0, stream=G)
    same(mx.sum(t * 2, axis=1, stream=G), mx.sum(mx.take(x, idx, axis=0) * 2, axis=1, stream=C))


@gpu_only
def test_fallback_index_error():
    x = rand((6, 8), "float32", seed=19)
    with pytest.raises(IndexError):
        mx.eval(mx.take(x, mx.array([10]), axis=0, stream=G))
