// mx.fast builders and the fused softmax: argument checks and dtype rules
// as MLX, then one node of the fused family (FastPrim).
#pragma once

#include <optional>
#include <string>

#include "backend/fast.h"
#include "core/primitive.h"
#include "core/transforms.h"
#include "ops/ops.h"

namespace oxmlx {

// One node of the fused family. `fallback` is the composition of core ops the
// kernel computes (MLX's definition); rms_norm, layer_norm and attention
// differentiate through it, softmax, logsumexp and rope have their own rules.
class FastPrim : public Primitive {
 public:
  FastPrim(Stream s, FastOp op, FastParams p, ArrayFn fallback = {})
      : Primitive(s), op_(op), p_(p), fallback_(std::move(fallback)) {}
  void eval(const std::vector<array>& in, std::vector<array>& out) override;
  std::vector<array> vjp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&, const std::vector<array>&) override;
  std::vector<array> jvp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&) override;
  // Batch axes folded into the kernels' own leading axes where the op allows;
  // otherwise the composition, vmapped (ops/fast.cpp says which).
  std::pair<std::vector<array>, std::vector<int>> vmap(const std::vector<array>&,
                                                       const std::vector<int>&) override;
  std::string name() const override;
  bool is_equivalent(const Primitive& o) const override;
  // Shapeless compile: the row ops keep their input's shape (logsumexp keeps
  // a trailing 1); the others are not re-shaped.
  std::vector<Shape> output_shapes(const std::vector<array>& in) override {
    switch (op_) {
      case FastOp::RmsNorm: case FastOp::LayerNorm: case FastOp::Rope: case FastOp::Softmax:
      case FastOp::Exp:
        return {in[0].shape()};
      case FastOp::LogSumExp: {
        Shape sh = in[0].shape();
        if (!sh.empty()) sh.back() = 1;
        return {sh};
      }
      default:
        return Primitive::output_shapes(in);
    }
  }
  FastOp op() const { return op_; }
  const FastParams& params() const { return p_; }

 private:
  FastOp op_;
  FastParams p_;
  ArrayFn fallback_;
};

// Softmax over `axes` (all axes when empty and all_axes), accumulated in
// float32 for 16-bit inputs whatever `precise` says; integers give float32.
// The fused row kernels behind mx.softmax / mx.logsumexp (real dtypes, non-empty
// inputs); ops/composite.cpp's softmax/logsumexp check arguments and call them.
array softmax_fused(const array& a, const std::vector<int>& axes, bool precise, StreamOrDevice s = {});
// log(sum(exp(a))) over `axes` (fused, with its vjp); integers give float32.
array logsumexp_fused(const array& a, const std::vector<int>& axes, bool keepdims,
                      StreamOrDevice s = {});
// log(sum(exp(a))) over the last axis, keepdims (fused, with its vjp).
array logsumexp_last(const array& a, StreamOrDevice s = {});

// exp of float32 values by the backend's SIMD polynomial (for tests).
array fast_exp(const array& a, StreamOrDevice s = {});

namespace fast {

array rms_norm(const array& x, const std::optional<array>& weight, float eps,
               StreamOrDevice s = {});
array layer_norm(const array& x, const std::optional<array>& weight,
                 const std::optional<array>& bias, float eps, StreamOrDevice s = {});
array rope(const array& x, int dims, bool traditional, std::optional<float> base, float scale,
           const array& offset, const std::optional<array>& freqs = std::nullopt,
           StreamOrDevice s = {});
// mask_mode: "" (none), "causal" or "array" (mask given).
array scaled_dot_product_attention(const array& q, const array& k, const array& v, float scale,
                                   const std::string& mask_mode,
                                   const std::optional<array>& mask,
                                   const std::optional<array>& sinks, StreamOrDevice s = {});
array cross_entropy(const array& logits, const array& targets, StreamOrDevice s = {});
// Gated delta rule over the sequence: returns {y (B, T, Hv, Dv), final state (B, Hv, Dv, Dk)}.
std::vector<array> gated_delta_update(const array& q, const array& k, const array& v,
                                      const array& gamma, const array& beta,
                                      const std::optional<array>& initial_state,
                                      const std::optional<array>& mask, StreamOrDevice s = {});

}  // namespace fast
}  // namespace oxmlx
