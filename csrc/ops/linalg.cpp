// Matmul builder: 1-D operands are promoted to matrices (and the added dim
// removed afterwards), batch dims broadcast, dtypes promoted.
#include "ops/ops.h"
#include "ops/primitives.h"

namespace oxmlx {

void MatmulPrim::eval(const std::vector<array>& in, std::vector<array>& out) {
  backend_for(stream()).matmul(in[0], in[1], out[0]);
}

array matmul(const array& a_in, const array& b_in, StreamOrDevice s) {
  Stream st = to_stream(s);
  if (a_in.ndim() == 0 || b_in.ndim() == 0)
    throw ValueError("[matmul] Got 0 dimension input. Inputs must have at least one dimension.");
  Dtype dt = promote_types(a_in.dtype(), b_in.dtype());
  if (!is_floating(dt))
    throw ValueError(msg("[matmul] Only real floating point types are supported but ",
                         dtype_name(a_in.dtype()), " and ", dtype_name(b_in.dtype()),
                         " were provided which results in ", dtype_name(dt),
                         ", which is not a real floating point type."));
  array a = a_in.ndim() == 1 ? reshape(a_in, {1, a_in.shape(0)}, st) : a_in;
  array b = b_in.ndim() == 1 ? reshape(b_in, {b_in.shape(0), 1}, st) : b_in;
  if (a.shape(-1) != b.shape(-2))
    throw ValueError(msg("[matmul] Last dimension of first input with shape ", shape_str(a.shape()),
                         " must match second to last dimension of second input with shape ",
                         shape_str(b.shape()), "."));
  a = astype(a, dt, st);
  b = astype(b, dt, st);
  Shape ba(a.shape().begin(), a.shape().end() - 2), bb(b.shape().begin(), b.shape().end() - 2);
  Shape batch = broadcast_shapes(ba, bb);
  Shape sa = batch, sb = batch;
  sa.push_back(a.shape(-2));
  sa.push_back(a.shape(-1));
  sb.push_back(b.shape(-2));
  sb.push_back(b.shape(-1));
  a = broadcast_to(a, sa, st);
  b = broadcast_to(b, sb, st);
  Shape out = batch;
  out.push_back(a.shape(-2));
  out.push_back(b.shape(-1));
  array r(out, dt, std::make_shared<MatmulPrim>(st), {a, b});
  if (a_in.ndim() == 1) r = squeeze(r, {-2}, st);
  if (b_in.ndim() == 1) r = squeeze(r, {-1}, st);
  return r;
}

}  // namespace oxmlx

namespace oxmlx {

std::vector<array> MatmulPrim::vjp(const std::vector<array>& in, const std::vector<array>& cots,
                                   const std::vector<int>& argnums, const std::vector<array>&) {
  // Complex operands enter conjugated (the cotangent convention of
  // BinaryPrim: g conj(dy/dx)).
  auto h = [](const array& x) {
    array t = swapaxes(x, -1, -2);
    return is_complex(x.dtype()) ? conjugate(t) : t;
  };
  std::vector<array> r;
  for (int k : argnums) {
    if (k == 0) r.push_back(matmul(cots[0], h(in[1])));
    else r.push_back(matmul(h(in[0]), cots[0]));
  }
  return r;
}

std::vector<array> MatmulPrim::jvp(const std::vector<array>& in, const std::vector<array>& tans,
                                   const std::vector<int>& argnums) {
  array r = argnums[0] == 0 ? matmul(tans[0], in[1]) : matmul(in[0], tans[0]);
  if (argnums.size() > 1) r = add(r, matmul(in[0], tans[1]));
  return {r};
}

}  // namespace oxmlx

// ------------------------------------------------------- vmap and shape rules

#include "core/transforms.h"

namespace oxmlx {

// The batch axis becomes a leading batch dimension of the product (an
// unbatched operand broadcasts over it).
std::pair<std::vector<array>, std::vector<int>> MatmulPrim::vmap(const std::vector<array>& in,
                                                                 const std::vector<int>& axes) {
  return {{matmul(vmap_to_front(in[0], axes[0]), vmap_to_front(in[1], axes[1]), stream())}, {0}};
}

std::vector<Shape> MatmulPrim::output_shapes(const std::vector<array>& in) {
  Shape s = in[0].shape();
  s.back() = in[1].shape().back();
  return {s};
}

}  // namespace oxmlx
