"""CPU kernel fast paths of the memory-bound families, checked against numpy:
binary ops (broadcast, transposed tiles, long strided rows split across
threads), copies (tiled transposes, vectorized casts), gathers (contiguous and
strided slices) and scans (non-last axes walked by rows).

Sizes straddle the thresholds of each path: tails below / above the vector
width, tile edges (16, 31, 32, 33) and the multithreading grain (2^15)."""

import numpy as np
import pytest

import oxmlx.core as mx
from conftest import NP_OF, assert_close, assert_equal, bf16_round, to_np

RNG = np.random.default_rng(1234)


def rand(shape, dtype="float32"):
    if dtype == "bool_":
        return RNG.random(shape) > 0.5
    if dtype in ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64"):
        return RNG.integers(0, 100, size=shape).astype(NP_OF[dtype])
    x = RNG.standard_normal(shape).astype(np.float32)
    if dtype == "bfloat16":
        return bf16_round(x)
    return x.astype(NP_OF[dtype])


def mxa(x, dtype="float32"):
    return mx.array(x).astype(getattr(mx, dtype))


# ---------------------------------------------------------------- binary


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "int32", "float64", "uint8"])
@pytest.mark.parametrize("shape", [(33, 17), (16, 16), (31, 65), (40, 1000)])
def test_binary_transposed_operand(dtype, shape):
    a, b = rand(shape, dtype), rand(shape[::-1], dtype)
    x, y = mxa(a, dtype), mxa(b, dtype)
    assert_close(x + y.T, a + b.T)
    assert_close(y.T * x, b.T * a)
    assert_equal(x < y.T, a < b.T)
    assert_close(mx.maximum(y.T, y.T), np.maximum(b.T, b.T))


def test_binary_transposed_3d_and_broadcast():
    a = rand((3, 40, 50))
    b = rand((50, 40, 3))
    assert_close(mx.array(a) - mx.array(b).T, a - b.T)
    c = rand((50, 40))
    # leading broadcast dim over a transposed pair
    assert_close(mx.array(a) * mx.array(c).T, a * c.T)
    # both operands transposed
    assert_close(mx.array(b).T + mx.array(b).T, b.T + b.T)


@pytest.mark.parametrize("n", [1, 7, 8, 9, 15, 16, 17, 33, 70001])
def test_binary_broadcast_rows_cols_scalars(n):
    a = rand((3, n))
    r = rand((n,))
    c = rand((3, 1))
    x = mx.array(a)
    assert_close(x + mx.array(r), a + r)
    assert_close(x / mx.array(c), a / c)
    assert_close(x * 2.5, a * np.float32(2.5))
    assert_close(1.5 - x, np.float32(1.5) - a)
    assert_close(mx.array(r) - mx.array(c), r - c)


@pytest.mark.parametrize("dtype", ["float32", "int32", "float16"])
def test_binary_long_strided_rows_split_across_threads(dtype):
    # One long strided row: the row is split into chunks for the threads.
    a, b = rand((2 * 70001 + 1,), dtype), rand((70001,), dtype)
    x, y = mx.array(a), mx.array(b)
    assert_close(x[::2][:70001] + y, a[::2][:70001] + b)
    assert_close(x[1::2][:70000] * y[:70000], a[1::2][:70000] * b[:70000])
    assert_close(mx.abs(x[::2]), np.abs(a[::2]))


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "float64"])
def test_maximum_minimum_nan_semantics(dtype):
    a = np.array([np.nan, 1, np.nan, -np.inf, 0, -0.0, 3, np.inf] * 5, np.float32)
    b = np.array([2, np.nan, np.nan, 1, -0.0, 0, 3, -np.inf] * 5, np.float32)
    x, y = mx.array(a).astype(getattr(mx, dtype)), mx.array(b).astype(getattr(mx, dtype))
    assert_equal(mx.maximum(x, y), np.maximum(a, b))
    assert_equal(mx.minimum(x, y), np.minimum(a, b))
    assert_equal(mx.maximum(x, 0.5), np.maximum(a, np.float32(0.5)))
    # signed zeros: the second operand wins on ties, as numpy and MLX
    for f, g in [(mx.maximum, np.maximum), (mx.minimum, np.minimum)]:
        np.testing.assert_array_equal(np.signbit(to_np(f(x, y))), np.signbit(g(a, b)))


def test_scalar_scalar_broadcast_fill():
    x = mx.broadcast_to(mx.array(2.0), (70001,))
    y = mx.broadcast_to(mx.array(3.0), (70001,))
    assert_equal(x * y, np.full(70001, 6.0, np.float32))


def test_chain_matches_numpy():
    a = rand((100003,))
    x = mx.array(a)
    assert_close(mx.exp(x) * 2 + x * x - 1, np.exp(a) * 2 + a * a - 1, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- copies


@pytest.mark.parametrize("dtype", ["float32", "float16", "int8", "bool_", "float64",
                                   "complex64", "int64"])
@pytest.mark.parametrize("shape", [(16, 16), (17, 33), (64, 100), (300, 257)])
def test_contiguous_of_transpose(dtype, shape):
    if dtype == "complex64":
        a = (rand(shape) + 1j * rand(shape)).astype(np.complex64)
    else:
        a = rand(shape, dtype)
    x = mxa(a, dtype)
    got = mx.contiguous(x.T)
    assert_equal(got, np.ascontiguousarray(a.T))
    assert_equal(x.T.reshape(-1), a.T.reshape(-1))


def test_transpose_copy_3d_and_strided():
    a = rand((5, 40, 70))
    x = mx.array(a)
    for perm in [(0, 2, 1), (2, 1, 0), (1, 2, 0), (2, 0, 1)]:
        assert_equal(mx.contiguous(mx.transpose(x, perm)), np.transpose(a, perm))
    # transposed and strided, with a cast
    got = x.transpose(0, 2, 1)[:, ::3, 1::2].astype(mx.float16)
    assert_equal(got, a.transpose(0, 2, 1)[:, ::3, 1::2].astype(np.float16))


def _special_f32():
    vals = [0.0, -0.0, 1.0, -1.0, 65504.0, 65520.0, 65519.99, 1e6, -1e6, 6.1e-5, 6.0e-8,
            5.9e-8, 2.98e-8, 1e-10, 1.0009765625, 1.00048828125, 1.00146484375,
            np.inf, -np.inf, np.nan, 3.4e38, -3.4e38, 1.17549435e-38, 1e-45,
            1.00390625, 1.01171875, 1.0078125]
    return np.array(vals, np.float32)


@pytest.mark.parametrize("n", [1, 7, 8, 15, 16, 17, 31, 33, 70001])
def test_cast_f32_f16_roundtrip(n):
    base = np.concatenate([_special_f32(), rand((n,)) * 1000, rand((n,)) * 1e-6])[:max(n, 27)]
    x = mx.array(base)
    h = x.astype(mx.float16)
    expect = base.astype(np.float16)
    np.testing.assert_array_equal(np.array(h).view(np.uint16)[~np.isnan(expect)],
                                  expect.view(np.uint16)[~np.isnan(expect)])
    assert np.isnan(np.array(h)[np.isnan(expect)]).all()
    back = h.astype(mx.float32)
    assert_equal(back, expect.astype(np.float32))
    # every half bit pattern widens exactly
    allh = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.float16)
    assert_equal(mx.array(allh).astype(mx.float32), allh.astype(np.float32))


@pytest.mark.parametrize("n", [1, 7, 8, 9, 16, 33, 70001])
def test_cast_f32_bf16_roundtrip(n):
    base = np.concatenate([_special_f32(), rand((n,)) * 1000])[:max(n, 27)]
    x = mx.array(base)
    b = x.astype(mx.bfloat16)
    assert_equal(b.astype(mx.float32), bf16_round(base))
    # NaN stays NaN, with its sign
    nan = mx.array(np.array([np.nan, -np.nan], np.float32)).astype(mx.bfloat16)
    back = np.array(nan.astype(mx.float32))
    assert np.isnan(back).all() and np.signbit(back[1]) and not np.signbit(back[0])


@pytest.mark.parametrize("src,dst", [("float32", "int32"), ("int32", "float32"),
                                     ("float16", "float32"), ("float32", "float16"),
                                     ("bfloat16", "float32"), ("float32", "bfloat16"),
                                     ("uint8", "float32"), ("float64", "float16")])
def test_cast_strided_and_broadcast_inputs(src, dst):
    a = rand((70, 90), src)
    if src in ("float32", "float64"):
        a = a * 3
    x = mxa(a, src)
    expect_src = a if src != "bfloat16" else a  # bf16 values are exact in f32

    def ref(v):
        v = np.asarray(v)
        if dst == "bfloat16":
            return bf16_round(v.astype(np.float32))
        if src == "float32" and dst == "int32":
            return np.trunc(v).astype(np.int32)
        return v.astype(NP_OF[dst])

    d = getattr(mx, dst)
    assert_equal(x.astype(d), ref(expect_src))
    assert_equal(x[:, ::2].astype(d), ref(expect_src[:, ::2]))
    assert_equal(x.T.astype(d), ref(expect_src.T))
    assert_equal(mx.broadcast_to(x[:1], (70, 90)).astype(d),
                 ref(np.broadcast_to(expect_src[:1], (70, 90))))


# ---------------------------------------------------------------- gathers


@pytest.mark.parametrize("dtype", ["float32", "float16", "int64", "bool_", "uint8"])
@pytest.mark.parametrize("shape", [(70, 15), (70, 16), (100, 65), (65, 130)])
def test_take_axes(dtype, shape):
    a = rand(shape, dtype)
    x = mxa(a, dtype)
    for axis in (0, 1):
        idx = RNG.integers(-shape[axis], shape[axis], size=90).astype(np.int32)
        assert_equal(mx.take(x, mx.array(idx), axis=axis), np.take(a, idx, axis=axis))
    flat = RNG.integers(0, a.size, size=101)
    assert_equal(mx.take(x, mx.array(flat)), np.take(a, flat))
    # 2-d index array, and a transposed source (strided slices)
    for axis in (0, 1):
        idx2 = RNG.integers(0, a.T.shape[axis], size=(3, 70))
        assert_equal(mx.take(x.T, mx.array(idx2), axis=axis), np.take(a.T, idx2, axis=axis))


def test_take_3d_rows_and_errors():
    a = rand((4, 50, 33))
    x = mx.array(a)
    idx = np.array([49, 0, -1, 7, 7])
    assert_equal(mx.take(x, mx.array(idx), axis=1), np.take(a, idx, axis=1))
    idx3 = np.array([32, 0, -33, 5])
    assert_equal(mx.take(x, mx.array(idx3), axis=-1), np.take(a, idx3, axis=-1))
    big = RNG.integers(0, 50, size=(80,))
    assert_equal(mx.take(x, mx.array(big), axis=1), np.take(a, big, axis=1))
    with pytest.raises(IndexError):
        mx.eval(mx.take(x, mx.array([50]), axis=1))


# ---------------------------------------------------------------- scans


def _np_scan(name, a, axis, reverse, inclusive):
    f = {"cumsum": np.cumsum, "cumprod": np.cumprod, "cummax": np.maximum.accumulate,
         "cummin": np.minimum.accumulate, "logcumsumexp": np.logaddexp.accumulate}[name]
    v = np.flip(a, axis) if reverse else a
    r = f(v, axis=axis)
    if not inclusive:
        init = {"cumsum": 0, "cumprod": 1, "cummax": -np.inf, "cummin": np.inf,
                "logcumsumexp": -np.inf}[name]
        if a.dtype.kind in "iu" and name in ("cummax", "cummin"):
            info = np.iinfo(a.dtype)
            init = info.min if name == "cummax" else info.max
        pad = np.full_like(np.take(r, [0], axis=axis), init)
        r = np.concatenate([pad, np.take(r, np.arange(r.shape[axis] - 1), axis=axis)], axis=axis)
    return np.flip(r, axis) if reverse else r


@pytest.mark.parametrize("name", ["cumsum", "cumprod", "cummax", "cummin", "logcumsumexp"])
@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("reverse,inclusive", [(False, True), (True, True), (False, False),
                                               (True, False)])
def test_scans_all_axes(name, axis, reverse, inclusive):
    a = rand((5, 7, 600)) * 0.5 if axis != 2 else rand((3, 4, 37)) * 0.5
    a = a.astype(np.float32)
    got = getattr(mx, name)(mx.array(a), axis=axis, reverse=reverse, inclusive=inclusive)
    assert_close(got, _np_scan(name, a, axis, reverse, inclusive).astype(np.float32),
                 rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", ["int32", "float16", "bfloat16", "uint8", "int64"])
def test_scans_rows_dtypes(dtype):
    # uint8 sums wrap modulo 256 (MLX keeps the dtype; numpy would widen)
    a = rand((9, 1030), dtype)
    x = mxa(a, dtype)
    ref = np.cumsum(a.astype(np.float64), axis=0)
    got = mx.cumsum(x, axis=0)
    if dtype in ("float16", "bfloat16"):
        assert_close(got.astype(mx.float32), ref.astype(np.float32), rtol=2e-2, atol=5e-2)
    else:
        assert_equal(got, np.cumsum(a, axis=0).astype(a.dtype))
        assert_equal(mx.cummax(x, axis=0), np.maximum.accumulate(a, axis=0))
        assert_equal(mx.cummin(x, axis=0, reverse=True),
                     np.flip(np.minimum.accumulate(np.flip(a, 0), axis=0), 0))


def test_scan_rows_non_contiguous_and_flat():
    a = rand((40, 300))
    x = mx.array(a)
    assert_close(mx.cumsum(x.T, axis=0), np.cumsum(a.T, axis=0), rtol=1e-5, atol=1e-5)
    assert_close(mx.cumsum(x[:, ::2], axis=0), np.cumsum(a[:, ::2], axis=0), rtol=1e-5, atol=1e-5)
    v = rand((70001,))
    assert_close(mx.cumsum(mx.array(v)), np.cumsum(v), rtol=1e-4, atol=1e-3)
    assert_equal(mx.cumsum(mx.array(a > 0), axis=0), np.cumsum(a > 0, axis=0).astype(np.int32))


@pytest.mark.parametrize("dtype", ["float32", "int8", "complex64", "bool_", "float16"])
@pytest.mark.parametrize("n", [1, 17, 70001])
def test_take_flat_elements(dtype, n):
    a = rand((n,), dtype) if dtype != "complex64" else (rand((n,)) + 1j).astype(np.complex64)
    x = mxa(a, dtype)
    idx = RNG.integers(-n, n, size=(3, 50001)).astype(np.int64)
    assert_equal(mx.take(x, mx.array(idx)), np.take(a, idx))
    u = (idx[0] % n).astype(np.uint32)
    assert_equal(mx.take(x, mx.array(u)), np.take(a, u))
    # (n, 1) source along axis 0: slices of one element
    assert_equal(mx.take(x.reshape(n, 1), mx.array(idx[1]), axis=0), np.take(a.reshape(n, 1), idx[1], axis=0))
    with pytest.raises(IndexError):
        mx.eval(mx.take(x, mx.array(np.array([0, n], np.int32))))
    with pytest.raises(IndexError):
        mx.eval(mx.take(x, mx.array(np.array([-n - 1], np.int32))))
