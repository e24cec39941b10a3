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
from types import SimpleNamespace

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


def adapter(lib, mod):
    """The calls the cases make, for one library: numpy, torch, or the shared
    API of oxmlx and mlx. ``run(*results)`` completes lazy results (mx.eval;
    numpy and torch compute eagerly)."""
    if lib == "numpy":
        return SimpleNamespace(
            array=lambda x: x, index=lambda x: x, run=lambda *ys: None,
            maximum=np.maximum, exp=np.exp, contiguous=np.ascontiguousarray,
            dtypes={"f16": np.float16, "f32": np.float32, "i32": np.int32},
            cast=lambda x, dt: x.astype(dt),
            take=lambda a, i, axis=None: np.take(a, i, axis=axis),
            cumsum=lambda a, axis=None: np.cumsum(a, axis=axis),
        )
    if lib == "torch":
        t = mod
        return SimpleNamespace(
            array=t.from_numpy, index=lambda x: t.from_numpy(x).long(), run=lambda *ys: None,
            maximum=t.maximum, exp=t.exp, contiguous=lambda x: x.contiguous(),
            dtypes={"f16": t.float16, "f32": t.float32, "bf16": t.bfloat16, "i32": t.int32},
            cast=lambda x, dt: x.to(dt),
            take=lambda a, i, axis=None: t.take(a, i) if axis is None else t.index_select(a, axis, i),
            cumsum=lambda a, axis=None: t.cumsum(a, 0 if axis is None else axis),
        )
    mx = mod
    return SimpleNamespace(
        array=mx.array, index=mx.array, run=mx.eval,
        maximum=mx.maximum, exp=mx.exp, contiguous=mx.contiguous,
        dtypes={"f16": mx.float16, "f32": mx.float32, "bf16": mx.bfloat16, "i32": mx.int32},
        cast=lambda x, dt: x.astype(dt),
        take=lambda a, i, axis=None: mx.take(a, i, axis=axis),
        cumsum=lambda a, axis=None: mx.cumsum(a, axis=axis),
    )


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
    flat = vi & (N // 2)
    L = adapter(lib, mod)
    run, dt = L.run, L.dtypes
    v, w, A, B, row, col, vi = (L.array(x) for x in (v, w, A, B, row, col, vi))
    idx, flat = L.index(idx), L.index(flat)
    vh = L.cast(v, dt["f16"])
    run(v, w, A, B, row, col, vi, idx, flat, vh)
    out = {
        "add 1e7": lambda: run(v + w),
        "mul scalar 1e7": lambda: run(v * 2.0),
        "add row-bcast 4096^2": lambda: run(A + row),
        "add col-bcast 4096^2": lambda: run(A + col),
        "add A + B.T 4096^2": lambda: run(A + B.T),
        "maximum 1e7": lambda: run(L.maximum(v, w)),
        "less 1e7": lambda: run(v < w),
        "chain exp(x)*2+x*x-1": lambda: run(L.exp(v) * 2 + v * v - 1),
        "contiguous(A.T) 4096^2": lambda: run(L.contiguous(A.T)),
        "astype f32->f16 1e7": lambda: run(L.cast(v, dt["f16"])),
        "astype f16->f32 1e7": lambda: run(L.cast(vh, dt["f32"])),
        "astype f32->bf16 1e7": lambda: run(L.cast(v, dt["bf16"])),
        "astype f32->i32 1e7": lambda: run(L.cast(v, dt["i32"])),
        "astype i32->f32 1e7": lambda: run(L.cast(vi, dt["f32"])),
        "take rows axis0 4096^2": lambda: run(L.take(A, idx, axis=0)),
        "take cols axis1 4096^2": lambda: run(L.take(A, idx, axis=1)),
        "take flat 1e7": lambda: run(L.take(v, flat)),
        "cumsum 1e7": lambda: run(L.cumsum(v)),
        "cumsum axis0 4096^2": lambda: run(L.cumsum(A, axis=0)),
        "cumsum axis1 4096^2": lambda: run(L.cumsum(A, axis=1)),
    }
    if "bf16" not in dt:  # numpy has no bfloat16
        del out["astype f32->bf16 1e7"]
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
