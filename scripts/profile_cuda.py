"""Where the GPU time of a workload goes, for oxmlx's cuda backend and torch
side by side: torch.profiler (CUPTI) records every kernel launched in the
process, ours included. Prints, per workload and framework, the wall time
per step, the summed kernel time per step and the kernels by total time.
Usage: PYTHONPATH=python python scripts/profile_cuda.py [--only mlp,norms]"""

import argparse
import time
from collections import defaultdict

import numpy as np

import oxmlx.core as mx


def profile(name, fn, sync, steps=5):
    import torch
    from torch.profiler import ProfilerActivity, profile as tprof

    for _ in range(3):
        fn()
    sync()
    t = time.perf_counter()
    for _ in range(steps):
        fn()
    sync()
    wall = (time.perf_counter() - t) / steps
    with tprof(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(steps):
            fn()
        sync()
        torch.cuda.synchronize()
    tot = defaultdict(float)
    cnt = defaultdict(int)
    for e in prof.events():
        if e.device_type.name != "CUDA":
            continue
        tot[e.name] += e.device_time_total if hasattr(e, "device_time_total") else e.cuda_time_total
        cnt[e.name] += 1
    ksum = sum(tot.values()) / steps
    print(f"== {name}: wall {wall * 1e3:.3f} ms/step, kernels {ksum / 1e3:.3f} ms/step, "
          f"{sum(cnt.values()) / steps:.0f} kernels/step")
    for k, v in sorted(tot.items(), key=lambda kv: -kv[1])[:14]:
        print(f"   {v / steps / 1e3:8.3f} ms  x{cnt[k] / steps:4.1f}  {k[:110]}")


def mlp(rng):
    import torch

    Bm, Din, Dh, K = 4096, 1024, 4096, 1024
    xn = rng.standard_normal((Bm, Din), dtype=np.float32)
    oh = np.eye(K, dtype=np.float32)[rng.integers(0, K, Bm)]
    w1n = (rng.standard_normal((Din, Dh)) / np.sqrt(Din)).astype(np.float32)
    w2n = (rng.standard_normal((Dh, K)) / np.sqrt(Dh)).astype(np.float32)
    X, Y = mx.array(xn) * 1, mx.array(oh) * 1
    params = {"w1": mx.array(w1n) * 1, "b1": mx.zeros((Dh,)), "w2": mx.array(w2n) * 1,
              "b2": mx.zeros((K,))}
    mx.eval(X, Y, params)

    def loss_fn(p, X, Y):
        h = mx.maximum(X @ p["w1"] + p["b1"], 0.0)
        logits = h @ p["w2"] + p["b2"]
        return mx.mean(mx.logsumexp(logits, axis=-1) - mx.sum(logits * Y, axis=-1))

    vg = mx.value_and_grad(loss_fn)
    state = {"p": params}

    def ox_step():
        l, g = vg(state["p"], X, Y)
        state["p"] = {k: v - 0.01 * g[k] for k, v in state["p"].items()}
        mx.eval(l, state["p"])

    tX, tY = torch.tensor(xn, device="cuda"), torch.tensor(oh, device="cuda")
    tp = [torch.tensor(w1n, device="cuda", requires_grad=True),
          torch.zeros(Dh, device="cuda", requires_grad=True),
          torch.tensor(w2n, device="cuda", requires_grad=True),
          torch.zeros(K, device="cuda", requires_grad=True)]
    opt = torch.optim.SGD(tp, lr=0.01)

    def t_step():
        opt.zero_grad(set_to_none=True)
        h = torch.relu(tX @ tp[0] + tp[1])
        logits = h @ tp[2] + tp[3]
        loss = (torch.logsumexp(logits, -1) - (logits * tY).sum(-1)).mean()
        loss.backward()
        opt.step()

    profile("oxmlx MLP step", ox_step, mx.synchronize)
    profile("torch MLP step", t_step, torch.cuda.synchronize)


def norms(rng):
    import torch

    R, N = 16384, 4096
    for dt, tdt in [(mx.float32, torch.float32), (mx.bfloat16, torch.bfloat16)]:
        x = mx.array(rng.standard_normal((R, N), dtype=np.float32)).astype(dt)
        w = mx.array(rng.standard_normal(N, dtype=np.float32)).astype(dt)
        b = mx.array(rng.standard_normal(N, dtype=np.float32)).astype(dt)
        mx.eval(x, w, b)
        tx = torch.randn(R, N, device="cuda", dtype=tdt)
        tw, tb = torch.randn(N, device="cuda", dtype=tdt), torch.randn(N, device="cuda", dtype=tdt)
        profile(f"oxmlx layer_norm {dt}", lambda: mx.eval(mx.fast.layer_norm(x, w, b, 1e-5)),
                mx.synchronize, 10)
        profile(f"torch layer_norm {tdt}",
                lambda: torch.nn.functional.layer_norm(tx, (N,), tw, tb, 1e-5),
                torch.cuda.synchronize, 10)
        profile(f"oxmlx rms_norm {dt}", lambda: mx.eval(mx.fast.rms_norm(x, w, 1e-5)),
                mx.synchronize, 10)
        profile(f"torch rms_norm {tdt}", lambda: torch.nn.functional.rms_norm(tx, (N,), tw, 1e-5),
                torch.cuda.synchronize, 10)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="mlp,norms")
    want = set(ap.parse_args().only.split(","))
    mx.set_default_device(mx.gpu)
    rng = np.random.default_rng(0)
    if "mlp" in want:
        mlp(rng)
    if "norms" in want:
        norms(rng)


if __name__ == "__main__":
    main()
