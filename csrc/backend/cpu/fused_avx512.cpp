// The fused family compiled for AVX-512: the float32 register engine
// (fused_vec.inc, 16 lanes) and the tile loops of fused_simd.h (float64 and
// mixed programs). exp is mx.exp's (fast_exp.inc with the primitives of
// fast_avx512.cpp's trait: vscalefps), so compiled and uncompiled exp agree
// bit for bit. Chosen at run time by fused.cpp.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "backend/backend.h"
#include "backend/cpu/fused_vec.h"
#include "backend/cpu/isa_target.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define OXMLX_HAVE_AVX512_FUSED 1
// GCC 12's AVX-512 intrinsics initialise "undefined" vectors from themselves.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

OXMLX_ISA_BEGIN("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma,f16c")
namespace oxmlx::cpu {
namespace {
#include "backend/cpu/fused_simd.h"
#include "backend/cpu/fast_exp.inc"

struct Tr {
  using V = __m512;
  static constexpr int W = 16;
  static V set1(float a) { return _mm512_set1_ps(a); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static void stream(float* p, V v) { _mm512_stream_ps(p, v); }
  static void fence() { _mm_sfence(); }
  static float first(V v) { return _mm512_cvtss_f32(v); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V div(V a, V b) { return _mm512_div_ps(a, b); }
  static V sqrt(V a) { return _mm512_sqrt_ps(a); }
  static V neg(V a) {
    return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(a), _mm512_set1_epi32(int(0x80000000u))));
  }
  static V abs(V a) {
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a), _mm512_set1_epi32(0x7fffffff)));
  }
  // vmaxps(a, b) is a > b ? a : b (b on NaN, ties give b); a NaN a wins.
  static V max(V a, V b) { return _mm512_mask_mov_ps(_mm512_max_ps(a, b), _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q), a); }
  static V min(V a, V b) { return _mm512_mask_mov_ps(_mm512_min_ps(a, b), _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q), a); }
  // Primitives of simd_exp, exactly as fast_avx512.cpp's.
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V fnmadd(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }
  static V clamp(V x, float lo, float hi) { return _mm512_min_ps(set1(hi), _mm512_max_ps(set1(lo), x)); }
  static V round_even(V v) { return _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static V scale2(V p, V n) { return _mm512_scalef_ps(p, n); }
  static V exp(V x) { return simd_exp<Tr>(x); }
};

#include "backend/cpu/fused_vec.inc"

void exp_avx512(const void* in, void* out, int64_t n) {
  const float* x = static_cast<const float*>(in);
  float* y = static_cast<float*>(out);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, Tr::exp(_mm512_loadu_ps(x + i)));
  if (i < n) {
    __mmask16 m = __mmask16((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(y + i, m, Tr::exp(_mm512_maskz_loadu_ps(m, x + i)));
  }
}
}  // namespace
}  // namespace oxmlx::cpu
OXMLX_ISA_END()
#endif

namespace oxmlx::cpu {
void* fused_avx512_unary(UnaryOp op, bool f64) {
#if defined(OXMLX_HAVE_AVX512_FUSED)
  if (op == UnaryOp::Exp && !f64) return reinterpret_cast<void*>(&exp_avx512);
  return reinterpret_cast<void*>(simd_unary(op, f64));
#else
  (void)op, (void)f64;
  return nullptr;
#endif
}
void* fused_avx512_binary(BinaryOp op, bool f64) {
#if defined(OXMLX_HAVE_AVX512_FUSED)
  return reinterpret_cast<void*>(simd_binary(op, f64));
#else
  (void)op, (void)f64;
  return nullptr;
#endif
}
}  // namespace oxmlx::cpu

namespace oxmlx::cpu::fused_vec {
VecRunFn vec_run_avx512() {
#if defined(OXMLX_HAVE_AVX512_FUSED)
  return &vec_engine::run;
#else
  return nullptr;
#endif
}
}  // namespace oxmlx::cpu::fused_vec
