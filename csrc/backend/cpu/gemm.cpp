// GEMM driver: ISA selection, BLIS-style cache blocking, threading, the
// matrix-vector and tiny-matrix paths, batching and the instantiations.
//
// Blocked algorithm, for one call (C = alpha op(A) op(B) + beta C):
//
//   for j0 in N step NC               (columns of C; bounds the packed B)
//     for i0 in M step MB             (rows of C; bounds the packed A)
//       for p0 in K step KC           (depth; one packed A+B block each)
//         parallel: each thread owns a rectangle of MR x NR micro-tiles
//           for ic in its rows step MC   (A block of MC x KC stays in L2)
//             pack the A panels of this block (MR rows x KC each)
//             for jr in its NR panels    (B panel of KC x NR stays in L1)
//               pack B panel jr unless another thread already has
//               for ir in ic block: micro-kernel (MR x NR in registers)
//
// Packed panels live in buffers shared by the threads and each panel is
// packed exactly once per K block, by whichever thread needs it first
// (a per-panel state flag; see acquire_panel). That spreads the packing over
// the threads, overlaps it with compute and needs no barrier. f16/bf16 are
// converted to f32 while packing; their partial sums must stay in f32 across
// K blocks, so those types accumulate into an f32 workspace W and the last K
// block converts each thread's rectangle of W into C.
#include "backend/cpu/gemm.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <thread>
#include <type_traits>

#include "backend/cpu/threadpool.h"
#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace oxmlx::cpu {
namespace gemm_detail {
namespace {

bool env_is(const char* v, const char* name) { return v && std::strcmp(v, name) == 0; }

const IsaKernels* detect() {
  const char* force = std::getenv("OXMLX_GEMM_ISA");
  const IsaKernels* a512 = avx512_kernels();
  const IsaKernels* a2 = avx2_kernels();
  const IsaKernels* neon = neon_kernels();
  if (env_is(force, "generic")) return generic_kernels();
  if (env_is(force, "avx2") && a2) return a2;
  if (env_is(force, "neon") && neon) return neon;
  if (env_is(force, "avx512") && a512) return a512;
  // Default preference order; each getter already checked the CPU.
  if (a512) return a512;
  if (a2) return a2;
  if (neon) return neon;
  return generic_kernels();
}

std::atomic<const IsaKernels*> g_isa{nullptr};

const IsaKernels& isa() {
  const IsaKernels* k = g_isa.load(std::memory_order_acquire);
  if (!k) {
    k = detect();
    g_isa.store(k, std::memory_order_release);
  }
  return *k;
}

}  // namespace

namespace {
// The bf16 dot-product kernels go with the AVX-512 path only (forcing
// another ISA also turns them off, so every path stays testable).
std::atomic<int> g_bf16_state{-1};  // -1 unknown, 0 off, 1 on
// AMX likewise (with the avx512 path only): -1 unknown, else amx_bf16_mode().
std::atomic<int> g_amx_state{-1};
}  // namespace

static int amx_state(const IsaKernels& ik) {
  int st = g_amx_state.load(std::memory_order_acquire);
  if (st < 0) {
    st = std::strcmp(ik.name, "avx512") == 0 ? amx_bf16_mode() : 0;
    g_amx_state.store(st, std::memory_order_release);
  }
  return st;
}
const char* gemm_amx_name() { return amx_state(isa()) ? "amx" : ""; }

const Bf16DotKernels* bf16_dot(const IsaKernels& ik) {
  int st = g_bf16_state.load(std::memory_order_acquire);
  if (st < 0) {
    st = (std::strcmp(ik.name, "avx512") == 0 && avx512bf16_kernels()) ? 1 : 0;
    g_bf16_state.store(st, std::memory_order_release);
  }
  return st ? avx512bf16_kernels() : nullptr;
}

const char* gemm_isa_name() { return isa().name; }
const char* gemm_bf16_path_name() {
  const Bf16DotKernels* bd = bf16_dot(isa());
  return bd ? bd->name : "";
}
void gemm_reset_isa() {
  g_isa.store(detect());
  g_bf16_state.store(-1);
  g_amx_state.store(-1);
}

}  // namespace gemm_detail

namespace {
using namespace gemm_detail;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

template <typename T>
using AccOf = std::conditional_t<std::is_same_v<T, double>, double, float>;
template <typename T>
constexpr bool kIs16 = sizeof(T) == 2;

PackFn<float, float> pack_of(const IsaKernels& k, const float*) { return k.pack_f32; }
PackFn<double, double> pack_of(const IsaKernels& k, const double*) { return k.pack_f64; }
PackFn<float16_t, float> pack_of(const IsaKernels& k, const float16_t*) { return k.pack_f16; }
PackFn<bfloat16_t, float> pack_of(const IsaKernels& k, const bfloat16_t*) { return k.pack_bf16; }
GemvPair<float, float> gemv_of(const IsaKernels& k, const float*) { return k.gemv_f32; }
GemvPair<double, double> gemv_of(const IsaKernels& k, const double*) { return k.gemv_f64; }
GemvPair<float16_t, float> gemv_of(const IsaKernels& k, const float16_t*) { return k.gemv_f16; }
GemvPair<bfloat16_t, float> gemv_of(const IsaKernels& k, const bfloat16_t*) { return k.gemv_bf16; }
StoreFn<float16_t> store_of(const IsaKernels& k, const float16_t*) { return k.store_f16; }
StoreFn<bfloat16_t> store_of(const IsaKernels& k, const bfloat16_t*) { return k.store_bf16; }

// Grow-only scratch owned by one thread. Reusing it across calls matters: a
// fresh multi-megabyte allocation would be mmapped and pay a page fault per
// 4 KiB on first touch, which costs more than a small GEMM. Large buffers
// are 2 MiB aligned and (on Linux) asked to be backed by transparent huge
// pages: the packed panels are then physically contiguous, which avoids
// TLB misses and, above all, the run-to-run variance of L2 set conflicts
// that randomly placed 4 KiB pages cause in a multi-hundred-KiB A block.
struct Scratch {
  void* p = nullptr;
  size_t cap = 0;
  void* get(size_t bytes) {
    if (bytes > cap) {
      std::free(p);
      p = nullptr;
      cap = 0;
      constexpr size_t kHuge = size_t(2) << 20;
      const bool huge = bytes >= kHuge / 2;
      const size_t align = huge ? kHuge : 64;
      const size_t want = (bytes + align - 1) & ~(align - 1);
      p = std::aligned_alloc(align, want);
      if (!p) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
      if (huge) madvise(p, want, MADV_HUGEPAGE);  // a hint; failure is harmless
#endif
      cap = want;
    }
    return p;
  }
  ~Scratch() { std::free(p); }
};
thread_local Scratch tl_scratch[4];  // packed A, packed B, f32 workspace, panel states

// Element -> accumulator type (float for the 16-bit types, exact for double).
template <typename Acc, typename T>
inline Acc to_acc(T v) {
  if constexpr (std::is_same_v<T, double>) return v;
  else return Acc(float(v));
}

// C = beta*C on an m x n block (K == 0 or alpha == 0). beta == 0 writes zeros.
template <typename T>
void scale_c(int64_t M, int64_t N, float beta, T* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    T* c = C + i * ldc;
    if (beta == 0.0f) {
      for (int64_t j = 0; j < N; ++j) c[j] = T(0.0f);
    } else if (beta != 1.0f) {
      if constexpr (std::is_same_v<T, double>) {
        for (int64_t j = 0; j < N; ++j) c[j] = double(beta) * c[j];
      } else {
        for (int64_t j = 0; j < N; ++j) c[j] = T(beta * float(c[j]));
      }
    }
  }
}

// Converts rows [0, n) x [0, len) of a matrix into a dense row-major Acc
// array (dst[i*len + l] = src(i, l)) with the ISA's packer, which
// vectorizes the 16-bit conversions. src(i, l) = src[i*ld + l] when
// l_contig, else src[l*ld + i].
template <typename T, typename Acc>
void to_dense(PackFn<T, Acc> pack, const T* src, int64_t ld, bool l_contig, int64_t n, int64_t len,
              Acc* dst) {
  // PackFn writes dst[k*width + r] = src(r, k) with r < rows <= width; here
  // r runs along `len` and k along `n`. Its row count is an int, so very long
  // rows are converted in slices.
  constexpr int64_t kSlice = int64_t(1) << 30;
  for (int64_t l0 = 0; l0 < len; l0 += kSlice) {
    const int64_t ln = std::min(kSlice, len - l0);
    if (l_contig) {
      pack(src + l0, ld, true, int(ln), n, dst + l0, int(len));
    } else {
      pack(src + l0 * ld, ld, false, int(ln), n, dst + l0, int(len));
    }
  }
}

// Stores y (Acc, n values) into C with stride `inc`: C = alpha*y + beta*C.
template <typename T, typename Acc>
void store_vec(const Acc* y, int64_t n, float alpha, float beta, T* C, int64_t inc) {
  const Acc al = Acc(alpha), be = Acc(beta);
  if (beta == 0.0f) {
    for (int64_t j = 0; j < n; ++j) C[j * inc] = T(al * y[j]);
  } else {
    for (int64_t j = 0; j < n; ++j) C[j * inc] = T(al * y[j] + be * to_acc<Acc>(C[j * inc]));
  }
}

// Unpacked path for tiny problems, where packing panels and dispatching
// threads would cost more than the arithmetic: op(A) and op(B) are converted
// to dense row-major Acc copies (cheap at this size, and it keeps the 16-bit
// conversions out of the inner loop), then C is built row by row with a
// contiguous axpy the compiler vectorizes.
template <typename T>
void small_gemm(const IsaKernels& ik, bool ta, bool tb, int64_t M, int64_t N, int64_t K,
                float alpha, const T* A, int64_t lda, const T* B, int64_t ldb, float beta, T* C,
                int64_t ldc) {
  using Acc = AccOf<T>;
  const PackFn<T, Acc> pack = pack_of(ik, A);
  Acc* a = static_cast<Acc*>(tl_scratch[0].get(sizeof(Acc) * size_t(M * K)));
  Acc* b = static_cast<Acc*>(tl_scratch[1].get(sizeof(Acc) * size_t(K * N + N)));
  Acc* acc = b + K * N;
  to_dense(pack, A, lda, !ta, M, K, a);  // a[i*K + k] = op(A)(i,k)
  to_dense(pack, B, ldb, !tb, K, N, b);  // b[k*N + j] = op(B)(k,j)
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) acc[j] = Acc(0);
    for (int64_t k = 0; k < K; ++k) {
      const Acc av = a[i * K + k];
      const Acc* br = b + k * N;
      for (int64_t j = 0; j < N; ++j) acc[j] += av * br[j];
    }
    store_vec(acc, N, alpha, beta, C + i * ldc, 1);
  }
}

// Matrix-vector products (M == 1 or N == 1): the matrix operand is used
// once, so packing it would double the memory traffic of an already
// bandwidth-bound operation. The vector is converted once; the matrix is
// streamed in its own layout, either as dot products along contiguous rows
// ("dot" form) or as scaled row additions ("axpy" form), split over outputs.
template <typename T>
void gemv(const IsaKernels& ik, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
          const T* A, int64_t lda, const T* B, int64_t ldb, float beta, T* C, int64_t ldc,
          int threads) {
  using Acc = AccOf<T>;
  const PackFn<T, Acc> pack = pack_of(ik, A);
  // out(o) = sum_k v[k] * X(o, k), o < nout.
  const T *X, *vsrc;
  int64_t ldx, vinc, nout, cinc;
  bool dot;  // X(o,k) = X[o*ldx + k] (dot) or X[k*ldx + o] (axpy)
  if (M == 1) {
    vsrc = A;
    vinc = ta ? lda : 1;
    X = B;
    ldx = ldb;
    dot = tb;
    nout = N;
    cinc = 1;
  } else {  // N == 1
    vsrc = B;
    vinc = tb ? 1 : ldb;
    X = A;
    ldx = lda;
    dot = !ta;
    nout = M;
    cinc = ldc;
  }
  Acc* v = static_cast<Acc*>(tl_scratch[0].get(sizeof(Acc) * size_t(K + nout)));
  Acc* y = v + K;
  if (vinc == 1) to_dense(pack, vsrc, 0, true, 1, K, v);
  else to_dense(pack, vsrc, vinc, false, 1, K, v);

  const GemvPair<T, Acc> simd = gemv_of(ik, A);
  constexpr int64_t kSeg = 512;  // elements converted per step (16-bit X)
  auto run = [&](int64_t o0, int64_t o1) {
    alignas(64) Acc seg[kSeg];
    if (dot && simd.dot) {
      simd.dot(X + o0 * ldx, ldx, v, K, o1 - o0, y + o0);
    } else if (!dot && simd.axpy) {
      simd.axpy(X + o0, ldx, v, K, o1 - o0, y + o0);
    } else if (dot) {
      for (int64_t o = o0; o < o1; ++o) {
        // 16 independent partial sums let the compiler vectorize the
        // reduction without reassociating a single accumulator.
        Acc part[16] = {};
        const T* xr = X + o * ldx;
        for (int64_t k0 = 0; k0 < K; k0 += kSeg) {
          const int64_t kn = std::min(kSeg, K - k0);
          const Acc* x;
          if constexpr (std::is_same_v<T, Acc>) {
            x = xr + k0;
          } else {
            pack(xr + k0, 0, true, int(kn), 1, seg, int(kn));
            x = seg;
          }
          const Acc* vv = v + k0;
          int64_t k = 0;
          for (; k + 16 <= kn; k += 16)
            for (int l = 0; l < 16; ++l) part[l] += x[k + l] * vv[k + l];
          for (; k < kn; ++k) part[k & 15] += x[k] * vv[k];
        }
        Acc s = 0;
        for (int l = 0; l < 16; ++l) s += part[l];
        y[o] = s;
      }
    } else {
      for (int64_t o = o0; o < o1; ++o) y[o] = Acc(0);
      for (int64_t s0 = o0; s0 < o1; s0 += kSeg) {
        const int64_t sn = std::min(kSeg, o1 - s0);
        Acc* yy = y + s0;
        for (int64_t k = 0; k < K; ++k) {
          const Acc* x;
          if constexpr (std::is_same_v<T, Acc>) {
            x = X + k * ldx + s0;
          } else {
            pack(X + k * ldx + s0, 0, true, int(sn), 1, seg, int(sn));
            x = seg;
          }
          const Acc vk = v[k];
          for (int64_t j = 0; j < sn; ++j) yy[j] += vk * x[j];
        }
      }
    }
    store_vec(y + o0, o1 - o0, alpha, beta, C + o0 * cinc, cinc);
  };
  if (threads > 1 && nout >= 2 * 16) {
    // Chunks of >= 16 outputs keep the axpy form on whole vectors.
    parallel_for(nout, std::max<int64_t>(16, (nout + threads - 1) / threads), run);
  } else {
    run(0, nout);
  }
}

struct Blocking {
  int64_t kc, mc, nc, mb;
};

// Cache blocking (per element type; MR/NR come from the ISA table).
//  KC: depth of a packed block. A KC x NR B panel is reused from L1/L2 by
//      MC/MR kernel calls; larger KC means fewer passes over C (each pass
//      reads and writes all of C). 512 floats measured best on AVX-512
//      (B panel 64 KiB in L2, A panel 28 KiB); double keeps the same bytes.
//  MC: rows of A per L2 block (MC x KC x 4 bytes ~ 0.5 MiB of a >= 1 MiB L2).
//  NC, MB: bound the shared packed buffers. Every element of packed B is
//      used for 2*MB flops and of packed A for 2*NC flops, so both are kept
//      large (packing costs ~1% per halving at these sizes); the 16-bit types
//      use smaller blocks because their f32 workspace W is MB x NC.
template <typename T>
Blocking blocking(int mr, int nr) {
  Blocking b;
  if constexpr (std::is_same_v<T, double>) {
    b = {256, 192, 2048, 1024};
  } else if constexpr (kIs16<T>) {
    b = {512, 240, 2048, 1024};
  } else {
    b = {512, 240, 4096, 2048};
  }
  b.mc = std::max<int64_t>(mr, b.mc / mr * mr);
  b.nc = std::max<int64_t>(nr, b.nc);
  b.mb = std::max<int64_t>(mr, b.mb);
  return b;
}

// Splits `threads` into a tm x tn grid over (M panels, N panels) minimizing
// the largest rectangle; ties prefer splitting M, so threads share B panels
// (read-only, from L3) and keep private A blocks in their own L2.
void thread_grid(int threads, int64_t pm, int64_t pn, int& tm, int& tn) {
  int64_t best = -1;
  tm = 1;
  tn = threads;
  for (int a = threads; a >= 1; --a) {
    if (threads % a) continue;
    int b = threads / a;
    int64_t cost = ((pm + a - 1) / a) * ((pn + b - 1) / b);
    if (best < 0 || cost < best) {
      best = cost;
      tm = a;
      tn = b;
    }
  }
}

// Panel states for lazy packing (see blocked_gemm).
enum : uint8_t { kUnpacked = 0, kPacking = 1, kReady = 2 };

// Returns once panel `idx` is packed, packing it here if nobody has started.
// A thread only ever waits on a panel that another thread is actively
// packing (which never waits on anything), so this cannot deadlock, even
// when one thread ends up running every chunk of the parallel_for.
template <typename F>
inline void acquire_panel(std::atomic<uint8_t>& state, F&& do_pack) {
  uint8_t s = state.load(std::memory_order_acquire);
  if (s == kReady) return;
  if (s == kUnpacked && state.compare_exchange_strong(s, kPacking, std::memory_order_acq_rel)) {
    do_pack();
    state.store(kReady, std::memory_order_release);
    return;
  }
  // Packing a panel takes microseconds; yield only if the packer seems to
  // have been descheduled (an oversubscribed machine).
  for (int spins = 0; state.load(std::memory_order_acquire) != kReady; ++spins) {
    cpu_relax();
    if (spins > 20000) std::this_thread::yield();
  }
}

// One way of running the blocked algorithm: panel element type P (the
// accumulator type, or 32-bit pairs of bf16 for the dot-product path), its
// micro-kernel and packer, and `kunit` k values per panel row.
template <typename T, typename P, typename Acc>
struct PanelPath {
  int mr, nr, kunit;
  void (*kernel)(int64_t, const P*, const P*, Acc*, int64_t, int, int, int, Acc, Acc);
  void (*pack)(const T*, int64_t, bool, int, int64_t, P*, int);
};

template <typename T, typename P, typename Acc>
void blocked_gemm_path(const IsaKernels& ik, const PanelPath<T, P, Acc>& path, bool ta, bool tb,
                       int64_t M, int64_t N, int64_t K, float alpha, const T* A, int64_t lda,
                       const T* B, int64_t ldb, float beta, T* C, int64_t ldc, int threads) {
  const int MR = path.mr, NR = path.nr, KU = path.kunit;
  const auto kernel = path.kernel;
  const auto pack = path.pack;
  const Blocking bl = blocking<T>(MR, NR);

  // Split each dimension into equal blocks no larger than the limits (so
  // that, e.g., M = 2048 is one block rather than 2044 + 4 rows), rounded to
  // whole panels.
  auto split = [](int64_t n, int64_t limit, int64_t unit) {
    const int64_t blocks = (n + limit - 1) / limit;
    return ((n + blocks - 1) / blocks + unit - 1) / unit * unit;
  };
  const int64_t mb_max = split(M, bl.mb, MR);
  const int64_t nb_max = split(N, bl.nc, NR);
  const int64_t kb_max = split(K, bl.kc, KU);  // non-last K blocks: whole panel rows
  const int64_t kd_max = (kb_max + KU - 1) / KU;
  P* Ap = static_cast<P*>(tl_scratch[0].get(sizeof(P) * mb_max * kd_max));
  P* Bp = static_cast<P*>(tl_scratch[1].get(sizeof(P) * nb_max * kd_max));
  float* W = nullptr;
  const int64_t ldw = nb_max;
  if constexpr (kIs16<T>) W = static_cast<float*>(tl_scratch[2].get(sizeof(float) * mb_max * ldw));
  const int64_t max_panels = mb_max / MR + nb_max / NR;
  auto* state = static_cast<std::atomic<uint8_t>*>(
      tl_scratch[3].get(sizeof(std::atomic<uint8_t>) * size_t(max_panels)));

  const Acc al = Acc(alpha), be = Acc(beta);

  for (int64_t j0 = 0; j0 < N; j0 += nb_max) {
    const int64_t nb = std::min(nb_max, N - j0);
    const int64_t pn = (nb + NR - 1) / NR;  // NR panels in this block
    for (int64_t i0 = 0; i0 < M; i0 += mb_max) {
      const int64_t mb = std::min(mb_max, M - i0);
      const int64_t pm = (mb + MR - 1) / MR;  // MR panels in this block
      int tm, tn;
      thread_grid(threads, pm, pn, tm, tn);
      for (int64_t p0 = 0; p0 < K; p0 += kb_max) {
        const int64_t kb = std::min(kb_max, K - p0);
        const int64_t kd = (kb + KU - 1) / KU;  // panel rows of this block
        const bool first = p0 == 0, last = p0 + kb == K;
        for (int64_t i = 0; i < pm + pn; ++i) state[i].store(kUnpacked, std::memory_order_relaxed);

        // A panel ip: rows i0+ip*MR.. of op(A); B panel jp: columns
        // j0+jp*NR.. of op(B) (see PackFn for the two source layouts).
        auto pack_a = [&](int64_t ip) {
          acquire_panel(state[ip], [&] {
            const int64_t r = i0 + ip * MR;
            const int rows = int(std::min<int64_t>(MR, M - r));
            const T* src = ta ? A + p0 * lda + r : A + r * lda + p0;
            pack(src, lda, ta, rows, kb, Ap + ip * MR * kd, MR);
          });
        };
        auto pack_b = [&](int64_t jp) {
          acquire_panel(state[pm + jp], [&] {
            const int64_t c = j0 + jp * NR;
            const int cols = int(std::min<int64_t>(NR, N - c));
            const T* src = tb ? B + c * ldb + p0 : B + p0 * ldb + c;
            pack(src, ldb, !tb, cols, kb, Bp + jp * NR * kd, NR);
          });
        };

        int mode;
        if (kIs16<T>) mode = first ? kOverwrite : kAccumulate;
        else if (!first || beta == 1.0f) mode = kAccumulate;
        else mode = beta == 0.0f ? kOverwrite : kBeta;

        // Each chunk t owns a rectangle of micro-tiles of C. Panels are
        // packed lazily by whichever thread needs them first, so packing is
        // spread over the threads, overlaps with compute, and a panel is
        // usually consumed from the cache of the core that packed it.
        auto compute = [&](int64_t tb_, int64_t te_) {
          for (int64_t t = tb_; t < te_; ++t) {
            const int64_t ti = t / tn, tj = t % tn;
            const int64_t pa0 = pm * ti / tm, pa1 = pm * (ti + 1) / tm;
            const int64_t pb0 = pn * tj / tn, pb1 = pn * (tj + 1) / tn;
            const int64_t npb = pb1 - pb0;
            if (pa1 <= pa0 || npb <= 0) continue;
            // Threads sharing B panels start at different offsets so that
            // they pack different panels instead of waiting on each other.
            const int64_t rot = npb * ti / tm;
            // L2 blocks of at most mc rows, balanced within the range.
            const int64_t nblk = (pa1 - pa0 + bl.mc / MR - 1) / (bl.mc / MR);
            for (int64_t blk = 0; blk < nblk; ++blk) {
              const int64_t ic = pa0 + (pa1 - pa0) * blk / nblk;
              const int64_t ie = pa0 + (pa1 - pa0) * (blk + 1) / nblk;
              // Threads that share these A panels (tn > 1) start packing at
              // different offsets for the same reason as `rot` below.
              for (int64_t q = 0, na = ie - ic; q < na; ++q) pack_a(ic + (q + na * tj / tn) % na);
              for (int64_t q = 0; q < npb; ++q) {
                const int64_t jp = pb0 + (q + rot) % npb;
                pack_b(jp);
                const int64_t c = jp * NR;  // column within the block
                const int n = int(std::min<int64_t>(NR, nb - c));
                const P* bpan = Bp + jp * NR * kd;
                for (int64_t ip = ic; ip < ie; ++ip) {
                  const int64_t r = ip * MR;  // row within the block
                  const int m = int(std::min<int64_t>(MR, mb - r));
                  const P* apan = Ap + ip * MR * kd;
                  if constexpr (kIs16<T>) {
                    kernel(kd, apan, bpan, W + r * ldw + c, ldw, m, n, mode, al, be);
                  } else {
                    kernel(kd, apan, bpan, C + (i0 + r) * ldc + j0 + c, ldc, m, n, mode, al, be);
                  }
                }
              }
            }
            if constexpr (kIs16<T>) {
              // Last K block: convert this thread's finished rectangle.
              if (last) {
                const int64_t r0 = pa0 * MR, r1 = std::min(pa1 * MR, mb);
                const int64_t c0 = pb0 * NR, c1 = std::min(pb1 * NR, nb);
                store_of(ik, C)(W + r0 * ldw + c0, ldw, C + (i0 + r0) * ldc + j0 + c0, ldc,
                                r1 - r0, c1 - c0, beta);
              }
            }
          }
        };
        const int64_t nt = int64_t(tm) * tn;
        if (nt > 1) parallel_for(nt, 1, compute);
        else compute(0, 1);
      }
    }
  }
}

template <typename T>
void blocked_gemm(const IsaKernels& ik, bool ta, bool tb, int64_t M, int64_t N, int64_t K,
                  float alpha, const T* A, int64_t lda, const T* B, int64_t ldb, float beta, T* C,
                  int64_t ldc, int threads) {
  using Acc = AccOf<T>;
  if constexpr (std::is_same_v<T, bfloat16_t>) {
    // AMX (mode 2, forced: every size here): measured faster than the f32
    // path from 16^3 on (n=16: 21 vs 17 GFLOP/s, n=64: 420 vs 75, one
    // thread); thinner operands keep the other paths (tiles are 16 wide).
    const int amx = amx_state(ik);
    if (amx == 2 || (amx == 1 && M >= 16 && N >= 16 && K >= 16)) {
      amx_gemm_bf16(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, threads);
      return;
    }
    if (const Bf16DotKernels* bd = bf16_dot(ik)) {
      const PanelPath<T, uint32_t, float> path{bd->mr, bd->nr, 2, bd->kernel, bd->pack};
      blocked_gemm_path(ik, path, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, threads);
      return;
    }
  }
  constexpr bool is64 = std::is_same_v<T, double>;
  PanelPath<T, Acc, Acc> path;
  path.mr = is64 ? ik.mr64 : ik.mr32;
  path.nr = is64 ? ik.nr64 : ik.nr32;
  path.kunit = 1;
  if constexpr (is64) path.kernel = ik.kernel64;
  else path.kernel = ik.kernel32;
  path.pack = pack_of(ik, A);
  blocked_gemm_path(ik, path, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, threads);
}

// Threads worth using for a problem of this size: dispatch costs about a
// microsecond, so below ~1 MFLOP per extra thread stay single-threaded.
int threads_for(double flops) {
  if (in_parallel_region()) return 1;
  int t = num_threads();
  int by_work = int(std::min<double>(t, flops / 1.0e6));
  return std::max(1, std::min(t, by_work));
}

constexpr double kSmallFlops = 2.0 * 8 * 8 * 8;

template <typename T>
void gemm_one(const IsaKernels& ik, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
              const T* A, int64_t lda, const T* B, int64_t ldb, float beta, T* C, int64_t ldc,
              int threads) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.0f) {
    scale_c(M, N, beta, C, ldc);
    return;
  }
  const double flops = 2.0 * double(M) * double(N) * double(K);
  if (M == 1 || N == 1) {
    gemv(ik, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, threads);
    return;
  }
  if (flops <= kSmallFlops) {
    small_gemm(ik, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  blocked_gemm(ik, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, threads);
}

}  // namespace

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, float beta, T* C, int64_t ldc) {
  const double flops = 2.0 * double(M) * double(N) * double(K);
  gemm_one(isa(), trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
           threads_for(flops));
}

template <typename T>
void gemm_batched(bool trans_a, bool trans_b, int64_t batch, int64_t M, int64_t N, int64_t K,
                  float alpha, const T* A, int64_t lda, const int64_t* a_offsets, const T* B,
                  int64_t ldb, const int64_t* b_offsets, float beta, T* C, int64_t ldc,
                  const int64_t* c_offsets) {
  if (batch <= 0 || M <= 0 || N <= 0) return;
  const IsaKernels& ik = isa();
  const double flops = 2.0 * double(M) * double(N) * double(K);
  const int threads = threads_for(flops * double(batch));
  auto one = [&](int64_t b, int nt) {
    gemm_one(ik, trans_a, trans_b, M, N, K, alpha, A + a_offsets[b], lda, B + b_offsets[b], ldb,
             beta, C + c_offsets[b], ldc, nt);
  };
  // Spread whole products over threads when there are many of them or each
  // is too small to split well; otherwise run them in turn, each threaded.
  // (Inside parallel_for the nested gemm runs on its own thread's scratch.)
  // (batch == 1, e.g. a plain matmul, always takes the second branch.)
  const bool across = threads > 1 && batch >= threads &&
                      (batch >= 4 * int64_t(threads) || batch % threads == 0 || flops < 8.0e6);
  if (across) {
    parallel_for(batch, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) one(b, 1);
    });
  } else {
    for (int64_t b = 0; b < batch; ++b) one(b, threads_for(flops));
  }
}

#define OXMLX_GEMM_INSTANTIATE(T)                                                               \
  template void gemm<T>(bool, bool, int64_t, int64_t, int64_t, float, const T*, int64_t,      \
                        const T*, int64_t, float, T*, int64_t);                                 \
  template void gemm_batched<T>(bool, bool, int64_t, int64_t, int64_t, int64_t, float, const T*, \
                                int64_t, const int64_t*, const T*, int64_t, const int64_t*,     \
                                float, T*, int64_t, const int64_t*);
OXMLX_GEMM_INSTANTIATE(float)
OXMLX_GEMM_INSTANTIATE(double)
OXMLX_GEMM_INSTANTIATE(float16_t)
OXMLX_GEMM_INSTANTIATE(bfloat16_t)
#undef OXMLX_GEMM_INSTANTIATE

}  // namespace oxmlx::cpu
