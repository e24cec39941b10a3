// Eager fusion of a few elementwise patterns on GPU streams (eager_fuse.cpp).
#pragma once

#include <optional>

#include "backend/backend.h"
#include "core/array.h"

namespace oxmlx {

// Whether ops built on stream s may be emitted as Fused nodes.
bool eager_fusion(const Stream& s);
// cot * (a > b) (maximum; minimum: a < b) for arg 0, cot * !(a > b) for
// arg 1, as one Fused node; nullopt where the pattern does not apply.
std::optional<array> fused_minmax_grad(BinaryOp op, const array& cot, const array& a,
                                       const array& b, int arg, Stream st);
// a + b or a - b (op) where b is an unevaluated s * x with a single-value s,
// as one Fused node reading a, s and x; nullopt where it does not apply.
std::optional<array> fused_axpy(BinaryOp op, const array& a, const array& b, Stream st);

}  // namespace oxmlx
