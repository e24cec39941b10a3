// AVX-512 row kernels of the fused family (x86-64): the 16-lane float trait
// for fast_kernels.inc and the primitives of our polynomial exp (fast_exp.inc).
//
// As in gemm_avx512.cpp, the body is compiled for AVX-512 through a target
// pragma (isa_target.h; not global -m flags) and lives in an anonymous namespace, so the
// library stays portable; fast_avx512() (baseline code) checks the CPU
// before handing out the table.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "backend/cpu/fast_isa.h"
#include "backend/cpu/isa_target.h"

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define OXMLX_HAVE_AVX512_FAST 1
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

OXMLX_ISA_BEGIN("avx512f,avx512bw,avx512dq,avx512vl,fma,f16c,avx2")

namespace oxmlx::cpu::fast_detail {
namespace {

#include "backend/cpu/fast_exp.inc"

inline __mmask16 lanes(int n) { return n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1); }

struct Tr {
  using A = float;
  using V = __m512;
  static constexpr int W = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V set1(float a) { return _mm512_set1_ps(a); }

  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static V load(const float16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static V widen_bf16(__m256i h) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
  static V load(const bfloat16_t* p) {
    return widen_bf16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static V load_n(const float* p, int n, float fill) {
    return _mm512_mask_loadu_ps(set1(fill), lanes(n), p);
  }
  static V load_n(const float16_t* p, int n, float fill) {
    V v = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(lanes(n), p));
    return _mm512_mask_blend_ps(lanes(n), set1(fill), v);
  }
  static V load_n(const bfloat16_t* p, int n, float fill) {
    V v = widen_bf16(_mm256_maskz_loadu_epi16(lanes(n), p));
    return _mm512_mask_blend_ps(lanes(n), set1(fill), v);
  }

  static __m256i to_f16(V v) { return _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  // Round to nearest even; NaN stays a quiet NaN (as float_to_bf16_bits).
  static __m256i to_bf16(V v) {
    __m512i u = _mm512_castps_si512(v);
    __m512i hi = _mm512_srli_epi32(u, 16);
    __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff),
                                                     _mm512_and_si512(hi, _mm512_set1_epi32(1))));
    r = _mm512_srli_epi32(r, 16);
    __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(hi, _mm512_set1_epi32(0x40)));
    return _mm512_cvtepi32_epi16(r);
  }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static void store(float16_t* p, V v) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), to_f16(v));
  }
  static void store(bfloat16_t* p, V v) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), to_bf16(v));
  }
  static void store_n(float* p, V v, int n) { _mm512_mask_storeu_ps(p, lanes(n), v); }
  static void store_n(float16_t* p, V v, int n) { _mm256_mask_storeu_epi16(p, lanes(n), to_f16(v)); }
  static void store_n(bfloat16_t* p, V v, int n) {
    _mm256_mask_storeu_epi16(p, lanes(n), to_bf16(v));
  }
  // v rounded to bfloat16 and back, staying in 32-bit lanes: to_bf16's
  // rounding (nearest even, NaN quieted) without the narrowing and widening.
  static V round_bf16(V v) {
    __m512i u = _mm512_castps_si512(v);
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), lsb));
    r = _mm512_and_si512(r, _mm512_set1_epi32(int(0xffff0000u)));
    __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    r = _mm512_mask_mov_epi32(
        r, nan, _mm512_and_si512(_mm512_or_si512(u, _mm512_set1_epi32(0x400000)),
                                 _mm512_set1_epi32(int(0xffff0000u))));
    return _mm512_castsi512_ps(r);
  }
  template <typename T>
  static V round(V v) {
    if constexpr (std::is_same_v<T, float16_t>) return _mm512_cvtph_ps(to_f16(v));
    else if constexpr (std::is_same_v<T, bfloat16_t>) return round_bf16(v);
    else return v;
  }

  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  // NaN-propagating max (vmaxps returns its second operand on NaN).
  static V max(V a, V b) {
    V m = _mm512_max_ps(a, b);
    return _mm512_mask_mov_ps(m, _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q), a);
  }
  static V min(V a, V b) {
    V m = _mm512_min_ps(a, b);
    return _mm512_mask_mov_ps(m, _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q), a);
  }
  static float hmin(V v) {
    if (_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q)) return std::numeric_limits<float>::quiet_NaN();
    return _mm512_reduce_min_ps(v);
  }
  static float hsum(V v) { return _mm512_reduce_add_ps(v); }
  static float hmax(V v) {
    if (_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q)) return std::numeric_limits<float>::quiet_NaN();
    return _mm512_reduce_max_ps(v);
  }

  // Primitives of simd_exp (fast_exp.inc). vmaxps/vminps return their
  // second operand on NaN, so NaN passes through the clamp; vscalefps
  // handles overflow to inf and gradual underflow.
  static V fnmadd(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }
  static V clamp(V x, float lo, float hi) {
    return _mm512_min_ps(set1(hi), _mm512_max_ps(set1(lo), x));
  }
  static V round_even(V v) {
    return _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  static V scale2(V p, V n) { return _mm512_scalef_ps(p, n); }
  static V exp(V x) { return simd_exp<Tr>(x); }

  // exp(d) for d <= 0 (or NaN), the softmax / logsumexp exponent: d =
  // N/16 * ln 2 + r with |r| <= ln(2)/32, exp(d) = 2^floor(N/16) *
  // 2^((N mod 16)/16) * e^r; the 16 powers 2^(j/16) are a register table
  // (vpermps on the low bits of the rounding sum), e^r its cubic Taylor
  // polynomial (truncation below 1e-8 relative), vscalefps the power of two
  // (underflow to subnormals and zero). Error about 1 ulp; -inf gives 0, NaN
  // stays NaN. A third fewer instructions than exp().
  static V exp_neg(V d) {
    const __m512 tab = _mm512_setr_ps(
        0x1.000000p+0f, 0x1.0b5586p+0f, 0x1.172b84p+0f, 0x1.2387a6p+0f, 0x1.306fe0p+0f,
        0x1.3dea64p+0f, 0x1.4bfdaep+0f, 0x1.5ab07ep+0f, 0x1.6a09e6p+0f, 0x1.7a1148p+0f,
        0x1.8ace54p+0f, 0x1.9c4918p+0f, 0x1.ae89fap+0f, 0x1.c199bep+0f, 0x1.d5818ep+0f,
        0x1.ea4afap+0f);
    const V magic = set1(12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer
    d = _mm512_max_ps(set1(-104.0f), d);  // NaN passes (second operand)
    V nb = _mm512_fmadd_ps(d, set1(0x1.715476p+4f), magic);  // magic + N, N = round(16 d / ln 2)
    V n16 = _mm512_fmadd_ps(nb, set1(0.0625f), set1(-12582912.0f / 16));  // N / 16, exact
    V r = _mm512_fnmadd_ps(n16, set1(0x1.62e430p-1f), d);
    V p = _mm512_fmadd_ps(set1(1.0f / 6), r, set1(0.5f));
    p = _mm512_fmadd_ps(p, r, set1(1.0f));
    p = _mm512_fmadd_ps(p, r, set1(1.0f));
    V t = _mm512_permutexvar_ps(_mm512_castps_si512(nb), tab);
    return _mm512_scalef_ps(_mm512_mul_ps(p, t), n16);  // * 2^floor(N / 16)
  }
  // max that ignores a NaN in a (returns b): m = max_nn(x, m) is the largest
  // non-NaN element (one instruction; softmax's NaN rows still come out NaN
  // through the sum).
  static V max_nn(V a, V b) { return _mm512_max_ps(a, b); }
  // Non-temporal stores of a full vector (p aligned to the stored width).
  static constexpr int kStreamAlign = 64;
  static void stream(float* p, V v) { _mm512_stream_ps(p, v); }
  static void stream(float16_t* p, V v) {
    _mm256_stream_si256(reinterpret_cast<__m256i*>(p), to_f16(v));
  }
  static void stream(bfloat16_t* p, V v) {
    _mm256_stream_si256(reinterpret_cast<__m256i*>(p), to_bf16(v));
  }
  static void stream_fence() { _mm_sfence(); }
};

#include "backend/cpu/fast_kernels.inc"

}  // namespace
}  // namespace oxmlx::cpu::fast_detail

OXMLX_ISA_END()
#endif

namespace oxmlx::cpu::fast_detail {

const FastIsa* fast_avx512() {
#if defined(OXMLX_HAVE_AVX512_FAST)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) {
    static const FastIsa isa = k_float_isa("avx512", fast_generic()->f64);
    return &isa;
  }
#endif
  return nullptr;
}

}  // namespace oxmlx::cpu::fast_detail
