// The CUDA backend's fused row kernels (Backend::fast): softmax, logsumexp,
// rms_norm and layer_norm over the last axis, rope, and a flash-style
// scaled dot-product attention. Numerics follow the CPU kernels
// (backend/cpu/fast_kernels.inc, fast_rope.cpp, fast_sdpa.cpp): 16-bit
// inputs accumulate in float, float64 in double, and the per-op roundings
// of 16-bit results are reproduced.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdlib>

#include <cuda/std/limits>
#include <cuda/std/type_traits>

#include "backend/cuda/nn_kernels.h"

namespace oxmlx::cu {

namespace {

namespace cs = cuda::std;
using half_t = __half;
using bf16_t = __nv_bfloat16;

enum Dt : int { F16 = 9, F32 = 10, F64 = 11, BF16 = 12 };

template <typename T>
using acc_of = cs::conditional_t<cs::is_same_v<T, double>, double, float>;

template <typename A, typename T>
__device__ __forceinline__ A to_a(T x) {
  if constexpr (cs::is_same_v<T, half_t>) return A(__half2float(x));
  else if constexpr (cs::is_same_v<T, bf16_t>) return A(__bfloat162float(x));
  else return A(x);
}
// NaN keeps its sign (quiet), as the CPU's float -> bfloat16 (core/half.h).
__device__ __forceinline__ bf16_t f2bf(float f) {
  const unsigned u = __float_as_uint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return __ushort_as_bfloat16((unsigned short)((u >> 16) | 0x40));
  return __float2bfloat16_rn(f);
}
template <typename T, typename A>
__device__ __forceinline__ T from_a(A x) {
  if constexpr (cs::is_same_v<T, half_t>) return __float2half_rn(float(x));
  else if constexpr (cs::is_same_v<T, bf16_t>) return f2bf(float(x));
  else return T(x);
}
// x rounded through storage type T (the identity for float / double). The
// plain conversion: every rounded value feeds more arithmetic, which turns a
// NaN into the GPU's canonical NaN anyway, so from_a's NaN-sign care (a few
// integer instructions per element, which made the 16-bit norms
// instruction-bound) would change nothing here.
template <typename T, typename A>
__device__ __forceinline__ A rnd(A x) {
  if constexpr (cs::is_same_v<T, A>) return x;
  else if constexpr (cs::is_same_v<T, bf16_t>) return A(__bfloat162float(__float2bfloat16_rn(float(x))));
  else return to_a<A>(from_a<T>(x));
}

template <typename T, int V>
struct alignas(sizeof(T) * V) Pack {
  T v[V];
};

template <typename T, int V, typename A>
__device__ __forceinline__ void load_v(const T* p, A* out) {
  if constexpr (V == 1) {
    out[0] = to_a<A>(p[0]);
  } else {
    Pack<T, V> pk = *reinterpret_cast<const Pack<T, V>*>(p);
#pragma unroll
    for (int e = 0; e < V; ++e) out[e] = to_a<A>(pk.v[e]);
  }
}
template <typename T, int V, typename A>
__device__ __forceinline__ void store_v(T* p, const A* in) {
  if constexpr (V == 1) {
    p[0] = from_a<T>(in[0]);
  } else {
    Pack<T, V> pk;
#pragma unroll
    for (int e = 0; e < V; ++e) pk.v[e] = from_a<T>(in[e]);
    *reinterpret_cast<Pack<T, V>*>(p) = pk;
  }
}

template <typename A>
__device__ __forceinline__ A nan_max(A a, A b) { return (a != a || a > b) ? a : b; }

struct MaxF {
  template <typename A>
  __device__ A operator()(A a, A b) const { return nan_max(a, b); }
};
struct SumF {
  template <typename A>
  __device__ A operator()(A a, A b) const { return a + b; }
};

template <typename A, typename F>
__device__ __forceinline__ A warp_reduce(A x, F f) {
#pragma unroll
  for (int m = 16; m > 0; m >>= 1) x = f(x, __shfl_xor_sync(0xffffffffu, x, m));
  return x;
}

// Reduction over a group of G threads (G a multiple of 32 dividing the
// block); every thread of the block must call it.
template <typename A, typename F>
__device__ __forceinline__ A group_reduce(A x, F f, int G, A* smem) {
  x = warp_reduce(x, f);
  if (G <= 32) return x;
  const int w = threadIdx.x / 32, wpg = G / 32, g0 = (w / wpg) * wpg;
  __syncthreads();
  if (threadIdx.x % 32 == 0) smem[w] = x;
  __syncthreads();
  A r = smem[g0];
  for (int i = 1; i < wpg; ++i) r = f(r, smem[g0 + i]);
  return r;
}

// ---------------------------------------------------------------- rows

// One group of G threads per row; R > 0: the row is held in registers, R
// vectors of V elements per thread (one read of x); R == 0: rows too long
// for that are streamed from memory once per pass.
// BATCH (the norms of 32- and 64-bit floats): held rows compute every output
// first and store afterwards, so that the weights' loads of the store phase
// are all in flight together rather than one round trip between two stores;
// such rows run in blocks of at most kHeldThreads threads, so that a thread
// may use 128 registers without spilling. Otherwise (softmax, logsumexp,
// 16-bit norms, where that measured slower on an H200) each vector is
// stored as it is computed, in blocks of up to 1024 threads.
constexpr int kHeldThreads = 512;

template <typename T, int V, int R, bool BATCH>
__global__ void __launch_bounds__(BATCH && R > 0 ? kHeldThreads : 1024)
    row_kernel(RowOp op, RowArgs a, int G) {
  using A = acc_of<T>;
  __shared__ A smem[32];
  const int lane = threadIdx.x % G;
  const int64_t row = int64_t(blockIdx.x) * (blockDim.x / G) + threadIdx.x / G;
  const bool active = row < a.rows;
  const int64_t n = a.n;
  const T* x = static_cast<const T*>(a.x) + (active ? row * n : 0);
  constexpr int RR = R > 0 ? R : 1;
  A v[RR][V];
  const A ninf = -cs::numeric_limits<A>::infinity();
  // Calls f(value, element index) for every element of the row this thread holds.
  auto visit = [&](auto&& f) {
    if constexpr (R > 0) {
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const int64_t i0 = (int64_t(lane) + int64_t(r) * G) * V;
#pragma unroll
        for (int e = 0; e < V; ++e)
          if (active && i0 + e < n) f(v[r][e], i0 + e);
      }
    } else {
      if (!active) return;
      for (int64_t i0 = int64_t(lane) * V; i0 < n; i0 += int64_t(G) * V) {
        A t[V];
        load_v<T, V>(x + i0, t);
#pragma unroll
        for (int e = 0; e < V; ++e) f(t[e], i0 + e);
      }
    }
  };
  if constexpr (R > 0) {
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const int64_t i0 = (int64_t(lane) + int64_t(r) * G) * V;
      if (active && i0 < n) load_v<T, V>(x + i0, v[r]);
      else
#pragma unroll
        for (int e = 0; e < V; ++e) v[r][e] = A(0);
    }
  }
  // Writes the row vector by vector: g(x values, first index, outputs).
  T* __restrict__ y = static_cast<T*>(a.y) + (active ? row * n : 0);
  auto write = [&](auto&& g) {
    if (!active) return;
    if constexpr (R > 0 && BATCH) {
      Pack<T, V> outp[R];
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const int64_t i0 = (int64_t(lane) + int64_t(r) * G) * V;
        if (i0 < n) {
          A o[V];
          g(v[r], i0, o);
#pragma unroll
          for (int e = 0; e < V; ++e) outp[r].v[e] = from_a<T>(o[e]);
        }
      }
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const int64_t i0 = (int64_t(lane) + int64_t(r) * G) * V;
        if (i0 < n) *reinterpret_cast<Pack<T, V>*>(y + i0) = outp[r];
      }
    } else if constexpr (R > 0) {
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const int64_t i0 = (int64_t(lane) + int64_t(r) * G) * V;
        if (i0 < n) {
          A o[V];
          g(v[r], i0, o);
          store_v<T, V>(y + i0, o);
        }
      }
    } else {
      for (int64_t i0 = int64_t(lane) * V; i0 < n; i0 += int64_t(G) * V) {
        A t[V], o[V];
        load_v<T, V>(x + i0, t);
        g(t, i0, o);
        store_v<T, V>(y + i0, o);
      }
    }
  };
  if (op == RowOp::Softmax || op == RowOp::LogSumExp) {
    A m = ninf;
    visit([&](A xv, int64_t) { m = nan_max(m, xv); });
    m = group_reduce(m, MaxF{}, G, smem);
    if (op == RowOp::LogSumExp && (m == -ninf || m == ninf)) {
      if (active && lane == 0) static_cast<T*>(a.y)[row] = from_a<T>(m);
      return;  // uniform across the group (m is the group's)
    }
    A s = A(0);
    visit([&](A xv, int64_t) { s += exp(xv - m); });
    s = group_reduce(s, SumF{}, G, smem);
    if (op == RowOp::LogSumExp) {
      if (active && lane == 0) static_cast<T*>(a.y)[row] = from_a<T>(n == 0 ? ninf : m + log(s));
      return;
    }
    const A inv = A(1) / s;
    write([&](const A* xs, int64_t, A* o) {
#pragma unroll
      for (int e = 0; e < V; ++e) o[e] = exp(xs[e] - m) * inv;
    });
    return;
  }
  const T* __restrict__ w = static_cast<const T*>(a.w);
  const T* __restrict__ b = static_cast<const T*>(a.b);
  const A inv_n = A(1) / A(n);
  A mu = A(0);
  if (op == RowOp::LayerNorm) {
    A s = A(0);
    visit([&](A xv, int64_t) { s += xv; });
    mu = group_reduce(s, SumF{}, G, smem) * inv_n;
  }
  A ss = A(0);
  visit([&](A xv, int64_t) { ss += (xv - mu) * (xv - mu); });
  ss = group_reduce(ss, SumF{}, G, smem);
  const A r = A(1) / sqrt(ss * inv_n + A(a.eps));
  write([&](const A* xs, int64_t i0, A* o) {
    A wv[V], bv[V];
    if (w) load_v<T, V>(w + i0, wv);  // aligned like x (the host checks)
    if (b) load_v<T, V>(b + i0, bv);
#pragma unroll
    for (int e = 0; e < V; ++e) {
      A t = (xs[e] - mu) * r;
      if (w) t = rnd<T>(t) * wv[e];
      if (b) t = rnd<T>(t) + bv[e];
      o[e] = t;
    }
  });
}

// Registers a thread may spend on the row: R vectors of V accumulators.
template <typename T, int V>
constexpr int max_r() {
  constexpr int r = int(128 / (V * sizeof(acc_of<T>)));
  return r > 16 ? 16 : r;
}

template <typename T, int V, int R, bool BATCH>
void launch_rows(RowOp op, const RowArgs& a, int G, unsigned grid, int block, cudaStream_t s) {
  if constexpr (R <= max_r<T, V>()) row_kernel<T, V, R, BATCH><<<grid, block, 0, s>>>(op, a, G);
}

template <typename T, int V, bool BATCH>
bool rows_v(RowOp op, const RowArgs& a, cudaStream_t s) {
  int MR = max_r<T, V>();
  // Tuning hook (scripts/bench_cuda.py --sweep): fewer vectors held per thread.
  if (const char* e = std::getenv("OXMLX_CUDA_ROW_MAXR")) {
    const int c = std::atoi(e);
    if (c >= 1 && c < MR) MR = c;
  }

  const int64_t nv = (a.n + V - 1) / V;
  int G, R;
  if (nv <= 32 * MR) {
    G = 32;
    R = int((nv + 31) / 32);
  } else {
    int64_t g = (nv + MR - 1) / MR;
    g = ((g + 31) / 32) * 32;
    if (g > (BATCH ? kHeldThreads : 1024)) {
      G = 1024, R = 0;  // streamed from memory
    } else {
      G = int(g);
      R = int((nv + G - 1) / G);
    }
  }
  if (R > 0) R = R <= 1 ? 1 : R <= 2 ? 2 : R <= 4 ? 4 : R <= 8 ? 8 : 16;
  // Several rows per block only for one-warp rows (group reductions that
  // synchronize the block then always see one row).
  const int block = G == 32 ? 128 : G;
  const int rpb = block / G;
  const int64_t grid = (a.rows + rpb - 1) / rpb;
  if (grid > 0x7fffffff) return false;
  const unsigned g = unsigned(grid);
  switch (R) {
    case 0: launch_rows<T, V, 0, BATCH>(op, a, G, g, block, s); break;
    case 1: launch_rows<T, V, 1, BATCH>(op, a, G, g, block, s); break;
    case 2: launch_rows<T, V, 2, BATCH>(op, a, G, g, block, s); break;
    case 4: launch_rows<T, V, 4, BATCH>(op, a, G, g, block, s); break;
    case 8: launch_rows<T, V, 8, BATCH>(op, a, G, g, block, s); break;
    default: launch_rows<T, V, 16, BATCH>(op, a, G, g, block, s); break;
  }
  return true;
}

template <typename T>
bool rows_typed(RowOp op, const RowArgs& a, cudaStream_t s) {
  if (a.rows == 0) return true;
  constexpr int VEC = 16 / sizeof(T);
  auto al = [](const void* p) { return p == nullptr || reinterpret_cast<uintptr_t>(p) % 16 == 0; };
  const bool vec = a.n % VEC == 0 && al(a.x) && al(a.w) && al(a.b) &&
                   (op == RowOp::LogSumExp || al(a.y));  // logsumexp writes one value per row
  if constexpr (sizeof(T) >= 4) {
    if (op == RowOp::RmsNorm || op == RowOp::LayerNorm)
      return vec ? rows_v<T, VEC, true>(op, a, s) : rows_v<T, 1, true>(op, a, s);
  }
  return vec ? rows_v<T, VEC, false>(op, a, s) : rows_v<T, 1, false>(op, a, s);
}

// ---------------------------------------------------------------- rope

template <typename T>
__global__ void rope_kernel(RopeArgs a) {
  using A = acc_of<T>;
  const int half = a.dims / 2;
  const int64_t per_row = half + (a.D - a.dims);
  const int64_t total = a.B * a.N * a.T * per_row;
  const T* x = static_cast<const T*>(a.x);
  T* y = static_cast<T*>(a.y);
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t row = i / per_row, j = i - row * per_row;
    const T* xr = x + row * a.D;
    T* yr = y + row * a.D;
    if (j >= half) {  // features past `dims` pass through
      yr[a.dims + (j - half)] = xr[a.dims + (j - half)];
      continue;
    }
    const int64_t t = row % a.T, bb = row / (a.N * a.T);
    const float pos = (float(t) + float(a.offset[a.per_batch ? bb : 0])) * a.scale;
    const float inv = a.freqs ? 1.0f / a.freqs[j] : a.inv_freq[j];
    const float th = pos * inv;
    const A c = to_a<A>(from_a<T>(cosf(th))), s = to_a<A>(from_a<T>(sinf(th)));
    const int64_t i1 = a.traditional ? 2 * j : j, i2 = a.traditional ? 2 * j + 1 : j + half;
    const A x1 = to_a<A>(xr[i1]), x2 = to_a<A>(xr[i2]);
    A o1, o2;
    if (a.forward) {
      o1 = rnd<T>(x1 * c) - rnd<T>(x2 * s);
      o2 = rnd<T>(x1 * s) + rnd<T>(x2 * c);
    } else {
      o1 = rnd<T>(x2 * s) + rnd<T>(x1 * c);
      o2 = rnd<T>(x2 * c) - rnd<T>(x1 * s);
    }
    yr[i1] = from_a<T>(o1);
    yr[i2] = from_a<T>(o2);
  }
}

// ---------------------------------------------------------------- sdpa

// Flash-style forward: one block of 4 warps per (batch, head, 32 queries);
// key/value tiles of 32 rows are staged in shared memory (as float), each
// warp owns 8 query rows: lane j scores key j of the tile for its rows, the
// row maximum and sum are updated online (the accumulator rescaled by
// exp(m_old - m_new)), and lane c accumulates output columns c, c + 32, ...
constexpr int kBQ = 32, kBK = 32, kRows = 8, kWarps = 4;

template <typename T>
__device__ __forceinline__ float mask_low() {
  if constexpr (cs::is_same_v<T, half_t>) return -65504.0f;
  else if constexpr (cs::is_same_v<T, bf16_t>) return -3.38953139e38f;  // bfloat16 lowest
  else return -cs::numeric_limits<float>::max();
}

template <typename T, int DVL>
__global__ void __launch_bounds__(128) sdpa_kernel(SdpaArgs a, int Dp) {
  extern __shared__ float4 smem4[];
  float* smem = reinterpret_cast<float*>(smem4);
  const int Kst = Dp + 4;  // padded row stride of the key tile
  float* Qs = smem;                        // kBQ x Dp
  float* Ks = Qs + kBQ * Dp;               // kBK x Kst
  float* Vs = Ks + kBK * Kst;              // kBK x (32 DVL)
  float* Ps = Vs + kBK * 32 * DVL;         // kWarps x kBK x kRows
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int64_t nqb = (a.Tq + kBQ - 1) / kBQ;
  const int64_t bh = blockIdx.x / nqb, i0 = (blockIdx.x % nqb) * kBQ;
  const int64_t b = bh / a.Nq, h = bh % a.Nq, hk = h / (a.Nq / a.Nkv);
  const int64_t D = a.D, Dv = a.Dv, Tkv = a.Tkv;
  const int64_t bq = a.Tq - i0 < kBQ ? a.Tq - i0 : kBQ;
  const T* Q = static_cast<const T*>(a.q) + (bh * a.Tq + i0) * D;
  const T* K = static_cast<const T*>(a.k) + (b * a.Nkv + hk) * Tkv * D;
  const T* Vv = static_cast<const T*>(a.v) + (b * a.Nkv + hk) * Tkv * Dv;
  for (int idx = tid; idx < kBQ * Dp; idx += blockDim.x) {
    const int r = idx / Dp, d = idx - r * Dp;
    Qs[idx] = (r < bq && d < D) ? to_a<float>(Q[r * D + d]) : 0.0f;
  }
  const float low = mask_low<T>(), ninf = -cs::numeric_limits<float>::infinity();
  const float m0 = a.sinks ? to_a<float>(static_cast<const T*>(a.sinks)[h]) : ninf;
  float m[kRows], l[kRows], acc[kRows][DVL];
#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    m[r] = m0;
    l[r] = a.sinks ? 1.0f : 0.0f;
#pragma unroll
    for (int c = 0; c < DVL; ++c) acc[r][c] = 0.0f;
  }
  const int64_t coff = Tkv - a.Tq;  // row i sees keys j <= i + coff
  int64_t j_end = Tkv;
  if (a.causal && i0 + coff >= 0) j_end = i0 + bq + coff < Tkv ? i0 + bq + coff : Tkv;
  const int row0 = warp * kRows;
  for (int64_t j0 = 0; j0 < j_end; j0 += kBK) {
    __syncthreads();
    for (int idx = tid; idx < kBK * Dp; idx += blockDim.x) {
      const int r = idx / Dp, d = idx - r * Dp;
      Ks[r * Kst + d] = (j0 + r < Tkv && d < D) ? to_a<float>(K[(j0 + r) * D + d]) : 0.0f;
    }
    for (int idx = tid; idx < kBK * 32 * DVL; idx += blockDim.x) {
      const int r = idx / (32 * DVL), c = idx - r * (32 * DVL);
      Vs[idx] = (j0 + r < Tkv && c < Dv) ? to_a<float>(Vv[(j0 + r) * Dv + c]) : 0.0f;
    }
    __syncthreads();
    // Scores of key j0 + lane for this warp's rows.
    float s[kRows];
#pragma unroll
    for (int r = 0; r < kRows; ++r) s[r] = 0.0f;
    const float4* kr = reinterpret_cast<const float4*>(Ks + lane * Kst);
    for (int d4 = 0; d4 < Dp / 4; ++d4) {
      const float4 kv = kr[d4];
#pragma unroll
      for (int r = 0; r < kRows; ++r) {
        const float4 qv = reinterpret_cast<const float4*>(Qs + (row0 + r) * Dp)[d4];
        s[r] = fmaf(qv.x, kv.x, s[r]);
        s[r] = fmaf(qv.y, kv.y, s[r]);
        s[r] = fmaf(qv.z, kv.z, s[r]);
        s[r] = fmaf(qv.w, kv.w, s[r]);
      }
    }
    const int64_t kj = j0 + lane;
    const bool valid = kj < Tkv;
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      const int64_t qi = i0 + row0 + r;
      float sc = s[r] * a.scale;
      if (a.causal) {
        if (kj > qi + coff) sc = low;
      } else if (a.mask_kind && valid && qi < a.Tq) {
        const int64_t mo = b * a.mst[0] + h * a.mst[1] + qi * a.mst[2] + kj * a.mst[3];
        if (a.mask_kind == 1) {
          if (!static_cast<const bool*>(a.mask)[mo]) sc = low;
        } else {
          sc += to_a<float>(static_cast<const T*>(a.mask)[mo]);
        }
      }
      sc = valid ? sc : ninf;
      const float mx = warp_reduce(sc, MaxF{});
      float mnew = nan_max(m[r], mx);
      if (mx != mx) mnew = mx;
      float p = 0.0f;
      if (mnew != ninf) {
        const float corr = expf(m[r] - mnew);
        p = valid ? expf(sc - mnew) : 0.0f;
        l[r] = l[r] * corr + warp_reduce(p, SumF{});
        m[r] = mnew;
        if (corr != 1.0f)
#pragma unroll
          for (int c = 0; c < DVL; ++c) acc[r][c] *= corr;
      }
      s[r] = p;
    }
    float* pw = Ps + (warp * kBK + lane) * kRows;
    reinterpret_cast<float4*>(pw)[0] = make_float4(s[0], s[1], s[2], s[3]);
    reinterpret_cast<float4*>(pw)[1] = make_float4(s[4], s[5], s[6], s[7]);
    __syncwarp();
    const int jn = Tkv - j0 < kBK ? int(Tkv - j0) : kBK;
    for (int j = 0; j < jn; ++j) {
      const float4 pa = reinterpret_cast<const float4*>(Ps + (warp * kBK + j) * kRows)[0];
      const float4 pb = reinterpret_cast<const float4*>(Ps + (warp * kBK + j) * kRows)[1];
      const float pr[kRows] = {pa.x, pa.y, pa.z, pa.w, pb.x, pb.y, pb.z, pb.w};
#pragma unroll
      for (int c = 0; c < DVL; ++c) {
        const float vv = Vs[j * 32 * DVL + c * 32 + lane];
#pragma unroll
        for (int r = 0; r < kRows; ++r) acc[r][c] = fmaf(pr[r], vv, acc[r][c]);
      }
    }
    __syncwarp();
  }
  T* O = static_cast<T*>(a.o) + (bh * a.Tq + i0) * Dv;
#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    const int64_t rr = row0 + r;
    if (rr >= bq) continue;
    const float inv = 1.0f / l[r];
#pragma unroll
    for (int c = 0; c < DVL; ++c) {
      const int64_t col = c * 32 + lane;
      if (col < Dv) O[rr * Dv + col] = from_a<T>(acc[r][c] * inv);
    }
    if (lane == 0 && a.m) {
      a.m[bh * a.Tq + i0 + rr] = m[r];
      a.l[bh * a.Tq + i0 + rr] = logf(l[r]);
    }
  }
}

template <typename T, int DVL>
bool sdpa_launch(const SdpaArgs& a, cudaStream_t s) {
  const int Dp = int((a.D + 3) / 4 * 4);
  const size_t smem = sizeof(float) * (size_t(kBQ) * Dp + size_t(kBK) * (Dp + 4) +
                                       size_t(kBK) * 32 * DVL + size_t(kWarps) * kBK * kRows);
  static int configured = 0;  // the largest dynamic shared memory size set so far
  if (smem > 48 * 1024 && int(smem) > configured) {
    if (cudaFuncSetAttribute(sdpa_kernel<T, DVL>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                             int(smem)) != cudaSuccess) {
      cudaGetLastError();
      return false;
    }
    configured = int(smem);
  }
  const int64_t blocks = a.B * a.Nq * ((a.Tq + kBQ - 1) / kBQ);
  if (blocks > 0x7fffffff) return false;
  sdpa_kernel<T, DVL><<<unsigned(blocks), 32 * kWarps, smem, s>>>(a, Dp);
  return true;
}

template <typename T>
bool sdpa_typed(const SdpaArgs& a, cudaStream_t s) {
  if (a.D > 256 || a.Dv > 256) return false;
  if (a.Dv <= 32) return sdpa_launch<T, 1>(a, s);
  if (a.Dv <= 64) return sdpa_launch<T, 2>(a, s);
  if (a.Dv <= 128) return sdpa_launch<T, 4>(a, s);
  return sdpa_launch<T, 8>(a, s);
}

}  // namespace

bool rows(RowOp op, int dt, const RowArgs& a, cudaStream_t s) {
  switch (dt) {
    case F32: return rows_typed<float>(op, a, s);
    case F16: return rows_typed<half_t>(op, a, s);
    case BF16: return rows_typed<bf16_t>(op, a, s);
    case F64: return rows_typed<double>(op, a, s);
    default: return false;
  }
}

bool rope(int dt, const RopeArgs& a, cudaStream_t s) {
  const int64_t total = a.B * a.N * a.T * (a.dims / 2 + (a.D - a.dims));
  if (total == 0) return true;
  int64_t blocks = (total + 255) / 256;
  if (blocks > 132 * 64) blocks = 132 * 64;
  switch (dt) {
    case F32: rope_kernel<float><<<unsigned(blocks), 256, 0, s>>>(a); return true;
    case F16: rope_kernel<half_t><<<unsigned(blocks), 256, 0, s>>>(a); return true;
    case BF16: rope_kernel<bf16_t><<<unsigned(blocks), 256, 0, s>>>(a); return true;
    case F64: rope_kernel<double><<<unsigned(blocks), 256, 0, s>>>(a); return true;
    default: return false;
  }
}

bool sdpa(int dt, const SdpaArgs& a, cudaStream_t s) {
  if ((dt == F16 || dt == BF16) && sdpa_tc(dt, a, s)) return true;
  switch (dt) {
    case F32: return sdpa_typed<float>(a, s);
    case F16: return sdpa_typed<half_t>(a, s);
    case BF16: return sdpa_typed<bf16_t>(a, s);
    default: return false;
  }
}

}  // namespace oxmlx::cu
