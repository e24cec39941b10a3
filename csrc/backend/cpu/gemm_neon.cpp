// NEON (AArch64 Advanced SIMD) GEMM micro-kernels, packers and 16-bit stores.
//
// Advanced SIMD is part of the AArch64 baseline, so no runtime check or
// target pragma is needed; on other targets this file only provides a
// neon_kernels() that returns nullptr. Helpers have internal linkage, like
// the other per-ISA files.
#include "backend/cpu/gemm.h"

#if defined(__aarch64__)
#include <arm_neon.h>

#include <utility>

namespace oxmlx::cpu::gemm_detail {
namespace {

// ---------------------------------------------------------------- kernels --

// 8 x 12 float tile: 24 q-register accumulators, 3 for B and 2 holding the
// 8 A values of one k step, used through by-element FMAs (fmla v, v, v.s[l])
// so no broadcasts are needed: 29 of the 32 vector registers.
// The lane index must be a compile-time constant, hence the index_sequence.
template <int NV, size_t... I>
inline void rank1_f32(float32x4_t (&acc)[sizeof...(I)][NV], const float32x4_t (&b)[NV],
                      const float* a, std::index_sequence<I...>) {
  const float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4);
  auto row = [&](auto ic) {
    constexpr int i = decltype(ic)::value;
    const float32x4_t av = i < 4 ? a0 : a1;
    for (int v = 0; v < NV; ++v) acc[i][v] = vfmaq_laneq_f32(acc[i][v], b[v], av, i & 3);
  };
  (row(std::integral_constant<int, int(I)>{}), ...);
}

template <int MR, int NV>
void kernel_f32(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, int m, int n,
                int mode, float alpha, float beta) {
  static_assert(MR == 8, "the by-element FMA layout assumes 8 rows");
  constexpr int NR = 4 * NV;
  float32x4_t acc[MR][NV];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) acc[i][v] = vdupq_n_f32(0.0f);
  const float* a = Ap;
  const float* b = Bp;
  for (int64_t k = 0; k < kc; ++k) {
    float32x4_t bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = vld1q_f32(b + 4 * v);
    rank1_f32<NV>(acc, bv, a, std::make_index_sequence<MR>{});
    a += MR;
    b += NR;
  }
  const float32x4_t va = vdupq_n_f32(alpha), vb = vdupq_n_f32(beta);
  if (m == MR && n == NR) {
    for (int i = 0; i < MR; ++i) {
      float* c = C + i * ldc;
      for (int v = 0; v < NV; ++v) {
        float32x4_t r = vmulq_f32(acc[i][v], va);
        if (mode == kBeta) r = vfmaq_f32(r, vld1q_f32(c + 4 * v), vb);
        else if (mode == kAccumulate) r = vaddq_f32(r, vld1q_f32(c + 4 * v));
        vst1q_f32(c + 4 * v, r);
      }
    }
    return;
  }
  // Edge tile: spill the scaled tile and store the valid corner.
  float tmp[MR * NR];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) vst1q_f32(tmp + i * NR + 4 * v, vmulq_f32(acc[i][v], va));
  for (int i = 0; i < m; ++i) {
    float* c = C + i * ldc;
    const float* t = tmp + i * NR;
    for (int j = 0; j < n; ++j)
      c[j] = mode == kOverwrite ? t[j] : mode == kBeta ? t[j] + beta * c[j] : c[j] + t[j];
  }
}

// 6 x 8 double tile: 24 accumulators + 4 B + 3 A registers (two doubles per
// register, by-element FMAs on lanes 0/1).
template <int NV, size_t... I>
inline void rank1_f64(float64x2_t (&acc)[sizeof...(I)][NV], const float64x2_t (&b)[NV],
                      const double* a, std::index_sequence<I...>) {
  float64x2_t av[(sizeof...(I) + 1) / 2];
  for (size_t p = 0; p < (sizeof...(I) + 1) / 2; ++p) av[p] = vld1q_f64(a + 2 * p);
  auto row = [&](auto ic) {
    constexpr int i = decltype(ic)::value;
    for (int v = 0; v < NV; ++v) acc[i][v] = vfmaq_laneq_f64(acc[i][v], b[v], av[i / 2], i & 1);
  };
  (row(std::integral_constant<int, int(I)>{}), ...);
}

template <int MR, int NV>
void kernel_f64(int64_t kc, const double* Ap, const double* Bp, double* C, int64_t ldc, int m,
                int n, int mode, double alpha, double beta) {
  static_assert(MR % 2 == 0, "A is read two doubles at a time");
  constexpr int NR = 2 * NV;
  float64x2_t acc[MR][NV];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) acc[i][v] = vdupq_n_f64(0.0);
  const double* a = Ap;
  const double* b = Bp;
  for (int64_t k = 0; k < kc; ++k) {
    float64x2_t bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = vld1q_f64(b + 2 * v);
    rank1_f64<NV>(acc, bv, a, std::make_index_sequence<MR>{});
    a += MR;
    b += NR;
  }
  const float64x2_t va = vdupq_n_f64(alpha), vb = vdupq_n_f64(beta);
  if (m == MR && n == NR) {
    for (int i = 0; i < MR; ++i) {
      double* c = C + i * ldc;
      for (int v = 0; v < NV; ++v) {
        float64x2_t r = vmulq_f64(acc[i][v], va);
        if (mode == kBeta) r = vfmaq_f64(r, vld1q_f64(c + 2 * v), vb);
        else if (mode == kAccumulate) r = vaddq_f64(r, vld1q_f64(c + 2 * v));
        vst1q_f64(c + 2 * v, r);
      }
    }
    return;
  }
  double tmp[MR * NR];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) vst1q_f64(tmp + i * NR + 2 * v, vmulq_f64(acc[i][v], va));
  for (int i = 0; i < m; ++i) {
    double* c = C + i * ldc;
    const double* t = tmp + i * NR;
    for (int j = 0; j < n; ++j)
      c[j] = mode == kOverwrite ? t[j] : mode == kBeta ? t[j] + beta * c[j] : c[j] + t[j];
  }
}

// ---------------------------------------------------------------- packing --

inline float32x4_t load4(const float* p) { return vld1q_f32(p); }
inline float32x4_t load4(const float16_t* p) {
  return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(reinterpret_cast<const uint16_t*>(p))));
}
inline float32x4_t load4(const bfloat16_t* p) {
  // bf16 is the top half of an f32: widening shift by 16.
  return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(reinterpret_cast<const uint16_t*>(p)), 16));
}
inline float load1(const float* p) { return *p; }
inline float load1(const float16_t* p) { return float(*p); }
inline float load1(const bfloat16_t* p) { return float(*p); }

// 4x4 transpose: on return r[k] holds what was column k.
inline void transpose4(float32x4_t r[4]) {
  const float32x4_t t0 = vtrn1q_f32(r[0], r[1]), t1 = vtrn2q_f32(r[0], r[1]);
  const float32x4_t t2 = vtrn1q_f32(r[2], r[3]), t3 = vtrn2q_f32(r[2], r[3]);
  auto d = [](float32x4_t x) { return vreinterpretq_f64_f32(x); };
  r[0] = vreinterpretq_f32_f64(vtrn1q_f64(d(t0), d(t2)));
  r[1] = vreinterpretq_f32_f64(vtrn1q_f64(d(t1), d(t3)));
  r[2] = vreinterpretq_f32_f64(vtrn2q_f64(d(t0), d(t2)));
  r[3] = vreinterpretq_f32_f64(vtrn2q_f64(d(t1), d(t3)));
}

template <typename T>
void pack_f32_family(const T* src, int64_t ld, bool r_contig, int rows, int64_t kc, float* dst,
                     int width) {
  if (r_contig) {
    for (int64_t k = 0; k < kc; ++k) {
      const T* s = src + k * ld;
      float* d = dst + k * width;
      int r = 0;
      for (; r + 4 <= rows; r += 4) vst1q_f32(d + r, load4(s + r));
      for (; r < rows; ++r) d[r] = load1(s + r);
      for (; r < width; ++r) d[r] = 0.0f;
    }
    return;
  }
  // Transpose 4 rows x 4 k at a time; ragged edges go scalar.
  int r0 = 0;
  for (; r0 + 4 <= rows; r0 += 4) {
    int64_t k0 = 0;
    for (; k0 + 4 <= kc; k0 += 4) {
      float32x4_t v[4];
      for (int i = 0; i < 4; ++i) v[i] = load4(src + (r0 + i) * ld + k0);
      transpose4(v);
      for (int i = 0; i < 4; ++i) vst1q_f32(dst + (k0 + i) * width + r0, v[i]);
    }
    for (; k0 < kc; ++k0)
      for (int i = 0; i < 4; ++i) dst[k0 * width + r0 + i] = load1(src + (r0 + i) * ld + k0);
  }
  for (int r = r0; r < rows; ++r)
    for (int64_t k = 0; k < kc; ++k) dst[k * width + r] = load1(src + r * ld + k);
  for (int r = rows; r < width; ++r)
    for (int64_t k = 0; k < kc; ++k) dst[k * width + r] = 0.0f;
}

void pack_f32(const float* s, int64_t ld, bool rc, int rows, int64_t kc, float* d, int w) {
  pack_f32_family(s, ld, rc, rows, kc, d, w);
}
void pack_f16(const float16_t* s, int64_t ld, bool rc, int rows, int64_t kc, float* d, int w) {
  pack_f32_family(s, ld, rc, rows, kc, d, w);
}
void pack_bf16(const bfloat16_t* s, int64_t ld, bool rc, int rows, int64_t kc, float* d, int w) {
  pack_f32_family(s, ld, rc, rows, kc, d, w);
}

void pack_f64(const double* src, int64_t ld, bool r_contig, int rows, int64_t kc, double* dst,
              int width) {
  if (r_contig) {
    for (int64_t k = 0; k < kc; ++k) {
      const double* s = src + k * ld;
      double* d = dst + k * width;
      int r = 0;
      for (; r + 2 <= rows; r += 2) vst1q_f64(d + r, vld1q_f64(s + r));
      for (; r < rows; ++r) d[r] = s[r];
      for (; r < width; ++r) d[r] = 0.0;
    }
    return;
  }
  // 2x2 transposes (zip of two rows) for pairs of rows.
  int r0 = 0;
  for (; r0 + 2 <= rows; r0 += 2) {
    const double* s0 = src + r0 * ld;
    const double* s1 = s0 + ld;
    int64_t k = 0;
    for (; k + 2 <= kc; k += 2) {
      const float64x2_t x = vld1q_f64(s0 + k), y = vld1q_f64(s1 + k);
      vst1q_f64(dst + k * width + r0, vzip1q_f64(x, y));
      vst1q_f64(dst + (k + 1) * width + r0, vzip2q_f64(x, y));
    }
    for (; k < kc; ++k) {
      dst[k * width + r0] = s0[k];
      dst[k * width + r0 + 1] = s1[k];
    }
  }
  for (int r = r0; r < rows; ++r)
    for (int64_t k = 0; k < kc; ++k) dst[k * width + r] = src[r * ld + k];
  for (int r = rows; r < width; ++r)
    for (int64_t k = 0; k < kc; ++k) dst[k * width + r] = 0.0;
}

// ------------------------------------------------------------ 16-bit store --

inline uint16x4_t to_bits(float32x4_t v, const float16_t*) {
  return vreinterpret_u16_f16(vcvt_f16_f32(v));  // FCVTN: round to nearest even
}
// f32 -> bf16, round to nearest even, NaN -> quiet NaN (matches half.h).
inline uint16x4_t to_bits(float32x4_t v, const bfloat16_t*) {
  const uint32x4_t u = vreinterpretq_u32_f32(v);
  const uint32x4_t lsb = vandq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(1));
  uint32x4_t r = vshrq_n_u32(vaddq_u32(vaddq_u32(u, vdupq_n_u32(0x7fff)), lsb), 16);
  const uint32x4_t is_nan = vmvnq_u32(vceqq_f32(v, v));
  r = vbslq_u32(is_nan, vorrq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(0x40)), r);
  return vmovn_u32(r);
}

template <typename T>
void store16(const float* W, int64_t ldw, T* C, int64_t ldc, int64_t m, int64_t n, float beta) {
  const float32x4_t vb = vdupq_n_f32(beta);
  for (int64_t i = 0; i < m; ++i) {
    const float* w = W + i * ldw;
    T* c = C + i * ldc;
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
      float32x4_t v = vld1q_f32(w + j);
      if (beta != 0.0f) v = vfmaq_f32(v, load4(c + j), vb);
      vst1_u16(reinterpret_cast<uint16_t*>(c + j), to_bits(v, C));
    }
    for (; j < n; ++j) c[j] = T(beta != 0.0f ? w[j] + beta * float(c[j]) : w[j]);
  }
}

const IsaKernels kNeon = {
    "neon",
    8, 12, &kernel_f32<8, 3>,
    6, 8, &kernel_f64<6, 4>,
    &pack_f32, &pack_f16, &pack_bf16, &pack_f64,
    &store16<float16_t>, &store16<bfloat16_t>,
    {}, {}, {}, {},  // gemv: the driver's portable loops
};

}  // namespace

const IsaKernels* neon_kernels() { return &kNeon; }

}  // namespace oxmlx::cpu::gemm_detail

#else  // !__aarch64__

namespace oxmlx::cpu::gemm_detail {
const IsaKernels* neon_kernels() { return nullptr; }
}  // namespace oxmlx::cpu::gemm_detail

#endif
