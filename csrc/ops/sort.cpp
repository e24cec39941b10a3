// Sort family: sort/argsort and partition/argpartition builders with their
// derivative rules (the gradient flows through the permutation: scattered
// back for vjp, gathered for jvp), and the MLX ops composed from them: topk,
// median, searchsorted (a vectorized binary search, or one merged sort for
// many values into a short sequence) and unique.
#include <bit>
#include <limits>

#include "ops/ops.h"
#include "ops/primitives.h"

namespace oxmlx {

namespace {

struct Line {
  array x;
  int axis;
};

// The array and axis a sort-like op works on: the flattened array for nullopt.
Line line_of(const array& a, std::optional<int> axis, const char* op, Stream st) {
  if (!axis) return {reshape(a, {a.size()}, st), 0};
  int ax = *axis < 0 ? *axis + a.ndim() : *axis;
  if (ax < 0 || ax >= a.ndim())
    throw IndexError(msg("[", op, "] Axis ", *axis, " is out of bounds for array with ", a.ndim(),
                         " dimensions."));
  return {a, ax};
}

int check_kth(const Line& l, int kth, std::optional<int> axis, const char* op) {
  int64_t n = l.x.shape(l.axis);
  if (kth < -n || kth >= n)
    throw ValueError(msg("[", op, "] Received invalid kth ", kth, " along axis ",
                         axis ? *axis : 0, " for array with shape: ", shape_str(l.x.shape()), "."));
  return kth < 0 ? int(kth + n) : kth;
}

array slice_axis(const array& a, int axis, int64_t start, int64_t stop, Stream st) {
  Shape b(a.ndim(), 0), e = a.shape(), step(a.ndim(), 1);
  b[axis] = start;
  e[axis] = stop;
  return slice(a, b, e, step, st);
}

}  // namespace

// ------------------------------------------------------------ builders

array sort(const array& a, std::optional<int> axis, StreamOrDevice s) {
  Stream st = to_stream(s);
  Line l = line_of(a, axis, "sort", st);
  return array(l.x.shape(), l.x.dtype(), std::make_shared<SortPrim>(st, l.axis, false), {l.x});
}

array argsort(const array& a, std::optional<int> axis, StreamOrDevice s) {
  Stream st = to_stream(s);
  Line l = line_of(a, axis, "argsort", st);
  return array(l.x.shape(), uint32, std::make_shared<SortPrim>(st, l.axis, true), {l.x});
}

array partition(const array& a, int kth, std::optional<int> axis, StreamOrDevice s) {
  Stream st = to_stream(s);
  Line l = line_of(a, axis, "partition", st);
  int k = check_kth(l, kth, axis, "partition");
  return array(l.x.shape(), l.x.dtype(), std::make_shared<PartitionPrim>(st, l.axis, k, false),
               {l.x});
}

array argpartition(const array& a, int kth, std::optional<int> axis, StreamOrDevice s) {
  Stream st = to_stream(s);
  Line l = line_of(a, axis, "argpartition", st);
  int k = check_kth(l, kth, axis, "argpartition");
  return array(l.x.shape(), uint32, std::make_shared<PartitionPrim>(st, l.axis, k, true), {l.x});
}

array topk(const array& a, int k, std::optional<int> axis, StreamOrDevice s) {
  Stream st = to_stream(s);
  Line l = line_of(a, axis, "topk", st);
  int64_t n = l.x.shape(l.axis);
  if (k < 0 || k > n)
    throw ValueError(msg("[topk] Received invalid k=", k, " along axis ", axis ? *axis : 0,
                         " for array with shape: ", shape_str(l.x.shape()), "."));
  if (k == n) return l.x;  // the whole line, in its original order (as MLX)
  if (k == 0) return slice_axis(l.x, l.axis, n, n, st);
  // The k largest sit after position n - k of the partition.
  array p = partition(l.x, int(n - k), l.axis, st);
  return slice_axis(p, l.axis, n - k, n, st);
}

array median(const array& a, const std::vector<int>& axes_in, bool keepdims, StreamOrDevice s) {
  Stream st = to_stream(s);
  auto axes = normalize_axes(axes_in, a.ndim(), "median");
  std::vector<bool> red(a.ndim(), false);
  for (int ax : axes) red[ax] = true;
  std::vector<int> perm;
  Shape kept;
  for (int i = 0; i < a.ndim(); ++i)
    if (!red[i]) {
      perm.push_back(i);
      kept.push_back(a.shape(i));
    }
  int64_t n = 1;
  for (int ax : axes) {
    perm.push_back(ax);
    n *= a.shape(ax);
  }
  if (n == 0) throw ValueError("[median] Cannot take median along empty axis.");
  Shape flat = kept;
  flat.push_back(n);
  array x = reshape(transpose(a, perm, st), flat, st);
  Dtype dt = is_inexact(a.dtype()) ? a.dtype() : float32;
  array sorted = sort(x, -1, st);
  int last = int(flat.size()) - 1;
  array m = astype(slice_axis(sorted, last, n / 2, n / 2 + 1, st), dt, st);
  if (n % 2 == 0) {
    array lo = astype(slice_axis(sorted, last, n / 2 - 1, n / 2, st), dt, st);
    m = multiply(add(m, lo, st), array(0.5, dt), st);
  }
  if (is_inexact(a.dtype())) {
    // NaNs sort last: any NaN in a line makes its median NaN (as numpy and MLX).
    array has_nan = isnan(slice_axis(sorted, last, n - 1, n, st), st);
    m = where(has_nan, array(std::numeric_limits<float>::quiet_NaN(), dt), m, st);
  }
  m = reshape(m, kept, st);
  return keepdims ? expand_dims(m, axes, st) : m;
}

array searchsorted(const array& seq, const array& values, bool right, StreamOrDevice s) {
  Stream st = to_stream(s);
  if (seq.ndim() != 1)
    throw ValueError(msg("[searchsorted] The sorted sequence must be 1-D but has ", seq.ndim(),
                         " dimensions."));
  Dtype dt = promote_types(seq.dtype(), values.dtype());
  int64_t n = seq.size(), m = values.size();
  if (n == 0 || m == 0) return zeros(values.shape(), uint32, st);
  if (n > int64_t(UINT32_MAX) - 1)
    throw ValueError(msg("[searchsorted] Sequence of ", n, " elements is too long for uint32 indices."));
  array a = astype(seq, dt, st);
  array v = astype(values, dt, st);
  int steps = std::bit_width(uint64_t(n));  // >= ceil(log2(n + 1))
  if (int64_t(steps) * m <= 4 * (n + m)) {
    // Binary search, every value at once: `steps` rounds of a gather and
    // elementwise updates of [lo, hi). "below" is MLX's NaN-last order: for
    // left, seq[mid] < x; for right, !(x < seq[mid]).
    bool fl = is_inexact(dt);
    array lo = zeros(v.shape(), uint32, st), hi = full(v.shape(), array(uint32_t(n), uint32), st);
    array last = array(uint32_t(n - 1), uint32), one = array(uint32_t(1), uint32);
    array v_nan = fl ? isnan(v, st) : array(false);
    for (int k = 0; k < steps; ++k) {
      array active = less(lo, hi, st);
      array mid = add(lo, right_shift(subtract(hi, lo, st), one, st), st);  // no overflow
      array mv = take(a, minimum(mid, last, st), 0, st);
      array below;
      if (right) {
        array x_less = less(v, mv, st);
        if (fl) x_less = logical_or(x_less, logical_and(isnan(mv, st), logical_not(v_nan, st), st), st);
        below = logical_not(x_less, st);
      } else {
        below = less(mv, v, st);
        if (fl) below = logical_or(below, logical_and(v_nan, logical_not(isnan(mv, st), st), st), st);
      }
      array go_right = logical_and(active, below, st);
      array go_left = logical_and(active, logical_not(below, st), st);
      lo = where(go_right, add(mid, one, st), lo, st);
      hi = where(go_left, mid, hi, st);
    }
    return lo;
  }
  // Many values into a short sequence: one stable sort of both. With the
  // values first, an equal sequence element sorts after the value (left);
  // with the sequence first, before it (right). The answer is the number of
  // sequence elements sorted before.
  v = reshape(v, {m}, st);
  array merged = zeros({n + m}, dt, st);
  const array& first = right ? a : v;
  const array& second = right ? v : a;
  int64_t nf = first.size();
  merged = slice_update(merged, first, {0}, {nf}, {1}, st);
  merged = slice_update(merged, second, {nf}, {n + m}, {1}, st);
  array order = argsort(merged, 0, st);
  array from_seq = right ? less(order, array(uint32_t(n), uint32), st)
                         : greater_equal(order, array(uint32_t(m), uint32), st);
  array before = scan(ScanOp::Sum, astype(from_seq, uint32, st), 0, false, false, st);
  array placed = put_along_axis(zeros({n + m}, uint32, st), order, before, 0, st);
  int64_t v0 = right ? n : 0;
  return reshape(slice(placed, {v0}, {v0 + m}, {1}, st), values.shape(), st);
}

std::vector<array> unique(const array& a, int64_t size, bool return_index, bool return_inverse,
                          bool return_counts, std::optional<array> fill_value, StreamOrDevice s) {
  Stream st = to_stream(s);
  if (size < 0) throw ValueError(msg("[unique] Received negative size ", size, "."));
  array x = reshape(a, {a.size()}, st);
  int64_t n = x.size();
  if (n > INT32_MAX || size > INT32_MAX)
    throw ValueError(msg("[unique] Inputs and sizes beyond 2^31 - 1 elements are not supported."));
  array fill;
  if (fill_value) {
    if (fill_value->size() != 1)
      throw ValueError(msg("[unique] Fill value must have one element, but got shape ",
                           shape_str(fill_value->shape()), "."));
    fill = astype(reshape(*fill_value, {}, st), a.dtype(), st);
  } else if (n == 0 && size > 0) {
    throw ValueError("[unique] A fill value is required for an empty input with a non-zero size.");
  }
  if (n == 0) {
    std::vector<array> out{fill_value ? full({size}, fill, st) : zeros({size}, a.dtype(), st)};
    if (return_index) out.push_back(zeros({size}, uint32, st));
    if (return_inverse) out.push_back(zeros(a.shape(), uint32, st));
    if (return_counts) out.push_back(zeros({size}, int32, st));
    return out;
  }
  array perm = argsort(x, 0, st);  // stable: the first of a group is its first occurrence
  array sx = take(x, perm, 0, st);
  if (!fill_value) fill = reshape(slice(sx, {0}, {1}, {1}, st), {}, st);
  // is_first[p]: sx[p] starts a group (NaNs never compare equal, so each is one).
  array head = ones({1}, bool_, st);
  array is_first =
      n > 1 ? slice_update(zeros({n}, bool_, st), head, {0}, {1}, {1}, st) : head;
  if (n > 1) {
    array diff = not_equal(slice(sx, {1}, {n}, {1}, st), slice(sx, {0}, {n - 1}, {1}, st), st);
    is_first = slice_update(is_first, diff, {1}, {n}, {1}, st);
  }
  array gid = subtract(scan(ScanOp::Sum, astype(is_first, int32, st), 0, false, true, st),
                       array(int32_t(1), int32), st);
  // Slot `size` collects what does not fit (truncated groups, non-heads).
  array slot = minimum(gid, array(int32_t(size), int32), st);
  array head_slot = where(is_first, slot, array(int32_t(size), int32), st);
  auto place = [&](const array& base, const array& idx, const array& vals, ScatterOp op) {
    array r = scatter(op, base, {idx}, reshape(vals, {n, 1}, st), {0}, st);
    return slice(r, {0}, {size}, {1}, st);
  };
  std::vector<array> out{place(full({size + 1}, fill, st), head_slot, sx, ScatterOp::None)};
  if (return_index) {
    array first_idx = reshape(slice(perm, {0}, {1}, {1}, st), {}, st);
    out.push_back(place(full({size + 1}, first_idx, st), head_slot, perm, ScatterOp::None));
  }
  if (return_inverse) {
    array inv_sorted =
        astype(minimum(gid, array(int32_t(std::max<int64_t>(size - 1, 0)), int32), st), uint32, st);
    array inv = put_along_axis(zeros({n}, uint32, st), perm, inv_sorted, 0, st);
    out.push_back(reshape(inv, a.shape(), st));
  }
  if (return_counts)
    out.push_back(place(zeros({size + 1}, int32, st), slot, ones({n}, int32, st), ScatterOp::Sum));
  return out;
}

// ------------------------------------------------------------ primitives

void SortPrim::eval(const std::vector<array>& in, std::vector<array>& out) {
  backend_for(stream()).sort(in[0], out[0], axis_, arg_);
}

bool SortPrim::is_equivalent(const Primitive& o) const {
  auto* p = dynamic_cast<const SortPrim*>(&o);
  return p && p->axis_ == axis_ && p->arg_ == arg_;
}

void PartitionPrim::eval(const std::vector<array>& in, std::vector<array>& out) {
  backend_for(stream()).partition(in[0], out[0], axis_, kth_, arg_);
}

bool PartitionPrim::is_equivalent(const Primitive& o) const {
  auto* p = dynamic_cast<const PartitionPrim*>(&o);
  return p && p->axis_ == axis_ && p->kth_ == kth_ && p->arg_ == arg_;
}

// Values: out = take_along_axis(x, idx), so dx = put_along_axis(0, idx, cot)
// and dout = take_along_axis(dx, idx). Indices carry no gradient.
std::vector<array> SortPrim::vjp(const std::vector<array>& in, const std::vector<array>& cots,
                                 const std::vector<int>&, const std::vector<array>&) {
  if (arg_) return {zeros_like(in[0])};
  array idx = argsort(in[0], axis_, stream());
  return {put_along_axis(zeros_like(in[0]), idx, cots[0], axis_, stream())};
}

std::vector<array> SortPrim::jvp(const std::vector<array>& in, const std::vector<array>& tans,
                                 const std::vector<int>&) {
  if (arg_) return {zeros(in[0].shape(), in[0].dtype())};
  return {take_along_axis(tans[0], argsort(in[0], axis_, stream()), axis_, stream())};
}

std::vector<array> PartitionPrim::vjp(const std::vector<array>& in, const std::vector<array>& cots,
                                      const std::vector<int>&, const std::vector<array>&) {
  if (arg_) return {zeros_like(in[0])};
  array idx = argpartition(in[0], kth_, axis_, stream());
  return {put_along_axis(zeros_like(in[0]), idx, cots[0], axis_, stream())};
}

std::vector<array> PartitionPrim::jvp(const std::vector<array>& in, const std::vector<array>& tans,
                                      const std::vector<int>&) {
  if (arg_) return {zeros(in[0].shape(), in[0].dtype())};
  return {take_along_axis(tans[0], argpartition(in[0], kth_, axis_, stream()), axis_, stream())};
}

// Batching: the sorted axis moves up by one when the batch axis is before it.
std::pair<std::vector<array>, std::vector<int>> SortPrim::vmap(const std::vector<array>& in,
                                                               const std::vector<int>& axes) {
  int b = axes[0];
  int ax = (b >= 0 && b <= axis_) ? axis_ + 1 : axis_;
  return {{arg_ ? argsort(in[0], ax, stream()) : sort(in[0], ax, stream())}, {b}};
}

std::pair<std::vector<array>, std::vector<int>> PartitionPrim::vmap(
    const std::vector<array>& in, const std::vector<int>& axes) {
  int b = axes[0];
  int ax = (b >= 0 && b <= axis_) ? axis_ + 1 : axis_;
  return {{arg_ ? argpartition(in[0], kth_, ax, stream()) : partition(in[0], kth_, ax, stream())},
          {b}};
}

}  // namespace oxmlx
