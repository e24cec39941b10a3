"""Every path of the CPU reduce family (csrc/backend/cpu/reduce.cpp and the
per-ISA kernels of reduce_kernels.inc) against a float64 numpy oracle: row
reductions (one row at a time and four at a time, vector tails), long rows
split across threads, column reductions (four-row groups, the few-columns
super-row layout, pairwise row blocks, column and row thread splits),
(K0, R, K1) slabs, axis collapsing, and the copy path, for sum, prod, max
and min over float32/float16/bfloat16 (accumulated in float32), float64,
integers and bool. test_every_isa_and_thread_count reruns the file with each
ISA path forced (OXMLX_FAST_ISA) and other pool sizes (OXMLX_NUM_THREADS)."""

import math
import os
import subprocess
import sys

import numpy as np
import pytest

import oxmlx.core as mx
from conftest import TEST_BACKEND, to_np

RNG = np.random.default_rng(11)
FLOATS = ["float32", "float16", "bfloat16"]
EPS = {"float32": 2.0**-24, "float16": 2.0**-11, "bfloat16": 2.0**-8, "float64": 2.0**-53}
# On the mlx backend (upstream MLX) float32 sums run sequentially: their error
# grows like sqrt(n) per element instead of log(n).
SEQUENTIAL = TEST_BACKEND == "mlx"

ROW_LENGTHS = [1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 47, 100, 255, 256, 257, 511, 512, 513, 1000,
               2047, 2048, 2049, 4100]
ROW_COUNTS = [1, 3, 4, 6, 37]
COLUMN_SHAPES = [(1, 7), (3, 1), (4, 3), (5, 16), (7, 17), (37, 63), (130, 64), (129, 65),
                 (1100, 33), (2100, 5), (2100, 48), (300, 2), (20, 300), (3, 4100), (40, 129),
                 (1030, 1), (9, 1000), (33, 4097), (20, 3000)]
SLAB_SHAPES = [(3, 50, 7), (2, 1100, 33), (5, 8, 300), (40, 60, 20), (2, 2, 2), (3, 200, 1)]


def make(shape, dt, op):
    if op == "prod":  # near 1 so long products stay in range
        x = 1.0 + RNG.uniform(-0.02, 0.02, shape)
    else:
        x = RNG.standard_normal(shape)
    a = mx.array(x.astype(np.float32)).astype(getattr(mx, dt))
    if dt == "float64":  # (mx.array of a float64 numpy array is float32, as in MLX)
        a = mx.array(x, dtype=mx.float64)
    return a, to_np(a).astype(np.float64)


def check(op, got, x, axis, dt):
    """got (oxmlx) against the float64 reduction of x (the rounded inputs)."""
    ref = getattr(np, op)(x, axis=axis)
    g = to_np(got).astype(np.float64)
    assert g.shape == np.shape(ref), (g.shape, np.shape(ref))
    if op in ("max", "min"):
        np.testing.assert_array_equal(g, ref)
        return
    n = x.size // max(1, np.size(ref))
    acc_eps = EPS["float64" if dt == "float64" else "float32"]
    growth = 2 * math.sqrt(n) + 32 if SEQUENTIAL else 32 + math.log2(n + 1)
    out_eps = 2 * EPS[dt]
    if op == "sum":
        scale = np.sum(np.abs(x), axis=axis)
        tol = acc_eps * growth * scale + out_eps * np.abs(ref)
    else:  # prod: every multiply's rounding adds to the relative error (a random walk)
        tol = (acc_eps * (3 * math.sqrt(n) + 32) + out_eps) * np.abs(ref)
    err = np.abs(g - ref)
    assert np.all(err <= tol + 1e-30), f"max excess {np.max(err - tol)} ({op}, {dt}, n={n})"


@pytest.mark.parametrize("op", ["sum", "prod", "max", "min"])
@pytest.mark.parametrize("dt", FLOATS)
def test_rows(dt, op):
    for k in ROW_COUNTS:
        for n in ROW_LENGTHS:
            a, x = make((k, n), dt, op)
            check(op, getattr(mx, op)(a, axis=1), x, 1, dt)


@pytest.mark.parametrize("op", ["sum", "prod", "max", "min"])
@pytest.mark.parametrize("shape", [(30000,), (200003,), (1, 70001), (2, 70001), (3, 5000)],
                         ids=str)
def test_long_rows_split_across_threads(shape, op):
    for dt in ("float32", "bfloat16"):
        a, x = make(shape, dt, op)
        check(op, getattr(mx, op)(a, axis=-1), x, -1, dt)
        check(op, getattr(mx, op)(a), x, None, dt)


@pytest.mark.parametrize("op", ["sum", "prod", "max", "min"])
@pytest.mark.parametrize("dt", FLOATS)
def test_columns(dt, op):
    for shape in COLUMN_SHAPES:
        a, x = make(shape, dt, op)
        check(op, getattr(mx, op)(a, axis=0), x, 0, dt)


@pytest.mark.parametrize("op", ["sum", "prod", "max", "min"])
@pytest.mark.parametrize("dt", FLOATS + ["float64"])
def test_slabs_and_collapsed_axes(dt, op):
    for shape in SLAB_SHAPES:
        a, x = make(shape, dt, op)
        check(op, getattr(mx, op)(a, axis=1), x, 1, dt)
    # Adjacent reduced / kept axes merge; size-1 axes drop out.
    a, x = make((2, 1, 3, 1, 4, 5), dt, op)
    for axis in [(3, 4, 5), (0, 1, 2), (2, 3, 4), (1, 3), (0, 2, 4), (1,), (0, 1, 2, 3, 4, 5)]:
        check(op, getattr(mx, op)(a, axis=axis), x, axis, dt)
    a, x = make((6, 7, 9, 10), dt, op)
    for axis in [(2, 3), (0, 1), (1, 2), (0, 2), (1, 3), (0, 3), (0, 1, 3)]:
        check(op, getattr(mx, op)(a, axis=axis), x, axis, dt)


@pytest.mark.parametrize("dt", ["float32", "bfloat16", "float64", "int32", "bool_"])
def test_transposed_dense_inputs(dt):
    # Reduced in memory order without a copy when the kept axes keep their
    # order in memory, else copied; both must agree with numpy.
    for shape, perm in [((300, 170), (1, 0)), ((6, 7, 900), (2, 0, 1)), ((6, 7, 900), (1, 2, 0)),
                        ((20, 1, 30, 40), (3, 1, 2, 0)), ((4, 5, 6, 7), (0, 3, 2, 1))]:
        if dt == "bool_":
            x = RNG.random(shape) < 0.5
            a = mx.array(x)
        else:
            a, x = make(shape, dt if dt != "int32" else "float32", "sum")
            if dt == "int32":
                x = np.round(x * 10)
                a = mx.array(x.astype(np.int32))
        at, xt = mx.transpose(a, perm), np.transpose(x, perm)
        nd = len(shape)
        axes = [None] + list(range(nd)) + [(i, j) for i in range(nd) for j in range(i + 1, nd)]
        for axis in axes:
            if dt == "bool_":
                np.testing.assert_array_equal(np.array(mx.sum(at, axis=axis)), np.sum(xt, axis=axis))
                np.testing.assert_array_equal(np.array(mx.any(at, axis=axis)), np.any(xt, axis=axis))
                continue
            if dt == "int32":
                np.testing.assert_array_equal(np.array(mx.sum(at, axis=axis)),
                                              np.sum(xt, axis=axis).astype(np.int32))
                np.testing.assert_array_equal(np.array(mx.max(at, axis=axis)),
                                              np.max(xt, axis=axis).astype(np.int32))
                continue
            for op in ("sum", "max", "min"):
                check(op, getattr(mx, op)(at, axis=axis), xt, axis, dt)


@pytest.mark.parametrize("shape,axis", [((37, 300), 0), ((37, 300), 1), ((1100, 33), 0),
                                        ((5, 2100), 1), ((4, 9, 17), 1), ((600, 7), 1)], ids=str)
def test_nan_and_inf_in_every_layout(shape, axis):
    x = RNG.standard_normal(shape).astype(np.float32)
    flat = x.reshape(-1)
    for i in RNG.choice(flat.size, 6, replace=False)[:3]:
        flat[i] = np.nan
    for i in RNG.choice(flat.size, 6, replace=False)[3:]:
        flat[i] = np.inf if i % 2 else -np.inf
    # prod over values near 1: no partial product underflows to 0 (0 * inf
    # would make the NaN depend on the order).
    near1 = np.where(np.isfinite(x), 1 + 0.01 * x, x)
    for dt in FLOATS:
        for op in ("max", "min", "sum", "prod"):
            a = mx.array(near1 if op == "prod" else x).astype(getattr(mx, dt))
            xr = to_np(a).astype(np.float64)
            got = to_np(getattr(mx, op)(a, axis=axis)).astype(np.float64)
            with np.errstate(invalid="ignore", over="ignore"):
                ref = getattr(np, op)(xr, axis=axis)
            np.testing.assert_array_equal(np.isnan(got), np.isnan(ref), err_msg=f"{op} {dt}")
            if op in ("max", "min"):
                np.testing.assert_array_equal(got, ref)
            else:
                inf = np.isinf(ref)
                np.testing.assert_array_equal(got[inf], ref[inf])


@pytest.mark.parametrize("dt", ["int8", "uint8", "int16", "int32", "uint32", "int64"])
def test_integers_exact(dt):
    info = np.iinfo(dt)
    lo, hi = max(info.min, -50), min(info.max, 50)
    for shape, axis in [((37, 300), 0), ((37, 300), 1), ((1100, 33), 0), ((70001,), None),
                        ((4, 9, 17), 1), ((6, 7, 9, 10), (0, 2)), ((20, 300), 0)]:
        x = RNG.integers(lo, hi + 1, shape).astype(dt)
        a = mx.array(x)
        for op in ("sum", "max", "min"):
            got = np.array(getattr(mx, op)(a, axis=axis))
            np.testing.assert_array_equal(got, getattr(np, op)(x, axis=axis).astype(got.dtype))
        small = np.clip(x, -2, 2).astype(dt) if info.min < 0 else np.clip(x, 0, 2).astype(dt)
        got = np.array(mx.prod(mx.array(small[..., :5]), axis=-1))
        np.testing.assert_array_equal(got, np.prod(small[..., :5].astype(np.int64), axis=-1))


def test_bool_reductions():
    for shape, axis in [((37, 300), 0), ((37, 300), 1), ((1100, 33), 0), ((70001,), None),
                        ((4, 9, 17), (0, 2))]:
        x = RNG.random(shape) < 0.5
        a = mx.array(x)
        got = np.array(mx.sum(a, axis=axis))
        assert got.dtype == np.int32
        np.testing.assert_array_equal(got, np.sum(x, axis=axis))
        np.testing.assert_array_equal(np.array(mx.any(a, axis=axis)), np.any(x, axis=axis))
        np.testing.assert_array_equal(np.array(mx.all(a, axis=axis)), np.all(x, axis=axis))
        ones = np.ones(shape, bool)
        ones.reshape(-1)[-1] = False
        np.testing.assert_array_equal(np.array(mx.all(mx.array(ones), axis=axis)),
                                      np.all(ones, axis=axis))


def test_mean_over_every_layout():
    for shape, axis in [((37, 300), 0), ((37, 300), 1), ((2, 1100, 33), 1), ((70001,), None),
                        ((6, 7, 9, 10), (0, 2))]:
        for dt in FLOATS:
            a, x = make(shape, dt, "sum")
            got = to_np(mx.mean(a, axis=axis)).astype(np.float64)
            ref = np.mean(x, axis=axis)
            n = x.size // np.size(ref)
            growth = 2 * math.sqrt(n) + 32 if SEQUENTIAL else 32 + math.log2(n + 1)
            tol = 2**-24 * growth * np.mean(np.abs(x), axis=axis) + 4 * EPS[dt] * np.abs(ref)
            assert np.all(np.abs(got - ref) <= tol), (shape, axis, dt)


@pytest.mark.parametrize("isa,threads", [("generic", "1"), ("generic", "3"), ("avx2", "2"),
                                         ("avx2", "5"), ("avx512", "1"), ("avx512", "3")])
def test_every_isa_and_thread_count(isa, threads):
    """Reruns this file with one ISA path forced (a path the CPU lacks falls
    back) and another pool size, so every split of rows/columns runs."""
    env = dict(os.environ, OXMLX_FAST_ISA=isa, OXMLX_NUM_THREADS=threads)
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                        __file__, "-k", "not every_isa"], env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
