// Op codes and parameters of the fused-kernel family (Backend::fast): row
// kernels for mx.fast (norms, rope, attention) and the fused softmax.
// Included only by the files that build these nodes or run their kernels, so
// new parameters do not rebuild the whole library.
#pragma once

#include <cstdint>

#include "backend/backend.h"

namespace oxmlx {

// Inputs are row-contiguous (the op builders make them so) unless noted;
// outputs are allocated by the kernel.
enum class FastOp : uint8_t {
  RmsNorm,    // {x, w} -> {y}: last axis; w is (D,) or ignored (!has_weight)
  LayerNorm,  // {x, w, b} -> {y}: w, b (D,) or ignored (!has_weight / !has_bias)
  Rope,       // {x (B, N, T, D), offset int32 (1) or (B), [freqs f32 (dims/2)]} -> {y}
  Softmax,    // {x} -> {y}: last axis
  LogSumExp,  // {x} -> {y}: last axis, y has the shape of x with the last axis 1
  Sdpa,       // {q (B, Nq, Tq, D), k (B, Nkv, Tkv, D), v (B, Nkv, Tkv, Dv),
              //  [mask broadcast to (B, Nq, Tq, Tkv), any strides], [sinks (Nq)]}
              //  -> {o, [row max m, log of the row sum l (B, Nq, Tq), float32 or float64]}
  SdpaVjp,    // {Sdpa's inputs..., o, m, log l, d_o} -> {dq, dk, dv}
  GatedDelta, // {q, k (B, T, Hk, Dk), v (B, T, Hv, Dv), g (B, T, Hv) or (B, T, Hv, Dk),
              //  beta (B, T, Hv), state (B, Hv, Dv, Dk), [mask bool (B, T)]}
              //  -> {y (B, T, Hv, Dv), final state}; g, beta, state in the state dtype
  RmsNormVjp,   // {x, w, g} -> {dx, dw}   (dw = 0 when !has_weight)
  LayerNormVjp, // {x, w, b, g} -> {dx, dw, db}
  Exp,        // {x float32} -> {exp(x)} by the SIMD polynomial (a test hook)
};

struct FastParams {
  float eps = 0.0f;           // norms
  float scale = 1.0f;         // rope: position scale; sdpa: score scale
  float base = 10000.0f;      // rope without freqs
  int dims = 0;               // rope: rotated feature dims (even, <= D)
  bool traditional = false;   // rope: rotate consecutive pairs
  bool forward = true;        // rope: false rotates by -theta (the vjp)
  bool has_weight = false;    // norms
  bool has_bias = false;      // layer_norm
  bool causal = false;        // sdpa: lower-right aligned causal mask
  int mask = 0;               // sdpa: 0 none, 1 boolean (true keeps), 2 additive
  bool has_sinks = false;     // sdpa
};

}  // namespace oxmlx
