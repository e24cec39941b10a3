// The CUDA backend's kernels. One instantiation per storage type (the op
// code is a run-time switch that is uniform across a launch), so the whole
// backend compiles in one small translation unit. 16-bit floats compute in
// float, like the CPU backend; results follow backend/cpu/scalar_ops.h.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cuda/std/limits>
#include <cuda/std/type_traits>

#include "backend/cuda/kernels.h"

namespace oxmlx::cu {

namespace {

namespace cs = cuda::std;
using half_t = __half;
using bf16_t = __nv_bfloat16;

// Codes of Dtype::Val.
enum Dt : int { B = 0, U8, U16, U32, U64, I8, I16, I32, I64, F16, F32, F64, BF16 };

template <typename T>
constexpr bool is_half = cs::is_same_v<T, half_t> || cs::is_same_v<T, bf16_t>;
template <typename T>
constexpr bool is_flt = cs::is_floating_point_v<T> || is_half<T>;
template <typename T>
constexpr bool is_int = cs::is_integral_v<T> && !cs::is_same_v<T, bool>;
template <typename T>
using comp_t = cs::conditional_t<is_half<T>, float, T>;

#define OX_DISPATCH(dt, ...)                            \
  switch (dt) {                                         \
    case B: { using T = bool; __VA_ARGS__; } break;     \
    case U8: { using T = uint8_t; __VA_ARGS__; } break; \
    case U16: { using T = uint16_t; __VA_ARGS__; } break; \
    case U32: { using T = uint32_t; __VA_ARGS__; } break; \
    case U64: { using T = uint64_t; __VA_ARGS__; } break; \
    case I8: { using T = int8_t; __VA_ARGS__; } break;  \
    case I16: { using T = int16_t; __VA_ARGS__; } break; \
    case I32: { using T = int32_t; __VA_ARGS__; } break; \
    case I64: { using T = int64_t; __VA_ARGS__; } break; \
    case F16: { using T = half_t; __VA_ARGS__; } break; \
    case F32: { using T = float; __VA_ARGS__; } break;  \
    case F64: { using T = double; __VA_ARGS__; } break; \
    case BF16: { using T = bf16_t; __VA_ARGS__; } break; \
    default: break;                                     \
  }

// float -> bfloat16 as the CPU backend (core/half.h): round to nearest even,
// NaN keeps its sign and payload's top bits and is made quiet (the hardware
// conversion returns the canonical positive NaN).
__device__ __forceinline__ bf16_t f2bf(float f) {
  const uint32_t u = __float_as_uint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return __ushort_as_bfloat16(uint16_t((u >> 16) | 0x40));
  return __float2bfloat16_rn(f);
}

template <typename To, typename From>
__device__ __forceinline__ To cvt(From x) {
  if constexpr (cs::is_same_v<To, From>) {
    return x;
  } else if constexpr (is_half<From>) {
    return cvt<To>(float(x));
  } else if constexpr (cs::is_same_v<To, bool>) {
    return x != From(0);
  } else if constexpr (cs::is_same_v<To, half_t>) {
    return __float2half_rn(float(x));
  } else if constexpr (cs::is_same_v<To, bf16_t>) {
    return f2bf(float(x));
  } else {
    return static_cast<To>(x);
  }
}

template <typename From>
__device__ __forceinline__ void store(void* out, int dt, int64_t i, From v) {
  OX_DISPATCH(dt, static_cast<T*>(out)[i] = cvt<T>(v));
}

// Element offsets of linear index i for N operands.
template <int N>
__device__ __forceinline__ void offsets(const Layout& l, int64_t i, int64_t* off) {
  if (l.ndim == 1) {
    for (int k = 0; k < N; ++k) off[k] = i * l.strides[k][0];
    return;
  }
  for (int k = 0; k < N; ++k) off[k] = 0;
  if (i < (int64_t(1) << 32)) {
    // 32-bit division is several times cheaper than 64-bit.
    uint32_t j = uint32_t(i);
    for (int d = l.ndim - 1; d >= 0; --d) {
      uint32_t q = j / uint32_t(l.shape[d]), r = j - q * uint32_t(l.shape[d]);
      for (int k = 0; k < N; ++k) off[k] += int64_t(r) * l.strides[k][d];
      j = q;
    }
    return;
  }
  for (int d = l.ndim - 1; d >= 0; --d) {
    int64_t q = i / l.shape[d], r = i - q * l.shape[d];
    for (int k = 0; k < N; ++k) off[k] += r * l.strides[k][d];
    i = q;
  }
}

constexpr int kThreads = 256;
inline int blocks_for(int64_t n) {
  int64_t b = (n + kThreads - 1) / kThreads;
  return int(b < 132 * 64 ? (b < 1 ? 1 : b) : 132 * 64);
}

#define OX_GRID_LOOP(i, n) \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

// ---------------------------------------------------------------- copy

template <typename T>
__global__ void copy_kernel(const T* in, void* out, int out_dt, int64_t n, Layout l, bool contig) {
  OX_GRID_LOOP(i, n) {
    int64_t o[1] = {i};
    if (!contig) offsets<1>(l, i, o);
    store(out, out_dt, i, in[o[0]]);
  }
}

template <typename T>
__global__ void window_kernel(const T* in, void* out, int out_dt, int64_t n, Layout l) {
  OX_GRID_LOOP(i, n) {
    int64_t o[2];
    offsets<2>(l, i, o);
    store(out, out_dt, o[1], in[o[0]]);
  }
}

template <typename T>
__global__ void move_kernel(const T* in, T* out, int64_t n, Layout l, bool contig) {
  OX_GRID_LOOP(i, n) {
    int64_t o[1] = {i};
    if (!contig) offsets<1>(l, i, o);
    out[i] = in[o[0]];
  }
}

// ---------------------------------------------------------------- unary

// UnaryOp codes (backend/backend.h).
enum U : int {
  Abs, Negative, Sign, Floor, Ceil, Round, Trunc, Sqrt, Rsqrt, Square, Reciprocal,
  Exp, Expm1, Log, Log1p, Log2, Log10, Sin, Cos, Tan, ArcSin, ArcCos, ArcTan,
  Sinh, Cosh, Tanh, ArcSinh, ArcCosh, ArcTanh, Sigmoid, Erf, ErfInv,
  LogicalNot, BitwiseInvert, IsNan, IsInf, IsFinite, IsPosInf, IsNegInf
};

__device__ __forceinline__ bool unary_is_pred(int op) {
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

__device__ __forceinline__ bool binary_is_cmp(int op) { return op >= Equal && op <= LogicalOr; }

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
  OX_GRID_LOOP(i, n) {
    int64_t o[3] = {i, i, i};
    if (!contig) offsets<3>(l, i, o);
    bool take = false;
    OX_DISPATCH(c_dt, take = cvt<bool>(static_cast<const T*>(c)[o[0]]));
    out[i] = take ? a[o[1]] : b[o[2]];
  }
}

// ---------------------------------------------------------------- vectorized

// Dense paths of unary, binary and select: every operand is row-contiguous
// over the output or a single broadcast value. Each thread moves V elements
// of each operand with one aligned vector access (16 bytes for the operand
// type) and keeps U such vectors in flight before computing.
template <typename T, int V>
struct alignas(sizeof(T) * V) Pack {
  T v[V];
};

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
    for (int k = 0; k < K; ++k) {
      if (pred) {
        Pack<bool, V> y;
#pragma unroll
        for (int e = 0; e < V; ++e) y.v[e] = unary_pred(op, x[k].v[e]);
        static_cast<Pack<bool, V>*>(out)[c + k * step] = y;
      } else {
        Pack<T, V> y;
#pragma unroll
        for (int e = 0; e < V; ++e) y.v[e] = unary_val(op, x[k].v[e]);
        static_cast<Pack<T, V>*>(out)[c + k * step] = y;
      }
    }
  }
};

template <typename T, int V>
__global__ void unary_vec_kernel(int op, const T* in, void* out, int64_t n) {
  const bool pred = unary_is_pred(op);
  const int64_t nc = n / V;
  for_each_chunk<V>(nc, UnaryVecF<T, V>{op, pred, reinterpret_cast<const Pack<T, V>*>(in), out});
  for (int64_t i = nc * V + int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    if (pred) static_cast<bool*>(out)[i] = unary_pred(op, in[i]);
    else static_cast<T*>(out)[i] = unary_val(op, in[i]);
  }
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
  for (int64_t i = nc * V + int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    T x = a[a_one ? 0 : i], y = b[b_one ? 0 : i];
    if (cmp) static_cast<bool*>(out)[i] = binary_cmp(op, x, y);
    else static_cast<T*>(out)[i] = binary_val(op, x, y);
  }
}

// Two merged dims (rows x cols, cols a multiple of V) where each operand
// steps by 1 along the columns (read as vectors) or 0 (one value per row):
// bias rows, per-row scalars (x - max(x, -1)), one value, dense.
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
  for (int64_t i = nc * V + int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    out[i] = c[c_one ? 0 : i] ? a[a_one ? 0 : i] : b[b_one ? 0 : i];
}

inline bool aligned_to(const void* p, size_t bytes) {
  return reinterpret_cast<uintptr_t>(p) % bytes == 0;
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

// ---------------------------------------------------------------- casts

// Dense casts between the common types (bool masks to float, 16-bit floats
// to float and back, int32): 8 elements per thread and vector, two vectors
// in flight; the generic copy_kernel switches on the output type per element.
template <typename In, typename Out>
__global__ void cast_vec_kernel(const In* in, Out* out, int64_t n) {
  constexpr int V = 8;
  const int64_t nc = n / V, step = int64_t(gridDim.x) * blockDim.x;
  int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  for (; c + step < nc; c += 2 * step) {
    const Pack<In, V> x0 = reinterpret_cast<const Pack<In, V>*>(in)[c];
    const Pack<In, V> x1 = reinterpret_cast<const Pack<In, V>*>(in)[c + step];
    Pack<Out, V> y0, y1;
#pragma unroll
    for (int e = 0; e < V; ++e) y0.v[e] = cvt<Out>(x0.v[e]), y1.v[e] = cvt<Out>(x1.v[e]);
    reinterpret_cast<Pack<Out, V>*>(out)[c] = y0;
    reinterpret_cast<Pack<Out, V>*>(out)[c + step] = y1;
  }
  for (; c < nc; c += step) {
    const Pack<In, V> x0 = reinterpret_cast<const Pack<In, V>*>(in)[c];
    Pack<Out, V> y0;
#pragma unroll
    for (int e = 0; e < V; ++e) y0.v[e] = cvt<Out>(x0.v[e]);
    reinterpret_cast<Pack<Out, V>*>(out)[c] = y0;
  }
  for (int64_t i = nc * V + int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step)
    out[i] = cvt<Out>(in[i]);
}

#define OX_CAST_TYPES(dt, ...)                             \
  switch (dt) {                                            \
    case B: { using T = bool; __VA_ARGS__; } break;        \
    case I32: { using T = int32_t; __VA_ARGS__; } break;   \
    case F16: { using T = half_t; __VA_ARGS__; } break;    \
    case F32: { using T = float; __VA_ARGS__; } break;     \
    case BF16: { using T = bf16_t; __VA_ARGS__; } break;   \
    default: break;                                        \
  }

// ---------------------------------------------------------------- arange

template <typename T>
__global__ void arange_kernel(double start, double step, bool exact_int, T* out, int64_t n) {
  OX_GRID_LOOP(i, n) {
    if constexpr (is_int<T>) {
      if (exact_int) {
        out[i] = T(int64_t(start) + i * int64_t(step));
        continue;
      }
    }
    out[i] = cvt<T>(start + double(i) * step);
  }
}

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
      if (vec) {
        const int64_t b0 = s * split_len;
        switch (op) {
          case RSum: acc = reduce_vec<RSum>(p, acc, b0, r1, lane, group); break;
          case RProd: acc = reduce_vec<RProd>(p, acc, b0, r1, lane, group); break;
          case RMax: acc = reduce_vec<RMax>(p, acc, b0, r1, lane, group); break;
          case RMin: acc = reduce_vec<RMin>(p, acc, b0, r1, lane, group); break;
          case RAnd: acc = reduce_vec<RAnd>(p, acc, b0, r1, lane, group); break;
          default: acc = reduce_vec<ROr>(p, acc, b0, r1, lane, group); break;
        }
      } else switch (op) {
        case RSum: acc = reduce_range<RSum>(p, acc, r0, r1, group, red); break;
        case RProd: acc = reduce_range<RProd>(p, acc, r0, r1, group, red); break;
        case RMax: acc = reduce_range<RMax>(p, acc, r0, r1, group, red); break;
        case RMin: acc = reduce_range<RMin>(p, acc, r0, r1, group, red); break;
        case RAnd: acc = reduce_range<RAnd>(p, acc, r0, r1, group, red); break;
        default: acc = reduce_range<ROr>(p, acc, r0, r1, group, red); break;
      }
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
  OX_GRID_LOOP(line, outer * inner) {
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

inline bool unary_is_pred_host(int op) { return op == LogicalNot || op >= IsNan; }
inline bool binary_is_cmp_host(int op) { return op >= Equal && op <= LogicalOr; }

// The host side checks cudaGetLastError after each launcher.
inline void check_launch() {}

}  // namespace

void copy(const void* in, int in_dt, void* out, int out_dt, int64_t n, const Layout& l,
          bool contig, cudaStream_t s) {
  if (n == 0) return;
  int g = blocks_for(n);
  if (in_dt == out_dt && contig) {
    int isz = in_dt == B || in_dt == U8 || in_dt == I8 ? 1
              : in_dt == U16 || in_dt == I16 || in_dt == F16 || in_dt == BF16 ? 2
              : in_dt == U32 || in_dt == I32 || in_dt == F32 ? 4 : 8;
    cudaMemcpyAsync(out, in, size_t(n) * isz, cudaMemcpyDeviceToDevice, s);
    return;
  }
  if (in_dt == out_dt) {
    int sz = in_dt == B || in_dt == U8 || in_dt == I8 ? 1
             : in_dt == U16 || in_dt == I16 || in_dt == F16 || in_dt == BF16 ? 2
             : in_dt == U32 || in_dt == I32 || in_dt == F32 ? 4 : 8;
    if (sz == 1) move_kernel<<<g, kThreads, 0, s>>>((const uint8_t*)in, (uint8_t*)out, n, l, contig);
    if (sz == 2) move_kernel<<<g, kThreads, 0, s>>>((const uint16_t*)in, (uint16_t*)out, n, l, contig);
    if (sz == 4) move_kernel<<<g, kThreads, 0, s>>>((const uint32_t*)in, (uint32_t*)out, n, l, contig);
    if (sz == 8) move_kernel<<<g, kThreads, 0, s>>>((const uint64_t*)in, (uint64_t*)out, n, l, contig);
  } else {
    auto common = [](int d) { return d == B || d == I32 || d == F16 || d == F32 || d == BF16; };
    auto isz = [](int d) { return d == B ? 1 : d == I32 || d == F32 ? 4 : 2; };
    if (contig && common(in_dt) && common(out_dt) && aligned_to(in, 8 * isz(in_dt)) &&
        aligned_to(out, 8 * isz(out_dt))) {
      const int64_t per = int64_t(kThreads) * 8 * 2;
      const int64_t b = (n + per - 1) / per;
      const int cg = int(b < 1 ? 1 : b < 132 * 64 ? b : 132 * 64);
      OX_CAST_TYPES(in_dt, {
        using In = T;
        OX_CAST_TYPES(out_dt, cast_vec_kernel<In, T><<<cg, kThreads, 0, s>>>((const In*)in, (T*)out, n));
      });
    } else {
      OX_DISPATCH(in_dt, copy_kernel<T><<<g, kThreads, 0, s>>>((const T*)in, out, out_dt, n, l, contig));
    }
  }
  check_launch();
}

void copy_to_window(const void* in, int in_dt, void* out, int out_dt, int64_t n, const Layout& l,
                    cudaStream_t s) {
  if (n == 0) return;
  OX_DISPATCH(in_dt, window_kernel<T><<<blocks_for(n), kThreads, 0, s>>>((const T*)in, out, out_dt, n, l));
}

void unary(int op, const void* in, int dt, void* out, int, int64_t n, const Layout& l,
           bool contig, cudaStream_t s) {
  if (n == 0) return;
  if (contig) {
    bool done = false;
    OX_DISPATCH(dt, {
      constexpr int V = 16 / sizeof(T);
      const size_t ob = unary_is_pred_host(op) ? V : sizeof(T) * V;
      if (aligned_to(in, sizeof(T) * V) && aligned_to(out, ob)) {
        unary_vec_kernel<T, V><<<vec_blocks(n, V), kThreads, 0, s>>>(op, (const T*)in, out, n);
        done = true;
      }
    });
    if (done) return;
  }
  OX_DISPATCH(dt, unary_kernel<T><<<blocks_for(n), kThreads, 0, s>>>(op, (const T*)in, out, n, l, contig));
  check_launch();
}

void binary(int op, const void* a, const void* b, int dt, void* out, int, int64_t n,
            const Layout& l, bool contig, cudaStream_t s) {
  if (n == 0) return;
  if (dense_or_one(l, 0, contig) && dense_or_one(l, 1, contig)) {
    const bool a1 = is_one(l, 0, contig), b1 = is_one(l, 1, contig);
    bool done = false;
    OX_DISPATCH(dt, {
      constexpr int V = 16 / sizeof(T);
      const size_t ob = binary_is_cmp_host(op) ? V : sizeof(T) * V;
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
    OX_DISPATCH(dt, {
      constexpr int V = 16 / sizeof(T);
      const int64_t sa = l.strides[0][1], sb = l.strides[1][1];
      const int64_t oa = l.strides[0][0], ob = l.strides[1][0];
      const size_t ob_bytes = binary_is_cmp_host(op) ? V : sizeof(T) * V;
      auto ok = [&](const void* p, int64_t st, int64_t rs) {
        return st == 0 || (st == 1 && rs % V == 0 && aligned_to(p, sizeof(T) * V));
      };
      if ((sa == 0 || sa == 1) && (sb == 0 || sb == 1) && cols % V == 0 && ok(a, sa, oa) &&
          ok(b, sb, ob) && aligned_to(out, ob_bytes)) {
        Binary2dF<T, V> f{op, binary_is_cmp_host(op), (const T*)a, (const T*)b, cols, oa, ob,
                          sa == 1, sb == 1, n < (int64_t(1) << 32), out};
        binary_2d_kernel<T, V><<<vec_blocks(n, V), kThreads, 0, s>>>(f, n);
        done = true;
      }
    });
    if (done) return;
  }
  OX_DISPATCH(dt, binary_kernel<T><<<blocks_for(n), kThreads, 0, s>>>(op, (const T*)a, (const T*)b, out, n, l, contig));
  check_launch();
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
    bool done = itemsize == 1 ? run(uint8_t{}) : itemsize == 2 ? run(uint16_t{})
                : itemsize == 4 ? run(uint32_t{}) : run(uint64_t{});
    if (done) return;
  }
  int g = blocks_for(n);
  switch (itemsize) {
    case 1: select_kernel<uint8_t><<<g, kThreads, 0, s>>>(c, c_dt, (const uint8_t*)a, (const uint8_t*)b, (uint8_t*)out, n, l, contig); break;
    case 2: select_kernel<uint16_t><<<g, kThreads, 0, s>>>(c, c_dt, (const uint16_t*)a, (const uint16_t*)b, (uint16_t*)out, n, l, contig); break;
    case 4: select_kernel<uint32_t><<<g, kThreads, 0, s>>>(c, c_dt, (const uint32_t*)a, (const uint32_t*)b, (uint32_t*)out, n, l, contig); break;
    default: select_kernel<uint64_t><<<g, kThreads, 0, s>>>(c, c_dt, (const uint64_t*)a, (const uint64_t*)b, (uint64_t*)out, n, l, contig); break;
  }
  check_launch();
}

void arange(double start, double step, void* out, int dt, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  bool exact = start == double(int64_t(start)) && step == double(int64_t(step));
  OX_DISPATCH(dt, arange_kernel<T><<<blocks_for(n), kThreads, 0, s>>>(start, step, exact, (T*)out, n));
  check_launch();
}

namespace {

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
  int64_t blocks = (n_out * splits + per_block - 1) / per_block;
  int g = int(blocks < 132 * 64 ? (blocks < 1 ? 1 : blocks) : 132 * 64);
  OX_DISPATCH(in_dt, {
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
  int64_t blocks = (n_out + kThreads / 32 - 1) / (kThreads / 32);
  int g = int(blocks < 132 * 64 ? blocks : 132 * 64);
  OX_DISPATCH(dt, arg_reduce_kernel<T><<<g, kThreads, 0, s>>>(op, (const T*)in, out, out_dt, outer, len, inner));
  check_launch();
}

void scan(int op, const void* in, int dt, void* out, int out_dt, int64_t outer, int64_t len,
          int64_t inner, bool reverse, bool inclusive, cudaStream_t s) {
  int64_t lines = outer * inner;
  if (lines == 0 || len == 0) return;
  OX_DISPATCH(dt, scan_kernel<T><<<blocks_for(lines), kThreads, 0, s>>>(op, (const T*)in, out, out_dt, outer, len, inner, reverse, inclusive));
  check_launch();
}

}  // namespace oxmlx::cu
