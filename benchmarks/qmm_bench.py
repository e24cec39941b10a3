"""Quick quantized_matmul timing (oxmlx vs mlx CPU, and oxmlx f32 matmul). Not a test."""
import time

import numpy as np


def bench(fn, reps=7):
    fn()
    best = 1e9
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main():
    import mlx.core as mx
    import oxmlx.core as ox

    rng = np.random.default_rng(0)
    for bits in [4, 8, 3]:
        for M, N, K in [(1, 4096, 4096), (8, 4096, 4096), (128, 4096, 4096)]:
            w = rng.standard_normal((N, K)).astype(np.float32)
            x = rng.standard_normal((M, K)).astype(np.float32)
            qo = ox.quantize(ox.array(w), bits=bits)
            qm = mx.quantize(mx.array(w), bits=bits)
            xo, xm, wo = ox.array(x), mx.array(x), ox.array(w)
            ox.eval(qo, xo, wo)
            mx.eval(qm, xm)
            t_o = bench(lambda: ox.eval(ox.quantized_matmul(xo, *qo, bits=bits)))
            with mx.stream(mx.cpu):
                t_m = bench(lambda: mx.eval(mx.quantized_matmul(xm, *qm, bits=bits)), reps=2)
            t_f = bench(lambda: ox.eval(xo @ wo.T))
            print(f"q{bits} M={M:4d} N={N} K={K}: oxmlx {t_o * 1e3:7.2f} ms  mlx {t_m * 1e3:8.2f} ms"
                  f"  (oxmlx f32 matmul {t_f * 1e3:6.2f} ms)")


if __name__ == "__main__":
    main()
