// Quantization family (CPU): MLX's affine format.
//
// A row of K values is cut into groups of `group_size`; each group has a
// scale s and bias b (w ~ s*q + b) and its q in [0, 2^bits) are written
// LSB-first into one bitstream per row of uint32 words (so 3/5/6-bit values
// may straddle words). Group sizes are multiples of 32, so every group (and
// every 32-aligned column block) starts on a word boundary.
//
// quantized_matmul never dequantizes the whole matrix: small M (decode)
// unpacks one group at a time and takes dot products against x (with the
// bias term through per-group sums of x); larger M dequantizes blocks of
// 64 rows/columns of W into a thread-local tile and runs the packed GEMM
// on it, tasks spread over the thread pool.
#include <cmath>
#include <cstring>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/gemm.h"
#include "backend/cpu/quantized_mx.h"
#include "backend/cpu/threadpool.h"

namespace oxmlx::cpu {

namespace {

template <typename T>
using Acc = std::conditional_t<std::is_same_v<T, double>, double, float>;

array contiguous_copy(const array& x) {
  if (x.flags().row_contiguous) return x;
  array t(std::make_shared<ArrayDesc>(x.shape(), x.dtype()));
  CpuBackend().copy(x, t);
  return t;
}

// Reads n values of `bits` bits starting at a word boundary.
template <typename F>
inline void unpack(const uint32_t* p, int64_t n, int bits, F&& emit) {
  const uint32_t mask = (1u << bits) - 1u;
  if (32 % bits == 0) {
    const int per = 32 / bits;
    for (int64_t i = 0; i < n; i += per, ++p) {
      uint32_t v = *p;
      const int64_t m = std::min<int64_t>(per, n - i);
      for (int64_t j = 0; j < m; ++j, v >>= bits) emit(i + j, v & mask);
    }
    return;
  }
  uint64_t acc = 0;
  int have = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (have < bits) {
      acc |= uint64_t(*p++) << have;
      have += 32;
    }
    emit(i, uint32_t(acc) & mask);
    acc >>= bits;
    have -= bits;
  }
}

// Dequantized value in T's arithmetic (16-bit types round after each op, as
// MLX's kernels computing in that type do).
template <typename T>
inline T deq(uint32_t q, T s, T b) {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
    return s * T(q) + b;
  } else {
    return T(float(T(float(s) * float(q))) + float(b));
  }
}

// ------------------------------------------------------------ quantize

template <typename T>
void quantize_affine(const array& w_in, std::vector<array>& outs, int gs, int bits) {
  using C = std::conditional_t<std::is_same_v<T, double>, double, float>;
  const array w = contiguous_copy(w_in);
  array &wq = outs[0], &sc = outs[1], &bi = outs[2];
  alloc_row_major(wq);
  alloc_row_major(sc);
  alloc_row_major(bi);
  const int64_t K = w.shape(-1), rows = K ? w.size() / K : 0, G = K / gs;
  const int64_t words = K * bits / 32;
  const T* src = w.data<T>();
  uint32_t* dst = wq.data<uint32_t>();
  T* sp = sc.data<T>();
  T* bp = bi.data<T>();
  const float n_bins = float((1 << bits) - 1), eps = 1e-7f;
  parallel_for(rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(K, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* x = src + r * K;
      uint32_t* out = dst + r * words;
      std::memset(out, 0, size_t(words) * sizeof(uint32_t));
      int64_t bitpos = 0;
      for (int64_t g = 0; g < G; ++g) {
        const T* xg = x + g * gs;
        float wmax = float(xg[0]), wmin = float(xg[0]);
        for (int i = 1; i < gs; ++i) {
          wmax = std::max(wmax, float(xg[i]));
          wmin = std::min(wmin, float(xg[i]));
        }
        float scale, bias;
        if (bits == 1) {
          scale = std::max(wmax - wmin, eps);
          bias = wmin;
        } else {
          const bool mask = std::abs(wmin) > std::abs(wmax);
          scale = std::max((wmax - wmin) / n_bins, eps);
          scale = mask ? scale : -scale;
          const float edge = mask ? wmin : wmax;
          const float q0 = std::nearbyint(edge / scale);
          if (q0 != 0.0f) scale = edge / q0;
          bias = q0 == 0.0f ? 0.0f : edge;
        }
        sp[r * G + g] = T(scale);
        bp[r * G + g] = T(bias);
        const C cs = C(scale), cb = C(bias);
        for (int i = 0; i < gs; ++i, bitpos += bits) {
          C xv;
          if constexpr (std::is_same_v<T, double>) xv = xg[i];
          else xv = float(xg[i]);
          C q = std::nearbyint((xv - cb) / cs);
          q = std::min<C>(std::max<C>(q, C(0)), C(n_bins));
          const uint64_t v = uint64_t(q);
          const int64_t wi = bitpos >> 5;
          const int sh = int(bitpos & 31);
          out[wi] |= uint32_t(v << sh);
          if (sh + bits > 32) out[wi + 1] |= uint32_t(v >> (32 - sh));
        }
      }
    }
  });
}

// ------------------------------------------------------------ dequantize

template <typename T>
void dequantize_affine(const std::vector<array>& ins, array& out, int gs, int bits) {
  const array wq = contiguous_copy(ins[0]), sc = contiguous_copy(ins[1]),
              bi = contiguous_copy(ins[2]);
  alloc_row_major(out);
  const int64_t K = out.shape(-1), rows = K ? out.size() / K : 0, G = K / gs;
  const int64_t words = K * bits / 32;
  const uint32_t* q = wq.data<uint32_t>();
  const T* sp = sc.data<T>();
  const T* bp = bi.data<T>();
  T* o = out.data<T>();
  parallel_for(rows, std::max<int64_t>(1, 8192 / std::max<int64_t>(K, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t g = 0; g < G; ++g) {
        const T s = sp[r * G + g], b = bp[r * G + g];
        T* dst = o + r * K + g * gs;
        unpack(q + r * words + g * gs * bits / 32, gs, bits,
               [&](int64_t i, uint32_t v) { dst[i] = deq(v, s, b); });
      }
  });
}

// ------------------------------------------------------------ matmul

struct QGeom {
  int64_t M, K, N;      // out (M, N) = x (M, K) @ op(W)
  int64_t rows, words;  // W is stored as (rows, words) uint32 per matrix
  int64_t groups;       // groups per stored row
  int gs, bits;
  bool transpose;
};

// Dequantizes stored rows [r0, r1) and columns [c0, c1) (c0 32-aligned) of
// matrix wq/sc/bi into tile (row stride c1 - c0).
template <typename T>
void deq_tile(const QGeom& g, const uint32_t* wq, const T* sc, const T* bi, int64_t r0,
              int64_t r1, int64_t c0, int64_t c1, T* tile) {
  const int64_t w = c1 - c0;
  for (int64_t r = r0; r < r1; ++r) {
    T* dst = tile + (r - r0) * w;
    for (int64_t c = c0; c < c1;) {
      const int64_t grp = c / g.gs, end = std::min(c1, (grp + 1) * g.gs);
      const T s = sc[r * g.groups + grp], b = bi[r * g.groups + grp];
      unpack(wq + r * g.words + c * g.bits / 32, end - c, g.bits,
             [&](int64_t i, uint32_t v) { dst[c - c0 + i] = deq(v, s, b); });
      c = end;
    }
  }
}

// Power-of-two widths unpack a group "permuted": buf[l*gw + j] is element
// per*j + l (bit field l of word j), so each pass is one constant shift
// over consecutive words and vectorizes; x is permuted the same way once.
template <int BITS, typename A>
void unpack_perm(const uint32_t* w, int64_t gw, A* buf) {
  constexpr int per = 32 / BITS;
  constexpr uint32_t mask = (1u << BITS) - 1u;
  for (int l = 0; l < per; ++l) {
    A* b = buf + l * gw;
    for (int64_t j = 0; j < gw; ++j) b[j] = A((w[j] >> (BITS * l)) & mask);
  }
}

template <typename A>
using UnpackFn = void (*)(const uint32_t*, int64_t, A*);

template <typename A>
UnpackFn<A> perm_unpacker(int bits) {
  switch (bits) {
    case 1: return &unpack_perm<1, A>;
    case 2: return &unpack_perm<2, A>;
    case 4: return &unpack_perm<4, A>;
    case 8: return &unpack_perm<8, A>;
    default: return nullptr;
  }
}

// n is a multiple of 16 (group sizes are multiples of 32).
template <typename A>
inline A dot16(const A* __restrict a, const A* __restrict b, int64_t n) {
  A d[16] = {};
  for (int64_t i = 0; i < n; i += 16)
    for (int l = 0; l < 16; ++l) d[l] += a[i + l] * b[i + l];
  for (int l = 0; l < 8; ++l) d[l] += d[l + 8];
  return ((d[0] + d[4]) + (d[1] + d[5])) + ((d[2] + d[6]) + (d[3] + d[7]));
}

// The transposed small-M kernel with the group geometry known at compile
// time (power-of-two widths; x permuted as for unpack_perm), M <= 8.
template <int BITS, int GS, typename T, typename A>
void qmv_t_fixed(const QGeom& g, const A* xf, const A* xsum, const uint32_t* wq, const T* sc,
                 const T* bi, int64_t n0, int64_t n1, T* out) {
  constexpr int per = 32 / BITS, GW = GS / per;
  constexpr uint32_t mask = (1u << BITS) - 1u;
  alignas(64) A buf[GS];
  // Per-row 16-lane partial sums carried across groups (each group's dot is
  // scaled lane-wise), reduced once per output.
  alignas(64) A accv[8][16];
  A bacc[8];
  for (int64_t n = n0; n < n1; ++n) {
    for (int m = 0; m < 8; ++m) {
      bacc[m] = A(0);
      for (int l = 0; l < 16; ++l) accv[m][l] = A(0);
    }
    const uint32_t* wn = wq + n * g.words;
    for (int64_t grp = 0; grp < g.groups; ++grp) {
      const uint32_t* wg = wn + grp * GW;
      for (int l = 0; l < per; ++l)
        for (int j = 0; j < GW; ++j) buf[l * GW + j] = A((wg[j] >> (BITS * l)) & mask);
      const A s = A(sc[n * g.groups + grp]), b = A(bi[n * g.groups + grp]);
      for (int64_t m = 0; m < g.M; ++m) {
        const A* xm = xf + m * g.K + grp * GS;
        A d[16] = {};
        for (int i = 0; i < GS; i += 16)
          for (int l = 0; l < 16; ++l) d[l] += xm[i + l] * buf[i + l];
        for (int l = 0; l < 16; ++l) accv[m][l] += s * d[l];
        bacc[m] += b * xsum[m * g.groups + grp];
      }
    }
    for (int64_t m = 0; m < g.M; ++m) {
      A t = bacc[m];
      for (int l = 0; l < 16; ++l) t += accv[m][l];
      out[m * g.N + n] = T(t);
    }
  }
}

template <typename T, typename A>
using QmvFn = void (*)(const QGeom&, const A*, const A*, const uint32_t*, const T*, const T*,
                       int64_t, int64_t, T*);

template <typename T, typename A, int BITS>
QmvFn<T, A> qmv_t_for_gs(int gs) {
  switch (gs) {
    case 32: return &qmv_t_fixed<BITS, 32, T, A>;
    case 64: return &qmv_t_fixed<BITS, 64, T, A>;
    case 128: return &qmv_t_fixed<BITS, 128, T, A>;
    default: return nullptr;
  }
}

template <typename T, typename A>
QmvFn<T, A> qmv_t_fixed_for(int bits, int gs) {
  switch (bits) {
    case 1: return qmv_t_for_gs<T, A, 1>(gs);
    case 2: return qmv_t_for_gs<T, A, 2>(gs);
    case 4: return qmv_t_for_gs<T, A, 4>(gs);
    case 8: return qmv_t_for_gs<T, A, 8>(gs);
    default: return nullptr;
  }
}

// Small M: out (M, N) block of output columns [n0, n1).
template <typename T>
void qmv(const QGeom& g, const Acc<T>* xf, const Acc<T>* xsum, const uint32_t* wq, const T* sc,
         const T* bi, int64_t n0, int64_t n1, T* out) {
  using A = Acc<T>;
  std::vector<A> buf(size_t(std::max<int64_t>(g.gs, n1 - n0)));
  if (g.transpose) {
    // W stored (N, K): out[m, n] = sum_g s * (x_g . q_g) + b * sum(x_g).
    std::vector<A> acc(size_t(g.M));
    const UnpackFn<A> up = perm_unpacker<A>(g.bits);
    const int64_t gw = int64_t(g.gs) * g.bits / 32;
    for (int64_t n = n0; n < n1; ++n) {
      std::fill(acc.begin(), acc.end(), A(0));
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        const uint32_t* wg = wq + n * g.words + grp * gw;
        if (up) up(wg, gw, buf.data());
        else unpack(wg, g.gs, g.bits, [&](int64_t i, uint32_t v) { buf[size_t(i)] = A(v); });
        const A s = A(sc[n * g.groups + grp]), b = A(bi[n * g.groups + grp]);
        for (int64_t m = 0; m < g.M; ++m) {
          const A dot = dot16(xf + m * g.K + grp * g.gs, buf.data(), g.gs);
          acc[size_t(m)] += s * dot + b * xsum[m * g.groups + grp];
        }
      }
      for (int64_t m = 0; m < g.M; ++m) out[m * g.N + n] = T(acc[size_t(m)]);
    }
  } else {
    // W stored (K, N): out[m, n0:n1] += x[m, k] * deq(W[k, n0:n1]).
    const int64_t w = n1 - n0;
    std::vector<A> acc(size_t(g.M * w), A(0));
    for (int64_t k = 0; k < g.K; ++k) {
      for (int64_t c = n0; c < n1;) {
        const int64_t grp = c / g.gs, end = std::min(n1, (grp + 1) * g.gs);
        const A s = A(sc[k * g.groups + grp]), b = A(bi[k * g.groups + grp]);
        unpack(wq + k * g.words + c * g.bits / 32, end - c, g.bits,
               [&](int64_t i, uint32_t v) { buf[size_t(c - n0 + i)] = s * A(v) + b; });
        c = end;
      }
      for (int64_t m = 0; m < g.M; ++m) {
        const A xv = xf[m * g.K + k];
        A* am = acc.data() + m * w;
        for (int64_t j = 0; j < w; ++j) am[j] += xv * buf[size_t(j)];
      }
    }
    for (int64_t m = 0; m < g.M; ++m)
      for (int64_t j = 0; j < w; ++j) out[m * g.N + n0 + j] = T(acc[size_t(m * w + j)]);
  }
}

template <typename T>
void qmm_one(const QGeom& g, const T* x, const uint32_t* wq, const T* sc, const T* bi, T* out) {
  using A = Acc<T>;
  const int threads = num_threads();
  if (g.M <= 8) {
    std::vector<A> xf(size_t(g.M * g.K)), xs(size_t(g.M * (g.transpose ? g.groups : 1)));
    if (g.transpose && perm_unpacker<A>(g.bits)) {
      // Same permutation as unpack_perm within every group.
      const int64_t per = 32 / g.bits, gw = g.gs / per;
      for (int64_t m = 0; m < g.M; ++m)
        for (int64_t grp = 0; grp < g.groups; ++grp) {
          const T* src = x + m * g.K + grp * g.gs;
          A* dst = xf.data() + m * g.K + grp * g.gs;
          for (int64_t l = 0; l < per; ++l)
            for (int64_t j = 0; j < gw; ++j) dst[l * gw + j] = A(src[per * j + l]);
        }
    } else {
      for (int64_t i = 0; i < g.M * g.K; ++i) xf[size_t(i)] = A(x[i]);
    }
    if (g.transpose)
      for (int64_t m = 0; m < g.M; ++m)
        for (int64_t grp = 0; grp < g.groups; ++grp) {
          A s = 0;
          for (int i = 0; i < g.gs; ++i) s += xf[size_t(m * g.K + grp * g.gs + i)];
          xs[size_t(m * g.groups + grp)] = s;
        }
    // Column blocks (multiples of 32 so the columns stay word aligned).
    const int64_t unit = g.transpose ? 1 : 32;
    const int64_t units = (g.N + unit - 1) / unit;
    const int64_t grain = std::max<int64_t>(1, 65536 / std::max<int64_t>(1, g.K * unit));
    const QmvFn<T, A> fixed = g.transpose ? qmv_t_fixed_for<T, A>(g.bits, g.gs) : nullptr;
    parallel_for(units, grain, [&](int64_t u0, int64_t u1) {
      if (fixed) fixed(g, xf.data(), xs.data(), wq, sc, bi, u0 * unit, std::min(g.N, u1 * unit), out);
      else qmv(g, xf.data(), xs.data(), wq, sc, bi, u0 * unit, std::min(g.N, u1 * unit), out);
    });
    return;
  }
  // Tiles of NB output columns (dequantized once per task) x MB rows of x.
  constexpr int64_t NB = 64, MB = 512;
  const int64_t nblk = (g.N + NB - 1) / NB, mblk = (g.M + MB - 1) / MB;
  auto task = [&](int64_t t, T* tile) {
    const int64_t nb = t % nblk, mb = t / nblk;
    const int64_t n0 = nb * NB, n1 = std::min(g.N, n0 + NB);
    const int64_t m0 = mb * MB, m1 = std::min(g.M, m0 + MB);
    if (g.transpose) {
      deq_tile(g, wq, sc, bi, n0, n1, 0, g.K, tile);  // (n1-n0, K)
      gemm<T>(false, true, m1 - m0, n1 - n0, g.K, 1.0f, x + m0 * g.K, g.K, tile, g.K, 0.0f,
              out + m0 * g.N + n0, g.N);
    } else {
      deq_tile(g, wq, sc, bi, 0, g.K, n0, n1, tile);  // (K, n1-n0)
      gemm<T>(false, false, m1 - m0, n1 - n0, g.K, 1.0f, x + m0 * g.K, g.K, tile, n1 - n0, 0.0f,
              out + m0 * g.N + n0, g.N);
    }
  };
  const int64_t tasks = nblk * mblk;
  if (threads > 1 && tasks >= threads) {
    parallel_for(tasks, 1, [&](int64_t t0, int64_t t1) {
      thread_local std::vector<T> buf;
      if (buf.size() < size_t(NB * g.K)) buf.resize(size_t(NB * g.K));
      for (int64_t t = t0; t < t1; ++t) task(t, buf.data());
    });
  } else {
    std::vector<T> buf(size_t(NB * g.K));
    for (int64_t t = 0; t < tasks; ++t) task(t, buf.data());
  }
}

void check_index(uint32_t i, int64_t n, const char* op) {
  if (int64_t(i) >= n)
    throw IndexError(msg("[", op, "] Matrix index ", i, " is out of bounds for ", n,
                         " matrices."));
}

template <typename T>
void run_qmm(const std::vector<array>& ins, array& out, bool transpose, int gs, int bits) {
  const array x = contiguous_copy(ins[0]), wq = contiguous_copy(ins[1]),
              sc = contiguous_copy(ins[2]), bi = contiguous_copy(ins[3]),
              lhs = contiguous_copy(ins[4]), rhs = contiguous_copy(ins[5]);
  alloc_row_major(out);
  if (out.size() == 0) return;
  QGeom g;
  g.M = x.shape(-2);
  g.K = x.shape(-1);
  g.rows = wq.shape(-2);
  g.words = wq.shape(-1);
  g.groups = sc.shape(-1);
  g.N = out.shape(-1);
  g.gs = gs;
  g.bits = bits;
  g.transpose = transpose;
  const int64_t bx = x.size() / std::max<int64_t>(1, g.M * g.K);
  const int64_t bw = wq.size() / std::max<int64_t>(1, g.rows * g.words);
  const int64_t B = lhs.size();
  const uint32_t* li = lhs.data<uint32_t>();
  const uint32_t* ri = rhs.data<uint32_t>();
  for (int64_t b = 0; b < B; ++b) {
    check_index(li[b], bx, "quantized_matmul");
    check_index(ri[b], bw, "quantized_matmul");
  }
  for (int64_t b = 0; b < B; ++b) {
    const int64_t wi = ri[b];
    qmm_one<T>(g, x.data<T>() + li[b] * g.M * g.K, wq.data<uint32_t>() + wi * g.rows * g.words,
               sc.data<T>() + wi * g.rows * g.groups, bi.data<T>() + wi * g.rows * g.groups,
               out.data<T>() + b * g.M * g.N);
  }
}

template <typename F>
void float_dispatch(Dtype d, const char* op, F&& f) {
  switch (d.val) {
    case Dtype::Val::float32: return f(float{});
    case Dtype::Val::float64: return f(double{});
    case Dtype::Val::float16: return f(float16_t{});
    case Dtype::Val::bfloat16: return f(bfloat16_t{});
    default:
      throw ValueError(msg("[", op, "] Only real floating types are supported, got ",
                           dtype_name(d), "."));
  }
}

void affine_only(QuantMode mode, const char* op) {
  if (mode != QuantMode::Affine)
    throw ValueError(msg("[", op, "] Only affine quantization is implemented on the CPU."));
}

}  // namespace

void CpuBackend::quantize(const array& w, std::vector<array>& outputs, int group_size, int bits,
                          QuantMode mode) {
  if (mode == QuantMode::Mxfp4 || mode == QuantMode::Mxfp8)
    return quantize_microscaled(contiguous_copy(w), outputs, bits);
  affine_only(mode, "quantize");
  float_dispatch(w.dtype(), "quantize", [&](auto t) {
    quantize_affine<decltype(t)>(w, outputs, group_size, bits);
  });
}

void CpuBackend::dequantize(const std::vector<array>& inputs, array& out, int group_size,
                            int bits, QuantMode mode) {
  if (mode == QuantMode::Mxfp4 || mode == QuantMode::Mxfp8)
    return dequantize_microscaled(contiguous_copy(inputs[0]), contiguous_copy(inputs[1]), out,
                                  bits);
  affine_only(mode, "dequantize");
  float_dispatch(out.dtype(), "dequantize", [&](auto t) {
    dequantize_affine<decltype(t)>(inputs, out, group_size, bits);
  });
}

void CpuBackend::quantized_matmul(const std::vector<array>& inputs, array& out, bool transpose,
                                  int group_size, int bits, QuantMode mode) {
  affine_only(mode, "quantized_matmul");
  float_dispatch(out.dtype(), "quantized_matmul", [&](auto t) {
    run_qmm<decltype(t)>(inputs, out, transpose, group_size, bits);
  });
}

// ------------------------------------------------------------ gather_mm, segmented_mm

void CpuBackend::gather_mm(const array& a_in, const array& b_in, const array& lhs_in,
                           const array& rhs_in, array& out) {
  float_dispatch(out.dtype(), "gather_mm", [&](auto t) {
    using T = decltype(t);
    const array a = contiguous_copy(a_in), b = contiguous_copy(b_in),
                lhs = contiguous_copy(lhs_in), rhs = contiguous_copy(rhs_in);
    alloc_row_major(out);
    if (out.size() == 0) return;
    const int64_t M = a.shape(-2), K = a.shape(-1), N = b.shape(-1);
    const int64_t ba = a.size() / std::max<int64_t>(1, M * K);
    const int64_t bb = b.size() / std::max<int64_t>(1, K * N);
    const int64_t B = lhs.size();
    std::vector<int64_t> ao(static_cast<size_t>(B)), bo(ao), co(ao);
    for (int64_t i = 0; i < B; ++i) {
      const uint32_t l = lhs.data<uint32_t>()[i], r = rhs.data<uint32_t>()[i];
      check_index(l, ba, "gather_mm");
      check_index(r, bb, "gather_mm");
      ao[size_t(i)] = int64_t(l) * M * K;
      bo[size_t(i)] = int64_t(r) * K * N;
      co[size_t(i)] = i * M * N;
    }
    gemm_batched<T>(false, false, B, M, N, K, 1.0f, a.data<T>(), K, ao.data(), b.data<T>(), N,
                    bo.data(), 0.0f, out.data<T>(), N, co.data());
  });
}

void CpuBackend::segmented_mm(const array& a_in, const array& b_in, const array& seg_in,
                              array& out) {
  float_dispatch(out.dtype(), "segmented_mm", [&](auto t) {
    using T = decltype(t);
    const array a = contiguous_copy(a_in), b = contiguous_copy(b_in);
    array seg = seg_in;
    if (seg.dtype() != int64) {
      seg = array(std::make_shared<ArrayDesc>(seg_in.shape(), int64));
      CpuBackend().copy(seg_in, seg);
    } else {
      seg = contiguous_copy(seg_in);
    }
    alloc_row_major(out);
    const int64_t M = a.shape(0), K = a.shape(1), N = b.shape(1);
    const int64_t S = seg.size() / 2;
    const int64_t* sp = seg.data<int64_t>();
    for (int64_t s = 0; s < S; ++s) {
      const int64_t k0 = sp[2 * s], k1 = sp[2 * s + 1];
      if (k0 < 0 || k1 > K || k0 > K || k1 < 0)
        throw IndexError(msg("[segmented_mm] Segment (", k0, ", ", k1,
                             ") is out of bounds for an inner dimension of ", K, "."));
    }
    if (out.size() == 0) return;
    auto one = [&](int64_t s) {
      const int64_t k0 = sp[2 * s], k1 = std::max(sp[2 * s], sp[2 * s + 1]);
      gemm<T>(false, false, M, N, k1 - k0, 1.0f, a.data<T>() + k0, K, b.data<T>() + k0 * N, N,
              0.0f, out.data<T>() + s * M * N, N);
    };
    if (S >= num_threads()) {
      parallel_for(S, 1, [&](int64_t s0, int64_t s1) {
        for (int64_t s = s0; s < s1; ++s) one(s);
      });
    } else {
      for (int64_t s = 0; s < S; ++s) one(s);
    }
  });
}

}  // namespace oxmlx::cpu
