// The fused family's hot float loops (fused_simd.h) compiled for avx512;
// chosen at run time by fused.cpp when the CPU has it.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "backend/backend.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
// GCC 12's AVX-512 intrinsics initialise "undefined" vectors from themselves.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma")
#endif
namespace oxmlx::cpu {
namespace {
#include "backend/cpu/fused_simd.h"

// exp with vscalefps: y = p(r) * 2^k where scalef handles overflow to inf,
// gradual underflow to subnormals and 0, and NaN, with no masks.
inline __m512 exp16(__m512 x) {
  const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(k, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  __m512 y = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  // |x| beyond the float range: keep k finite so that scalef saturates.
  return _mm512_scalef_ps(y, k);
}

void exp_avx512(const void* in, void* out, int64_t n) {
  const float* x = static_cast<const float*>(in);
  float* y = static_cast<float*>(out);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, exp16(_mm512_loadu_ps(x + i)));
  if (i < n) {
    __mmask16 m = __mmask16((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(y + i, m, exp16(_mm512_maskz_loadu_ps(m, x + i)));
  }
}
}  // namespace
void* fused_avx512_unary(UnaryOp op, bool f64) {
  if (op == UnaryOp::Exp && !f64) return reinterpret_cast<void*>(&exp_avx512);
  return reinterpret_cast<void*>(simd_unary(op, f64));
}
void* fused_avx512_binary(BinaryOp op, bool f64) { return reinterpret_cast<void*>(simd_binary(op, f64)); }
}  // namespace oxmlx::cpu
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#else
namespace oxmlx::cpu {
void* fused_avx512_unary(UnaryOp, bool) { return nullptr; }
void* fused_avx512_binary(BinaryOp, bool) { return nullptr; }
}  // namespace oxmlx::cpu
#endif
