"""The fast arithmetic operators (+, -, *, / and their in-place forms are the
array type's number slots; a Python int or float becomes a cached leaf with
its partner's shape): same values, dtypes and errors as the generic method
path and as MLX, for every dtype, both operand orders, odd layouts, long
chains, and inside compile / vmap / grad."""

import operator

import numpy as np
import pytest

import oxmlx.core as mx
from conftest import DTYPE_NAMES, NP_OF, dname, to_np

OPS = {
    "add": (operator.add, operator.iadd, "__add__", "__radd__"),
    "sub": (operator.sub, operator.isub, "__sub__", "__rsub__"),
    "mul": (operator.mul, operator.imul, "__mul__", "__rmul__"),
    "div": (operator.truediv, operator.itruediv, "__truediv__", "__rtruediv__"),
    "floordiv": (operator.floordiv, operator.ifloordiv, "__floordiv__", "__rfloordiv__"),
    "mod": (operator.mod, operator.imod, "__mod__", "__rmod__"),
    "pow": (operator.pow, operator.ipow, "__pow__", "__rpow__"),
}
# comparison, the method it is, and the method its reflection is
CMPS = [(operator.lt, "__lt__", "__gt__"), (operator.le, "__le__", "__ge__"),
        (operator.eq, "__eq__", "__eq__"), (operator.ne, "__ne__", "__ne__"),
        (operator.gt, "__gt__", "__lt__"), (operator.ge, "__ge__", "__le__")]
SCALARS = [2, -3, 0, 1.5, -0.0, 0.25, True, 2**40, 2**63 + 5, 300]


def _sample(name, zero=True):
    vals = [1, 2, 3, 0 if zero else 4, 5, 7]
    if name == "bool_":
        return mx.array([True, False, True, True, False, True])
    return mx.array(np.array(vals, dtype=np.float32)).astype(getattr(mx, name))


def _outcome(fn):
    """(dtype name, numpy values) or (exception type, message)."""
    try:
        r = fn()
        mx.eval(r)
        return ("ok", dname(r.dtype), to_np(r))
    except Exception as e:  # noqa: BLE001 - compared between both paths
        return ("err", type(e), str(e))


def _same(a, b):
    assert a[0] == b[0], (a, b)
    if a[0] == "err":
        assert a[1] is b[1] and a[2] == b[2], (a, b)
        return
    assert a[1] == b[1], (a[1], b[1])
    np.testing.assert_array_equal(a[2], b[2])


@pytest.mark.parametrize("dt", DTYPE_NAMES)
@pytest.mark.parametrize("op", list(OPS))
def test_scalar_operands_match_generic_path(dt, op):
    f, fi, name, rname = OPS[op]
    x = _sample(dt)
    for s in SCALARS:
        # x op s, s op x: the slot against the bound methods (generic path).
        _same(_outcome(lambda: f(x, s)), _outcome(lambda: getattr(mx.array, name)(x, s)))
        _same(_outcome(lambda: f(s, x)), _outcome(lambda: getattr(mx.array, rname)(x, s)))

        def inplace():
            y = mx.array(x)  # a new Python object: in place rebinds it, not x
            y = fi(y, s)
            return y

        def inplace_generic():
            y = mx.array(x)
            getattr(mx.array, "__i" + name[2:])(y, s)
            return y

        _same(_outcome(inplace), _outcome(inplace_generic))


@pytest.mark.parametrize("dt", DTYPE_NAMES)
def test_scalar_comparisons_match_generic_path(dt):
    x = _sample(dt)
    y = _sample(dt) + 1
    for f, name, rname in CMPS:
        for s in SCALARS:
            _same(_outcome(lambda: f(x, s)), _outcome(lambda: getattr(mx.array, name)(x, s)))
            _same(_outcome(lambda: f(s, x)), _outcome(lambda: getattr(mx.array, rname)(x, s)))
        _same(_outcome(lambda: f(x, y)), _outcome(lambda: getattr(mx.array, name)(x, y)))


def test_three_argument_pow_and_none_keep_their_errors():
    x = mx.array([1.0, 2.0])
    with pytest.raises(TypeError):
        pow(x, 2, 3)
    with pytest.raises(TypeError):
        x < "a"
    np.testing.assert_array_equal(np.array(2**x), [2, 4])


@pytest.mark.parametrize("dt", ["bool_", "uint8", "int16", "int32", "int64", "float16",
                                "float32", "bfloat16", "complex64"])
def test_scalar_operands_match_mlx(dt, mlx):
    x = _sample(dt, zero=False)  # integer division by zero is left to the backend
    xm = mlx.array(np.array(x.astype(mx.float32)) if dt == "bfloat16" else np.array(x))
    xm = xm.astype(getattr(mlx, "bool_" if dt == "bool_" else dt))
    for op, (f, _, _, _) in OPS.items():
        for s in [2, 1.5, 0.25] + ([] if dt in ("bool_", "uint8") else [-3]):
            for a, b, am, bm in [(x, s, xm, s), (s, x, s, xm)]:
                if op in ("div", "floordiv", "mod", "pow") and dt == "bool_":
                    continue
                if op in ("floordiv", "mod") and dt == "complex64":
                    continue
                if op == "pow" and dt in ("uint8", "int16", "int32", "int64"):
                    continue  # integer powers (1 ** -3...) differ from MLX on every path
                r, rm = f(a, b), f(am, bm)
                assert dname(r.dtype) == dname(rm.dtype), (op, dt, s, r.dtype, rm.dtype)
                got = to_np(r.astype(mx.complex64 if dt == "complex64" else mx.float32))
                want = np.array(rm.astype(mlx.complex64 if dt == "complex64" else mlx.float32))
                np.testing.assert_allclose(got, want, rtol=1e-6)


def test_long_chains_against_numpy():
    # float32: every step rounds exactly as numpy's float32 op does.
    x = mx.arange(16).astype(mx.float32)
    e = np.arange(16, dtype=np.float32)
    for i in range(300):
        x = (x * 1.5 - 0.25) / 1.25 + 1
        e = (e * np.float32(1.5) - np.float32(0.25)) / np.float32(1.25) + np.float32(1)
        if i % 7 == 0:
            x = 2 - x
            e = np.float32(2) - e
    assert x.dtype == mx.float32
    np.testing.assert_array_equal(np.array(x), e)
    # int32 wraps around like numpy's int32.
    y = mx.arange(16, dtype=mx.int32)
    ey = np.arange(16, dtype=np.int32)
    for _ in range(200):
        y = y * 3 + 7
        ey = ey * np.int32(3) + np.int32(7)
    assert y.dtype == mx.int32
    np.testing.assert_array_equal(np.array(y), ey)
    # 1000 dependent adds, then one eval (the overhead benchmark's chain).
    z = mx.zeros((16,))
    for _ in range(1000):
        z = z + 1
    mx.eval(z)
    np.testing.assert_array_equal(np.array(z), np.full(16, 1000, np.float32))
    w = mx.zeros((16,), mx.int64)
    for _ in range(1000):
        w += 2
    np.testing.assert_array_equal(np.array(w), np.full(16, 2000, np.int64))


def test_cached_scalars_keep_shape_dtype_and_value_apart():
    # More (value, dtype, shape) combinations than the cache holds, reused
    # in turn: each result must use its own scalar.
    arrays = [mx.zeros(s, d) for s in [(), (16,), (4, 4), (2, 3, 1), (0,)]
              for d in [mx.float32, mx.int32, mx.uint8, mx.float16]]
    for rep in range(3):
        for k, a in enumerate(arrays):
            v = k % 5 + rep
            r = a + v
            exp = np.zeros(a.shape, NP_OF[dname(a.dtype)]) + NP_OF[dname(a.dtype)](v)
            assert r.dtype == a.dtype and r.shape == a.shape
            np.testing.assert_array_equal(np.array(r), exp)
            r2 = v * a + 0.5 if a.dtype in (mx.float32, mx.float16) else v * a
            assert r2.shape == a.shape
    # The cached leaf is never overwritten by buffer donation.
    x = mx.zeros((16,))
    for _ in range(5):
        y = (x + 1) * 3
        mx.eval(y)
        np.testing.assert_array_equal(np.array(x + 1), np.ones(16, np.float32))
        np.testing.assert_array_equal(np.array(y), np.full(16, 3, np.float32))


def test_layouts():
    base = mx.arange(24).astype(mx.float32).reshape(4, 6)
    e = np.arange(24, dtype=np.float32).reshape(4, 6)
    for v, ev in [(base.T, e.T), (base[::2, 1::2], e[::2, 1::2]),
                  (mx.broadcast_to(base[:1], (3, 6)), np.broadcast_to(e[:1], (3, 6)))]:
        np.testing.assert_array_equal(np.array(v + 1), ev + np.float32(1))
        np.testing.assert_array_equal(np.array(2 - v), np.float32(2) - ev)
        np.testing.assert_array_equal(np.array(v * 0.5), ev * np.float32(0.5))
        np.testing.assert_array_equal(np.array(1 / (v + 1)), np.float32(1) / (ev + np.float32(1)))


def test_other_operands_and_subclasses():
    x = mx.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(np.array(x + [1, 2, 3]), [2, 4, 6])
    np.testing.assert_array_equal(np.array([1, 2, 3] - x), [0, 0, 0])
    np.testing.assert_array_equal(np.array(x * np.float32(2)), [2, 4, 6])
    np.testing.assert_array_equal(np.array(x + mx.array(1, mx.int32)), [2, 3, 4])
    assert (x + True).dtype == mx.float32
    with pytest.raises(TypeError):
        x + "a"
    with pytest.raises(TypeError):
        "a" * x
    with pytest.raises(ValueError):
        mx.zeros((2, 3)) + mx.zeros((4,))
    with pytest.raises(ValueError):
        mx.array([1, 2], mx.uint8) + 300
    i = mx.array([1, 2], mx.int32)
    with pytest.raises(ValueError):
        i /= 2

    class Sub(mx.array):
        pass

    s = Sub(x)
    np.testing.assert_array_equal(np.array(s + 1), [2, 3, 4])
    np.testing.assert_array_equal(np.array(1 - s), [0, -1, -2])
    np.testing.assert_array_equal(np.array(s * x), [1, 4, 9])
    # In place rebinds the same Python object.
    y = mx.array([1.0, 2.0])
    alias = y
    y += 1
    assert alias is y
    np.testing.assert_array_equal(np.array(alias), [2, 3])


def test_transforms_see_shape_free_scalars():
    f = mx.compile(lambda a: a * 2 + 1, shapeless=True)
    for n in (3, 16, 5):
        np.testing.assert_array_equal(np.array(f(mx.ones((n,)))), np.full(n, 3, np.float32))
    g = mx.vmap(lambda a: a * 3 - 1)
    np.testing.assert_array_equal(np.array(g(mx.ones((4, 2)))), np.full((4, 2), 2, np.float32))
    dg = mx.grad(lambda a: ((a * 3 + 1) / 2).sum())
    np.testing.assert_array_equal(np.array(dg(mx.ones((5,)))), np.full(5, 1.5, np.float32))
