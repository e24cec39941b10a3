// Rotary position embedding (FastOp::Rope) on the CPU. x is (B, N, T, D)
// row-contiguous; position of row (b, n, t) is (t + offset[b]) * scale and
// pair j of the first `dims` features turns by position / freq_j, where
// freq_j = base^(2j / dims) or the given freqs. The angles, their cosines
// and sines are computed in float32 and rounded to x's dtype, and the
// products are rounded like the composition MLX defines (so float16 and
// bfloat16 results match it). One (b, t) per task: its cos/sin table is
// shared by the N heads.
#include <cmath>
#include <type_traits>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/fast_isa.h"
#include "backend/cpu/threadpool.h"
#include "backend/fast.h"

namespace oxmlx::cpu {

array fast_row_major(const array& in);  // fast.cpp

namespace {

template <typename T>
void rope_typed(const array& x, const array& offset, const array* freqs, array& out,
                const FastParams& p) {
  using A = std::conditional_t<std::is_same_v<T, double>, double, float>;
  auto rd = [](A v) { return A(T(v)); };  // rounding through T (identity for float/double)
  const int64_t B = x.shape(0), N = x.shape(1), T_ = x.shape(2), D = x.shape(3);
  const int half = p.dims / 2;
  std::vector<float> inv(half);
  if (freqs) {
    const float* f = freqs->data<float>();
    for (int j = 0; j < half; ++j) inv[j] = 1.0f / f[j];
  } else {
    float c = std::log(p.base) / float(half);
    for (int j = 0; j < half; ++j) inv[j] = std::exp(float(-j) * c);
  }
  const int32_t* off = offset.data<int32_t>();
  const bool per_batch = offset.size() > 1;
  const T* xp = x.data<T>();
  T* yp = out.data<T>();
  const bool fwd = p.forward, trad = p.traditional;
  parallel_for(B * T_, std::max<int64_t>(1, 4096 / std::max<int64_t>(N * D, 1)),
               [&](int64_t q0, int64_t q1) {
    std::vector<A> cs(2 * half), cc(half), ss(half);
    const auto& rows = fast_detail::fns_for<T, A>(fast_detail::fast_isa());
    for (int64_t q = q0; q < q1; ++q) {
      int64_t b = q / T_, t = q % T_;
      float pos = (float(t) + float(off[per_batch ? b : 0])) * p.scale;
      for (int j = 0; j < half; ++j) {
        float th = pos * inv[j];
        cc[j] = cs[2 * j] = A(T(std::cos(th)));
        ss[j] = cs[2 * j + 1] = A(T(std::sin(th)));
      }
      for (int64_t n = 0; n < N; ++n) {
        int64_t row = ((b * N + n) * T_ + t) * D;
        const T* xr = xp + row;
        T* yr = yp + row;
        if (!trad) {
          rows.rope_row(xr, yr, cc.data(), ss.data(), half, fwd);
          if (xr != yr)
            for (int64_t i = p.dims; i < D; ++i) yr[i] = xr[i];
          continue;
        }
        for (int j = 0; j < half; ++j) {
          int64_t i1 = trad ? 2 * j : j, i2 = trad ? 2 * j + 1 : j + half;
          A x1 = A(xr[i1]), x2 = A(xr[i2]), c = cs[2 * j], s = cs[2 * j + 1];
          A o1, o2;
          if (fwd) {
            o1 = rd(x1 * c) - rd(x2 * s);
            o2 = rd(x1 * s) + rd(x2 * c);
          } else {
            o1 = rd(x2 * s) + rd(x1 * c);
            o2 = rd(x2 * c) - rd(x1 * s);
          }
          yr[i1] = T(o1);
          yr[i2] = T(o2);
        }
        for (int64_t i = p.dims; i < D; ++i) yr[i] = xr[i];
      }
    }
  });
}

}  // namespace

void fast_rope(const std::vector<array>& in, array& out, const FastParams& p) {
  array x = fast_row_major(in[0]);
  array offset = fast_row_major(in[1]);
  array fq = in.size() > 2 ? fast_row_major(in[2]) : in[0];
  // The rotation reads each pair before writing it, so x's buffer may be reused.
  if (!try_donate(x, out)) alloc_row_major(out);
  if (x.size() == 0) return;
  const array* freqs = in.size() > 2 ? &fq : nullptr;
  Dtype d = x.dtype();
  if (d == float32) rope_typed<float>(x, offset, freqs, out, p);
  else if (d == float16) rope_typed<float16_t>(x, offset, freqs, out, p);
  else if (d == bfloat16) rope_typed<bfloat16_t>(x, offset, freqs, out, p);
  else if (d == float64) rope_typed<double>(x, offset, freqs, out, p);
  else throw RuntimeError(msg("[rope] unsupported dtype ", dtype_name(d), "."));
}

}  // namespace oxmlx::cpu
