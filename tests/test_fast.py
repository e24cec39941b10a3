"""mx.fast (rms_norm, layer_norm, rope, scaled_dot_product_attention,
cross_entropy) and the fused mx.softmax against numpy reference compositions
and MLX: dtypes, odd sizes (SIMD tails, attention tiles), non-contiguous
inputs, masks, grouped-query heads, causal alignment, offsets, sinks, errors,
and derivatives by finite differences in float64."""

import numpy as np
import pytest

import oxmlx._core as C
import oxmlx.core as mx
from conftest import NP_OF, to_np

RNG = np.random.default_rng(11)
FLOATS = ["float32", "float16", "bfloat16", "float64"]
# (rtol, atol) of a fused result against a float64 reference.
TOL = {"float32": (2e-5, 2e-6), "float64": (1e-12, 1e-13), "float16": (4e-3, 2e-3),
       "bfloat16": (3e-2, 1.6e-2)}


def rand(shape, dt="float32", lo=-2.0, hi=2.0):
    """(oxmlx array of dtype dt, its exact float64 values)."""
    x = RNG.uniform(lo, hi, size=shape)
    a = mx.array(x.astype(np.float32)).astype(getattr(mx, dt))
    return a, to_np(a).astype(np.float64)


def check(got, ref, dt, scale=1.0):
    r, t = TOL[dt]
    assert str(got.dtype).endswith(dt), (got.dtype, dt)
    np.testing.assert_allclose(to_np(got).astype(np.float64), ref, rtol=r * scale,
                               atol=t * scale)


def numeric_grad(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        g[i] = (f(xp) - f(xm)) / (2 * eps)
    return g


def check_grad(fn, args, argnum, rtol=1e-6, atol=1e-8):
    """grad of sum(fn(*args) * weights) w.r.t. args[argnum] vs finite differences."""
    args = [np.asarray(a, dtype=np.float64) for a in args]
    f64 = lambda a: mx.array(a, dtype=mx.float64)  # noqa: E731
    out = fn(*[f64(a) for a in args])
    assert out.dtype == mx.float64
    wts = f64(RNG.uniform(0.5, 1.5, size=out.shape))

    def loss(*xs):
        return mx.sum(fn(*xs) * wts)

    g = mx.grad(loss, argnums=argnum)(*[f64(a) for a in args])

    def f(v):
        xs = [f64(a) for a in args]
        xs[argnum] = f64(v)
        return loss(*xs).item()

    np.testing.assert_allclose(np.array(g), numeric_grad(f, args[argnum]), rtol=rtol, atol=atol)


# ------------------------------------------------------------------ softmax


def np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("dt", FLOATS)
@pytest.mark.parametrize("n", [1, 7, 16, 33, 130, 1000])
def test_softmax_last_axis(dt, n):
    a, x = rand((3, n), dt, -8, 8)
    check(mx.softmax(a, axis=-1), np_softmax(x, -1), dt)
    check(mx.softmax(a, axis=-1, precise=True), np_softmax(x, -1), dt)


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2), (2, 0), ()], ids=str)
def test_softmax_axes_and_layouts(axis):
    a, x = rand((4, 5, 6))
    np_axis = tuple(range(3)) if axis is None else axis
    ref = np.ones_like(x) if axis == () else np_softmax(x, np_axis)
    check(mx.softmax(a, axis=axis), ref, "float32")
    # transposed and sliced views
    check(mx.softmax(a.transpose(2, 0, 1), axis=axis),
          np.ones_like(x.transpose(2, 0, 1)) if axis == () else np_softmax(x.transpose(2, 0, 1), np_axis),
          "float32")
    check(mx.softmax(a[:, ::-2, 1:], axis=-1), np_softmax(x[:, ::-2, 1:], -1), "float32")


def test_softmax_special_values_and_ints():
    x = np.array([[0.0, -np.inf, 1.0, -np.inf], [-np.inf] * 4, [1e30, 1e30, -1e30, 0.0],
                  [np.nan, 0.0, 1.0, 2.0]], dtype=np.float32)
    got = np.array(mx.softmax(mx.array(x), axis=-1))
    with np.errstate(invalid="ignore"):
        ref = np_softmax(x.astype(np.float64), -1)
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-7, equal_nan=True)
    assert np.isnan(got[1]).all() and np.isnan(got[3]).all()
    r = mx.softmax(mx.array([1, 2, 3]))
    assert r.dtype == mx.float32
    np.testing.assert_allclose(np.array(r), np_softmax(np.array([1.0, 2, 3]), -1), rtol=1e-6)
    assert mx.softmax(mx.zeros((0, 3)), axis=-1).shape == (0, 3)


def test_softmax_matches_mlx(mlx):
    x = RNG.standard_normal((5, 77)).astype(np.float16)
    for precise in (False, True):
        got = np.array(mx.softmax(mx.array(x), axis=-1, precise=precise)).astype(np.float32)
        ref = np.array(mlx.softmax(mlx.array(x), axis=-1, precise=precise)).astype(np.float32)
        np.testing.assert_allclose(got, ref, rtol=2e-3, atol=1e-3)


def test_softmax_grad_and_jvp():
    x = RNG.standard_normal((3, 5))
    check_grad(lambda a: mx.softmax(a, axis=-1), [x], 0)
    check_grad(lambda a: mx.softmax(a, axis=0), [x], 0)
    xa = mx.array(x, dtype=mx.float64)
    t = mx.array(RNG.standard_normal((3, 5)), dtype=mx.float64)
    _, (jv,) = mx.jvp(lambda a: mx.softmax(a, axis=-1), [xa], [t])
    y = np_softmax(x, -1)
    ref = y * (np.array(t) - (np.array(t) * y).sum(-1, keepdims=True))
    np.testing.assert_allclose(np.array(jv), ref, rtol=1e-10, atol=1e-12)


def test_simd_exp_accuracy():
    x = np.concatenate([np.linspace(-110, 90, 40001), [np.inf, -np.inf, np.nan, 0.0, -0.0]])
    x = x.astype(np.float32)
    got = np.array(C._fast_exp(mx.array(x)))
    with np.errstate(over="ignore"):
        ref = np.exp(x.astype(np.float64)).astype(np.float32)
    normal = np.isfinite(ref) & (ref >= np.finfo(np.float32).tiny)
    ulps = np.abs(got[normal].view(np.int32).astype(np.int64) - ref[normal].view(np.int32))
    assert ulps.max() <= 2, ulps.max()
    sub = ref < np.finfo(np.float32).tiny
    assert np.abs(got[sub] - ref[sub]).max() <= 1.5e-45  # one subnormal step
    assert np.array_equal(np.isinf(got), np.isinf(ref))
    assert np.array_equal(np.isnan(got), np.isnan(x))
    # mx.exp on dense float32 uses the same kernel; strided inputs the scalar one.
    np.testing.assert_array_equal(np.array(mx.exp(mx.array(x))), got)
    strided = np.array(mx.exp(mx.array(x)[::3]))
    np.testing.assert_allclose(strided[np.isfinite(strided)], ref[::3][np.isfinite(strided)],
                               rtol=3e-7, atol=1.5e-45)


# ------------------------------------------------------------------- norms


def np_rms(x, w, eps):
    eps = float(np.float32(eps))  # eps is a float32 parameter, as in MLX
    y = x / np.sqrt((x * x).mean(-1, keepdims=True) + eps)
    return y if w is None else y * w


def np_ln(x, w, b, eps):
    eps = float(np.float32(eps))
    mu = x.mean(-1, keepdims=True)
    y = (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps)
    if w is not None:
        y = y * w
    return y if b is None else y + b


@pytest.mark.parametrize("dt", FLOATS)
@pytest.mark.parametrize("d", [1, 7, 32, 45, 1000])
@pytest.mark.parametrize("affine", [False, True])
def test_rms_norm(dt, d, affine):
    a, x = rand((2, 3, d), dt)
    w, wn = rand((d,), dt) if affine else (None, None)
    check(mx.fast.rms_norm(a, w, 1e-5), np_rms(x, wn, 1e-5), dt, 2 if affine else 1)


@pytest.mark.parametrize("dt", FLOATS)
@pytest.mark.parametrize("d", [1, 7, 32, 45, 1000])
@pytest.mark.parametrize("wb", [(False, False), (True, False), (False, True), (True, True)])
def test_layer_norm(dt, d, wb):
    a, x = rand((3, d), dt, -3, 5)
    w, wn = rand((d,), dt) if wb[0] else (None, None)
    b, bn = rand((d,), dt) if wb[1] else (None, None)
    ref = np_ln(x, wn, bn, 1e-5)
    check(mx.fast.layer_norm(a, w, b, 1e-5), ref, dt, 3 if any(wb) else 1)


def test_norms_non_contiguous_and_mixed_dtypes():
    a, x = rand((6, 5, 9))
    w, wn = rand((5,))
    check(mx.fast.rms_norm(a.transpose(0, 2, 1), w, 1e-6), np_rms(x.transpose(0, 2, 1), wn, 1e-6),
          "float32")
    check(mx.fast.layer_norm(a[::2, :, 1:6].transpose(0, 2, 1), None, w, 1e-6),
          np_ln(x[::2, :, 1:6].transpose(0, 2, 1), None, wn, 1e-6), "float32")
    h = a.astype(mx.float16)
    r = mx.fast.rms_norm(h[..., :5], w, 1e-5)  # float16 x float32 weight -> float32
    assert r.dtype == mx.float32
    assert mx.fast.layer_norm(h, None, None, 1e-5).dtype == mx.float16
    assert mx.fast.rms_norm(mx.zeros((0, 4)), None, 1e-5).shape == (0, 4)


def test_norms_match_mlx(mlx):
    x = RNG.standard_normal((4, 37)).astype(np.float32)
    w = RNG.standard_normal(37).astype(np.float32)
    for dt in ("float16", "bfloat16", "float32"):
        a, ma = mx.array(x).astype(getattr(mx, dt)), mlx.array(x).astype(getattr(mlx, dt))
        aw, mw = mx.array(w).astype(getattr(mx, dt)), mlx.array(w).astype(getattr(mlx, dt))
        tol = 1e-6 if dt == "float32" else 0  # 16-bit: the same rounding steps as MLX
        g = to_np(mx.fast.rms_norm(a, aw, 1e-5))
        r = np.array(mlx.fast.rms_norm(ma, mw, 1e-5).astype(mlx.float32))
        np.testing.assert_allclose(g, r, rtol=tol, atol=tol if dt == "float32" else 1e-2)
        g = to_np(mx.fast.layer_norm(a, aw, aw, 1e-5))
        r = np.array(mlx.fast.layer_norm(ma, mw, mw, 1e-5).astype(mlx.float32))
        np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-5 if dt == "float32" else 3e-2)


def test_norm_errors():
    x = mx.ones((2, 4))
    with pytest.raises(ValueError, match="at least 1 dimension"):
        mx.fast.rms_norm(mx.array(1.0), None, 1e-5)
    with pytest.raises(ValueError, match="1 dimension"):
        mx.fast.rms_norm(x, mx.ones((1, 4)), 1e-5)
    with pytest.raises(ValueError, match="same size"):
        mx.fast.layer_norm(x, mx.ones(3), None, 1e-5)
    with pytest.raises(ValueError, match="bias"):
        mx.fast.layer_norm(x, None, mx.ones(5), 1e-5)
    with pytest.raises(ValueError, match="unsupported type"):
        mx.fast.rms_norm(mx.ones((2, 4), dtype=mx.int32), None, 1e-5)


def test_norm_grads():
    x = RNG.standard_normal((3, 6))
    w = RNG.uniform(0.5, 1.5, 6)
    b = RNG.standard_normal(6)
    rms = lambda a, ww: mx.fast.rms_norm(a, ww, 1e-5)  # noqa: E731
    check_grad(rms, [x, w], 0)
    check_grad(rms, [x, w], 1)
    check_grad(lambda a: mx.fast.rms_norm(a, None, 1e-5), [x], 0)
    ln = lambda a, ww, bb: mx.fast.layer_norm(a, ww, bb, 1e-5)  # noqa: E731
    for i in range(3):
        check_grad(ln, [x, w, b], i)
    check_grad(lambda a: mx.fast.layer_norm(a, None, None, 1e-5), [x], 0)
    t = mx.array(RNG.standard_normal((3, 6)), dtype=mx.float64)
    wa, xa = mx.array(w, dtype=mx.float64), mx.array(x, dtype=mx.float64)
    _, (jv,) = mx.jvp(lambda a: mx.fast.layer_norm(a, wa, None, 1e-5), [xa], [t])
    _, (vj,) = mx.vjp(lambda a: mx.fast.layer_norm(a, wa, None, 1e-5), [xa], [t])
    # <J t, t> == <t, J^T t>
    np.testing.assert_allclose((np.array(jv) * np.array(t)).sum(), (np.array(vj) * np.array(t)).sum(),
                               rtol=1e-10)


# -------------------------------------------------------------------- rope


def np_rope(x, dims, traditional, base, scale, offset, freqs=None, forward=True):
    shape = x.shape
    x = x.reshape(shape[0], -1, shape[-2], shape[-1])
    T = x.shape[2]
    half = dims // 2
    off = np.asarray(offset, dtype=np.float64).reshape(-1, 1, 1, 1)
    pos = (np.arange(T)[None, None, :, None] + off) * scale
    inv = 1.0 / np.asarray(freqs, np.float64) if freqs is not None else base ** (-np.arange(half) / half)
    th = pos * inv
    c, s = np.cos(th), np.sin(th)
    if not forward:
        s = -s
    y = x.copy()
    if traditional:
        x1, x2 = x[..., 0:dims:2], x[..., 1:dims:2]
        y[..., 0:dims:2] = x1 * c - x2 * s
        y[..., 1:dims:2] = x1 * s + x2 * c
    else:
        x1, x2 = x[..., :half], x[..., half:dims]
        y[..., :half] = x1 * c - x2 * s
        y[..., half:dims] = x1 * s + x2 * c
    return y.reshape(shape)


@pytest.mark.parametrize("dt", FLOATS)
@pytest.mark.parametrize("traditional", [False, True])
@pytest.mark.parametrize("dims", [8, 6])
def test_rope(dt, traditional, dims):
    a, x = rand((2, 3, 5, 8), dt)
    for off in (0, 7):
        got = mx.fast.rope(a, dims, traditional=traditional, base=10000.0, scale=0.5, offset=off)
        # MLX computes the angles, cosines and sines in float32 for every dtype.
        check(got, np_rope(x, dims, traditional, 10000.0, 0.5, off), dt, 3 if dt != "float64" else 1e6)


def test_rope_offsets_freqs_layouts():
    a, x = rand((2, 4, 6))  # 3-d input
    got = mx.fast.rope(a, 6, traditional=False, base=500.0, scale=1.0, offset=mx.array([2, 5]))
    check(got, np_rope(x, 6, False, 500.0, 1.0, [2, 5]), "float32")
    got = mx.fast.rope(a, 4, traditional=True, base=500.0, scale=2.0, offset=mx.array(3))
    check(got, np_rope(x, 4, True, 500.0, 2.0, 3), "float32")
    fr = RNG.uniform(1, 50, 3)
    got = mx.fast.rope(a, 6, traditional=False, base=None, scale=1.0, offset=1,
                       freqs=mx.array(fr.astype(np.float32)))
    check(got, np_rope(x, 6, False, None, 1.0, 1, fr.astype(np.float32)), "float32")
    b, y = rand((2, 2, 3, 5, 4))  # 5-d input
    check(mx.fast.rope(b, 4, traditional=False, base=10.0, scale=1.0, offset=0),
          np_rope(y, 4, False, 10.0, 1.0, 0), "float32")
    t = a.transpose(0, 2, 1)[..., 1:]  # non-contiguous (2, 6, 3)... take even dims
    t = mx.concatenate([t, t[..., :1]], axis=-1)
    tn = np.concatenate([x.transpose(0, 2, 1)[..., 1:], x.transpose(0, 2, 1)[..., 1:2]], -1)
    check(mx.fast.rope(a.transpose(0, 2, 1), 4, traditional=True, base=10.0, scale=1.0, offset=0),
          np_rope(x.transpose(0, 2, 1), 4, True, 10.0, 1.0, 0), "float32")
    check(mx.fast.rope(t, 4, traditional=False, base=10.0, scale=1.0, offset=0),
          np_rope(tn, 4, False, 10.0, 1.0, 0), "float32")


def test_rope_matches_mlx(mlx):
    x = RNG.standard_normal((2, 3, 7, 16)).astype(np.float32)
    for dt in ("float32", "float16", "bfloat16"):
        for trad in (False, True):
            g = mx.fast.rope(mx.array(x).astype(getattr(mx, dt)), 12, traditional=trad,
                             base=10000.0, scale=1.0, offset=mx.array([1, 4]))
            r = mlx.fast.rope(mlx.array(x).astype(getattr(mlx, dt)), 12, traditional=trad,
                              base=10000.0, scale=1.0, offset=mlx.array([1, 4]))
            np.testing.assert_allclose(to_np(g), np.array(r.astype(mlx.float32)), rtol=1e-5,
                                       atol=1e-5 if dt == "float32" else 1e-2)


def test_rope_errors():
    x = mx.ones((2, 3, 8))
    kw = dict(traditional=False, scale=1.0, offset=0)
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        mx.fast.rope(mx.ones((3, 8)), 8, base=10.0, **kw)
    with pytest.raises(ValueError, match="even"):
        mx.fast.rope(x, 7, base=10.0, **kw)
    with pytest.raises(ValueError, match="exceed"):
        mx.fast.rope(x, 10, base=10.0, **kw)
    with pytest.raises(ValueError, match="Only one of base or freqs"):
        mx.fast.rope(x, 8, base=10.0, freqs=mx.ones(4), **kw)
    with pytest.raises(ValueError, match="Neither base nor freqs"):
        mx.fast.rope(x, 8, base=None, **kw)
    with pytest.raises(ValueError, match="freqs must be one dimensional"):
        mx.fast.rope(x, 8, base=None, freqs=mx.ones(3), **kw)
    with pytest.raises(ValueError, match="offset must be an integer"):
        mx.fast.rope(x, 8, traditional=False, base=10.0, scale=1.0, offset=mx.array(1.5))
    with pytest.raises(ValueError, match="2 elements"):
        mx.fast.rope(x, 8, traditional=False, base=10.0, scale=1.0, offset=mx.array([1, 2, 3]))
    with pytest.raises(ValueError, match="floating"):
        mx.fast.rope(mx.ones((2, 3, 8), dtype=mx.int32), 8, base=10.0, **kw)


def test_rope_grad():
    x = RNG.standard_normal((2, 2, 3, 6))
    for trad in (False, True):
        check_grad(lambda a: mx.fast.rope(a, 4, traditional=trad, base=100.0, scale=1.0,
                                          offset=mx.array([1, 3])), [x], 0)
    t = mx.array(RNG.standard_normal(x.shape), dtype=mx.float64)
    f = lambda a: mx.fast.rope(a, 6, traditional=False, base=100.0, scale=1.0, offset=2)  # noqa: E731
    _, (jv,) = mx.jvp(f, [mx.array(x, dtype=mx.float64)], [t])
    np.testing.assert_allclose(np.array(jv), np.array(f(t)), rtol=1e-12)


# --------------------------------------------------------------- attention


def np_sdpa(q, k, v, scale, mask=None, sinks=None, lowest=None):
    B, Nq, Tq, D = q.shape
    Nkv, Tkv = k.shape[1], k.shape[2]
    rep = Nq // Nkv
    k = np.repeat(k, rep, axis=1)
    v = np.repeat(v, rep, axis=1)
    s = scale * q @ np.swapaxes(k, -1, -2)
    if lowest is None:
        lowest = np.finfo(np.float32).min
    if isinstance(mask, str):
        qi = np.arange(Tkv - Tq, Tkv)[:, None]
        s = np.where(qi >= np.arange(Tkv)[None], s, lowest)
    elif mask is not None and mask.dtype == np.bool_:
        s = np.where(mask, s, lowest)
    elif mask is not None:
        s = s + mask
    if sinks is not None:
        sk = np.broadcast_to(sinks.reshape(1, Nq, 1, 1), s.shape[:-1] + (1,))
        s = np.concatenate([sk, s], -1)
    p = np.exp(s - s.max(-1, keepdims=True))
    p = p / p.sum(-1, keepdims=True)
    if sinks is not None:
        p = p[..., 1:]
    return p @ v


SDPA_SHAPES = [  # B, Nq, Nkv, Tq, Tkv, D, Dv
    (1, 1, 1, 1, 1, 4, 4),
    (2, 4, 2, 7, 9, 8, 5),
    (1, 6, 1, 3, 17, 16, 16),
    (1, 2, 2, 70, 150, 8, 12),   # several query and key tiles with tails
    (1, 2, 1, 140, 130, 4, 4),
]


@pytest.mark.parametrize("shape", SDPA_SHAPES, ids=str)
@pytest.mark.parametrize("mask", ["none", "causal", "bool", "additive"])
def test_sdpa_float32(shape, mask):
    B, Nq, Nkv, Tq, Tkv, D, Dv = shape
    q, qn = rand((B, Nq, Tq, D))
    k, kn = rand((B, Nkv, Tkv, D))
    v, vn = rand((B, Nkv, Tkv, Dv))
    m = mn = None
    if mask == "causal":
        m = mn = "causal"
    elif mask == "bool":
        mn = RNG.uniform(size=(B, 1, Tq, Tkv)) > 0.3
        mn[..., 0, :] = False  # a fully masked row: MLX averages v there
        m = mx.array(mn)
    elif mask == "additive":
        mn = RNG.standard_normal((Nq, Tq, Tkv))
        m = mx.array(mn.astype(np.float32))
        mn = to_np(m).astype(np.float64)
    scale = D ** -0.5
    got = mx.fast.scaled_dot_product_attention(q, k, v, scale=scale, mask=m)
    check(got, np_sdpa(qn, kn, vn, scale, mn), "float32", 4)
    sn = RNG.standard_normal(Nq).astype(np.float32)
    got = mx.fast.scaled_dot_product_attention(q, k, v, scale=scale, mask=m, sinks=mx.array(sn))
    check(got, np_sdpa(qn, kn, vn, scale, mn, sn.astype(np.float64)), "float32", 4)


@pytest.mark.parametrize("dt", ["float16", "bfloat16", "float64"])
def test_sdpa_dtypes(dt):
    q, qn = rand((1, 4, 9, 8), dt)
    k, kn = rand((1, 2, 13, 8), dt)
    v, vn = rand((1, 2, 13, 8), dt)
    lowest = float(np.finfo(NP_OF[dt]).min) if dt != "bfloat16" else -3.3895313892515355e38
    for m in (None, "causal"):
        got = mx.fast.scaled_dot_product_attention(q, k, v, scale=0.375, mask=m)
        check(got, np_sdpa(qn, kn, vn, 0.375, m, lowest=lowest), dt, 3)


def test_sdpa_causal_shorter_keys_and_layouts():
    # Tq > Tkv: the first rows see no key (uniform weights, as MLX's where-mask).
    q, qn = rand((1, 2, 6, 4))
    k, kn = rand((1, 2, 3, 4))
    v, vn = rand((1, 2, 3, 4))
    got = mx.fast.scaled_dot_product_attention(q, k, v, scale=1.0, mask="causal")
    check(got, np_sdpa(qn, kn, vn, 1.0, "causal"), "float32")
    # (B, T, N, D) inputs transposed to (B, N, T, D): non-contiguous views
    qt, qtn = rand((2, 5, 4, 8))
    kt, ktn = rand((2, 7, 2, 8))
    got = mx.fast.scaled_dot_product_attention(qt.transpose(0, 2, 1, 3), kt.transpose(0, 2, 1, 3),
                                               kt.transpose(0, 2, 1, 3), scale=0.5)
    ref = np_sdpa(qtn.transpose(0, 2, 1, 3), ktn.transpose(0, 2, 1, 3), ktn.transpose(0, 2, 1, 3), 0.5)
    check(got, ref, "float32")


def test_sdpa_strided_mask_and_empty_keys():
    q, qn = rand((2, 2, 5, 4))
    k, kn = rand((2, 2, 6, 4))
    mn = RNG.standard_normal((2, 6, 5))  # stored transposed
    m = mx.array(mn.astype(np.float32)).transpose(0, 2, 1)[:, None]
    got = mx.fast.scaled_dot_product_attention(q, k, k, scale=0.5, mask=m)
    ref = np_sdpa(qn, kn, kn, 0.5, to_np(m).astype(np.float64))
    check(got, ref, "float32")
    bm = mx.array(RNG.uniform(size=(6, 5)) > 0.5).T
    got = mx.fast.scaled_dot_product_attention(q, k, k, scale=0.5, mask=bm)
    check(got, np_sdpa(qn, kn, kn, 0.5, np.array(bm)), "float32")
    e = mx.zeros((2, 2, 0, 4))
    np.testing.assert_array_equal(np.array(mx.fast.scaled_dot_product_attention(q, e, e, scale=1.0)),
                                  np.zeros((2, 2, 5, 4), np.float32))
    assert mx.fast.scaled_dot_product_attention(e, k, k, scale=1.0).shape == (2, 2, 0, 4)


def test_sdpa_matches_mlx(mlx):
    q = RNG.standard_normal((1, 4, 5, 8)).astype(np.float32)
    k = RNG.standard_normal((1, 2, 11, 8)).astype(np.float32)
    m = RNG.uniform(size=(5, 11)) > 0.5
    for mask in (None, "causal", m):
        a = mx.fast.scaled_dot_product_attention(
            mx.array(q), mx.array(k), mx.array(k), scale=0.35,
            mask=mx.array(mask) if isinstance(mask, np.ndarray) else mask,
            sinks=mx.array(np.ones(4, np.float32)))
        b = mlx.fast.scaled_dot_product_attention(
            mlx.array(q), mlx.array(k), mlx.array(k), scale=0.35,
            mask=mlx.array(mask) if isinstance(mask, np.ndarray) else mask,
            sinks=mlx.array(np.ones(4, np.float32)))
        np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-5, atol=1e-6)


def test_sdpa_errors():
    q = mx.ones((1, 4, 3, 8))
    k = mx.ones((1, 2, 5, 8))
    f = mx.fast.scaled_dot_product_attention
    with pytest.raises(ValueError, match="rank 4"):
        f(mx.ones((4, 3, 8)), k, k, scale=1.0)
    with pytest.raises(ValueError, match="invalid mask option"):
        f(q, k, k, scale=1.0, mask="foo")
    with pytest.raises(ValueError, match="multiple of n_kv_heads"):
        f(mx.ones((1, 3, 3, 8)), k, k, scale=1.0)
    with pytest.raises(ValueError, match="matching last dimension"):
        f(mx.ones((1, 4, 3, 4)), k, k, scale=1.0)
    with pytest.raises(ValueError, match="batch"):
        f(mx.ones((2, 4, 3, 8)), k, k, scale=1.0)
    with pytest.raises(ValueError, match="sinks"):
        f(q, k, k, scale=1.0, sinks=mx.ones(3))
    with pytest.raises(ValueError, match="at most rank 4"):
        f(q, k, k, scale=1.0, mask=mx.ones((1, 1, 1, 3, 5)))
    with pytest.raises(ValueError, match="promote"):
        f(q.astype(mx.float16), k.astype(mx.float16), k.astype(mx.float16), scale=1.0,
          mask=mx.ones((3, 5)))
    with pytest.raises(ValueError):
        f(q, k, k, scale=1.0, mask=mx.ones((4, 5)))  # not broadcastable to (.., 3, 5)


def test_sdpa_grads():
    q = RNG.standard_normal((1, 2, 3, 4))
    k = RNG.standard_normal((1, 1, 5, 4))
    v = RNG.standard_normal((1, 1, 5, 3))
    m = RNG.standard_normal((3, 5))
    sk = RNG.standard_normal(2)
    for mask in (None, "causal"):
        fn = lambda a, b, c: mx.fast.scaled_dot_product_attention(a, b, c, scale=0.7, mask=mask)  # noqa: E731
        for i in range(3):
            check_grad(fn, [q, k, v], i)
    fn = lambda a, b, c, mm, s: mx.fast.scaled_dot_product_attention(  # noqa: E731
        a, b, c, scale=0.7, mask=mm, sinks=s)
    for i in range(5):
        check_grad(fn, [q, k, v, m, sk], i)


# ---------------------------------------------------------- cross entropy


def test_cross_entropy():
    a, x = rand((4, 3, 11), "float32", -5, 5)
    t = RNG.integers(0, 11, size=(4, 3))
    m = x.max(-1, keepdims=True)
    lse = (m + np.log(np.exp(x - m).sum(-1, keepdims=True)))[..., 0]
    ref = lse - np.take_along_axis(x, t[..., None], -1)[..., 0]
    got = mx.fast.cross_entropy(a, mx.array(t))
    check(got, ref, "float32")
    got = mx.fast.cross_entropy(a.astype(mx.float16), mx.array(t.astype(np.int8)))
    assert got.dtype == mx.float32
    xl = np.array(a.astype(mx.float16).astype(mx.float32)).astype(np.float64)
    m = xl.max(-1, keepdims=True)
    ref16 = (m + np.log(np.exp(xl - m).sum(-1, keepdims=True)))[..., 0] - \
        np.take_along_axis(xl, t[..., None], -1)[..., 0]
    np.testing.assert_allclose(np.array(got), ref16, rtol=1e-5, atol=1e-5)
    # float32 loss (as MLX) even for float64 logits, computed in float64: the
    # gradient of its sum is softmax - onehot.
    g = mx.grad(lambda z: mx.sum(mx.fast.cross_entropy(z, mx.array(t))))(mx.array(x, dtype=mx.float64))
    assert g.dtype == mx.float64
    np.testing.assert_allclose(np.array(g), np_softmax(x, -1) - np.eye(11)[t], rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="does not match"):
        mx.fast.cross_entropy(a, mx.array(t[:2]))
    with pytest.raises(ValueError, match="integer class indices"):
        mx.fast.cross_entropy(a, mx.array(t.astype(np.float32)))
    with pytest.raises(ValueError, match="unsupported logits"):
        mx.fast.cross_entropy(mx.ones((2, 3), dtype=mx.int32), mx.array([0, 1]))


def test_cross_entropy_matches_mlx(mlx):
    x = RNG.standard_normal((6, 9)).astype(np.float32)
    t = RNG.integers(0, 9, size=6)
    np.testing.assert_allclose(np.array(mx.fast.cross_entropy(mx.array(x), mx.array(t))),
                               np.array(mlx.fast.cross_entropy(mlx.array(x), mlx.array(t))),
                               rtol=1e-5, atol=1e-6)


def test_fast_is_importable():
    from oxmlx.core.fast import rms_norm  # noqa: F401
    import oxmlx.core.fast as f

    assert f.rms_norm is mx.fast.rms_norm


def test_custom_kernels_raise():
    k = mx.fast.metal_kernel(name="k", input_names=["x"], output_names=["y"], source="y[0]=x[0];")
    with pytest.raises(RuntimeError, match="No Metal back-end"):
        k(inputs=[mx.ones(3)], grid=(1, 1, 1), threadgroup=(1, 1, 1), output_shapes=[(3,)],
          output_dtypes=[mx.float32])
    k = mx.fast.cuda_kernel(name="k", input_names=["x"], output_names=["y"], source="")
    with pytest.raises(RuntimeError, match="No CUDA back-end"):
        k(inputs=[mx.ones(3)])
    with pytest.raises(RuntimeError, match="No CUDA back-end"):
        mx.fast.precompiled_cuda_kernel(name="k", compiled_source=b"", inputs=[], output_shapes=[],
                                        output_dtypes=[], scalars=[], grid=(1, 1, 1),
                                        threadgroup=(1, 1, 1))


# -------------------------------------------------------- gated delta rule


def np_gdn(q, k, v, g, beta, s0=None, mask=None):
    B, T, Hk, Dk = q.shape
    Hv, Dv = v.shape[2], v.shape[3]
    S = np.zeros((B, Hv, Dv, Dk)) if s0 is None else s0.astype(np.float64).copy()
    y = np.zeros((B, T, Hv, Dv))
    for b in range(B):
        for t in range(T):
            if mask is not None and not mask[b, t]:
                continue
            for h in range(Hv):
                hk = h // (Hv // Hk)
                gs = g[b, t, h] if g.ndim == 4 else g[b, t, h]
                Sn = S[b, h] * gs
                Sn = Sn + np.outer(beta[b, t, h] * (v[b, t, h] - Sn @ k[b, t, hk]), k[b, t, hk])
                S[b, h] = Sn
                y[b, t, h] = Sn @ q[b, t, hk]
    return y, S


def gdn_inputs(B=2, T=5, Hk=1, Dk=3, Hv=2, Dv=4, gvec=False):
    q = RNG.standard_normal((B, T, Hk, Dk))
    k = RNG.standard_normal((B, T, Hk, Dk)) / np.sqrt(Dk)
    v = RNG.standard_normal((B, T, Hv, Dv))
    g = RNG.uniform(0.5, 1.0, (B, T, Hv, Dk) if gvec else (B, T, Hv))
    beta = RNG.uniform(0.0, 1.0, (B, T, Hv))
    s0 = RNG.standard_normal((B, Hv, Dv, Dk))
    return q, k, v, g, beta, s0


@pytest.mark.parametrize("gvec", [False, True])
@pytest.mark.parametrize("heads", [(1, 1), (1, 3), (2, 4)])
def test_gated_delta_update(gvec, heads):
    q, k, v, g, beta, s0 = gdn_inputs(Hk=heads[0], Hv=heads[1], gvec=gvec)
    mask = RNG.uniform(size=(2, 5)) > 0.3
    f32 = lambda a: mx.array(a.astype(np.float32))  # noqa: E731
    r32 = lambda a: a.astype(np.float32).astype(np.float64)  # noqa: E731
    args = [r32(a) for a in (q, k, v, g, beta)]
    for kw, ref in [({}, np_gdn(*args)),
                    ({"initial_state": f32(s0)}, np_gdn(*args, r32(s0))),
                    ({"initial_state": f32(s0), "mask": mx.array(mask)}, np_gdn(*args, r32(s0), mask))]:
        y, s = mx.fast.gated_delta_update(*[f32(a) for a in (q, k, v, g, beta)], **kw)
        check(y, ref[0], "float32", 5)
        check(s, ref[1], "float32", 5)


def test_gated_delta_dtypes_and_mlx(mlx):
    q, k, v, g, beta, s0 = gdn_inputs(Hk=2, Hv=4)
    h = [mx.array(a.astype(np.float16)) for a in (q, k, v, g, beta)]
    y, s = mx.fast.gated_delta_update(*h)
    assert y.dtype == mx.float16 and s.dtype == mx.float32
    ref = np_gdn(*[np.array(a).astype(np.float64) for a in h])
    check(y, ref[0], "float16", 3)
    y, s = mx.fast.gated_delta_update(*[mx.array(a, dtype=mx.float64) for a in (q, k, v, g, beta)])
    assert y.dtype == mx.float64 and s.dtype == mx.float64
    ref = np_gdn(q, k, v, g, beta)
    check(y, ref[0], "float64")
    check(s, ref[1], "float64")
    a = mx.fast.gated_delta_update(*[mx.array(x.astype(np.float32)) for x in (q, k, v, g, beta)],
                                   initial_state=mx.array(s0.astype(np.float32)))
    b = mlx.fast.gated_delta_update(*[mlx.array(x.astype(np.float32)) for x in (q, k, v, g, beta)],
                                    initial_state=mlx.array(s0.astype(np.float32)))
    for x, z in zip(a, b):
        np.testing.assert_allclose(np.array(x), np.array(z), rtol=1e-5, atol=1e-5)


def test_gated_delta_grads():
    q, k, v, g, beta, s0 = gdn_inputs(B=1, T=3, Hk=1, Dk=2, Hv=2, Dv=2)
    mask = mx.array(np.array([[True, False, True]]))

    def y_of(*a):
        return mx.fast.gated_delta_update(*a[:5], initial_state=a[5], mask=mask)[0]

    def s_of(*a):
        return mx.fast.gated_delta_update(*a[:5], initial_state=a[5])[1]

    for i in range(6):
        check_grad(y_of, [q, k, v, g, beta, s0], i)
        check_grad(s_of, [q, k, v, g, beta, s0], i)


def test_gated_delta_errors():
    q, k, v, g, beta, s0 = (mx.array(a.astype(np.float32)) for a in gdn_inputs(Hk=2, Hv=4))
    f = mx.fast.gated_delta_update
    with pytest.raises(ValueError, match="4 dimensions"):
        f(q[0], k, v, g, beta)
    with pytest.raises(ValueError, match="same shape"):
        f(q, k[:, :, :1], v, g, beta)
    with pytest.raises(ValueError, match="multiple of the key heads"):
        f(q, k, v[:, :, :3], g[:, :, :3], beta[:, :, :3])
    with pytest.raises(ValueError, match="gamma"):
        f(q, k, v, g[:, :, :2], beta)
    with pytest.raises(ValueError, match="beta"):
        f(q, k, v, g, beta[:, :1])
    with pytest.raises(ValueError, match="initial_state"):
        f(q, k, v, g, beta, initial_state=s0.transpose(0, 1, 3, 2))
    with pytest.raises(ValueError, match="mask"):
        f(q, k, v, g, beta, mask=mx.ones((2, 4), dtype=mx.bool_))
    with pytest.raises(ValueError, match="unsupported type"):
        f(*(a.astype(mx.int32) for a in (q, k, v)), g, beta)


_ISA_SCRIPT = r"""
import numpy as np, oxmlx.core as mx, oxmlx._core as C
rng = np.random.default_rng(0)
for n in (1, 5, 8, 16, 17, 31, 33, 100):
    x = rng.standard_normal((3, n)).astype(np.float32)
    w = rng.standard_normal(n).astype(np.float32)
    x64 = x.astype(np.float64)
    for dt, tol in (("float32", 3e-6), ("float16", 3e-3), ("bfloat16", 2e-2)):
        a = mx.array(x).astype(getattr(mx, dt))
        xa = np.array(a.astype(mx.float32)).astype(np.float64)
        e = np.exp(xa - xa.max(-1, keepdims=True))
        got = np.array(mx.softmax(a, axis=-1).astype(mx.float32))
        np.testing.assert_allclose(got, e / e.sum(-1, keepdims=True), rtol=tol, atol=tol)
        mu = xa.mean(-1, keepdims=True)
        ln = (xa - mu) / np.sqrt(((xa - mu) ** 2).mean(-1, keepdims=True) + 1e-5)
        got = np.array(mx.fast.layer_norm(a, None, None, 1e-5).astype(mx.float32))
        np.testing.assert_allclose(got, ln, rtol=tol, atol=tol * 4)
        got = np.array(mx.sum(a, axis=-1).astype(mx.float32))
        np.testing.assert_allclose(got, xa.sum(-1), rtol=tol, atol=tol * np.sqrt(n))
        assert np.array_equal(np.array(mx.max(a, axis=-1).astype(mx.float32)), xa.max(-1).astype(np.float32))
        assert np.array_equal(np.array(mx.min(a, axis=0).astype(mx.float32)), xa.min(0).astype(np.float32))
    rms = x64 / np.sqrt((x64 ** 2).mean(-1, keepdims=True) + 1e-5) * w
    np.testing.assert_allclose(np.array(mx.fast.rms_norm(mx.array(x), mx.array(w), 1e-5)), rms, rtol=3e-6, atol=3e-6)
z = np.linspace(-105, 89, 3001).astype(np.float32)
with np.errstate(over="ignore"):
    ref = np.exp(z.astype(np.float64)).astype(np.float32)
np.testing.assert_allclose(np.array(C._fast_exp(mx.array(z))), ref, rtol=3e-7, atol=2e-45)
print("ok")
"""


@pytest.mark.parametrize("isa", ["generic", "avx2", "avx512"])
def test_every_isa_path(isa):
    """The row kernels chosen by OXMLX_FAST_ISA (a path the CPU lacks falls back)."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, OXMLX_FAST_ISA=isa)
    r = subprocess.run([sys.executable, "-c", _ISA_SCRIPT], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]


@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2), ()], ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_fused_logsumexp(axis, keepdims):
    from scipy.special import logsumexp as sp_lse

    a, x = rand((3, 4, 37), "float32", -30, 30)
    got = mx.logsumexp(a, axis=axis, keepdims=keepdims)
    ref = x if axis == () else sp_lse(x, axis=axis, keepdims=keepdims)
    check(got, np.asarray(ref), "float32")
    h = a.astype(mx.bfloat16)
    check(mx.logsumexp(h, axis=-1), sp_lse(to_np(h).astype(np.float64), axis=-1), "bfloat16")


def test_fused_logsumexp_special_values_and_grad():
    x = np.array([[0.0, np.inf, 1.0], [-np.inf, -np.inf, -np.inf], [np.nan, 0.0, 1.0],
                  [-np.inf, 0.0, 2.0]], np.float32)
    got = np.array(mx.logsumexp(mx.array(x), axis=-1))
    assert got[0] == np.inf and got[1] == -np.inf and np.isnan(got[2])
    np.testing.assert_allclose(got[3], np.log(1 + np.exp(2.0)), rtol=1e-6)
    assert mx.logsumexp(mx.array([1, 2])).dtype == mx.float32
    y = RNG.standard_normal((3, 4))
    check_grad(lambda a: mx.logsumexp(a, axis=1), [y], 0)
    check_grad(lambda a: mx.logsumexp(a, axis=(0, 1)), [y], 0)


def test_fused_norm_backward_many_rows_and_mlx(mlx):
    x = RNG.standard_normal((300, 37)).astype(np.float32)
    w = RNG.uniform(0.5, 1.5, 37).astype(np.float32)
    b = RNG.standard_normal(37).astype(np.float32)
    ct = RNG.standard_normal((300, 37)).astype(np.float32)
    for dt, tol in (("float32", 2e-4), ("bfloat16", 5e-2)):
        def ours(f):
            args = [mx.array(a).astype(getattr(mx, dt)) for a in (x, w, b)]
            return mx.vjp(f(mx), args, [mx.array(ct).astype(getattr(mx, dt))])[1]

        def theirs(f):
            args = [mlx.array(a).astype(getattr(mlx, dt)) for a in (x, w, b)]
            return mlx.vjp(f(mlx), args, [mlx.array(ct).astype(getattr(mlx, dt))])[1]

        ln = lambda M: lambda a, ww, bb: M.fast.layer_norm(a, ww, bb, 1e-5)  # noqa: E731
        rms = lambda M: lambda a, ww, bb: M.fast.rms_norm(a, ww, 1e-5) + bb  # noqa: E731
        for f in (ln, rms):
            for g, r in zip(ours(f), theirs(f)):
                gr = to_np(g).astype(np.float64)
                rr = np.array(r.astype(mlx.float32)).astype(np.float64)
                np.testing.assert_allclose(gr, rr, rtol=tol, atol=tol * np.abs(rr).max())


def test_norm_grad_of_grad():
    x = RNG.standard_normal((2, 5))
    w = RNG.uniform(0.5, 1.5, 5)

    def gx(a, ww):  # d/dx of a weighted rms_norm, itself differentiated below
        wts = mx.array(np.arange(10.0).reshape(2, 5), dtype=mx.float64)
        return mx.grad(lambda z: mx.sum(mx.fast.rms_norm(z, ww, 1e-5) * wts))(a)

    check_grad(gx, [x, w], 0, rtol=1e-5, atol=1e-7)
    check_grad(gx, [x, w], 1, rtol=1e-5, atol=1e-7)

    def gl(a):
        return mx.grad(lambda z: mx.sum(mx.fast.layer_norm(z, None, None, 1e-5) ** 3))(a)

    check_grad(gl, [x], 0, rtol=1e-5, atol=1e-7)


def test_empty_and_degenerate_shapes():
    e = mx.zeros((2, 0))
    assert mx.fast.rms_norm(e, None, 1e-5).shape == (2, 0)
    assert mx.fast.layer_norm(e, None, None, 1e-5).shape == (2, 0)
    assert mx.softmax(e, axis=-1).shape == (2, 0)
    with pytest.raises(ValueError, match="empty"):  # as MLX
        mx.logsumexp(e, axis=-1)
    assert mx.fast.rope(mx.zeros((2, 3, 0, 8)), 8, traditional=False, base=10.0, scale=1.0,
                        offset=0).shape == (2, 3, 0, 8)
    y, s = mx.fast.gated_delta_update(mx.zeros((1, 0, 1, 3)), mx.zeros((1, 0, 1, 3)),
                                      mx.zeros((1, 0, 2, 4)), mx.zeros((1, 0, 2)),
                                      mx.zeros((1, 0, 2)), initial_state=mx.ones((1, 2, 4, 3)))
    assert y.shape == (1, 0, 2, 4)
    np.testing.assert_array_equal(np.array(s), np.ones((1, 2, 4, 3), np.float32))
    np.testing.assert_allclose(np.array(mx.softmax(mx.array(3.0))), 1.0)
    assert mx.softmax(mx.array([True, False])).dtype == mx.float32


def test_sdpa_jvp_matches_vjp():
    q = mx.array(RNG.standard_normal((1, 2, 3, 4)), dtype=mx.float64)
    k = mx.array(RNG.standard_normal((1, 1, 5, 4)), dtype=mx.float64)
    tq = mx.array(RNG.standard_normal((1, 2, 3, 4)), dtype=mx.float64)
    ct = mx.array(RNG.standard_normal((1, 2, 3, 4)), dtype=mx.float64)
    f = lambda a: mx.fast.scaled_dot_product_attention(a, k, k, scale=0.5, mask="causal")  # noqa: E731
    _, (jv,) = mx.jvp(f, [q], [tq])
    _, (vj,) = mx.vjp(f, [q], [ct])
    np.testing.assert_allclose((np.array(jv) * np.array(ct)).sum(), (np.array(tq) * np.array(vj)).sum(),
                               rtol=1e-10)


def np_sdpa_vjp(q, k, v, scale, mask, sinks, do):
    """Gradients of np_sdpa (float64) w.r.t. q, k, v for cotangent do."""
    B, Nq, Tq, D = q.shape
    Nkv, Tkv = k.shape[1], k.shape[2]
    rep = Nq // Nkv
    kr, vr = np.repeat(k, rep, axis=1), np.repeat(v, rep, axis=1)
    s = scale * q @ np.swapaxes(kr, -1, -2)
    low = np.finfo(np.float64).min
    keep = np.ones(s.shape, bool)  # where the score depends on q and k
    if isinstance(mask, str):
        keep = keep & (np.arange(Tkv - Tq, Tkv)[:, None] >= np.arange(Tkv)[None])
        s = np.where(keep, s, low)
    elif mask is not None and mask.dtype == np.bool_:
        keep = keep & mask
        s = np.where(keep, s, low)
    elif mask is not None:
        s = s + mask
    m = s.max(-1, keepdims=True)
    if sinks is not None:
        m = np.maximum(m, sinks.reshape(1, Nq, 1, 1))
    e = np.exp(s - m)
    den = e.sum(-1, keepdims=True) + (np.exp(sinks.reshape(1, Nq, 1, 1) - m) if sinks is not None else 0)
    p = e / den
    dv = np.swapaxes(p, -1, -2) @ do
    dp = do @ np.swapaxes(vr, -1, -2)
    ds = p * (dp - (dp * p).sum(-1, keepdims=True)) * keep
    dq = scale * ds @ kr
    dk = scale * np.swapaxes(ds, -1, -2) @ q
    fold = lambda a: a.reshape(B, Nkv, rep, *a.shape[2:]).sum(2)  # noqa: E731
    return dq, fold(dk), fold(dv)


@pytest.mark.parametrize("shape", SDPA_SHAPES[1:], ids=str)
@pytest.mark.parametrize("mask", ["none", "causal", "bool", "additive", "sinks"])
def test_sdpa_fused_backward(shape, mask):
    B, Nq, Nkv, Tq, Tkv, D, Dv = shape
    f64 = lambda a: mx.array(a, dtype=mx.float64)  # noqa: E731
    q, k = RNG.standard_normal((B, Nq, Tq, D)), RNG.standard_normal((B, Nkv, Tkv, D))
    v, do = RNG.standard_normal((B, Nkv, Tkv, Dv)), RNG.standard_normal((B, Nq, Tq, Dv))
    mn, sinks, kw = None, None, {}
    if mask == "causal":
        mn = kw["mask"] = "causal"
    elif mask == "bool":
        mn = RNG.uniform(size=(B, 1, Tq, Tkv)) > 0.4
        mn[..., 1, :] = False
        kw["mask"] = mx.array(mn)
    elif mask == "additive":
        mn = RNG.standard_normal((Tq, Tkv))
        kw["mask"] = f64(mn)
    elif mask == "sinks":
        sinks = RNG.standard_normal(Nq)
        kw["sinks"] = f64(sinks)
    scale = 0.5
    fn = lambda a, b, c: mx.fast.scaled_dot_product_attention(a, b, c, scale=scale, **kw)  # noqa: E731
    _, grads = mx.vjp(fn, [f64(q), f64(k), f64(v)], [f64(do)])
    for g, r in zip(grads, np_sdpa_vjp(q, k, v, scale, mn, sinks, do)):
        np.testing.assert_allclose(np.array(g), r, rtol=1e-9, atol=1e-10)
    # float32 and bfloat16 through the same kernel, against the float64 result
    for dt, tol in (("float32", 1e-4), ("bfloat16", 6e-2)):
        cast = lambda a: mx.array(a.astype(np.float32)).astype(getattr(mx, dt))  # noqa: E731
        kw2 = {key: (val if isinstance(val, str) or val.dtype == mx.bool_ else val.astype(getattr(mx, dt)))
               for key, val in kw.items()}
        fn2 = lambda a, b, c: mx.fast.scaled_dot_product_attention(a, b, c, scale=scale, **kw2)  # noqa: E731
        _, g2 = mx.vjp(fn2, [cast(q), cast(k), cast(v)], [cast(do)])
        for g, r in zip(g2, grads):
            r = np.array(r)
            np.testing.assert_allclose(to_np(g).astype(np.float64), r, rtol=tol,
                                       atol=tol * max(1.0, np.abs(r).max()))


def test_compositions_without_kernels():
    """A backend without the fused kernels evaluates each node's composition:
    OXMLX_FAST_ISA=none turns the CPU kernels off and reruns this file."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, OXMLX_FAST_ISA="none")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", __file__,
                        "-k", "not isa and not compositions_without_kernels"],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
