"""Reduction, arg-reduction and scan families against numpy: every axis form
(None, int, negative, tuple), keepdims, non-contiguous inputs, MLX's output
dtypes, empty and degenerate cases, and bad axes."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import oxmlx.core as mx
from conftest import DTYPE_NAMES, INT_NAMES, NP_OF, assert_equal, dname, to_np

RNG = np.random.default_rng(7)

AXES = [None, 0, 1, 2, -1, -2, (0, 1), (0, 2), (1, 2), (-1, 0), (0, 1, 2), ()]

NP_REDUCE = {"sum": np.sum, "prod": np.prod, "max": np.max, "min": np.min, "mean": np.mean,
             "all": np.all, "any": np.any}


def views(x):
    """(name, numpy view, oxmlx view) of a 3-d array in several layouts."""
    a = mx.array(x)
    return [
        ("contiguous", x, a),
        ("transposed", x.transpose(2, 0, 1), a.transpose(2, 0, 1)),
        ("sliced", x[:, ::-2, 1:], a[:, ::-2, 1:]),
        ("broadcast", np.broadcast_to(x[:1], x.shape), mx.broadcast_to(a[:1], x.shape)),
    ]


def np_axis(axis):
    return tuple(axis) if isinstance(axis, tuple) else axis


@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("name", sorted(NP_REDUCE))
def test_reductions_float32(name, axis):
    x = RNG.uniform(0.5, 1.5, (4, 5, 6)).astype(np.float32)
    for layout, xv, av in views(x):
        for keepdims in (False, True):
            got = getattr(mx, name)(av, axis=axis, keepdims=keepdims)
            want = NP_REDUCE[name](xv, axis=np_axis(axis), keepdims=keepdims)
            assert got.shape == want.shape, (layout, keepdims)
            if name in ("all", "any"):
                assert got.dtype == mx.bool_
                assert got.tolist() == want.tolist()
            else:
                assert got.dtype == mx.float32
                np.testing.assert_allclose(np.array(got), want, rtol=2e-6, err_msg=layout)
    # the method form agrees
    if name in ("sum", "prod", "max", "min", "mean", "all", "any"):
        got = getattr(mx.array(x), name)(axis=axis)
        np.testing.assert_allclose(to_np(got), NP_REDUCE[name](x, axis=np_axis(axis)), rtol=2e-6)


@pytest.mark.parametrize("dtype", INT_NAMES + ["bool_"])
@pytest.mark.parametrize("name", ["sum", "prod", "max", "min", "all", "any"])
def test_reductions_integer_exact(name, dtype):
    if dtype == "bool_":
        x = RNG.integers(0, 2, (3, 4, 5)).astype(bool)
    else:
        lo = 0 if dtype.startswith("u") else -3
        x = RNG.integers(lo, 4, (3, 4, 5)).astype(NP_OF[dtype])
    for axis in (None, 1, (0, 2), -1):
        got = getattr(mx, name)(mx.array(x), axis=axis)
        with np.errstate(all="ignore"):
            want = NP_REDUCE[name](x, axis=np_axis(axis))
        assert got.tolist() == want.tolist(), axis


@pytest.mark.parametrize("dtype,sum_dtype", [
    ("bool_", "int32"), ("int8", "int32"), ("int16", "int32"), ("int32", "int32"),
    ("int64", "int64"), ("uint8", "uint32"), ("uint16", "uint32"), ("uint32", "uint32"),
    ("uint64", "uint64"), ("float16", "float16"), ("bfloat16", "bfloat16"),
    ("float32", "float32"), ("float64", "float64"), ("complex64", "complex64"),
])
def test_reduction_output_dtypes(dtype, sum_dtype):
    a = mx.ones((3, 4), getattr(mx, dtype))
    assert dname(mx.sum(a).dtype) == sum_dtype
    assert dname(mx.sum(a, axis=0).dtype) == sum_dtype
    assert dname(mx.prod(a, axis=1).dtype) == sum_dtype
    assert mx.sum(a).item() == 12
    same = dtype
    assert dname(mx.max(a).dtype) == same and dname(mx.min(a, axis=0).dtype) == same
    assert mx.all(a).dtype == mx.bool_ and mx.any(a, axis=1).dtype == mx.bool_
    mean_dtype = dtype if dtype in ("float16", "bfloat16", "float32", "float64",
                                    "complex64") else "float32"
    assert dname(mx.mean(a).dtype) == mean_dtype
    if dtype != "complex64":
        assert dname(mx.var(a).dtype) == mean_dtype
    assert mx.argmax(a).dtype == mx.uint32
    assert mx.argmin(a, axis=1).dtype == mx.uint32


def test_reduction_dtypes_match_mlx(mlx):
    for n in DTYPE_NAMES:
        for name in ("sum", "prod", "max", "min", "mean", "var", "all", "any", "argmax",
                     "cumsum", "cumprod", "cummax", "logcumsumexp"):
            ours = getattr(mx, name)(mx.ones((2, 3), getattr(mx, n)), axis=1)
            theirs = getattr(mlx, name)(mlx.ones((2, 3), getattr(mlx, n)), axis=1)
            assert dname(ours.dtype) == dname(theirs.dtype), (name, n)


def test_integer_sums_widen_and_wrap():
    assert mx.sum(mx.array([200, 100], mx.uint8)).item() == 300
    assert mx.sum(mx.array([100, 100, 100], mx.int8)).item() == 300
    assert mx.sum(mx.array([True] * 300)).item() == 300
    assert mx.prod(mx.array([16, 16, 16], mx.int8)).item() == 4096
    # int32 sums wrap like numpy's int32 arithmetic
    assert mx.sum(mx.array([2**31 - 1, 1], mx.int32)).item() == -(2**31)
    assert mx.sum(mx.array([2**40, 2**40], mx.int64)).item() == 2**41


def test_float16_sums_accumulate_wider():
    # 4096 ones: a float16 accumulator would stop at 2048
    assert mx.ones((4096,), mx.float16).sum().item() == 4096.0
    assert mx.ones((4096,), mx.bfloat16).sum().item() == 4096.0
    assert mx.ones((3000,), mx.float16).mean().item() == 1.0


def test_large_reductions():
    x = RNG.uniform(-1, 1, (1000, 1001)).astype(np.float32)
    a = mx.array(x)
    np.testing.assert_allclose(mx.sum(a).item(), x.astype(np.float64).sum(), rtol=1e-4, atol=1e-2)
    np.testing.assert_allclose(np.array(mx.sum(a, axis=0)), x.sum(axis=0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.array(mx.sum(a, axis=1)), x.sum(axis=1), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.array(mx.sum(a.T, axis=1)), x.T.sum(axis=1), rtol=1e-4,
                               atol=1e-4)
    assert mx.max(a).item() == x.max()
    assert mx.argmin(a).item() == x.argmin()
    assert mx.argmax(a.T, axis=0).tolist() == x.T.argmax(axis=0).tolist()
    i = RNG.integers(-1000, 1000, (1000, 1001)).astype(np.int32)
    assert mx.sum(mx.array(i)).item() == int(i.sum())


@pytest.mark.parametrize("ddof", [0, 1, 2])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2)], ids=str)
def test_var(axis, ddof):
    x = RNG.uniform(-2, 2, (4, 5, 6)).astype(np.float32)
    for layout, xv, av in views(x):
        for keepdims in (False, True):
            got = mx.var(av, axis=axis, keepdims=keepdims, ddof=ddof)
            want = np.var(xv.astype(np.float64), axis=np_axis(axis), keepdims=keepdims, ddof=ddof)
            assert got.shape == want.shape
            np.testing.assert_allclose(np.array(got), want, rtol=1e-5, atol=1e-6,
                                       err_msg=layout)


def test_var_and_mean_special_cases():
    assert mx.var(mx.array([1.0, 2.0]), ddof=2).item() == math.inf  # n - ddof == 0
    assert mx.var(mx.array([1, 2, 4])).dtype == mx.float32
    assert mx.var(mx.array([1, 2, 4]), ddof=1).item() == pytest.approx(np.var([1, 2, 4], ddof=1))
    assert math.isnan(mx.mean(mx.zeros((0,))).item())
    assert mx.mean(mx.array([1, 2], mx.int8)).item() == 1.5
    z = np.array([1 + 1j, 2 - 1j, -1j], np.complex64)
    v = mx.var(mx.array(z))
    assert v.dtype == mx.float32  # E|z - mean|^2 is real
    assert v.item() == pytest.approx(np.var(z), rel=1e-6)
    assert mx.mean(mx.array(z)).item() == pytest.approx(np.mean(z))


def test_empty_reductions():
    e = mx.zeros((0, 3))
    assert mx.sum(e, axis=0).tolist() == [0.0, 0.0, 0.0]
    assert mx.prod(e, axis=0).tolist() == [1.0, 1.0, 1.0]
    assert mx.all(e).item() is True and mx.any(e).item() is False
    assert mx.sum(e, axis=1).shape == (0,)
    assert mx.max(e, axis=1).shape == (0,)
    with pytest.raises(ValueError):
        mx.max(e, axis=0)
    with pytest.raises(ValueError):
        mx.min(e)
    with pytest.raises(ValueError):
        mx.argmax(e, axis=0)
    assert mx.sum(mx.array(5)).item() == 5
    assert mx.sum(mx.array([[1, 2]]), axis=()).tolist() == [[1, 2]]


def test_argmax_argmin():
    x = RNG.integers(0, 5, (4, 5, 6)).astype(np.float32)  # many ties: first index wins
    for layout, xv, av in views(x):
        for axis in (None, 0, 1, -1):
            for keepdims in (False, True):
                for name in ("argmax", "argmin"):
                    got = getattr(mx, name)(av, axis=axis, keepdims=keepdims)
                    want = getattr(np, name)(xv, axis=axis, keepdims=keepdims)
                    assert got.shape == want.shape, (layout, axis, keepdims)
                    assert got.tolist() == want.tolist(), (layout, name, axis)
    n = np.array([[1.0, np.nan, 3.0], [2.0, 1.0, 0.0], [np.nan, np.nan, 1.0]], np.float32)
    assert mx.argmax(mx.array(n), axis=1).tolist() == np.argmax(n, axis=1).tolist()
    assert mx.argmin(mx.array(n), axis=1).tolist() == np.argmin(n, axis=1).tolist()
    for dt in INT_NAMES:
        v = np.array([3, 7, 7, 0, 7], dtype=NP_OF[dt])
        assert mx.argmax(mx.array(v)).item() == 1
        assert mx.argmin(mx.array(v)).item() == 3
    assert mx.argmax(mx.array([False, True, True])).item() == 1
    assert mx.argmax(mx.array([1 + 1j, 1 + 2j, 0j])).item() == 1


def test_max_min_nan_and_inf():
    x = np.array([[1.0, np.nan, 3.0], [-np.inf, 1.0, np.inf]], np.float32)
    a = mx.array(x)
    np.testing.assert_array_equal(np.array(mx.max(a, axis=1)), np.max(x, axis=1))
    np.testing.assert_array_equal(np.array(mx.min(a, axis=1)), np.min(x, axis=1))
    np.testing.assert_array_equal(np.array(mx.max(a, axis=0)), np.max(x, axis=0))
    assert math.isnan(mx.max(a).item())
    assert math.isnan(mx.sum(a).item())


# ------------------------------------------------------------------- scans

def scan_ref(x, name, axis, reverse, inclusive):
    """numpy reference of MLX's scans (exclusive scans start at the identity)."""
    if axis is None:
        x, axis = x.reshape(-1), 0
    if reverse:
        x = np.flip(x, axis)
    with np.errstate(all="ignore"):
        acc = {"cumsum": np.cumsum, "cumprod": np.cumprod,
               "cummax": lambda v, axis: np.maximum.accumulate(v, axis=axis),
               "cummin": lambda v, axis: np.minimum.accumulate(v, axis=axis),
               "logcumsumexp": lambda v, axis: np.logaddexp.accumulate(v, axis=axis)}[name]
        out = acc(x, axis=axis).astype(x.dtype) if name != "cumsum" or x.dtype != bool else \
            acc(x, axis=axis)
    if not inclusive:
        if np.issubdtype(x.dtype, np.floating):
            ident = {"cumsum": 0, "cumprod": 1, "cummax": -np.inf, "cummin": np.inf,
                     "logcumsumexp": -np.inf}[name]
        else:
            info = np.iinfo(x.dtype)
            ident = {"cumsum": 0, "cumprod": 1, "cummax": info.min, "cummin": info.max}[name]
        pad = np.full_like(np.take(out, [0], axis=axis), ident)
        out = np.concatenate([pad, np.take(out, range(out.shape[axis] - 1), axis=axis)], axis)
    if reverse:
        out = np.flip(out, axis)
    return out


SCANS = ["cumsum", "cumprod", "cummax", "cummin", "logcumsumexp"]


@pytest.mark.parametrize("inclusive", [True, False])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("name", SCANS)
def test_scans_float32(name, reverse, inclusive):
    x = RNG.uniform(0.5, 1.5, (4, 5, 6)).astype(np.float32)
    for layout, xv, av in views(x):
        for axis in (None, 0, 1, -1):
            got = getattr(mx, name)(av, axis=axis, reverse=reverse, inclusive=inclusive)
            want = scan_ref(xv.astype(np.float64), name, axis, reverse, inclusive)
            assert got.dtype == mx.float32
            assert got.shape == want.shape, (layout, axis)
            np.testing.assert_allclose(np.array(got), want, rtol=1e-5, atol=1e-6,
                                       err_msg=f"{layout} axis={axis}")


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int32", "uint32", "int64"])
@pytest.mark.parametrize("name", ["cumsum", "cumprod", "cummax", "cummin"])
def test_scans_integer(name, dtype):
    lo = 0 if dtype.startswith("u") else -3
    x = RNG.integers(lo, 4, (3, 7)).astype(NP_OF[dtype])
    for axis in (None, 0, 1):
        for reverse in (False, True):
            for inclusive in (True, False):
                got = getattr(mx, name)(mx.array(x), axis=axis, reverse=reverse,
                                        inclusive=inclusive)
                assert dname(got.dtype) == dtype  # MLX keeps the dtype of scans
                want = scan_ref(x, name, axis, reverse, inclusive)
                assert got.tolist() == want.tolist(), (axis, reverse, inclusive)


def test_scan_dtypes_and_overflow():
    assert mx.cumsum(mx.array([100, 100], mx.int8)).tolist() == [100, -56]  # wraps (MLX)
    b = mx.array([True, True, False, True])
    assert mx.cumsum(b).dtype == mx.int32 and mx.cumsum(b).tolist() == [1, 2, 2, 3]
    assert mx.cumprod(b).dtype == mx.bool_ and mx.cumprod(b).tolist() == [True, True, False,
                                                                          False]
    assert mx.cummax(b).tolist() == [True, True, True, True]
    assert mx.cumsum(mx.array([2**31 - 1, 1], mx.int32)).tolist() == [2**31 - 1, -(2**31)]
    assert mx.cumsum(mx.ones((4096,), mx.float16))[-1].item() == 4096.0
    lc = mx.logcumsumexp(mx.array([1, 2, 3]))
    assert lc.dtype == mx.float32
    np.testing.assert_allclose(np.array(lc), np.logaddexp.accumulate([1.0, 2.0, 3.0]), rtol=1e-6)
    assert mx.cummax(mx.array([1.0, float("nan"), 2.0])).tolist()[2] != 2.0  # NaN sticks


def test_logcumsumexp_special_values_and_complex():
    x = np.array([-np.inf, -np.inf, 0.0, 1000.0, 1000.0], np.float32)
    np.testing.assert_allclose(np.array(mx.logcumsumexp(mx.array(x))),
                               np.logaddexp.accumulate(x.astype(np.float64)), rtol=1e-6)
    z = np.array([1, 2j, 0, 3, 1 - 1j], np.complex64)
    want = np.log(np.cumsum(np.exp(z.astype(np.complex128))))
    got = np.array(mx.logcumsumexp(mx.array(z)))
    # compare exp of both (the imaginary part is defined modulo 2 pi)
    np.testing.assert_allclose(np.exp(got), np.exp(want), rtol=1e-5)


def test_large_scan():
    x = RNG.integers(-5, 5, (200_000,)).astype(np.int64)
    assert mx.cumsum(mx.array(x)).tolist() == np.cumsum(x).tolist()
    y = RNG.uniform(0, 1, (300, 400)).astype(np.float32)
    np.testing.assert_allclose(np.array(mx.cumsum(mx.array(y).T, axis=1)),
                               np.cumsum(y.T.astype(np.float64), axis=1), rtol=1e-4)


# ------------------------------------------------------------------- errors

@pytest.mark.parametrize("name", sorted(NP_REDUCE) + ["var", "argmax", "argmin"] + SCANS)
def test_bad_axis_raises_and_names_the_axis(name):
    a = mx.ones((2, 3))
    for axis in (2, -3, 7):
        with pytest.raises((IndexError, ValueError), match=f"{axis}"):
            getattr(mx, name)(a, axis=axis)
    if name not in SCANS + ["argmax", "argmin"]:
        with pytest.raises((IndexError, ValueError), match="5"):
            getattr(mx, name)(a, axis=(0, 5))
        with pytest.raises(ValueError):
            getattr(mx, name)(a, axis=(0, 0))
        with pytest.raises(ValueError):
            getattr(mx, name)(a, axis=(1, -1))


def test_bad_axis_exception_types_match_mlx(mlx):
    for name in sorted(NP_REDUCE) + ["var", "argmax", "argmin"] + SCANS:
        for axis in (2, -3) + (((0, 0), (0, 5)) if name not in SCANS + ["argmax", "argmin"]
                               else ()):
            with pytest.raises(Exception) as ours:
                getattr(mx, name)(mx.ones((2, 3)), axis=axis)
            with pytest.raises(Exception) as theirs:
                getattr(mlx, name)(mlx.ones((2, 3)), axis=axis)
            assert ours.type is theirs.type, (name, axis)


# --------------------------------------------------------------- hypothesis

@given(st.lists(st.integers(1, 4), min_size=1, max_size=4), st.data())
def test_sum_max_random_axes_match_numpy(shape, data):
    nd = len(shape)
    axes = data.draw(st.lists(st.integers(-nd, nd - 1), unique_by=lambda v: v % nd, max_size=nd))
    keepdims = data.draw(st.booleans())
    x = np.arange(int(np.prod(shape)), dtype=np.int32).reshape(shape) % 7 - 3
    a = mx.array(x)
    ax = tuple(axes)
    for name, ref in (("sum", np.sum), ("max", np.max), ("min", np.min), ("prod", np.prod)):
        got = getattr(mx, name)(a, axis=ax, keepdims=keepdims)
        want = ref(x, axis=ax, keepdims=keepdims)
        assert got.shape == want.shape
        assert_equal(got, want)
