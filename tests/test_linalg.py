"""mx.linalg against numpy.linalg / scipy.linalg and MLX: reconstruction
identities, MLX's output conventions (shapes, dtypes, pivots, orderings),
batches, non-contiguous inputs, errors and derivatives."""

import numpy as np
import pytest
import scipy.linalg as sla
from hypothesis import given
from hypothesis import strategies as st

import oxmlx.core as mx

L = mx.linalg
RS = np.random.RandomState(1234)
DTS = [(mx.float32, np.float32, 2e-4), (mx.float64, np.float64, 1e-10)]


def arr(x, dt=mx.float64):
    return mx.array(np.asarray(x), dtype=dt)


def npy(a):
    return np.array(a)


def spd(n, batch=()):
    a = RS.randn(*batch, n, n)
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def dn(d):
    n = repr(d).split(".")[-1]
    return "bool_" if n == "bool" else n


def close(a, b, tol):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    scale = max(1.0, float(np.abs(b).max())) if b.size else 1.0
    assert np.abs(a - b).max(initial=0) <= tol * scale, np.abs(a - b).max()


def noncontig(x):
    """A reversed-rows, transposed view of a copy of x (same values as x)."""
    y = mx.array(np.ascontiguousarray(np.swapaxes(x, -1, -2)[..., ::-1, :]))
    return mx.swapaxes(y[..., ::-1, :], -1, -2)


# ------------------------------------------------------------------ factorizations

@pytest.mark.parametrize("dt,ndt,tol", DTS)
@pytest.mark.parametrize("shape", [(1, 1), (4, 4), (7, 3), (3, 7), (2, 3, 5, 5), (33, 33)])
def test_qr(dt, ndt, tol, shape):
    a = RS.randn(*shape)
    q, r = L.qr(arr(a, dt))
    assert q.dtype == dt and r.dtype == dt
    m, n = shape[-2:]
    k = min(m, n)
    assert q.shape == shape[:-2] + (m, k) and r.shape == shape[:-2] + (k, n)
    q, r = npy(q), npy(r)
    close(q @ r, a, tol)
    close(np.swapaxes(q, -1, -2) @ q, np.broadcast_to(np.eye(k), shape[:-2] + (k, k)), tol)
    assert np.abs(np.tril(r, -1)).max(initial=0) == 0
    # LAPACK's sign convention (numpy uses geqrf + orgqr).
    qn, rn = np.linalg.qr(a)
    close(q, qn, tol * 10)
    close(r, rn, tol * 10)


def test_qr_matches_mlx(mlx):
    a = RS.randn(5, 4).astype(np.float32)
    q, r = L.qr(mx.array(a))
    qm, rm = mlx.linalg.qr(mlx.array(a), stream=mlx.cpu)
    close(q, np.array(qm), 1e-5)
    close(r, np.array(rm), 1e-5)


@pytest.mark.parametrize("dt,ndt,tol", DTS)
@pytest.mark.parametrize("shape", [(1, 1), (5, 5), (6, 3), (3, 6), (2, 4, 4), (40, 25), (150, 4), (3, 150)])
def test_svd(dt, ndt, tol, shape):
    a = RS.randn(*shape)
    u, s, vt = L.svd(arr(a, dt))
    m, n = shape[-2:]
    k = min(m, n)
    assert u.shape == shape[:-2] + (m, m) and s.shape == shape[:-2] + (k,)
    assert vt.shape == shape[:-2] + (n, n) and s.dtype == dt
    u, s, vt = npy(u), npy(s), npy(vt)
    close(s, np.linalg.svd(a, compute_uv=False), tol)
    assert np.all(np.diff(s, axis=-1) <= 0)
    close((u[..., :, :k] * s[..., None, :]) @ vt[..., :k, :], a, tol)
    close(np.swapaxes(u, -1, -2) @ u, np.broadcast_to(np.eye(m), u.shape), tol)
    close(vt @ np.swapaxes(vt, -1, -2), np.broadcast_to(np.eye(n), vt.shape), tol)
    s2 = L.svd(arr(a, dt), compute_uv=False)
    assert isinstance(s2, mx.array)
    close(s2, s, tol)


def test_svd_rank_deficient_and_complex(mlx):
    a = np.outer([1.0, 2, 3, 4], [1.0, -1, 2])  # rank 1
    u, s, vt = map(npy, L.svd(arr(a)))
    close(s, np.linalg.svd(a, compute_uv=False), 1e-12)
    close((u[:, :3] * s) @ vt, a, 1e-12)
    close(u.T @ u, np.eye(4), 1e-12)
    close(vt @ vt.T, np.eye(3), 1e-12)
    z = (RS.randn(4, 3) + 1j * RS.randn(4, 3)).astype(np.complex64)
    u, s, vt = L.svd(mx.array(z))
    assert (u.dtype, s.dtype, vt.dtype) == (mx.complex64, mx.float32, mx.complex64)
    um, sm, vtm = mlx.linalg.svd(mlx.array(z), stream=mlx.cpu)
    assert u.shape == um.shape and vt.shape == vtm.shape
    u, s, vt = npy(u), npy(s), npy(vt)
    close(s, np.linalg.svd(z, compute_uv=False), 1e-5)
    close((u[:, :3] * s) @ vt, z, 1e-5)
    close(u.conj().T @ u, np.eye(4), 1e-5)


@pytest.mark.parametrize("dt,ndt,tol", DTS)
@pytest.mark.parametrize("n,batch", [(1, ()), (2, ()), (6, (3,)), (30, ()), (5, (2, 2))])
def test_eigh(dt, ndt, tol, n, batch):
    a = spd(n, batch) - n * 1.5 * np.eye(n)  # indefinite
    w, v = L.eigh(arr(a, dt))
    assert w.shape == batch + (n,) and v.shape == a.shape and w.dtype == dt and v.dtype == dt
    w, v = npy(w), npy(v)
    close(w, np.linalg.eigvalsh(a), tol)
    close(a @ v, v * w[..., None, :], tol * 10)
    close(np.swapaxes(v, -1, -2) @ v, np.broadcast_to(np.eye(n), v.shape), tol)
    close(L.eigvalsh(arr(a, dt)), w, tol)


def test_eigh_triangle_and_repeated(mlx):
    x = np.array([[4.0, 100.0], [2.0, 5.0]], np.float32)
    for uplo in ["L", "U", "u", "X"]:
        close(L.eigvalsh(mx.array(x), UPLO=uplo),
              np.array(mlx.linalg.eigvalsh(mlx.array(x), UPLO=uplo, stream=mlx.cpu)), 1e-5)
    w, v = map(npy, L.eigh(arr(np.eye(4) * 3)))
    close(w, [3, 3, 3, 3], 1e-14)
    close(v.T @ v, np.eye(4), 1e-14)
    h = RS.randn(4, 4) + 1j * RS.randn(4, 4)
    h = (h + h.conj().T).astype(np.complex64)
    for uplo in ["L", "U"]:
        src = np.tril(h) if uplo == "L" else np.triu(h)  # the other triangle must not be read
        w, v = L.eigh(mx.array(src + np.triu(RS.randn(4, 4), 1).T * (uplo == "U")
                               + np.tril(RS.randn(4, 4), -1).T * (uplo == "L")), UPLO=uplo)
        assert w.dtype == mx.float32 and v.dtype == mx.complex64
        w, v = npy(w), npy(v)
        close(w, np.linalg.eigvalsh(h), 1e-5)
        close(h @ v, v * w, 1e-4)


def match_eigs(w, ref):
    ref = list(ref)
    err = 0.0
    for x in w:
        j = int(np.argmin([abs(x - y) for y in ref]))
        err = max(err, abs(x - ref.pop(j)))
    return err


@pytest.mark.parametrize("dt", [mx.float32, mx.float64])
@pytest.mark.parametrize("n,batch", [(1, ()), (2, ()), (5, ()), (12, (2,)), (40, ())])
def test_eig(dt, n, batch):
    a = RS.randn(*batch, n, n)
    w, v = L.eig(arr(a, dt))
    assert w.dtype == mx.complex64 and v.dtype == mx.complex64
    assert w.shape == batch + (n,) and v.shape == batch + (n, n)
    w, v = npy(w), npy(v)
    for i in np.ndindex(*batch):
        assert match_eigs(w[i], np.linalg.eigvals(a[i])) < 1e-4 * n
        close(a[i] @ v[i], v[i] * w[i], 1e-4 * n)
        close(np.linalg.norm(v[i], axis=0), np.ones(n), 1e-5)
    close(L.eigvals(arr(a, dt)), w, 1e-5 * n)


def test_eig_special(mlx):
    # Real eigenvalues come out exactly real; rotations give conjugate pairs.
    s = spd(5)
    w = npy(L.eigvals(arr(s)))
    assert np.all(w.imag == 0)
    close(np.sort(w.real), np.linalg.eigvalsh(s), 1e-5)
    rot = np.array([[0.0, -1.0], [1.0, 0.0]])
    w, v = map(npy, L.eig(arr(rot)))
    close(np.sort_complex(w), np.array([-1j, 1j]), 1e-6)
    close(rot @ v, v * w, 1e-6)
    w, v = map(npy, L.eig(arr(np.eye(3))))
    close(w, np.ones(3), 1e-7)
    assert abs(np.linalg.det(v)) > 0.5  # independent eigenvectors
    z = (RS.randn(4, 4) + 1j * RS.randn(4, 4)).astype(np.complex64)
    w, v = map(npy, L.eig(mx.array(z)))
    assert match_eigs(w, np.linalg.eigvals(z)) < 1e-4
    close(z @ v, v * w, 1e-4)
    a = RS.randn(3, 3).astype(np.float32)
    wm = np.array(mlx.linalg.eigvals(mlx.array(a), stream=mlx.cpu))
    assert match_eigs(npy(L.eigvals(mx.array(a))), wm) < 1e-5
    # Real input: complex eigenvalues are exact conjugate pairs, + first.
    for _ in range(3):
        w = npy(L.eigvals(arr(RS.randn(7, 7))))
        for i in np.flatnonzero(w.imag > 0):
            assert w[i + 1] == np.conj(w[i])
        assert np.all((w.imag == 0) | (np.abs(w.imag) > 1e-6))


@pytest.mark.parametrize("dt,ndt,tol", DTS)
@pytest.mark.parametrize("shape", [(1, 1), (4, 4), (6, 3), (3, 6), (2, 5, 5), (70, 70), (90, 75)])
def test_lu(dt, ndt, tol, shape):
    a = RS.randn(*shape)
    p, l, u = L.lu(arr(a, dt))
    m, n = shape[-2:]
    k = min(m, n)
    assert p.dtype == mx.uint32 and p.shape == shape[:-2] + (m,)
    assert l.shape == shape[:-2] + (m, k) and u.shape == shape[:-2] + (k, n)
    p, l, u = npy(p), npy(l), npy(u)
    close(np.take_along_axis(l, p[..., None].astype(np.int64), axis=-2) @ u, a, tol)
    assert np.all(np.abs(l) <= 1 + 1e-6) and np.abs(np.triu(l, 1)).max(initial=0) == 0
    close(np.diagonal(l, axis1=-2, axis2=-1), np.ones(shape[:-2] + (k,)), 0)
    lu, piv = L.lu_factor(arr(a, dt))
    assert piv.dtype == mx.uint32 and piv.shape == shape[:-2] + (k,) and lu.shape == a.shape
    if a.ndim == 2:
        lun, pivn = sla.lu_factor(a) if m == n else (None, None)
        if m == n:
            np.testing.assert_array_equal(npy(piv), pivn)
            close(lu, lun, tol * 10)


def test_lu_matches_mlx(mlx):
    for shape in [(3, 3), (4, 6), (6, 4)]:
        a = RS.randn(*shape).astype(np.float32)
        for ours, theirs in zip(L.lu(mx.array(a)), mlx.linalg.lu(mlx.array(a), stream=mlx.cpu)):
            close(ours, np.array(theirs), 1e-5)
        for ours, theirs in zip(L.lu_factor(mx.array(a)), mlx.linalg.lu_factor(mlx.array(a), stream=mlx.cpu)):
            close(ours, np.array(theirs), 1e-5)


@pytest.mark.parametrize("dt,ndt,tol", DTS)
@pytest.mark.parametrize("n,batch", [(1, ()), (5, ()), (4, (3,)), (100, ())])
def test_cholesky(dt, ndt, tol, n, batch):
    s = spd(n, batch)
    lo = npy(L.cholesky(arr(s, dt)))
    close(lo, np.linalg.cholesky(s), tol)
    up = npy(L.cholesky(arr(s, dt), upper=True))
    close(up, np.swapaxes(np.linalg.cholesky(s), -1, -2), tol)
    close(L.cholesky_inv(arr(lo, dt)), np.linalg.inv(s), tol * 10)
    close(L.cholesky_inv(arr(up, dt), upper=True), np.linalg.inv(s), tol * 10)


def test_cholesky_reads_one_triangle(mlx):
    x = np.array([[4.0, 100.0], [2.0, 5.0]], np.float32)
    for upper in [False, True]:
        close(L.cholesky(mx.array(x), upper=upper),
              np.array(mlx.linalg.cholesky(mlx.array(x), upper=upper, stream=mlx.cpu)), 1e-5)
        close(L.tri_inv(mx.array(x), upper=upper),
              np.array(mlx.linalg.tri_inv(mlx.array(x), upper=upper, stream=mlx.cpu)), 1e-5)
        close(L.cholesky_inv(mx.array(x), upper=upper),
              np.array(mlx.linalg.cholesky_inv(mlx.array(x), upper=upper, stream=mlx.cpu)), 1e-5)


@pytest.mark.parametrize("dt,ndt,tol", DTS)
@pytest.mark.parametrize("n,batch", [(1, ()), (6, ()), (3, (2, 2)), (80, ())])
def test_inv_tri_inv(dt, ndt, tol, n, batch):
    a = RS.randn(*batch, n, n) + 2 * np.eye(n)
    close(L.inv(arr(a, dt)), np.linalg.inv(a), tol * 100)
    close(L.tri_inv(arr(a, dt)), np.linalg.inv(np.tril(a)), tol * 100)
    close(L.tri_inv(arr(a, dt), upper=True), np.linalg.inv(np.triu(a)), tol * 100)
    # pinv drops singular values <= 10 * max(m, n) * eps * s_max (as MLX); so
    # does the oracle (an unlucky draw has one just below that cutoff).
    close(L.pinv(arr(a, dt)), np.linalg.pinv(a, rcond=10 * n * np.finfo(ndt).eps), tol * 100)


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (2, 4, 6), (1, 1)])
def test_pinv(shape, mlx):
    a = RS.randn(*shape)
    p = npy(L.pinv(arr(a)))
    close(p, np.linalg.pinv(a), 1e-10)
    close(a @ p @ a, a, 1e-10)
    a32 = a.astype(np.float32)
    close(L.pinv(mx.array(a32)), np.array(mlx.linalg.pinv(mlx.array(a32), stream=mlx.cpu)), 1e-4)
    # Singular values below 10 * max(m, n) * eps * s_max are dropped (as MLX).
    d = np.diag([1.0, 1e-7, 1.0]).astype(np.float32)
    close(L.pinv(mx.array(d)), np.array(mlx.linalg.pinv(mlx.array(d), stream=mlx.cpu)), 1e-6)


def test_noncontiguous_inputs():
    a = RS.randn(3, 5, 5) + 3 * np.eye(5)
    x = noncontig(a)
    np.testing.assert_array_equal(npy(x), a.astype(np.float32))
    close(L.inv(x), np.linalg.inv(a), 1e-4)
    close(L.det(x), np.linalg.det(a), 1e-4)
    q, r = L.qr(x)
    close(npy(q) @ npy(r), a, 1e-5)
    s = spd(5, (2,))
    close(L.cholesky(noncontig(s)), np.linalg.cholesky(s), 1e-4)
    close(L.eigvalsh(noncontig(s)), np.linalg.eigvalsh(s), 1e-4)
    close(L.svd(noncontig(a), compute_uv=False), np.linalg.svd(a, compute_uv=False), 1e-4)
    b = RS.randn(3, 5, 2)
    close(L.solve(x, noncontig(b)), np.linalg.solve(a, b), 1e-4)


# ------------------------------------------------------------------ solves, det

@pytest.mark.parametrize("dt,ndt,tol", DTS)
def test_solve(dt, ndt, tol):
    a = RS.randn(4, 4) + 2 * np.eye(4)
    for b in [RS.randn(4), RS.randn(4, 3), RS.randn(2, 4, 3), RS.randn(4, 1)]:
        close(L.solve(arr(a, dt), arr(b, dt)), np.linalg.solve(a, b) if b.ndim > 1 else np.linalg.solve(a, b), tol * 10)
    ab = RS.randn(3, 4, 4) + 2 * np.eye(4)
    b = RS.randn(3, 4, 2)
    close(L.solve(arr(ab, dt), arr(b, dt)), np.linalg.solve(ab, b), tol * 10)
    b1 = RS.randn(4)
    close(L.solve(arr(ab, dt), arr(b1, dt)), np.linalg.solve(ab, b1[None, :, None])[..., 0], tol * 10)
    x = L.solve(mx.array([[2, 1], [1, 3]], dtype=dt), mx.array([1.0, 2.0], dtype=mx.float32))
    assert x.dtype == dt


@pytest.mark.parametrize("dt,ndt,tol", DTS)
@pytest.mark.parametrize("upper", [False, True])
def test_solve_triangular(dt, ndt, tol, upper):
    a = RS.randn(5, 5) + 3 * np.eye(5)
    for b in [RS.randn(5), RS.randn(5, 2), RS.randn(3, 5, 4)]:
        ref = sla.solve_triangular(a, b if b.ndim < 3 else b, lower=not upper) if b.ndim < 3 else \
            np.stack([sla.solve_triangular(a, bi, lower=not upper) for bi in b])
        close(L.solve_triangular(arr(a, dt), arr(b, dt), upper=upper), ref, tol * 10)


def test_det_slogdet(mlx):
    for a in [RS.randn(4, 4), RS.randn(2, 3, 3), np.array([[1.0, 2], [2, 4]]), np.array([[0.0, 1], [1, 0]]),
              -np.eye(3), np.zeros((0, 0)), RS.randn(1, 1)]:
        close(L.det(arr(a)), np.linalg.det(a) if a.size else 1.0, 1e-10)
        sg, la = map(npy, L.slogdet(arr(a)))
        sn, ln = np.linalg.slogdet(a) if a.size else (1.0, 0.0)
        close(sg, sn, 0)
        np.testing.assert_allclose(la, ln, rtol=1e-10, atol=1e-12)
    for dt in [mx.int32, mx.float16, mx.bfloat16, mx.float32, mx.bool_]:
        x = mx.array([[1, 2], [3, 4]]).astype(dt)
        ours, theirs = L.det(x), mlx.linalg.det(mlx.array(np.array(x.astype(mx.float32))).astype(getattr(mlx, dn(dt))), stream=mlx.cpu)
        assert dn(ours.dtype) == dn(theirs.dtype)
        close(ours.astype(mx.float32), np.array(theirs.astype(mlx.float32)), 1e-2)
        assert dn(L.slogdet(x)[1].dtype) == dn(theirs.dtype)


def test_cross(mlx):
    a, b = RS.randn(4, 3), RS.randn(4, 3)
    close(L.cross(arr(a), arr(b)), np.cross(a, b), 1e-12)
    close(L.cross(arr(a.T), arr(b.T), axis=0), np.cross(a.T, b.T, axis=0), 1e-12)
    for x, y, ax in [(RS.randn(2), RS.randn(2), -1), (RS.randn(2), RS.randn(3), -1), (RS.randn(3), RS.randn(2), -1),
                     (RS.randn(3, 3), RS.randn(3, 1), 0), (RS.randn(2, 3), RS.randn(3), -1), (RS.randn(3, 2), RS.randn(3, 2), 0)]:
        ref = np.array(mlx.linalg.cross(mlx.array(x.astype(np.float32)), mlx.array(y.astype(np.float32)), axis=ax))
        close(L.cross(mx.array(x.astype(np.float32)), mx.array(y.astype(np.float32)), axis=ax), ref, 1e-5)
    r = L.cross(mx.array([1, 2, 3]), mx.array([4, 5, 6]))
    assert r.dtype == mx.int32 and r.tolist() == [-3, 6, -3]
    with pytest.raises(ValueError, match="size 2 or 3"):
        L.cross(mx.ones((4,)), mx.ones((3,)))
    with pytest.raises(IndexError):
        L.cross(mx.ones((3,)), mx.ones((3,)), axis=1)


# ------------------------------------------------------------------ norm

NORM_CASES = [
    ((3,), [None, 0, 1, -1, 2, -2, 3, 0.5, float("inf"), -float("inf")], [None, 0, -1]),
    ((3, 4), [None, 1, -1, 2, -2, float("inf"), -float("inf"), "fro", "nuc", "f"], [None, (0, 1), (1, 0), (-1, -2)]),
    ((2, 3, 4), [None, 1, -1, 2, -2, float("inf"), -float("inf"), "fro", "nuc"], [(0, 2), (2, 0), (1, 2)]),
    ((2, 3, 4), [None, 0, 1, 2, 3, float("inf")], [1, -1, [0]]),
]


@pytest.mark.parametrize("shape,ords,axes", NORM_CASES)
def test_norm_matches_mlx(shape, ords, axes, mlx):
    x = (RS.randn(*shape) * 3).round().astype(np.float32)
    for o in ords:
        for ax in axes:
            for kd in [False, True]:
                ours = L.norm(mx.array(x), o, axis=ax, keepdims=kd)
                ref = mlx.linalg.norm(mlx.array(x), o, axis=ax, keepdims=kd, stream=mlx.cpu)
                assert ours.shape == ref.shape and dn(ours.dtype) == dn(ref.dtype)
                close(ours, np.array(ref), 1e-5)


def test_norm_numpy_and_dtypes(mlx):
    x = RS.randn(5, 4)
    for o in [None, 1, -1, 2, -2, np.inf, -np.inf, "fro", "nuc"]:
        close(L.norm(arr(x), o), np.linalg.norm(x, o), 1e-10)
    for o in [None, 0, 1, 2, 3, np.inf]:
        close(L.norm(arr(x), o, axis=1), np.linalg.norm(x, o, axis=1), 1e-10)
    y = RS.randn(2, 3, 4)
    close(L.norm(arr(y)), np.linalg.norm(y.ravel()), 1e-10)
    for src in [mx.array([1, 2, 3]), mx.array([1, 2, 3], dtype=mx.float16), mx.array([1 + 2j, 3])]:
        for o in [None, 1, 3]:
            ref = mlx.linalg.norm(mlx.array(np.array(src)), o)
            ours = L.norm(src, o)
            assert dn(ours.dtype) == dn(ref.dtype)
            close(ours.astype(mx.complex64) if ours.dtype == mx.complex64 else ours.astype(mx.float32),
                  np.array(ref.astype(mlx.complex64 if ref.dtype == mlx.complex64 else mlx.float32)), 1e-3)
    assert L.norm(mx.ones((2, 3, 4)), keepdims=True).shape == (1, 1, 1)
    for o in [None, 2, "nuc"]:
        close(mx.matrix_norm(arr(x), o), L.norm(arr(x), o), 0)
    close(L.norm(mx.zeros((0,))), 0.0, 0)


def test_norm_errors():
    v, m3 = mx.ones((3,)), mx.ones((2, 3, 4))
    x = mx.array([[1.0, 2], [3, 4]])
    close(L.norm(x, np.int64(1), axis=(np.int32(0), 1)), 6.0, 0)
    close(L.norm(x, axis=np.int64(0)), np.linalg.norm(npy(x), axis=0), 1e-6)
    with pytest.raises(TypeError):
        L.norm(x, [1])
    with pytest.raises(TypeError):
        L.norm(x, axis="a")
    with pytest.raises(ValueError, match="too many axes"):
        L.norm(m3, 2)
    with pytest.raises(ValueError, match="too many axes"):
        L.norm(m3, axis=(0, 1, 2))
    with pytest.raises(ValueError, match="only supported for matrices"):
        L.norm(v, "fro")
    with pytest.raises(ValueError, match="Invalid ord value 'bad'"):
        L.norm(mx.ones((2, 2)), "bad")
    with pytest.raises(ValueError, match="Invalid ord 3"):
        L.norm(mx.ones((2, 2)), 3)
    with pytest.raises(ValueError, match="Invalid ord 0"):
        L.norm(mx.ones((2, 2)), 0)
    with pytest.raises(ValueError):
        L.norm(m3, axis=(0, 0))
    with pytest.raises(IndexError):
        L.norm(m3, axis=5)
    with pytest.raises(ValueError, match="svd"):
        L.norm(mx.array([[1, 2], [3, 4]]), 2)


# ------------------------------------------------------------------ errors, shapes

ALL_UNARY = ["inv", "pinv", "tri_inv", "cholesky", "cholesky_inv", "qr", "svd", "eig", "eigh", "eigvals",
             "eigvalsh", "lu", "lu_factor", "det", "slogdet"]


def _outcome(fn, *args):
    try:
        r = fn(*args)
        rs = r if isinstance(r, (tuple, list)) else [r]
        return [(tuple(x.shape), dn(x.dtype)) for x in rs]
    except Exception as e:  # noqa: BLE001
        return type(e).__name__


@pytest.mark.parametrize("name", ALL_UNARY)
def test_shapes_dtypes_errors_match_mlx(name, mlx):
    ours, theirs = getattr(L, name), getattr(mlx.linalg, name)
    inputs = [np.ones((3, 5), np.float32), np.ones((5, 3), np.float32), np.ones(2, np.float32),
              np.array([[1, 2], [3, 4]], np.int32), np.array([[1, 2], [3, 4]], np.float16),
              np.array([[2.0, 1], [1, 4]], np.float64), np.array([[2, 1], [1, 4]], np.complex64),
              np.eye(3, dtype=np.float32)[None].repeat(2, 0), np.zeros((0, 3, 3), np.float32)]
    for x in inputs:
        a = mx.array(x)
        m = mlx.array(x)
        o = _outcome(ours, a)
        t = _outcome(lambda y: theirs(y, stream=mlx.cpu), m)
        if isinstance(t, list):
            t = [(s, "bool_" if d == "bool" else d) for s, d in t]
        assert o == t, (name, x.shape, x.dtype, o, t)


def test_singular_and_bad_inputs():
    s = mx.array([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(RuntimeError):
        mx.eval(L.inv(s))
    with pytest.raises(RuntimeError):
        mx.eval(L.solve(s, mx.array([1.0, 2.0])))
    with pytest.raises(RuntimeError):
        mx.eval(L.tri_inv(mx.array([[0.0, 0.0], [1.0, 1.0]])))
    with pytest.raises(RuntimeError):
        mx.eval(L.solve_triangular(mx.array([[0.0, 0.0], [1.0, 1.0]]), mx.array([1.0, 2.0])))
    close(L.det(s), 0.0, 0)
    sg, la = L.slogdet(s)
    assert sg.item() == 0 and la.item() == -np.inf
    p, lo, u = L.lu(s)  # LU of a singular matrix works (zero pivot kept)
    close(np.take(npy(lo), npy(p).astype(int), axis=0) @ npy(u), npy(s), 1e-6)
    with pytest.raises(ValueError, match="square"):
        L.solve(mx.ones((2, 3)), mx.ones((2,)))
    with pytest.raises(ValueError, match="must match"):
        L.solve(mx.eye(2), mx.ones((3,)))
    with pytest.raises(ValueError, match=">= 1 dimensions"):
        L.solve(mx.eye(2), mx.array(1.0))
    with pytest.raises(ValueError, match="float32 or float64"):
        L.solve(mx.array([[2, 1], [1, 3]]), mx.array([1, 2]))
    with pytest.raises(ValueError, match="Complex"):
        L.det(mx.array([[1 + 1j]]))
    for n in ["inv", "tri_inv", "cholesky_inv", "lu", "lu_factor", "det", "eig", "svd", "qr"]:
        r = getattr(L, n)(mx.zeros((0, 0)))
        mx.eval(r)


# ------------------------------------------------------------------ derivatives

def fd_grad(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        g[i] = (f(xp) - f(xm)) / (2 * eps)
    return g


def check_grad(fn, x, tol=1e-6):
    def scalar(v):
        return fn(mx.array(v, dtype=mx.float64)).item()

    g = npy(mx.grad(fn)(mx.array(x, dtype=mx.float64)))
    close(g, fd_grad(scalar, x), tol)
    t = RS.randn(*x.shape)
    _, jv = mx.jvp(fn, [mx.array(x, dtype=mx.float64)], [mx.array(t, dtype=mx.float64)])
    close(npy(jv[0]), np.sum(g * t), tol)


def test_grad_det_slogdet_inv():
    a = RS.randn(4, 4) + 2 * np.eye(4)
    w = RS.randn(4, 4)
    check_grad(lambda x: L.det(x), a)
    check_grad(lambda x: L.slogdet(x)[1], a)
    check_grad(lambda x: L.det(x[None] * mx.array([[[1.0]], [[2.0]]], dtype=mx.float64)).sum(), a)
    check_grad(lambda x: (L.inv(x) * mx.array(w, dtype=mx.float64)).sum(), a)
    # grad of grad of det (through inv's vjp)
    g2 = npy(mx.grad(lambda x: mx.grad(L.det)(x).sum())(mx.array(a, dtype=mx.float64)))
    fd = fd_grad(lambda v: npy(mx.grad(L.det)(mx.array(v, dtype=mx.float64))).sum(), a)
    close(g2, fd, 1e-5)
    close(mx.grad(lambda x: L.slogdet(x)[0])(mx.array(a, dtype=mx.float64)), np.zeros((4, 4)), 0)
    # At singular matrices the gradient of det is the cofactor matrix (as MLX).
    for sing, cof in [(np.array([[1.0, 2], [2, 4]]), np.array([[4.0, -2], [-2, 1]])),
                      (np.diag([1.0, 2.0, 0.0]), np.diag([0.0, 0.0, 2.0])),
                      (np.outer([1.0, 2, 3], [1.0, 0, 1]), np.zeros((3, 3)))]:
        close(mx.grad(L.det)(arr(sing)), cof, 1e-12)
        _, jv = mx.jvp(L.det, [arr(sing)], [arr(np.ones_like(sing))])
        close(jv[0], cof.sum(), 1e-12)
    # log|det| has no gradient there: non-finite values (as MLX), no exception.
    g = npy(mx.grad(lambda x: L.slogdet(x)[1])(arr(np.array([[1.0, 2], [2, 4]]))))
    assert not np.isfinite(g).any()


def test_grad_solves():
    a = RS.randn(4, 4) + 3 * np.eye(4)
    b = RS.randn(4, 2)
    w = RS.randn(4, 2)
    W = mx.array(w, dtype=mx.float64)
    A = mx.array(a, dtype=mx.float64)
    B = mx.array(b, dtype=mx.float64)
    check_grad(lambda x: (L.solve(x, B) * W).sum(), a)
    check_grad(lambda x: (L.solve(A, x) * W).sum(), b)
    check_grad(lambda x: (L.solve(A, x[:, 0]) * W[:, 0]).sum(), b)
    for upper in [False, True]:
        check_grad(lambda x: (L.solve_triangular(A, x, upper=upper) * W).sum(), b)
        check_grad(lambda x: (L.solve_triangular(x, B, upper=upper) * W).sum(), a)


def test_grad_norm_cross():
    x = RS.randn(3, 4)
    check_grad(lambda v: L.norm(v), x)
    check_grad(lambda v: L.norm(v, 1), x)
    check_grad(lambda v: L.norm(v, 3, axis=0).sum(), x)
    check_grad(lambda v: L.norm(v, float("inf"), axis=(1, 0)), x)
    y = mx.array(RS.randn(4, 3), dtype=mx.float64)
    check_grad(lambda v: (L.cross(v, y) * y).sum(), RS.randn(4, 3))


def test_no_vjp_where_mlx_has_none():
    a = mx.array(spd(3), dtype=mx.float64)
    for f in [lambda x: L.cholesky(x).sum(), lambda x: L.qr(x)[1].sum(), lambda x: L.svd(x)[1].sum(),
              lambda x: L.eigh(x)[0].sum(), lambda x: L.lu(x)[2].sum()]:
        with pytest.raises(ValueError, match="vjp"):
            mx.grad(f)(a)


# ------------------------------------------------------------------ multivariate_normal

def test_multivariate_normal():
    cov = np.array([[2.0, 0.5], [0.5, 1.0]])
    mean = np.array([1.0, -1.0])
    k = mx.random.key(3)
    x = mx.random.multivariate_normal(mx.array(mean), mx.array(cov), shape=[4], key=k)
    assert x.shape == (4, 2) and x.dtype == mx.float32
    z = npy(mx.random.normal([4, 2], key=k))
    w, v = np.linalg.eigh(cov)
    root = (v * np.sqrt(w)) @ v.T  # the symmetric square root (MLX's choice)
    close(x, mean + z @ root.T, 1e-5)
    big = npy(mx.random.multivariate_normal(mx.array(mean), mx.array(cov), shape=[20000], key=mx.random.key(1)))
    close(np.cov(big.T), cov, 0.05)
    close(big.mean(0), mean, 0.05)
    xb = mx.random.multivariate_normal(mx.zeros((3, 2)), mx.array(cov), key=k)
    assert xb.shape == (3, 2)
    assert mx.random.multivariate_normal(mx.array(mean), mx.array(cov), shape=[3, 3], key=k).shape == (3, 3, 2)
    with pytest.raises(ValueError, match="float32"):
        mx.random.multivariate_normal(mx.array(mean), mx.array(cov), dtype=mx.float64, key=k)
    with pytest.raises(ValueError, match="compatible"):
        mx.random.multivariate_normal(mx.zeros(3), mx.array(cov), key=k)
    with pytest.raises(ValueError, match="equal"):
        mx.random.multivariate_normal(mx.array(mean), mx.ones((2, 3)), key=k)
    with pytest.raises(ValueError, match="at least one"):
        mx.random.multivariate_normal(mx.array(1.0), mx.array(cov), key=k)
    with pytest.raises(ValueError, match="at least two"):
        mx.random.multivariate_normal(mx.array(mean), mx.ones(2), key=k)


@pytest.mark.parametrize("scale", [1e30, 1e-30])
def test_extreme_scales_float32(scale):
    """Sums of squares inside the kernels must not overflow or underflow."""
    a = (RS.randn(5, 5) * scale).astype(np.float32)
    a64 = a.astype(np.float64)
    np.testing.assert_allclose(npy(L.svd(mx.array(a), compute_uv=False)), np.linalg.svd(a64, compute_uv=False), rtol=1e-4)
    s = (a64 @ a64.T / scale).astype(np.float32)
    np.testing.assert_allclose(npy(L.eigvalsh(mx.array(s))), np.linalg.eigvalsh(s.astype(np.float64)), rtol=1e-3,
                               atol=1e-5 * np.abs(s).max())
    w = npy(L.eigvals(mx.array(a)))
    np.testing.assert_allclose(np.sort(np.abs(w)), np.sort(np.abs(np.linalg.eigvals(a64))), rtol=1e-4)
    q, r = map(npy, L.qr(mx.array(a)))
    np.testing.assert_allclose(q @ r / scale, a64 / scale, atol=1e-5)


def test_many_small_matrices_converge():
    """Large batches of tiny float32 matrices: every QR/Jacobi iteration converges."""
    rs = np.random.RandomState(0)
    a = rs.randn(20000, 3, 3).astype(np.float32) + 3 * np.eye(3, dtype=np.float32)
    a[0] = [[4.5807524, -0.62510246, 0.08395644], [-1.3108119, 3.8444495, -0.943622],
            [0.2464914, 0.15014292, 2.0833821]]  # once stalled (underflowing bulge)
    w, v = map(npy, L.eig(mx.array(a)))
    assert np.abs(np.einsum("bij,bjk->bik", a, v) - v * w[:, None, :]).max() < 1e-4
    u, s, vt = map(npy, L.svd(mx.array(a)))
    assert np.abs(np.einsum("bij,bj,bjk->bik", u, s, vt) - a).max() < 1e-4
    sym = np.einsum("bij,bkj->bik", a, a)
    w, v = map(npy, L.eigh(mx.array(sym)))
    assert np.abs(np.einsum("bij,bjk->bik", sym, v) - v * w[:, None, :]).max() < 1e-3


SPECIAL = {
    "ones": lambda n: np.ones((n, n)),  # rank 1: trailing columns are rounding noise
    "cyclic": lambda n: np.roll(np.eye(n), 1, axis=0),  # needs exceptional shifts
    "jordan": lambda n: 2 * np.eye(n) + np.eye(n, k=1),  # defective
    "graded": lambda n: np.diag(10.0 ** -np.arange(n)) @ np.random.RandomState(n).randn(n, n),
    "hilbert": lambda n: 1 / (np.arange(n)[:, None] + np.arange(n) + 1),
    "zeros": lambda n: np.zeros((n, n)),
}


@pytest.mark.parametrize("kind", sorted(SPECIAL))
@pytest.mark.parametrize("dt,ndt,tol", DTS)
def test_special_matrices(kind, dt, ndt, tol):
    n = 33
    a = SPECIAL[kind](n)
    sc = max(1.0, np.abs(a).max())
    tol = max(tol, 1e-12) * n
    q, r = map(npy, L.qr(arr(a, dt)))
    close(q @ r, a, tol)
    close(q.T @ q, np.eye(n), tol)
    u, s, vt = map(npy, L.svd(arr(a, dt)))
    close((u * s) @ vt, a, tol)
    close(u.T @ u, np.eye(n), tol)
    close(vt @ vt.T, np.eye(n), tol)
    close(L.svd(arr(a, dt), compute_uv=False), np.linalg.svd(a, compute_uv=False), tol)
    sym = a + a.T
    w, v = map(npy, L.eigh(arr(sym, dt)))
    close(w, np.linalg.eigvalsh(sym), tol)
    close(v.T @ v, np.eye(n), tol)
    w, v = map(npy, L.eig(arr(a, dt)))
    assert np.abs(a @ v - v * w).max() <= max(tol, 2e-5 * n) * sc


@pytest.mark.parametrize("shape", [(0, 0), (0, 3), (3, 0), (2, 0, 4)])
def test_empty_matrices_match_mlx(shape, mlx):
    x = np.zeros(shape, np.float32)
    for name in ["qr", "svd", "lu", "lu_factor", "pinv"]:
        if name in ("lu", "lu_factor"):
            continue  # MLX crashes on empty LU (checked below without it)
        ours = getattr(L, name)(mx.array(x))
        ref = getattr(mlx.linalg, name)(mlx.array(x), stream=mlx.cpu)
        ours = ours if isinstance(ours, (tuple, list)) else [ours]
        ref = ref if isinstance(ref, (tuple, list)) else [ref]
        for o, r in zip(ours, ref):
            assert o.shape == r.shape and dn(o.dtype) == dn(r.dtype), (name, o.shape, r.shape)
            np.testing.assert_array_equal(npy(o), np.array(r))

    p, lo, u = L.lu(mx.array(x))
    m, n = shape[-2:]
    k = min(m, n)
    assert (p.shape, lo.shape, u.shape) == (shape[:-2] + (m,), shape[:-2] + (m, k), shape[:-2] + (k, n))
    np.testing.assert_array_equal(npy(p), np.broadcast_to(np.arange(m), shape[:-2] + (m,)))
    lu, piv = L.lu_factor(mx.array(x))
    assert lu.shape == shape and piv.shape == shape[:-2] + (k,)


def test_module_import():
    import importlib

    mod = importlib.import_module("oxmlx.core.linalg")
    assert mod is mx.linalg and mod.__name__ == "oxmlx.core.linalg"
    from oxmlx.core.linalg import inv

    close(inv(mx.array([[2.0, 0], [0, 4]])), [[0.5, 0], [0, 0.25]], 0)


@given(st.integers(0, 2), st.integers(1, 7), st.integers(1, 7), st.sampled_from(["float32", "float64"]),
       st.integers(0, 2**31 - 1))
def test_identities_random_shapes(nbatch, m, n, dname_, seed):
    rs = np.random.RandomState(seed)
    batch = tuple(rs.randint(1, 3, size=nbatch))
    dt = getattr(mx, dname_)
    tol = 5e-4 if dname_ == "float32" else 1e-10
    a = rs.randn(*batch, m, n)
    k = min(m, n)
    q, r = map(npy, L.qr(arr(a, dt)))
    close(q @ r, a, tol)
    u, s, vt = map(npy, L.svd(arr(a, dt)))
    close((u[..., :k] * s[..., None, :]) @ vt[..., :k, :], a, tol)
    p, lo, up = map(npy, L.lu(arr(a, dt)))
    close(np.take_along_axis(lo, p[..., None].astype(np.int64), axis=-2) @ up, a, tol)
    sq = rs.randn(*batch, n, n) + 3 * np.eye(n)
    close(L.inv(arr(sq, dt)), np.linalg.inv(sq), tol * 10)
    close(L.det(arr(sq, dt)), np.linalg.det(sq), tol * 10)
    sym = sq + np.swapaxes(sq, -1, -2)
    w, v = map(npy, L.eigh(arr(sym, dt)))
    close(sym @ v, v * w[..., None, :], tol * 10)
    w, v = map(npy, L.eig(arr(sq, dt)))
    close(sq @ v, v * w[..., None, :], max(tol, 1e-5) * 10)


@pytest.mark.parametrize("shape", [(4, 4), (2, 3, 3), (6, 6)])
def test_values_match_mlx(shape, mlx):
    """Outputs whose convention is fixed (no sign or order freedom) equal MLX's."""
    rs = np.random.RandomState(7)
    a = (rs.randn(*shape) + 2 * np.eye(shape[-1])).astype(np.float32)
    spd_a = (a @ np.swapaxes(a, -1, -2) + np.eye(shape[-1])).astype(np.float32)
    b = rs.randn(*shape[:-1], 2).astype(np.float32)
    A, M = mx.array(a), mlx.array(a)
    S, MS = mx.array(spd_a), mlx.array(spd_a)
    cpu = {"stream": mlx.cpu}
    pairs = [
        (L.inv(A), mlx.linalg.inv(M, **cpu)),
        (L.pinv(A), mlx.linalg.pinv(M, **cpu)),
        (L.tri_inv(A, upper=True), mlx.linalg.tri_inv(M, upper=True, **cpu)),
        (L.cholesky(S), mlx.linalg.cholesky(MS, **cpu)),
        (L.cholesky_inv(L.cholesky(S)), mlx.linalg.cholesky_inv(mlx.linalg.cholesky(MS, **cpu), **cpu)),
        (L.eigvalsh(S), mlx.linalg.eigvalsh(MS, **cpu)),
        (L.svd(A, compute_uv=False), mlx.linalg.svd(M, compute_uv=False, **cpu)),
        (L.det(A), mlx.linalg.det(M, **cpu)),
        (L.slogdet(A)[1], mlx.linalg.slogdet(M, **cpu)[1]),
        (L.solve(A, mx.array(b)), mlx.linalg.solve(M, mlx.array(b), **cpu)),
        (L.solve_triangular(A, mx.array(b), upper=True), mlx.linalg.solve_triangular(M, mlx.array(b), upper=True, **cpu)),
        (L.norm(A, 2, axis=(-2, -1)), mlx.linalg.norm(M, 2, axis=(-2, -1), **cpu)),
        (L.norm(A, "nuc", axis=(-1, -2)), mlx.linalg.norm(M, "nuc", axis=(-1, -2), **cpu)),
    ]
    pairs += list(zip(L.qr(A), mlx.linalg.qr(M, **cpu)))
    pairs += list(zip(L.lu(A), mlx.linalg.lu(M, **cpu)))
    pairs += list(zip(L.lu_factor(A), mlx.linalg.lu_factor(M, **cpu)))
    for ours, ref in pairs:
        assert ours.shape == ref.shape and dn(ours.dtype) == dn(ref.dtype)
        close(ours, np.array(ref), 2e-4)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nonfinite_inputs_give_nan_not_errors(bad):
    a = np.eye(6)
    a[4, 1] = bad  # lower triangle
    x = mx.array(a)
    for f in [L.svd, L.eig, L.eigh]:
        for r in f(x):
            assert np.isnan(npy(r)).all()
    assert np.isnan(npy(L.svd(x, compute_uv=False))).all()
    assert np.isnan(npy(L.eigvals(x))).all()
    close(L.eigvalsh(mx.array(a.T)), np.ones(6), 0)  # the upper triangle is not read
    for f in [L.inv, L.qr, L.lu, L.det, L.cholesky]:
        r = f(x)
        mx.eval(r)
