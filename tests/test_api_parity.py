"""API parity with mlx.core: signatures of the functions both have (through
scripts/api_coverage.py's checker), the members of ``array`` (each method's
values against its function form and against MLX) and the Python operators."""

import copy
import importlib.util
import math
import os
import pickle

import numpy as np
import pytest

import oxmlx.core as mx

_spec = importlib.util.spec_from_file_location(
    "api_coverage", os.path.join(os.path.dirname(__file__), "..", "scripts", "api_coverage.py"))
api = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(api)

# Deliberate differences from MLX's signatures, each with its reason. Names
# owned by other lanes (mx.fast, compile/vmap, export) are not compared at all
# (api_coverage.SIG_SKIP).
ALLOWED = {
    # oxmlx has several CPU backends (native kernels, the MLX shim): a new
    # stream may name one.
    "mx.new_stream": "extra optional 'backend' parameter",
}


def _pairs(mlx):
    return api.signature_report(mlx, mx)


def test_checker_finds_differences(mlx):
    """The checker is not vacuous: a renamed, reordered or re-defaulted
    parameter, a stricter kind, a missing one all count; more permissive kinds
    do not."""
    ref = api.signature(mlx.sum)

    def f1(a, /, axes=None, keepdims=False, *, stream=None): ...

    def f2(a, /, axis=None, keepdims=True, *, stream=None): ...

    def f3(a, /, axis=None, *, keepdims=False, stream=None): ...

    def f4(a, /, axis=None, keepdims=False): ...

    def ok(a, axis=None, keepdims=False, stream=None): ...

    for f in (f1, f2, f3, f4):
        assert api.compare(ref, api.signature(f)), f
    assert api.compare(ref, api.signature(ok)) == []
    assert api.compare(api.signature(mlx.fft.fft2), api.signature(mx.fft.fft2)) == []


def test_function_signatures_match_mlx(mlx):
    mismatches, compared = _pairs(mlx)
    assert compared > 250
    assert [k for k in ALLOWED if k not in mismatches] == []  # keep the allow-list tight
    unexpected = {k: v for k, v in mismatches.items() if k not in ALLOWED}
    assert unexpected == {}, "\n".join(
        f"{k}: mlx {v['mlx']} oxmlx {v['oxmlx']}: {'; '.join(v['problems'])}"
        for k, v in unexpected.items())


def test_arange_both_forms(mlx):
    """MLX has two overloads, arange(start, stop, step, dtype=None) and
    arange(stop, step=None, dtype=None); one function takes both forms here
    (the checker compares the first)."""
    for args, kw in [((5,), {}), ((1, 7, 2), {}), ((0, 3, 1, mx.float32), {}),
                     ((2.0,), {}), ((3,), {"dtype": mx.int64}), ((1, 4), {"step": 2}),
                     ((), {"start": 0, "stop": 3, "step": 1})]:
        mkw = {k: (getattr(mlx, str(v).split(".")[-1]) if isinstance(v, mx.Dtype) else v)
               for k, v in kw.items()}
        margs = tuple(getattr(mlx, "float32") if isinstance(a, mx.Dtype) else a for a in args)
        got, ref = mx.arange(*args, **kw), mlx.arange(*margs, **mkw)
        assert got.tolist() == ref.tolist() and str(got.dtype).split(".")[-1] == \
            str(ref.dtype).split(".")[-1], (args, kw)


def test_new_signature_features(mlx):
    """Parameters added for parity: zeros_like/ones_like dtype, linspace endpoint
    (and a positional stream), tri's default dtype, take_along_axis's axis -1,
    var/std correction on the methods, nan_to_num's integer default."""
    a = mx.array([[1, 2, 3], [4, 5, 6]])
    b = mlx.array([[1, 2, 3], [4, 5, 6]])
    z = mx.zeros_like(a, mx.float16)
    assert z.dtype == mx.float16 and z.shape == (2, 3) and not z.any().item()
    o = mx.ones_like(a, dtype=mx.int8)
    assert o.dtype == mx.int8 and o.tolist() == [[1] * 3] * 2
    assert mx.zeros_like(a).dtype == mx.int32
    for num in (0, 1, 4, 7):
        got = np.array(mx.linspace(-1, 2, num, endpoint=False))
        np.testing.assert_allclose(got, np.linspace(-1, 2, num, endpoint=False, dtype=np.float32),
                                   rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(np.array(mx.linspace(-1, 2, num, True, mx.float32, None)),
                                   np.linspace(-1, 2, num, dtype=np.float32), rtol=1e-6)
    assert mx.tri(3).dtype == mx.float32 and mx.tri(3).tolist() == mlx.tri(3).tolist()
    idx = [[0], [2]]
    assert mx.take_along_axis(a, mx.array(idx)).tolist() == \
        mlx.take_along_axis(b, mlx.array(idx)).tolist()
    x = mx.array([1.0, 2.0, 4.0, 7.0])
    assert x.var(correction=1).item() == pytest.approx(mlx.array([1.0, 2, 4, 7]).var(ddof=1).item())
    assert x.std(ddof=0, correction=1).item() == pytest.approx(np.std([1, 2, 4, 7], ddof=1))
    assert mx.nan_to_num(mx.array([math.nan, 1.0])).tolist() == [0.0, 1.0]


# ---------------------------------------------------------------- array members


def test_array_has_every_mlx_member(mlx):
    missing = [n for n in dir(mlx.array) if not n.startswith("_") and not hasattr(mx.array, n)]
    assert missing == []
    dunders = [n for n in vars(mlx.array) if n.startswith("__") and not hasattr(mx.array, n)]
    assert dunders == []


def _np(x):
    return np.array(x.astype(mx.float32) if x.dtype == mx.bfloat16 else x)


# (method, args, kwargs) on a float (3, 4) array with distinct values.
METHOD_CASES = [
    ("abs", (), {}), ("conj", (), {}), ("cos", (), {}), ("exp", (), {}), ("log", (), {}),
    ("log10", (), {}), ("log1p", (), {}), ("log2", (), {}), ("reciprocal", (), {}),
    ("rsqrt", (), {}), ("sin", (), {}), ("sqrt", (), {}), ("square", (), {}),
    ("all", (), {}), ("any", (1,), {"keepdims": True}), ("argmax", (1,), {}),
    ("argmin", (), {"axis": 0, "keepdims": True}), ("logsumexp", ((0, 1),), {}),
    ("max", (0,), {}), ("mean", (), {"axis": -1}), ("min", (), {}), ("prod", (1,), {}),
    ("sum", ((0, 1),), {"keepdims": True}), ("cummax", (1,), {}),
    ("cummin", (0,), {"reverse": True}), ("cumprod", (1,), {"inclusive": False}),
    ("cumsum", (), {}), ("logcumsumexp", (0,), {}), ("var", (1,), {"ddof": 1}),
    ("std", (), {"axis": 0, "keepdims": True}), ("diag", (), {"k": 1}),
    ("diagonal", (1,), {}), ("flatten", (), {}), ("moveaxis", (0, 1), {}),
    ("swapaxes", (0, 1), {}), ("split", (2,), {"axis": 1}), ("round", (1,), {}),
    ("transpose", (), {}), ("reshape", (4, 3), {}), ("astype", (mx.float16,), {}),
]


@pytest.mark.parametrize("name,args,kwargs", METHOD_CASES, ids=[c[0] for c in METHOD_CASES])
def test_array_method_matches_function_and_mlx(mlx, name, args, kwargs):
    vals = np.linspace(0.25, 3.0, 12, dtype=np.float32).reshape(3, 4)[:, ::-1]  # non-contiguous
    a = mx.array(vals)[:, ::-1][:, ::-1]
    b = mlx.array(np.ascontiguousarray(vals))

    def conv(v):
        if isinstance(v, mx.Dtype):
            return getattr(mlx, str(v).split(".")[-1])
        return v

    got = getattr(a, name)(*args, **kwargs)
    fn = getattr(mx, name)
    want = fn(a, *args, **kwargs) if name != "reshape" else fn(a, args)
    ref = getattr(b, name)(*[conv(x) for x in args], **{k: conv(v) for k, v in kwargs.items()})
    if isinstance(got, list):
        assert len(got) == len(want) == len(ref)
        pairs = list(zip(got, want, ref))
    else:
        pairs = [(got, want, ref)]
    for g, w, r in pairs:
        assert g.shape == w.shape == tuple(r.shape)
        assert str(g.dtype).split(".")[-1] == str(r.dtype).split(".")[-1]
        np.testing.assert_allclose(_np(g), _np(w), rtol=0, atol=0)
        np.testing.assert_allclose(_np(g), np.array(r.astype(mlx.float32)), rtol=2e-6, atol=1e-6)


def test_array_properties(mlx):
    z = mx.array([[1 + 2j, 3 - 1j], [0.5j, -2]], mx.complex64)
    np.testing.assert_array_equal(np.array(z.real), np.real(np.array(z)))
    np.testing.assert_array_equal(np.array(z.imag), np.imag(np.array(z)))
    assert z.real.dtype == mx.float32
    r = mx.array([1.0, 2.0])
    assert r.real.tolist() == [1.0, 2.0] and r.imag.tolist() == [0.0, 0.0]
    name = str(mx.array([3]).imag.dtype).split(".")[-1]
    assert name == str(mlx.array([3]).imag.dtype).split(".")[-1]
    x = mx.arange(24).reshape(2, 3, 4)
    assert x.mT.shape == (2, 4, 3)
    assert x.mT.tolist() == mlx.arange(24).reshape(2, 3, 4).mT.tolist()
    assert x.T.tolist() == np.arange(24).reshape(2, 3, 4).T.tolist()
    with pytest.raises(ValueError):
        mx.array([1, 2]).mT
    assert (x.itemsize, x.nbytes, x.size, x.ndim) == (4, 96, 24, 3)
    assert mx.array([1, 2], mx.float16).nbytes == 4
    assert x.at[0, 1, 2].add(100)[0, 1, 2].item() == 106


def test_methods_keep_mlx_keyword_names(mlx):
    a = mx.array([[3.0, 1.0], [2.0, 5.0]])
    assert a.sum(axis=0, keepdims=True).tolist() == [[5.0, 6.0]]
    assert a.cumsum(axis=1, reverse=True, inclusive=False).tolist() == [[1.0, 0.0], [5.0, 0.0]]
    assert a.diagonal(offset=1, axis1=0, axis2=1).tolist() == [1.0]
    assert a.moveaxis(source=0, destination=1).tolist() == [[3.0, 2.0], [1.0, 5.0]]
    assert a.swapaxes(axis1=0, axis2=1).tolist() == [[3.0, 2.0], [1.0, 5.0]]
    assert [p.tolist() for p in a.split(indices_or_sections=2, axis=1)] == [[[3.0], [2.0]],
                                                                            [[1.0], [5.0]]]
    assert a.round(decimals=0).tolist() == a.tolist()
    assert a.squeeze(axis=None).shape == (2, 2)
    assert a.view(dtype=mx.int32).shape == (2, 2)
    with pytest.raises(TypeError):
        a.sum(0, False, None)  # stream is keyword-only, as in MLX


# ---------------------------------------------------------------- operators


def _same(got, ref):
    assert tuple(got.shape) == tuple(ref.shape)
    assert str(got.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1]
    np.testing.assert_allclose(_np(got), np.array(ref), rtol=1e-6)


OPS = [
    ("matmul", lambda x, y: x @ y), ("pow", lambda x, y: x ** y), ("rpow", lambda x, y: 2 ** y),
    ("floordiv", lambda x, y: x // y), ("rfloordiv", lambda x, y: 7 // y),
    ("mod", lambda x, y: x % y), ("rmod", lambda x, y: -7.5 % y),
    ("truediv", lambda x, y: x / y), ("rtruediv", lambda x, y: 3 / y),
    ("sub", lambda x, y: x - y), ("rsub", lambda x, y: 1 - y), ("radd", lambda x, y: 1.5 + y),
    ("neg", lambda x, y: -x), ("abs", lambda x, y: abs(x - y)), ("pos", lambda x, y: +x),
    ("lt", lambda x, y: x < y), ("le", lambda x, y: x <= 2), ("gt", lambda x, y: x > y),
    ("ge", lambda x, y: 1 >= y), ("eq", lambda x, y: x == y), ("ne", lambda x, y: x != 2.0),
]


@pytest.mark.parametrize("name,f", OPS, ids=[o[0] for o in OPS])
def test_float_operators(mlx, name, f):
    xv = np.array([[1.5, -2.0], [3.0, 0.5]], np.float32)
    yv = np.array([[2.0, 3.0], [-1.5, 4.0]], np.float32)
    _same(f(mx.array(xv), mx.array(yv)), f(mlx.array(xv), mlx.array(yv)))


INT_OPS = [
    ("and", lambda x, y: x & y), ("or", lambda x, y: x | 6), ("xor", lambda x, y: x ^ y),
    ("lshift", lambda x, y: x << 2), ("rshift", lambda x, y: x >> y), ("invert", lambda x, y: ~x),
    ("floordiv", lambda x, y: x // y), ("mod", lambda x, y: x % y), ("pow", lambda x, y: x ** 2),
]


@pytest.mark.parametrize("name,f", INT_OPS, ids=[o[0] for o in INT_OPS])
def test_integer_and_bool_operators(mlx, name, f):
    xv, yv = np.array([5, -3, 12, 7], np.int32), np.array([1, 2, 3, 5], np.int32)
    _same(f(mx.array(xv), mx.array(yv)), f(mlx.array(xv), mlx.array(yv)))
    if name in ("and", "xor", "invert"):
        bx, by = np.array([True, False, True]), np.array([True, True, False])
        _same(f(mx.array(bx), mx.array(by)), f(mlx.array(bx), mlx.array(by)))


def test_inplace_operators(mlx):
    a, b = mx.array([1, 2, 3]), mlx.array([1, 2, 3])
    for op in ("__iadd__", "__imul__", "__isub__", "__ifloordiv__", "__imod__", "__ipow__",
               "__ilshift__", "__irshift__", "__iand__", "__ior__", "__ixor__"):
        a = getattr(a, op)(2)
        b = getattr(b, op)(2)
        _same(a, b)
    a, b = mx.array([1, 2]), mlx.array([1, 2])
    alias = a
    a += 1.5  # promotes, and rebinds the same object (as MLX)
    b += 1.5
    _same(a, b)
    assert alias is a
    a, b = mx.array([1.0, 2.0]), mlx.array([1.0, 2.0])
    a /= 2
    b /= 2
    _same(a, b)
    for lib in (mx, mlx):
        x = lib.array([1, 2])
        with pytest.raises(ValueError, match="In place division"):
            x /= 2


def test_operator_errors_as_mlx(mlx):
    for lib in (mx, mlx):
        with pytest.raises(ValueError):
            ~lib.array([1.0])
        with pytest.raises(TypeError):
            round(lib.array([1.5]))  # MLX's array has no __round__
        with pytest.raises(TypeError):
            divmod(lib.array([1.5]), 2)  # nor __divmod__ (mx.divmod is the function)
        with pytest.raises(TypeError):
            len(lib.array(1))
        with pytest.raises(TypeError):
            list(lib.array(1))
        with pytest.raises(ValueError):
            bool(lib.array([1, 2]))
        with pytest.raises(TypeError):
            lib.array([1, 2]).__index__()
        with pytest.raises(TypeError):
            lib.array(2.0).__index__()


def test_scalar_conversions(mlx):
    assert bool(mx.array([0])) is False and bool(mx.array(2)) is True
    assert int(mx.array([7])) == 7 and float(mx.array(2.5)) == 2.5
    assert complex(mx.array(1.5)) == complex(mlx.array(1.5)) == 1.5 + 0j
    assert complex(mx.array(1 + 2j)) == 1 + 2j
    assert mx.array(3).__index__() == 3 and [10, 20, 30, 40][mx.array(2)] == 30
    assert bytes(mx.array([1, 258], mx.uint16)) == bytes(mlx.array([1, 258], mlx.uint16))
    assert format(mx.array(1.5), ".2f") == format(mlx.array(1.5), ".2f") == "1.50"
    assert mx.array([1, 2]).__array_namespace__() is mx


def test_len_iter_getitem_setitem(mlx):
    a, b = mx.arange(12).reshape(3, 4), mlx.arange(12).reshape(3, 4)
    assert len(a) == len(b) == 3
    assert [r.tolist() for r in a] == [r.tolist() for r in b]
    assert a[1:, ::2].tolist() == b[1:, ::2].tolist()
    assert a[mx.array([2, 0])].tolist() == b[mlx.array([2, 0])].tolist()
    a[0, 1:3] = 99
    b[0, 1:3] = 99
    a[mx.array([2])] = mx.array([-1, -2, -3, -4])
    b[mlx.array([2])] = mlx.array([-1, -2, -3, -4])
    assert a.tolist() == b.tolist()


def test_hash_copy_pickle(mlx):
    a = mx.array([[1.5, -2.0], [3.0, 4.0]])
    assert hash(a) == hash(a) and hash(a) != hash(mx.array([[1.5, -2.0], [3.0, 4.0]]))
    assert {a: 1}[a] == 1
    for c in (copy.copy(a), copy.deepcopy(a)):
        assert c is not a and c.tolist() == a.tolist() and c.dtype == a.dtype
    for dt in (mx.float32, mx.int16, mx.bool_, mx.bfloat16, mx.complex64, mx.uint64):
        x = mx.array([[1, 0], [3, 2]], dt)[:, ::-1]
        y = pickle.loads(pickle.dumps(x))
        assert y.dtype == dt and y.shape == x.shape and _np(y).tolist() == _np(x).tolist()
    assert pickle.loads(pickle.dumps(mx.array(2.5))).item() == 2.5
    assert a.__div__(2).tolist() == (a / 2).tolist() and a.__rdiv__(2).tolist() == (2 / a).tolist()


def test_numpy_and_dlpack(mlx):
    a = mx.array([[1.5, -2.0], [3.0, 4.0]])[:, ::-1]
    np.testing.assert_array_equal(np.array(a, dtype=np.float64), np.array(
        mlx.array([[-2.0, 1.5], [4.0, 3.0]]), dtype=np.float64))
    np.testing.assert_array_equal(np.from_dlpack(a), np.array([[-2.0, 1.5], [4.0, 3.0]]))
    assert a.__dlpack_device__() == mlx.array([1]).__dlpack_device__()
    cap = a.__dlpack__(max_version=(1, 0), copy=None)
    assert type(cap).__name__ == "PyCapsule"
    with pytest.raises(TypeError):
        a.__dlpack__(None)  # keyword-only, as MLX
    assert (np.array([1.0, 2.0]) + mx.array([1.0, 2.0])).tolist() == [2.0, 4.0]


# Keyword calls MLX accepts (some for parameters its signature text shows as
# positional-only): each must work here too, with the same result.
KEYWORD_CALLS = [
    ("roll", lambda m, x: m.roll(x, shift=1, axis=1)),
    ("astype", lambda m, x: m.astype(x, dtype=m.int32)),
    ("reshape", lambda m, x: m.reshape(x, shape=(4, 3))),
    ("take", lambda m, x: m.take(x, indices=m.array([2, 0]), axis=1)),
    ("transpose", lambda m, x: m.transpose(x, axes=[1, 0])),
    ("clip", lambda m, x: m.clip(x, a_min=2, a_max=8)),
    ("kron", lambda m, x: m.kron(a=x[:2, :2], b=x[:2, :1])),
    ("diagonal", lambda m, x: m.diagonal(a=x, offset=1)),
    ("tril", lambda m, x: m.tril(x=x, k=1)),
    ("pad", lambda m, x: m.pad(x, pad_width=1, constant_values=-1)),
    ("softmax", lambda m, x: m.softmax(x.astype(m.float32), axis=0, precise=True)),
    ("sum", lambda m, x: m.sum(x, axis=[0, 1], keepdims=True)),
    ("cumsum", lambda m, x: m.cumsum(x, axis=0, reverse=True, inclusive=False)),
    ("linspace", lambda m, x: m.linspace(start=0, stop=1, num=5, endpoint=False)),
    ("arange", lambda m, x: m.arange(start=1, stop=9, step=3)),
    ("full", lambda m, x: m.full(shape=(2, 2), vals=3, dtype=m.int8)),
    ("eye", lambda m, x: m.eye(n=3, m=2, k=-1)),
    ("concatenate", lambda m, x: m.concatenate([x, x], axis=1)),
    ("split", lambda m, x: m.split(x, indices_or_sections=[1], axis=0)[1]),
    ("where", lambda m, x: m.where(x > 4, x, -x)),
    ("fft", lambda m, x: m.abs(m.fft.fft(x.astype(m.float32), n=4, axis=0, norm="ortho"))),
    ("norm", lambda m, x: m.linalg.norm(x.astype(m.float32), ord=2, axis=1, keepdims=True)),
    ("uniform",
     lambda m, x: m.random.uniform(low=0, high=1, shape=(2,), key=m.random.key(0)).shape),
]


@pytest.mark.parametrize("name,f", KEYWORD_CALLS, ids=[k[0] for k in KEYWORD_CALLS])
def test_keyword_calls_mlx_accepts(mlx, name, f):
    vals = np.arange(12, dtype=np.int32).reshape(3, 4)
    ref = f(mlx, mlx.array(vals))
    got = f(mx, mx.array(vals))
    if isinstance(ref, tuple):
        assert tuple(got) == tuple(ref)
        return
    assert tuple(got.shape) == tuple(ref.shape)
    assert str(got.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1]
    np.testing.assert_allclose(_np(got), np.array(ref), rtol=1e-5, atol=1e-6)


def test_finfo_iinfo_members(mlx):
    for name in ("float16", "bfloat16", "float32", "float64", "complex64"):
        got, ref = mx.finfo(getattr(mx, name)), mlx.finfo(getattr(mlx, name))
        for k in ("bits", "eps", "max", "min", "smallest_normal"):
            assert getattr(got, k) == pytest.approx(getattr(ref, k), rel=1e-7), (name, k)
        assert str(got.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1]
        assert repr(got).replace("oxmlx.core.", "") == repr(ref).replace("mlx.core.", "")
    for name in ("int8", "uint16", "int32", "uint64"):
        got, ref = mx.iinfo(getattr(mx, name)), mlx.iinfo(getattr(mlx, name))
        assert (got.min, got.max) == (ref.min, ref.max)
        assert str(got.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1]
