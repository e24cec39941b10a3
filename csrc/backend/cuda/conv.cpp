// Convolution on the GPU (channels last, 1 to 3 spatial dims, any stride,
// padding (negative: crop), kernel and input dilation, groups, flip), as
// explicit im2col (conv.cu) into chunks of at most ~256 MiB followed by one
// strided-batched cuBLASLt GEMM per chunk (the batch runs over the groups).
// 1x1 kernels with unit stride and no padding multiply the input directly.
// The weight gradient uses the same patches: dw[g] += cot[rows, g]^T @
// patches[rows, g], accumulated in float32 (float64 for float64).
// Other dtypes / ranks go to the CPU backend, which raises its errors.
#include <algorithm>

#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/data_kernels.h"
#include "core/host.h"

namespace oxmlx::cuda {

namespace {

bool gpu_conv_ok(const array& in, Dtype t) {
  return in.ndim() >= 3 && in.ndim() <= 2 + cu::kConvDims &&
         (t == float32 || t == float16 || t == bfloat16 || t == float64);
}

cu::ConvGeom make_geom(const array& in, const array& w, const array& out,
                       const std::vector<int>& stride, const std::vector<int>& lo,
                       const std::vector<int>& kdil, const std::vector<int>& idil, int groups,
                       bool flip) {
  cu::ConvGeom g{};
  const int nd = in.ndim() - 2, pad = cu::kConvDims - nd;
  g.N = in.shape(0);
  g.C = in.shape(-1);
  g.O = w.shape(0);
  g.G = groups;
  g.Cg = w.shape(-1);
  g.Og = g.O / groups;
  g.flip = flip;
  g.osize = 1;
  g.ksize = 1;
  for (int d = 0; d < cu::kConvDims; ++d) {
    const int s = d - pad;
    g.in_sp[d] = s >= 0 ? in.shape(1 + s) : 1;
    g.w_sp[d] = s >= 0 ? w.shape(1 + s) : 1;
    g.out_sp[d] = s >= 0 ? out.shape(1 + s) : 1;
    g.stride[d] = s >= 0 ? stride[s] : 1;
    g.kdil[d] = s >= 0 ? kdil[s] : 1;
    g.idil[d] = s >= 0 ? idil[s] : 1;
    g.lo[d] = s >= 0 ? lo[s] : 0;
    g.osize *= g.out_sp[d];
    g.ksize *= g.w_sp[d];
  }
  return g;
}

bool pointwise(const cu::ConvGeom& g) {
  if (g.ksize != 1) return false;
  for (int d = 0; d < cu::kConvDims; ++d)
    if (g.out_sp[d] != g.in_sp[d] || g.lo[d] != 0 ||
        (g.out_sp[d] > 1 && (g.stride[d] != 1 || g.idil[d] != 1)))
      return false;
  return true;
}

// Rows of patches per chunk: at most ~256 MiB of them.
int64_t chunk_rows(int64_t M, int64_t row_elems, int64_t isz) {
  const int64_t row_bytes = std::max<int64_t>(row_elems * isz, 1);
  return std::clamp<int64_t>((int64_t(256) << 20) / row_bytes, 1, std::max<int64_t>(M, 1));
}

char* at(void* p, int64_t elems, int64_t isz) { return static_cast<char*>(p) + elems * isz; }

}  // namespace

void CudaBackend::conv(const array& in_h, const array& w_h, array& out,
                       const std::vector<int>& stride, const std::vector<int>& pad_lo,
                       const std::vector<int>& pad_hi, const std::vector<int>& kernel_dilation,
                       const std::vector<int>& input_dilation, int groups, bool flip) {
  const Dtype t = out.dtype();
  if (!gpu_conv_ok(in_h, t) || in_h.dtype() != t || w_h.dtype() != t) {
    array r = fresh_like(out);
    cpu_backend().conv(host_array(in_h), host_array(w_h), r, stride, pad_lo, pad_hi,
                       kernel_dilation, input_dilation, groups, flip);
    adopt(r, out);
    return;
  }
  alloc_out(out);
  if (out.size() == 0) return;
  if (in_h.size() == 0 || w_h.size() == 0) {
    check(cudaMemsetAsync(out.raw_ptr(), 0, out.nbytes(), stream_), "cudaMemset");
    return;
  }
  array x = contiguous(in_h), w = contiguous(w_h);
  const cu::ConvGeom g =
      make_geom(x, w, out, stride, pad_lo, kernel_dilation, input_dilation, groups, flip);
  const int64_t isz = int64_t(t.size), M = g.N * g.osize, Kg = g.ksize * g.Cg;
  if (pointwise(g)) {
    // out[:, grp] (M x Og) = x[:, grp] (M x Cg) @ w[grp]^T.
    gemm(t, false, true, M, g.Og, g.Cg, x.raw_ptr(), g.C, g.Cg, w.raw_ptr(), g.Cg, g.Og * g.Cg,
         out.raw_ptr(), g.O, g.Og, g.G, false);
    return;
  }
  const int64_t rows = chunk_rows(M, g.G * Kg, isz);
  auto col = allocate(size_t(rows * g.G * Kg * isz));
  for (int64_t m0 = 0; m0 < M; m0 += rows) {
    const int64_t r = std::min(rows, M - m0);
    cu::im2col(x.raw_ptr(), dt(x), g, -1, m0, r, col->ptr, dt(x), stream_);
    launched();
    gemm(t, false, true, r, g.Og, Kg, col->ptr, g.G * Kg, Kg, w.raw_ptr(), Kg, g.Og * Kg,
         at(out.raw_ptr(), m0 * g.O, isz), g.O, g.Og, g.G, false);
  }
}

void CudaBackend::conv_weight_grad(const array& in_h, const array& cot_h, array& out,
                                   const std::vector<int>& stride, const std::vector<int>& pad_lo,
                                   const std::vector<int>& pad_hi,
                                   const std::vector<int>& kernel_dilation,
                                   const std::vector<int>& input_dilation, int groups, bool flip) {
  const Dtype t = out.dtype();
  if (!gpu_conv_ok(in_h, t) || in_h.dtype() != t || cot_h.dtype() != t) {
    array r = fresh_like(out);
    cpu_backend().conv_weight_grad(host_array(in_h), host_array(cot_h), r, stride, pad_lo,
                                   pad_hi, kernel_dilation, input_dilation, groups, flip);
    adopt(r, out);
    return;
  }
  alloc_out(out);
  if (out.size() == 0) return;
  const Dtype work = t == float64 ? float64 : float32;
  const int64_t wsz = int64_t(work.size);
  array acc = out;
  if (work != t) {
    acc = array(std::make_shared<ArrayDesc>(out.shape(), work));
    alloc_out(acc);
  }
  if (in_h.size() == 0 || cot_h.size() == 0) {
    check(cudaMemsetAsync(out.raw_ptr(), 0, out.nbytes(), stream_), "cudaMemset");
    return;
  }
  array x = contiguous(in_h);
  array c = cot_h;
  if (cot_h.dtype() != work || !(on_device(cot_h) && cot_h.flags().row_contiguous &&
                                 cot_h.data_size() == cot_h.size())) {
    c = array(std::make_shared<ArrayDesc>(cot_h.shape(), work));
    copy(cot_h, c);
    c.set_status(Status::available);
  }
  const cu::ConvGeom g =
      make_geom(x, out, c, stride, pad_lo, kernel_dilation, input_dilation, groups, flip);
  const int64_t M = g.N * g.osize, Kg = g.ksize * g.Cg;
  const int64_t rows = chunk_rows(M, g.G * Kg, wsz);
  auto col = allocate(size_t(rows * g.G * Kg * wsz));
  for (int64_t m0 = 0; m0 < M; m0 += rows) {
    const int64_t r = std::min(rows, M - m0);
    cu::im2col(x.raw_ptr(), dt(x), g, -1, m0, r, col->ptr, int(work.val), stream_);
    launched();
    // dw[grp] (Og x Kg) (+)= cot[rows, grp]^T (Og x r) @ patches[rows, grp] (r x Kg).
    gemm(work, true, false, g.Og, Kg, r, at(c.raw_ptr(), m0 * g.O, wsz), g.O, g.Og, col->ptr,
         g.G * Kg, Kg, acc.raw_ptr(), Kg, g.Og * Kg, g.G, m0 > 0);
  }
  if (work != t) {
    acc.set_status(Status::available);
    copy(acc, out);
  }
}

}  // namespace oxmlx::cuda
