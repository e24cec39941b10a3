// AVX-512 GEMM micro-kernels, packers and 16-bit stores (x86-64).
//
// The whole file body is compiled for avx512f/bw/dq/vl + fma + f16c through a
// target pragma, not through global -m flags, so the library stays portable:
// nothing here runs unless avx512_kernels() (compiled for the baseline
// target) has checked the CPU. All helpers live in an anonymous namespace so
// that no AVX-512-compiled inline function can be merged by the linker with a
// same-named baseline one from another translation unit.
#include "backend/cpu/gemm.h"
#include "backend/cpu/isa_target.h"

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define OXMLX_HAVE_AVX512_GEMM 1
// GCC 12's AVX-512 intrinsics initialise "undefined" vectors from
// themselves, which -Wuninitialized reports once they are inlined here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

OXMLX_ISA_BEGIN("avx512f,avx512bw,avx512dq,avx512vl,fma,f16c,avx2")

// Register tiles. f32: MR32 rows x 32 columns (two zmm per row) gives
// MR32*2 accumulators; with 14 rows that is 28 of the 32 zmm registers, the
// other four hold the two B vectors and the broadcast of A. Each k step does
// 2 vector loads of B + MR32 broadcasts for 2*MR32 FMAs, comfortably within
// the two load ports while both FMA ports stay busy.
#ifndef OXMLX_AVX512_MR32
#define OXMLX_AVX512_MR32 14
#endif
#ifndef OXMLX_AVX512_NV32
#define OXMLX_AVX512_NV32 2
#endif
#ifndef OXMLX_AVX512_MR64
#define OXMLX_AVX512_MR64 14
#endif
#ifndef OXMLX_AVX512_NV64
#define OXMLX_AVX512_NV64 2
#endif

namespace oxmlx::cpu::gemm_detail {
namespace {

inline __mmask16 mask16(int n) {
  return n >= 16 ? __mmask16(0xffff) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1);
}
inline __mmask8 mask8(int n) {
  return n >= 8 ? __mmask8(0xff) : n <= 0 ? __mmask8(0) : __mmask8((1u << n) - 1);
}

// ---------------------------------------------------------------- kernels --

// Prefetches rows [0, m) of an NR-element-wide tile: every cache line the
// row can touch (a 128-byte row spans up to three lines when unaligned).
template <int NR, int kLocality, typename E>  // locality 3 = L1 (T0), 2 = L2 (T1)
inline void prefetch_tile(const E* C, int64_t ldc, int m) {
  constexpr int kBytes = NR * int(sizeof(E));
  for (int i = 0; i < m; ++i) {
    const char* p = reinterpret_cast<const char*>(C + i * ldc);
#pragma GCC unroll 8
    for (int off = 0; off < kBytes; off += 64) __builtin_prefetch(p + off, 0, kLocality);
    __builtin_prefetch(p + kBytes - 1, 0, kLocality);
  }
}

// Vector traits so that one kernel template serves float and double.
template <typename E>
struct Vec;
template <>
struct Vec<float> {
  using V = __m512;
  using Mask = __mmask16;
  static constexpr int kLanes = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const float* p) { return _mm512_load_ps(p); }
  static V bcast(const float* p) { return _mm512_set1_ps(*p); }
  static V set1(float x) { return _mm512_set1_ps(x); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V loadm(Mask k, const float* p) { return _mm512_maskz_loadu_ps(k, p); }
  static void storem(float* p, Mask k, V v) { _mm512_mask_storeu_ps(p, k, v); }
  static Mask mask(int n) { return mask16(n); }
};
template <>
struct Vec<double> {
  using V = __m512d;
  using Mask = __mmask8;
  static constexpr int kLanes = 8;
  static V zero() { return _mm512_setzero_pd(); }
  static V load(const double* p) { return _mm512_load_pd(p); }
  static V bcast(const double* p) { return _mm512_set1_pd(*p); }
  static V set1(double x) { return _mm512_set1_pd(x); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  static V loadm(Mask k, const double* p) { return _mm512_maskz_loadu_pd(k, p); }
  static void storem(double* p, Mask k, V v) { _mm512_mask_storeu_pd(p, k, v); }
  static Mask mask(int n) { return mask8(n); }
};

// One k step of the register tile: NV vector loads of B, MR broadcasts of A
// (a load-port op, no shuffle), MR*NV FMAs.
template <typename E, int MR, int NV>
__attribute__((always_inline)) inline void rank1(typename Vec<E>::V (&acc)[MR][NV], const E* a,
                                                 const E* b) {
  using X = Vec<E>;
  typename X::V bv[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) bv[v] = X::load(b + X::kLanes * v);
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i) {
    const typename X::V av = X::bcast(a + i);
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = X::fma(av, bv[v], acc[i][v]);
  }
}

// MR x (lanes*NV) tile. The accumulator array is fully unrolled into zmm
// registers. The store handles partial tiles with lane masks (and row tails
// by skipping rows), so one code path serves full and edge tiles alike.
template <typename E, int MR, int NV>
void kernel(int64_t kc, const E* Ap, const E* Bp, E* C, int64_t ldc, int m, int n, int mode,
            E alpha, E beta) {
  using X = Vec<E>;
  constexpr int NR = X::kLanes * NV;
  typename X::V acc[MR][NV];
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = X::zero();
  // The C tile is read and written once at the end. Ask for it in L2 now
  // (L3/DRAM latency is then hidden by the k loop) and in L1 only for the
  // last few k steps: rows of C are often a multiple of 4 KiB apart and
  // share L1 sets, so an early L1 prefetch would be evicted by the A and B
  // streams before use.
  prefetch_tile<NR, 2>(C, ldc, m);
  constexpr int64_t kTail = 16;
  const E* a = Ap;
  const E* b = Bp;
  int64_t k = 0;
#pragma GCC unroll 4
  for (; k < kc - kTail; ++k, a += MR, b += NR) rank1<E, MR, NV>(acc, a, b);
  prefetch_tile<NR, 3>(C, ldc, m);
#pragma GCC unroll 4
  for (; k < kc; ++k, a += MR, b += NR) rank1<E, MR, NV>(acc, a, b);

  typename X::Mask mk[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) mk[v] = X::mask(n - X::kLanes * v);
  const typename X::V va = X::set1(alpha), vb = X::set1(beta);
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i) {
    if (i >= m) break;
    E* c = C + i * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      typename X::V r;
      if (mode == kOverwrite) {
        r = X::mul(acc[i][v], va);
      } else {
        const typename X::V old = X::loadm(mk[v], c + X::kLanes * v);
        r = mode == kBeta ? X::fma(acc[i][v], va, X::mul(old, vb)) : X::fma(acc[i][v], va, old);
      }
      X::storem(c + X::kLanes * v, mk[v], r);
    }
  }
}

// ---------------------------------------------------------------- packing --

// Loads up to 16 consecutive elements as float; lanes outside the mask are
// zero and their memory is not touched (masked loads never fault).
inline __m512 load16(const float* p, __mmask16 k) { return _mm512_maskz_loadu_ps(k, p); }
inline __m512 load16(const float16_t* p, __mmask16 k) {
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(k, p));
}
inline __m512 load16(const bfloat16_t* p, __mmask16 k) {
  // bf16 is the top half of an f32: widen to 32 bits and shift into place.
  const __m512i w = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(k, p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
}

// In-register 16x16 transpose: on return r[k] holds what was column k.
// Three rounds (32-bit unpack, 64-bit shuffle, two 128-bit lane shuffles)
// move 256 elements with 64 shuffles, ~4 elements/cycle on one shuffle port,
// several times faster than element-by-element packing.
inline void transpose16(__m512 r[16]) {
  __m512 t[16];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  // u[4g + c]: within each 128-bit lane L, column 4L+c of rows 4g..4g+3.
  __m512 u[16];
#pragma GCC unroll 4
  for (int g = 0; g < 4; ++g) {
    const __m512 lo01 = t[4 * g], hi01 = t[4 * g + 1], lo23 = t[4 * g + 2], hi23 = t[4 * g + 3];
    u[4 * g + 0] = _mm512_shuffle_ps(lo01, lo23, 0x44);
    u[4 * g + 1] = _mm512_shuffle_ps(lo01, lo23, 0xEE);
    u[4 * g + 2] = _mm512_shuffle_ps(hi01, hi23, 0x44);
    u[4 * g + 3] = _mm512_shuffle_ps(hi01, hi23, 0xEE);
  }
  // For each c, a 4x4 transpose of 128-bit lanes across u[c], u[4+c], ...
#pragma GCC unroll 4
  for (int c = 0; c < 4; ++c) {
    const __m512 a = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88);
    const __m512 b = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD);
    const __m512 cc = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88);
    const __m512 d = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xDD);
    r[c] = _mm512_shuffle_f32x4(a, cc, 0x88);       // lane 0 -> column c
    r[4 + c] = _mm512_shuffle_f32x4(b, d, 0x88);    // lane 1 -> column 4+c
    r[8 + c] = _mm512_shuffle_f32x4(a, cc, 0xDD);   // lane 2 -> column 8+c
    r[12 + c] = _mm512_shuffle_f32x4(b, d, 0xDD);   // lane 3 -> column 12+c
  }
}

template <typename T>
void pack_f32_family(const T* src, int64_t ld, bool r_contig, int rows, int64_t kc, float* dst,
                     int width) {
  const int groups = (width + 15) / 16;
  if (r_contig) {
    // Copy: each k contributes `rows` consecutive source elements.
    for (int64_t k = 0; k < kc; ++k) {
      const T* s = src + k * ld;
      float* d = dst + k * width;
      for (int g = 0; g < groups; ++g) {
        const __m512 v = load16(s + 16 * g, mask16(rows - 16 * g));
        _mm512_mask_storeu_ps(d + 16 * g, mask16(width - 16 * g), v);
      }
    }
    return;
  }
  // Transpose: 16 source rows x 16 k at a time. The 16 outputs of one block
  // are consecutive rows of the panel, written as `width`-wide slices.
  for (int64_t k0 = 0; k0 < kc; k0 += 16) {
    const int kn = int(kc - k0 < 16 ? kc - k0 : 16);
    const __mmask16 mk = mask16(kn);
    for (int g = 0; g < groups; ++g) {
      __m512 r[16];
#pragma GCC unroll 16
      for (int i = 0; i < 16; ++i) {
        const int row = 16 * g + i;
        r[i] = row < rows ? load16(src + row * ld + k0, mk) : _mm512_setzero_ps();
      }
      transpose16(r);
      float* d = dst + k0 * width + 16 * g;
      if (groups == 1 && k0 + 32 <= kc) {
        // Single group (width <= 16): full-width stores spill up to 15
        // elements past their row into later rows, which later stores of
        // this block or the next (full) block overwrite; this avoids masked
        // stores straddling cache lines.
#pragma GCC unroll 16
        for (int kk = 0; kk < 16; ++kk) _mm512_storeu_ps(d + kk * width, r[kk]);
        continue;
      }
      const __mmask16 mw = mask16(width - 16 * g);
      for (int kk = 0; kk < kn; ++kk) _mm512_mask_storeu_ps(d + kk * width, mw, r[kk]);
    }
  }
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
  const int groups = (width + 7) / 8;
  if (r_contig) {
    for (int64_t k = 0; k < kc; ++k) {
      const double* s = src + k * ld;
      double* d = dst + k * width;
      for (int g = 0; g < groups; ++g) {
        const __m512d v = _mm512_maskz_loadu_pd(mask8(rows - 8 * g), s + 8 * g);
        _mm512_mask_storeu_pd(d + 8 * g, mask8(width - 8 * g), v);
      }
    }
    return;
  }
  // Transpose with a strided gather per k: one instruction fetches the k-th
  // element of up to 8 rows. Simpler than an 8x8 shuffle network, and f64
  // packing is a small share of f64 GEMM time.
  const __m512i step = _mm512_mullo_epi64(_mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0),
                                          _mm512_set1_epi64(ld));
  for (int g = 0; g < groups; ++g) {
    const __mmask8 mr = mask8(rows - 8 * g), mw = mask8(width - 8 * g);
    const double* s = src + int64_t(8 * g) * ld;
    double* d = dst + 8 * g;
    for (int64_t k = 0; k < kc; ++k) {
      const __m512d v = _mm512_mask_i64gather_pd(_mm512_setzero_pd(), mr, step, s + k, 8);
      _mm512_mask_storeu_pd(d + k * width, mw, v);
    }
  }
}

// ------------------------------------------------------------ 16-bit store --

// f32 -> bf16 with round-to-nearest-even; NaNs become quiet NaNs (same
// results as oxmlx::float_to_bf16_bits). No avx512_bf16 needed.
inline __m256i to_bf16(__m512 v) {
  const __m512i u = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  __m512i r = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), lsb), 16);
  const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40)));
  return _mm512_cvtepi32_epi16(r);
}
inline __m256i to_half(__m512 v, const float16_t*) {
  return _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
inline __m256i to_half(__m512 v, const bfloat16_t*) { return to_bf16(v); }

template <typename T>
void store16(const float* W, int64_t ldw, T* C, int64_t ldc, int64_t m, int64_t n, float beta) {
  const __m512 vb = _mm512_set1_ps(beta);
  for (int64_t i = 0; i < m; ++i) {
    const float* w = W + i * ldw;
    T* c = C + i * ldc;
    for (int64_t j = 0; j < n; j += 16) {
      const __mmask16 mk = mask16(int(n - j < 16 ? n - j : 16));
      __m512 v = _mm512_maskz_loadu_ps(mk, w + j);
      if (beta != 0.0f) v = _mm512_fmadd_ps(vb, load16(c + j, mk), v);
      _mm256_mask_storeu_epi16(c + j, mk, to_half(v, C));
    }
  }
}

// ------------------------------------------------------------------ gemv --

// Element loaders for the matrix-vector kernels: the float family widens to
// f32 lanes, double stays double.
template <typename T>
struct GemvLoad {
  using X = Vec<float>;
  static X::V load(const T* p, X::Mask k) { return load16(p, k); }
  static float reduce(X::V v) { return _mm512_reduce_add_ps(v); }
};
template <>
struct GemvLoad<double> {
  using X = Vec<double>;
  static X::V load(const double* p, X::Mask k) { return _mm512_maskz_loadu_pd(k, p); }
  static double reduce(X::V v) { return _mm512_reduce_add_pd(v); }
};

// y[o] = sum_k X[o*ldx + k] * v[k]: four rows at a time share each load of v
// and give four independent FMA chains; masked loads cover the K tail.
template <typename T, typename Acc>
void gemv_dot(const T* Xm, int64_t ldx, const Acc* v, int64_t K, int64_t n, Acc* y) {
  using G = GemvLoad<T>;
  using X = typename G::X;
  constexpr int L = X::kLanes;
  const typename X::Mask all = X::mask(L);
  const int64_t kfull = K / L * L;
  const typename X::Mask tail = X::mask(int(K - kfull));
  int64_t o = 0;
  for (; o + 4 <= n; o += 4) {
    const T* x = Xm + o * ldx;
    typename X::V s[4] = {X::zero(), X::zero(), X::zero(), X::zero()};
    for (int64_t k = 0; k < kfull; k += L) {
      const typename X::V vv = X::loadm(all, v + k);
#pragma GCC unroll 4
      for (int r = 0; r < 4; ++r) s[r] = X::fma(G::load(x + r * ldx + k, all), vv, s[r]);
    }
    if (kfull < K) {
      const typename X::V vv = X::loadm(tail, v + kfull);
#pragma GCC unroll 4
      for (int r = 0; r < 4; ++r) s[r] = X::fma(G::load(x + r * ldx + kfull, tail), vv, s[r]);
    }
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) y[o + r] = G::reduce(s[r]);
  }
  for (; o < n; ++o) {
    const T* x = Xm + o * ldx;
    typename X::V s = X::zero();
    for (int64_t k = 0; k < kfull; k += L) s = X::fma(G::load(x + k, all), X::loadm(all, v + k), s);
    if (kfull < K) s = X::fma(G::load(x + kfull, tail), X::loadm(tail, v + kfull), s);
    y[o] = G::reduce(s);
  }
}

// y[j] = sum_k v[k] * X[k*ldx + j]: four rows of X are streamed
// sequentially at a time (prefetcher friendly; striding down the columns
// instead defeats the hardware prefetchers), accumulating into y, which
// stays in L1 for the output ranges a thread handles.
template <typename T, typename Acc>
void gemv_axpy(const T* Xm, int64_t ldx, const Acc* v, int64_t K, int64_t n, Acc* y) {
  using G = GemvLoad<T>;
  using X = typename G::X;
  constexpr int L = X::kLanes;
  for (int64_t j = 0; j < n; ++j) y[j] = Acc(0);
  int64_t k = 0;
  for (; k < K; k += 4) {
    const int rows = int(K - k < 4 ? K - k : 4);
    typename X::V vk[4];
    const T* x[4];
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) {
      // Missing rows (K tail) reuse row 0 with a zero coefficient.
      vk[r] = X::set1(r < rows ? v[k + r] : Acc(0));
      x[r] = Xm + (k + (r < rows ? r : 0)) * ldx;
    }
    for (int64_t j = 0; j < n; j += L) {
      const typename X::Mask mk = X::mask(int(n - j < L ? n - j : L));
      typename X::V acc = X::loadm(mk, y + j);
#pragma GCC unroll 4
      for (int r = 0; r < 4; ++r) acc = X::fma(vk[r], G::load(x[r] + j, mk), acc);
      X::storem(y + j, mk, acc);
    }
  }
}

const IsaKernels kAvx512 = {
    "avx512",
    OXMLX_AVX512_MR32, 16 * OXMLX_AVX512_NV32, &kernel<float, OXMLX_AVX512_MR32, OXMLX_AVX512_NV32>,
    OXMLX_AVX512_MR64, 8 * OXMLX_AVX512_NV64, &kernel<double, OXMLX_AVX512_MR64, OXMLX_AVX512_NV64>,
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
const IsaKernels* avx512_kernels() {
#if defined(OXMLX_HAVE_AVX512_GEMM)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
    return &kAvx512;
#endif
  return nullptr;
}

}  // namespace oxmlx::cpu::gemm_detail
