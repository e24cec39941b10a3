// Indexing family: gather/scatter builders, their derivative rules, and the
// MLX ops built on them (take, take_along_axis, put_along_axis, slice,
// slice_update with array start indices).
#include <algorithm>

#include "ops/ops.h"
#include "ops/primitives.h"

namespace oxmlx {

namespace {

std::vector<array> check_indices(const std::vector<array>& indices, const char* op, Stream st) {
  for (auto& i : indices)
    if (!is_integral(i.dtype()))
      throw ValueError(msg("[", op, "] Indices must be integers, got ", dtype_name(i.dtype()), "."));
  return broadcast_arrays(indices, st);
}

std::vector<int> check_axes(const std::vector<int>& axes, int ndim, size_t nidx, const char* op) {
  if (axes.size() != nidx)
    throw ValueError(msg("[", op, "] Got ", nidx, " index arrays for ", axes.size(), " axes."));
  std::vector<int> out;
  for (int a : axes) out.push_back(normalize_axis(a, ndim, op));
  auto sorted = out;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
    throw ValueError(msg("[", op, "] Received duplicate axes."));
  return out;
}

}  // namespace

// ------------------------------------------------------------ builders

array gather(const array& a, const std::vector<array>& indices_in, const std::vector<int>& axes_in,
             const Shape& slice_sizes, StreamOrDevice s) {
  Stream st = to_stream(s);
  auto indices = check_indices(indices_in, "gather", st);
  auto axes = check_axes(axes_in, a.ndim(), indices.size(), "gather");
  if (int(slice_sizes.size()) != a.ndim())
    throw ValueError(msg("[gather] Got ", slice_sizes.size(), " slice sizes for an array with ",
                         a.ndim(), " dimensions."));
  for (int i = 0; i < a.ndim(); ++i)
    if (slice_sizes[i] < 0 || slice_sizes[i] > a.shape(i))
      throw ValueError(msg("[gather] Slice size ", slice_sizes[i], " is invalid for axis ", i,
                           " with size ", a.shape(i), "."));
  Shape shape = indices.empty() ? Shape{} : indices[0].shape();
  shape.insert(shape.end(), slice_sizes.begin(), slice_sizes.end());
  std::vector<array> inputs{a};
  inputs.insert(inputs.end(), indices.begin(), indices.end());
  return array(std::move(shape), a.dtype(), std::make_shared<GatherPrim>(st, axes, slice_sizes),
               std::move(inputs));
}

array scatter(ScatterOp op, const array& a, const std::vector<array>& indices_in,
              const array& updates_in, const std::vector<int>& axes_in, StreamOrDevice s) {
  Stream st = to_stream(s);
  auto indices = check_indices(indices_in, "scatter", st);
  auto axes = check_axes(axes_in, a.ndim(), indices.size(), "scatter");
  Shape ishape = indices.empty() ? Shape{} : indices[0].shape();
  int nidx = int(ishape.size());
  array updates = astype(updates_in, a.dtype(), st);
  if (updates.ndim() != nidx + a.ndim())
    throw ValueError(msg("[scatter] Updates of shape ", shape_str(updates.shape()),
                         " must have index rank + array rank (", nidx + a.ndim(), ") dimensions."));
  Shape ushape = ishape;
  for (int i = 0; i < a.ndim(); ++i) {
    int64_t u = updates.shape(nidx + i);
    if (u > a.shape(i))
      throw ValueError(msg("[scatter] Update slice size ", u, " exceeds axis ", i, " with size ",
                           a.shape(i), "."));
    ushape.push_back(u);
  }
  for (int i = 0; i < nidx; ++i)
    if (updates.shape(i) != ishape[i] && updates.shape(i) != 1)
      throw ValueError(msg("[scatter] Updates of shape ", shape_str(updates.shape()),
                           " do not match indices of shape ", shape_str(ishape), "."));
  if (updates.shape() != ushape) updates = broadcast_to(updates, ushape, st);
  std::vector<array> inputs{a};
  inputs.insert(inputs.end(), indices.begin(), indices.end());
  inputs.push_back(updates);
  return array(a.shape(), a.dtype(), std::make_shared<ScatterPrim>(st, op, axes), std::move(inputs));
}

array take(const array& a_in, const array& indices, std::optional<int> axis_in, StreamOrDevice s) {
  array a = axis_in ? a_in : flatten(a_in, 0, -1, s);
  int axis = axis_in ? normalize_axis(*axis_in, a.ndim(), "take") : 0;
  if (a.ndim() == 0) throw ValueError("[take] Cannot take from a 0-dimensional array.");
  Shape ss = a.shape();
  ss[axis] = 1;
  array g = gather(a, {indices}, {axis}, ss, s);
  int ni = indices.ndim();
  // g: idx dims + a dims (axis of size 1) -> a[:axis] + idx dims + a[axis+1:].
  Shape sq = indices.shape();
  for (int i = 0; i < a.ndim(); ++i)
    if (i != axis) sq.push_back(a.shape(i));
  g = reshape(g, sq, s);
  std::vector<int> perm;
  for (int i = 0; i < axis; ++i) perm.push_back(ni + i);
  for (int i = 0; i < ni; ++i) perm.push_back(i);
  for (int i = ni + axis; i < int(sq.size()); ++i) perm.push_back(i);
  return transpose(g, perm, s);
}

namespace {

// Index arrays addressing every element of the broadcast shape B with
// `indices` along `axis` (aranges on the other axes).
std::vector<array> along_axis_indices(const array& indices, int axis, const Shape& B, Stream st) {
  std::vector<array> idx;
  int nd = int(B.size());
  for (int d = 0; d < nd; ++d) {
    if (d == axis) {
      idx.push_back(indices);
    } else {
      Shape sh(nd, 1);
      sh[d] = B[d];
      idx.push_back(reshape(arange(0, double(B[d]), 1, int32, st), sh, st));
    }
  }
  return idx;
}

}  // namespace

array take_along_axis(const array& a_in, const array& ind_in, std::optional<int> axis_in,
                      StreamOrDevice s) {
  Stream st = to_stream(s);
  array a = axis_in ? a_in : flatten(a_in, 0, -1, st);
  array ind = axis_in ? ind_in : flatten(ind_in, 0, -1, st);
  int axis = axis_in ? normalize_axis(*axis_in, a.ndim(), "take_along_axis") : 0;
  if (ind.ndim() != a.ndim())
    throw ValueError(msg("[take_along_axis] Indices of dimension ", ind.ndim(),
                         " does not match array of dimension ", a.ndim(), "."));
  Shape ab = a.shape(), ib = ind.shape();
  ab[axis] = 1;
  ib[axis] = 1;
  Shape B = broadcast_shapes(ab, ib);
  Shape abig = B, ibig = B;
  abig[axis] = a.shape(axis);
  ibig[axis] = ind.shape(axis);
  a = broadcast_to(a, abig, st);
  ind = broadcast_to(ind, ibig, st);
  array g = gather(a, along_axis_indices(ind, axis, ibig, st), all_axes(a.ndim()),
                   Shape(a.ndim(), 1), st);
  return reshape(g, ibig, st);
}

array put_along_axis(const array& a, const array& ind_in, const array& values, std::optional<int> axis_in,
                     StreamOrDevice s) {
  Stream st = to_stream(s);
  if (!axis_in) {
    array r = put_along_axis(flatten(a, 0, -1, st), flatten(ind_in, 0, -1, st), flatten(values, 0, -1, st), 0, st);
    return reshape(r, a.shape(), st);
  }
  int axis = normalize_axis(*axis_in, a.ndim(), "put_along_axis");
  if (ind_in.ndim() != a.ndim())
    throw ValueError(msg("[put_along_axis] Indices of dimension ", ind_in.ndim(),
                         " does not match array of dimension ", a.ndim(), "."));
  Shape B = a.shape();
  B[axis] = ind_in.shape(axis);
  array ind = broadcast_to(ind_in, B, st);
  array v = broadcast_to(astype(values, a.dtype(), st), B, st);
  Shape ushape = B;
  for (int i = 0; i < a.ndim(); ++i) ushape.push_back(1);
  return scatter(ScatterOp::None, a, along_axis_indices(ind, axis, B, st), reshape(v, ushape, st),
                 all_axes(a.ndim()), st);
}

namespace {

std::vector<array> start_arrays(const array& start, size_t n, const char* op, Stream st) {
  if (!is_integral(start.dtype()))
    throw ValueError(msg("[", op, "] Start indices must be integers."));
  array flat = reshape(start, {-1}, st);
  if (size_t(flat.size()) != n)
    throw ValueError(msg("[", op, "] Got ", flat.size(), " start indices for ", n, " axes."));
  std::vector<array> out;
  for (size_t k = 0; k < n; ++k)
    out.push_back(reshape(slice(flat, {int64_t(k)}, {int64_t(k) + 1}, {1}, st), {}, st));
  return out;
}

}  // namespace

array dynamic_slice(const array& a, const array& start, const std::vector<int>& axes,
                    const Shape& slice_size, StreamOrDevice s) {
  Stream st = to_stream(s);
  return gather(a, start_arrays(start, axes.size(), "slice", st), axes, slice_size, st);
}

array dynamic_slice_update(const array& a, const array& update, const array& start,
                           const std::vector<int>& axes, StreamOrDevice s) {
  Stream st = to_stream(s);
  array u = update;
  while (u.ndim() > a.ndim() && u.shape(0) == 1) u = squeeze(u, {0}, st);
  if (u.ndim() < a.ndim()) {
    Shape sh(a.ndim() - u.ndim(), 1);
    sh.insert(sh.end(), u.shape().begin(), u.shape().end());
    u = reshape(u, sh, st);
  }
  if (u.ndim() != a.ndim())
    throw ValueError(msg("[slice_update] Update of shape ", shape_str(update.shape()),
                         " does not fit an array of shape ", shape_str(a.shape()), "."));
  return scatter(ScatterOp::None, a, start_arrays(start, axes.size(), "slice_update", st), u, axes,
                 st);
}

// ------------------------------------------------------------ primitives

void GatherPrim::eval(const std::vector<array>& in, std::vector<array>& out) {
  std::vector<array> idx(in.begin() + 1, in.end());
  backend_for(stream()).gather(in[0], idx, out[0], axes_, slice_sizes_);
}

bool GatherPrim::is_equivalent(const Primitive& o) const {
  auto* p = dynamic_cast<const GatherPrim*>(&o);
  return p && p->axes_ == axes_ && p->slice_sizes_ == slice_sizes_;
}

std::vector<array> GatherPrim::vjp(const std::vector<array>& in, const std::vector<array>& cots,
                                   const std::vector<int>& argnums, const std::vector<array>&) {
  std::vector<array> idx(in.begin() + 1, in.end());
  std::vector<array> r;
  for (int k : argnums) {
    if (k == 0) r.push_back(scatter(ScatterOp::Sum, zeros_like(in[0]), idx, cots[0], axes_));
    else r.push_back(zeros_like(in[k]));
  }
  return r;
}

std::vector<array> GatherPrim::jvp(const std::vector<array>& in, const std::vector<array>& tans,
                                   const std::vector<int>& argnums) {
  std::vector<array> idx(in.begin() + 1, in.end());
  for (size_t i = 0; i < argnums.size(); ++i)
    if (argnums[i] == 0) return {gather(tans[i], idx, axes_, slice_sizes_)};
  return {zeros(gather(in[0], idx, axes_, slice_sizes_).shape(), in[0].dtype())};
}

void ScatterPrim::eval(const std::vector<array>& in, std::vector<array>& out) {
  std::vector<array> idx(in.begin() + 1, in.end() - 1);
  backend_for(stream()).scatter(op_, in[0], idx, in.back(), out[0], axes_);
}

bool ScatterPrim::is_equivalent(const Primitive& o) const {
  auto* p = dynamic_cast<const ScatterPrim*>(&o);
  return p && p->op_ == op_ && p->axes_ == axes_;
}

std::vector<array> ScatterPrim::vjp(const std::vector<array>& in, const std::vector<array>& cots,
                                    const std::vector<int>& argnums, const std::vector<array>&) {
  std::vector<array> idx(in.begin() + 1, in.end() - 1);
  const array& upd = in.back();
  const int nupd = int(in.size()) - 1;
  int nidx = idx.empty() ? 0 : idx[0].ndim();
  Shape slice(upd.shape().begin() + nidx, upd.shape().end());
  std::vector<array> r;
  for (int k : argnums) {
    if (k > 0 && k < nupd) {
      r.push_back(zeros_like(in[k]));
    } else if (op_ != ScatterOp::None && op_ != ScatterOp::Sum) {
      throw ValueError("[scatter] vjp is implemented only for plain and additive scatter.");
    } else if (k == 0) {
      r.push_back(op_ == ScatterOp::Sum ? cots[0]
                                        : scatter(ScatterOp::None, cots[0], idx, zeros_like(upd), axes_));
    } else {
      r.push_back(reshape(gather(cots[0], idx, axes_, slice), upd.shape()));
    }
  }
  return r;
}

std::vector<array> ScatterPrim::jvp(const std::vector<array>& in, const std::vector<array>& tans,
                                    const std::vector<int>& argnums) {
  if (op_ != ScatterOp::None && op_ != ScatterOp::Sum)
    throw ValueError("[scatter] jvp is implemented only for plain and additive scatter.");
  std::vector<array> idx(in.begin() + 1, in.end() - 1);
  const int nupd = int(in.size()) - 1;
  array tb = zeros_like(in[0]), tu = zeros_like(in.back());
  for (size_t i = 0; i < argnums.size(); ++i) {
    if (argnums[i] == 0) tb = tans[i];
    else if (argnums[i] == nupd) tu = tans[i];
  }
  return {scatter(op_, tb, idx, tu, axes_)};
}

}  // namespace oxmlx

// ------------------------------------------------------- vmap rules

#include "core/transforms.h"

namespace oxmlx {

namespace {

// arange(B) shaped (B, 1, ..., 1) (nid ones): the index of the batch axis.
array batch_index(int64_t B, int nid, Dtype dt, Stream st) {
  Shape s(nid + 1, 1);
  s[0] = B;
  return reshape(arange(0, double(B), 1, is_integral(dt) && dt != bool_ ? dt : int32, st), s, st);
}

}  // namespace

std::pair<std::vector<array>, std::vector<int>> GatherPrim::vmap(const std::vector<array>& in,
                                                                 const std::vector<int>& axes) {
  const int64_t B = vmap_batch_size(in, axes);
  const int nid = vmap_unbatched_outputs()[0].ndim() - int(slice_sizes_.size());
  bool idx_batched = false;
  for (size_t k = 1; k < in.size(); ++k) idx_batched |= axes[k] >= 0;
  std::vector<array> idx;
  if (axes[0] < 0) {
    // Only the indices are batched: the batch becomes a leading index dim.
    for (size_t k = 1; k < in.size(); ++k) idx.push_back(vmap_batched_front(in[k], axes[k], B));
    return {{gather(in[0], idx, axes_, slice_sizes_, stream())}, {0}};
  }
  array src = vmap_to_front(in[0], axes[0]);
  std::vector<int> ax;
  for (int a : axes_) ax.push_back(a + 1);
  Shape ss = slice_sizes_;
  if (!idx_batched) {
    // The whole batch axis is part of every slice: out = idx + (B,) + slice.
    idx.assign(in.begin() + 1, in.end());
    ss.insert(ss.begin(), B);
    return {{gather(src, idx, ax, ss, stream())}, {nid}};
  }
  // Both batched: index the batch axis with arange(B) too.
  idx.push_back(batch_index(B, nid, in[1].dtype(), stream()));
  for (size_t k = 1; k < in.size(); ++k) idx.push_back(vmap_batched_front(in[k], axes[k], B));
  ax.insert(ax.begin(), 0);
  ss.insert(ss.begin(), 1);
  array g = gather(src, idx, ax, ss, stream());
  Shape out = vmap_unbatched_outputs()[0].shape();
  out.insert(out.begin(), B);
  return {{reshape(g, out, stream())}, {0}};
}

std::pair<std::vector<array>, std::vector<int>> ScatterPrim::vmap(const std::vector<array>& in,
                                                                  const std::vector<int>& axes) {
  const int64_t B = vmap_batch_size(in, axes);
  const size_t nupd = in.size() - 1;
  const int base_nd = in[0].ndim() - (axes[0] >= 0);
  const int upd_nd = in[nupd].ndim() - (axes[nupd] >= 0);
  const int nid = upd_nd - base_nd;
  bool idx_batched = false;
  for (size_t k = 1; k < nupd; ++k) idx_batched |= axes[k] >= 0;
  array base = vmap_batched_front(in[0], axes[0], B);
  array upd = vmap_batched_front(in[nupd], axes[nupd], B);  // (B,) + idx + slice
  std::vector<int> ax;
  for (int a : axes_) ax.push_back(a + 1);
  std::vector<array> idx;
  if (!idx_batched) {
    // The batch axis is a full-size slice dimension: updates idx + (B,) + slice.
    idx.assign(in.begin() + 1, in.begin() + nupd);
    return {{scatter(op_, base, idx, moveaxis(upd, 0, nid, stream()), ax, stream())}, {0}};
  }
  idx.push_back(batch_index(B, nid, in[1].dtype(), stream()));
  for (size_t k = 1; k < nupd; ++k) idx.push_back(vmap_batched_front(in[k], axes[k], B));
  ax.insert(ax.begin(), 0);
  Shape us = upd.shape();
  us.insert(us.begin() + 1 + nid, 1);
  return {{scatter(op_, base, idx, reshape(upd, us, stream()), ax, stream())}, {0}};
}

}  // namespace oxmlx
