"""mx.fft: discrete Fourier transforms (MLX 0.32 API).

The transforms (fft, ifft, rfft, irfft and their 2-D / n-D forms) are the C++
FFT family (oxmlx._core.fft). The shifts, the sample frequencies and the
short-time transforms are compositions of core ops, defined here.
"""

import numpy as _np

from oxmlx import _core as _c
from oxmlx._core.fft import (  # noqa: F401
    fft, ifft, rfft, irfft, fft2, ifft2, rfft2, irfft2, fftn, ifftn, rfftn, irfftn,
)
from oxmlx.core._composite import pad as _pad, roll as _roll

__all__ = [
    "fft", "ifft", "rfft", "irfft", "fft2", "ifft2", "rfft2", "irfft2", "fftn", "ifftn",
    "rfftn", "irfftn", "fftshift", "ifftshift", "fftfreq", "rfftfreq", "stft", "istft",
]

_NORMS = ("backward", "ortho", "forward")


def _check_norm(norm, op):
    if norm not in _NORMS:
        raise ValueError(
            f"[{op}] Invalid norm. Expected one of {{'backward', 'ortho', 'forward'}}.")


def _shift_axes(a, axes, op):
    if axes is None:
        axes = list(range(a.ndim))
    elif isinstance(axes, int):
        axes = [axes]
    out = []
    for ax in axes:
        if not -a.ndim <= ax < a.ndim:
            raise IndexError(f"[{op}] Invalid axis {ax} for array with {a.ndim} dimensions.")
        out.append(ax % a.ndim)
    return out


def fftshift(a, axes=None, stream=None):
    """Shift the zero-frequency component to the center of the spectrum."""
    a = a if isinstance(a, _c.array) else _c.array(a)
    ax = _shift_axes(a, axes, "fftshift")
    if not ax:
        return a
    return _roll(a, [a.shape[i] // 2 for i in ax], ax)


def ifftshift(a, axes=None, stream=None):
    """The inverse of :func:`fftshift` (differs from it for odd lengths)."""
    a = a if isinstance(a, _c.array) else _c.array(a)
    ax = _shift_axes(a, axes, "ifftshift")
    if not ax:
        return a
    return _roll(a, [-(a.shape[i] // 2) for i in ax], ax)


def fftfreq(n, d=1.0, stream=None):
    """Sample frequencies of :func:`fft` for a window of length ``n`` (float32)."""
    if n <= 0:
        raise ValueError("[fftfreq] `n` must be greater than 0.")
    if d == 0:
        raise ValueError("[fftfreq] `d` must be non-zero.")
    i = _c.arange(n, dtype=_c.int32)
    k = _c.where(i < (n + 1) // 2, i, i - n).astype(_c.float32)
    return k * (1.0 / (n * d))


def rfftfreq(n, d=1.0, stream=None):
    """Sample frequencies of :func:`rfft` (``n // 2 + 1`` values, float32)."""
    if n <= 0:
        raise ValueError("[rfftfreq] `n` must be greater than 0.")
    if d == 0:
        raise ValueError("[rfftfreq] `d` must be non-zero.")
    return _c.arange(n // 2 + 1, dtype=_c.float32) * (1.0 / (n * d))


def _window(window, win_length, n_fft, op):
    """The analysis window, centered and zero-padded to n_fft (float32)."""
    if window is not None:
        window = window if isinstance(window, _c.array) else _c.array(window)
        if window.ndim != 1:
            raise ValueError(f"[{op}] window must be a one-dimensional array.")
        w = window.astype(_c.float32) if window.dtype != _c.float32 else window
    else:
        wl = n_fft if win_length is None else win_length
        if wl < 0:
            raise ValueError(f"[{op}] win_length must be non-negative, got {wl}.")
        w = _c.ones([wl], dtype=_c.float32)
    wl = w.shape[0]
    if wl > n_fft:
        raise ValueError(f"[{op}] window length must not exceed n_fft.")
    if wl < n_fft:
        left = (n_fft - wl) // 2
        w = _pad(w, [(left, n_fft - wl - left)])
    return w


def stft(x, n_fft=2048, hop_length=None, win_length=None, window=None, center=True,
         pad_mode="reflect", norm="backward", onesided=None, stream=None):
    """Short-time Fourier transform of the last axis: ``(..., n_freq, n_frames)``."""
    x = x if isinstance(x, _c.array) else _c.array(x)
    if x.ndim == 0:
        raise ValueError("[stft] Input must have at least one dimension.")
    if n_fft <= 0:
        raise ValueError("[stft] n_fft must be positive.")
    hop = n_fft // 4 if hop_length is None else hop_length
    if hop <= 0:
        raise ValueError("[stft] hop_length must be positive.")
    _check_norm(norm, "stft")
    w = _window(window, win_length, n_fft, "stft")
    if onesided is None:
        onesided = x.dtype != _c.complex64
    L = x.shape[-1]
    pad = n_fft // 2 if center else 0
    if center and pad_mode not in ("reflect", "constant", "edge"):
        raise ValueError(f"Invalid padding mode ({pad_mode}) passed to pad")
    if center and pad_mode != "constant" and L == 0 and pad:
        raise ValueError(f"[stft] Cannot pad an empty signal with mode '{pad_mode}'.")
    total = L + 2 * pad
    if total < n_fft:
        raise ValueError("[stft] Input is too short for the given n_fft.")
    n_frames = 1 + (total - n_fft) // hop
    # Frame f, sample t reads padded position f*hop + t: one gather from x
    # (reflect/edge), or from the zero-padded signal (constant).
    pos = _np.arange(n_frames)[:, None] * hop + _np.arange(n_fft)[None, :] - pad
    src = x
    if pad and pad_mode == "constant":
        src = _pad(x, [(0, 0)] * (x.ndim - 1) + [(pad, pad)])
        pos = pos + pad
    elif pad and pad_mode == "edge":
        pos = _np.clip(pos, 0, L - 1)
    elif pad:
        # numpy's 'reflect' (repeated reflections when pad >= L), as MLX's pad.
        period = 2 * (L - 1)
        if period == 0:
            pos = _np.zeros_like(pos)
        else:
            pos = pos % period
            pos = _np.where(pos >= L, period - pos, pos)
    ind = _c.array(pos.astype(_np.int32))
    frames = _c.take(src, ind, axis=-1) * w
    spec = rfft(frames, norm=norm) if onesided else fft(frames, norm=norm)
    return _c.swapaxes(spec, -1, -2)


def _overlap_add(frames, hop):
    """sum_f frames[..., f, :] placed at f * hop: (..., (F + K - 1) * hop) values,
    K = ceil(n / hop) (zeros after the last frame's end)."""
    F, n = frames.shape[-2], frames.shape[-1]
    K = -(-n // hop)
    lead = [(0, 0)] * (frames.ndim - 2)
    if K * hop > n:
        frames = _pad(frames, lead + [(0, 0), (0, K * hop - n)])
    blocks = frames.reshape(list(frames.shape[:-1]) + [K, hop])
    acc = None
    for j in range(K):
        part = _pad(blocks[..., j, :], lead + [(j, K - 1 - j), (0, 0)])
        acc = part if acc is None else acc + part
    return acc.reshape(list(acc.shape[:-2]) + [(F + K - 1) * hop])


def istft(stft_matrix, n_fft=None, hop_length=None, win_length=None, window=None, center=True,
          norm="backward", onesided=None, length=None, stream=None):
    """Inverse of :func:`stft`: windowed overlap-add over the squared-window envelope."""
    S = stft_matrix if isinstance(stft_matrix, _c.array) else _c.array(stft_matrix)
    if S.ndim < 2:
        raise ValueError("[istft] Input must have at least two dimensions (freq, frames).")
    _check_norm(norm, "istft")
    if onesided is None:
        onesided = True
    n_freq, n_frames = S.shape[-2], S.shape[-1]
    if n_fft is None:
        n_fft = 2 * (n_freq - 1) if onesided else n_freq
    if n_fft <= 0:
        raise ValueError("[istft] n_fft must be positive.")
    hop = n_fft // 4 if hop_length is None else hop_length
    if hop <= 0:
        raise ValueError("[istft] hop_length must be positive.")
    w = _window(window, win_length, n_fft, "istft")
    frames = _c.swapaxes(S, -1, -2)
    if onesided:
        frames = irfft(frames, n=n_fft, norm=norm)
    else:
        frames = _c.real(ifft(frames, n=n_fft, norm=norm))
    frames = frames * w
    total = n_fft + hop * (n_frames - 1)
    y = _overlap_add(frames, hop)
    env = _overlap_add(_c.broadcast_to(w * w, [n_frames, n_fft]), hop)
    y = y / _c.maximum(env, _c.array(1e-8, dtype=_c.float32))
    start = n_fft // 2 if center else 0
    # Python slice semantics for the end, as MLX (a negative length counts
    # from the end of the overlap-add buffer).
    stop = total - start if length is None else start + length
    y = y[..., start:stop]
    if length is not None and y.shape[-1] < length:
        y = _pad(y, [(0, 0)] * (y.ndim - 1) + [(0, length - y.shape[-1])])
    return y
