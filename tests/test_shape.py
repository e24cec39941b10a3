"""Shape family against numpy: reshape (views and copies), flatten, transpose,
swapaxes, moveaxis, squeeze, expand_dims, broadcast_to/arrays/shapes,
as_strided, contiguous; hypothesis properties for broadcasting and shape
inference; errors and their types."""

import re

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import oxmlx.core as mx
from conftest import assert_equal

X = np.arange(24, dtype=np.int32).reshape(2, 3, 4)


def A():
    return mx.array(X)


# ------------------------------------------------------------------ reshape

@pytest.mark.parametrize("shape", [(-1,), (4, -1), (3, -1, 2), (24,), (2, 12), (1, 24, 1),
                                   (4, 3, 2), (2, 3, 4)])
def test_reshape(shape):
    assert_equal(A().reshape(shape), X.reshape(shape))
    assert_equal(A().reshape(*shape), X.reshape(shape))
    assert_equal(mx.reshape(A(), shape), X.reshape(shape))


@pytest.mark.parametrize("make", [
    lambda v: v.transpose(1, 0, 2),
    lambda v: v.transpose(2, 1, 0),
    lambda v: v[:, ::-1],
    lambda v: v[:, :, ::2],
    lambda v: v[1:, 1:],
], ids=["t102", "t210", "reversed", "stepped", "sliced"])
@pytest.mark.parametrize("shape", [(-1,), (2, -1), (-1, 4)])
def test_reshape_of_views_that_need_a_copy(make, shape):
    v = make(X)
    want = v.reshape(shape)  # numpy: row-major order of the view
    got = make(A()).reshape(shape)
    assert_equal(got, want)
    # the source is unchanged and still reads correctly
    assert_equal(make(A()), v)


def test_reshape_empty_and_scalars():
    assert mx.zeros((0, 3)).reshape(-1).shape == (0,)
    assert mx.zeros((0, 3)).reshape(3, 0).shape == (3, 0)
    assert mx.array(5).reshape(1, 1).tolist() == [[5]]
    assert mx.array([5]).reshape(()).shape == ()


@pytest.mark.parametrize("shape", [(5, 5), (7, -1), (-1, -1), (-2, 12), (0, -1), (25,)])
def test_reshape_errors(shape):
    with pytest.raises(ValueError, match="reshape"):
        A().reshape(shape)


def test_flatten():
    assert_equal(mx.flatten(A()), X.reshape(-1))
    assert_equal(mx.flatten(A(), 1), X.reshape(2, 12))
    assert_equal(mx.flatten(A(), 0, 1), X.reshape(6, 4))
    assert_equal(mx.flatten(A(), -2, -1), X.reshape(2, 12))
    assert_equal(A().T.flatten(), X.T.reshape(-1))
    assert mx.flatten(mx.array(3)).tolist() == [3]
    assert_equal(A().flatten(start_axis=1, end_axis=1), X)
    for bad in ((2, 1), (3, 3), (-1, 0)):
        with pytest.raises(ValueError):
            mx.flatten(A(), *bad)


def test_flatten_errors_match_mlx(mlx):
    for args in ((2, 1), (3,), (3, 5), (0, -5)):
        with pytest.raises(Exception) as ours:
            mx.flatten(A(), *args)
        with pytest.raises(Exception) as theirs:
            mlx.flatten(mlx.array(X), *args)
        assert ours.type is theirs.type, args


# ------------------------------------------------------- transpose & friends

@pytest.mark.parametrize("axes", [None, (0, 1, 2), (2, 0, 1), (1, 2, 0), (-1, 0, 1), (2, 1, 0)])
def test_transpose(axes):
    want = np.transpose(X, axes)
    assert_equal(mx.transpose(A(), axes), want)
    assert_equal(mx.permute_dims(A(), axes), want)
    assert_equal(A().transpose(*(axes or ())), want)
    if axes is not None:
        assert_equal(A().transpose(axes), want)
    # transposing a transposed view composes
    assert_equal(mx.transpose(A().T, axes), np.transpose(X.T, axes))


def test_transpose_errors():
    with pytest.raises(ValueError):
        mx.transpose(A(), (0, 1))
    with pytest.raises(ValueError):
        mx.transpose(A(), (0, 0, 1))
    with pytest.raises(IndexError, match="3"):
        mx.transpose(A(), (0, 1, 3))


def test_swapaxes_and_moveaxis():
    for a1, a2 in [(0, 2), (1, -1), (-3, 1), (2, 2)]:
        assert_equal(mx.swapaxes(A(), a1, a2), np.swapaxes(X, a1, a2))
        assert_equal(A().swapaxes(a1, a2), np.swapaxes(X, a1, a2))
    for s, d in [(0, -1), (-1, 0), (1, 2), (2, 0), (1, 1)]:
        assert_equal(mx.moveaxis(A(), s, d), np.moveaxis(X, s, d))
        assert_equal(A().moveaxis(s, d), np.moveaxis(X, s, d))
    for bad in [(0, 3), (-4, 0)]:
        with pytest.raises(IndexError):
            mx.swapaxes(A(), *bad)
        with pytest.raises(IndexError):
            mx.moveaxis(A(), *bad)


def test_squeeze_and_expand_dims():
    z = np.zeros((1, 3, 1), np.float32)
    z[0, :, 0] = [1, 2, 3]
    a = mx.array(z)
    for axis in [None, 0, 2, -1, (0, 2), (-1, 0)]:
        assert_equal(mx.squeeze(a, axis), np.squeeze(z, axis))
        assert_equal(a.squeeze(axis), np.squeeze(z, axis))
    with pytest.raises(ValueError):
        mx.squeeze(a, 1)  # size 3 cannot be squeezed
    with pytest.raises(IndexError, match="3"):
        mx.squeeze(a, 3)
    for axis in [0, -1, 3, (0, 2), (0, -1), (1, 3, 4)]:
        assert_equal(mx.expand_dims(A(), axis), np.expand_dims(X, axis))
        assert_equal(A().expand_dims(axis), np.expand_dims(X, axis))
    with pytest.raises(IndexError, match="4"):
        mx.expand_dims(A(), 4)
    with pytest.raises(IndexError, match="-5"):
        mx.expand_dims(A(), -5)
    with pytest.raises(ValueError):
        mx.expand_dims(A(), (0, 0))
    assert mx.expand_dims(mx.array(3), 0).tolist() == [3]


def test_shape_error_types_match_mlx(mlx):
    cases = [
        ("squeeze", lambda m, a: m.squeeze(a, 1)), ("squeeze3", lambda m, a: m.squeeze(a, 3)),
        ("expand4", lambda m, a: m.expand_dims(a, 4)),
        ("expand_dup", lambda m, a: m.expand_dims(a, (0, 0))),
        ("transpose_n", lambda m, a: m.transpose(a, (0, 1))),
        ("transpose_dup", lambda m, a: m.transpose(a, (0, 0, 1))),
        ("transpose_bad", lambda m, a: m.transpose(a, (0, 1, 3))),
        ("swap", lambda m, a: m.swapaxes(a, 0, 3)), ("move", lambda m, a: m.moveaxis(a, 0, 3)),
        ("reshape", lambda m, a: m.reshape(a, (5, 5))),
        ("broadcast_to", lambda m, a: m.broadcast_to(a, (3, 3))),
    ]
    for name, f in cases:
        with pytest.raises(Exception) as ours:
            f(mx, A())
        with pytest.raises(Exception) as theirs:
            f(mlx, mlx.array(X))
        assert ours.type is theirs.type, name


# -------------------------------------------------------------- broadcasting

def test_broadcast_to_and_arrays():
    v = mx.array([1, 2, 3])
    assert_equal(mx.broadcast_to(v, (2, 3)), np.broadcast_to([1, 2, 3], (2, 3)))
    assert_equal(mx.broadcast_to(mx.array(7), (2, 2)), np.full((2, 2), 7))
    assert mx.broadcast_to(mx.zeros((2, 1)), (2, 0)).shape == (2, 0)
    assert_equal(mx.broadcast_to(A()[:, :1], (2, 3, 4)), np.broadcast_to(X[:, :1], (2, 3, 4)))
    assert_equal(mx.broadcast_to(A().T[:1], (5, 3, 2)), np.broadcast_to(X.T[:1], (5, 3, 2)))
    with pytest.raises(ValueError, match=r"\(2, ?3\).*\(3,?\)"):
        mx.broadcast_to(mx.zeros((2, 3)), (3,))
    with pytest.raises(ValueError):
        mx.broadcast_to(v, (3, 2))
    out = mx.broadcast_arrays(mx.zeros((2, 1)), mx.array([1, 2, 3]), mx.ones((4, 1, 1)))
    assert isinstance(out, list) and len(out) == 3
    assert [o.shape for o in out] == [(4, 2, 3)] * 3
    assert out[1].tolist() == np.broadcast_to([1, 2, 3], (4, 2, 3)).tolist()
    with pytest.raises(ValueError):
        mx.broadcast_arrays(mx.zeros((2,)), mx.zeros((3,)))
    assert mx.broadcast_shapes((2, 1), (3,), (4, 1, 1)) == (4, 2, 3)
    with pytest.raises(ValueError):
        mx.broadcast_shapes((2,), (3,))


shape_st = st.lists(st.integers(0, 4), min_size=0, max_size=4)


@given(shape_st, st.data())
def test_broadcasting_compatible_shapes_match_numpy(shape, data):
    k = data.draw(st.integers(0, len(shape)))
    other = [1 if data.draw(st.booleans()) else d for d in shape[k:]]
    if data.draw(st.booleans()):
        shape, other = other, shape
    want = np.broadcast_shapes(tuple(shape), tuple(other))
    assert mx.broadcast_shapes(tuple(shape), tuple(other)) == want
    x = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    y = np.arange(int(np.prod(other)), dtype=np.float32).reshape(other) * 2 - 1
    got = mx.array(x) * mx.array(y) + mx.array(y)
    assert got.shape == want
    assert_equal(got, x * y + y)
    assert mx.broadcast_to(mx.array(x), want).shape == want


@given(st.lists(st.integers(2, 5), min_size=1, max_size=4), st.data())
def test_broadcasting_incompatible_shapes_raise(shape, data):
    i = data.draw(st.integers(0, len(shape) - 1))
    other = list(shape)
    other[i] += data.draw(st.integers(1, 3))
    other = other[data.draw(st.integers(0, i)):]  # drop some leading dims
    with pytest.raises(ValueError) as e:
        mx.ones(tuple(shape)) + mx.ones(tuple(other))
    text = re.sub(r"\s", "", str(e.value))
    for s in (shape, other):
        named = ",".join(map(str, s))
        assert f"({named})" in text or f"({named},)" in text, (str(e.value), s)


# ---------------------------------------------------- hypothesis shape inference

@given(st.lists(st.integers(1, 4), min_size=1, max_size=4), st.data())
def test_shape_inference_matches_numpy(shape, data):
    x = np.arange(int(np.prod(shape)), dtype=np.int32).reshape(shape)
    a = mx.array(x)
    nd = len(shape)
    # reshape with one -1
    flat = int(np.prod(shape))
    divisors = [d for d in range(1, flat + 1) if flat % d == 0]
    d = data.draw(st.sampled_from(divisors))
    assert_equal(a.reshape(d, -1), x.reshape(d, -1))
    assert_equal(a.T.reshape(-1, d), x.T.reshape(-1, d))
    # transpose
    perm = data.draw(st.permutations(range(nd)))
    assert_equal(mx.transpose(a, perm), np.transpose(x, perm))
    # squeeze all / expand_dims
    assert_equal(mx.squeeze(a), np.squeeze(x))
    ax = data.draw(st.integers(-nd - 1, nd))
    assert_equal(mx.expand_dims(a, ax), np.expand_dims(x, ax))
    # slicing with random steps (also negative)
    idx = []
    for n in shape:
        start = data.draw(st.one_of(st.none(), st.integers(-n - 2, n + 2)))
        stop = data.draw(st.one_of(st.none(), st.integers(-n - 2, n + 2)))
        step = data.draw(st.one_of(st.none(), st.integers(-3, 3).filter(lambda s: s != 0)))
        idx.append(slice(start, stop, step))
    idx = tuple(idx[:data.draw(st.integers(1, nd))])
    assert_equal(a[idx], x[idx])
    assert_equal(a[idx].T, x[idx].T)
    # flatten a range
    s0 = data.draw(st.integers(0, nd - 1))
    s1 = data.draw(st.integers(s0, nd - 1))
    assert_equal(mx.flatten(a, s0, s1), x.reshape(shape[:s0] + [-1] + shape[s1 + 1:]))


@given(st.lists(st.integers(1, 4), min_size=2, max_size=4), st.data())
def test_chained_views_match_numpy(shape, data):
    # Views of views: transpose, slice, reshape and broadcast composed.
    x = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    a = mx.array(x)
    perm = data.draw(st.permutations(range(len(shape))))
    xv, av = np.transpose(x, perm), mx.transpose(a, perm)
    xv, av = xv[::-1], av[::-1]
    xv, av = xv[..., ::2], av[..., ::2]
    assume(xv.size > 0)
    xv, av = xv.reshape(-1), av.reshape(-1)
    xv, av = np.broadcast_to(xv, (2,) + xv.shape), mx.broadcast_to(av, (2,) + tuple(xv.shape))
    assert_equal(av, xv)
    assert_equal(av + 1, xv + 1)


# --------------------------------------------------------- strided views

def test_as_strided():
    base = mx.arange(10)
    assert mx.as_strided(base, (3, 3), (1, 1)).tolist() == [[0, 1, 2], [1, 2, 3], [2, 3, 4]]
    assert mx.as_strided(base, (2, 2), (3, 1), 2).tolist() == [[2, 3], [5, 6]]
    assert mx.as_strided(base, (4,), (0,), 7).tolist() == [7, 7, 7, 7]
    want = np.lib.stride_tricks.as_strided(np.arange(10, dtype=np.int32), (4, 3), (8, 4))
    assert mx.as_strided(base, (4, 3), (2, 1)).tolist() == want.tolist()
    assert mx.as_strided(A()).tolist() == X.tolist()
    # on a non-contiguous input the strides address its row-major copy (MLX)
    t = mx.as_strided(A().T, (4,), (1,))
    assert t.tolist() == X.T.reshape(-1)[:4].tolist()


def test_as_strided_matches_mlx(mlx):
    for args in [((3, 3), (1, 1), 0), ((2, 2), (3, 1), 2), ((4, 2), (2, 0), 1)]:
        assert mx.as_strided(mx.arange(10), *args).tolist() == \
            mlx.as_strided(mlx.arange(10), *args).tolist()
    assert mx.as_strided(mx.array(X).T, (4,), (1,)).tolist() == \
        mlx.as_strided(mlx.array(X).T, (4,), (1,)).tolist()


def test_contiguous():
    t = A().T
    c = mx.contiguous(t)
    assert c.shape == (4, 3, 2) and c.tolist() == X.T.tolist()
    assert np.asarray(c).flags["C_CONTIGUOUS"]
    assert not np.asarray(t).flags["C_CONTIGUOUS"]
    s = mx.contiguous(A()[:, ::-1, ::2])
    assert np.asarray(s).flags["C_CONTIGUOUS"]
    assert s.tolist() == X[:, ::-1, ::2].tolist()
    assert mx.contiguous(A()).tolist() == X.tolist()


def test_views_share_the_source_buffer():
    # host memory (the CPU stream; numpy copies GPU arrays out)
    with mx.stream(mx.cpu):
        a = mx.arange(12, dtype=mx.float32).reshape(3, 4)
        base = np.asarray(a)
        for v in (a.T, a[1:, ::2], a.reshape(4, 3), mx.broadcast_to(a[:1], (5, 4)), a[None, 1]):
            assert np.shares_memory(np.asarray(v), base)
