"""exp(x) * 2 + x * x - 1 over 10^7 float32: compiled vs uncompiled vs numpy.

    OXMLX_DEV_BUILD=$PWD/build/dev PYTHONPATH=python python benchmarks/compile_chain.py

Reports the best and the median wall time of --repeat runs (ms) of each
variant, and the process CPU time per run (all threads; robust when other
processes share the cores, which makes wall times noisy). The compiled
function runs as one fused kernel (one pass over memory).
"""

import argparse
import statistics
import time

import numpy as np

import oxmlx.core as mx


def chain(m):
    return lambda x: m.exp(x) * 2 + x * x - 1


def timeit(fn, repeat):
    fn()  # warm up (and, for compile, trace)
    ts = []
    c0 = time.process_time()
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t) * 1e3)
    cpu = (time.process_time() - c0) * 1e3 / repeat
    return min(ts), statistics.median(ts), cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10**7)
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    xn = np.random.default_rng(0).uniform(-2, 2, args.n).astype(np.float32)
    x = mx.array(xn)
    mx.eval(x)
    f = chain(mx)
    cf = mx.compile(f)
    fn = chain(np)
    np.testing.assert_allclose(np.array(cf(x)), fn(xn), rtol=1e-5, atol=1e-5)
    rows = {
        "numpy": timeit(lambda: fn(xn), args.repeat),
        "oxmlx uncompiled": timeit(lambda: mx.eval(f(x)), args.repeat),
        "oxmlx compiled": timeit(lambda: mx.eval(cf(x)), args.repeat),
    }
    print(f"exp(x)*2 + x*x - 1, n = {args.n}, float32, {args.repeat} runs")
    print(f"{'':18s} {'best ms':>9s} {'median ms':>10s} {'cpu ms/run':>11s}")
    for k, (b, m, c) in rows.items():
        print(f"{k:18s} {b:9.2f} {m:10.2f} {c:11.2f}")
    nb, nm, nc = rows["numpy"]
    cb, cm, cc = rows["oxmlx compiled"]
    ub, um, uc = rows["oxmlx uncompiled"]
    print(f"compiled vs numpy: {nb / cb:.1f}x (best wall), {nm / cm:.1f}x (median wall), {nc / cc:.1f}x (cpu)")
    print(f"compiled vs uncompiled: {ub / cb:.1f}x (best wall), {um / cm:.1f}x (median wall), {uc / cc:.1f}x (cpu)")


if __name__ == "__main__":
    main()
