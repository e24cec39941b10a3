// Vectorized dtype conversions of contiguous runs for the copy family.
#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace oxmlx::cpu {

// Converts n contiguous elements from `from` to `to` when a fast kernel
// exists for the pair (f32 <-> f16 through F16C where the CPU has it,
// f32 <-> bf16 everywhere); returns false, touching nothing, otherwise.
// Results are bit-identical to the scalar conversions in convert.h.
bool fast_cast(Dtype from, Dtype to, const void* src, void* dst, int64_t n);

// True when fast_cast handles the pair.
bool has_fast_cast(Dtype from, Dtype to);

}  // namespace oxmlx::cpu
