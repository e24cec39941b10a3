// Tile loops of the hottest float32/float64 ops of the fused family, written
// so that the compiler vectorizes them. Included inside an anonymous
// namespace by fused.cpp (baseline ISA) and by fused_avx2.cpp /
// fused_avx512.cpp (under `#pragma GCC target`), which is why it has no
// include guard and includes nothing: each copy is private to its file.
//
// Needs UnaryOp, BinaryOp (backend/backend.h), <cmath>, <cstdint>, <cstring>.

using SimdUnaryFn = void (*)(const void*, void*, int64_t);
using SimdBinaryFn = void (*)(const void*, const void*, void*, int64_t);

// exp for float32 in about 1 ulp, branch free: round x / ln2 to k, a Cephes
// polynomial on the remainder, then 2^k applied in two halves (so that k in
// [-150, 128] needs no special case: subnormal results come out right).
inline float simd_exp_f32(float x) {
  const float hi = 88.72283935546875f, lo = -103.972084045410f;
  float xc = x > hi ? hi : x;
  xc = xc < lo ? lo : xc;
  float k = xc * 1.44269504088896341f;
  k = (k + 12582912.0f) - 12582912.0f;
  float r = xc - k * 0.693359375f;
  r = r - k * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float y = p * r * r + r + 1.0f;
  int32_t ki = int32_t(k);
  int32_t k1 = ki >> 1, k2 = ki - k1;
  int32_t b1 = (k1 + 127) << 23, b2 = (k2 + 127) << 23;
  float s1, s2;
  std::memcpy(&s1, &b1, 4);
  std::memcpy(&s2, &b2, 4);
  y = y * s1 * s2;
  y = x > hi ? __builtin_huge_valf() : y;
  y = x < lo ? 0.0f : y;
  return x != x ? x : y;
}

template <typename T>
inline T simd_max(T a, T b) {
  T m = a < b ? b : a;
  m = b != b ? b : m;
  return a != a ? a : m;
}
template <typename T>
inline T simd_min(T a, T b) {
  T m = b < a ? b : a;
  m = b != b ? b : m;
  return a != a ? a : m;
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

inline void simd_exp(const void* in, void* out, int64_t n) {
  const float* __restrict x = static_cast<const float*>(in);
  float* __restrict y = static_cast<float*>(out);
  for (int64_t i = 0; i < n; ++i) y[i] = simd_exp_f32(x[i]);
}

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
    case UnaryOp::Exp:
      if constexpr (std::is_same_v<T, float>) return &simd_exp;
      return nullptr;
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
