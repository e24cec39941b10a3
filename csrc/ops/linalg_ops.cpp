// mx.linalg builders: argument checks and dtype rules as MLX 0.32, the
// LinalgPrim nodes of the linalg kernel family, and the ops composed from
// them (norm, pinv, cholesky_inv, det, slogdet, cross). "upper" variants
// reuse the lower kernels on transposed (or flipped) inputs.
#include <cmath>
#include <limits>

#include "core/transforms.h"
#include "ops/ops.h"
#include "ops/primitives.h"

namespace oxmlx {

namespace {

const char* linalg_op_name(LinalgOp op) {
  static const char* n[] = {"Inverse", "TriInverse", "Cholesky", "QRF",   "SVD",            "Eigh",
                            "Eig",     "LUF",        "LUFactor", "Solve", "SolveTriangular"};
  return n[int(op)];
}

}  // namespace

void LinalgPrim::eval(const std::vector<array>& in, std::vector<array>& out) {
  backend_for(stream()).linalg(op_, in, out);
}
std::string LinalgPrim::name() const { return linalg_op_name(op_); }
// The kernels treat every axis before the last two as a batch axis; solves
// get both operands batched alike (the builder broadcast their batch dims).
std::pair<std::vector<array>, std::vector<int>> LinalgPrim::vmap(const std::vector<array>& in,
                                                                 const std::vector<int>& axes) {
  return vmap_leading_batch(in, axes);
}
bool LinalgPrim::is_equivalent(const Primitive& o) const {
  auto* p = dynamic_cast<const LinalgPrim*>(&o);
  return p && p->op_ == op_;
}

namespace linalg {

namespace {

Shape batch_of(const array& a, int trailing = 2) {
  return Shape(a.shape().begin(), a.shape().end() - trailing);
}
Shape with(Shape s, std::initializer_list<int64_t> tail) {
  s.insert(s.end(), tail);
  return s;
}

void check_matrix(const array& a, const char* op, bool allow_complex, const char* ndim_prefix = "Arrays") {
  if (a.ndim() < 2)
    throw ValueError(msg("[linalg::", op, "] ", ndim_prefix, " must have >= 2 dimensions. Received array with ",
                         a.ndim(), " dimensions."));
  Dtype d = a.dtype();
  bool ok = d == float32 || d == float64 || (allow_complex && d == complex64);
  if (!ok)
    throw ValueError(msg("[linalg::", op, "] Arrays must have type float32",
                         allow_complex ? ", float64 or complex64" : " or float64",
                         ". Received array with type ", dtype_name(d), "."));
}

void check_square(const array& a, const char* op, const char* what) {
  if (a.shape(-2) != a.shape(-1)) throw ValueError(msg("[linalg::", op, "] ", what));
}

std::vector<array> make(LinalgOp op, std::vector<Shape> shapes, std::vector<Dtype> dtypes,
                        std::vector<array> inputs, Stream st) {
  return array::make_arrays(std::move(shapes), std::move(dtypes),
                            std::make_shared<LinalgPrim>(st, op), std::move(inputs));
}

array mT(const array& a, Stream st) { return swapaxes(a, -1, -2, st); }

// Reverses the listed axes (a view).
array flip(const array& a, std::initializer_list<int> axes, Stream st) {
  if (a.size() == 0) return a;
  int nd = a.ndim();
  Shape start(nd, 0), stop = a.shape(), step(nd, 1);
  for (int ax : axes) {
    int i = ax < 0 ? ax + nd : ax;
    start[i] = a.shape(i) - 1;
    stop[i] = -1;
    step[i] = -1;
  }
  return slice(a, start, stop, step, st);
}


}  // namespace

array inv(const array& a, StreamOrDevice s) {
  Stream st = to_stream(s);
  check_matrix(a, "inv", false);
  check_square(a, "inv", "Inverses are only defined for square matrices.");
  return make(LinalgOp::Inv, {a.shape()}, {a.dtype()}, {a}, st)[0];
}

array tri_inv(const array& a, bool upper, StreamOrDevice s) {
  Stream st = to_stream(s);
  check_matrix(a, "inv", false);
  check_square(a, "inv", "Inverses are only defined for square matrices.");
  array x = upper ? mT(a, st) : a;
  array r = make(LinalgOp::TriInv, {x.shape()}, {x.dtype()}, {x}, st)[0];
  return upper ? mT(r, st) : r;
}

array cholesky(const array& a, bool upper, StreamOrDevice s) {
  Stream st = to_stream(s);
  check_matrix(a, "cholesky", false);
  check_square(a, "cholesky", "Cholesky decomposition is only defined for square matrices.");
  array x = upper ? mT(a, st) : a;
  array r = make(LinalgOp::Cholesky, {x.shape()}, {x.dtype()}, {x}, st)[0];
  return upper ? mT(r, st) : r;
}

array cholesky_inv(const array& l, bool upper, StreamOrDevice s) {
  Stream st = to_stream(s);
  check_matrix(l, "cholesky_inv", false);
  check_square(l, "cholesky_inv", "Cholesky inverse is only defined for square matrices.");
  array li = tri_inv(l, upper, st);
  // A = L L^T -> A^-1 = L^-T L^-1; A = U^T U -> A^-1 = U^-1 U^-T.
  return upper ? matmul(li, mT(li, st), st) : matmul(mT(li, st), li, st);
}

std::vector<array> qr(const array& a, StreamOrDevice s) {
  Stream st = to_stream(s);
  check_matrix(a, "qr", false);
  int64_t m = a.shape(-2), n = a.shape(-1), k = std::min(m, n);
  Shape b = batch_of(a);
  return make(LinalgOp::Qr, {with(b, {m, k}), with(b, {k, n})}, {a.dtype(), a.dtype()}, {a}, st);
}

std::vector<array> svd(const array& a, bool compute_uv, StreamOrDevice s) {
  Stream st = to_stream(s);
  if (a.ndim() < 2)
    throw ValueError(msg("[linalg::svd] Input array must have >= 2 dimensions. Received array with ",
                         a.ndim(), " dimensions."));
  check_matrix(a, "svd", true);
  int64_t m = a.shape(-2), n = a.shape(-1), k = std::min(m, n);
  Shape b = batch_of(a);
  Dtype sd = a.dtype() == complex64 ? float32 : a.dtype();
  if (!compute_uv) return make(LinalgOp::Svd, {with(b, {k})}, {sd}, {a}, st);
  return make(LinalgOp::Svd, {with(b, {m, m}), with(b, {k}), with(b, {n, n})},
              {a.dtype(), sd, a.dtype()}, {a}, st);
}

namespace {

std::vector<array> eigh_impl(const array& a, const std::string& uplo, bool vectors, const char* op,
                             Stream st) {
  check_matrix(a, op, true);
  check_square(a, op, "Only defined for square matrices.");
  // MLX reads the lower triangle only for UPLO == "L" (any other value: upper).
  array x = a;
  if (uplo != "L") x = a.dtype() == complex64 ? conjugate(mT(a, st), st) : mT(a, st);
  Shape b = batch_of(a);
  int64_t n = a.shape(-1);
  Dtype wd = a.dtype() == complex64 ? float32 : a.dtype();
  if (!vectors) return make(LinalgOp::Eigh, {with(b, {n})}, {wd}, {x}, st);
  return make(LinalgOp::Eigh, {with(b, {n}), a.shape()}, {wd, a.dtype()}, {x}, st);
}

std::vector<array> eig_impl(const array& a, bool vectors, const char* op, Stream st) {
  check_matrix(a, op, true);
  check_square(a, op, "Only defined for square matrices.");
  Shape b = batch_of(a);
  int64_t n = a.shape(-1);
  if (!vectors) return make(LinalgOp::Eig, {with(b, {n})}, {complex64}, {a}, st);
  return make(LinalgOp::Eig, {with(b, {n}), a.shape()}, {complex64, complex64}, {a}, st);
}

}  // namespace

std::vector<array> eigh(const array& a, const std::string& uplo, StreamOrDevice s) {
  return eigh_impl(a, uplo, true, "eigh", to_stream(s));
}
array eigvalsh(const array& a, const std::string& uplo, StreamOrDevice s) {
  return eigh_impl(a, uplo, false, "eigvalsh", to_stream(s))[0];
}
std::vector<array> eig(const array& a, StreamOrDevice s) { return eig_impl(a, true, "eig", to_stream(s)); }
array eigvals(const array& a, StreamOrDevice s) { return eig_impl(a, false, "eigvals", to_stream(s))[0]; }

std::vector<array> lu(const array& a, StreamOrDevice s) {
  Stream st = to_stream(s);
  check_matrix(a, "lu", false);
  int64_t m = a.shape(-2), n = a.shape(-1), k = std::min(m, n);
  Shape b = batch_of(a);
  return make(LinalgOp::Lu, {with(b, {m}), with(b, {m, k}), with(b, {k, n})},
              {uint32, a.dtype(), a.dtype()}, {a}, st);
}

std::vector<array> lu_factor(const array& a, StreamOrDevice s) {
  Stream st = to_stream(s);
  check_matrix(a, "lu_factor", false);
  int64_t m = a.shape(-2), n = a.shape(-1), k = std::min(m, n);
  Shape b = batch_of(a);
  return make(LinalgOp::LuFactor, {a.shape(), with(b, {k})}, {a.dtype(), uint32}, {a}, st);
}

namespace {

array solve_impl(const array& a_in, const array& b_in, bool tri, bool upper, Stream st) {
  const char* op = tri ? "solve_triangular" : "solve";
  if (a_in.ndim() < 2)
    throw ValueError(msg("[linalg::", op, "] First input must have >= 2 dimensions. Received array with ",
                         a_in.ndim(), " dimensions."));
  if (b_in.ndim() < 1)
    throw ValueError(msg("[linalg::", op, "] Second input must have >= 1 dimensions. Received array with ",
                         b_in.ndim(), " dimensions."));
  if (a_in.shape(-1) != a_in.shape(-2))
    throw ValueError(msg("[linalg::", op, "] First input must be a square matrix. Received array with shape ",
                         shape_str(a_in.shape()), "."));
  bool vec = b_in.ndim() == 1;
  int64_t rows = vec ? b_in.shape(0) : b_in.shape(-2);
  if (a_in.shape(-1) != rows)
    throw ValueError(msg("[linalg::", op, "] Last dimension of first input with shape ",
                         shape_str(a_in.shape()), " must match second to last dimension of second input with shape ",
                         shape_str(b_in.shape()), "."));
  Dtype dt = promote_types(a_in.dtype(), b_in.dtype());
  if (dt != float32 && dt != float64)
    throw ValueError(msg("[linalg::", op, "] Input arrays must promote to float32 or float64.  Received arrays with type ",
                         dtype_name(a_in.dtype()), " and ", dtype_name(b_in.dtype()), "."));
  array a = astype(a_in, dt, st);
  array b = astype(b_in, dt, st);
  if (vec) b = expand_dims(b, {-1}, st);
  Shape batch = broadcast_shapes(batch_of(a), batch_of(b));
  int64_t n = a.shape(-1), nrhs = b.shape(-1);
  a = broadcast_to(a, with(batch, {n, n}), st);
  b = broadcast_to(b, with(batch, {n, nrhs}), st);
  if (tri && upper) {
    // J U J is lower triangular (J reverses the order): x = J solve(J U J, J b).
    a = flip(a, {-2, -1}, st);
    b = flip(b, {-2}, st);
  }
  array x = make(tri ? LinalgOp::SolveTriangular : LinalgOp::Solve, {b.shape()}, {dt}, {a, b}, st)[0];
  if (tri && upper) x = flip(x, {-2}, st);
  return vec ? squeeze(x, {-1}, st) : x;
}

}  // namespace

array solve(const array& a, const array& b, StreamOrDevice s) {
  return solve_impl(a, b, false, false, to_stream(s));
}
array solve_triangular(const array& a, const array& b, bool upper, StreamOrDevice s) {
  return solve_impl(a, b, true, upper, to_stream(s));
}

array pinv(const array& a, StreamOrDevice s) {
  Stream st = to_stream(s);
  check_matrix(a, "pinv", false);
  int64_t m = a.shape(-2), n = a.shape(-1), k = std::min(m, n);
  auto usv = svd(a, true, st);
  int nd = a.ndim();
  Shape z(nd, 0), one(nd, 1);
  // U[..., :, :k], Vt[..., :k, :]
  Shape ustop = a.shape();
  ustop[nd - 1] = k;
  ustop[nd - 2] = m;
  array u = slice(usv[0], z, ustop, one, st);
  Shape vstop = with(batch_of(a), {k, n});
  array vt = slice(usv[2], z, vstop, one, st);
  array sv = usv[1];
  double eps = a.dtype() == float64 ? std::numeric_limits<double>::epsilon()
                                    : double(std::numeric_limits<float>::epsilon());
  array smax = k > 0 ? max(sv, {-1}, true, st) : zeros_like(sv, st);
  array cutoff = multiply(smax, array(10.0 * double(std::max(m, n)) * eps, a.dtype()), st);
  array keep = greater(sv, cutoff, st);
  array sinv = where(keep, divide(array(1.0, a.dtype()), where(keep, sv, ones_like(sv, st), st), st),
                     zeros_like(sv, st), st);
  // pinv = Vt^T diag(1/s) U^T
  array vs = multiply(mT(vt, st), expand_dims(sinv, {-2}, st), st);
  return matmul(vs, mT(u, st), st);
}

array cross(const array& a_in, const array& b_in, int axis, StreamOrDevice s) {
  Stream st = to_stream(s);
  auto norm_ax = [&](const array& x) {
    int ax = axis < 0 ? axis + x.ndim() : axis;
    if (ax < 0 || ax >= x.ndim())
      throw IndexError(msg("[linalg::cross] Axis ", axis, " is out of bounds for array with ", x.ndim(),
                           " dimensions."));
    return ax;
  };
  int aa = norm_ax(a_in), ab = norm_ax(b_in);
  int64_t sa = a_in.shape(aa), sb = b_in.shape(ab);
  if ((sa != 2 && sa != 3) || (sb != 2 && sb != 3))
    throw ValueError("[linalg::cross] The specified axis must have size 2 or 3.");
  Dtype dt = promote_types(a_in.dtype(), b_in.dtype());
  array a = moveaxis(astype(a_in, dt, st), aa, -1, st);
  array b = moveaxis(astype(b_in, dt, st), ab, -1, st);
  auto comp = [&](const array& x, int64_t i) {
    if (i >= x.shape(-1)) return zeros(batch_of(x, 1), dt, st);
    int nd = x.ndim();
    Shape start(nd, 0), stop = x.shape(), step(nd, 1);
    start[nd - 1] = i;
    stop[nd - 1] = i + 1;
    return squeeze(slice(x, start, stop, step, st), {-1}, st);
  };
  array a0 = comp(a, 0), a1 = comp(a, 1), a2 = comp(a, 2);
  array b0 = comp(b, 0), b1 = comp(b, 1), b2 = comp(b, 2);
  array c0 = subtract(multiply(a1, b2, st), multiply(a2, b1, st), st);
  array c1 = subtract(multiply(a2, b0, st), multiply(a0, b2, st), st);
  array c2 = subtract(multiply(a0, b1, st), multiply(a1, b0, st), st);
  Shape bs = broadcast_shapes(c0.shape(), broadcast_shapes(c1.shape(), c2.shape()));
  Shape out_shape = with(bs, {3});
  array out = zeros(out_shape, dt, st);
  int nd = int(out_shape.size());
  array parts[3] = {c0, c1, c2};
  for (int i = 0; i < 3; ++i) {
    Shape start(nd, 0), stop = out_shape, step(nd, 1);
    start[nd - 1] = i;
    stop[nd - 1] = i + 1;
    out = slice_update(out, expand_dims(broadcast_to(parts[i], bs, st), {-1}, st), start, stop, step, st);
  }
  // MLX places the result's component axis where `axis` points in the output.
  int oa = axis < 0 ? axis + nd : axis;
  return moveaxis(out, nd - 1, oa, st);
}

}  // namespace linalg

}  // namespace oxmlx
