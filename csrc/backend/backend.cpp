// Default family implementations: a backend brought up family by family
// raises a clear error for the families it does not have yet.
#include "backend/backend.h"

namespace oxmlx {

void Backend::unsupported(const char* family) const {
  throw RuntimeError(msg("[", family, "] is not implemented by the '", name(), "' backend."));
}
void Backend::gather(const array&, const std::vector<array>&, array&, const std::vector<int>&,
                     const Shape&) { unsupported("gather"); }
void Backend::scatter(ScatterOp, const array&, const std::vector<array>&, const array&, array&,
                      const std::vector<int>&) { unsupported("scatter"); }
void Backend::sort(const array&, array&, int, bool) { unsupported("sort"); }
void Backend::partition(const array&, array&, int, int, bool) { unsupported("partition"); }
void Backend::random_bits(const array&, array&) { unsupported("random_bits"); }
void Backend::conv(const array&, const array&, array&, const std::vector<int>&,
                   const std::vector<int>&, const std::vector<int>&, const std::vector<int>&,
                   const std::vector<int>&, int, bool) { unsupported("conv"); }
void Backend::fft(const array&, array&, const std::vector<int>&, bool, bool) { unsupported("fft"); }
void Backend::linalg(LinalgOp, const std::vector<array>&, std::vector<array>&) {
  unsupported("linalg");
}
void Backend::fast(FastOp, const std::vector<array>&, std::vector<array>&, const FastParams&) {
  unsupported("fast");
}

void Backend::quantize(const array&, std::vector<array>&, int, int, QuantMode) {
  unsupported("quantize");
}
void Backend::dequantize(const std::vector<array>&, array&, int, int, QuantMode) {
  unsupported("dequantize");
}
void Backend::quantized_matmul(const std::vector<array>&, array&, bool, int, int, QuantMode) {
  unsupported("quantized_matmul");
}
void Backend::gather_mm(const array&, const array&, const array&, const array&, array&) {
  unsupported("gather_mm");
}
void Backend::segmented_mm(const array&, const array&, const array&, array&) {
  unsupported("segmented_mm");
}
void Backend::conv_weight_grad(const array&, const array&, array&, const std::vector<int>&,
                               const std::vector<int>&, const std::vector<int>&,
                               const std::vector<int>&, const std::vector<int>&, int, bool) {
  unsupported("conv_weight_grad");
}
void Backend::fused(const FusedProgram&, const std::vector<array>&, std::vector<array>&) {
  unsupported("fused");
}

}  // namespace oxmlx
