// The vector step kernels (fused_vec.h) for AVX2 + FMA, 8 float / 4 double
// lanes; chosen at run time when the CPU has them (the body is compiled under
// a target pragma, so the library stays portable).
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "backend/cpu/fused_vec.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif

namespace oxmlx::cpu::vec {
namespace {

inline __m256i tail_mask32(int m) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(m), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline __m256i tail_mask64(int m) {
  return _mm256_cmpgt_epi64(_mm256_set1_epi64x(m), _mm256_setr_epi64x(0, 1, 2, 3));
}

struct F32 {
  using T = float;
  using V = __m256;
  static constexpr int W = 8;
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static void stream(float* p, V v) { _mm256_stream_ps(p, v); }
  static V load_n(const float* p, int m) { return _mm256_maskload_ps(p, tail_mask32(m)); }
  static void store_n(float* p, V v, int m) { _mm256_maskstore_ps(p, tail_mask32(m), v); }
  static V set1(float a) { return _mm256_set1_ps(a); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V div(V a, V b) { return _mm256_div_ps(a, b); }
  static V sqrt(V a) { return _mm256_sqrt_ps(a); }
  static V neg(V a) { return _mm256_xor_ps(a, set1(-0.0f)); }
  static V abs(V a) { return _mm256_andnot_ps(set1(-0.0f), a); }
  // As binary_scalar: NaN in a gives a, else a > b ? a : b (vmaxps returns b
  // on ties and on NaN).
  static V max(V a, V b) { return _mm256_blendv_ps(_mm256_max_ps(a, b), a, _mm256_cmp_ps(a, a, _CMP_UNORD_Q)); }
  static V min(V a, V b) { return _mm256_blendv_ps(_mm256_min_ps(a, b), a, _mm256_cmp_ps(a, a, _CMP_UNORD_Q)); }

  // exp: n = round(x / ln2), r = x - n ln2 (two-part ln2), e^r by the Cephes
  // polynomial, times 2^n. Where every lane has |x| < 87 (the usual case),
  // 2^n is added to the exponent field; otherwise x is clamped to
  // [-104, 89] and 2^n applied in two exact halves, so that overflow gives
  // inf, gradual underflow rounds once to the subnormal, and NaN stays NaN.
  // Same values as the AVX-512 and the portable kernels.
  static V exp(V x) {
    const V big = _mm256_cmp_ps(abs(x), set1(87.0f), _CMP_NLT_UQ);
    const bool slow = _mm256_movemask_ps(big) != 0;
    V xc = slow ? _mm256_min_ps(set1(89.0f), _mm256_max_ps(set1(-104.0f), x)) : x;
    V n = _mm256_round_ps(_mm256_mul_ps(xc, set1(1.44269504088896341f)),
                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    V r = _mm256_fnmadd_ps(n, set1(0.693359375f), xc);
    r = _mm256_fnmadd_ps(n, set1(-2.12194440e-4f), r);
    V p = set1(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, set1(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, set1(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, set1(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, set1(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, set1(5.0000001201e-1f));
    V y = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, set1(1.0f)));
    __m256i ni = _mm256_cvtps_epi32(n);
    if (!slow) return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(y), _mm256_slli_epi32(ni, 23)));
    __m256i n1 = _mm256_srai_epi32(ni, 1);
    __m256i n2 = _mm256_sub_epi32(ni, n1);
    const __m256i bias = _mm256_set1_epi32(127);
    V s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    V s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(y, s1), s2);
  }
};

struct F64 {
  using T = double;
  using V = __m256d;
  static constexpr int W = 4;
  static V load(const double* p) { return _mm256_loadu_pd(p); }
  static void store(double* p, V v) { _mm256_storeu_pd(p, v); }
  static void stream(double* p, V v) { _mm256_stream_pd(p, v); }
  static V load_n(const double* p, int m) { return _mm256_maskload_pd(p, tail_mask64(m)); }
  static void store_n(double* p, V v, int m) { _mm256_maskstore_pd(p, tail_mask64(m), v); }
  static V set1(double a) { return _mm256_set1_pd(a); }
  static V add(V a, V b) { return _mm256_add_pd(a, b); }
  static V sub(V a, V b) { return _mm256_sub_pd(a, b); }
  static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  static V div(V a, V b) { return _mm256_div_pd(a, b); }
  static V sqrt(V a) { return _mm256_sqrt_pd(a); }
  static V neg(V a) { return _mm256_xor_pd(a, set1(-0.0)); }
  static V abs(V a) { return _mm256_andnot_pd(set1(-0.0), a); }
  static V max(V a, V b) { return _mm256_blendv_pd(_mm256_max_pd(a, b), a, _mm256_cmp_pd(a, a, _CMP_UNORD_Q)); }
  static V min(V a, V b) { return _mm256_blendv_pd(_mm256_min_pd(a, b), a, _mm256_cmp_pd(a, a, _CMP_UNORD_Q)); }
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
// Baseline code: checks the CPU before handing out the AVX2 table.
const Kernels* kernels_avx2() {
  static const Kernels k{"avx2", &run_f32, &run_f64};
  static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return ok ? &k : nullptr;
}
}  // namespace oxmlx::cpu::vec

#else
namespace oxmlx::cpu::vec {
const Kernels* kernels_avx2() { return nullptr; }
}  // namespace oxmlx::cpu::vec
#endif
