"""GPU benchmark of the cuda backend against PyTorch on the same GPU: a
device-copy ceiling, bf16 GEMM, elementwise (plain and compiled/fused),
reductions, softmax, norms, attention and an MLP training step. Each row is
timed in rounds that alternate oxmlx and torch; the medians of the rounds
are reported, with oxmlx's speed relative to torch (>1: oxmlx faster).
Usage: OXMLX_DEV_BUILD=... PYTHONPATH=python python scripts/bench_cuda.py"""

import statistics
import sys
import time

import numpy as np

import oxmlx.core as mx


def timed(fn, sync, reps):
    sync()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    sync()
    return (time.perf_counter() - t) / reps


def pair(fo, ft, reps=10, rounds=5, warm=3):
    """Median seconds per call of oxmlx's fo and torch's ft, interleaved."""
    import torch

    for _ in range(warm):
        fo()
        ft()
    mx.synchronize()
    torch.cuda.synchronize()
    to, tt = [], []
    for _ in range(rounds):
        to.append(timed(fo, mx.synchronize, reps))
        tt.append(timed(ft, torch.cuda.synchronize, reps))
    return statistics.median(to), statistics.median(tt)


GROUPS = ["copy", "gemm", "elementwise", "reduce", "rows", "sdpa", "mlp", "fused"]


def main():
    import argparse

    import torch

    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default=",".join(GROUPS), help="comma-separated groups: " + ",".join(GROUPS))
    ap.add_argument("--sweep", action="store_true", help="also time the fused kernel's unroll choices")
    args = ap.parse_args()
    want, sweep = set(args.only.split(",")), args.sweep

    mx.set_default_device(mx.gpu)
    rows = []
    rng = np.random.default_rng(0)

    def gbs(b, t):
        return f"{t*1e3:.3f} ms  {b/t/1e9:.0f} GB/s"

    def add(name, t_ox, t_t, unit):
        rows.append((name, unit(t_ox), unit(t_t), f"{t_t / t_ox:.2f}x"))
        print(rows[-1], file=sys.stderr, flush=True)

    # Device copy (the bandwidth ceiling): torch's copy_, and oxmlx's
    # contiguous copy of an offset view (a cudaMemcpy of the same bytes).
    m = 1 << 26  # 64 Mi float32 = 256 MiB
    xs = mx.array(rng.standard_normal(m + 1, dtype=np.float32)) * 1
    mx.eval(xs)
    tx = torch.randn(m, device="cuda")
    ty = torch.empty_like(tx)
    t_ox, t_t = pair(lambda: mx.eval(mx.contiguous(xs[1:])), lambda: ty.copy_(tx))
    add("device copy 64M f32 (read+write)", t_ox, t_t, lambda t: gbs(8 * m, t))
    copy_bw = 8 * m / t_t
    fused_bw = fused_async_bw = None

    if "gemm" in want:
        gemm_rows(rng, add, pair)

    x = mx.array(rng.standard_normal(m, dtype=np.float32)) * 1
    mx.eval(x)

    if "elementwise" in want:
        t_ox, t_t = pair(lambda: mx.eval(mx.tanh(x * 2.0 + 1.0) * x - 0.5),
                         lambda: torch.tanh(tx * 2.0 + 1.0) * tx - 0.5)
        add("elementwise tanh(2x+1)*x-0.5 64M f32, 5 kernels (bytes: 5 x (r+w))", t_ox, t_t,
            lambda t: gbs(5 * 8 * m, t))
        t_ox, t_t = pair(lambda: mx.eval(x * x), lambda: tx * tx)
        add("binary x*x 64M f32", t_ox, t_t, lambda t: gbs(8 * m, t))

    if "reduce" in want:
        reduce_rows(rng, add, pair, gbs)
    if "rows" in want:
        row_rows(rng, add, pair, gbs, sweep)
    if "mlp" in want:
        mlp_rows(rng, add, pair)

    if "fused" in want:
        # Fused chain (compile -> one NVRTC kernel) vs torch eager (4-5 kernels).
        chain = mx.compile(lambda v: mx.exp(v) * 2 + v * v - 1)
        t_ox, t_t = pair(lambda: mx.eval(chain(x)), lambda: torch.exp(tx) * 2 + tx * tx - 1)
        add("fused exp(x)*2+x*x-1 64M f32, compiled (bytes: 1 read + 1 write)", t_ox, t_t,
            lambda t: gbs(8 * m, t))
        fused_bw = 8 * m / t_ox
        t_ox, t_t = pair(lambda: mx.async_eval(chain(x)), lambda: ty.copy_(tx))
        add("fused chain, async_eval per call (vs torch copy)", t_ox, t_t, lambda t: gbs(8 * m, t))
        fused_async_bw = 8 * m / t_ox
        if sweep:  # vectors per thread of the generated kernel (OXMLX_CUDA_FUSED_UNROLL)
            import os

            for u in (1, 2, 4, 8):
                os.environ["OXMLX_CUDA_FUSED_UNROLL"] = str(u)
                t_ox, t_t = pair(lambda: mx.eval(chain(x)), lambda: ty.copy_(tx))
                add(f"fused chain, unroll {u} (vs torch copy)", t_ox, t_t, lambda t: gbs(8 * m, t))
            del os.environ["OXMLX_CUDA_FUSED_UNROLL"]

    if "sdpa" in want:  # last: a new attention kernel cannot cost the other rows
        sdpa_rows(rng, add, pair)

    if fused_bw:
        print(f"fused chain bandwidth / torch copy bandwidth: {fused_bw / copy_bw:.3f} "
              f"(async_eval: {fused_async_bw / copy_bw:.3f})")
    print("| benchmark | oxmlx cuda | torch | oxmlx speed vs torch |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def gemm_rows(rng, add, pair):
    import torch

    n = 8192
    a = mx.array(rng.standard_normal((n, n), dtype=np.float32)).astype(mx.bfloat16)
    b = mx.array(rng.standard_normal((n, n), dtype=np.float32)).astype(mx.bfloat16)
    mx.eval(a, b)
    ta = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    tb = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    t_ox, t_t = pair(lambda: mx.eval(mx.matmul(a, b)), lambda: ta @ tb, reps=5)
    fl = 2 * n**3
    add("GEMM bf16 8192^3", t_ox, t_t, lambda t: f"{t*1e3:.3f} ms  {fl/t/1e12:.0f} TFLOP/s")
    del a, b, ta, tb


def reduce_rows(rng, add, pair, gbs):
    import torch

    r = 1 << 28
    y = mx.array(np.ones(r, dtype=np.float32)) * 1
    mx.eval(y)
    ty1 = torch.ones(r, device="cuda")
    t_ox, t_t = pair(lambda: mx.eval(mx.sum(y)), lambda: ty1.sum())
    add("sum 256M f32 (1 GiB)", t_ox, t_t, lambda t: gbs(4 * r, t))
    z = y.reshape(16384, 16384)
    tz = ty1.reshape(16384, 16384)
    t_ox, t_t = pair(lambda: mx.eval(mx.sum(z, axis=1)), lambda: tz.sum(dim=1))
    add("row sums 16384x16384 f32", t_ox, t_t, lambda t: gbs(4 * r, t))
    del y, z, ty1, tz


def row_rows(rng, add, pair, gbs, sweep=False):
    import torch

    # Row kernels.
    for dt_name, tdt in [("f32", torch.float32), ("bf16", torch.bfloat16)]:
        R, N = 16384, 4096
        sx = mx.array(rng.standard_normal((R, N), dtype=np.float32)).astype(
            mx.float32 if dt_name == "f32" else mx.bfloat16)
        w = mx.array(rng.standard_normal(N, dtype=np.float32)).astype(sx.dtype)
        bb = mx.array(rng.standard_normal(N, dtype=np.float32)).astype(sx.dtype)
        mx.eval(sx, w, bb)
        tsx = torch.randn(R, N, device="cuda", dtype=tdt)
        tw = torch.randn(N, device="cuda", dtype=tdt)
        tbb = torch.randn(N, device="cuda", dtype=tdt)
        nbytes = 2 * R * N * (4 if dt_name == "f32" else 2)
        t_ox, t_t = pair(lambda: mx.eval(mx.softmax(sx, axis=-1)), lambda: torch.softmax(tsx, -1))
        add(f"softmax {R}x{N} {dt_name}", t_ox, t_t, lambda t: gbs(nbytes, t))
        t_ox, t_t = pair(lambda: mx.eval(mx.fast.layer_norm(sx, w, bb, 1e-5)),
                         lambda: torch.nn.functional.layer_norm(tsx, (N,), tw, tbb, 1e-5))
        add(f"layer_norm {R}x{N} {dt_name} (w, b)", t_ox, t_t, lambda t: gbs(nbytes, t))
        t_ox, t_t = pair(lambda: mx.eval(mx.fast.rms_norm(sx, w, 1e-5)),
                         lambda: torch.nn.functional.rms_norm(tsx, (N,), tw, 1e-5))
        add(f"rms_norm {R}x{N} {dt_name} (w)", t_ox, t_t, lambda t: gbs(nbytes, t))
        # Same with async_eval per call (kernels queued back to back, as torch's).
        t_ox, t_t = pair(lambda: mx.async_eval(mx.fast.layer_norm(sx, w, bb, 1e-5)),
                         lambda: torch.nn.functional.layer_norm(tsx, (N,), tw, tbb, 1e-5))
        add(f"layer_norm {R}x{N} {dt_name} (w, b), async_eval", t_ox, t_t, lambda t: gbs(nbytes, t))
        t_ox, t_t = pair(lambda: mx.async_eval(mx.fast.rms_norm(sx, w, 1e-5)),
                         lambda: torch.nn.functional.rms_norm(tsx, (N,), tw, 1e-5))
        add(f"rms_norm {R}x{N} {dt_name} (w), async_eval", t_ox, t_t, lambda t: gbs(nbytes, t))
        if sweep:  # vectors held per thread (OXMLX_CUDA_ROW_MAXR)
            import os

            for cap in (1, 2, 4):
                os.environ["OXMLX_CUDA_ROW_MAXR"] = str(cap)
                t_ox, t_t = pair(lambda: mx.eval(mx.fast.layer_norm(sx, w, bb, 1e-5)),
                                 lambda: torch.nn.functional.layer_norm(tsx, (N,), tw, tbb, 1e-5))
                add(f"layer_norm {dt_name}, max R {cap}", t_ox, t_t, lambda t: gbs(nbytes, t))
                t_ox, t_t = pair(lambda: mx.eval(mx.fast.rms_norm(sx, w, 1e-5)),
                                 lambda: torch.nn.functional.rms_norm(tsx, (N,), tw, 1e-5))
                add(f"rms_norm {dt_name}, max R {cap}", t_ox, t_t, lambda t: gbs(nbytes, t))
            del os.environ["OXMLX_CUDA_ROW_MAXR"]
        del sx, tsx


def sdpa_rows(rng, add, pair):
    import os

    import torch

    # Attention (torch: its flash / efficient kernels). oxmlx's 16-bit D 64/128
    # cases run the tensor-core kernel (sdpa_tc.cu); OXMLX_CUDA_SDPA_TC=0 the
    # CUDA-core one.
    B, H, T = 4, 16, 1024
    for D, causal, tc in [(64, False, True), (64, True, True), (128, False, True),
                          (128, True, True), (64, False, False)]:
        q = mx.array(rng.standard_normal((B, H, T, D), dtype=np.float32)).astype(mx.bfloat16)
        mx.eval(q)
        tq = torch.randn(B, H, T, D, device="cuda", dtype=torch.bfloat16)
        fl = 4 * B * H * T * T * D / (2 if causal else 1)
        if not tc:
            os.environ["OXMLX_CUDA_SDPA_TC"] = "0"
        t_ox, t_t = pair(
            lambda: mx.eval(mx.fast.scaled_dot_product_attention(q, q, q, scale=D**-0.5,
                                                                 mask="causal" if causal else None)),
            lambda: torch.nn.functional.scaled_dot_product_attention(tq, tq, tq, is_causal=causal),
            reps=10)
        os.environ.pop("OXMLX_CUDA_SDPA_TC", None)
        add(f"sdpa bf16 B{B} H{H} T{T} D{D}{' causal' if causal else ''}"
            f"{'' if tc else ' (CUDA-core kernel)'}", t_ox, t_t,
            lambda t: f"{t*1e3:.3f} ms  {fl/t/1e12:.1f} TFLOP/s")


def mlp_rows(rng, add, pair):
    import torch

    # MLP training step: 2 layers, cross entropy (one-hot targets), value_and_grad + SGD.
    Bm, Din, Dh, K = 4096, 1024, 4096, 1024
    xn = rng.standard_normal((Bm, Din), dtype=np.float32)
    lab = rng.integers(0, K, Bm)
    oh = np.eye(K, dtype=np.float32)[lab]
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
    lr = 0.01
    state = {"p": params}

    def ox_step():
        l, g = vg(state["p"], X, Y)
        state["p"] = {k: v - lr * g[k] for k, v in state["p"].items()}
        mx.eval(l, state["p"])

    tX = torch.tensor(xn, device="cuda")
    tY = torch.tensor(oh, device="cuda")
    tp = [torch.tensor(w1n, device="cuda", requires_grad=True),
          torch.zeros(Dh, device="cuda", requires_grad=True),
          torch.tensor(w2n, device="cuda", requires_grad=True),
          torch.zeros(K, device="cuda", requires_grad=True)]
    opt = torch.optim.SGD(tp, lr=lr)

    def t_step():
        opt.zero_grad(set_to_none=True)
        h = torch.relu(tX @ tp[0] + tp[1])
        logits = h @ tp[2] + tp[3]
        loss = (torch.logsumexp(logits, -1) - (logits * tY).sum(-1)).mean()
        loss.backward()
        opt.step()

    def ox_step_async():  # queued, not waited for (as torch's step)
        l, g = vg(state["p"], X, Y)
        state["p"] = {k: v - lr * g[k] for k, v in state["p"].items()}
        mx.async_eval(l, state["p"])

    fl = 3 * 2 * Bm * (Din * Dh + Dh * K)
    t_ox, t_t = pair(ox_step, t_step, reps=5)
    add(f"MLP train step f32 {Bm}x{Din}->{Dh}->{K} (eager vs eager)", t_ox, t_t,
        lambda t: f"{t*1e3:.3f} ms  {fl/t/1e12:.1f} TFLOP/s")
    t_ox, t_t = pair(ox_step_async, t_step, reps=5)
    add("MLP train step, async_eval per step", t_ox, t_t,
        lambda t: f"{t*1e3:.3f} ms  {fl/t/1e12:.1f} TFLOP/s")


if __name__ == "__main__":
    main()
