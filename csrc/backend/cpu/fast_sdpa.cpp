// Scaled dot-product attention (FastOp::Sdpa) on the CPU: flash-style tiling
// with an online softmax, so the Tq x Tkv score matrix never exists.
//
// One task per (batch, query head, block of kQ queries). For each block of
// kK keys: S = scale * Q K^T (GEMM), mask, then per row the running maximum
// m and denominator l are updated, the accumulator O is rescaled by
// exp(m_old - m_new) and O += exp(S - m_new) V (GEMM). Grouped-query heads
// read the key/value head h / (Nq / Nkv). Scores and accumulators are float
// (double for float64); 16-bit inputs are widened once up front.
//
// Semantics follow MLX's definition: a boolean mask (and "causal") replaces
// masked scores by the dtype's lowest finite value, so a fully masked row
// averages V; an additive mask is added; sinks join each row's softmax as an
// extra logit whose value column is zero. Key blocks wholly above the causal
// diagonal are skipped (their weights are exactly 0) when every row of the
// query block has a visible key.
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/fast_isa.h"
#include "backend/cpu/gemm.h"
#include "backend/cpu/threadpool.h"
#include "backend/fast.h"

namespace oxmlx::cpu {

array fast_row_major(const array& in);  // fast.cpp

namespace {

using fast_detail::fast_isa;
using fast_detail::fns_for;

constexpr int64_t kQ = 64;
constexpr int64_t kK = 128;

// Widened copy of a row-contiguous array (or its own data when T == A).
template <typename T, typename A>
const A* widened(const array& a, std::vector<A>& buf) {
  if constexpr (std::is_same_v<T, A>) {
    return a.data<A>();
  } else {
    const T* p = a.data<T>();
    buf.resize(a.size());
    parallel_for(a.size(), 1 << 15, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) buf[i] = A(p[i]);
    });
    return buf.data();
  }
}

template <typename T>
void sdpa_typed(const std::vector<array>& in, array& out, const FastParams& p) {
  using A = std::conditional_t<std::is_same_v<T, double>, double, float>;
  const auto& f = fns_for<A, A>(fast_isa());  // scores are A
  const array q = fast_row_major(in[0]), k = fast_row_major(in[1]), v = fast_row_major(in[2]);
  const int64_t B = q.shape(0), Nq = q.shape(1), Tq = q.shape(2), D = q.shape(3);
  const int64_t Nkv = k.shape(1), Tkv = k.shape(2), Dv = v.shape(3);
  const int64_t rep = Nq / Nkv;
  const int64_t causal_off = Tkv - Tq;  // row i sees keys j <= i + causal_off
  const A lowest = A(std::numeric_limits<std::conditional_t<std::is_same_v<T, double>, double, float>>::lowest());
  const A low_t = std::is_same_v<T, float16_t> ? A(-65504.0f)
                  : std::is_same_v<T, bfloat16_t> ? A(float(bfloat16_t::from_bits(0xff7f)))
                                                  : lowest;
  int idx = 3;
  const array* mask = p.mask ? &in[idx++] : nullptr;
  const array sk = p.has_sinks ? fast_row_major(in[idx++]) : q;
  const array* sinks = p.has_sinks ? &sk : nullptr;

  std::vector<A> qb, kb, vb;
  const A* Q = widened<T, A>(q, qb);
  const A* K = widened<T, A>(k, kb);
  const A* V = widened<T, A>(v, vb);
  T* O = out.data<T>();
  const int64_t nqb = (Tq + kQ - 1) / kQ;
  const A scale = A(p.scale);

  parallel_for(B * Nq * nqb, 1, [&](int64_t t0, int64_t t1) {
    std::vector<A> S(kQ * kK), acc(kQ * Dv), m(kQ), l(kQ);
    for (int64_t task = t0; task < t1; ++task) {
      const int64_t b = task / (Nq * nqb), h = (task / nqb) % Nq, i0 = (task % nqb) * kQ;
      const int64_t bq = std::min(kQ, Tq - i0);
      const int64_t hk = h / rep;
      const A* Qt = Q + ((b * Nq + h) * Tq + i0) * D;
      const A* Kt = K + (b * Nkv + hk) * Tkv * D;
      const A* Vt = V + (b * Nkv + hk) * Tkv * Dv;
      const A m0 = sinks ? A(sinks->data<T>()[h]) : -std::numeric_limits<A>::infinity();
      for (int64_t r = 0; r < bq; ++r) {
        m[r] = m0;
        l[r] = sinks ? A(1) : A(0);
      }
      std::fill(acc.begin(), acc.begin() + bq * Dv, A(0));
      // Keys past j_end are masked for every row (causal, all rows see a key).
      int64_t j_end = Tkv;
      if (p.causal && i0 + causal_off >= 0) j_end = std::min(Tkv, i0 + bq + causal_off);
      for (int64_t j0 = 0; j0 < j_end; j0 += kK) {
        const int64_t bk = std::min(kK, Tkv - j0);
        gemm<A>(false, true, bq, bk, D, float(scale), Qt, D, Kt + j0 * D, D, 0.0f, S.data(), bk);
        if (p.causal) {
          for (int64_t r = 0; r < bq; ++r) {
            int64_t first_masked = i0 + r + causal_off + 1 - j0;  // columns >= it are masked
            for (int64_t c = std::max<int64_t>(first_masked, 0); c < bk; ++c) S[r * bk + c] = low_t;
          }
        } else if (mask) {
          const auto& st = mask->strides();
          for (int64_t r = 0; r < bq; ++r) {
            int64_t base = b * st[0] + h * st[1] + (i0 + r) * st[2] + j0 * st[3];
            A* srow = S.data() + r * bk;
            if (p.mask == 1) {
              const bool* mp = mask->data<bool>() + base;
              for (int64_t c = 0; c < bk; ++c)
                if (!mp[c * st[3]]) srow[c] = low_t;
            } else {
              const T* mp = mask->data<T>() + base;
              for (int64_t c = 0; c < bk; ++c) srow[c] += A(mp[c * st[3]]);
            }
          }
        }
        for (int64_t r = 0; r < bq; ++r) {
          A* srow = S.data() + r * bk;
          A mx = f.row_max(srow, bk);
          A mnew = std::max(m[r], mx);
          if (mx != mx) mnew = mx;  // NaN scores give NaN rows
          if (mnew == -std::numeric_limits<A>::infinity()) {
            // Everything so far is -inf (additive mask): no weight yet.
            std::fill(srow, srow + bk, A(0));
            continue;
          }
          A corr = std::exp(m[r] - mnew);
          l[r] = l[r] * corr + f.exp_sum(srow, srow, bk, mnew);
          m[r] = mnew;
          if (corr != A(1)) {
            A* orow = acc.data() + r * Dv;
            for (int64_t c = 0; c < Dv; ++c) orow[c] *= corr;
          }
        }
        gemm<A>(false, false, bq, Dv, bk, 1.0f, S.data(), bk, Vt + j0 * Dv, Dv, 1.0f, acc.data(), Dv);
      }
      T* Ot = O + ((b * Nq + h) * Tq + i0) * Dv;
      for (int64_t r = 0; r < bq; ++r) {
        A inv = A(1) / l[r];
        for (int64_t c = 0; c < Dv; ++c) Ot[r * Dv + c] = T(acc[r * Dv + c] * inv);
      }
    }
  });
}

}  // namespace

void fast_sdpa(const std::vector<array>& in, array& out, const FastParams& p) {
  alloc_row_major(out);
  if (out.size() == 0) return;
  if (in[1].shape(2) == 0) {  // no keys: softmax over nothing, an empty sum of values
    std::memset(out.data<char>(), 0, out.nbytes());
    return;
  }
  Dtype d = in[0].dtype();
  if (d == float32) sdpa_typed<float>(in, out, p);
  else if (d == float16) sdpa_typed<float16_t>(in, out, p);
  else if (d == bfloat16) sdpa_typed<bfloat16_t>(in, out, p);
  else if (d == float64) sdpa_typed<double>(in, out, p);
  else throw RuntimeError(msg("[scaled_dot_product_attention] unsupported dtype ", dtype_name(d), "."));
}

}  // namespace oxmlx::cpu
