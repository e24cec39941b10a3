// mx.fft: the FFT family primitive and the transform builders (ops/fft.cpp),
// and mx.hadamard_transform (ops/hadamard.cpp).
#pragma once

#include <optional>
#include <string>

#include "core/primitive.h"
#include "ops/ops.h"

namespace oxmlx {

// Unnormalized DFT over `axes` (in the given order). Complex: complex64 in
// and out, exponent sign - (forward) or + (inverse). Real forward: float32 in,
// the last axis of `axes` becomes n/2 + 1 complex values. Real inverse: the
// half spectrum in, real_n float32 values out along the last axis.
class FFTPrim : public Primitive {
 public:
  FFTPrim(Stream s, std::vector<int> axes, bool inverse, bool real, int64_t real_n)
      : Primitive(s), axes_(std::move(axes)), inverse_(inverse), real_(real), real_n_(real_n) {}
  void eval(const std::vector<array>& in, std::vector<array>& out) override;
  std::vector<array> vjp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&, const std::vector<array>&) override;
  std::vector<array> jvp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&) override;
  std::pair<std::vector<array>, std::vector<int>> vmap(const std::vector<array>&,
                                                       const std::vector<int>&) override;
  std::vector<Shape> output_shapes(const std::vector<array>& in) override;
  std::string name() const override { return "FFT"; }
  bool is_equivalent(const Primitive& o) const override;

 private:
  std::vector<int> axes_;
  bool inverse_, real_;
  int64_t real_n_;  // real inverse: output length along the last axis
};

namespace fft {

enum class FFTNorm { Backward, Ortho, Forward };
// "backward" / "ortho" / "forward"; ValueError naming `op` otherwise.
FFTNorm parse_norm(const std::string& norm, const char* op);

// MLX's fftn family. s: sizes of the transformed axes (pad with zeros or
// truncate); axes: the transformed axes (nullopt: the last len(s) axes are
// not inferred; all axes when s is nullopt too). Real inverse: s[-1] is the
// output length (default 2 * (a.shape[axes[-1]] - 1)).
array fftn(const array& a, const std::optional<Shape>& s, const std::optional<std::vector<int>>& axes,
           FFTNorm norm, bool inverse, bool real, const char* op, StreamOrDevice st = {});

}  // namespace fft

// y = (H_n @ x) * scale along the last axis; n = m * 2^k, m in (1, 12, 20, 28);
// scale defaults to 1/sqrt(n).
array hadamard_transform(const array& a, std::optional<float> scale, StreamOrDevice s = {});

}  // namespace oxmlx
