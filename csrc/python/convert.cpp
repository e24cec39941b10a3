#include "core/host.h"
#include "python/convert.h"

#include <nanobind/ndarray.h>
#include <nanobind/stl/complex.h>
#include <nanobind/stl/string.h>

#include <climits>
#include <cmath>
#include <complex>
#include <cstring>

#include "core/primitive.h"

namespace oxmlx::py {

namespace {

bool is_bool(nb::handle o) { return PyBool_Check(o.ptr()); }
bool is_int(nb::handle o) { return PyLong_Check(o.ptr()) && !PyBool_Check(o.ptr()); }
bool is_float(nb::handle o) { return PyFloat_Check(o.ptr()); }
bool is_complex(nb::handle o) { return PyComplex_Check(o.ptr()); }

// numpy scalars (np.float32(1), np.int64(2)) behave like Python numbers.
bool is_numpy_scalar(nb::handle o) {
  nb::handle t = o.type();
  nb::object mod = nb::getattr(t, "__module__", nb::none());
  return !mod.is_none() && nb::isinstance<nb::str>(mod) &&
         std::string(nb::cast<std::string>(mod)) == "numpy" && nb::hasattr(o, "dtype") &&
         nb::hasattr(o, "item") && nb::cast<int>(nb::getattr(o, "ndim")) == 0;
}

int64_t py_int(nb::handle o) {
  int overflow = 0;
  long long v = PyLong_AsLongLongAndOverflow(o.ptr(), &overflow);
  if (overflow) {
    // Large non-negative values fit uint64.
    unsigned long long u = PyLong_AsUnsignedLongLong(o.ptr());
    if (PyErr_Occurred()) {
      PyErr_Clear();
      throw ValueError("[array] Python integer is out of the range of 64-bit integers.");
    }
    return int64_t(u);
  }
  return v;
}

// Checks that an integer scalar fits a (weak) integral target dtype.
void check_int_fits(nb::handle o, int64_t v, Dtype d) {
  if (!is_integral(d)) return;
  bool big_unsigned = false;
  {
    int overflow = 0;
    PyLong_AsLongLongAndOverflow(o.ptr(), &overflow);
    big_unsigned = overflow > 0;
  }
  double lo, hi;
  switch (d.val) {
    case Dtype::Val::uint8: lo = 0, hi = UINT8_MAX; break;
    case Dtype::Val::uint16: lo = 0, hi = UINT16_MAX; break;
    case Dtype::Val::uint32: lo = 0, hi = UINT32_MAX; break;
    case Dtype::Val::uint64: lo = 0, hi = 1.8446744073709552e19; break;
    case Dtype::Val::int8: lo = INT8_MIN, hi = INT8_MAX; break;
    case Dtype::Val::int16: lo = INT16_MIN, hi = INT16_MAX; break;
    case Dtype::Val::int32: lo = INT32_MIN, hi = INT32_MAX; break;
    default: lo = -9.3e18, hi = 9.3e18; break;
  }
  double dv = big_unsigned ? double(uint64_t(v)) : double(v);
  if (big_unsigned && d != uint64)
    throw ValueError(msg("Converting ", uint64_t(v), " to ", dtype_name(d), " would result in overflow."));
  if (!big_unsigned && (dv < lo || dv > hi))
    throw ValueError(msg("Converting ", v, " to ", dtype_name(d), " would result in overflow."));
}

array int_scalar(nb::handle o, std::optional<Dtype> dtype) {
  int64_t v = py_int(o);
  int overflow = 0;
  PyLong_AsLongLongAndOverflow(o.ptr(), &overflow);
  if (dtype) {
    check_int_fits(o, v, *dtype);
    if (overflow > 0) return array(uint64_t(v), *dtype);
    return array(v, *dtype);
  }
  if (overflow > 0) return array(uint64_t(v), uint64);
  if (v < INT32_MIN || v > INT32_MAX) return array(v, int64);
  return array(int32_t(v), int32);
}

array scalar_to_array(nb::handle o, std::optional<Dtype> dtype) {
  if (is_bool(o)) return array(o.ptr() == Py_True, dtype.value_or(bool_));
  if (is_int(o)) return int_scalar(o, dtype);
  if (is_float(o)) return array(PyFloat_AsDouble(o.ptr()), dtype.value_or(float32));
  if (is_complex(o)) {
    Py_complex c = PyComplex_AsCComplex(o.ptr());
    return array(complex64_t(float(c.real), float(c.imag)), dtype.value_or(complex64));
  }
  throw TypeError("not a scalar");
}

// ---- nested sequences ----

enum class Kind { Bool = 0, Int = 1, Float = 2, Complex = 3 };

struct ListInfo {
  Shape shape;
  bool shape_set = false;
  Kind kind = Kind::Bool;
  bool big_int = false;
  bool huge_int = false;  // some value needs uint64 (>= 2^63)
  bool neg_int = false;
  std::optional<Dtype> arr_dtype;  // promotion of nested arrays' dtypes
  bool any_scalar = false;
};

void scan_list(nb::handle o, int depth, Shape& cur, ListInfo& info);

void note_leaf_shape(const Shape& full, ListInfo& info) {
  if (!info.shape_set) {
    info.shape = full;
    info.shape_set = true;
  } else if (info.shape != full) {
    throw ValueError("Initialization encountered non-uniform length.");
  }
}

void scan_list(nb::handle o, int depth, Shape& cur, ListInfo& info) {
  if (depth > 64) throw ValueError("[array] Nesting of the input is too deep.");
  if (PyList_Check(o.ptr()) || PyTuple_Check(o.ptr())) {
    nb::sequence seq = nb::borrow<nb::sequence>(o);
    size_t n = nb::len(seq);
    cur.push_back(int64_t(n));
    if (n == 0) {
      note_leaf_shape(cur, info);
    } else {
      for (size_t i = 0; i < n; ++i) scan_list(seq[i], depth + 1, cur, info);
    }
    cur.pop_back();
    return;
  }
  if (nb::isinstance<array>(o)) {
    array& a = nb::cast<array&>(o);
    Shape full = cur;
    full.insert(full.end(), a.shape().begin(), a.shape().end());
    note_leaf_shape(full, info);
    info.arr_dtype = info.arr_dtype ? promote_types(*info.arr_dtype, a.dtype()) : a.dtype();
    return;
  }
  note_leaf_shape(cur, info);
  info.any_scalar = true;
  if (is_bool(o)) return;
  if (is_int(o)) {
    info.kind = std::max(info.kind, Kind::Int);
    int64_t v = py_int(o);
    int overflow = 0;
    PyLong_AsLongLongAndOverflow(o.ptr(), &overflow);
    if (overflow > 0) info.huge_int = true;
    else if (v < 0) info.neg_int = true;
    if (v < INT32_MIN || v > INT32_MAX) info.big_int = true;
    if (info.huge_int && info.neg_int)
      throw ValueError("[array] The integers in the list do not fit one 64-bit integer type.");
    return;
  }
  if (is_float(o)) {
    info.kind = std::max(info.kind, Kind::Float);
    return;
  }
  if (is_complex(o)) {
    info.kind = std::max(info.kind, Kind::Complex);
    return;
  }
  if (is_numpy_scalar(o)) {
    scan_list(o.attr("item")(), depth, cur, info);
    return;
  }
  throw ValueError(msg("Invalid type ", nb::cast<std::string>(nb::str(o.type().attr("__name__"))),
                       " received in array initialization."));
}

void fill_list(nb::handle o, std::vector<complex64_t>& cvals, std::vector<double>& dvals,
               std::vector<int64_t>& ivals, Kind kind) {
  if (PyList_Check(o.ptr()) || PyTuple_Check(o.ptr())) {
    nb::sequence seq = nb::borrow<nb::sequence>(o);
    size_t n = nb::len(seq);
    for (size_t i = 0; i < n; ++i) fill_list(seq[i], cvals, dvals, ivals, kind);
    return;
  }
  if (is_numpy_scalar(o)) return fill_list(o.attr("item")(), cvals, dvals, ivals, kind);
  if (kind == Kind::Complex) {
    Py_complex c = PyComplex_AsCComplex(o.ptr());
    cvals.emplace_back(float(c.real), float(c.imag));
  } else if (kind == Kind::Float) {
    dvals.push_back(PyFloat_AsDouble(o.ptr()));
  } else {
    ivals.push_back(is_bool(o) ? int64_t(o.ptr() == Py_True) : py_int(o));
  }
}

void collect_arrays(nb::handle o, std::vector<array>& out) {
  if (PyList_Check(o.ptr()) || PyTuple_Check(o.ptr())) {
    nb::sequence seq = nb::borrow<nb::sequence>(o);
    for (size_t i = 0, n = nb::len(seq); i < n; ++i) collect_arrays(seq[i], out);
    return;
  }
  out.push_back(to_array(o));
}

array list_to_array(nb::handle o, std::optional<Dtype> dtype) {
  ListInfo info;
  Shape cur;
  scan_list(o, 0, cur, info);
  Dtype natural = !info.any_scalar               ? float32
                  : info.kind == Kind::Complex ? complex64
                  : info.kind == Kind::Float   ? float32
                  : info.kind == Kind::Int     ? (info.huge_int  ? uint64
                                                  : info.big_int ? int64
                                                                 : int32)
                                               : bool_;
  if (info.arr_dtype) {
    // Lists of arrays (possibly mixed with scalars, which count with their
    // natural dtype as in MLX): copy each piece in.
    std::vector<array> parts;
    collect_arrays(o, parts);
    Dtype dt = dtype.value_or(info.any_scalar ? promote_types(*info.arr_dtype, natural)
                                              : *info.arr_dtype);
    for (auto& p : parts) {
      if (p.dtype() != dt) p = astype(p, dt);
    }
    eval(parts);
    array out(allocator::malloc(size_t(shape_size(info.shape)) * dt.size), info.shape, dt,
              row_major_strides(info.shape), 0);
    char* dst = static_cast<char*>(out.raw_ptr());
    for (auto& p : parts) {
      array c = contiguous(p);
      c.eval();
      c = host_array(c);
      std::memcpy(dst, c.raw_ptr(), c.nbytes());
      dst += c.nbytes();
    }
    return out;
  }
  std::vector<complex64_t> cv;
  std::vector<double> dv;
  std::vector<int64_t> iv;
  fill_list(o, cv, dv, iv, info.kind);
  Dtype dt = dtype.value_or(natural);
  array src;
  if (info.kind == Kind::Complex) {
    src = array(cv.data(), info.shape, complex64);
  } else if (info.kind == Kind::Float) {
    src = array(dv.data(), info.shape, float64);
  } else if (info.huge_int) {
    src = array(iv.data(), info.shape, uint64);  // same bits, read as unsigned
  } else {
    src = array(iv.data(), info.shape, int64);
    if (dt == bool_ && info.kind == Kind::Bool) src = astype(src, bool_);
  }
  array r = astype(src, dt);
  r.eval();
  return r;
}

// ---- buffers (numpy and anything with the buffer protocol / DLPack) ----

std::optional<Dtype> dtype_from_dl(nb::dlpack::dtype d) {
  using C = nb::dlpack::dtype_code;
  switch (C(d.code)) {
    case C::Bool: return bool_;
    case C::Int:
      switch (d.bits) {
        case 8: return int8;
        case 16: return int16;
        case 32: return int32;
        case 64: return int64;
      }
      break;
    case C::UInt:
      switch (d.bits) {
        case 8: return uint8;
        case 16: return uint16;
        case 32: return uint32;
        case 64: return uint64;
      }
      break;
    case C::Float:
      switch (d.bits) {
        case 16: return float16;
        case 32: return float32;
        case 64: return float64;
      }
      break;
    case C::Bfloat:
      if (d.bits == 16) return bfloat16;
      break;
    case C::Complex:
      if (d.bits == 64) return complex64;
      if (d.bits == 128) return complex64;  // narrowed below
      break;
    default: break;
  }
  return std::nullopt;
}

array buffer_to_array(nb::ndarray<nb::ro>& nd, std::optional<Dtype> dtype) {
  auto src_dt = dtype_from_dl(nd.dtype());
  if (!src_dt)
    throw ValueError(msg("[array] Unsupported buffer element type (code ", int(nd.dtype().code),
                         ", ", int(nd.dtype().bits), " bits)."));
  bool c128 = nd.dtype().code == uint8_t(nb::dlpack::dtype_code::Complex) && nd.dtype().bits == 128;
  Shape shape(nd.ndim());
  Strides strides(nd.ndim());
  for (size_t i = 0; i < nd.ndim(); ++i) {
    shape[i] = int64_t(nd.shape(i));
    strides[i] = int64_t(nd.stride(i));
  }
  // float64 buffers become float32 unless asked otherwise (MLX's default).
  Dtype natural = *src_dt == float64 ? float32 : *src_dt;
  Dtype dt = dtype.value_or(natural);
  if (c128) {
    // Narrow complex128 through a host loop (no complex128 dtype).
    int64_t n = shape_size(shape);
    std::vector<complex64_t> tmp(n);
    auto* p = static_cast<const std::complex<double>*>(nd.data());
    std::vector<int64_t> idx(shape.size(), 0);
    for (int64_t k = 0; k < n; ++k) {
      int64_t off = 0;
      for (size_t i = 0; i < shape.size(); ++i) off += idx[i] * strides[i];
      tmp[k] = complex64_t(float(p[off].real()), float(p[off].imag()));
      for (int i = int(shape.size()) - 1; i >= 0; --i) {
        if (++idx[i] < shape[i]) break;
        idx[i] = 0;
      }
    }
    array r = astype(array(tmp.data(), shape, complex64), dt);
    r.eval();
    return r;
  }
  auto data = allocator::wrap(const_cast<void*>(nd.data()), 0, nullptr, nullptr);
  array view(data, shape, *src_dt, strides, 0);
  array r = copy(view);  // own the memory: the caller's buffer may change later
  if (dt != *src_dt) r = astype(r, dt);
  r.eval();
  return r;
}

}  // namespace

bool is_python_scalar(nb::handle o) {
  return is_bool(o) || is_int(o) || is_float(o) || is_complex(o);
}

array to_array(nb::handle o, std::optional<Dtype> dtype) {
  if (nb::isinstance<array>(o)) {
    array& a = nb::cast<array&>(o);
    return dtype && *dtype != a.dtype() ? astype(a, *dtype) : a;
  }
  if (is_python_scalar(o)) return scalar_to_array(o, dtype);
  if (PyList_Check(o.ptr()) || PyTuple_Check(o.ptr())) return list_to_array(o, dtype);
  if (nb::hasattr(o, "__mlx_array__")) return to_array(o.attr("__mlx_array__")(), dtype);
  if (is_numpy_scalar(o)) {
    nb::ndarray<nb::ro> nd;
    if (nb::try_cast(o.attr("__array__")(), nd)) {
      array r = buffer_to_array(nd, dtype);
      return r;
    }
  }
  nb::ndarray<nb::ro> nd;
  if (nb::try_cast(o, nd)) return buffer_to_array(nd, dtype);
  throw ValueError(msg("Invalid type ", nb::cast<std::string>(nb::str(o.type().attr("__name__"))),
                       " received in array initialization."));
}

array scalar_or_array(nb::handle o, Dtype partner) {
  if (nb::isinstance<array>(o)) return nb::cast<array&>(o);
  if (is_int(o)) {
    if (is_integral(partner) || is_inexact(partner)) return int_scalar(o, partner);
    return int_scalar(o, std::nullopt);
  }
  if (is_float(o)) {
    if (is_inexact(partner)) return array(PyFloat_AsDouble(o.ptr()), partner);
    return array(PyFloat_AsDouble(o.ptr()), float32);
  }
  return to_array(o);
}

std::pair<array, array> to_arrays(nb::handle a, nb::handle b) {
  bool aa = nb::isinstance<array>(a), ab = nb::isinstance<array>(b);
  if (aa && ab) return {nb::cast<array&>(a), nb::cast<array&>(b)};
  if (aa) {
    array x = nb::cast<array&>(a);
    return {x, scalar_or_array(b, x.dtype())};
  }
  if (ab) {
    array y = nb::cast<array&>(b);
    return {scalar_or_array(a, y.dtype()), y};
  }
  return {to_array(a), to_array(b)};
}

StreamOrDevice to_sod(nb::handle o) {
  if (!o.is_valid() || o.is_none()) return std::monostate{};
  if (nb::isinstance<Stream>(o)) return nb::cast<Stream>(o);
  if (nb::isinstance<Device>(o)) return nb::cast<Device>(o);
  if (nb::isinstance<Device::DeviceType>(o)) return Device(nb::cast<Device::DeviceType>(o), 0);
  // mx.ThreadLocalStream (python/oxmlx/core/_misc.py): this thread's stream.
  if (nb::hasattr(o, "_current_stream")) return nb::cast<Stream>(o.attr("_current_stream")());
  throw TypeError("stream must be a Stream, Device, DeviceType or None.");
}

namespace {

template <typename T>
nb::object py_value(const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return nb::bool_(v);
  } else if constexpr (std::is_same_v<T, complex64_t>) {
    return nb::cast(std::complex<double>(v.real(), v.imag()));
  } else if constexpr (std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>) {
    return nb::float_(double(float(v)));
  } else if constexpr (std::is_floating_point_v<T>) {
    return nb::float_(double(v));
  } else if constexpr (std::is_unsigned_v<T>) {
    return nb::steal(PyLong_FromUnsignedLongLong((unsigned long long)v));
  } else {
    return nb::steal(PyLong_FromLongLong((long long)v));
  }
}

}  // namespace

nb::object to_scalar(array& a) {
  if (a.size() != 1)
    throw ValueError("[convert] Only length-1 arrays can be converted to Python scalars.");
  a.eval();
  array h = host_array(a);
  return dispatch_dtype(a.dtype(), [&](auto t) {
    using T = decltype(t);
    return py_value(*h.data<T>());
  });
}

nb::object tolist(array& a) {
  a.eval();
  if (a.ndim() == 0) return to_scalar(a);
  array h = host_array(a);
  return dispatch_dtype(a.dtype(), [&](auto t) -> nb::object {
    using T = decltype(t);
    const T* base = h.data<T>();
    const Shape& shape = a.shape();
    const Strides& strides = a.strides();
    // Iterative construction: a stack of (list, dim, offset, index).
    std::function<nb::object(int, int64_t)> build = [&](int dim, int64_t off) -> nb::object {
      nb::list l;
      for (int64_t i = 0; i < shape[dim]; ++i) {
        int64_t o = off + i * strides[dim];
        if (dim + 1 == int(shape.size())) l.append(py_value(base[o]));
        else l.append(build(dim + 1, o));
      }
      return l;
    };
    return build(0, 0);
  });
}

nb::object to_numpy(array& a) {
  a.eval();
  if (a.dtype() == bfloat16)
    throw ValueError("'bfloat16' is not a valid PEP 3118 buffer format string");
  std::vector<size_t> shape(a.shape().begin(), a.shape().end());
  std::vector<int64_t> strides(a.strides().begin(), a.strides().end());
  nb::dlpack::dtype dt;
  dt.lanes = 1;
  dt.bits = uint8_t(a.itemsize() * 8);
  switch (kind(a.dtype())) {
    case Dtype::Kind::b: dt.code = uint8_t(nb::dlpack::dtype_code::Bool); break;
    case Dtype::Kind::u: dt.code = uint8_t(nb::dlpack::dtype_code::UInt); break;
    case Dtype::Kind::i: dt.code = uint8_t(nb::dlpack::dtype_code::Int); break;
    case Dtype::Kind::c: dt.code = uint8_t(nb::dlpack::dtype_code::Complex); break;
    default: dt.code = uint8_t(nb::dlpack::dtype_code::Float); break;
  }
  auto* keep = new array(host_array(a));
  nb::capsule owner(keep, [](void* p) noexcept { delete static_cast<array*>(p); });
  nb::ndarray<nb::numpy> nd(keep->raw_ptr(), a.ndim(), shape.data(), owner, strides.data(), dt);
  return nd.cast();
}

std::vector<int> to_axes(nb::handle axis, int ndim) {
  if (!axis.is_valid() || axis.is_none()) return all_axes(ndim);
  if (PyLong_Check(axis.ptr())) return {nb::cast<int>(axis)};
  std::vector<int> out;
  for (nb::handle h : axis) out.push_back(nb::cast<int>(h));
  return out;
}

Shape to_shape(nb::handle shape) {
  if (PyLong_Check(shape.ptr())) return {nb::cast<int64_t>(shape)};
  Shape out;
  for (nb::handle h : shape) out.push_back(nb::cast<int64_t>(h));
  return out;
}

}  // namespace oxmlx::py
