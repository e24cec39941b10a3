// Device helpers shared by the data-movement kernels (gather.cu, sort.cu,
// random.cu, conv.cu): dtype codes and dispatch, layout offsets, grid loops.
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

template <typename T>
constexpr bool is_half = cs::is_same_v<T, half_t> || cs::is_same_v<T, bf16_t>;

constexpr int kThreads = 256;
inline int blocks_for(int64_t n, int threads = kThreads) {
  int64_t b = (n + threads - 1) / threads;
  return int(b < 132 * 64 ? (b < 1 ? 1 : b) : 132 * 64);
}

#define OXD_GRID_LOOP(i, n)                                                        \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += int64_t(gridDim.x) * blockDim.x)

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
