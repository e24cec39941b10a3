"""Quick conv2d throughput comparison (oxmlx vs mlx vs torch, CPU). Not a test.

python benchmarks/conv_bench.py   (with OXMLX_DEV_BUILD / PYTHONPATH set)
OXMLX_NUM_THREADS=1 also pins torch to one thread and times with process CPU
time instead of wall time (a fair figure on a shared, oversubscribed machine,
where wall time mostly measures other processes' time slices).
"""
import os
import time

import numpy as np


CLOCK = time.process_time if os.environ.get("OXMLX_NUM_THREADS") == "1" else time.perf_counter


def bench(fn, reps=5):
    fn()
    best = 1e9
    for _ in range(reps):
        t = CLOCK()
        fn()
        best = min(best, CLOCK() - t)
    return best


def main():
    import oxmlx.core as ox
    try:
        import mlx.core as mx
    except ImportError:
        mx = None
    try:
        import torch

        if os.environ.get("OXMLX_NUM_THREADS"):
            torch.set_num_threads(int(os.environ["OXMLX_NUM_THREADS"]))
    except ImportError:
        torch = None

    cases = [  # N, H, W, C, O, k, stride, pad, groups
        (8, 56, 56, 64, 64, 3, 1, 1, 1),
        (8, 56, 56, 64, 256, 1, 1, 0, 1),
        (8, 28, 28, 128, 128, 3, 2, 1, 1),
        (8, 56, 56, 64, 64, 3, 1, 1, 64),
    ]
    rng = np.random.default_rng(0)
    for dt in ["float32", "bfloat16"]:
        for N, H, W, C, O, k, s, p, g in cases:
            x = rng.standard_normal((N, H, W, C)).astype(np.float32)
            w = rng.standard_normal((O, k, k, C // g)).astype(np.float32)
            Ho = (H + 2 * p - k) // s + 1
            flops = 2.0 * N * Ho * Ho * O * k * k * (C // g)
            xo, wo = ox.array(x).astype(getattr(ox, dt)), ox.array(w).astype(getattr(ox, dt))
            t_ox = bench(lambda: ox.eval(ox.conv2d(xo, wo, stride=s, padding=p, groups=g)))
            line = (f"{dt:9s} N={N} {H}x{W}x{C}->{O} k={k} s={s} g={g}: "
                    f"oxmlx {flops / t_ox / 1e9:7.1f}")
            if mx is not None:
                xm = mx.array(x).astype(getattr(mx, dt))
                wm = mx.array(w).astype(getattr(mx, dt))
                with mx.stream(mx.cpu):
                    t_mx = bench(lambda: mx.eval(mx.conv2d(xm, wm, stride=s, padding=p, groups=g)),
                                 reps=2)
                line += f"  mlx {flops / t_mx / 1e9:7.1f}"
            if torch is not None:
                tdt = getattr(torch, dt)
                xt = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous().to(tdt)
                wt = torch.from_numpy(w).permute(0, 3, 1, 2).contiguous().to(tdt)
                with torch.no_grad():
                    t_th = bench(lambda: torch.nn.functional.conv2d(xt, wt, stride=s, padding=p,
                                                                    groups=g))
                line += f"  torch {flops / t_th / 1e9:7.1f}"
            print(line + " GFLOP/s", flush=True)


if __name__ == "__main__":
    main()
