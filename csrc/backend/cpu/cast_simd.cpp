// Vectorized dtype conversions (see cast_simd.h). The F16C kernels are
// compiled for that instruction set with a function target attribute only
// and are picked at run time (cpuid), so the library stays portable.
#include "backend/cpu/cast_simd.h"

#include "core/half.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define OXMLX_HAVE_F16C_KERNELS 1
#endif

namespace oxmlx::cpu {

namespace {

#ifdef OXMLX_HAVE_F16C_KERNELS
__attribute__((target("avx,f16c"))) void f32_to_f16_f16c(const float* s, uint16_t* d, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m128i h0 = _mm256_cvtps_ph(_mm256_loadu_ps(s + i), _MM_FROUND_TO_NEAREST_INT);
    __m128i h1 = _mm256_cvtps_ph(_mm256_loadu_ps(s + i + 8), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d + i), h0);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d + i + 8), h1);
  }
  for (; i < n; ++i) d[i] = float_to_half_bits(s[i]);
}

__attribute__((target("avx,f16c"))) void f16_to_f32_f16c(const uint16_t* s, float* d, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m128i h0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i));
    __m128i h1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i + 8));
    _mm256_storeu_ps(d + i, _mm256_cvtph_ps(h0));
    _mm256_storeu_ps(d + i + 8, _mm256_cvtph_ps(h1));
  }
  for (; i < n; ++i) d[i] = half_bits_to_float(s[i]);
}

bool cpu_has_f16c() {
  static const bool ok = __builtin_cpu_supports("avx") && __builtin_cpu_supports("f16c");
  return ok;
}
#else
bool cpu_has_f16c() { return false; }
#endif

// Branch-free forms of the bf16 conversions in half.h, written so that the
// compiler vectorizes them (NaN keeps its sign and payload and becomes quiet).
void f32_to_bf16(const float* s, uint16_t* d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    uint32_t u = bits_of(s[i]);
    uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    uint32_t q = (u >> 16) | 0x40u;
    d[i] = uint16_t((u & 0x7fffffffu) > 0x7f800000u ? q : r);
  }
}

void bf16_to_f32(const uint16_t* s, float* d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = float_of(uint32_t(s[i]) << 16);
}

}  // namespace

bool has_fast_cast(Dtype from, Dtype to) {
  if (from == float32 && to == bfloat16) return true;
  if (from == bfloat16 && to == float32) return true;
  if ((from == float32 && to == float16) || (from == float16 && to == float32)) return cpu_has_f16c();
  return false;
}

bool fast_cast(Dtype from, Dtype to, const void* src, void* dst, int64_t n) {
  if (!has_fast_cast(from, to)) return false;
  if (from == float32 && to == bfloat16) {
    f32_to_bf16(static_cast<const float*>(src), static_cast<uint16_t*>(dst), n);
  } else if (from == bfloat16) {
    bf16_to_f32(static_cast<const uint16_t*>(src), static_cast<float*>(dst), n);
  }
#ifdef OXMLX_HAVE_F16C_KERNELS
  else if (from == float32) {
    f32_to_f16_f16c(static_cast<const float*>(src), static_cast<uint16_t*>(dst), n);
  } else {
    f16_to_f32_f16c(static_cast<const uint16_t*>(src), static_cast<float*>(dst), n);
  }
#endif
  return true;
}

}  // namespace oxmlx::cpu
