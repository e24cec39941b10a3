"""exp(x) * 2 + x * x - 1 over 10^7 float32: compiled vs uncompiled vs numpy.

    OXMLX_DEV_BUILD=$PWD/build/dev PYTHONPATH=python python benchmarks/compile_chain.py

Reports the best and the median of --repeat runs (ms) of each variant; the
compiled function runs as one fused kernel (one pass over memory).
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
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t) * 1e3)
    return min(ts), statistics.median(ts)


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
    print(f"{'':18s} {'best ms':>9s} {'median ms':>10s}")
    for k, (b, m) in rows.items():
        print(f"{k:18s} {b:9.2f} {m:10.2f}")
    nb, nm = rows["numpy"]
    cb, cm = rows["oxmlx compiled"]
    ub, um = rows["oxmlx uncompiled"]
    print(f"compiled vs numpy: {nb / cb:.1f}x (best), {nm / cm:.1f}x (median)")
    print(f"compiled vs uncompiled: {ub / cb:.1f}x (best), {um / cm:.1f}x (median)")


if __name__ == "__main__":
    main()
