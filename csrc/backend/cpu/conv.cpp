// Convolution family (CPU): channels-last N-d convolution (N <= 3 spatial
// dims) lowered onto the packed GEMM.
//
//  * 1x1 kernels with unit stride, no padding and no input dilation: the
//    input is already the (N*spatial, C) matrix, one threaded GEMM per group.
//  * Cg == 1 (depthwise, or a single input channel): a direct kernel that
//    accumulates every output row over the kernel taps, vectorized over the
//    output channels.
//  * Otherwise implicit im2col: output rows are cut into chunks whose patch
//    matrix (rows x K*Cg) fits in L2; each task builds its chunk's patches in
//    a thread-local buffer and multiplies it by the group's weight rows
//    (w is (O, K..., Cg), i.e. already the transposed B of the GEMM). Tasks
//    (chunk, group) run on the thread pool with single-threaded GEMMs, or in
//    turn with threaded GEMMs when there are too few of them.
//
// Geometry: along each spatial dim an output position y and kernel tap k read
// the dilated, padded input at q = y*stride + k'*kernel_dilation - pad_lo
// (k' = K-1-k when flipped); q must be a multiple of input_dilation and
// q/input_dilation inside the input, else the tap reads zero. Pads may be
// negative (crop). The builder has sized `out`.
#include <algorithm>
#include <cstring>
#include <mutex>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/gemm.h"
#include "backend/cpu/threadpool.h"

namespace oxmlx::cpu {

namespace {

constexpr int kDims = 3;  // spatial dims handled (fewer are padded with size 1)

struct Geom {
  int64_t N = 0, C = 0, O = 0, G = 1, Cg = 0, Og = 0;
  int64_t in_sp[kDims], w_sp[kDims], out_sp[kDims];
  int64_t in_st[kDims];  // element strides of the input's spatial dims
  int64_t in_batch = 0;  // element stride of the input's batch dim
  int64_t ksize = 1, osize = 1;
  // taps[d][y * w_sp[d] + k]: input index along d, or -1 (reads zero).
  std::vector<int64_t> taps[kDims];
  bool last_contig = false;  // taps along the last dim are consecutive
  int64_t stride[kDims], idil[kDims];
};

Geom make_geom(const array& in, const array& w, const array& out, const std::vector<int>& stride,
               const std::vector<int>& lo, const std::vector<int>& kdil,
               const std::vector<int>& idil, int groups, bool flip) {
  Geom g;
  const int nd = in.ndim() - 2;
  const int pad = kDims - nd;
  g.N = in.shape(0);
  g.C = in.shape(-1);
  g.O = w.shape(0);
  g.G = groups;
  g.Cg = w.shape(-1);
  g.Og = g.O / groups;
  int64_t st = g.C;
  for (int d = kDims - 1; d >= 0; --d) {
    const int s = d - pad;
    g.in_sp[d] = s >= 0 ? in.shape(1 + s) : 1;
    g.w_sp[d] = s >= 0 ? w.shape(1 + s) : 1;
    g.out_sp[d] = s >= 0 ? out.shape(1 + s) : 1;
    g.in_st[d] = st;
    st *= g.in_sp[d];
  }
  g.in_batch = st;
  for (int d = 0; d < kDims; ++d) {
    const int s = d - pad;
    const int64_t sd = s >= 0 ? stride[s] : 1, kd = s >= 0 ? kdil[s] : 1;
    const int64_t id = s >= 0 ? idil[s] : 1, l = s >= 0 ? lo[s] : 0;
    const int64_t K = g.w_sp[d], X = g.in_sp[d];
    g.taps[d].resize(size_t(g.out_sp[d] * K));
    for (int64_t y = 0; y < g.out_sp[d]; ++y)
      for (int64_t k = 0; k < K; ++k) {
        const int64_t kk = flip ? K - 1 - k : k;
        const int64_t q = y * sd + kk * kd - l;
        int64_t t = -1;
        if (q >= 0 && q % id == 0 && q / id < X) t = q / id;
        g.taps[d][size_t(y * K + k)] = t;
      }
    g.ksize *= K;
    g.osize *= g.out_sp[d];
    g.stride[d] = sd;
    g.idil[d] = id;
    if (d == kDims - 1) g.last_contig = (kd == 1 && id == 1 && !flip) || K == 1;
  }
  return g;
}

// Output row m -> batch index and the taps row of each spatial dim.
struct RowPos {
  int64_t n;
  const int64_t* t[kDims];
};

inline RowPos row_pos(const Geom& g, int64_t m) {
  RowPos r;
  r.n = m / g.osize;
  int64_t rem = m % g.osize;
  for (int d = kDims - 1; d >= 0; --d) {
    const int64_t y = rem % g.out_sp[d];
    rem /= g.out_sp[d];
    r.t[d] = g.taps[d].data() + y * g.w_sp[d];
  }
  return r;
}

// Walks consecutive output rows without divisions.
struct RowIter {
  const Geom& g;
  int64_t n, y[kDims];
  RowPos r;
  RowIter(const Geom& geom, int64_t m) : g(geom) {
    r = row_pos(g, m);
    n = r.n;
    int64_t rem = m % g.osize;
    for (int d = kDims - 1; d >= 0; --d) {
      y[d] = rem % g.out_sp[d];
      rem /= g.out_sp[d];
    }
  }
  void next() {
    for (int d = kDims - 1; d >= 0; --d) {
      if (++y[d] < g.out_sp[d]) {
        r.t[d] += g.w_sp[d];
        return;
      }
      y[d] = 0;
      r.t[d] = g.taps[d].data();
    }
    r.n = ++n;
  }
};

// Patch rows [m0, m1) of group `grp` into col (row stride ksize*Cg).
template <typename T>
void im2col(const Geom& g, const T* in, int64_t grp, int64_t m0, int64_t m1, T* col) {
  const int64_t Cg = g.Cg, K2 = g.w_sp[2];
  const size_t cbytes = size_t(Cg) * sizeof(T);
  const bool run_copy = g.last_contig && g.G == 1;  // K2 taps * C channels are one block
  T* dst = col;
  for (int64_t m = m0; m < m1; ++m) {
    const RowPos r = row_pos(g, m);
    const T* src_n = in + r.n * g.in_batch + grp * Cg;
    for (int64_t k0 = 0; k0 < g.w_sp[0]; ++k0) {
      const int64_t t0 = r.t[0][k0];
      for (int64_t k1 = 0; k1 < g.w_sp[1]; ++k1) {
        const int64_t t1 = r.t[1][k1];
        if (t0 < 0 || t1 < 0) {
          std::memset(dst, 0, cbytes * size_t(K2));
          dst += Cg * K2;
          continue;
        }
        const T* src = src_n + t0 * g.in_st[0] + t1 * g.in_st[1];
        const int64_t* t2 = r.t[2];
        if (run_copy && t2[0] >= 0 && t2[K2 - 1] >= 0) {
          std::memcpy(dst, src + t2[0] * g.in_st[2], cbytes * size_t(K2));
          dst += Cg * K2;
          continue;
        }
        for (int64_t k2 = 0; k2 < K2; ++k2, dst += Cg) {
          if (t2[k2] < 0) std::memset(dst, 0, cbytes);
          else std::memcpy(dst, src + t2[k2] * g.in_st[2], cbytes);
        }
      }
    }
  }
}

template <typename T>
struct TlBuffer {
  std::vector<T> v;
  T* get(size_t n) {
    if (v.size() < n) v.resize(n);
    return v.data();
  }
};

template <typename T>
void conv_im2col(const Geom& g, const T* in, const T* w, T* out) {
  const int64_t M = g.N * g.osize, Kg = g.ksize * g.Cg;
  const int64_t row_bytes = Kg * int64_t(sizeof(T));
  if (row_bytes >= (32 << 10)) {
    // Long patch rows (a huge kernel: e.g. the weight gradient, a
    // convolution over the whole image): small chunks would repack the long
    // weight rows for every few output rows, so build large chunks (up to
    // 64 MiB) in parallel and run one threaded GEMM per chunk and group.
    const int64_t rows = std::clamp<int64_t>((int64_t(64) << 20) / row_bytes, 32, M);
    // From the caching allocator: no zero fill, and reused across calls.
    auto buf = allocator::malloc(size_t(rows * Kg) * sizeof(T));
    T* col = static_cast<T*>(buf->ptr);
    for (int64_t m0 = 0; m0 < M; m0 += rows) {
      const int64_t m1 = std::min(M, m0 + rows);
      for (int64_t grp = 0; grp < g.G; ++grp) {
        parallel_for(m1 - m0, 1, [&](int64_t a, int64_t b) {
          im2col(g, in, grp, m0 + a, m0 + b, col + a * Kg);
        });
        gemm<T>(false, true, m1 - m0, g.Og, Kg, 1.0f, col, Kg, w + grp * g.Og * Kg, Kg,
                0.0f, out + m0 * g.O + grp * g.Og, g.O);
      }
    }
    return;
  }
  // ~192 KiB of patches per chunk (stays in L2 while GEMM packs it).
  int64_t rows = std::clamp<int64_t>((192 << 10) / std::max<int64_t>(row_bytes, 1), 32, 512);
  const int threads = num_threads();
  int64_t chunks = (M + rows - 1) / rows;
  if (chunks * g.G < 2 * threads && M >= 2 * 16 * threads) {
    // Prefer more, smaller chunks over threading each GEMM.
    rows = std::max<int64_t>(16, (M + 2 * threads - 1) / (2 * threads));
    chunks = (M + rows - 1) / rows;
  }
  const int64_t tasks = chunks * g.G;
  auto task = [&](int64_t t, T* col) {
    const int64_t c = t / g.G, grp = t % g.G;
    const int64_t m0 = c * rows, m1 = std::min(M, m0 + rows);
    im2col(g, in, grp, m0, m1, col);
    gemm<T>(false, true, m1 - m0, g.Og, Kg, 1.0f, col, Kg, w + grp * g.Og * Kg, Kg, 0.0f,
            out + m0 * g.O + grp * g.Og, g.O);
  };
  if (threads > 1 && tasks >= threads) {
    parallel_for(tasks, 1, [&](int64_t t0, int64_t t1) {
      thread_local TlBuffer<T> buf;
      T* col = buf.get(size_t(rows * Kg));
      for (int64_t t = t0; t < t1; ++t) task(t, col);
    });
  } else {
    std::vector<T> col(size_t(rows * Kg));
    for (int64_t t = 0; t < tasks; ++t) task(t, col.data());
  }
}

// Depthwise float rows: out[o] = sum_t wk[t][o] * src[t][o], register-blocked
// over 32 channels. Built for AVX-512 / AVX2 / baseline and picked when the
// library loads (GCC function multiversioning) where available.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define OXMLX_CPU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define OXMLX_CPU_CLONES
#endif

#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"  // internal helpers; no ABI crosses them
typedef float v8f __attribute__((vector_size(32)));
inline v8f load8(const float* p) {
  v8f v;
  __builtin_memcpy(&v, p, sizeof(v));
  return v;
}
inline void store8(float* p, v8f v) { __builtin_memcpy(p, &v, sizeof(v)); }
#endif

OXMLX_CPU_CLONES
void depthwise_row_f32(const float* const* src, const float* const* wk, int nt, int64_t O,
                       float* out) {
  int64_t o = 0;
#if defined(__GNUC__)
  for (; o + 32 <= O; o += 32) {
    v8f r0 = {}, r1 = {}, r2 = {}, r3 = {};
    for (int t = 0; t < nt; ++t) {
      const float* a = src[t] + o;
      const float* b = wk[t] + o;
      r0 += load8(a) * load8(b);
      r1 += load8(a + 8) * load8(b + 8);
      r2 += load8(a + 16) * load8(b + 16);
      r3 += load8(a + 24) * load8(b + 24);
    }
    store8(out + o, r0);
    store8(out + o + 8, r1);
    store8(out + o + 16, r2);
    store8(out + o + 24, r3);
  }
  for (; o + 8 <= O; o += 8) {
    v8f r0 = {};
    for (int t = 0; t < nt; ++t) r0 += load8(src[t] + o) * load8(wk[t] + o);
    store8(out + o, r0);
  }
#endif
  for (; o < O; ++o) {
    float r = 0.0f;
    for (int t = 0; t < nt; ++t) r += src[t][o] * wk[t][o];
    out[o] = r;
  }
}

// Cg == 1: out[m, o] = sum_k w[o, k] * in[tap(m, k), o / Og].
template <typename T>
void conv_direct(const Geom& g, const T* in, const T* w, T* out) {
  using Acc = std::conditional_t<std::is_same_v<T, double>, double, float>;
  const int64_t O = g.O, Og = g.Og, K = g.ksize, M = g.N * g.osize;
  std::vector<Acc> wt(size_t(K * O));  // wt[k*O + o] = w[o, k]
  for (int64_t o = 0; o < O; ++o)
    for (int64_t k = 0; k < K; ++k) wt[size_t(k * O + o)] = Acc(w[o * K + k]);
  if constexpr (std::is_same_v<T, float>) {
    if (Og == 1) {
      parallel_for(M, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, K * O)),
                   [&](int64_t m0, int64_t m1) {
        std::vector<const float*> srcs(static_cast<size_t>(K)), wks(srcs);
        RowIter it(g, m0);
        for (int64_t m = m0; m < m1; ++m, it.next()) {
          const RowPos& r = it.r;
          const T* src_n = in + r.n * g.in_batch;
          int nt = 0, k = 0;
          for (int64_t k0 = 0; k0 < g.w_sp[0]; ++k0)
            for (int64_t k1 = 0; k1 < g.w_sp[1]; ++k1)
              for (int64_t k2 = 0; k2 < g.w_sp[2]; ++k2, ++k) {
                const int64_t t0 = r.t[0][k0], t1 = r.t[1][k1], t2 = r.t[2][k2];
                if (t0 < 0 || t1 < 0 || t2 < 0) continue;
                srcs[size_t(nt)] = src_n + t0 * g.in_st[0] + t1 * g.in_st[1] + t2 * g.in_st[2];
                wks[size_t(nt++)] = wt.data() + k * O;
              }
          depthwise_row_f32(srcs.data(), wks.data(), nt, O, out + m * O);
        }
      });
      return;
    }
  }
  auto rows = [&](int64_t m0, int64_t m1) {
    std::vector<Acc> acc(static_cast<size_t>(O));
    for (int64_t m = m0; m < m1; ++m) {
      const RowPos r = row_pos(g, m);
      std::fill(acc.begin(), acc.end(), Acc(0));
      const T* src_n = in + r.n * g.in_batch;
      const Acc* wk = wt.data();
      for (int64_t k0 = 0; k0 < g.w_sp[0]; ++k0)
        for (int64_t k1 = 0; k1 < g.w_sp[1]; ++k1)
          for (int64_t k2 = 0; k2 < g.w_sp[2]; ++k2, wk += O) {
            const int64_t t0 = r.t[0][k0], t1 = r.t[1][k1], t2 = r.t[2][k2];
            if (t0 < 0 || t1 < 0 || t2 < 0) continue;
            const T* src = src_n + t0 * g.in_st[0] + t1 * g.in_st[1] + t2 * g.in_st[2];
            Acc* a = acc.data();
            if (Og == 1) {
              for (int64_t o = 0; o < O; ++o) a[o] += wk[o] * Acc(src[o]);
            } else {
              for (int64_t o = 0; o < O; ++o) a[o] += wk[o] * Acc(src[o / Og]);
            }
          }
      T* dst = out + m * O;
      for (int64_t o = 0; o < O; ++o) dst[o] = T(acc[size_t(o)]);
    }
  };
  const int64_t work = std::max<int64_t>(1, K * O);
  parallel_for(M, std::max<int64_t>(1, 16384 / work), rows);
}

// Unit stride with input dilation (the transposed convolution): along each
// dim, the outputs y = p + idil*j of one phase p see the same subset of
// kernel taps (the others always land between input samples). Each phase is
// a dense convolution with that sub-kernel, so no multiply-by-zero work is
// done (idil^d times less than im2col over the dilated input). Tasks are
// (phase, chunk of rows, group); rows are computed into a buffer and then
// scattered to their strided output positions.
template <typename T>
void conv_phases(const Geom& g, const T* in, const T* w, T* out) {
  struct Phase {
    int64_t p[kDims], J[kDims];
    std::vector<int64_t> L[kDims];  // kernel taps used along each dim
    int64_t rows = 0, Kp = 0;
    std::vector<T> wp;  // (O, |L0|*|L1|*|L2|*Cg): the sub-kernel
  };
  std::vector<Phase> phases;
  for (int64_t p0 = 0; p0 < g.idil[0]; ++p0)
    for (int64_t p1 = 0; p1 < g.idil[1]; ++p1)
      for (int64_t p2 = 0; p2 < g.idil[2]; ++p2) {
        Phase ph;
        const int64_t pp[kDims] = {p0, p1, p2};
        ph.rows = g.N;
        int64_t taps = 1;
        for (int d = 0; d < kDims; ++d) {
          ph.p[d] = pp[d];
          ph.J[d] = pp[d] < g.out_sp[d] ? (g.out_sp[d] - pp[d] + g.idil[d] - 1) / g.idil[d] : 0;
          ph.rows *= ph.J[d];
          for (int64_t k = 0; k < g.w_sp[d]; ++k)
            for (int64_t y = pp[d]; y < g.out_sp[d]; y += g.idil[d])
              if (g.taps[d][size_t(y * g.w_sp[d] + k)] >= 0) {
                ph.L[d].push_back(k);
                break;
              }
          taps *= int64_t(ph.L[d].size());
        }
        if (ph.rows == 0) continue;
        ph.Kp = taps * g.Cg;
        ph.wp.resize(size_t(g.O * ph.Kp));
        T* dst = ph.wp.data();
        for (int64_t o = 0; o < g.O; ++o)
          for (int64_t k0 : ph.L[0])
            for (int64_t k1 : ph.L[1])
              for (int64_t k2 : ph.L[2]) {
                const int64_t k = (k0 * g.w_sp[1] + k1) * g.w_sp[2] + k2;
                std::memcpy(dst, w + (o * g.ksize + k) * g.Cg, size_t(g.Cg) * sizeof(T));
                dst += g.Cg;
              }
        phases.push_back(std::move(ph));
      }
  // Tasks: ~64 KiB of patches per chunk.
  struct Task {
    int64_t ph, r0, r1, grp;
  };
  std::vector<Task> tasks;
  for (size_t i = 0; i < phases.size(); ++i) {
    const int64_t rb = std::max<int64_t>(phases[i].Kp * int64_t(sizeof(T)), 1);
    const int64_t rows = std::clamp<int64_t>((192 << 10) / rb, 32, 512);
    for (int64_t r0 = 0; r0 < phases[i].rows; r0 += rows)
      for (int64_t grp = 0; grp < g.G; ++grp)
        tasks.push_back({int64_t(i), r0, std::min(phases[i].rows, r0 + rows), grp});
  }
  auto run = [&](const Task& t, std::vector<T>& col, std::vector<T>& res) {
    const Phase& ph = phases[size_t(t.ph)];
    const int64_t R = t.r1 - t.r0, Cg = g.Cg;
    col.resize(size_t(R * std::max<int64_t>(ph.Kp, 1)));
    res.resize(size_t(R * g.Og));
    std::vector<int64_t> pos(static_cast<size_t>(R));
    T* dst = col.data();
    for (int64_t r = t.r0; r < t.r1; ++r) {
      int64_t rem = r, j[kDims];
      for (int d = kDims - 1; d >= 0; --d) {
        j[d] = rem % ph.J[d];
        rem /= ph.J[d];
      }
      const int64_t n = rem;
      int64_t y[kDims], opos = n;
      for (int d = 0; d < kDims; ++d) {
        y[d] = ph.p[d] + g.idil[d] * j[d];
        opos = opos * g.out_sp[d] + y[d];
      }
      pos[size_t(r - t.r0)] = opos;
      const T* src_n = in + n * g.in_batch + t.grp * Cg;
      const int64_t* t0 = g.taps[0].data() + y[0] * g.w_sp[0];
      const int64_t* t1 = g.taps[1].data() + y[1] * g.w_sp[1];
      const int64_t* t2 = g.taps[2].data() + y[2] * g.w_sp[2];
      for (int64_t k0 : ph.L[0])
        for (int64_t k1 : ph.L[1])
          for (int64_t k2 : ph.L[2]) {
            if (t0[k0] < 0 || t1[k1] < 0 || t2[k2] < 0) {
              std::memset(dst, 0, size_t(Cg) * sizeof(T));
            } else {
              std::memcpy(dst,
                          src_n + t0[k0] * g.in_st[0] + t1[k1] * g.in_st[1] + t2[k2] * g.in_st[2],
                          size_t(Cg) * sizeof(T));
            }
            dst += Cg;
          }
    }
    gemm<T>(false, true, R, g.Og, ph.Kp, 1.0f, col.data(), ph.Kp,
            ph.wp.data() + t.grp * g.Og * ph.Kp, ph.Kp, 0.0f, res.data(), g.Og);
    for (int64_t r = 0; r < R; ++r)
      std::memcpy(out + pos[size_t(r)] * g.O + t.grp * g.Og, res.data() + r * g.Og,
                  size_t(g.Og) * sizeof(T));
  };
  const int64_t nt = int64_t(tasks.size());
  if (num_threads() > 1 && nt >= num_threads()) {
    parallel_for(nt, 1, [&](int64_t a, int64_t b) {
      thread_local std::vector<T> col, res;
      for (int64_t t = a; t < b; ++t) run(tasks[size_t(t)], col, res);
    });
  } else {
    std::vector<T> col, res;
    for (const Task& t : tasks) run(t, col, res);
  }
}

template <typename T>
void run_conv(const array& in, const array& w, array& out, const std::vector<int>& stride,
              const std::vector<int>& lo, const std::vector<int>& kdil,
              const std::vector<int>& idil, int groups, bool flip) {
  alloc_row_major(out);
  if (out.size() == 0) return;
  T* o = out.data<T>();
  if (in.size() == 0 || w.size() == 0) {  // empty reduction (C == 0)
    std::fill(o, o + out.size(), T(0.0f));
    return;
  }
  const array x = in.flags().row_contiguous ? in : [&] {
    array t(std::make_shared<ArrayDesc>(in.shape(), in.dtype()));
    CpuBackend().copy(in, t);
    return t;
  }();
  const array wc = w.flags().row_contiguous ? w : [&] {
    array t(std::make_shared<ArrayDesc>(w.shape(), w.dtype()));
    CpuBackend().copy(w, t);
    return t;
  }();
  const Geom g = make_geom(x, wc, out, stride, lo, kdil, idil, groups, flip);
  const T* xp = x.data<T>();
  const T* wp = wc.data<T>();
  bool pointwise = g.ksize == 1;
  for (int d = 0; d < kDims && pointwise; ++d)
    pointwise = g.out_sp[d] == g.in_sp[d] && g.taps[d][0] == 0 &&
                (g.out_sp[d] < 2 || g.taps[d][1] == 1);
  if (pointwise) {
    const int64_t M = g.N * g.osize;
    for (int64_t grp = 0; grp < g.G; ++grp)
      gemm<T>(false, true, M, g.Og, g.Cg, 1.0f, xp + grp * g.Cg, g.C, wp + grp * g.Og * g.Cg, g.Cg,
              0.0f, o + grp * g.Og, g.O);
  } else if (g.Cg == 1) {
    conv_direct(g, xp, wp, o);
  } else if (std::all_of(g.stride, g.stride + kDims, [](int64_t v) { return v == 1; }) &&
             std::any_of(g.idil, g.idil + kDims, [](int64_t v) { return v > 1; })) {
    conv_phases(g, xp, wp, o);
  } else {
    conv_im2col(g, xp, wp, o);
  }
}

}  // namespace

void CpuBackend::conv(const array& in, const array& w, array& out, const std::vector<int>& stride,
                      const std::vector<int>& pad_lo, const std::vector<int>& /*pad_hi*/,
                      const std::vector<int>& kernel_dilation,
                      const std::vector<int>& input_dilation, int groups, bool flip) {
  if (in.ndim() < 3 || in.ndim() > 2 + kDims)
    throw ValueError(msg("[conv] The CPU backend supports 1 to ", kDims, " spatial dimensions."));
  switch (out.dtype().val) {
    case Dtype::Val::float32:
      return run_conv<float>(in, w, out, stride, pad_lo, kernel_dilation, input_dilation, groups,
                             flip);
    case Dtype::Val::float64:
      return run_conv<double>(in, w, out, stride, pad_lo, kernel_dilation, input_dilation, groups,
                              flip);
    case Dtype::Val::float16:
      return run_conv<float16_t>(in, w, out, stride, pad_lo, kernel_dilation, input_dilation,
                                 groups, flip);
    case Dtype::Val::bfloat16:
      return run_conv<bfloat16_t>(in, w, out, stride, pad_lo, kernel_dilation, input_dilation,
                                  groups, flip);
    default:
      throw ValueError(msg("[conv] Convolution currently only supports floating point types, got ",
                           dtype_name(out.dtype()), "."));
  }
}

}  // namespace oxmlx::cpu

// ------------------------------------------------------------ weight gradient

namespace oxmlx::cpu {

namespace {

// dw[g] (Og, K*Cg) = sum over chunks of cot[rows, g]^T @ patches[rows, g]:
// the forward im2col chunks again, each multiplied into a per-invocation
// accumulator (Acc type) that is added to the result at the end.
template <typename T, typename A>
void run_wgrad(const array& x, const array& cot, A* dw, const Geom& g) {
  const int64_t M = g.N * g.osize, Kg = g.ksize * g.Cg, O = g.O;
  const int64_t row_bytes = std::max<int64_t>(Kg * int64_t(sizeof(T)), 1);
  const int64_t rows = std::clamp<int64_t>((256 << 10) / row_bytes, 32, 1024);
  const int64_t chunks = (M + rows - 1) / rows;
  const T* xp = x.data<T>();
  const T* cp = cot.data<T>();
  std::mutex mu;
  parallel_for(chunks, 1, [&](int64_t c0, int64_t c1) {
    std::vector<A> acc(size_t(O * Kg), A(0));
    std::vector<T> col(size_t(rows * Kg));
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t m0 = c * rows, m1 = std::min(M, m0 + rows);
      for (int64_t grp = 0; grp < g.G; ++grp) {
        im2col(g, xp, grp, m0, m1, col.data());
        gemm<A>(true, false, g.Og, Kg, m1 - m0, 1.0f, cp + m0 * O + grp * g.Og, O, col.data(),
                Kg, 1.0f, acc.data() + grp * g.Og * Kg, Kg);
      }
    }
    std::lock_guard<std::mutex> lock(mu);
    for (size_t i = 0; i < acc.size(); ++i) dw[i] += acc[i];
  });
}

array as_dtype(const array& a, Dtype d) {
  if (a.dtype() == d && a.flags().row_contiguous) return a;
  array t(std::make_shared<ArrayDesc>(a.shape(), d));
  CpuBackend().copy(a, t);
  return t;
}

}  // namespace

void CpuBackend::conv_weight_grad(const array& in, const array& cot, array& out,
                                  const std::vector<int>& stride, const std::vector<int>& pad_lo,
                                  const std::vector<int>&, const std::vector<int>& kernel_dilation,
                                  const std::vector<int>& input_dilation, int groups, bool flip) {
  if (in.ndim() < 3 || in.ndim() > 2 + kDims)
    throw ValueError(msg("[conv] The CPU backend supports 1 to ", kDims, " spatial dimensions."));
  const Dtype dt = out.dtype();
  if (!is_floating(dt))
    throw ValueError(msg("[conv] Convolution currently only supports floating point types, got ",
                         dtype_name(dt), "."));
  // 16-bit types run in float32 (their partial sums must not be rounded).
  const Dtype work = dt == float64 ? float64 : float32;
  const array x = as_dtype(in, work), c = as_dtype(cot, work);
  array acc(std::make_shared<ArrayDesc>(out.shape(), work));
  alloc_row_major(acc);
  if (acc.size() > 0) {
    const Geom g = make_geom(x, acc, c, stride, pad_lo, kernel_dilation, input_dilation, groups,
                             flip);
    if (work == float64) {
      std::fill(acc.data<double>(), acc.data<double>() + acc.size(), 0.0);
      if (x.size() > 0 && c.size() > 0) run_wgrad<double, double>(x, c, acc.data<double>(), g);
    } else {
      std::fill(acc.data<float>(), acc.data<float>() + acc.size(), 0.0f);
      if (x.size() > 0 && c.size() > 0) run_wgrad<float, float>(x, c, acc.data<float>(), g);
    }
  }
  if (dt == work) {
    out.copy_shared_buffer(acc);
  } else {
    copy(acc, out);
  }
}

}  // namespace oxmlx::cpu
