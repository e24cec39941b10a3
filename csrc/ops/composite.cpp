// Compositions of core ops (see composite.h). Each builds an ordinary lazy
// graph of family primitives, so it runs on any backend and differentiates
// through the families' own rules.
#include "ops/composite.h"
#include "ops/fast.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace oxmlx {

namespace {

// Elements [start, stop) with `step` along one axis (a strided view).
array take_range(const array& a, int axis, int64_t start, int64_t stop, int64_t step,
                 const Stream& st) {
  Shape b(a.ndim(), 0), e = a.shape(), k(a.ndim(), 1);
  b[axis] = start;
  e[axis] = stop;
  k[axis] = step;
  return slice(a, b, e, k, st);
}

array to_inexact(const array& a, const Stream& st) {
  return is_inexact(a.dtype()) ? a : astype(a, float32, st);
}

// Largest finite value of a floating dtype.
double max_finite(Dtype d) {
  if (d == float16) return 65504.0;
  if (d == bfloat16) return 3.3895313892515355e38;
  if (d == float64) return std::numeric_limits<double>::max();
  return double(std::numeric_limits<float>::max());
}

}  // namespace

// ---------------------------------------------------------------- reductions

array logsumexp(const array& a_in, const std::vector<int>& axes_in, bool keepdims,
                StreamOrDevice s) {
  Stream st = to_stream(s);
  if (a_in.ndim() == 0 && !axes_in.empty())
    throw ValueError("[logsumexp] Received non-empty axes for array with 0 dimensions.");
  if (a_in.size() == 0) throw ValueError("[logsumexp] Received empty array.");
  array a = to_inexact(a_in, st);
  auto axes = normalize_axes(axes_in, a.ndim(), "logsumexp");
  // Real inputs: one fused pass per row (ops/fast.cpp), with its own vjp/jvp.
  if (!is_complex(a.dtype()) && a.ndim() > 0) return logsumexp_fused(a, axes, keepdims, st);
  // A max of -inf/inf would turn a - m into nan: shift by 0 there.
  array m = stop_gradient(max(a, axes, true, st), st);
  m = where(isinf(m, st), zeros_like(m, st), m, st);
  array r = add(log(sum(exp(subtract(a, m, st), st), axes, true, st), st), m, st);
  return keepdims ? r : squeeze(r, axes, st);
}

array softmax(const array& a_in, const std::vector<int>& axes_in, bool precise, StreamOrDevice s) {
  Stream st = to_stream(s);
  if (a_in.ndim() == 0 && !axes_in.empty())
    throw ValueError("[softmax] Received non-empty axes for array with 0 dimensions.");
  array a = to_inexact(a_in, st);
  auto axes = normalize_axes(axes_in, a.ndim(), "softmax");
  if (a.size() == 0) return a;
  if (!is_complex(a.dtype()) && a.ndim() > 0) return softmax_fused(a, axes, precise, st);
  bool up = precise && (a.dtype() == float16 || a.dtype() == bfloat16);
  array x = up ? astype(a, float32, st) : a;
  array e = exp(subtract(x, stop_gradient(max(x, axes, true, st), st), st), st);
  array r = divide(e, sum(e, axes, true, st), st);
  return r.dtype() == a.dtype() ? r : astype(r, a.dtype(), st);
}

array stddev(const array& a, const std::vector<int>& axes, bool keepdims, int ddof,
             StreamOrDevice s) {
  Stream st = to_stream(s);
  return sqrt(var(a, axes, keepdims, ddof, st), st);
}

array count_nonzero(const array& a, const std::vector<int>& axes, bool keepdims,
                    StreamOrDevice s) {
  Stream st = to_stream(s);
  array nz = not_equal(a, array(0, a.dtype()), st);
  return astype(sum(nz, axes, keepdims, st), int32, st);
}

// ---------------------------------------------------------------- elementwise

array clip(const array& a, const std::optional<array>& a_min, const std::optional<array>& a_max,
           StreamOrDevice s) {
  if (!a_min && !a_max) throw ValueError("[clip] One of a_min or a_max must be provided.");
  Stream st = to_stream(s);
  array r = a;
  if (a_min) r = maximum(r, *a_min, st);
  if (a_max) r = minimum(r, *a_max, st);
  return r;
}

array isclose(const array& a, const array& b, double rtol, double atol, bool equal_nan,
              StreamOrDevice s) {
  Stream st = to_stream(s);
  Dtype dt = promote_types(a.dtype(), b.dtype());
  Dtype tol_dt = is_inexact(dt) ? dt : float32;
  // |a - b| <= atol + rtol * |b| where both are finite; infinities are close
  // only to the same infinity (as MLX and numpy).
  array diffv = abs(subtract(a, b, st), st);
  array bound = add(array(atol, tol_dt), multiply(array(rtol, tol_dt), abs(b, st), st), st);
  array out = less_equal(diffv, bound, st);
  array any_inf = logical_or(isinf(a, st), isinf(b, st), st);
  out = logical_and(out, logical_not(any_inf, st), st);
  out = logical_or(out, logical_and(any_inf, equal(a, b, st), st), st);
  if (equal_nan) out = logical_or(out, logical_and(isnan(a, st), isnan(b, st), st), st);
  return out;
}

array allclose(const array& a, const array& b, double rtol, double atol, bool equal_nan,
               StreamOrDevice s) {
  Stream st = to_stream(s);
  array c = isclose(a, b, rtol, atol, equal_nan, st);
  return all(c, all_axes(c.ndim()), false, st);
}

array array_equal(const array& a, const array& b, bool equal_nan, StreamOrDevice s) {
  Stream st = to_stream(s);
  if (a.shape() != b.shape()) return array(false, bool_);
  array eq = equal(a, b, st);
  if (equal_nan) eq = logical_or(eq, logical_and(isnan(a, st), isnan(b, st), st), st);
  return all(eq, all_axes(eq.ndim()), false, st);
}

array nan_to_num(const array& a, double nan, std::optional<double> posinf,
                 std::optional<double> neginf, StreamOrDevice s) {
  if (!is_inexact(a.dtype())) return a;
  Stream st = to_stream(s);
  Dtype dt = a.dtype();
  Dtype real_dt = is_complex(dt) ? float32 : dt;
  double big = max_finite(real_dt);
  array r = where(isnan(a, st), array(nan, dt), a, st);
  r = where(isposinf(r, st), array(posinf.value_or(big), dt), r, st);
  return where(isneginf(r, st), array(neginf.value_or(-big), dt), r, st);
}

// ---------------------------------------------------------------- shape

array concatenate(const std::vector<array>& arrays_in, std::optional<int> axis_in,
                  StreamOrDevice s) {
  if (arrays_in.empty()) throw ValueError("[concatenate] No arrays provided for concatenation.");
  Stream st = to_stream(s);
  std::vector<array> arrays = arrays_in;
  if (!axis_in) {
    for (auto& x : arrays) x = reshape(x, {x.size()}, st);
  }
  const array& first = arrays[0];
  int nd = first.ndim();
  if (nd == 0) throw ValueError("[concatenate] Zero-dimensional arrays cannot be concatenated.");
  int axis = normalize_axis(axis_in.value_or(0), nd, "concatenate");
  Dtype dt = first.dtype();
  for (size_t i = 1; i < arrays.size(); ++i) {
    const array& x = arrays[i];
    bool ok = x.ndim() == nd;
    for (int d = 0; ok && d < nd; ++d) ok = d == axis || x.shape(d) == first.shape(d);
    if (!ok)
      throw ValueError(msg("[concatenate] All the input array dimensions must match exactly "
                           "except for the concatenation axis. However, the provided shapes are ",
                           shape_str(first.shape()), " and ", shape_str(x.shape()),
                           ", and the concatenation axis is ", axis, "."));
    dt = promote_types(dt, x.dtype());
  }
  if (arrays.size() == 1) return astype(arrays[0], dt, st);
  Shape shape = first.shape();
  shape[axis] = 0;
  for (auto& x : arrays) shape[axis] += x.shape(axis);
  array out = zeros(shape, dt, st);
  int64_t pos = 0;
  for (auto& x : arrays) {
    Shape b(nd, 0), e = shape, k(nd, 1);
    b[axis] = pos;
    e[axis] = pos + x.shape(axis);
    out = slice_update(out, astype(x, dt, st), b, e, k, st);
    pos += x.shape(axis);
  }
  return out;
}

array stack(const std::vector<array>& arrays, int axis, StreamOrDevice s) {
  if (arrays.empty()) throw ValueError("[stack] No arrays provided for stacking.");
  Stream st = to_stream(s);
  for (auto& x : arrays)
    if (x.shape() != arrays[0].shape())
      throw ValueError(msg("[stack] All arrays must have the same shape, got ",
                           shape_str(arrays[0].shape()), " and ", shape_str(x.shape()), "."));
  int ax = normalize_axis(axis, arrays[0].ndim() + 1, "stack");
  std::vector<array> ex;
  for (auto& x : arrays) ex.push_back(expand_dims(x, {ax}, st));
  return concatenate(ex, ax, st);
}

std::vector<array> split(const array& a, const Shape& indices, int axis_in, StreamOrDevice s) {
  Stream st = to_stream(s);
  int axis = normalize_axis(axis_in, a.ndim(), "split");
  int64_t n = a.shape(axis);
  std::vector<int64_t> edges{0};
  for (auto b : indices) edges.push_back(std::clamp<int64_t>(b, 0, n));
  edges.push_back(n);
  std::vector<array> out;
  for (size_t i = 0; i + 1 < edges.size(); ++i)
    out.push_back(take_range(a, axis, edges[i], std::max(edges[i], edges[i + 1]), 1, st));
  return out;
}

std::vector<array> split(const array& a, int k, int axis_in, StreamOrDevice s) {
  int axis = normalize_axis(axis_in, a.ndim(), "split");
  int64_t n = a.shape(axis);
  if (k <= 0 || n % k != 0)
    throw ValueError(msg("[split] Cannot split array of size ", n, " into ", k, " equal parts."));
  Shape bounds;
  for (int i = 1; i < k; ++i) bounds.push_back(i * (n / k));
  return split(a, bounds, axis, s);
}

array repeat(const array& a_in, int64_t repeats, std::optional<int> axis_in, StreamOrDevice s) {
  if (repeats < 0) throw ValueError("[repeat] Number of repeats cannot be negative.");
  Stream st = to_stream(s);
  array a = axis_in ? a_in : reshape(a_in, {a_in.size()}, st);
  int axis = normalize_axis(axis_in.value_or(0), a.ndim(), "repeat");
  array e = expand_dims(a, {axis + 1}, st);
  Shape shape = e.shape();
  shape[axis + 1] = repeats;
  Shape out = a.shape();
  out[axis] *= repeats;
  return reshape(broadcast_to(e, shape, st), out, st);
}

array tile(const array& a_in, std::vector<int64_t> reps, StreamOrDevice s) {
  Stream st = to_stream(s);
  for (auto r : reps)
    if (r < 0) throw ValueError("[tile] Number of repetitions cannot be negative.");
  int nd = std::max<int>(a_in.ndim(), int(reps.size()));
  reps.insert(reps.begin(), nd - reps.size(), 1);
  Shape sh(nd - a_in.ndim(), 1);
  sh.insert(sh.end(), a_in.shape().begin(), a_in.shape().end());
  array a = reshape(a_in, sh, st);
  Shape inter, target, out;
  for (int i = 0; i < nd; ++i) {
    inter.insert(inter.end(), {1, sh[i]});
    target.insert(target.end(), {reps[i], sh[i]});
    out.push_back(reps[i] * sh[i]);
  }
  return reshape(broadcast_to(reshape(a, inter, st), target, st), out, st);
}

array pad(const array& a, const std::vector<std::pair<int64_t, int64_t>>& widths,
          const array& value, const std::string& mode, StreamOrDevice s) {
  Stream st = to_stream(s);
  int nd = a.ndim();
  if (int(widths.size()) != nd)
    throw ValueError(msg("[pad] Invalid number of pad widths (", widths.size(),
                         ") for array with ", nd, " dimensions."));
  for (auto& [lo, hi] : widths)
    if (lo < 0 || hi < 0) throw ValueError("[pad] Pad widths must be non-negative.");
  if (mode == "constant") {
    if (value.size() != 1) throw ValueError("[pad] The padding value must be a scalar.");
    Shape shape(nd), b(nd), e(nd), k(nd, 1);
    for (int i = 0; i < nd; ++i) {
      shape[i] = a.shape(i) + widths[i].first + widths[i].second;
      b[i] = widths[i].first;
      e[i] = widths[i].first + a.shape(i);
    }
    array out = full(shape, reshape(value, {}, st), a.dtype(), st);
    return slice_update(out, a, b, e, k, st);
  }
  if (mode == "edge" || mode == "reflect" || mode == "symmetric") {
    // Axis by axis; reflect/symmetric grow in chunks of at most the original
    // length (n - 1 for reflect) so that wide pads repeat the pattern.
    array out = a;
    for (int ax = 0; ax < nd; ++ax) {
      auto [lo, hi] = widths[ax];
      const int64_t n = a.shape(ax);
      if (n == 0 && (lo || hi))
        throw ValueError(msg("[pad] Cannot ", mode, "-pad an empty axis."));
      bool edge = mode == "edge" || (mode == "reflect" && n == 1);
      while (lo || hi) {
        int64_t m = out.shape(ax);
        int64_t chunk = edge ? std::max(lo, hi) : (mode == "reflect" ? n - 1 : n);
        int64_t l = std::min(lo, chunk), h = std::min(hi, chunk);
        std::vector<array> parts;
        if (edge) {
          if (l) parts.push_back(repeat(take_range(out, ax, 0, 1, 1, st), l, ax, st));
          parts.push_back(out);
          if (h) parts.push_back(repeat(take_range(out, ax, m - 1, m, 1, st), h, ax, st));
        } else {
          int64_t r = mode == "reflect" ? 1 : 0;  // reflect skips the edge element
          if (l) parts.push_back(take_range(out, ax, l - 1 + r, r - 1, -1, st));
          parts.push_back(out);
          if (h) parts.push_back(take_range(out, ax, m - 1 - r, m - 1 - r - h, -1, st));
        }
        if (parts.size() > 1) out = concatenate(parts, ax, st);
        lo -= l;
        hi -= h;
      }
    }
    return out;
  }
  throw ValueError(msg("[pad] Unsupported mode '", mode,
                       "' (supported: constant, edge, reflect, symmetric)."));
}

array flip(const array& a, const std::vector<int>& axes_in, StreamOrDevice s) {
  Stream st = to_stream(s);
  auto axes = axes_in.empty() ? all_axes(a.ndim()) : normalize_axes(axes_in, a.ndim(), "flip");
  Shape b(a.ndim(), 0), e = a.shape(), k(a.ndim(), 1);
  for (int ax : axes) {
    b[ax] = a.shape(ax) - 1;
    e[ax] = -1;
    k[ax] = -1;
  }
  return slice(a, b, e, k, st);
}

array roll(const array& a, const Shape& shifts_in, const std::vector<int>& axes,
           StreamOrDevice s) {
  Stream st = to_stream(s);
  if (axes.empty()) {
    if (shifts_in.size() != 1)
      throw ValueError("[roll] shift must be a single integer when no axis is given.");
    array flat = reshape(a, {a.size()}, st);
    return reshape(roll(flat, shifts_in, {0}, st), a.shape(), st);
  }
  // One shift for every axis, or at least one per axis (MLX ignores extras).
  Shape shifts = shifts_in.size() == 1 ? Shape(axes.size(), shifts_in[0]) : shifts_in;
  if (shifts.size() < axes.size())
    throw ValueError(msg("[roll] At least one shift value per axis is required, ", shifts_in.size(),
                         " provided for ", axes.size(), " axes."));
  array r = a;
  for (size_t i = 0; i < axes.size(); ++i) {
    int ax = normalize_axis(axes[i], a.ndim(), "roll");
    int64_t n = r.shape(ax);
    if (n == 0) continue;
    int64_t k = ((shifts[i] % n) + n) % n;
    if (k)
      r = concatenate({take_range(r, ax, n - k, n, 1, st), take_range(r, ax, 0, n - k, 1, st)},
                      ax, st);
  }
  return r;
}

array tril(const array& x, int k, StreamOrDevice s) {
  if (x.ndim() < 2) throw ValueError("[tril] Array must have at least 2 dimensions.");
  Stream st = to_stream(s);
  array m = tri(x.shape(-2), x.shape(-1), k, bool_, st);
  return where(m, x, zeros_like(x, st), st);
}

array triu(const array& x, int k, StreamOrDevice s) {
  if (x.ndim() < 2) throw ValueError("[triu] Array must have at least 2 dimensions.");
  Stream st = to_stream(s);
  array m = tri(x.shape(-2), x.shape(-1), k - 1, bool_, st);
  return where(m, zeros_like(x, st), x, st);
}

array diagonal(const array& a, int offset, int axis1, int axis2, StreamOrDevice s) {
  Stream st = to_stream(s);
  int ax1 = normalize_axis(axis1, a.ndim(), "diagonal");
  int ax2 = normalize_axis(axis2, a.ndim(), "diagonal");
  if (ax1 == ax2) throw ValueError("[diagonal] axis1 and axis2 cannot be the same axis.");
  int64_t n1 = a.shape(ax1), n2 = a.shape(ax2);
  int64_t r0 = offset >= 0 ? 0 : -int64_t(offset), c0 = offset >= 0 ? offset : 0;
  int64_t len = std::max<int64_t>(0, std::min(n1 - r0, n2 - c0));
  std::vector<int> perm;
  for (int i = 0; i < a.ndim(); ++i)
    if (i != ax1 && i != ax2) perm.push_back(i);
  perm.push_back(ax1);
  perm.push_back(ax2);
  // The two axes last, flattened into one: the diagonal is then a strided
  // slice (step n2 + 1), which is differentiable through the slice rules.
  array x = transpose(a, perm, st);
  Shape flat(x.shape().begin(), x.shape().end() - 2);
  flat.push_back(n1 * n2);
  x = reshape(x, flat, st);
  int last = x.ndim() - 1;
  int64_t start = r0 * n2 + c0;
  if (len == 0) return take_range(x, last, 0, 0, 1, st);
  return take_range(x, last, start, start + (len - 1) * (n2 + 1) + 1, n2 + 1, st);
}

array diag(const array& a, int k, StreamOrDevice s) {
  Stream st = to_stream(s);
  if (a.ndim() == 1) {
    int64_t n = a.shape(0) + std::abs(k);
    // Row r of the result holds its diagonal element a[r - max(-k, 0)].
    array row_vals = pad(a, {{std::max(-k, 0), std::max(k, 0)}}, array(0, a.dtype()), "constant", st);
    return where(eye(n, n, k, bool_, st), expand_dims(row_vals, {1}, st), zeros({1, 1}, a.dtype(), st),
                 st);
  }
  if (a.ndim() == 2) return diagonal(a, k, 0, 1, st);
  throw ValueError("[diag] Input must be 1-dimensional or 2-dimensional.");
}

array trace(const array& a, int offset, int axis1, int axis2, std::optional<Dtype> dtype,
            StreamOrDevice s) {
  Stream st = to_stream(s);
  array d = diagonal(a, offset, axis1, axis2, st);
  if (dtype) d = astype(d, *dtype, st);
  return sum(d, {-1}, false, st);
}

array diff(const array& a_in, int n, int axis_in, StreamOrDevice s) {
  Stream st = to_stream(s);
  int axis = normalize_axis(axis_in, a_in.ndim(), "diff");
  if (n < 0) throw ValueError(msg("[diff] Order must be non-negative but got ", n, "."));
  array a = a_in;
  for (int i = 0; i < n; ++i) {
    int64_t m = a.shape(axis);
    a = subtract(take_range(a, axis, 1, std::max<int64_t>(m, 1), 1, st),
                 take_range(a, axis, 0, std::max<int64_t>(m - 1, 0), 1, st), st);
  }
  return a;
}

// ---------------------------------------------------------------- products

array outer(const array& a, const array& b, StreamOrDevice s) {
  Stream st = to_stream(s);
  array x = reshape(a, {a.size(), 1}, st), y = reshape(b, {1, b.size()}, st);
  return multiply(x, y, st);
}

array tensordot(const array& a, const array& b, const std::vector<int>& axes_a_in,
                const std::vector<int>& axes_b_in, StreamOrDevice s) {
  Stream st = to_stream(s);
  if (axes_a_in.size() != axes_b_in.size())
    throw ValueError("[tensordot] axes must have the same number of elements for a and b.");
  std::vector<int> ax_a, ax_b;
  for (int x : axes_a_in) ax_a.push_back(normalize_axis(x, a.ndim(), "tensordot"));
  for (int x : axes_b_in) ax_b.push_back(normalize_axis(x, b.ndim(), "tensordot"));
  int64_t k = 1;
  for (size_t i = 0; i < ax_a.size(); ++i) {
    if (a.shape(ax_a[i]) != b.shape(ax_b[i]))
      throw ValueError(msg("[tensordot] Dimension ", ax_a[i], " of a (", a.shape(ax_a[i]),
                           ") does not match dimension ", ax_b[i], " of b (", b.shape(ax_b[i]),
                           ")."));
    k *= a.shape(ax_a[i]);
  }
  std::vector<int> free_a, free_b, perm_a, perm_b;
  Shape out_shape;
  int64_t ma = 1, nb = 1;
  for (int i = 0; i < a.ndim(); ++i)
    if (std::find(ax_a.begin(), ax_a.end(), i) == ax_a.end()) {
      free_a.push_back(i);
      out_shape.push_back(a.shape(i));
      ma *= a.shape(i);
    }
  for (int i = 0; i < b.ndim(); ++i)
    if (std::find(ax_b.begin(), ax_b.end(), i) == ax_b.end()) {
      free_b.push_back(i);
      out_shape.push_back(b.shape(i));
      nb *= b.shape(i);
    }
  perm_a = free_a;
  perm_a.insert(perm_a.end(), ax_a.begin(), ax_a.end());
  perm_b = ax_b;
  perm_b.insert(perm_b.end(), free_b.begin(), free_b.end());
  array am = reshape(transpose(a, perm_a, st), {ma, k}, st);
  array bm = reshape(transpose(b, perm_b, st), {k, nb}, st);
  return reshape(matmul(am, bm, st), out_shape, st);
}

array tensordot(const array& a, const array& b, int axes, StreamOrDevice s) {
  if (axes < 0 || axes > a.ndim() || axes > b.ndim())
    throw ValueError(msg("[tensordot] axes (", axes, ") must be between 0 and the dimensions of both inputs."));
  std::vector<int> ax_a, ax_b;
  for (int i = 0; i < axes; ++i) {
    ax_a.push_back(a.ndim() - axes + i);
    ax_b.push_back(i);
  }
  return tensordot(a, b, ax_a, ax_b, s);
}

array inner(const array& a, const array& b, StreamOrDevice s) {
  Stream st = to_stream(s);
  if (a.ndim() == 0 || b.ndim() == 0) return multiply(a, b, st);
  if (a.shape(-1) != b.shape(-1))
    throw ValueError(msg("[inner] a.shape[-1] (", a.shape(-1), ") must match b.shape[-1] (",
                         b.shape(-1), ")."));
  return tensordot(a, b, {a.ndim() - 1}, {b.ndim() - 1}, st);
}

array kron(const array& a, const array& b, StreamOrDevice s) {
  Stream st = to_stream(s);
  int nd = std::max(a.ndim(), b.ndim());
  Shape sa(nd - a.ndim(), 1), sb(nd - b.ndim(), 1);
  sa.insert(sa.end(), a.shape().begin(), a.shape().end());
  sb.insert(sb.end(), b.shape().begin(), b.shape().end());
  // Interleave the axes: a (.., da, 1, ..) * b (.., 1, db, ..), then merge pairs.
  Shape ia, ib, out;
  for (int i = 0; i < nd; ++i) {
    ia.insert(ia.end(), {sa[i], 1});
    ib.insert(ib.end(), {1, sb[i]});
    out.push_back(sa[i] * sb[i]);
  }
  return reshape(multiply(reshape(a, ia, st), reshape(b, ib, st), st), out, st);
}

array addmm(const array& c, const array& a, const array& b, double alpha, double beta,
            StreamOrDevice s) {
  Dtype dt = promote_types(promote_types(c.dtype(), a.dtype()), b.dtype());
  if (!is_floating(dt))
    throw ValueError(msg("[addmm] Only real floating point types are supported but ",
                         dtype_name(c.dtype()), ", ", dtype_name(a.dtype()), " and ",
                         dtype_name(b.dtype()), " were provided which results in ", dtype_name(dt),
                         ", which is not a real floating point type."));
  Stream st = to_stream(s);
  array ab = matmul(astype(a, dt, st), astype(b, dt, st), st);
  array x = alpha == 1.0 ? ab : multiply(array(alpha, dt), ab, st);
  array y = beta == 1.0 ? astype(c, dt, st) : multiply(array(beta, dt), c, st);
  return add(x, y, st);
}

std::vector<array> meshgrid(const std::vector<array>& arrays, bool sparse,
                            const std::string& indexing, StreamOrDevice s) {
  if (indexing != "xy" && indexing != "ij")
    throw ValueError(msg("[meshgrid] Invalid indexing value '", indexing,
                         "' (expected 'xy' or 'ij')."));
  Stream st = to_stream(s);
  size_t n = arrays.size();
  std::vector<array> outs;
  for (size_t i = 0; i < n; ++i) {
    Shape shape(n, 1);
    shape[i] = arrays[i].size();
    array x = reshape(arrays[i], shape, st);
    if (indexing == "xy" && n >= 2) x = swapaxes(x, 0, 1, st);
    outs.push_back(x);
  }
  return sparse ? outs : broadcast_arrays(outs, st);
}

array unflatten(const array& a, int axis_in, const Shape& shape, StreamOrDevice s) {
  int axis = normalize_axis(axis_in, a.ndim(), "unflatten");
  if (shape.empty()) throw ValueError("[unflatten] The shape must not be empty.");
  Shape out(a.shape().begin(), a.shape().begin() + axis);
  out.insert(out.end(), shape.begin(), shape.end());
  out.insert(out.end(), a.shape().begin() + axis + 1, a.shape().end());
  return reshape(a, out, s);
}

}  // namespace oxmlx
