// Families without CUDA kernels yet (fft, linalg, quantization, gather_mm,
// segmented_mm) run on the CPU backend: the inputs are
// copied to the host (waiting for the GPU), the CPU kernel runs, and its
// outputs are uploaded. Correct and complete, but synchronizing: these are
// the next kernels to write (docs/backends.md).
#include "backend/cuda/cuda_backend.h"
#include "core/host.h"

namespace oxmlx::cuda {

void CudaBackend::adopt(array& host_result, array& out) {
  host_result.set_status(Status::available);
  array dev = on_gpu(host_result);
  if (dev.size() == 0 || !dev.data_shared_ptr()) {
    alloc_out(out);
    return;
  }
  out.copy_shared_buffer(dev);
}

void CudaBackend::fft(const array& in, array& out, const std::vector<int>& axes, bool inverse,
                      bool real) {
  array t = fresh_like(out);
  cpu_backend().fft(host_array(in), t, axes, inverse, real);
  adopt(t, out);
}

void CudaBackend::linalg(LinalgOp op, const std::vector<array>& inputs,
                         std::vector<array>& outputs) {
  std::vector<array> ts;
  for (auto& o : outputs) ts.push_back(fresh_like(o));
  cpu_backend().linalg(op, host_arrays(inputs), ts);
  for (size_t i = 0; i < outputs.size(); ++i) adopt(ts[i], outputs[i]);
}

void CudaBackend::quantize(const array& w, std::vector<array>& outputs, int group_size, int bits,
                           QuantMode mode) {
  std::vector<array> ts;
  for (auto& o : outputs) ts.push_back(fresh_like(o));
  cpu_backend().quantize(host_array(w), ts, group_size, bits, mode);
  for (size_t i = 0; i < outputs.size(); ++i) adopt(ts[i], outputs[i]);
}

void CudaBackend::dequantize(const std::vector<array>& inputs, array& out, int group_size,
                             int bits, QuantMode mode) {
  array t = fresh_like(out);
  cpu_backend().dequantize(host_arrays(inputs), t, group_size, bits, mode);
  adopt(t, out);
}

void CudaBackend::quantized_matmul(const std::vector<array>& inputs, array& out, bool transpose,
                                   int group_size, int bits, QuantMode mode) {
  array t = fresh_like(out);
  cpu_backend().quantized_matmul(host_arrays(inputs), t, transpose, group_size, bits, mode);
  adopt(t, out);
}

void CudaBackend::gather_mm(const array& a, const array& b, const array& lhs, const array& rhs,
                            array& out) {
  array t = fresh_like(out);
  cpu_backend().gather_mm(host_array(a), host_array(b), host_array(lhs), host_array(rhs), t);
  adopt(t, out);
}

void CudaBackend::segmented_mm(const array& a, const array& b, const array& segments,
                               array& out) {
  array t = fresh_like(out);
  cpu_backend().segmented_mm(host_array(a), host_array(b), host_array(segments), t);
  adopt(t, out);
}

}  // namespace oxmlx::cuda
