// Dense matrix multiply for the CPU backend.
//
// Public API: gemm / gemm_batched below (row-major, BLAS-like semantics).
// Implementation: BLIS-style blocking in gemm.cpp (pack A into MR-row panels
// and B into NR-column panels, register-blocked micro-kernels), with the
// micro-kernels and packers provided per ISA by gemm_avx512.cpp,
// gemm_avx2.cpp, gemm_neon.cpp and gemm_generic.cpp. The ISA is picked at run
// time from cpuid; OXMLX_GEMM_ISA=avx512|avx2|neon|generic forces a path
// (ignored when the CPU lacks it; read on first use and by gemm_reset_isa).
// With the avx512 path, bf16 products large enough go to AMX tiles
// (gemm_amx.cpp, OXMLX_GEMM_AMX) where the CPU has AMX-BF16, others to the
// AVX512-BF16 dot-product kernels (gemm_avx512bf16.cpp, OXMLX_GEMM_BF16DOT)
// or through f32. Matrix-vector shapes (M or N == 1) and tiny products skip packing.
#pragma once

#include <cstdint>

#include "core/half.h"

namespace oxmlx::cpu {

// Row-major: op(A) is MxK, op(B) is KxN. Without trans, A(i,k)=A[i*lda+k];
// with trans_a, A(i,k)=A[k*lda+i]. Same for B. C(i,j)=C[i*ldc+j].
// C = alpha*op(A)@op(B) + beta*C. beta == 0 ignores C's prior contents (even
// NaN). When K == 0 or alpha == 0, A and B are not read and C = beta*C.
// Accumulates in float for float16/bfloat16/float32, double for float64.
// Multithreaded through parallel_for (runs single-threaded when called from
// inside a parallel region).
template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, float beta, T* C, int64_t ldc);

// `batch` independent products; a_offsets[b], b_offsets[b], c_offsets[b] are
// element offsets of each batch's A, B, C (a broadcast operand repeats its
// offset). Distinct batches must not write overlapping parts of C.
template <typename T>
void gemm_batched(bool trans_a, bool trans_b, int64_t batch, int64_t M, int64_t N, int64_t K,
                  float alpha, const T* A, int64_t lda, const int64_t* a_offsets, const T* B,
                  int64_t ldb, const int64_t* b_offsets, float beta, T* C, int64_t ldc,
                  const int64_t* c_offsets);

extern template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*,
                                 int64_t, const float*, int64_t, float, float*, int64_t);
extern template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, float, const double*,
                                  int64_t, const double*, int64_t, float, double*, int64_t);
extern template void gemm<float16_t>(bool, bool, int64_t, int64_t, int64_t, float,
                                     const float16_t*, int64_t, const float16_t*, int64_t, float,
                                     float16_t*, int64_t);
extern template void gemm<bfloat16_t>(bool, bool, int64_t, int64_t, int64_t, float,
                                      const bfloat16_t*, int64_t, const bfloat16_t*, int64_t,
                                      float, bfloat16_t*, int64_t);
#define OXMLX_GEMM_BATCHED_DECL(T)                                                            \
  extern template void gemm_batched<T>(bool, bool, int64_t, int64_t, int64_t, int64_t, float, \
                                       const T*, int64_t, const int64_t*, const T*, int64_t,  \
                                       const int64_t*, float, T*, int64_t, const int64_t*);
OXMLX_GEMM_BATCHED_DECL(float)
OXMLX_GEMM_BATCHED_DECL(double)
OXMLX_GEMM_BATCHED_DECL(float16_t)
OXMLX_GEMM_BATCHED_DECL(bfloat16_t)
#undef OXMLX_GEMM_BATCHED_DECL

// ---------------------------------------------------------------------------
// Internal interface between the driver (gemm.cpp) and the per-ISA files.
// Not part of the public API; tests and benchmarks use the two functions at
// the end to force and inspect the chosen path.
namespace gemm_detail {

// How a micro-kernel combines its MRxNR accumulator `acc` with C.
enum StoreMode : int {
  kOverwrite = 0,   // C = alpha*acc            (first K block, beta == 0)
  kBeta = 1,        // C = alpha*acc + beta*C   (first K block)
  kAccumulate = 2,  // C = C + alpha*acc        (later K blocks, or beta == 1)
};

// acc(i,j) = sum_k Ap[k*mr + i] * Bp[k*nr + j] for k < kc, then stored into
// the top-left m x n corner (m <= mr, n <= nr) of C (row stride ldc).
template <typename Acc>
using KernelFn = void (*)(int64_t kc, const Acc* Ap, const Acc* Bp, Acc* C, int64_t ldc, int m,
                          int n, int mode, Acc alpha, Acc beta);

// Packs one panel: dst[k*width + r] = Acc(src(r, k)) for r < rows, k < kc,
// and 0 for rows <= r < width. r_contig: src(r,k) = src[k*ld + r] (the panel
// direction is contiguous, a copy); otherwise src(r,k) = src[r*ld + k] (k is
// contiguous, a transpose).
template <typename T, typename Acc>
using PackFn = void (*)(const T* src, int64_t ld, bool r_contig, int rows, int64_t kc, Acc* dst,
                        int width);

// C(i,j) = T(W(i,j) + beta*C(i,j)) for i < m, j < n (beta == 0: C ignored).
template <typename T>
using StoreFn = void (*)(const float* W, int64_t ldw, T* C, int64_t ldc, int64_t m, int64_t n,
                         float beta);

// Matrix-vector kernels (optional; nullptr selects portable code):
//   dot:  y[o] = sum_k X[o*ldx + k] * v[k]   for o < n
//   axpy: y[j] = sum_k v[k] * X[k*ldx + j]   for j < n
// y is overwritten; K is the length of v.
template <typename T, typename Acc>
using GemvFn = void (*)(const T* X, int64_t ldx, const Acc* v, int64_t K, int64_t n, Acc* y);

template <typename T, typename Acc>
struct GemvPair {
  GemvFn<T, Acc> dot = nullptr;
  GemvFn<T, Acc> axpy = nullptr;
};

struct IsaKernels {
  const char* name;
  int mr32, nr32;  // float micro-tile
  KernelFn<float> kernel32;
  int mr64, nr64;  // double micro-tile
  KernelFn<double> kernel64;
  PackFn<float, float> pack_f32;
  PackFn<float16_t, float> pack_f16;
  PackFn<bfloat16_t, float> pack_bf16;
  PackFn<double, double> pack_f64;
  StoreFn<float16_t> store_f16;
  StoreFn<bfloat16_t> store_bf16;
  GemvPair<float, float> gemv_f32;
  GemvPair<double, double> gemv_f64;
  GemvPair<float16_t, float> gemv_f16;
  GemvPair<bfloat16_t, float> gemv_bf16;
};

// bf16 products on dot-product instructions (AVX512-BF16 vdpbf16ps): panels
// hold pairs of consecutive-k bf16 values in one 32-bit word (low half k
// even, high half k odd; an odd K is padded with a zero). pack writes
// dst[(k/2)*width + r] = pair(src(r, k), src(r, k+1)) (same source layouts as
// PackFn); kernel takes kp = ceil(kc/2) pairs and stores like KernelFn<float>
// (into the f32 workspace).
struct Bf16DotKernels {
  const char* name;
  int mr, nr;
  void (*kernel)(int64_t kp, const uint32_t* Ap, const uint32_t* Bp, float* C, int64_t ldc, int m,
                 int n, int mode, float alpha, float beta);
  void (*pack)(const bfloat16_t* src, int64_t ld, bool r_contig, int rows, int64_t kc,
               uint32_t* dst, int width);
};
// nullptr unless the CPU has AVX512-BF16 and the chosen ISA path is avx512.
// OXMLX_GEMM_BF16DOT=0 turns it off, =1 on; unset: on except on CPUs with
// AMX-BF16 (Sapphire Rapids class), where vdpbf16ps measured ~35% slower
// than converting to f32 in the packers and using the f32 FMA kernel.
const Bf16DotKernels* avx512bf16_kernels();
// The dot-product kernels the driver uses with ISA path ik (or nullptr).
const Bf16DotKernels* bf16_dot(const IsaKernels& ik);

// AMX bf16 GEMM (gemm_amx.cpp). amx_bf16_mode(): 0 when the CPU, the OS or
// Linux's tile-data permission lacks AMX-BF16, or OXMLX_GEMM_AMX=0; 2 when
// OXMLX_GEMM_AMX=1 (every blocked-path size, for tests); 1 otherwise (M, N,
// K >= 16 only). amx_gemm_bf16 has gemm's semantics (K > 0, alpha
// != 0, M, N > 0) and splits the work over `threads`.
int amx_bf16_mode();
// Whether the CPU/OS/kernel allow AMX-BF16 at all (ignores OXMLX_GEMM_AMX).
bool amx_bf16_hardware();
void amx_gemm_bf16(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                   const bfloat16_t* A, int64_t lda, const bfloat16_t* B, int64_t ldb, float beta,
                   bfloat16_t* C, int64_t ldc, int threads);

// Each returns nullptr when that ISA is not compiled in for this target.
const IsaKernels* avx512_kernels();
const IsaKernels* avx2_kernels();
const IsaKernels* neon_kernels();
const IsaKernels* generic_kernels();

// Name of the path gemm uses now ("avx512", "avx2", "neon", "generic"), and
// of the bf16 dot-product path ("" when bf16 products go through f32).
const char* gemm_bf16_path_name();
const char* gemm_isa_name();
// Whether large bf16 products use AMX now ("amx" or "").
const char* gemm_amx_name();
// Re-reads OXMLX_GEMM_ISA and the CPU features (for tests that switch paths).
void gemm_reset_isa();

}  // namespace gemm_detail
}  // namespace oxmlx::cpu
