// Scaled dot-product attention on the CPU: flash-style tiling with an online
// softmax (FastOp::Sdpa), and its backward (FastOp::SdpaVjp), so the
// Tq x Tkv score matrix never exists.
//
// Forward: one task per (batch, query head, block of kQ queries). For each
// block of kK keys: S = scale * Q K^T (GEMM), mask, then per row the running
// maximum m and denominator l are updated, the accumulator O is rescaled by
// exp(m_old - m_new) and O += exp(S - m_new) V (GEMM). Grouped-query heads
// read the key/value head h / (Nq / Nkv). Scores and accumulators are float
// (double for float64); 16-bit inputs are widened once up front. With a
// second and third output the row maximum m and log(l) are kept for the
// backward (separately: m + log(l) would lose log(l) when m is the dtype's
// lowest value, in fully masked rows).
//
// Backward (given O, m, log l and dO): P = exp(S - m - log l) is recomputed
// tile by tile.
// Pass 1, one task per (batch, kv head, key block): dV += P^T dO and
// dK += scale dS^T Q over the group's heads and all query blocks, with
// dS = P (dO V^T - rowsum(dO O)). Pass 2, one task per (batch, head, query
// block): dQ += scale dS K. Each output tile has one owner: no atomics.
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

// Shapes, widened operands and the masking rule shared by both directions.
template <typename T>
struct Attn {
  using A = std::conditional_t<std::is_same_v<T, double>, double, float>;
  int64_t B, Nq, Tq, D, Nkv, Tkv, Dv, rep, causal_off;
  A scale, low_t;
  const FastParams& p;
  const array* mask = nullptr;
  array q, k, v, sk;
  const A *Q, *K, *V;
  std::vector<A> qb, kb, vb;

  Attn(const std::vector<array>& in, const FastParams& prm) : p(prm) {
    q = fast_row_major(in[0]);
    k = fast_row_major(in[1]);
    v = fast_row_major(in[2]);
    B = q.shape(0), Nq = q.shape(1), Tq = q.shape(2), D = q.shape(3);
    Nkv = k.shape(1), Tkv = k.shape(2), Dv = v.shape(3);
    rep = Nq / Nkv;
    causal_off = Tkv - Tq;  // row i sees keys j <= i + causal_off
    scale = A(p.scale);
    low_t = std::is_same_v<T, float16_t>    ? A(-65504.0f)
            : std::is_same_v<T, bfloat16_t> ? A(float(bfloat16_t::from_bits(0xff7f)))
                                            : std::numeric_limits<A>::lowest();
    int idx = 3;
    if (p.mask) mask = &in[idx++];
    if (p.has_sinks) sk = fast_row_major(in[idx++]);
    Q = widened<T, A>(q, qb);
    K = widened<T, A>(k, kb);
    V = widened<T, A>(v, vb);
  }

  // Keys at or past the returned index are masked for every row of the
  // query block [i0, i0 + bq) (Tkv when nothing can be skipped).
  int64_t key_end(int64_t i0, int64_t bq) const {
    if (p.causal && i0 + causal_off >= 0) return std::min(Tkv, i0 + bq + causal_off);
    return Tkv;
  }

  // X = 0 where a boolean or causal mask hides the score (those scores are
  // constants, so their gradient is zero even in fully masked rows).
  void zero_masked(int64_t b, int64_t h, int64_t i0, int64_t bq, int64_t j0, int64_t bk,
                   A* X) const {
    if (p.causal) {
      for (int64_t r = 0; r < bq; ++r) {
        int64_t first_masked = i0 + r + causal_off + 1 - j0;
        for (int64_t c = std::max<int64_t>(first_masked, 0); c < bk; ++c) X[r * bk + c] = A(0);
      }
    } else if (mask && p.mask == 1) {
      const auto& st = mask->strides();
      for (int64_t r = 0; r < bq; ++r) {
        const bool* mp = mask->data<bool>() + b * st[0] + h * st[1] + (i0 + r) * st[2] + j0 * st[3];
        for (int64_t c = 0; c < bk; ++c)
          if (!mp[c * st[3]]) X[r * bk + c] = A(0);
      }
    }
  }

  // S (bq x bk) = scale Q_i K_j^T, masked.
  void scores(int64_t b, int64_t h, int64_t i0, int64_t bq, int64_t j0, int64_t bk, A* S) const {
    const A* Qt = Q + ((b * Nq + h) * Tq + i0) * D;
    const A* Kt = K + ((b * Nkv + h / rep) * Tkv + j0) * D;
    gemm<A>(false, true, bq, bk, D, float(scale), Qt, D, Kt, D, 0.0f, S, bk);
    if (p.causal) {
      for (int64_t r = 0; r < bq; ++r) {
        int64_t first_masked = i0 + r + causal_off + 1 - j0;  // columns >= it are masked
        for (int64_t c = std::max<int64_t>(first_masked, 0); c < bk; ++c) S[r * bk + c] = low_t;
      }
    } else if (mask) {
      const auto& st = mask->strides();
      for (int64_t r = 0; r < bq; ++r) {
        int64_t base = b * st[0] + h * st[1] + (i0 + r) * st[2] + j0 * st[3];
        A* srow = S + r * bk;
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
  }
};

template <typename T>
void sdpa_forward(const std::vector<array>& in, std::vector<array>& outs, const FastParams& p) {
  Attn<T> at(in, p);
  using A = typename Attn<T>::A;
  const auto& f = fns_for<A, A>(fast_isa());  // scores are A
  const int64_t Nq = at.Nq, Tq = at.Tq, Dv = at.Dv;
  T* O = outs[0].data<T>();
  A* M = outs.size() > 2 ? outs[1].data<A>() : nullptr;
  A* LL = outs.size() > 2 ? outs[2].data<A>() : nullptr;
  const int64_t nqb = (Tq + kQ - 1) / kQ;
  parallel_for(at.B * Nq * nqb, 1, [&](int64_t t0, int64_t t1) {
    std::vector<A> S(kQ * kK), acc(kQ * Dv), m(kQ), l(kQ);
    for (int64_t task = t0; task < t1; ++task) {
      const int64_t b = task / (Nq * nqb), h = (task / nqb) % Nq, i0 = (task % nqb) * kQ;
      const int64_t bq = std::min(kQ, Tq - i0);
      const A* Vt = at.V + (b * at.Nkv + h / at.rep) * at.Tkv * Dv;
      const A m0 = p.has_sinks ? A(at.sk.template data<T>()[h]) : -std::numeric_limits<A>::infinity();
      for (int64_t r = 0; r < bq; ++r) {
        m[r] = m0;
        l[r] = p.has_sinks ? A(1) : A(0);
      }
      std::fill(acc.begin(), acc.begin() + bq * Dv, A(0));
      const int64_t j_end = at.key_end(i0, bq);
      for (int64_t j0 = 0; j0 < j_end; j0 += kK) {
        const int64_t bk = std::min(kK, at.Tkv - j0);
        at.scores(b, h, i0, bq, j0, bk, S.data());
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
        if (M) {
          M[(b * Nq + h) * Tq + i0 + r] = m[r];
          LL[(b * Nq + h) * Tq + i0 + r] = std::log(l[r]);
        }
      }
    }
  });
}

// in = {q, k, v, [mask], [sinks], o, m, log l, d_o}; outs = {dq, dk, dv}.
template <typename T>
void sdpa_backward(const std::vector<array>& in, std::vector<array>& outs, const FastParams& p) {
  Attn<T> at(in, p);
  using A = typename Attn<T>::A;
  const size_t n = in.size();
  const array o = fast_row_major(in[n - 4]), mrow = fast_row_major(in[n - 3]);
  const array lrow = fast_row_major(in[n - 2]);
  const array d_o = fast_row_major(in[n - 1]);
  std::vector<A> ob, gb;
  const A* Ov = widened<T, A>(o, ob);
  const A* G = widened<T, A>(d_o, gb);
  const A* Mr = mrow.data<A>();
  const A* LLr = lrow.data<A>();
  const int64_t B = at.B, Nq = at.Nq, Tq = at.Tq, D = at.D, Nkv = at.Nkv, Tkv = at.Tkv,
                Dv = at.Dv;
  // Drow = rowsum(dO * O)
  std::vector<A> Drow(B * Nq * Tq);
  parallel_for(B * Nq * Tq, 256, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      A s = 0;
      for (int64_t c = 0; c < Dv; ++c) s += G[r * Dv + c] * Ov[r * Dv + c];
      Drow[r] = s;
    }
  });
  // P = exp(S - L) and dS = P (dO V^T - Drow) for one tile; returns false
  // when the tile is wholly masked for a causal block (nothing to add).
  auto tile = [&](int64_t b, int64_t h, int64_t i0, int64_t bq, int64_t j0, int64_t bk, A* P,
                  A* dS) {
    if (j0 >= at.key_end(i0, bq)) return false;
    at.scores(b, h, i0, bq, j0, bk, P);
    const int64_t row0 = (b * Nq + h) * Tq + i0;
    for (int64_t r = 0; r < bq; ++r) {
      const A mr = Mr[row0 + r], lr = LLr[row0 + r];
      for (int64_t c = 0; c < bk; ++c) P[r * bk + c] = std::exp((P[r * bk + c] - mr) - lr);
    }
    const A* Gt = G + row0 * Dv;
    const A* Vt = at.V + ((b * Nkv + h / at.rep) * Tkv + j0) * Dv;
    gemm<A>(false, true, bq, bk, Dv, 1.0f, Gt, Dv, Vt, Dv, 0.0f, dS, bk);
    for (int64_t r = 0; r < bq; ++r) {
      const A dr = Drow[row0 + r];
      for (int64_t c = 0; c < bk; ++c) dS[r * bk + c] = P[r * bk + c] * (dS[r * bk + c] - dr);
    }
    at.zero_masked(b, h, i0, bq, j0, bk, dS);
    return true;
  };
  const float sc = float(at.scale);
  // Pass 1: dK, dV per key block.
  const int64_t nkb = (Tkv + kK - 1) / kK, nqb = (Tq + kQ - 1) / kQ;
  T* dK = outs[1].data<T>();
  T* dV = outs[2].data<T>();
  parallel_for(B * Nkv * nkb, 1, [&](int64_t t0, int64_t t1) {
    std::vector<A> P(kQ * kK), dS(kQ * kK), dk(kK * D), dv(kK * Dv);
    for (int64_t task = t0; task < t1; ++task) {
      const int64_t b = task / (Nkv * nkb), hk = (task / nkb) % Nkv, j0 = (task % nkb) * kK;
      const int64_t bk = std::min(kK, Tkv - j0);
      std::fill(dk.begin(), dk.end(), A(0));
      std::fill(dv.begin(), dv.end(), A(0));
      for (int64_t h = hk * at.rep; h < (hk + 1) * at.rep; ++h) {
        for (int64_t i0 = 0; i0 < Tq; i0 += kQ) {
          const int64_t bq = std::min(kQ, Tq - i0);
          if (!tile(b, h, i0, bq, j0, bk, P.data(), dS.data())) continue;
          const int64_t row0 = (b * Nq + h) * Tq + i0;
          gemm<A>(true, false, bk, Dv, bq, 1.0f, P.data(), bk, G + row0 * Dv, Dv, 1.0f, dv.data(), Dv);
          gemm<A>(true, false, bk, D, bq, sc, dS.data(), bk, at.Q + row0 * D, D, 1.0f, dk.data(), D);
        }
      }
      const int64_t base = (b * Nkv + hk) * Tkv + j0;
      for (int64_t i = 0; i < bk * D; ++i) dK[base * D + i] = T(dk[i]);
      for (int64_t i = 0; i < bk * Dv; ++i) dV[base * Dv + i] = T(dv[i]);
    }
  });
  // Pass 2: dQ per query block.
  T* dQ = outs[0].data<T>();
  parallel_for(B * Nq * nqb, 1, [&](int64_t t0, int64_t t1) {
    std::vector<A> P(kQ * kK), dS(kQ * kK), dq(kQ * D);
    for (int64_t task = t0; task < t1; ++task) {
      const int64_t b = task / (Nq * nqb), h = (task / nqb) % Nq, i0 = (task % nqb) * kQ;
      const int64_t bq = std::min(kQ, Tq - i0);
      std::fill(dq.begin(), dq.end(), A(0));
      for (int64_t j0 = 0; j0 < Tkv; j0 += kK) {
        const int64_t bk = std::min(kK, Tkv - j0);
        if (!tile(b, h, i0, bq, j0, bk, P.data(), dS.data())) break;
        const A* Kt = at.K + ((b * Nkv + h / at.rep) * Tkv + j0) * D;
        gemm<A>(false, false, bq, D, bk, sc, dS.data(), bk, Kt, D, 1.0f, dq.data(), D);
      }
      const int64_t base = ((b * Nq + h) * Tq + i0) * D;
      for (int64_t i = 0; i < bq * D; ++i) dQ[base + i] = T(dq[i]);
    }
  });
}

template <typename F>
void dispatch_attn(Dtype d, F&& f) {
  if (d == float32) f(float{});
  else if (d == float16) f(float16_t{});
  else if (d == bfloat16) f(bfloat16_t{});
  else if (d == float64) f(double{});
  else throw RuntimeError(msg("[scaled_dot_product_attention] unsupported dtype ", dtype_name(d), "."));
}

}  // namespace

void fast_sdpa(const std::vector<array>& in, std::vector<array>& outs, const FastParams& p) {
  for (auto& o : outs) alloc_row_major(o);
  if (outs[0].size() == 0) return;
  if (in[1].shape(2) == 0) {  // no keys: softmax over nothing, an empty sum of values
    std::memset(outs[0].data<char>(), 0, outs[0].nbytes());
    if (outs.size() > 2) {
      dispatch_attn(in[0].dtype(), [&](auto t) {
        using A = typename Attn<decltype(t)>::A;
        for (int k = 1; k < 3; ++k) {
          A* L = outs[k].data<A>();
          for (int64_t i = 0; i < outs[k].size(); ++i) L[i] = -std::numeric_limits<A>::infinity();
        }
      });
    }
    return;
  }
  dispatch_attn(in[0].dtype(), [&](auto t) { sdpa_forward<decltype(t)>(in, outs, p); });
}

void fast_sdpa_vjp(const std::vector<array>& in, std::vector<array>& outs, const FastParams& p) {
  for (auto& o : outs) alloc_row_major(o);
  for (auto& o : outs)
    if (o.size()) std::memset(o.data<char>(), 0, o.nbytes());
  if (in[0].size() == 0 || in[1].shape(2) == 0) return;
  dispatch_attn(in[0].dtype(), [&](auto t) { sdpa_backward<decltype(t)>(in, outs, p); });
}

}  // namespace oxmlx::cpu
