// The fused family (Backend::fast) on the GPU: softmax, logsumexp,
// rms_norm, layer_norm, rope and scaled dot-product attention run as CUDA
// kernels (nn_kernels.cu). Cases those kernels do not cover (float64
// attention, head dims over 256, the backward ops, gated delta) run on the
// CPU backend through host copies; the norm and attention backward nodes
// are not claimed at all (supports_fast), so their compositions of core ops
// run on the GPU instead.
#include "backend/fast.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/nn_kernels.h"
#include "core/host.h"

namespace oxmlx::cuda {

namespace {

bool float_dtype(Dtype d) { return d == float32 || d == float16 || d == bfloat16 || d == float64; }

}  // namespace

bool CudaBackend::supports_fast(FastOp op) const {
  switch (op) {
    case FastOp::Softmax:
    case FastOp::LogSumExp:
    case FastOp::RmsNorm:
    case FastOp::LayerNorm:
    case FastOp::Rope:
    case FastOp::Sdpa: return true;
    default: return false;
  }
}

void CudaBackend::fast_on_cpu(FastOp op, const std::vector<array>& in, std::vector<array>& out,
                              const FastParams& p) {
  std::vector<array> ts;
  for (auto& o : out) ts.push_back(fresh_like(o));
  cpu_backend().fast(op, host_arrays(in), ts, p);
  for (size_t i = 0; i < out.size(); ++i) adopt(ts[i], out[i]);
}

void CudaBackend::fast(FastOp op, const std::vector<array>& in_h, std::vector<array>& out,
                       const FastParams& p) {
  const Dtype t = in_h[0].dtype();
  if (!float_dtype(t) || !supports_fast(op)) return fast_on_cpu(op, in_h, out, p);
  const int d = dt(in_h[0]);
  switch (op) {
    case FastOp::Softmax:
    case FastOp::LogSumExp:
    case FastOp::RmsNorm:
    case FastOp::LayerNorm: {
      array x = contiguous(in_h[0]);
      const bool norm = op == FastOp::RmsNorm || op == FastOp::LayerNorm;
      array w = norm && p.has_weight ? contiguous(in_h[1]) : x;
      array b = op == FastOp::LayerNorm && p.has_bias ? contiguous(in_h[2]) : x;
      alloc_out(out[0]);
      if (out[0].size() == 0) return;
      cu::RowArgs a;
      a.x = x.raw_ptr();
      a.y = out[0].raw_ptr();
      a.n = x.ndim() ? x.shape(-1) : 1;
      a.rows = op == FastOp::LogSumExp ? out[0].size() : (a.n ? x.size() / a.n : 0);
      a.w = norm && p.has_weight ? w.raw_ptr() : nullptr;
      a.b = op == FastOp::LayerNorm && p.has_bias ? b.raw_ptr() : nullptr;
      a.eps = p.eps;
      cu::RowOp ro = op == FastOp::Softmax     ? cu::RowOp::Softmax
                     : op == FastOp::LogSumExp ? cu::RowOp::LogSumExp
                     : op == FastOp::RmsNorm   ? cu::RowOp::RmsNorm
                                               : cu::RowOp::LayerNorm;
      if (!cu::rows(ro, d, a, stream_)) return fast_on_cpu(op, in_h, out, p);
      launched();
      return;
    }
    case FastOp::Rope: {
      array x = contiguous(in_h[0]);
      array off = contiguous(in_h[1]);
      array fq = in_h.size() > 2 ? contiguous(in_h[2]) : x;
      if (off.dtype() != int32 || (in_h.size() > 2 && fq.dtype() != float32))
        return fast_on_cpu(op, in_h, out, p);
      alloc_out(out[0]);
      if (out[0].size() == 0) return;
      cu::RopeArgs a;
      a.x = x.raw_ptr();
      a.y = out[0].raw_ptr();
      a.B = x.shape(0), a.N = x.shape(1), a.T = x.shape(2), a.D = x.shape(3);
      a.offset = static_cast<const int32_t*>(off.raw_ptr());
      a.per_batch = off.size() > 1;
      a.dims = p.dims;
      a.scale = p.scale;
      a.traditional = p.traditional;
      a.forward = p.forward;
      array inv;
      const int half = p.dims / 2;
      if (in_h.size() > 2) {
        a.freqs = static_cast<const float*>(fq.raw_ptr());
      } else if (half > 0) {
        // base^(-2j / dims), computed as the CPU kernel does.
        std::vector<float> v(half);
        float c = std::log(p.base) / float(half);
        for (int j = 0; j < half; ++j) v[j] = std::exp(float(-j) * c);
        array hv(v.data(), Shape{half}, float32);
        inv = on_gpu(hv);
        a.inv_freq = static_cast<const float*>(inv.raw_ptr());
      }
      if (!cu::rope(d, a, stream_)) return fast_on_cpu(op, in_h, out, p);
      launched();
      return;
    }
    case FastOp::Sdpa: {
      if (t == float64 || out.size() < 3) return fast_on_cpu(op, in_h, out, p);
      const int64_t D = in_h[0].shape(3), Dv = in_h[2].shape(3);
      if (D > 256 || Dv > 256) return fast_on_cpu(op, in_h, out, p);
      array q = contiguous(in_h[0]), k = contiguous(in_h[1]), v = contiguous(in_h[2]);
      size_t idx = 3;
      array mask = p.mask ? on_gpu(in_h[idx++]) : q;
      array sinks = p.has_sinks ? contiguous(in_h[idx++]) : q;
      for (auto& o : out) alloc_out(o);
      if (out[0].size() == 0) return;
      cu::SdpaArgs a;
      a.B = q.shape(0), a.Nq = q.shape(1), a.Tq = q.shape(2), a.D = D;
      a.Nkv = k.shape(1), a.Tkv = k.shape(2), a.Dv = Dv;
      if (a.Tkv == 0) {  // softmax over no keys: an empty sum of values
        check(cudaMemsetAsync(out[0].raw_ptr(), 0, out[0].nbytes(), stream_), "cudaMemset");
        std::vector<float> ninf(out[1].size(), -std::numeric_limits<float>::infinity());
        for (int i = 1; i < 3; ++i) {
          array h(ninf.data(), out[i].shape(), float32);
          copy(h, out[i]);
        }
        return;
      }
      a.q = q.raw_ptr(), a.k = k.raw_ptr(), a.v = v.raw_ptr();
      a.o = out[0].raw_ptr();
      a.m = static_cast<float*>(out[1].raw_ptr());
      a.l = static_cast<float*>(out[2].raw_ptr());
      a.scale = p.scale;
      a.causal = p.causal;
      if (p.mask) {
        a.mask = mask.raw_ptr();
        a.mask_kind = p.mask;
        for (int i = 0; i < 4; ++i) a.mst[i] = mask.shape(i) == 1 ? 0 : mask.strides()[i];
      }
      if (p.has_sinks) a.sinks = sinks.raw_ptr();
      if (!cu::sdpa(d, a, stream_)) return fast_on_cpu(op, in_h, out, p);
      launched();
      return;
    }
    default: return fast_on_cpu(op, in_h, out, p);
  }
}

}  // namespace oxmlx::cuda
