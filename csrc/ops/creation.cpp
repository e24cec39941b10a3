// Creation and conversion builders: full/zeros/ones/arange/linspace/eye/tri,
// astype and copy (the Copy primitive), and the Arange primitive.
#include <cmath>

#include "ops/ops.h"
#include "ops/primitives.h"

namespace oxmlx {

void CopyPrim::eval(const std::vector<array>& in, std::vector<array>& out) {
  backend_for(stream()).copy(in[0], out[0]);
}

void ArangePrim::eval(const std::vector<array>&, std::vector<array>& out) {
  backend_for(stream()).arange(start_, step_, out[0]);
}

array astype(const array& a, Dtype dtype, StreamOrDevice s) {
  if (a.dtype() == dtype) return a;
  return array(a.shape(), dtype, std::make_shared<CopyPrim>(to_stream(s)), {a});
}

array copy(const array& a, StreamOrDevice s) {
  return array(a.shape(), a.dtype(), std::make_shared<CopyPrim>(to_stream(s)), {a});
}

array contiguous(const array& a, bool allow_col_major, StreamOrDevice s) {
  if (a.is_available() && (a.flags().row_contiguous || (allow_col_major && a.flags().col_contiguous)))
    return a;
  return copy(a, s);
}

array full(Shape shape, const array& value, Dtype dtype, StreamOrDevice s) {
  for (auto d : shape)
    if (d < 0) throw ValueError(msg("[full] Negative dimensions not allowed, got shape ", shape_str(shape), "."));
  Stream st = to_stream(s);
  array v = value.dtype() == dtype ? value : astype(value, dtype, st);
  return copy(broadcast_to(v, shape, st), st);
}

array full(Shape shape, const array& value, StreamOrDevice s) {
  return full(std::move(shape), value, value.dtype(), s);
}

array zeros(const Shape& shape, Dtype dtype, StreamOrDevice s) {
  return full(shape, array(0, dtype), dtype, s);
}
array ones(const Shape& shape, Dtype dtype, StreamOrDevice s) {
  return full(shape, array(1, dtype), dtype, s);
}
array zeros_like(const array& a, StreamOrDevice s) { return zeros(a.shape(), a.dtype(), s); }
array ones_like(const array& a, StreamOrDevice s) { return ones(a.shape(), a.dtype(), s); }
array full_like(const array& a, const array& value, std::optional<Dtype> dtype, StreamOrDevice s) {
  return full(a.shape(), value, dtype.value_or(a.dtype()), s);
}

array arange(double start, double stop, double step, Dtype dtype, StreamOrDevice s) {
  if (dtype == bool_) throw ValueError("[arange] Cannot use bool as the dtype of an arange.");
  if (step == 0) throw ValueError("[arange] Cannot compute length with step of 0.");
  if (std::isnan(start) || std::isnan(stop) || std::isnan(step))
    throw ValueError("[arange] Cannot compute length with a NaN start, stop or step.");
  if (std::isinf(start) || std::isinf(stop))
    throw ValueError("[arange] Cannot compute length with an infinite start or stop.");
  double len = std::ceil((stop - start) / step);
  if (len > double(INT32_MAX))
    throw ValueError(msg("[arange] Maximum size exceeded: ", len, " elements requested."));
  int64_t n = std::max<int64_t>(int64_t(len), 0);
  if (std::isinf(step)) n = ((step > 0) == (stop > start)) && stop != start ? 1 : 0;
  return array(Shape{n}, dtype, std::make_shared<ArangePrim>(to_stream(s), start, step), {});
}

array linspace(double start, double stop, int64_t num, Dtype dtype, StreamOrDevice s) {
  if (num < 0) throw ValueError(msg("[linspace] num must be non-negative, got ", num, "."));
  if (num == 1) return full({1}, array(start), dtype, s);
  Stream st = to_stream(s);
  // start + i * (stop - start) / (num - 1), computed in float32 like MLX
  // (float64 for a float64 result).
  double step = num > 1 ? (stop - start) / double(num - 1) : 0.0;
  Dtype ct = dtype == float64 ? float64 : float32;
  array idx = arange(0, double(num), 1, ct, st);
  array r = add(multiply(idx, array(step, ct), st), array(start, ct), st);
  return astype(r, dtype, st);
}

array tri(int64_t n, int64_t m, int k, Dtype dtype, StreamOrDevice s) {
  Stream st = to_stream(s);
  array rows = reshape(arange(0, double(n), 1, int32, st), {n, 1}, st);
  array cols = reshape(arange(-double(k), double(m - k), 1, int32, st), {1, m}, st);
  return astype(greater_equal(rows, cols, st), dtype, st);
}

array eye(int64_t n, int64_t m, int k, Dtype dtype, StreamOrDevice s) {
  if (n < 0 || m < 0) throw ValueError(msg("[eye] N and M must be non-negative, got ", n, " and ", m, "."));
  Stream st = to_stream(s);
  array rows = reshape(arange(0, double(n), 1, int32, st), {n, 1}, st);
  array cols = reshape(arange(-double(k), double(m - k), 1, int32, st), {1, m}, st);
  return astype(equal(rows, cols, st), dtype, st);
}

array identity(int64_t n, Dtype dtype, StreamOrDevice s) { return eye(n, n, 0, dtype, s); }

}  // namespace oxmlx

namespace oxmlx {

std::vector<array> CopyPrim::vjp(const std::vector<array>& in, const std::vector<array>& cots,
                                 const std::vector<int>&, const std::vector<array>&) {
  return {astype(cots[0], in[0].dtype())};
}

std::vector<array> CopyPrim::jvp(const std::vector<array>&, const std::vector<array>& tans,
                                 const std::vector<int>&) {
  return {tans[0]};
}

}  // namespace oxmlx

// ------------------------------------------------------- vmap rules

#include "core/transforms.h"

namespace oxmlx {

std::pair<std::vector<array>, std::vector<int>> CopyPrim::vmap(const std::vector<array>& in,
                                                               const std::vector<int>& axes) {
  Dtype dt = vmap_unbatched_outputs()[0].dtype();
  return {{array(in[0].shape(), dt, std::make_shared<CopyPrim>(stream()), {in[0]})}, {axes[0]}};
}

// An arange has no inputs, so it is never batched.
std::pair<std::vector<array>, std::vector<int>> ArangePrim::vmap(const std::vector<array>&,
                                                                 const std::vector<int>&) {
  return {{vmap_unbatched_outputs()[0]}, {-1}};
}

bool ArangePrim::is_equivalent(const Primitive& o) const {
  auto* p = dynamic_cast<const ArangePrim*>(&o);
  return p && p->start_ == start_ && p->step_ == step_;
}

}  // namespace oxmlx
