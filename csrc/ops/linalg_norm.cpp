// mx.linalg.norm, det and slogdet (composed from core ops and the linalg
// family), and the derivative rules of the linalg family: inv, solve and
// solve_triangular (LinalgPrim) and det/slogdet (DetPrim).
#include <cmath>
#include <limits>

#include "core/transforms.h"
#include "ops/ops.h"
#include "ops/primitives.h"

namespace oxmlx {

namespace linalg {

namespace {

Dtype at_least_float(Dtype d) { return is_inexact(d) ? d : promote_types(d, float32); }

array l2_norm(const array& a, const std::vector<int>& axes, bool keepdims, Stream st) {
  array sq = is_complex(a.dtype()) ? square(abs(a, st), st) : square(a, st);
  return sqrt(sum(sq, axes, keepdims, st), st);
}

array vector_norm(const array& a, double ord, int axis, bool keepdims, Stream st) {
  Dtype dt = at_least_float(a.dtype());
  std::vector<int> ax{axis};
  const double inf = std::numeric_limits<double>::infinity();
  if (ord == 0.0) return astype(sum(not_equal(a, array(0, a.dtype()), st), ax, keepdims, st), dt, st);
  if (ord == 1.0) return astype(sum(abs(a, st), ax, keepdims, st), dt, st);
  if (ord == 2.0) return l2_norm(a, ax, keepdims, st);
  if (ord == inf) return astype(max(abs(a, st), ax, keepdims, st), dt, st);
  if (ord == -inf) return astype(min(abs(a, st), ax, keepdims, st), dt, st);
  array p = power(abs(a, st), array(ord, dt), st);
  return power(sum(p, ax, keepdims, st), array(1.0 / ord, dt), st);
}

// Singular values of the matrices on axes (row, col), moved last.
array singular_values(const array& a, int row, int col, Stream st) {
  std::vector<int> perm;
  for (int i = 0; i < a.ndim(); ++i)
    if (i != row && i != col) perm.push_back(i);
  perm.push_back(row);
  perm.push_back(col);
  return svd(transpose(a, perm, st), false, st)[0];
}

array restore_dims(array r, int row, int col, bool keepdims, Stream st) {
  if (!keepdims) return r;
  return expand_dims(r, {std::min(row, col), std::max(row, col)}, st);
}

array matrix_norm(const array& a, double ord, int row, int col, bool keepdims, Stream st) {
  Dtype dt = at_least_float(a.dtype());
  const double inf = std::numeric_limits<double>::infinity();
  auto finish = [&](array r) {
    r = astype(r, dt, st);
    return keepdims ? r : squeeze(r, {row, col}, st);
  };
  if (ord == 1.0 || ord == -1.0) {
    array s = sum(abs(a, st), {row}, true, st);
    return finish(ord > 0 ? max(s, {col}, true, st) : min(s, {col}, true, st));
  }
  if (ord == inf || ord == -inf) {
    array s = sum(abs(a, st), {col}, true, st);
    return finish(ord > 0 ? max(s, {row}, true, st) : min(s, {row}, true, st));
  }
  if (ord == 2.0 || ord == -2.0) {
    array sv = singular_values(a, row, col, st);
    array r = ord > 0 ? max(sv, {-1}, false, st) : min(sv, {-1}, false, st);
    return restore_dims(r, row, col, keepdims, st);
  }
  throw ValueError(msg("[linalg::norm] Invalid ord ", ord, " for matrix norm."));
}

std::vector<int> norm_axes(const array& a, const std::optional<std::vector<int>>& axis) {
  if (axis) {
    std::vector<int> ax;
    for (int x : *axis) ax.push_back(normalize_axis(x, a.ndim(), "linalg::norm"));
    return ax;
  }
  return all_axes(a.ndim());
}

}  // namespace

array norm(const array& a, const std::optional<std::vector<int>>& axis, bool keepdims, StreamOrDevice s) {
  Stream st = to_stream(s);
  if (!axis) {
    array r = l2_norm(reshape(a, {a.size()}, st), {0}, false, st);
    return keepdims ? reshape(r, Shape(a.ndim(), 1), st) : r;
  }
  if (axis->size() > 2) throw ValueError("[linalg::norm] Received too many axes for norm.");
  return l2_norm(a, norm_axes(a, axis), keepdims, st);
}

array norm(const array& a, double ord, const std::optional<std::vector<int>>& axis, bool keepdims,
           StreamOrDevice s) {
  Stream st = to_stream(s);
  std::vector<int> ax = norm_axes(a, axis);
  if (ax.size() == 1) return vector_norm(a, ord, ax[0], keepdims, st);
  if (ax.size() == 2) return matrix_norm(a, ord, ax[0], ax[1], keepdims, st);
  throw ValueError("[linalg::norm] Received too many axes for norm.");
}

array norm(const array& a, const std::string& ord, const std::optional<std::vector<int>>& axis,
           bool keepdims, StreamOrDevice s) {
  Stream st = to_stream(s);
  std::vector<int> ax = norm_axes(a, axis);
  if (ax.size() != 2)
    throw ValueError(msg("[linalg::norm] Norm '", ord, "' only supported for matrices, but received ",
                         ax.size(), " axis/axes."));
  if (ord == "f" || ord == "fro") return l2_norm(a, ax, keepdims, st);
  if (ord == "nuc") {
    array r = sum(singular_values(a, ax[0], ax[1], st), {-1}, false, st);
    return restore_dims(r, ax[0], ax[1], keepdims, st);
  }
  throw ValueError(msg("[linalg::norm] Invalid ord value '", ord, "' for matrix norm."));
}

}  // namespace linalg

namespace {

// The cofactor matrix adj(A)^T = det(A) A^-T (the gradient of det). eval
// uses the LU path and, when A is singular (inv raises), the SVD
// A = U S V^T: cof(A) = det(U) det(V) U diag(prod_{j != i} s_j) V^T, so the
// gradient of det exists at singular matrices too (as MLX). Its own
// derivative (for second order) holds where A is invertible.
class CofactorPrim : public Primitive {
 public:
  explicit CofactorPrim(Stream s) : Primitive(s) {}
  void eval(const std::vector<array>& in, std::vector<array>& out) override {
    Stream st = stream();
    const array& a = in[0];
    array r;
    try {
      r = multiply(expand_dims(linalg::det(a, st), {-2, -1}, st), swapaxes(linalg::inv(a, st), -1, -2, st), st);
      r.eval();
    } catch (const RuntimeError&) {
      auto usv = linalg::svd(a, true, st);
      array sv = usv[1];
      array others = multiply(scan(ScanOp::Prod, sv, -1, false, false, st),
                              scan(ScanOp::Prod, sv, -1, true, false, st), st);
      array sgn = multiply(linalg::det(usv[0], st), linalg::det(usv[2], st), st);
      array us = multiply(usv[0], expand_dims(others, {-2}, st), st);
      r = multiply(expand_dims(sgn, {-2, -1}, st), matmul(us, usv[2], st), st);
      r.eval();
    }
    out[0].copy_shared_buffer(r);
  }
  std::vector<array> vjp(const std::vector<array>& in, const std::vector<array>& cots,
                         const std::vector<int>&, const std::vector<array>& outs) override {
    // C = d X with X = A^-T, d = det A: g_A = d (<G, X> X - X G^T X).
    array x = swapaxes(linalg::inv(in[0]), -1, -2);
    array d = expand_dims(linalg::det(in[0]), {-2, -1});
    array gx = sum(multiply(cots[0], x), {-2, -1}, true);
    array t = matmul(matmul(x, swapaxes(cots[0], -1, -2)), x);
    (void)outs;
    return {multiply(d, subtract(multiply(gx, x), t))};
  }
  std::vector<array> jvp(const std::vector<array>& in, const std::vector<array>& tans,
                         const std::vector<int>&) override {
    // dC = d (tr(A^-1 dA) X - X dA^T X).
    array x = swapaxes(linalg::inv(in[0]), -1, -2);
    array d = expand_dims(linalg::det(in[0]), {-2, -1});
    array tr = sum(multiply(x, tans[0]), {-2, -1}, true);
    array t = matmul(matmul(x, swapaxes(tans[0], -1, -2)), x);
    return {multiply(d, subtract(multiply(tr, x), t))};
  }
  // Acts on the last two axes: the batch axis goes in front.
  std::pair<std::vector<array>, std::vector<int>> vmap(const std::vector<array>& in,
                                                       const std::vector<int>& axes) override {
    return vmap_leading_batch(in, axes);
  }
  std::string name() const override { return "Cofactor"; }
};

array cofactor(const array& a, Stream st) {
  return array(a.shape(), a.dtype(), std::make_shared<CofactorPrim>(st), {a});
}

// det (one output) or slogdet (sign, logabsdet) of float32/float64 matrices.
// eval composes lu_factor with reductions on the evaluated input; the vjp is
// Jacobi's formula, d det = <cof(A), dA>.
class DetPrim : public Primitive {
 public:
  DetPrim(Stream s, bool log) : Primitive(s), log_(log) {}
  void eval(const std::vector<array>& in, std::vector<array>& out) override {
    std::vector<array> r = compute(in[0]);
    oxmlx::eval(r);
    for (size_t i = 0; i < out.size(); ++i) out[i].copy_shared_buffer(r[i]);
  }
  std::vector<array> vjp(const std::vector<array>& in, const std::vector<array>& cots,
                         const std::vector<int>&, const std::vector<array>& outs) override {
    if (log_) return {multiply(expand_dims(cots[1], {-2, -1}), inv_t(in[0]))};
    return {multiply(expand_dims(cots[0], {-2, -1}), cofactor(in[0], stream()))};
  }
  std::vector<array> jvp(const std::vector<array>& in, const std::vector<array>& tans,
                         const std::vector<int>&) override {
    if (!log_) return {sum(multiply(cofactor(in[0], stream()), tans[0]), {-2, -1})};
    auto sl = linalg::slogdet(in[0]);
    return {zeros_like(sl[0]), sum(multiply(inv_t(in[0]), tans[0]), {-2, -1})};
  }
  std::pair<std::vector<array>, std::vector<int>> vmap(const std::vector<array>& in,
                                                       const std::vector<int>& axes) override {
    return vmap_leading_batch(in, axes);
  }
  std::string name() const override { return log_ ? "SlogDet" : "Det"; }

 private:
  // A^-T as cof(A) / det(A): NaN/inf at singular matrices (as MLX) rather
  // than the RuntimeError of inv.
  array inv_t(const array& a) {
    return divide(cofactor(a, stream()), expand_dims(linalg::det(a, stream()), {-2, -1}));
  }

  std::vector<array> compute(const array& a) {
    Stream st = stream();
    Dtype dt = a.dtype();
    int64_t n = a.shape(-1);
    Shape batch(a.shape().begin(), a.shape().end() - 2);
    array diag = zeros([&] { Shape s = batch; s.push_back(0); return s; }(), dt, st);
    array sign_p = ones(batch, dt, st);
    if (n > 0) {
      auto f = linalg::lu_factor(a, st);
      Shape flat = batch;
      flat.push_back(n * n);
      array lf = reshape(f[0], flat, st);
      int nd = lf.ndim();
      Shape start(nd, 0), stop = lf.shape(), step(nd, 1);
      step[nd - 1] = n + 1;
      diag = slice(lf, start, stop, step, st);
      array idx = arange(0, double(n), 1, uint32, st);
      array swaps = sum(astype(not_equal(f[1], idx, st), int32, st), {-1}, false, st);
      array odd = astype(remainder(swaps, array(2, int32), st), dt, st);
      sign_p = subtract(array(1.0, dt), multiply(array(2.0, dt), odd, st), st);
    }
    if (!log_) return {multiply(prod(diag, {-1}, false, st), sign_p, st)};
    array sg = multiply(prod(sign(diag, st), {-1}, false, st), sign_p, st);
    array la = sum(log(abs(diag, st), st), {-1}, false, st);
    return {sg, la};
  }
  bool log_;
};

std::vector<array> det_impl(const array& a, bool log, const char* op, Stream st) {
  if (a.ndim() < 2)
    throw ValueError(msg("[linalg::", op, "] Arrays must have >= 2 dimensions. Received array with ",
                         a.ndim(), " dimensions."));
  if (a.shape(-1) != a.shape(-2))
    throw ValueError(msg("[linalg::", op, "] Only defined for square matrices."));
  if (is_complex(a.dtype())) throw ValueError(msg("[linalg::", op, "] Complex inputs are not supported."));
  Dtype out_dt = is_floating(a.dtype()) ? a.dtype() : float32;
  Dtype work = a.dtype() == float64 ? float64 : float32;
  array x = astype(a, work, st);
  Shape batch(a.shape().begin(), a.shape().end() - 2);
  auto p = std::make_shared<DetPrim>(st, log);
  std::vector<array> r = log ? array::make_arrays({batch, batch}, {work, work}, p, {x})
                             : array::make_arrays({batch}, {work}, p, {x});
  for (auto& v : r) v = astype(v, out_dt, st);
  return r;
}

}  // namespace

namespace linalg {

array det(const array& a, StreamOrDevice s) { return det_impl(a, false, "det", to_stream(s))[0]; }
std::vector<array> slogdet(const array& a, StreamOrDevice s) {
  return det_impl(a, true, "slogdet", to_stream(s));
}

}  // namespace linalg

// ------------------------------------------------------- derivative rules

namespace {

array mT(const array& a) { return swapaxes(a, -1, -2); }
array tril_mask(const array& g) { return multiply(g, tri(g.shape(-1), g.shape(-1), 0, g.dtype())); }

}  // namespace

std::vector<array> LinalgPrim::vjp(const std::vector<array>& in, const std::vector<array>& cots,
                                   const std::vector<int>& argnums, const std::vector<array>& outs) {
  if (op() == LinalgOp::Inv) {
    // d(A^-1) = -A^-1 dA A^-1  ->  g_A = -X^T G X^T.
    array xt = mT(outs[0]);
    return {negative(matmul(matmul(xt, cots[0]), xt))};
  }
  if (op() == LinalgOp::Solve || op() == LinalgOp::SolveTriangular) {
    bool tri = op() == LinalgOp::SolveTriangular;
    // x = A^-1 b: g_b = A^-T g, g_A = -g_b x^T (lower part for triangular).
    array gb = tri ? linalg::solve_triangular(mT(in[0]), cots[0], true) : linalg::solve(mT(in[0]), cots[0]);
    std::vector<array> r;
    for (int k : argnums) {
      if (k == 1) {
        r.push_back(gb);
      } else {
        array ga = negative(matmul(gb, mT(outs[0])));
        r.push_back(tri ? tril_mask(ga) : ga);
      }
    }
    return r;
  }
  return Primitive::vjp(in, cots, argnums, outs);
}

std::vector<array> LinalgPrim::jvp(const std::vector<array>& in, const std::vector<array>& tans,
                                   const std::vector<int>& argnums) {
  if (op() == LinalgOp::Inv) {
    array x = linalg::inv(in[0]);
    return {negative(matmul(matmul(x, tans[0]), x))};
  }
  if (op() == LinalgOp::Solve || op() == LinalgOp::SolveTriangular) {
    bool tri = op() == LinalgOp::SolveTriangular;
    auto solve = [&](const array& rhs) {
      return tri ? linalg::solve_triangular(in[0], rhs, false) : linalg::solve(in[0], rhs);
    };
    array x = solve(in[1]);
    array rhs = zeros_like(in[1]);
    for (size_t i = 0; i < argnums.size(); ++i) {
      if (argnums[i] == 1) rhs = add(rhs, tans[i]);
      else rhs = subtract(rhs, matmul(tri ? tril_mask(tans[i]) : tans[i], x));
    }
    return {solve(rhs)};
  }
  return Primitive::jvp(in, tans, argnums);
}

}  // namespace oxmlx
