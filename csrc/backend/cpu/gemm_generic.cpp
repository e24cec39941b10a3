// Portable GEMM micro-kernels and packers (plain C++).
//
// Used when no SIMD path is available or when OXMLX_GEMM_ISA=generic. The
// loops are written so that an optimizing compiler can vectorize the inner
// NR loop with whatever the baseline ISA offers (SSE2 on x86-64), but nothing
// here relies on that. Everything is in an anonymous namespace: the per-ISA
// files are compiled with different target options, and internal linkage
// keeps the linker from merging same-named inline code across them.
#include <cstring>

#include "backend/cpu/gemm.h"

namespace oxmlx::cpu::gemm_detail {
namespace {

template <typename Acc>
inline void store_tile(const Acc* acc, int nr, Acc* C, int64_t ldc, int m, int n, int mode,
                       Acc alpha, Acc beta) {
  for (int i = 0; i < m; ++i) {
    Acc* c = C + i * ldc;
    const Acc* a = acc + i * nr;
    if (mode == kOverwrite) {
      for (int j = 0; j < n; ++j) c[j] = alpha * a[j];
    } else if (mode == kBeta) {
      for (int j = 0; j < n; ++j) c[j] = alpha * a[j] + beta * c[j];
    } else {
      for (int j = 0; j < n; ++j) c[j] += alpha * a[j];
    }
  }
}

// MR x NR register tile held in a local array; with -O3 the j loop becomes
// SIMD adds/multiplies over the baseline vector width.
template <typename Acc, int MR, int NR>
void kernel(int64_t kc, const Acc* Ap, const Acc* Bp, Acc* C, int64_t ldc, int m, int n, int mode,
            Acc alpha, Acc beta) {
  Acc acc[MR * NR];
  for (int i = 0; i < MR * NR; ++i) acc[i] = Acc(0);
  for (int64_t k = 0; k < kc; ++k) {
    const Acc* a = Ap + k * MR;
    const Acc* b = Bp + k * NR;
    for (int i = 0; i < MR; ++i) {
      Acc ai = a[i];
      for (int j = 0; j < NR; ++j) acc[i * NR + j] += ai * b[j];
    }
  }
  store_tile(acc, NR, C, ldc, m, n, mode, alpha, beta);
}

template <typename T, typename Acc>
void pack(const T* src, int64_t ld, bool r_contig, int rows, int64_t kc, Acc* dst, int width) {
  if (r_contig) {
    for (int64_t k = 0; k < kc; ++k) {
      const T* s = src + k * ld;
      Acc* d = dst + k * width;
      int r = 0;
      for (; r < rows; ++r) d[r] = Acc(float(s[r]));
      for (; r < width; ++r) d[r] = Acc(0);
    }
  } else {
    // Walk each source row sequentially (cache friendly) and scatter into the
    // panel; the panel is small enough to stay in L1/L2.
    for (int r = 0; r < rows; ++r) {
      const T* s = src + r * ld;
      for (int64_t k = 0; k < kc; ++k) dst[k * width + r] = Acc(float(s[k]));
    }
    for (int r = rows; r < width; ++r)
      for (int64_t k = 0; k < kc; ++k) dst[k * width + r] = Acc(0);
  }
}

// Plain double is converted directly (no detour through float).
template <>
void pack<double, double>(const double* src, int64_t ld, bool r_contig, int rows, int64_t kc,
                          double* dst, int width) {
  if (r_contig) {
    for (int64_t k = 0; k < kc; ++k) {
      const double* s = src + k * ld;
      double* d = dst + k * width;
      int r = 0;
      for (; r < rows; ++r) d[r] = s[r];
      for (; r < width; ++r) d[r] = 0.0;
    }
  } else {
    for (int r = 0; r < rows; ++r) {
      const double* s = src + r * ld;
      for (int64_t k = 0; k < kc; ++k) dst[k * width + r] = s[k];
    }
    for (int r = rows; r < width; ++r)
      for (int64_t k = 0; k < kc; ++k) dst[k * width + r] = 0.0;
  }
}

template <typename T>
void store16(const float* W, int64_t ldw, T* C, int64_t ldc, int64_t m, int64_t n, float beta) {
  for (int64_t i = 0; i < m; ++i) {
    const float* w = W + i * ldw;
    T* c = C + i * ldc;
    if (beta == 0.0f) {
      for (int64_t j = 0; j < n; ++j) c[j] = T(w[j]);
    } else {
      for (int64_t j = 0; j < n; ++j) c[j] = T(w[j] + beta * float(c[j]));
    }
  }
}

const IsaKernels kGeneric = {
    "generic",
    4, 16, &kernel<float, 4, 16>,
    4, 8, &kernel<double, 4, 8>,
    &pack<float, float>, &pack<float16_t, float>, &pack<bfloat16_t, float>, &pack<double, double>,
    &store16<float16_t>, &store16<bfloat16_t>,
    {}, {}, {}, {},  // gemv: the driver's portable loops
};

}  // namespace

const IsaKernels* generic_kernels() { return &kGeneric; }

}  // namespace oxmlx::cpu::gemm_detail
