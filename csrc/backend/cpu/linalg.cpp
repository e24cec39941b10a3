// Linalg family driver (CPU): every op works on the last two axes of its
// inputs, batched over the leading axes (batch entries run in parallel on
// the thread pool; a single large matrix lets GEMM inside the blocked
// factorizations use the pool instead). Each batch entry is copied into a
// row-major work buffer and handed to the kernels of linalg.h. Failures that
// MLX reports (singular inverse or solve) raise RuntimeError after the batch.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <complex>
#include <cstring>
#include <limits>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/linalg.h"
#include "backend/cpu/threadpool.h"

namespace oxmlx::cpu {

namespace {

using c64 = std::complex<float>;

// Row-contiguous dense view of x (a copy when x has other strides).
array dense(const array& x) {
  if (x.flags().row_contiguous && x.data_size() == x.size()) return x;
  array tmp(std::make_shared<ArrayDesc>(x.shape(), x.dtype()));
  CpuBackend().copy(x, tmp);
  return tmp;
}

int64_t batch_count(const array& x) {
  int64_t b = 1;
  for (int i = 0; i + 2 < x.ndim(); ++i) b *= x.shape(i);
  return b;
}

// Runs fn(b) for every batch entry and records the first failing entry's info.
template <typename F>
int run_batch(int64_t nb, int64_t work, F&& fn) {
  std::atomic<int> info{0};
  int64_t grain = work >= (1 << 16) ? 1 : std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(work, 1));
  parallel_for(nb, grain, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      int r = fn(b);
      int expected = 0;
      if (r) info.compare_exchange_strong(expected, r);
    }
  });
  return info.load();
}

[[noreturn]] void fail(const char* what, int info) {
  throw RuntimeError(msg(what, " failed with error code ", info, "."));
}

// Divides the work matrix by the power of two nearest its largest magnitude
// (exact) and returns that factor, so sums of squares inside the kernels can
// neither overflow nor underflow; results that scale are multiplied back.
// A matrix with inf/NaN gives NaN: the iterative kernels are skipped and the
// results are NaN (they could not converge).
// eigh reads the lower triangle only: the other one must not count.
template <typename S>
void drop_upper(std::vector<S>& w, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) w[size_t(i * n + j)] = S(0);
}

template <typename S>
void fill_nan(S* p, int64_t count) {
  using R = decltype(std::abs(S()));
  std::fill(p, p + count, S(std::numeric_limits<R>::quiet_NaN()));
}

// A zero pivot in a matrix with inf/NaN is not singularity: the results are
// NaN (as LAPACK's) and no error is reported; otherwise the info code stands.
template <typename S>
int nan_or(int info, const S* a, int64_t count, S* out, int64_t out_count) {
  for (int64_t i = 0; i < count; ++i)
    if (!std::isfinite(std::abs(a[i]))) {
      fill_nan(out, out_count);
      return 0;
    }
  return info;
}

template <typename S>
auto equilibrate(std::vector<S>& w) {
  using R = decltype(std::abs(S()));
  R amax = 0;
  bool finite = true;
  for (auto& x : w) {
    R ax = std::abs(x);
    finite &= std::isfinite(ax);
    amax = std::max<R>(amax, ax);
  }
  if (!finite) return std::numeric_limits<R>::quiet_NaN();  // caller: NaN results
  if (!(amax > R(0))) return R(1);
  int e;
  std::frexp(amax, &e);
  for (auto& x : w) {
    if constexpr (std::is_floating_point_v<S>) x = std::ldexp(x, -e);
    else x = S(std::ldexp(x.real(), -e), std::ldexp(x.imag(), -e));
  }
  return std::ldexp(R(1), e);
}

// svd of the batch src (nb entries m x n, S real or complex, R its real
// type) into outs (s, or u, s, vt): each entry is equilibrated and
// decomposed in double precision (W: double or std::complex<double>), the
// results rounded once. Jacobi rotations accumulate rounding in U and V:
// float32 runs in double, which keeps LAPACK-level accuracy.
template <typename W, typename R, typename S>
void run_svd(std::vector<array>& outs, const S* src, int64_t nb, int64_t m, int64_t n,
             int64_t work) {
  int64_t k = std::min(m, n);
  bool uv = outs.size() == 3;
  R* s = outs[uv ? 1 : 0].data<R>();
  S* u = uv ? outs[0].data<S>() : nullptr;
  S* vt = uv ? outs[2].data<S>() : nullptr;
  int info = run_batch(nb, work, [&](int64_t b) {
    std::vector<W> w(src + b * m * n, src + (b + 1) * m * n);
    double f = equilibrate(w);
    if (std::isnan(f)) {
      fill_nan(s + b * k, k);
      if (uv) fill_nan(u + b * m * m, m * m), fill_nan(vt + b * n * n, n * n);
      return 0;
    }
    std::vector<double> sd(static_cast<size_t>(k));
    std::vector<W> ud(uv ? size_t(m * m) : 0), vd(uv ? size_t(n * n) : 0);
    int r = la::svd<double>(w.data(), m, n, sd.data(), uv ? ud.data() : nullptr, uv ? vd.data() : nullptr);
    for (int64_t i = 0; i < k; ++i) s[b * k + i] = R(sd[size_t(i)] * f);
    for (size_t i = 0; i < ud.size(); ++i) u[b * m * m + int64_t(i)] = S(ud[i]);
    for (size_t i = 0; i < vd.size(); ++i) vt[b * n * n + int64_t(i)] = S(vd[i]);
    return r;
  });
  if (info) fail("[linalg::svd] Jacobi SVD", info);
}

// eigh of the batch src (nb entries n x n, lower triangles read; S real or
// complex, R its real type) into outs (w, or w and the eigenvectors).
template <typename R, typename S>
void run_eigh(std::vector<array>& outs, const S* src, int64_t nb, int64_t n, int64_t work) {
  bool vec = outs.size() == 2;
  R* w = outs[0].data<R>();
  S* v = vec ? outs[1].data<S>() : nullptr;
  int info = run_batch(nb, work, [&](int64_t b) {
    std::vector<S> buf(src + b * n * n, src + (b + 1) * n * n);
    drop_upper(buf, n);
    R f = equilibrate(buf);
    if (std::isnan(f)) {
      fill_nan(w + b * n, n);
      if (vec) fill_nan(v + b * n * n, n * n);
      return 0;
    }
    int r = la::eigh<R>(buf.data(), n, w + b * n, vec);
    for (int64_t i = 0; i < n; ++i) w[b * n + i] *= f;
    if (vec) std::copy(buf.begin(), buf.end(), v + b * n * n);
    return r;
  });
  if (info) fail("[linalg::eigh] Eigenvalue iteration", info);
}

template <typename T>
void run_real(LinalgOp op, const std::vector<array>& in_raw, std::vector<array>& outs) {
  array a = dense(in_raw[0]);
  int nd = a.ndim();
  int64_t m = a.shape(nd - 2), n = a.shape(nd - 1), k = std::min(m, n);
  int64_t nb = batch_count(a);
  for (auto& o : outs) alloc_row_major(o);
  const T* src = a.data<T>();
  int64_t work = m * n * k;
  switch (op) {
    case LinalgOp::Inv: {
      T* dst = outs[0].data<T>();
      int info = run_batch(nb, work, [&](int64_t b) {
        std::vector<T> lu(src + b * n * n, src + (b + 1) * n * n);
        std::vector<int64_t> piv(static_cast<size_t>(n));
        int r = la::lu<T>(lu.data(), n, n, piv.data());
        T* x = dst + b * n * n;
        if (r) return nan_or(r, src + b * n * n, n * n, x, n * n);
        for (int64_t i = 0; i < n; ++i)
          for (int64_t j = 0; j < n; ++j) x[i * n + j] = i == j ? T(1) : T(0);
        la::lu_solve<T>(lu.data(), piv.data(), n, x, n);
        return 0;
      });
      if (info) fail("[linalg::inv] LU factorization", info);
      return;
    }
    case LinalgOp::TriInv: {
      T* dst = outs[0].data<T>();
      if (nb * n * n > 0) std::memcpy(dst, src, size_t(nb * n * n) * sizeof(T));
      int info = run_batch(nb, work, [&](int64_t b) {
        int r = la::tri_inv_lower<T>(dst + b * n * n, n);
        return r ? nan_or(r, src + b * n * n, n * n, dst + b * n * n, n * n) : 0;
      });
      if (info) fail("[linalg::tri_inv] Triangular inversion", info);
      return;
    }
    case LinalgOp::Cholesky: {
      T* dst = outs[0].data<T>();
      if (nb * n * n > 0) std::memcpy(dst, src, size_t(nb * n * n) * sizeof(T));
      run_batch(nb, work, [&](int64_t b) {
        la::cholesky<T>(dst + b * n * n, n);  // undefined for non-PD input (as MLX)
        return 0;
      });
      return;
    }
    case LinalgOp::Qr: {
      T* q = outs[0].data<T>();
      T* r = outs[1].data<T>();
      run_batch(nb, work, [&](int64_t b) {
        std::vector<T> w(src + b * m * n, src + (b + 1) * m * n);
        T f = equilibrate(w);
        if (std::isnan(f)) f = T(1);  // QR is direct: inf/NaN just propagate
        la::qr<T>(w.data(), m, n, q + b * m * k, r + b * k * n);
        for (int64_t i = 0; i < k * n; ++i) r[b * k * n + i] *= f;
        return 0;
      });
      return;
    }
    case LinalgOp::Svd: return run_svd<double, T>(outs, src, nb, m, n, work * 8);
    case LinalgOp::Eigh: return run_eigh<T>(outs, src, nb, n, work * 4);
    case LinalgOp::Eig: {
      bool vec = outs.size() == 2;
      c64* w = outs[0].data<c64>();
      c64* v = vec ? outs[1].data<c64>() : nullptr;
      int info = run_batch(nb, work * 16, [&](int64_t b) {
        using C = std::complex<T>;
        std::vector<T> buf(src + b * n * n, src + (b + 1) * n * n);
        T f = equilibrate(buf);
        if (std::isnan(f)) {
          fill_nan(w + b * n, n);
          if (vec) fill_nan(v + b * n * n, n * n);
          return 0;
        }
        std::vector<C> wc(static_cast<size_t>(n)), vc(vec ? size_t(n * n) : 0);
        int r = la::eig_real<T>(buf.data(), n, wc.data(), vec ? vc.data() : nullptr);
        for (auto& x : wc) x *= f;
        for (int64_t i = 0; i < n; ++i) w[b * n + i] = c64(wc[size_t(i)]);
        if (vec)
          for (int64_t i = 0; i < n * n; ++i) v[b * n * n + i] = c64(vc[size_t(i)]);
        return r;
      });
      if (info) fail("[linalg::eig] QR iteration", info);
      return;
    }
    case LinalgOp::Lu:
    case LinalgOp::LuFactor: {
      bool full = op == LinalgOp::Lu;
      T* lu_out = full ? nullptr : outs[0].data<T>();
      uint32_t* pv = full ? outs[0].data<uint32_t>() : outs[1].data<uint32_t>();
      T* lo = full ? outs[1].data<T>() : nullptr;
      T* up = full ? outs[2].data<T>() : nullptr;
      run_batch(nb, work, [&](int64_t b) {
        std::vector<T> w(src + b * m * n, src + (b + 1) * m * n);
        std::vector<int64_t> piv(static_cast<size_t>(k));
        la::lu<T>(w.data(), m, n, piv.data());  // singular input: zero pivots kept (as LAPACK)
        if (!full) {
          std::copy(w.begin(), w.end(), lu_out + b * m * n);
          for (int64_t i = 0; i < k; ++i) pv[b * k + i] = uint32_t(piv[size_t(i)]);
          return 0;
        }
        // Row i of L U is row perm[i] of A; P is its inverse (A = L[P] @ U).
        std::vector<int64_t> perm(static_cast<size_t>(m));
        for (int64_t i = 0; i < m; ++i) perm[size_t(i)] = i;
        for (int64_t i = 0; i < k; ++i) std::swap(perm[size_t(i)], perm[size_t(piv[size_t(i)])]);
        for (int64_t i = 0; i < m; ++i) pv[b * m + perm[size_t(i)]] = uint32_t(i);
        T* l = lo + b * m * k;
        T* u = up + b * k * n;
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < k; ++j)
            l[i * k + j] = j < i ? w[size_t(i * n + j)] : (j == i ? T(1) : T(0));
        for (int64_t i = 0; i < k; ++i)
          for (int64_t j = 0; j < n; ++j) u[i * n + j] = j >= i ? w[size_t(i * n + j)] : T(0);
        return 0;
      });
      return;
    }
    case LinalgOp::Solve:
    case LinalgOp::SolveTriangular: {
      array bm = dense(in_raw[1]);
      int64_t nrhs = bm.shape(bm.ndim() - 1);
      const T* bsrc = bm.data<T>();
      T* dst = outs[0].data<T>();
      if (nb * n * nrhs > 0) std::memcpy(dst, bsrc, size_t(nb * n * nrhs) * sizeof(T));
      bool tri = op == LinalgOp::SolveTriangular;
      int info = run_batch(nb, work + n * n * nrhs, [&](int64_t b) {
        T* x = dst + b * n * nrhs;
        if (tri) {
          int r = la::tri_solve_lower<T>(src + b * n * n, n, x, nrhs);
          return r ? nan_or(r, src + b * n * n, n * n, x, n * nrhs) : 0;
        }
        std::vector<T> lu(src + b * n * n, src + (b + 1) * n * n);
        std::vector<int64_t> piv(static_cast<size_t>(n));
        int r = la::lu<T>(lu.data(), n, n, piv.data());
        if (r) return nan_or(r, src + b * n * n, n * n, x, n * nrhs);
        la::lu_solve<T>(lu.data(), piv.data(), n, x, nrhs);
        return 0;
      });
      if (info) fail(tri ? "[linalg::solve_triangular] Triangular solve" : "[linalg::solve] LU factorization", info);
      return;
    }
  }
}

void run_complex(LinalgOp op, const std::vector<array>& in_raw, std::vector<array>& outs) {
  array a = dense(in_raw[0]);
  int nd = a.ndim();
  int64_t m = a.shape(nd - 2), n = a.shape(nd - 1), k = std::min(m, n);
  int64_t nb = batch_count(a);
  for (auto& o : outs) alloc_row_major(o);
  const c64* src = a.data<c64>();
  int64_t work = m * n * k * 4;
  int info = 0;
  switch (op) {
    case LinalgOp::Svd: return run_svd<std::complex<double>, float>(outs, src, nb, m, n, work * 8);
    case LinalgOp::Eigh: return run_eigh<float>(outs, src, nb, n, work * 4);
    case LinalgOp::Eig: {
      bool vec = outs.size() == 2;
      c64* w = outs[0].data<c64>();
      c64* v = vec ? outs[1].data<c64>() : nullptr;
      info = run_batch(nb, work * 16, [&](int64_t b) {
        std::vector<c64> buf(src + b * n * n, src + (b + 1) * n * n);
        float f = equilibrate(buf);
        if (std::isnan(f)) {
          fill_nan(w + b * n, n);
          if (vec) fill_nan(v + b * n * n, n * n);
          return 0;
        }
        int r = la::eig<float>(buf.data(), n, w + b * n, vec ? v + b * n * n : nullptr, false);
        for (int64_t i = 0; i < n; ++i) w[b * n + i] *= f;
        return r;
      });
      if (info) fail("[linalg::eig] QR iteration", info);
      return;
    }
    default:
      throw ValueError("[linalg] complex64 inputs are supported by svd, eig and eigh only.");
  }
}

}  // namespace

void CpuBackend::linalg(LinalgOp op, const std::vector<array>& inputs, std::vector<array>& outputs) {
  Dtype dt = inputs[0].dtype();
  if (dt == float32) run_real<float>(op, inputs, outputs);
  else if (dt == float64) run_real<double>(op, inputs, outputs);
  else if (dt == complex64) run_complex(op, inputs, outputs);
  else throw ValueError(msg("[linalg] Unsupported dtype ", dtype_name(dt), "."));
}

}  // namespace oxmlx::cpu
