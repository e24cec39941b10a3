// AVX-512 row kernels of the fused family (x86-64): the 16-lane float trait
// for fast_kernels.inc, including our polynomial exp.
//
// As in gemm_avx512.cpp, the body is compiled for AVX-512 through a target
// pragma (not global -m flags) and lives in an anonymous namespace, so the
// library stays portable; fast_avx512() (baseline code) checks the CPU
// before handing out the table.
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "backend/cpu/fast_isa.h"

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define OXMLX_HAVE_AVX512_FAST 1
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#if defined(__clang__)
#pragma clang attribute push(                                                   \
    __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma,f16c,avx2"))), \
    apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,fma,f16c,avx2")
#endif

namespace oxmlx::cpu::fast_detail {
namespace {

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
  template <typename T>
  static V round(V v) {
    if constexpr (std::is_same_v<T, float16_t>) return _mm512_cvtph_ps(to_f16(v));
    else if constexpr (std::is_same_v<T, bfloat16_t>) return widen_bf16(to_bf16(v));
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

  // exp(x) = 2^n * e^r with n = round(x / ln 2) and |r| <= ln(2)/2 (Cody-Waite
  // split of ln 2), e^r by its degree-7 Taylor polynomial (truncation error
  // below 6e-9 relative), 2^n applied by vscalefps, which handles overflow to
  // inf and gradual underflow to subnormals and zero. The clamp keeps n in
  // range; NaN passes through it (vmaxps/vminps return the second operand).
  static V exp(V x) {
    x = _mm512_min_ps(set1(89.0f), _mm512_max_ps(set1(-104.0f), x));
    V n = _mm512_roundscale_ps(_mm512_mul_ps(x, set1(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    V r = _mm512_fnmadd_ps(n, set1(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, set1(-2.12194440e-4f), r);
    V p = set1(1.0f / 5040);
    p = _mm512_fmadd_ps(p, r, set1(1.0f / 720));
    p = _mm512_fmadd_ps(p, r, set1(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, set1(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, set1(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, set1(0.5f));
    p = _mm512_fmadd_ps(p, r, set1(1.0f));
    p = _mm512_fmadd_ps(p, r, set1(1.0f));
    return _mm512_scalef_ps(p, n);
  }
};

#include "backend/cpu/fast_kernels.inc"

void exp_rows(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) Tr::store(y + i, Tr::exp(Tr::load(x + i)));
  if (i < n) Tr::store_n(y + i, Tr::exp(Tr::load_n(x + i, int(n - i), 0.0f)), int(n - i));
}

void add_row(const float* x, float* acc, int64_t n) {
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    for (int k = 0; k < 64; k += 16)
      _mm512_storeu_ps(acc + i + k, _mm512_add_ps(_mm512_loadu_ps(acc + i + k),
                                                  _mm512_loadu_ps(x + i + k)));
  }
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(acc + i, _mm512_add_ps(_mm512_loadu_ps(acc + i), _mm512_loadu_ps(x + i)));
  if (i < n) {
    __mmask16 m = lanes(int(n - i));
    _mm512_mask_storeu_ps(acc + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, acc + i),
                                                    _mm512_maskz_loadu_ps(m, x + i)));
  }
}

template <typename T>
RowFns<T, float> row_fns() {
  RowFns<T, float> f;
  f.softmax = &k_softmax<T>;
  f.logsumexp = &k_logsumexp<T>;
  f.rms_norm = &k_rms_norm<T>;
  f.layer_norm = &k_layer_norm<T>;
  f.row_max = &k_row_max<T>;
  f.row_min = &k_row_min<T>;
  f.row_sum = &k_sum<T>;
  f.exp_sum = &k_exp_sum<T>;
  f.rms_norm_vjp = &k_rms_norm_vjp<T>;
  f.layer_norm_vjp = &k_layer_norm_vjp<T>;
  f.rope_row = &k_rope_row<T>;
  return f;
}

}  // namespace
}  // namespace oxmlx::cpu::fast_detail

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif

namespace oxmlx::cpu::fast_detail {

const FastIsa* fast_avx512() {
#if defined(OXMLX_HAVE_AVX512_FAST)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) {
    static const FastIsa isa = [] {
      FastIsa k;
      k.name = "avx512";
      k.f32 = row_fns<float>();
      k.f16 = row_fns<float16_t>();
      k.bf16 = row_fns<bfloat16_t>();
      k.f64 = fast_generic()->f64;
      k.exp_f32 = &exp_rows;
      k.add_row_f32 = &add_row;
      return k;
    }();
    return &isa;
  }
#endif
  return nullptr;
}

}  // namespace oxmlx::cpu::fast_detail
