"""Small mlx.core names: random.permutation, view, can_cast, isdtype,
from_dlpack, print options, cumulative_sum/prod, windows, depends, streams,
memory/device queries, ArrayIterator, fp8 (numpy and MLX as oracles)."""

import numpy as np
import pytest

import oxmlx.core as mx
from conftest import to_np


# ------------------------------------------------------------- permutation


def test_permutation_of_int_is_a_uint32_permutation():
    k = mx.random.key(7)
    p = mx.random.permutation(50, key=k)
    assert p.dtype == mx.uint32 and p.shape == (50,)
    np.testing.assert_array_equal(np.sort(np.array(p)), np.arange(50))
    np.testing.assert_array_equal(np.array(mx.random.permutation(50, key=k)), np.array(p))
    q = mx.random.permutation(50, key=mx.random.key(8))
    assert not np.array_equal(np.array(q), np.array(p))
    assert mx.random.permutation(0, key=k).shape == (0,)
    mx.random.seed(3)
    a = np.array(mx.random.permutation(20))
    mx.random.seed(3)
    np.testing.assert_array_equal(np.array(mx.random.permutation(20)), a)


def test_permutation_of_array_shuffles_along_axis():
    x = np.arange(24).reshape(4, 6).astype(np.float32)
    k = mx.random.key(1)
    y = np.array(mx.random.permutation(mx.array(x), key=k))
    # rows moved as wholes
    assert sorted(map(tuple, y)) == sorted(map(tuple, x))
    perm = np.array(mx.random.permutation(4, key=k)).astype(np.int64)
    np.testing.assert_array_equal(y, x[perm])
    z = np.array(mx.random.permutation(mx.array(x), axis=1, key=k))
    np.testing.assert_array_equal(z, x[:, np.array(mx.random.permutation(6, key=k)).astype(np.int64)])
    assert mx.random.permutation(mx.array(x), axis=-1, key=k).dtype == mx.float32


def test_permutation_is_roughly_uniform():
    counts = np.zeros((3, 3))
    for s in range(600):
        p = np.array(mx.random.permutation(3, key=mx.random.key(s)))
        counts[np.arange(3), p] += 1
    assert np.all(np.abs(counts - 200) < 60)


def test_permutation_errors():
    with pytest.raises(ValueError):
        mx.random.permutation(-1)
    with pytest.raises(IndexError):
        mx.random.permutation(mx.array([1, 2]), axis=1)
    with pytest.raises(IndexError):
        mx.random.permutation(mx.array(3))
