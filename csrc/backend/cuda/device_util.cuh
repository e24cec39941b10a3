// Device helpers shared by the CUDA backend's kernels (copy.cu,
// elementwise.cu, reduce.cu and the data-movement kernels gather.cu, sort.cu,
// random.cu, conv.cu): dtype codes and dispatch, conversions as the CPU
// backend, layout offsets, aligned vector packs, grid sizes and loops.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cuda/std/type_traits>

#include "backend/cuda/data_kernels.h"

namespace oxmlx::cu::dev {

namespace cs = cuda::std;
using half_t = __half;
using bf16_t = __nv_bfloat16;

// Codes of Dtype::Val.
enum Dt : int { B = 0, U8, U16, U32, U64, I8, I16, I32, I64, F16, F32, F64, BF16, C64 };

#define OXD_DISPATCH(dt, ...)                                     \
  switch (dt) {                                                   \
    case ::oxmlx::cu::dev::B: { using T = bool; __VA_ARGS__; } break;      \
    case ::oxmlx::cu::dev::U8: { using T = uint8_t; __VA_ARGS__; } break;  \
    case ::oxmlx::cu::dev::U16: { using T = uint16_t; __VA_ARGS__; } break; \
    case ::oxmlx::cu::dev::U32: { using T = uint32_t; __VA_ARGS__; } break; \
    case ::oxmlx::cu::dev::U64: { using T = uint64_t; __VA_ARGS__; } break; \
    case ::oxmlx::cu::dev::I8: { using T = int8_t; __VA_ARGS__; } break;   \
    case ::oxmlx::cu::dev::I16: { using T = int16_t; __VA_ARGS__; } break; \
    case ::oxmlx::cu::dev::I32: { using T = int32_t; __VA_ARGS__; } break; \
    case ::oxmlx::cu::dev::I64: { using T = int64_t; __VA_ARGS__; } break; \
    case ::oxmlx::cu::dev::F16: { using T = ::oxmlx::cu::dev::half_t; __VA_ARGS__; } break; \
    case ::oxmlx::cu::dev::F32: { using T = float; __VA_ARGS__; } break;   \
    case ::oxmlx::cu::dev::F64: { using T = double; __VA_ARGS__; } break;  \
    case ::oxmlx::cu::dev::BF16: { using T = ::oxmlx::cu::dev::bf16_t; __VA_ARGS__; } break; \
    default: break;                                               \
  }

// Bytes of one element of dtype code dt.
constexpr int dt_size(int dt) {
  return dt == B || dt == U8 || dt == I8                      ? 1
         : dt == U16 || dt == I16 || dt == F16 || dt == BF16 ? 2
         : dt == U32 || dt == I32 || dt == F32               ? 4
                                                              : 8;
}

template <typename T>
constexpr bool is_half = cs::is_same_v<T, half_t> || cs::is_same_v<T, bf16_t>;
template <typename T>
constexpr bool is_flt = cs::is_floating_point_v<T> || is_half<T>;
template <typename T>
constexpr bool is_int = cs::is_integral_v<T> && !cs::is_same_v<T, bool>;
// Type 16-bit floats compute in (float); others compute in their own type.
template <typename T>
using comp_t = cs::conditional_t<is_half<T>, float, T>;

constexpr int kThreads = 256;
// A grid of `blocks` blocks, at least 1 and at most 132 * 64 (grid-stride loops do the rest).
inline int grid_cap(int64_t blocks) {
  return int(blocks < 132 * 64 ? (blocks < 1 ? 1 : blocks) : 132 * 64);
}
inline int blocks_for(int64_t n, int threads = kThreads) {
  return grid_cap((n + threads - 1) / threads);
}

// Grid-stride loop over [from, n).
#define OXD_GRID_LOOP_FROM(i, from, n)                                                 \
  for (int64_t i = (from) + int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += int64_t(gridDim.x) * blockDim.x)
#define OXD_GRID_LOOP(i, n) OXD_GRID_LOOP_FROM(i, 0, n)

// Calls f(W{}) with W the unsigned type of `bytes` bytes (1, 2, 4, else 8).
template <typename F>
auto with_word(int bytes, F&& f) {
  return bytes == 1 ? f(uint8_t{}) : bytes == 2 ? f(uint16_t{}) : bytes == 4 ? f(uint32_t{})
                                                                            : f(uint64_t{});
}

// float -> bfloat16 as the CPU backend (core/half.h): round to nearest even,
// NaN keeps its sign and payload's top bits and is made quiet (the hardware
// conversion returns the canonical positive NaN).
__device__ __forceinline__ bf16_t f2bf(float f) {
  const uint32_t u = __float_as_uint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return __ushort_as_bfloat16(uint16_t((u >> 16) | 0x40));
  return __float2bfloat16_rn(f);
}

// Value conversion as the CPU backend (16-bit floats through float).
template <typename To, typename From>
__device__ __forceinline__ To cvt(From x) {
  if constexpr (cs::is_same_v<To, From>) {
    return x;
  } else if constexpr (is_half<From>) {
    return cvt<To>(float(x));
  } else if constexpr (cs::is_same_v<To, bool>) {
    return x != From(0);
  } else if constexpr (cs::is_same_v<To, half_t>) {
    return __float2half_rn(float(x));
  } else if constexpr (cs::is_same_v<To, bf16_t>) {
    return f2bf(float(x));
  } else {
    return static_cast<To>(x);
  }
}

// out[i] = v converted to the dtype with code dt.
template <typename From>
__device__ __forceinline__ void store(void* out, int dt, int64_t i, From v) {
  OXD_DISPATCH(dt, static_cast<T*>(out)[i] = cvt<T>(v));
}

// V elements moved with one aligned vector access.
template <typename T, int V>
struct alignas(sizeof(T) * V) Pack {
  T v[V];
};

inline bool aligned_to(const void* p, size_t bytes) {
  return reinterpret_cast<uintptr_t>(p) % bytes == 0;
}

// Element offsets of linear index i (row-major over l.shape) for operands 0..N-1.
template <int N>
__device__ __forceinline__ void offsets(const Layout& l, int64_t i, int64_t* off) {
  if (l.ndim == 1) {
    for (int k = 0; k < N; ++k) off[k] = i * l.strides[k][0];
    return;
  }
  for (int k = 0; k < N; ++k) off[k] = 0;
  if (i < (int64_t(1) << 32)) {
    // 32-bit division is several times cheaper than 64-bit.
    uint32_t j = uint32_t(i);
    for (int d = l.ndim - 1; d >= 0; --d) {
      uint32_t q = j / uint32_t(l.shape[d]), r = j - q * uint32_t(l.shape[d]);
      for (int k = 0; k < N; ++k) off[k] += int64_t(r) * l.strides[k][d];
      j = q;
    }
    return;
  }
  for (int d = l.ndim - 1; d >= 0; --d) {
    int64_t q = i / l.shape[d], r = i - q * l.shape[d];
    for (int k = 0; k < N; ++k) off[k] += r * l.strides[k][d];
    i = q;
  }
}

// Element offset of linear index i (row-major over l.shape) in operand k.
__device__ __forceinline__ int64_t lay_off(const Layout& l, int k, int64_t i) {
  if (l.ndim == 0) return 0;
  if (l.ndim == 1) return i * l.strides[k][0];
  int64_t o = 0;
  for (int d = l.ndim - 1; d >= 0; --d) {
    int64_t q = i / l.shape[d], r = i - q * l.shape[d];
    o += r * l.strides[k][d];
    i = q;
  }
  return o;
}

// Both operands' offsets with one decomposition.
__device__ __forceinline__ void lay_off2(const Layout& l, int64_t i, int64_t& a, int64_t& b) {
  a = 0, b = 0;
  for (int d = l.ndim - 1; d >= 0; --d) {
    int64_t q = i / l.shape[d], r = i - q * l.shape[d];
    a += r * l.strides[0][d];
    b += r * l.strides[1][d];
    i = q;
  }
}

}  // namespace oxmlx::cu::dev
