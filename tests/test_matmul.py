"""Matmul family against numpy (float64 reference): 1-D/2-D/batched shapes
with broadcasting, transposed and sliced operands, every float dtype, sizes
around the GEMM blocking edges, and the errors."""

import numpy as np
import pytest

import oxmlx.core as mx
from conftest import bf16_round, dname, to_np

RNG = np.random.default_rng(99)


def rand(shape, dtype="float32"):
    x = RNG.uniform(-1, 1, shape)
    if dtype == "bfloat16":
        return bf16_round(x.astype(np.float32))
    return x.astype({"float16": np.float16, "float32": np.float32, "float64": np.float64}[dtype])


def check(got, x, y, dtype="float32"):
    want = np.matmul(x.astype(np.float64), y.astype(np.float64))
    assert got.shape == want.shape
    assert dname(got.dtype) == dtype
    k = x.shape[-1]
    tol = {"float32": 2e-6, "float64": 1e-14, "float16": 1e-3, "bfloat16": 8e-3}[dtype]
    # error bound of a k-term dot product with |terms| <= 1, plus output rounding
    np.testing.assert_allclose(to_np(got).astype(np.float64), want, rtol=tol * 4,
                               atol=tol * (k ** 0.5 + 1))


@pytest.mark.parametrize("shapes", [
    ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)), ((5, 1, 2, 3), (6, 3, 4)), ((4, 2, 3), (4, 3, 5)), ((1, 1), (1, 1)),
    ((7, 13), (13, 5)), ((3,), (2, 3, 4)), ((2, 2, 3), (3,)),
], ids=str)
def test_matmul_shapes(shapes):
    x, y = rand(shapes[0]), rand(shapes[1])
    got = mx.matmul(mx.array(x), mx.array(y))
    check(got, x, y)
    check(mx.array(x) @ mx.array(y), x, y)


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (1, 64, 1), (64, 64, 64), (65, 127, 33),
                                   (130, 257, 70), (3, 1000, 2), (200, 8, 300)])
def test_matmul_sizes(m, k, n):
    x, y = rand((m, k)), rand((k, n))
    check(mx.array(x) @ mx.array(y), x, y)


def test_matmul_large_multithreaded():
    x, y = rand((300, 280)), rand((280, 310))
    check(mx.array(x) @ mx.array(y), x, y)
    b1, b2 = rand((8, 50, 60)), rand((8, 60, 40))
    check(mx.array(b1) @ mx.array(b2), b1, b2)


@pytest.mark.parametrize("layout", ["aT", "bT", "both", "sliced", "reversed", "batchT",
                                    "broadcast_batch", "stepped_batch"])
def test_matmul_non_contiguous(layout):
    a = rand((6, 33, 17))
    b = rand((6, 17, 21))
    A, B = mx.array(a), mx.array(b)
    if layout == "aT":
        t = rand((17, 33))
        xa, x, ya, y = mx.array(t).T, t.T, B[0], b[0]
    elif layout == "bT":
        t = rand((21, 17))
        xa, x, ya, y = A[1], a[1], mx.array(t).T, t.T
    elif layout == "both":
        t1, t2 = rand((17, 33)), rand((21, 17))
        xa, x, ya, y = mx.array(t1).T, t1.T, mx.array(t2).T, t2.T
    elif layout == "sliced":
        xa, x, ya, y = A[:, 1:30:2, :16], a[:, 1:30:2, :16], B[:, 1:, ::2], b[:, 1:, ::2]
    elif layout == "reversed":
        xa, x, ya, y = A[::-1, ::-1], a[::-1, ::-1], B[:, :, ::-1], b[:, :, ::-1]
    elif layout == "batchT":
        xa, x = A.transpose(1, 0, 2).transpose(1, 0, 2), a
        ya, y = mx.array(b.transpose(1, 0, 2)).transpose(1, 0, 2), b
    elif layout == "broadcast_batch":
        xa, x = mx.broadcast_to(A[:1], (6, 33, 17)), np.broadcast_to(a[:1], (6, 33, 17))
        ya, y = B, b
    else:
        xa, x, ya, y = A[::2], a[::2], B[1::2], b[1::2]
    check(mx.matmul(xa, ya), x, y)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64", "float32"])
def test_matmul_dtypes(dtype):
    x, y = rand((9, 40), dtype), rand((40, 7), dtype)
    d = getattr(mx, dtype)
    got = mx.matmul(mx.array(x, dtype=d), mx.array(y, dtype=d))
    check(got, x, y, dtype)
    bx, by = rand((3, 5, 16), dtype), rand((16, 4), dtype)
    check(mx.array(bx, dtype=d) @ mx.array(by, dtype=d), bx, by, dtype)


def test_matmul_mixed_dtypes_promote():
    x, y = rand((2, 3), "float16"), rand((3, 4))
    got = mx.array(x) @ mx.array(y)
    assert got.dtype == mx.float32
    check(got, x, y)
    r = mx.ones((2, 3), mx.int32) @ mx.ones((3, 4))
    assert r.dtype == mx.float32 and r.tolist() == [[3.0] * 4] * 2


def test_matmul_empty():
    assert (mx.ones((0, 3)) @ mx.ones((3, 4))).shape == (0, 4)
    assert (mx.ones((2, 0)) @ mx.ones((0, 4))).tolist() == [[0.0] * 4] * 2
    assert (mx.ones((2, 3)) @ mx.ones((3, 0))).shape == (2, 0)


def test_matmul_exact_small_integers_in_float():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    y = np.arange(20, dtype=np.float32).reshape(4, 5) - 7
    assert (mx.array(x) @ mx.array(y)).tolist() == (x @ y).tolist()


@pytest.mark.parametrize("a,b", [((2, 3), (4, 3)), ((3,), (4,)), ((5, 2, 3), (2, 4)),
                                 ((2, 2, 3), (3, 3, 4))], ids=str)
def test_matmul_shape_mismatch_raises_naming_shapes(a, b):
    with pytest.raises(ValueError) as e:
        mx.matmul(mx.ones(a), mx.ones(b))
    text = str(e.value).replace(" ", "")
    if len(a) == 2 and len(b) == 2:
        assert f"({a[0]},{a[1]})" in text and f"({b[0]},{b[1]})" in text


@pytest.mark.parametrize("dtype", ["int32", "int8", "uint8", "int64", "bool_"])
def test_matmul_integer_inputs_raise(dtype):
    d = getattr(mx, dtype)
    with pytest.raises(ValueError, match="matmul"):
        mx.matmul(mx.ones((2, 3), d), mx.ones((3, 4), d))
    with pytest.raises(ValueError):
        mx.ones((2, 3), d) @ mx.ones((3, 4), d)


def test_matmul_scalar_raises():
    with pytest.raises(ValueError):
        mx.matmul(mx.array(1.0), mx.ones((2,)))


def test_matmul_errors_match_mlx(mlx):
    cases = [((2, 3), (4, 3), "float32"), ((3,), (4,), "float32"), ((2, 3), (3, 4), "int32"),
             ((2, 2, 3), (3, 3, 4), "float32")]
    for a, b, dt in cases:
        with pytest.raises(Exception) as ours:
            mx.matmul(mx.ones(a, getattr(mx, dt)), mx.ones(b, getattr(mx, dt)))
        with pytest.raises(Exception) as theirs:
            mlx.matmul(mlx.ones(a, getattr(mlx, dt)), mlx.ones(b, getattr(mlx, dt)))
        assert ours.type is theirs.type, (a, b, dt)
