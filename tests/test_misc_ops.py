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


def test_permutation_bit_identical_to_mlx(mlx):
    for seed in (0, 3, 12345):
        for n in (1, 10, 257):
            got = mx.random.permutation(n, key=mx.random.key(seed))
            np.testing.assert_array_equal(np.array(got),
                                          np.array(mlx.random.permutation(n, key=mlx.random.key(seed))))
    x = np.arange(24).reshape(4, 6)
    for axis in (0, 1, -1):
        got = mx.random.permutation(mx.array(x), axis=axis, key=mx.random.key(9))
        exp = mlx.random.permutation(mlx.array(x), axis=axis, key=mlx.random.key(9))
        np.testing.assert_array_equal(np.array(got), np.array(exp))


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


# ------------------------------------------------------------- view


@pytest.mark.parametrize("src,dst", [("float32", "int32"), ("float32", "uint8"), ("int16", "float16"),
                                     ("uint8", "int32"), ("float64", "uint16"), ("int32", "float64"),
                                     ("uint8", "int8"), ("complex64", "float32"), ("float32", "complex64")])
def test_view_reinterprets_bytes_like_numpy(src, dst):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((3, 8)) * 100).astype(np.dtype(src))
    got = mx.view(mx.array(x, dtype=getattr(mx, src)), getattr(mx, dst))
    ref = x.view(np.dtype(dst))
    assert got.shape == ref.shape
    np.testing.assert_array_equal(np.array(got), ref)


def test_view_non_contiguous_scalar_bool_and_errors():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    a = mx.array(x)
    np.testing.assert_array_equal(np.array(mx.view(a.T, mx.int32)), np.ascontiguousarray(x.T).view(np.int32))
    np.testing.assert_array_equal(np.array(mx.view(a[:, 1:3], mx.uint16)),
                                  np.ascontiguousarray(x[:, 1:3]).view(np.uint16))
    np.testing.assert_array_equal(np.array(mx.view(a[1:], mx.float64)),
                                  np.ascontiguousarray(x[1:]).view(np.float64))
    np.testing.assert_array_equal(np.array(a.view(mx.uint32)), x.view(np.uint32))
    assert mx.view(3.0, mx.int32).item() == np.float32(3.0).view(np.int32)
    np.testing.assert_array_equal(np.array(mx.view(mx.array([True, False]), mx.uint8)), [1, 0])
    np.testing.assert_array_equal(np.array(mx.view(mx.array([1, 2], mx.int16), mx.bool_)),
                                  [True, False, True, False])
    assert mx.view(mx.zeros((2, 0)), mx.float64).shape == (2, 0)
    with pytest.raises(ValueError, match="scalar"):
        mx.view(mx.array(1.0), mx.uint8)
    with pytest.raises(ValueError, match="multiple"):
        mx.view(mx.array([1.0, 2.0, 3.0]), mx.float64)


# ------------------------------------------------------------- dtype predicates


def test_can_cast_is_promotion_closure(mlx):
    names = ["bool_", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
             "float16", "float32", "float64", "bfloat16", "complex64"]
    for a in names:
        for b in names:
            assert mx.can_cast(getattr(mx, a), getattr(mx, b)) == mlx.can_cast(getattr(mlx, a), getattr(mlx, b)), (a, b)
    assert mx.can_cast(mx.array([1]), mx.int64)
    with pytest.raises(ValueError, match="from_"):
        mx.can_cast(1, mx.int8)


def test_isdtype_kinds(mlx):
    kinds = ["bool", "signed integer", "unsigned integer", "integral", "real floating",
             "complex floating", "numeric"]
    for n in ["bool_", "uint8", "int16", "int64", "uint64", "float16", "bfloat16", "float64", "complex64"]:
        for k in kinds:
            assert mx.isdtype(getattr(mx, n), k) == mlx.isdtype(getattr(mlx, n), k), (n, k)
        assert mx.isdtype(getattr(mx, n), getattr(mx, n))
    assert mx.isdtype(mx.float16, ("real floating", "bool"))
    assert not mx.isdtype(mx.int8, ())
    with pytest.raises(ValueError, match="Unknown"):
        mx.isdtype(mx.float16, "foo")
    with pytest.raises(ValueError, match="kind"):
        mx.isdtype(mx.uint8, 3)
    with pytest.raises(TypeError):
        mx.isdtype(mx.array([1]), "integral")


# ------------------------------------------------------------- dlpack


def test_from_dlpack_copies():
    class Producer:  # only the DLPack protocol (not the buffer protocol)
        def __init__(self, a):
            self.a = a

        def __dlpack__(self, **kw):
            return self.a.__dlpack__(**kw)

        def __dlpack_device__(self):
            return self.a.__dlpack_device__()

    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    a = mx.from_dlpack(x)
    x[0, 0] = 100
    np.testing.assert_array_equal(np.array(a), np.arange(6).reshape(2, 3))
    t = np.arange(6.0, dtype=np.float32).reshape(2, 3).T
    np.testing.assert_array_equal(np.array(mx.from_dlpack(Producer(t))), t)
    assert mx.from_dlpack(Producer(np.arange(4, dtype=np.int64))).dtype == mx.int64
    assert mx.from_dlpack(np.array([True, False])).dtype == mx.bool_
    with pytest.raises(ValueError, match="without a copy"):
        mx.from_dlpack(x, copy=False)
    with pytest.raises(TypeError):
        mx.from_dlpack(3)


# ------------------------------------------------------------- print options


def test_printoptions_precision(mlx):
    x, y = mx.array([1.123456789, 2.5]), mlx.array([1.123456789, 2.5])
    assert repr(x) == repr(y)
    assert mx.get_printoptions().precision == -1
    with mx.printoptions(precision=3):
        assert mx.get_printoptions().precision == 3
        with mlx.printoptions(precision=3):
            assert repr(x) == repr(y)
            assert str(x) == str(y)
    assert repr(x) == repr(y)
    mx.set_printoptions(precision=2)
    mlx.set_printoptions(precision=2)
    try:
        for v in ([1 + 2.12345j], [1.5], 3.14159, [1, 2], [[0.5, -1.25]]):
            assert repr(mx.array(v)) == repr(mlx.array(v))
        assert repr(mx.array([1.5], mx.float16)) == repr(mlx.array([1.5], mlx.float16))
        mx.set_printoptions(precision=60)
        mlx.set_printoptions(precision=60)
        big = [1e300, -2.5e-300]
        assert repr(mx.array(big, mx.float64)) == repr(mlx.array(big, mlx.float64))
    finally:
        mx.set_printoptions()
        mlx.set_printoptions()
    assert mx.get_printoptions().precision == -1 and isinstance(mx.get_printoptions(), mx.PrintOptions)


# ------------------------------------------------------------- cumulative


def test_cumulative_sum_prod_dtype():
    x = np.array([[1.5, 2.5, -1.0], [3.0, 0.5, 2.0]], np.float32)
    np.testing.assert_array_equal(np.array(mx.cumulative_sum(mx.array(x), dtype=mx.int32)),
                                  np.cumsum(x.astype(np.int32)))
    got = mx.cumsum(mx.array([1, 2, 3], mx.int8), dtype=mx.float32)
    assert got.dtype == mx.float32
    np.testing.assert_array_equal(np.array(got), [1, 3, 6])
    got = mx.cumulative_prod(mx.array(x), axis=1, reverse=True)
    np.testing.assert_allclose(np.array(got), np.cumprod(x[:, ::-1], axis=1)[:, ::-1])
    got = mx.cumprod(mx.array(x), axis=0, inclusive=False, dtype=mx.float64)
    assert got.dtype == mx.float64
    np.testing.assert_allclose(np.array(got), [[1, 1, 1], x[0]])
    assert mx.cumulative_sum(mx.array([True, True])).dtype == mx.int32


# ------------------------------------------------------------- windows


@pytest.mark.parametrize("name", ["bartlett", "blackman", "hamming", "hanning"])
def test_windows_match_numpy(name):
    for M in (0, 1, 2, 5, 8, 101):
        got = getattr(mx, name)(M)
        assert got.dtype == mx.float32 and got.shape == (max(M, 0),)
        np.testing.assert_allclose(np.array(got), getattr(np, name)(M), atol=3e-7)
    assert getattr(mx, name)(-3).shape == (0,)


# ------------------------------------------------------------- depends, streams, memory


def test_depends_values_and_gradients():
    a, b = mx.array([1.0, 2.0]), mx.array([3.0])
    out = mx.depends(a, b)
    assert isinstance(out, mx.array)
    np.testing.assert_array_equal(np.array(out), [1.0, 2.0])
    outs = mx.depends([a, b], [mx.array(5)])
    assert isinstance(outs, list) and len(outs) == 2
    np.testing.assert_array_equal(np.array(outs[1]), [3.0])
    g = mx.grad(lambda x: mx.sum(mx.depends(x * x, b)))(a)
    np.testing.assert_array_equal(np.array(g), [2.0, 4.0])
    assert mx.depends([], b) == []


def test_streams_and_device_queries():
    import threading

    s = mx.new_thread_local_stream(mx.cpu)
    assert isinstance(s, mx.ThreadLocalStream) and s.device == mx.Device(mx.cpu)
    np.testing.assert_array_equal(np.array(mx.add(mx.array([1]), 2, stream=s)), [3])
    with mx.stream(s):
        assert mx.multiply(mx.array(2), 3).item() == 6
    mine = s._current_stream()
    other = []
    t = threading.Thread(target=lambda: other.append(s._current_stream()))
    t.start()
    t.join()
    assert other[0] != mine and s._current_stream() == mine
    u = mx.new_thread_unsafe_stream(mx.cpu)
    assert isinstance(u, mx.Stream)
    assert mx.add(mx.array(1), 1, stream=u).item() == 2
    mx.clear_streams()
    assert mx.add(mx.array(1), 1).item() == 2
    info = mx.device_info(mx.cpu)
    assert set(info) >= {"architecture", "device_name"}
    assert mx.device_info() == mx.device_info(mx.default_device())
    assert mx.set_wired_limit(10) == 0
    with pytest.raises(TypeError):
        mx.set_wired_limit(-1)


def test_get_array_buffer_size():
    a, b, c = mx.ones((10,)), mx.ones((3,)), mx.ones((1000,), mx.float16)
    with pytest.raises(ValueError, match="evaluated"):
        mx.get_array_buffer_size(a)
    mx.eval(a, b, c)
    assert mx.get_array_buffer_size(a, [b], {"x": c}, 3) == 40 + 12 + 2000
    v = a[2:]
    mx.eval(v)
    assert mx.get_array_buffer_size(a, a, v) == 40  # one buffer counted once
    assert mx.get_array_buffer_size() == 0


# ------------------------------------------------------------- iteration


def test_array_iterator():
    x = np.arange(12).reshape(3, 4)
    it = iter(mx.array(x))
    assert isinstance(it, mx.ArrayIterator) and iter(it) is it
    rows = list(it)
    assert len(rows) == 3
    for r, e in zip(rows, x):
        np.testing.assert_array_equal(np.array(r), e)
    with pytest.raises(StopIteration):
        next(it)
    assert [v.item() for v in mx.array([5, 6])] == [5, 6]
    with pytest.raises(TypeError):
        iter(mx.array(1))
    assert not isinstance(3, mx.ArrayLike)

    class Wrapped:
        def __mlx_array__(self):
            return mx.array([3, 1, 2])

    np.testing.assert_array_equal(np.array(mx.sort(Wrapped())), [1, 2, 3])
    np.testing.assert_array_equal(np.array(mx.argsort(mx.ArrayLike(Wrapped()))), [1, 2, 0])


# ------------------------------------------------------------- fp8


def e4m3_table():
    t = []
    for b in range(256):
        e, m = (b >> 3) & 15, b & 7
        v = m * 2.0 ** -9 if e == 0 else (1 + m / 8) * 2.0 ** (e - 7)
        if b & 0x7F == 0x7F:
            v = np.nan
        t.append(-v if b & 0x80 else v)
    return np.array(t, np.float32)


def test_from_fp8_all_codes(mlx):
    codes = mx.arange(256).astype(mx.uint8)
    got = np.array(mx.from_fp8(codes, mx.float32))
    np.testing.assert_array_equal(got, e4m3_table())
    ref = np.array(mlx.from_fp8(mlx.arange(256).astype(mlx.uint8), mlx.float32))
    np.testing.assert_array_equal(got, ref)
    assert mx.from_fp8(codes).dtype == mx.bfloat16
    assert mx.from_fp8(codes, mx.float16).dtype == mx.float16


def test_to_fp8_rounding_saturation_like_mlx(mlx):
    rng = np.random.default_rng(0)
    special = [0.0, -0.0, 1.0, -1.0, 448, 449, 464, 480, 1000, np.inf, -np.inf, np.nan, 2 ** -6,
               2 ** -9, 2 ** -10, 2 ** -11, 1.0625, 1.1875, 3 * 2 ** -10, 240, 1e-10, -1e-10,
               2 ** -7 * 1.0625]
    x = np.concatenate([np.array(special, np.float32), rng.standard_normal(2000).astype(np.float32) * 50,
                        np.linspace(-0.02, 0.02, 401, dtype=np.float32)])
    got = np.array(mx.to_fp8(mx.array(x)))
    np.testing.assert_array_equal(got, np.array(mlx.to_fp8(mlx.array(x))))
    # nearest representable value (ties to an even code) for finite inputs in range
    table = e4m3_table()
    back = table[got]
    fin = np.isfinite(x) & (np.abs(x) <= 448)
    err = np.abs(back[fin] - x[fin])
    best = np.nanmin(np.abs(table[None, :] - x[fin][:, None]), axis=1)
    np.testing.assert_array_equal(err, best)
    for name in ("float16", "bfloat16"):
        y = mx.array(x[:50], dtype=getattr(mx, name))
        np.testing.assert_array_equal(np.array(mx.to_fp8(y)),
                                      np.array(mlx.to_fp8(mlx.array(x[:50], dtype=getattr(mlx, name)))))


def test_fp8_errors():
    with pytest.raises(ValueError, match="floating"):
        mx.to_fp8(mx.array([1, 2]))
    with pytest.raises(ValueError, match="uint8"):
        mx.from_fp8(mx.array([1, 2]))
    with pytest.raises(ValueError, match="floating"):
        mx.from_fp8(mx.array([1, 2], mx.uint8), mx.int32)
