"""Sort family: sort, argsort, partition, argpartition, topk, median,
searchsorted, unique (numpy and MLX as oracles), their gradients, errors."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

import oxmlx.core as mx
from conftest import NP_OF, to_np

REAL = ["bool_", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
        "float16", "float32", "float64", "bfloat16"]


def sample(shape, name, rng, nan=False):
    """Values with many ties (and NaNs/signed zeros for floats)."""
    if name == "bool_":
        return rng.integers(0, 2, shape).astype(bool)
    if name.startswith("uint"):
        return rng.integers(0, 6, shape).astype(NP_OF[name]) * np.array(3, NP_OF[name])
    if name.startswith("int"):
        return rng.integers(-5, 6, shape).astype(NP_OF[name])
    x = rng.integers(-8, 8, shape).astype(np.float32) / 4
    if nan and x.size:
        flat = x.reshape(-1)
        flat[rng.integers(0, x.size, max(1, x.size // 5))] = np.nan
        flat[rng.integers(0, x.size, max(1, x.size // 5))] = -0.0
    return x.astype(NP_OF[name])


def mx_of(x, name):
    return mx.array(x, dtype=getattr(mx, name))


def np_view(x, name):
    """What the oxmlx array holds, in numpy (bfloat16 as float32)."""
    return to_np(mx_of(x, name))


shapes = st.lists(st.integers(0, 7), min_size=1, max_size=3)


@given(shape=shapes, name=st.sampled_from(REAL), data=st.data())
def test_sort_argsort_match_numpy_stable(shape, name, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x = sample(shape, name, rng, nan=True)
    axis = data.draw(st.sampled_from([None] + list(range(-len(shape), len(shape)))))
    a = mx_of(x, name)
    ref = np_view(x, name)
    got = mx.sort(a, axis=axis)
    assert got.dtype == a.dtype
    np.testing.assert_array_equal(to_np(got), np.sort(ref, axis=axis, kind="stable"))
    idx = mx.argsort(a, axis=axis)
    assert idx.dtype == mx.uint32
    np.testing.assert_array_equal(np.array(idx), np.argsort(ref, axis=axis, kind="stable"))


@pytest.mark.parametrize("name", REAL)
def test_long_lines_radix_path_is_the_stable_sort(name):
    # Lines of >= 96 elements take the radix path: ties, NaNs of both signs,
    # signed zeros and extremes must come out exactly as the stable sort.
    rng = np.random.default_rng(11)
    x = sample((3, 301), name, rng, nan=True)
    if "float" in name:
        x[0, :4] = [-np.nan, np.inf, -np.inf, -0.0]
    elif name != "bool_":
        info = np.iinfo(NP_OF[name])
        x[0, :2] = [info.min, info.max]
    ref = np_view(x, name)
    for axis in (-1, 0, None):
        a = mx_of(x, name) if axis != 0 else mx_of(np.ascontiguousarray(x.T), name)
        r = ref if axis != 0 else np.ascontiguousarray(ref.T)
        np.testing.assert_array_equal(to_np(mx.sort(a, axis=axis)), np.sort(r, axis=axis, kind="stable"))
        np.testing.assert_array_equal(np.array(mx.argsort(a, axis=axis)),
                                      np.argsort(r, axis=axis, kind="stable"))


@pytest.mark.parametrize("name,shape", [("float32", (150_001,)), ("int16", (2, 70_000)),
                                        ("bool_", (100_003,)), ("float16", (66_000, 1))])
def test_few_long_lines_split_across_threads(name, shape):
    # Fewer lines than threads: each line is sorted in chunks that are merged.
    rng = np.random.default_rng(12)
    x = sample(shape, name, rng, nan=True)
    ref = np_view(x, name)
    axis = 0 if shape[-1] == 1 else -1
    np.testing.assert_array_equal(np.array(mx.argsort(mx_of(x, name), axis=axis)),
                                  np.argsort(ref, axis=axis, kind="stable"))
    np.testing.assert_array_equal(to_np(mx.sort(mx_of(x, name), axis=axis)),
                                  np.sort(ref, axis=axis, kind="stable"))


def check_partition(vals, ref_sorted, kth, axis):
    v = np.moveaxis(vals, axis, -1)
    s = np.moveaxis(ref_sorted, axis, -1)
    np.testing.assert_array_equal(np.sort(v, axis=-1), s)  # a permutation of each line
    pivot = s[..., kth:kth + 1]
    np.testing.assert_array_equal(v[..., kth], s[..., kth])
    nan_p = np.isnan(pivot) if v.dtype.kind == "f" else np.zeros(pivot.shape, bool)
    # before: <= pivot (NaN pivot: anything); after: >= pivot or NaN
    assert np.all((v[..., :kth] <= pivot) | nan_p)
    after = v[..., kth + 1:]
    assert np.all((after >= pivot) | (np.isnan(after) if v.dtype.kind == "f" else False))


@given(shape=st.lists(st.integers(1, 7), min_size=1, max_size=3), name=st.sampled_from(REAL),
       data=st.data())
def test_partition_argpartition_property(shape, name, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x = sample(shape, name, rng, nan=True)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[axis]
    kth = data.draw(st.integers(-n, n - 1))
    a = mx_of(x, name)
    ref = np_view(x, name)
    ref_sorted = np.sort(ref, axis=axis)
    k = kth % n
    check_partition(to_np(mx.partition(a, kth, axis=axis)), ref_sorted, k, axis % len(shape))
    idx = np.array(mx.argpartition(a, kth, axis=axis))
    np.testing.assert_array_equal(np.sort(idx, axis=axis),
                                  np.broadcast_to(np.arange(n).reshape(
                                      [-1 if d == axis % len(shape) else 1
                                       for d in range(len(shape))]), idx.shape))
    check_partition(np.take_along_axis(ref, idx.astype(np.int64), axis=axis), ref_sorted, k,
                    axis % len(shape))


@pytest.mark.parametrize("name", ["int32", "float32", "float16", "bfloat16", "uint8", "bool_",
                                  "float64", "int64", "uint16"])
def test_partition_topk_same_order_as_mlx(mlx, name):
    rng = np.random.default_rng(3)
    x = sample((5, 37), name, rng, nan=name.startswith("float"))
    a, b = mx_of(x, name), mlx.array(x, dtype=getattr(mlx, name))

    def f32(v, mod=mx):
        return np.array(v.astype(mod.float32)) if name == "bfloat16" else np.array(v)

    for kth in (0, 5, 17, 36, -3):
        np.testing.assert_array_equal(f32(mx.partition(a, kth)), f32(mlx.partition(b, kth), mlx))
        np.testing.assert_array_equal(np.array(mx.argpartition(a, kth, axis=1)),
                                      np.array(mlx.argpartition(b, kth, axis=1)))
    for k in (0, 1, 4, 37):
        np.testing.assert_array_equal(f32(mx.topk(a, k)), f32(mlx.topk(b, k), mlx))
    np.testing.assert_array_equal(f32(mx.topk(a, 3, axis=0)), f32(mlx.topk(b, 3, axis=0), mlx))
    np.testing.assert_array_equal(f32(mx.topk(a, 7, axis=None)), f32(mlx.topk(b, 7, axis=None), mlx))
    np.testing.assert_array_equal(np.array(mx.argpartition(a, 11, axis=None)),
                                  np.array(mlx.argpartition(b, 11, axis=None)))


@given(shape=st.lists(st.integers(1, 40), min_size=1, max_size=3), data=st.data(),
       name=st.sampled_from(["float32", "float16", "bfloat16", "int32", "uint8", "bool_", "float64"]))
def test_every_sort_op_bit_identical_to_mlx(shape, data, name):
    mlx = pytest.importorskip("mlx.core")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x = sample(shape, name, rng, nan=True)
    nd = len(shape)
    ax = data.draw(st.integers(-nd, nd - 1))
    n = shape[ax]
    kth = data.draw(st.integers(-n, n - 1))
    k = data.draw(st.integers(0, n))
    a, b = mx_of(x, name), mlx.array(x, dtype=getattr(mlx, name))

    def same(g, e, mod_e=mlx):
        if name == "bfloat16":
            g, e = g.astype(mx.float32), e.astype(mod_e.float32)
        np.testing.assert_array_equal(np.array(g), np.array(e))

    same(mx.sort(a, axis=ax), mlx.sort(b, axis=ax))
    same(mx.argsort(a, axis=ax), mlx.argsort(b, axis=ax))
    same(mx.partition(a, kth, axis=ax), mlx.partition(b, kth, axis=ax))
    same(mx.argpartition(a, kth, axis=ax), mlx.argpartition(b, kth, axis=ax))
    same(mx.topk(a, k, axis=ax), mlx.topk(b, k, axis=ax))


def test_topk_values_are_the_largest():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 50)).astype(np.float32)
    for k in (1, 5, 50):
        got = np.sort(np.array(mx.topk(mx.array(x), k)), axis=-1)
        np.testing.assert_array_equal(got, np.sort(x, axis=-1)[:, 50 - k:])
    assert mx.topk(mx.array(x), 0).shape == (4, 0)


def test_non_contiguous_and_large_inputs():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((300, 257)).astype(np.float32)
    xt = mx.array(x).T  # transposed view: every line is strided
    np.testing.assert_array_equal(np.array(mx.sort(xt, axis=1)), np.sort(x.T, axis=1))
    np.testing.assert_array_equal(np.array(mx.argsort(xt, axis=0)), np.argsort(x.T, axis=0, kind="stable"))
    sl = mx.array(x)[::3, 1::2]
    np.testing.assert_array_equal(np.array(mx.sort(sl)), np.sort(x[::3, 1::2]))
    bc = mx.broadcast_to(mx.array(x[0]), (4, 257))
    np.testing.assert_array_equal(np.array(mx.sort(bc)), np.sort(np.broadcast_to(x[0], (4, 257))))
    big = rng.integers(-1000, 1000, 200_003).astype(np.int64)
    np.testing.assert_array_equal(np.array(mx.argsort(mx.array(big))), np.argsort(big, kind="stable"))
    check_partition(np.array(mx.partition(xt, 100, axis=1)), np.sort(x.T, axis=1), 100, 1)


def test_uint64_and_extreme_values():
    x = np.array([2**64 - 1, 0, 2**63, 5, 2**63 - 1], dtype=np.uint64)
    np.testing.assert_array_equal(np.array(mx.sort(mx.array(x))), np.sort(x))
    y = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 1e308, -1e308], dtype=np.float64)
    got = np.array(mx.sort(mx.array(y, dtype=mx.float64)))
    np.testing.assert_array_equal(got, np.sort(y, kind="stable"))
    assert not np.signbit(got[2]) and np.signbit(got[3])  # 0.0 then -0.0: stable


def test_complex_sort_lexicographic():
    x = np.array([1 + 2j, 1 + 1j, 0 + 5j, -1 - 1j], dtype=np.complex64)
    np.testing.assert_array_equal(np.array(mx.sort(mx.array(x))), np.sort(x))


def test_empty_and_scalar():
    assert mx.sort(mx.zeros((0, 3))).shape == (0, 3)
    assert mx.argsort(mx.zeros((3, 0))).shape == (3, 0)
    np.testing.assert_array_equal(np.array(mx.sort(mx.array(2.0), axis=None)), [2.0])
    with pytest.raises(IndexError, match="sort"):
        mx.sort(mx.array(1.0))
    with pytest.raises(IndexError, match="argsort"):
        mx.argsort(mx.zeros((2, 2)), axis=2)
    with pytest.raises(IndexError):
        mx.topk(mx.array(3), 1)
    with pytest.raises(TypeError):
        mx.sort(mx.zeros((2, 2)), axis=1.0)
    with pytest.raises(IndexError):
        mx.sort(mx.zeros((2, 2)), axis=2**40)
    np.testing.assert_array_equal(np.array(mx.sort(mx.array([[2, 1]]), axis=np.int64(1))), [[1, 2]])


def test_kth_and_k_errors():
    a = mx.array([1, 2, 3])
    with pytest.raises(ValueError, match="kth"):
        mx.partition(a, 3)
    with pytest.raises(ValueError, match="kth"):
        mx.argpartition(a, -4)
    with pytest.raises(ValueError, match="kth"):
        mx.partition(mx.zeros((3, 0)), 0)
    with pytest.raises(ValueError, match="k=4"):
        mx.topk(a, 4)
    with pytest.raises(ValueError, match="k=-1"):
        mx.topk(a, -1)
    with pytest.raises(TypeError):
        mx.partition(a, 1.5)
    np.testing.assert_array_equal(np.array(mx.partition(a, -3)), [1, 2, 3])


# ------------------------------------------------------------- median


@pytest.mark.parametrize("name", ["int32", "uint8", "float32", "float16", "float64", "bool_"])
def test_median_matches_numpy(name):
    rng = np.random.default_rng(4)
    x = sample((4, 5, 6), name, rng)
    a = mx_of(x, name)
    xf = np_view(x, name).astype(np.float64)
    exp_dt = {"float16": mx.float16, "float64": mx.float64}.get(name, mx.float32)
    tol = 1e-3 if name == "float16" else 1e-6
    for axis in (None, 0, -1, (0, 2), (1, 2)):
        got = mx.median(a, axis=axis)
        assert got.dtype == exp_dt
        np.testing.assert_allclose(np.array(got.astype(mx.float64)), np.median(xf, axis=axis), rtol=tol)
    got = mx.median(a, axis=(0, 2), keepdims=True)
    np.testing.assert_allclose(np.array(got.astype(mx.float64)),
                               np.median(xf, axis=(0, 2), keepdims=True), rtol=tol)


def test_median_errors_and_nan(mlx):
    with pytest.raises(ValueError, match="empty"):
        mx.median(mx.array([], mx.float32))
    with pytest.raises(IndexError):
        mx.median(mx.zeros((2, 2)), axis=2)
    with pytest.raises(ValueError, match="duplicate"):
        mx.median(mx.zeros((2, 2)), axis=(0, 0))
    for v in ([1, 2, np.nan, 3], [np.nan, 1, 2, 3, 4], [np.nan, 1.0]):
        got = np.array(mx.median(mx.array(v)))
        np.testing.assert_array_equal(got, np.array(mlx.median(mlx.array(v))))


# ------------------------------------------------------------- searchsorted


@given(n=st.integers(0, 20), shape=st.lists(st.integers(0, 5), max_size=2),
       side=st.sampled_from(["left", "right"]), seed=st.integers(0, 2**16),
       name=st.sampled_from(["int32", "float32", "uint8", "float16", "int64"]))
def test_searchsorted_matches_numpy(n, shape, side, seed, name):
    rng = np.random.default_rng(seed)
    seq = np.sort(sample((n,), name, rng))
    vals = sample(tuple(shape), name, rng)
    got = mx.searchsorted(mx_of(seq, name), mx_of(vals, name), side=side)
    assert got.dtype == mx.uint32 and got.shape == tuple(shape)
    np.testing.assert_array_equal(np.array(got), np.searchsorted(np_view(seq, name),
                                                                 np_view(vals, name), side=side))


@pytest.mark.parametrize("n,m", [(16, 2000), (5000, 3), (1, 50), (300, 300)])
@pytest.mark.parametrize("name", ["float32", "int16", "float16"])
def test_searchsorted_both_strategies(n, m, name, mlx):
    # Few values: binary search; many values into a short sequence: one merged sort.
    rng = np.random.default_rng(n + m)
    seq = np.sort(sample((n,), name, rng, nan=True))
    vals = sample((m,), name, rng, nan=True)
    for side in ("left", "right"):
        got = np.array(mx.searchsorted(mx_of(seq, name), mx_of(vals, name), side=side))
        exp = np.array(mlx.searchsorted(mlx.array(seq, dtype=getattr(mlx, name)),
                                        mlx.array(vals, dtype=getattr(mlx, name)), side=side))
        np.testing.assert_array_equal(got, exp)
        if "float" not in name:
            np.testing.assert_array_equal(got, np.searchsorted(seq, vals, side=side))


def test_searchsorted_promotion_nan_and_errors(mlx):
    np.testing.assert_array_equal(np.array(mx.searchsorted(mx.array([1, 2]), mx.array([1.5]))), [1])
    np.testing.assert_array_equal(np.array(mx.searchsorted(mx.array([1.0, 2]), mx.array([1]))), [0])
    seq, vals = [1.0, 3.0, np.nan], [np.nan, 3.0, 0.0, 5.0]
    for side in ("left", "right"):
        np.testing.assert_array_equal(
            np.array(mx.searchsorted(mx.array(seq), mx.array(vals), side=side)),
            np.array(mlx.searchsorted(mlx.array(seq), mlx.array(vals), side=side)))
    got = mx.searchsorted(mx.array([1, 2, 2, 4]), mx.array(2), side="right")
    assert got.shape == () and got.item() == 3
    with pytest.raises(ValueError, match="1-D"):
        mx.searchsorted(mx.array([[1, 2]]), mx.array([1]))
    with pytest.raises(ValueError, match="side"):
        mx.searchsorted(mx.array([1, 2]), mx.array([1]), side="middle")


# ------------------------------------------------------------- unique


@given(n=st.integers(1, 30), seed=st.integers(0, 2**16),
       name=st.sampled_from(["int32", "float32", "uint16", "int8", "bool_"]))
def test_unique_matches_numpy(n, seed, name):
    rng = np.random.default_rng(seed)
    x = sample((n,), name, rng)
    ref = np_view(x, name)
    u, idx, inv, cnt = np.unique(ref, return_index=True, return_inverse=True, return_counts=True)
    v, i, r, c = mx.unique(mx_of(x, name), len(u), True, True, True)
    np.testing.assert_array_equal(to_np(v), u)
    np.testing.assert_array_equal(np.array(i), idx)
    np.testing.assert_array_equal(np.array(r), inv.reshape(-1))
    np.testing.assert_array_equal(np.array(c), cnt)
    assert (i.dtype, r.dtype, c.dtype) == (mx.uint32, mx.uint32, mx.int32)


def test_unique_padding_truncation_like_mlx(mlx):
    cases = [([2, 1, 2, 3, 1], 6, None), ([2, 1, 2, 3, 1], 2, None), ([2, 1, 2, 3, 1], 0, None),
             ([3, 2, 2], 4, 9), ([np.nan, 1, np.nan], 4, None), ([[5, 4], [4, 5]], 2, None),
             ([0.0, -0.0, 1.0], 3, None), ([2, 1, 2, 3, 1], 3, 2.5), ([True, False, True], 3, True)]
    for vals, size, fill in cases:
        got = mx.unique(mx.array(vals), size, True, True, True, fill_value=fill)
        exp = mlx.unique(mlx.array(vals), size, True, True, True, fill_value=fill)
        for g, e in zip(got, exp):
            assert g.shape == e.shape and str(g.dtype).split(".")[-1] == str(e.dtype).split(".")[-1]
            np.testing.assert_array_equal(np.array(g), np.array(e))
    only = mx.unique(mx.array([2, 1, 2]), 2)
    assert isinstance(only, mx.array)
    np.testing.assert_array_equal(np.array(only), [1, 2])
    assert len(mx.unique(mx.array([2, 1]), 2, return_counts=True)) == 2


@given(n=st.integers(1, 25), seed=st.integers(0, 2**16), extra=st.integers(-5, 4),
       fill=st.sampled_from([None, 7, -1]), name=st.sampled_from(["int32", "float32", "uint8"]))
def test_unique_any_size_like_mlx(n, seed, extra, fill, name):
    mlx = pytest.importorskip("mlx.core")
    rng = np.random.default_rng(seed)
    x = sample((n,), name, rng, nan=name == "float32")
    size = max(0, len(np.unique(np_view(x, name))) + extra)
    fill = None if fill is None or (fill < 0 and name == "uint8") else fill
    got = mx.unique(mx_of(x, name), size, True, True, True, fill_value=fill)
    exp = mlx.unique(mlx.array(x, dtype=getattr(mlx, name)), size, True, True, True, fill_value=fill)
    for g, e in zip(got, exp):
        np.testing.assert_array_equal(np.array(g), np.array(e))


def test_unique_errors():
    with pytest.raises(ValueError, match="negative size"):
        mx.unique(mx.array([1]), -1)
    with pytest.raises(ValueError, match="one element"):
        mx.unique(mx.array([1]), 2, fill_value=mx.array([1, 2]))
    with pytest.raises(ValueError, match="2\\^31"):
        mx.unique(mx.array([1]), 2**31)
    with pytest.raises(ValueError, match="fill value is required"):
        mx.unique(mx.array([], mx.float32), 3)
    v, c = mx.unique(mx.array([], mx.float32), 2, return_counts=True, fill_value=7)
    np.testing.assert_array_equal(np.array(v), [7, 7])
    np.testing.assert_array_equal(np.array(c), [0, 0])


# ------------------------------------------------------------- derivatives


def fd_grad(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[i] = eps
        g[i] = (f(x + d) - f(x - d)) / (2 * eps)
    return g


@pytest.mark.parametrize("op", ["sort", "sort0", "partition", "topk", "median", "median_axes"])
def test_gradients_match_finite_differences(op):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 6))  # distinct values: the permutation is locally constant
    w = rng.standard_normal((3, 6))
    W = lambda v: mx.array(v, dtype=mx.float64)
    fns = {
        "sort": lambda a: mx.sort(a) * W(w),
        "sort0": lambda a: mx.sort(a, axis=0) * W(w),
        "partition": lambda a: mx.partition(a, 2) * W(w),
        "topk": lambda a: mx.topk(a, 3) * W(w[:, :3]),
        "median": lambda a: mx.median(a) * 3.0,
        "median_axes": lambda a: mx.median(a, axis=1) * W(w[:, 0]),
    }
    f = fns[op]
    loss = lambda a: mx.sum(f(a))
    f64 = lambda v: mx.array(v, dtype=mx.float64)
    g = np.array(mx.grad(loss)(f64(x)))
    ref = fd_grad(lambda v: np.array(loss(f64(v))).item(), x)
    np.testing.assert_allclose(g, ref, rtol=1e-6, atol=1e-8)
    # jvp along a random direction equals the directional derivative
    t = rng.standard_normal(x.shape)
    _, (jt,) = mx.jvp(lambda a: loss(a), [f64(x)], [f64(t)])
    np.testing.assert_allclose(np.array(jt), (g * t).sum(), rtol=1e-6)


def test_index_outputs_have_zero_gradient():
    x = mx.array([3.0, 1.0, 2.0])
    g = mx.grad(lambda a: mx.sum(mx.argsort(a).astype(mx.float32) * a))(x)
    np.testing.assert_array_equal(np.array(g), np.array(mx.argsort(x).astype(mx.float32)))
    g = mx.grad(lambda a: mx.sum(mx.argpartition(a, 1).astype(mx.float32)) + mx.sum(a))(x)
    np.testing.assert_array_equal(np.array(g), [1.0, 1.0, 1.0])


def test_second_order_gradient_through_sort():
    x = np.array([3.0, 1.0, 2.0, -0.5])
    w = np.array([1.0, 2.0, 3.0, 4.0])
    f64 = lambda v: mx.array(v, dtype=mx.float64)
    f = lambda a: mx.sum(mx.sort(a) ** 3 * f64(w))
    g2 = mx.grad(lambda a: mx.sum(mx.grad(f)(a)))(f64(x))
    rank_w = w[np.argsort(np.argsort(x))]  # weight each element meets after sorting
    np.testing.assert_allclose(np.array(g2), 6 * rank_w * x, rtol=1e-12)
