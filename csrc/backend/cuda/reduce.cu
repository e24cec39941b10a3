// Reductions, arg reductions and scans (launchers declared in kernels.h).
// Reductions accumulate 16-bit floats in float and integers in 64 bits;
// `group` threads (1, a warp or a block) share an output, and outputs with
// long reduced ranges and few outputs are split into pieces combined by a
// second pass.
#include <cuda/std/limits>

#include "backend/cuda/device_util.cuh"

namespace oxmlx::cu {

namespace {

using namespace dev;

// ---------------------------------------------------------------- reduce

enum R : int { RSum, RProd, RMax, RMin, RAnd, ROr };

// Accumulator type: float for 16-bit floats, 64-bit for integers.
template <typename T>
using acc_t = cs::conditional_t<
    is_flt<T>, comp_t<T>,
    cs::conditional_t<cs::is_unsigned_v<T> && !cs::is_same_v<T, bool>, uint64_t, int64_t>>;

template <typename A>
__device__ __forceinline__ A reduce_init(int op) {
  switch (op) {
    case RSum: case ROr: return A(0);
    case RProd: case RAnd: return A(1);
    case RMax:
      if constexpr (cs::is_floating_point_v<A>) return -cs::numeric_limits<A>::infinity();
      else return cs::numeric_limits<A>::lowest();
    default:
      if constexpr (cs::is_floating_point_v<A>) return cs::numeric_limits<A>::infinity();
      else return cs::numeric_limits<A>::max();
  }
}

template <typename A>
__device__ __forceinline__ A reduce_combine(int op, A a, A b) {
  switch (op) {
    case RSum: return a + b;
    case RProd: return a * b;
    case RMax: return (a != a || a > b) ? a : b;  // NaN propagates
    case RMin: return (a != a || a < b) ? a : b;
    case RAnd: return A(a != A(0) && b != A(0));
    default: return A(a != A(0) || b != A(0));
  }
}

// The bounds of the type are the identity of max/min for integer inputs
// narrower than the accumulator.
template <typename T, typename A>
__device__ __forceinline__ A reduce_identity(int op) {
  if constexpr (is_int<T>) {
    if (op == RMax) return A(cs::numeric_limits<T>::lowest());
    if (op == RMin) return A(cs::numeric_limits<T>::max());
  }
  if constexpr (cs::is_same_v<T, bool>) {
    if (op == RMax) return A(0);
    if (op == RMin) return A(1);
  }
  return reduce_init<A>(op);
}

template <typename V>
__device__ __forceinline__ V shfl(V v, int m) {
  if constexpr (sizeof(V) < 4) return V(__shfl_xor_sync(0xffffffffu, int(v), m));
  else return __shfl_xor_sync(0xffffffffu, v, m);
}

template <typename A>
__device__ __forceinline__ A warp_combine(int op, A v) {
  for (int m = 16; m > 0; m >>= 1) v = reduce_combine(op, v, shfl(v, m));
  return v;
}

// Offset of index i in a one-operand layout (no division for 0/1 dims).
__device__ __forceinline__ int64_t offset1(const Layout& l, int64_t i) {
  if (l.ndim == 0) return 0;
  if (l.ndim == 1) return i * l.strides[0][0];
  int64_t o[1];
  offsets<1>(l, i, o);
  return o[0];
}

template <int OP, typename T, typename A>
__device__ __forceinline__ A reduce_range(const T* p, A acc, int64_t r0, int64_t r1, int step,
                                          const Layout& red) {
  if (red.ndim <= 1) {
    int64_t st = red.ndim == 0 ? 0 : red.strides[0][0];
    int64_t r = r0;
    // Four independent loads in flight.
    for (; r + 3 * step < r1; r += 4 * step) {
      A v0 = A(comp_t<T>(p[r * st])), v1 = A(comp_t<T>(p[(r + step) * st]));
      A v2 = A(comp_t<T>(p[(r + 2 * step) * st])), v3 = A(comp_t<T>(p[(r + 3 * step) * st]));
      acc = reduce_combine(OP, acc, reduce_combine(OP, reduce_combine(OP, v0, v1), reduce_combine(OP, v2, v3)));
    }
    for (; r < r1; r += step) acc = reduce_combine(OP, acc, A(comp_t<T>(p[r * st])));
  } else {
    for (int64_t r = r0; r < r1; r += step) acc = reduce_combine(OP, acc, A(comp_t<T>(p[offset1(red, r)])));
  }
  return acc;
}

// The contiguous piece [b0, r1) of one output read as 16-byte vectors by the
// group's lanes (p + b0 is 16-byte aligned), four in flight per lane.
template <int OP, typename T, typename A>
__device__ __forceinline__ A reduce_vec(const T* p, A acc, int64_t b0, int64_t r1, int lane,
                                        int step) {
  constexpr int VW = 16 / sizeof(T);
  using P = Pack<T, VW>;
  if (r1 <= b0) return acc;
  const P* q = reinterpret_cast<const P*>(p + b0);
  const int64_t nv = (r1 - b0) / VW;
  auto fold = [](const P& v) {
    A t = A(comp_t<T>(v.v[0]));
#pragma unroll
    for (int e = 1; e < VW; ++e) t = reduce_combine(OP, t, A(comp_t<T>(v.v[e])));
    return t;
  };
  int64_t j = lane;
  for (; j + 3 * step < nv; j += 4 * step) {
    const P v0 = q[j], v1 = q[j + step], v2 = q[j + 2 * step], v3 = q[j + 3 * step];
    acc = reduce_combine(OP, acc, reduce_combine(OP, reduce_combine(OP, fold(v0), fold(v1)),
                                                 reduce_combine(OP, fold(v2), fold(v3))));
  }
  for (; j < nv; j += step) acc = reduce_combine(OP, acc, fold(q[j]));
  for (int64_t r = b0 + nv * VW + lane; r < r1; r += step)
    acc = reduce_combine(OP, acc, A(comp_t<T>(p[r])));
  return acc;
}

// f(integral_constant<int, OP>{}) for the run-time reduce op: the loops of
// reduce_range / reduce_vec combine with a compile-time op.
template <typename F>
__device__ __forceinline__ auto with_reduce_op(int op, F&& f) {
  switch (op) {
    case RSum: return f(cs::integral_constant<int, RSum>{});
    case RProd: return f(cs::integral_constant<int, RProd>{});
    case RMax: return f(cs::integral_constant<int, RMax>{});
    case RMin: return f(cs::integral_constant<int, RMin>{});
    case RAnd: return f(cs::integral_constant<int, RAnd>{});
    default: return f(cs::integral_constant<int, ROr>{});
  }
}

// `group` threads per output (1, 32 or the whole block of 256); each output's
// reduced range is cut into `splits` pieces of `split_len` whose results go
// to out[o * splits + s] (group > 1) or out[s * n_out + o] (group 1), in
// out_dt (the accumulator's type when a second pass combines them).
template <typename T>
__global__ void reduce_kernel(int op, const T* in, void* out, int out_dt, int64_t n_out,
                              int64_t n_red, Layout kept, Layout red, int group, int64_t splits,
                              int64_t split_len, bool vec) {
  using A = acc_t<T>;
  __shared__ A part[kThreads / 32];
  int per_block = kThreads / group;
  int lane = threadIdx.x % group;
  int64_t n_work = n_out * splits;
  for (int64_t wb = int64_t(blockIdx.x) * per_block; wb < n_work; wb += int64_t(gridDim.x) * per_block) {
    int64_t w = wb + threadIdx.x / group;
    int64_t o = group == 1 ? w % n_out : w / splits, s = group == 1 ? w / n_out : w % splits;
    A acc = reduce_identity<T, A>(op);
    if (w < n_work) {
      const T* p = in + offset1(kept, o);
      int64_t r0 = s * split_len + lane, r1 = min(n_red, (s + 1) * split_len);
      const int64_t b0 = s * split_len;
      acc = with_reduce_op(op, [&](auto o) {
        constexpr int OP = decltype(o)::value;
        return vec ? reduce_vec<OP>(p, acc, b0, r1, lane, group)
                   : reduce_range<OP>(p, acc, r0, r1, group, red);
      });
    }
    int64_t dst = group == 1 ? s * n_out + o : o * splits + s;
    if (group == 1) {
      if (w < n_work) store(out, out_dt, dst, acc);
      continue;
    }
    acc = warp_combine(op, acc);
    if (group == 32) {
      if (lane == 0 && w < n_work) store(out, out_dt, dst, acc);
    } else {
      if (threadIdx.x % 32 == 0) part[threadIdx.x / 32] = acc;
      __syncthreads();
      if (threadIdx.x == 0) {
        A v = part[0];
        for (int k = 1; k < kThreads / 32; ++k) v = reduce_combine(op, v, part[k]);
        store(out, out_dt, dst, v);
      }
      __syncthreads();
    }
  }
}

// ---------------------------------------------------------------- arg_reduce

// One warp per output; the first extreme (or the first NaN) wins.
template <typename T>
__global__ void arg_reduce_kernel(int op, const T* in, void* out, int out_dt, int64_t outer,
                                  int64_t len, int64_t inner) {
  using C = comp_t<T>;
  int64_t n_out = outer * inner;
  int lane = threadIdx.x % 32;
  for (int64_t o = (int64_t(blockIdx.x) * kThreads + threadIdx.x) / 32; o < n_out;
       o += int64_t(gridDim.x) * (kThreads / 32)) {
    const T* p = in + (o / inner) * len * inner + (o % inner);
    int64_t best = -1;
    C bv = C(0);
    auto better = [&](C v, int64_t i, C w, int64_t j) {  // is (v, i) before (w, j)?
      if (j < 0) return i >= 0;
      if (i < 0) return false;
      bool vn = v != v, wn = w != w;
      if (vn || wn) return vn && (!wn || i < j);
      if (v == w) return i < j;
      return op == 0 ? v > w : v < w;
    };
    for (int64_t i = lane; i < len; i += 32) {
      C v = C(p[i * inner]);
      if (better(v, i, bv, best)) { bv = v; best = i; }
    }
    for (int m = 16; m > 0; m >>= 1) {
      C w = shfl(bv, m);
      int64_t j = shfl(best, m);
      if (better(w, j, bv, best)) { bv = w; best = j; }
    }
    if (lane == 0) store(out, out_dt, o, uint32_t(best < 0 ? 0 : best));
  }
}

// ---------------------------------------------------------------- scan

enum S : int { SSum, SProd, SMax, SMin, SLogAddExp };

template <typename A>
__device__ __forceinline__ A scan_combine(int op, A a, A b) {
  switch (op) {
    case SSum: return a + b;
    case SProd: return a * b;
    case SMax: return (a != a || a > b) ? a : b;
    case SMin: return (a != a || a < b) ? a : b;
    default:
      if constexpr (cs::is_floating_point_v<A>) {
        if (isnan(a) || isnan(b)) return a + b;
        A m = a > b ? a : b, k = a > b ? b : a;
        if (isinf(m) && m == k) return m;
        return m + log1p(exp(k - m));
      } else {
        return a;
      }
  }
}

template <typename T>
__global__ void scan_kernel(int op, const T* in, void* out, int out_dt, int64_t outer, int64_t len,
                            int64_t inner, bool reverse, bool inclusive) {
  using A = acc_t<T>;
  OXD_GRID_LOOP(line, outer * inner) {
    int64_t base = (line / inner) * len * inner + (line % inner);
    A acc;
    switch (op) {
      case SSum: acc = A(0); break;
      case SProd: acc = A(1); break;
      case SMax: acc = reduce_identity<T, A>(RMax); break;
      case SMin: acc = reduce_identity<T, A>(RMin); break;
      default: acc = reduce_init<A>(RMax);
    }
    for (int64_t k = 0; k < len; ++k) {
      int64_t j = base + (reverse ? len - 1 - k : k) * inner;
      A v = A(comp_t<T>(in[j]));
      if (inclusive) {
        acc = k == 0 ? v : scan_combine(op, acc, v);
        store(out, out_dt, j, acc);
      } else {
        store(out, out_dt, j, acc);
        acc = k == 0 ? v : scan_combine(op, acc, v);
      }
    }
  }
}

int acc_dtype(int dt) {
  switch (dt) {
    case F16: case BF16: case F32: return F32;
    case F64: return F64;
    case U8: case U16: case U32: case U64: return U64;
    default: return I64;
  }
}

int reduce_group(int64_t n_red, const Layout& kept, const Layout& red) {
  // Reduced axes outside the innermost kept axis: one thread per output,
  // neighbours read neighbouring elements.
  bool inner_kept = kept.ndim > 0 && kept.strides[0][kept.ndim - 1] == 1;
  bool inner_red = red.ndim > 0 && red.strides[0][red.ndim - 1] == 1;
  if (inner_kept && !inner_red) return 1;
  return n_red >= 2048 ? kThreads : 32;
}

void reduce_pass(int op, const void* in, int in_dt, void* out, int out_dt, int64_t n_out,
                 int64_t n_red, const Layout& kept, const Layout& red, int group, int64_t splits,
                 int64_t split_len, cudaStream_t s) {
  int per_block = kThreads / group;
  const int g = grid_cap((n_out * splits + per_block - 1) / per_block);
  OXD_DISPATCH(in_dt, {
    // Contiguous reduced elements whose every piece starts 16-byte aligned:
    // vector loads (reduce_vec).
    constexpr int64_t VW = 16 / sizeof(T);
    bool vec = group > 1 && red.ndim == 1 && red.strides[0][0] == 1 && aligned_to(in, 16) &&
               (splits == 1 || split_len % VW == 0) && n_red >= 4 * VW;
    for (int d = 0; d < kept.ndim && vec; ++d) vec = kept.strides[0][d] % VW == 0;
    reduce_kernel<T><<<g, kThreads, 0, s>>>(op, (const T*)in, out, out_dt, n_out, n_red, kept,
                                            red, group, splits, split_len, vec);
  });
}

}  // namespace

int64_t reduce_scratch(int in_dt, int64_t n_out, int64_t n_red, const Layout& kept,
                       const Layout& red, int64_t* splits) {
  int group = reduce_group(n_red, kept, red);
  // Enough pieces to fill the GPU when there are few outputs.
  int64_t want = (132 * 2048) / (n_out * group > 0 ? n_out * group : 1);
  // Thread-per-output (outer) reductions: pieces of at least 32 rows, so that
  // e.g. a bias gradient (4096 x 4096 summed over rows) runs on ~2^18 threads
  // (at most 1024 pieces: the second pass runs one thread per output).
  int64_t max_split = group == 1 ? (n_red / 32 < 1024 ? n_red / 32 : 1024) : n_red / 1024;
  int64_t sp = want < max_split ? want : max_split;
  *splits = sp > 1 ? sp : 1;
  int adt = acc_dtype(in_dt);
  int sz = adt == F32 ? 4 : 8;
  return *splits > 1 ? n_out * *splits * sz : 0;
}

void reduce(int op, const void* in, int in_dt, void* out, int out_dt, int64_t n_out,
            int64_t n_red, const Layout& kept, const Layout& red, void* scratch, int64_t splits,
            cudaStream_t s) {
  if (n_out == 0) return;
  int group = reduce_group(n_red, kept, red);
  if (splits <= 1) {
    reduce_pass(op, in, in_dt, out, out_dt, n_out, n_red, kept, red, group, 1, n_red > 0 ? n_red : 1, s);
    return;
  }
  // Pieces of whole 16-byte vectors (trailing pieces may be empty: identity).
  int64_t split_len = (n_red + splits - 1) / splits;
  split_len = (split_len + 15) & ~int64_t(15);
  int adt = acc_dtype(in_dt);
  reduce_pass(op, in, in_dt, scratch, adt, n_out, n_red, kept, red, group, splits, split_len, s);
  // Second pass over the partial results.
  Layout k2, r2;
  k2.ndim = 1, r2.ndim = 1;
  k2.shape[0] = n_out, r2.shape[0] = splits;
  if (group == 1) k2.strides[0][0] = 1, r2.strides[0][0] = n_out;   // (splits, n_out)
  else k2.strides[0][0] = splits, r2.strides[0][0] = 1;              // (n_out, splits)
  int g2 = group == 1 ? 1 : 32;
  reduce_pass(op, scratch, adt, out, out_dt, n_out, splits, k2, r2, g2, 1, splits, s);
}

void arg_reduce(int op, const void* in, int dt, void* out, int out_dt, int64_t outer,
                int64_t len, int64_t inner, cudaStream_t s) {
  int64_t n_out = outer * inner;
  if (n_out == 0) return;
  const int g = grid_cap((n_out + kThreads / 32 - 1) / (kThreads / 32));
  OXD_DISPATCH(dt, arg_reduce_kernel<T><<<g, kThreads, 0, s>>>(op, (const T*)in, out, out_dt, outer, len, inner));
}

void scan(int op, const void* in, int dt, void* out, int out_dt, int64_t outer, int64_t len,
          int64_t inner, bool reverse, bool inclusive, cudaStream_t s) {
  int64_t lines = outer * inner;
  if (lines == 0 || len == 0) return;
  OXD_DISPATCH(dt, scan_kernel<T><<<blocks_for(lines), kThreads, 0, s>>>(op, (const T*)in, out, out_dt, outer, len, inner, reverse, inclusive));
}

}  // namespace oxmlx::cu
