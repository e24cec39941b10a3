"""Dispatch overhead: build and evaluate N dependent adds, per op, oxmlx vs mlx.

python benchmarks/overhead.py [--n 100000]
"""

import argparse
import importlib
import time


def run(mx, shape, n, reps=5):
    best = float("inf")
    for _ in range(reps):
        x = mx.zeros(shape)
        mx.eval(x)
        t0 = time.perf_counter()
        for _ in range(n):
            x = x + 1
        mx.eval(x)
        best = min(best, time.perf_counter() - t0)
        assert float(x.reshape(-1)[0].item()) == n
    return best / n * 1e6


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=100000)
    args = p.parse_args()
    libs = {"oxmlx": "oxmlx.core", "mlx": "mlx.core"}
    rows = []
    for shape, n in [((), args.n), ((16,), 1000)]:
        res = {}
        for name, mod in libs.items():
            try:
                res[name] = run(importlib.import_module(mod), shape, n)
            except ImportError:
                pass
        rows.append((shape, n, res))
    print(f"{'shape':>8} {'ops':>7} " + " ".join(f"{k + ' us/op':>12}" for k in libs))
    for shape, n, res in rows:
        print(f"{str(shape):>8} {n:>7} " + " ".join(f"{res.get(k, float('nan')):>12.2f}" for k in libs))


if __name__ == "__main__":
    main()
