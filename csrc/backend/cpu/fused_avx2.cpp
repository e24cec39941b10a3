// The fused family compiled for AVX2 + FMA: the float32 register engine
// (fused_vec.inc, 8 lanes) and the tile loops of fused_simd.h (float64 and
// mixed programs). exp is mx.exp's (fast_exp.inc with exp_prims_avx2.inc's
// primitives, shared with fast_avx2.cpp: 2^n in two exponent steps). Chosen
// at run time by fused.cpp.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "backend/backend.h"
#include "backend/cpu/fused_vec.h"
#include "backend/cpu/isa_target.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define OXMLX_HAVE_AVX2_FUSED 1
#include <immintrin.h>

OXMLX_ISA_BEGIN("avx2,fma,f16c")
namespace oxmlx::cpu {
namespace {
#include "backend/cpu/fused_simd.h"
#include "backend/cpu/fast_exp.inc"
#include "backend/cpu/exp_prims_avx2.inc"

struct Tr : Avx2ExpPrims {
  using V = __m256;
  static constexpr int W = 8;
  static V set1(float a) { return _mm256_set1_ps(a); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static void stream(float* p, V v) { _mm256_stream_ps(p, v); }
  static void fence() { _mm_sfence(); }
  static float first(V v) { return _mm256_cvtss_f32(v); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V div(V a, V b) { return _mm256_div_ps(a, b); }
  static V sqrt(V a) { return _mm256_sqrt_ps(a); }
  static V neg(V a) { return _mm256_xor_ps(a, _mm256_set1_ps(-0.0f)); }
  static V abs(V a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
  // vmaxps(a, b) is a > b ? a : b (b on NaN, ties give b); a NaN a wins.
  static V max(V a, V b) { return _mm256_blendv_ps(_mm256_max_ps(a, b), a, _mm256_cmp_ps(a, a, _CMP_UNORD_Q)); }
  static V min(V a, V b) { return _mm256_blendv_ps(_mm256_min_ps(a, b), a, _mm256_cmp_ps(a, a, _CMP_UNORD_Q)); }
  static V exp(V x) { return simd_exp<Tr>(x); }
};

#include "backend/cpu/fused_vec.inc"

void exp_avx2(const void* in, void* out, int64_t n) {
  const float* x = static_cast<const float*>(in);
  float* y = static_cast<float*>(out);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, Tr::exp(_mm256_loadu_ps(x + i)));
  if (i < n) {
    alignas(32) float buf[8] = {};
    std::memcpy(buf, x + i, size_t(n - i) * 4);
    _mm256_store_ps(buf, Tr::exp(_mm256_load_ps(buf)));
    std::memcpy(y + i, buf, size_t(n - i) * 4);
  }
}
}  // namespace
}  // namespace oxmlx::cpu
OXMLX_ISA_END()
#endif

namespace oxmlx::cpu {
void* fused_avx2_unary(UnaryOp op, bool f64) {
#if defined(OXMLX_HAVE_AVX2_FUSED)
  if (op == UnaryOp::Exp && !f64) return reinterpret_cast<void*>(&exp_avx2);
  return reinterpret_cast<void*>(simd_unary(op, f64));
#else
  (void)op, (void)f64;
  return nullptr;
#endif
}
void* fused_avx2_binary(BinaryOp op, bool f64) {
#if defined(OXMLX_HAVE_AVX2_FUSED)
  return reinterpret_cast<void*>(simd_binary(op, f64));
#else
  (void)op, (void)f64;
  return nullptr;
#endif
}
}  // namespace oxmlx::cpu

namespace oxmlx::cpu::fused_vec {
VecRunFn vec_run_avx2() {
#if defined(OXMLX_HAVE_AVX2_FUSED)
  return &vec_engine::run;
#else
  return nullptr;
#endif
}
}  // namespace oxmlx::cpu::fused_vec
