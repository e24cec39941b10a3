// Shape family: reshape, transpose, broadcast, slice and as_strided are views
// (the output shares the input's buffer); reshape copies only when no strides
// can describe the new shape.
#include <algorithm>
#include <numeric>

#include "ops/ops.h"
#include "ops/primitives.h"

namespace oxmlx {

int normalize_axis(int axis, int ndim, const char* op) {
  int a = axis < 0 ? axis + ndim : axis;
  if (a < 0 || a >= ndim)
    throw IndexError(msg("[", op, "] Invalid axis ", axis, " for array with ", ndim, " dimensions."));
  return a;
}

std::vector<int> normalize_axes(const std::vector<int>& axes, int ndim, const char* op) {
  std::vector<int> out;
  for (int a : axes) out.push_back(normalize_axis(a, ndim, op));
  std::sort(out.begin(), out.end());
  if (std::adjacent_find(out.begin(), out.end()) != out.end())
    throw ValueError(msg("[", op, "] Received duplicate axes."));
  return out;
}

std::vector<int> all_axes(int ndim) {
  std::vector<int> v(ndim);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  if (a == b) return a;
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da == db || db == 1) out[i] = da;
    else if (da == 1) out[i] = db;
    else
      throw ValueError(msg("[broadcast_shapes] Shapes ", shape_str(a), " and ", shape_str(b),
                           " cannot be broadcast."));
  }
  return out;
}

// ---------------------------------------------------------------- ViewPrim

namespace {

// Strides that describe `shape` over the same elements as (in_shape,
// in_strides) in row-major order, if any exist (no copy needed).
bool reshape_strides(const Shape& in_shape, const Strides& in_strides, const Shape& shape,
                     Strides& out) {
  // Ignore size-1 input dims, then match groups of input and output dims with
  // equal products; each input group must be internally contiguous.
  Shape is;
  Strides ist;
  for (size_t i = 0; i < in_shape.size(); ++i)
    if (in_shape[i] != 1) {
      is.push_back(in_shape[i]);
      ist.push_back(in_strides[i]);
    }
  const size_t n = shape.size();
  out.assign(n, 1);
  size_t i = 0, j = 0;
  while (i < is.size()) {
    while (j < n && shape[j] == 1) ++j;
    if (j == n) return false;
    size_t i0 = i, j0 = j;
    int64_t pi = is[i++], pj = shape[j++];
    while (pi != pj) {
      if (pi < pj) {
        if (i >= is.size()) return false;
        pi *= is[i++];
      } else {
        if (j >= n) return false;
        pj *= shape[j++];
      }
    }
    for (size_t k = i0; k + 1 < i; ++k)
      if (ist[k] != ist[k + 1] * is[k + 1]) return false;
    int64_t st = ist[i - 1];
    for (size_t k = j; k-- > j0;) {
      out[k] = st;
      st *= shape[k];
    }
  }
  return true;
}

void share_view(const array& in, array& out, const Strides& strides, int64_t offset) {
  Flags f = compute_flags(out.shape(), strides);
  out.copy_shared_buffer(in, strides, f, f.contiguous ? out.size() : 0, offset);
}

}  // namespace

std::string ViewPrim::name() const {
  switch (kind_) {
    case Kind::Reshape: return "Reshape";
    case Kind::Transpose: return "Transpose";
    case Kind::Broadcast: return "Broadcast";
    case Kind::Slice: return "Slice";
    case Kind::AsStrided: return "AsStrided";
  }
  return "View";
}

bool ViewPrim::is_equivalent(const Primitive& o) const {
  auto* p = dynamic_cast<const ViewPrim*>(&o);
  return p && p->kind_ == kind_ && p->perm == perm && p->start == start && p->stop == stop &&
         p->step == step && p->as_strides == as_strides && p->as_offset == as_offset;
}

void ViewPrim::eval(const std::vector<array>& inputs, std::vector<array>& outputs) {
  const array& in = inputs[0];
  array& out = outputs[0];
  switch (kind_) {
    case Kind::Reshape: {
      Strides st;
      if (out.size() == 0 || (in.flags().row_contiguous && in.data_size() == in.size())) {
        share_view(in, out, row_major_strides(out.shape()), in.offset());
      } else if (reshape_strides(in.shape(), in.strides(), out.shape(), st)) {
        share_view(in, out, st, in.offset());
      } else {
        array tmp(std::make_shared<ArrayDesc>(in.shape(), in.dtype()));
        backend_for(stream()).copy(in, tmp);
        share_view(tmp, out, row_major_strides(out.shape()), 0);
      }
      return;
    }
    case Kind::Transpose: {
      Strides st(perm.size());
      for (size_t i = 0; i < perm.size(); ++i) st[i] = in.strides()[perm[i]];
      share_view(in, out, st, in.offset());
      return;
    }
    case Kind::Broadcast: {
      int diff = out.ndim() - in.ndim();
      Strides st(out.ndim(), 0);
      for (int i = 0; i < in.ndim(); ++i)
        st[i + diff] = (in.shape(i) == 1 && out.shape(i + diff) != 1) ? 0 : in.strides()[i];
      share_view(in, out, st, in.offset());
      return;
    }
    case Kind::Slice: {
      Strides st(in.ndim());
      int64_t off = in.offset();
      for (int i = 0; i < in.ndim(); ++i) {
        if (out.shape(i) > 0) off += start[i] * in.strides()[i];
        st[i] = in.strides()[i] * step[i];
      }
      if (out.size() == 0) off = in.offset();
      share_view(in, out, st, off);
      return;
    }
    case Kind::AsStrided: {
      const array* src = &in;
      array tmp;
      if (!(in.flags().row_contiguous && in.data_size() == in.size())) {
        tmp = array(std::make_shared<ArrayDesc>(in.shape(), in.dtype()));
        backend_for(stream()).copy(in, tmp);
        src = &tmp;
      }
      share_view(*src, out, as_strides, src->offset() + as_offset);
      return;
    }
  }
}

// ---------------------------------------------------------------- builders

array broadcast_to(const array& a, const Shape& shape, StreamOrDevice s) {
  if (a.shape() == shape) return a;
  if (shape.size() < a.shape().size() ||
      broadcast_shapes(a.shape(), shape) != shape)
    throw ValueError(msg("[broadcast_to] Cannot broadcast array of shape ", shape_str(a.shape()),
                         " into shape ", shape_str(shape), "."));
  return array(shape, a.dtype(), make_pooled<ViewPrim>(to_stream(s), ViewPrim::Kind::Broadcast),
               {a});
}

std::vector<array> broadcast_arrays(const std::vector<array>& in, StreamOrDevice s) {
  Shape shape;
  for (auto& a : in) shape = broadcast_shapes(shape, a.shape());
  std::vector<array> out;
  for (auto& a : in) out.push_back(broadcast_to(a, shape, s));
  return out;
}

array reshape(const array& a, Shape shape, StreamOrDevice s) {
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) throw ValueError("[reshape] Reshape can only infer one dimension.");
      infer = int(i);
    } else if (shape[i] < 0) {
      throw ValueError(msg("[reshape] Invalid dimension ", shape[i], " in shape ", shape_str(shape), "."));
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || a.size() % known != 0)
      throw ValueError(msg("[reshape] Cannot infer the shape of an array of size ", a.size(),
                           " into shape ", shape_str(shape), "."));
    shape[infer] = a.size() / known;
  }
  if (shape_size(shape) != a.size())
    throw ValueError(msg("[reshape] Cannot reshape array of size ", a.size(), " into shape ",
                         shape_str(shape), "."));
  if (shape == a.shape()) return a;
  return array(std::move(shape), a.dtype(),
               make_pooled<ViewPrim>(to_stream(s), ViewPrim::Kind::Reshape), {a});
}

array identity_view(const array& a, StreamOrDevice s) {
  return array(a.shape(), a.dtype(),
               make_pooled<ViewPrim>(to_stream(s), ViewPrim::Kind::Reshape), {a});
}

array flatten(const array& a, int start_axis, int end_axis, StreamOrDevice s) {
  int nd = a.ndim();
  if (nd == 0) return reshape(a, {1}, s);
  // Out-of-range axes are clamped and every bad combination is a ValueError (MLX).
  int st = std::max(0, start_axis < 0 ? start_axis + nd : start_axis);
  int en = std::min(nd - 1, end_axis < 0 ? end_axis + nd : end_axis);
  if (st > en) throw ValueError("[flatten] start_axis must be less than or equal to end_axis.");
  if (st >= nd) throw ValueError(msg("[flatten] Invalid start_axis ", start_axis, "."));
  if (en < 0) throw ValueError(msg("[flatten] Invalid end_axis ", end_axis, "."));
  Shape shape(a.shape().begin(), a.shape().begin() + st);
  int64_t m = 1;
  for (int i = st; i <= en; ++i) m *= a.shape(i);
  shape.push_back(m);
  shape.insert(shape.end(), a.shape().begin() + en + 1, a.shape().end());
  return reshape(a, shape, s);
}

array transpose(const array& a, std::vector<int> axes, StreamOrDevice s) {
  int nd = a.ndim();
  if (int(axes.size()) != nd)
    throw ValueError(msg("[transpose] Received ", axes.size(), " axes for array with ", nd,
                         " dimensions."));
  std::vector<bool> seen(nd, false);
  Shape shape(nd);
  for (int i = 0; i < nd; ++i) {
    int ax = axes[i] < 0 ? axes[i] + nd : axes[i];
    if (ax < 0 || ax >= nd)
      throw IndexError(msg("[transpose] Invalid axis (", axes[i], ") for array with ", nd, " dimensions."));
    if (seen[ax]) throw ValueError("[transpose] Repeat axes not allowed in transpose.");
    seen[ax] = true;
    axes[i] = ax;
    shape[i] = a.shape(ax);
  }
  bool identity = true;
  for (int i = 0; i < nd; ++i) identity &= axes[i] == i;
  if (identity) return a;
  auto p = make_pooled<ViewPrim>(to_stream(s), ViewPrim::Kind::Transpose);
  p->perm = std::move(axes);
  return array(std::move(shape), a.dtype(), std::move(p), {a});
}

array transpose(const array& a, StreamOrDevice s) {
  std::vector<int> axes(a.ndim());
  for (int i = 0; i < a.ndim(); ++i) axes[i] = a.ndim() - 1 - i;
  return transpose(a, axes, s);
}

array swapaxes(const array& a, int axis1, int axis2, StreamOrDevice s) {
  int a1 = normalize_axis(axis1, a.ndim(), "swapaxes"), a2 = normalize_axis(axis2, a.ndim(), "swapaxes");
  auto axes = all_axes(a.ndim());
  std::swap(axes[a1], axes[a2]);
  return transpose(a, axes, s);
}

array moveaxis(const array& a, int source, int destination, StreamOrDevice s) {
  int src = normalize_axis(source, a.ndim(), "moveaxis");
  int dst = normalize_axis(destination, a.ndim(), "moveaxis");
  auto axes = all_axes(a.ndim());
  axes.erase(axes.begin() + src);
  axes.insert(axes.begin() + dst, src);
  return transpose(a, axes, s);
}

array squeeze(const array& a, const std::vector<int>& axes, StreamOrDevice s) {
  auto ax = normalize_axes(axes, a.ndim(), "squeeze");
  Shape shape;
  size_t k = 0;
  for (int i = 0; i < a.ndim(); ++i) {
    if (k < ax.size() && ax[k] == i) {
      if (a.shape(i) != 1)
        throw ValueError(msg("[squeeze] Cannot squeeze axis ", i, " with size ", a.shape(i),
                             " which is not equal to 1."));
      ++k;
      continue;
    }
    shape.push_back(a.shape(i));
  }
  return reshape(a, shape, s);
}

array squeeze(const array& a, StreamOrDevice s) {
  std::vector<int> axes;
  for (int i = 0; i < a.ndim(); ++i)
    if (a.shape(i) == 1) axes.push_back(i);
  return squeeze(a, axes, s);
}

array expand_dims(const array& a, const std::vector<int>& axes, StreamOrDevice s) {
  int out_nd = a.ndim() + int(axes.size());
  auto ax = normalize_axes(axes, out_nd, "expand_dims");
  Shape shape;
  size_t k = 0, src = 0;
  for (int i = 0; i < out_nd; ++i) {
    if (k < ax.size() && ax[k] == i) {
      shape.push_back(1);
      ++k;
    } else {
      shape.push_back(a.shape(int(src++)));
    }
  }
  return reshape(a, shape, s);
}

array slice(const array& a, Shape start, Shape stop, Shape strides, StreamOrDevice s) {
  int nd = a.ndim();
  if (int(start.size()) != nd || int(stop.size()) != nd || int(strides.size()) != nd)
    throw ValueError(msg("[slice] Invalid number of indices or strides for array with ", nd,
                         " dimensions."));
  Shape shape(nd);
  bool identity = true;
  for (int i = 0; i < nd; ++i) {
    int64_t st = strides[i];
    if (st == 0) throw ValueError("[slice] Slice step cannot be zero.");
    int64_t n = st > 0 ? (stop[i] - start[i] + st - 1) / st : (start[i] - stop[i] - st - 1) / (-st);
    shape[i] = std::max<int64_t>(n, 0);
    identity &= start[i] == 0 && st == 1 && shape[i] == a.shape(i);
  }
  if (identity) return a;
  auto p = make_pooled<ViewPrim>(to_stream(s), ViewPrim::Kind::Slice);
  p->start = std::move(start);
  p->stop = std::move(stop);
  p->step = std::move(strides);
  return array(std::move(shape), a.dtype(), std::move(p), {a});
}

array as_strided(const array& a, Shape shape, Strides strides, int64_t offset, StreamOrDevice s) {
  if (shape.size() != strides.size())
    throw ValueError(msg("[as_strided] Shape ", shape_str(shape), " and strides ",
                         shape_str(strides), " must have the same length."));
  // Every reachable element must lie inside the source buffer.
  int64_t lo = offset, hi = offset;
  if (shape_size(shape) > 0) {
    for (size_t i = 0; i < shape.size(); ++i) {
      int64_t span = (shape[i] - 1) * strides[i];
      (span < 0 ? lo : hi) += span;
    }
    if (lo < 0 || hi >= a.size())
      throw ValueError(msg("[as_strided] Shape ", shape_str(shape), ", strides ",
                           shape_str(strides), " and offset ", offset,
                           " reach outside an array of size ", a.size(), "."));
  }
  auto p = make_pooled<ViewPrim>(to_stream(s), ViewPrim::Kind::AsStrided);
  p->as_strides = std::move(strides);
  p->as_offset = offset;
  return array(std::move(shape), a.dtype(), std::move(p), {a});
}

}  // namespace oxmlx

// ------------------------------------------------------- slice_update

namespace oxmlx {

void SliceUpdatePrim::eval(const std::vector<array>& in, std::vector<array>& out) {
  backend_for(stream()).slice_update(in[0], in[1], out[0], start_, step_);
}

array slice_update(const array& src, const array& update_in, Shape start, Shape stop, Shape strides,
                   StreamOrDevice s) {
  Stream st = to_stream(s);
  int nd = src.ndim();
  if (int(start.size()) != nd || int(stop.size()) != nd || int(strides.size()) != nd)
    throw ValueError(msg("[slice_update] Invalid number of indices or strides for array with ", nd,
                         " dimensions."));
  Shape region(nd);
  for (int i = 0; i < nd; ++i) {
    int64_t k = strides[i];
    if (k == 0) throw ValueError("[slice_update] Slice step cannot be zero.");
    int64_t n = k > 0 ? (stop[i] - start[i] + k - 1) / k : (start[i] - stop[i] - k - 1) / (-k);
    region[i] = std::max<int64_t>(n, 0);
  }
  array update = astype(update_in, src.dtype(), st);
  if (update.shape() != region) {
    if (broadcast_shapes(update.shape(), region) != region)
      throw ValueError(msg("[slice_update] Update of shape ", shape_str(update.shape()),
                           " cannot be broadcast to the slice of shape ", shape_str(region), "."));
    update = broadcast_to(update, region, st);
  }
  return array(src.shape(), src.dtype(), std::make_shared<SliceUpdatePrim>(st, start, strides),
               {src, update});
}

std::vector<array> SliceUpdatePrim::vjp(const std::vector<array>& in, const std::vector<array>& cots,
                                        const std::vector<int>& argnums, const std::vector<array>&) {
  Shape stop(start_.size());
  for (size_t i = 0; i < stop.size(); ++i) stop[i] = start_[i] + in[1].shape(int(i)) * step_[i];
  std::vector<array> r;
  for (int k : argnums) {
    if (k == 0) r.push_back(slice_update(cots[0], zeros_like(in[1]), start_, stop, step_));
    else r.push_back(slice(cots[0], start_, stop, step_));
  }
  return r;
}

std::vector<array> SliceUpdatePrim::jvp(const std::vector<array>& in, const std::vector<array>& tans,
                                        const std::vector<int>& argnums) {
  array tb = zeros_like(in[0]), tu = zeros_like(in[1]);
  for (size_t i = 0; i < argnums.size(); ++i) (argnums[i] == 0 ? tb : tu) = tans[i];
  Shape stop(start_.size());
  for (size_t i = 0; i < stop.size(); ++i) stop[i] = start_[i] + in[1].shape(int(i)) * step_[i];
  return {slice_update(tb, tu, start_, stop, step_)};
}

// ------------------------------------------------------- view rules

std::vector<array> ViewPrim::vjp(const std::vector<array>& in, const std::vector<array>& cots,
                                 const std::vector<int>&, const std::vector<array>&) {
  const array& x = in[0];
  const array& c = cots[0];
  switch (kind_) {
    case Kind::Reshape: return {reshape(c, x.shape())};
    case Kind::Transpose: {
      std::vector<int> inv(perm.size());
      for (size_t i = 0; i < perm.size(); ++i) inv[perm[i]] = int(i);
      return {transpose(c, inv)};
    }
    case Kind::Broadcast: {
      int diff = c.ndim() - x.ndim();
      std::vector<int> axes;
      for (int i = 0; i < c.ndim(); ++i)
        if (i < diff || (x.shape(i - diff) == 1 && c.shape(i) != 1)) axes.push_back(i);
      array r = axes.empty() ? c : sum(c, axes, true);
      return {reshape(r, x.shape())};
    }
    case Kind::Slice:
      return {slice_update(zeros_like(x), c, start, stop, step)};
    case Kind::AsStrided:
      throw ValueError("[as_strided] vjp is not implemented.");
  }
  return {};
}

std::vector<array> ViewPrim::jvp(const std::vector<array>& in, const std::vector<array>& tans,
                                 const std::vector<int>&) {
  const array& t = tans[0];
  switch (kind_) {
    case Kind::Reshape: return {t};  // reshaped to the output by jvp()
    case Kind::Transpose: return {transpose(t, perm)};
    case Kind::Broadcast: return {t};  // broadcast by the caller
    case Kind::Slice: return {slice(t, start, stop, step)};
    case Kind::AsStrided: (void)in; throw ValueError("[as_strided] jvp is not implemented.");
  }
  return {};
}

}  // namespace oxmlx

// ------------------------------------------------------- vmap and shape rules

#include "core/transforms.h"

namespace oxmlx {

std::pair<std::vector<array>, std::vector<int>> ViewPrim::vmap(const std::vector<array>& in,
                                                               const std::vector<int>& axes) {
  const array& o = vmap_unbatched_outputs()[0];
  array x = vmap_to_front(in[0], axes[0]);
  const int64_t B = x.shape(0);
  Shape bs = o.shape();
  bs.insert(bs.begin(), B);
  switch (kind_) {
    case Kind::Reshape:
      return {{reshape(x, bs, stream())}, {0}};
    case Kind::Transpose: {
      auto p = std::make_shared<ViewPrim>(stream(), Kind::Transpose);
      p->perm.push_back(0);
      for (int q : perm) p->perm.push_back(q + 1);
      return {{array(bs, o.dtype(), p, {x})}, {0}};
    }
    case Kind::Broadcast: {
      Shape s(1, B);
      s.insert(s.end(), o.ndim() - (x.ndim() - 1), 1);
      s.insert(s.end(), x.shape().begin() + 1, x.shape().end());
      return {{broadcast_to(reshape(x, s, stream()), bs, stream())}, {0}};
    }
    case Kind::Slice: {
      Shape st = start, sp = stop, sd = step;
      st.insert(st.begin(), 0);
      sp.insert(sp.begin(), B);
      sd.insert(sd.begin(), 1);
      return {{slice(x, st, sp, sd, stream())}, {0}};
    }
    case Kind::AsStrided: {
      Strides st = as_strides;
      st.insert(st.begin(), x.size() / std::max<int64_t>(B, 1));
      return {{as_strided(x, bs, st, as_offset, stream())}, {0}};
    }
  }
  return vmap_fallback(in, axes);
}

std::vector<Shape> ViewPrim::output_shapes(const std::vector<array>& in) {
  const Shape& s = in[0].shape();
  if (kind_ == Kind::Transpose) {
    Shape r;
    for (int p : perm) r.push_back(s[p]);
    return {r};
  }
  throw ValueError(msg("[", name(), "] cannot infer output shapes (shapeless compile)."));
}

std::pair<std::vector<array>, std::vector<int>> SliceUpdatePrim::vmap(const std::vector<array>& in,
                                                                      const std::vector<int>& axes) {
  int64_t B = vmap_batch_size(in, axes);
  array base = vmap_batched_front(in[0], axes[0], B);
  array upd = vmap_batched_front(in[1], axes[1], B);
  Shape st = start_, sd = step_;
  st.insert(st.begin(), 0);
  sd.insert(sd.begin(), 1);
  Shape sp(st.size());
  for (size_t i = 0; i < sp.size(); ++i) sp[i] = st[i] + upd.shape(int(i)) * sd[i];
  return {{slice_update(base, upd, st, sp, sd, stream())}, {0}};
}

bool SliceUpdatePrim::is_equivalent(const Primitive& o) const {
  auto* p = dynamic_cast<const SliceUpdatePrim*>(&o);
  return p && p->start_ == start_ && p->step_ == step_;
}

}  // namespace oxmlx
