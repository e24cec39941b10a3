"""einsum against numpy.einsum (many subscripts: matmul-like, batch, outer,
traces and diagonals, ellipses, broadcasting, implicit output) and
einsum_path against MLX's (path, report)."""

import numpy as np
import pytest

import oxmlx.core as mx

CASES = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("ij,jk", [(3, 4), (4, 5)]),
    ("ij,kj->ik", [(3, 4), (5, 4)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("bij,bjk->kib", [(2, 3, 4), (2, 4, 5)]),
    ("i,i->", [(5,), (5,)]),
    ("i,i->i", [(5,), (5,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("i,j", [(3,), (4,)]),
    ("ij->ji", [(3, 4)]),
    ("ij", [(3, 4)]),
    ("ji", [(3, 4)]),
    ("ij->", [(3, 4)]),
    ("ij->j", [(3, 4)]),
    ("ii", [(4, 4)]),
    ("ii->i", [(4, 4)]),
    ("iij->j", [(3, 3, 2)]),
    ("ijij->ij", [(2, 3, 2, 3)]),
    ("iji->ij", [(3, 2, 3)]),
    ("ii,jj->ij", [(3, 3), (2, 2)]),
    ("ij,ij->ij", [(3, 4), (3, 4)]),
    ("ij,ij->", [(3, 4), (3, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("ij,jk,kl", [(2, 3), (3, 4), (4, 5)]),
    ("ab,bc,cd,de->ae", [(2, 3), (3, 4), (4, 2), (2, 3)]),
    ("ab,cd,bc->ad", [(2, 3), (4, 5), (3, 4)]),
    ("i,j,k->ijk", [(2,), (3,), (4,)]),
    ("ijk,jkl,lm->im", [(2, 3, 4), (3, 4, 5), (5, 2)]),
    ("ea,fb,abcd,gc,hd->efgh", [(2, 3), (2, 3), (3, 3, 4, 2), (3, 4), (2, 2)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)]),
    ("...ij,...jk->...ik", [(5, 2, 3, 4), (2, 4, 5)]),
    ("...ij,...jk", [(2, 3, 4), (2, 4, 5)]),
    ("i...->...", [(3, 2, 4)]),
    ("...ii->...i", [(2, 3, 3)]),
    ("a...,a...->...", [(3, 2), (3, 2)]),
    ("ij,j...->i...", [(3, 4), (4,)]),
    ("ij,jk->ik", [(3, 1), (4, 5)]),  # broadcast contracted axis
    ("bij,bjk->bik", [(1, 3, 4), (6, 4, 5)]),  # broadcast batch axis
    ("i,->i", [(3,), ()]),
    (",->", [(), ()]),
    ("ij,jk->ik", [(0, 4), (4, 5)]),
    ("ij,jk->ik", [(3, 0), (0, 5)]),
    ("Ab,bC->AC", [(2, 3), (3, 4)]),
    (" ij , jk -> ik ", [(3, 4), (4, 5)]),
]


@pytest.mark.parametrize("subs,shapes", CASES)
def test_einsum_matches_numpy(subs, shapes):
    rng = np.random.default_rng(abs(hash(subs)) % 2**32)
    xs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    got = mx.einsum(subs, *[mx.array(x) for x in xs])
    ref = np.einsum(subs, *[x.astype(np.float64) for x in xs])
    assert got.shape == ref.shape
    assert got.dtype == mx.float32
    np.testing.assert_allclose(np.array(got), ref, rtol=1e-5, atol=1e-5)


def test_einsum_dtypes_and_non_contiguous():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 6)).astype(np.float32)
    b = rng.standard_normal((4, 5)).astype(np.float32)
    c = rng.standard_normal((6, 5)).astype(np.float32)
    at = mx.array(a).T  # (6, 4) strided
    got = mx.einsum("ji,jk->ik", mx.array(a)[:, ::2], mx.array(b))
    np.testing.assert_allclose(np.array(got), np.einsum("ji,jk->ik", a[:, ::2], b), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.array(mx.einsum("ij->ji", at)), a, rtol=0)
    h = mx.einsum("ij,jk->ik", mx.array(a, dtype=mx.float16), mx.array(c, dtype=mx.float16))
    assert h.dtype == mx.float16
    np.testing.assert_allclose(np.array(h.astype(mx.float32)), a @ c, rtol=2e-2, atol=2e-2)
    m = mx.einsum("ij,jk->ik", mx.array(a), mx.array(c, dtype=mx.float16))
    assert m.dtype == mx.float32
    d = mx.einsum("ij,jk->ik", mx.array(a, dtype=mx.float64), mx.array(c, dtype=mx.float64))
    assert d.dtype == mx.float64
    np.testing.assert_allclose(np.array(d), a.astype(np.float64) @ c.astype(np.float64), rtol=1e-12)
    ints = mx.einsum("i,i->i", mx.array([1, 2, 3]), mx.array([4, 5, 6]))  # no contraction
    np.testing.assert_array_equal(np.array(ints), [4, 10, 18])
    np.testing.assert_array_equal(np.array(mx.einsum("ii", mx.array([[1, 2], [3, 4]]))), 5)


def test_einsum_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((3, 4))
    b = rng.standard_normal((4, 2))
    w = rng.standard_normal((3, 2))
    f64 = lambda v: mx.array(v, dtype=mx.float64)
    loss = lambda x, y: mx.sum(mx.einsum("ij,jk->ik", x, y) * f64(w))
    ga, gb = mx.grad(loss, argnums=(0, 1))(f64(a), f64(b))
    np.testing.assert_allclose(np.array(ga), w @ b.T, rtol=1e-10)
    np.testing.assert_allclose(np.array(gb), a.T @ w, rtol=1e-10)
    gt = mx.grad(lambda x: mx.einsum("ii", x))(f64(rng.standard_normal((3, 3))))
    np.testing.assert_allclose(np.array(gt), np.eye(3))


@pytest.mark.parametrize("subs,shapes", [c for c in CASES if c[1] and all(len(s) for s in c[1])])
def test_einsum_path_matches_mlx(mlx, subs, shapes):
    xs = [np.ones(s, np.float32) for s in shapes]
    got = mx.einsum_path(subs, *[mx.array(x) for x in xs])
    exp = mlx.einsum_path(subs, *[mlx.array(x) for x in xs])
    assert [tuple(p) for p in got[0]] == [tuple(p) for p in exp[0]]
    assert got[1] == exp[1]


def test_einsum_path_format():
    path, info = mx.einsum_path("ij,jk,kl->il", mx.ones((2, 3)), mx.ones((3, 4)), mx.ones((4, 5)))
    assert isinstance(path, list) and all(isinstance(p, tuple) for p in path)
    assert path == [(1, 2), (0, 1)]
    assert "Naive FLOP count:  360" in info and "Optimized FLOP count:  180" in info


@pytest.mark.parametrize("subs,shapes,match", [
    ("ij,jk->ik", [(3, 4)], "Number of operands"),
    ("ij->ik", [(3, 4)], "does not appear"),
    ("ij->ii", [(3, 3)], "Repeat indices"),
    ("i1", [(3, 3)], "letters"),
    ("......", [(3, 3)], "ellipsis"),
    ("ijk", [(3, 3)], "Invalid number of subscripts"),
    ("ii", [(3, 4)], "repeated subscripts"),
    ("ij,jk->ik", [(3, 4), (5, 6)], "broadcast"),
    ("ij...k", [(3,)], "insufficient"),
])
def test_einsum_errors(subs, shapes, match):
    with pytest.raises(ValueError, match=match):
        mx.einsum(subs, *[mx.ones(s) for s in shapes])
    with pytest.raises(ValueError):
        mx.einsum_path(subs, *[mx.ones(s) for s in shapes])


def test_einsum_needs_operands():
    with pytest.raises(ValueError, match="At least one operand"):
        mx.einsum("ij")


from hypothesis import given, strategies as st  # noqa: E402


@st.composite
def einsum_problems(draw):
    letters = "abcde"[:draw(st.integers(1, 5))]
    sizes = {c: draw(st.integers(1, 4)) for c in letters}
    n_ops = draw(st.integers(1, 4))
    terms = []
    for _ in range(n_ops):
        t = draw(st.lists(st.sampled_from(letters), min_size=0, max_size=4))
        terms.append("".join(t))
    used = sorted(set("".join(terms)))
    if draw(st.booleans()):
        out = "".join(draw(st.permutations(used))[:draw(st.integers(0, len(used)))])
        subs = ",".join(terms) + "->" + out
    else:
        subs = ",".join(terms)
    shapes = [tuple(sizes[c] for c in t) for t in terms]
    return subs, shapes


@given(problem=einsum_problems(), seed=st.integers(0, 2**16))
def test_einsum_random_subscripts_match_numpy(problem, seed):
    subs, shapes = problem
    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    ref = np.einsum(subs, *[x.astype(np.float64) for x in xs])
    got = mx.einsum(subs, *[mx.array(x) for x in xs])
    assert got.shape == ref.shape, subs
    np.testing.assert_allclose(np.array(got), ref, rtol=1e-4, atol=1e-4, err_msg=subs)


@given(problem=einsum_problems())
def test_einsum_path_random_matches_mlx(problem):
    mlx = pytest.importorskip("mlx.core")
    subs, shapes = problem
    got = mx.einsum_path(subs, *[mx.ones(s) for s in shapes])
    exp = mlx.einsum_path(subs, *[mlx.ones(s) for s in shapes])
    assert [tuple(p) for p in got[0]] == [tuple(p) for p in exp[0]], subs
    assert got[1] == exp[1], subs
