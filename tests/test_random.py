"""mx.random: determinism from keys and seeds, and distribution checks with
fixed keys (deterministic, so not flaky) against exact moments."""

import math

import numpy as np
import pytest

import oxmlx.core as mx

N = 200_000


def test_same_seed_same_numbers_and_keys_split():
    mx.random.seed(42)
    a = np.array(mx.random.uniform(shape=(1000,)))
    mx.random.seed(42)
    b = np.array(mx.random.uniform(shape=(1000,)))
    np.testing.assert_array_equal(a, b)
    c = np.array(mx.random.uniform(shape=(1000,)))
    assert not np.array_equal(a, c)  # the global key advances
    k = mx.random.key(7)
    assert k.dtype == mx.uint32 and k.shape == (2,)
    k1, k2 = mx.random.split(k)
    assert not np.array_equal(np.array(k1), np.array(k2))
    np.testing.assert_array_equal(np.array(mx.random.split(k, 3)), np.array(mx.random.split(k, 3)))
    x = np.array(mx.random.bits((64,), key=k))
    assert x.dtype == np.uint32 and len(set(x.tolist())) == 64
    with pytest.raises(ValueError, match="key"):
        mx.random.bits((2,), key=mx.array([1, 2, 3], mx.uint32))


def test_uniform_moments_and_range():
    u = np.array(mx.random.uniform(-2.0, 3.0, (N,), key=mx.random.key(0)), dtype=np.float64)
    assert u.min() >= -2.0 and u.max() < 3.0
    assert abs(u.mean() - 0.5) < 5 * 5 / math.sqrt(12 * N)
    assert abs(u.var() - 25 / 12) < 0.05
    hist = np.histogram(u, bins=10, range=(-2, 3))[0]
    assert hist.min() > 0.9 * N / 10


def test_normal_and_truncated_normal():
    z = np.array(mx.random.normal((N,), key=mx.random.key(1)), dtype=np.float64)
    assert abs(z.mean()) < 5 / math.sqrt(N) and abs(z.std() - 1) < 0.01
    assert abs(np.mean(np.abs(z) < 1) - 0.6827) < 0.005
    z = np.array(mx.random.normal((N,), loc=3.0, scale=0.5, key=mx.random.key(2)))
    assert abs(z.mean() - 3.0) < 0.01 and abs(z.std() - 0.5) < 0.01
    t = np.array(mx.random.truncated_normal(-1.0, 0.5, (N,), key=mx.random.key(3)))
    assert t.min() >= -1.0 and t.max() <= 0.5


def test_integers_bernoulli_categorical():
    r = np.array(mx.random.randint(3, 9, (N,), key=mx.random.key(4)))
    assert r.dtype == np.int32 and r.min() == 3 and r.max() == 8
    assert np.abs(np.bincount(r - 3) / N - 1 / 6).max() < 0.01
    b = np.array(mx.random.bernoulli(0.3, (N,), key=mx.random.key(5)))
    assert b.dtype == np.bool_ and abs(b.mean() - 0.3) < 0.01
    p = np.array([0.1, 0.2, 0.7])
    s = np.array(mx.random.categorical(mx.log(mx.array(p)), num_samples=N, key=mx.random.key(6)))
    np.testing.assert_allclose(np.bincount(s, minlength=3) / N, p, atol=0.01)
    g = np.array(mx.random.gumbel((N,), key=mx.random.key(7)), dtype=np.float64)
    assert abs(g.mean() - 0.5772) < 0.02
    lp = np.array(mx.random.laplace((N,), key=mx.random.key(8)), dtype=np.float64)
    assert abs(lp.mean()) < 0.02 and abs(lp.var() - 2.0) < 0.05


def test_shape_and_dtype_rules_match_mlx():
    """Found by the conformance harness: parameters must broadcast to `shape`
    (the output shape), distributions of real numbers need a real dtype, and
    categorical's `shape` broadcasts with the batch shape."""
    k = mx.random.key(0)
    lo, hi = mx.zeros((3, 1)), mx.ones((1, 4))
    assert mx.random.uniform(lo, hi, shape=(2, 3, 4), key=k).shape == (2, 3, 4)
    with pytest.raises(ValueError, match=r"shape \(\) from broadcasted shape \(3,4\)"):
        mx.random.uniform(lo, hi, key=k)
    with pytest.raises(ValueError, match="broadcasted shape"):
        mx.random.randint(mx.zeros((3,), mx.int32), 5, key=k)
    with pytest.raises(ValueError, match="broadcast"):
        mx.random.bernoulli(mx.full((3,), 0.5), shape=(2,), key=k)
    assert mx.random.bernoulli(mx.full((3,), 0.5), shape=(2, 3), key=k).shape == (2, 3)
    for fn in (lambda: mx.random.uniform(shape=(2,), dtype=mx.int32, key=k),
               lambda: mx.random.normal((2,), dtype=mx.int32, key=k)):
        with pytest.raises(ValueError, match="floating point"):
            fn()
    s = mx.random.categorical(mx.zeros((3, 5)), shape=(2, 3), key=k)
    assert s.shape == (2, 3) and s.dtype == mx.uint32
    assert mx.random.categorical(mx.zeros((3, 5)), num_samples=4, key=k).shape == (3, 4)
