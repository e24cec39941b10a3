"""Elementwise family: every unary and binary op and `where` against numpy
(math.erf for erf), over float32/float16/bfloat16/float64/int/complex inputs,
contiguous and not (transposed, stepped, reversed, broadcast), the integer
division rules, NaN handling and the Python operators."""

import math
import operator

import numpy as np
import pytest

import oxmlx.core as mx
from conftest import INT_NAMES, NP_OF, assert_equal, bf16_round, dname, to_np

RNG = np.random.default_rng(1234)

# Relative tolerance of one result in each float dtype (kernels compute
# float16/bfloat16 in float32 and round once).
RTOL = {"float16": 1e-3, "bfloat16": 8e-3, "float32": 1e-5, "float64": 1e-12,
        "complex64": 1e-5}
ATOL = {"float16": 1e-4, "bfloat16": 1e-3, "float32": 1e-6, "float64": 1e-13,
        "complex64": 1e-6}
FLOATS = ["float32", "float16", "bfloat16", "float64"]

_erf = np.vectorize(math.erf, otypes=[np.float64])

# name -> (numpy reference in float64, low, high) for real inputs
UNARY = {
    "abs": (np.abs, -3, 3),
    "negative": (np.negative, -3, 3),
    "sign": (np.sign, -3, 3),
    "floor": (np.floor, -3, 3),
    "ceil": (np.ceil, -3, 3),
    "round": (np.round, -3, 3),
    "sqrt": (np.sqrt, 0, 4),
    "rsqrt": (lambda x: 1 / np.sqrt(x), 0.1, 4),
    "square": (np.square, -3, 3),
    "reciprocal": (lambda x: 1 / x, 0.2, 3),
    "exp": (np.exp, -3, 3),
    "expm1": (np.expm1, -1, 1),
    "log": (np.log, 0.1, 5),
    "log1p": (np.log1p, -0.5, 3),
    "log2": (np.log2, 0.1, 5),
    "log10": (np.log10, 0.1, 5),
    "sin": (np.sin, -1.2, 1.2),
    "cos": (np.cos, -1.2, 1.2),
    "tan": (np.tan, -1.2, 1.2),
    "arcsin": (np.arcsin, -0.95, 0.95),
    "arccos": (np.arccos, -0.95, 0.95),
    "arctan": (np.arctan, -3, 3),
    "sinh": (np.sinh, -2, 2),
    "cosh": (np.cosh, -2, 2),
    "tanh": (np.tanh, -2, 2),
    "arcsinh": (np.arcsinh, -3, 3),
    "arccosh": (np.arccosh, 1.1, 4),
    "arctanh": (np.arctanh, -0.9, 0.9),
    "sigmoid": (lambda x: 1 / (1 + np.exp(-x)), -5, 5),
    "erf": (_erf, -2, 2),
}


def sample(dtype, shape, lo, hi):
    """Random values of dtype (exactly representable: rounded through it)."""
    x = RNG.uniform(lo, hi, size=shape)
    if dtype == "bfloat16":
        return bf16_round(x.astype(np.float32))
    return x.astype(NP_OF[dtype])


def check_unary(name, got, x64, dtype):
    ref, _, _ = UNARY[name]
    with np.errstate(all="ignore"):
        want = ref(x64)
    assert dname(got.dtype) == dtype
    assert got.shape == want.shape
    np.testing.assert_allclose(to_np(got).astype(np.float64), want, rtol=RTOL[dtype],
                               atol=ATOL[dtype], equal_nan=True)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_float(name, dtype):
    _, lo, hi = UNARY[name]
    x = sample(dtype, (3, 37), lo, hi)  # a SIMD-width multiple plus a tail
    a = mx.array(x, dtype=getattr(mx, dtype))
    check_unary(name, getattr(mx, name)(a), x.astype(np.float64), dtype)


@pytest.mark.parametrize("view", ["transpose", "step", "reverse", "broadcast", "slice2d"])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_non_contiguous(name, view):
    _, lo, hi = UNARY[name]
    x = sample("float32", (6, 10), lo, hi)
    a = mx.array(x)
    make = {
        "transpose": lambda v: v.T,
        "step": lambda v: v[::2, 1::3],
        "reverse": lambda v: v[::-1, ::-2],
        "broadcast": lambda v: (mx.broadcast_to(v[:1], (4, 10)) if isinstance(v, mx.array)
                                else np.broadcast_to(v[:1], (4, 10))),
        "slice2d": lambda v: v[1:5, 2:9],
    }[view]
    check_unary(name, getattr(mx, name)(make(a)), make(x).astype(np.float64), "float32")


@pytest.mark.parametrize("name", ["exp", "sin", "abs", "sigmoid", "sqrt"])
def test_unary_large_multithreaded(name):
    _, lo, hi = UNARY[name]
    x = sample("float32", (100_003,), lo, hi)
    check_unary(name, getattr(mx, name)(mx.array(x)), x.astype(np.float64), "float32")
    # and a large non-contiguous one
    x2 = sample("float32", (400, 300), lo, hi)
    check_unary(name, getattr(mx, name)(mx.array(x2).T), x2.T.astype(np.float64), "float32")


SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 0.5], dtype=np.float32)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_special_values(name):
    got = to_np(getattr(mx, name)(mx.array(SPECIAL)))
    ref = UNARY[name][0]
    with np.errstate(all="ignore"):
        want = ref(SPECIAL.astype(np.float64)).astype(np.float32)
    if name == "sign":
        want[np.isnan(SPECIAL)] = 0  # MLX (unlike numpy): sign(nan) == 0
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, equal_nan=True)
    # signs of zeros and infinities agree too
    finite = np.isfinite(want) & (want == 0)
    assert (np.signbit(got[finite]) == np.signbit(want[finite])).all() or name in (
        "sign", "round", "floor", "ceil")


def test_erf_values_and_erfinv_inverse():
    x = np.linspace(-3, 3, 61).astype(np.float32)
    np.testing.assert_allclose(np.array(mx.erf(mx.array(x))), _erf(x), rtol=2e-6, atol=1e-7)
    y = np.linspace(-0.999, 0.999, 101).astype(np.float32)
    inv = mx.erfinv(mx.array(y))
    assert inv.dtype == mx.float32
    np.testing.assert_allclose(_erf(np.array(inv).astype(np.float64)), y, rtol=1e-5, atol=1e-6)
    # known values
    got = mx.erfinv(mx.array([0.0, 0.5, -0.5, 1.0, -1.0, 1.5, float("nan")])).tolist()
    assert got[0] == 0.0
    assert got[1] == pytest.approx(0.4769362762044699, rel=1e-6)
    assert got[2] == pytest.approx(-0.4769362762044699, rel=1e-6)
    assert got[3] == math.inf and got[4] == -math.inf
    assert math.isnan(got[5]) and math.isnan(got[6])
    # float64 is exact to double precision
    d = mx.erfinv(mx.array([0.3, -0.9, 0.999999], mx.float64)).tolist()
    for v, want in zip(d, [0.3, -0.9, 0.999999]):
        assert math.erf(v) == pytest.approx(want, rel=1e-14)
    for dt in ("float16", "bfloat16"):
        r = mx.erfinv(mx.array([0.5], getattr(mx, dt)))
        assert r.dtype == getattr(mx, dt)
        assert r.item() == pytest.approx(0.4769362762044699, rel=RTOL[dt])


def test_round_decimals():
    x = np.array([1.25, -2.5, 0.5, 1.5, 123.456, -0.049], np.float32)
    assert mx.round(mx.array(x)).tolist() == np.round(x).tolist()  # half to even
    np.testing.assert_allclose(np.array(mx.round(mx.array(x), 2)), np.round(x, 2), rtol=1e-6)
    np.testing.assert_allclose(np.array(mx.round(mx.array(x), 1)), np.round(x, 1), rtol=1e-6)
    np.testing.assert_allclose(np.array(mx.round(mx.array([1234.5, -1250.0]), -2)),
                               [1200.0, -1200.0])
    assert mx.array([2.567]).round(1).tolist() == pytest.approx([2.6])
    for n in ("int32", "int8", "int64", "uint8", "uint16"):
        v = np.array([15, 25, 35, 124, 125, 126, 0, 5, 95, 105], dtype=NP_OF[n])
        if not n.startswith("u"):
            v[::3] *= -1
        for d in (-1, -2, -3, 0, 2):
            r = mx.round(mx.array(v), d)
            assert r.dtype == getattr(mx, n)
            with np.errstate(all="ignore"):
                assert r.tolist() == np.round(v, d).tolist(), (n, d)


@pytest.mark.parametrize("dtype", INT_NAMES)
def test_unary_integer(dtype):
    info = np.iinfo(NP_OF[dtype])
    x = np.array([0, 1, 2, 7, info.max, info.min, info.max - 3, info.min + 1], dtype=NP_OF[dtype])
    a = mx.array(x)
    with np.errstate(all="ignore"):
        for name, ref in [("abs", np.abs), ("negative", np.negative), ("square", np.square),
                          ("sign", np.sign), ("floor", np.floor), ("ceil", np.ceil),
                          ("round", np.round), ("bitwise_invert", np.invert)]:
            r = getattr(mx, name)(a)
            assert dname(r.dtype) == dtype, name
            want = ref(x)
            if name in ("floor", "ceil"):
                want = x  # integers are their own floor (numpy would give float64)
            assert r.tolist() == want.astype(NP_OF[dtype]).tolist(), name
        for name, ref in [("logical_not", np.logical_not), ("isnan", np.isnan),
                          ("isinf", np.isinf), ("isfinite", np.isfinite),
                          ("isposinf", np.isposinf), ("isneginf", np.isneginf)]:
            r = getattr(mx, name)(a)
            assert r.dtype == mx.bool_
            assert r.tolist() == ref(x).tolist(), name
    # transcendental ops compute integers in float32
    small = np.array([1, 2, 3, 9], dtype=NP_OF[dtype])
    for name in ("sqrt", "exp", "log", "sin", "sigmoid", "reciprocal"):
        r = getattr(mx, name)(mx.array(small))
        assert r.dtype == mx.float32, name
        np.testing.assert_allclose(np.array(r), UNARY[name][0](small.astype(np.float64)),
                                   rtol=1e-5, err_msg=name)
    assert mx.conj(a).tolist() == x.tolist()
    assert mx.real(a).tolist() == x.tolist()
    assert mx.imag(a).tolist() == [0] * len(x)


def test_unary_bool():
    b = mx.array([True, False, True])
    assert mx.logical_not(b).tolist() == [False, True, False]
    assert (~b).tolist() == [False, True, False]
    assert mx.bitwise_invert(b).tolist() == [False, True, False]
    for name in ("abs", "sign", "square", "round", "floor", "ceil"):
        r = getattr(mx, name)(b)
        assert r.dtype == mx.bool_ and r.tolist() == [True, False, True], name
    assert mx.sqrt(b).tolist() == [1.0, 0.0, 1.0]
    assert mx.isnan(b).tolist() == [False] * 3
    with pytest.raises(ValueError):
        mx.negative(b)
    with pytest.raises(ValueError):
        -b


def test_unary_complex():
    z = np.array([0.5 + 1j, -2 - 0.5j, 3j, 1.5, -1 + 1j], np.complex64)
    a = mx.array(z)
    for name, ref in [("abs", np.abs), ("sqrt", np.sqrt), ("exp", np.exp), ("log", np.log),
                      ("sin", np.sin), ("cos", np.cos), ("tanh", np.tanh),
                      ("square", np.square), ("negative", np.negative),
                      ("conj", np.conj), ("conjugate", np.conjugate), ("real", np.real),
                      ("imag", np.imag), ("reciprocal", lambda v: 1 / v),
                      ("sign", lambda v: v / np.abs(v)), ("round", np.round)]:
        r = getattr(mx, name)(a)
        want = ref(z.astype(np.complex128))
        assert dname(r.dtype) == ("float32" if name in ("abs", "real", "imag") else "complex64")
        np.testing.assert_allclose(np.array(r), want, rtol=1e-5, atol=1e-6, err_msg=name)
    assert mx.isnan(mx.array([complex(np.nan, 0), 1j])).tolist() == [True, False]
    inf = float("inf")
    c = mx.array([complex(inf, 0), complex(0, inf), complex(-inf, 0), 1 + 1j])
    assert mx.isinf(c).tolist() == [True, True, True, False]
    assert mx.isposinf(c).tolist() == [True, False, False, False]
    assert mx.isneginf(c).tolist() == [False, False, True, False]
    for name in ("erf", "floor", "ceil"):
        with pytest.raises(ValueError):
            getattr(mx, name)(a)


def test_isnan_family_floats():
    for dt in FLOATS:
        a = mx.array(SPECIAL, dtype=getattr(mx, dt))
        for name, ref in [("isnan", np.isnan), ("isinf", np.isinf), ("isfinite", np.isfinite),
                          ("isposinf", np.isposinf), ("isneginf", np.isneginf),
                          ("logical_not", np.logical_not)]:
            r = getattr(mx, name)(a)
            assert r.dtype == mx.bool_
            assert r.tolist() == ref(SPECIAL).tolist(), (name, dt)


# -------------------------------------------------------------------- binary

# name -> (numpy reference, x range, y range, exact?)
BINARY = {
    "add": (np.add, (-4, 4), (-4, 4), True),
    "subtract": (np.subtract, (-4, 4), (-4, 4), True),
    "multiply": (np.multiply, (-4, 4), (-4, 4), True),
    "divide": (np.divide, (-4, 4), (0.25, 4), True),
    "power": (np.power, (0.1, 3), (-2, 2), False),
    "maximum": (np.maximum, (-4, 4), (-4, 4), True),
    "minimum": (np.minimum, (-4, 4), (-4, 4), True),
    "arctan2": (np.arctan2, (-4, 4), (-4, 4), False),
    "logaddexp": (np.logaddexp, (-4, 4), (-4, 4), False),
}
COMPARE = {
    "equal": np.equal, "not_equal": np.not_equal, "less": np.less,
    "less_equal": np.less_equal, "greater": np.greater, "greater_equal": np.greater_equal,
    "logical_and": np.logical_and, "logical_or": np.logical_or,
}


def check_binary(name, got, x, y, dtype):
    ref, _, _, exact = BINARY[name]
    assert dname(got.dtype) == dtype, (got.dtype, dtype)
    if exact and dtype in ("float32", "float16", "float64"):
        # IEEE ops are correctly rounded: numpy in the same dtype is exact.
        assert_equal(got, ref(x, y))
        return
    with np.errstate(all="ignore"):
        want = ref(x.astype(np.float64), y.astype(np.float64))
    np.testing.assert_allclose(to_np(got).astype(np.float64), want, rtol=RTOL[dtype],
                               atol=ATOL[dtype], equal_nan=True)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_float(name, dtype):
    _, xr, yr, _ = BINARY[name]
    x = sample(dtype, (3, 37), *xr)
    y = sample(dtype, (3, 37), *yr)
    d = getattr(mx, dtype)
    check_binary(name, getattr(mx, name)(mx.array(x, dtype=d), mx.array(y, dtype=d)), x, y,
                 dtype)


def test_bfloat16_binary_is_rounded_float32():
    x = sample("bfloat16", (50,), -4, 4)
    y = sample("bfloat16", (50,), 0.25, 4)
    a, b = mx.array(x, mx.bfloat16), mx.array(y, mx.bfloat16)
    for f in (np.add, np.subtract, np.multiply, np.divide, np.maximum):
        got = to_np(getattr(mx, f.__name__)(a, b))
        np.testing.assert_array_equal(got, bf16_round(f(x, y)), err_msg=f.__name__)


@pytest.mark.parametrize("layout", ["row_col", "transposed", "stepped", "reversed", "scalar",
                                    "3d"])
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_broadcast_and_non_contiguous(name, layout):
    _, xr, yr, _ = BINARY[name]
    x = sample("float32", (8, 9), *xr)
    y = sample("float32", (8, 9), *yr)
    if layout == "row_col":
        xv, yv = x[:, :1], y[:1, :]
        xa, ya = mx.array(x)[:, :1], mx.array(y)[:1, :]
    elif layout == "transposed":
        xv, yv = x.T, y[:, ::-1].T
        xa, ya = mx.array(x).T, mx.array(y)[:, ::-1].T
    elif layout == "stepped":
        xv, yv = x[::2, 1::2], y[1::2, 1::2]
        xa, ya = mx.array(x)[::2, 1::2], mx.array(y)[1::2, 1::2]
    elif layout == "reversed":
        xv, yv = x[::-1], y[0]
        xa, ya = mx.array(x)[::-1], mx.array(y)[0]
    elif layout == "scalar":
        xv, yv = x, y[2, 3].reshape(())
        xa, ya = mx.array(x), mx.array(y)[2, 3]
    else:
        xv, yv = x.reshape(8, 1, 9), y[:4, :].reshape(4, 9)
        xa, ya = mx.array(x).reshape(8, 1, 9), mx.array(y)[:4, :]
    got = getattr(mx, name)(xa, ya)
    assert got.shape == np.broadcast_shapes(xv.shape, yv.shape)
    check_binary(name, got, np.broadcast_to(xv, got.shape), np.broadcast_to(yv, got.shape),
                 "float32")
    # and with the operands swapped
    got = getattr(mx, name)(ya, xa)
    check_binary(name, got, np.broadcast_to(yv, got.shape), np.broadcast_to(xv, got.shape),
                 "float32")


def test_binary_large_multithreaded():
    x = sample("float32", (300, 400), -4, 4)
    y = sample("float32", (300, 400), -4, 4)
    xa, ya = mx.array(x), mx.array(y)
    assert_equal(xa + ya, x + y)
    assert_equal(xa.T * ya.T, x.T * y.T)
    assert_equal(mx.maximum(xa, ya[:1]), np.maximum(x, y[:1]))
    assert_equal(xa[::-1, ::2] - ya[:, 1::2], x[::-1, ::2] - y[:, 1::2])


@pytest.mark.parametrize("dtype", FLOATS + INT_NAMES + ["bool_"])
@pytest.mark.parametrize("name", sorted(COMPARE))
def test_comparisons(name, dtype):
    if dtype == "bool_":
        x = RNG.integers(0, 2, 40).astype(bool)
        y = RNG.integers(0, 2, 40).astype(bool)
    elif dtype in FLOATS:
        x = sample(dtype, (40,), -2, 2).round(1)
        y = sample(dtype, (40,), -2, 2).round(1)
        y[:10] = x[:10]
        x[10], y[11] = np.nan, np.nan
    else:
        info = np.iinfo(NP_OF[dtype])
        x = RNG.integers(max(info.min, -5), 6, 40).astype(NP_OF[dtype])
        y = RNG.integers(max(info.min, -5), 6, 40).astype(NP_OF[dtype])
        x[0], y[0], x[1] = info.max, info.min, info.max
    d = getattr(mx, dtype)
    r = getattr(mx, name)(mx.array(x, dtype=d), mx.array(y, dtype=d))
    assert r.dtype == mx.bool_
    assert r.tolist() == COMPARE[name](x, y).tolist()


def test_complex_binary_and_comparisons():
    x = np.array([1 + 2j, 3 - 1j, -1j, 2, 1 + 1j], np.complex64)
    y = np.array([2 - 1j, 3 - 1j, 1, 2 + 1j, 1 + 2j], np.complex64)
    a, b = mx.array(x), mx.array(y)
    for f in (np.add, np.subtract, np.multiply, np.divide):
        np.testing.assert_allclose(np.array(getattr(mx, f.__name__)(a, b)), f(x, y), rtol=1e-6)
    np.testing.assert_allclose(np.array(mx.power(a, b)), np.power(x, y), rtol=1e-5)
    assert mx.equal(a, b).tolist() == (x == y).tolist()
    assert mx.not_equal(a, b).tolist() == (x != y).tolist()
    # ordering is lexicographic (real, then imaginary), as numpy
    assert mx.less(a, b).tolist() == (x < y).tolist()
    assert mx.greater_equal(a, b).tolist() == (x >= y).tolist()
    assert mx.maximum(a, b).tolist() == np.maximum(x, y).tolist()
    assert mx.minimum(a, b).tolist() == np.minimum(x, y).tolist()


@pytest.mark.parametrize("dtype", FLOATS)
def test_maximum_minimum_propagate_nan(dtype):
    x = np.array([np.nan, 1, 2, np.nan, -np.inf, 0.0], np.float32)
    y = np.array([1, np.nan, 3, np.nan, 1, -0.0], np.float32)
    d = getattr(mx, dtype)
    a, b = mx.array(x, dtype=d), mx.array(y, dtype=d)
    np.testing.assert_array_equal(to_np(mx.maximum(a, b)), np.maximum(x, y))
    np.testing.assert_array_equal(to_np(mx.minimum(a, b)), np.minimum(x, y))
    assert math.isnan(mx.maximum(a, 1.0).tolist()[0])
    assert math.isnan(mx.minimum(2.0, a).tolist()[3])


@pytest.mark.parametrize("dtype", FLOATS)
def test_float_floor_divide_and_remainder(dtype):
    # Multiples of 1/4: floor(x / y) is exact, so numpy's divmod agrees.
    x = np.array([7, -7, 7, -7, 0, 5.5, -5.5, 0.75, 3, -3], np.float32)
    y = np.array([2, 2, -2, -2, 3, 0.25, 2.5, -0.5, 1.5, 1.5], np.float32)
    d = getattr(mx, dtype)
    a, b = mx.array(x, dtype=d), mx.array(y, dtype=d)
    r = mx.floor_divide(a, b)
    assert dname(r.dtype) == dtype
    np.testing.assert_array_equal(to_np(r), np.floor_divide(x, y))
    r = mx.remainder(a, b)
    assert dname(r.dtype) == dtype
    np.testing.assert_array_equal(to_np(r), np.remainder(x, y))  # sign of the divisor
    with np.errstate(all="ignore"):
        z = np.array([1.0, -1.0, 0.0, 5.0, -5.0], np.float32)
        w = np.array([0.0, 0.0, 0.0, np.inf, np.inf], np.float32)
        # floor_divide is floor(x / y) as in MLX (numpy's -5 // inf is -1)
        np.testing.assert_array_equal(np.array(mx.floor_divide(mx.array(z), mx.array(w)))[:3],
                                      np.floor_divide(z, w)[:3])
        np.testing.assert_array_equal(np.array(mx.remainder(mx.array(z), mx.array(w))),
                                      np.remainder(z, w))


INT_OPS = {
    "add": np.add, "subtract": np.subtract, "multiply": np.multiply,
    "maximum": np.maximum, "minimum": np.minimum, "bitwise_and": np.bitwise_and,
    "bitwise_or": np.bitwise_or, "bitwise_xor": np.bitwise_xor,
    "floor_divide": np.floor_divide, "remainder": np.remainder,
}


@pytest.mark.parametrize("dtype", INT_NAMES)
@pytest.mark.parametrize("name", sorted(INT_OPS))
def test_binary_integer(name, dtype):
    info = np.iinfo(NP_OF[dtype])
    lo = max(int(info.min), -100)
    x = RNG.integers(lo, 100, (3, 37)).astype(NP_OF[dtype])
    y = RNG.integers(lo, 100, (3, 37)).astype(NP_OF[dtype])
    x[0, :4] = [info.max, info.min, info.max, info.min]
    y[0, :4] = [1, 1, info.max, 3]
    if name in ("floor_divide", "remainder"):
        y[y == 0] = 7
    d = getattr(mx, dtype)
    r = getattr(mx, name)(mx.array(x, dtype=d), mx.array(y, dtype=d))
    assert dname(r.dtype) == dtype
    with np.errstate(all="ignore"):
        want = INT_OPS[name](x, y)  # wraps on overflow like C integers
    assert r.tolist() == want.tolist()
    # non-contiguous and broadcast operands
    r = getattr(mx, name)(mx.array(x, dtype=d).T, mx.array(y, dtype=d)[:1].T)
    with np.errstate(all="ignore"):
        assert r.tolist() == INT_OPS[name](x.T, y[:1].T).tolist()


def test_integer_division_semantics():
    x = np.array([7, -7, 7, -7, 0, 1, -1, 6], np.int32)
    y = np.array([2, 2, -2, -2, 3, -5, 5, 3], np.int32)
    a, b = mx.array(x), mx.array(y)
    assert (a // b).tolist() == (x // y).tolist() == [3, -4, -4, 3, 0, -1, -1, 2]
    assert (a % b).tolist() == (x % y).tolist() == [1, 1, -1, -1, 0, -4, 4, 0]
    assert mx.floor_divide(a, b).dtype == mx.int32
    # true division of integers is float32
    r = a / b
    assert r.dtype == mx.float32
    np.testing.assert_allclose(np.array(r), x / y, rtol=1e-6)
    # unsigned
    u = mx.array([7, 200, 255], mx.uint8)
    assert (u // mx.array([2, 3, 16], mx.uint8)).tolist() == [3, 66, 15]
    assert (u % mx.array([2, 3, 16], mx.uint8)).tolist() == [1, 2, 15]


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "uint8", "uint32"])
def test_integer_division_by_zero_and_overflow_do_not_crash(dtype):
    info = np.iinfo(NP_OF[dtype])
    d = getattr(mx, dtype)
    x = mx.array([5, 0, int(info.max)], d)
    z = mx.zeros((3,), d)
    # numpy's results: 0 for both (and no trap)
    assert (x // z).tolist() == [0, 0, 0]
    assert (x % z).tolist() == [0, 0, 0]
    if info.min < 0:
        m = mx.array([int(info.min), int(info.min)], d)
        n = mx.array([-1, 1], d)
        assert (m // n).tolist() == [int(info.min), int(info.min)]  # wraps, as numpy
        assert (m % n).tolist() == [0, 0]
        assert (-m).tolist() == [int(info.min)] * 2
        assert mx.abs(m).tolist() == [int(info.min)] * 2


def test_integer_power():
    x = mx.array([2, 2, 0, -2, 3, -1, 1, 0], mx.int32)
    y = mx.array([3, 0, 0, 3, 4, 5, -3, 5], mx.int32)
    assert mx.power(x, y).tolist() == [8, 1, 1, -8, 81, -1, 1, 0]
    # negative exponents: only 1 and -1 are not truncated to 0
    assert mx.power(mx.array([2, 1, -1, -1, 5]), mx.array([-1, -2, -3, -2, -1])).tolist() == \
        [0, 1, -1, 1, 0]
    # wraps like numpy
    with np.errstate(all="ignore"):
        want = np.power(np.array([3], np.int8), np.array([5], np.int8)).tolist()
    assert mx.power(mx.array([3], mx.int8), mx.array([5], mx.int8)).tolist() == want
    assert (mx.array([2, 3], mx.uint8) ** 2).tolist() == [4, 9]
    assert (mx.array([2, 3]) ** 2).dtype == mx.int32
    assert (mx.array([2, 3]) ** 0.5).dtype == mx.float32


@pytest.mark.parametrize("dtype", INT_NAMES)
def test_shifts(dtype):
    bits = np.dtype(NP_OF[dtype]).itemsize * 8
    info = np.iinfo(NP_OF[dtype])
    x = np.array([1, 3, int(info.max), int(info.min), 5, 100 % int(info.max)] * 2,
                 dtype=NP_OF[dtype])
    s = np.array([0, 1, 2, 3, bits - 1, bits - 2, 4, 5, 6, 1, 0, 2], dtype=NP_OF[dtype])
    d = getattr(mx, dtype)
    a, b = mx.array(x, dtype=d), mx.array(s, dtype=d)
    assert mx.left_shift(a, b).tolist() == np.left_shift(x, s).tolist()
    assert mx.right_shift(a, b).tolist() == np.right_shift(x, s).tolist()
    assert (a << b).tolist() == (x << s).tolist()
    assert (a >> b).tolist() == (x >> s).tolist()
    # Shifting by the bit width or more is defined (numpy's answer), never UB.
    big = np.array([bits, bits + 3], dtype=NP_OF[dtype])
    y = x[:2]
    assert mx.left_shift(mx.array(y, dtype=d), mx.array(big, dtype=d)).tolist() == \
        np.left_shift(y, big).tolist()
    assert mx.right_shift(mx.array(x[2:4], dtype=d), mx.array(big, dtype=d)).tolist() == \
        np.right_shift(x[2:4], big).tolist()


def test_bitwise_and_logical_on_bool():
    t = mx.array([True, True, False, False])
    f = mx.array([True, False, True, False])
    assert (t & f).tolist() == [True, False, False, False]
    assert (t | f).tolist() == [True, True, True, False]
    assert (t ^ f).tolist() == [False, True, True, False]
    assert (t & f).dtype == mx.bool_
    assert mx.logical_and(t, f).tolist() == [True, False, False, False]
    assert mx.logical_or(t, f).tolist() == [True, True, True, False]
    # logical ops take any dtype and give bool
    r = mx.logical_and(mx.array([0.0, 2.5, -1.0]), mx.array([1, 1, 0]))
    assert r.dtype == mx.bool_ and r.tolist() == [False, True, False]
    with pytest.raises(ValueError, match="bitwise_and"):
        mx.bitwise_and(mx.array([1.0]), mx.array([1]))
    with pytest.raises(ValueError, match="left_shift"):
        mx.left_shift(mx.array([1.0]), mx.array([1]))


def test_logaddexp_and_arctan2_special_values():
    inf = float("inf")
    r = mx.logaddexp(mx.array([-inf, inf, 1000.0, -1000.0, 0.0]),
                     mx.array([-inf, inf, 1000.0, -1000.0, -inf]))
    np.testing.assert_allclose(np.array(r), [-inf, inf, 1000 + math.log(2),
                                             -1000 + math.log(2), 0.0], rtol=1e-6)
    assert math.isnan(mx.logaddexp(mx.array(float("nan")), mx.array(1.0)).item())
    x = np.array([0.0, -0.0, 1.0, -1.0, 0.0, inf], np.float32)
    y = np.array([-1.0, -1.0, 0.0, 0.0, 0.0, inf], np.float32)
    np.testing.assert_allclose(np.array(mx.arctan2(mx.array(x), mx.array(y))), np.arctan2(x, y),
                               rtol=1e-6)


def test_where():
    c = np.array([[True, False, True], [False, False, True]])
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    y = -np.arange(6, dtype=np.float32).reshape(2, 3)
    r = mx.where(mx.array(c), mx.array(x), mx.array(y))
    assert_equal(r, np.where(c, x, y), dtype="float32")
    # broadcasting in every argument, scalars, and promotion
    r = mx.where(mx.array(c[:, :1]), mx.array([1, 2, 3], mx.int8), 2.5)
    assert r.dtype == mx.float32
    assert r.tolist() == np.where(c[:, :1], [1, 2, 3], 2.5).tolist()
    r = mx.where(mx.array([1, 0, 2]), 1, 0)
    assert r.tolist() == [1, 0, 1] and r.dtype == mx.int32
    r = mx.where(mx.array(c).T, mx.array(x).T, mx.array(y)[:, ::-1].T)
    assert r.tolist() == np.where(c.T, x.T, y[:, ::-1].T).tolist()
    r = mx.where(mx.array([True, False]), mx.array([1, 2], mx.uint8), mx.array([3, 4], mx.int8))
    assert r.dtype == mx.int16 and r.tolist() == [1, 4]
    with pytest.raises(ValueError):
        mx.where(mx.array([True, False, True]), mx.array([1, 2]), 0)


def test_binary_with_python_scalars_values():
    x = np.array([1.5, -2.0, 3.25], np.float32)
    a = mx.array(x)
    assert (a + 1).tolist() == (x + 1).tolist()
    assert (1 - a).tolist() == (1 - x).tolist()
    assert mx.maximum(a, 0).tolist() == np.maximum(x, 0).tolist()
    assert mx.minimum(0.5, a).tolist() == np.minimum(0.5, x).tolist()
    assert mx.add(2, 3).item() == 5
    assert mx.add(2, 3).dtype == mx.int32
    assert mx.multiply(2.0, 3).dtype == mx.float32
    assert mx.power(2, mx.array([1, 2, 3])).tolist() == [2, 4, 8]


def test_incompatible_shapes_raise():
    with pytest.raises(ValueError, match=r"\(2, ?3\).*\(4,?\)"):
        mx.add(mx.ones((2, 3)), mx.ones((4,)))


# --------------------------------------------------------- Python operators

OPS = [
    ("+", operator.add), ("-", operator.sub), ("*", operator.mul), ("/", operator.truediv),
    ("//", operator.floordiv), ("%", operator.mod), ("**", operator.pow),
    ("<", operator.lt), ("<=", operator.le), (">", operator.gt), (">=", operator.ge),
    ("==", operator.eq), ("!=", operator.ne),
]


@pytest.mark.parametrize("sym,op", OPS, ids=[o[0] for o in OPS])
def test_python_operators_float(sym, op):
    x = np.array([[1.5, -2.0, 3.25], [0.5, 4.0, -1.25]], np.float32)
    y = np.array([[2.0, 0.5, -1.5], [1.0, -3.0, 2.5]], np.float32)
    if sym == "**":
        x = np.abs(x)
    a, b = mx.array(x), mx.array(y)
    rb, ry = (a, x) if sym == "**" else (b, y)  # right operand of the reflected form
    with np.errstate(all="ignore"):
        for got, want in [(op(a, b), op(x, y)), (op(a, 2.0), op(x, np.float32(2.0))),
                          (op(2.0, rb), op(np.float32(2.0), ry)),
                          (op(a, b[0]), op(x, y[0])), (op(a.T, b.T), op(x.T, y.T))]:
            assert isinstance(got, mx.array)
            np.testing.assert_allclose(to_np(got), want, rtol=1e-6)
            assert (got.dtype == mx.bool_) == (want.dtype == np.bool_)


@pytest.mark.parametrize("sym,op", OPS + [("&", operator.and_), ("|", operator.or_),
                                          ("^", operator.xor), ("<<", operator.lshift),
                                          (">>", operator.rshift)],
                         ids=[o[0] for o in OPS] + ["&", "|", "^", "<<", ">>"])
def test_python_operators_int(sym, op):
    x = np.array([7, -7, 12, 0, 5], np.int32)
    y = np.array([2, 3, 5, 4, 1], np.int32)
    a, b = mx.array(x), mx.array(y)
    cast = np.float32 if sym == "/" else np.int32  # int / int is float32 (MLX)
    with np.errstate(all="ignore"):
        assert op(a, b).tolist() == op(x, y).astype(cast).tolist()
        assert op(a, 3).tolist() == op(x, np.int32(3)).astype(cast).tolist()
        assert op(3, b).tolist() == op(np.int32(3), y).astype(cast).tolist()  # reflected
    if sym == "/":
        assert op(a, b).dtype == mx.float32
    elif sym in ("<", "<=", ">", ">=", "==", "!="):
        assert op(a, b).dtype == mx.bool_
    else:
        assert op(a, b).dtype == mx.int32
        assert op(3, b).dtype == mx.int32


def test_unary_python_operators():
    x = np.array([1, -2, 3], np.int32)
    a = mx.array(x)
    assert (-a).tolist() == [-1, 2, -3]
    assert (+a).tolist() == [1, -2, 3]
    assert abs(a).tolist() == [1, 2, 3]
    assert (~a).tolist() == (~x).tolist()
    assert (~mx.array([True, False])).tolist() == [False, True]
    assert abs(mx.array([-1.5])).tolist() == [1.5]
    with pytest.raises(ValueError):
        ~mx.array([1.5])


def test_matmul_operator():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    y = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_allclose(np.array(mx.array(x) @ mx.array(y)), x @ y)
    np.testing.assert_allclose(np.array(x.tolist() @ mx.array(y)), x @ y)


def test_inplace_operators_rebind_the_object():
    a = mx.array([1.0, 2.0])
    alias = a
    before = a * 1  # a node computed from the old value
    a += 1
    assert a is alias and a.tolist() == [2.0, 3.0]
    assert before.tolist() == [1.0, 2.0]
    a -= 0.5
    a *= 4
    a /= 2
    a **= 2
    assert alias.tolist() == [9.0, 25.0]
    i = mx.array([7, 9])
    i //= 2
    assert i.tolist() == [3, 4]
    i %= 3
    assert i.tolist() == [0, 1]
    i |= 6
    i &= 5
    i ^= 1
    assert i.tolist() == [5, 4]
    i <<= 2
    assert i.tolist() == [20, 16]
    i >>= 1
    assert i.tolist() == [10, 8]
    m = mx.ones((2, 2))
    m @= mx.ones((2, 2))
    assert m.tolist() == [[2.0, 2.0], [2.0, 2.0]]


def test_inplace_operators_follow_promotion():
    # As MLX: the in-place result is the promoted result (int32 += 1.5 -> float32).
    a = mx.array([1, 2])
    a += 1.5
    assert a.dtype == mx.float32 and a.tolist() == [2.5, 3.5]
    b = mx.array([1, 2], mx.uint8)
    b += mx.array([300], mx.int32)
    assert b.dtype == mx.int32 and b.tolist() == [301, 302]


def test_inplace_matches_mlx(mlx):
    for mod in (mx, mlx):
        a = mod.array([1, 2])
        a += 1.5
        b = mod.array([1, 2], mod.uint8)
        b += mod.array([300], mod.int32)
        mod.result = (dname(a.dtype), a.tolist(), dname(b.dtype), b.tolist())
    assert mx.result == mlx.result
    del mx.result, mlx.result


def test_operators_with_lists_and_numpy():
    a = mx.array([1, 2, 3])
    assert (a + [1, 1, 1]).tolist() == [2, 3, 4]
    assert ([1, 1, 1] - a).tolist() == [0, -1, -2]
    r = a * np.array([2, 2, 2], np.int32)
    assert isinstance(r, mx.array) and r.tolist() == [2, 4, 6]
    assert (a == [1, 0, 3]).tolist() == [True, False, True]
    with pytest.raises(TypeError):
        a + "x"
    with pytest.raises(TypeError):
        a + None


def test_empty_and_scalar_operands():
    e = mx.zeros((0, 3))
    assert mx.exp(e).shape == (0, 3)
    assert (e + mx.ones((3,))).shape == (0, 3)
    assert (e * mx.ones((1, 1))).shape == (0, 3)
    assert mx.where(e > 0, e, 1.0).shape == (0, 3)
    assert (mx.zeros((2, 0)) + mx.zeros((2, 1))).shape == (2, 0)
    s = mx.array(2.0)
    assert (s + s).shape == () and (s + s).item() == 4.0
    assert mx.sqrt(s).item() == pytest.approx(math.sqrt(2.0))
    assert (s * mx.array([[1.0], [3.0]])).tolist() == [[2.0], [6.0]]
    assert mx.maximum(mx.array(1), mx.array([0, 5])).tolist() == [1, 5]

