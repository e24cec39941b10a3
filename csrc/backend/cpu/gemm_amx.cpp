// bf16 GEMM on AMX tiles (Intel AMX-TILE + AMX-BF16, x86-64 Linux).
//
// One tdpbf16ps multiplies a 16x32 bf16 tile of A by a 32x16 bf16 tile of B
// (stored as 16 rows of 16 k-pairs) into a 16x16 f32 tile: 16K flops per
// instruction (~2.2 TFLOP/s per core measured on L1-resident tiles, 2.6
// GHz Sapphire Rapids class; AVX-512 FMAs give ~0.15). The micro-kernel keeps
// a 32x32 block of C in four accumulator tiles (tmm0-3), loads two A tiles
// (tmm4-5) and two B tiles (tmm6-7) per 32-k step, so each tile load feeds
// two products.
//
// Packing (zero-padded to whole tiles, so edges cost no special cases):
//   A: per 16-row strip, per 32-k chunk, one 1 KiB tile: row r = 32 bf16.
//   B: per 16-column group, per 32-k chunk, one 1 KiB tile: row p = the 16
//      columns' pairs (k=2p, k=2p+1), 32-bit words (the VNNI layout).
// Every tile load then reads 1 KiB contiguously (stride 64 bytes).
//
// Blocking (KC = 256 k, NC = 512 columns; sizes tuned on that machine):
//   pack all of op(B) once, shared by the threads (tasks of 128 columns)
//   row tasks of up to 256 rows, handed out dynamically (a core that other
//   processes slow down takes fewer):
//     pack the task's rows of op(A) for all K blocks
//     for j0 in N step NC, for K blocks kb, for 32-row strips, for 32-column
//       blocks: the micro-kernel over kc (A strip 16 KiB in L1, B block of
//       KC x NC in L2, the next B block prefetched into L2 meanwhile)
// With several K blocks the f32 partial sums go through a per-task
// workspace of rows x NC (L2; tile store / tile load); the last block
// stores its sums to a 4 KiB 32x32 block that stays in L1 (not back into
// the L2 workspace: measured a few % faster at n = 1024..2048),
// then converts to bf16 with alpha/beta (vcvtneps2bf16, round to nearest
// even). B is packed without widening: vpunpckl/hwd interleave rows k and
// k+1 of 32 columns, one vpermt2q orders each 16-column group.
// Compiled for AMX + AVX-512 through target pragmas like the other gemm_*
// files (-mamx-* flags would not change the code: the tile intrinsics are
// inline asm); amx_bf16_hardware() checks cpuid, the OS (XCR0) and asks
// Linux for the tile-data permission before anything here runs.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>

#include "backend/cpu/gemm.h"
#include "backend/cpu/threadpool.h"
#include "backend/cpu/isa_target.h"

#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && \
    (defined(__clang__) || __GNUC__ >= 11)
#define OXMLX_HAVE_AMX_GEMM 1
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

OXMLX_ISA_BEGIN("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl,avx512bf16,avx2")

namespace oxmlx::cpu::gemm_detail {
namespace {

#ifndef OXMLX_AMX_KC
#define OXMLX_AMX_KC 256
#endif
#ifndef OXMLX_AMX_NC
#define OXMLX_AMX_NC 512
#endif
#ifndef OXMLX_AMX_RT
#define OXMLX_AMX_RT 8  // most 32-row strips per row task
#endif
constexpr int64_t kKC = OXMLX_AMX_KC;  // depth of a packed block (multiple of 32)
constexpr int64_t kNC = OXMLX_AMX_NC;  // columns of a packed B block (multiple of 32)
constexpr int kTile = 512;             // bf16 elements in one 16x32 tile

inline __mmask16 mask16(int n) {
  return n >= 16 ? __mmask16(0xffff) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1);
}
inline __mmask32 mask32(int n) {
  return n >= 32 ? __mmask32(0xffffffffu) : n <= 0 ? __mmask32(0) : __mmask32((1u << n) - 1);
}

// Grow-only 64-byte aligned per-thread scratch.
struct Buf {
  void* p = nullptr;
  size_t cap = 0;
  void* get(size_t bytes) {
    if (bytes > cap) {
      std::free(p);
      const size_t want = (bytes + 4095) & ~size_t(4095);
      p = std::aligned_alloc(4096, want);
      if (!p) {
        cap = 0;
        throw std::bad_alloc();
      }
      cap = want;
    }
    return p;
  }
  ~Buf() { std::free(p); }
};
thread_local Buf tl_buf[3];  // packed A, packed B, f32 workspace

struct alignas(64) TileConfig {
  uint8_t palette = 1, start_row = 0, reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

void load_config() {
  TileConfig cfg;
  for (int t = 0; t < 8; ++t) {
    cfg.colsb[t] = 64;
    cfg.rows[t] = 16;
  }
  _tile_loadconfig(&cfg);
}

// In-register transpose of a 16x16 matrix of 32-bit words: r[a][b] ->
// r[b][a] (unpack within 128-bit lanes, then a 4x4 transpose of the lanes).
inline void transpose16(__m512i (&r)[16]) {
  __m512i t[16], u[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {  // u[4i + c], lane L: rows 4i..4i+3 of column 4L + c
    u[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
    u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
  }
  for (int c = 0; c < 4; ++c) {
    const __m512i v0 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x44);
    const __m512i v1 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xEE);
    const __m512i v2 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x44);
    const __m512i v3 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xEE);
    r[c] = _mm512_shuffle_i32x4(v0, v2, 0x88);
    r[4 + c] = _mm512_shuffle_i32x4(v0, v2, 0xDD);
    r[8 + c] = _mm512_shuffle_i32x4(v1, v3, 0x88);
    r[12 + c] = _mm512_shuffle_i32x4(v1, v3, 0xDD);
  }
}

// 16 words of k-pairs (src[k*ld + j], src[(k+1)*ld + j]) for j < 16 under
// mask m (k + 1 only when has_hi).
inline __m512i pairs(const uint16_t* lo, int64_t ld, __mmask16 m, bool has_hi) {
  __m512i w = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, lo));
  if (has_hi) {
    const __m512i h = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, lo + ld));
    w = _mm512_or_si512(w, _mm512_slli_epi32(h, 16));
  }
  return w;
}

// A strips: rows [r0, r0 + rows) of op(A), k in [p0, p0 + kc), into
// 2*ceil(rows/32) strips of nkc tiles each (rows past `rows` are zero).
void pack_a(const uint16_t* A, int64_t lda, bool ta, int64_t r0, int64_t rows, int64_t p0,
            int64_t kc, int64_t stride, uint16_t* dst) {
  const int64_t nkc = (kc + 31) / 32, nstrip = (rows + 31) / 32 * 2;  // whole 32-row blocks
  for (int64_t s = 0; s < nstrip; ++s) {
    for (int64_t c = 0; c < nkc; ++c) {
      uint16_t* t = dst + (s * stride + c) * kTile;
      const int kn = int(std::min<int64_t>(32, kc - 32 * c));
      const int64_t k0 = p0 + 32 * c;
      if (ta) {  // A(i, k) = A[k*lda + i]: pairs of k rows, then a transpose
        const __mmask16 mr = mask16(int(rows - s * 16));
        __m512i v[16];
        for (int p = 0; p < 16; ++p)
          v[p] = 2 * p < kn ? pairs(A + (k0 + 2 * p) * lda + r0 + s * 16, lda, mr, 2 * p + 1 < kn)
                            : _mm512_setzero_si512();
        transpose16(v);
        for (int r = 0; r < 16; ++r) _mm512_store_si512(t + r * 32, v[r]);
        continue;
      }
      for (int r = 0; r < 16; ++r) {
        const int64_t i = s * 16 + r;
        uint16_t* d = t + r * 32;
        if (i >= rows) _mm512_store_si512(d, _mm512_setzero_si512());
        else _mm512_store_si512(d, _mm512_maskz_loadu_epi16(mask32(kn), A + (r0 + i) * lda + k0));
      }
    }
  }
}

// B groups: columns [c0, c0 + 16*ngroup) of op(B), k in [p0, p0 + kc), into
// ngroup groups of nkc VNNI tiles each (columns from `cols` on are zero).
void pack_b(const uint16_t* B, int64_t ldb, bool tb, int64_t c0, int64_t cols, int64_t ngroup,
            int64_t p0, int64_t kc, int64_t stride, uint16_t* dst) {
  const int64_t nkc = (kc + 31) / 32;
  if (!tb) {
    // B(k, j) = B[k*ldb + j]: interleave rows k and k+1, 32 columns (two
    // groups) at a time: vpunpckl/hwd pair the words within 128-bit lanes,
    // one qword permute puts the lanes of each 16-column group in order.
    // Each source row is walked across all groups before moving down.
    const __m512i i0 = _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0);
    const __m512i i1 = _mm512_set_epi64(15, 14, 7, 6, 13, 12, 5, 4);
    for (int64_t c = 0; c < nkc; ++c) {
      const int64_t k0 = p0 + 32 * c;
      const int kn = int(std::min<int64_t>(32, kc - 32 * c));
      for (int p = 0; p < 16; ++p) {
        const uint16_t* row = B + (k0 + 2 * p) * ldb + c0;
        const bool has_lo = 2 * p < kn, has_hi = 2 * p + 1 < kn;
        for (int64_t g = 0; g < ngroup; g += 2) {
          const __mmask32 mn = mask32(int(cols - 16 * g));
          const __m512i r0 = has_lo ? _mm512_maskz_loadu_epi16(mn, row + 16 * g)
                                    : _mm512_setzero_si512();
          const __m512i r1 = has_hi ? _mm512_maskz_loadu_epi16(mn, row + ldb + 16 * g)
                                    : _mm512_setzero_si512();
          const __m512i lo = _mm512_unpacklo_epi16(r0, r1), hi = _mm512_unpackhi_epi16(r0, r1);
          _mm512_store_si512(dst + (g * stride + c) * kTile + 32 * p,
                             _mm512_permutex2var_epi64(lo, i0, hi));
          if (g + 1 < ngroup)
            _mm512_store_si512(dst + ((g + 1) * stride + c) * kTile + 32 * p,
                               _mm512_permutex2var_epi64(lo, i1, hi));
        }
      }
    }
    return;
  }
  for (int64_t g = 0; g < ngroup; ++g) {
    const int n = int(std::min<int64_t>(16, cols - 16 * g));
    const int64_t j0 = c0 + 16 * g;
    for (int64_t c = 0; c < nkc; ++c) {
      uint16_t* t = dst + (g * stride + c) * kTile;
      const int64_t k0 = p0 + 32 * c;
      const int kn = int(std::min<int64_t>(32, kc - 32 * c));
      // B(k, j) = B[j*ldb + k]: column j's pairs are 32-bit words
      __m512i col[16];
      for (int j = 0; j < 16; ++j)
        col[j] = j < n ? _mm512_maskz_loadu_epi16(mask32(kn), B + (j0 + j) * ldb + k0)
                       : _mm512_setzero_si512();
      transpose16(col);
      for (int p = 0; p < 16; ++p) _mm512_store_si512(t + 32 * p, col[p]);
    }
  }
}

// C(i, j) = bf16(alpha*W(i, j) + beta*C(i, j)) for i < m, j < n; W is f32
// with row stride ldw (beta == 0: C is not read).
void store_c(const float* W, int64_t ldw, uint16_t* C, int64_t ldc, int m, int n, float alpha,
             float beta) {
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; j += 16) {
      const __mmask16 mk = mask16(n - j);
      __m512 r = _mm512_mul_ps(_mm512_maskz_loadu_ps(mk, W + i * ldw + j), va);
      if (beta != 0.0f) {
        const __m256i old = _mm256_maskz_loadu_epi16(mk, C + i * ldc + j);
        const __m512 of = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(old), 16));
        r = _mm512_fmadd_ps(of, vb, r);
      }
      const __m256i h = (__m256i)_mm512_cvtneps_pbh(r);
      _mm256_mask_storeu_epi16(C + i * ldc + j, mk, h);
    }
  }
}

// One 32x32 block over nkc k-chunks. a: the block's first A strip (the
// second follows at a + nkc tiles), b likewise for B groups. W (f32, stride
// ldw): loaded first unless `zero`; the sums go to O (stride ldo).
__attribute__((always_inline)) inline void block(const uint16_t* a, const uint16_t* b,
                                                 int64_t nkc, int64_t stride, bool zero,
                                                 const float* W, int64_t ldw, float* O,
                                                 int64_t ldo, const char* pf) {
  const uint16_t* a1 = a + stride * kTile;
  const uint16_t* b1 = b + stride * kTile;
  const int64_t sw = ldw * 4;
  if (zero) {
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
  } else {
    _tile_loadd(0, W, sw);
    _tile_loadd(1, W + 16, sw);
    _tile_loadd(2, W + 16 * ldw, sw);
    _tile_loadd(3, W + 16 * ldw + 16, sw);
  }
  for (int64_t c = 0; c < nkc; ++c) {
    {
      const char* pb = reinterpret_cast<const char*>(b + (c + 2) * kTile);
      const char* pb1 = reinterpret_cast<const char*>(b1 + (c + 2) * kTile);
#pragma GCC unroll 16
      for (int l = 0; l < 1024; l += 64) {
        _mm_prefetch(pb + l, _MM_HINT_T0);
        _mm_prefetch(pb1 + l, _MM_HINT_T0);
      }
#pragma GCC unroll 4
      for (int l = 0; l < 256; l += 64) _mm_prefetch(pf + 256 * c + l, _MM_HINT_T1);
    }
    _tile_loadd(4, a + c * kTile, 64);
    _tile_loadd(6, b + c * kTile, 64);
    _tile_loadd(5, a1 + c * kTile, 64);
    _tile_loadd(7, b1 + c * kTile, 64);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  const int64_t so = ldo * 4;
  _tile_stored(0, O, so);
  _tile_stored(1, O + 16, so);
  _tile_stored(2, O + 16 * ldo, so);
  _tile_stored(3, O + 16 * ldo + 16, so);
}

// Runs fn(task) for task in [0, n) on `threads` threads, handing tasks out
// one at a time (a busy core on a shared machine then takes fewer). Each
// thread loads the tile configuration once and releases the tiles at the end.
template <typename F>
void run_tasks(int64_t n, int threads, F&& fn) {
  std::atomic<int64_t> next{0};
  auto worker = [&](int64_t, int64_t) {
    load_config();
    for (int64_t t; (t = next.fetch_add(1, std::memory_order_relaxed)) < n;) fn(t);
    _tile_release();
  };
  const int64_t nt = std::min<int64_t>(threads, n);
  if (nt > 1) parallel_for(nt, 1, worker);
  else worker(0, 1);
}

}  // namespace

void amx_gemm_bf16(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                   const bfloat16_t* A_, int64_t lda, const bfloat16_t* B_, int64_t ldb,
                   float beta, bfloat16_t* C_, int64_t ldc, int threads) {
  const auto* A = reinterpret_cast<const uint16_t*>(A_);
  const auto* B = reinterpret_cast<const uint16_t*>(B_);
  auto* C = reinterpret_cast<uint16_t*>(C_);
  const int64_t M32 = (M + 31) / 32 * 32, N32 = (N + 31) / 32 * 32;
  // Equal K blocks of whole 32-k chunks (the last one may be shorter).
  const int64_t nkb0 = (K + kKC - 1) / kKC;
  const int64_t kc_max = ((K + nkb0 - 1) / nkb0 + 31) / 32 * 32;
  const int64_t nkb = (K + kc_max - 1) / kc_max;
  const int64_t nkc_max = kc_max / 32;
  const int64_t nc_max = std::min<int64_t>(kNC, N32);
  // Packed B, all of it, shared by the threads (the caller's buffer): K
  // block kb, 16-column group g at Bp + (kb*ng + g)*nkc_max tiles.
  const int64_t ng = N32 / 16;
  uint16_t* Bp = static_cast<uint16_t*>(tl_buf[1].get(2 * size_t(nkb * ng * nkc_max * kTile)));
  constexpr int64_t kBGroups = 8;  // 16-column groups per B packing task
  const int64_t nbt = (ng + kBGroups - 1) / kBGroups;
  run_tasks(nkb * nbt, threads, [&](int64_t t) {
    const int64_t kb = t / nbt, g0 = t % nbt * kBGroups, g1 = std::min(ng, g0 + kBGroups);
    const int64_t p0 = kb * kc_max, kc = std::min(K, p0 + kc_max) - p0;
    const int64_t c0 = g0 * 16, cols = std::min(N, g1 * 16) - c0;
    pack_b(B, ldb, tb, c0, cols, g1 - g0, p0, kc, nkc_max, Bp + (kb * ng + g0) * nkc_max * kTile);
  });
  // Row tasks (about 4 per thread, 32..256 rows each): pack their rows of A
  // (all K blocks), then per NC-column block of B run all K blocks, so the
  // f32 partial sums of several K blocks (W, rows x NC) stay in L2.
  const int64_t pm = M32 / 32;
  const int64_t rt =
      std::clamp<int64_t>((pm + 4 * threads - 1) / (4 * threads), 1, OXMLX_AMX_RT) * 32;
  const int64_t nrt = (M + rt - 1) / rt;
  const bool multi = nkb > 1;
  run_tasks(nrt, threads, [&](int64_t t) {
    const int64_t r0 = t * rt, rows = std::min(rt, M - r0);
    const int64_t ns = (rows + 31) / 32 * 2;  // A strips per K block
    uint16_t* Ap = static_cast<uint16_t*>(tl_buf[0].get(2 * size_t(nkb * ns * nkc_max * kTile)));
    const int64_t ldw = multi ? nc_max : 0;  // one K block: W is never read
    float* W = static_cast<float*>(tl_buf[2].get(4 * size_t(rt * ldw + 32 * 32)));
    float* Wl = W + rt * ldw;  // one 32x32 block of final sums (4 KiB, L1)
    for (int64_t kb = 0; kb < nkb; ++kb) {
      const int64_t p0 = kb * kc_max, kc = std::min(K, p0 + kc_max) - p0;
      pack_a(A, lda, ta, r0, rows, p0, kc, nkc_max, Ap + kb * ns * nkc_max * kTile);
    }
    for (int64_t j0 = 0; j0 < N; j0 += nc_max) {
      const int64_t nc = std::min(nc_max, N - j0);
      for (int64_t kb = 0; kb < nkb; ++kb) {
        const int64_t p0 = kb * kc_max, nkc = (std::min(K, p0 + kc_max) - p0 + 31) / 32;
        const bool first = kb == 0, last = kb + 1 == nkb;
        // The next B block (K block kb+1, or the next columns) is brought
        // into L2 while this one is used: ~4 lines per 32-k step.
        // (Prefetching past the buffer is harmless: no faults.)
        const int64_t kb1 = last ? 0 : kb + 1, j1 = last ? j0 + nc_max : j0;
        const char* pf = reinterpret_cast<const char*>(Bp + (kb1 * ng + j1 / 16) * nkc_max * kTile);
        const int64_t calls = (rows + 31) / 32 * ((nc + 31) / 32);
        const int64_t pf_step = (nc + 31) / 32 * 2 * nkc_max * 1024 / calls;
        int64_t pf_off = 0;
        for (int64_t i = 0; i < rows; i += 32) {
          const uint16_t* a = Ap + (kb * ns + i / 16) * nkc_max * kTile;
          for (int64_t j = j0; j < j0 + nc; j += 32) {
            const uint16_t* b = Bp + (kb * ng + j / 16) * nkc_max * kTile;
            float* w = W + i * ldw + (j - j0);
            // the final sums go to the L1 block Wl, then as bf16 into C
            block(a, b, nkc, nkc_max, first, w, ldw, last ? Wl : w, last ? 32 : ldw,
                  pf + pf_off);
            pf_off += pf_step;
            if (last) {
              const int m = int(std::min<int64_t>(32, rows - i));
              const int n = int(std::min<int64_t>(32, N - j));
              store_c(Wl, 32, C + (r0 + i) * ldc + j, ldc, m, n, alpha, beta);
            }
          }
        }
      }
    }
  });
}

}  // namespace oxmlx::cpu::gemm_detail

OXMLX_ISA_END()
#endif

namespace oxmlx::cpu::gemm_detail {

#if defined(OXMLX_HAVE_AMX_GEMM)
namespace {
// cpuid AMX-TILE + AMX-BF16 + AVX512-BF16 (the stores), the OS saving tile
// state (XCR0 bits 17, 18), and Linux's per-process tile-data permission.
bool detect_amx() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return false;  // OSXSAVE
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  if (!(d & (1u << 22)) || !(d & (1u << 24))) return false;  // amx-bf16, amx-tile
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  if ((lo & (3u << 17)) != (3u << 17)) return false;
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
      !__builtin_cpu_supports("avx512vl") || !__builtin_cpu_supports("avx512bf16"))
    return false;
  constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
}
}  // namespace
#endif

bool amx_bf16_hardware() {
#if defined(OXMLX_HAVE_AMX_GEMM)
  static const bool hw = detect_amx();
  return hw;
#else
  return false;
#endif
}

int amx_bf16_mode() {
#if defined(OXMLX_HAVE_AMX_GEMM)
  if (!amx_bf16_hardware()) return 0;
  const char* env = std::getenv("OXMLX_GEMM_AMX");
  if (env && std::strcmp(env, "0") == 0) return 0;
  if (env && std::strcmp(env, "1") == 0) return 2;
  return 1;
#else
  return 0;
#endif
}

#if !defined(OXMLX_HAVE_AMX_GEMM)
void amx_gemm_bf16(bool, bool, int64_t, int64_t, int64_t, float, const bfloat16_t*, int64_t,
                   const bfloat16_t*, int64_t, float, bfloat16_t*, int64_t, int) {
  std::abort();  // never called: amx_bf16_mode() is 0
}
#endif

}  // namespace oxmlx::cpu::gemm_detail
