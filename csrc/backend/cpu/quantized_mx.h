// mxfp4 / mxfp8 kernels of the CPU quantization family (quantized_mx.cpp).
// Inputs are row-contiguous; outputs are allocated here.
#pragma once

#include "core/array.h"

namespace oxmlx::cpu {

// w -> {w_q (uint32), scales (uint8 E8M0)}; bits 4 (E2M1) or 8 (E4M3).
void quantize_microscaled(const array& w, std::vector<array>& outputs, int bits);
void dequantize_microscaled(const array& wq, const array& scales, array& out, int bits);

}  // namespace oxmlx::cpu
