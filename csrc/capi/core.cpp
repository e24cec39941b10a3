// C ABI: errors, dtypes, devices, streams, arrays, vectors and names.
#include <cstring>
#include <type_traits>

#include "capi/capi.h"
#include "core/host.h"
#include "core/primitive.h"

namespace oxmlx::capi {

namespace {
thread_local std::string last_error;
}  // namespace

void set_error(const std::string& m) { last_error = m; }

Dtype to_dtype(oxmlx_dtype d) {
  int v = int(d);
  if (v < 0 || v >= Dtype::count) throw TypeError(msg("Invalid dtype value ", v, "."));
  return dtype_from_val(Dtype::Val(v));
}
oxmlx_dtype from_dtype(Dtype d) { return oxmlx_dtype(int(d.val)); }

StreamOrDevice sod(const oxmlx_stream s) {
  if (!s) return std::monostate{};
  return s->s;
}

Shape to_shape(const int64_t* shape, size_t ndim, const char* what) {
  if (ndim && !shape) throw InvalidArgument(msg("argument '", what, "' is NULL"));
  return Shape(shape, shape + ndim);
}

std::vector<int> to_ints(const int* p, size_t n, const char* what) {
  if (n && !p) throw InvalidArgument(msg("argument '", what, "' is NULL"));
  return std::vector<int>(p, p + n);
}

std::vector<int> to_axes(const int* axes, size_t naxes, int ndim) {
  if (!axes) return all_axes(ndim);
  return std::vector<int>(axes, axes + naxes);
}

void put(oxmlx_array* out, array a) { *out = new oxmlx_array_{std::move(a)}; }
void put(oxmlx_vector_array* out, std::vector<array> v) {
  *out = new oxmlx_vector_array_{std::move(v)};
}

array dense(const array& a) {
  array x = a;
  x.eval();
  if (!x.flags().row_contiguous) {
    x = contiguous(x);
    x.eval();
  }
  return host_array(x);
}

namespace {

void no_release(void*) {}

template <typename T>
T item_as(const array& a) {
  if (a.size() != 1)
    throw ValueError(msg("[item] Only arrays of size 1 have an item, got shape ",
                         shape_str(a.shape()), "."));
  array x = a;
  return x.item<T>();
}

// The shape of a new array from C: no negative dimension, and data given
// unless the array is empty.
Shape new_array_shape(const int64_t* shape, size_t ndim, const void* data) {
  Shape sh = capi::to_shape(shape, ndim);
  for (auto d : sh)
    if (d < 0)
      throw ValueError(msg("[array] Negative dimensions are not allowed, got shape ",
                           shape_str(sh), "."));
  if (shape_size(sh) > 0 && !data) throw InvalidArgument("argument 'data' is NULL");
  return sh;
}

// Entry points shared by the handles that hold one value (device, stream,
// names): free, copy (what: the handle argument's name) and getters that
// write get(*h) to *dst after checking both pointers.
template <typename H>
oxmlx_status free_handle(H h) {
  delete h;
  return OXMLX_OK;
}
template <typename H>
oxmlx_status copy_handle(const char* fn, H* out, const H h, const char* what) {
  return guard(fn, [&] {
    reset(out);
    need(h, what);
    *out = new std::remove_pointer_t<H>(*h);
  });
}
template <typename H, typename T, typename F>
oxmlx_status get_field(const char* fn, const H h, const char* what, T* dst, const char* dst_what,
                       F&& get) {
  return guard(fn, [&] {
    need(h, what);
    need(dst, dst_what);
    *dst = get(*h);
  });
}

// Getters of an array: *dst = get(the array of a), dst checked first.
template <typename T, typename F>
oxmlx_status array_get(const char* fn, const oxmlx_array a, T* dst, const char* dst_what,
                       F&& get) {
  return guard(fn, [&] {
    need(dst, dst_what);
    *dst = get(arr(a));
  });
}

}  // namespace

}  // namespace oxmlx::capi

using namespace oxmlx;
using namespace oxmlx::capi;

extern "C" {

// ------------------------------------------------------------------ basics

uint32_t oxmlx_abi_version(void) { return OXMLX_ABI_VERSION; }
const char* oxmlx_version(void) { return "0.1.0"; }
const char* oxmlx_last_error(void) { return capi::last_error.c_str(); }
void oxmlx_clear_error(void) { capi::last_error.clear(); }
void oxmlx_set_error(const char* message) {
  try {
    capi::last_error = message ? message : "";
  } catch (...) {
  }
}

const char* oxmlx_status_name(oxmlx_status s) {
  switch (s) {
    case OXMLX_OK: return "OXMLX_OK";
    case OXMLX_ERROR_VALUE: return "OXMLX_ERROR_VALUE";
    case OXMLX_ERROR_INDEX: return "OXMLX_ERROR_INDEX";
    case OXMLX_ERROR_TYPE: return "OXMLX_ERROR_TYPE";
    case OXMLX_ERROR_RUNTIME: return "OXMLX_ERROR_RUNTIME";
    case OXMLX_ERROR_INVALID_ARGUMENT: return "OXMLX_ERROR_INVALID_ARGUMENT";
    case OXMLX_ERROR_OUT_OF_MEMORY: return "OXMLX_ERROR_OUT_OF_MEMORY";
    case OXMLX_ERROR_CALLBACK: return "OXMLX_ERROR_CALLBACK";
    case OXMLX_ERROR_UNKNOWN: return "OXMLX_ERROR_UNKNOWN";
  }
  return "OXMLX_ERROR_UNKNOWN";
}

size_t oxmlx_dtype_size(oxmlx_dtype d) {
  int v = int(d);
  if (v < 0 || v >= Dtype::count) return 0;
  return dtype_from_val(Dtype::Val(v)).size;
}

const char* oxmlx_dtype_name(oxmlx_dtype d) {
  int v = int(d);
  if (v < 0 || v >= Dtype::count) return nullptr;
  return dtype_name(dtype_from_val(Dtype::Val(v)));
}

// ------------------------------------------------------- devices, streams

oxmlx_status oxmlx_device_new(oxmlx_device* out, oxmlx_device_type type, int index) {
  return guard("oxmlx_device_new", [&] {
    reset(out);
    if (type != OXMLX_CPU && type != OXMLX_GPU)
      throw InvalidArgument(msg("invalid device type ", int(type)));
    if (index < 0) throw ValueError(msg("[device] Invalid device index ", index, "."));
    *out = new oxmlx_device_{Device(Device::DeviceType(int(type)), index)};
  });
}
oxmlx_status oxmlx_device_free(oxmlx_device d) { return free_handle(d); }
oxmlx_status oxmlx_device_copy(oxmlx_device* out, const oxmlx_device d) {
  return copy_handle("oxmlx_device_copy", out, d, "d");
}
oxmlx_status oxmlx_device_get_type(const oxmlx_device d, oxmlx_device_type* type) {
  return get_field("oxmlx_device_get_type", d, "d", type, "type",
                   [](const oxmlx_device_& h) { return oxmlx_device_type(int(h.d.type)); });
}
oxmlx_status oxmlx_device_get_index(const oxmlx_device d, int* index) {
  return get_field("oxmlx_device_get_index", d, "d", index, "index",
                   [](const oxmlx_device_& h) { return h.d.index; });
}
oxmlx_status oxmlx_device_is_available(const oxmlx_device d, bool* available) {
  return get_field("oxmlx_device_is_available", d, "d", available, "available",
                   [](const oxmlx_device_& h) { return is_available(h.d); });
}
oxmlx_status oxmlx_default_device(oxmlx_device* out) {
  return guard("oxmlx_default_device", [&] {
    reset(out);
    *out = new oxmlx_device_{default_device()};
  });
}
oxmlx_status oxmlx_set_default_device(const oxmlx_device d) {
  return guard("oxmlx_set_default_device", [&] {
    need(d, "d");
    set_default_device(d->d);
  });
}

oxmlx_status oxmlx_stream_new(oxmlx_stream* out, const oxmlx_device d) {
  return guard("oxmlx_stream_new", [&] {
    reset(out);
    *out = new oxmlx_stream_{new_stream(d ? d->d : default_device())};
  });
}
oxmlx_status oxmlx_stream_new_on_backend(oxmlx_stream* out, const oxmlx_device d,
                                         const char* backend) {
  return guard("oxmlx_stream_new_on_backend", [&] {
    reset(out);
    need(backend, "backend");
    *out = new oxmlx_stream_{new_stream(d ? d->d : default_device(), std::string(backend))};
  });
}
oxmlx_status oxmlx_default_stream(oxmlx_stream* out, const oxmlx_device d) {
  return guard("oxmlx_default_stream", [&] {
    reset(out);
    *out = new oxmlx_stream_{default_stream(d ? d->d : default_device())};
  });
}
oxmlx_status oxmlx_set_default_stream(const oxmlx_stream s) {
  return guard("oxmlx_set_default_stream", [&] {
    need(s, "s");
    set_default_stream(s->s);
  });
}
oxmlx_status oxmlx_stream_free(oxmlx_stream s) { return free_handle(s); }
oxmlx_status oxmlx_stream_copy(oxmlx_stream* out, const oxmlx_stream s) {
  return copy_handle("oxmlx_stream_copy", out, s, "s");
}
oxmlx_status oxmlx_stream_get_index(const oxmlx_stream s, int* index) {
  return get_field("oxmlx_stream_get_index", s, "s", index, "index",
                   [](const oxmlx_stream_& h) { return h.s.index; });
}
oxmlx_status oxmlx_stream_get_device(oxmlx_device* out, const oxmlx_stream s) {
  return guard("oxmlx_stream_get_device", [&] {
    reset(out);
    need(s, "s");
    *out = new oxmlx_device_{s->s.device};
  });
}
oxmlx_status oxmlx_synchronize(const oxmlx_stream s) {
  return guard("oxmlx_synchronize", [&] {
    if (s) synchronize(s->s);
    else synchronize();
  });
}

// ------------------------------------------------------------------ arrays

oxmlx_status oxmlx_array_new_data(oxmlx_array* out, const void* data, const int64_t* shape,
                                  size_t ndim, oxmlx_dtype dtype) {
  return guard("oxmlx_array_new_data", [&] {
    reset(out);
    Dtype dt = to_dtype(dtype);
    Shape sh = new_array_shape(shape, ndim, data);
    if (shape_size(sh) == 0) {
      put(out, zeros(sh, dt));
      return;
    }
    put(out, array(data, std::move(sh), dt));
  });
}
oxmlx_status oxmlx_array_new_data_managed(oxmlx_array* out, void* data, const int64_t* shape,
                                          size_t ndim, oxmlx_dtype dtype, void (*release)(void*),
                                          void* ctx) {
  return guard("oxmlx_array_new_data_managed", [&] {
    reset(out);
    Dtype dt = to_dtype(dtype);
    Shape sh = new_array_shape(shape, ndim, data);
    int64_t n = shape_size(sh);
    // A release function (a no-op when none is given) also marks the buffer
    // as foreign, so no kernel ever donates it and writes into it.
    auto d = allocator::wrap(data, size_t(n) * dt.size, ctx, release ? release : &no_release);
    put(out, array(std::move(d), sh, dt, row_major_strides(sh), 0));
  });
}
oxmlx_status oxmlx_array_new_float(oxmlx_array* out, double value, oxmlx_dtype dtype) {
  return guard("oxmlx_array_new_float", [&] {
    reset(out);
    put(out, array(value, to_dtype(dtype)));
  });
}
oxmlx_status oxmlx_array_new_int(oxmlx_array* out, int64_t value, oxmlx_dtype dtype) {
  return guard("oxmlx_array_new_int", [&] {
    reset(out);
    put(out, array(value, to_dtype(dtype)));
  });
}
oxmlx_status oxmlx_array_new_bool(oxmlx_array* out, bool value) {
  return guard("oxmlx_array_new_bool", [&] {
    reset(out);
    put(out, array(value, bool_));
  });
}
oxmlx_status oxmlx_array_free(oxmlx_array a) {
  return guard("oxmlx_array_free", [&] { delete a; });
}
oxmlx_status oxmlx_array_copy(oxmlx_array* out, const oxmlx_array a) {
  return guard("oxmlx_array_copy", [&] {
    reset(out);
    put(out, arr(a));
  });
}

oxmlx_status oxmlx_array_ndim(const oxmlx_array a, size_t* ndim) {
  return array_get("oxmlx_array_ndim", a, ndim, "ndim",
                   [](const array& x) { return size_t(x.ndim()); });
}
oxmlx_status oxmlx_array_shape(const oxmlx_array a, int64_t* shape, size_t capacity) {
  return guard("oxmlx_array_shape", [&] {
    const array& x = arr(a);
    if (capacity && !shape) throw InvalidArgument("argument 'shape' is NULL");
    size_t n = std::min(capacity, size_t(x.ndim()));
    for (size_t i = 0; i < n; ++i) shape[i] = x.shape()[i];
  });
}
oxmlx_status oxmlx_array_dim(const oxmlx_array a, int axis, int64_t* dim) {
  return array_get("oxmlx_array_dim", a, dim, "dim", [axis](const array& x) {
    return x.shape(normalize_axis(axis, x.ndim(), "dim"));
  });
}
oxmlx_status oxmlx_array_size(const oxmlx_array a, int64_t* size) {
  return array_get("oxmlx_array_size", a, size, "size", [](const array& x) { return x.size(); });
}
oxmlx_status oxmlx_array_nbytes(const oxmlx_array a, size_t* nbytes) {
  return array_get("oxmlx_array_nbytes", a, nbytes, "nbytes",
                   [](const array& x) { return x.nbytes(); });
}
oxmlx_status oxmlx_array_dtype(const oxmlx_array a, oxmlx_dtype* dtype) {
  return array_get("oxmlx_array_dtype", a, dtype, "dtype",
                   [](const array& x) { return from_dtype(x.dtype()); });
}

oxmlx_status oxmlx_array_eval(const oxmlx_array a) {
  return guard("oxmlx_array_eval", [&] {
    array x = arr(a);
    x.eval();
  });
}
oxmlx_status oxmlx_array_to_buffer(const oxmlx_array a, void* dst, size_t nbytes) {
  return guard("oxmlx_array_to_buffer", [&] {
    const array& x = arr(a);
    if (nbytes != x.nbytes())
      throw ValueError(msg("[to_buffer] Buffer of ", nbytes, " bytes given for an array of ",
                           x.nbytes(), " bytes (shape ", shape_str(x.shape()), ", ",
                           dtype_name(x.dtype()), ")."));
    if (nbytes == 0) return;
    need(dst, "dst");
    array d = dense(x);
    std::memcpy(dst, d.raw_ptr(), nbytes);
  });
}
oxmlx_status oxmlx_array_item_float64(const oxmlx_array a, double* value) {
  return array_get("oxmlx_array_item_float64", a, value, "value",
                   [](const array& x) { return item_as<double>(x); });
}
oxmlx_status oxmlx_array_item_int64(const oxmlx_array a, int64_t* value) {
  return array_get("oxmlx_array_item_int64", a, value, "value",
                   [](const array& x) { return item_as<int64_t>(x); });
}
oxmlx_status oxmlx_array_item_bool(const oxmlx_array a, bool* value) {
  return array_get("oxmlx_array_item_bool", a, value, "value",
                   [](const array& x) { return item_as<bool>(x); });
}

// --------------------------------------------------------- vectors, names

oxmlx_status oxmlx_vector_array_new(oxmlx_vector_array* out) {
  return guard("oxmlx_vector_array_new", [&] {
    reset(out);
    put(out, {});
  });
}
oxmlx_status oxmlx_vector_array_new_from(oxmlx_vector_array* out, const oxmlx_array* arrays,
                                         size_t n) {
  return guard("oxmlx_vector_array_new_from", [&] {
    reset(out);
    if (n && !arrays) throw InvalidArgument("argument 'arrays' is NULL");
    std::vector<array> v;
    for (size_t i = 0; i < n; ++i) v.push_back(arr(arrays[i], "arrays[i]"));
    put(out, std::move(v));
  });
}
oxmlx_status oxmlx_vector_array_free(oxmlx_vector_array v) {
  return guard("oxmlx_vector_array_free", [&] { delete v; });
}
oxmlx_status oxmlx_vector_array_copy(oxmlx_vector_array* out, const oxmlx_vector_array v) {
  return guard("oxmlx_vector_array_copy", [&] {
    reset(out);
    put(out, vec(v, "v"));
  });
}
oxmlx_status oxmlx_vector_array_size(const oxmlx_vector_array v, size_t* size) {
  return guard("oxmlx_vector_array_size", [&] {
    need(size, "size");
    *size = vec(v, "v").size();
  });
}
oxmlx_status oxmlx_vector_array_append(oxmlx_vector_array v, const oxmlx_array a) {
  return guard("oxmlx_vector_array_append", [&] {
    need(v, "v");
    v->v.push_back(arr(a));
  });
}
oxmlx_status oxmlx_vector_array_get(oxmlx_array* out, const oxmlx_vector_array v, size_t i) {
  return guard("oxmlx_vector_array_get", [&] {
    reset(out);
    const auto& xs = vec(v, "v");
    if (i >= xs.size())
      throw IndexError(msg("[vector_array_get] Index ", i, " out of range for a vector of ",
                           xs.size(), " arrays."));
    put(out, xs[i]);
  });
}
oxmlx_status oxmlx_vector_array_set(oxmlx_vector_array v, size_t i, const oxmlx_array a) {
  return guard("oxmlx_vector_array_set", [&] {
    need(v, "v");
    if (i >= v->v.size())
      throw IndexError(msg("[vector_array_set] Index ", i, " out of range for a vector of ",
                           v->v.size(), " arrays."));
    v->v[i] = arr(a);
  });
}

oxmlx_status oxmlx_names_size(const oxmlx_names n, size_t* size) {
  return get_field("oxmlx_names_size", n, "n", size, "size",
                   [](const oxmlx_names_& h) { return h.v.size(); });
}
oxmlx_status oxmlx_names_get(const oxmlx_names n, size_t i, const char** name) {
  return guard("oxmlx_names_get", [&] {
    need(n, "n");
    need(name, "name");
    if (i >= n->v.size())
      throw IndexError(msg("[names_get] Index ", i, " out of range for ", n->v.size(), " names."));
    *name = n->v[i].c_str();
  });
}
oxmlx_status oxmlx_names_free(oxmlx_names n) { return free_handle(n); }

oxmlx_status oxmlx_eval(const oxmlx_vector_array v) {
  return guard("oxmlx_eval", [&] { eval(vec(v, "v")); });
}

}  // extern "C"
