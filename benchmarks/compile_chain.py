"""exp(x) * 2 + x * x - 1 over 10^7 float32: oxmlx compiled and uncompiled vs
numpy (and torch, where installed), interleaved.

    OXMLX_DEV_BUILD=$PWD/build/dev PYTHONPATH=python python benchmarks/compile_chain.py

Each round runs every variant once, in turn, so that the load of a shared
machine falls on all of them alike; the table gives the median and the best
wall time over --repeat rounds (ms) and the process CPU time per run (all
threads). The ratios at the end are numpy's median over oxmlx's, for the two
targets: compiled (one fused kernel, one pass over memory; target >= 5x) and
uncompiled (one kernel per op; target >= 1.5x).
"""

import argparse
import statistics
import time

import numpy as np

import oxmlx.core as mx


def chain(m):
    return lambda x: m.exp(x) * 2 + x * x - 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10**7)
    ap.add_argument("--repeat", type=int, default=41)
    ap.add_argument("--no-torch", action="store_true")
    args = ap.parse_args()
    xn = np.random.default_rng(0).uniform(-2, 2, args.n).astype(np.float32)
    x = mx.array(xn)
    mx.eval(x)
    f = chain(mx)
    cf = mx.compile(f)
    fn = chain(np)
    np.testing.assert_allclose(np.array(cf(x)), fn(xn), rtol=1e-5, atol=1e-5)
    same = np.array_equal(np.array(cf(x)), np.array(f(x)))
    variants = {
        "numpy": lambda: fn(xn),
        "oxmlx uncompiled": lambda: mx.eval(f(x)),
        "oxmlx compiled": lambda: mx.eval(cf(x)),
    }
    if not args.no_torch:
        try:
            import torch

            xt = torch.from_numpy(xn)
            ft = chain(torch)
            variants["torch"] = lambda: ft(xt)
        except ImportError:
            pass
    wall = {k: [] for k in variants}
    cpu = {k: 0.0 for k in variants}
    for fnv in variants.values():
        fnv()  # warm up (and, for compile, trace)
    for _ in range(args.repeat):
        for k, fnv in variants.items():
            c = time.process_time()
            t = time.perf_counter()
            fnv()
            wall[k].append((time.perf_counter() - t) * 1e3)
            cpu[k] += (time.process_time() - c) * 1e3
    print(f"exp(x)*2 + x*x - 1, n = {args.n}, float32, {args.repeat} interleaved rounds"
          f" (compiled == uncompiled bit for bit: {same})")
    print(f"{'':18s} {'median ms':>10s} {'best ms':>9s} {'cpu ms/run':>11s}")
    med = {k: statistics.median(v) for k, v in wall.items()}
    for k in variants:
        print(f"{k:18s} {med[k]:10.2f} {min(wall[k]):9.2f} {cpu[k] / args.repeat:11.2f}")
    nm = med["numpy"]
    cm, um = med["oxmlx compiled"], med["oxmlx uncompiled"]
    print(f"compiled   vs numpy: {nm / cm:.2f}x median, {min(wall['numpy']) / min(wall['oxmlx compiled']):.2f}x best"
          "  (target >= 5x)")
    print(f"uncompiled vs numpy: {nm / um:.2f}x median, {min(wall['numpy']) / min(wall['oxmlx uncompiled']):.2f}x best"
          "  (target >= 1.5x)")
    # Per-round ratios: robust when the machine's load changes during the run.
    rc = statistics.median(a / b for a, b in zip(wall["numpy"], wall["oxmlx compiled"]))
    ru = statistics.median(a / b for a, b in zip(wall["numpy"], wall["oxmlx uncompiled"]))
    print(f"median of per-round ratios: compiled {rc:.2f}x, uncompiled {ru:.2f}x")
    if "torch" in variants:
        print(f"compiled vs torch: {med['torch'] / cm:.2f}x, uncompiled vs torch: {med['torch'] / um:.2f}x")


if __name__ == "__main__":
    main()
