"""Convolutions: conv1d/2d/3d, conv_transpose*, conv_general, convolve against a
numpy sliding-window reference (float64), MLX as a second oracle, finite
differences for the derivatives, and MLX's argument errors."""

import itertools

import numpy as np
import pytest

import oxmlx.core as mx
from conftest import to_np

RNG = np.random.default_rng(0)


def ref_conv_general(x, w, stride, lo, hi, kdil, idil, groups, flip):
    """Channels-last convolution by explicit windows: x (N, S..., C), w (O, K..., C/g)."""
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    nd = x.ndim - 2
    N, C, O = x.shape[0], x.shape[-1], w.shape[0]
    # A negative pad crops the input before it is dilated (MLX's rule).
    for i in range(nd):
        start, stop = max(0, -lo[i]), x.shape[1 + i] + min(0, hi[i])
        x = np.take(x, range(start, max(start, stop)), axis=1 + i)
    lo = [max(0, v) for v in lo]
    hi = [max(0, v) for v in hi]
    # Input dilation: zeros between the samples.
    dsp = [(s - 1) * d + 1 if s else 0 for s, d in zip(x.shape[1:-1], idil)]
    xd = np.zeros((N, *dsp, C))
    xd[(slice(None),) + tuple(slice(None, None, d) for d in idil)] = x
    xd = np.pad(xd, [(0, 0)] + list(zip(lo, hi)) + [(0, 0)])
    if flip:
        w = w[(slice(None),) + (slice(None, None, -1),) * nd]
    dk = [(k - 1) * d + 1 for k, d in zip(w.shape[1:-1], kdil)]
    wd = np.zeros((O, *dk, w.shape[-1]))
    wd[(slice(None),) + tuple(slice(None, None, d) for d in kdil)] = w
    out_sp = [max(0, (xd.shape[1 + i] - dk[i]) // stride[i] + 1) for i in range(nd)]
    cg, og = C // groups, O // groups
    out = np.zeros((N, *out_sp, O))
    for pos in np.ndindex(*out_sp):
        win = tuple(slice(p * s, p * s + k) for p, s, k in zip(pos, stride, dk))
        patch = xd[(slice(None),) + win]
        for g in range(groups):
            pg = patch[..., g * cg:(g + 1) * cg].reshape(N, -1, cg)
            wg = wd[g * og:(g + 1) * og].reshape(og, -1, cg)
            out[(slice(None),) + pos + (slice(g * og, (g + 1) * og),)] = np.einsum(
                "nkc,okc->no", pg, wg)
    return out


def ref_conv_transpose(x, w, stride, pad, dil, out_pad, groups):
    """Transposed convolution by scattering every input sample times the kernel."""
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    nd = x.ndim - 2
    N, C, O = x.shape[0], x.shape[-1], w.shape[0]
    K = w.shape[1:-1]
    full = [(s - 1) * st + (k - 1) * d + 1 for s, st, k, d in zip(x.shape[1:-1], stride, K, dil)]
    size = [f - 2 * p + op for f, p, op in zip(full, pad, out_pad)]
    big = np.zeros((N, *[f + op + max(0, p) for f, op, p in zip(full, out_pad, pad)], O))
    cg, og = C // groups, O // groups
    for pos in np.ndindex(*x.shape[1:-1]):
        for kk in np.ndindex(*K):
            tgt = tuple(p * st + k * d for p, st, k, d in zip(pos, stride, kk, dil))
            for g in range(groups):
                xi = x[(slice(None),) + pos + (slice(g * cg, (g + 1) * cg),)]  # (N, cg)
                wk = w[(slice(g * og, (g + 1) * og),) + kk]  # (og, cg)
                big[(slice(None),) + tgt + (slice(g * og, (g + 1) * og),)] += xi @ wk.T
    sl = tuple(slice(p, p + s) for p, s in zip(pad, size))
    return big[(slice(None),) + sl]


def to64(a):
    return mx.array(np.asarray(a, np.float64), dtype=mx.float64)


def check(got, want, rtol=1e-10, atol=1e-10):
    np.testing.assert_allclose(to_np(got), want, rtol=rtol, atol=atol)
    assert got.shape == want.shape


CONV_GENERAL_CASES = [
    # x shape, w shape, stride, lo, hi, kdil, idil, groups, flip
    ((2, 9, 3), (4, 3, 3), [1], [0], [0], [1], [1], 1, False),
    ((1, 10, 4), (6, 4, 2), [3], [2], [1], [2], [1], 2, True),
    ((3, 7, 5), (5, 2, 5), [2], [-1], [3], [1], [3], 1, False),
    ((2, 7, 6, 3), (4, 3, 2, 3), [1, 1], [1, 0], [1, 2], [1, 1], [1, 1], 1, False),
    ((2, 9, 8, 6), (4, 3, 2, 3), [2, 3], [1, 0], [2, 3], [1, 2], [2, 1], 2, True),
    ((1, 8, 7, 4), (8, 3, 3, 1), [2, 1], [1, 1], [1, 1], [1, 1], [1, 1], 4, False),  # depthwise x2
    ((2, 5, 6, 6), (3, 1, 1, 6), [1, 1], [0, 0], [0, 0], [1, 1], [1, 1], 1, False),  # 1x1
    ((2, 5, 6, 6), (3, 1, 1, 6), [2, 2], [0, 1], [1, 0], [1, 1], [1, 1], 1, False),  # 1x1 strided
    ((1, 5, 4, 6, 2), (3, 2, 3, 2, 2), [1, 2, 1], [1, 0, 1], [0, 1, 1], [1, 1, 2], [1, 1, 1], 1,
     True),
    ((2, 4, 5, 3, 6), (4, 2, 2, 2, 3), [1, 1, 2], [0, 1, 0], [1, 0, 0], [2, 1, 1], [1, 2, 1], 2,
     False),
]


@pytest.mark.parametrize("case", CONV_GENERAL_CASES)
def test_conv_general_matches_reference(case):
    xs, ws, stride, lo, hi, kdil, idil, groups, flip = case
    x = RNG.standard_normal(xs)
    w = RNG.standard_normal(ws)
    want = ref_conv_general(x, w, stride, lo, hi, kdil, idil, groups, flip)
    got = mx.conv_general(to64(x), to64(w), stride=stride, padding=(lo, hi), kernel_dilation=kdil,
                          input_dilation=idil, groups=groups, flip=flip)
    assert got.dtype == mx.float64
    check(got, want)


@pytest.mark.parametrize("case", CONV_GENERAL_CASES)
def test_conv_general_matches_mlx(case, mlx):
    xs, ws, stride, lo, hi, kdil, idil, groups, flip = case
    if len(xs) == 5 and groups > 1:
        return  # MLX has no grouped 3-D convolution (the reference test covers it)
    x = RNG.standard_normal(xs).astype(np.float32)
    w = RNG.standard_normal(ws).astype(np.float32)
    kw = dict(stride=stride, padding=(lo, hi), kernel_dilation=kdil, input_dilation=idil,
              groups=groups, flip=flip)
    want = np.array(mlx.conv_general(mlx.array(x), mlx.array(w), **kw))
    got = mx.conv_general(mx.array(x), mx.array(w), **kw)
    np.testing.assert_allclose(to_np(got), want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("stride,padding,dilation,groups", [
    (1, 0, 1, 1), (2, 1, 1, 1), (1, 2, 2, 1), (3, 1, 1, 2), (1, 1, 1, 4)])
def test_conv_nd(d, stride, padding, dilation, groups):
    C, O = 4, 8
    x = RNG.standard_normal((2,) + (9, 7, 6)[:d] + (C,))
    w = RNG.standard_normal((O,) + (3, 2, 3)[:d] + (C // groups,))
    fn = getattr(mx, f"conv{d}d")
    got = fn(to64(x), to64(w), stride=stride, padding=padding, dilation=dilation, groups=groups)
    want = ref_conv_general(x, w, [stride] * d, [padding] * d, [padding] * d, [dilation] * d,
                            [1] * d, groups, False)
    check(got, want)


def test_conv2d_tuple_params():
    x = RNG.standard_normal((1, 11, 9, 3))
    w = RNG.standard_normal((2, 3, 2, 3))
    got = mx.conv2d(to64(x), to64(w), stride=(2, 1), padding=(1, 0), dilation=(1, 3))
    want = ref_conv_general(x, w, [2, 1], [1, 0], [1, 0], [1, 3], [1, 1], 1, False)
    check(got, want)


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("stride,padding,dilation,out_pad,groups", [
    (1, 0, 1, 0, 1), (2, 1, 1, 1, 1), (3, 2, 1, 2, 1), (2, 0, 2, 0, 2), (1, 1, 1, 0, 4)])
def test_conv_transpose_nd(d, stride, padding, dilation, out_pad, groups):
    C, O = 4, 8
    x = RNG.standard_normal((2,) + (5, 4, 3)[:d] + (C,))
    # MLX's layout for the transposed weight: (C_out, K..., C_in / groups).
    w = RNG.standard_normal((O,) + (3, 2, 3)[:d] + (C // groups,))
    fn = getattr(mx, f"conv_transpose{d}d")
    got = fn(to64(x), to64(w), stride=stride, padding=padding, dilation=dilation,
             output_padding=out_pad, groups=groups)
    want = ref_conv_transpose(x, w, [stride] * d, [padding] * d, [dilation] * d, [out_pad] * d,
                              groups)
    check(got, want)


def test_conv_transpose_matches_mlx(mlx):
    x = RNG.standard_normal((2, 6, 5, 4)).astype(np.float32)
    w = RNG.standard_normal((6, 3, 3, 2)).astype(np.float32)
    kw = dict(stride=(2, 3), padding=(1, 2), dilation=(1, 2), output_padding=(1, 0), groups=2)
    want = np.array(mlx.conv_transpose2d(mlx.array(x), mlx.array(w), **kw))
    got = mx.conv_transpose2d(mx.array(x), mx.array(w), **kw)
    np.testing.assert_allclose(to_np(got), want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("la,lv", [(7, 3), (3, 8), (6, 4), (1, 1), (5, 5), (4, 1)])
def test_convolve_matches_numpy(mode, la, lv):
    a = RNG.standard_normal(la)
    v = RNG.standard_normal(lv)
    got = mx.convolve(to64(a), to64(v), mode=mode)
    want = np.convolve(a, v, mode=mode)
    check(got, want)


def test_convolve_default_mode_and_dtype(mlx):
    a = np.arange(5.0, dtype=np.float32)
    v = np.array([1.0, -2.0, 0.5], np.float32)
    got = mx.convolve(mx.array(a), mx.array(v))
    assert got.dtype == mx.float32
    np.testing.assert_allclose(to_np(got), np.array(mlx.convolve(mlx.array(a), mlx.array(v))),
                               rtol=1e-6)


@pytest.mark.parametrize("dt", ["float16", "bfloat16", "float32"])
def test_conv_low_precision(dt):
    x = RNG.standard_normal((2, 10, 9, 8)).astype(np.float32)
    w = RNG.standard_normal((6, 3, 3, 8)).astype(np.float32) / 8
    got = mx.conv2d(mx.array(x).astype(getattr(mx, dt)), mx.array(w).astype(getattr(mx, dt)),
                    padding=1, stride=(1, 2))
    assert got.dtype == getattr(mx, dt)
    want = ref_conv_general(x, w, [1, 2], [1, 1], [1, 1], [1, 1], [1, 1], 1, False)
    tol = {"float16": 2e-2, "bfloat16": 1e-1, "float32": 1e-5}[dt]
    np.testing.assert_allclose(to_np(got), want, rtol=tol, atol=tol)


def test_conv_dtype_promotion():
    x = mx.ones((1, 5, 2), dtype=mx.float16)
    w = mx.ones((3, 2, 2), dtype=mx.float32)
    assert mx.conv1d(x, w).dtype == mx.float32
    assert mx.conv1d(x.astype(mx.bfloat16), w.astype(mx.float16)).dtype == mx.float32
    assert mx.conv1d(x, w.astype(mx.float16)).dtype == mx.float16


def test_conv_noncontiguous_inputs():
    x = RNG.standard_normal((9, 2, 7, 6))  # transposed below into (2, 9, 7, 6) strided view
    w = RNG.standard_normal((4, 6, 2, 4))
    xv = mx.transpose(to64(x), (1, 0, 2, 3))
    wv = mx.transpose(to64(w), (0, 2, 3, 1))[:, :, :, ::2]  # (4, 2, 4, 3) strided
    got = mx.conv2d(xv, wv, padding=1, groups=2)
    want = ref_conv_general(np.transpose(x, (1, 0, 2, 3)), np.transpose(w, (0, 2, 3, 1))[..., ::2],
                            [1, 1], [1, 1], [1, 1], [1, 1], [1, 1], 2, False)
    check(got, want)


def test_conv_empty():
    out = mx.conv1d(mx.zeros((0, 5, 4)), mx.ones((2, 3, 4)))
    assert out.shape == (0, 3, 2)
    out = mx.conv1d(mx.ones((1, 5, 0)), mx.ones((2, 3, 0)))
    assert out.shape == (1, 3, 2)
    np.testing.assert_array_equal(to_np(out), np.zeros((1, 3, 2)))
    out = mx.conv1d(mx.ones((1, 5, 4)), mx.ones((0, 3, 4)))
    assert out.shape == (1, 3, 0)


def test_conv_larger_threaded():
    # Big enough to take the threaded im2col path with several chunks.
    x = RNG.standard_normal((3, 20, 18, 16)).astype(np.float32)
    w = RNG.standard_normal((24, 3, 3, 16)).astype(np.float32)
    got = mx.conv2d(mx.array(x), mx.array(w), padding=1)
    want = ref_conv_general(x, w, [1, 1], [1, 1], [1, 1], [1, 1], [1, 1], 1, False)
    np.testing.assert_allclose(to_np(got), want, rtol=1e-4, atol=1e-4)


# ------------------------------------------------------------ derivatives

def numeric_grad(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        g[i] = (f(xp) - f(xm)) / (2 * eps)
    return g


GRAD_CASES = [
    ((2, 6, 3), (4, 3, 3), [2], [1], [0], [1], [1], 1, False),
    ((1, 7, 4), (4, 2, 2), [1], [2], [-1], [2], [2], 2, True),
    ((1, 5, 4, 2), (2, 2, 3, 2), [2, 1], [1, 0], [0, 2], [1, 2], [1, 1], 1, False),
    ((2, 4, 5, 4), (4, 3, 2, 2), [1, 2], [0, 1], [1, 1], [1, 1], [2, 1], 2, True),
    ((1, 5, 5, 3), (6, 3, 3, 1), [2, 2], [1, 1], [1, 1], [1, 1], [1, 1], 3, False),
    ((1, 3, 4, 3, 2), (2, 2, 2, 2, 2), [1, 2, 1], [1, 0, 0], [0, 0, 1], [1, 1, 1], [1, 1, 2], 1,
     False),
]


@pytest.mark.parametrize("case", GRAD_CASES)
def test_conv_vjp_matches_finite_differences(case):
    xs, ws, stride, lo, hi, kdil, idil, groups, flip = case
    x = RNG.standard_normal(xs)
    w = RNG.standard_normal(ws)
    kw = dict(stride=stride, padding=(lo, hi), kernel_dilation=kdil, input_dilation=idil,
              groups=groups, flip=flip)
    out_shape = mx.conv_general(to64(x), to64(w), **kw).shape
    c = to64(RNG.standard_normal(out_shape))

    def f(a, b):
        return mx.sum(mx.conv_general(a, b, **kw) * c)

    gx, gw = mx.grad(f, argnums=(0, 1))(to64(x), to64(w))
    nx = numeric_grad(lambda v: f(to64(v), to64(w)).item(), x)
    nw = numeric_grad(lambda v: f(to64(x), to64(v)).item(), w)
    np.testing.assert_allclose(np.array(gx), nx, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(np.array(gw), nw, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("case", GRAD_CASES[:4])
def test_conv_jvp_matches_vjp(case):
    xs, ws, stride, lo, hi, kdil, idil, groups, flip = case
    kw = dict(stride=stride, padding=(lo, hi), kernel_dilation=kdil, input_dilation=idil,
              groups=groups, flip=flip)
    x, w = to64(RNG.standard_normal(xs)), to64(RNG.standard_normal(ws))
    tx, tw = to64(RNG.standard_normal(xs)), to64(RNG.standard_normal(ws))
    fn = lambda a, b: mx.conv_general(a, b, **kw)  # noqa: E731
    (out,), (jv,) = mx.jvp(fn, [x, w], [tx, tw])
    ct = to64(RNG.standard_normal(out.shape))
    _, (vx, vw) = mx.vjp(fn, [x, w], [ct])
    # <J t, c> == <t, J^T c>
    lhs = float(mx.sum(jv * ct).item())
    rhs = float(mx.sum(vx * tx).item() + mx.sum(vw * tw).item())
    assert abs(lhs - rhs) < 1e-9 * max(1.0, abs(lhs))


def test_conv_transpose_grad_matches_mlx(mlx):
    x = RNG.standard_normal((1, 5, 4, 4)).astype(np.float32)
    w = RNG.standard_normal((4, 3, 2, 2)).astype(np.float32)
    kw = dict(stride=2, padding=1, output_padding=1, groups=2)

    def f(M):
        return lambda a, b: M.sum(M.sin(M.conv_transpose2d(a, b, **kw)))

    gm = mlx.grad(f(mlx), argnums=(0, 1))(mlx.array(x), mlx.array(w))
    go = mx.grad(f(mx), argnums=(0, 1))(mx.array(x), mx.array(w))
    for a, b in zip(gm, go):
        np.testing.assert_allclose(to_np(b), np.array(a), rtol=1e-4, atol=1e-4)


# ------------------------------------------------------------ errors

@pytest.mark.parametrize("call,word", [
    (lambda: mx.conv1d(mx.ones((1, 5, 4), mx.int32), mx.ones((2, 3, 4), mx.int32)), "floating"),
    (lambda: mx.conv1d(mx.ones((1, 5, 4)), mx.ones((2, 3, 3))), "channels"),
    (lambda: mx.conv1d(mx.ones((1, 5, 4)), mx.ones((3, 3, 2)), groups=2), "output channels"),
    (lambda: mx.conv1d(mx.ones((1, 5, 4)), mx.ones((2, 3, 4)), groups=3), "divisible"),
    (lambda: mx.conv1d(mx.ones((1, 5, 4)), mx.ones((2, 3, 4)), groups=0), "groups"),
    (lambda: mx.conv1d(mx.ones((1, 5, 4)), mx.ones((2, 7, 4))), "Spatial"),
    (lambda: mx.conv1d(mx.ones((1, 5, 4)), mx.ones((2, 3, 4)), stride=0), "Stride"),
    (lambda: mx.conv1d(mx.ones((1, 5, 4)), mx.ones((2, 3, 4)), dilation=0), "dilation"),
    (lambda: mx.conv2d(mx.ones((1, 5, 4)), mx.ones((2, 3, 4))), "dimensions"),
    (lambda: mx.conv_general(mx.ones((5, 4)), mx.ones((2, 4))), "spatial dimensions"),
    (lambda: mx.conv_general(mx.ones((1, 5, 4)), mx.ones((2, 3, 3, 4))), "weight"),
    (lambda: mx.conv_general(mx.ones((1, 5, 4)), mx.ones((2, 3, 4)), stride=[1, 1]), "strides"),
    (lambda: mx.conv_general(mx.ones((1, 5, 4)), mx.ones((2, 3, 4)), padding=([1, 1], [2])),
     "padding"),
    (lambda: mx.conv_general(mx.ones((1, 5, 4)), mx.ones((2, 3, 4)), input_dilation=0),
     "dilation"),
    (lambda: mx.convolve(mx.ones(5), mx.ones(3), mode="bad"), "mode"),
    (lambda: mx.convolve(mx.ones((5, 2)), mx.ones(3)), "1D"),
    (lambda: mx.convolve(mx.ones(0), mx.ones(3)), "empty"),
])
def test_conv_errors(call, word):
    with pytest.raises(ValueError, match=word):
        call()


def test_conv_error_messages_match_mlx(mlx):
    for lib in (mx, mlx):
        with pytest.raises(ValueError) as e:
            lib.conv1d(lib.ones((1, 5, 4)), lib.ones((2, 7, 4)))
        if lib is mx:
            ours = str(e.value)
        else:
            assert str(e.value).split(" Got")[0] == ours.split(" Got")[0]


def test_conv_weight_grad_large_image():
    # The weight gradient of a whole-image convolution takes the long-row
    # im2col path (patch rows of N * H * W values).
    x = RNG.standard_normal((2, 64, 64, 3))
    w = RNG.standard_normal((4, 3, 3, 3))
    c = RNG.standard_normal((2, 64, 64, 4))
    gw = mx.grad(lambda b: mx.sum(mx.conv2d(to64(x), b, padding=1) * to64(c)))(to64(w))
    win = np.lib.stride_tricks.sliding_window_view(
        np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0))), (3, 3), axis=(1, 2))
    want = np.einsum("nyxo,nyxcij->oijc", c, win)
    np.testing.assert_allclose(np.array(gw), want, rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("C", [3, 8, 43, 64])
def test_depthwise_float32(C):
    # The vectorized depthwise rows: 32- and 8-channel blocks plus a tail.
    x = RNG.standard_normal((2, 9, 7, C)).astype(np.float32)
    w = RNG.standard_normal((C, 3, 3, 1)).astype(np.float32)
    got = mx.conv2d(mx.array(x), mx.array(w), stride=(1, 2), padding=1, groups=C)
    want = ref_conv_general(x, w, [1, 2], [1, 1], [1, 1], [1, 1], [1, 1], C, False)
    np.testing.assert_allclose(to_np(got), want, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------ randomized configurations

from hypothesis import given, strategies as st  # noqa: E402


@st.composite
def conv_configs(draw):
    nd = draw(st.integers(1, 3))
    groups = draw(st.sampled_from([1, 2, 3]))
    cg = draw(st.integers(1, 3))
    og = draw(st.integers(1, 3))
    ks = [draw(st.integers(1, 3)) for _ in range(nd)]
    kdil = [draw(st.integers(1, 2)) for _ in range(nd)]
    idil = [draw(st.integers(1, 2)) for _ in range(nd)]
    stride = [draw(st.integers(1, 3)) for _ in range(nd)]
    lo = [draw(st.integers(-1, 2)) for _ in range(nd)]
    hi = [draw(st.integers(-1, 2)) for _ in range(nd)]
    sizes = []
    for i in range(nd):
        need = (ks[i] - 1) * kdil[i] + 1 - lo[i] - hi[i]  # dilated input length needed
        lo_sz = max(1, -(-(need - 1) // idil[i]) + 1 + max(0, -lo[i]) + max(0, -hi[i]))
        sizes.append(draw(st.integers(lo_sz, lo_sz + 3)))
    n = draw(st.integers(1, 2))
    flip = draw(st.booleans())
    return nd, n, sizes, groups, cg, og, ks, stride, lo, hi, kdil, idil, flip


@given(conv_configs(), st.integers(0, 2**31 - 1))
def test_conv_random_configs(cfg, seed):
    nd, n, sizes, groups, cg, og, ks, stride, lo, hi, kdil, idil, flip = cfg
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, *sizes, groups * cg))
    w = rng.standard_normal((groups * og, *ks, cg))
    kw = dict(stride=stride, padding=(lo, hi), kernel_dilation=kdil, input_dilation=idil,
              groups=groups, flip=flip)
    want = ref_conv_general(x, w, stride, lo, hi, kdil, idil, groups, flip)
    cropped = [s - max(0, -l) - max(0, -h) for s, l, h in zip(sizes, lo, hi)]
    if any((c - 1) * d + 1 + max(0, l) + max(0, h) < (k - 1) * kd + 1
           for c, d, l, h, k, kd in zip(cropped, idil, lo, hi, ks, kdil)):
        with pytest.raises(ValueError, match="Spatial"):
            mx.conv_general(to64(x), to64(w), **kw)
        return
    got = mx.conv_general(to64(x), to64(w), **kw)
    check(got, want)
    # Adjoint identity for the vjp (exact for a bilinear op).
    fn = lambda a, b: mx.conv_general(a, b, **kw)  # noqa: E731
    tx, tw = rng.standard_normal(x.shape), rng.standard_normal(w.shape)
    ct = rng.standard_normal(want.shape)
    _, (vx, vw) = mx.vjp(fn, [to64(x), to64(w)], [to64(ct)])
    lhs = float(np.sum(ref_conv_general(tx, w, stride, lo, hi, kdil, idil, groups, flip) * ct)
                + np.sum(ref_conv_general(x, tw, stride, lo, hi, kdil, idil, groups, flip) * ct))
    rhs = float(np.sum(np.array(vx) * tx) + np.sum(np.array(vw) * tw))
    assert abs(lhs - rhs) <= 1e-9 * max(1.0, abs(lhs))


@pytest.mark.parametrize("case", [GRAD_CASES[0], GRAD_CASES[3], GRAD_CASES[5]])
def test_conv_weight_grad_second_order(case):
    # h(x, c) = <dL/dw, R> with L = <conv(x, w), c>: differentiates the
    # weight-gradient node itself (with respect to x and to the cotangent c).
    xs, ws, stride, lo, hi, kdil, idil, groups, flip = case
    kw = dict(stride=stride, padding=(lo, hi), kernel_dilation=kdil, input_dilation=idil,
              groups=groups, flip=flip)
    x, w = RNG.standard_normal(xs), RNG.standard_normal(ws)
    c = RNG.standard_normal(mx.conv_general(to64(x), to64(w), **kw).shape)
    R = to64(RNG.standard_normal(ws))

    def h(a, cc):
        gw = mx.grad(lambda b: mx.sum(mx.conv_general(a, b, **kw) * cc))(to64(w))
        return mx.sum(gw * R)

    gx, gc = mx.grad(h, argnums=(0, 1))(to64(x), to64(c))
    nx = numeric_grad(lambda v: h(to64(v), to64(c)).item(), x)
    nc = numeric_grad(lambda v: h(to64(x), to64(v)).item(), c)
    np.testing.assert_allclose(np.array(gx), nx, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(np.array(gc), nc, rtol=1e-6, atol=1e-7)
    # jvp through the weight-gradient node matches the directional derivative.
    t = RNG.standard_normal(xs)
    _, (jv,) = mx.jvp(lambda a: h(a, to64(c)), [to64(x)], [to64(t)])
    np.testing.assert_allclose(float(jv.item()), float(np.sum(nx * t)), rtol=1e-6, atol=1e-7)
