"""exp(x) * 2 + x * x - 1 over 10^7 float32: oxmlx compiled and uncompiled vs
numpy, interleaved, per kernel ISA.

    OXMLX_DEV_BUILD=$PWD/build/dev PYTHONPATH=python python benchmarks/compile_chain.py
    ... compile_chain.py --isa all        # also with OXMLX_FAST_ISA=avx512, avx2, generic

Each round runs every variant once, in turn, so that the load of a shared
machine falls on all of them alike. The table gives the median and the best
wall time over --repeat rounds (ms) and the process CPU time per run (all
threads). The ratios are numpy's over oxmlx's, from the same run: compiled
(one fused kernel, one pass over memory; target >= 5x) and uncompiled (one
kernel per op; target >= 1.5x), and compiled vs uncompiled (which must not
be below 1x on any ISA). Each forced ISA runs in a child process (the ISA is
chosen once per process; a path the CPU lacks falls back to the native one).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np


def chain(m):
    return lambda x: m.exp(x) * 2 + x * x - 1


def measure(n, repeat):
    import oxmlx.core as mx

    xn = np.random.default_rng(0).uniform(-2, 2, n).astype(np.float32)
    x = mx.array(xn)
    mx.eval(x)
    f = chain(mx)
    cf = mx.compile(f)
    fn = chain(np)
    ref = fn(xn.astype(np.float64))
    np.testing.assert_allclose(np.array(cf(x)), ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.array(f(x)), ref, rtol=1e-5, atol=1e-5)
    variants = {
        "numpy": lambda: fn(xn),
        "oxmlx uncompiled": lambda: mx.eval(f(x)),
        "oxmlx compiled": lambda: mx.eval(cf(x)),
    }
    wall = {k: [] for k in variants}
    cpu = {k: 0.0 for k in variants}
    for v in variants.values():
        v()  # warm up (and, for compile, trace)
    for _ in range(repeat):
        for k, v in variants.items():
            c = time.process_time()
            t = time.perf_counter()
            v()
            wall[k].append((time.perf_counter() - t) * 1e3)
            cpu[k] += (time.process_time() - c) * 1e3
    return {k: (statistics.median(wall[k]), min(wall[k]), cpu[k] / repeat) for k in variants}


def report(isa, rows, n, repeat):
    print(f"\nexp(x)*2 + x*x - 1, n = {n}, float32, {repeat} interleaved rounds, ISA: {isa}")
    print(f"{'':18s} {'median ms':>10s} {'best ms':>9s} {'cpu ms/run':>11s}")
    for k, (m, b, c) in rows.items():
        print(f"{k:18s} {m:10.2f} {b:9.2f} {c:11.2f}")
    nm, nb, nc = rows["numpy"]
    um, ub, uc = rows["oxmlx uncompiled"]
    cm, cb, cc = rows["oxmlx compiled"]
    print(f"compiled   vs numpy: {nm / cm:5.1f}x median, {nb / cb:5.1f}x best, {nc / cc:5.1f}x cpu  (target 5x)")
    print(f"uncompiled vs numpy: {nm / um:5.1f}x median, {nb / ub:5.1f}x best, {nc / uc:5.1f}x cpu  (target 1.5x)")
    print(f"compiled vs uncompiled: {um / cm:5.1f}x median, {ub / cb:5.1f}x best, {uc / cc:5.1f}x cpu")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10**7)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--isa", default="native",
                    help="native (default), all, or a comma list of avx512,avx2,generic")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # child mode
    args = ap.parse_args()
    if args.json:
        print(json.dumps(measure(args.n, args.repeat)))
        return
    isas = ["native"] if args.isa == "native" else (
        ["native", "avx512", "avx2", "generic"] if args.isa == "all" else args.isa.split(","))
    for isa in isas:
        if isa == "native":
            rows = measure(args.n, args.repeat)
        else:
            env = dict(os.environ, OXMLX_FAST_ISA=isa)
            out = subprocess.run([sys.executable, __file__, "--json", "--n", str(args.n), "--repeat",
                                  str(args.repeat)], env=env, capture_output=True, text=True, check=True)
            rows = json.loads(out.stdout.strip().splitlines()[-1])
        report(isa, rows, args.n, args.repeat)


if __name__ == "__main__":
    main()
