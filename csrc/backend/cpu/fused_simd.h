// Tile loops of the hottest float32/float64 ops of the fused family, written
// so that the compiler vectorizes them. Included inside an anonymous
// namespace by fused.cpp (baseline ISA) and by fused_avx2.cpp /
// fused_avx512.cpp (under `#pragma GCC target`), which is why it has no
// include guard and includes nothing: each copy is private to its file.
//
// Needs UnaryOp, BinaryOp (backend/backend.h), <cmath>, <cstdint>, <cstring>.
// Programs of float32 registers and these ops run on the register engine
// instead (fused_vec.h); these loops serve float64 and mixed programs.

using SimdUnaryFn = void (*)(const void*, void*, int64_t);
using SimdBinaryFn = void (*)(const void*, const void*, void*, int64_t);

template <typename T>
inline T simd_max(T a, T b) {  // binary_scalar's: NaN of a first, ties give b
  return ((a != a) || a > b) ? a : b;
}
template <typename T>
inline T simd_min(T a, T b) {
  return ((a != a) || a < b) ? a : b;
}

#define OXMLX_SIMD_UNARY(NAME, EXPR)                                   \
  template <typename T>                                                \
  void NAME(const void* in, void* out, int64_t n) {                    \
    const T* __restrict x = static_cast<const T*>(in);                 \
    T* __restrict y = static_cast<T*>(out);                            \
    for (int64_t i = 0; i < n; ++i) {                                  \
      T v = x[i];                                                      \
      y[i] = (EXPR);                                                   \
    }                                                                  \
  }
OXMLX_SIMD_UNARY(simd_neg, -v)
OXMLX_SIMD_UNARY(simd_abs, std::abs(v))
OXMLX_SIMD_UNARY(simd_square, v * v)
OXMLX_SIMD_UNARY(simd_sqrt, std::sqrt(v))
OXMLX_SIMD_UNARY(simd_rsqrt, T(1) / std::sqrt(v))
OXMLX_SIMD_UNARY(simd_recip, T(1) / v)
#undef OXMLX_SIMD_UNARY

#define OXMLX_SIMD_BINARY(NAME, EXPR)                                  \
  template <typename T>                                                \
  void NAME(const void* pa, const void* pb, void* out, int64_t n) {    \
    const T* __restrict a = static_cast<const T*>(pa);                 \
    const T* __restrict b = static_cast<const T*>(pb);                 \
    T* __restrict y = static_cast<T*>(out);                            \
    for (int64_t i = 0; i < n; ++i) {                                  \
      T u = a[i], v = b[i];                                            \
      y[i] = (EXPR);                                                   \
    }                                                                  \
  }
OXMLX_SIMD_BINARY(simd_add, u + v)
OXMLX_SIMD_BINARY(simd_sub, u - v)
OXMLX_SIMD_BINARY(simd_mul, u * v)
OXMLX_SIMD_BINARY(simd_div, u / v)
OXMLX_SIMD_BINARY(simd_maximum, simd_max(u, v))
OXMLX_SIMD_BINARY(simd_minimum, simd_min(u, v))
#undef OXMLX_SIMD_BINARY

template <typename T>
SimdUnaryFn simd_unary_for(UnaryOp op) {
  switch (op) {
    case UnaryOp::Negative: return &simd_neg<T>;
    case UnaryOp::Abs: return &simd_abs<T>;
    case UnaryOp::Square: return &simd_square<T>;
    case UnaryOp::Sqrt: return &simd_sqrt<T>;
    case UnaryOp::Rsqrt: return &simd_rsqrt<T>;
    case UnaryOp::Reciprocal: return &simd_recip<T>;
    // Exp: the ISA files add mx.exp's polynomial for float32; the portable
    // path uses the scalar loop (std::exp, as mx.exp there).
    default: return nullptr;
  }
}

template <typename T>
SimdBinaryFn simd_binary_for(BinaryOp op) {
  switch (op) {
    case BinaryOp::Add: return &simd_add<T>;
    case BinaryOp::Subtract: return &simd_sub<T>;
    case BinaryOp::Multiply: return &simd_mul<T>;
    case BinaryOp::Divide: return &simd_div<T>;
    case BinaryOp::Maximum: return &simd_maximum<T>;
    case BinaryOp::Minimum: return &simd_minimum<T>;
    default: return nullptr;
  }
}

// nullptr where the generic loops must be used.
inline SimdUnaryFn simd_unary(UnaryOp op, bool f64) {
  return f64 ? simd_unary_for<double>(op) : simd_unary_for<float>(op);
}
inline SimdBinaryFn simd_binary(BinaryOp op, bool f64) {
  return f64 ? simd_binary_for<double>(op) : simd_binary_for<float>(op);
}
