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


# ---- parity with MLX: the same key gives the same numbers ----

def _threefry(k0, k1, c0, c1):
    """numpy threefry-2x32 (20 rounds), the oracle of the bit layout."""
    m = np.uint64(0xFFFFFFFF)
    rot = lambda x, r: ((x << np.uint64(r)) | (x >> np.uint64(32 - r))) & m  # noqa: E731
    ks = [np.uint64(k0), np.uint64(k1), np.uint64(0x1BD11BDA ^ k0 ^ k1)]
    x0, x1 = (c0.astype(np.uint64) + ks[0]) & m, (c1.astype(np.uint64) + ks[1]) & m
    R = [13, 15, 26, 6, 17, 29, 16, 24]
    for b in range(5):
        for j in range(4):
            x0 = (x0 + x1) & m
            x1 = rot(x1, R[(b % 2) * 4 + j]) ^ x0
        x0 = (x0 + ks[(b + 1) % 3]) & m
        x1 = (x1 + ks[(b + 2) % 3] + np.uint64(b + 1)) & m
    return x0.astype(np.uint32), x1.astype(np.uint32)


def _layout(k0, k1, nbytes):
    words = (nbytes + 3) // 4
    half, odd = words // 2, words % 2
    out = np.zeros(words, np.uint32)
    j = np.arange(half, dtype=np.uint64)
    a, b = _threefry(k0, k1, j, j + np.uint64(half + odd))
    out[:half], out[half + odd:] = a, b
    if odd:
        out[half] = _threefry(k0, k1, np.array([half], np.uint64), np.array([0], np.uint64))[0][0]
    return out.view(np.uint8)[:nbytes]


@pytest.mark.parametrize("width", [1, 2, 4])
@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 64, 1001])
def test_bits_layout_matches_threefry_oracle(width, n):
    k = mx.random.key(123456789012)
    got = np.array(mx.random.bits((n,), width, key=k))
    want = _layout(28, 3197704724, n * width).view({1: np.uint8, 2: np.uint16, 4: np.uint32}[width])
    assert np.array(k).tolist() == [28, 3197704724]
    np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="width"):
        mx.random.bits((2,), 3, key=k)


SAMPLERS = {
    "split": (lambda r, k: r.split(k, 5), True),
    "uniform": (lambda r, k: r.uniform(-2, 3, (7, 5), key=k), True),
    "uniform_f16": (None, True),
    "randint": (lambda r, k: r.randint(-50, 7, (100,), key=k), True),
    "bernoulli": (lambda r, k: r.bernoulli(0.3, (100,), key=k), True),
    "gumbel": (lambda r, k: r.gumbel((50,), key=k), True),
    "categorical": (lambda r, k: r.categorical(r._logits, num_samples=9, key=k), True),
    "normal": (lambda r, k: r.normal((200,), loc=1.0, scale=2.0, key=k), False),
    "truncated_normal": (lambda r, k: r.truncated_normal(-1, 0.5, (50,), key=k), False),
    "laplace": (lambda r, k: r.laplace((50,), key=k), False),
    "normal_complex": (lambda r, k: r.normal((6,), dtype=r._c64, key=k), False),
}


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_samplers_match_mlx(name, mlx):
    f, exact = SAMPLERS[name]
    lg = np.log(np.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]], np.float32))
    outs = []
    for lib in (mx, mlx):
        r = lib.random
        r._logits, r._c64 = lib.array(lg), lib.complex64
        if name == "uniform_f16":
            out = r.uniform(shape=(33,), dtype=lib.float16, key=r.key(9))
        else:
            out = f(r, r.key(9))
        outs.append(np.array(out))
    ours, theirs = outs
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    if exact:
        np.testing.assert_array_equal(ours, theirs)
    else:  # erfinv/log1p may differ in the last ulp
        np.testing.assert_allclose(ours, theirs, rtol=2e-5, atol=3e-5)


def test_global_key_sequence_matches_mlx(mlx):
    mx.random.seed(11)
    mlx.random.seed(11)
    for _ in range(3):
        np.testing.assert_array_equal(np.array(mx.random.uniform(shape=(4,))),
                                      np.array(mlx.random.uniform(shape=(4,))))
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
