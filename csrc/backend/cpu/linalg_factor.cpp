// Triangular factorizations and solves of the linalg family: LU with partial
// pivoting, Cholesky, triangular inverse/solve and Householder QR. Row-major
// throughout: every inner loop runs along a row (contiguous), and the
// factorizations work in panels of kBlock columns whose trailing updates are
// GEMM calls, so large matrices stay in cache.
#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/cpu/gemm.h"
#include "backend/cpu/linalg.h"

namespace oxmlx::cpu::la {

namespace {

constexpr int64_t kBlock = 64;

// c[i, j] -= sum_k a[i, k] b[k, j] (row-major with leading dims).
template <typename T>
void gemm_sub(int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb,
              T* c, int64_t ldc) {
  if (m == 0 || n == 0 || k == 0) return;
  gemm<T>(false, false, m, n, k, -1.0f, a, lda, b, ldb, 1.0f, c, ldc);
}

// One row of a substitution: bi[j] -= sum_{k0 <= k < k1} ti[k] b[k * ldb + j]
// for j < ncols, zero coefficients skipped.
template <typename T>
void sub_rows(T* bi, const T* ti, int64_t k0, int64_t k1, const T* b, int64_t ldb,
              int64_t ncols) {
  for (int64_t k = k0; k < k1; ++k) {
    T f = ti[k];
    if (f == T(0)) continue;
    const T* bk = b + k * ldb;
    for (int64_t j = 0; j < ncols; ++j) bi[j] -= f * bk[j];
  }
}

// Unblocked LU of the panel a[r0:m, c0:c1] (leading dim lda); the row swaps
// are applied to the whole rows of the panel only.
template <typename T>
int lu_panel(T* a, int64_t lda, int64_t m, int64_t c0, int64_t c1, int64_t* piv) {
  int info = 0;
  for (int64_t k = c0; k < c1 && k < m; ++k) {
    int64_t p = k;
    T best = std::abs(a[k * lda + k]);
    for (int64_t i = k + 1; i < m; ++i) {
      T v = std::abs(a[i * lda + k]);
      if (v > best) best = v, p = i;
    }
    piv[k] = p;
    if (p != k) std::swap_ranges(a + k * lda + c0, a + k * lda + c1, a + p * lda + c0);
    T d = a[k * lda + k];
    if (d == T(0)) {
      if (!info) info = int(k + 1);
      continue;
    }
    T inv = T(1) / d;
    const T* rk = a + k * lda;
    for (int64_t i = k + 1; i < m; ++i) {
      T* ri = a + i * lda;
      T f = ri[k] *= inv;
      if (f == T(0)) continue;
      for (int64_t j = k + 1; j < c1; ++j) ri[j] -= f * rk[j];
    }
  }
  return info;
}

}  // namespace

template <typename T>
int lu(T* a, int64_t m, int64_t n, int64_t* piv) {
  int64_t kmax = std::min(m, n);
  int info = 0;
  for (int64_t c0 = 0; c0 < kmax; c0 += kBlock) {
    int64_t c1 = std::min(c0 + kBlock, kmax);
    int pi = lu_panel(a, n, m, c0, c1, piv);
    if (pi && !info) info = pi;
    // Apply the panel's swaps to the columns left and right of it.
    for (int64_t k = c0; k < c1; ++k) {
      int64_t p = piv[k];
      if (p == k) continue;
      std::swap_ranges(a + k * n, a + k * n + c0, a + p * n);
      std::swap_ranges(a + k * n + c1, a + k * n + n, a + p * n + c1);
    }
    if (c1 >= n) continue;
    // U12 = L11^-1 A12 (unit lower), then A22 -= L21 U12.
    for (int64_t i = c0 + 1; i < c1; ++i) {
      T* ri = a + i * n;
      sub_rows(ri + c1, ri, c0, i, a + c1, n, n - c1);
    }
    if (c1 < m) gemm_sub<T>(m - c1, n - c1, c1 - c0, a + c1 * n + c0, n, a + c0 * n + c1, n,
                            a + c1 * n + c1, n);
  }
  return info;
}

template <typename T>
void lu_solve(const T* lu, const int64_t* piv, int64_t n, T* b, int64_t nrhs) {
  for (int64_t k = 0; k < n; ++k)
    if (piv[k] != k) std::swap_ranges(b + k * nrhs, b + (k + 1) * nrhs, b + piv[k] * nrhs);
  // L y = P b (unit lower), row by row.
  for (int64_t i = 1; i < n; ++i) sub_rows(b + i * nrhs, lu + i * n, 0, i, b, nrhs, nrhs);
  // U x = y.
  for (int64_t i = n - 1; i >= 0; --i) {
    T* bi = b + i * nrhs;
    const T* ui = lu + i * n;
    sub_rows(bi, ui, i + 1, n, b, nrhs, nrhs);
    T inv = T(1) / ui[i];
    for (int64_t j = 0; j < nrhs; ++j) bi[j] *= inv;
  }
}

template <typename T>
int cholesky(T* a, int64_t n) {
  // Left-looking by row panels: the rows [r0, r1) are first updated with all
  // earlier rows by one GEMM (A[r, r0:] -= L[r, :r0] L[r0:, :r0]^T), then
  // factored with row dot products (contiguous).
  int info = 0;
  for (int64_t r0 = 0; r0 < n && !info; r0 += kBlock) {
    int64_t r1 = std::min(r0 + kBlock, n);
    if (r0 > 0) {
      // Only the lower part of the block [r0:n, r0:r1) is needed.
      gemm<T>(false, true, n - r0, r1 - r0, r0, -1.0f, a + r0 * n, n, a + r0 * n, n, 1.0f,
              a + r0 * n + r0, n);
    }
    for (int64_t j = r0; j < r1; ++j) {
      T* rj = a + j * n;
      T d = rj[j];
      for (int64_t k = r0; k < j; ++k) d -= rj[k] * rj[k];
      if (!(d > T(0))) {
        rj[j] = d;
        info = int(j + 1);
        break;
      }
      T l = std::sqrt(d);
      rj[j] = l;
      T inv = T(1) / l;
      for (int64_t i = j + 1; i < n; ++i) {
        T* ri = a + i * n;
        T s = ri[j];
        for (int64_t k = r0; k < j; ++k) s -= ri[k] * rj[k];
        ri[j] = s * inv;
      }
    }
  }
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) a[i * n + j] = T(0);
  return info;
}

template <typename T>
int tri_inv_lower(T* a, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if (a[i * n + i] == T(0)) return int(i + 1);
    for (int64_t j = i + 1; j < n; ++j) a[i * n + j] = T(0);
  }
  // Row i of X = L^-1: X[i, :i] = -(L[i, :i] X[:i, :i]) / L[i, i]. Rows
  // below i still hold L, so each row is built in a scratch row.
  std::vector<T> row(size_t(n), T(0));
  for (int64_t i = 0; i < n; ++i) {
    T* ri = a + i * n;
    T dinv = T(1) / ri[i];
    std::fill(row.begin(), row.begin() + i, T(0));
    for (int64_t k = 0; k < i; ++k) {
      T f = ri[k];
      if (f == T(0)) continue;
      const T* xk = a + k * n;
      for (int64_t j = 0; j <= k; ++j) row[size_t(j)] += f * xk[j];
    }
    for (int64_t j = 0; j < i; ++j) ri[j] = -row[size_t(j)] * dinv;
    ri[i] = dinv;
  }
  return 0;
}

template <typename T>
int tri_solve_lower(const T* l, int64_t n, T* b, int64_t nrhs) {
  for (int64_t i = 0; i < n; ++i)
    if (l[i * n + i] == T(0)) return int(i + 1);
  for (int64_t i = 0; i < n; ++i) {
    T* bi = b + i * nrhs;
    const T* li = l + i * n;
    sub_rows(bi, li, 0, i, b, nrhs, nrhs);
    T inv = T(1) / li[i];
    for (int64_t j = 0; j < nrhs; ++j) bi[j] *= inv;
  }
  return 0;
}

template <typename T>
void qr(T* a, int64_t m, int64_t n, T* q, T* r) {
  int64_t k = std::min(m, n);
  std::vector<T> tau(size_t(k), T(0)), w(static_cast<size_t>(n));
  // Householder vectors v_j (v_j[j] = 1 implicit) are stored below the
  // diagonal of a, as LAPACK's geqrf does.
  for (int64_t j = 0; j < k; ++j) {
    T alpha = a[j * n + j];
    T rest = 0;  // largest magnitude below the diagonal
    for (int64_t i = j + 1; i < m; ++i) rest = std::max(rest, std::abs(a[i * n + j]));
    if (rest == T(0)) continue;  // H = I, R[j, j] = alpha
    // All in units of sc (the reflector is scale-free), so tiny or
    // subnormal columns still give an exactly consistent (orthogonal) H.
    T sc = std::max(rest, std::abs(alpha)), xn2 = 0;
    for (int64_t i = j + 1; i < m; ++i) xn2 += (a[i * n + j] / sc) * (a[i * n + j] / sc);
    T y0 = alpha / sc;
    T by = -std::copysign(std::sqrt(y0 * y0 + xn2), y0);
    T t = (by - y0) / by;
    T den = y0 - by;
    for (int64_t i = j + 1; i < m; ++i) a[i * n + j] = (a[i * n + j] / sc) / den;
    a[j * n + j] = by * sc;
    tau[size_t(j)] = t;
    // A[j:, j+1:] -= tau v (v^T A[j:, j+1:]).
    std::fill(w.begin() + j + 1, w.end(), T(0));
    for (int64_t i = j; i < m; ++i) {
      T vi = i == j ? T(1) : a[i * n + j];
      const T* ri = a + i * n;
      for (int64_t c = j + 1; c < n; ++c) w[size_t(c)] += vi * ri[c];
    }
    for (int64_t i = j; i < m; ++i) {
      T vi = (i == j ? T(1) : a[i * n + j]) * t;
      T* ri = a + i * n;
      for (int64_t c = j + 1; c < n; ++c) ri[c] -= vi * w[size_t(c)];
    }
  }
  for (int64_t i = 0; i < k; ++i)
    for (int64_t c = 0; c < n; ++c) r[i * n + c] = c >= i ? a[i * n + c] : T(0);
  // Q = H_0 ... H_{k-1} I[:, :k], applied from the last reflector back.
  for (int64_t i = 0; i < m; ++i)
    for (int64_t c = 0; c < k; ++c) q[i * k + c] = i == c ? T(1) : T(0);
  std::vector<T> wq(static_cast<size_t>(k));
  for (int64_t j = k - 1; j >= 0; --j) {
    T t = tau[size_t(j)];
    if (t == T(0)) continue;
    std::fill(wq.begin(), wq.end(), T(0));
    for (int64_t i = j; i < m; ++i) {
      T vi = i == j ? T(1) : a[i * n + j];
      const T* qi = q + i * k;
      for (int64_t c = j; c < k; ++c) wq[size_t(c)] += vi * qi[c];
    }
    for (int64_t i = j; i < m; ++i) {
      T vi = (i == j ? T(1) : a[i * n + j]) * t;
      T* qi = q + i * k;
      for (int64_t c = j; c < k; ++c) qi[c] -= vi * wq[size_t(c)];
    }
  }
}

#define OXMLX_LA_INST(T)                                                  \
  template int lu<T>(T*, int64_t, int64_t, int64_t*);                     \
  template void lu_solve<T>(const T*, const int64_t*, int64_t, T*, int64_t); \
  template int cholesky<T>(T*, int64_t);                                  \
  template int tri_inv_lower<T>(T*, int64_t);                             \
  template int tri_solve_lower<T>(const T*, int64_t, T*, int64_t);        \
  template void qr<T>(T*, int64_t, int64_t, T*, T*);
OXMLX_LA_INST(float)
OXMLX_LA_INST(double)
#undef OXMLX_LA_INST

}  // namespace oxmlx::cpu::la
