// MLX-style repr: array([[1.5, 2],\n       [3, 4]], dtype=float32), with
// the middle of every axis longer than 6 elided as MLX does.
#include <cstdio>
#include <sstream>

#include "core/host.h"
#include "python/bindings.h"

namespace oxmlx::py {

int& print_precision() {
  static int p = -1;
  return p;
}

namespace {

template <typename T>
std::string fmt(const T& v) {
  char buf[64];
  if constexpr (std::is_same_v<T, bool>) {
    return v ? "True" : "False";
  } else if constexpr (std::is_same_v<T, complex64_t>) {
    std::string re = fmt(v.real()), im = fmt(std::abs(v.imag()));
    bool neg = std::signbit(v.imag());
    return re + (neg ? "-" : "+") + im + "j";
  } else if constexpr (std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>) {
    return fmt(float(v));
  } else if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    int p = print_precision();
    if (p >= 0) {
      // Fixed notation can be long (1e308 with many decimals): size it first.
      int len = std::snprintf(nullptr, 0, "%.*f", p, double(v));
      std::string out(size_t(len) + 1, '\0');
      std::snprintf(out.data(), out.size(), "%.*f", p, double(v));
      out.resize(size_t(len));
      return out;
    }
    std::snprintf(buf, sizeof(buf), "%g", double(v));
    return buf;
  } else if constexpr (std::is_unsigned_v<T>) {
    std::snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
    return buf;
  } else {
    std::snprintf(buf, sizeof(buf), "%lld", (long long)v);
    return buf;
  }
}

template <typename T>
void print_dim(std::ostringstream& os, const T* base, const Shape& shape, const Strides& strides,
               int dim, int64_t off, bool summarize, int indent) {
  os << "[";
  int64_t n = shape[dim];
  bool last = dim + 1 == int(shape.size());
  auto item = [&](int64_t i) {
    int64_t o = off + i * strides[dim];
    if (last) os << fmt(base[o]);
    else print_dim(os, base, shape, strides, dim + 1, o, summarize, indent + 1);
  };
  auto sep = [&]() {
    if (last) {
      os << ", ";
    } else {
      os << ",\n" << std::string(indent + 1, ' ');  // one newline at every depth (MLX)
    }
  };
  if (summarize && n > 6) {
    for (int64_t i = 0; i < 3; ++i) {
      item(i);
      sep();
    }
    os << "...";
    sep();
    for (int64_t i = n - 3; i < n; ++i) {
      item(i);
      if (i + 1 < n) sep();
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      item(i);
      if (i + 1 < n) sep();
    }
  }
  os << "]";
}

}  // namespace

std::string array_repr(array& a) {
  a.eval();
  array h = host_array(a);
  std::ostringstream os;
  os << "array(";
  dispatch_dtype(a.dtype(), [&](auto t) {
    using T = decltype(t);
    const T* base = h.data<T>();
    if (a.ndim() == 0) {
      os << fmt(base[0]);
    } else {
      print_dim(os, base, a.shape(), a.strides(), 0, 0, true, 6);  // MLX elides any axis > 6
    }
  });
  os << ", dtype=" << dtype_name(a.dtype()) << ")";
  return os.str();
}

}  // namespace oxmlx::py
