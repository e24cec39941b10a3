// Copies, casts and arange (launchers declared in kernels.h). Strided and
// converting copies run one element per thread; same-type copies move
// words of the element's size; dense casts between the common types move
// aligned vectors.
#include "backend/cuda/device_util.cuh"

namespace oxmlx::cu {

namespace {

using namespace dev;

template <typename T>
__global__ void copy_kernel(const T* in, void* out, int out_dt, int64_t n, Layout l, bool contig) {
  OXD_GRID_LOOP(i, n) {
    int64_t o[1] = {i};
    if (!contig) offsets<1>(l, i, o);
    store(out, out_dt, i, in[o[0]]);
  }
}

template <typename T>
__global__ void window_kernel(const T* in, void* out, int out_dt, int64_t n, Layout l) {
  OXD_GRID_LOOP(i, n) {
    int64_t o[2];
    offsets<2>(l, i, o);
    store(out, out_dt, o[1], in[o[0]]);
  }
}

template <typename T>
__global__ void move_kernel(const T* in, T* out, int64_t n, Layout l, bool contig) {
  OXD_GRID_LOOP(i, n) {
    int64_t o[1] = {i};
    if (!contig) offsets<1>(l, i, o);
    out[i] = in[o[0]];
  }
}

// Dense casts between the common types (bool masks to float, 16-bit floats
// to float and back, int32): 8 elements per thread and vector, two vectors
// in flight; the generic copy_kernel switches on the output type per element.
template <typename In, typename Out>
__global__ void cast_vec_kernel(const In* in, Out* out, int64_t n) {
  constexpr int V = 8;
  const int64_t nc = n / V, step = int64_t(gridDim.x) * blockDim.x;
  int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  for (; c + step < nc; c += 2 * step) {
    const Pack<In, V> x0 = reinterpret_cast<const Pack<In, V>*>(in)[c];
    const Pack<In, V> x1 = reinterpret_cast<const Pack<In, V>*>(in)[c + step];
    Pack<Out, V> y0, y1;
#pragma unroll
    for (int e = 0; e < V; ++e) y0.v[e] = cvt<Out>(x0.v[e]), y1.v[e] = cvt<Out>(x1.v[e]);
    reinterpret_cast<Pack<Out, V>*>(out)[c] = y0;
    reinterpret_cast<Pack<Out, V>*>(out)[c + step] = y1;
  }
  for (; c < nc; c += step) {
    const Pack<In, V> x0 = reinterpret_cast<const Pack<In, V>*>(in)[c];
    Pack<Out, V> y0;
#pragma unroll
    for (int e = 0; e < V; ++e) y0.v[e] = cvt<Out>(x0.v[e]);
    reinterpret_cast<Pack<Out, V>*>(out)[c] = y0;
  }
  OXD_GRID_LOOP_FROM(i, nc * V, n) out[i] = cvt<Out>(in[i]);
}

#define OX_CAST_TYPES(dt, ...)                             \
  switch (dt) {                                            \
    case B: { using T = bool; __VA_ARGS__; } break;        \
    case I32: { using T = int32_t; __VA_ARGS__; } break;   \
    case F16: { using T = half_t; __VA_ARGS__; } break;    \
    case F32: { using T = float; __VA_ARGS__; } break;     \
    case BF16: { using T = bf16_t; __VA_ARGS__; } break;   \
    default: break;                                        \
  }

bool cast_type(int d) { return d == B || d == I32 || d == F16 || d == F32 || d == BF16; }

template <typename T>
__global__ void arange_kernel(double start, double step, bool exact_int, T* out, int64_t n) {
  OXD_GRID_LOOP(i, n) {
    if constexpr (is_int<T>) {
      if (exact_int) {
        out[i] = T(int64_t(start) + i * int64_t(step));
        continue;
      }
    }
    out[i] = cvt<T>(start + double(i) * step);
  }
}

}  // namespace

void copy(const void* in, int in_dt, void* out, int out_dt, int64_t n, const Layout& l,
          bool contig, cudaStream_t s) {
  if (n == 0) return;
  const int g = blocks_for(n);
  if (in_dt == out_dt && contig) {
    cudaMemcpyAsync(out, in, size_t(n) * dt_size(in_dt), cudaMemcpyDeviceToDevice, s);
  } else if (in_dt == out_dt) {
    with_word(dt_size(in_dt), [&](auto w) {
      using W = decltype(w);
      move_kernel<<<g, kThreads, 0, s>>>((const W*)in, (W*)out, n, l, contig);
    });
  } else if (contig && cast_type(in_dt) && cast_type(out_dt) &&
             aligned_to(in, 8 * dt_size(in_dt)) && aligned_to(out, 8 * dt_size(out_dt))) {
    const int cg = grid_cap((n + kThreads * 8 * 2 - 1) / (kThreads * 8 * 2));
    OX_CAST_TYPES(in_dt, {
      using In = T;
      OX_CAST_TYPES(out_dt, cast_vec_kernel<In, T><<<cg, kThreads, 0, s>>>((const In*)in, (T*)out, n));
    });
  } else {
    OXD_DISPATCH(in_dt, copy_kernel<T><<<g, kThreads, 0, s>>>((const T*)in, out, out_dt, n, l, contig));
  }
}

void copy_to_window(const void* in, int in_dt, void* out, int out_dt, int64_t n, const Layout& l,
                    cudaStream_t s) {
  if (n == 0) return;
  OXD_DISPATCH(in_dt, window_kernel<T><<<blocks_for(n), kThreads, 0, s>>>((const T*)in, out, out_dt, n, l));
}

void arange(double start, double step, void* out, int dt, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  bool exact = start == double(int64_t(start)) && step == double(int64_t(step));
  OXD_DISPATCH(dt, arange_kernel<T><<<blocks_for(n), kThreads, 0, s>>>(start, step, exact, (T*)out, n));
}

}  // namespace oxmlx::cu
