// Eigen-decompositions of the linalg family.
//  * eigh: Householder reduction to real symmetric tridiagonal form (complex
//    Hermitian input too), then implicit QL with Wilkinson shifts; the
//    rotations act on rows of V^T, so every update is a contiguous row.
//  * eig: Householder reduction to upper Hessenberg form, then complex
//    single-shift QR (Wilkinson shifts, exceptional shifts when stuck) to a
//    triangular Schur form T = Z^H A Z; eigenvectors by back-substitution in
//    T, mapped back with Z and normalized.
#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <numeric>
#include <vector>

#include "backend/cpu/linalg.h"

namespace oxmlx::cpu::la {

namespace {

// Reflector P = I - sigma v v^H (v[0] = 1) with P x = beta e1, beta real,
// for x the column k of the n x n a below the diagonal (rows k+1..): v is
// written to v (n - k - 1 entries); returns sigma (0 when x is already
// beta e1: x[1:] zero and x[0] real) and beta.
template <typename S>
S column_reflector(const S* a, int64_t n, int64_t k, S* v, typename Real<S>::type& beta) {
  using R = typename Real<S>::type;
  for (int64_t i = 0; i + k + 1 < n; ++i) v[i] = a[(k + 1 + i) * n + k];
  return householder(v, n - k - 1, beta, [](S alpha) { return im(alpha) == R(0); });
}

}  // namespace

// Implicit QL with Wilkinson shifts on the symmetric tridiagonal (d, e),
// e[i] coupling d[i] and d[i + 1] (e[n - 1] = 0); the rotations are applied
// to rows i, i + 1 of `rows` (n x n) when non-null.
template <typename R, typename S>
int tridiag_ql(R* d, R* e, int64_t n, S* rows) {
  R tnorm = 0;
  for (int64_t i = 0; i < n; ++i) tnorm = std::max(tnorm, std::abs(d[i]) + std::abs(e[i]));
  const R eps = std::numeric_limits<R>::epsilon();
  for (int64_t l = 0; l < n; ++l) {
    int iter = 0;
    int64_t m;
    do {
      for (m = l; m < n - 1; ++m) {
        // Negligible next to its neighbours or to the whole matrix (EISPACK's
        // test; a purely relative one can stall on rounding noise).
        R dd = std::abs(d[m]) + std::abs(d[m + 1]);
        if (std::abs(e[m]) <= eps * std::max(dd, tnorm)) break;
      }
      if (m == l) break;
      if (++iter > 60) return 1;
      R g = (d[l + 1] - d[l]) / (R(2) * e[l]);
      R r = std::hypot(g, R(1));
      g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r));
      R s = 1, c = 1, pp = 0;
      int64_t i;
      bool early = false;
      for (i = m - 1; i >= l; --i) {
        R f = s * e[i], b = c * e[i];
        r = std::hypot(f, g);
        e[i + 1] = r;
        if (r == R(0)) {
          d[i + 1] -= pp;
          e[m] = 0;
          early = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - pp;
        r = (d[i] - g) * s + R(2) * c * b;
        pp = s * r;
        d[i + 1] = g + pp;
        g = c * r - b;
        if (rows) {
          S* ri = rows + i * n;
          S* rj = rows + (i + 1) * n;
          for (int64_t k = 0; k < n; ++k) {
            S fi = rj[k];
            rj[k] = s * ri[k] + c * fi;
            ri[k] = c * ri[k] - s * fi;
          }
        }
      }
      if (early) continue;
      d[l] -= pp;
      e[l] = g;
      e[m] = 0;
    } while (true);
  }
  return 0;
}

namespace {

// ---- eigh -----------------------------------------------------------------

template <typename S>
int eigh_impl(S* a, int64_t n, typename Real<S>::type* w, bool vectors) {
  using R = typename Real<S>::type;
  if (n == 0) return 0;
  // Full Hermitian matrix from the lower triangle.
  for (int64_t i = 0; i < n; ++i) {
    a[i * n + i] = S(re(a[i * n + i]));
    for (int64_t j = i + 1; j < n; ++j) a[i * n + j] = conj_(a[j * n + i]);
  }
  std::vector<R> d(static_cast<size_t>(n)), e(size_t(n), R(0));
  std::vector<S> vs(size_t(n * n), S(0)), sig(size_t(n), S(0)), p(static_cast<size_t>(n));
  // Tridiagonalize: A <- P_k A P_k^H on the trailing block.
  for (int64_t k = 0; k + 1 < n; ++k) {
    int64_t len = n - k - 1;
    S* v = vs.data() + k * n;
    R beta;
    S sg = column_reflector(a, n, k, v, beta);
    e[size_t(k)] = beta;
    sig[size_t(k)] = sg;
    if (sg == S(0)) continue;
    // p = A22 v, gamma = v^H p, w = conj(sg) p - |sg|^2 gamma / 2 v;
    // A22 -= w v^H + v w^H.
    S gamma = S(0);
    for (int64_t i = 0; i < len; ++i) {
      const S* ri = a + (k + 1 + i) * n + k + 1;
      S s = S(0);
      for (int64_t j = 0; j < len; ++j) s += ri[j] * v[j];
      p[size_t(i)] = s;
      gamma += conj_(v[i]) * s;
    }
    R g = re(gamma);
    S half = S(abs2(sg) * g / R(2));
    for (int64_t i = 0; i < len; ++i) p[size_t(i)] = conj_(sg) * p[size_t(i)] - half * v[i];
    for (int64_t i = 0; i < len; ++i) {
      S* ri = a + (k + 1 + i) * n + k + 1;
      S pi = p[size_t(i)], vi = v[i];
      for (int64_t j = 0; j < len; ++j) ri[j] -= pi * conj_(v[j]) + vi * conj_(p[size_t(j)]);
    }
  }
  for (int64_t i = 0; i < n; ++i) d[size_t(i)] = re(a[i * n + i]);
  e[size_t(n - 1)] = 0;

  // Vt = Q^T with Q = P_0^H ... P_{n-2}^H (so A = Q T Q^H).
  std::vector<S> q;
  if (vectors) {
    q.assign(size_t(n * n), S(0));
    for (int64_t i = 0; i < n; ++i) q[size_t(i * n + i)] = S(1);
    std::vector<S> row(static_cast<size_t>(n));
    for (int64_t k = n - 2; k >= 0; --k) {
      S t = conj_(sig[size_t(k)]);  // P_k^H = I - t v v^H
      if (t == S(0)) continue;
      reflect_left(q.data(), n, k + 1, n, k + 1, n, vs.data() + k * n, t, row.data());
    }
    // Transpose in place into a (a becomes Vt).
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) a[i * n + j] = q[size_t(j * n + i)];
  }

  if (tridiag_ql<R, S>(d.data(), e.data(), n, vectors ? a : nullptr)) return 1;
  // Ascending order; eigenvector j = row j of Vt -> column j of a.
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t(0));
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t x1, int64_t y1) { return d[size_t(x1)] < d[size_t(y1)]; });
  for (int64_t i = 0; i < n; ++i) w[i] = d[size_t(order[size_t(i)])];
  if (vectors) {
    std::vector<S> vt(a, a + n * n);
    for (int64_t r = 0; r < n; ++r)
      for (int64_t j = 0; j < n; ++j) a[r * n + j] = vt[size_t(order[size_t(j)] * n + r)];
  }
  return 0;
}

}  // namespace

template <typename R>
void schur_vectors(const std::complex<R>* h, const std::complex<R>* zp, int64_t n, std::complex<R>* vout) {
  using C = std::complex<R>;
  const R eps = std::numeric_limits<R>::epsilon();
  std::vector<C> row(static_cast<size_t>(n));
  // Eigenvectors of T by back-substitution: column k of X (upper triangular).
  R tnorm = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i; j < n; ++j) tnorm = std::max(tnorm, abs1(h[i * n + j]));
  R smin = std::max(eps * tnorm, std::numeric_limits<R>::min());
  std::vector<C> xs(size_t(n * n), C(0));  // row k = x for eigenvalue k
  for (int64_t k = 0; k < n; ++k) {
    C* xk = xs.data() + k * n;
    C lam = h[k * n + k];
    xk[k] = C(1);
    for (int64_t i = k - 1; i >= 0; --i) {
      const C* ti = h + i * n;
      C s = C(0);
      for (int64_t j = i + 1; j <= k; ++j) s += ti[j] * xk[j];
      C den = ti[i] - lam;
      if (abs1(den) < smin) den = C(smin, 0);
      xk[i] = -s / den;
      R big = abs1(xk[i]);
      if (big > R(1) / (eps * eps)) {  // rescale before it can overflow
        for (int64_t j = i; j <= k; ++j) xk[j] /= big;
      }
    }
  }
  // V[:, k] = Z x_k, normalized; the largest component is made real positive.
  for (int64_t k = 0; k < n; ++k) {
    const C* xk = xs.data() + k * n;
    R nrm = 0;
    int64_t big = 0;
    R bigv = -1;
    for (int64_t r = 0; r < n; ++r) {
      const C* zr = zp + r * n;
      C s = C(0);
      for (int64_t j = 0; j <= k; ++j) s += zr[j] * xk[j];
      row[size_t(r)] = s;
      R a2 = std::norm(s);
      nrm += a2;
      if (a2 > bigv * (1 + eps * 4)) bigv = a2, big = r;
    }
    nrm = std::sqrt(nrm);
    C ph = nrm > R(0) ? std::conj(row[size_t(big)]) / (std::abs(row[size_t(big)]) * nrm) : C(1);
    for (int64_t r = 0; r < n; ++r) {
      C val = row[size_t(r)] * ph;
      if (r == big) val = C(val.real(), 0);
      vout[r * n + k] = val;
    }
  }
}

namespace {

// ---- eig ------------------------------------------------------------------

template <typename R>
int eig_impl(std::complex<R>* h, int64_t n, std::complex<R>* w, std::complex<R>* vout,
             bool real_input) {
  using C = std::complex<R>;
  if (n == 0) return 0;
  const R eps = std::numeric_limits<R>::epsilon();
  R anorm = 0;
  for (int64_t i = 0; i < n * n; ++i) anorm = std::max(anorm, abs1(h[i]));
  bool want = vout != nullptr;
  // Hessenberg reduction H <- P H P^H, Z accumulates P_0^H ... P_{n-3}^H.
  std::vector<C> z(want ? size_t(n * n) : 0), row(static_cast<size_t>(n));
  if (want)
    for (int64_t i = 0; i < n; ++i) z[size_t(i * n + i)] = C(1);
  std::vector<C> vs(static_cast<size_t>(n * n)), sig(size_t(n), C(0));
  for (int64_t k = 0; k + 2 < n; ++k) {
    int64_t len = n - k - 1;
    C* v = vs.data() + k * n;
    R beta;
    C sg = column_reflector(h, n, k, v, beta);
    sig[size_t(k)] = sg;
    if (sg == C(0)) continue;
    // Left: rows k+1.., H -= sg v (v^H H); right: columns k+1..,
    // H -= conj(sg) (H v) v^H.
    reflect_left(h, n, k + 1, n, k, n, v, sg, row.data());
    reflect_right(h, n, 0, n, k + 1, n, v, std::conj(sg));
    for (int64_t i = 1; i < len; ++i) h[(k + 1 + i) * n + k] = C(0);
  }
  if (want) {
    for (int64_t k = n - 3; k >= 0; --k) {
      C t = std::conj(sig[size_t(k)]);
      if (t == C(0)) continue;
      reflect_left(z.data(), n, k + 1, n, k + 1, n, vs.data() + k * n, t, row.data());
    }
  }

  // From here z holds Z^T, so the rotations update contiguous rows.
  if (want)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = i + 1; j < n; ++j) std::swap(z[size_t(i * n + j)], z[size_t(j * n + i)]);
  // Shifted QR on the active window [lo, hi].
  std::vector<R> cs(static_cast<size_t>(n));
  std::vector<C> sn(static_cast<size_t>(n));
  int64_t hi = n - 1;
  int iter = 0, total = 0;
  while (hi > 0) {
    int64_t l = hi;
    for (; l > 0; --l) {
      R s = abs1(h[(l - 1) * n + l - 1]) + abs1(h[l * n + l]);
      if (s == R(0)) s = anorm;
      // Relative to the neighbouring diagonal (accurate for graded
      // matrices); when an eigenvalue is slow to converge, relative to the
      // whole matrix (still backward stable) so rounding noise cannot stall.
      R thr = eps * (iter >= 20 ? std::max(s, anorm) : s);
      if (abs1(h[l * n + l - 1]) <= std::max(thr, eps * eps * anorm)) {
        h[l * n + l - 1] = C(0);
        break;
      }
    }
    if (l == hi) {
      --hi;
      iter = 0;
      continue;
    }
    if (++total > 100 * n) return 1;
    ++iter;
    C mu;
    if (iter % 11 == 10) {
      // Exceptional shift.
      mu = h[hi * n + hi] + C(R(0.75) * std::abs(h[hi * n + hi - 1].real()) +
                                R(0.5) * std::abs(h[hi * n + hi - 1]), 0);
    } else {
      C a = h[(hi - 1) * n + hi - 1], b = h[(hi - 1) * n + hi], c = h[hi * n + hi - 1],
        d = h[hi * n + hi];
      C half = (a - d) / R(2);
      C disc = std::sqrt(half * half + b * c);
      C m1 = (a + d) / R(2) + disc, m2 = (a + d) / R(2) - disc;
      mu = std::abs(m1 - d) < std::abs(m2 - d) ? m1 : m2;
    }
    for (int64_t i = l; i <= hi; ++i) h[i * n + i] -= mu;
    // With vectors the whole Schur form is kept (full rows and columns);
    // eigenvalues alone need only the active window.
    int64_t col_end = want ? n : hi + 1, row_begin = want ? 0 : l;
    // Left rotations G_k on rows k, k+1.
    for (int64_t k = l; k < hi; ++k) {
      C xk = h[k * n + k], yk = h[(k + 1) * n + k];
      R ax = std::abs(xk), ay = std::abs(yk);
      R c;
      C s;
      if (ay == R(0)) {
        c = 1;
        s = C(0);
      } else if (ax == R(0)) {
        c = 0;
        s = std::conj(yk) / ay;
      } else {
        R rho = std::hypot(ax, ay);
        c = ax / rho;
        s = (xk / ax) * std::conj(yk) / rho;
      }
      cs[size_t(k)] = c;
      sn[size_t(k)] = s;
      C* rk = h + k * n;
      C* rk1 = h + (k + 1) * n;
      for (int64_t j = k; j < col_end; ++j) {
        C u = rk[j], t = rk1[j];
        rk[j] = c * u + s * t;
        rk1[j] = -std::conj(s) * u + c * t;
      }
      rk1[k] = C(0);
    }
    // Right rotations G_k^H on columns k, k+1 (rows 0..k+1), and on Z.
    for (int64_t k = l; k < hi; ++k) {
      R c = cs[size_t(k)];
      C s = sn[size_t(k)], cjs = std::conj(s);
      for (int64_t r = row_begin; r <= k + 1; ++r) {
        C u = h[r * n + k], t = h[r * n + k + 1];
        h[r * n + k] = c * u + cjs * t;
        h[r * n + k + 1] = -s * u + c * t;
      }
      if (want) {
        C* zk = z.data() + k * n;
        C* zk1 = zk + n;
        for (int64_t r = 0; r < n; ++r) {
          C u = zk[r], t = zk1[r];
          zk[r] = c * u + cjs * t;
          zk1[r] = -s * u + c * t;
        }
      }
    }
    for (int64_t i = l; i <= hi; ++i) h[i * n + i] += mu;
  }
  for (int64_t i = 0; i < n; ++i) {
    C ev = h[i * n + i];
    if (real_input && std::abs(ev.imag()) <= R(8) * R(n) * eps * std::max(anorm, std::abs(ev)))
      ev = C(ev.real(), 0);
    w[i] = ev;
  }
  if (!want) return 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) std::swap(z[size_t(i * n + j)], z[size_t(j * n + i)]);
  schur_vectors<R>(h, z.data(), n, vout);
  return 0;
}

}  // namespace

template <typename T>
int eigh(T* a, int64_t n, T* w, bool vectors) {
  return eigh_impl<T>(a, n, w, vectors);
}
template <typename T>
int eigh(std::complex<T>* a, int64_t n, T* w, bool vectors) {
  return eigh_impl<std::complex<T>>(a, n, w, vectors);
}
template <typename T>
int eig(std::complex<T>* a, int64_t n, std::complex<T>* w, std::complex<T>* v, bool real_input) {
  return eig_impl<T>(a, n, w, v, real_input);
}

template int eigh<float>(float*, int64_t, float*, bool);
template int eigh<double>(double*, int64_t, double*, bool);
template int eigh<float>(std::complex<float>*, int64_t, float*, bool);
template int tridiag_ql<float, float>(float*, float*, int64_t, float*);
template int tridiag_ql<double, double>(double*, double*, int64_t, double*);
template int tridiag_ql<float, std::complex<float>>(float*, float*, int64_t, std::complex<float>*);
template void schur_vectors<float>(const std::complex<float>*, const std::complex<float>*, int64_t,
                                   std::complex<float>*);
template void schur_vectors<double>(const std::complex<double>*, const std::complex<double>*, int64_t,
                                    std::complex<double>*);
template int eig<float>(std::complex<float>*, int64_t, std::complex<float>*, std::complex<float>*,
                        bool);
template int eig<double>(std::complex<double>*, int64_t, std::complex<double>*,
                         std::complex<double>*, bool);

}  // namespace oxmlx::cpu::la
