"""The array object: construction from scalars, lists, numpy and buffers;
conversion out (numpy, memoryview, DLPack, item, tolist); properties,
astype and repr."""

import array as pyarray
import math

import numpy as np
import pytest

import oxmlx.core as mx
from conftest import DTYPE_NAMES, NP_OF, assert_equal, dname, to_np

# --------------------------------------------------------------- construction


@pytest.mark.parametrize("value,dtype,shown", [
    (1, "int32", 1), (-7, "int32", -7), (True, "bool_", True), (False, "bool_", False),
    (2.5, "float32", 2.5), (1 + 2j, "complex64", 1 + 2j), (2**40, "int64", 2**40),
    (-(2**40), "int64", -(2**40)), (2**63, "uint64", 2**63),
])
def test_scalar_construction(value, dtype, shown):
    a = mx.array(value)
    assert a.shape == () and a.ndim == 0 and a.size == 1
    assert dname(a.dtype) == dtype
    assert a.item() == shown
    assert type(a.item()) is type(shown)


def test_scalar_with_dtype():
    assert mx.array(3, mx.float16).dtype == mx.float16
    assert mx.array(3, mx.float16).item() == 3.0
    assert mx.array(2.7, mx.int32).item() == 2
    assert mx.array(-2.7, mx.int32).item() == -2
    assert mx.array(1, mx.bool_).item() is True
    assert mx.array(0.0, mx.bool_).item() is False
    assert mx.array(True, mx.float32).item() == 1.0
    assert mx.array(1.5, mx.complex64).item() == 1.5 + 0j


@pytest.mark.parametrize("data,dtype", [
    ([True, False, True], "bool_"),
    ([1, 2, 3], "int32"),
    ([[1, 2], [3, 4]], "int32"),
    ([1, 2.5], "float32"),
    ([True, 2], "int32"),
    ([True, 2.5], "float32"),
    ([1, 2 + 1j], "complex64"),
    ([[[1.5]], [[2.5]]], "float32"),
    ((1, 2, 3), "int32"),
    ([(1, 2), [3, 4]], "int32"),
    ([2**40, 1], "int64"),
    ([-(2**31) - 1, 0], "int64"),
    ([2**31 - 1, -(2**31)], "int32"),
    ([2**63, 1], "uint64"),
])
def test_nested_list_dtype_and_values(data, dtype):
    a = mx.array(data)
    assert dname(a.dtype) == dtype
    want = np.array(data, dtype=NP_OF[dtype])
    assert a.shape == want.shape
    assert_equal(a, want)
    assert a.tolist() == want.tolist()


def test_empty_lists_are_float32():
    a = mx.array([])
    assert a.shape == (0,) and a.dtype == mx.float32 and a.size == 0
    b = mx.array([[], []])
    assert b.shape == (2, 0) and b.dtype == mx.float32
    assert mx.array([], mx.int32).dtype == mx.int32


def test_list_with_dtype():
    a = mx.array([1.7, -1.7, 0.2], mx.int32)
    assert a.tolist() == [1, -1, 0]
    a = mx.array([0, 2.0, -0.5], mx.bool_)
    assert a.tolist() == [False, True, True]
    a = mx.array([1, 2], mx.float16)
    assert a.dtype == mx.float16 and a.tolist() == [1.0, 2.0]
    a = mx.array([2**63 + 5], mx.float32)
    assert a.tolist() == [float(np.float32(2**63 + 5))]
    a = mx.array([1 / 3], mx.float64)
    assert a.item() == 1 / 3  # float64 keeps every bit


@pytest.mark.parametrize("bad", [
    [[1, 2], [3]],
    [[1, 2], 3],
    [[[1], [2]], [[3]]],
    [1, [2]],
])
def test_ragged_lists_raise(bad):
    with pytest.raises(ValueError):
        mx.array(bad)


@pytest.mark.parametrize("bad", [["a"], [1, "b"], [[1, 2], [3, "c"]], "abc", {1: 2}, [None],
                                 object()])
def test_invalid_element_types_raise(bad):
    with pytest.raises(ValueError, match="Invalid type"):
        mx.array(bad)


def test_invalid_types_match_mlx(mlx):
    for bad in (["a"], [[1, 2], [3]], {1: 2}, [1, "b"], "abc", [None], None):
        with pytest.raises(Exception) as ours:
            mx.array(bad)
        with pytest.raises(Exception) as theirs:
            mlx.array(bad)
        assert ours.type is theirs.type, bad


def test_integers_out_of_64_bit_range_raise():
    with pytest.raises(ValueError):
        mx.array(2**64)
    with pytest.raises(ValueError):
        mx.array([2**64])
    with pytest.raises(ValueError):
        mx.array([2**63, -1])  # no 64-bit integer type holds both
    with pytest.raises(ValueError):
        mx.array([-(2**63) - 1])


NUMPY_DTYPES = [np.bool_, np.uint8, np.uint16, np.uint32, np.uint64, np.int8, np.int16,
                np.int32, np.int64, np.float16, np.float32, np.float64, np.complex64,
                np.complex128]


@pytest.mark.parametrize("npdt", NUMPY_DTYPES)
def test_from_numpy_every_dtype(npdt):
    x = (np.arange(12).reshape(3, 4) % 5).astype(npdt)
    if np.issubdtype(npdt, np.complexfloating):
        x = x + 1j * x[::-1]
    a = mx.array(x)
    natural = {np.float64: "float32", np.complex128: "complex64"}.get(npdt, np.dtype(npdt).name)
    assert dname(a.dtype) == ("bool_" if natural == "bool" else natural)
    assert a.shape == x.shape
    np.testing.assert_array_equal(np.array(a), x.astype(np.array(a).dtype))


@pytest.mark.parametrize("target", DTYPE_NAMES)
def test_from_numpy_with_dtype(target):
    x = np.array([[0.0, 1.5], [-2.25, 3.0]])
    a = mx.array(x, dtype=getattr(mx, target))
    assert dname(a.dtype) == target
    with np.errstate(invalid="ignore"):
        want = x.astype(NP_OF[target]) if target not in ("uint8", "uint16", "uint32", "uint64") \
            else np.abs(x).astype(NP_OF[target])
    if target.startswith("uint"):
        a = mx.array(np.abs(x), dtype=getattr(mx, target))
    np.testing.assert_array_equal(to_np(a), want)


def test_float64_numpy_defaults_to_float32_and_keeps_float64_on_request():
    x = np.array([1 / 3, 2.0])
    a = mx.array(x)
    assert a.dtype == mx.float32
    assert a.tolist() == [float(np.float32(1 / 3)), 2.0]
    b = mx.array(x, dtype=mx.float64)
    assert b.dtype == mx.float64 and b.tolist() == x.tolist()


@pytest.mark.parametrize("make", [
    lambda x: x[:, ::-1],
    lambda x: x[::-2, 1::2],
    lambda x: x.T,
    lambda x: x[1:, :3],
    lambda x: np.broadcast_to(x[:1], (4, 5)),
    lambda x: x.reshape(4, 5, 1).transpose(2, 1, 0),
    lambda x: x[::-1, ::-1][1:3],
])
def test_from_non_contiguous_numpy(make):
    x = np.arange(20, dtype=np.int32).reshape(4, 5)
    v = make(x)
    a = mx.array(v)
    assert a.shape == v.shape
    np.testing.assert_array_equal(np.array(a), v)


def test_from_numpy_copies_the_data():
    x = np.arange(4, dtype=np.float32)
    a = mx.array(x)
    x[0] = 100
    assert a.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_from_numpy_scalars_and_0d():
    assert mx.array(np.float32(2.5)).dtype == mx.float32
    assert mx.array(np.float32(2.5)).item() == 2.5
    assert mx.array(np.int64(3)).dtype == mx.int64
    assert mx.array(np.array(5, np.int16)).dtype == mx.int16
    assert mx.array(np.array(5, np.int16)).shape == ()
    assert mx.array(np.bool_(True)).item() is True


def test_from_buffer_protocol_objects():
    a = mx.array(pyarray.array("i", [1, -2, 3]))
    assert a.dtype == mx.int32 and a.tolist() == [1, -2, 3]
    a = mx.array(pyarray.array("d", [1.5, 2.5]))
    assert a.dtype == mx.float32 and a.tolist() == [1.5, 2.5]
    a = mx.array(pyarray.array("B", [7, 255]))
    assert a.dtype == mx.uint8 and a.tolist() == [7, 255]
    a = mx.array(np.frombuffer(b"abcd", np.uint8))
    assert a.tolist() == [97, 98, 99, 100]
    a = mx.array(b"ab")  # bytes expose the buffer protocol (as in MLX)
    assert a.dtype == mx.uint8 and a.tolist() == [97, 98]
    a = mx.array(np.frombuffer(bytes(range(8)), np.uint16))
    assert a.tolist() == np.frombuffer(bytes(range(8)), np.uint16).tolist()
    a = mx.array(memoryview(np.arange(6, dtype=np.int16).reshape(2, 3)))
    assert a.dtype == mx.int16 and a.tolist() == [[0, 1, 2], [3, 4, 5]]


def test_from_lists_of_arrays():
    a = mx.array([mx.array([1, 2]), mx.array([3, 4])])
    assert a.shape == (2, 2) and a.dtype == mx.int32 and a.tolist() == [[1, 2], [3, 4]]
    # Arrays promote with each other and with the scalars beside them (MLX).
    a = mx.array([mx.array(1, mx.float16), mx.array(2, mx.int32)])
    assert a.dtype == mx.float16 and a.tolist() == [1.0, 2.0]
    a = mx.array([mx.array(1), 2.5])
    assert a.dtype == mx.float32 and a.tolist() == [1.0, 2.5]
    a = mx.array([mx.array(1, mx.int8), 2])
    assert a.dtype == mx.int32
    a = mx.array([mx.array(1, mx.uint8), True])
    assert a.dtype == mx.uint8 and a.tolist() == [1, 1]
    a = mx.array([mx.array([1, 2], mx.int8), [300, 2]])
    assert a.dtype == mx.int32 and a.tolist() == [[1, 2], [300, 2]]
    # Non-contiguous pieces are laid out in logical order.
    t = mx.array([[1, 2], [3, 4]]).T
    a = mx.array([t, t[::-1]])
    assert a.tolist() == [[[1, 3], [2, 4]], [[2, 4], [1, 3]]]
    a = mx.array([mx.array([1, 2]), mx.array([3, 4])], mx.float32)
    assert a.dtype == mx.float32
    with pytest.raises(ValueError):
        mx.array([mx.array([1, 2]), mx.array([3])])


def test_from_lists_of_arrays_match_mlx(mlx):
    for items in ([("float16", 1), 2.5], [("int8", 1), 2], [("uint8", 1), True],
                  [("float32", 1.0), 1j], [2.5, ("int8", 1)], [("bool_", True), 2]):
        ours = [mx.array(v[1], getattr(mx, v[0])) if isinstance(v, tuple) else v for v in items]
        theirs = [mlx.array(v[1], getattr(mlx, v[0])) if isinstance(v, tuple) else v for v in items]
        a, b = mx.array(ours), mlx.array(theirs)
        assert dname(a.dtype) == dname(b.dtype)
        assert a.tolist() == b.tolist()


def test_array_from_array_with_dtype():
    a = mx.array([1, 2])
    b = mx.array(a, mx.float32)
    assert b.dtype == mx.float32 and b.tolist() == [1.0, 2.0]
    assert mx.array(a).tolist() == [1, 2]


# ------------------------------------------------------------------ out


@pytest.mark.parametrize("name", [n for n in DTYPE_NAMES if n != "bfloat16"])
def test_to_numpy_every_dtype(name):
    x = (np.arange(6).reshape(2, 3) % 4).astype(NP_OF[name])
    a = mx.array(x, dtype=getattr(mx, name))
    y = np.array(a)
    assert y.dtype == NP_OF[name]
    np.testing.assert_array_equal(y, x)


def test_to_numpy_bfloat16_raises_like_mlx():
    a = mx.array([1.5, 2.0], mx.bfloat16)
    with pytest.raises((ValueError, TypeError, RuntimeError)):
        np.array(a)
    np.testing.assert_array_equal(np.array(a.astype(mx.float32)), [1.5, 2.0])


def test_asarray_is_zero_copy():
    # numpy views host memory in place (CPU stream; a GPU array is copied out)
    a = mx.arange(12, dtype=mx.float32, stream=mx.cpu).reshape(3, 4, stream=mx.cpu)
    x = np.asarray(a)
    y = np.asarray(a)
    assert np.shares_memory(x, y)
    assert x.__array_interface__["data"][0] == y.__array_interface__["data"][0]
    m = np.asarray(memoryview(a))
    assert np.shares_memory(x, m)
    np.testing.assert_array_equal(x, np.arange(12).reshape(3, 4))


def test_asarray_of_views_keeps_strides():
    base = mx.arange(12, dtype=mx.int32).reshape(3, 4)
    x = np.arange(12, dtype=np.int32).reshape(3, 4)
    for view, want in [(base.T, x.T), (base[::2, 1::2], x[::2, 1::2]), (base[:, ::-1], x[:, ::-1]),
                       (mx.broadcast_to(base[:1], (3, 4)), np.broadcast_to(x[:1], (3, 4)))]:
        np.testing.assert_array_equal(np.asarray(view), want)
        np.testing.assert_array_equal(np.array(view), want)


def test_numpy_result_outlives_the_array():
    a = mx.arange(5, dtype=mx.float32) * 2
    x = np.asarray(a)
    del a
    import gc
    gc.collect()
    np.testing.assert_array_equal(x, [0, 2, 4, 6, 8])


def test_array_dunder_dtype_and_copy():
    a = mx.array([1, 2, 3])
    x = np.array(a, dtype=np.float64)
    assert x.dtype == np.float64 and x.tolist() == [1.0, 2.0, 3.0]
    y = np.array(a, copy=True)
    y[0] = 9
    assert a.tolist() == [1, 2, 3]


@pytest.mark.parametrize("name,fmt", [
    ("bool_", "?"), ("uint8", "B"), ("uint16", "H"), ("uint32", "I"), ("uint64", "Q"),
    ("int8", "b"), ("int16", "h"), ("int32", "i"), ("int64", "q"), ("float16", "e"),
    ("float32", "f"), ("float64", "d"),
])
def test_memoryview(name, fmt):
    a = mx.zeros((2, 3), getattr(mx, name))
    m = memoryview(a)
    assert m.format == fmt
    assert m.shape == (2, 3)
    assert m.itemsize == a.itemsize
    assert m.strides == (3 * a.itemsize, a.itemsize)
    assert m.nbytes == a.nbytes
    t = memoryview(a.T)
    assert t.shape == (3, 2) and t.strides == (a.itemsize, 3 * a.itemsize)


def test_memoryview_values():
    a = mx.array([[1, -2], [3, 4]], mx.int16)
    assert memoryview(a).tolist() == [[1, -2], [3, 4]]
    assert memoryview(a.T).tolist() == [[1, 3], [-2, 4]]
    assert np.frombuffer(memoryview(mx.array([1.5, 2.5])).tobytes(), np.float32).tolist() == \
        [1.5, 2.5]


def test_dlpack():
    a = mx.arange(6, dtype=mx.float32).reshape(2, 3)
    x = np.from_dlpack(a)
    np.testing.assert_array_equal(x, np.arange(6, dtype=np.float32).reshape(2, 3))
    assert a.__dlpack_device__() == (1, 0)
    t = np.from_dlpack(a.T)
    np.testing.assert_array_equal(t, np.arange(6, dtype=np.float32).reshape(2, 3).T)


def test_item():
    assert mx.array([[7]]).item() == 7
    assert type(mx.array(3, mx.uint8).item()) is int
    assert type(mx.array(3, mx.uint64).item()) is int
    assert mx.array(2**64 - 1, mx.uint64).item() == 2**64 - 1
    assert type(mx.array(3, mx.float16).item()) is float
    assert mx.array(1.5, mx.bfloat16).item() == 1.5
    assert mx.array(1 + 2j).item() == 1 + 2j
    assert mx.array(True).item() is True
    assert math.isnan(mx.array(float("nan")).item())
    with pytest.raises(ValueError):
        mx.array([1, 2]).item()


@pytest.mark.parametrize("name", DTYPE_NAMES)
def test_tolist_python_types(name):
    a = mx.array([[0, 1], [1, 0]], getattr(mx, name))
    lst = a.tolist()
    want_type = {"bool_": bool, "complex64": complex}.get(name)
    if want_type is None:
        want_type = float if name.startswith(("float", "bfloat")) else int
    assert len(lst) == 2 and all(len(r) == 2 for r in lst)
    assert all(type(v) is want_type for r in lst for v in r)
    assert lst == [[0, 1], [1, 0]]


def test_tolist_shapes():
    assert mx.array(5).tolist() == 5
    assert mx.zeros((2, 0)).tolist() == [[], []]
    assert mx.array([]).tolist() == []
    x = np.arange(24).reshape(2, 3, 4)
    a = mx.array(x)
    assert a.tolist() == x.tolist()
    assert a.transpose(2, 0, 1).tolist() == x.transpose(2, 0, 1).tolist()
    assert a[:, ::-1, ::2].tolist() == x[:, ::-1, ::2].tolist()
    assert mx.array([1.5], mx.bfloat16).tolist() == [1.5]


def test_properties():
    a = mx.zeros((2, 3, 4), mx.int16)
    assert a.shape == (2, 3, 4) and isinstance(a.shape, tuple)
    assert a.ndim == 3 and a.size == 24 and a.itemsize == 2 and a.nbytes == 48
    assert a.dtype == mx.int16
    assert a.T.shape == (4, 3, 2)
    assert mx.array([1, 2]).T.shape == (2,)
    x = np.arange(6).reshape(2, 3)
    assert mx.array(x).T.tolist() == x.T.tolist()
    assert len(mx.array([[1, 2], [3, 4], [5, 6]])) == 3
    with pytest.raises(TypeError):
        len(mx.array(3))


def test_python_number_protocols():
    assert int(mx.array(3.7)) == 3
    assert int(mx.array(-3.7)) == -3
    assert float(mx.array(2)) == 2.0
    assert bool(mx.array(0)) is False
    assert bool(mx.array([2])) is True
    with pytest.raises(ValueError):
        bool(mx.array([1, 2]))
    assert [10, 20, 30][mx.array(1)] == 20
    with pytest.raises(TypeError):
        [10, 20, 30][mx.array(1.0)]


def test_iteration():
    a = mx.array([[1, 2], [3, 4]])
    rows = list(a)
    assert len(rows) == 2 and all(isinstance(r, mx.array) for r in rows)
    assert [r.tolist() for r in rows] == [[1, 2], [3, 4]]
    assert [v.item() for v in mx.array([5, 6, 7])] == [5, 6, 7]
    with pytest.raises(TypeError):
        iter(mx.array(1))


# -------------------------------------------------------------------- astype


@pytest.mark.parametrize("src", DTYPE_NAMES)
@pytest.mark.parametrize("dst", DTYPE_NAMES)
def test_astype_all_pairs(src, dst):
    base = np.array([0, 1, 2, 3, 5, 100], dtype=np.int64)
    if src == "bool_":
        base = base % 2
    if src == "int8":
        base = np.array([0, 1, 2, -3, 5, -100])
    x = base.astype(NP_OF[src])
    a = mx.array(x, dtype=getattr(mx, src)).astype(getattr(mx, dst))
    assert dname(a.dtype) == dst
    real = x.real if src == "complex64" and dst != "complex64" else x
    with np.errstate(invalid="ignore", over="ignore"):
        want = real.astype(NP_OF[dst])  # bfloat16: float32 (these values are exact)
    np.testing.assert_array_equal(to_np(a), want)


def test_astype_float_to_int_truncates_and_to_bool():
    x = mx.array([1.9, -1.9, 0.0, 0.5, -0.5, 2.5])
    assert x.astype(mx.int32).tolist() == [1, -1, 0, 0, 0, 2]
    assert x.astype(mx.int8).tolist() == [1, -1, 0, 0, 0, 2]
    assert x.astype(mx.bool_).tolist() == [True, True, False, True, True, True]
    assert mx.array([float("nan")]).astype(mx.bool_).tolist() == [True]
    assert mx.array([-1]).astype(mx.uint32).tolist() == [2**32 - 1]
    assert mx.array([70000]).astype(mx.int16).tolist() == [70000 - 65536]
    assert mx.array([1 + 2j]).astype(mx.float32).tolist() == [1.0]
    assert mx.array([0j, 1j]).astype(mx.bool_).tolist() == [False, True]
    assert mx.array([3.75]).astype(mx.bfloat16).tolist() == [3.75]
    assert mx.array([1 / 3]).astype(mx.bfloat16).tolist() == [0.333984375]
    assert mx.array([65504.0 * 2]).astype(mx.float16).tolist() == [float("inf")]
    assert mx.astype(mx.array([2.5]), mx.int32).tolist() == [2]


def test_astype_matches_mlx(mlx):
    vals = [1.9, -1.9, 0.0, 0.5, 300.0, -129.0, 1e10]
    for n in DTYPE_NAMES:
        if n.startswith("uint") or n in ("int8", "int16", "int32", "int64"):
            continue  # out-of-range float->int casts are undefined behaviour in C++
        a = mx.array(vals).astype(getattr(mx, n))
        b = mlx.array(vals).astype(getattr(mlx, n))
        assert a.tolist() == b.tolist(), n


# ---------------------------------------------------------------------- repr


def test_repr_examples():
    assert repr(mx.array([1, 2, 3])) == "array([1, 2, 3], dtype=int32)"
    assert repr(mx.array([[1.5, 2], [3, 4]])) == \
        "array([[1.5, 2],\n       [3, 4]], dtype=float32)"
    assert repr(mx.array(3.0)) == "array(3, dtype=float32)"
    assert repr(mx.array([True, False])) == "array([True, False], dtype=bool)"
    assert repr(mx.array([1 + 2j, 3 - 4j])) == "array([1+2j, 3-4j], dtype=complex64)"
    assert repr(mx.arange(7)) == "array([0, 1, 2, ..., 4, 5, 6], dtype=int32)"
    assert repr(mx.array([float("nan"), float("inf"), -float("inf")])) == \
        "array([nan, inf, -inf], dtype=float32)"
    assert repr(mx.zeros((2, 2, 2), mx.int32)) == (
        "array([[[0, 0],\n        [0, 0]],\n       [[0, 0],\n        [0, 0]]], dtype=int32)")
    assert str(mx.array([1, 2])) == repr(mx.array([1, 2]))


def test_repr_matches_mlx(mlx):
    rng = np.random.default_rng(0)
    cases = [
        rng.standard_normal((3, 4)).astype(np.float32),
        rng.integers(-100, 100, (2, 3, 4)).astype(np.int32),
        rng.standard_normal(2000).astype(np.float32),
        rng.standard_normal((9, 9)).astype(np.float32),
        rng.standard_normal((8, 2, 8)).astype(np.float32),
        np.array([1e-10, 1, 1e10], np.float32),
        np.array([0.1, 0.25, -3], np.float16),
        np.array([1.5, -0.0, 2]),
        np.array([100000.0, 1234567.0], np.float32),
        rng.integers(0, 255, (7, 7)).astype(np.uint8),
        np.array([[True, False], [False, True]]),
        (rng.standard_normal(3) + 1j * rng.standard_normal(3)).astype(np.complex64),
        np.zeros((0,), np.float32),
        np.zeros((3, 0, 2), np.int32),
        np.array(-0.0, np.float32),
        np.array([2**40, -5], np.int64),
        np.array([2**64 - 1], np.uint64),
    ]
    for c in cases:
        assert repr(mx.array(c)) == repr(mlx.array(c))
    for n in ("float16", "bfloat16", "float64"):
        assert repr(mx.array([1 / 3, 2.0], getattr(mx, n))) == \
            repr(mlx.array([1 / 3, 2.0], getattr(mlx, n)))


# ------------------------------------------------------------------ creation


def test_zeros_ones_full():
    assert mx.zeros(3).tolist() == [0.0, 0.0, 0.0] and mx.zeros(3).dtype == mx.float32
    z = mx.zeros((2, 3), mx.int8)
    assert z.shape == (2, 3) and z.dtype == mx.int8 and z.tolist() == [[0] * 3] * 2
    assert mx.ones((2,), dtype=mx.bool_).tolist() == [True, True]
    assert mx.ones((0, 4)).shape == (0, 4)
    assert mx.zeros(()).shape == () and mx.zeros(()).item() == 0.0
    for n in DTYPE_NAMES:
        assert mx.ones((2, 2), getattr(mx, n)).tolist() == [[1, 1], [1, 1]]
    f = mx.full((2, 2), 3)
    assert f.dtype == mx.int32 and f.tolist() == [[3, 3], [3, 3]]
    assert mx.full((2, 2), 3.5).dtype == mx.float32
    assert mx.full((2, 2), True).dtype == mx.bool_
    assert mx.full((2,), 3, mx.float16).tolist() == [3.0, 3.0]
    assert mx.full((2,), 3, dtype=mx.float16).dtype == mx.float16
    assert mx.full(3, 2.5, dtype=mx.int32).tolist() == [2, 2, 2]
    assert mx.full((2, 3), mx.array([1, 2, 3])).tolist() == [[1, 2, 3], [1, 2, 3]]
    assert mx.full((2, 2), mx.array(1, mx.uint8)).dtype == mx.uint8
    with pytest.raises(ValueError):
        mx.full((2, 3), mx.array([1, 2]))
    with pytest.raises(ValueError):
        mx.zeros((2, -1))


@pytest.mark.parametrize("args,kw", [
    ((5,), {}), ((1, 5), {}), ((5, 1), {}), ((5, 1, -1), {}), ((0, 1, 0.25), {}),
    ((1.0, 4), {}), ((0, 10, 3), {}), ((10, 0, -3), {}), ((3.0,), {}), ((-3,), {}),
    ((0, -1, 0.25), {}), ((2, 3.1, 0.1), {}), ((-2.5, 2.5, 0.5), {}), ((0, 0), {}),
    ((5,), {"dtype": "float16"}), ((0.5, 3), {"dtype": "int32"}), ((1, 10, 2), {"dtype": "int64"}),
    ((3, -3, -1.5), {}),
])
def test_arange(args, kw):
    kwargs = {"dtype": getattr(mx, kw["dtype"])} if kw else {}
    got = mx.arange(*args, **kwargs)
    ints = all(isinstance(v, int) for v in args)
    want_dtype = kw.get("dtype", "int32" if ints else "float32")
    assert dname(got.dtype) == want_dtype
    want = np.arange(*[float(v) for v in args])
    assert got.shape == want.shape
    if want_dtype.startswith("int"):
        # MLX: start + i * step computed in double, then cast
        want = want.astype(np.int64)
    np.testing.assert_allclose(to_np(got), want, rtol=1e-6, atol=1e-6)


def test_arange_keywords_and_errors():
    assert mx.arange(start=1, stop=4).tolist() == [1, 2, 3]
    assert mx.arange(1, 4, step=2).tolist() == [1, 3]
    assert mx.arange(0, 1, 0.1).shape == (10,)
    with pytest.raises(ValueError):
        mx.arange(0, 5, 0)
    with pytest.raises(ValueError):
        mx.arange(5, dtype=mx.bool_)


def test_linspace():
    assert mx.linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert mx.linspace(0, 1, 1).tolist() == [0.0]
    assert mx.linspace(0, 1, 0).shape == (0,)
    assert mx.linspace(1, 0, 3).tolist() == [1.0, 0.5, 0.0]
    assert mx.linspace(0, 1).shape == (50,)
    np.testing.assert_allclose(np.array(mx.linspace(-3, 7, 11)), np.linspace(-3, 7, 11),
                               rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.array(mx.linspace(0, 1, 7, dtype=mx.float64)),
                               np.linspace(0, 1, 7), rtol=1e-15)
    r = mx.linspace(0, 10, 5, dtype=mx.int32)
    assert r.dtype == mx.int32 and r.tolist() == [0, 2, 5, 7, 10]
    with pytest.raises(ValueError):
        mx.linspace(0, 1, -1)


@pytest.mark.parametrize("n,m,k", [(3, None, 0), (2, 3, 1), (3, None, -1), (3, None, 5),
                                   (4, 2, -2), (0, None, 0), (1, 4, -1)])
def test_eye_tri(n, m, k):
    e = mx.eye(n, m, k)
    assert e.dtype == mx.float32
    assert_equal(e, np.eye(n, m, k, dtype=np.float32))
    assert_equal(mx.eye(n, m, k=k, dtype=mx.int32), np.eye(n, m, k, dtype=np.int32))
    assert_equal(mx.tri(n, m, k), np.tri(n, m, k, dtype=np.float32))
    assert_equal(mx.tri(n, m, k=k, dtype=mx.int32), np.tri(n, m, k, dtype=np.int32))


def test_identity_and_errors():
    assert_equal(mx.identity(3), np.identity(3, np.float32))
    i = mx.identity(2, mx.int8)
    assert i.dtype == mx.int8 and i.tolist() == [[1, 0], [0, 1]]
    with pytest.raises(ValueError):
        mx.eye(-1)


def test_like_constructors():
    a = mx.array([[1, 2], [3, 4]], mx.int16)
    z = mx.zeros_like(a)
    assert z.dtype == mx.int16 and z.tolist() == [[0, 0], [0, 0]]
    o = mx.ones_like(mx.array([1.5], mx.float16))
    assert o.dtype == mx.float16 and o.tolist() == [1.0]
    f = mx.full_like(a, 7)
    assert f.dtype == mx.int16 and f.tolist() == [[7, 7], [7, 7]]
    assert mx.full_like(mx.zeros((2,), mx.int32), 2.7).tolist() == [2, 2]
    f = mx.full_like(mx.zeros((2,)), 2, dtype=mx.int8)
    assert f.dtype == mx.int8 and f.tolist() == [2, 2]
    # like-constructors of views take the view's shape
    t = mx.zeros((2, 3)).T
    assert mx.ones_like(t).shape == (3, 2)
    assert mx.full_like(t[::2], 1.5).tolist() == [[1.5, 1.5], [1.5, 1.5]]


def test_creation_matches_mlx(mlx):
    cases = [
        lambda m: m.arange(2, 3.1, 0.1), lambda m: m.arange(10, 0, -3),
        lambda m: m.arange(0.5, 3, dtype=m.int32), lambda m: m.linspace(0, 10, 5, dtype=m.int32),
        lambda m: m.linspace(-1, 1, 9), lambda m: m.eye(3, 4, k=-1), lambda m: m.tri(3, 2, k=1),
        lambda m: m.full((2, 2), 2.5), lambda m: m.full_like(m.zeros((2,), m.int32), 2.7),
    ]
    for f in cases:
        ours, theirs = f(mx), f(mlx)
        assert dname(ours.dtype) == dname(theirs.dtype)
        np.testing.assert_allclose(np.array(ours), np.array(theirs), rtol=1e-6, atol=1e-7)


def test_astype_of_views_and_empty():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4) - 11.5
    a = mx.array(x)
    for make in (lambda v: v.transpose(2, 0, 1), lambda v: v[:, ::-1, 1::2],
                 lambda v: v[:1].reshape(3, 4)):
        for dt, npdt in (("int32", np.int32), ("float16", np.float16), ("uint8", np.uint8),
                         ("bool_", np.bool_), ("float64", np.float64)):
            got = make(a).astype(getattr(mx, dt))
            src = make(x) if dt != "uint8" else np.abs(make(x))
            if dt == "uint8":
                got = mx.abs(make(a)).astype(mx.uint8)
            assert got.tolist() == src.astype(npdt).tolist(), dt
    b = mx.broadcast_to(mx.array([1.5, -2.5]), (3, 2)).astype(mx.int32)
    assert b.tolist() == [[1, -2]] * 3
    assert mx.zeros((0, 2)).astype(mx.int8).shape == (0, 2)


def test_conversions_of_empty_and_0d():
    e = mx.zeros((0, 3), mx.int16)
    assert np.array(e).shape == (0, 3) and np.array(e).dtype == np.int16
    assert memoryview(e).shape == (0, 3)
    s = mx.array(7, mx.int64)
    assert np.array(s).shape == () and np.array(s).item() == 7
    assert memoryview(s).shape == () and memoryview(s).format == "q"
    assert np.from_dlpack(s).item() == 7
