// Function transforms over the lazy graph: reverse mode (vjp) and forward
// mode (jvp). They trace the function on fresh leaf arrays, walk the traced
// graph, and call each primitive's own vjp/jvp rule.
#pragma once

#include <climits>
#include <functional>
#include <utility>
#include <vector>

#include "core/array.h"

namespace oxmlx {

using ArrayFn = std::function<std::vector<array>(const std::vector<array>&)>;

// Returns (outputs, cotangents of primals). Empty cotangents mean ones
// shaped like each output (the gradient of a scalar loss).
std::pair<std::vector<array>, std::vector<array>> vjp(const ArrayFn& fun,
                                                      const std::vector<array>& primals,
                                                      const std::vector<array>& cotangents);

// Returns (outputs, tangents of outputs).
std::pair<std::vector<array>, std::vector<array>> jvp(const ArrayFn& fun,
                                                      const std::vector<array>& primals,
                                                      const std::vector<array>& tangents);

// ---- vmap (core/vmap.cpp) ----
// An axis of in_axes/out_axes meaning "not vectorized" (Python's None).
constexpr int kVmapNone = INT_MIN;

// fun vectorized over axis in_axes[i] of inputs[i]; output k gets its batch
// axis at out_axes[k] (one entry applies to every output).
std::vector<array> vmap(const ArrayFn& fun, const std::vector<array>& inputs,
                        const std::vector<int>& in_axes, const std::vector<int>& out_axes);
// The same with output axes known only once fun has run (called after it).
std::vector<array> vmap(const ArrayFn& fun, const std::vector<array>& inputs,
                        const std::vector<int>& in_axes,
                        const std::function<std::vector<int>()>& out_axes);

// Helpers for the primitives' vmap rules (axis -1: input not batched).
// The unbatched outputs of the node whose rule is running (shapes, dtypes).
const std::vector<array>& vmap_unbatched_outputs();
int64_t vmap_batch_size(const std::vector<array>& inputs, const std::vector<int>& axes);
// x with its batch axis moved to 0 (unchanged when axis <= 0).
array vmap_to_front(const array& x, int axis);
// x batched at 0: moved there, or broadcast to `batch` copies when unbatched.
array vmap_batched_front(const array& x, int axis, int64_t batch);
// (B,) + elem_shape array from B arrays of elem_shape.
array vmap_stack(const std::vector<array>& parts, const Shape& elem_shape, Dtype dtype);
// The rule of a primitive whose kernel treats every leading axis as a batch
// axis (linalg factorizations, det, quantize, ...): batch axes moved to the
// front (unbatched inputs broadcast), the node's own primitive applied once,
// outputs batched at 0.
std::pair<std::vector<array>, std::vector<int>> vmap_leading_batch(const std::vector<array>& inputs,
                                                                   const std::vector<int>& axes);
// The generic rule: the node applied to each batch element, results stacked
// (output batch axes 0). The default of Primitive::vmap.
std::pair<std::vector<array>, std::vector<int>> vmap_fallback(const std::vector<array>& inputs,
                                                              const std::vector<int>& axes);

// ---- custom transforms (ops/custom.cpp) ----
struct CustomRules {
  ArrayFn fun;  // the forward function (required)
  // (primals, cotangents, outputs) -> cotangents of every primal (an invalid
  // array means zero).
  std::function<std::vector<array>(const std::vector<array>&, const std::vector<array>&,
                                   const std::vector<array>&)>
      vjp;
  // (primals, tangents of every primal) -> tangents of the outputs.
  std::function<std::vector<array>(const std::vector<array>&, const std::vector<array>&)> jvp;
  // (batched primals, axes (-1: not batched)) -> (outputs, their axes).
  std::function<std::pair<std::vector<array>, std::vector<int>>(const std::vector<array>&,
                                                                const std::vector<int>&)>
      vmap;
};
// fun(primals) whose transforms use the given rules; a missing vjp/jvp rule
// transforms fun itself from the primals (recomputing the forward pass).
std::vector<array> custom_function(const CustomRules& rules, const std::vector<array>& primals,
                                   const char* name = "CustomTransforms");
// fun(primals), its intermediates recomputed in the backward pass.
std::vector<array> checkpoint(const ArrayFn& fun, const std::vector<array>& primals);

// While alive, eval() of arrays that depend on `tracers` raises (compile and
// vmap trace functions; their tracers have no values of their own).
class NoEvalScope {
 public:
  explicit NoEvalScope(const std::vector<array>& tracers);
  ~NoEvalScope();
  NoEvalScope(const NoEvalScope&) = delete;
  NoEvalScope& operator=(const NoEvalScope&) = delete;
};

}  // namespace oxmlx
