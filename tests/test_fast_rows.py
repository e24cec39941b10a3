"""The CPU row kernels of softmax, logsumexp, layer_norm and rms_norm over the
last axis (csrc/backend/cpu/fast_kernels.inc) against float64 numpy oracles:
row lengths around the vector widths (tails shorter than a vector, 1-element
rows), many rows claimed in blocks by several threads, outputs large enough
for the streaming stores (aligned and unaligned rows), NaN / inf rows,
non-contiguous inputs (copied first), float32 / float16 / bfloat16; and the
whole file again in child processes with each ISA path forced
(OXMLX_FAST_ISA) and other pool sizes (OXMLX_NUM_THREADS)."""

import os
import subprocess
import sys

import numpy as np
import pytest

import oxmlx.core as mx
from conftest import to_np

RNG = np.random.default_rng(5)
DTYPES = ["float32", "float16", "bfloat16"]
# (rtol, atol) against the float64 result of the (rounded) input.
TOL = {"float32": (3e-6, 1e-7), "float16": (2e-3, 1e-4), "bfloat16": (1.6e-2, 1e-3)}
# Row lengths: 1, below / at / above the 8- and 16-lane widths, odd, long.
LENGTHS = [1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 63, 100, 257, 1025]


def arr(shape, dt, lo=-4.0, hi=4.0):
    """(oxmlx array of dtype dt, its exact float64 values)."""
    a = mx.array(RNG.uniform(lo, hi, size=shape).astype(np.float32)).astype(getattr(mx, dt))
    return a, to_np(a).astype(np.float64)


def f64(a):
    return to_np(a.astype(mx.float32)).astype(np.float64)


def softmax64(x):
    with np.errstate(invalid="ignore", over="ignore"):
        e = np.exp(x - x.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)


def lse64(x):
    m = x.max(-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        m0 = np.where(np.isfinite(m), m, 0.0)
        return (np.log(np.exp(x - m0).sum(-1, keepdims=True)) + m0)[..., 0]


def ln64(x, w, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    y = (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + float(np.float32(eps)))
    if w is not None:
        y = y * w
    return y if b is None else y + b


def rms64(x, w, eps=1e-5):
    y = x / np.sqrt((x * x).mean(-1, keepdims=True) + float(np.float32(eps)))
    return y if w is None else y * w


def close(got, ref, dt, scale=1.0):
    r, t = TOL[dt]
    assert str(got.dtype).endswith(dt), (got.dtype, dt)
    np.testing.assert_allclose(f64(got), ref, rtol=r * scale, atol=t * scale, equal_nan=True)


def close_affine(got, x, w, b, dt, scale):
    """An affine norm result: 16-bit types round (x - mu) * r and its
    product with w through the type, so the bound also scales with the
    magnitudes of those terms (a result near 0 from a cancelling + b)."""
    r, t = TOL[dt]
    ref = ln64(x, w, b)
    xh = np.abs(ln64(x, None, None))
    terms = xh * (np.abs(w) if w is not None else 1.0) + (np.abs(b) if b is not None else 0.0)
    err = np.abs(f64(got) - ref)
    bound = r * scale * (np.abs(ref) + terms) + t * scale
    assert (err <= bound).all(), (err.max(), np.unravel_index((err - bound).argmax(), err.shape))


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("n", LENGTHS)
def test_softmax_and_logsumexp_row_lengths(dt, n):
    a, x = arr((5, n), dt, -10, 10)
    close(mx.softmax(a, axis=-1), softmax64(x), dt)
    close(mx.softmax(a, axis=-1, precise=True), softmax64(x), dt)
    close(mx.logsumexp(a, axis=-1), lse64(x), dt, scale=2)
    assert np.allclose(f64(mx.softmax(a, axis=-1)).sum(-1), 1.0, rtol=TOL[dt][0] * n + 1e-6,
                       atol=TOL[dt][1] * n)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("n", LENGTHS)
def test_norms_row_lengths(dt, n):
    a, x = arr((4, n), dt)
    w, wn = arr((n,), dt, 0.5, 1.5)
    b, bn = arr((n,), dt)
    # Each norm is (x - mu) * r rounded through dt before * w and + b, so
    # the affine results carry a few roundings of dt more than the oracle.
    s = 1 if dt == "float32" else 3
    close_affine(mx.fast.layer_norm(a, w, b, 1e-5), x, wn, bn, dt, 4 * s)
    close(mx.fast.layer_norm(a, None, None, 1e-5), ln64(x, None, None), dt, scale=4)
    close_affine(mx.fast.layer_norm(a, w, None, 1e-5), x, wn, None, dt, 4 * s)
    close_affine(mx.fast.layer_norm(a, None, b, 1e-5), x, None, bn, dt, 4 * s)
    close(mx.fast.rms_norm(a, w, 1e-5), rms64(x, wn), dt, scale=2 * s)
    close(mx.fast.rms_norm(a, None, 1e-5), rms64(x, None), dt, scale=2)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("shape", [(300, 257), (64, 4096), (2100, 1023)], ids=str)
def test_many_rows_split_across_threads(dt, shape):
    """Enough rows for many blocks; (2100, 1023) float32 and the float16 /
    bfloat16 (2100, 2049) below are over the streaming threshold (8 MiB),
    with rows of every alignment."""
    if dt != "float32" and shape == (2100, 1023):
        shape = (2100, 2049)
    a, x = arr(shape, dt, -6, 6)
    n = shape[-1]
    w, wn = arr((n,), dt, 0.5, 1.5)
    b, bn = arr((n,), dt)
    s = 1 if dt == "float32" else 3
    close(mx.softmax(a, axis=-1), softmax64(x), dt)
    close(mx.logsumexp(a, axis=-1), lse64(x), dt, scale=2)
    close_affine(mx.fast.layer_norm(a, w, b, 1e-5), x, wn, bn, dt, 4 * s)
    close(mx.fast.rms_norm(a, w, 1e-5), rms64(x, wn), dt, scale=2 * s)


def special_rows(n, dt):
    """Rows of length n: random, a NaN, +inf, all -inf, -inf with finite,
    huge magnitudes, all NaN, constant."""
    x = RNG.uniform(-3, 3, size=(8, n))
    x[1, n // 2] = np.nan
    x[2, n - 1] = np.inf
    x[3, :] = -np.inf
    x[4, ::2] = -np.inf
    x[4, -1] = 1.0
    x[5, :] = np.linspace(-3e4 if dt == "float16" else -1e30, 6e4 if dt == "float16" else 1e30, n)
    x[6, :] = np.nan
    x[7, :] = 2.5
    a = mx.array(x.astype(np.float32)).astype(getattr(mx, dt))
    return a, f64(a)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("n", [1, 5, 16, 37, 1024, 3000])
@pytest.mark.parametrize("big", [False, True])
def test_special_values(dt, n, big):
    a, x = special_rows(n, dt)
    if big:  # many copies of the rows: threads and (at n=3000) streaming stores
        reps = max(1, (9 << 20) // (8 * n * (4 if dt == "float32" else 2)))
        a = mx.tile(a, (reps, 1))
        x = np.tile(x, (reps, 1))
    got = f64(mx.softmax(a, axis=-1))
    ref = softmax64(x)
    np.testing.assert_allclose(got, ref, rtol=TOL[dt][0], atol=TOL[dt][1], equal_nan=True)
    rows = np.arange(x.shape[0]) % 8
    assert np.isnan(got[rows == 1]).all() and np.isnan(got[rows == 3]).all()
    assert np.isnan(got[rows == 6]).all()
    if n > 1:
        assert np.isnan(got[rows == 2]).all()  # inf - inf
    lse = f64(mx.logsumexp(a, axis=-1))
    with np.errstate(invalid="ignore"):
        ref = lse64(x)
    ref[rows == 1] = np.nan
    ref[rows == 6] = np.nan
    ref[rows == 2] = np.inf
    ref[rows == 3] = -np.inf
    np.testing.assert_allclose(lse, ref, rtol=2 * TOL[dt][0], atol=2 * TOL[dt][1], equal_nan=True)
    assert np.array_equal(np.isnan(lse), np.isnan(ref))
    ln = f64(mx.fast.layer_norm(a, None, None, 1e-5))
    assert np.isnan(ln[rows == 1]).all() and np.isnan(ln[rows == 6]).all()
    np.testing.assert_allclose(ln[rows == 7], 0.0, atol=1e-6)
    finite = (rows == 0) | (rows == 7)
    np.testing.assert_allclose(ln[finite], ln64(x[finite], None, None), rtol=4 * TOL[dt][0],
                               atol=4 * TOL[dt][1])
    rms = f64(mx.fast.rms_norm(a, None, 1e-5))
    np.testing.assert_allclose(rms[finite], rms64(x[finite], None), rtol=2 * TOL[dt][0],
                               atol=2 * TOL[dt][1])
    assert np.isnan(rms[rows == 1]).all()


@pytest.mark.parametrize("dt", DTYPES)
def test_non_contiguous_inputs(dt):
    """Transposed, sliced and broadcast inputs are copied to rows first."""
    a, x = arr((40, 33, 18), dt, -5, 5)
    w, wn = arr((40,), dt, 0.5, 1.5)
    views = [
        (a.transpose(2, 1, 0), x.transpose(2, 1, 0)),
        (a[:, ::3, 1:], x[:, ::3, 1:]),
        (a[::-1, :, ::2], x[::-1, :, ::2]),
        (mx.broadcast_to(a[:1], (5, 33, 18)), np.broadcast_to(x[:1], (5, 33, 18))),
    ]
    for v, xv in views:
        close(mx.softmax(v, axis=-1), softmax64(xv), dt)
        close(mx.logsumexp(v, axis=-1), lse64(xv), dt, scale=2)
        close(mx.fast.rms_norm(v, None, 1e-5), rms64(xv, None), dt, scale=2)
        close(mx.fast.layer_norm(v, None, None, 1e-5), ln64(xv, None, None), dt, scale=4)
    v, xv = views[0]
    s = 1 if dt == "float32" else 3
    close_affine(mx.fast.layer_norm(v, w, w, 1e-5), xv, wn, wn, dt, 4 * s)
    # strided weight
    w2, wn2 = arr((80,), dt, 0.5, 1.5)
    close(mx.fast.rms_norm(v, w2[::2], 1e-5), rms64(xv, wn2[::2]), dt, scale=2 * s)


def test_in_place_and_repeated_outputs():
    """A temporary input is donated to the output (no streaming: the rows
    are read just before); repeated calls reuse cached buffers."""
    a, x = arr((2048, 1024), "float32", -5, 5)
    for _ in range(3):
        close(mx.softmax(a * 1.0, axis=-1), softmax64(x), "float32")
        close(mx.fast.rms_norm(a + 0.0, None, 1e-5), rms64(x, None), "float32", scale=2)
        close(mx.fast.layer_norm(a, None, None, 1e-5), ln64(x, None, None), "float32", scale=4)


def test_softmax_precise_half_inputs():
    x = RNG.uniform(-12, 12, size=(33, 129)).astype(np.float32)
    for dt in ("float16", "bfloat16"):
        a = mx.array(x).astype(getattr(mx, dt))
        ref = softmax64(f64(a))
        close(mx.softmax(a, axis=-1, precise=True), ref, dt)
        close(mx.softmax(a, axis=-1), ref, dt)


@pytest.mark.parametrize("isa,threads", [("avx512", "2"), ("avx512", "1"), ("avx2", "2"),
                                         ("avx2", "3"), ("generic", "2")])
def test_every_isa_and_thread_count(isa, threads):
    """This file's other tests in a child process with the row kernels of
    one ISA (a path the CPU lacks falls back) and another pool size."""
    env = dict(os.environ, OXMLX_FAST_ISA=isa, OXMLX_NUM_THREADS=threads)
    here = os.path.dirname(os.path.abspath(__file__))
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-p", "no:xdist",
         os.path.join(here, "test_fast_rows.py"), "-k", "not every_isa"],
        env=env, capture_output=True, text=True, timeout=900, cwd=os.path.dirname(here))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert " passed" in r.stdout and "failed" not in r.stdout, r.stdout[-2000:]
