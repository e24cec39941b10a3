// The op builders: shape and dtype inference, argument checks, and the node
// of the family primitive that computes the result. Nothing is computed here.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "backend/backend.h"
#include "core/array.h"

namespace oxmlx {

using StreamOrDevice = std::variant<std::monostate, Stream, Device>;
Stream to_stream(const StreamOrDevice& s);

// ---- creation ----
array full(Shape shape, const array& value, Dtype dtype, StreamOrDevice s = {});
array full(Shape shape, const array& value, StreamOrDevice s = {});
array zeros(const Shape& shape, Dtype dtype = float32, StreamOrDevice s = {});
array ones(const Shape& shape, Dtype dtype = float32, StreamOrDevice s = {});
array zeros_like(const array& a, StreamOrDevice s = {});
array ones_like(const array& a, StreamOrDevice s = {});
array full_like(const array& a, const array& value, std::optional<Dtype> dtype, StreamOrDevice s = {});
array arange(double start, double stop, double step, Dtype dtype, StreamOrDevice s = {});
array linspace(double start, double stop, int64_t num, Dtype dtype, StreamOrDevice s = {});
array eye(int64_t n, int64_t m, int k, Dtype dtype, StreamOrDevice s = {});
array identity(int64_t n, Dtype dtype, StreamOrDevice s = {});
array tri(int64_t n, int64_t m, int k, Dtype dtype, StreamOrDevice s = {});

// ---- type ----
array astype(const array& a, Dtype dtype, StreamOrDevice s = {});
array copy(const array& a, StreamOrDevice s = {});
// Row-contiguous copy unless already row-contiguous (then a view).
array contiguous(const array& a, bool allow_col_major = false, StreamOrDevice s = {});

// ---- elementwise ----
array unary(UnaryOp op, const array& a, StreamOrDevice s = {});
array binary(BinaryOp op, const array& a, const array& b, StreamOrDevice s = {});
array where(const array& cond, const array& x, const array& y, StreamOrDevice s = {});

#define OXMLX_UNARY(name) array name(const array& a, StreamOrDevice s = {});
OXMLX_UNARY(abs) OXMLX_UNARY(negative) OXMLX_UNARY(sign) OXMLX_UNARY(floor) OXMLX_UNARY(ceil)
OXMLX_UNARY(trunc) OXMLX_UNARY(sqrt) OXMLX_UNARY(rsqrt) OXMLX_UNARY(square)
OXMLX_UNARY(reciprocal) OXMLX_UNARY(exp) OXMLX_UNARY(expm1) OXMLX_UNARY(log) OXMLX_UNARY(log1p)
OXMLX_UNARY(log2) OXMLX_UNARY(log10) OXMLX_UNARY(sin) OXMLX_UNARY(cos) OXMLX_UNARY(tan)
OXMLX_UNARY(arcsin) OXMLX_UNARY(arccos) OXMLX_UNARY(arctan) OXMLX_UNARY(sinh) OXMLX_UNARY(cosh)
OXMLX_UNARY(tanh) OXMLX_UNARY(arcsinh) OXMLX_UNARY(arccosh) OXMLX_UNARY(arctanh)
OXMLX_UNARY(sigmoid) OXMLX_UNARY(erf) OXMLX_UNARY(erfinv) OXMLX_UNARY(logical_not)
OXMLX_UNARY(bitwise_invert) OXMLX_UNARY(isnan) OXMLX_UNARY(isinf) OXMLX_UNARY(isfinite)
OXMLX_UNARY(isposinf) OXMLX_UNARY(isneginf) OXMLX_UNARY(real) OXMLX_UNARY(imag)
OXMLX_UNARY(conjugate) OXMLX_UNARY(stop_gradient)
#undef OXMLX_UNARY
array round(const array& a, int decimals = 0, StreamOrDevice s = {});

#define OXMLX_BINARY(name) array name(const array& a, const array& b, StreamOrDevice s = {});
OXMLX_BINARY(add) OXMLX_BINARY(subtract) OXMLX_BINARY(multiply) OXMLX_BINARY(divide)
OXMLX_BINARY(power) OXMLX_BINARY(remainder) OXMLX_BINARY(floor_divide) OXMLX_BINARY(maximum)
OXMLX_BINARY(minimum) OXMLX_BINARY(equal) OXMLX_BINARY(not_equal) OXMLX_BINARY(less)
OXMLX_BINARY(less_equal) OXMLX_BINARY(greater) OXMLX_BINARY(greater_equal)
OXMLX_BINARY(logical_and) OXMLX_BINARY(logical_or) OXMLX_BINARY(bitwise_and)
OXMLX_BINARY(bitwise_or) OXMLX_BINARY(bitwise_xor) OXMLX_BINARY(left_shift)
OXMLX_BINARY(right_shift) OXMLX_BINARY(arctan2) OXMLX_BINARY(logaddexp)
#undef OXMLX_BINARY

// ---- shape (views where the layout allows) ----
Shape broadcast_shapes(const Shape& a, const Shape& b);
array broadcast_to(const array& a, const Shape& shape, StreamOrDevice s = {});
std::vector<array> broadcast_arrays(const std::vector<array>& in, StreamOrDevice s = {});
array reshape(const array& a, Shape shape, StreamOrDevice s = {});
array flatten(const array& a, int start_axis = 0, int end_axis = -1, StreamOrDevice s = {});
array transpose(const array& a, std::vector<int> axes, StreamOrDevice s = {});
array transpose(const array& a, StreamOrDevice s = {});
array swapaxes(const array& a, int axis1, int axis2, StreamOrDevice s = {});
array moveaxis(const array& a, int source, int destination, StreamOrDevice s = {});
array squeeze(const array& a, const std::vector<int>& axes, StreamOrDevice s = {});
array squeeze(const array& a, StreamOrDevice s = {});
array expand_dims(const array& a, const std::vector<int>& axes, StreamOrDevice s = {});
// Strided slice: start/stop/strides per axis, already normalized by the caller
// (0 <= start, stop in [-1, dim], strides != 0).
array slice(const array& a, Shape start, Shape stop, Shape strides, StreamOrDevice s = {});
array slice_update(const array& src, const array& update, Shape start, Shape stop, Shape strides,
                   StreamOrDevice s = {});
// A new graph node that is a view of a with the same shape (no copy).
array identity_view(const array& a, StreamOrDevice s = {});
array as_strided(const array& a, Shape shape, Strides strides, int64_t offset, StreamOrDevice s = {});

// ---- reductions ----
array reduce(ReduceOp op, const array& a, const std::vector<int>& axes, bool keepdims,
             StreamOrDevice s = {});
array sum(const array& a, const std::vector<int>& axes, bool keepdims = false, StreamOrDevice s = {});
array sum(const array& a, bool keepdims = false, StreamOrDevice s = {});
array prod(const array& a, const std::vector<int>& axes, bool keepdims = false, StreamOrDevice s = {});
array max(const array& a, const std::vector<int>& axes, bool keepdims = false, StreamOrDevice s = {});
array min(const array& a, const std::vector<int>& axes, bool keepdims = false, StreamOrDevice s = {});
array all(const array& a, const std::vector<int>& axes, bool keepdims = false, StreamOrDevice s = {});
array any(const array& a, const std::vector<int>& axes, bool keepdims = false, StreamOrDevice s = {});
array mean(const array& a, const std::vector<int>& axes, bool keepdims = false, StreamOrDevice s = {});
array var(const array& a, const std::vector<int>& axes, bool keepdims = false, int ddof = 0,
          StreamOrDevice s = {});
array argreduce(ArgReduceOp op, const array& a, std::optional<int> axis, bool keepdims,
                StreamOrDevice s = {});
array scan(ScanOp op, const array& a, std::optional<int> axis, bool reverse, bool inclusive,
           StreamOrDevice s = {});

// ---- random ----
// uint32 bits of `shape` from threefry-2x32 keyed by `key` ((2,) uint32).
array random_bits(const Shape& shape, const array& key, StreamOrDevice s = {});
// width bytes per element (1, 2, 4: uint8/16/32), MLX's bit layout.
array random_bits(const Shape& shape, const array& key, int width, StreamOrDevice s = {});

// ---- linear algebra ----
array matmul(const array& a, const array& b, StreamOrDevice s = {});

// ---- indexing (gather/scatter family; ops/indexing.cpp) ----
// Index arrays are broadcast together; negative indices wrap; an index whose
// slice leaves the array raises IndexError when evaluated.
array gather(const array& a, const std::vector<array>& indices, const std::vector<int>& axes,
             const Shape& slice_sizes, StreamOrDevice s = {});
// updates: index shape + a slice of a.ndim() dims (broadcast if needed).
array scatter(ScatterOp op, const array& a, const std::vector<array>& indices,
              const array& updates, const std::vector<int>& axes, StreamOrDevice s = {});
array take(const array& a, const array& indices, std::optional<int> axis, StreamOrDevice s = {});
array take_along_axis(const array& a, const array& indices, std::optional<int> axis,
                      StreamOrDevice s = {});
array put_along_axis(const array& a, const array& indices, const array& values,
                     std::optional<int> axis, StreamOrDevice s = {});
// MLX's mx.slice / mx.slice_update with array start indices.
array dynamic_slice(const array& a, const array& start, const std::vector<int>& axes,
                    const Shape& slice_size, StreamOrDevice s = {});
array dynamic_slice_update(const array& a, const array& update, const array& start,
                           const std::vector<int>& axes, StreamOrDevice s = {});

// ---- sorting (sort/partition family; ops/sort.cpp) ----
// axis nullopt: over the flattened array. Indices are uint32, as MLX.
array sort(const array& a, std::optional<int> axis = -1, StreamOrDevice s = {});
array argsort(const array& a, std::optional<int> axis = -1, StreamOrDevice s = {});
array partition(const array& a, int kth, std::optional<int> axis = -1, StreamOrDevice s = {});
array argpartition(const array& a, int kth, std::optional<int> axis = -1, StreamOrDevice s = {});
array topk(const array& a, int k, std::optional<int> axis = -1, StreamOrDevice s = {});
// axes empty: every axis.
array median(const array& a, const std::vector<int>& axes, bool keepdims = false,
             StreamOrDevice s = {});
array searchsorted(const array& sorted_sequence, const array& values, bool right = false,
                   StreamOrDevice s = {});
// {values[, index][, inverse][, counts]} of the flattened array, `size` long.
std::vector<array> unique(const array& a, int64_t size, bool return_index, bool return_inverse,
                          bool return_counts, std::optional<array> fill_value,
                          StreamOrDevice s = {});

// ---- misc (ops/misc.cpp, ops/einsum.cpp) ----
array view(const array& a, Dtype dtype, StreamOrDevice s = {});
bool can_cast(Dtype from, Dtype to);
std::vector<array> depends(const std::vector<array>& inputs, const std::vector<array>& deps);
array bartlett(int M, StreamOrDevice s = {});
array blackman(int M, StreamOrDevice s = {});
array hamming(int M, StreamOrDevice s = {});
array hanning(int M, StreamOrDevice s = {});
// fp8 e4m3 bits (uint8) from a floating array, and back.
array to_fp8(const array& x, StreamOrDevice s = {});
array from_fp8(const array& x, Dtype dtype = bfloat16, StreamOrDevice s = {});
array einsum(const std::string& subscripts, const std::vector<array>& operands,
             StreamOrDevice s = {});
// The greedy pairwise contraction path and a report of it.
std::pair<std::vector<std::vector<int>>, std::string> einsum_path(
    const std::string& subscripts, const std::vector<array>& operands);

// ---- helpers shared by the op files ----
int normalize_axis(int axis, int ndim, const char* op);
std::vector<int> normalize_axes(const std::vector<int>& axes, int ndim, const char* op);
std::vector<int> all_axes(int ndim);

// ---- mx.linalg (ops/linalg_ops.cpp, ops/linalg_norm.cpp) ----
namespace linalg {
array norm(const array& a, const std::optional<std::vector<int>>& axis = std::nullopt,
           bool keepdims = false, StreamOrDevice s = {});
array norm(const array& a, double ord, const std::optional<std::vector<int>>& axis = std::nullopt,
           bool keepdims = false, StreamOrDevice s = {});
array norm(const array& a, const std::string& ord,
           const std::optional<std::vector<int>>& axis = std::nullopt, bool keepdims = false,
           StreamOrDevice s = {});
array inv(const array& a, StreamOrDevice s = {});
array pinv(const array& a, StreamOrDevice s = {});
array tri_inv(const array& a, bool upper = false, StreamOrDevice s = {});
array cholesky(const array& a, bool upper = false, StreamOrDevice s = {});
array cholesky_inv(const array& l, bool upper = false, StreamOrDevice s = {});
std::vector<array> qr(const array& a, StreamOrDevice s = {});                       // Q, R
std::vector<array> svd(const array& a, bool compute_uv = true, StreamOrDevice s = {});  // U, S, Vt | S
std::vector<array> eig(const array& a, StreamOrDevice s = {});                      // w, V
array eigvals(const array& a, StreamOrDevice s = {});
std::vector<array> eigh(const array& a, const std::string& uplo = "L", StreamOrDevice s = {});
array eigvalsh(const array& a, const std::string& uplo = "L", StreamOrDevice s = {});
std::vector<array> lu(const array& a, StreamOrDevice s = {});         // P (row indices), L, U
std::vector<array> lu_factor(const array& a, StreamOrDevice s = {});  // LU, pivots
array solve(const array& a, const array& b, StreamOrDevice s = {});
array solve_triangular(const array& a, const array& b, bool upper = false, StreamOrDevice s = {});
array cross(const array& a, const array& b, int axis = -1, StreamOrDevice s = {});
array det(const array& a, StreamOrDevice s = {});
std::vector<array> slogdet(const array& a, StreamOrDevice s = {});  // sign, logabsdet
}  // namespace linalg

}  // namespace oxmlx
