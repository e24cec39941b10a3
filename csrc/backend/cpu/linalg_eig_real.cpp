// eig of real matrices: Householder reduction to upper Hessenberg form and
// Francis double-shift QR to real Schur form (1x1 and 2x2 diagonal blocks),
// all in real arithmetic. Real eigenvalues come out exactly real and complex
// ones as exact conjugate pairs (positive imaginary part first). For the
// eigenvectors each 2x2 block is triangularized by a unitary 2x2 rotation,
// which gives a complex triangular Schur form for schur_vectors.
#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <vector>

#include "backend/cpu/linalg.h"

namespace oxmlx::cpu::la {

namespace {

// Applies P = I - tau v v^T (v of length nr <= 3) to rows r0.. of h
// (columns c0..c1) from the left.
template <typename R>
void reflect_rows(R* h, int64_t n, int64_t r0, int nr, const R* v, R tau, int64_t c0, int64_t c1) {
  for (int64_t j = c0; j < c1; ++j) {
    R s = 0;
    for (int i = 0; i < nr; ++i) s += v[i] * h[(r0 + i) * n + j];
    s *= tau;
    for (int i = 0; i < nr; ++i) h[(r0 + i) * n + j] -= s * v[i];
  }
}
// ... and to columns c0.. (rows r0..r1) from the right.
template <typename R>
void reflect_cols(R* h, int64_t n, int64_t c0, int nr, const R* v, R tau, int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; ++r) {
    R* hr = h + r * n + c0;
    R s = 0;
    for (int i = 0; i < nr; ++i) s += hr[i] * v[i];
    s *= tau;
    for (int i = 0; i < nr; ++i) hr[i] -= s * v[i];
  }
}

// Householder vector of x (length nr): P x = beta e1. Returns tau (0: P = I).
template <typename R>
R house(R* x, int nr, R* v) {
  // Scaled first: the bulge can be tiny near convergence and its squares
  // would underflow.
  R big = 0;
  for (int i = 0; i < nr; ++i) big = std::max(big, std::abs(x[i]));
  if (!(big > R(0))) return R(0);
  for (int i = 0; i < nr; ++i) x[i] /= big;
  R nrm = 0;
  for (int i = 0; i < nr; ++i) nrm += x[i] * x[i];
  nrm = std::sqrt(nrm);
  if (nrm == R(0)) return R(0);
  R beta = x[0] >= 0 ? -nrm : nrm;
  v[0] = x[0] - beta;
  for (int i = 1; i < nr; ++i) v[i] = x[i];
  R vv = 0;
  for (int i = 0; i < nr; ++i) vv += v[i] * v[i];
  return vv == R(0) ? R(0) : R(2) / vv;
}

}  // namespace

template <typename R>
int eig_real(R* h, int64_t n, std::complex<R>* w, std::complex<R>* vout) {
  using C = std::complex<R>;
  if (n == 0) return 0;
  const R eps = std::numeric_limits<R>::epsilon();
  bool want = vout != nullptr;
  R anorm = 0;
  for (int64_t i = 0; i < n * n; ++i) anorm = std::max(anorm, std::abs(h[i]));
  // zt = Z^T: the similarity's right-hand updates of Z become updates of
  // whole (contiguous) rows of zt.
  std::vector<R> zt(want ? size_t(n * n) : 0), x(static_cast<size_t>(n)), v(static_cast<size_t>(n));
  if (want)
    for (int64_t i = 0; i < n; ++i) zt[size_t(i * n + i)] = R(1);
  // Hessenberg reduction (accumulated directly into z from the right).
  for (int64_t k = 0; k + 2 < n; ++k) {
    int64_t len = n - k - 1;
    R sc = 0, rest = 0;
    for (int64_t i = 1; i < len; ++i) rest = std::max(rest, std::abs(h[(k + 1 + i) * n + k]));
    R alpha = h[(k + 1) * n + k];
    if (rest == R(0)) continue;
    sc = std::max(rest, std::abs(alpha));  // scaled: no underflow
    R nrm = 0;  // in units of sc: P = I - tau v v^T does not depend on v's scale
    for (int64_t i = 0; i < len; ++i) nrm += (h[(k + 1 + i) * n + k] / sc) * (h[(k + 1 + i) * n + k] / sc);
    nrm = std::sqrt(nrm);
    R by = alpha >= 0 ? -nrm : nrm;
    R beta = by * sc;
    v[0] = alpha / sc - by;
    for (int64_t i = 1; i < len; ++i) v[size_t(i)] = h[(k + 1 + i) * n + k] / sc;
    R vv = 0;
    for (int64_t i = 0; i < len; ++i) vv += v[size_t(i)] * v[size_t(i)];
    R tau = R(2) / vv;
    std::fill(x.begin(), x.end(), R(0));
    for (int64_t i = 0; i < len; ++i) {
      const R* hi = h + (k + 1 + i) * n;
      for (int64_t j = k; j < n; ++j) x[size_t(j)] += v[size_t(i)] * hi[j];
    }
    for (int64_t i = 0; i < len; ++i) {
      R f = tau * v[size_t(i)];
      R* hi = h + (k + 1 + i) * n;
      for (int64_t j = k; j < n; ++j) hi[j] -= f * x[size_t(j)];
    }
    auto right = [&](R* m) {
      for (int64_t r = 0; r < n; ++r) {
        R* mr = m + r * n + k + 1;
        R s = 0;
        for (int64_t j = 0; j < len; ++j) s += mr[j] * v[size_t(j)];
        s *= tau;
        for (int64_t j = 0; j < len; ++j) mr[j] -= s * v[size_t(j)];
      }
    };
    right(h);
    if (want) {  // zt <- P zt on rows k+1..
      std::fill(x.begin(), x.end(), R(0));
      for (int64_t i = 0; i < len; ++i) {
        const R* zi = zt.data() + (k + 1 + i) * n;
        for (int64_t j = 0; j < n; ++j) x[size_t(j)] += v[size_t(i)] * zi[j];
      }
      for (int64_t i = 0; i < len; ++i) {
        R f = tau * v[size_t(i)];
        R* zi = zt.data() + (k + 1 + i) * n;
        for (int64_t j = 0; j < n; ++j) zi[j] -= f * x[size_t(j)];
      }
    }
    h[(k + 1) * n + k] = beta;
    for (int64_t i = 1; i < len; ++i) h[(k + 1 + i) * n + k] = R(0);
  }

  int64_t hi = n - 1;
  int iter = 0, total = 0;
  while (hi >= 0) {
    int64_t l = hi;
    for (; l > 0; --l) {
      R s = std::abs(h[(l - 1) * n + l - 1]) + std::abs(h[l * n + l]);
      if (s == R(0)) s = anorm;
      // Relative to the neighbouring diagonal (accurate for graded
      // matrices); when an eigenvalue is slow to converge, relative to the
      // whole matrix (still backward stable) so rounding noise cannot stall.
      R thr = eps * (iter >= 20 ? std::max(s, anorm) : s);
      if (std::abs(h[l * n + l - 1]) <= std::max(thr, eps * eps * anorm)) {
        h[l * n + l - 1] = R(0);
        break;
      }
    }
    int64_t col_end = want ? n : hi + 1, row_begin = want ? 0 : l;
    if (l == hi) {  // 1x1 block
      w[hi] = C(h[hi * n + hi], 0);
      --hi;
      iter = 0;
      continue;
    }
    if (l == hi - 1) {  // 2x2 block
      int64_t p = hi - 1;
      R a = h[p * n + p], b = h[p * n + hi], c = h[hi * n + p], d = h[hi * n + hi];
      R half = (a - d) / 2, disc = half * half + b * c;
      if (disc >= 0) {
        // Real pair: rotate the block to upper triangular form.
        R sq = std::sqrt(disc);
        R l1 = (a + d) / 2 + (half >= 0 ? sq : -sq);
        R u0 = b, u1 = l1 - a;
        if (std::abs(l1 - d) + std::abs(c) > std::abs(u0) + std::abs(u1)) u0 = l1 - d, u1 = c;
        R nu = std::hypot(u0, u1);
        if (nu > R(0)) {
          u0 /= nu;
          u1 /= nu;
          for (int64_t j = p; j < col_end; ++j) {
            R s0 = h[p * n + j], s1 = h[hi * n + j];
            h[p * n + j] = u0 * s0 + u1 * s1;
            h[hi * n + j] = -u1 * s0 + u0 * s1;
          }
          auto rot_cols = [&](R* m, int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
              R s0 = m[r * n + p], s1 = m[r * n + hi];
              m[r * n + p] = u0 * s0 + u1 * s1;
              m[r * n + hi] = -u1 * s0 + u0 * s1;
            }
          };
          rot_cols(h, row_begin, hi + 1);
          if (want)
            for (int64_t j = 0; j < n; ++j) {
              R s0 = zt[size_t(p * n + j)], s1 = zt[size_t(hi * n + j)];
              zt[size_t(p * n + j)] = u0 * s0 + u1 * s1;
              zt[size_t(hi * n + j)] = -u1 * s0 + u0 * s1;
            }
          h[hi * n + p] = R(0);
        }
        w[p] = C(h[p * n + p], 0);
        w[hi] = C(h[hi * n + hi], 0);
      } else {
        R re = (a + d) / 2, im = std::sqrt(-disc);
        w[p] = C(re, im);
        w[hi] = C(re, -im);
      }
      hi -= 2;
      iter = 0;
      continue;
    }
    if (++total > 100 * n) return 1;
    ++iter;
    // Double shift from the trailing 2x2 (exceptional shifts when stuck).
    R s, t;
    if (iter % 11 == 10) {
      R e = std::abs(h[hi * n + hi - 1]) + std::abs(h[(hi - 1) * n + hi - 2]);
      s = R(1.5) * e;
      t = e * e;
    } else {
      s = h[(hi - 1) * n + hi - 1] + h[hi * n + hi];
      t = h[(hi - 1) * n + hi - 1] * h[hi * n + hi] - h[(hi - 1) * n + hi] * h[hi * n + hi - 1];
    }
    R xv[3], vv[3];
    for (int64_t k = l; k < hi; ++k) {
      int nr = k + 2 <= hi ? 3 : 2;
      if (k == l) {
        R h00 = h[l * n + l], h10 = h[(l + 1) * n + l];
        xv[0] = h00 * h00 + h[l * n + l + 1] * h10 - s * h00 + t;
        xv[1] = h10 * (h00 + h[(l + 1) * n + l + 1] - s);
        xv[2] = h10 * h[(l + 2) * n + l + 1];
      } else {
        xv[0] = h[k * n + k - 1];
        xv[1] = h[(k + 1) * n + k - 1];
        xv[2] = nr == 3 ? h[(k + 2) * n + k - 1] : R(0);
      }
      R tau = house(xv, nr, vv);
      if (tau == R(0)) continue;
      reflect_rows(h, n, k, nr, vv, tau, k > l ? k - 1 : l, col_end);
      reflect_cols(h, n, k, nr, vv, tau, row_begin, std::min(k + 3, hi) + 1);
      if (want) reflect_rows(zt.data(), n, k, nr, vv, tau, int64_t(0), n);
      if (k > l) {
        h[(k + 1) * n + k - 1] = R(0);
        if (nr == 3) h[(k + 2) * n + k - 1] = R(0);
      }
    }
  }
  if (!want) return 0;

  // Complex triangular Schur form: rotate each complex 2x2 block.
  std::vector<C> tc(size_t(n * n)), zc(size_t(n * n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      tc[size_t(i * n + j)] = C(h[i * n + j], 0);
      zc[size_t(i * n + j)] = C(zt[size_t(j * n + i)], 0);
    }
  for (int64_t i = 0; i + 1 < n; ++i) {
    if (h[(i + 1) * n + i] == R(0)) continue;
    C a = tc[size_t(i * n + i)], b = tc[size_t(i * n + i + 1)];
    C lam = w[i];
    C x0 = b, x1 = lam - a;
    R nx = std::sqrt(std::norm(x0) + std::norm(x1));
    x0 /= nx;
    x1 /= nx;
    for (int64_t j = 0; j < n; ++j) {
      C r0 = tc[size_t(i * n + j)], r1 = tc[size_t((i + 1) * n + j)];
      tc[size_t(i * n + j)] = std::conj(x0) * r0 + std::conj(x1) * r1;
      tc[size_t((i + 1) * n + j)] = -x1 * r0 + x0 * r1;
    }
    auto cols = [&](std::vector<C>& m) {
      for (int64_t r = 0; r < n; ++r) {
        C c0 = m[size_t(r * n + i)], c1 = m[size_t(r * n + i + 1)];
        m[size_t(r * n + i)] = x0 * c0 + x1 * c1;
        m[size_t(r * n + i + 1)] = -std::conj(x1) * c0 + std::conj(x0) * c1;
      }
    };
    cols(tc);
    cols(zc);
    tc[size_t((i + 1) * n + i)] = C(0);
    tc[size_t(i * n + i)] = w[i];
    tc[size_t((i + 1) * n + i + 1)] = w[i + 1];
    ++i;
  }
  schur_vectors<R>(tc.data(), zc.data(), n, vout);
  return 0;
}

template int eig_real<float>(float*, int64_t, std::complex<float>*, std::complex<float>*);
template int eig_real<double>(double*, int64_t, std::complex<double>*, std::complex<double>*);

}  // namespace oxmlx::cpu::la
