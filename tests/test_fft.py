"""mx.fft and mx.hadamard_transform against numpy.fft, torch.stft/istft,
scipy.linalg.hadamard, MLX and finite differences."""

import numpy as np
import pytest

import oxmlx.core as mx

RNG = np.random.default_rng(1234)

SIZES = list(range(1, 65)) + [97, 127, 210, 1000, 1024, 4096, 4099]


def crandn(*shape):
    return (RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)).astype(np.complex64)


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def check(got, exp, tol=2e-6, dtype=None):
    """Error relative to the largest expected magnitude (FFT errors scale with it)."""
    g = np.array(got)
    e = np.asarray(exp)
    assert g.shape == e.shape, (g.shape, e.shape)
    if dtype is not None:
        assert got.dtype == dtype, got.dtype
    scale = max(1.0, float(np.abs(e).max()) if e.size else 1.0)
    err = float(np.abs(g - e).max()) if e.size else 0.0
    assert err <= tol * scale, (err, scale)


# ------------------------------------------------------------ 1-D transforms


@pytest.mark.parametrize("n", SIZES)
def test_fft_ifft_sizes(n):
    x = crandn(3, n)
    a = mx.array(x)
    check(mx.fft.fft(a), np.fft.fft(x), dtype=mx.complex64)
    check(mx.fft.ifft(a), np.fft.ifft(x), dtype=mx.complex64)
    check(mx.fft.ifft(mx.fft.fft(a)), x)


@pytest.mark.parametrize("n", SIZES)
def test_rfft_irfft_sizes(n):
    x = randn(2, n)
    a = mx.array(x)
    y = mx.fft.rfft(a)
    check(y, np.fft.rfft(x), dtype=mx.complex64)
    assert y.shape == (2, n // 2 + 1)
    r = mx.fft.irfft(y, n=n)
    check(r, x, dtype=mx.float32)
    # Default output length 2 * (m - 1), and arbitrary half spectra (the
    # imaginary parts of the DC / Nyquist terms are ignored, as numpy does).
    h = crandn(2, n // 2 + 1)
    if n // 2 + 1 > 1:
        check(mx.fft.irfft(mx.array(h)), np.fft.irfft(h))
    check(mx.fft.irfft(mx.array(h), n=n), np.fft.irfft(h, n=n))


@pytest.mark.parametrize("n", [1, 3, 5, 8, 13, 16, 33])
@pytest.mark.parametrize("norm", ["backward", "ortho", "forward"])
def test_n_padding_truncation_and_norm(n, norm):
    x = crandn(4, 10)
    xr = x.real.copy()
    for axis in (0, 1, -1, -2):
        check(mx.fft.fft(mx.array(x), n=n, axis=axis, norm=norm), np.fft.fft(x, n, axis, norm))
        check(mx.fft.ifft(mx.array(x), n, axis, norm), np.fft.ifft(x, n, axis, norm))
        check(mx.fft.rfft(mx.array(xr), n=n, axis=axis, norm=norm), np.fft.rfft(xr, n, axis, norm))
        check(mx.fft.irfft(mx.array(x), n=n, axis=axis, norm=norm), np.fft.irfft(x, n, axis, norm))


def test_batched_many_lines_and_large():
    # Enough lines for the thread pool, and a line per axis position.
    x = crandn(8, 16, 48)
    for axis in range(3):
        check(mx.fft.fft(mx.array(x), axis=axis), np.fft.fft(x, axis=axis))
        check(mx.fft.ifft(mx.array(x), axis=axis), np.fft.ifft(x, axis=axis))
    xr = randn(3, 5, 64)
    for axis in range(3):
        check(mx.fft.rfft(mx.array(xr), axis=axis), np.fft.rfft(xr, axis=axis))
    big = crandn(65536)
    check(mx.fft.fft(mx.array(big)), np.fft.fft(big), tol=5e-6)
    bigp = crandn(65537)  # prime: Bluestein with a long convolution
    check(mx.fft.fft(mx.array(bigp)), np.fft.fft(bigp), tol=5e-6)
    long2 = crandn(2, 40000)  # batched long lines (one line at a time)
    check(mx.fft.ifft(mx.array(long2)), np.fft.ifft(long2), tol=5e-6)
    check(mx.fft.rfft(mx.array(long2.real.copy())), np.fft.rfft(long2.real), tol=5e-6)
    check(mx.fft.irfft(mx.array(long2), n=40001), np.fft.irfft(long2, n=40001), tol=5e-6)


def test_strided_transposed_broadcast_inputs():
    x = crandn(6, 10, 7)
    a = mx.array(x)
    t = mx.transpose(a, (2, 0, 1))
    check(mx.fft.fft(t), np.fft.fft(x.transpose(2, 0, 1)))
    check(mx.fft.fft(t, axis=0), np.fft.fft(x.transpose(2, 0, 1), axis=0))
    s = a[::2, 1::3, ::-1]
    check(mx.fft.fft(s, axis=1), np.fft.fft(x[::2, 1::3, ::-1], axis=1))
    check(mx.fft.fftn(s), np.fft.fftn(x[::2, 1::3, ::-1]))
    xr = randn(9, 12)
    r = mx.array(xr).T[1:, ::2]
    check(mx.fft.rfft(r), np.fft.rfft(xr.T[1:, ::2]))
    check(mx.fft.rfft2(r), np.fft.rfft2(xr.T[1:, ::2]))
    h = mx.array(x)[:, :, :4].transpose(1, 0, 2)
    check(mx.fft.irfft(h, n=6), np.fft.irfft(x[:, :, :4].transpose(1, 0, 2), n=6))
    check(mx.fft.irfftn(h, s=[5, 6], axes=[0, 2]),
          np.fft.irfftn(x[:, :, :4].transpose(1, 0, 2), s=[5, 6], axes=[0, 2]))
    b = mx.broadcast_to(mx.array(xr[0]), (4, 12))
    check(mx.fft.fft(b), np.fft.fft(np.broadcast_to(xr[0], (4, 12))))
    check(mx.fft.rfft(b, axis=0), np.fft.rfft(np.broadcast_to(xr[0], (4, 12)), axis=0))


# ---------------------------------------------------------- 2-D and n-D


@pytest.mark.parametrize("fn", ["fft2", "ifft2", "rfft2", "irfft2", "fftn", "ifftn", "rfftn", "irfftn"])
def test_multi_axis(fn):
    x = crandn(3, 6, 5, 4)
    src = x.real.copy() if fn.startswith("rfft") else x
    f, g = getattr(mx.fft, fn), getattr(np.fft, fn)
    a = mx.array(src)
    check(f(a), g(src))
    for axes in ([0, 1], [2, 0], [-1, -3], [1], [3, 2, 0]):
        check(f(a, axes=axes), g(src, axes=axes))
    for s, axes in (([4, 6], [1, 2]), ([7, 3], [3, 0]), ([2, 9, 5], [0, 1, 3]), ([1], [2])):
        check(f(a, s=s, axes=axes), g(src, s=s, axes=axes))
    for norm in ("ortho", "forward"):
        check(f(a, norm=norm), g(src, norm=norm))
    if fn.endswith("n"):
        check(f(a, s=[3, 5], axes=[-2, -1]), g(src, s=[3, 5], axes=[-2, -1]))
        check(f(a, None, [0, 2]), g(src, None, [0, 2]))  # positional
        check(f(a, axes=None), g(src))
    else:
        check(f(a, axes=None), g(src, axes=list(range(4))))


def test_round_trips():
    x = randn(4, 9, 10)
    a = mx.array(x)
    check(mx.fft.irfftn(mx.fft.rfftn(a), s=x.shape, axes=[0, 1, 2]), x)
    check(mx.fft.irfft2(mx.fft.rfft2(a), s=[9, 10]), x)
    check(mx.fft.irfftn(mx.fft.rfftn(a, axes=[2, 1]), s=[10, 9], axes=[2, 1]), x)
    c = crandn(5, 7, 3)
    check(mx.fft.ifftn(mx.fft.fftn(mx.array(c))), c)
    for norm in ("backward", "ortho", "forward"):
        check(mx.fft.ifft2(mx.fft.fft2(mx.array(c), norm=norm), norm=norm), c)


# ------------------------------------------------------- dtypes and shapes


@pytest.mark.parametrize("dt", ["bool_", "int32", "uint8", "int64", "float16", "bfloat16", "float32"])
def test_input_dtypes(dt):
    x = (RNG.integers(0, 4, size=(3, 8))).astype(np.float32)
    a = mx.array(x).astype(getattr(mx, dt))
    xe = np.array(a.astype(mx.float32))
    y = mx.fft.fft(a)
    assert y.dtype == mx.complex64
    check(y, np.fft.fft(xe))
    y = mx.fft.rfft(a)
    assert y.dtype == mx.complex64
    check(y, np.fft.rfft(xe))
    y = mx.fft.irfft(a)
    assert y.dtype == mx.float32
    check(y, np.fft.irfft(xe))
    assert mx.fft.ifftn(a).dtype == mx.complex64


def test_float64_and_complex_inputs():
    x = RNG.standard_normal((2, 6))
    a = mx.array(x, dtype=mx.float64)
    y = mx.fft.fft(a)
    assert y.dtype == mx.complex64  # as MLX: no complex128
    check(y, np.fft.fft(x), tol=1e-5)
    c = crandn(2, 6)
    # rfft of a complex array uses its real part (MLX casts silently).
    check(mx.fft.rfft(mx.array(c)), np.fft.rfft(c.real))


def test_empty_and_trivial():
    e = mx.zeros((0, 4))
    y = mx.fft.fft(e)
    assert y.shape == (0, 4) and y.dtype == mx.complex64
    assert mx.fft.rfft(e).shape == (0, 3)
    assert mx.fft.irfft(e).shape == (0, 6)
    assert mx.fft.fftn(mx.zeros((2, 0, 3)), axes=[0, 2]).shape == (2, 0, 3)
    # No axes: the input itself, as MLX.
    x = mx.array(randn(2, 3))
    y = mx.fft.fftn(x, axes=[])
    assert y.dtype == mx.float32
    check(y, np.array(x))
    with pytest.raises(ValueError, match="at least one dimension"):
        mx.fft.fftn(mx.array(2.0))  # axes = [] but 0-d: an error in MLX
    with pytest.raises(ValueError, match="at least one dimension"):
        mx.fft.fft(mx.array(2.0), n=2)
    check(mx.fft.fft(mx.array([3.5])), np.array([3.5 + 0j]))


def test_errors():
    a = mx.zeros((2, 3))
    with pytest.raises(ValueError, match="Invalid FFT output size"):
        mx.fft.fft(a, n=0)
    with pytest.raises(ValueError, match="Invalid FFT output size"):
        mx.fft.rfft(a, n=-2)
    with pytest.raises(ValueError, match="Invalid FFT output size"):
        mx.fft.irfft(mx.zeros((4, 1)))  # default n = 2 * (1 - 1)
    with pytest.raises(ValueError, match="Invalid FFT output size"):
        mx.fft.fft(mx.zeros((0,)))
    with pytest.raises(IndexError, match="axis"):
        mx.fft.fft(a, axis=2)
    with pytest.raises(IndexError, match="axis"):
        mx.fft.ifft(a, axis=-3)
    with pytest.raises(IndexError, match="axis"):
        mx.fft.fft(mx.array(1.0))
    with pytest.raises(IndexError, match="axis"):
        mx.fft.fft2(mx.zeros((3,)))
    with pytest.raises(ValueError, match="Duplicated axis"):
        mx.fft.fftn(a, axes=[0, 0])
    with pytest.raises(ValueError, match="Duplicated axis"):
        mx.fft.rfftn(a, axes=[1, -1])
    with pytest.raises(ValueError, match="Duplicated axis"):  # before the range check
        mx.fft.fftn(a, s=[2, 2], axes=[5, 5])
    with pytest.raises(IndexError, match="axis"):
        mx.fft.fftn(a, s=[0], axes=[5])  # range before sizes
    with pytest.raises(ValueError, match="should not be `None`"):
        mx.fft.fftn(a, s=[2, 3])
    with pytest.raises(ValueError, match="different sizes"):
        mx.fft.fftn(a, s=[2, 3, 4], axes=[0, 1])
    with pytest.raises(ValueError, match="Invalid norm"):
        mx.fft.fft(a, norm="foo")
    with pytest.raises(ValueError, match="Invalid norm"):
        mx.fft.irfftn(a, norm="Ortho")
    with pytest.raises(TypeError):
        mx.fft.fftn(a, axes=0)


def test_matches_mlx(mlx):
    x = crandn(4, 12)
    xr = x.real.copy()
    for fn, src, kw in [("fft", x, {"n": 10}), ("ifft", x, {"axis": 0}), ("rfft", xr, {"n": 15}),
                        ("irfft", x, {"n": 11}), ("rfft2", xr, {"s": [3, 8], "axes": [0, 1]}),
                        ("irfftn", x, {"axes": [1, 0], "norm": "ortho"}), ("fftn", x, {})]:
        got = getattr(mx.fft, fn)(mx.array(src), **kw)
        exp = getattr(mlx.fft, fn)(mlx.array(src), **kw)
        assert got.shape == exp.shape and str(got.dtype).split(".")[-1] == str(exp.dtype).split(".")[-1]
        check(got, np.array(exp), tol=3e-6)


# ------------------------------------------------------------ derivatives


def _loss(lib, name, kw):
    f = getattr(lib.fft, name)

    def L(x):
        y = f(x, **kw)
        w = np.arange(int(np.prod(y.shape)), dtype=np.float32).reshape(y.shape) % 7 - 3
        A = lib.array(w)
        if y.dtype == lib.complex64:
            return (lib.real(y) * A + lib.imag(y) * (A * 0.5 + 1) + lib.real(y) * lib.real(y)).sum()
        return (y * A + y * y).sum()

    return L


GRAD_CASES = [
    ("fft", {}), ("ifft", {"n": 7}), ("fft", {"n": 4, "norm": "ortho"}), ("rfft", {}),
    ("rfft", {"n": 9, "axis": 0}), ("irfft", {}), ("irfft", {"n": 7}), ("fft2", {}),
    ("ifft2", {"s": [2, 8]}), ("rfft2", {}), ("irfft2", {"norm": "forward"}),
    ("rfftn", {"axes": [0, 1]}), ("irfftn", {"s": [3, 5], "axes": [1, 0]}), ("fftn", {"norm": "ortho"}),
]


@pytest.mark.parametrize("name,kw", GRAD_CASES)
@pytest.mark.parametrize("cplx", [False, True])
def test_vjp_against_finite_differences(name, kw, cplx):
    # The transforms are linear and the loss quadratic, so central differences
    # are exact up to rounding; complex inputs get dL/dRe + i dL/dIm (MLX's
    # convention).
    x = randn(3, 6).astype(np.float64)
    if cplx:
        x = x + 1j * randn(3, 6)
    x = x.astype(np.complex64 if cplx else np.float32)
    L = _loss(mx, name, kw)
    g = np.array(mx.grad(L)(mx.array(x)))
    fd = np.zeros(x.shape, np.complex128 if cplx else np.float64)
    for idx in np.ndindex(x.shape):
        for unit in ([1.0, 1j] if cplx else [1.0]):
            e = np.zeros_like(x)
            e[idx] = unit
            d = (L(mx.array(x + e)).item() - L(mx.array(x - e)).item()) / 2
            fd[idx] += d * unit
    scale = max(1.0, np.abs(fd).max())
    assert np.abs(g - fd).max() <= 2e-5 * scale


@pytest.mark.parametrize("name,kw", GRAD_CASES[::2])
def test_vjp_matches_mlx(mlx, name, kw):
    x = crandn(3, 6)
    g = mx.grad(_loss(mx, name, kw))(mx.array(x))
    gm = mlx.grad(_loss(mlx, name, kw))(mlx.array(x))
    check(g, np.array(gm), tol=2e-6)


@pytest.mark.parametrize("name,kw", GRAD_CASES)
def test_jvp_is_the_transform_of_the_tangent(name, kw):
    src = crandn(3, 6) if name.startswith("i") or name == "fft" else randn(3, 6)
    t = crandn(3, 6) if src.dtype == np.complex64 else randn(3, 6)
    f = getattr(mx.fft, name)
    out, tan = mx.jvp(lambda a: f(a, **kw), [mx.array(src)], [mx.array(t)])
    check(out[0], np.array(f(mx.array(src), **kw)))
    check(tan[0], np.array(f(mx.array(t), **kw)))


@pytest.mark.skipif(not hasattr(mx, "vmap"), reason="mx.vmap is not in this build yet")
@pytest.mark.parametrize("name,kw", [("fft", {}), ("rfft", {"n": 6}), ("irfft2", {}),
                                     ("ifftn", {"axes": [0, 1]})])
@pytest.mark.parametrize("in_axis", [0, 1, 2])
def test_vmap_over_transforms(name, kw, in_axis):
    x = crandn(3, 4, 5)
    src = x.real.copy() if name == "rfft" else x
    f = getattr(mx.fft, name)
    got = mx.vmap(lambda a: f(a, **kw), in_axes=in_axis)(mx.array(src))
    exp = np.stack([np.array(f(mx.array(np.take(src, i, axis=in_axis)), **kw))
                    for i in range(src.shape[in_axis])])
    check(got, exp)


# ------------------------------------------------------ shifts, frequencies


def test_fftshift_ifftshift():
    for shape in [(5,), (6,), (3, 4), (2, 5, 7)]:
        x = np.arange(int(np.prod(shape))).reshape(shape).astype(np.int32)
        a = mx.array(x)
        np.testing.assert_array_equal(np.array(mx.fft.fftshift(a)), np.fft.fftshift(x))
        np.testing.assert_array_equal(np.array(mx.fft.ifftshift(a)), np.fft.ifftshift(x))
        for axes in [0, -1, [0], list(range(len(shape)))[::-1]]:
            np.testing.assert_array_equal(np.array(mx.fft.fftshift(a, axes)), np.fft.fftshift(x, axes))
            np.testing.assert_array_equal(np.array(mx.fft.ifftshift(a, axes=axes)),
                                          np.fft.ifftshift(x, axes=axes))
        np.testing.assert_array_equal(np.array(mx.fft.ifftshift(mx.fft.fftshift(a))), x)
    assert mx.fft.fftshift(mx.arange(5)).dtype == mx.int32
    assert mx.fft.fftshift(mx.array(3)).item() == 3
    assert mx.fft.fftshift(mx.zeros((0, 3))).shape == (0, 3)
    with pytest.raises(IndexError, match="fftshift"):
        mx.fft.fftshift(mx.zeros((2, 3)), axes=2)
    with pytest.raises(IndexError, match="ifftshift"):
        mx.fft.ifftshift(mx.zeros((2, 3)), axes=[-3])


def test_fftfreq_rfftfreq():
    for n in [1, 2, 5, 8, 11]:
        for d in [1.0, 0.5, 3.0, -2.0]:
            y = mx.fft.fftfreq(n, d)
            assert y.dtype == mx.float32
            np.testing.assert_allclose(np.array(y), np.fft.fftfreq(n, d), rtol=1e-6, atol=1e-7)
            np.testing.assert_allclose(np.array(mx.fft.rfftfreq(n, d=d)), np.fft.rfftfreq(n, d),
                                       rtol=1e-6, atol=1e-7)
    for f in (mx.fft.fftfreq, mx.fft.rfftfreq):
        with pytest.raises(ValueError, match="greater than 0"):
            f(0)
        with pytest.raises(ValueError, match="non-zero"):
            f(4, 0)


# -------------------------------------------------------------- stft/istft


def _torch():
    return pytest.importorskip("torch")


STFT_CASES = [
    {"n_fft": 16},
    {"n_fft": 16, "hop_length": 3, "pad_mode": "edge"},
    {"n_fft": 15, "hop_length": 5, "center": False},
    {"n_fft": 16, "hop_length": 5, "win_length": 10, "pad_mode": "constant"},
    {"n_fft": 16, "hop_length": 4, "window": "hann"},
    {"n_fft": 16, "norm": "ortho", "onesided": False},
    {"n_fft": 32, "hop_length": 7, "window": "hann10"},
]


def _win(kw):
    kw = dict(kw)
    w = kw.pop("window", None)
    if w == "hann":
        w = np.hanning(kw["n_fft"]).astype(np.float32) + 0.1
    elif w == "hann10":
        w = np.hanning(10).astype(np.float32) + 0.1
        kw["win_length"] = 10
    return kw, w


@pytest.mark.parametrize("kw", STFT_CASES)
def test_stft_against_torch(kw):
    torch = _torch()
    x = randn(2, 100)
    kw, w = _win(kw)
    got = mx.fft.stft(mx.array(x), window=None if w is None else mx.array(w), **kw)
    tkw = dict(kw)
    pad_mode = {"edge": "replicate"}.get(tkw.pop("pad_mode", "reflect"), "reflect")
    if kw.get("pad_mode") == "constant":
        pad_mode = "constant"
    norm = tkw.pop("norm", "backward")
    win = torch.ones(kw.get("win_length", kw["n_fft"])) if w is None else torch.tensor(w)
    exp = torch.stft(torch.tensor(x), window=win, return_complex=True, pad_mode=pad_mode,
                     normalized=norm == "ortho", **tkw).numpy()
    assert got.dtype == mx.complex64
    check(got, exp, tol=3e-6)


@pytest.mark.parametrize("kw", STFT_CASES)
def test_istft_against_torch_and_round_trip(kw):
    torch = _torch()
    x = randn(2, 100)
    kw, w = _win(kw)
    kw.pop("pad_mode", None)
    norm = kw.pop("norm", "backward")
    win = torch.ones(kw.get("win_length", kw["n_fft"])) if w is None else torch.tensor(w)
    tkw = {k: v for k, v in kw.items() if k != "onesided"}
    onesided = kw.get("onesided", True)
    S = torch.stft(torch.tensor(x), window=win, return_complex=True, normalized=norm == "ortho",
                   onesided=onesided, **tkw)
    mw = None if w is None else mx.array(w)
    got = mx.fft.istft(mx.array(S.numpy()), window=mw, norm=norm, **kw)
    if kw.get("center", True) or kw.get("hop_length", 0) <= kw["n_fft"] // 2:
        exp = torch.istft(S, window=win, normalized=norm == "ortho", onesided=onesided, **tkw).numpy()
        check(got, exp, tol=3e-6)
    n = min(got.shape[-1], 100)
    check(got[..., :n], x[..., :n], tol=5e-6)
    # length trims or zero-pads
    for length in (50, 130):
        y = mx.fft.istft(mx.array(S.numpy()), window=mw, norm=norm, length=length, **kw)
        assert y.shape == (2, length)
        check(y[..., : min(n, length)], x[..., : min(n, length)], tol=5e-6)


def test_stft_istft_match_mlx_and_shapes(mlx):
    x = randn(3, 2, 60)
    for kw in [{"n_fft": 8}, {"n_fft": 9, "hop_length": 2}, {"n_fft": 16, "hop_length": 20},
               {"n_fft": 8, "center": False, "hop_length": 3}]:
        S = mx.fft.stft(mx.array(x), **kw)
        Sm = mlx.fft.stft(mlx.array(x), **kw)
        check(S, np.array(Sm), tol=3e-6)
        kw2 = dict(kw)
        if kw["n_fft"] % 2:
            kw2["n_fft"] = kw["n_fft"]
        y = mx.fft.istft(mx.array(np.array(Sm)), **kw2)
        ym = mlx.fft.istft(Sm, **kw2)
        check(y, np.array(ym), tol=3e-6)
    # Negative length: Python slicing of the overlap-add buffer, as MLX.
    S = mx.fft.stft(mx.array(x[0, 0, :39]), n_fft=18, hop_length=10, center=False)
    for length in (-1, -3):
        kw = {"n_fft": 18, "hop_length": 10, "center": False, "length": length}
        y = mx.fft.istft(S, **kw)
        ym = mlx.fft.istft(mlx.array(np.array(S)), **kw)
        assert y.shape == ym.shape
        check(y, np.array(ym), tol=3e-6)
    # Short input: reflect padding reflects repeatedly, as numpy / MLX pad.
    s = randn(5)
    check(mx.fft.stft(mx.array(s), n_fft=16, hop_length=4),
          np.array(mlx.fft.stft(mlx.array(s), n_fft=16, hop_length=4)), tol=3e-6)
    # Complex input: two-sided by default.
    c = crandn(40)
    S = mx.fft.stft(mx.array(c), n_fft=8)
    assert S.shape == (8, 21)
    check(S, np.array(mlx.fft.stft(mlx.array(c), n_fft=8)), tol=3e-6)
    check(mx.fft.istft(S, onesided=False), c.real[:40], tol=5e-6)
    # Window envelope near zero: divided by max(envelope, 1e-8), as MLX.
    w = np.ones(16, np.float32)
    w[0] = 1e-5
    Sw = mx.fft.stft(mx.array(s.repeat(8)), n_fft=16, hop_length=16, window=mx.array(w), center=False)
    yw = mx.fft.istft(Sw, n_fft=16, hop_length=16, window=mx.array(w), center=False)
    ymw = mlx.fft.istft(mlx.array(np.array(Sw)), n_fft=16, hop_length=16,
                        window=mlx.array(w), center=False)
    # (ill-conditioned at the capped sample: float noise is amplified there)
    np.testing.assert_allclose(np.array(yw), np.array(ymw), rtol=2e-3, atol=1e-5)
    assert abs(np.array(yw)[0]) < 0.1 * abs(s[0]) + 1e-3  # capped, not y / envelope


def test_stft_grad_finite_differences():
    x = randn(24)
    w = mx.array(np.hanning(8).astype(np.float32) + 0.5)

    def L(a):
        S = mx.fft.stft(a, n_fft=8, hop_length=3, window=w)
        return (mx.real(S) * mx.imag(S)).sum() + mx.fft.istft(S, hop_length=3, window=w).sum()

    g = np.array(mx.grad(L)(mx.array(x)))
    h = 1e-2
    fd = np.array([(L(mx.array(x + h * e)).item() - L(mx.array(x - h * e)).item()) / (2 * h)
                   for e in np.eye(24, dtype=np.float32)])
    np.testing.assert_allclose(g, fd, rtol=2e-3, atol=2e-3)


def test_stft_istft_errors():
    x = mx.zeros((100,))
    with pytest.raises(ValueError, match="n_fft must be positive"):
        mx.fft.stft(x, n_fft=0)
    with pytest.raises(ValueError, match="hop_length must be positive"):
        mx.fft.stft(x, n_fft=16, hop_length=0)
    with pytest.raises(ValueError, match="hop_length must be positive"):
        mx.fft.stft(x, n_fft=3)  # default hop n_fft // 4 == 0
    with pytest.raises(ValueError, match="must not exceed n_fft"):
        mx.fft.stft(x, n_fft=16, win_length=20)
    with pytest.raises(ValueError, match="must not exceed n_fft"):
        mx.fft.stft(x, n_fft=16, window=mx.ones((20,)))
    with pytest.raises(ValueError, match="one-dimensional"):
        mx.fft.stft(x, n_fft=16, window=mx.ones((16, 1)))
    with pytest.raises(ValueError, match="padding mode"):
        mx.fft.stft(x, n_fft=16, pad_mode="foo")
    with pytest.raises(ValueError, match="Invalid norm"):
        mx.fft.stft(x, n_fft=16, norm="foo")
    with pytest.raises(ValueError, match="too short"):
        mx.fft.stft(mx.zeros((5,)), n_fft=16, center=False)
    with pytest.raises(ValueError, match="at least one dimension"):
        mx.fft.stft(mx.array(1.0), n_fft=16)
    S = mx.fft.stft(x, n_fft=16)
    with pytest.raises(ValueError, match="at least two dimensions"):
        mx.fft.istft(S[:, 0])
    with pytest.raises(ValueError, match="n_fft must be positive"):
        mx.fft.istft(S[:1])
    with pytest.raises(ValueError, match="hop_length must be positive"):
        mx.fft.istft(S, hop_length=0)
    with pytest.raises(ValueError, match="must not exceed n_fft"):
        mx.fft.istft(S, window=mx.ones((20,)))
    with pytest.raises(ValueError, match="one-dimensional"):
        mx.fft.istft(S, window=mx.ones((4, 4)))
    with pytest.raises(ValueError, match="Invalid norm"):
        mx.fft.istft(S, norm="bad")
    assert mx.fft.istft(S, length=0).shape == (0,)
    assert mx.fft.istft(S, length=-1).shape == (0,)  # center: [8:7]
    assert mx.fft.istft(S[:, :1]).shape == (0,)
    assert mx.fft.stft(mx.zeros((0, 40)), n_fft=16).shape == (0, 9, 11)


# -------------------------------------------------------------- hadamard


def _sylvester(n):
    from scipy.linalg import hadamard
    return hadamard(n).astype(np.float64)


@pytest.mark.parametrize("n", [1, 2, 4, 8, 64, 256, 1024, 4096, 2 ** 14, 2 ** 15])
def test_hadamard_powers_of_two(n):
    x = randn(3, n)
    y = mx.hadamard_transform(mx.array(x))
    assert y.dtype == mx.float32
    if n <= 4096:
        exp = x.astype(np.float64) @ _sylvester(n).T / np.sqrt(n)
    else:  # fast numpy WHT in Sylvester order
        exp = x.astype(np.float64).copy()
        h = 1
        while h < n:
            e = exp.reshape(3, -1, 2, h)
            exp = np.stack([e[:, :, 0] + e[:, :, 1], e[:, :, 0] - e[:, :, 1]], 2).reshape(3, n)
            h *= 2
        exp /= np.sqrt(n)
    check(y, exp, tol=2e-6)
    check(mx.hadamard_transform(mx.array(x), scale=2.0), exp * np.sqrt(n) * 2, tol=2e-6)


@pytest.mark.parametrize("m", [12, 20, 28])
def test_hadamard_m_matrices(m):
    H = np.array(mx.hadamard_transform(mx.eye(m), scale=1.0)).T  # column i = H e_i
    np.testing.assert_array_equal(np.abs(H), np.ones((m, m)))
    np.testing.assert_array_equal(H @ H.T, m * np.eye(m))  # a Hadamard matrix
    # n = m * 2^k is H_m (x) H_2^k.
    x = randn(3, 4 * m)
    exp = x.astype(np.float64) @ np.kron(H, _sylvester(4)).T * 0.5
    check(mx.hadamard_transform(mx.array(x), scale=0.5), exp, tol=2e-6)


@pytest.mark.parametrize("m", [12, 20, 28])
def test_hadamard_m_matrices_match_mlx(m, mlx):
    for n in (m, 2 * m, 8 * m, 512 * m):
        x = randn(2, n)
        check(mx.hadamard_transform(mx.array(x)), np.array(mlx.hadamard_transform(mlx.array(x))),
              tol=2e-6)


def test_hadamard_dtypes_shapes_errors():
    x = randn(2, 3, 16)
    y = mx.hadamard_transform(mx.array(x).transpose(1, 0, 2))
    check(y, x.transpose(1, 0, 2) @ _sylvester(16).T / 4)
    for dt in ("float16", "bfloat16"):
        a = mx.array(x).astype(getattr(mx, dt))
        y = mx.hadamard_transform(a)
        assert y.dtype == getattr(mx, dt)
        exp = np.array(a.astype(mx.float32)) @ _sylvester(16).T / 4
        np.testing.assert_allclose(np.array(y.astype(mx.float32)), exp, rtol=2e-2, atol=2e-2)
    for dt in ("int32", "bool_", "uint8"):
        assert mx.hadamard_transform(mx.ones((2, 8), dtype=getattr(mx, dt))).dtype == mx.float32
    s = mx.hadamard_transform(mx.array(2.0))
    assert s.shape == () and s.item() == 2.0
    assert mx.hadamard_transform(mx.array(2.0), scale=3).item() == 6.0
    # n = 1 is the identity (dtype kept, as MLX), times a weakly typed scale.
    one = mx.hadamard_transform(mx.array([[3], [4]], dtype=mx.int32))
    assert one.dtype == mx.int32 and one.tolist() == [[3], [4]]
    one = mx.hadamard_transform(mx.array([[3], [4]], dtype=mx.int32), scale=2.5)
    assert one.dtype == mx.float32 and one.tolist() == [[7.5], [10.0]]
    assert mx.hadamard_transform(mx.ones((2, 1), dtype=mx.float16), scale=0.5).dtype == mx.float16
    for bad in (3, 6, 14, 36, 44, 60):
        with pytest.raises(ValueError, match="Only supports"):
            mx.hadamard_transform(mx.ones((2, bad)))
    with pytest.raises(ValueError, match="empty"):
        mx.hadamard_transform(mx.ones((0, 8)))
    with pytest.raises(ValueError, match="Unsupported type"):
        mx.hadamard_transform(mx.ones((2, 8), dtype=mx.float64))


@pytest.mark.parametrize("n", [8, 20, 56])
def test_hadamard_grad_finite_differences(n):
    # y = s H x: the vjp is s H^T c (H is not symmetric for m = 20, 28).
    x = randn(2, n)
    c = mx.array(randn(2, n))
    L = lambda a: (mx.hadamard_transform(a, scale=0.5) * c).sum()  # noqa: E731
    g = np.array(mx.grad(L)(mx.array(x)))
    fd = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = 1.0
        fd[idx] = (L(mx.array(x + e)).item() - L(mx.array(x - e)).item()) / 2
    np.testing.assert_allclose(g, fd, rtol=1e-4, atol=1e-4)
    out, tan = mx.jvp(lambda a: mx.hadamard_transform(a, scale=0.5), [mx.array(x)], [c])
    check(tan[0], np.array(mx.hadamard_transform(c, scale=0.5)))
