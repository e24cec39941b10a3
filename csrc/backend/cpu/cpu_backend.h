// The CPU backend: our own vectorized, multithreaded kernels, one file per
// kernel family (unary.cpp, binary.cpp, copy.cpp, reduce.cpp, matmul.cpp).
#pragma once

#include "backend/backend.h"

namespace oxmlx::cpu {

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }
  Device::DeviceType device_type() const override { return Device::cpu; }
  std::shared_ptr<Data> allocate(size_t bytes) override;

  void unary(UnaryOp op, const array& in, array& out) override;
  void binary(BinaryOp op, const array& a, const array& b, array& out) override;
  void ternary(TernaryOp op, const array& a, const array& b, const array& c, array& out) override;
  void copy(const array& in, array& out) override;
  void arange(double start, double step, array& out) override;
  void slice_update(const array& base, const array& update, array& out, const Shape& start,
                    const Shape& step) override;
  void reduce(ReduceOp op, const array& in, array& out, const std::vector<int>& axes) override;
  void arg_reduce(ArgReduceOp op, const array& in, array& out, int axis) override;
  void scan(ScanOp op, const array& in, array& out, int axis, bool reverse, bool inclusive) override;
  void matmul(const array& a, const array& b, array& out) override;
  void random_bits(const array& keys, array& out) override;
  void gather(const array& src, const std::vector<array>& indices, array& out,
              const std::vector<int>& axes, const Shape& slice_sizes) override;
  void scatter(ScatterOp op, const array& base, const std::vector<array>& indices,
               const array& updates, array& out, const std::vector<int>& axes) override;
  void fft(const array& in, array& out, const std::vector<int>& axes, bool inverse,
           bool real) override;
  void fused(const FusedProgram& program, const std::vector<array>& inputs,
             std::vector<array>& outputs) override;
  void sort(const array& in, array& out, int axis, bool arg) override;
  void partition(const array& in, array& out, int axis, int kth, bool arg) override;
  void linalg(LinalgOp op, const std::vector<array>& inputs, std::vector<array>& outputs) override;
  void conv(const array& in, const array& w, array& out, const std::vector<int>& stride,
            const std::vector<int>& pad_lo, const std::vector<int>& pad_hi,
            const std::vector<int>& kernel_dilation, const std::vector<int>& input_dilation,
            int groups, bool flip) override;
  void quantize(const array& w, std::vector<array>& outputs, int group_size, int bits,
                QuantMode mode) override;
  void dequantize(const std::vector<array>& inputs, array& out, int group_size, int bits,
                  QuantMode mode) override;
  void quantized_matmul(const std::vector<array>& inputs, array& out, bool transpose,
                        int group_size, int bits, QuantMode mode) override;
  void gather_mm(const array& a, const array& b, const array& lhs, const array& rhs,
                 array& out) override;
  void segmented_mm(const array& a, const array& b, const array& segments, array& out) override;
  void conv_weight_grad(const array& in, const array& cot, array& out,
                        const std::vector<int>& stride, const std::vector<int>& pad_lo,
                        const std::vector<int>& pad_hi, const std::vector<int>& kernel_dilation,
                        const std::vector<int>& input_dilation, int groups, bool flip) override;
  void fast(FastOp op, const std::vector<array>& inputs, std::vector<array>& outputs,
            const FastParams& p) override;
  bool supports_fast(FastOp op) const override;  // false with OXMLX_FAST_ISA=none
};

// Output allocation shared by the elementwise kernels: reuse (donate) an
// input's buffer when it is dense, row-contiguous, the same item size and
// owned only by this op; otherwise allocate with the input's dense layout.
bool is_dense(const array& a);  // elements cover [offset, offset + size) exactly
void alloc_like(const array& in, array& out);
void alloc_row_major(array& out);
bool try_donate(const array& in, array& out);

}  // namespace oxmlx::cpu
