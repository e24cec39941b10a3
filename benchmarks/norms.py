"""Softmax, layer_norm and sum over a 4096 x 4096 float32 array: oxmlx vs
torch (CPU) and numpy, in one run. Prints a table of median times and the
ratios torch/oxmlx and numpy/oxmlx (> 1: oxmlx is faster).

    OXMLX_DEV_BUILD=$PWD/build/dev PYTHONPATH=python python benchmarks/norms.py [--n 4096]
"""

import argparse
import time

import numpy as np

import oxmlx.core as mx

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None


def bench(fn, reps, warmup=2):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def np_softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def np_layer_norm(x, w, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    v = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(v + eps) * w + b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--reps", type=int, default=15)
    args = ap.parse_args()
    n = args.n
    rng = np.random.default_rng(0)
    xn = rng.standard_normal((n, n), dtype=np.float32)
    wn = rng.standard_normal(n, dtype=np.float32)
    bn = rng.standard_normal(n, dtype=np.float32)
    xm, wm, bm = mx.array(xn), mx.array(wn), mx.array(bn)
    mx.eval(xm, wm, bm)
    if torch is not None:
        xt, wt, bt = torch.from_numpy(xn), torch.from_numpy(wn), torch.from_numpy(bn)
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")

    def ev(f):
        return lambda: mx.eval(f())

    cases = [
        ("softmax(axis=-1)",
         ev(lambda: mx.softmax(xm, axis=-1)),
         (lambda: torch.softmax(xt, -1)) if torch else None,
         lambda: np_softmax(xn)),
        ("layer_norm(last)",
         ev(lambda: mx.fast.layer_norm(xm, wm, bm, 1e-5)),
         (lambda: torch.nn.functional.layer_norm(xt, (n,), wt, bt, 1e-5)) if torch else None,
         lambda: np_layer_norm(xn, wn, bn)),
        ("rms_norm(last)",
         ev(lambda: mx.fast.rms_norm(xm, wm, 1e-5)),
         (lambda: torch.nn.functional.rms_norm(xt, (n,), wt, 1e-5))
         if torch is not None and hasattr(torch.nn.functional, "rms_norm") else None,
         lambda: xn / np.sqrt((xn * xn).mean(-1, keepdims=True) + 1e-5) * wn),
        ("sum(axis=0)",
         ev(lambda: mx.sum(xm, axis=0)),
         (lambda: xt.sum(0)) if torch else None,
         lambda: xn.sum(0)),
        ("sum(axis=1)",
         ev(lambda: mx.sum(xm, axis=1)),
         (lambda: xt.sum(1)) if torch else None,
         lambda: xn.sum(1)),
        ("sum(all)",
         ev(lambda: mx.sum(xm)),
         (lambda: xt.sum()) if torch else None,
         lambda: xn.sum()),
    ]
    print(f"{n}x{n} float32, median of {args.reps}")
    print(f"{'op':<18}{'oxmlx ms':>10}{'torch ms':>10}{'numpy ms':>10}{'torch/ox':>10}{'numpy/ox':>10}")
    for name, fo, ft, fnp in cases:
        to = bench(fo, args.reps)
        tt = bench(ft, args.reps) if ft else float("nan")
        tn = bench(fnp, max(3, args.reps // 3))
        print(f"{name:<18}{to * 1e3:>10.2f}{tt * 1e3:>10.2f}{tn * 1e3:>10.2f}"
              f"{tt / to:>10.2f}{tn / to:>10.2f}")


if __name__ == "__main__":
    main()
