"""Basic indexing (ints, negative ints, slices with any step, None, Ellipsis
and their combinations) against numpy, results as views, and the errors."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import oxmlx.core as mx
from conftest import assert_equal

X = np.arange(60, dtype=np.int32).reshape(3, 4, 5)

INDICES = [
    0, -1, 2, -3,
    (0, 1), (-1, -2, -3), (2, 3, 4),
    slice(None), slice(1, None), slice(None, -1), slice(None, None, 2), slice(None, None, -1),
    slice(2, 0, -1), slice(-1, -4, -2), slice(5, 10), slice(-10, 2), slice(1, 1),
    (slice(None), 1), (slice(None), slice(None, None, -2), 3),
    (Ellipsis, 1), (1, Ellipsis), (Ellipsis,), (0, Ellipsis, -1), (Ellipsis, slice(1, 3)),
    None, (None, 0), (slice(None), None, 1), (1, None, Ellipsis, None), (None, None),
    (Ellipsis, None), (None, Ellipsis, None, 0),
    (slice(None, None, -1), slice(1, None, 2), slice(None, None, -3)),
    (slice(None, None, 100),), (slice(-100, 100),), (slice(100, -100, -1),),
    (-1, slice(None, None, -1), None, 0),
    (),
]


@pytest.mark.parametrize("index", INDICES, ids=[repr(i) for i in INDICES])
def test_basic_indexing_matches_numpy(index):
    a = mx.array(X)
    got = a[index]
    want = X[index]
    assert isinstance(got, mx.array)
    assert got.shape == want.shape
    assert_equal(got, want)


@pytest.mark.parametrize("index", INDICES, ids=[repr(i) for i in INDICES])
def test_indexing_views(index):
    # Indexing transposed and reversed arrays (views of views).
    for make in (lambda v: v.transpose(2, 0, 1), lambda v: v[::-1, :, ::-1]):
        v = make(X)
        try:
            want = v[index]
        except IndexError:
            with pytest.raises(IndexError):
                make(mx.array(X))[index]
            continue
        assert_equal(make(mx.array(X))[index], want)


def test_index_results_share_memory():
    # views of host memory (the CPU stream; numpy copies GPU arrays out)
    with mx.stream(mx.cpu):
        a = mx.arange(60, dtype=mx.float32).reshape(3, 4, 5)
        base = np.asarray(a)
        for idx in (1, (slice(None), 2), (Ellipsis, slice(None, None, -2)), (None, 0)):
            assert np.shares_memory(np.asarray(a[idx]), base), idx


def test_scalar_and_0d_indexing():
    s = mx.array(5)
    assert s[None].tolist() == [5]
    assert s[...].tolist() == 5
    assert s[()].tolist() == 5
    with pytest.raises(ValueError, match="Too many indices"):  # as MLX
        s[0]
    a = mx.array([10, 20, 30])
    assert a[1].item() == 20 and a[1].shape == ()
    assert a[np.int64(-1)].item() == 30
    assert a[np.int32(0)].item() == 10


def test_index_then_compute():
    a = mx.array(X)
    got = a[1:, ::-1, 2] * 2 + a[0, :, 2]
    want = X[1:, ::-1, 2] * 2 + X[0, :, 2]
    assert_equal(got, want)
    assert_equal(a[::2][:, 1::2][..., ::-1], X[::2][:, 1::2][..., ::-1])


@pytest.mark.parametrize("index,axis", [(3, 0), (-4, 0), ((0, 4), 1), ((0, -5), 1),
                                        ((0, 0, 5), 2), ((Ellipsis, -6), 2), (100, 0)])
def test_out_of_range_index_raises_index_error_naming_it(index, axis):
    a = mx.array(X)
    bad = index if isinstance(index, int) else index[-1]
    with pytest.raises(IndexError, match=rf"{bad}\b") as e:
        a[index]
    assert f"axis {axis}" in str(e.value)


@pytest.mark.parametrize("index", [(0, 0, 0, 0), (0, Ellipsis, 0, 0, 0), (1, 2, 3, None, 4)])
def test_too_many_indices(index):
    with pytest.raises(ValueError, match="[Tt]oo many"):  # MLX: ValueError (numpy: IndexError)
        mx.array(X)[index]


def test_invalid_index_types():
    a = mx.array(X)
    with pytest.raises(ValueError, match="single ellipsis"):  # as MLX
        a[..., ...]
    for bad in ("x", 1.5, True, {1: 2}):
        with pytest.raises(IndexError):
            a[bad]
    with pytest.raises(ValueError):
        a[::0]


@given(st.lists(st.integers(1, 5), min_size=1, max_size=4), st.data())
def test_random_basic_indices_match_numpy(shape, data):
    x = np.arange(int(np.prod(shape)), dtype=np.int32).reshape(shape)
    items = []
    for n in shape:
        kind = data.draw(st.sampled_from(["int", "slice", "none", "full"]))
        if kind == "int":
            items.append(data.draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            items.append(slice(data.draw(st.one_of(st.none(), st.integers(-n - 1, n + 1))),
                               data.draw(st.one_of(st.none(), st.integers(-n - 1, n + 1))),
                               data.draw(st.one_of(st.none(),
                                                   st.integers(-3, 3).filter(bool)))))
        elif kind == "none":
            items.append(None)
            items.append(slice(None))
        else:
            items.append(slice(None))
    if data.draw(st.booleans()) and len(items) > 0:
        items.insert(data.draw(st.integers(0, len(items))), Ellipsis)
    idx = tuple(items)
    assert_equal(mx.array(x)[idx], x[idx])
