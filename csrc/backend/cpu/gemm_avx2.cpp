// AVX2 + FMA GEMM micro-kernels, packers and 16-bit stores (x86-64).
//
// Compiled for avx2/fma/f16c through a target pragma (no global -m flags);
// avx2_kernels() runs on the baseline target and checks the CPU before any
// of this code can be reached. All helpers have internal linkage so nothing
// compiled for AVX2 can be merged with baseline code of the same name.
#include "backend/cpu/gemm.h"
#include "backend/cpu/isa_target.h"

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define OXMLX_HAVE_AVX2_GEMM 1
#include <immintrin.h>

OXMLX_ISA_BEGIN("avx2,fma,f16c")

namespace oxmlx::cpu::gemm_detail {
namespace {

// ---------------------------------------------------------------- kernels --

// 6 x 16 float tile: 12 ymm accumulators + 2 B vectors + 1 broadcast = 15 of
// the 16 ymm registers. Each k: 2 loads + 6 broadcasts for 12 FMAs, which
// keeps both FMA ports busy on Haswell..Zen. Partial tiles are computed in
// full and stored through a small buffer (AVX2 has no cheap lane masks for
// every element type, and edge tiles are a small share of the work).
template <int MR, int NV>
void kernel_f32(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, int m, int n,
                int mode, float alpha, float beta) {
  constexpr int NR = 8 * NV;
  __m256 acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_setzero_ps();
  const float* a = Ap;
  const float* b = Bp;
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    __m256 bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = _mm256_load_ps(b + 8 * v);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m256 av = _mm256_broadcast_ss(a + i);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_fmadd_ps(av, bv[v], acc[i][v]);
    }
    a += MR;
    b += NR;
  }
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  if (m == MR && n == NR) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      float* c = C + i * ldc;
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        __m256 r = _mm256_mul_ps(acc[i][v], va);
        if (mode == kBeta) r = _mm256_fmadd_ps(_mm256_loadu_ps(c + 8 * v), vb, r);
        else if (mode == kAccumulate) r = _mm256_add_ps(_mm256_loadu_ps(c + 8 * v), r);
        _mm256_storeu_ps(c + 8 * v, r);
      }
    }
    return;
  }
  alignas(32) float tmp[MR * NR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) _mm256_store_ps(tmp + i * NR + 8 * v, _mm256_mul_ps(acc[i][v], va));
  for (int i = 0; i < m; ++i) {
    float* c = C + i * ldc;
    const float* t = tmp + i * NR;
    for (int j = 0; j < n; ++j)
      c[j] = mode == kOverwrite ? t[j] : mode == kBeta ? t[j] + beta * c[j] : c[j] + t[j];
  }
}

// 6 x 8 double tile, same structure (4 doubles per ymm).
template <int MR, int NV>
void kernel_f64(int64_t kc, const double* Ap, const double* Bp, double* C, int64_t ldc, int m,
                int n, int mode, double alpha, double beta) {
  constexpr int NR = 4 * NV;
  __m256d acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_setzero_pd();
  const double* a = Ap;
  const double* b = Bp;
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    __m256d bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = _mm256_load_pd(b + 4 * v);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m256d av = _mm256_broadcast_sd(a + i);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_fmadd_pd(av, bv[v], acc[i][v]);
    }
    a += MR;
    b += NR;
  }
  const __m256d va = _mm256_set1_pd(alpha), vb = _mm256_set1_pd(beta);
  if (m == MR && n == NR) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      double* c = C + i * ldc;
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        __m256d r = _mm256_mul_pd(acc[i][v], va);
        if (mode == kBeta) r = _mm256_fmadd_pd(_mm256_loadu_pd(c + 4 * v), vb, r);
        else if (mode == kAccumulate) r = _mm256_add_pd(_mm256_loadu_pd(c + 4 * v), r);
        _mm256_storeu_pd(c + 4 * v, r);
      }
    }
    return;
  }
  alignas(32) double tmp[MR * NR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) _mm256_store_pd(tmp + i * NR + 4 * v, _mm256_mul_pd(acc[i][v], va));
  for (int i = 0; i < m; ++i) {
    double* c = C + i * ldc;
    const double* t = tmp + i * NR;
    for (int j = 0; j < n; ++j)
      c[j] = mode == kOverwrite ? t[j] : mode == kBeta ? t[j] + beta * c[j] : c[j] + t[j];
  }
}

// ---------------------------------------------------------------- packing --

// 8 consecutive elements as float (full vectors only; tails go scalar).
inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 load8(const float16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline __m256 load8(const bfloat16_t* p) {
  const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}
inline float load1(const float* p) { return *p; }
inline float load1(const float16_t* p) {
  return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(int(p->bits))));
}
inline float load1(const bfloat16_t* p) {
  return _mm_cvtss_f32(_mm_castsi128_ps(_mm_cvtsi32_si128(int(uint32_t(p->bits) << 16))));
}

// In-register 8x8 transpose (unpack, 64-bit shuffle, 128-bit permute).
inline void transpose8(__m256 r[8]) {
  __m256 t[8], u[8];
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
#pragma GCC unroll 2
  for (int g = 0; g < 2; ++g) {
    u[4 * g + 0] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
    u[4 * g + 1] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
    u[4 * g + 2] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
    u[4 * g + 3] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
  }
#pragma GCC unroll 4
  for (int c = 0; c < 4; ++c) {
    r[c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x20);      // low lanes: column c
    r[4 + c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x31);  // high lanes: column 4+c
  }
}

template <typename T>
void pack_f32_family(const T* src, int64_t ld, bool r_contig, int rows, int64_t kc, float* dst,
                     int width) {
  if (r_contig) {
    for (int64_t k = 0; k < kc; ++k) {
      const T* s = src + k * ld;
      float* d = dst + k * width;
      int r = 0;
      for (; r + 8 <= rows; r += 8) _mm256_storeu_ps(d + r, load8(s + r));
      for (; r < rows; ++r) d[r] = load1(s + r);
      for (; r < width; ++r) d[r] = 0.0f;
    }
    return;
  }
  // Transpose 8 rows x 8 k at a time; ragged rows/k fall back to scalar.
  int r0 = 0;
  for (; r0 + 8 <= rows; r0 += 8) {
    int64_t k0 = 0;
    for (; k0 + 8 <= kc; k0 += 8) {
      __m256 v[8];
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i) v[i] = load8(src + (r0 + i) * ld + k0);
      transpose8(v);
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i) _mm256_storeu_ps(dst + (k0 + i) * width + r0, v[i]);
    }
    for (; k0 < kc; ++k0)
      for (int i = 0; i < 8; ++i) dst[k0 * width + r0 + i] = load1(src + (r0 + i) * ld + k0);
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
      for (; r + 4 <= rows; r += 4) _mm256_storeu_pd(d + r, _mm256_loadu_pd(s + r));
      for (; r < rows; ++r) d[r] = s[r];
      for (; r < width; ++r) d[r] = 0.0;
    }
    return;
  }
  for (int r = 0; r < rows; ++r) {
    const double* s = src + r * ld;
    for (int64_t k = 0; k < kc; ++k) dst[k * width + r] = s[k];
  }
  for (int r = rows; r < width; ++r)
    for (int64_t k = 0; k < kc; ++k) dst[k * width + r] = 0.0;
}

// ------------------------------------------------------------ 16-bit store --

// f32 -> bf16, round to nearest even, NaN -> quiet NaN (matches half.h).
inline __m128i to_bf16(__m256 v) {
  const __m256i u = _mm256_castps_si256(v);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  __m256i r = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)), lsb), 16);
  const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  const __m256i q = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x40));
  r = _mm256_blendv_epi8(r, q, nan);
  // Values are < 2^16, so the unsigned-saturating pack is exact; it packs
  // within 128-bit lanes, hence the permute to restore element order.
  const __m256i p = _mm256_packus_epi32(r, r);
  return _mm256_castsi256_si128(_mm256_permute4x64_epi64(p, 0x08));
}
inline __m128i to_half(__m256 v, const float16_t*) {
  return _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
inline __m128i to_half(__m256 v, const bfloat16_t*) { return to_bf16(v); }

template <typename T>
void store16(const float* W, int64_t ldw, T* C, int64_t ldc, int64_t m, int64_t n, float beta) {
  const __m256 vb = _mm256_set1_ps(beta);
  for (int64_t i = 0; i < m; ++i) {
    const float* w = W + i * ldw;
    T* c = C + i * ldc;
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
      __m256 v = _mm256_loadu_ps(w + j);
      if (beta != 0.0f) v = _mm256_fmadd_ps(vb, load8(c + j), v);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(c + j), to_half(v, C));
    }
    for (; j < n; ++j) {
      // Scalar tail through the same vector conversion (lane 0 only).
      float x = w[j];
      if (beta != 0.0f) x = x + beta * load1(c + j);
      const __m128i h = to_half(_mm256_set1_ps(x), C);
      c[j] = T::from_bits(uint16_t(_mm_extract_epi16(h, 0)));
    }
  }
}

// ------------------------------------------------------------------ gemv --

// Loaders for the matrix-vector kernels: 8 f32 lanes for the float family,
// 4 double lanes for double. Tails are handled with scalar code.
template <typename T>
struct GemvOps {
  using V = __m256;
  static constexpr int L = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const T* p) { return load8(p); }
  static V loadv(const float* p) { return _mm256_loadu_ps(p); }
  static void storev(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V set1(float x) { return _mm256_set1_ps(x); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static float one(const T* p) { return load1(p); }
  static float reduce(V v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};
template <>
struct GemvOps<double> {
  using V = __m256d;
  static constexpr int L = 4;
  static V zero() { return _mm256_setzero_pd(); }
  static V load(const double* p) { return _mm256_loadu_pd(p); }
  static V loadv(const double* p) { return _mm256_loadu_pd(p); }
  static void storev(double* p, V v) { _mm256_storeu_pd(p, v); }
  static V set1(double x) { return _mm256_set1_pd(x); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static double one(const double* p) { return *p; }
  static double reduce(V v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
  }
};

// y[o] = sum_k X[o*ldx + k] * v[k], four rows at a time (see gemm_avx512).
template <typename T, typename Acc>
void gemv_dot(const T* Xm, int64_t ldx, const Acc* v, int64_t K, int64_t n, Acc* y) {
  using G = GemvOps<T>;
  constexpr int L = G::L;
  const int64_t kfull = K / L * L;
  int64_t o = 0;
  for (; o + 4 <= n; o += 4) {
    const T* x = Xm + o * ldx;
    typename G::V s[4] = {G::zero(), G::zero(), G::zero(), G::zero()};
    for (int64_t k = 0; k < kfull; k += L) {
      const typename G::V vv = G::loadv(v + k);
#pragma GCC unroll 4
      for (int r = 0; r < 4; ++r) s[r] = G::fma(G::load(x + r * ldx + k), vv, s[r]);
    }
    for (int r = 0; r < 4; ++r) {
      Acc t = G::reduce(s[r]);
      for (int64_t k = kfull; k < K; ++k) t += G::one(x + r * ldx + k) * v[k];
      y[o + r] = t;
    }
  }
  for (; o < n; ++o) {
    const T* x = Xm + o * ldx;
    typename G::V s = G::zero();
    for (int64_t k = 0; k < kfull; k += L) s = G::fma(G::load(x + k), G::loadv(v + k), s);
    Acc t = G::reduce(s);
    for (int64_t k = kfull; k < K; ++k) t += G::one(x + k) * v[k];
    y[o] = t;
  }
}

// y[j] = sum_k v[k] * X[k*ldx + j], streaming four rows at a time.
template <typename T, typename Acc>
void gemv_axpy(const T* Xm, int64_t ldx, const Acc* v, int64_t K, int64_t n, Acc* y) {
  using G = GemvOps<T>;
  constexpr int L = G::L;
  const int64_t nfull = n / L * L;
  for (int64_t j = 0; j < n; ++j) y[j] = Acc(0);
  for (int64_t k = 0; k < K; k += 4) {
    const int rows = int(K - k < 4 ? K - k : 4);
    Acc vk[4];
    const T* x[4];
    for (int r = 0; r < 4; ++r) {
      vk[r] = r < rows ? v[k + r] : Acc(0);  // missing rows: zero weight
      x[r] = Xm + (k + (r < rows ? r : 0)) * ldx;
    }
    const typename G::V v0 = G::set1(vk[0]), v1 = G::set1(vk[1]), v2 = G::set1(vk[2]),
                        v3 = G::set1(vk[3]);
    for (int64_t j = 0; j < nfull; j += L) {
      typename G::V acc = G::loadv(y + j);
      acc = G::fma(v0, G::load(x[0] + j), acc);
      acc = G::fma(v1, G::load(x[1] + j), acc);
      acc = G::fma(v2, G::load(x[2] + j), acc);
      acc = G::fma(v3, G::load(x[3] + j), acc);
      G::storev(y + j, acc);
    }
    for (int64_t j = nfull; j < n; ++j)
      for (int r = 0; r < 4; ++r) y[j] += vk[r] * G::one(x[r] + j);
  }
}

const IsaKernels kAvx2 = {
    "avx2",
    6, 16, &kernel_f32<6, 2>,
    6, 8, &kernel_f64<6, 2>,
    &pack_f32, &pack_f16, &pack_bf16, &pack_f64,
    &store16<float16_t>, &store16<bfloat16_t>,
    {&gemv_dot<float, float>, &gemv_axpy<float, float>},
    {&gemv_dot<double, double>, &gemv_axpy<double, double>},
    {&gemv_dot<float16_t, float>, &gemv_axpy<float16_t, float>},
    {&gemv_dot<bfloat16_t, float>, &gemv_axpy<bfloat16_t, float>},
};

}  // namespace
}  // namespace oxmlx::cpu::gemm_detail

OXMLX_ISA_END()
#endif  // x86-64

namespace oxmlx::cpu::gemm_detail {

// Compiled for the baseline target: safe to call on any CPU.
const IsaKernels* avx2_kernels() {
#if defined(OXMLX_HAVE_AVX2_GEMM)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      __builtin_cpu_supports("f16c"))
    return &kAvx2;
#endif
  return nullptr;
}

}  // namespace oxmlx::cpu::gemm_detail
