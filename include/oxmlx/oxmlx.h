/*
 * oxmlx C ABI (C99).
 *
 * Conventions
 *  - Every function returns an oxmlx_status; OXMLX_OK (0) is success. On
 *    failure a message is kept per thread (oxmlx_last_error()) until the next
 *    failure on that thread or oxmlx_clear_error(). No C++ exception crosses
 *    this boundary.
 *  - Handles (oxmlx_array, oxmlx_vector_array, oxmlx_stream, oxmlx_device,
 *    oxmlx_names) are opaque pointers. A function that produces a handle
 *    writes a NEW handle to its first argument `out` (set to NULL on failure);
 *    the caller owns it and releases it with the matching *_free function.
 *    Input handles are borrowed, never consumed. *_free accepts NULL.
 *  - Arrays are immutable values with lazy evaluation: ops build a graph and
 *    nothing is computed until oxmlx_eval / oxmlx_array_eval or a copy out.
 *  - A `stream` argument may be NULL: the default stream of the default
 *    device.
 *  - Axis lists: `axes` NULL means every axis (MLX's axis=None); negative
 *    axes count from the end. A single optional axis uses OXMLX_AXIS_NONE
 *    for "none" (flattened input).
 *  - Handles may be used from several threads, but one array graph should be
 *    evaluated by one thread at a time.
 */
#ifndef OXMLX_OXMLX_H
#define OXMLX_OXMLX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OXMLX_ABI_VERSION_MAJOR 1
#define OXMLX_ABI_VERSION_MINOR 0
/* (major << 16) | minor, as returned by oxmlx_abi_version(). A program built
 * against major M runs with a library of major M and any minor >= its own. */
#define OXMLX_ABI_VERSION ((OXMLX_ABI_VERSION_MAJOR << 16) | OXMLX_ABI_VERSION_MINOR)

#if defined(_WIN32)
#define OXMLX_API __declspec(dllimport)
#elif defined(__GNUC__)
#define OXMLX_API __attribute__((visibility("default")))
#else
#define OXMLX_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ basics */

typedef enum oxmlx_status {
  OXMLX_OK = 0,
  OXMLX_ERROR_VALUE = 1,            /* bad value/shape (Python: ValueError) */
  OXMLX_ERROR_INDEX = 2,            /* bad axis/index (Python: IndexError) */
  OXMLX_ERROR_TYPE = 3,             /* bad dtype/kind (Python: TypeError) */
  OXMLX_ERROR_RUNTIME = 4,          /* failure while running (RuntimeError) */
  OXMLX_ERROR_INVALID_ARGUMENT = 5, /* NULL handle/pointer or bad enum value */
  OXMLX_ERROR_OUT_OF_MEMORY = 6,
  OXMLX_ERROR_CALLBACK = 7,         /* a user callback returned an error */
  OXMLX_ERROR_UNKNOWN = 8
} oxmlx_status;

/* Same order as MLX's Dtype::Val. */
typedef enum oxmlx_dtype {
  OXMLX_BOOL = 0,
  OXMLX_UINT8,
  OXMLX_UINT16,
  OXMLX_UINT32,
  OXMLX_UINT64,
  OXMLX_INT8,
  OXMLX_INT16,
  OXMLX_INT32,
  OXMLX_INT64,
  OXMLX_FLOAT16,
  OXMLX_FLOAT32,
  OXMLX_FLOAT64,
  OXMLX_BFLOAT16,
  OXMLX_COMPLEX64 /* interleaved (real, imag) float32 pairs */
} oxmlx_dtype;

typedef enum oxmlx_device_type { OXMLX_CPU = 0, OXMLX_GPU = 1 } oxmlx_device_type;

/* How scatter combines updates with the existing values. */
typedef enum oxmlx_scatter_op {
  OXMLX_SCATTER_NONE = 0, /* assignment */
  OXMLX_SCATTER_SUM,
  OXMLX_SCATTER_PROD,
  OXMLX_SCATTER_MAX,
  OXMLX_SCATTER_MIN
} oxmlx_scatter_op;

#define OXMLX_AXIS_NONE INT32_MIN

typedef struct oxmlx_array_* oxmlx_array;
typedef struct oxmlx_vector_array_* oxmlx_vector_array;
typedef struct oxmlx_stream_* oxmlx_stream;
typedef struct oxmlx_device_* oxmlx_device;
typedef struct oxmlx_names_* oxmlx_names;

/* (major << 16) | minor of the library actually loaded. */
OXMLX_API uint32_t oxmlx_abi_version(void);
/* The library's version string ("0.1.0"). */
OXMLX_API const char* oxmlx_version(void);
/* Message of the last failure on this thread ("" if none). Valid until the
 * next failure on this thread. */
OXMLX_API const char* oxmlx_last_error(void);
OXMLX_API void oxmlx_clear_error(void);
/* Lets a callback report why it failed (kept as the last error). */
OXMLX_API void oxmlx_set_error(const char* message);
/* "OXMLX_OK", "OXMLX_ERROR_VALUE", ... */
OXMLX_API const char* oxmlx_status_name(oxmlx_status s);

/* Item size in bytes (0 for an unknown dtype) and name ("float32", NULL if unknown). */
OXMLX_API size_t oxmlx_dtype_size(oxmlx_dtype d);
OXMLX_API const char* oxmlx_dtype_name(oxmlx_dtype d);

/* ---------------------------------------------------- devices and streams */

OXMLX_API oxmlx_status oxmlx_device_new(oxmlx_device* out, oxmlx_device_type type, int index);
OXMLX_API oxmlx_status oxmlx_device_free(oxmlx_device d);
OXMLX_API oxmlx_status oxmlx_device_copy(oxmlx_device* out, const oxmlx_device d);
OXMLX_API oxmlx_status oxmlx_device_get_type(const oxmlx_device d, oxmlx_device_type* type);
OXMLX_API oxmlx_status oxmlx_device_get_index(const oxmlx_device d, int* index);
OXMLX_API oxmlx_status oxmlx_device_is_available(const oxmlx_device d, bool* available);
OXMLX_API oxmlx_status oxmlx_default_device(oxmlx_device* out);
OXMLX_API oxmlx_status oxmlx_set_default_device(const oxmlx_device d);

/* A new stream on device d (NULL: the default device), run by the device's
 * default backend, or by the backend named `backend` ("cpu", ...). */
OXMLX_API oxmlx_status oxmlx_stream_new(oxmlx_stream* out, const oxmlx_device d);
OXMLX_API oxmlx_status oxmlx_stream_new_on_backend(oxmlx_stream* out, const oxmlx_device d,
                                                   const char* backend);
OXMLX_API oxmlx_status oxmlx_default_stream(oxmlx_stream* out, const oxmlx_device d);
OXMLX_API oxmlx_status oxmlx_set_default_stream(const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_stream_free(oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_stream_copy(oxmlx_stream* out, const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_stream_get_index(const oxmlx_stream s, int* index);
OXMLX_API oxmlx_status oxmlx_stream_get_device(oxmlx_device* out, const oxmlx_stream s);
/* Waits for the work queued on s (NULL: on every stream). */
OXMLX_API oxmlx_status oxmlx_synchronize(const oxmlx_stream s);

/* ------------------------------------------------------------------ arrays */

/* A new array holding a copy of `data`: prod(shape) elements of dtype in
 * row-major order. data may be NULL only when the array is empty. */
OXMLX_API oxmlx_status oxmlx_array_new_data(oxmlx_array* out, const void* data,
                                            const int64_t* shape, size_t ndim, oxmlx_dtype dtype);
/* Zero-copy: an array over the caller's row-major buffer `data`, which must
 * stay valid and unchanged until `release(ctx)` is called (once, when the
 * library no longer references the buffer; release may be NULL). The
 * library never writes into the buffer. On failure release is not called. */
OXMLX_API oxmlx_status oxmlx_array_new_data_managed(oxmlx_array* out, void* data,
                                                    const int64_t* shape, size_t ndim,
                                                    oxmlx_dtype dtype, void (*release)(void*),
                                                    void* ctx);
/* 0-d arrays converted to dtype. */
OXMLX_API oxmlx_status oxmlx_array_new_float(oxmlx_array* out, double value, oxmlx_dtype dtype);
OXMLX_API oxmlx_status oxmlx_array_new_int(oxmlx_array* out, int64_t value, oxmlx_dtype dtype);
OXMLX_API oxmlx_status oxmlx_array_new_bool(oxmlx_array* out, bool value);
OXMLX_API oxmlx_status oxmlx_array_free(oxmlx_array a);
/* Another handle to the same (immutable) array value. */
OXMLX_API oxmlx_status oxmlx_array_copy(oxmlx_array* out, const oxmlx_array a);

OXMLX_API oxmlx_status oxmlx_array_ndim(const oxmlx_array a, size_t* ndim);
/* Copies min(ndim, capacity) dims to shape. */
OXMLX_API oxmlx_status oxmlx_array_shape(const oxmlx_array a, int64_t* shape, size_t capacity);
/* One dim; negative axes count from the end. */
OXMLX_API oxmlx_status oxmlx_array_dim(const oxmlx_array a, int axis, int64_t* dim);
OXMLX_API oxmlx_status oxmlx_array_size(const oxmlx_array a, int64_t* size);
OXMLX_API oxmlx_status oxmlx_array_nbytes(const oxmlx_array a, size_t* nbytes);
OXMLX_API oxmlx_status oxmlx_array_dtype(const oxmlx_array a, oxmlx_dtype* dtype);

/* Evaluates a (and what it depends on). */
OXMLX_API oxmlx_status oxmlx_array_eval(const oxmlx_array a);
/* Evaluates a and copies its elements, row-major, to dst; nbytes must equal
 * oxmlx_array_nbytes(a). */
OXMLX_API oxmlx_status oxmlx_array_to_buffer(const oxmlx_array a, void* dst, size_t nbytes);
/* The value of a one-element array, converted. */
OXMLX_API oxmlx_status oxmlx_array_item_float64(const oxmlx_array a, double* value);
OXMLX_API oxmlx_status oxmlx_array_item_int64(const oxmlx_array a, int64_t* value);
OXMLX_API oxmlx_status oxmlx_array_item_bool(const oxmlx_array a, bool* value);

/* ---------------------------------------------------------- vectors of arrays */

OXMLX_API oxmlx_status oxmlx_vector_array_new(oxmlx_vector_array* out);
/* A vector holding the n arrays (handles are borrowed). */
OXMLX_API oxmlx_status oxmlx_vector_array_new_from(oxmlx_vector_array* out,
                                                   const oxmlx_array* arrays, size_t n);
OXMLX_API oxmlx_status oxmlx_vector_array_free(oxmlx_vector_array v);
OXMLX_API oxmlx_status oxmlx_vector_array_copy(oxmlx_vector_array* out, const oxmlx_vector_array v);
OXMLX_API oxmlx_status oxmlx_vector_array_size(const oxmlx_vector_array v, size_t* size);
OXMLX_API oxmlx_status oxmlx_vector_array_append(oxmlx_vector_array v, const oxmlx_array a);
/* A new handle to element i (IndexError when out of range). */
OXMLX_API oxmlx_status oxmlx_vector_array_get(oxmlx_array* out, const oxmlx_vector_array v,
                                              size_t i);
OXMLX_API oxmlx_status oxmlx_vector_array_set(oxmlx_vector_array v, size_t i, const oxmlx_array a);

/* Lists of names (from oxmlx_load_safetensors). */
OXMLX_API oxmlx_status oxmlx_names_size(const oxmlx_names n, size_t* size);
/* Pointer valid while the names handle lives. */
OXMLX_API oxmlx_status oxmlx_names_get(const oxmlx_names n, size_t i, const char** name);
OXMLX_API oxmlx_status oxmlx_names_free(oxmlx_names n);

/* Evaluates every array of v. */
OXMLX_API oxmlx_status oxmlx_eval(const oxmlx_vector_array v);

/* ------------------------------------------------------------- elementwise */

/* Unary ops: oxmlx_abs(&out, a, stream), ... One function each, and by name:
 * oxmlx_unary(&out, "exp", a, stream). */
#define OXMLX_UNARY_OPS(X)                                                                  \
  X(abs) X(negative) X(sign) X(floor) X(ceil) X(trunc) X(sqrt) X(rsqrt) X(square)           \
  X(reciprocal) X(exp) X(expm1) X(log) X(log1p) X(log2) X(log10) X(sin) X(cos) X(tan)      \
  X(arcsin) X(arccos) X(arctan) X(sinh) X(cosh) X(tanh) X(arcsinh) X(arccosh) X(arctanh)    \
  X(sigmoid) X(erf) X(erfinv) X(logical_not) X(bitwise_invert) X(isnan) X(isinf)            \
  X(isfinite) X(isposinf) X(isneginf) X(real) X(imag) X(conjugate) X(stop_gradient)
/* Binary ops (broadcasting, MLX promotion): oxmlx_add(&out, a, b, stream), ...
 * and oxmlx_binary(&out, "add", a, b, stream). */
#define OXMLX_BINARY_OPS(X)                                                                 \
  X(add) X(subtract) X(multiply) X(divide) X(power) X(remainder) X(floor_divide)            \
  X(maximum) X(minimum) X(equal) X(not_equal) X(less) X(less_equal) X(greater)              \
  X(greater_equal) X(logical_and) X(logical_or) X(bitwise_and) X(bitwise_or)                \
  X(bitwise_xor) X(left_shift) X(right_shift) X(arctan2) X(logaddexp) X(matmul) X(outer)    \
  X(inner) X(kron)

#define OXMLX_DECLARE_UNARY_(name) \
  OXMLX_API oxmlx_status oxmlx_##name(oxmlx_array* out, const oxmlx_array a, const oxmlx_stream s);
#define OXMLX_DECLARE_BINARY_(name)                                                  \
  OXMLX_API oxmlx_status oxmlx_##name(oxmlx_array* out, const oxmlx_array a, const oxmlx_array b, \
                                      const oxmlx_stream s);
OXMLX_UNARY_OPS(OXMLX_DECLARE_UNARY_)
OXMLX_BINARY_OPS(OXMLX_DECLARE_BINARY_)
#undef OXMLX_DECLARE_UNARY_
#undef OXMLX_DECLARE_BINARY_

OXMLX_API oxmlx_status oxmlx_unary(oxmlx_array* out, const char* name, const oxmlx_array a,
                                   const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_binary(oxmlx_array* out, const char* name, const oxmlx_array a,
                                    const oxmlx_array b, const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_round(oxmlx_array* out, const oxmlx_array a, int decimals,
                                   const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_where(oxmlx_array* out, const oxmlx_array cond, const oxmlx_array x,
                                   const oxmlx_array y, const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_astype(oxmlx_array* out, const oxmlx_array a, oxmlx_dtype dtype,
                                    const oxmlx_stream s);
/* Either bound may be NULL (not both). */
OXMLX_API oxmlx_status oxmlx_clip(oxmlx_array* out, const oxmlx_array a, const oxmlx_array a_min,
                                  const oxmlx_array a_max, const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_isclose(oxmlx_array* out, const oxmlx_array a, const oxmlx_array b,
                                     double rtol, double atol, bool equal_nan,
                                     const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_allclose(oxmlx_array* out, const oxmlx_array a, const oxmlx_array b,
                                      double rtol, double atol, bool equal_nan,
                                      const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_array_equal(oxmlx_array* out, const oxmlx_array a,
                                         const oxmlx_array b, bool equal_nan,
                                         const oxmlx_stream s);
/* posinf/neginf NULL: the dtype's largest/lowest finite value. */
OXMLX_API oxmlx_status oxmlx_nan_to_num(oxmlx_array* out, const oxmlx_array a, double nan,
                                        const double* posinf, const double* neginf,
                                        const oxmlx_stream s);

/* ---------------------------------------------------------------- creation */

OXMLX_API oxmlx_status oxmlx_zeros(oxmlx_array* out, const int64_t* shape, size_t ndim,
                                   oxmlx_dtype dtype, const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_ones(oxmlx_array* out, const int64_t* shape, size_t ndim,
                                  oxmlx_dtype dtype, const oxmlx_stream s);
/* value (any shape broadcastable to `shape`) converted to dtype. */
OXMLX_API oxmlx_status oxmlx_full(oxmlx_array* out, const int64_t* shape, size_t ndim,
                                  const oxmlx_array value, oxmlx_dtype dtype,
                                  const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_zeros_like(oxmlx_array* out, const oxmlx_array a,
                                        const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_ones_like(oxmlx_array* out, const oxmlx_array a,
                                       const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_arange(oxmlx_array* out, double start, double stop, double step,
                                    oxmlx_dtype dtype, const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_linspace(oxmlx_array* out, double start, double stop, int64_t num,
                                      oxmlx_dtype dtype, const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_eye(oxmlx_array* out, int64_t n, int64_t m, int k, oxmlx_dtype dtype,
                                 const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_identity(oxmlx_array* out, int64_t n, oxmlx_dtype dtype,
                                      const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_tri(oxmlx_array* out, int64_t n, int64_t m, int k, oxmlx_dtype dtype,
                                 const oxmlx_stream s);
/* value broadcast to a's shape, in dtype. */
OXMLX_API oxmlx_status oxmlx_full_like(oxmlx_array* out, const oxmlx_array a,
                                       const oxmlx_array value, oxmlx_dtype dtype,
                                       const oxmlx_stream s);
/* A row-contiguous copy. */
OXMLX_API oxmlx_status oxmlx_copy(oxmlx_array* out, const oxmlx_array a, const oxmlx_stream s);
/* a itself when already row-contiguous (or column-contiguous and
 * allow_col_major), otherwise a row-contiguous copy. */
OXMLX_API oxmlx_status oxmlx_contiguous(oxmlx_array* out, const oxmlx_array a,
                                        bool allow_col_major, const oxmlx_stream s);

/* -------------------------------------------------------------- reductions */

/* axes NULL: every axis. */
#define OXMLX_REDUCE_OPS(X) X(sum) X(prod) X(max) X(min) X(all) X(any) X(mean) X(logsumexp) \
  X(count_nonzero)
#define OXMLX_DECLARE_REDUCE_(name)                                                       \
  OXMLX_API oxmlx_status oxmlx_##name(oxmlx_array* out, const oxmlx_array a, const int* axes, \
                                      size_t naxes, bool keepdims, const oxmlx_stream s);
OXMLX_REDUCE_OPS(OXMLX_DECLARE_REDUCE_)
#undef OXMLX_DECLARE_REDUCE_
OXMLX_API oxmlx_status oxmlx_var(oxmlx_array* out, const oxmlx_array a, const int* axes,
                                 size_t naxes, bool keepdims, int ddof, const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_std(oxmlx_array* out, const oxmlx_array a, const int* axes,
                                 size_t naxes, bool keepdims, int ddof, const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_softmax(oxmlx_array* out, const oxmlx_array a, const int* axes,
                                     size_t naxes, bool precise, const oxmlx_stream s);
/* axis OXMLX_AXIS_NONE: over the flattened array. */
OXMLX_API oxmlx_status oxmlx_argmax(oxmlx_array* out, const oxmlx_array a, int axis,
                                    bool keepdims, const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_argmin(oxmlx_array* out, const oxmlx_array a, int axis,
                                    bool keepdims, const oxmlx_stream s);
#define OXMLX_SCAN_OPS(X) X(cumsum) X(cumprod) X(cummax) X(cummin) X(logcumsumexp)
#define OXMLX_DECLARE_SCAN_(name)                                                          \
  OXMLX_API oxmlx_status oxmlx_##name(oxmlx_array* out, const oxmlx_array a, int axis,      \
                                      bool reverse, bool inclusive, const oxmlx_stream s);
OXMLX_SCAN_OPS(OXMLX_DECLARE_SCAN_)
#undef OXMLX_DECLARE_SCAN_

/* ------------------------------------------------------------------- shape */

/* One dim of shape may be -1 (inferred). */
OXMLX_API oxmlx_status oxmlx_reshape(oxmlx_array* out, const oxmlx_array a, const int64_t* shape,
                                     size_t ndim, const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_flatten(oxmlx_array* out, const oxmlx_array a, int start_axis,
                                     int end_axis, const oxmlx_stream s);
/* axes NULL: reversed axes. */
OXMLX_API oxmlx_status oxmlx_transpose(oxmlx_array* out, const oxmlx_array a, const int* axes,
                                       size_t naxes, const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_swapaxes(oxmlx_array* out, const oxmlx_array a, int axis1, int axis2,
                                      const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_moveaxis(oxmlx_array* out, const oxmlx_array a, int source,
                                      int destination, const oxmlx_stream s);
/* axes NULL: every size-1 axis. */
OXMLX_API oxmlx_status oxmlx_squeeze(oxmlx_array* out, const oxmlx_array a, const int* axes,
                                     size_t naxes, const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_expand_dims(oxmlx_array* out, const oxmlx_array a, const int* axes,
                                         size_t naxes, const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_broadcast_to(oxmlx_array* out, const oxmlx_array a,
                                          const int64_t* shape, size_t ndim, const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_broadcast_arrays(oxmlx_vector_array* out,
                                              const oxmlx_vector_array arrays,
                                              const oxmlx_stream s);
/* Python slicing a[start:stop:step] per axis (ndim entries each; NULL steps:
 * all 1). Negative start/stop count from the end and are clamped like
 * Python's; INT64_MAX / INT64_MIN stand for an omitted bound. */
OXMLX_API oxmlx_status oxmlx_slice(oxmlx_array* out, const oxmlx_array a, const int64_t* start,
                                   const int64_t* stop, const int64_t* strides, size_t ndim,
                                   const oxmlx_stream s);
/* a with a[start:stop:step] replaced by update (broadcast to the slice). */
OXMLX_API oxmlx_status oxmlx_slice_update(oxmlx_array* out, const oxmlx_array a,
                                          const oxmlx_array update, const int64_t* start,
                                          const int64_t* stop, const int64_t* strides,
                                          size_t ndim, const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_as_strided(oxmlx_array* out, const oxmlx_array a,
                                        const int64_t* shape, size_t ndim, const int64_t* strides,
                                        int64_t offset, const oxmlx_stream s);
/* axis OXMLX_AXIS_NONE: the arrays are flattened first. */
OXMLX_API oxmlx_status oxmlx_concatenate(oxmlx_array* out, const oxmlx_vector_array arrays,
                                         int axis, const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_stack(oxmlx_array* out, const oxmlx_vector_array arrays, int axis,
                                   const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_split_sections(oxmlx_vector_array* out, const oxmlx_array a,
                                            int sections, int axis, const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_split_indices(oxmlx_vector_array* out, const oxmlx_array a,
                                           const int64_t* indices, size_t n, int axis,
                                           const oxmlx_stream s);
/* widths: 2 * ndim values (before, after) per axis; mode "constant" (value,
 * NULL: 0) or "edge". */
OXMLX_API oxmlx_status oxmlx_pad(oxmlx_array* out, const oxmlx_array a, const int64_t* widths,
                                 size_t ndim, const oxmlx_array value, const char* mode,
                                 const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_repeat(oxmlx_array* out, const oxmlx_array a, int64_t repeats,
                                    int axis, const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_tile(oxmlx_array* out, const oxmlx_array a, const int64_t* reps,
                                  size_t n, const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_flip(oxmlx_array* out, const oxmlx_array a, const int* axes,
                                  size_t naxes, const oxmlx_stream s);
/* axes NULL: the flattened array rolled by shifts[0]; otherwise one shift
 * per axis (or a single shift for all). */
OXMLX_API oxmlx_status oxmlx_roll(oxmlx_array* out, const oxmlx_array a, const int64_t* shifts,
                                  size_t nshifts, const int* axes, size_t naxes,
                                  const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_tril(oxmlx_array* out, const oxmlx_array a, int k,
                                  const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_triu(oxmlx_array* out, const oxmlx_array a, int k,
                                  const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_diagonal(oxmlx_array* out, const oxmlx_array a, int offset,
                                      int axis1, int axis2, const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_diag(oxmlx_array* out, const oxmlx_array a, int k,
                                  const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_trace(oxmlx_array* out, const oxmlx_array a, int offset, int axis1,
                                   int axis2, const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_diff(oxmlx_array* out, const oxmlx_array a, int n, int axis,
                                  const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_tensordot(oxmlx_array* out, const oxmlx_array a, const oxmlx_array b,
                                       const int* axes_a, const int* axes_b, size_t naxes,
                                       const oxmlx_stream s);

/* alpha * (a @ b) + beta * c (real floating types). */
OXMLX_API oxmlx_status oxmlx_addmm(oxmlx_array* out, const oxmlx_array c, const oxmlx_array a,
                                   const oxmlx_array b, double alpha, double beta,
                                   const oxmlx_stream s);
/* indexing "xy" (NULL: "xy") or "ij". */
OXMLX_API oxmlx_status oxmlx_meshgrid(oxmlx_vector_array* out, const oxmlx_vector_array arrays,
                                      bool sparse, const char* indexing, const oxmlx_stream s);
/* Splits axis into shape (one entry may be -1). */
OXMLX_API oxmlx_status oxmlx_unflatten(oxmlx_array* out, const oxmlx_array a, int axis,
                                       const int64_t* shape, size_t ndim, const oxmlx_stream s);

/* ---------------------------------------------------------------- indexing */

/* axis OXMLX_AXIS_NONE: indices into the flattened array. */
OXMLX_API oxmlx_status oxmlx_take(oxmlx_array* out, const oxmlx_array a,
                                  const oxmlx_array indices, int axis, const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_take_along_axis(oxmlx_array* out, const oxmlx_array a,
                                             const oxmlx_array indices, int axis,
                                             const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_put_along_axis(oxmlx_array* out, const oxmlx_array a,
                                            const oxmlx_array indices, const oxmlx_array values,
                                            int axis, const oxmlx_stream s);
/* Slices of size slice_sizes (a.ndim entries) of a starting at the index
 * arrays along axes (one index array per axis). */
OXMLX_API oxmlx_status oxmlx_gather(oxmlx_array* out, const oxmlx_array a,
                                    const oxmlx_vector_array indices, const int* axes,
                                    size_t naxes, const int64_t* slice_sizes, size_t nsizes,
                                    const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_scatter(oxmlx_array* out, oxmlx_scatter_op op, const oxmlx_array a,
                                     const oxmlx_vector_array indices, const oxmlx_array updates,
                                     const int* axes, size_t naxes, const oxmlx_stream s);
/* MLX's mx.slice / mx.slice_update with an array of start indices. */
OXMLX_API oxmlx_status oxmlx_dynamic_slice(oxmlx_array* out, const oxmlx_array a,
                                           const oxmlx_array start, const int* axes, size_t naxes,
                                           const int64_t* slice_size, size_t nsizes,
                                           const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_dynamic_slice_update(oxmlx_array* out, const oxmlx_array a,
                                                  const oxmlx_array update,
                                                  const oxmlx_array start, const int* axes,
                                                  size_t naxes, const oxmlx_stream s);

/* ------------------------------------------------------------------ random */

/* Keys are (2,) uint32 arrays. A NULL key uses (and advances) a global key
 * set by oxmlx_random_seed. Same key, same numbers as oxmlx.core.random. */
OXMLX_API oxmlx_status oxmlx_random_seed(uint64_t seed);
OXMLX_API oxmlx_status oxmlx_random_key(oxmlx_array* out, uint64_t seed);
/* (num, 2) keys. */
OXMLX_API oxmlx_status oxmlx_random_split(oxmlx_array* out, const oxmlx_array key, int num,
                                          const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_random_bits(oxmlx_array* out, const int64_t* shape, size_t ndim,
                                         const oxmlx_array key, const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_random_uniform(oxmlx_array* out, const oxmlx_array low,
                                            const oxmlx_array high, const int64_t* shape,
                                            size_t ndim, oxmlx_dtype dtype,
                                            const oxmlx_array key, const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_random_normal(oxmlx_array* out, const int64_t* shape, size_t ndim,
                                           oxmlx_dtype dtype, double loc, double scale,
                                           const oxmlx_array key, const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_random_randint(oxmlx_array* out, const oxmlx_array low,
                                            const oxmlx_array high, const int64_t* shape,
                                            size_t ndim, oxmlx_dtype dtype,
                                            const oxmlx_array key, const oxmlx_stream s);
OXMLX_API oxmlx_status oxmlx_random_bernoulli(oxmlx_array* out, const oxmlx_array p,
                                              const int64_t* shape, size_t ndim,
                                              const oxmlx_array key, const oxmlx_stream s);

/* ---------------------------------------------------------------------- io */

/* .npy (one array) and .safetensors (named arrays). Loaded arrays are copies. */
OXMLX_API oxmlx_status oxmlx_save(const char* path, const oxmlx_array a);
OXMLX_API oxmlx_status oxmlx_load(oxmlx_array* out, const char* path);
OXMLX_API oxmlx_status oxmlx_save_safetensors(const char* path, const char* const* names,
                                              const oxmlx_vector_array arrays);
OXMLX_API oxmlx_status oxmlx_load_safetensors(oxmlx_vector_array* arrays, oxmlx_names* names,
                                              const char* path);

/* -------------------------------------------------------------- transforms */

/* A function of arrays for the transforms. It must set *outputs to a new
 * vector (oxmlx_vector_array_new) that the library then owns, and return
 * OXMLX_OK; on failure it returns another status (and may call
 * oxmlx_set_error). `inputs` is borrowed for the duration of the call. */
typedef oxmlx_status (*oxmlx_function)(const oxmlx_vector_array inputs,
                                       oxmlx_vector_array* outputs, void* payload);

/* Reverse mode: outputs of fn at primals and the cotangents of the primals
 * given cotangents of the outputs (NULL: ones, i.e. a scalar loss). */
OXMLX_API oxmlx_status oxmlx_vjp(oxmlx_vector_array* outputs, oxmlx_vector_array* vjps,
                                 oxmlx_function fn, void* payload,
                                 const oxmlx_vector_array primals,
                                 const oxmlx_vector_array cotangents);
/* Forward mode: outputs and the tangents of the outputs. */
OXMLX_API oxmlx_status oxmlx_jvp(oxmlx_vector_array* outputs, oxmlx_vector_array* jvps,
                                 oxmlx_function fn, void* payload,
                                 const oxmlx_vector_array primals,
                                 const oxmlx_vector_array tangents);
/* The outputs of fn and the gradient of its first output (a scalar) with
 * respect to the inputs listed in argnums (NULL: input 0 only). */
OXMLX_API oxmlx_status oxmlx_value_and_grad(oxmlx_vector_array* values, oxmlx_vector_array* grads,
                                            oxmlx_function fn, void* payload,
                                            const oxmlx_vector_array inputs, const int* argnums,
                                            size_t nargnums);

#ifdef __cplusplus
}
#endif

#endif /* OXMLX_OXMLX_H */
