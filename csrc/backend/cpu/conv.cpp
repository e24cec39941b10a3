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
#include <cstring>

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

// Cg == 1: out[m, o] = sum_k w[o, k] * in[tap(m, k), o / Og].
template <typename T>
void conv_direct(const Geom& g, const T* in, const T* w, T* out) {
  using Acc = std::conditional_t<std::is_same_v<T, double>, double, float>;
  const int64_t O = g.O, Og = g.Og, K = g.ksize, M = g.N * g.osize;
  std::vector<Acc> wt(size_t(K * O));  // wt[k*O + o] = w[o, k]
  for (int64_t o = 0; o < O; ++o)
    for (int64_t k = 0; k < K; ++k) wt[size_t(k * O + o)] = Acc(w[o * K + k]);
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
