// One scalar formula per elementwise op code. Storage types (float16_t,
// bfloat16_t) compute in float; `valid` says whether an (op, type) pair is
// instantiated at all (the op builders never send the others here).
#pragma once

#include <cmath>
#include <complex>
#include <limits>
#include <type_traits>

#include "backend/backend.h"
#include "core/dtype.h"

namespace oxmlx::cpu {

template <typename T>
inline constexpr bool is_half_v = std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>;
template <typename T>
inline constexpr bool is_complex_v = std::is_same_v<T, complex64_t>;
template <typename T>
inline constexpr bool is_float_v = std::is_floating_point_v<T> || is_half_v<T>;
template <typename T>
inline constexpr bool is_int_v = std::is_integral_v<T> && !std::is_same_v<T, bool>;

// The type arithmetic is done in.
template <typename T>
using compute_t = std::conditional_t<is_half_v<T>, float, T>;

inline float erfinv_f(float y) {
  // Giles' single-precision approximation followed by one Newton step.
  if (y <= -1.0f) return y == -1.0f ? -INFINITY : NAN;
  if (y >= 1.0f) return y == 1.0f ? INFINITY : NAN;
  float w = -std::log((1.0f - y) * (1.0f + y)), p;
  if (w < 5.0f) {
    w -= 2.5f;
    p = 2.81022636e-08f;
    p = 3.43273939e-07f + p * w;
    p = -3.5233877e-06f + p * w;
    p = -4.39150654e-06f + p * w;
    p = 0.00021858087f + p * w;
    p = -0.00125372503f + p * w;
    p = -0.00417768164f + p * w;
    p = 0.246640727f + p * w;
    p = 1.50140941f + p * w;
  } else {
    w = std::sqrt(w) - 3.0f;
    p = -0.000200214257f;
    p = 0.000100950558f + p * w;
    p = 0.00134934322f + p * w;
    p = -0.00367342844f + p * w;
    p = 0.00573950773f + p * w;
    p = -0.0076224613f + p * w;
    p = 0.00943887047f + p * w;
    p = 1.00167406f + p * w;
    p = 2.83297682f + p * w;
  }
  double x = double(p) * y;
  // Newton refinement in double: f(x) = erf(x) - y.
  double err = std::erf(x) - y;
  x -= err / (1.1283791670955126 * std::exp(-x * x));
  return float(x);
}

inline double erfinv_d(double y) {
  if (y <= -1.0) return y == -1.0 ? -INFINITY : NAN;
  if (y >= 1.0) return y == 1.0 ? INFINITY : NAN;
  double x = erfinv_f(float(y));
  for (int i = 0; i < 2; ++i) x -= (std::erf(x) - y) / (1.1283791670955126 * std::exp(-x * x));
  return x;
}

template <UnaryOp op, typename T>
constexpr bool unary_valid() {
  using O = UnaryOp;
  switch (op) {
    case O::Abs: case O::Negative: case O::Sign: case O::Square:
      return !std::is_same_v<T, bool>;
    case O::Floor: case O::Ceil: case O::Trunc:
      return !is_complex_v<T> && !std::is_same_v<T, bool>;
    case O::Round: return !std::is_same_v<T, bool>;
    case O::LogicalNot: return true;
    case O::BitwiseInvert: return std::is_integral_v<T>;
    case O::IsNan: case O::IsInf: case O::IsFinite: case O::IsPosInf: case O::IsNegInf: return true;
    case O::Real: case O::Imag: case O::Conjugate: return is_complex_v<T>;
    case O::Erf: case O::ErfInv: return is_float_v<T>;
    case O::ArcTan: case O::ArcSinh: case O::ArcCosh: case O::ArcTanh: case O::ArcSin:
    case O::ArcCos: case O::Expm1: case O::Log1p: case O::Log2: case O::Log10:
      return is_float_v<T> || is_complex_v<T>;
    default: return is_float_v<T> || is_complex_v<T>;  // transcendental
  }
}

// Result type of a unary op given the input type (most keep it).
template <UnaryOp op, typename T>
struct UnaryOut {
  using type = std::conditional_t<
      op == UnaryOp::IsNan || op == UnaryOp::IsInf || op == UnaryOp::IsFinite ||
          op == UnaryOp::IsPosInf || op == UnaryOp::IsNegInf || op == UnaryOp::LogicalNot,
      bool,
      std::conditional_t<is_complex_v<T> && (op == UnaryOp::Abs || op == UnaryOp::Real ||
                                             op == UnaryOp::Imag),
                         float, T>>;
};

// Unsigned type wide enough that arithmetic on it never promotes to int
// (uint16 * uint16 would be a signed-int multiply that can overflow).
template <typename T>
using wide_unsigned_t = std::conditional_t<(sizeof(T) < 4), uint32_t, std::make_unsigned_t<T>>;

// -v with two's-complement wrapping (-INT_MIN == INT_MIN), without signed-overflow UB.
template <typename T>
inline T wrap_neg(T v) {
  using U = std::make_unsigned_t<T>;
  return T(U(0) - U(v));
}

template <UnaryOp op, typename T>
inline typename UnaryOut<op, T>::type unary_scalar(T in) {
  using O = UnaryOp;
  using C = compute_t<T>;
  using R = typename UnaryOut<op, T>::type;
  C x = C(in);
  if constexpr (op == O::Abs) {
    if constexpr (std::is_unsigned_v<T>) return x;
    else if constexpr (is_complex_v<T>) return std::abs(x);
    else if constexpr (std::is_integral_v<T>) return R(x < C(0) ? wrap_neg(in) : in);
    else return R(std::abs(x));  // abs(-0.0) is +0.0
  } else if constexpr (op == O::Negative) {
    if constexpr (std::is_integral_v<T>) return R(wrap_neg(in));
    else return R(-x);
  } else if constexpr (op == O::Sign) {
    if constexpr (is_complex_v<T>) {
      float m = std::abs(x);
      return m == 0 ? T(0) : T(x / m);
    } else if constexpr (std::is_unsigned_v<T>) {
      return R(x != 0);
    } else {
      return R(C((x > C(0)) - (x < C(0))));  // MLX: sign(nan) == 0
    }
  } else if constexpr (op == O::Floor) {
    if constexpr (std::is_integral_v<T>) return in; else return R(std::floor(x));
  } else if constexpr (op == O::Ceil) {
    if constexpr (std::is_integral_v<T>) return in; else return R(std::ceil(x));
  } else if constexpr (op == O::Trunc) {
    if constexpr (std::is_integral_v<T>) return in; else return R(std::trunc(x));
  } else if constexpr (op == O::Round) {
    if constexpr (std::is_integral_v<T>) return in;
    else if constexpr (is_complex_v<T>) return T(std::nearbyint(x.real()), std::nearbyint(x.imag()));
    else return R(std::nearbyint(x));
  } else if constexpr (op == O::Sqrt) {
    return R(std::sqrt(x));
  } else if constexpr (op == O::Rsqrt) {
    return R(C(1) / std::sqrt(x));
  } else if constexpr (op == O::Square) {
    if constexpr (std::is_integral_v<T>) return R(T(wide_unsigned_t<T>(in) * wide_unsigned_t<T>(in)));
    else return R(x * x);
  } else if constexpr (op == O::Reciprocal) {
    return R(C(1) / x);
  } else if constexpr (op == O::Exp) {
    return R(std::exp(x));
  } else if constexpr (op == O::Expm1) {
    if constexpr (is_complex_v<T>) return R(std::exp(x) - C(1)); else return R(std::expm1(x));
  } else if constexpr (op == O::Log) {
    return R(std::log(x));
  } else if constexpr (op == O::Log1p) {
    if constexpr (is_complex_v<T>) return R(std::log(x + C(1))); else return R(std::log1p(x));
  } else if constexpr (op == O::Log2) {
    if constexpr (is_complex_v<T>) return R(std::log(x) / std::log(2.0f)); else return R(std::log2(x));
  } else if constexpr (op == O::Log10) {
    return R(std::log10(x));
  } else if constexpr (op == O::Sin) { return R(std::sin(x));
  } else if constexpr (op == O::Cos) { return R(std::cos(x));
  } else if constexpr (op == O::Tan) { return R(std::tan(x));
  } else if constexpr (op == O::ArcSin) { return R(std::asin(x));
  } else if constexpr (op == O::ArcCos) { return R(std::acos(x));
  } else if constexpr (op == O::ArcTan) { return R(std::atan(x));
  } else if constexpr (op == O::Sinh) { return R(std::sinh(x));
  } else if constexpr (op == O::Cosh) { return R(std::cosh(x));
  } else if constexpr (op == O::Tanh) { return R(std::tanh(x));
  } else if constexpr (op == O::ArcSinh) { return R(std::asinh(x));
  } else if constexpr (op == O::ArcCosh) { return R(std::acosh(x));
  } else if constexpr (op == O::ArcTanh) { return R(std::atanh(x));
  } else if constexpr (op == O::Sigmoid) {
    if constexpr (is_complex_v<T>) {
      return R(C(1) / (C(1) + std::exp(-x)));
    } else {
      // Stable for large |x|: never exponentiates a positive number.
      C e = std::exp(-std::abs(x));
      return R(x >= C(0) ? C(1) / (C(1) + e) : e / (C(1) + e));
    }
  } else if constexpr (op == O::Erf) {
    return R(std::erf(x));
  } else if constexpr (op == O::ErfInv) {
    if constexpr (std::is_same_v<T, double>) return erfinv_d(x); else return R(erfinv_f(float(x)));
  } else if constexpr (op == O::LogicalNot) {
    if constexpr (is_complex_v<T>) return x == C(0); else return !(x != C(0));
  } else if constexpr (op == O::BitwiseInvert) {
    if constexpr (std::is_same_v<T, bool>) return !in; else return R(~in);
  } else if constexpr (op == O::IsNan) {
    if constexpr (is_complex_v<T>) return std::isnan(x.real()) || std::isnan(x.imag());
    else if constexpr (is_float_v<T>) return std::isnan(x);
    else return false;
  } else if constexpr (op == O::IsInf) {
    if constexpr (is_complex_v<T>) return std::isinf(x.real()) || std::isinf(x.imag());
    else if constexpr (is_float_v<T>) return std::isinf(x);
    else return false;
  } else if constexpr (op == O::IsFinite) {
    if constexpr (is_complex_v<T>) return std::isfinite(x.real()) && std::isfinite(x.imag());
    else if constexpr (is_float_v<T>) return std::isfinite(x);
    else return true;
  } else if constexpr (op == O::IsPosInf) {
    // Complex values compare to the real infinity (MLX): inf+0j only.
    if constexpr (is_complex_v<T>) return x == C(std::numeric_limits<float>::infinity());
    else if constexpr (is_float_v<T>) return x == std::numeric_limits<C>::infinity();
    else return false;
  } else if constexpr (op == O::IsNegInf) {
    if constexpr (is_complex_v<T>) return x == C(-std::numeric_limits<float>::infinity());
    else if constexpr (is_float_v<T>) return x == -std::numeric_limits<C>::infinity();
    else return false;
  } else if constexpr (op == O::Real) {
    return x.real();
  } else if constexpr (op == O::Imag) {
    return x.imag();
  } else if constexpr (op == O::Conjugate) {
    return std::conj(x);
  }
}

template <BinaryOp op, typename T>
constexpr bool binary_valid() {
  using O = BinaryOp;
  switch (op) {
    case O::Equal: case O::NotEqual: case O::NanEqual: case O::LogicalAnd: case O::LogicalOr:
    case O::Add: case O::Subtract: case O::Multiply: case O::Maximum: case O::Minimum:
    case O::Less: case O::LessEqual: case O::Greater: case O::GreaterEqual:
      return true;
    case O::Divide: case O::LogAddExp: return is_float_v<T> || is_complex_v<T>;
    case O::ArcTan2: return is_float_v<T>;
    case O::Power: return !std::is_same_v<T, bool>;
    case O::Remainder: case O::FloorDivide: return !is_complex_v<T> && !std::is_same_v<T, bool>;
    case O::BitwiseAnd: case O::BitwiseOr: case O::BitwiseXor: return std::is_integral_v<T>;
    case O::LeftShift: case O::RightShift: return std::is_integral_v<T>;
    default: return false;
  }
}

template <BinaryOp op>
inline constexpr bool binary_is_comparison =
    op == BinaryOp::Equal || op == BinaryOp::NotEqual || op == BinaryOp::NanEqual ||
    op == BinaryOp::Less || op == BinaryOp::LessEqual || op == BinaryOp::Greater ||
    op == BinaryOp::GreaterEqual || op == BinaryOp::LogicalAnd || op == BinaryOp::LogicalOr;

template <BinaryOp op, typename T>
using binary_out_t = std::conditional_t<binary_is_comparison<op>, bool, T>;

template <typename C>
inline bool lex_less(C a, C b) {
  if constexpr (is_complex_v<C>) {
    return a.real() < b.real() || (a.real() == b.real() && a.imag() < b.imag());
  } else {
    return a < b;
  }
}

template <typename T>
inline T int_pow(T base, T exp) {
  if constexpr (std::is_signed_v<T>) {
    if (exp < 0) return base == 1 ? 1 : (base == -1 ? ((exp & 1) ? -1 : 1) : 0);
  }
  using U = wide_unsigned_t<T>;  // wraps modulo 2^bits once cast back to T
  U r = 1, b = U(std::make_unsigned_t<T>(base));
  auto e = exp;
  while (e) {
    if (e & 1) r = U(r * b);
    b = U(b * b);
    e >>= 1;
  }
  return T(r);
}

template <BinaryOp op, typename T>
inline binary_out_t<op, T> binary_scalar(T ia, T ib) {
  using O = BinaryOp;
  using C = compute_t<T>;
  using R = binary_out_t<op, T>;
  C a = C(ia), b = C(ib);
  if constexpr (op == O::Add) {
    if constexpr (std::is_same_v<T, bool>) return ia || ib;
    else if constexpr (std::is_integral_v<T>) return T(std::make_unsigned_t<T>(ia) + std::make_unsigned_t<T>(ib));
    else return R(a + b);
  } else if constexpr (op == O::Subtract) {
    if constexpr (std::is_same_v<T, bool>) return ia != ib;
    else if constexpr (std::is_integral_v<T>) return T(std::make_unsigned_t<T>(ia) - std::make_unsigned_t<T>(ib));
    else return R(a - b);
  } else if constexpr (op == O::Multiply) {
    if constexpr (std::is_same_v<T, bool>) return ia && ib;
    else if constexpr (std::is_integral_v<T>) return T(wide_unsigned_t<T>(ia) * wide_unsigned_t<T>(ib));
    else return R(a * b);
  } else if constexpr (op == O::Divide) {
    return R(a / b);
  } else if constexpr (op == O::Power) {
    if constexpr (std::is_integral_v<T>) return int_pow<T>(ia, ib);
    else return R(std::pow(a, b));
  } else if constexpr (op == O::Remainder) {
    if constexpr (std::is_integral_v<T>) {
      if (ib == 0) return 0;  // numpy's result (MLX's CPU backend traps)
      if constexpr (std::is_signed_v<T>) {
        if (ib == -1) return 0;  // avoids the INT_MIN % -1 trap
        T r = ia % ib;
        return (r != 0 && ((r < 0) != (ib < 0))) ? T(r + ib) : r;
      } else {
        return ia % ib;
      }
    } else {
      C r = std::fmod(a, b);
      if (r != C(0) && ((r < C(0)) != (b < C(0)))) r += b;
      return R(r);
    }
  } else if constexpr (op == O::FloorDivide) {
    if constexpr (std::is_integral_v<T>) {
      if (ib == 0) return 0;
      if constexpr (std::is_signed_v<T>) {
        if (ib == -1) return T(T(0) - std::make_unsigned_t<T>(ia));  // wraps for INT_MIN
        T q = ia / ib;
        return ((ia % ib != 0) && ((ia < 0) != (ib < 0))) ? T(q - 1) : q;
      } else {
        return ia / ib;
      }
    } else {
      return R(std::floor(a / b));
    }
  } else if constexpr (op == O::Maximum) {
    // NaN propagates (a first), ties give b (-0.0 vs 0.0, as MLX and numpy);
    // written as one select so that loops vectorize.
    if constexpr (is_float_v<T>) return ((a != a) || a > b) ? ia : ib;
    else if constexpr (is_complex_v<T>) return lex_less(a, b) ? ib : ia;
    else return a < b ? ib : ia;
  } else if constexpr (op == O::Minimum) {
    if constexpr (is_float_v<T>) return ((a != a) || a < b) ? ia : ib;
    else if constexpr (is_complex_v<T>) return lex_less(b, a) ? ib : ia;
    else return b < a ? ib : ia;
  } else if constexpr (op == O::Equal) {
    return a == b;
  } else if constexpr (op == O::NotEqual) {
    return a != b;
  } else if constexpr (op == O::NanEqual) {
    if constexpr (is_complex_v<T>) {
      auto n = [](C v) { return std::isnan(v.real()) || std::isnan(v.imag()); };
      return a == b || (n(a) && n(b));
    } else if constexpr (is_float_v<T>) {
      return a == b || (std::isnan(a) && std::isnan(b));
    } else {
      return a == b;
    }
  } else if constexpr (op == O::Less) {
    return lex_less(a, b);
  } else if constexpr (op == O::LessEqual) {
    return lex_less(a, b) || a == b;
  } else if constexpr (op == O::Greater) {
    return lex_less(b, a);
  } else if constexpr (op == O::GreaterEqual) {
    return lex_less(b, a) || a == b;
  } else if constexpr (op == O::LogicalAnd) {
    return (a != C(0)) && (b != C(0));
  } else if constexpr (op == O::LogicalOr) {
    return (a != C(0)) || (b != C(0));
  } else if constexpr (op == O::BitwiseAnd) {
    return T(ia & ib);
  } else if constexpr (op == O::BitwiseOr) {
    return T(ia | ib);
  } else if constexpr (op == O::BitwiseXor) {
    return T(ia ^ ib);
  } else if constexpr (op == O::LeftShift) {
    if constexpr (std::is_same_v<T, bool>) {
      return ia && !ib;
    } else {
      constexpr int bits = sizeof(T) * 8;
      if (ib < 0 || ib >= T(bits)) return 0;
      return T(std::make_unsigned_t<T>(ia) << ib);
    }
  } else if constexpr (op == O::RightShift) {
    if constexpr (std::is_same_v<T, bool>) {
      return ia && !ib;
    } else {
      constexpr int bits = sizeof(T) * 8;
      if (ib < 0 || ib >= T(bits)) return (std::is_signed_v<T> && ia < 0) ? T(-1) : T(0);
      return T(ia >> ib);
    }
  } else if constexpr (op == O::ArcTan2) {
    return R(std::atan2(a, b));
  } else if constexpr (op == O::LogAddExp) {
    if constexpr (is_complex_v<T>) {
      return R(std::log(std::exp(a) + std::exp(b)));
    } else {
      if (std::isnan(a) || std::isnan(b)) return R(a + b);
      C m = std::max(a, b), n = std::min(a, b);
      if (std::isinf(m) && m == n) return R(m);  // -inf + -inf, inf + inf
      return R(m + std::log1p(std::exp(n - m)));
    }
  }
}

}  // namespace oxmlx::cpu
