"""mx.fast.scaled_dot_product_attention vs the composed attention in oxmlx
(matmul, softmax, matmul) and torch's scaled_dot_product_attention (CPU).

    OXMLX_DEV_BUILD=$PWD/build/dev PYTHONPATH=python python benchmarks/attention.py
"""

import time

import numpy as np

import oxmlx.core as mx

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None


def bench(fn, reps=5):
    fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def composed(q, k, v, scale, causal):
    s = (q * scale) @ k.swapaxes(-1, -2)
    if causal:
        t = q.shape[2]
        s = mx.where(mx.arange(t)[:, None] >= mx.arange(t)[None], s, -3.4e38)
    return mx.softmax(s, axis=-1) @ v


def main():
    rng = np.random.default_rng(0)
    print(f"{'B,Nq,Nkv,T,D':<22}{'mask':<8}{'fast ms':>9}{'composed':>10}{'torch':>9}")
    for B, Nq, Nkv, T, D in [(1, 8, 8, 1024, 64), (1, 32, 8, 512, 128), (4, 8, 2, 1, 128)]:
        Tk = 2048 if T == 1 else T
        q = rng.standard_normal((B, Nq, T, D), dtype=np.float32)
        k = rng.standard_normal((B, Nkv, Tk, D), dtype=np.float32)
        v = rng.standard_normal((B, Nkv, Tk, D), dtype=np.float32)
        qm, km, vm = mx.array(q), mx.array(k), mx.array(v)
        scale = D ** -0.5
        for causal in (False, True):
            if causal and T == 1:
                continue
            m = "causal" if causal else None
            tf = bench(lambda: mx.eval(mx.fast.scaled_dot_product_attention(qm, km, vm, scale=scale, mask=m)))
            rep = Nq // Nkv
            kr, vr = mx.repeat(km, rep, axis=1), mx.repeat(vm, rep, axis=1)
            tc = bench(lambda: mx.eval(composed(qm, kr, vr, scale, causal)))
            tt = float("nan")
            if torch is not None:
                qt, kt, vt = (torch.from_numpy(a) for a in (q, np.repeat(k, rep, 1), np.repeat(v, rep, 1)))
                tt = bench(lambda: torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, is_causal=causal))
            print(f"{str((B, Nq, Nkv, T, D)):<22}{'causal' if causal else '-':<8}"
                  f"{tf * 1e3:>9.2f}{tc * 1e3:>10.2f}{tt * 1e3:>9.2f}")


if __name__ == "__main__":
    main()
