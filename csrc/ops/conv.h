// Convolution ops (ops/conv.cpp) and the quantized / gathered matmul ops
// (ops/quantized.cpp). Kept out of ops.h so that adding them rebuilds little.
#pragma once

#include <string>
#include <tuple>

#include "ops/ops.h"

namespace oxmlx {

// ---- convolution (channels last: in (N, ..., C), weight (O, ..., C / groups)) ----
array conv_general(const array& in, const array& w, std::vector<int> stride,
                   std::vector<int> pad_lo, std::vector<int> pad_hi,
                   std::vector<int> kernel_dilation, std::vector<int> input_dilation, int groups,
                   bool flip, StreamOrDevice s = {});
// Spatial rank d from the input; scalar parameters are repeated d times.
array conv_nd(int d, const array& in, const array& w, std::vector<int> stride,
              std::vector<int> padding, std::vector<int> dilation, int groups,
              StreamOrDevice s = {});
array conv_transpose_nd(int d, const array& in, const array& w, std::vector<int> stride,
                        std::vector<int> padding, std::vector<int> dilation,
                        std::vector<int> output_padding, int groups, StreamOrDevice s = {});
array convolve(const array& a, const array& v, const std::string& mode, StreamOrDevice s = {});

// ---- quantization (affine, MLX's packing) ----
// Returns w_q (uint32), scales, biases (biases empty for the mx/nv modes).
std::vector<array> quantize(const array& w, int group_size, int bits, const std::string& mode,
                            StreamOrDevice s = {});
array dequantize(const array& wq, const array& scales, const std::optional<array>& biases,
                 int group_size, int bits, const std::string& mode, std::optional<Dtype> dtype,
                 StreamOrDevice s = {});
array quantized_matmul(const array& x, const array& wq, const array& scales,
                       const std::optional<array>& biases, bool transpose, int group_size,
                       int bits, const std::string& mode, StreamOrDevice s = {});
array gather_qmm(const array& x, const array& wq, const array& scales,
                 const std::optional<array>& biases, const std::optional<array>& lhs_indices,
                 const std::optional<array>& rhs_indices, bool transpose, int group_size, int bits,
                 const std::string& mode, bool sorted_indices, StreamOrDevice s = {});

// E4M3 conversions (to_fp8 / from_fp8) are declared in ops/ops.h.

// ---- matmul variants ----
array gather_mm(const array& a, const array& b, const std::optional<array>& lhs_indices,
                const std::optional<array>& rhs_indices, bool sorted_indices,
                StreamOrDevice s = {});
array segmented_mm(const array& a, const array& b, const array& segments, StreamOrDevice s = {});
array block_masked_mm(const array& a, const array& b, int block_size,
                      const std::optional<array>& mask_out, const std::optional<array>& mask_lhs,
                      const std::optional<array>& mask_rhs, StreamOrDevice s = {});

}  // namespace oxmlx
