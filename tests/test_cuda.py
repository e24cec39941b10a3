"""The CUDA backend (plugin liboxmlx_cuda): every kernel family on the GPU
against the CPU backend / numpy. Skipped where no GPU is usable (CI); run on
an NVIDIA machine with `pytest tests/test_cuda.py`."""

import contextlib
import os
import re

import numpy as np
import pytest

import oxmlx.core as mx
from conftest import NP_OF, bf16_round, to_np

# A fused program that fails to build with NVRTC (or NVRTC missing) raises
# instead of silently falling back, so these tests see the generated kernels.
os.environ["OXMLX_CUDA_STRICT"] = "1"

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
        assert mx.device_info(mx.gpu) == {}


@gpu_only
def test_device_info():
    info = mx.device_info(mx.gpu)
    assert isinstance(info["device_name"], str) and info["device_name"].strip()
    major, minor = info["compute_capability_major"], info["compute_capability_minor"]
    assert isinstance(major, int) and major >= 5 and 0 <= minor <= 9
    assert info["architecture"] == f"sm_{major}{minor}"
    assert isinstance(info["total_memory"], int) and info["total_memory"] >= 2**30
    assert info["memory_size"] == info["total_memory"]
    assert 0 < info["free_memory"] <= info["total_memory"]
    assert re.fullmatch(r"GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", info["uuid"])
    assert re.fullmatch(r"[0-9a-f]{4,8}:[0-9a-f]{2}:[0-9a-f]{2}\.0", info["pci_bus_id"])
    # The default device's info is the GPU's while the GPU is the default;
    # the CPU's is unchanged.
    steady = {k: v for k, v in info.items() if k != "free_memory"}
    old = mx.default_device()
    mx.set_default_device(mx.gpu)
    try:
        now = mx.device_info()
        assert {k: v for k, v in now.items() if k != "free_memory"} == steady
    finally:
        mx.set_default_device(old)
    assert mx.device_info(mx.gpu)["uuid"] == info["uuid"]
    assert not mx.device_info(mx.cpu)["architecture"].startswith("sm_")


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
        # complex64 runs on the CPU backend through host copies.
        zc = mx.exp(mx.array([1 + 2j, -0.5j]))
        np.testing.assert_allclose(np.array(zc), np.exp(np.array([1 + 2j, -0.5j], np.complex64)), rtol=1e-6)
        assert mx.sum(mx.array([1 + 2j, 3 - 1j]) * 2).item() == 8 + 2j
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
    # Families without CUDA kernels run on the CPU backend through host copies;
    # their results live on the GPU and feed GPU kernels.
    x = rand((6, 8), "float32", seed=18)
    f = mx.fft.rfft(x, stream=G)
    same(mx.abs(f, stream=C), mx.abs(mx.fft.rfft(x, stream=C), stream=C))
    q = mx.linalg.inv(x[:, :6] + 6 * mx.eye(6), stream=G)
    same(mx.sum(q * 2, axis=1, stream=G), mx.sum(mx.linalg.inv(x[:, :6] + 6 * mx.eye(6), stream=C) * 2, axis=1, stream=C), rtol=1e-4)


@contextlib.contextmanager
def on_gpu():
    old = mx.default_device()
    mx.set_default_device(mx.gpu)
    try:
        yield
    finally:
        mx.set_default_device(old)


def both(fn):
    """fn() evaluated with the GPU, then with the CPU, as the default device."""
    with on_gpu():
        g = fn()
        mx.eval(g)
    c = fn()
    return g, c


IDX_DTYPES = ["int32", "int64", "uint32", "int8", "uint8", "int16", "uint64"]


@gpu_only
@pytest.mark.parametrize("dtype", ALL)
def test_gather_take(dtype):
    x = rand((9, 7, 5), dtype, seed=20)
    idx = mx.array([0, 8, 3, -1, 3, -9])
    for ax in [0, 1, 2]:
        i = mx.array([0, 4, -1, 2, 2]) if ax else idx
        same(mx.take(x, i, axis=ax, stream=G), mx.take(x, i, axis=ax, stream=C))
        same(mx.take(x.T, i % 5, axis=ax, stream=G), mx.take(x.T, i % 5, axis=ax, stream=C))
    flat = mx.array([[0, 314], [-1, 17]])
    same(mx.take(x, flat, stream=G), mx.take(x, flat, stream=C))
    same(mx.take(x[::2, ::-1], flat % 60, stream=G), mx.take(x[::2, ::-1], flat % 60, stream=C))


@gpu_only
@pytest.mark.parametrize("idt", IDX_DTYPES)
def test_gather_index_dtypes_and_advanced(idt):
    x = rand((6, 5, 4, 3), "float32", seed=21)
    i = mx.array(np.array([5, 0, 2, 2, 1], NP_OF[idt]))
    j = mx.array(np.array([[1], [4], [0]], NP_OF[idt]))
    i5 = mx.array(np.array([4, 0, 2, 2, 1], NP_OF[idt]))
    cases = [lambda: x[i], lambda: x[:, i5], lambda: x[i, :, j % 4], lambda: x[j, i5],
             lambda: x[..., j % 3], lambda: x[i, 1:3, ::-2], lambda: x[j, j, i % 4, i % 3]]
    for fn in cases:
        g, c = both(fn)
        same(g, c)
    a = rand((7, 9), "float32", seed=22)
    ii = mx.array(np.random.default_rng(3).integers(0, 9, (7, 4)).astype(NP_OF[idt]))
    same(mx.take_along_axis(a, ii, axis=1, stream=G), mx.take_along_axis(a, ii, axis=1, stream=C))


@gpu_only
def test_gather_large_and_empty():
    x = rand((3000, 257), "float32", seed=23)
    i = mx.array(np.random.default_rng(4).integers(-3000, 3000, 5000).astype(np.int32))
    same(mx.take(x, i, axis=0, stream=G), mx.take(x, i, axis=0, stream=C))  # rows
    same(mx.take(x, i % 257, axis=1, stream=G), mx.take(x, i % 257, axis=1, stream=C))  # columns
    e = mx.take(x, mx.array(np.zeros((0,), np.int32)), axis=0, stream=G)
    assert e.shape == (0, 257)
    with on_gpu():
        # computed (device-resident) indices
        k = mx.argmax(x, axis=1)
        same(mx.take_along_axis(x, k[:, None], axis=1), mx.max(x, axis=1, keepdims=True))


@gpu_only
def test_gather_index_error():
    x = rand((6, 8), "float32", seed=19)
    with pytest.raises(IndexError, match="out of bounds for axis 0 with size 6"):
        mx.eval(mx.take(x, mx.array([10]), axis=0, stream=G))
    with pytest.raises(IndexError, match="Index -9"):
        mx.eval(mx.take(x, mx.array([1, -9, 2]), axis=0, stream=G))
    # Indices computed on the GPU: the kernel records the bad index, the next
    # synchronization raises.
    with pytest.raises(IndexError):
        mx.eval(mx.take(x, mx.arange(5, 9, stream=G), axis=0, stream=G))
    with pytest.raises(IndexError):
        y = mx.array(x)
        with on_gpu():
            y[mx.arange(3, 8)] = 1.0
        mx.eval(y)
    # The GPU keeps working afterwards.
    same(mx.take(x, mx.array([5, 0]), axis=0, stream=G), mx.take(x, mx.array([5, 0]), axis=0, stream=C))


SCATTER_DTYPES = ["float32", "float16", "bfloat16", "float64", "int8", "uint8", "int16",
                  "uint16", "int32", "uint32", "int64", "uint64", "bool_"]


@gpu_only
@pytest.mark.parametrize("dtype", SCATTER_DTYPES)
@pytest.mark.parametrize("mode", ["set", "add", "multiply", "maximum", "minimum"])
def test_scatter_modes_duplicates(mode, dtype):
    lo, hi = (0.5, 1.5) if mode == "multiply" else (-3, 3)
    x = rand((10, 6), dtype, lo, hi, seed=30)
    u = rand((12, 6), dtype, lo, hi, seed=31)
    idx = mx.array([3, 1, 3, 0, 9, 3, -1, 1, 5, 5, 5, 3])  # repeated rows
    u1 = rand((12,), dtype, lo, hi, seed=32)
    col = mx.array([0, 5, 5, 2, 0, 0, 1, 5, 5, 4, 3, 0])

    def run():
        a = mx.array(x)
        if mode == "set":
            a[idx] = u
            b = mx.array(x)
            b[idx, col] = u1
            return a, b
        a = getattr(a.at[idx], mode)(u)
        b = getattr(mx.array(x).at[idx, col], mode)(u1)
        return a, b

    (ga, gb), (ca, cb) = both(run)
    r = 3e-2 if dtype in ("float16", "bfloat16") else None
    same(ga, ca, rtol=r)
    same(gb, cb, rtol=r)


@gpu_only
def test_scatter_last_write_wins_many():
    # Thousands of writes to a few positions: the last one in index order wins.
    rng = np.random.default_rng(33)
    idx = rng.integers(0, 17, 20000).astype(np.int32)
    vals = np.arange(20000, dtype=np.float32)
    ref = np.zeros(17, np.float32)
    ref[idx] = vals  # numpy: last write wins
    with on_gpu():
        a = mx.zeros((17,))
        a[mx.array(idx)] = mx.array(vals)
        np.testing.assert_array_equal(np.array(a), ref)
        s = mx.zeros((17,)).at[mx.array(idx)].add(mx.ones((20000,)))
        np.testing.assert_array_equal(np.array(s), np.bincount(idx, minlength=17).astype(np.float32))
        ii = mx.zeros((17,), mx.int64).at[mx.array(idx)].add(mx.array(idx.astype(np.int64)))
        np.testing.assert_array_equal(np.array(ii), np.bincount(idx, weights=idx, minlength=17).astype(np.int64))


@gpu_only
def test_scatter_slices_and_put_along_axis():
    x = rand((5, 7, 4), "float32", seed=34)
    u = rand((3, 5, 4), "float32", seed=35)
    i = mx.array([6, 0, 6])

    def run():
        a = mx.array(x)
        a[:, i] = mx.swapaxes(u, 0, 1)
        b = mx.array(x).at[:, i].add(mx.swapaxes(u, 0, 1))
        idx = mx.array(np.random.default_rng(5).integers(0, 7, (5, 2, 4)))
        c = mx.put_along_axis(mx.array(x), idx, mx.ones((5, 2, 4)), axis=1)
        return a, b, c

    g, c = both(run)
    for p, q in zip(g, c):
        same(p, q)


SORT_DTYPES = ["float32", "float16", "bfloat16", "float64", "int8", "uint8", "int16",
               "uint16", "int32", "uint32", "int64", "uint64", "bool_"]


def sort_input(shape, dtype, seed):
    r = np.random.default_rng(seed)
    if dtype == "bool_":
        return mx.array(r.integers(0, 2, shape).astype(np.bool_))
    if dtype in INTS:
        info = np.iinfo(NP_OF[dtype])
        lo, hi = max(info.min, -20), min(info.max, 20)
        return mx.array(r.integers(lo, hi, shape, endpoint=True).astype(NP_OF[dtype]))
    # Few distinct values (ties), signed zeros and NaNs.
    v = r.integers(-8, 8, shape).astype(np.float32) / 4
    v[r.random(shape) < 0.05] = np.nan
    v[r.random(shape) < 0.05] = -0.0
    return mx.array(v).astype(dt(dtype))


def bits_equal(g, c):
    assert g.shape == c.shape and g.dtype == c.dtype
    gn, cn = to_np(g), to_np(c)
    if gn.dtype.kind == "f":
        np.testing.assert_array_equal(np.isnan(gn), np.isnan(cn))
        np.testing.assert_array_equal(np.where(np.isnan(gn), 0, gn), np.where(np.isnan(cn), 0, cn))
        np.testing.assert_array_equal(np.signbit(gn), np.signbit(cn))  # -0 / +0 in stable order
    else:
        np.testing.assert_array_equal(gn, cn)


@gpu_only
@pytest.mark.parametrize("dtype", SORT_DTYPES)
def test_sort_argsort_match_cpu(dtype):
    # Block path (lines <= 4096) at odd lengths, and the device-wide path.
    for shape, axis in [((5, 1), 1), ((7, 33), 1), ((33, 7), 0), ((3, 96, 2), 1), ((2, 4096), 1),
                        ((3, 4097), 1), ((1, 20000), 1), ((9000, 2), 0), ((4, 3, 5), -1)]:
        x = sort_input(shape, dtype, seed=len(shape) * 100 + shape[-1])
        bits_equal(mx.sort(x, axis=axis, stream=G), mx.sort(x, axis=axis, stream=C))
        bits_equal(mx.argsort(x, axis=axis, stream=G), mx.argsort(x, axis=axis, stream=C))
    x = sort_input((6, 50), dtype, seed=7)
    bits_equal(mx.sort(x.T, axis=0, stream=G), mx.sort(x.T, axis=0, stream=C))  # strided lines
    bits_equal(mx.argsort(x[:, ::-3], axis=1, stream=G), mx.argsort(x[:, ::-3], axis=1, stream=C))
    bits_equal(mx.sort(x, axis=None, stream=G), mx.sort(x, axis=None, stream=C))


@gpu_only
def test_sort_large_many_lines():
    x = sort_input((40, 7000), "float32", seed=40)
    bits_equal(mx.argsort(x, axis=1, stream=G), mx.argsort(x, axis=1, stream=C))
    bits_equal(mx.sort(x, axis=0, stream=G), mx.sort(x, axis=0, stream=C))
    e = mx.zeros((3, 0))
    assert mx.sort(e, axis=1, stream=G).shape == (3, 0)


@gpu_only
@pytest.mark.parametrize("dtype", ["float32", "float16", "int32", "uint8", "float64"])
def test_partition_property(dtype):
    for shape, kth in [((6, 31), 7), ((3, 5000), 2500), ((2, 9), 0), ((2, 9), 8)]:
        x = sort_input(shape, dtype, seed=shape[1])
        ref = to_np(mx.sort(x, axis=1, stream=C))
        p = to_np(mx.partition(x, kth, axis=1, stream=G))
        a = np.array(mx.argpartition(x, kth, axis=1, stream=G)).astype(np.int64)
        xs = to_np(x)
        for got in [p, np.take_along_axis(xs, a, axis=1)]:
            np.testing.assert_array_equal(np.sort(got, axis=1), ref)  # a permutation of the line
            kv = ref[:, kth:kth + 1]
            np.testing.assert_array_equal(got[:, kth], ref[:, kth])
            if xs.dtype.kind == "f":
                kvn = np.where(np.isnan(kv), np.inf, kv)
                left = np.where(np.isnan(got[:, :kth]), np.inf, got[:, :kth])
                right = np.where(np.isnan(got[:, kth + 1:]), np.inf, got[:, kth + 1:])
            else:
                kvn, left, right = kv, got[:, :kth], got[:, kth + 1:]
            assert np.all(left <= kvn) and np.all(right >= kvn)
        assert all(sorted(r) == list(range(shape[1])) for r in a)


@gpu_only
def test_random_bits_identical_to_cpu():
    k = mx.random.key(7)
    for shape in [(), (1,), (2,), (3,), (7,), (1001,), (64, 33)]:
        for width in [1, 2, 4]:
            g = mx.random.bits(shape, width, key=k, stream=G)
            c = mx.random.bits(shape, width, key=k, stream=C)
            np.testing.assert_array_equal(np.array(g), np.array(c))
    k2 = mx.random.split(k, 3, stream=G)[2]  # a key computed on the GPU (a strided row)
    same(mx.random.bits((257,), key=k2, stream=G), mx.random.bits((257,), key=mx.random.split(k, 3)[2], stream=C))
    # The distributions: the same bits through GPU arithmetic (fused multiply-adds
    # may round the last bit differently).
    for f in [lambda s: mx.random.uniform(shape=(999,), key=k, stream=s),
              lambda s: mx.random.normal(shape=(31, 5), key=k, stream=s)]:
        same(f(G), f(C), rtol=1e-5)
    for f in [lambda s: mx.random.randint(-5, 100, shape=(77,), key=k, stream=s),
              lambda s: mx.random.bernoulli(0.3, shape=(50,), key=k, stream=s)]:
        np.testing.assert_array_equal(np.array(f(G)), np.array(f(C)))


CONV_CASES = [
    # x shape, w shape, stride, pad_lo, pad_hi, kernel_dilation, input_dilation, groups, flip
    ((2, 9, 3), (4, 3, 3), [1], [0], [0], [1], [1], 1, False),
    ((1, 10, 4), (6, 4, 2), [3], [2], [1], [2], [1], 2, True),
    ((3, 7, 5), (5, 2, 5), [2], [-1], [3], [1], [3], 1, False),
    ((2, 9, 8, 6), (4, 3, 2, 3), [2, 3], [1, 0], [2, 3], [1, 2], [2, 1], 2, True),
    ((1, 8, 7, 4), (8, 3, 3, 1), [2, 1], [1, 1], [1, 1], [1, 1], [1, 1], 4, False),  # depthwise x2
    ((2, 5, 6, 6), (3, 1, 1, 6), [1, 1], [0, 0], [0, 0], [1, 1], [1, 1], 1, False),  # 1x1
    ((2, 5, 6, 6), (6, 1, 1, 2), [1, 1], [0, 0], [0, 0], [1, 1], [1, 1], 3, False),  # 1x1 grouped
    ((2, 5, 6, 6), (3, 1, 1, 6), [2, 2], [0, 1], [1, 0], [1, 1], [1, 1], 1, False),
    ((1, 5, 4, 6, 2), (3, 2, 3, 2, 2), [1, 2, 1], [1, 0, 1], [0, 1, 1], [1, 1, 2], [1, 1, 1], 1, True),
    ((2, 4, 5, 3, 6), (4, 2, 2, 2, 3), [1, 1, 2], [0, 1, 0], [1, 0, 0], [2, 1, 1], [1, 2, 1], 2, False),
]


@gpu_only
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("case", range(len(CONV_CASES)))
def test_conv_general(case, dtype):
    xs, ws, stride, lo, hi, kdil, idil, groups, flip = CONV_CASES[case]
    x, w = rand(xs, dtype, seed=50 + case), rand(ws, dtype, seed=70 + case)
    kw = dict(stride=stride, padding=(lo, hi), kernel_dilation=kdil, input_dilation=idil,
              groups=groups, flip=flip)
    tol = {"float32": 1e-4, "float64": 1e-10, "float16": 2e-2, "bfloat16": 8e-2}[dtype]
    same(mx.conv_general(x, w, stream=G, **kw), mx.conv_general(x, w, stream=C, **kw), rtol=tol)
    # Weight and input gradients (the weight gradient has its own primitive).
    ct = rand(mx.conv_general(x, w, stream=C, **kw).shape, dtype, seed=90 + case)
    f = lambda a, b: mx.sum(mx.conv_general(a, b, **kw) * ct)  # noqa: E731

    def grads():
        return mx.grad(f, argnums=(0, 1))(x, w)

    (gx, gw), (cx, cw) = both(grads)
    same(gx, cx, rtol=tol * 4)
    same(gw, cw, rtol=tol * 4)


@gpu_only
def test_conv_layers_and_transpose():
    x = rand((2, 17, 15, 8), "float32", seed=80)
    w = rand((16, 3, 3, 8), "float32", seed=81)
    for kw in [dict(), dict(stride=2, padding=1), dict(dilation=2, padding=2), dict(groups=4)]:
        ww = w[..., : 8 // kw.get("groups", 1)]
        same(mx.conv2d(x, ww, stream=G, **kw), mx.conv2d(x, ww, stream=C, **kw), rtol=1e-4)
    wt = rand((8, 3, 3, 8), "float32", seed=82)
    same(mx.conv_transpose2d(x, wt, stride=2, padding=1, stream=G),
         mx.conv_transpose2d(x, wt, stride=2, padding=1, stream=C), rtol=1e-4)
    x1, w1 = rand((3, 50, 4), "float32", seed=83), rand((6, 5, 4), "float32", seed=84)
    same(mx.conv1d(x1, w1, stride=3, padding=2, stream=G), mx.conv1d(x1, w1, stride=3, padding=2, stream=C), rtol=1e-4)
    same(mx.conv1d(x1.transpose(0, 1, 2)[:, ::2], w1, stream=G), mx.conv1d(x1[:, ::2], w1, stream=C), rtol=1e-4)
    e = mx.conv1d(mx.zeros((2, 6, 0)), mx.zeros((3, 2, 0)), stream=G)
    same(e, mx.zeros((2, 5, 3)))


# ------------------------------------------------------------------ dense elementwise paths


@gpu_only
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "float64", "uint8", "int64", "bool_"])
def test_vectorized_elementwise(dtype):
    # Odd sizes (vector tails), offset views (unaligned: the scalar path),
    # one-value operands, predicates (bool outputs).
    n = 100_003
    x = rand((n,), dtype, 0.5, 2.0, seed=30)
    y = rand((n,), dtype, 0.5, 2.0, seed=31)
    c = rand((n,), "bool_", seed=32)
    # Device-resident copies: their slices are device views at odd offsets.
    xd, yd = mx.where(c, x, x, stream=G), mx.where(c, y, y, stream=G)
    for a, b in [(x, y), (x[1:], y[:-1]), (x, y[5:6]), (y[7:8], x), (xd[1:], yd[:-1]), (xd[3:], yd[2:3])]:
        if dtype != "bool_":
            same(mx.multiply(a, b, stream=G), mx.multiply(a, b, stream=C))
            same(mx.negative(a, stream=G), mx.negative(a, stream=C))
            same(mx.maximum(a, b, stream=G), mx.maximum(a, b, stream=C))
        same(mx.less(a, b, stream=G), mx.less(a, b, stream=C))
        same(mx.logical_not(a, stream=G), mx.logical_not(a, stream=C))
        cc = c[: a.size] if a.size > 1 else c[:1]
        same(mx.where(cc, a, b, stream=G), mx.where(cc, a, b, stream=C))
    if dtype in ("float32", "float16", "bfloat16", "float64"):
        same(mx.exp(x, stream=G), mx.exp(x, stream=C))
        same(mx.isnan(x, stream=G), mx.isnan(x, stream=C))
    same(mx.contiguous(x[1:], stream=G), x[1:])  # a device copy of an offset view
    same(x.astype(mx.float32, stream=G), x.astype(mx.float32, stream=C))


@gpu_only
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "float64", "int8", "int64"])
@pytest.mark.parametrize("cols", [96, 97])
def test_row_and_column_broadcast(dtype, cols):
    # (rows, cols) with a bias row or a per-row value: the two-dim vector path
    # (cols a multiple of the vector width) or the strided one.
    x = rand((65, cols), dtype, 0.5, 2.0, seed=33)
    r = rand((cols,), dtype, 0.5, 2.0, seed=34)
    c = rand((65, 1), dtype, 0.5, 2.0, seed=35)
    xd = mx.where(mx.array(True), x, x, stream=G)  # device resident
    for a, b in [(x, r), (r, x), (x, c), (c, x), (xd, r), (xd[1:], c[1:]), (c, r)]:
        same(mx.add(a, b, stream=G), mx.add(a, b, stream=C))
        same(mx.subtract(a, b, stream=G), mx.subtract(a, b, stream=C))
        same(mx.greater(a, b, stream=G), mx.greater(a, b, stream=C))


# ------------------------------------------------------------------ compile's fused programs


class OnGpu:
    def __enter__(self):
        self.old = mx.default_device()
        mx.set_default_device(mx.gpu)

    def __exit__(self, *a):
        mx.set_default_device(self.old)


def run_fused(f, *args):
    """f compiled on the GPU (one fused node per elementwise chain) against f on the CPU."""
    with OnGpu():
        got = mx.compile(f)(*args)
        got2 = mx.compile(f)(*args)  # the cached kernel
    old = mx.default_device()
    mx.set_default_device(mx.cpu)
    try:
        ref = f(*args)
    finally:
        mx.set_default_device(old)
    got = got if isinstance(got, (list, tuple)) else [got]
    got2 = got2 if isinstance(got2, (list, tuple)) else [got2]
    ref = ref if isinstance(ref, (list, tuple)) else [ref]
    for g, g2, r in zip(got, got2, ref):
        same(g, r)
        same(g2, r)


@gpu_only
@pytest.mark.parametrize("dtype", FLOATS)
def test_fused_chain(dtype):
    def f(x):
        return mx.exp(x) * 2 + x * x - 1

    for n in [1, 7, 1000, 100_003]:
        run_fused(f, rand((n,), dtype, -1, 1, seed=40))
    x = rand((37, 29), dtype, -1, 1, seed=41)
    run_fused(f, x.T)          # strided input
    run_fused(f, x[:, 1:])     # offset view
    xd = mx.exp(rand((1001,), dtype, -1, 1, seed=49), stream=G)
    run_fused(f, xd[1:])       # an unaligned device view (the scalar loop)


@gpu_only
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_fused_broadcast_multi_output(dtype):
    def f(x, b, s):
        h = mx.tanh(x + b) * s
        return h, mx.sigmoid(h) - x, mx.maximum(h, 0.0)

    x = rand((33, 65), dtype, seed=42)
    b = rand((65,), dtype, seed=43)
    s = rand((33, 1), dtype, seed=44)
    run_fused(f, x, b, s)
    run_fused(f, x, b[None], s[:1])


@gpu_only
def test_fused_casts_and_select():
    def f(x, y):
        h = (x.astype(mx.float16) * 3).astype(mx.float32)
        m = (x > y) & mx.isfinite(y)
        return mx.where(m, h, y * 0.5), m, mx.abs(x - y).astype(mx.bfloat16)

    x = rand((1001,), "float32", seed=45)
    y = rand((1001,), "float32", seed=46)
    run_fused(f, x, y)


@gpu_only
@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "int8", "uint32"])
def test_fused_integer_ops(dtype):
    def f(a, b):
        q = (a * 3 + b) // (b + 1)
        r = mx.remainder(a, b + 1) ^ (a & b)
        return q - r, mx.left_shift(a, b % 5), mx.minimum(a, b) == b

    a = rand((257,), dtype, seed=47)
    b = mx.array(np.abs(np.array(rand((257,), dtype, seed=48))) % 7).astype(dt(dtype))
    run_fused(f, a, b)


@gpu_only
def test_fused_special_values():
    def f(x):
        return mx.isnan(x * 1), mx.isinf(x + 0), mx.logaddexp(x, x * 2), mx.sign(x) * mx.abs(x)

    x = mx.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.5, -2.5, 3.0, 1e30], dtype=mx.float32)
    run_fused(f, x)


# ------------------------------------------------------------------ fast (row kernels, attention)

FTOL = {"float32": 3e-5, "float16": 4e-3, "bfloat16": 3e-2, "float64": 1e-12}


def both_streams(fn):
    """fn(stream) on the GPU and on the CPU."""
    return fn(G), fn(C)


@gpu_only
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("n", [1, 5, 33, 256, 1000, 4096, 5000, 40_000, 70_001])
def test_softmax_logsumexp_rows(dtype, n):
    rows = 3 if n > 10_000 else 17
    x = rand((rows, n), dtype, -4, 4, seed=50)
    g, c = both_streams(lambda s: mx.softmax(x, axis=-1, stream=s))
    same(g, c, rtol=FTOL[dtype])
    g, c = both_streams(lambda s: mx.logsumexp(x, axis=-1, stream=s))
    same(g, c, rtol=FTOL[dtype])
    g, c = both_streams(lambda s: mx.softmax(x.T, axis=0, stream=s))  # a transposed input
    same(g, c, rtol=FTOL[dtype])


@gpu_only
def test_softmax_special_rows():
    x = mx.array([[0.0, -np.inf, 1.0], [-np.inf] * 3, [np.nan, 1.0, 2.0], [np.inf, 1.0, 0.0]],
                 dtype=mx.float32)
    for f in [lambda s: mx.softmax(x, axis=-1, stream=s), lambda s: mx.logsumexp(x, axis=-1, stream=s)]:
        g, c = both_streams(f)
        same(g, c)


@gpu_only
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("n", [3, 64, 1000, 4096, 50_000])
def test_norms(dtype, n):
    rows = 3 if n > 10_000 else 9
    x = rand((rows, n), dtype, -3, 3, seed=51)
    w = rand((n,), dtype, 0.5, 1.5, seed=52)
    b = rand((n,), dtype, -1, 1, seed=53)
    tol = FTOL[dtype]
    for wt in [w, None]:
        g, c = both_streams(lambda s: mx.fast.rms_norm(x, wt, 1e-5, stream=s))
        same(g, c, rtol=tol)
        for bb in [b, None]:
            g, c = both_streams(lambda s: mx.fast.layer_norm(x, wt, bb, 1e-5, stream=s))
            same(g, c, rtol=tol)
    g, c = both_streams(lambda s: mx.fast.layer_norm(x[:, 1:], None, None, 1e-5, stream=s))  # unaligned rows
    same(g, c, rtol=tol)


@gpu_only
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("traditional", [False, True])
def test_rope(dtype, traditional):
    x = rand((2, 3, 37, 64), dtype, seed=54)
    # Angles, cosines and sines are float32 by definition (for float64 too),
    # and the GPU's cosf/sinf may differ from the CPU's by an ulp.
    tol = 1e-6 if dtype == "float64" else FTOL[dtype]
    for dims, off in [(64, 0), (32, 5), (48, mx.array([3, 1000], dtype=mx.int32))]:
        g, c = both_streams(lambda s: mx.fast.rope(x, dims, traditional=traditional, base=10000.0,
                                           scale=1.0, offset=off, stream=s))
        same(g, c, rtol=tol)
    fr = mx.array(np.linspace(1.0, 500.0, 16).astype(np.float32))
    g, c = both_streams(lambda s: mx.fast.rope(x, 32, traditional=traditional, base=None, scale=0.5,
                                       offset=7, freqs=fr, stream=s))
    same(g, c, rtol=tol)


def sdpa_case(dtype, B, Nq, Nkv, Tq, Tkv, D, Dv, mask=None, sinks=False, seed=60):
    q = rand((B, Nq, Tq, D), dtype, -1, 1, seed=seed)
    k = rand((B, Nkv, Tkv, D), dtype, -1, 1, seed=seed + 1)
    v = rand((B, Nkv, Tkv, Dv), dtype, -1, 1, seed=seed + 2)
    sk = rand((Nq,), dtype, -1, 1, seed=seed + 3) if sinks else None
    m = mask
    if mask == "bool":
        m = mx.array(np.random.default_rng(seed).random((Tq, Tkv)) > 0.3)
    elif mask == "add":
        m = rand((1, Nq, Tq, Tkv), dtype, -2, 0, seed=seed + 4)
    tol = {"float32": 1e-4, "float16": 6e-3, "bfloat16": 4e-2}[dtype]
    def f(s):
        return mx.fast.scaled_dot_product_attention(q, k, v, scale=D ** -0.5, mask=m, sinks=sk, stream=s)
    g, c = both_streams(f)
    same(g, c, rtol=tol)


@gpu_only
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("shape", [(1, 2, 2, 1, 1, 64, 64), (2, 4, 2, 37, 37, 64, 64),
                                   (1, 8, 1, 5, 300, 128, 128), (1, 2, 2, 70, 33, 80, 48),
                                   (1, 1, 1, 3, 129, 256, 256), (1, 2, 1, 64, 64, 16, 32)])
def test_sdpa(dtype, shape):
    B, Nq, Nkv, Tq, Tkv, D, Dv = shape
    sdpa_case(dtype, B, Nq, Nkv, Tq, Tkv, D, Dv)
    sdpa_case(dtype, B, Nq, Nkv, Tq, Tkv, D, Dv, mask="causal")


@gpu_only
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_sdpa_masks_and_sinks(dtype):
    sdpa_case(dtype, 2, 4, 2, 45, 77, 64, 64, mask="bool")
    sdpa_case(dtype, 2, 4, 2, 45, 77, 64, 64, mask="add")
    sdpa_case(dtype, 1, 4, 4, 20, 20, 32, 32, sinks=True)
    sdpa_case(dtype, 1, 4, 4, 33, 20, 32, 32, mask="causal", sinks=True)  # rows with no key


@gpu_only
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_sdpa_tensor_core_cases(dtype):
    # 16-bit attention with D == Dv in {64, 128} (no mask / causal, no sinks)
    # runs the tensor-core kernel (sdpa_tc.cu): tiles of 64 queries and keys
    # with tails, grouped-query heads, causal rows that see no key.
    sdpa_case(dtype, 2, 4, 2, 130, 200, 64, 64)
    sdpa_case(dtype, 2, 4, 2, 130, 200, 64, 64, mask="causal")
    sdpa_case(dtype, 1, 2, 1, 70, 33, 128, 128, mask="causal")
    sdpa_case(dtype, 1, 2, 2, 257, 64, 128, 128)
    sdpa_case(dtype, 1, 1, 1, 1, 1000, 64, 64, mask="causal")
    if dtype == "float16":
        # The backward (core ops) reads the forward's row max and log-sum.
        q, k, v = (rand((1, 2, 80, 64), dtype, -1, 1, seed=s) for s in (81, 82, 83))

        def loss(q, k, v, s):
            o = mx.fast.scaled_dot_product_attention(q, k, v, scale=0.125, mask="causal", stream=s)
            return mx.sum(o.astype(mx.float32) ** 2)

        gg = mx.grad(lambda a, b, c: loss(a, b, c, G), argnums=(0, 1, 2))(q, k, v)
        gc = mx.grad(lambda a, b, c: loss(a, b, c, C), argnums=(0, 1, 2))(q, k, v)
        for a, b in zip(gg, gc):
            same(a, b, rtol=1e-2)


@gpu_only
def test_sdpa_cpu_cases_and_grad():
    # float64 and head dims over 256 run on the CPU kernel through host copies.
    sdpa_case("float32", 1, 2, 2, 9, 9, 320, 64)
    q = rand((1, 2, 9, 16), "float64", seed=70)
    g, c = both_streams(lambda s: mx.fast.scaled_dot_product_attention(q, q, q, scale=0.25, stream=s))
    same(g, c)
    # The backward composes core ops on the GPU from the forward's outputs.
    q, k, v = (rand((1, 2, 17, 32), "float32", seed=s) for s in (71, 72, 73))

    def loss(q, k, v, s):
        return mx.sum(mx.fast.scaled_dot_product_attention(q, k, v, scale=0.2, mask="causal", stream=s) ** 2)

    gg = mx.grad(lambda a, b, c: loss(a, b, c, G), argnums=(0, 1, 2))(q, k, v)
    gc = mx.grad(lambda a, b, c: loss(a, b, c, C), argnums=(0, 1, 2))(q, k, v)
    for a, b in zip(gg, gc):
        same(a, b, rtol=1e-4)


# ------------------------------------------------------------------ eager fusion (ops/eager_fuse.cpp)


def dot_of(*arrays):
    import tempfile

    with tempfile.NamedTemporaryFile("r", suffix=".dot") as f:
        mx.export_to_dot(f.name, *arrays)
        return open(f.name).read()


@gpu_only
@pytest.mark.parametrize("dtype", FLOATS)
def test_eager_fused_minmax_grad(dtype):
    xn = np.random.default_rng(90).uniform(-2, 2, (33, 70)).astype(np.float32)
    xn[0, :5] = 0.0  # ties: relu'(0) = 0
    yn = np.random.default_rng(91).uniform(-2, 2, (33, 70)).astype(np.float32)
    yn[1, :7] = xn[1, :7]  # ties between the operands go to the second one
    x, y = mx.array(xn).astype(dt(dtype)), mx.array(yn).astype(dt(dtype))
    w = rand((33, 70), dtype, seed=92)

    def f(x, y, s):
        return mx.sum(mx.maximum(x, 0.0, stream=s) * w + mx.minimum(x, y, stream=s) * w * 0.5
                      + mx.maximum(x, y, stream=s) * w * w)

    with OnGpu():
        gx, gy = mx.grad(lambda a, b: f(a, b, G), argnums=(0, 1))(x, y)
        assert "Fused" in dot_of(mx.grad(lambda a: f(a, y, G))(x))
    cx, cy = mx.grad(lambda a, b: f(a, b, C), argnums=(0, 1))(x, y)
    same(gx, cx)
    same(gy, cy)
    # Against the formula (float32, exact 0 / 1 masks).
    if dtype == "float32":
        wn = to_np(w)
        ex = wn * (xn > 0) + 0.5 * wn * (xn < yn) + wn * wn * (xn > yn)
        ey = 0.5 * wn * ~(xn < yn) + wn * wn * ~(xn > yn)
        np.testing.assert_allclose(to_np(gx), ex, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(to_np(gy), ey, rtol=1e-6, atol=1e-6)


@gpu_only
def test_eager_fused_minmax_grad_of_grad():
    # The Fused node's vjp expands it into ordinary nodes: d2/dx2 sum(relu(x)^3) = 6 relu(x).
    xn = np.random.default_rng(93).uniform(-2, 2, (257,)).astype(np.float32)
    x = mx.array(xn)

    def f(x):
        return mx.sum(mx.maximum(x, 0.0) ** 3)

    with OnGpu():
        g2 = mx.grad(lambda a: mx.sum(mx.grad(f)(a)))(x)
    np.testing.assert_allclose(to_np(g2), 6 * np.maximum(xn, 0), rtol=1e-5, atol=1e-5)


@gpu_only
@pytest.mark.parametrize("dtype", FLOATS)
def test_eager_fused_axpy(dtype):
    v, g = rand((129, 65), dtype, seed=94), rand((129, 65), dtype, seed=95)
    mx.eval(v, g)
    with OnGpu():
        outs = [v - 0.01 * g, v + g * 0.5, 0.25 * g + v, v - mx.array(3.0, dt(dtype)) * g]
        assert dot_of(outs[0]).count("Fused") == 1 and "Multiply" not in dot_of(outs[0])
        b = v - g * v  # no single-value operand: ordinary nodes
        assert "Fused" not in dot_of(b)
        mx.eval(outs, b)
    with mx.stream(C):
        ref = [v - 0.01 * g, v + g * 0.5, 0.25 * g + v, v - mx.array(3.0, dt(dtype)) * g]
        rb = v - g * v
    for o, r in zip(outs, ref):
        same(o, r)
        if dtype in ("float32", "float64"):  # the same roundings as the two kernels (no FMA)
            np.testing.assert_array_equal(to_np(o), to_np(r))
    same(b, rb)


@gpu_only
def test_eager_fused_mlp_step():
    # The MLP step of bench_cuda.py (value_and_grad + SGD) on the GPU against the CPU.
    r = np.random.default_rng(96)
    xn = r.standard_normal((64, 32)).astype(np.float32)
    yn = np.eye(16, dtype=np.float32)[r.integers(0, 16, 64)]
    pn = {"w1": (r.standard_normal((32, 48)) / 6).astype(np.float32), "b1": r.standard_normal(48).astype(np.float32),
          "w2": (r.standard_normal((48, 16)) / 7).astype(np.float32), "b2": r.standard_normal(16).astype(np.float32)}

    def loss_fn(p, X, Y):
        h = mx.maximum(X @ p["w1"] + p["b1"], 0.0)
        logits = h @ p["w2"] + p["b2"]
        return mx.mean(mx.logsumexp(logits, axis=-1) - mx.sum(logits * Y, axis=-1))

    def steps(dev):
        old = mx.default_device()
        mx.set_default_device(dev)
        try:
            p = {k: mx.array(v) for k, v in pn.items()}
            X, Y = mx.array(xn), mx.array(yn)
            vg = mx.value_and_grad(loss_fn)
            losses = []
            for _ in range(3):
                l, g = vg(p, X, Y)
                p = {k: v - 0.1 * g[k] for k, v in p.items()}
                mx.eval(l, p)
                losses.append(l.item())
            return losses, p
        finally:
            mx.set_default_device(old)

    lg, pg = steps(G)
    lc, pc = steps(C)
    np.testing.assert_allclose(lg, lc, rtol=1e-5)
    for k in pn:
        np.testing.assert_allclose(to_np(pg[k]), to_np(pc[k]), rtol=1e-4, atol=1e-5)
