// Gated delta rule recurrence (FastOp::GatedDelta) on the CPU. For every
// (batch, value head h) the state S (Dv x Dk) runs over the sequence:
//   S <- g_t * S                      (g per head, or per key dim)
//   S <- S + beta_t (v_t - S k_t) k_t^T
//   y_t = S q_t
// with q_t, k_t from key head h / (Hv / Hk). A masked step (mask false)
// leaves S unchanged and gives y_t = 0. Each state row is scaled, dotted,
// updated and dotted again in one pass while it sits in L1; heads run in
// parallel. The state (and the arithmetic) is float32, or float64 for
// float64 inputs; y is rounded to the input dtype.
#include <type_traits>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/threadpool.h"
#include "backend/fast.h"

namespace oxmlx::cpu {

array fast_row_major(const array& in);  // fast.cpp

namespace {

template <typename T, typename S>
void gdn_typed(const std::vector<array>& in, std::vector<array>& out) {
  const array q = fast_row_major(in[0]), k = fast_row_major(in[1]), v = fast_row_major(in[2]);
  const array g = fast_row_major(in[3]), beta = fast_row_major(in[4]);
  const array s0 = fast_row_major(in[5]);
  const array mk = in.size() > 6 ? fast_row_major(in[6]) : in[0];
  const bool has_mask = in.size() > 6;
  const int64_t B = q.shape(0), T_ = q.shape(1), Hk = q.shape(2), Dk = q.shape(3);
  const int64_t Hv = v.shape(2), Dv = v.shape(3), rep = Hv / Hk;
  const bool g_vec = g.ndim() == 4;
  array &y = out[0], &st = out[1];
  alloc_row_major(y);
  alloc_row_major(st);
  const T *qp = q.data<T>(), *kp = k.data<T>(), *vp = v.data<T>();
  const S *gp = g.data<S>(), *bp = beta.data<S>(), *s0p = s0.data<S>();
  const bool* mp = has_mask ? mk.data<bool>() : nullptr;
  T* yp = y.data<T>();
  S* sp = st.data<S>();
  parallel_for(B * Hv, 1, [&](int64_t w0, int64_t w1) {
    std::vector<S> kq(2 * Dk);
    for (int64_t w = w0; w < w1; ++w) {
      const int64_t b = w / Hv, h = w % Hv, hk = h / rep;
      S* Sm = sp + w * Dv * Dk;
      std::copy(s0p + w * Dv * Dk, s0p + (w + 1) * Dv * Dk, Sm);
      for (int64_t t = 0; t < T_; ++t) {
        const int64_t bt = b * T_ + t;
        T* yr = yp + (bt * Hv + h) * Dv;
        if (mp && !mp[bt]) {
          for (int64_t i = 0; i < Dv; ++i) yr[i] = T(0.0f);
          continue;
        }
        const T* kr = kp + (bt * Hk + hk) * Dk;
        const T* qr = qp + (bt * Hk + hk) * Dk;
        S* kk = kq.data();
        S* qq = kq.data() + Dk;
        for (int64_t j = 0; j < Dk; ++j) {
          kk[j] = S(kr[j]);
          qq[j] = S(qr[j]);
        }
        const T* vr = vp + (bt * Hv + h) * Dv;
        const S* gr = gp + (bt * Hv + h) * (g_vec ? Dk : 1);
        const S be = bp[bt * Hv + h];
        for (int64_t i = 0; i < Dv; ++i) {
          S* row = Sm + i * Dk;
          S kv = 0;
          if (g_vec) {
            for (int64_t j = 0; j < Dk; ++j) {
              row[j] *= gr[j];
              kv += row[j] * kk[j];
            }
          } else {
            const S gs = gr[0];
            for (int64_t j = 0; j < Dk; ++j) {
              row[j] *= gs;
              kv += row[j] * kk[j];
            }
          }
          const S d = be * (S(vr[i]) - kv);
          S o = 0;
          for (int64_t j = 0; j < Dk; ++j) {
            row[j] += d * kk[j];
            o += row[j] * qq[j];
          }
          yr[i] = T(o);
        }
      }
    }
  });
}

}  // namespace

void fast_gated_delta(const std::vector<array>& in, std::vector<array>& out, const FastParams&) {
  Dtype d = in[0].dtype();
  if (d == float32) gdn_typed<float, float>(in, out);
  else if (d == float16) gdn_typed<float16_t, float>(in, out);
  else if (d == bfloat16) gdn_typed<bfloat16_t, float>(in, out);
  else if (d == float64) gdn_typed<double, double>(in, out);
  else throw RuntimeError(msg("[gated_delta_update] unsupported dtype ", dtype_name(d), "."));
}

}  // namespace oxmlx::cpu
