// Function transforms over the lazy graph: reverse mode (vjp) and forward
// mode (jvp). They trace the function on fresh leaf arrays, walk the traced
// graph, and call each primitive's own vjp/jvp rule.
#pragma once

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

}  // namespace oxmlx
