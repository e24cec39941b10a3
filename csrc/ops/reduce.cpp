// Reduction, arg-reduction and scan builders (output dtypes follow MLX).
#include "ops/composite.h"
#include "ops/ops.h"
#include "ops/primitives.h"

namespace oxmlx {

const char* op_name(ReduceOp op) {
  static const char* n[] = {"Sum", "Prod", "Max", "Min", "All", "Any"};
  return n[int(op)];
}
const char* op_name(ScanOp op) {
  static const char* n[] = {"CumSum", "CumProd", "CumMax", "CumMin", "CumLogAddExp"};
  return n[int(op)];
}
namespace {
const char* scan_api_name(ScanOp op) {
  static const char* n[] = {"cumsum", "cumprod", "cummax", "cummin", "logcumsumexp"};
  return n[int(op)];
}
}  // namespace

void ReducePrim::eval(const std::vector<array>& in, std::vector<array>& out) {
  backend_for(stream()).reduce(op_, in[0], out[0], axes_);
}
bool ReducePrim::is_equivalent(const Primitive& o) const {
  auto* p = dynamic_cast<const ReducePrim*>(&o);
  return p && p->op_ == op_ && p->axes_ == axes_;
}
void ArgReducePrim::eval(const std::vector<array>& in, std::vector<array>& out) {
  backend_for(stream()).arg_reduce(op_, in[0], out[0], axis_);
}
void ScanPrim::eval(const std::vector<array>& in, std::vector<array>& out) {
  backend_for(stream()).scan(op_, in[0], out[0], axis_, reverse_, inclusive_);
}

namespace {

Dtype sum_dtype(Dtype d) {
  if (d == bool_ || d == int8 || d == int16) return int32;
  if (d == uint8 || d == uint16) return uint32;
  return d;
}

const char* reduce_api_name(ReduceOp op) {
  static const char* n[] = {"sum", "prod", "max", "min", "all", "any"};
  return n[int(op)];
}

}  // namespace

array reduce(ReduceOp op, const array& a, const std::vector<int>& axes_in, bool keepdims,
             StreamOrDevice s) {
  Stream st = to_stream(s);
  auto axes = normalize_axes(axes_in, a.ndim(), reduce_api_name(op));
  Dtype out_dt = a.dtype();
  if (op == ReduceOp::Sum || op == ReduceOp::Prod) out_dt = sum_dtype(a.dtype());
  if (op == ReduceOp::And || op == ReduceOp::Or) out_dt = bool_;
  if ((op == ReduceOp::Max || op == ReduceOp::Min) && !axes.empty()) {
    for (int ax : axes)
      if (a.shape(ax) == 0)
        throw ValueError(msg("[", reduce_api_name(op), "] Cannot ", reduce_api_name(op),
                             " reduce zero size array."));
  }
  Shape kept = a.shape();
  for (int ax : axes) kept[ax] = 1;
  // Nothing to reduce: MLX returns the input (all/any: as bool), so a
  // sum over no axes keeps an int8 or bool dtype.
  if (axes.empty()) out_dt = (op == ReduceOp::And || op == ReduceOp::Or) ? bool_ : a.dtype();
  array r = axes.empty() ? (out_dt == a.dtype() ? a : astype(a, out_dt, st))
                         : array(kept, out_dt, std::make_shared<ReducePrim>(st, op, axes), {a});
  if (keepdims || axes.empty()) return r;
  return squeeze(r, axes, st);
}

array sum(const array& a, const std::vector<int>& axes, bool keepdims, StreamOrDevice s) {
  return reduce(ReduceOp::Sum, a, axes, keepdims, s);
}
array sum(const array& a, bool keepdims, StreamOrDevice s) {
  return reduce(ReduceOp::Sum, a, all_axes(a.ndim()), keepdims, s);
}
array prod(const array& a, const std::vector<int>& axes, bool keepdims, StreamOrDevice s) {
  return reduce(ReduceOp::Prod, a, axes, keepdims, s);
}
array max(const array& a, const std::vector<int>& axes, bool keepdims, StreamOrDevice s) {
  return reduce(ReduceOp::Max, a, axes, keepdims, s);
}
array min(const array& a, const std::vector<int>& axes, bool keepdims, StreamOrDevice s) {
  return reduce(ReduceOp::Min, a, axes, keepdims, s);
}
array all(const array& a, const std::vector<int>& axes, bool keepdims, StreamOrDevice s) {
  return reduce(ReduceOp::And, a, axes, keepdims, s);
}
array any(const array& a, const std::vector<int>& axes, bool keepdims, StreamOrDevice s) {
  return reduce(ReduceOp::Or, a, axes, keepdims, s);
}

array mean(const array& a, const std::vector<int>& axes_in, bool keepdims, StreamOrDevice s) {
  Stream st = to_stream(s);
  auto axes = normalize_axes(axes_in, a.ndim(), "mean");
  int64_t n = 1;
  for (int ax : axes) n *= a.shape(ax);
  Dtype dt = is_inexact(a.dtype()) ? a.dtype() : float32;
  array total = sum(astype(a, dt, st), axes, keepdims, st);
  return multiply(total, array(1.0 / double(n), dt), st);
}

array var(const array& a, const std::vector<int>& axes_in, bool keepdims, int ddof, StreamOrDevice s) {
  Stream st = to_stream(s);
  auto axes = normalize_axes(axes_in, a.ndim(), "var");
  int64_t n = 1;
  for (int ax : axes) n *= a.shape(ax);
  Dtype dt = is_inexact(a.dtype()) ? a.dtype() : float32;
  array x = astype(a, dt, st);
  array mu = mean(x, axes, true, st);
  array d = subtract(x, mu, st);
  // |d|^2: the variance of complex values is real (MLX: float32).
  array sq = is_complex(dt) ? square(abs(d, st), st) : multiply(d, d, st);
  array ss = sum(sq, axes, keepdims, st);
  double denom = std::max<double>(double(n - ddof), 0.0);
  return divide(ss, array(denom, ss.dtype()), st);
}

array argreduce(ArgReduceOp op, const array& a, std::optional<int> axis, bool keepdims,
                StreamOrDevice s) {
  Stream st = to_stream(s);
  const char* nm = op == ArgReduceOp::ArgMax ? "argmax" : "argmin";
  array x = a;
  int ax;
  if (!axis) {
    x = reshape(a, {a.size()}, st);
    ax = 0;
  } else {
    ax = normalize_axis(*axis, a.ndim(), nm);
  }
  if (x.shape(ax) == 0) throw ValueError(msg("[", nm, "] Cannot ", nm, " reduce zero size array."));
  Shape kept = x.shape();
  kept[ax] = 1;
  array r(kept, uint32, std::make_shared<ArgReducePrim>(st, op, ax), {x});
  if (!axis) {
    return keepdims ? reshape(r, Shape(a.ndim(), 1), st) : reshape(r, {}, st);
  }
  return keepdims ? r : squeeze(r, {ax}, st);
}

array scan(ScanOp op, const array& a, std::optional<int> axis, bool reverse, bool inclusive,
           StreamOrDevice s) {
  Stream st = to_stream(s);
  array x = axis ? a : reshape(a, {a.size()}, st);
  int ax = normalize_axis(axis.value_or(0), x.ndim(), scan_api_name(op));
  Dtype dt = x.dtype();
  // MLX keeps the dtype of cumulative sums and products; only bool sums count in int32.
  if (op == ScanOp::Sum && dt == bool_) dt = int32;
  if (op == ScanOp::LogAddExp && !is_inexact(dt)) {
    x = astype(x, float32, st);
    dt = float32;
  }
  return array(x.shape(), dt, std::make_shared<ScanPrim>(st, op, ax, reverse, inclusive), {x});
}

}  // namespace oxmlx

// ------------------------------------------------------- derivative rules

namespace oxmlx {

std::vector<array> ReducePrim::vjp(const std::vector<array>& in, const std::vector<array>& cots,
                                   const std::vector<int>&, const std::vector<array>& outs) {
  const array& x = in[0];
  // cots[0] and outs[0] keep the reduced axes as size 1.
  array c = broadcast_to(cots[0], x.shape());
  switch (op_) {
    case ReduceOp::Sum: return {c};
    case ReduceOp::Prod: {
      // d prod / d x_i = product of the others: exclusive cumulative products
      // from both sides (exact with zeros, no division). The reduced axes are
      // moved last and flattened so one scan covers them.
      std::vector<int> perm;
      std::vector<bool> red(x.ndim(), false);
      for (int ax : axes_) red[ax] = true;
      Shape flat;
      int64_t r = 1;
      for (int i = 0; i < x.ndim(); ++i)
        if (!red[i]) {
          perm.push_back(i);
          flat.push_back(x.shape(i));
        }
      for (int ax : axes_) {
        perm.push_back(ax);
        r *= x.shape(ax);
      }
      flat.push_back(r);
      // Complex: the conjugate derivative (products of the conjugates).
      array xt = reshape(transpose(is_complex(x.dtype()) ? conjugate(x) : x, perm), flat);
      array left = scan(ScanOp::Prod, xt, -1, false, false);
      array right = scan(ScanOp::Prod, xt, -1, true, false);
      Shape tshape;
      for (int p : perm) tshape.push_back(x.shape(p));
      array others = reshape(multiply(left, right), tshape);
      std::vector<int> inv(perm.size());
      for (size_t i = 0; i < perm.size(); ++i) inv[perm[i]] = int(i);
      (void)outs;
      return {multiply(c, transpose(others, inv))};
    }
    case ReduceOp::Max:
    case ReduceOp::Min: {
      array mask = astype(equal(x, broadcast_to(outs[0], x.shape())), x.dtype());
      array count = sum(mask, axes_, true);
      return {multiply(c, divide(mask, count))};
    }
    default:
      return {zeros_like(x)};
  }
}

std::vector<array> ReducePrim::jvp(const std::vector<array>& in, const std::vector<array>& tans,
                                   const std::vector<int>&) {
  switch (op_) {
    case ReduceOp::Sum: return {sum(tans[0], axes_, true)};
    case ReduceOp::Max:
    case ReduceOp::Min: {
      array y = reduce(op_, in[0], axes_, true);
      array mask = astype(equal(in[0], y), in[0].dtype());
      return {divide(sum(multiply(mask, tans[0]), axes_, true), sum(mask, axes_, true))};
    }
    case ReduceOp::Prod: {
      array y = reduce(op_, in[0], axes_, true);
      return {sum(multiply(tans[0], divide(y, in[0])), axes_, true)};
    }
    default:
      return {zeros(reduce(op_, in[0], axes_, true).shape(), bool_)};
  }
}

namespace {

// An exclusive scan's output i is the inclusive output i - 1: its cotangent,
// moved one step back (the last inclusive output feeds nothing).
array shift_cotangent(const array& cot, int ax, int64_t n) {
  Shape b(cot.ndim(), 0), e = cot.shape(), k(cot.ndim(), 1);
  b[ax] = std::min<int64_t>(1, n);
  Shape zs = cot.shape();
  zs[ax] = std::min<int64_t>(1, n);
  return concatenate({slice(cot, b, e, k), zeros(zs, cot.dtype())}, ax);
}

// cummax / cummin: each output is one of the inputs, the last running
// extremum at or before it, so the cotangents of a run of outputs that share
// an extremum add up at that input. In forward inclusive form, with
// R = reverse cumsum of the cotangent, the input j that starts a run (x_j is
// the running extremum) gets R_j - R_next(j).
array cummax_vjp(ScanOp op, int ax, bool reverse, bool inclusive, const array& x_in,
                 const array& cot_in) {
  int64_t n = x_in.shape(ax);
  array x = reverse ? flip(x_in, {ax}) : x_in;
  array cot = reverse ? flip(cot_in, {ax}) : cot_in;
  if (!inclusive) cot = shift_cotangent(cot, ax, n);
  array out = scan(op, x, ax, false, true);
  array starts = equal(x, out);
  Shape idx_shape(x.ndim(), 1);
  idx_shape[ax] = n;
  array idx = broadcast_to(reshape(arange(0, double(n), 1, int32), idx_shape), x.shape());
  array cand = where(starts, idx, array(int32_t(n), int32));
  array next = minimum(scan(ScanOp::Min, cand, ax, true, false), array(int32_t(n), int32));
  array r = scan(ScanOp::Sum, cot, ax, true, true);
  Shape zs = x.shape();
  zs[ax] = 1;
  array r_pad = concatenate({r, zeros(zs, r.dtype())}, ax);
  array g = where(starts, subtract(r, take_along_axis(r_pad, next, ax)), zeros_like(r));
  return reverse ? flip(g, {ax}) : g;
}

// cumprod without dividing by zero. With z the first zero along the axis
// (forward inclusive form): inputs before z get
// reverse_cumsum(cot * out)[j] / x_j over the outputs before z; the input
// at z gets prod(x before z) * sum_{i >= z} cot_i * prod(x_(z, i]); inputs
// after z get nothing (every product through them holds x_z = 0).
array cumprod_vjp(int ax, bool reverse, bool inclusive, const array& x_in, const array& cot_in) {
  int64_t n = x_in.shape(ax);
  array x = reverse ? flip(x_in, {ax}) : x_in;
  array cot = reverse ? flip(cot_in, {ax}) : cot_in;
  if (!inclusive) cot = shift_cotangent(cot, ax, n);
  array zero = zeros_like(x);
  array is_zero = equal(x, zero);
  array nz = scan(ScanOp::Sum, astype(is_zero, int32), ax, false, true);
  array before = equal(nz, zeros_like(nz));                       // i < z
  array at = logical_and(is_zero, equal(nz, ones_like(nz)));       // i == z
  array out = scan(ScanOp::Prod, x, ax, false, true);
  array safe_x = where(is_zero, ones_like(x), x);
  array part1 = divide(scan(ScanOp::Sum, where(before, multiply(cot, out), zero), ax, true, true), safe_x);
  array p = scan(ScanOp::Prod, where(logical_or(before, at), ones_like(x), x), ax, false, true);
  array tail = sum(where(before, zero, multiply(cot, p)), {ax}, true);
  array pre = scan(ScanOp::Prod, x, ax, false, false);
  array g = where(before, part1, where(at, multiply(pre, tail), zero));
  return reverse ? flip(g, {ax}) : g;
}

}  // namespace

std::vector<array> ScanPrim::vjp(const std::vector<array>& in, const std::vector<array>& cots,
                                 const std::vector<int>&, const std::vector<array>& outs) {
  if (op_ == ScanOp::Sum) return {scan(ScanOp::Sum, cots[0], axis_, !reverse_, inclusive_)};
  if (op_ == ScanOp::LogAddExp) {
    // d out_j / d x_i = exp(x_i - out_j) for i in the prefix of j.
    array g = scan(ScanOp::Sum, multiply(cots[0], exp(negative(outs[0]))), axis_, !reverse_, inclusive_);
    return {multiply(g, exp(in[0]))};
  }
  if (op_ == ScanOp::Max || op_ == ScanOp::Min) return {cummax_vjp(op_, axis_, reverse_, inclusive_, in[0], cots[0])};
  if (op_ == ScanOp::Prod) {
    // Complex: the conjugate derivative, i.e. the same products of conj(x).
    const array x = is_complex(in[0].dtype()) ? conjugate(in[0]) : in[0];
    return {cumprod_vjp(axis_, reverse_, inclusive_, x, cots[0])};
  }
  throw ValueError(msg("[", op_name(op_), "] vjp is not implemented."));
}

std::vector<array> ScanPrim::jvp(const std::vector<array>& in, const std::vector<array>& tans,
                                 const std::vector<int>&) {
  if (op_ == ScanOp::Sum) return {scan(ScanOp::Sum, tans[0], axis_, reverse_, inclusive_)};
  if (op_ == ScanOp::LogAddExp) {
    // d out_j = sum over the prefix of j of exp(x_i - out_j) t_i, shifted by
    // the axis maximum c to keep the exponentials in range.
    const array& x = in[0];
    array c = stop_gradient(max(x, {axis_}, true));
    c = where(isinf(c), zeros_like(c), c);
    array out = scan(ScanOp::LogAddExp, x, axis_, reverse_, inclusive_);
    array acc = scan(ScanOp::Sum, multiply(tans[0], exp(subtract(x, c))), axis_, reverse_, inclusive_);
    // An exclusive scan starts at log(0) = -inf, which has no tangent.
    array r = multiply(acc, exp(subtract(c, out)));
    return {where(isneginf(out), zeros_like(r), r)};
  }
  // As MLX: no forward-mode rule for cumulative prod / max / min.
  throw RuntimeError(msg("[", op_name(op_), "] jvp is not implemented for cumulative prod/min/max."));
}

}  // namespace oxmlx

// ------------------------------------------------------- vmap and shape rules

#include "core/transforms.h"

namespace oxmlx {

namespace {
Shape keep_dims(Shape s, const std::vector<int>& axes) {
  for (int a : axes) s[a] = 1;
  return s;
}
}  // namespace

std::pair<std::vector<array>, std::vector<int>> ReducePrim::vmap(const std::vector<array>& in,
                                                                 const std::vector<int>& axes) {
  array x = vmap_to_front(in[0], axes[0]);
  std::vector<int> ax;
  for (int a : axes_) ax.push_back(a + 1);
  Dtype dt = vmap_unbatched_outputs()[0].dtype();
  return {{array(keep_dims(x.shape(), ax), dt, std::make_shared<ReducePrim>(stream(), op_, ax), {x})},
          {0}};
}

std::vector<Shape> ReducePrim::output_shapes(const std::vector<array>& in) {
  return {keep_dims(in[0].shape(), axes_)};
}

std::pair<std::vector<array>, std::vector<int>> ArgReducePrim::vmap(const std::vector<array>& in,
                                                                    const std::vector<int>& axes) {
  array x = vmap_to_front(in[0], axes[0]);
  return {{array(keep_dims(x.shape(), {axis_ + 1}), uint32,
                 std::make_shared<ArgReducePrim>(stream(), op_, axis_ + 1), {x})},
          {0}};
}

std::vector<array> ArgReducePrim::vjp(const std::vector<array>& in, const std::vector<array>&,
                                      const std::vector<int>& argnums, const std::vector<array>&) {
  std::vector<array> r;
  for (int k : argnums) r.push_back(zeros_like(in[size_t(k)]));
  return r;
}

std::vector<array> ArgReducePrim::jvp(const std::vector<array>& in, const std::vector<array>&,
                                      const std::vector<int>&) {
  return {zeros(keep_dims(in[0].shape(), {axis_}), uint32)};
}

std::vector<Shape> ArgReducePrim::output_shapes(const std::vector<array>& in) {
  return {keep_dims(in[0].shape(), {axis_})};
}

bool ArgReducePrim::is_equivalent(const Primitive& o) const {
  auto* p = dynamic_cast<const ArgReducePrim*>(&o);
  return p && p->op_ == op_ && p->axis_ == axis_;
}

std::pair<std::vector<array>, std::vector<int>> ScanPrim::vmap(const std::vector<array>& in,
                                                               const std::vector<int>& axes) {
  array x = vmap_to_front(in[0], axes[0]);
  Dtype dt = vmap_unbatched_outputs()[0].dtype();
  return {{array(x.shape(), dt,
                 std::make_shared<ScanPrim>(stream(), op_, axis_ + 1, reverse_, inclusive_), {x})},
          {0}};
}

bool ScanPrim::is_equivalent(const Primitive& o) const {
  auto* p = dynamic_cast<const ScanPrim*>(&o);
  return p && p->op_ == op_ && p->axis_ == axis_ && p->reverse_ == reverse_ &&
         p->inclusive_ == inclusive_;
}

}  // namespace oxmlx
