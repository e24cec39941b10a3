// Single-matrix dense kernels of the linalg family (CPU). Every matrix is
// row-major with leading dimension == its column count; the driver in
// linalg.cpp copies each batch entry into such a work buffer and fans the
// batch out over the thread pool. T is float or double (complex64 work uses
// std::complex<T>). Kernels return 0 or a LAPACK-style info code.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>

namespace oxmlx::cpu::la {

// Scalar helpers of the kernel files, for S real (float, double) or
// std::complex<R>: Real<S>::type is R; conj_, re, im, abs2 (|x|^2) and, for
// complex x, abs1 (|re| + |im|).
template <typename S>
struct Real {
  using type = S;
};
template <typename R>
struct Real<std::complex<R>> {
  using type = R;
};
template <typename R>
R conj_(R x) { return x; }
template <typename R>
std::complex<R> conj_(std::complex<R> x) { return std::conj(x); }
template <typename R>
R re(R x) { return x; }
template <typename R>
R re(std::complex<R> x) { return x.real(); }
template <typename R>
R im(R) { return R(0); }
template <typename R>
R im(std::complex<R> x) { return x.imag(); }
template <typename R>
R abs2(R x) { return x * x; }
template <typename R>
R abs2(std::complex<R> x) { return x.real() * x.real() + x.imag() * x.imag(); }
template <typename R>
R abs1(std::complex<R> x) { return std::abs(x.real()) + std::abs(x.imag()); }

// Householder reflector P = I - sg v v^H with P x = beta e1, beta real, for
// x of length len (stride 1): v overwrites x (v[0] = 1; x[1:] untouched when
// trivial) and sg is returned. trivial(alpha) (alpha = x[0]; x[1:] is zero)
// says whether x already counts as beta e1: then sg = 0 and beta = re(alpha).
// All in units of the scale of x (the reflector is scale-free), so tiny or
// subnormal columns still give an exactly consistent (unitary) P.
template <typename S, typename Trivial>
S householder(S* x, int64_t len, typename Real<S>::type& beta, Trivial trivial) {
  using R = typename Real<S>::type;
  S alpha = x[0];
  R rest = 0;
  for (int64_t i = 1; i < len; ++i) rest = std::max(rest, std::abs(x[i]));
  if (rest == R(0) && trivial(alpha)) {
    beta = re(alpha);
    return S(0);
  }
  R sc = std::max(rest, std::abs(alpha)), xn2 = 0;
  for (int64_t i = 1; i < len; ++i) xn2 += abs2(x[i] / sc);
  S y0 = alpha / sc;
  R nrm = std::sqrt(abs2(y0) + xn2);
  R by = re(alpha) >= R(0) ? -nrm : nrm;
  beta = by * sc;
  S tau = (S(by) - y0) / S(by);  // LAPACK's tau; P = H^H
  S den = y0 - S(by);
  for (int64_t i = 1; i < len; ++i) x[i] = (x[i] / sc) / den;
  x[0] = S(1);
  return conj_(tau);
}

// Householder reflector P = I - t v v^H applied to the block [r0, r1) x
// [c0, c1) of the row-major a (leading dimension ld): from the left
// (block <- P block, v of r1 - r0 entries; acc is scratch of c1 entries) or
// from the right (block <- block P, v of c1 - c0 entries).
template <typename S>
void reflect_left(S* a, int64_t ld, int64_t r0, int64_t r1, int64_t c0, int64_t c1, const S* v,
                  S t, S* acc) {
  std::fill(acc + c0, acc + c1, S(0));
  for (int64_t i = r0; i < r1; ++i) {
    S cv = conj_(v[i - r0]);
    const S* ai = a + i * ld;
    for (int64_t j = c0; j < c1; ++j) acc[j] += cv * ai[j];
  }
  for (int64_t i = r0; i < r1; ++i) {
    S f = t * v[i - r0];
    S* ai = a + i * ld;
    for (int64_t j = c0; j < c1; ++j) ai[j] -= f * acc[j];
  }
}
template <typename S>
void reflect_right(S* a, int64_t ld, int64_t r0, int64_t r1, int64_t c0, int64_t c1, const S* v,
                   S t) {
  int64_t len = c1 - c0;
  for (int64_t i = r0; i < r1; ++i) {
    S* ai = a + i * ld + c0;
    S s = S(0);
    for (int64_t j = 0; j < len; ++j) s += ai[j] * v[j];
    s *= t;
    for (int64_t j = 0; j < len; ++j) ai[j] -= s * conj_(v[j]);
  }
}

// In-place LU with partial pivoting of the m x n matrix a: unit-lower L below
// the diagonal, U on and above it; piv[k] (k < min(m, n)) is the row swapped
// with row k at step k. Returns k + 1 for the first exactly zero pivot.
template <typename T>
int lu(T* a, int64_t m, int64_t n, int64_t* piv);

// Solves L U x = P b for the n x nrhs right-hand sides b in place, given lu's
// output for a square matrix.
template <typename T>
void lu_solve(const T* lu, const int64_t* piv, int64_t n, T* b, int64_t nrhs);

// Lower Cholesky factor in place (the strict upper triangle is zeroed). On a
// non-positive pivot j the pivot is stored and j + 1 returned (as LAPACK).
template <typename T>
int cholesky(T* a, int64_t n);

// In-place inverse of the lower triangle of a (upper triangle zeroed).
// Returns k + 1 for the first zero diagonal entry.
template <typename T>
int tri_inv_lower(T* a, int64_t n);

// x = L^-1 b in place for the lower triangle of l (n x n), b n x nrhs.
template <typename T>
int tri_solve_lower(const T* l, int64_t n, T* b, int64_t nrhs);

// Householder QR of the m x n matrix a (LAPACK's sign convention): q is
// m x k, r is k x n, k = min(m, n). a is destroyed.
template <typename T>
void qr(T* a, int64_t m, int64_t n, T* q, T* r);

// SVD: s (min(m, n), descending); when u/vt are non-null, u is m x m and vt
// n x n with a = u diag(s) vt. a is destroyed. Returns 1 if Jacobi sweeps did
// not converge.
template <typename T>
int svd(T* a, int64_t m, int64_t n, T* s, T* u, T* vt);
template <typename T>
int svd(std::complex<T>* a, int64_t m, int64_t n, T* s, std::complex<T>* u, std::complex<T>* vt);

// Symmetric (Hermitian) eigen-decomposition from the lower triangle of a:
// w ascending; when vectors, a is overwritten with the eigenvectors as
// columns. Returns 1 if the QL iteration did not converge.
template <typename T>
int eigh(T* a, int64_t n, T* w, bool vectors);
template <typename T>
int eigh(std::complex<T>* a, int64_t n, T* w, bool vectors);

// General eigen-decomposition of the complex n x n matrix a (destroyed):
// w the eigenvalues; when v is non-null, the unit-norm right eigenvectors as
// columns. real_input: a had no imaginary part (eigenvalues that are real to
// rounding are made exactly real). Returns 1 if QR did not converge.
template <typename T>
int eig(std::complex<T>* a, int64_t n, std::complex<T>* w, std::complex<T>* v, bool real_input);

// Eigen-decomposition of a real n x n matrix (a destroyed): real Hessenberg
// reduction and Francis double-shift QR to real Schur form, so real
// eigenvalues are exactly real and complex ones exact conjugate pairs
// (positive imaginary part first, as LAPACK).
template <typename T>
int eig_real(T* a, int64_t n, std::complex<T>* w, std::complex<T>* v);

// Implicit QL on the symmetric tridiagonal (d, e) (e[i] couples d[i] and
// d[i + 1], e[n - 1] = 0): d becomes the eigenvalues (unsorted); the
// rotations are applied to rows i, i + 1 of rows (n x n) when non-null.
template <typename R, typename S>
int tridiag_ql(R* d, R* e, int64_t n, S* rows);

// Unit-norm eigenvectors (columns of v) of A = Z T Z^H from the upper
// triangular complex Schur form t and the unitary z (both n x n).
template <typename R>
void schur_vectors(const std::complex<R>* t, const std::complex<R>* z, int64_t n, std::complex<R>* v);

}  // namespace oxmlx::cpu::la
