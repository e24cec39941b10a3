// Single-matrix dense kernels of the linalg family (CPU). Every matrix is
// row-major with leading dimension == its column count; the driver in
// linalg.cpp copies each batch entry into such a work buffer and fans the
// batch out over the thread pool. T is float or double (complex64 work uses
// std::complex<T>). Kernels return 0 or a LAPACK-style info code.
#pragma once

#include <complex>
#include <cstdint>

namespace oxmlx::cpu::la {

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
