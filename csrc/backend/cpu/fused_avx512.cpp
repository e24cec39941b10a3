// The vector step kernels (fused_vec.h) for AVX-512 (F, DQ, VL, BW), 16 float
// / 8 double lanes with masked tails; chosen at run time when the CPU has it
// (the body is compiled under a target pragma, so the library stays portable).
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "backend/cpu/fused_vec.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
// GCC 12's AVX-512 intrinsics initialise "undefined" vectors from themselves.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma")
#endif

namespace oxmlx::cpu::vec {
namespace {

inline __mmask16 mask16(int m) { return __mmask16((1u << m) - 1); }
inline __mmask8 mask8(int m) { return __mmask8((1u << m) - 1); }

struct F32 {
  using T = float;
  using V = __m512;
  static constexpr int W = 16;
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static void stream(float* p, V v) { _mm512_stream_ps(p, v); }
  static V load_n(const float* p, int m) { return _mm512_maskz_loadu_ps(mask16(m), p); }
  static void store_n(float* p, V v, int m) { _mm512_mask_storeu_ps(p, mask16(m), v); }
  static V set1(float a) { return _mm512_set1_ps(a); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V div(V a, V b) { return _mm512_div_ps(a, b); }
  static V sqrt(V a) { return _mm512_sqrt_ps(a); }
  static V neg(V a) { return _mm512_xor_ps(a, set1(-0.0f)); }
  static V abs(V a) { return _mm512_andnot_ps(set1(-0.0f), a); }
  // As binary_scalar: NaN in a gives a, else a > b ? a : b.
  static V max(V a, V b) { return _mm512_mask_mov_ps(_mm512_max_ps(a, b), _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q), a); }
  static V min(V a, V b) { return _mm512_mask_mov_ps(_mm512_min_ps(a, b), _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q), a); }

  // The polynomial of fused_avx2.cpp's exp; vscalefps applies 2^n exactly
  // with a single rounding (the same values as the two halves there). x is
  // clamped to [-104, 89] first (keeps r finite for +-inf; NaN passes).
  static V exp(V x) {
    V xc = _mm512_min_ps(set1(89.0f), _mm512_max_ps(set1(-104.0f), x));
    V n = _mm512_roundscale_ps(_mm512_mul_ps(xc, set1(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    V r = _mm512_fnmadd_ps(n, set1(0.693359375f), xc);
    r = _mm512_fnmadd_ps(n, set1(-2.12194440e-4f), r);
    V p = set1(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, set1(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, set1(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, set1(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, set1(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, set1(5.0000001201e-1f));
    V y = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, set1(1.0f)));
    return _mm512_scalef_ps(y, n);
  }
};

struct F64 {
  using T = double;
  using V = __m512d;
  static constexpr int W = 8;
  static V load(const double* p) { return _mm512_loadu_pd(p); }
  static void store(double* p, V v) { _mm512_storeu_pd(p, v); }
  static void stream(double* p, V v) { _mm512_stream_pd(p, v); }
  static V load_n(const double* p, int m) { return _mm512_maskz_loadu_pd(mask8(m), p); }
  static void store_n(double* p, V v, int m) { _mm512_mask_storeu_pd(p, mask8(m), v); }
  static V set1(double a) { return _mm512_set1_pd(a); }
  static V add(V a, V b) { return _mm512_add_pd(a, b); }
  static V sub(V a, V b) { return _mm512_sub_pd(a, b); }
  static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  static V div(V a, V b) { return _mm512_div_pd(a, b); }
  static V sqrt(V a) { return _mm512_sqrt_pd(a); }
  static V neg(V a) { return _mm512_xor_pd(a, set1(-0.0)); }
  static V abs(V a) { return _mm512_andnot_pd(set1(-0.0), a); }
  static V max(V a, V b) { return _mm512_mask_mov_pd(_mm512_max_pd(a, b), _mm512_cmp_pd_mask(a, a, _CMP_UNORD_Q), a); }
  static V min(V a, V b) { return _mm512_mask_mov_pd(_mm512_min_pd(a, b), _mm512_cmp_pd_mask(a, a, _CMP_UNORD_Q), a); }
  static V exp(V x) { return x; }  // not used: f64 exp takes the generic loops
};

#include "backend/cpu/fused_vec.inc"

void run_f32(const Step* s, int count, int64_t n) { StepRunner<F32>::run(s, count, n); }
void run_f64(const Step* s, int count, int64_t n) { StepRunner<F64>::run(s, count, n); }

}  // namespace
}  // namespace oxmlx::cpu::vec

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

namespace oxmlx::cpu::vec {
// Baseline code: checks the CPU before handing out the AVX-512 table.
const Kernels* kernels_avx512() {
  static const Kernels k{"avx512", &run_f32, &run_f64};
  static const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
  return ok ? &k : nullptr;
}
}  // namespace oxmlx::cpu::vec

#else
namespace oxmlx::cpu::vec {
const Kernels* kernels_avx512() { return nullptr; }
}  // namespace oxmlx::cpu::vec
#endif
