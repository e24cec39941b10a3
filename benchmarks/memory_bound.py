"""Memory-bound CPU kernels: oxmlx vs numpy vs torch (vs mlx) in one run.

Binary ops with broadcasting and mixed strides, an uncompiled elementwise
chain, transposed copies, dtype casts, gathers and scans, on 10^7-element f32
vectors and 4096x4096 f32 matrices. Every entry is the best of --reps runs
in milliseconds (timings on a shared machine are noisy: compare the ratios of
one run). The last column is numpy's time over oxmlx's (> 1: oxmlx faster).

python benchmarks/memory_bound.py [--reps 7] [--filter add]
"""

import argparse
import time

import numpy as np

N = 10**7
M = 4096


def best_of(fn, reps):
    fn()
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def cases(lib, mod):
    """name -> zero-argument callable running the case to completion."""
    rng = np.random.default_rng(0)
    v = rng.standard_normal(N, dtype=np.float32)
    w = rng.standard_normal(N, dtype=np.float32)
    A = rng.standard_normal((M, M), dtype=np.float32)
    B = rng.standard_normal((M, M), dtype=np.float32)
    row = rng.standard_normal(M, dtype=np.float32)
    col = rng.standard_normal((M, 1), dtype=np.float32)
    idx = rng.integers(0, M, M).astype(np.int32)
    vi = (v * 100).astype(np.int32)
    out = {}
    if lib == "numpy":
        vh = v.astype(np.float16)
        out.update({
            "add 1e7": lambda: v + w,
            "mul scalar 1e7": lambda: v * 2.0,
            "add row-bcast 4096^2": lambda: A + row,
            "add col-bcast 4096^2": lambda: A + col,
            "add A + B.T 4096^2": lambda: A + B.T,
            "maximum 1e7": lambda: np.maximum(v, w),
            "less 1e7": lambda: v < w,
            "chain exp(x)*2+x*x-1": lambda: np.exp(v) * 2 + v * v - 1,
            "contiguous(A.T) 4096^2": lambda: np.ascontiguousarray(A.T),
            "astype f32->f16 1e7": lambda: v.astype(np.float16),
            "astype f16->f32 1e7": lambda: vh.astype(np.float32),
            "astype f32->i32 1e7": lambda: v.astype(np.int32),
            "astype i32->f32 1e7": lambda: vi.astype(np.float32),
            "take rows axis0 4096^2": lambda: np.take(A, idx, axis=0),
            "take cols axis1 4096^2": lambda: np.take(A, idx, axis=1),
            "take flat 1e7": lambda: np.take(v, vi & (N // 2)),
            "cumsum 1e7": lambda: np.cumsum(v),
            "cumsum axis0 4096^2": lambda: np.cumsum(A, axis=0),
            "cumsum axis1 4096^2": lambda: np.cumsum(A, axis=1),
        })
        return out
    if lib == "torch":
        t = mod
        tv, tw, tA, tB = (t.from_numpy(x) for x in (v, w, A, B))
        trow, tcol = t.from_numpy(row), t.from_numpy(col)
        tidx, tvi = t.from_numpy(idx).long(), t.from_numpy(vi)
        tvh, tflat = tv.half(), (tvi & (N // 2)).long()
        out.update({
            "add 1e7": lambda: tv + tw,
            "mul scalar 1e7": lambda: tv * 2.0,
            "add row-bcast 4096^2": lambda: tA + trow,
            "add col-bcast 4096^2": lambda: tA + tcol,
            "add A + B.T 4096^2": lambda: tA + tB.T,
            "maximum 1e7": lambda: t.maximum(tv, tw),
            "less 1e7": lambda: tv < tw,
            "chain exp(x)*2+x*x-1": lambda: t.exp(tv) * 2 + tv * tv - 1,
            "contiguous(A.T) 4096^2": lambda: tA.T.contiguous(),
            "astype f32->f16 1e7": lambda: tv.half(),
            "astype f16->f32 1e7": lambda: tvh.float(),
            "astype f32->bf16 1e7": lambda: tv.bfloat16(),
            "astype f32->i32 1e7": lambda: tv.int(),
            "astype i32->f32 1e7": lambda: tvi.float(),
            "take rows axis0 4096^2": lambda: t.index_select(tA, 0, tidx),
            "take cols axis1 4096^2": lambda: t.index_select(tA, 1, tidx),
            "take flat 1e7": lambda: t.take(tv, tflat),
            "cumsum 1e7": lambda: t.cumsum(tv, 0),
            "cumsum axis0 4096^2": lambda: t.cumsum(tA, 0),
            "cumsum axis1 4096^2": lambda: t.cumsum(tA, 1),
        })
        return out
    # oxmlx / mlx: same API; each callable evaluates its result.
    mx = mod
    xv, xw, xA, xB = (mx.array(x) for x in (v, w, A, B))
    xrow, xcol, xidx, xvi = mx.array(row), mx.array(col), mx.array(idx), mx.array(vi)
    xvh, xflat = xv.astype(mx.float16), mx.array(vi & (N // 2))
    mx.eval(xv, xw, xA, xB, xrow, xcol, xidx, xvi, xvh, xflat)
    ev = mx.eval

    out.update({
        "add 1e7": lambda: ev(xv + xw),
        "mul scalar 1e7": lambda: ev(xv * 2.0),
        "add row-bcast 4096^2": lambda: ev(xA + xrow),
        "add col-bcast 4096^2": lambda: ev(xA + xcol),
        "add A + B.T 4096^2": lambda: ev(xA + xB.T),
        "maximum 1e7": lambda: ev(mx.maximum(xv, xw)),
        "less 1e7": lambda: ev(xv < xw),
        "chain exp(x)*2+x*x-1": lambda: ev(mx.exp(xv) * 2 + xv * xv - 1),
        "contiguous(A.T) 4096^2": lambda: ev(mx.contiguous(xA.T)),
        "astype f32->f16 1e7": lambda: ev(xv.astype(mx.float16)),
        "astype f16->f32 1e7": lambda: ev(xvh.astype(mx.float32)),
        "astype f32->bf16 1e7": lambda: ev(xv.astype(mx.bfloat16)),
        "astype f32->i32 1e7": lambda: ev(xv.astype(mx.int32)),
        "astype i32->f32 1e7": lambda: ev(xvi.astype(mx.float32)),
        "take rows axis0 4096^2": lambda: ev(mx.take(xA, xidx, axis=0)),
        "take cols axis1 4096^2": lambda: ev(mx.take(xA, xidx, axis=1)),
        "take flat 1e7": lambda: ev(mx.take(xv, xflat)),
        "cumsum 1e7": lambda: ev(mx.cumsum(xv)),
        "cumsum axis0 4096^2": lambda: ev(mx.cumsum(xA, axis=0)),
        "cumsum axis1 4096^2": lambda: ev(mx.cumsum(xA, axis=1)),
    })
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--filter", default="")
    p.add_argument("--no-mlx", action="store_true")
    args = p.parse_args()

    libs = [("oxmlx", "oxmlx.core"), ("numpy", "numpy"), ("torch", "torch")]
    if not args.no_mlx:
        libs.append(("mlx", "mlx.core"))
    results, names = {}, []
    for lib, modname in libs:
        try:
            mod = __import__(modname, fromlist=["_"])
        except ImportError:
            continue
        cs = cases(lib, mod)
        for name, fn in cs.items():
            if args.filter not in name:
                continue
            if name not in names:
                names.append(name)
            results[(lib, name)] = best_of(fn, args.reps)
        del cs
    present = [lib for lib, _ in libs if any((lib, n) in results for n in names)]
    head = f"{'case (ms, best of %d)' % args.reps:<26}" + "".join(f"{lib:>9}" for lib in present)
    print(head + f"{'np/ox':>8}")
    for n in names:
        cells = "".join(
            f"{results[(lib, n)]:>9.2f}" if (lib, n) in results else f"{'-':>9}" for lib in present)
        ratio = ""
        if ("numpy", n) in results and ("oxmlx", n) in results:
            ratio = f"{results[('numpy', n)] / results[('oxmlx', n)]:>8.2f}"
        print(f"{n:<26}{cells}{ratio}")


if __name__ == "__main__":
    main()
