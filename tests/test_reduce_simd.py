"""The vectorized reduction paths (float32/float16/bfloat16 sum, max and min
over contiguous rows, vectorized float32 column sums, threaded whole-array
sums) against numpy: sizes around the vector widths and the pairwise block
(tails), NaN and inf propagation, strided inputs, and the accuracy of long
sums."""

import numpy as np
import pytest

import oxmlx.core as mx
from conftest import to_np

RNG = np.random.default_rng(5)
SIZES = [1, 3, 15, 16, 17, 63, 64, 65, 127, 2047, 2048, 2049, 4100]
DTS = ["float32", "float16", "bfloat16"]
# sums: relative tolerance vs the float64 sum of the same (rounded) values
SUM_TOL = {"float32": 2e-6, "float16": 2e-3, "bfloat16": 1.6e-2}


def make(shape, dt):
    a = mx.array(RNG.standard_normal(shape).astype(np.float32)).astype(getattr(mx, dt))
    return a, to_np(a).astype(np.float64)


def check_sum(got, ref, dt, scale):
    g = to_np(got).astype(np.float64)
    np.testing.assert_allclose(g, ref, rtol=SUM_TOL[dt], atol=SUM_TOL[dt] * scale)


@pytest.mark.parametrize("dt", DTS)
@pytest.mark.parametrize("n", SIZES)
def test_row_reductions(dt, n):
    a, x = make((3, n), dt)
    check_sum(mx.sum(a, axis=-1), x.sum(-1), dt, np.sqrt(n))
    np.testing.assert_array_equal(to_np(mx.max(a, axis=1)), x.max(1).astype(np.float32))
    np.testing.assert_array_equal(to_np(mx.min(a, axis=1)), x.min(1).astype(np.float32))
    check_sum(mx.sum(a), x.sum(), dt, np.sqrt(3 * n))
    np.testing.assert_array_equal(to_np(mx.max(a)), np.float32(x.max()))
    np.testing.assert_array_equal(to_np(mx.min(a)), np.float32(x.min()))


@pytest.mark.parametrize("dt", DTS)
@pytest.mark.parametrize("shape", [(5, 1), (7, 17), (1100, 33), (2100, 5), (3, 300)], ids=str)
def test_column_reductions(dt, shape):
    a, x = make(shape, dt)
    check_sum(mx.sum(a, axis=0), x.sum(0), dt, np.sqrt(shape[0]))
    np.testing.assert_array_equal(to_np(mx.max(a, axis=0)), x.max(0).astype(np.float32))
    np.testing.assert_array_equal(to_np(mx.min(a, axis=0)), x.min(0).astype(np.float32))
    b, y = make((4,) + shape, dt)
    check_sum(mx.sum(b, axis=(0, 1)), y.sum((0, 1)), dt, np.sqrt(4 * shape[0]))


@pytest.mark.parametrize("n", [5, 16, 33, 70])
def test_nan_and_inf_propagate(n):
    x = RNG.standard_normal((4, n)).astype(np.float32)
    x[0, n - 1] = np.nan          # in the tail
    x[1, 0] = np.nan              # in the first vector
    x[2, n // 2] = np.inf
    x[3, n // 3] = -np.inf
    for dt in DTS:
        a = mx.array(x).astype(getattr(mx, dt))
        for op, ref in (("max", np.max), ("min", np.min), ("sum", np.sum)):
            got = to_np(getattr(mx, op)(a, axis=-1))
            exp = ref(x.astype(np.float64), axis=-1)
            np.testing.assert_array_equal(np.isnan(got), np.isnan(exp))
            fin = ~np.isnan(exp) & np.isinf(exp)
            np.testing.assert_array_equal(got[fin], exp[fin])


def test_strided_inputs():
    x = RNG.standard_normal((40, 50, 3)).astype(np.float32)
    a = mx.array(x)
    views = [(a.transpose(2, 0, 1), x.transpose(2, 0, 1)), (a[::3, 1:, ::2], x[::3, 1:, ::2]),
             (a[:, ::-1], x[:, ::-1]), (mx.broadcast_to(a[:1], x.shape), np.broadcast_to(x[:1], x.shape))]
    for v, xv in views:
        for axis in (0, 1, 2, -1, (0, 1), (1, 2), None):
            xn = xv.astype(np.float64)
            np.testing.assert_allclose(np.array(mx.sum(v, axis=axis)), xn.sum(axis=axis),
                                       rtol=1e-5, atol=1e-4)
            np.testing.assert_array_equal(np.array(mx.max(v, axis=axis)), xv.max(axis=axis))
            np.testing.assert_array_equal(np.array(mx.min(v, axis=axis)), xv.min(axis=axis))


def test_long_sums_stay_accurate():
    x = RNG.uniform(0.0, 1.0, size=1_000_003).astype(np.float32)
    ref = x.astype(np.float64).sum()
    got = mx.sum(mx.array(x)).item()
    assert abs(got - ref) / ref < 1e-6
    y = RNG.uniform(0.0, 1.0, size=(20_001, 3)).astype(np.float32)
    np.testing.assert_allclose(np.array(mx.sum(mx.array(y), axis=0)), y.astype(np.float64).sum(0),
                               rtol=1e-6)


def test_empty_and_keepdims():
    a = mx.zeros((0, 5))
    np.testing.assert_array_equal(np.array(mx.sum(a, axis=0)), np.zeros(5, np.float32))
    assert mx.sum(a, axis=1).shape == (0,)
    b, x = make((6, 19), "float32")
    got = mx.sum(b, axis=1, keepdims=True)
    assert got.shape == (6, 1)
    np.testing.assert_allclose(np.array(got), x.sum(1, keepdims=True), rtol=1e-6, atol=1e-6)
