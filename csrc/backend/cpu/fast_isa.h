// Internal interface between the drivers of the fused family (fast.cpp,
// fast_sdpa.cpp) and of the reduce family (reduce.cpp) on one side, the
// per-ISA row kernels (fast_avx512.cpp, fast_avx2.cpp; portable scalar ones
// in fast.cpp) on the other. The ISA is picked at run time from cpuid;
// OXMLX_FAST_ISA=avx512|avx2|generic forces a path (ignored when the CPU
// lacks it).
#pragma once

#include <cstdint>
#include <type_traits>

#include "core/half.h"

namespace oxmlx::cpu::fast_detail {

// Row kernels for one storage type T, accumulating in A (float, or double
// for T == double). scratch holds n values of A.
template <typename T, typename A>
struct RowFns {
  // Over `rows` consecutive rows of n elements (n >= 1 except for
  // logsumexp, where n == 0 gives -inf). scratch: n values of A. stream:
  // the output may take non-temporal stores (large, freshly written).
  void (*softmax)(const T* x, T* y, int64_t n, int64_t rows, A* scratch, bool stream) = nullptr;
  void (*logsumexp)(const T* x, T* y, int64_t n, int64_t rows) = nullptr;
  void (*rms_norm)(const T* x, const T* w, T* y, int64_t n, int64_t rows, float eps,
                   bool stream) = nullptr;
  void (*layer_norm)(const T* x, const T* w, const T* b, T* y, int64_t n, int64_t rows,
                     float eps, bool stream) = nullptr;
  A (*row_max)(const T* x, int64_t n) = nullptr;
  A (*row_min)(const T* x, int64_t n) = nullptr;
  A (*row_sum)(const T* x, int64_t n) = nullptr;
  // e[i] = exp(x[i] - m), returns sum(e).
  A (*exp_sum)(const T* x, A* e, int64_t n, A m) = nullptr;
  // Non-traditional rope of one row (c, s: half cosines and sines).
  void (*rope_row)(const T* x, T* y, const A* c, const A* s, int64_t half, bool fwd) = nullptr;
  // Norm backward of one row; dw/db (may be null) accumulate across rows.
  void (*rms_norm_vjp)(const T* x, const T* w, const T* g, T* dx, A* dw, int64_t n,
                       float eps) = nullptr;
  void (*layer_norm_vjp)(const T* x, const T* w, const T* g, T* dx, A* dw, A* db, int64_t n,
                         float eps) = nullptr;
  // Reduce family (reduce.cpp); index 0 sum, 1 prod, 2 max, 3 min.
  // out[r] = reduction of the n elements at x + r * ld, r < rows.
  void (*reduce_rows[4])(const T* x, int64_t ld, int64_t rows, int64_t n, A* out) = {};
  // acc[j] = op(acc[j], reduction over i < rows of x[i * ld + j]), j < n.
  void (*reduce_cols[4])(const T* x, int64_t ld, int64_t rows, int64_t n, A* acc) = {};
};

struct FastIsa {
  const char* name;
  RowFns<float, float> f32;
  RowFns<float16_t, float> f16;
  RowFns<bfloat16_t, float> bf16;
  RowFns<double, double> f64;
  // y[i] = exp(x[i]) with the vectorized polynomial (tests compare it).
  void (*exp_f32)(const float* x, float* y, int64_t n) = nullptr;
};

// Each returns nullptr when that ISA is not compiled in or the CPU lacks it.
const FastIsa* fast_avx512();
const FastIsa* fast_avx2();
const FastIsa* fast_generic();
// The chosen path.
const FastIsa& fast_isa();

}  // namespace oxmlx::cpu::fast_detail

namespace oxmlx::cpu::fast_detail {

template <typename T, typename A>
const RowFns<T, A>& fns_for(const FastIsa& k) {
  if constexpr (std::is_same_v<T, float>) return k.f32;
  else if constexpr (std::is_same_v<T, float16_t>) return k.f16;
  else if constexpr (std::is_same_v<T, bfloat16_t>) return k.bf16;
  else return k.f64;
}

}  // namespace oxmlx::cpu::fast_detail
