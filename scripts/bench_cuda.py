"""A small GPU benchmark of the cuda backend against PyTorch (same GPU):
bf16 GEMM 8192^3, a float32 elementwise chain and a float32 sum.
Usage: OXMLX_DEV_BUILD=... PYTHONPATH=python python scripts/bench_cuda.py"""

import time

import numpy as np

import oxmlx.core as mx


def timeit(fn, sync, reps=10, warm=3):
    for _ in range(warm):
        fn()
    sync()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    sync()
    return (time.perf_counter() - t) / reps


def main():
    import torch

    mx.set_default_device(mx.gpu)
    tsync = torch.cuda.synchronize
    rows = []

    n = 8192
    a = mx.array(np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)).astype(mx.bfloat16)
    b = mx.array(np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)).astype(mx.bfloat16)
    mx.eval(a, b)
    def ox_mm():
        mx.eval(mx.matmul(a, b))
    t_ox = timeit(ox_mm, mx.synchronize)
    ta = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    tb = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    t_t = timeit(lambda: ta @ tb, tsync)
    fl = 2 * n**3
    rows.append(("GEMM bf16 8192^3", f"{t_ox*1e3:.3f} ms  {fl/t_ox/1e12:.0f} TFLOP/s", f"{t_t*1e3:.3f} ms  {fl/t_t/1e12:.0f} TFLOP/s"))
    del a, b, ta, tb

    m = 1 << 26  # 64 Mi float32
    x = mx.array(np.random.default_rng(2).standard_normal(m, dtype=np.float32)) * 1  # on the GPU
    mx.eval(x)
    def ox_chain():
        mx.eval(mx.tanh(x * 2.0 + 1.0) * x - 0.5)
    t_ox = timeit(ox_chain, mx.synchronize)
    tx = torch.randn(m, device="cuda")
    t_t = timeit(lambda: torch.tanh(tx * 2.0 + 1.0) * tx - 0.5, tsync)
    by = 5 * 2 * 4 * m  # 5 kernels, each one read + one write (plus x re-read once)
    rows.append(("elementwise chain tanh(2x+1)*x-0.5, 64M f32 (5 kernels)",
                 f"{t_ox*1e3:.3f} ms  {by/t_ox/1e9:.0f} GB/s", f"{t_t*1e3:.3f} ms  {by/t_t/1e9:.0f} GB/s"))

    r = 1 << 28  # 256 Mi float32 = 1 GiB
    y = mx.array(np.ones(r, dtype=np.float32)) * 1
    mx.eval(y)
    def ox_sum():
        mx.eval(mx.sum(y))
    t_ox = timeit(ox_sum, mx.synchronize)
    ty = torch.ones(r, device="cuda")
    t_t = timeit(lambda: ty.sum(), tsync)
    rows.append(("sum 256M f32 (1 GiB)", f"{t_ox*1e3:.3f} ms  {4*r/t_ox/1e9:.0f} GB/s", f"{t_t*1e3:.3f} ms  {4*r/t_t/1e9:.0f} GB/s"))
    z = y.reshape(16384, 16384)
    t_ox = timeit(lambda: mx.eval(mx.sum(z, axis=1)), mx.synchronize)
    tz = ty.reshape(16384, 16384)
    t_t = timeit(lambda: tz.sum(dim=1), tsync)
    rows.append(("row sums 16384x16384 f32", f"{t_ox*1e3:.3f} ms  {4*r/t_ox/1e9:.0f} GB/s", f"{t_t*1e3:.3f} ms  {4*r/t_t/1e9:.0f} GB/s"))
    t_ox = timeit(lambda: mx.eval(mx.sum(z, axis=0)), mx.synchronize)
    t_t = timeit(lambda: tz.sum(dim=0), tsync)
    rows.append(("column sums 16384x16384 f32", f"{t_ox*1e3:.3f} ms  {4*r/t_ox/1e9:.0f} GB/s", f"{t_t*1e3:.3f} ms  {4*r/t_t/1e9:.0f} GB/s"))

    print("| benchmark | oxmlx cuda | torch |")
    print("|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
