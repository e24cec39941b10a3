// The CUDA backend's class, its device allocator and shared helpers.
#pragma once

#include <cuda_runtime.h>

#include <atomic>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "backend/backend.h"
#include "backend/cuda/kernels.h"

namespace oxmlx::cu {
struct IndexErr;
}

namespace oxmlx::cuda {

class CudaBackend;

void check(cudaError_t e, const char* what);
int dt(const array& a);  // Dtype::Val code (complex64: ValueError)
void launched();         // checks the last launch
cu::Layout make_layout(const Shape& shape, std::initializer_list<const Strides*> strides,
                       bool* contig);
// Cases the GPU does not cover run on the CPU backend through host copies
// (core/host.h) into fresh (unallocated) outputs of the same shape and dtype.
Backend& cpu_backend();
std::vector<array> host_arrays(const std::vector<array>& v);
array fresh_like(const array& like);

// Size-bucketed cache of cudaMalloc blocks (never managed memory).
class DeviceAllocator final : public Allocator {
 public:
  void* malloc(size_t bytes, size_t* capacity) override;
  void free(void* p, size_t capacity) override;
  bool is_device() const override { return true; }
  void copy_to_host(void* dst, const void* src, size_t bytes) override;
  void clear();
  void set_stream(cudaStream_t s) { stream_ = s; }
  CudaBackend* owner = nullptr;  // raises kernels' index errors after host reads

 private:
  std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> cache_;
  size_t active_ = 0, cached_ = 0;
  cudaStream_t stream_ = nullptr;
};

class CudaBackend final : public Backend {
 public:
  CudaBackend();
  std::string name() const override { return "cuda"; }
  Device::DeviceType device_type() const override { return Device::gpu; }
  std::shared_ptr<Data> allocate(size_t bytes) override;
  void synchronize(const Stream&) override;

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
  // data.cpp (gather.cu, sort.cu, random.cu) and conv.cpp (conv.cu); cases
  // they do not cover go to the CPU backend like fallback.cpp's families.
  void gather(const array& src, const std::vector<array>& indices, array& out,
              const std::vector<int>& axes, const Shape& slice_sizes) override;
  void scatter(ScatterOp op, const array& base, const std::vector<array>& indices,
               const array& updates, array& out, const std::vector<int>& axes) override;
  void sort(const array& in, array& out, int axis, bool arg) override;
  void partition(const array& in, array& out, int axis, int kth, bool arg) override;
  void random_bits(const array& keys, array& out) override;
  void conv(const array& in, const array& w, array& out, const std::vector<int>& stride,
            const std::vector<int>& pad_lo, const std::vector<int>& pad_hi,
            const std::vector<int>& kernel_dilation, const std::vector<int>& input_dilation,
            int groups, bool flip) override;
  void conv_weight_grad(const array& in, const array& cot, array& out,
                        const std::vector<int>& stride, const std::vector<int>& pad_lo,
                        const std::vector<int>& pad_hi, const std::vector<int>& kernel_dilation,
                        const std::vector<int>& input_dilation, int groups, bool flip) override;
  // Run on the CPU backend through host copies (fallback.cpp).
  void fft(const array& in, array& out, const std::vector<int>& axes, bool inverse,
           bool real) override;
  void linalg(LinalgOp op, const std::vector<array>& inputs, std::vector<array>& outputs) override;
  void quantize(const array& w, std::vector<array>& outputs, int group_size, int bits,
                QuantMode mode) override;
  void dequantize(const std::vector<array>& inputs, array& out, int group_size, int bits,
                  QuantMode mode) override;
  void quantized_matmul(const std::vector<array>& inputs, array& out, bool transpose,
                        int group_size, int bits, QuantMode mode) override;
  void gather_mm(const array& a, const array& b, const array& lhs, const array& rhs,
                 array& out) override;
  void segmented_mm(const array& a, const array& b, const array& segments, array& out) override;
  // NVRTC-generated kernels (fused.cpp).
  void fused(const FusedProgram& program, const std::vector<array>& inputs,
             std::vector<array>& outputs) override;
  // Row kernels and attention (fast.cpp, nn_kernels.cu).
  void fast(FastOp op, const std::vector<array>& inputs, std::vector<array>& outputs,
            const FastParams& p) override;
  bool supports_fast(FastOp op) const override;

  // A device-resident view of a (uploaded when a lives on the host).
  array on_gpu(const array& a);
  array contiguous(const array& a);
  cudaStream_t stream() const { return stream_; }
  // Row-major strided-batched GEMM through cuBLASLt (matmul.cpp).
  void gemm(Dtype t, bool ta, bool tb, int64_t M, int64_t N, int64_t K, const void* A,
            int64_t lda, int64_t sa, const void* B, int64_t ldb, int64_t sb, void* C,
            int64_t ldc, int64_t sc, int64_t batch, bool accumulate);
  // Kernels that check indices record the first bad one in this device slot;
  // raise_device_errors (after synchronize and host reads) throws it as
  // IndexError (data.cpp).
  cu::IndexErr* index_error_slot();
  void raise_device_errors();

 private:
  void alloc_out(array& out);
  void adopt(array& host_result, array& out);  // out takes a device copy
  template <typename F>
  void complex_on_cpu(std::initializer_list<const array*> inputs, array& out, F&& fn);
  void fast_on_cpu(FastOp op, const std::vector<array>& in, std::vector<array>& out,
                   const FastParams& p);
  void* stage(const void* src, size_t bytes);
  void scatter_copy(const void* in, int in_dt, void* out, int out_dt, int64_t n,
                    const cu::Layout& l);

  cudaStream_t stream_ = nullptr;
  DeviceAllocator alloc_;
  struct Chunk {
    void* ptr = nullptr;
    size_t used = 0;
    cudaEvent_t done = nullptr;
  };
  std::mutex stage_mu_;
  std::vector<Chunk> stage_;
  size_t cur_ = 0;
  std::shared_ptr<Data> workspace_;  // cuBLASLt's
  size_t workspace_size_ = 0;
  std::mutex err_mu_;
  cu::IndexErr* err_dev_ = nullptr;
  cu::IndexErr* err_host_ = nullptr;
  std::atomic<bool> err_pending_{false};
};

}  // namespace oxmlx::cuda
