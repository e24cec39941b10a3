// Elementwise family builders: dtype rules (MLX's), broadcasting, and the
// Unary/Binary/Select primitives.
#include <cctype>
#include <cmath>

#include "ops/ops.h"
#include "ops/eager_fuse.h"
#include "ops/primitives.h"

namespace oxmlx {

const char* op_name(UnaryOp op) {
  static const char* names[] = {
      "Abs", "Negative", "Sign", "Floor", "Ceil", "Round", "Trunc", "Sqrt", "Rsqrt", "Square",
      "Reciprocal", "Exp", "Expm1", "Log", "Log1p", "Log2", "Log10", "Sin", "Cos", "Tan",
      "ArcSin", "ArcCos", "ArcTan", "Sinh", "Cosh", "Tanh", "ArcSinh", "ArcCosh", "ArcTanh",
      "Sigmoid", "Erf", "ErfInv", "LogicalNot", "BitwiseInvert", "IsNan", "IsInf", "IsFinite",
      "IsPosInf", "IsNegInf", "Real", "Imag", "Conjugate"};
  static_assert(sizeof(names) / sizeof(names[0]) == size_t(UnaryOp::Count_));
  return names[int(op)];
}

const char* op_name(BinaryOp op) {
  static const char* names[] = {
      "Add", "Subtract", "Multiply", "Divide", "Power", "Remainder", "FloorDivide", "Maximum",
      "Minimum", "Equal", "NotEqual", "Less", "LessEqual", "Greater", "GreaterEqual", "NanEqual",
      "LogicalAnd", "LogicalOr", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "LeftShift",
      "RightShift", "ArcTan2", "LogAddExp"};
  static_assert(sizeof(names) / sizeof(names[0]) == size_t(BinaryOp::Count_));
  return names[int(op)];
}

Stream to_stream(const StreamOrDevice& s) {
  if (auto* st = std::get_if<Stream>(&s)) return *st;
  if (auto* d = std::get_if<Device>(&s)) return default_stream(*d);
  return resolve_stream(nullptr);  // the default device's default stream, lock-free
}

// ---------------------------------------------------------------- primitives

void UnaryPrim::eval(const std::vector<array>& in, std::vector<array>& out) {
  backend_for(stream()).unary(op_, in[0], out[0]);
}
bool UnaryPrim::is_equivalent(const Primitive& o) const {
  auto* p = dynamic_cast<const UnaryPrim*>(&o);
  return p && p->op_ == op_;
}

void BinaryPrim::eval(const std::vector<array>& in, std::vector<array>& out) {
  backend_for(stream()).binary(op_, in[0], in[1], out[0]);
}
bool BinaryPrim::is_equivalent(const Primitive& o) const {
  auto* p = dynamic_cast<const BinaryPrim*>(&o);
  return p && p->op_ == op_;
}

void SelectPrim::eval(const std::vector<array>& in, std::vector<array>& out) {
  backend_for(stream()).ternary(TernaryOp::Select, in[0], in[1], in[2], out[0]);
}

// ------------------------------------------------------------------ unary ops

namespace {

enum class UKind { Float, Keep, Bool, Int };

UKind unary_kind(UnaryOp op) {
  using O = UnaryOp;
  switch (op) {
    case O::Abs: case O::Negative: case O::Sign: case O::Floor: case O::Ceil: case O::Round:
    case O::Trunc: case O::Square: case O::Conjugate: case O::Real: case O::Imag:
      return UKind::Keep;
    case O::LogicalNot: case O::IsNan: case O::IsInf: case O::IsFinite: case O::IsPosInf:
    case O::IsNegInf:
      return UKind::Bool;
    case O::BitwiseInvert:
      return UKind::Int;
    default:
      return UKind::Float;
  }
}

std::string lower_name(const char* n) {
  // "ArcSin" -> "arcsin", "BitwiseAnd" -> "bitwise_and": the Python names, for
  // error messages.
  std::string s;
  for (const char* c = n; *c; ++c) s += char(std::tolower(*c));
  for (const char* p : {"bitwise", "floor", "left", "right", "not", "less", "greater", "logical"}) {
    std::string pre(p);
    if (s.size() > pre.size() && s.compare(0, pre.size(), pre) == 0) return pre + "_" + s.substr(pre.size());
  }
  return s;
}

}  // namespace

array unary(UnaryOp op, const array& a_in, StreamOrDevice s) {
  Stream st = to_stream(s);
  array a = a_in;
  Dtype dt = a.dtype();
  auto nm = [op] { return lower_name(op_name(op)); };  // for messages only: built lazily
  switch (unary_kind(op)) {
    case UKind::Float:
      if (!is_inexact(dt)) {
        a = astype(a, float32, st);
        dt = float32;
      }
      if (is_complex(dt) && (op == UnaryOp::Erf || op == UnaryOp::ErfInv))
        throw ValueError(msg("[", nm(), "] Not supported for complex64."));
      break;
    case UKind::Keep:
      if (dt == bool_ && (op == UnaryOp::Negative))
        throw ValueError("[negative] Not supported for bool, use logical_not instead.");
      if (is_complex(dt) && (op == UnaryOp::Floor || op == UnaryOp::Ceil || op == UnaryOp::Trunc))
        throw ValueError(msg("[", nm(), "] Not supported for complex64."));
      if (!is_complex(dt) && (op == UnaryOp::Real || op == UnaryOp::Conjugate)) return a;
      if (!is_complex(dt) && op == UnaryOp::Imag) return zeros_like(a, st);
      if (dt == bool_) return a;  // abs, sign, square, round, floor, ... of bool (as MLX)
      if (is_integral(dt) &&
          (op == UnaryOp::Floor || op == UnaryOp::Ceil || op == UnaryOp::Trunc || op == UnaryOp::Round))
        return a;
      if (is_complex(dt) && (op == UnaryOp::Abs || op == UnaryOp::Real || op == UnaryOp::Imag))
        dt = float32;
      break;
    case UKind::Bool:
      dt = bool_;
      break;
    case UKind::Int:
      if (is_inexact(dt))
        throw ValueError(msg("[bitwise_invert] Bitwise inverse only allowed on integer types but got ",
                             dtype_name(dt), "."));
      break;
  }
  return array(a.shape(), dt, make_pooled<UnaryPrim>(st, op), {a});
}

#define OXMLX_DEF_UNARY(fn, OP) \
  array fn(const array& a, StreamOrDevice s) { return unary(UnaryOp::OP, a, s); }
OXMLX_DEF_UNARY(abs, Abs)
OXMLX_DEF_UNARY(negative, Negative)
OXMLX_DEF_UNARY(sign, Sign)
OXMLX_DEF_UNARY(floor, Floor)
OXMLX_DEF_UNARY(ceil, Ceil)
OXMLX_DEF_UNARY(trunc, Trunc)
OXMLX_DEF_UNARY(sqrt, Sqrt)
OXMLX_DEF_UNARY(rsqrt, Rsqrt)
OXMLX_DEF_UNARY(square, Square)
OXMLX_DEF_UNARY(reciprocal, Reciprocal)
OXMLX_DEF_UNARY(exp, Exp)
OXMLX_DEF_UNARY(expm1, Expm1)
OXMLX_DEF_UNARY(log, Log)
OXMLX_DEF_UNARY(log1p, Log1p)
OXMLX_DEF_UNARY(log2, Log2)
OXMLX_DEF_UNARY(log10, Log10)
OXMLX_DEF_UNARY(sin, Sin)
OXMLX_DEF_UNARY(cos, Cos)
OXMLX_DEF_UNARY(tan, Tan)
OXMLX_DEF_UNARY(arcsin, ArcSin)
OXMLX_DEF_UNARY(arccos, ArcCos)
OXMLX_DEF_UNARY(arctan, ArcTan)
OXMLX_DEF_UNARY(sinh, Sinh)
OXMLX_DEF_UNARY(cosh, Cosh)
OXMLX_DEF_UNARY(tanh, Tanh)
OXMLX_DEF_UNARY(arcsinh, ArcSinh)
OXMLX_DEF_UNARY(arccosh, ArcCosh)
OXMLX_DEF_UNARY(arctanh, ArcTanh)
OXMLX_DEF_UNARY(sigmoid, Sigmoid)
OXMLX_DEF_UNARY(erf, Erf)
OXMLX_DEF_UNARY(erfinv, ErfInv)
OXMLX_DEF_UNARY(logical_not, LogicalNot)
OXMLX_DEF_UNARY(bitwise_invert, BitwiseInvert)
OXMLX_DEF_UNARY(isnan, IsNan)
OXMLX_DEF_UNARY(isinf, IsInf)
OXMLX_DEF_UNARY(isfinite, IsFinite)
OXMLX_DEF_UNARY(isposinf, IsPosInf)
OXMLX_DEF_UNARY(isneginf, IsNegInf)
OXMLX_DEF_UNARY(real, Real)
OXMLX_DEF_UNARY(imag, Imag)
OXMLX_DEF_UNARY(conjugate, Conjugate)
#undef OXMLX_DEF_UNARY

// Integers rounded to a negative number of decimals, exactly and half to even:
// q = a // 10^-d, r = a - q * 10^-d, then q rounds up when r is past the half.
array round_integer(const array& a, int decimals, Stream st) {
  Dtype dt = a.dtype();
  double s = std::pow(10.0, double(-decimals));
  double hi = is_unsigned(dt) ? std::ldexp(1.0, int(dt.size) * 8) : std::ldexp(1.0, int(dt.size) * 8 - 1);
  if (s >= hi) return zeros_like(a, st);  // |a| < s / 2: everything rounds to 0
  array sc(int64_t(s), dt), two(int64_t(2), dt), zero(int64_t(0), dt);
  array q = floor_divide(a, sc, st);
  array r = subtract(a, multiply(q, sc, st), st);
  array rest = subtract(sc, r, st);  // r > s - r avoids overflowing 2 * r
  array odd = not_equal(remainder(q, two, st), zero, st);
  array up = logical_or(greater(r, rest, st), logical_and(equal(r, rest, st), odd, st), st);
  return multiply(add(q, astype(up, dt, st), st), sc, st);
}

array round(const array& a, int decimals, StreamOrDevice s) {
  if (decimals < 0 && is_integral(a.dtype()) && a.dtype() != bool_)
    return round_integer(a, decimals, to_stream(s));
  if (decimals == 0 || !is_inexact(a.dtype())) return unary(UnaryOp::Round, a, s);
  Stream st = to_stream(s);
  array scale(std::pow(10.0, double(decimals)), a.dtype());
  return divide(unary(UnaryOp::Round, multiply(a, scale, st), st), scale, st);
}

// ----------------------------------------------------------------- binary ops

array binary(BinaryOp op, const array& a_in, const array& b_in, StreamOrDevice s) {
  using O = BinaryOp;
  Stream st = to_stream(s);
  if ((op == O::Add || op == O::Subtract || op == O::Multiply) && a_in.dtype() == b_in.dtype() &&
      a_in.shape() == b_in.shape()) {
    // The common case (x + 1 with a scalar of x's shape): no promotion, no
    // broadcast, one node -- exactly what the general path below builds.
    if (op != O::Multiply && eager_fusion(st)) {
      // p - lr * g as one kernel (eager_fuse.cpp).
      if (auto f = fused_axpy(op, a_in, b_in, st)) return std::move(*f);
      if (op == O::Add)
        if (auto f = fused_axpy(op, b_in, a_in, st)) return std::move(*f);
    }
    std::vector<array> ins{a_in, b_in};
    return array(Shape(a_in.shape()), a_in.dtype(), make_pooled<BinaryPrim>(st, op), std::move(ins));
  }
  Dtype dt = promote_types(a_in.dtype(), b_in.dtype());
  auto nm = [op] { return lower_name(op_name(op)); };  // for messages only: built lazily
  Dtype out_dt = dt;
  bool bool_result = false;  // computed in int32, returned as bool (MLX's dtype)
  switch (op) {
    case O::Divide: case O::ArcTan2: case O::LogAddExp:
      if (!is_inexact(dt)) dt = out_dt = float32;
      if (op == O::ArcTan2 && is_complex(dt)) throw ValueError("[arctan2] Not supported for complex64.");
      break;
    case O::Equal: case O::NotEqual: case O::NanEqual: case O::Less: case O::LessEqual:
    case O::Greater: case O::GreaterEqual:
      out_dt = bool_;
      break;
    case O::LogicalAnd: case O::LogicalOr:
      dt = out_dt = bool_;
      break;
    case O::BitwiseAnd: case O::BitwiseOr: case O::BitwiseXor: case O::LeftShift: case O::RightShift:
      if (is_inexact(dt))
        throw ValueError(msg("[", nm(), "] Only allowed on integer or boolean types but got types ",
                             dtype_name(a_in.dtype()), " and ", dtype_name(b_in.dtype()), "."));
      if ((op == O::LeftShift || op == O::RightShift) && dt == bool_) dt = out_dt = uint8;
      break;
    case O::Remainder: case O::FloorDivide:
      if (is_complex(dt)) throw ValueError(msg("[", nm(), "] Not supported for complex64."));
      if (dt == bool_) dt = out_dt = int32, bool_result = true;  // no bool division kernel
      break;
    case O::Power: case O::Subtract: case O::Add: case O::Multiply:
    case O::Maximum: case O::Minimum:
      if (op == O::Power && dt == bool_) dt = out_dt = int32, bool_result = true;
      break;
    default:
      break;
  }
  Shape shape = broadcast_shapes(a_in.shape(), b_in.shape());
  std::vector<array> ins;
  ins.reserve(2);
  for (const array* v : {&a_in, &b_in}) {
    array x = v->dtype() == dt ? *v : astype(*v, dt, st);
    ins.push_back(x.shape() == shape ? std::move(x) : broadcast_to(x, shape, st));
  }
  array r(std::move(shape), out_dt, make_pooled<BinaryPrim>(st, op), std::move(ins));
  return bool_result ? astype(r, bool_, st) : r;
}

#define OXMLX_DEF_BINARY(fn, OP) \
  array fn(const array& a, const array& b, StreamOrDevice s) { return binary(BinaryOp::OP, a, b, s); }
OXMLX_DEF_BINARY(add, Add)
OXMLX_DEF_BINARY(subtract, Subtract)
OXMLX_DEF_BINARY(multiply, Multiply)
OXMLX_DEF_BINARY(divide, Divide)
OXMLX_DEF_BINARY(power, Power)
OXMLX_DEF_BINARY(remainder, Remainder)
OXMLX_DEF_BINARY(floor_divide, FloorDivide)
OXMLX_DEF_BINARY(maximum, Maximum)
OXMLX_DEF_BINARY(minimum, Minimum)
OXMLX_DEF_BINARY(equal, Equal)
OXMLX_DEF_BINARY(not_equal, NotEqual)
OXMLX_DEF_BINARY(less, Less)
OXMLX_DEF_BINARY(less_equal, LessEqual)
OXMLX_DEF_BINARY(greater, Greater)
OXMLX_DEF_BINARY(greater_equal, GreaterEqual)
OXMLX_DEF_BINARY(logical_and, LogicalAnd)
OXMLX_DEF_BINARY(logical_or, LogicalOr)
OXMLX_DEF_BINARY(bitwise_and, BitwiseAnd)
OXMLX_DEF_BINARY(bitwise_or, BitwiseOr)
OXMLX_DEF_BINARY(bitwise_xor, BitwiseXor)
OXMLX_DEF_BINARY(left_shift, LeftShift)
OXMLX_DEF_BINARY(right_shift, RightShift)
OXMLX_DEF_BINARY(arctan2, ArcTan2)
OXMLX_DEF_BINARY(logaddexp, LogAddExp)
#undef OXMLX_DEF_BINARY

array where(const array& cond, const array& x, const array& y, StreamOrDevice s) {
  Stream st = to_stream(s);
  Dtype dt = promote_types(x.dtype(), y.dtype());
  Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), x.shape()), y.shape());
  auto prep = [&](const array& v, Dtype d) {
    array r = v.dtype() == d ? v : astype(v, d, st);
    return r.shape() == shape ? r : broadcast_to(r, shape, st);
  };
  return array(shape, dt, std::make_shared<SelectPrim>(st),
               {prep(cond, bool_), prep(x, dt), prep(y, dt)});
}

}  // namespace oxmlx

// ------------------------------------------------------- derivative rules

namespace oxmlx {

namespace {

// d op(x) / dx as an array, given x and y = op(x).
array unary_derivative(UnaryOp op, const array& x, const array& y) {
  using O = UnaryOp;
  Dtype dt = y.dtype();
  auto c = [&](double v) { return array(v, dt); };
  switch (op) {
    case O::Abs: return sign(x);
    case O::Negative: return full(x.shape(), c(-1.0), dt);
    case O::Sign: case O::Floor: case O::Ceil: case O::Round: case O::Trunc:
      return zeros_like(x);
    case O::Sqrt: return divide(c(0.5), y);
    case O::Rsqrt: return multiply(c(-0.5), divide(y, x));
    case O::Square: return multiply(c(2.0), x);
    case O::Reciprocal: return negative(square(y));
    case O::Exp: return y;
    case O::Expm1: return add(y, c(1.0));
    case O::Log: return reciprocal(x);
    case O::Log1p: return reciprocal(add(x, c(1.0)));
    case O::Log2: return reciprocal(multiply(x, c(std::log(2.0))));
    case O::Log10: return reciprocal(multiply(x, c(std::log(10.0))));
    case O::Sin: return cos(x);
    case O::Cos: return negative(sin(x));
    case O::Tan: return add(c(1.0), square(y));
    case O::ArcSin: return rsqrt(subtract(c(1.0), square(x)));
    case O::ArcCos: return negative(rsqrt(subtract(c(1.0), square(x))));
    case O::ArcTan: return reciprocal(add(c(1.0), square(x)));
    case O::Sinh: return cosh(x);
    case O::Cosh: return sinh(x);
    case O::Tanh: return subtract(c(1.0), square(y));
    case O::ArcSinh: return rsqrt(add(square(x), c(1.0)));
    case O::ArcCosh: return rsqrt(subtract(square(x), c(1.0)));
    case O::ArcTanh: return reciprocal(subtract(c(1.0), square(x)));
    case O::Sigmoid: return multiply(y, subtract(c(1.0), y));
    case O::Erf: return multiply(c(2.0 / std::sqrt(M_PI)), exp(negative(square(x))));
    case O::ErfInv: return multiply(c(std::sqrt(M_PI) / 2.0), exp(square(y)));
    default:
      throw ValueError(msg("[", op_name(op), "] is not differentiable."));
  }
}

bool unary_is_constant(UnaryOp op) {
  using O = UnaryOp;
  return op == O::LogicalNot || op == O::BitwiseInvert || op == O::IsNan || op == O::IsInf ||
         op == O::IsFinite || op == O::IsPosInf || op == O::IsNegInf;
}

}  // namespace

std::vector<array> UnaryPrim::vjp(const std::vector<array>& in, const std::vector<array>& cots,
                                  const std::vector<int>&, const std::vector<array>& outs) {
  if (unary_is_constant(op_)) return {zeros_like(in[0])};
  // Complex cotangents are dL/dRe + i dL/dIm (MLX's convention); these ops
  // only see complex inputs (the builders fold them away for real ones).
  if (op_ == UnaryOp::Real) return {astype(cots[0], complex64)};
  if (op_ == UnaryOp::Imag)
    return {multiply(astype(cots[0], complex64), array(complex64_t(0.0f, 1.0f), complex64))};
  if (op_ == UnaryOp::Conjugate) return {conjugate(cots[0])};
  array d = unary_derivative(op_, in[0], outs[0]);
  // Holomorphic f: the cotangent times conj(f'(z)). |z| is real-valued: its
  // cotangent is already dL/dRe + i dL/dIm = g z / |z| (sign(z)).
  if (is_complex(d.dtype()) && op_ != UnaryOp::Abs) d = conjugate(d);
  return {multiply(cots[0], d)};
}

std::vector<array> UnaryPrim::jvp(const std::vector<array>& in, const std::vector<array>& tans,
                                  const std::vector<int>&) {
  if (unary_is_constant(op_)) return {zeros(in[0].shape(), bool_)};
  if (op_ == UnaryOp::Real || op_ == UnaryOp::Imag || op_ == UnaryOp::Conjugate)
    return {unary(op_, tans[0])};  // linear
  array y = unary(op_, in[0]);
  return {multiply(tans[0], unary_derivative(op_, in[0], y))};
}

namespace {

// (d/da, d/db) of a binary op at (a, b) with output y.
std::pair<array, array> binary_partials(BinaryOp op, const array& a, const array& b,
                                        const array& y) {
  using O = BinaryOp;
  Dtype dt = y.dtype();
  auto c = [&](double v) { return array(v, dt); };
  switch (op) {
    case O::Add: return {ones_like(a), ones_like(b)};
    case O::Subtract: return {ones_like(a), full(b.shape(), c(-1.0), dt)};
    case O::Multiply: return {b, a};
    case O::Divide: return {reciprocal(b), negative(divide(y, b))};
    case O::Power: {
      // d/da = b * a^(b-1); d/db = y * log(a) (0 where a == 0)
      array da = multiply(b, power(a, subtract(b, c(1.0))));
      array la = where(equal(a, c(0.0)), c(0.0), log(a));
      return {da, multiply(y, la)};
    }
    case O::Maximum: {
      // ties go to the second argument, as in MLX (relu'(0) = 0)
      array m = astype(greater(a, b), dt);
      return {m, subtract(c(1.0), m)};
    }
    case O::Minimum: {
      array m = astype(less(a, b), dt);
      return {m, subtract(c(1.0), m)};
    }
    case O::LogAddExp:
      return {exp(subtract(a, y)), exp(subtract(b, y))};
    case O::ArcTan2: {
      array den = add(square(a), square(b));
      return {divide(b, den), negative(divide(a, den))};
    }
    case O::Remainder:
      return {ones_like(a), negative(floor_divide(a, b))};
    case O::FloorDivide:
      return {zeros_like(a), zeros_like(b)};
    default:
      // Comparisons, logical and bitwise ops have zero derivative.
      return {zeros_like(a), zeros_like(b)};
  }
}

}  // namespace

std::vector<array> BinaryPrim::vjp(const std::vector<array>& in, const std::vector<array>& cots,
                                   const std::vector<int>& argnums,
                                   const std::vector<array>& outs) {
  const array& g = cots[0];
  if ((op_ == BinaryOp::Add || op_ == BinaryOp::Subtract) && is_inexact(g.dtype())) {
    // d/da = 1, d/db = +-1: the cotangent itself (no ones to build and multiply).
    bool same = true;
    for (int k : argnums) same &= promote_types(g.dtype(), in[k].dtype()) == g.dtype();
    if (same) {
      std::vector<array> r;
      for (int k : argnums) r.push_back(k == 1 && op_ == BinaryOp::Subtract ? negative(g) : g);
      return r;
    }
  }
  if ((op_ == BinaryOp::Maximum || op_ == BinaryOp::Minimum) && eager_fusion(stream())) {
    // relu' as one kernel: g * (a > b) (eager_fuse.cpp).
    std::vector<array> r;
    for (int k : argnums) {
      auto f = fused_minmax_grad(op_, g, in[0], in[1], k, stream());
      if (!f) break;
      r.push_back(std::move(*f));
    }
    if (r.size() == argnums.size()) return r;
  }
  auto [da, db] = binary_partials(op_, in[0], in[1], outs[0]);
  // Complex operands: the cotangent times the conjugate partial (MLX's
  // convention, dL/dRe + i dL/dIm for a real loss L).
  auto conj_if = [](const array& d) { return is_complex(d.dtype()) ? conjugate(d) : d; };
  std::vector<array> r;
  for (int k : argnums) r.push_back(multiply(cots[0], conj_if(k == 0 ? da : db)));
  return r;
}

std::vector<array> BinaryPrim::jvp(const std::vector<array>& in, const std::vector<array>& tans,
                                   const std::vector<int>& argnums) {
  array y = binary(op_, in[0], in[1]);
  auto [da, db] = binary_partials(op_, in[0], in[1], y);
  array r = multiply(tans[0], argnums[0] == 0 ? da : db);
  if (argnums.size() > 1) r = add(r, multiply(tans[1], db));
  return {r};
}

std::vector<array> SelectPrim::vjp(const std::vector<array>& in, const std::vector<array>& cots,
                                   const std::vector<int>& argnums, const std::vector<array>&) {
  std::vector<array> r;
  array z = zeros_like(cots[0]);
  for (int k : argnums) {
    if (k == 0) r.push_back(zeros_like(in[0]));
    else if (k == 1) r.push_back(where(in[0], cots[0], z));
    else r.push_back(where(in[0], z, cots[0]));
  }
  return r;
}

std::vector<array> SelectPrim::jvp(const std::vector<array>& in, const std::vector<array>& tans,
                                   const std::vector<int>& argnums) {
  array tx = zeros_like(in[1]), ty = zeros_like(in[2]);
  for (size_t i = 0; i < argnums.size(); ++i) {
    if (argnums[i] == 1) tx = tans[i];
    if (argnums[i] == 2) ty = tans[i];
  }
  return {where(in[0], tx, ty)};
}

}  // namespace oxmlx

// ------------------------------------------------------- vmap rules

#include "core/transforms.h"

namespace oxmlx {

// Batched operands go to axis 0; unbatched ones have the element shape, a
// suffix of the batched shape, so the builder broadcasts them.
std::pair<std::vector<array>, std::vector<int>> UnaryPrim::vmap(const std::vector<array>& in,
                                                                const std::vector<int>& axes) {
  return {{unary(op_, in[0], stream())}, {axes[0]}};
}

std::pair<std::vector<array>, std::vector<int>> BinaryPrim::vmap(const std::vector<array>& in,
                                                                 const std::vector<int>& axes) {
  if (axes[0] >= 0 && axes[0] == axes[1]) return {{binary(op_, in[0], in[1], stream())}, {axes[0]}};
  return {{binary(op_, vmap_to_front(in[0], axes[0]), vmap_to_front(in[1], axes[1]), stream())}, {0}};
}

std::pair<std::vector<array>, std::vector<int>> SelectPrim::vmap(const std::vector<array>& in,
                                                                 const std::vector<int>& axes) {
  return {{where(vmap_to_front(in[0], axes[0]), vmap_to_front(in[1], axes[1]),
                 vmap_to_front(in[2], axes[2]), stream())},
          {0}};
}

}  // namespace oxmlx
