// AVX2 + FMA + F16C row kernels of the fused family (x86-64 CPUs without
// AVX-512): the 8-lane float trait for fast_kernels.inc, with the polynomial
// exp of fast_exp.inc (2^n applied in two exponent steps so overflow and
// gradual underflow come out right without vscalefps). Tails go through a
// small stack buffer. Compiled for AVX2 by a target pragma only
// (isa_target.h); fast_avx2() (baseline code) checks the CPU.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "backend/cpu/fast_isa.h"
#include "backend/cpu/isa_target.h"

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define OXMLX_HAVE_AVX2_FAST 1
#include <immintrin.h>

OXMLX_ISA_BEGIN("avx2,fma,f16c")

namespace oxmlx::cpu::fast_detail {
namespace {

#include "backend/cpu/fast_exp.inc"
#include "backend/cpu/exp_prims_avx2.inc"

struct Tr : Avx2ExpPrims {
  using A = float;
  using V = __m256;
  static constexpr int W = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V set1(float a) { return _mm256_set1_ps(a); }

  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static V load(const float16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static V load(const bfloat16_t* p) {
    __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
  }
  template <typename T>
  static V load_n(const T* p, int n, float fill) {
    alignas(32) float buf[8];
    for (int i = 0; i < 8; ++i) buf[i] = i < n ? float(p[i]) : fill;
    return _mm256_load_ps(buf);
  }
  static __m128i to_f16(V v) { return _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static __m128i to_bf16(V v) {
    __m256i u = _mm256_castps_si256(v);
    __m256i hi = _mm256_srli_epi32(u, 16);
    __m256i r = _mm256_add_epi32(u, _mm256_add_epi32(_mm256_set1_epi32(0x7fff),
                                                     _mm256_and_si256(hi, _mm256_set1_epi32(1))));
    r = _mm256_srli_epi32(r, 16);
    __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    r = _mm256_blendv_epi8(r, _mm256_or_si256(hi, _mm256_set1_epi32(0x40)), nan);
    __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), 0x08);
    return _mm256_castsi256_si128(packed);
  }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static void store(float16_t* p, V v) { _mm_storeu_si128(reinterpret_cast<__m128i*>(p), to_f16(v)); }
  static void store(bfloat16_t* p, V v) { _mm_storeu_si128(reinterpret_cast<__m128i*>(p), to_bf16(v)); }
  template <typename T>
  static void store_n(T* p, V v, int n) {
    alignas(32) float buf[8];
    _mm256_store_ps(buf, v);
    for (int i = 0; i < n; ++i) p[i] = T(buf[i]);
  }
  template <typename T>
  static V round(V v) {
    if constexpr (std::is_same_v<T, float16_t>) return _mm256_cvtph_ps(to_f16(v));
    else if constexpr (std::is_same_v<T, bfloat16_t>)
      return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(to_bf16(v)), 16));
    else return v;
  }

  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V max(V a, V b) {
    return _mm256_blendv_ps(_mm256_max_ps(a, b), a, _mm256_cmp_ps(a, a, _CMP_UNORD_Q));
  }
  static V min(V a, V b) {
    return _mm256_blendv_ps(_mm256_min_ps(a, b), a, _mm256_cmp_ps(a, a, _CMP_UNORD_Q));
  }
  // op over the 8 lanes: halves, then pairs, then the last two (lane 0 of
  // the result; op acts lane-wise on __m128).
  template <typename Op>
  static float hreduce(V v, Op op) {
    __m128 s = op(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = op(s, _mm_movehl_ps(s, s));
    s = op(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static float hsum(V v) {
    return hreduce(v, [](__m128 a, __m128 b) { return _mm_add_ps(a, b); });
  }
  static bool any_nan(V v) { return _mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)) != 0; }
  static float hmax(V v) {
    if (any_nan(v)) return std::numeric_limits<float>::quiet_NaN();
    return hreduce(v, [](__m128 a, __m128 b) { return _mm_max_ps(a, b); });
  }
  static float hmin(V v) {
    if (any_nan(v)) return std::numeric_limits<float>::quiet_NaN();
    return hreduce(v, [](__m128 a, __m128 b) { return _mm_min_ps(a, b); });
  }

  static V exp(V x) { return simd_exp<Tr>(x); }
  // Softmax's exponent (d <= 0): the general exp here.
  static V exp_neg(V d) { return exp(d); }
  // max ignoring a NaN in a (vmaxps returns its second operand on NaN).
  static V max_nn(V a, V b) { return _mm256_max_ps(a, b); }
  static constexpr int kStreamAlign = 32;
  static void stream(float* p, V v) { _mm256_stream_ps(p, v); }
  static void stream(float16_t* p, V v) { _mm_stream_si128(reinterpret_cast<__m128i*>(p), to_f16(v)); }
  static void stream(bfloat16_t* p, V v) {
    _mm_stream_si128(reinterpret_cast<__m128i*>(p), to_bf16(v));
  }
  static void stream_fence() { _mm_sfence(); }
};

#include "backend/cpu/fast_kernels.inc"

}  // namespace
}  // namespace oxmlx::cpu::fast_detail

OXMLX_ISA_END()
#endif

namespace oxmlx::cpu::fast_detail {

const FastIsa* fast_avx2() {
#if defined(OXMLX_HAVE_AVX2_FAST)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      __builtin_cpu_supports("f16c")) {
    static const FastIsa isa = k_float_isa("avx2", fast_generic()->f64);
    return &isa;
  }
#endif
  return nullptr;
}

}  // namespace oxmlx::cpu::fast_detail
