// SVD of the linalg family: one-sided (Hestenes) Jacobi. The columns of A
// are kept as contiguous rows of a work matrix G and rotated pairwise until
// they are mutually orthogonal (relative to their norms); their norms are
// the singular values, the normalized columns the left vectors and the
// accumulated rotations the right vectors. Real and complex scalars.
#include <algorithm>
#include <cmath>
#include <complex>
#include <functional>
#include <limits>
#include <numeric>
#include <vector>

#include "backend/cpu/linalg.h"

namespace oxmlx::cpu::la {

namespace {

// sum conj(x_i) y_i
template <typename S>
S dotc(const S* x, const S* y, int64_t n) {
  S s = S(0);
  for (int64_t i = 0; i < n; ++i) s += conj_(x[i]) * y[i];
  return s;
}

// Reflector P = I - sg v v^H with P x = beta e1 for x (length len, stride
// 1), computed in units of x's scale; v overwrites x (v[0] = 1). Returns sg
// (0 when x is already beta e1).
template <typename S>
S reflect_vec(S* x, int64_t len, typename Real<S>::type& beta) {
  S sg = householder(x, len, beta, [](S alpha) { return abs2(alpha) == re(alpha) * re(alpha); });
  x[0] = S(1);
  return sg;
}

// Fills the rows of b (p x p, row-major) not marked `good` with an
// orthonormal basis of the complement of the good (orthonormal) rows: the
// trailing columns of the full Q of a Householder QR of the good rows.
template <typename S>
void complete_basis(S* b, int64_t p, std::vector<bool>& good) {
  using R = typename Real<S>::type;
  std::vector<int64_t> have, miss;
  for (int64_t i = 0; i < p; ++i) (good[size_t(i)] ? have : miss).push_back(i);
  if (miss.empty()) return;
  int64_t r = int64_t(have.size()), c = p - r;
  // w = [good rows]^T (p x r), reduced to R by reflectors P_j.
  std::vector<S> w(static_cast<size_t>(p * std::max<int64_t>(r, 1))), vs(static_cast<size_t>(p * std::max<int64_t>(r, 1)));
  std::vector<S> sg(static_cast<size_t>(std::max<int64_t>(r, 1))), x(static_cast<size_t>(p)), acc(static_cast<size_t>(std::max(r, c)));
  for (int64_t i = 0; i < p; ++i)
    for (int64_t j = 0; j < r; ++j) w[size_t(i * r + j)] = b[have[size_t(j)] * p + i];
  for (int64_t j = 0; j < r; ++j) {
    int64_t len = p - j;
    for (int64_t i = 0; i < len; ++i) x[size_t(i)] = w[size_t((j + i) * r + j)];
    R beta;
    S t = reflect_vec(x.data(), len, beta);
    sg[size_t(j)] = t;
    for (int64_t i = 0; i < len; ++i) vs[size_t(j * p + i)] = x[size_t(i)];
    if (t != S(0)) reflect_left(w.data(), r, j, p, j + 1, r, x.data(), t, acc.data());
  }
  // Complement = P_0^H ... P_{r-1}^H [0; I] (p x c).
  std::vector<S> e(static_cast<size_t>(p * c), S(0));
  for (int64_t k = 0; k < c; ++k) e[size_t((r + k) * c + k)] = S(1);
  for (int64_t j = r - 1; j >= 0; --j) {
    S t = conj_(sg[size_t(j)]);  // P_j^H = I - conj(sg) v v^H
    if (t == S(0)) continue;
    reflect_left(e.data(), c, j, p, 0, c, vs.data() + j * p, t, acc.data());
  }
  for (int64_t k = 0; k < c; ++k) {
    int64_t slot = miss[size_t(k)];
    for (int64_t i = 0; i < p; ++i) b[slot * p + i] = e[size_t(i * c + k)];
    good[size_t(slot)] = true;
  }
}

// One-sided Jacobi on the q rows (length p, p >= q) of g. On return the rows
// are orthogonal; v (q x q, row i = column i of V) holds the rotations when
// non-null. Returns 1 without convergence.
template <typename S>
int jacobi(S* g, int64_t p, int64_t q, S* v) {
  using R = typename Real<S>::type;
  // Columns count as orthogonal below this relative inner product (a bound
  // that rounding in the rotations themselves can always reach).
  const R tol = R(4) * std::numeric_limits<R>::epsilon() * std::sqrt(R(std::max<int64_t>(p, 1)));
  if (v)
    for (int64_t i = 0; i < q; ++i)
      for (int64_t j = 0; j < q; ++j) v[i * q + j] = i == j ? S(1) : S(0);
  std::vector<R> nrm(static_cast<size_t>(q));
  for (int64_t i = 0; i < q; ++i) {
    R s = 0;
    for (int64_t k = 0; k < p; ++k) s += abs2(g[i * p + k]);
    nrm[size_t(i)] = s;
  }
  // Columns below rounding level of the whole matrix count as zero (rotating
  // noise against noise would never settle).
  R total = 0;
  for (R x : nrm) total += x;
  const R negligible = total * std::numeric_limits<R>::epsilon() * std::numeric_limits<R>::epsilon();
  for (int sweep = 0; sweep < 80; ++sweep) {
    bool rotated = false;
    if (sweep > 0)  // exact norms again each sweep (no drift of the updates)
      for (int64_t i = 0; i < q; ++i) {
        R t2 = 0;
        for (int64_t k = 0; k < p; ++k) t2 += abs2(g[i * p + k]);
        nrm[size_t(i)] = t2;
      }
    // Columns in decreasing norm (de Rijk's ordering: fewer sweeps).
    for (int64_t i = 0; i + 1 < q; ++i) {
      int64_t best = i;
      for (int64_t j = i + 1; j < q; ++j)
        if (nrm[size_t(j)] > nrm[size_t(best)]) best = j;
      if (best == i) continue;
      std::swap(nrm[size_t(i)], nrm[size_t(best)]);
      std::swap_ranges(g + i * p, g + (i + 1) * p, g + best * p);
      if (v) std::swap_ranges(v + i * q, v + (i + 1) * q, v + best * q);
    }
    for (int64_t i = 0; i < q - 1; ++i) {
      for (int64_t j = i + 1; j < q; ++j) {
        R a = nrm[size_t(i)], b = nrm[size_t(j)];
        if (a <= negligible || b <= negligible) continue;
        S* gi = g + i * p;
        S* gj = g + j * p;
        S gam = dotc(gi, gj, p);
        R ag = std::sqrt(abs2(gam));
        if (!(ag > tol * std::sqrt(a) * std::sqrt(b))) continue;
        rotated = true;
        R zeta = (b - a) / (R(2) * ag);
        R t = (zeta >= 0 ? R(1) : R(-1)) / (std::abs(zeta) + std::hypot(R(1), zeta));
        R c = R(1) / std::sqrt(R(1) + t * t), s = c * t;
        // New columns: i <- c g_i - s ph g_j, j <- s g_i + c ph g_j with
        // ph = conj(gam) / |gam| (a unitary 2x2 on the right).
        S ph = conj_(gam) / ag;
        for (int64_t k = 0; k < p; ++k) {
          S x = gi[k], y = ph * gj[k];
          gi[k] = c * x - s * y;
          gj[k] = s * x + c * y;
        }
        if (v) {
          S* vi = v + i * q;
          S* vj = v + j * q;
          for (int64_t k = 0; k < q; ++k) {
            S x = vi[k], y = ph * vj[k];
            vi[k] = c * x - s * y;
            vj[k] = s * x + c * y;
          }
        }
        // The rotation moves t |gam| of squared norm from i to j; when most
        // of column i cancels, its norm is recomputed instead.
        R na = a - t * ag;
        if (na < a * R(0.05)) {
          na = 0;
          for (int64_t k = 0; k < p; ++k) na += abs2(gi[k]);
        }
        nrm[size_t(i)] = na;
        nrm[size_t(j)] = b + t * ag;
      }
    }
    if (!rotated) return 0;
  }
  return 1;
}

// Singular values only: Householder bidiagonalization (p x q, p >= q) and
// the eigenvalues +-s of the 2q x 2q Golub-Kahan tridiagonal (zero diagonal,
// off-diagonals d0, e0, d1, e1, ...) by implicit QL: O(p q^2) instead of
// Jacobi sweeps. Entries enter by magnitude (a unitary diagonal scaling
// makes a complex bidiagonal real and nonnegative).
template <typename S>
int svd_values(std::vector<S>& w, int64_t p, int64_t q, typename Real<S>::type* s) {
  using R = typename Real<S>::type;
  std::vector<R> d(static_cast<size_t>(q), R(0)), e(static_cast<size_t>(q), R(0));
  std::vector<S> v(static_cast<size_t>(std::max(p, q))), acc(static_cast<size_t>(q));
  auto reflector = [&](int64_t len, R& beta) -> S {  // on v[0..len)
    return householder(v.data(), len, beta, [](S alpha) {
      return re(alpha) == std::abs(alpha) * (re(alpha) < 0 ? -1 : 1);
    });
  };
  for (int64_t k = 0; k < q; ++k) {
    // Left: column k, rows k..p-1.
    int64_t len = p - k;
    for (int64_t i = 0; i < len; ++i) v[size_t(i)] = w[size_t((k + i) * q + k)];
    R beta;
    S sg = reflector(len, beta);
    d[size_t(k)] = std::abs(beta);
    if (sg != S(0) && k + 1 < q) reflect_left(w.data(), q, k, p, k + 1, q, v.data(), sg, acc.data());
    if (k + 1 >= q) continue;
    // Right: row k, columns k+1..q-1 (reflect the conjugated row).
    int64_t rl = q - k - 1;
    for (int64_t j = 0; j < rl; ++j) v[size_t(j)] = conj_(w[size_t(k * q + k + 1 + j)]);
    sg = reflector(rl, beta);
    e[size_t(k)] = std::abs(beta);
    if (sg == S(0)) continue;
    reflect_right(w.data(), q, k + 1, p, k + 1, q, v.data(), conj_(sg));
  }
  int64_t n2 = 2 * q;
  std::vector<R> td(static_cast<size_t>(n2), R(0)), te(static_cast<size_t>(n2), R(0));
  for (int64_t i = 0; i < q; ++i) {
    te[size_t(2 * i)] = d[size_t(i)];
    if (i + 1 < q) te[size_t(2 * i + 1)] = e[size_t(i)];
  }
  te[size_t(n2 - 1)] = R(0);
  if (tridiag_ql<R, R>(td.data(), te.data(), n2, static_cast<R*>(nullptr))) return 1;
  std::sort(td.begin(), td.end(), std::greater<R>());
  for (int64_t i = 0; i < q; ++i) s[i] = std::abs(td[size_t(i)]);
  std::sort(s, s + q, std::greater<R>());
  return 0;
}

template <typename S>
int svd_impl(S* a, int64_t m, int64_t n, typename Real<S>::type* s, S* u, S* vt) {
  using R = typename Real<S>::type;
  if (m == 0 || n == 0) {  // no singular values; U and Vt are identities
    for (int64_t i = 0; u && i < m; ++i)
      for (int64_t j = 0; j < m; ++j) u[i * m + j] = i == j ? S(1) : S(0);
    for (int64_t i = 0; vt && i < n; ++i)
      for (int64_t j = 0; j < n; ++j) vt[i * n + j] = i == j ? S(1) : S(0);
    return 0;
  }
  bool tall = m >= n;
  int64_t p = tall ? m : n, q = tall ? n : m;
  // g rows: the columns of M = A (tall) or M = A^H (wide).
  std::vector<S> g(static_cast<size_t>(q * p));
  if (tall) {
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) g[size_t(j * p + i)] = a[i * n + j];
  } else {
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) g[size_t(i * p + j)] = conj_(a[i * n + j]);
  }
  bool want = u != nullptr;
  if (!want) {
    // g is M^T row-major (q x p); the bidiagonalization wants M (p x q).
    std::vector<S> mm(static_cast<size_t>(p * q));
    for (int64_t i = 0; i < q; ++i)
      for (int64_t k = 0; k < p; ++k) mm[size_t(k * q + i)] = g[size_t(i * p + k)];
    return svd_values(mm, p, q, s);
  }
  std::vector<S> v(want ? size_t(q * q) : 0);
  int info = jacobi(g.data(), p, q, want ? v.data() : nullptr);
  std::vector<R> sig(static_cast<size_t>(q));
  for (int64_t i = 0; i < q; ++i) {
    R t = 0;
    for (int64_t k = 0; k < p; ++k) t += abs2(g[size_t(i * p + k)]);
    sig[size_t(i)] = std::sqrt(t);
  }
  std::vector<int64_t> order(static_cast<size_t>(q));
  std::iota(order.begin(), order.end(), int64_t(0));
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t x, int64_t y) { return sig[size_t(x)] > sig[size_t(y)]; });
  for (int64_t i = 0; i < q; ++i) s[i] = sig[size_t(order[size_t(i)])];
  if (!want) return info;
  // Left vectors of M (p x p, stored as rows): normalized g rows, completed.
  std::vector<S> lb(size_t(p * p), S(0));
  std::vector<bool> good(size_t(p), false);
  // Left vectors of columns at rounding level (the bound jacobi skips them
  // below) are replaced by the completion.
  R fro2 = 0;
  for (R x : sig) fro2 += x * x;
  const R eps = std::numeric_limits<R>::epsilon();
  const R tiny = std::max(std::numeric_limits<R>::min() / eps, eps * std::sqrt(fro2));
  for (int64_t i = 0; i < q; ++i) {
    int64_t src = order[size_t(i)];
    R sg = sig[size_t(src)];
    if (!(sg > tiny)) continue;
    for (int64_t k = 0; k < p; ++k) lb[size_t(i * p + k)] = g[size_t(src * p + k)] / sg;
    good[size_t(i)] = true;
  }
  complete_basis(lb.data(), p, good);
  if (tall) {
    // A = U S V^H: U[:, i] = lb row i; Vt[i, :] = conj(v row order[i]).
    for (int64_t r = 0; r < m; ++r)
      for (int64_t i = 0; i < m; ++i) u[r * m + i] = lb[size_t(i * p + r)];
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < n; ++k) vt[i * n + k] = conj_(v[size_t(order[size_t(i)] * q + k)]);
  } else {
    // A^H = U' S V'^H, so U = V' and Vt = U'^H.
    for (int64_t r = 0; r < m; ++r)
      for (int64_t i = 0; i < m; ++i) u[r * m + i] = v[size_t(order[size_t(i)] * q + r)];
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < n; ++k) vt[i * n + k] = conj_(lb[size_t(i * p + k)]);
  }
  return info;
}

}  // namespace

template <typename T>
int svd(T* a, int64_t m, int64_t n, T* s, T* u, T* vt) {
  return svd_impl<T>(a, m, n, s, u, vt);
}
template <typename T>
int svd(std::complex<T>* a, int64_t m, int64_t n, T* s, std::complex<T>* u, std::complex<T>* vt) {
  return svd_impl<std::complex<T>>(a, m, n, s, u, vt);
}

template int svd<float>(float*, int64_t, int64_t, float*, float*, float*);
template int svd<double>(double*, int64_t, int64_t, double*, double*, double*);
template int svd<float>(std::complex<float>*, int64_t, int64_t, float*, std::complex<float>*,
                        std::complex<float>*);
template int svd<double>(std::complex<double>*, int64_t, int64_t, double*, std::complex<double>*,
                         std::complex<double>*);

}  // namespace oxmlx::cpu::la
