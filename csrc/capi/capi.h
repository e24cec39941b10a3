// Internals of the C ABI: the structs behind the opaque handles, the
// boundary guard that turns every C++ exception into a status code and a
// thread-local message, and argument conversions. No op logic lives here.
#pragma once

#include <new>
#include <optional>
#include <string>
#include <vector>

#include "core/array.h"
#include "ops/ops.h"
#include "oxmlx/oxmlx.h"

struct oxmlx_array_ {
  oxmlx::array a;
};
struct oxmlx_vector_array_ {
  std::vector<oxmlx::array> v;
};
struct oxmlx_stream_ {
  oxmlx::Stream s;
};
struct oxmlx_device_ {
  oxmlx::Device d;
};
struct oxmlx_names_ {
  std::vector<std::string> v;
};

namespace oxmlx::capi {

// Bad arguments detected at the boundary (NULL pointers, enum values).
struct InvalidArgument : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};
// A user callback failed; its status is passed on.
struct CallbackFailed : std::runtime_error {
  oxmlx_status status;
  CallbackFailed(oxmlx_status s, const std::string& m) : std::runtime_error(m), status(s) {}
};

void set_error(const std::string& m);

// Runs f, mapping exceptions to status codes (and the message to last_error).
template <typename F>
oxmlx_status guard(const char* fn, F&& f) noexcept {
  try {
    f();
    return OXMLX_OK;
  } catch (const InvalidArgument& e) {
    set_error(msg("[", fn, "] ", e.what()));
    return OXMLX_ERROR_INVALID_ARGUMENT;
  } catch (const CallbackFailed& e) {
    set_error(e.what());
    return OXMLX_ERROR_CALLBACK;
  } catch (const IndexError& e) {
    set_error(e.what());
    return OXMLX_ERROR_INDEX;
  } catch (const ValueError& e) {
    set_error(e.what());
    return OXMLX_ERROR_VALUE;
  } catch (const TypeError& e) {
    set_error(e.what());
    return OXMLX_ERROR_TYPE;
  } catch (const std::bad_alloc&) {
    set_error(msg("[", fn, "] out of memory"));
    return OXMLX_ERROR_OUT_OF_MEMORY;
  } catch (const std::out_of_range& e) {
    set_error(e.what());
    return OXMLX_ERROR_INDEX;
  } catch (const std::invalid_argument& e) {
    set_error(e.what());
    return OXMLX_ERROR_VALUE;
  } catch (const std::exception& e) {
    set_error(e.what());
    return OXMLX_ERROR_RUNTIME;
  } catch (...) {
    set_error(msg("[", fn, "] unknown error"));
    return OXMLX_ERROR_UNKNOWN;
  }
}

template <typename T>
void need(const T& p, const char* what) {
  if (!p) throw InvalidArgument(msg("argument '", what, "' is NULL"));
}

inline const array& arr(const oxmlx_array a, const char* what = "a") {
  need(a, what);
  return a->a;
}
inline std::optional<array> opt_arr(const oxmlx_array a) {
  if (!a) return std::nullopt;
  return a->a;
}
inline const std::vector<array>& vec(const oxmlx_vector_array v, const char* what = "arrays") {
  need(v, what);
  return v->v;
}

Dtype to_dtype(oxmlx_dtype d);
oxmlx_dtype from_dtype(Dtype d);
StreamOrDevice sod(const oxmlx_stream s);
Shape to_shape(const int64_t* shape, size_t ndim, const char* what = "shape");
std::vector<int> to_ints(const int* p, size_t n, const char* what = "axes");
// NULL -> every axis of an ndim-d array.
std::vector<int> to_axes(const int* axes, size_t naxes, int ndim);
inline std::optional<int> opt_axis(int axis) {
  if (axis == OXMLX_AXIS_NONE) return std::nullopt;
  return axis;
}

// a evaluated, as dense row-major bytes on the host (a itself when it
// already is): for callers that read the bytes.
array dense(const array& a);

// Writes a new handle to *out (out must not be NULL).
void put(oxmlx_array* out, array a);
void put(oxmlx_vector_array* out, std::vector<array> v);
// Sets *out = NULL first so that a failure leaves no dangling value.
template <typename H>
void reset(H* out, const char* what = "out") {
  need(out, what);
  *out = nullptr;
}

}  // namespace oxmlx::capi
