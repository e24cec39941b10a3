// C ABI: the ops (argument conversion to the builders of ops/ops.h and
// ops/composite.h; no op logic here).
#include <cstring>
#include <utility>

#include "capi/capi.h"
#include "ops/composite.h"

using namespace oxmlx;
using namespace oxmlx::capi;

namespace {

using UnaryFn = array (*)(const array&, StreamOrDevice);
using BinaryFn = array (*)(const array&, const array&, StreamOrDevice);

#define OXMLX_CAPI_UENTRY_(name) {#name, static_cast<UnaryFn>(&oxmlx::name)},
#define OXMLX_CAPI_BENTRY_(name) {#name, static_cast<BinaryFn>(&oxmlx::name)},
const std::pair<const char*, UnaryFn> unary_table[] = {OXMLX_UNARY_OPS(OXMLX_CAPI_UENTRY_)};
const std::pair<const char*, BinaryFn> binary_table[] = {OXMLX_BINARY_OPS(OXMLX_CAPI_BENTRY_)};
#undef OXMLX_CAPI_UENTRY_
#undef OXMLX_CAPI_BENTRY_

// Python's slice.indices(n) for one axis.
void python_slice(int64_t n, int64_t& start, int64_t& stop, int64_t step) {
  if (step == 0) throw ValueError("[slice] Slice step cannot be zero.");
  auto fix = [&](int64_t& v, int64_t lo, int64_t hi) {
    if (v < 0) v = v < -n ? lo : v + n;  // no overflow: v + n >= v
    v = std::clamp(v, lo, hi);
  };
  if (step > 0) {
    fix(start, 0, n);
    fix(stop, 0, n);
  } else {
    fix(start, -1, n - 1);
    fix(stop, -1, n - 1);
  }
}

struct Slice {
  Shape start, stop, step;
};
Slice make_slice(const array& a, const int64_t* start, const int64_t* stop,
                 const int64_t* strides, size_t ndim) {
  if (int(ndim) != a.ndim())
    throw ValueError(msg("[slice] Expected ", a.ndim(), " start/stop entries for an array of shape ",
                         shape_str(a.shape()), ", got ", ndim, "."));
  Slice sl{capi::to_shape(start, ndim, "start"), capi::to_shape(stop, ndim, "stop"),
           strides ? capi::to_shape(strides, ndim, "strides") : Shape(ndim, 1)};
  for (size_t i = 0; i < ndim; ++i) python_slice(a.shape()[i], sl.start[i], sl.stop[i], sl.step[i]);
  return sl;
}

ScanOp scan_op(const char* name) {
  std::string n(name);
  if (n == "cumsum") return ScanOp::Sum;
  if (n == "cumprod") return ScanOp::Prod;
  if (n == "cummax") return ScanOp::Max;
  if (n == "cummin") return ScanOp::Min;
  return ScanOp::LogAddExp;
}

}  // namespace

extern "C" {

// ------------------------------------------------------------- elementwise

#define OXMLX_CAPI_UNARY_(name)                                                      \
  oxmlx_status oxmlx_##name(oxmlx_array* out, const oxmlx_array a, const oxmlx_stream s) { \
    return guard("oxmlx_" #name, [&] {                                               \
      reset(out);                                                                    \
      put(out, oxmlx::name(arr(a), sod(s)));                                         \
    });                                                                              \
  }
#define OXMLX_CAPI_BINARY_(name)                                                      \
  oxmlx_status oxmlx_##name(oxmlx_array* out, const oxmlx_array a, const oxmlx_array b, \
                            const oxmlx_stream s) {                                   \
    return guard("oxmlx_" #name, [&] {                                                \
      reset(out);                                                                     \
      put(out, oxmlx::name(arr(a), arr(b, "b"), sod(s)));                             \
    });                                                                               \
  }
OXMLX_UNARY_OPS(OXMLX_CAPI_UNARY_)
OXMLX_BINARY_OPS(OXMLX_CAPI_BINARY_)
#undef OXMLX_CAPI_UNARY_
#undef OXMLX_CAPI_BINARY_

oxmlx_status oxmlx_unary(oxmlx_array* out, const char* name, const oxmlx_array a,
                         const oxmlx_stream s) {
  return guard("oxmlx_unary", [&] {
    reset(out);
    need(name, "name");
    for (auto& [n, f] : unary_table)
      if (std::strcmp(n, name) == 0) return put(out, f(arr(a), sod(s)));
    throw ValueError(msg("[unary] Unknown unary op '", name, "'."));
  });
}
oxmlx_status oxmlx_binary(oxmlx_array* out, const char* name, const oxmlx_array a,
                          const oxmlx_array b, const oxmlx_stream s) {
  return guard("oxmlx_binary", [&] {
    reset(out);
    need(name, "name");
    for (auto& [n, f] : binary_table)
      if (std::strcmp(n, name) == 0) return put(out, f(arr(a), arr(b, "b"), sod(s)));
    throw ValueError(msg("[binary] Unknown binary op '", name, "'."));
  });
}

#define OXMLX_CAPI_BODY_(fn, ...) \
  return guard(fn, [&] {          \
    reset(out);                   \
    __VA_ARGS__;                  \
  })

oxmlx_status oxmlx_round(oxmlx_array* out, const oxmlx_array a, int decimals, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_round", put(out, round(arr(a), decimals, sod(s))));
}
oxmlx_status oxmlx_where(oxmlx_array* out, const oxmlx_array cond, const oxmlx_array x,
                         const oxmlx_array y, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_where", put(out, where(arr(cond, "cond"), arr(x, "x"), arr(y, "y"), sod(s))));
}
oxmlx_status oxmlx_astype(oxmlx_array* out, const oxmlx_array a, oxmlx_dtype dtype,
                          const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_astype", put(out, astype(arr(a), to_dtype(dtype), sod(s))));
}
oxmlx_status oxmlx_clip(oxmlx_array* out, const oxmlx_array a, const oxmlx_array a_min,
                        const oxmlx_array a_max, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_clip", put(out, clip(arr(a), opt_arr(a_min), opt_arr(a_max), sod(s))));
}
oxmlx_status oxmlx_isclose(oxmlx_array* out, const oxmlx_array a, const oxmlx_array b, double rtol,
                           double atol, bool equal_nan, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_isclose",
                   put(out, isclose(arr(a), arr(b, "b"), rtol, atol, equal_nan, sod(s))));
}
oxmlx_status oxmlx_allclose(oxmlx_array* out, const oxmlx_array a, const oxmlx_array b, double rtol,
                            double atol, bool equal_nan, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_allclose",
                   put(out, allclose(arr(a), arr(b, "b"), rtol, atol, equal_nan, sod(s))));
}
oxmlx_status oxmlx_array_equal(oxmlx_array* out, const oxmlx_array a, const oxmlx_array b,
                               bool equal_nan, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_array_equal", put(out, array_equal(arr(a), arr(b, "b"), equal_nan, sod(s))));
}
oxmlx_status oxmlx_nan_to_num(oxmlx_array* out, const oxmlx_array a, double nan,
                              const double* posinf, const double* neginf, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_nan_to_num", {
    std::optional<double> pi, ni;
    if (posinf) pi = *posinf;
    if (neginf) ni = *neginf;
    put(out, nan_to_num(arr(a), nan, pi, ni, sod(s)));
  });
}

// ---------------------------------------------------------------- creation

oxmlx_status oxmlx_zeros(oxmlx_array* out, const int64_t* shape, size_t ndim, oxmlx_dtype dtype,
                         const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_zeros", put(out, zeros(capi::to_shape(shape, ndim), to_dtype(dtype), sod(s))));
}
oxmlx_status oxmlx_ones(oxmlx_array* out, const int64_t* shape, size_t ndim, oxmlx_dtype dtype,
                        const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_ones", put(out, ones(capi::to_shape(shape, ndim), to_dtype(dtype), sod(s))));
}
oxmlx_status oxmlx_full(oxmlx_array* out, const int64_t* shape, size_t ndim, const oxmlx_array value,
                        oxmlx_dtype dtype, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_full", put(out, full(capi::to_shape(shape, ndim), arr(value, "value"),
                                               to_dtype(dtype), sod(s))));
}
oxmlx_status oxmlx_zeros_like(oxmlx_array* out, const oxmlx_array a, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_zeros_like", put(out, zeros_like(arr(a), sod(s))));
}
oxmlx_status oxmlx_ones_like(oxmlx_array* out, const oxmlx_array a, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_ones_like", put(out, ones_like(arr(a), sod(s))));
}
oxmlx_status oxmlx_arange(oxmlx_array* out, double start, double stop, double step,
                          oxmlx_dtype dtype, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_arange", put(out, arange(start, stop, step, to_dtype(dtype), sod(s))));
}
oxmlx_status oxmlx_linspace(oxmlx_array* out, double start, double stop, int64_t num,
                            oxmlx_dtype dtype, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_linspace", put(out, linspace(start, stop, num, to_dtype(dtype), sod(s))));
}
oxmlx_status oxmlx_eye(oxmlx_array* out, int64_t n, int64_t m, int k, oxmlx_dtype dtype,
                       const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_eye", put(out, eye(n, m, k, to_dtype(dtype), sod(s))));
}
oxmlx_status oxmlx_identity(oxmlx_array* out, int64_t n, oxmlx_dtype dtype, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_identity", put(out, identity(n, to_dtype(dtype), sod(s))));
}
oxmlx_status oxmlx_tri(oxmlx_array* out, int64_t n, int64_t m, int k, oxmlx_dtype dtype,
                       const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_tri", put(out, tri(n, m, k, to_dtype(dtype), sod(s))));
}
oxmlx_status oxmlx_copy(oxmlx_array* out, const oxmlx_array a, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_copy", put(out, copy(arr(a), sod(s))));
}
oxmlx_status oxmlx_full_like(oxmlx_array* out, const oxmlx_array a, const oxmlx_array value,
                             oxmlx_dtype dtype, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_full_like",
                   put(out, full_like(arr(a), arr(value, "value"), to_dtype(dtype), sod(s))));
}
oxmlx_status oxmlx_contiguous(oxmlx_array* out, const oxmlx_array a, bool allow_col_major,
                              const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_contiguous", put(out, contiguous(arr(a), allow_col_major, sod(s))));
}

// -------------------------------------------------------------- reductions

#define OXMLX_CAPI_REDUCE_(name)                                                             \
  oxmlx_status oxmlx_##name(oxmlx_array* out, const oxmlx_array a, const int* axes,          \
                            size_t naxes, bool keepdims, const oxmlx_stream s) {             \
    OXMLX_CAPI_BODY_("oxmlx_" #name, {                                                       \
      const array& x = arr(a);                                                               \
      put(out, oxmlx::name(x, capi::to_axes(axes, naxes, x.ndim()), keepdims, sod(s)));      \
    });                                                                                      \
  }
OXMLX_REDUCE_OPS(OXMLX_CAPI_REDUCE_)
#undef OXMLX_CAPI_REDUCE_

oxmlx_status oxmlx_var(oxmlx_array* out, const oxmlx_array a, const int* axes, size_t naxes,
                       bool keepdims, int ddof, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_var", {
    const array& x = arr(a);
    put(out, var(x, capi::to_axes(axes, naxes, x.ndim()), keepdims, ddof, sod(s)));
  });
}
oxmlx_status oxmlx_std(oxmlx_array* out, const oxmlx_array a, const int* axes, size_t naxes,
                       bool keepdims, int ddof, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_std", {
    const array& x = arr(a);
    put(out, stddev(x, capi::to_axes(axes, naxes, x.ndim()), keepdims, ddof, sod(s)));
  });
}
oxmlx_status oxmlx_softmax(oxmlx_array* out, const oxmlx_array a, const int* axes, size_t naxes,
                           bool precise, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_softmax", {
    const array& x = arr(a);
    put(out, softmax(x, capi::to_axes(axes, naxes, x.ndim()), precise, sod(s)));
  });
}
oxmlx_status oxmlx_argmax(oxmlx_array* out, const oxmlx_array a, int axis, bool keepdims,
                          const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_argmax",
                   put(out, argreduce(ArgReduceOp::ArgMax, arr(a), opt_axis(axis), keepdims, sod(s))));
}
oxmlx_status oxmlx_argmin(oxmlx_array* out, const oxmlx_array a, int axis, bool keepdims,
                          const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_argmin",
                   put(out, argreduce(ArgReduceOp::ArgMin, arr(a), opt_axis(axis), keepdims, sod(s))));
}
#define OXMLX_CAPI_SCAN_(name)                                                                  \
  oxmlx_status oxmlx_##name(oxmlx_array* out, const oxmlx_array a, int axis, bool reverse,       \
                            bool inclusive, const oxmlx_stream s) {                             \
    OXMLX_CAPI_BODY_("oxmlx_" #name,                                                            \
                     put(out, scan(scan_op(#name), arr(a), opt_axis(axis), reverse, inclusive,  \
                                   sod(s))));                                                   \
  }
OXMLX_SCAN_OPS(OXMLX_CAPI_SCAN_)
#undef OXMLX_CAPI_SCAN_

// ------------------------------------------------------------------- shape

oxmlx_status oxmlx_reshape(oxmlx_array* out, const oxmlx_array a, const int64_t* shape,
                           size_t ndim, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_reshape", put(out, reshape(arr(a), capi::to_shape(shape, ndim), sod(s))));
}
oxmlx_status oxmlx_flatten(oxmlx_array* out, const oxmlx_array a, int start_axis, int end_axis,
                           const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_flatten", put(out, flatten(arr(a), start_axis, end_axis, sod(s))));
}
// The shape ops whose axes may be NULL (the op's default then).
#define OXMLX_CAPI_OPT_AXES_(name)                                                          \
  oxmlx_status oxmlx_##name(oxmlx_array* out, const oxmlx_array a, const int* axes,         \
                            size_t naxes, const oxmlx_stream s) {                           \
    OXMLX_CAPI_BODY_("oxmlx_" #name, {                                                      \
      if (axes) put(out, oxmlx::name(arr(a), to_ints(axes, naxes), sod(s)));                \
      else put(out, oxmlx::name(arr(a), sod(s)));                                           \
    });                                                                                     \
  }
OXMLX_CAPI_OPT_AXES_(transpose)
OXMLX_CAPI_OPT_AXES_(squeeze)
#undef OXMLX_CAPI_OPT_AXES_
oxmlx_status oxmlx_swapaxes(oxmlx_array* out, const oxmlx_array a, int axis1, int axis2,
                            const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_swapaxes", put(out, swapaxes(arr(a), axis1, axis2, sod(s))));
}
oxmlx_status oxmlx_moveaxis(oxmlx_array* out, const oxmlx_array a, int source, int destination,
                            const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_moveaxis", put(out, moveaxis(arr(a), source, destination, sod(s))));
}
oxmlx_status oxmlx_expand_dims(oxmlx_array* out, const oxmlx_array a, const int* axes,
                               size_t naxes, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_expand_dims", {
    need(axes, "axes");
    put(out, expand_dims(arr(a), to_ints(axes, naxes), sod(s)));
  });
}
oxmlx_status oxmlx_broadcast_to(oxmlx_array* out, const oxmlx_array a, const int64_t* shape,
                                size_t ndim, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_broadcast_to",
                   put(out, broadcast_to(arr(a), capi::to_shape(shape, ndim), sod(s))));
}
oxmlx_status oxmlx_broadcast_arrays(oxmlx_vector_array* out, const oxmlx_vector_array arrays,
                                    const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_broadcast_arrays", put(out, broadcast_arrays(vec(arrays), sod(s))));
}
oxmlx_status oxmlx_slice(oxmlx_array* out, const oxmlx_array a, const int64_t* start,
                         const int64_t* stop, const int64_t* strides, size_t ndim,
                         const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_slice", {
    const array& x = arr(a);
    Slice sl = make_slice(x, start, stop, strides, ndim);
    put(out, slice(x, sl.start, sl.stop, sl.step, sod(s)));
  });
}
oxmlx_status oxmlx_slice_update(oxmlx_array* out, const oxmlx_array a, const oxmlx_array update,
                                const int64_t* start, const int64_t* stop, const int64_t* strides,
                                size_t ndim, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_slice_update", {
    const array& x = arr(a);
    Slice sl = make_slice(x, start, stop, strides, ndim);
    put(out, slice_update(x, arr(update, "update"), sl.start, sl.stop, sl.step, sod(s)));
  });
}
oxmlx_status oxmlx_as_strided(oxmlx_array* out, const oxmlx_array a, const int64_t* shape,
                              size_t ndim, const int64_t* strides, int64_t offset,
                              const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_as_strided",
                   put(out, as_strided(arr(a), capi::to_shape(shape, ndim),
                                       capi::to_shape(strides, ndim, "strides"), offset, sod(s))));
}
oxmlx_status oxmlx_concatenate(oxmlx_array* out, const oxmlx_vector_array arrays, int axis,
                               const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_concatenate", put(out, concatenate(vec(arrays), opt_axis(axis), sod(s))));
}
oxmlx_status oxmlx_stack(oxmlx_array* out, const oxmlx_vector_array arrays, int axis,
                         const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_stack", put(out, stack(vec(arrays), axis, sod(s))));
}
oxmlx_status oxmlx_split_sections(oxmlx_vector_array* out, const oxmlx_array a, int sections,
                                  int axis, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_split_sections", put(out, split(arr(a), sections, axis, sod(s))));
}
oxmlx_status oxmlx_split_indices(oxmlx_vector_array* out, const oxmlx_array a,
                                 const int64_t* indices, size_t n, int axis, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_split_indices",
                   put(out, split(arr(a), capi::to_shape(indices, n, "indices"), axis, sod(s))));
}
oxmlx_status oxmlx_pad(oxmlx_array* out, const oxmlx_array a, const int64_t* widths, size_t ndim,
                       const oxmlx_array value, const char* mode, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_pad", {
    const array& x = arr(a);
    if (ndim && !widths) throw InvalidArgument("argument 'widths' is NULL");
    std::vector<std::pair<int64_t, int64_t>> w;
    for (size_t i = 0; i < ndim; ++i) w.emplace_back(widths[2 * i], widths[2 * i + 1]);
    array v = value ? value->a : array(0, x.dtype());
    put(out, pad(x, w, v, mode ? std::string(mode) : std::string("constant"), sod(s)));
  });
}
oxmlx_status oxmlx_repeat(oxmlx_array* out, const oxmlx_array a, int64_t repeats, int axis,
                          const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_repeat", put(out, repeat(arr(a), repeats, opt_axis(axis), sod(s))));
}
oxmlx_status oxmlx_tile(oxmlx_array* out, const oxmlx_array a, const int64_t* reps, size_t n,
                        const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_tile", {
    Shape r = capi::to_shape(reps, n, "reps");
    put(out, tile(arr(a), std::vector<int64_t>(r.begin(), r.end()), sod(s)));
  });
}
oxmlx_status oxmlx_flip(oxmlx_array* out, const oxmlx_array a, const int* axes, size_t naxes,
                        const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_flip", {
    const array& x = arr(a);
    put(out, flip(x, capi::to_axes(axes, naxes, x.ndim()), sod(s)));
  });
}
oxmlx_status oxmlx_roll(oxmlx_array* out, const oxmlx_array a, const int64_t* shifts,
                        size_t nshifts, const int* axes, size_t naxes, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_roll",
                   put(out, roll(arr(a), capi::to_shape(shifts, nshifts, "shifts"),
                                 axes ? to_ints(axes, naxes) : std::vector<int>{}, sod(s))));
}
oxmlx_status oxmlx_tril(oxmlx_array* out, const oxmlx_array a, int k, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_tril", put(out, tril(arr(a), k, sod(s))));
}
oxmlx_status oxmlx_triu(oxmlx_array* out, const oxmlx_array a, int k, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_triu", put(out, triu(arr(a), k, sod(s))));
}
oxmlx_status oxmlx_diagonal(oxmlx_array* out, const oxmlx_array a, int offset, int axis1, int axis2,
                            const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_diagonal", put(out, diagonal(arr(a), offset, axis1, axis2, sod(s))));
}
oxmlx_status oxmlx_diag(oxmlx_array* out, const oxmlx_array a, int k, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_diag", put(out, diag(arr(a), k, sod(s))));
}
oxmlx_status oxmlx_trace(oxmlx_array* out, const oxmlx_array a, int offset, int axis1, int axis2,
                         const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_trace",
                   put(out, trace(arr(a), offset, axis1, axis2, std::nullopt, sod(s))));
}
oxmlx_status oxmlx_diff(oxmlx_array* out, const oxmlx_array a, int n, int axis,
                        const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_diff", put(out, diff(arr(a), n, axis, sod(s))));
}
oxmlx_status oxmlx_tensordot(oxmlx_array* out, const oxmlx_array a, const oxmlx_array b,
                             const int* axes_a, const int* axes_b, size_t naxes,
                             const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_tensordot",
                   put(out, tensordot(arr(a), arr(b, "b"), to_ints(axes_a, naxes, "axes_a"),
                                      to_ints(axes_b, naxes, "axes_b"), sod(s))));
}

oxmlx_status oxmlx_addmm(oxmlx_array* out, const oxmlx_array c, const oxmlx_array a,
                         const oxmlx_array b, double alpha, double beta, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_addmm", put(out, addmm(arr(c, "c"), arr(a), arr(b, "b"), alpha, beta, sod(s))));
}
oxmlx_status oxmlx_meshgrid(oxmlx_vector_array* out, const oxmlx_vector_array arrays, bool sparse,
                            const char* indexing, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_meshgrid",
                   put(out, meshgrid(vec(arrays), sparse, indexing ? indexing : "xy", sod(s))));
}
oxmlx_status oxmlx_unflatten(oxmlx_array* out, const oxmlx_array a, int axis, const int64_t* shape,
                             size_t ndim, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_unflatten",
                   put(out, unflatten(arr(a), axis, capi::to_shape(shape, ndim), sod(s))));
}

// ---------------------------------------------------------------- indexing

oxmlx_status oxmlx_take(oxmlx_array* out, const oxmlx_array a, const oxmlx_array indices, int axis,
                        const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_take", put(out, take(arr(a), arr(indices, "indices"), opt_axis(axis), sod(s))));
}
oxmlx_status oxmlx_take_along_axis(oxmlx_array* out, const oxmlx_array a, const oxmlx_array indices,
                                   int axis, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_take_along_axis",
                   put(out, take_along_axis(arr(a), arr(indices, "indices"), opt_axis(axis), sod(s))));
}
oxmlx_status oxmlx_put_along_axis(oxmlx_array* out, const oxmlx_array a, const oxmlx_array indices,
                                  const oxmlx_array values, int axis, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_put_along_axis",
                   put(out, put_along_axis(arr(a), arr(indices, "indices"), arr(values, "values"),
                                           opt_axis(axis), sod(s))));
}
oxmlx_status oxmlx_gather(oxmlx_array* out, const oxmlx_array a, const oxmlx_vector_array indices,
                          const int* axes, size_t naxes, const int64_t* slice_sizes, size_t nsizes,
                          const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_gather",
                   put(out, gather(arr(a), vec(indices, "indices"), to_ints(axes, naxes),
                                   capi::to_shape(slice_sizes, nsizes, "slice_sizes"), sod(s))));
}
oxmlx_status oxmlx_scatter(oxmlx_array* out, oxmlx_scatter_op op, const oxmlx_array a,
                           const oxmlx_vector_array indices, const oxmlx_array updates,
                           const int* axes, size_t naxes, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_scatter", {
    if (int(op) < 0 || int(op) > int(OXMLX_SCATTER_MIN))
      throw InvalidArgument(msg("invalid scatter op ", int(op)));
    put(out, scatter(ScatterOp(int(op)), arr(a), vec(indices, "indices"), arr(updates, "updates"),
                     to_ints(axes, naxes), sod(s)));
  });
}
oxmlx_status oxmlx_dynamic_slice(oxmlx_array* out, const oxmlx_array a, const oxmlx_array start,
                                 const int* axes, size_t naxes, const int64_t* slice_size,
                                 size_t nsizes, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_dynamic_slice",
                   put(out, dynamic_slice(arr(a), arr(start, "start"), to_ints(axes, naxes),
                                          capi::to_shape(slice_size, nsizes, "slice_size"), sod(s))));
}
oxmlx_status oxmlx_dynamic_slice_update(oxmlx_array* out, const oxmlx_array a,
                                        const oxmlx_array update, const oxmlx_array start,
                                        const int* axes, size_t naxes, const oxmlx_stream s) {
  OXMLX_CAPI_BODY_("oxmlx_dynamic_slice_update",
                   put(out, dynamic_slice_update(arr(a), arr(update, "update"), arr(start, "start"),
                                                 to_ints(axes, naxes), sod(s))));
}

}  // extern "C"
