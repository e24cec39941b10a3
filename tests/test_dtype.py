"""Dtypes: the 14 dtypes, categories, the binary promotion table (by hand and
against MLX), weak Python scalars, and the result dtypes of every binary op."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import oxmlx.core as mx
from conftest import DTYPE_NAMES, NP_OF, dname

SIZES = {
    "bool_": 1, "uint8": 1, "uint16": 2, "uint32": 4, "uint64": 8, "int8": 1, "int16": 2,
    "int32": 4, "int64": 8, "float16": 2, "float32": 4, "float64": 8, "bfloat16": 2,
    "complex64": 8,
}
CATEGORIES = ["complexfloating", "floating", "inexact", "signedinteger", "unsignedinteger",
              "integer", "number", "generic"]


def test_all_dtypes_exist_with_size_and_repr():
    assert len(DTYPE_NAMES) == 14
    for n in DTYPE_NAMES:
        d = getattr(mx, n)
        assert d.size == SIZES[n]
        shown = "bool" if n == "bool_" else n
        assert repr(d) == f"oxmlx.core.{shown}"
        assert mx.zeros((2,), d).dtype == d
        assert mx.zeros((3,), d).itemsize == SIZES[n]


def test_dtype_equality_and_hash():
    assert mx.float32 == mx.float32
    assert mx.float32 != mx.float16
    assert mx.int32 != "int32"
    assert len({getattr(mx, n) for n in DTYPE_NAMES}) == 14
    assert {mx.float32: 1}[mx.array([1.0]).dtype] == 1


def _leaf_categories(n):
    if n == "bool_":
        return set()
    if n == "complex64":
        return {"complexfloating", "inexact", "number"}
    if n in ("float16", "float32", "float64", "bfloat16"):
        return {"floating", "inexact", "number"}
    if n.startswith("u"):
        return {"unsignedinteger", "integer", "number"}
    return {"signedinteger", "integer", "number"}


@pytest.mark.parametrize("n", DTYPE_NAMES)
def test_issubdtype_dtype_vs_category(n):
    d = getattr(mx, n)
    want = _leaf_categories(n) | {"generic"}
    got = {c for c in CATEGORIES if mx.issubdtype(d, getattr(mx, c))}
    assert got == want
    assert mx.issubdtype(d, d)
    for m in DTYPE_NAMES:
        if m != n:
            assert not mx.issubdtype(d, getattr(mx, m))


def test_issubdtype_category_lattice():
    parents = {
        "complexfloating": {"inexact"}, "floating": {"inexact"}, "inexact": {"number"},
        "signedinteger": {"integer"}, "unsignedinteger": {"integer"}, "integer": {"number"},
        "number": {"generic"}, "generic": set(),
    }

    def ancestors(c):
        out = {c}
        for p in parents[c]:
            out |= ancestors(p)
        return out

    for a in CATEGORIES:
        for b in CATEGORIES:
            assert mx.issubdtype(getattr(mx, a), getattr(mx, b)) == (b in ancestors(a)), (a, b)
    # A category is never a subtype of a concrete dtype.
    assert not mx.issubdtype(mx.floating, mx.float32)


def test_issubdtype_matches_mlx(mlx):
    names = DTYPE_NAMES + CATEGORIES
    for a in names:
        for b in names:
            got = mx.issubdtype(getattr(mx, a), getattr(mx, b))
            want = mlx.issubdtype(getattr(mlx, a), getattr(mlx, b))
            assert got == want, (a, b)


# ------------------------------------------------------------------ promotion

_BITS = {"8": 8, "16": 16, "32": 32, "64": 64}


def expected_promotion(a, b):
    """MLX's promotion rule written out from its documentation."""
    if a == b:
        return a
    if a == "bool_":
        return b
    if b == "bool_":
        return a
    if "complex64" in (a, b):
        return "complex64"
    if "float64" in (a, b):
        return "float64"
    floats = {"float16", "float32", "bfloat16"}
    if a in floats and b in floats:
        return "float32"  # float16 with bfloat16, or either with float32
    if a in floats:
        return a
    if b in floats:
        return b
    ua, ub = a.startswith("u"), b.startswith("u")
    na, nb = int(a.lstrip("uint")), int(b.lstrip("uint"))
    if ua == ub:
        return a if na >= nb else b
    nu, ni = (na, nb) if ua else (nb, na)
    if nu == 64:
        return "float32"
    return f"int{max(ni, 2 * nu)}"


@pytest.mark.parametrize("a", DTYPE_NAMES)
def test_promotion_table_by_hand(a):
    for b in DTYPE_NAMES:
        x = mx.zeros((1,), getattr(mx, a))
        y = mx.zeros((1,), getattr(mx, b))
        want = expected_promotion(a, b)
        assert dname((x + y).dtype) == want, (a, b)
        assert dname((y + x).dtype) == want, (b, a)
        assert dname(mx.promote_types(getattr(mx, a), getattr(mx, b))) == want


@pytest.mark.parametrize("a", DTYPE_NAMES)
def test_promotion_table_matches_mlx(a, mlx):
    for b in DTYPE_NAMES:
        got = (mx.zeros((1,), getattr(mx, a)) + mx.zeros((1,), getattr(mx, b))).dtype
        want = (mlx.zeros((1,), getattr(mlx, a)) + mlx.zeros((1,), getattr(mlx, b))).dtype
        assert dname(got) == dname(want), (a, b)


def test_hand_table_agrees_with_numpy_on_same_kind():
    # Independent check of the hand rule: where both are ints of one sign, or
    # both floats among float16/32/64, numpy's promotion is the same.
    same_kind = [["uint8", "uint16", "uint32", "uint64"], ["int8", "int16", "int32", "int64"],
                 ["float16", "float32", "float64"]]
    for group in same_kind:
        for a in group:
            for b in group:
                assert expected_promotion(a, b) == np.promote_types(NP_OF[a], NP_OF[b]).name


# ---------------------------------------------------------------- weak scalars

def test_python_scalars_are_weak():
    r = mx.array([1, 250], mx.uint8) + 100
    assert r.dtype == mx.uint8
    assert r.tolist() == [101, 94]  # wraps like uint8 arithmetic
    r = mx.array([1, 2]) + 2.5
    assert r.dtype == mx.float32 and r.tolist() == [3.5, 4.5]
    r = mx.array([1.0], mx.float16) + 2.0
    assert r.dtype == mx.float16 and r.tolist() == [3.0]
    r = mx.array([True, False]) + 1
    assert r.dtype == mx.int32 and r.tolist() == [2, 1]
    r = 2 * mx.array([1.5], mx.bfloat16)
    assert r.dtype == mx.bfloat16 and r.tolist() == [3.0]
    r = mx.array([3], mx.int8) * 2.0
    assert r.dtype == mx.float32 and r.tolist() == [6.0]
    r = mx.array([3], mx.int16) - True
    assert r.dtype == mx.int16 and r.tolist() == [2]
    assert (mx.array([True]) + True).dtype == mx.bool_
    assert (mx.array([1], mx.int64) + 1).dtype == mx.int64
    assert (mx.array([1], mx.float64) + 1.5).dtype == mx.float64
    assert (mx.array([1], mx.int32) + 1j).dtype == mx.complex64
    assert (1.5 - mx.array([1], mx.float16)).dtype == mx.float16


@pytest.mark.parametrize("dtype,value", [
    ("uint8", 1000), ("uint8", -1), ("int8", 128), ("int8", -129), ("uint16", 70000),
    ("int16", -40000), ("uint32", -5), ("int32", 2**31), ("int64", 2**63),
])
def test_weak_scalar_overflow_raises(dtype, value):
    a = mx.array([1], getattr(mx, dtype))
    with pytest.raises(ValueError, match="overflow"):
        a + value
    with pytest.raises(ValueError, match="overflow"):
        value * a


def test_weak_scalar_in_range_edges():
    assert (mx.array([0], mx.uint8) + 255).tolist() == [255]
    assert (mx.array([0], mx.int8) + (-128)).tolist() == [-128]
    assert (mx.array([0], mx.uint64) + 2**63).tolist() == [2**63]
    assert (mx.array([0], mx.int64) + (2**63 - 1)).tolist() == [2**63 - 1]
    # A float scalar that overflows float16 becomes inf (no error, as in MLX).
    r = mx.array([1.0], mx.float16) + 1e10
    assert r.dtype == mx.float16 and r.tolist() == [float("inf")]


def test_weak_scalars_match_mlx(mlx):
    cases = [("uint8", 3), ("int8", -3), ("float16", 2.5), ("bfloat16", 2), ("bool_", 1),
             ("bool_", 2.5), ("int32", 2.5), ("uint32", True), ("complex64", 2), ("int64", 1j)]
    for n, v in cases:
        got = mx.array([1], getattr(mx, n)) + v
        want = mlx.array([1], getattr(mlx, n)) + v
        assert dname(got.dtype) == dname(want.dtype), (n, v)
        assert got.tolist() == want.tolist()
        got = v - mx.array([1], getattr(mx, n))
        want = v - mlx.array([1], getattr(mlx, n))
        assert dname(got.dtype) == dname(want.dtype), (n, v)


# ------------------------------------------------- result dtypes of every op

BINARY_OPS = ["add", "subtract", "multiply", "divide", "power", "remainder", "floor_divide",
              "maximum", "minimum", "equal", "not_equal", "less", "less_equal", "greater",
              "greater_equal", "logical_and", "logical_or", "bitwise_and", "bitwise_or",
              "bitwise_xor", "left_shift", "right_shift", "arctan2", "logaddexp"]


def _outcome(mod, op, a, b):
    x = mod.ones((2,), getattr(mod, a))
    y = mod.ones((2,), getattr(mod, b))
    try:
        r = getattr(mod, op)(x, y)
        mod.eval(r)
        return dname(r.dtype)
    except Exception as e:  # noqa: BLE001  (the type is what we compare)
        return type(e).__name__


def _mlx_outcome(mlx, op, a, b):
    want = _outcome(mlx, op, a, b)
    # Deliberate deviations: MLX raises RuntimeError for bitwise ops on
    # inexact types (a bad argument: ValueError here), and floor_divide of
    # complex silently does a true division in MLX (an error here).
    if want == "RuntimeError" and op.startswith(("bitwise", "left", "right")):
        return "ValueError"
    if op == "floor_divide" and "complex64" in (a, b):
        return "ValueError"
    return want


@given(st.sampled_from(BINARY_OPS), st.sampled_from(DTYPE_NAMES), st.sampled_from(DTYPE_NAMES))
def test_binary_op_result_dtype_matches_mlx_random_pairs(op, a, b):
    mlx = pytest.importorskip("mlx.core")
    assert _outcome(mx, op, a, b) == _mlx_outcome(mlx, op, a, b), (op, a, b)


@pytest.mark.parametrize("op", BINARY_OPS)
def test_binary_op_result_dtypes_match_mlx_all_pairs(op, mlx):
    bad = [(a, b, _outcome(mx, op, a, b), _mlx_outcome(mlx, op, a, b))
           for a in DTYPE_NAMES for b in DTYPE_NAMES
           if _outcome(mx, op, a, b) != _mlx_outcome(mlx, op, a, b)]
    assert not bad


def test_bool_arithmetic_dtypes():
    t = mx.array([True, False, True, False])
    f = mx.array([True, True, False, False])
    for op, want in [("power", [True, False, True, True]),
                     # x % 0 is 0 as for every integer type (numpy's rule)
                     ("remainder", [False, False, False, False]),
                     ("floor_divide", [True, False, False, False]),
                     ("add", [True, True, True, False]), ("multiply", [True, False, False, False]),
                     ("maximum", [True, True, True, False]),
                     ("minimum", [True, False, False, False])]:
        r = getattr(mx, op)(t, f)
        assert r.dtype == mx.bool_, op
        assert r.tolist() == want, op


@pytest.mark.parametrize("op", BINARY_OPS)
def test_binary_op_result_dtypes_by_hand(op):
    comparisons = {"equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
                   "logical_and", "logical_or"}
    for a, b in [("int8", "int8"), ("uint8", "int16"), ("float16", "float16"),
                 ("int32", "float32"), ("bfloat16", "bfloat16")]:
        p = expected_promotion(a, b)
        if op in comparisons:
            want = "bool_"
        elif op in ("divide", "arctan2", "logaddexp"):
            want = p if p.startswith(("float", "bfloat")) else "float32"
        elif op.startswith(("bitwise", "left", "right")) and p.startswith(("float", "bfloat")):
            want = "ValueError"
        else:
            want = p
        assert _outcome(mx, op, a, b) == want, (op, a, b)


UNARY_OPS = ["abs", "negative", "sign", "floor", "ceil", "round", "sqrt", "rsqrt", "square",
             "reciprocal", "exp", "expm1", "log", "log1p", "log2", "log10", "sin", "cos", "tan",
             "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh",
             "arctanh", "sigmoid", "erf", "erfinv", "logical_not", "bitwise_invert", "isnan",
             "isinf", "isfinite", "isposinf", "isneginf", "real", "imag", "conj"]


def _unary_outcome(mod, op, a):
    try:
        r = getattr(mod, op)(mod.ones((2,), getattr(mod, a)))
        mod.eval(r)
        return dname(r.dtype)
    except Exception as e:  # noqa: BLE001
        return type(e).__name__


@pytest.mark.parametrize("op", UNARY_OPS)
def test_unary_op_result_dtypes_match_mlx(op, mlx):
    for a in DTYPE_NAMES:
        ours, theirs = _unary_outcome(mx, op, a), _unary_outcome(mlx, op, a)
        if op in ("expm1", "sigmoid") and a == "complex64":
            # MLX refuses these for complex; oxmlx computes them.
            assert ours == "complex64"
            continue
        assert ours == theirs, (op, a)


@pytest.mark.parametrize("op", UNARY_OPS)
def test_unary_op_result_dtypes_by_hand(op):
    keep = {"abs", "negative", "sign", "floor", "ceil", "round", "square", "conj", "real",
            "imag", "bitwise_invert"}
    to_bool = {"logical_not", "isnan", "isinf", "isfinite", "isposinf", "isneginf"}
    for a in ("int16", "uint8", "float16", "bfloat16", "float32", "float64"):
        got = _unary_outcome(mx, op, a)
        if op in to_bool:
            want = "bool_"
        elif op == "bitwise_invert" and not a.startswith(("int", "uint")):
            want = "ValueError"
        elif op in keep:
            want = a
        else:
            want = a if a.startswith(("float", "bfloat")) else "float32"
        assert got == want, (op, a)
