#include "core/transforms.h"

#include <unordered_map>
#include <unordered_set>

#include "core/primitive.h"
#include "ops/ops.h"

namespace oxmlx {

std::pair<std::vector<array>, std::vector<array>> vjp_traced(const std::vector<array>& tracers,
                                                             const std::vector<array>& outputs,
                                                             const std::vector<array>& cotangents);

namespace {

// Integer and bool outputs carry no derivative: a primitive that has no rule
// but only such outputs (argmax, random bits, ...) contributes zeros.
bool all_outputs_discrete(const std::vector<array>& outs) {
  for (auto& o : outs)
    if (is_inexact(o.dtype())) return false;
  return true;
}

// Tracers: identity views of the primals, so each traced graph starts at
// distinct nodes while an enclosing trace (grad of grad) still sees through
// them to the primals.
std::vector<array> make_tracers(const std::vector<array>& primals) {
  std::vector<array> out;
  out.reserve(primals.size());
  for (auto& p : primals) out.push_back(identity_view(p));
  return out;
}

// Nodes between the tracers and the outputs in topological order (inputs
// before consumers), found with an explicit stack. A node is kept only if one
// of its inputs is a tracer or a kept node.
std::vector<array> trace_tape(const std::vector<array>& outputs,
                              const std::unordered_set<uintptr_t>& tracer_ids,
                              std::unordered_set<uintptr_t>& depends) {
  std::vector<array> tape;
  for (auto& a : graph_postorder(outputs, false)) {
    if (a.primitive().name() == "StopGradient") continue;  // no derivative flows through
    bool dep = false;
    for (auto& in : a.inputs()) dep |= tracer_ids.count(in.id()) || depends.count(in.id());
    if (!dep) continue;
    for (auto& o : a.outputs()) depends.insert(o.id());
    tape.push_back(a);
  }
  return tape;
}

}  // namespace

std::pair<std::vector<array>, std::vector<array>> vjp(const ArrayFn& fun,
                                                      const std::vector<array>& primals,
                                                      const std::vector<array>& cotangents) {
  std::vector<array> tracers = make_tracers(primals);
  std::vector<array> outputs = fun(tracers);
  if (cotangents.empty()) {
    // Seed with ones (grad of a scalar loss): the shapes are known only now.
    std::vector<array> ones;
    for (auto& o : outputs) ones.push_back(ones_like(o));
    return vjp_traced(tracers, outputs, ones);
  }
  return vjp_traced(tracers, outputs, cotangents);
}

std::pair<std::vector<array>, std::vector<array>> vjp_traced(const std::vector<array>& tracers,
                                                             const std::vector<array>& outputs,
                                                             const std::vector<array>& cotangents) {
  if (cotangents.size() != outputs.size())
    throw ValueError(msg("[vjp] Number of outputs (", outputs.size(),
                         ") does not match number of cotangents (", cotangents.size(), ")."));
  std::unordered_set<uintptr_t> tracer_ids, depends;
  for (auto& t : tracers) tracer_ids.insert(t.id());
  std::vector<array> tape = trace_tape(outputs, tracer_ids, depends);

  std::unordered_map<uintptr_t, array> cot;
  auto accumulate = [&](const array& target, array g) {
    auto it = cot.find(target.id());
    if (it == cot.end()) cot.emplace(target.id(), std::move(g));
    else it->second = add(it->second, g);
  };
  for (size_t i = 0; i < outputs.size(); ++i) {
    const array& o = outputs[i];
    array c = cotangents[i];
    if (c.shape() != o.shape())
      throw ValueError(msg("[vjp] Cotangent shape ", shape_str(c.shape()),
                           " does not match output shape ", shape_str(o.shape()), "."));
    if (c.dtype() != o.dtype()) c = astype(c, o.dtype());
    accumulate(o, c);
  }
  for (auto it = tape.rbegin(); it != tape.rend(); ++it) {
    const array& a = *it;
    std::vector<array> outs = a.outputs();
    std::vector<array> cots;
    bool any = false;
    for (auto& o : outs) {
      auto c = cot.find(o.id());
      if (c != cot.end()) {
        cots.push_back(c->second);
        any = true;
      } else {
        cots.push_back(zeros_like(o));
      }
    }
    if (!any) continue;
    const auto& ins = a.inputs();
    std::vector<int> argnums;
    for (int k = 0; k < int(ins.size()); ++k)
      if (tracer_ids.count(ins[k].id()) || depends.count(ins[k].id())) argnums.push_back(k);
    std::vector<array> grads;
    try {
      grads = a.primitive().vjp(ins, cots, argnums, outs);
    } catch (const std::exception&) {
      if (!all_outputs_discrete(outs)) throw;
      for (int k : argnums) grads.push_back(zeros_like(ins[k]));
    }
    for (size_t k = 0; k < argnums.size(); ++k) {
      const array& in = ins[argnums[k]];
      array g = grads[k];
      if (g.shape() != in.shape()) g = broadcast_to(g, in.shape());
      if (g.dtype() != in.dtype()) g = astype(g, in.dtype());
      accumulate(in, g);
    }
    for (auto& o : outs) cot.erase(o.id());
  }
  std::vector<array> result;
  for (auto& t : tracers) {
    auto c = cot.find(t.id());
    result.push_back(c != cot.end() ? c->second : zeros_like(t));
  }
  return {outputs, result};
}

std::pair<std::vector<array>, std::vector<array>> jvp(const ArrayFn& fun,
                                                      const std::vector<array>& primals,
                                                      const std::vector<array>& tangents) {
  if (primals.size() != tangents.size())
    throw ValueError(msg("[jvp] Number of inputs (", primals.size(),
                         ") does not match number of tangents (", tangents.size(), ")."));
  for (size_t i = 0; i < primals.size(); ++i)
    if (primals[i].shape() != tangents[i].shape())
      throw ValueError(msg("[jvp] Tangent shape ", shape_str(tangents[i].shape()),
                           " does not match primal shape ", shape_str(primals[i].shape()), "."));
  std::vector<array> tracers = make_tracers(primals);
  std::vector<array> outputs = fun(tracers);
  std::unordered_set<uintptr_t> tracer_ids, depends;
  for (auto& t : tracers) tracer_ids.insert(t.id());
  std::vector<array> tape = trace_tape(outputs, tracer_ids, depends);

  std::unordered_map<uintptr_t, array> tan;
  for (size_t i = 0; i < tracers.size(); ++i) tan.emplace(tracers[i].id(), tangents[i]);
  for (auto& a : tape) {
    const auto& ins = a.inputs();
    std::vector<int> argnums;
    std::vector<array> ts;
    for (int k = 0; k < int(ins.size()); ++k) {
      auto t = tan.find(ins[k].id());
      if (t != tan.end()) {
        argnums.push_back(k);
        ts.push_back(t->second);
      }
    }
    if (argnums.empty()) continue;
    std::vector<array> outs = a.outputs();
    std::vector<array> out_t;
    try {
      out_t = a.primitive().jvp(ins, ts, argnums);
    } catch (const std::exception&) {
      if (!all_outputs_discrete(outs)) throw;
      for (auto& o : outs) out_t.push_back(zeros_like(o));
    }
    for (size_t k = 0; k < outs.size() && k < out_t.size(); ++k) {
      array t = out_t[k];
      // Rules may return the tangent before the node's own reshape/broadcast.
      if (t.shape() != outs[k].shape())
        t = t.size() == outs[k].size() ? reshape(t, outs[k].shape()) : broadcast_to(t, outs[k].shape());
      if (t.dtype() != outs[k].dtype()) t = astype(t, outs[k].dtype());
      tan.emplace(outs[k].id(), t);
    }
  }
  std::vector<array> result;
  for (auto& o : outputs) {
    auto t = tan.find(o.id());
    result.push_back(t != tan.end() ? t->second : zeros_like(o));
  }
  return {outputs, result};
}

}  // namespace oxmlx
