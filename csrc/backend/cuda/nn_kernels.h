// Launchers of the CUDA backend's fused row kernels (nn_kernels.cu): the
// Backend::fast family (softmax, logsumexp, rms_norm, layer_norm, rope,
// scaled dot-product attention). Plain structs only, so the host side
// (fast.cpp) is compiled by the C++ compiler. dt: Dtype::Val codes
// (float16, float32, float64, bfloat16); every array row-contiguous unless
// noted. Each returns false for a case it does not cover (the caller then
// runs the CPU kernel).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace oxmlx::cu {

enum class RowOp : int { Softmax, LogSumExp, RmsNorm, LayerNorm };

struct RowArgs {
  const void* x = nullptr;
  const void* w = nullptr;  // norms: weight (n) or null
  const void* b = nullptr;  // layer_norm: bias (n) or null
  void* y = nullptr;        // (rows, n); logsumexp: (rows)
  int64_t rows = 0, n = 0;
  float eps = 0.0f;
};
bool rows(RowOp op, int dt, const RowArgs& a, cudaStream_t s);

struct RopeArgs {
  const void* x = nullptr;
  void* y = nullptr;
  int64_t B = 0, N = 0, T = 0, D = 0;
  const int32_t* offset = nullptr;  // (1) or (B)
  bool per_batch = false;
  const float* freqs = nullptr;     // (dims / 2) or null: inv_freq used
  const float* inv_freq = nullptr;  // (dims / 2) base^(-2j/dims), computed on the host
  int dims = 0;
  float scale = 1.0f;
  bool traditional = false, forward = true;
};
bool rope(int dt, const RopeArgs& a, cudaStream_t s);

struct SdpaArgs {
  const void *q = nullptr, *k = nullptr, *v = nullptr;  // (B, Nq, Tq, D), (B, Nkv, Tkv, D), (B, Nkv, Tkv, Dv)
  const void* mask = nullptr;  // broadcast to (B, Nq, Tq, Tkv) through mst (element strides)
  int64_t mst[4] = {};
  int mask_kind = 0;           // 0 none, 1 boolean (true keeps), 2 additive (q's dtype)
  const void* sinks = nullptr; // (Nq), q's dtype
  bool causal = false;
  float scale = 1.0f;
  void* o = nullptr;           // (B, Nq, Tq, Dv)
  float* m = nullptr;          // (B, Nq, Tq) row max
  float* l = nullptr;          // (B, Nq, Tq) log of the row sum
  int64_t B = 0, Nq = 0, Tq = 0, D = 0, Nkv = 0, Tkv = 0, Dv = 0;
};
bool sdpa(int dt, const SdpaArgs& a, cudaStream_t s);
// The tensor-core forward (sdpa_tc.cu): float16/bfloat16, D == Dv in {64,
// 128}, no mask or causal, no sinks; false otherwise (sdpa runs instead).
bool sdpa_tc(int dt, const SdpaArgs& a, cudaStream_t s);

}  // namespace oxmlx::cu
