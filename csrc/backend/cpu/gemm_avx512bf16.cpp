// bf16 GEMM on AVX512-BF16 dot products (vdpbf16ps: per 32-bit lane,
// acc += a.lo*b.lo + a.hi*b.hi in f32): twice the multiplies per
// instruction of converting to f32 and using FMAs, which pays where
// vdpbf16ps issues like an FMA. On Sapphire Rapids class cores it measured
// ~35% slower than the f32 path at every size (n=128: 90 vs 127 GFLOP/s,
// n=512: 97 vs 152, one thread), so it is off by default on CPUs with
// AMX-BF16 (large bf16 products go to gemm_amx.cpp there anyway).
//
// Compiled for avx512f/bw/vl + avx512bf16 through a target pragma (see
// gemm_avx512.cpp for why not global -m flags); avx512bf16_kernels() checks
// the CPU from baseline code.
#include <cstdlib>
#include <cstring>

#include "backend/cpu/gemm.h"
#include "backend/cpu/isa_target.h"

#if (defined(__x86_64__) || defined(_M_X64)) && defined(__GNUC__) && \
    (defined(__clang__) || __GNUC__ >= 10)
#define OXMLX_HAVE_AVX512BF16_GEMM 1
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

OXMLX_ISA_BEGIN("avx512f,avx512bw,avx512vl,avx512bf16,avx2")

namespace oxmlx::cpu::gemm_detail {
namespace {

// Register tile: MR rows x 32 columns (two zmm of 16 f32 lanes per row):
// 24 accumulators + 2 B vectors + the A broadcast.
constexpr int kMR = 12;
constexpr int kNV = 2;
constexpr int kNR = 16 * kNV;

inline __mmask16 mask16(int n) {
  return n >= 16 ? __mmask16(0xffff) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1);
}

__attribute__((always_inline)) inline void step(__m512 (&acc)[kMR][kNV], const uint32_t* a,
                                                const uint32_t* b) {
  __m512bh bv[kNV];
#pragma GCC unroll 2
  for (int v = 0; v < kNV; ++v) bv[v] = (__m512bh)_mm512_load_si512(b + 16 * v);
#pragma GCC unroll 12
  for (int i = 0; i < kMR; ++i) {
    const __m512bh av = (__m512bh)_mm512_set1_epi32(int(a[i]));
#pragma GCC unroll 2
    for (int v = 0; v < kNV; ++v) acc[i][v] = _mm512_dpbf16_ps(acc[i][v], av, bv[v]);
  }
}

void kernel(int64_t kp, const uint32_t* Ap, const uint32_t* Bp, float* C, int64_t ldc, int m,
            int n, int mode, float alpha, float beta) {
  __m512 acc[kMR][kNV];
#pragma GCC unroll 12
  for (int i = 0; i < kMR; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < kNV; ++v) acc[i][v] = _mm512_setzero_ps();
  for (int i = 0; i < m; ++i) __builtin_prefetch(C + i * ldc, 0, 2);
  const uint32_t* a = Ap;
  const uint32_t* b = Bp;
#pragma GCC unroll 4
  for (int64_t k = 0; k < kp; ++k, a += kMR, b += kNR) step(acc, a, b);

  __mmask16 mk[kNV];
  for (int v = 0; v < kNV; ++v) mk[v] = mask16(n - 16 * v);
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 12
  for (int i = 0; i < kMR; ++i) {
    if (i >= m) break;
    float* c = C + i * ldc;
#pragma GCC unroll 2
    for (int v = 0; v < kNV; ++v) {
      __m512 r;
      if (mode == kOverwrite) {
        r = _mm512_mul_ps(acc[i][v], va);
      } else {
        const __m512 old = _mm512_maskz_loadu_ps(mk[v], c + 16 * v);
        r = mode == kBeta ? _mm512_fmadd_ps(acc[i][v], va, _mm512_mul_ps(old, vb))
                          : _mm512_fmadd_ps(acc[i][v], va, old);
      }
      _mm512_mask_storeu_ps(c + 16 * v, mk[v], r);
    }
  }
}

// Packs pairs. r_contig (src(r,k) = src[k*ld + r]): rows k and k+1 are
// interleaved 16 bits at a time (zero-extend one, shift the other, or).
// Otherwise (src(r,k) = src[r*ld + k]) the pair is already one 32-bit word
// in memory and the panel is a 32-bit transpose, done with gathers of the
// same k-pair from up to 16 rows.
void pack(const bfloat16_t* src, int64_t ld, bool r_contig, int rows, int64_t kc, uint32_t* dst,
          int width) {
  const int64_t kp = (kc + 1) / 2;
  const int groups = (width + 15) / 16;
  const uint16_t* s = reinterpret_cast<const uint16_t*>(src);
  if (r_contig) {
    for (int64_t p = 0; p < kp; ++p) {
      const uint16_t* lo = s + (2 * p) * ld;
      const bool has_hi = 2 * p + 1 < kc;
      const uint16_t* hi = lo + ld;
      uint32_t* d = dst + p * width;
      for (int g = 0; g < groups; ++g) {
        const __mmask16 mr = mask16(rows - 16 * g);
        const __m512i l = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mr, lo + 16 * g));
        __m512i w = l;
        if (has_hi) {
          const __m512i h = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mr, hi + 16 * g));
          w = _mm512_or_si512(l, _mm512_slli_epi32(h, 16));
        }
        _mm512_mask_storeu_epi32(d + 16 * g, mask16(width - 16 * g), w);
      }
    }
    return;
  }
  const bool odd = kc % 2;
  if (ld > (int64_t(1) << 30) / 32) {  // gather offsets would overflow int32
    for (int64_t p = 0; p < kp; ++p)
      for (int r = 0; r < width; ++r) {
        uint32_t w = 0;
        if (r < rows) {
          w = s[int64_t(r) * ld + 2 * p];
          if (2 * p + 1 < kc) w |= uint32_t(s[int64_t(r) * ld + 2 * p + 1]) << 16;
        }
        dst[p * width + r] = w;
      }
    return;
  }
  for (int g = 0; g < groups; ++g) {
    const int r0 = 16 * g;
    const __mmask16 mr = mask16(rows - r0);
    const __mmask16 mw = mask16(width - r0);
    // Byte offsets of rows r0.., for 32-bit gathers (ld in 16-bit elements).
    const __m512i idx = _mm512_mullo_epi32(
        _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
        _mm512_set1_epi32(int(ld * 2)));
    const char* base = reinterpret_cast<const char*>(s + int64_t(r0) * ld);
    const int64_t full = odd ? kp - 1 : kp;
    for (int64_t p = 0; p < full; ++p) {
      const __m512i w = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), mr, idx,
                                                    base + 4 * p, 1);
      _mm512_mask_storeu_epi32(dst + p * width + r0, mw, w);
    }
    if (odd) {
      // The last k has no partner: gather 16 bits (the word's low half; the
      // high half may lie past the row) and clear the rest.
      alignas(64) uint32_t t[16];
      for (int i = 0; i < 16; ++i)
        t[i] = r0 + i < rows ? uint32_t(s[int64_t(r0 + i) * ld + 2 * (kp - 1)]) : 0u;
      _mm512_mask_storeu_epi32(dst + (kp - 1) * width + r0, mw, _mm512_load_si512(t));
    }
  }
}

const Bf16DotKernels kBf16 = {"avx512bf16", kMR, kNR, &kernel, &pack};

}  // namespace
}  // namespace oxmlx::cpu::gemm_detail

OXMLX_ISA_END()
#endif

namespace oxmlx::cpu::gemm_detail {

const Bf16DotKernels* avx512bf16_kernels() {
#if defined(OXMLX_HAVE_AVX512BF16_GEMM)
  const char* off = std::getenv("OXMLX_GEMM_BF16DOT");
  if (off && std::strcmp(off, "0") == 0) return nullptr;
  // Default off where AMX exists: there the f32 path is faster (gemm.h).
  if (!(off && std::strcmp(off, "1") == 0) && amx_bf16_hardware()) return nullptr;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16"))
    return &kBf16;
#endif
  return nullptr;
}

}  // namespace oxmlx::cpu::gemm_detail
