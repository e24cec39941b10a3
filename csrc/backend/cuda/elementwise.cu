// Elementwise kernels: unary, binary and select (launchers declared in
// kernels.h). One instantiation per storage type (the op code is a run-time
// switch that is uniform across a launch). 16-bit floats compute in float,
// like the CPU backend; results follow backend/cpu/scalar_ops.h. Strided
// operands run one element per thread (four in flight when no index
// arithmetic is needed); dense ones, single values and bias-like rows move
// aligned 16-byte vectors.
#include "backend/cuda/device_util.cuh"

namespace oxmlx::cu {

namespace {

using namespace dev;

// ---------------------------------------------------------------- unary

// UnaryOp codes (backend/backend.h).
enum U : int {
  Abs, Negative, Sign, Floor, Ceil, Round, Trunc, Sqrt, Rsqrt, Square, Reciprocal,
  Exp, Expm1, Log, Log1p, Log2, Log10, Sin, Cos, Tan, ArcSin, ArcCos, ArcTan,
  Sinh, Cosh, Tanh, ArcSinh, ArcCosh, ArcTanh, Sigmoid, Erf, ErfInv,
  LogicalNot, BitwiseInvert, IsNan, IsInf, IsFinite, IsPosInf, IsNegInf
};

__host__ __device__ __forceinline__ bool unary_is_pred(int op) {
  return op == LogicalNot || op >= IsNan;
}

template <typename T>
__device__ __forceinline__ bool unary_pred(int op, T in) {
  comp_t<T> x = comp_t<T>(in);
  if (op == LogicalNot) return !(x != comp_t<T>(0));
  if constexpr (is_flt<T>) {
    switch (op) {
      case IsNan: return isnan(x);
      case IsInf: return isinf(x);
      case IsFinite: return isfinite(x);
      case IsPosInf: return isinf(x) && x > 0;
      case IsNegInf: return isinf(x) && x < 0;
    }
    return false;
  } else {
    return op == IsFinite;
  }
}

template <typename T>
__device__ __forceinline__ T unary_val(int op, T in) {
  using C = comp_t<T>;
  if constexpr (cs::is_same_v<T, bool>) {
    return op == BitwiseInvert ? !in : in;
  } else if constexpr (is_int<T>) {
    using Un = cs::make_unsigned_t<T>;
    using W = cs::conditional_t<(sizeof(T) < 4), uint32_t, Un>;
    switch (op) {
      case Abs:
        if constexpr (cs::is_signed_v<T>) return in < 0 ? T(Un(0) - Un(in)) : in;
        else return in;
      case Negative: return T(Un(0) - Un(in));
      case Sign:
        if constexpr (cs::is_signed_v<T>) return T((in > 0) - (in < 0));
        else return T(in != 0);
      case Square: return T(W(in) * W(in));
      case BitwiseInvert: return T(~in);
      default: return in;  // floor, ceil, round, trunc
    }
  } else {
    C x = C(in), r;
    switch (op) {
      case Abs: r = fabs(x); break;
      case Negative: r = -x; break;
      case Sign: r = C((x > C(0)) - (x < C(0))); break;  // sign(nan) == 0, as the CPU (MLX)
      case Floor: r = floor(x); break;
      case Ceil: r = ceil(x); break;
      case Round: r = rint(x); break;
      case Trunc: r = trunc(x); break;
      case Sqrt: r = sqrt(x); break;
      case Rsqrt: r = C(1) / sqrt(x); break;
      case Square: r = x * x; break;
      case Reciprocal: r = C(1) / x; break;
      case Exp: r = exp(x); break;
      case Expm1: r = expm1(x); break;
      case Log: r = log(x); break;
      case Log1p: r = log1p(x); break;
      case Log2: r = log2(x); break;
      case Log10: r = log10(x); break;
      case Sin: r = sin(x); break;
      case Cos: r = cos(x); break;
      case Tan: r = tan(x); break;
      case ArcSin: r = asin(x); break;
      case ArcCos: r = acos(x); break;
      case ArcTan: r = atan(x); break;
      case Sinh: r = sinh(x); break;
      case Cosh: r = cosh(x); break;
      case Tanh: r = tanh(x); break;
      case ArcSinh: r = asinh(x); break;
      case ArcCosh: r = acosh(x); break;
      case ArcTanh: r = atanh(x); break;
      case Sigmoid: {
        C e = exp(-fabs(x));
        r = x >= C(0) ? C(1) / (C(1) + e) : e / (C(1) + e);
        break;
      }
      case Erf: r = erf(x); break;
      case ErfInv: r = erfinv(x); break;
      default: r = x;
    }
    return cvt<T>(r);
  }
}

// The op on V elements x, stored as chunk j of out (bool for predicates).
template <int V, typename T>
__device__ __forceinline__ void put_unary(int op, bool pred, const T* x, void* out, int64_t j) {
  if (pred) {
    Pack<bool, V> y;
#pragma unroll
    for (int e = 0; e < V; ++e) y.v[e] = unary_pred(op, x[e]);
    static_cast<Pack<bool, V>*>(out)[j] = y;
  } else {
    Pack<T, V> y;
#pragma unroll
    for (int e = 0; e < V; ++e) y.v[e] = unary_val(op, x[e]);
    static_cast<Pack<T, V>*>(out)[j] = y;
  }
}

// Grid-stride loop over [0, n) that keeps four independent elements in
// flight per thread when the operands need no index arithmetic (contiguous,
// or one merged dim: f(i) then only multiplies).
template <typename F>
__device__ __forceinline__ void for_each_index(int64_t n, bool simple, F&& f) {
  int64_t step = int64_t(gridDim.x) * blockDim.x;
  int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (simple) {
    for (; i + 3 * step < n; i += 4 * step) f.template run<4>(i, step);
  }
  for (; i < n; i += step) f.template run<1>(i, step);
}

template <typename T>
struct UnaryF {
  int op;
  bool pred;
  const T* __restrict__ in;
  void* out;
  const Layout* l;
  bool contig;
  template <int K>
  __device__ __forceinline__ void run(int64_t i, int64_t step) const {
    T x[K];
#pragma unroll
    for (int k = 0; k < K; ++k) {
      int64_t o[1] = {i + k * step};
      if (!contig) offsets<1>(*l, i + k * step, o);
      x[k] = in[o[0]];
    }
#pragma unroll
    for (int k = 0; k < K; ++k) {
      if (pred) static_cast<bool*>(out)[i + k * step] = unary_pred(op, x[k]);
      else static_cast<T*>(out)[i + k * step] = unary_val(op, x[k]);
    }
  }
};

template <typename T>
__global__ void unary_kernel(int op, const T* in, void* out, int64_t n, Layout l, bool contig) {
  UnaryF<T> f{op, unary_is_pred(op), in, out, &l, contig};
  for_each_index(n, contig || l.ndim <= 1, f);
}

// ---------------------------------------------------------------- binary

enum Bop : int {
  Add, Subtract, Multiply, Divide, Power, Remainder, FloorDivide, Maximum, Minimum,
  Equal, NotEqual, Less, LessEqual, Greater, GreaterEqual, NanEqual,
  LogicalAnd, LogicalOr, BitwiseAnd, BitwiseOr, BitwiseXor, LeftShift, RightShift,
  ArcTan2, LogAddExp
};

__host__ __device__ __forceinline__ bool binary_is_cmp(int op) { return op >= Equal && op <= LogicalOr; }

template <typename T>
__device__ __forceinline__ bool binary_cmp(int op, T ia, T ib) {
  using C = comp_t<T>;
  C a = C(ia), b = C(ib);
  switch (op) {
    case Equal: return a == b;
    case NotEqual: return a != b;
    case Less: return a < b;
    case LessEqual: return a <= b;
    case Greater: return a > b;
    case GreaterEqual: return a >= b;
    case NanEqual:
      if constexpr (is_flt<T>) return a == b || (isnan(a) && isnan(b));
      else return a == b;
    case LogicalAnd: return a != C(0) && b != C(0);
    case LogicalOr: return a != C(0) || b != C(0);
  }
  return false;
}

template <typename T>
__device__ T int_pow(T base, T e) {
  if constexpr (cs::is_signed_v<T>) {
    if (e < 0) return base == 1 ? T(1) : (base == -1 ? T((e & 1) ? -1 : 1) : T(0));
  }
  using W = cs::conditional_t<(sizeof(T) < 4), uint32_t, cs::make_unsigned_t<T>>;
  W r = 1, b = W(cs::make_unsigned_t<T>(base));
  while (e) {
    if (e & 1) r = W(r * b);
    b = W(b * b);
    e >>= 1;
  }
  return T(r);
}

template <typename T>
__device__ __forceinline__ T binary_val(int op, T ia, T ib) {
  using C = comp_t<T>;
  if constexpr (cs::is_same_v<T, bool>) {
    switch (op) {
      case Add: case Maximum: case BitwiseOr: return ia || ib;
      case Subtract: case BitwiseXor: return ia != ib;
      case Multiply: case Minimum: case BitwiseAnd: return ia && ib;
      case LeftShift: case RightShift: return ia && !ib;
    }
    return false;
  } else if constexpr (is_int<T>) {
    using Un = cs::make_unsigned_t<T>;
    using W = cs::conditional_t<(sizeof(T) < 4), uint32_t, Un>;
    constexpr int bits = sizeof(T) * 8;
    switch (op) {
      case Add: return T(Un(ia) + Un(ib));
      case Subtract: return T(Un(ia) - Un(ib));
      case Multiply: return T(W(ia) * W(ib));
      case Power: return int_pow<T>(ia, ib);
      case Remainder:
        if (ib == 0) return 0;
        if constexpr (cs::is_signed_v<T>) {
          if (ib == -1) return 0;
          T r = ia % ib;
          return (r != 0 && ((r < 0) != (ib < 0))) ? T(r + ib) : r;
        } else {
          return ia % ib;
        }
      case FloorDivide:
        if (ib == 0) return 0;
        if constexpr (cs::is_signed_v<T>) {
          if (ib == -1) return T(Un(0) - Un(ia));
          T q = ia / ib;
          return ((ia % ib != 0) && ((ia < 0) != (ib < 0))) ? T(q - 1) : q;
        } else {
          return ia / ib;
        }
      case Maximum: return ia < ib ? ib : ia;
      case Minimum: return ib < ia ? ib : ia;
      case BitwiseAnd: return T(ia & ib);
      case BitwiseOr: return T(ia | ib);
      case BitwiseXor: return T(ia ^ ib);
      case LeftShift:
        if (cs::is_signed_v<T> && ib < T(0) ? true : ib >= T(bits)) return 0;
        return T(Un(ia) << ib);
      case RightShift:
        if (cs::is_signed_v<T> && ib < T(0) ? true : ib >= T(bits)) return (cs::is_signed_v<T> && ia < 0) ? T(-1) : T(0);
        return T(ia >> ib);
    }
    return 0;
  } else {
    C a = C(ia), b = C(ib), r;
    switch (op) {
      case Add: r = a + b; break;
      case Subtract: r = a - b; break;
      case Multiply: r = a * b; break;
      case Divide: r = a / b; break;
      case Power: r = pow(a, b); break;
      case Remainder:
        r = fmod(a, b);
        if (r != C(0) && ((r < C(0)) != (b < C(0)))) r += b;
        break;
      case FloorDivide: r = floor(a / b); break;
      // NaN propagates (a first); ties (-0.0 vs 0.0) give b, as the CPU (MLX, numpy)
      case Maximum: return (isnan(a) || a > b) ? ia : ib;
      case Minimum: return (isnan(a) || a < b) ? ia : ib;
      case ArcTan2: r = atan2(a, b); break;
      case LogAddExp: {
        if (isnan(a) || isnan(b)) { r = a + b; break; }
        C m = a > b ? a : b, k = a > b ? b : a;
        if (isinf(m) && m == k) { r = m; break; }
        r = m + log1p(exp(k - m));
        break;
      }
      default: r = C(0);
    }
    return cvt<T>(r);
  }
}

template <typename T>
struct BinaryF {
  int op;
  bool cmp;
  const T* __restrict__ a;
  const T* __restrict__ b;
  void* out;
  const Layout* l;
  bool contig;
  template <int K>
  __device__ __forceinline__ void run(int64_t i, int64_t step) const {
    T x[K], y[K];
#pragma unroll
    for (int k = 0; k < K; ++k) {
      int64_t o[2] = {i + k * step, i + k * step};
      if (!contig) offsets<2>(*l, i + k * step, o);
      x[k] = a[o[0]];
      y[k] = b[o[1]];
    }
#pragma unroll
    for (int k = 0; k < K; ++k) {
      if (cmp) static_cast<bool*>(out)[i + k * step] = binary_cmp(op, x[k], y[k]);
      else static_cast<T*>(out)[i + k * step] = binary_val(op, x[k], y[k]);
    }
  }
};

template <typename T>
__global__ void binary_kernel(int op, const T* a, const T* b, void* out, int64_t n, Layout l,
                              bool contig) {
  BinaryF<T> f{op, binary_is_cmp(op), a, b, out, &l, contig};
  for_each_index(n, contig || l.ndim <= 1, f);
}

// ---------------------------------------------------------------- select

template <typename V>
__global__ void select_kernel(const void* c, int c_dt, const V* a, const V* b, V* out, int64_t n,
                              Layout l, bool contig) {
  OXD_GRID_LOOP(i, n) {
    int64_t o[3] = {i, i, i};
    if (!contig) offsets<3>(l, i, o);
    bool take = false;
    OXD_DISPATCH(c_dt, take = cvt<bool>(static_cast<const T*>(c)[o[0]]));
    out[i] = take ? a[o[1]] : b[o[2]];
  }
}

// ---------------------------------------------------------------- vectorized

// Dense paths of unary, binary and select: every operand is row-contiguous
// over the output or a single broadcast value. Each thread moves V elements
// of each operand with one aligned vector access (16 bytes for the operand
// type) and keeps U such vectors in flight before computing.
constexpr int kUnroll = 2;

template <int V, typename F>
__device__ __forceinline__ void for_each_chunk(int64_t nc, F&& f) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  for (; c + (kUnroll - 1) * step < nc; c += kUnroll * step) f.template run<kUnroll>(c, step);
  for (; c < nc; c += step) f.template run<1>(c, step);
}

template <typename T, int V>
struct UnaryVecF {
  int op;
  bool pred;
  const Pack<T, V>* __restrict__ in;
  void* out;
  template <int K>
  __device__ __forceinline__ void run(int64_t c, int64_t step) const {
    Pack<T, V> x[K];
#pragma unroll
    for (int k = 0; k < K; ++k) x[k] = in[c + k * step];
#pragma unroll
    for (int k = 0; k < K; ++k) put_unary<V>(op, pred, x[k].v, out, c + k * step);
  }
};

template <typename T, int V>
__global__ void unary_vec_kernel(int op, const T* in, void* out, int64_t n) {
  const bool pred = unary_is_pred(op);
  const int64_t nc = n / V;
  for_each_chunk<V>(nc, UnaryVecF<T, V>{op, pred, reinterpret_cast<const Pack<T, V>*>(in), out});
  OXD_GRID_LOOP_FROM(i, nc * V, n) put_unary<1>(op, pred, &in[i], out, i);
}

// a_one / b_one: the operand is a single value (read once).
template <typename T, int V>
struct BinaryVecF {
  int op;
  bool cmp;
  const T* __restrict__ a;
  const T* __restrict__ b;
  bool a_one, b_one;
  void* out;
  template <int K>
  __device__ __forceinline__ void run(int64_t c, int64_t step) const {
    Pack<T, V> x[K], y[K];
    const T a0 = a_one ? a[0] : T(), b0 = b_one ? b[0] : T();
#pragma unroll
    for (int k = 0; k < K; ++k) {
      if (a_one) {
#pragma unroll
        for (int e = 0; e < V; ++e) x[k].v[e] = a0;
      } else {
        x[k] = reinterpret_cast<const Pack<T, V>*>(a)[c + k * step];
      }
      if (b_one) {
#pragma unroll
        for (int e = 0; e < V; ++e) y[k].v[e] = b0;
      } else {
        y[k] = reinterpret_cast<const Pack<T, V>*>(b)[c + k * step];
      }
    }
#pragma unroll
    for (int k = 0; k < K; ++k) {
      if (cmp) {
        Pack<bool, V> r;
#pragma unroll
        for (int e = 0; e < V; ++e) r.v[e] = binary_cmp(op, x[k].v[e], y[k].v[e]);
        static_cast<Pack<bool, V>*>(out)[c + k * step] = r;
      } else {
        Pack<T, V> r;
#pragma unroll
        for (int e = 0; e < V; ++e) r.v[e] = binary_val(op, x[k].v[e], y[k].v[e]);
        static_cast<Pack<T, V>*>(out)[c + k * step] = r;
      }
    }
  }
};

template <typename T, int V>
__global__ void binary_vec_kernel(int op, const T* a, const T* b, bool a_one, bool b_one,
                                  void* out, int64_t n) {
  const bool cmp = binary_is_cmp(op);
  const int64_t nc = n / V;
  for_each_chunk<V>(nc, BinaryVecF<T, V>{op, cmp, a, b, a_one, b_one, out});
  OXD_GRID_LOOP_FROM(i, nc * V, n) {
    T x = a[a_one ? 0 : i], y = b[b_one ? 0 : i];
    if (cmp) static_cast<bool*>(out)[i] = binary_cmp(op, x, y);
    else static_cast<T*>(out)[i] = binary_val(op, x, y);
  }
}

// Two merged dims (rows x cols, cols a multiple of V) where each operand
// steps by 1 along the columns (read as vectors) or 0 (one value per row):
// bias rows, per-row scalars (x - max(x, -1)), one value, dense.
// (Its store loop repeats BinaryVecF's on purpose: a shared helper changed
// ptxas' register allocation of both kernels.)
template <typename T, int V>
struct Binary2dF {
  int op;
  bool cmp;
  const T* __restrict__ a;
  const T* __restrict__ b;
  int64_t cols, oa, ob;  // columns; each operand's row stride
  bool va, vb;           // column stride 1 (else 0)
  bool idx32;            // row / column by 32-bit division
  void* out;
  template <int K>
  __device__ __forceinline__ void run(int64_t c, int64_t step) const {
    Pack<T, V> x[K], y[K];
#pragma unroll
    for (int k = 0; k < K; ++k) {
      const int64_t e0 = (c + k * step) * V;
      int64_t row, col;
      if (idx32) {
        const uint32_t r = uint32_t(e0) / uint32_t(cols);
        row = r, col = int64_t(uint32_t(e0) - r * uint32_t(cols));
      } else {
        row = e0 / cols, col = e0 - row * cols;
      }
      if (va) {
        x[k] = *reinterpret_cast<const Pack<T, V>*>(a + row * oa + col);
      } else {
        const T v0 = a[row * oa];
#pragma unroll
        for (int e = 0; e < V; ++e) x[k].v[e] = v0;
      }
      if (vb) {
        y[k] = *reinterpret_cast<const Pack<T, V>*>(b + row * ob + col);
      } else {
        const T v0 = b[row * ob];
#pragma unroll
        for (int e = 0; e < V; ++e) y[k].v[e] = v0;
      }
    }
#pragma unroll
    for (int k = 0; k < K; ++k) {
      if (cmp) {
        Pack<bool, V> r;
#pragma unroll
        for (int e = 0; e < V; ++e) r.v[e] = binary_cmp(op, x[k].v[e], y[k].v[e]);
        static_cast<Pack<bool, V>*>(out)[c + k * step] = r;
      } else {
        Pack<T, V> r;
#pragma unroll
        for (int e = 0; e < V; ++e) r.v[e] = binary_val(op, x[k].v[e], y[k].v[e]);
        static_cast<Pack<T, V>*>(out)[c + k * step] = r;
      }
    }
  }
};

template <typename T, int V>
__global__ void binary_2d_kernel(Binary2dF<T, V> f, int64_t n) {
  for_each_chunk<V>(n / V, f);
}

// Boolean condition; U: an unsigned type of the values' size.
template <typename U, int V>
struct SelectVecF {
  const bool* __restrict__ c;
  const U* __restrict__ a;
  const U* __restrict__ b;
  bool c_one, a_one, b_one;
  U* out;
  template <int K>
  __device__ __forceinline__ void run(int64_t ch, int64_t step) const {
    Pack<bool, V> cc[K];
    Pack<U, V> x[K], y[K];
#pragma unroll
    for (int k = 0; k < K; ++k) {
      const int64_t j = ch + k * step;
#pragma unroll
      for (int e = 0; e < V; ++e) {
        if (c_one) cc[k].v[e] = c[0];
        if (a_one) x[k].v[e] = a[0];
        if (b_one) y[k].v[e] = b[0];
      }
      if (!c_one) cc[k] = reinterpret_cast<const Pack<bool, V>*>(c)[j];
      if (!a_one) x[k] = reinterpret_cast<const Pack<U, V>*>(a)[j];
      if (!b_one) y[k] = reinterpret_cast<const Pack<U, V>*>(b)[j];
    }
#pragma unroll
    for (int k = 0; k < K; ++k) {
      Pack<U, V> r;
#pragma unroll
      for (int e = 0; e < V; ++e) r.v[e] = cc[k].v[e] ? x[k].v[e] : y[k].v[e];
      reinterpret_cast<Pack<U, V>*>(out)[ch + k * step] = r;
    }
  }
};

template <typename U, int V>
__global__ void select_vec_kernel(const bool* c, const U* a, const U* b, bool c_one, bool a_one,
                                  bool b_one, U* out, int64_t n) {
  const int64_t nc = n / V;
  for_each_chunk<V>(nc, SelectVecF<U, V>{c, a, b, c_one, a_one, b_one, out});
  OXD_GRID_LOOP_FROM(i, nc * V, n) out[i] = c[c_one ? 0 : i] ? a[a_one ? 0 : i] : b[b_one ? 0 : i];
}

// Blocks for n / V chunks, kUnroll chunks per thread: one pass over the
// data (grid-striding only past 2^30 blocks).
inline int vec_blocks(int64_t n, int v) {
  int64_t per_block = int64_t(kThreads) * kUnroll;
  int64_t b = (n / v + per_block - 1) / per_block;
  return int(b < 1 ? 1 : (b < (int64_t(1) << 30) ? b : (int64_t(1) << 30)));
}

// Each operand's stride over a one-dim (merged) layout: 1 dense, 0 one value.
inline bool dense_or_one(const Layout& l, int k, bool contig) {
  return contig || (l.ndim == 1 && (l.strides[k][0] == 0 || l.strides[k][0] == 1));
}
inline bool is_one(const Layout& l, int k, bool contig) {
  return !contig && l.ndim == 1 && l.strides[k][0] == 0;
}

}  // namespace

void unary(int op, const void* in, int dt, void* out, int, int64_t n, const Layout& l,
           bool contig, cudaStream_t s) {
  if (n == 0) return;
  if (contig) {
    bool done = false;
    OXD_DISPATCH(dt, {
      constexpr int V = 16 / sizeof(T);
      const size_t ob = unary_is_pred(op) ? V : sizeof(T) * V;
      if (aligned_to(in, sizeof(T) * V) && aligned_to(out, ob)) {
        unary_vec_kernel<T, V><<<vec_blocks(n, V), kThreads, 0, s>>>(op, (const T*)in, out, n);
        done = true;
      }
    });
    if (done) return;
  }
  OXD_DISPATCH(dt, unary_kernel<T><<<blocks_for(n), kThreads, 0, s>>>(op, (const T*)in, out, n, l, contig));
}

void binary(int op, const void* a, const void* b, int dt, void* out, int, int64_t n,
            const Layout& l, bool contig, cudaStream_t s) {
  if (n == 0) return;
  if (dense_or_one(l, 0, contig) && dense_or_one(l, 1, contig)) {
    const bool a1 = is_one(l, 0, contig), b1 = is_one(l, 1, contig);
    bool done = false;
    OXD_DISPATCH(dt, {
      constexpr int V = 16 / sizeof(T);
      const size_t ob = binary_is_cmp(op) ? V : sizeof(T) * V;
      if ((a1 || aligned_to(a, sizeof(T) * V)) && (b1 || aligned_to(b, sizeof(T) * V)) &&
          aligned_to(out, ob)) {
        binary_vec_kernel<T, V><<<vec_blocks(n, V), kThreads, 0, s>>>(op, (const T*)a, (const T*)b, a1, b1, out, n);
        done = true;
      }
    });
    if (done) return;
  }
  if (!contig && l.ndim == 2) {
    // Rows x columns with column strides 1 or 0 for both operands.
    const int64_t cols = l.shape[1];
    bool done = false;
    OXD_DISPATCH(dt, {
      constexpr int V = 16 / sizeof(T);
      const int64_t sa = l.strides[0][1], sb = l.strides[1][1];
      const int64_t oa = l.strides[0][0], ob = l.strides[1][0];
      const size_t ob_bytes = binary_is_cmp(op) ? V : sizeof(T) * V;
      auto ok = [&](const void* p, int64_t st, int64_t rs) {
        return st == 0 || (st == 1 && rs % V == 0 && aligned_to(p, sizeof(T) * V));
      };
      if ((sa == 0 || sa == 1) && (sb == 0 || sb == 1) && cols % V == 0 && ok(a, sa, oa) &&
          ok(b, sb, ob) && aligned_to(out, ob_bytes)) {
        Binary2dF<T, V> f{op, binary_is_cmp(op), (const T*)a, (const T*)b, cols, oa, ob,
                          sa == 1, sb == 1, n < (int64_t(1) << 32), out};
        binary_2d_kernel<T, V><<<vec_blocks(n, V), kThreads, 0, s>>>(f, n);
        done = true;
      }
    });
    if (done) return;
  }
  OXD_DISPATCH(dt, binary_kernel<T><<<blocks_for(n), kThreads, 0, s>>>(op, (const T*)a, (const T*)b, out, n, l, contig));
}

void select(const void* c, int c_dt, const void* a, const void* b, int itemsize, void* out,
            int64_t n, const Layout& l, bool contig, cudaStream_t s) {
  if (n == 0) return;
  if (c_dt == B && dense_or_one(l, 0, contig) && dense_or_one(l, 1, contig) &&
      dense_or_one(l, 2, contig)) {
    const bool c1 = is_one(l, 0, contig), a1 = is_one(l, 1, contig), b1 = is_one(l, 2, contig);
    auto run = [&](auto tag) {
      using U = decltype(tag);
      constexpr int V = 16 / sizeof(U);
      if (!((c1 || aligned_to(c, V)) && (a1 || aligned_to(a, sizeof(U) * V)) &&
            (b1 || aligned_to(b, sizeof(U) * V)) && aligned_to(out, sizeof(U) * V)))
        return false;
      select_vec_kernel<U, V><<<vec_blocks(n, V), kThreads, 0, s>>>(
          (const bool*)c, (const U*)a, (const U*)b, c1, a1, b1, (U*)out, n);
      return true;
    };
    if (with_word(itemsize, run)) return;
  }
  with_word(itemsize, [&](auto w) {
    using W = decltype(w);
    select_kernel<W><<<blocks_for(n), kThreads, 0, s>>>(c, c_dt, (const W*)a, (const W*)b,
                                                         (W*)out, n, l, contig);
  });
}

}  // namespace oxmlx::cu
