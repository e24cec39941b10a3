// vmap over the traced graph. The function is traced once on tracers shaped
// like one batch element; then every node that depends on a batched input is
// rebuilt by its primitive's vmap rule from the batched versions of its
// inputs. A primitive without a rule of its own gets the generic fallback,
// which applies the node to each batch element and stacks the results.
#include <unordered_map>
#include <unordered_set>

#include "core/primitive.h"
#include "core/transforms.h"
#include "ops/ops.h"

namespace oxmlx {

namespace {

thread_local const std::vector<array>* current_outputs = nullptr;

struct OutputsScope {
  const std::vector<array>* saved;
  explicit OutputsScope(const std::vector<array>* o) : saved(current_outputs) { current_outputs = o; }
  ~OutputsScope() { current_outputs = saved; }
};

// Element b of x along axis (a new graph node, same dtype).
array batch_element(const array& x, int axis, int64_t b) {
  Shape start(x.ndim(), 0), stop = x.shape(), step(x.ndim(), 1);
  start[axis] = b;
  stop[axis] = b + 1;
  return squeeze(slice(x, start, stop, step), {axis});
}

}  // namespace

const std::vector<array>& vmap_unbatched_outputs() {
  if (!current_outputs) throw RuntimeError("[vmap] No node is being batched.");
  return *current_outputs;
}

int64_t vmap_batch_size(const std::vector<array>& inputs, const std::vector<int>& axes) {
  for (size_t i = 0; i < inputs.size(); ++i)
    if (axes[i] >= 0) return inputs[i].shape(axes[i]);
  return 1;
}

array vmap_to_front(const array& x, int axis) {
  if (axis <= 0) return x;
  return moveaxis(x, axis, 0);
}

array vmap_batched_front(const array& x, int axis, int64_t batch) {
  if (axis >= 0) return vmap_to_front(x, axis);
  Shape s = x.shape();
  s.insert(s.begin(), batch);
  return broadcast_to(x, s);
}

array vmap_stack(const std::vector<array>& parts, const Shape& elem_shape, Dtype dtype) {
  Shape s = elem_shape;
  s.insert(s.begin(), int64_t(parts.size()));
  array out = zeros(s, dtype);
  Shape start(s.size(), 0), stop = s, step(s.size(), 1);
  for (size_t b = 0; b < parts.size(); ++b) {
    start[0] = int64_t(b);
    stop[0] = int64_t(b) + 1;
    Shape one = elem_shape;
    one.insert(one.begin(), 1);
    out = slice_update(out, reshape(parts[b], one), start, stop, step);
  }
  return out;
}

std::pair<std::vector<array>, std::vector<int>> vmap_leading_batch(const std::vector<array>& inputs,
                                                                   const std::vector<int>& axes) {
  const std::vector<array>& outs = vmap_unbatched_outputs();
  const int64_t batch = vmap_batch_size(inputs, axes);
  std::vector<array> ins;
  for (size_t i = 0; i < inputs.size(); ++i) ins.push_back(vmap_batched_front(inputs[i], axes[i], batch));
  std::vector<Shape> shapes;
  std::vector<Dtype> dtypes;
  for (auto& o : outs) {
    Shape s = o.shape();
    s.insert(s.begin(), batch);
    shapes.push_back(std::move(s));
    dtypes.push_back(o.dtype());
  }
  return {array::make_arrays(shapes, dtypes, outs[0].primitive_ptr(), std::move(ins)),
          std::vector<int>(outs.size(), 0)};
}

std::pair<std::vector<array>, std::vector<int>> vmap_fallback(const std::vector<array>& inputs,
                                                              const std::vector<int>& axes) {
  const std::vector<array>& outs = vmap_unbatched_outputs();
  auto prim = outs[0].primitive_ptr();
  const int64_t batch = vmap_batch_size(inputs, axes);
  std::vector<Shape> shapes;
  std::vector<Dtype> dtypes;
  for (auto& o : outs) {
    shapes.push_back(o.shape());
    dtypes.push_back(o.dtype());
  }
  std::vector<std::vector<array>> per(outs.size());
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<array> ins;
    for (size_t i = 0; i < inputs.size(); ++i)
      ins.push_back(axes[i] < 0 ? inputs[i] : copy(batch_element(inputs[i], axes[i], b)));
    auto r = array::make_arrays(shapes, dtypes, prim, std::move(ins));
    for (size_t k = 0; k < r.size(); ++k) per[k].push_back(r[k]);
  }
  std::vector<array> result;
  for (size_t k = 0; k < outs.size(); ++k) result.push_back(vmap_stack(per[k], shapes[k], dtypes[k]));
  return {result, std::vector<int>(outs.size(), 0)};
}

// The default rule: every primitive vmaps, through the fallback.
std::pair<std::vector<array>, std::vector<int>> Primitive::vmap(const std::vector<array>& inputs,
                                                                const std::vector<int>& axes) {
  return vmap_fallback(inputs, axes);
}

std::vector<array> vmap(const ArrayFn& fun, const std::vector<array>& inputs,
                        const std::vector<int>& in_axes, const std::vector<int>& out_axes) {
  return vmap(fun, inputs, in_axes, [&]() { return out_axes; });
}

std::vector<array> vmap(const ArrayFn& fun, const std::vector<array>& inputs,
                        const std::vector<int>& in_axes,
                        const std::function<std::vector<int>()>& out_axes_fn) {
  if (inputs.size() != in_axes.size())
    throw ValueError(msg("[vmap] Got ", in_axes.size(), " axes for ", inputs.size(), " inputs."));
  int64_t batch = -1;
  std::vector<array> tracers;
  std::unordered_map<uintptr_t, std::pair<array, int>> batched;  // node id -> (batched, axis)
  std::unordered_set<uintptr_t> tracer_ids;
  std::vector<int> axes(in_axes);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const array& x = inputs[i];
    int ax = axes[i];
    if (ax == kVmapNone) {
      tracers.push_back(x);
      continue;
    }
    if (ax < -x.ndim() || ax >= x.ndim())
      throw IndexError(msg("[vmap] Invalid vectorization axis ", ax, " for array with shape ",
                           shape_str(x.shape())));
    if (ax < 0) ax += x.ndim();
    axes[i] = ax;
    if (batch >= 0 && x.shape(ax) != batch)
      throw ValueError(msg("[vmap] Inconsistent axis sizes: ", batch, " and ", x.shape(ax), "."));
    batch = x.shape(ax);
    // A tracer shaped like one element: element 0 when there is one (the
    // node is never evaluated; its shape is what tracing needs).
    Shape es = x.shape();
    es.erase(es.begin() + ax);
    array t = batch > 0 ? identity_view(batch_element(x, ax, 0)) : identity_view(zeros(es, x.dtype()));
    tracers.push_back(t);
    tracer_ids.insert(t.id());
    batched.emplace(t.id(), std::make_pair(x, ax));
  }
  if (batch < 0) throw ValueError("[vmap] At least one input must be vectorized (in_axes all None).");
  std::vector<array> outputs;
  {
    std::vector<array> batched_tracers;
    for (size_t i = 0; i < tracers.size(); ++i)
      if (in_axes[i] != kVmapNone) batched_tracers.push_back(tracers[i]);
    NoEvalScope no_eval(batched_tracers);
    outputs = fun(tracers);
  }
  std::vector<int> out_axes = out_axes_fn();
  if (out_axes.size() == 1 && outputs.size() != 1) out_axes.assign(outputs.size(), out_axes[0]);
  if (out_axes.size() != outputs.size())
    throw ValueError(msg("[vmap] Got ", out_axes.size(), " output axes for ", outputs.size(),
                         " outputs."));

  for (auto& a : graph_postorder(outputs, false)) {
    const auto& ins = a.inputs();
    std::vector<array> bins;
    std::vector<int> baxes;
    bool any = false;
    for (auto& in : ins) {
      auto it = batched.find(in.id());
      if (it != batched.end()) {
        bins.push_back(it->second.first);
        baxes.push_back(it->second.second);
        any = true;
      } else {
        bins.push_back(in);
        baxes.push_back(-1);
      }
    }
    if (!any) continue;
    std::vector<array> outs = a.outputs();
    if (batch == 0) {
      // An empty batch computes nothing: every batched output is empty
      // (the rules need not handle V = 0, e.g. V * groups convolutions).
      for (auto& o : outs) {
        Shape s = o.shape();
        s.insert(s.begin(), 0);
        batched[o.id()] = {zeros(s, o.dtype()), 0};
      }
      continue;
    }
    std::pair<std::vector<array>, std::vector<int>> r;
    {
      OutputsScope scope(&outs);
      r = a.primitive().vmap(bins, baxes);
    }
    for (size_t k = 0; k < outs.size(); ++k) {
      // An output the rule left unbatched stays the traced (unbatched) node.
      if (r.second[k] >= 0) batched[outs[k].id()] = {r.first[k], r.second[k]};
    }
  }

  std::vector<array> result;
  for (size_t k = 0; k < outputs.size(); ++k) {
    const array& o = outputs[k];
    int oax = out_axes[k];
    auto it = batched.find(o.id());
    if (oax == kVmapNone) {
      if (it != batched.end())
        throw ValueError(msg("[vmap] Axis -1 invalid for output with ", o.ndim() + 1,
                             " dimensions (the output is vectorized; out_axes None needs an "
                             "output that does not depend on the vectorized inputs)."));
      result.push_back(o);
      continue;
    }
    array b = it != batched.end() ? it->second.first : vmap_batched_front(o, -1, batch);
    int ax = it != batched.end() ? it->second.second : 0;
    int nd = b.ndim();
    if (oax < -nd || oax >= nd)
      throw IndexError(msg("[vmap] Invalid output vectorization axis ", oax,
                           " for array with shape ", shape_str(o.shape())));
    if (oax < 0) oax += nd;
    result.push_back(ax == oax ? b : moveaxis(b, ax, oax));
  }
  return result;
}

}  // namespace oxmlx
