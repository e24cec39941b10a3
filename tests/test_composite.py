"""Composite ops of mlx.core (concatenate, pad, softmax, ...) against numpy."""

import numpy as np
import pytest

import oxmlx.core as mx

rng = np.random.default_rng(0)
X = rng.standard_normal((3, 4, 5)).astype(np.float32)


def close(a, b, **kw):
    np.testing.assert_allclose(np.array(a), b, rtol=kw.get("rtol", 1e-5), atol=kw.get("atol", 1e-6))


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2)])
def test_logsumexp_softmax_std(axis):
    x = mx.array(X)
    m = X.max(axis=axis, keepdims=True)
    lse = np.log(np.exp(X - m).sum(axis=axis, keepdims=True)) + m
    close(mx.logsumexp(x, axis=axis, keepdims=True), lse)
    close(mx.softmax(x, axis=axis), np.exp(X - lse))
    close(mx.std(x, axis=axis, ddof=1), X.std(axis=axis, ddof=1), rtol=1e-4)
    assert mx.logsumexp(mx.array([-np.inf, -np.inf])).item() == -np.inf


def test_elementwise_compositions():
    a = mx.array([-2.0, 0.5, np.nan, np.inf, -np.inf])
    close(mx.clip(mx.array(X), -0.5, 0.5), np.clip(X, -0.5, 0.5))
    close(mx.nan_to_num(a), np.nan_to_num(np.array([-2.0, 0.5, np.nan, np.inf, -np.inf], np.float32)))
    assert mx.isclose(a, a, equal_nan=True).tolist() == [True] * 5
    assert mx.allclose(mx.array([1.0, 2.0]), mx.array([1.0, 2.0 + 1e-7])).item()
    assert not mx.array_equal(mx.array([1, 2]), mx.array([1, 3])).item()
    assert not mx.array_equal(mx.array([1, 2]), mx.array([1, 2, 3])).item()
    close(mx.degrees(mx.array([np.pi])), [180.0])
    q, r = mx.divmod(mx.array([7, -7]), 3)
    assert q.tolist() == [2, -3] and r.tolist() == [1, 2]
    assert mx.logical_xor(mx.array([True, False]), mx.array([True, True])).tolist() == [False, True]
    with pytest.raises(ValueError):
        mx.clip(mx.array([1.0]), None, None)


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_concatenate_stack_split(axis):
    parts = [X, X * 2, X[:, :, :2] if axis in (2, -1) else X + 1]
    if axis not in (2, -1):
        parts[2] = X + 1
    close(mx.concatenate([mx.array(p) for p in parts], axis=axis), np.concatenate(parts, axis=axis))
    close(mx.stack([mx.array(X), mx.array(X * 3)], axis=axis), np.stack([X, X * 3], axis=axis))
    for s in (1, [1, 3], [2, 2, 10]):
        got = mx.split(mx.array(X), s, axis=axis)
        want = np.split(X, s, axis=axis) if not isinstance(s, int) or X.shape[axis] % s == 0 else None
        for g, w in zip(got, want):
            close(g, w)
    with pytest.raises(ValueError, match="concatenat"):
        mx.concatenate([mx.zeros((2, 3)), mx.zeros((3, 3))], axis=1)


def test_shape_compositions():
    x = mx.array(X)
    close(mx.pad(x, [(1, 2), (0, 1), (3, 0)], constant_values=7), np.pad(X, [(1, 2), (0, 1), (3, 0)], constant_values=7))
    close(mx.pad(x, 1, mode="edge"), np.pad(X, 1, mode="edge"))
    close(mx.repeat(x, 3, axis=1), np.repeat(X, 3, axis=1))
    close(mx.repeat(x, 2), np.repeat(X, 2))
    close(mx.tile(x, (2, 1, 3)), np.tile(X, (2, 1, 3)))
    close(mx.tile(mx.array([1.0, 2.0]), 3), np.tile([1.0, 2.0], 3))
    close(mx.roll(x, 2, axis=2), np.roll(X, 2, axis=2))
    close(mx.roll(x, -7), np.roll(X, -7))
    close(mx.roll(x, (1, -2), axis=(0, 1)), np.roll(X, (1, -2), axis=(0, 1)))
    close(mx.flip(x, axis=1), np.flip(X, axis=1))
    close(mx.flip(x), np.flip(X))
    for ix in ("xy", "ij"):
        for g, w in zip(mx.meshgrid(mx.arange(3), mx.arange(4), indexing=ix), np.meshgrid(np.arange(3), np.arange(4), indexing=ix)):
            np.testing.assert_array_equal(np.array(g), w)
    assert mx.atleast_3d(mx.array([1, 2])).shape == np.atleast_3d([1, 2]).shape
    assert mx.atleast_2d(mx.array(1)).shape == (1, 1)
    close(mx.unflatten(mx.array(X), 2, (5, 1)), X.reshape(3, 4, 5, 1))
    assert [u.shape for u in mx.unstack(x, axis=1)] == [(3, 5)] * 4
    close(mx.diff(x, n=2, axis=1), np.diff(X, n=2, axis=1))


@pytest.mark.parametrize("k", [-2, -1, 0, 1, 3])
def test_triangles_and_diagonals(k):
    M = X[0]
    close(mx.tril(mx.array(M), k), np.tril(M, k))
    close(mx.triu(mx.array(M), k), np.triu(M, k))
    close(mx.diagonal(mx.array(X), k, 1, 2), np.diagonal(X, k, 1, 2))
    close(mx.diag(mx.array(M), k), np.diag(M, k))
    close(mx.diag(mx.array([1.0, 2.0, 3.0]), k), np.diag([1.0, 2.0, 3.0], k))
    close(mx.trace(mx.array(M), k), np.trace(M, k))


def test_products():
    a, b = X[0], X[1]
    close(mx.outer(mx.array(a[0]), mx.array(b[0])), np.outer(a[0], b[0]))
    close(mx.inner(mx.array(a), mx.array(b)), np.inner(a, b), rtol=1e-4)
    close(mx.tensordot(mx.array(X), mx.array(X), axes=([1, 2], [1, 2])), np.tensordot(X, X, axes=([1, 2], [1, 2])), rtol=1e-4)
    close(mx.tensordot(mx.array(a), mx.array(b.T), axes=1), np.tensordot(a, b.T, axes=1), rtol=1e-4)
    close(mx.kron(mx.array(a[:2, :2]), mx.array(b[:3, :2])), np.kron(a[:2, :2], b[:3, :2]))
    close(mx.addmm(mx.array(a[:, :4]), mx.array(a), mx.array(b.T[:, :4]), alpha=0.5, beta=2.0), 0.5 * a @ b.T[:, :4] + 2 * a[:, :4], rtol=1e-4)
    close(mx.vecdot(mx.array(a), mx.array(b)), (a * b).sum(-1), rtol=1e-4)


def test_dtype_info():
    assert mx.finfo(mx.float32).max == float(np.finfo(np.float32).max)
    assert mx.finfo(mx.float16).eps == float(np.finfo(np.float16).eps)
    assert mx.iinfo(mx.int8).min == -128 and mx.iinfo(mx.uint16).max == 65535
    with pytest.raises(ValueError):
        mx.iinfo(mx.float32)
    assert mx.result_type(mx.array([1], mx.int8), mx.uint8) == mx.int16
    assert mx.result_type(mx.array([1], mx.int8), 1.0) == mx.float32
    assert mx.empty((2, 3)).shape == (2, 3) and mx.asarray([1, 2]).tolist() == [1, 2]


def test_composites_differentiate():
    g = mx.grad(lambda v: mx.sum(mx.concatenate([v, v * 2]) ** 2) + mx.logsumexp(v))(mx.array([1.0, 2.0]))
    x = np.array([1.0, 2.0])
    sm = np.exp(x) / np.exp(x).sum()
    close(g, 2 * x + 8 * x + sm)


def _fd_grad(f, x, eps=1e-6):
    """Central finite differences of sum(f(x) * w) for a fixed random w (float64)."""
    g = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        d = np.zeros_like(x)
        d[i] = eps
        g[i] = (f(x + d) - f(x - d)) / (2 * eps)
    return g


@pytest.mark.parametrize("op", ["cummax", "cummin"])
@pytest.mark.parametrize("kw", [{"axis": 1}, {"axis": 0, "reverse": True}, {"axis": 1, "inclusive": False},
                                {"axis": 1, "reverse": True, "inclusive": False}])
def test_cummax_cummin_vjp_finite_differences(op, kw):
    x = rng.standard_normal((3, 5))
    w = rng.standard_normal((3, 5))

    def finite(o):  # exclusive scans start with the identity (+-inf)
        return mx.where(mx.isinf(o), mx.zeros_like(o), o)

    def loss_np(v):
        return float(np.sum(np.array(finite(getattr(mx, op)(mx.array(v, mx.float64), **kw))) * w))

    g = mx.grad(lambda v: mx.sum(finite(getattr(mx, op)(v, **kw)) * mx.array(w, mx.float64)))(
        mx.array(x, mx.float64))
    assert g.dtype == mx.float64
    np.testing.assert_allclose(np.array(g), _fd_grad(loss_np, x), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kw", [{"axis": 1}, {"axis": 0, "reverse": True}, {"axis": 1, "inclusive": False}])
def test_logcumsumexp_jvp_finite_differences(kw):
    x, t = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    f = lambda v: np.array(mx.logcumsumexp(mx.array(v, mx.float64), **kw))  # noqa: E731
    hi, lo = f(x + 1e-6 * t), f(x - 1e-6 * t)
    fin = np.isfinite(hi)  # an exclusive scan starts at -inf: tangent 0 there (MLX)
    want = np.where(fin, (np.where(fin, hi, 0) - np.where(fin, lo, 0)) / 2e-6, 0.0)
    _, (jt,) = mx.jvp(lambda v: [mx.logcumsumexp(v, **kw)], [mx.array(x, mx.float64)], [mx.array(t, mx.float64)])
    np.testing.assert_allclose(np.array(jt), want, rtol=1e-6, atol=1e-7)
    with pytest.raises(RuntimeError, match="jvp is not implemented"):  # as MLX
        mx.jvp(lambda v: [mx.cumprod(v, axis=0)], [mx.array(x)], [mx.array(t)])


@pytest.mark.parametrize("offset", [-1, 0, 2])
def test_diagonal_and_trace_vjp_finite_differences(offset):
    x = rng.standard_normal((2, 4, 5))
    w = rng.standard_normal(np.diagonal(x, offset, 1, 2).shape)
    loss = lambda v: float(np.sum(np.diagonal(v, offset, 1, 2) * w))  # noqa: E731
    g = mx.grad(lambda v: mx.sum(mx.diagonal(v, offset, 1, 2) * mx.array(w, mx.float64)))(mx.array(x, mx.float64))
    np.testing.assert_allclose(np.array(g), _fd_grad(loss, x), rtol=1e-6, atol=1e-6)
    gt = mx.grad(lambda v: mx.trace(v, offset))(mx.array(x[0], mx.float64))
    np.testing.assert_allclose(np.array(gt), np.eye(4, 5, offset))


@pytest.mark.parametrize("mode", ["reflect", "symmetric", "edge"])
def test_pad_modes_match_numpy(mode):
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    for widths in ([(1, 2), (3, 0)], [(5, 4), (7, 6)], 2):
        close(mx.pad(mx.array(x), widths, mode=mode), np.pad(x, widths, mode=mode))
    close(mx.pad(mx.array([5.0]), 3, mode=mode), np.pad(np.array([5.0]), 3, mode=mode))
    with pytest.raises(ValueError, match="empty axis"):
        mx.pad(mx.zeros((0, 2)), 1, mode=mode)


def test_conformance_findings():
    """Behaviours the conformance harness aligned with MLX."""
    assert mx.sign(mx.array([np.nan, -2.0, 0.0])).tolist() == [0.0, -1.0, 0.0]
    assert mx.sum(mx.array(3, mx.int8)).dtype == mx.int8
    assert mx.sum(mx.ones((2, 3), mx.bool_), axis=[]).dtype == mx.bool_
    assert mx.all(mx.array([[1, 0]]), axis=[]).dtype == mx.bool_
    assert mx.isclose(mx.array([1.0, np.inf, np.inf, -np.inf]), mx.array([np.inf, np.inf, 1.0, np.inf])).tolist() == [
        False, True, False, False]
    with pytest.raises(ValueError, match="empty"):
        mx.logsumexp(mx.zeros((0, 3)))
    with pytest.raises(ValueError, match="non-empty axes"):
        mx.logsumexp(mx.array(1.0), axis=0)
    assert mx.softmax(mx.zeros((0, 3)), axis=-1).shape == (0, 3)
    assert mx.roll(mx.arange(6).reshape(2, 3), [1, 2], axis=[0]).tolist() == [[3, 4, 5], [0, 1, 2]]
    with pytest.raises(ValueError, match="shift"):
        mx.roll(mx.arange(6).reshape(2, 3), [1], axis=[0, 1])


@pytest.mark.parametrize("kw", [{"axis": 1}, {"axis": 1, "reverse": True}, {"axis": 0, "inclusive": False},
                                {"axis": 1, "reverse": True, "inclusive": False}])
@pytest.mark.parametrize("zeros", [(), ((0, 2),), ((0, 1), (0, 3), (2, 4))])
def test_cumprod_vjp_finite_differences_with_zeros(kw, zeros):
    x = rng.uniform(0.5, 1.5, (3, 5)) * rng.choice([-1.0, 1.0], (3, 5))
    for z in zeros:
        x[z] = 0.0
    w = rng.standard_normal((3, 5))
    loss = lambda v: float(np.sum(np.array(mx.cumprod(mx.array(v, mx.float64), **kw)) * w))  # noqa: E731
    g = mx.grad(lambda v: mx.sum(mx.cumprod(v, **kw) * mx.array(w, mx.float64)))(mx.array(x, mx.float64))
    np.testing.assert_allclose(np.array(g), _fd_grad(loss, x), rtol=1e-6, atol=1e-6)
    assert np.isfinite(np.array(g)).all()
