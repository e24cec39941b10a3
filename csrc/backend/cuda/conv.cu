// im2col of the channels-last convolution (the GEMMs are cuBLASLt's, in
// conv.cpp). Along each spatial dim, output position y and kernel tap k read
// the dilated, padded input at q = y * stride + k' * kernel_dilation - pad_lo
// (k' = K - 1 - k when flipped); q must be a multiple of input_dilation and
// q / input_dilation inside the input, else the tap reads zero (as the CPU
// backend, backend/cpu/conv.cpp).
#include "backend/cuda/device_util.cuh"

namespace oxmlx::cu {

namespace {

using namespace dev;

template <typename T, typename C>
__global__ void im2col_kernel(const T* in, ConvGeom g, int64_t grp0, int64_t ngrp, int64_t m0,
                              int64_t rows, C* col) {
  // col row r: [group][k0][k1][k2][c] for groups grp0 .. grp0 + ngrp.
  const int64_t Kg = g.ksize * g.Cg, row = ngrp * Kg;
  OXD_GRID_LOOP(e, rows * row) {
    const int64_t r = e / row;
    int64_t q = e - r * row;
    const int64_t gi = q / Kg;
    q -= gi * Kg;
    const int64_t c = q % g.Cg;
    int64_t kk = q / g.Cg;
    int64_t k[kConvDims];
    for (int d = kConvDims - 1; d >= 0; --d) {
      k[d] = kk % g.w_sp[d];
      kk /= g.w_sp[d];
    }
    int64_t m = m0 + r;
    int64_t y[kConvDims];
    for (int d = kConvDims - 1; d >= 0; --d) {
      y[d] = m % g.out_sp[d];
      m /= g.out_sp[d];
    }
    const int64_t n = m;
    bool ok = true;
    int64_t off = 0;
    for (int d = 0; d < kConvDims; ++d) {
      const int64_t kd = g.flip ? g.w_sp[d] - 1 - k[d] : k[d];
      const int64_t p = y[d] * g.stride[d] + kd * g.kdil[d] - g.lo[d];
      if (p < 0 || p % g.idil[d] != 0 || p / g.idil[d] >= g.in_sp[d]) {
        ok = false;
        break;
      }
      off = off * g.in_sp[d] + p / g.idil[d];
    }
    C v = C(0.0f);
    if (ok) {
      const T x = in[(n * (g.in_sp[0] * g.in_sp[1] * g.in_sp[2]) + off) * g.C +
                     (grp0 + gi) * g.Cg + c];
      if constexpr (cs::is_same_v<T, C>) v = x;
      else v = C(float(x));
    }
    col[e] = v;
  }
}

}  // namespace

void im2col(const void* in, int in_dt, const ConvGeom& g, int64_t grp, int64_t m0, int64_t rows,
            void* col, int col_dt, cudaStream_t s) {
  // grp < 0: all groups in one row.
  const int64_t grp0 = grp < 0 ? 0 : grp, ngrp = grp < 0 ? g.G : 1;
  const int64_t total = rows * ngrp * g.ksize * g.Cg;
  if (total <= 0) return;
  // run(T{}, C{}): input of type T into columns of type C.
  auto run = [&](auto in_tag, auto col_tag) {
    using T = decltype(in_tag);
    using C = decltype(col_tag);
    im2col_kernel<<<blocks_for(total), kThreads, 0, s>>>(static_cast<const T*>(in), g, grp0, ngrp,
                                                         m0, rows, static_cast<C*>(col));
  };
  switch (in_dt) {
    case F32: run(float{}, float{}); break;
    case F64: run(double{}, double{}); break;
    case F16: col_dt == F32 ? run(half_t{}, float{}) : run(half_t{}, half_t{}); break;
    case BF16: col_dt == F32 ? run(bf16_t{}, float{}) : run(bf16_t{}, bf16_t{}); break;
    default: break;
  }
}

}  // namespace oxmlx::cu
