// Typed errors of the core. The Python bindings map them to ValueError,
// IndexError, TypeError and RuntimeError; the C ABI maps them to status codes.
//
// Messages are built without iostreams (std::to_chars / snprintf): error
// paths must not depend on the C++ locale machinery, which was seen to crash
// when formatting integers where an extension's libstdc++ differs from the
// one the host process loaded (docs/backends.md, "The CUDA backend").
#pragma once

#include <charconv>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace oxmlx {

struct ValueError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};
struct IndexError : std::out_of_range {
  using std::out_of_range::out_of_range;
};
struct TypeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct RuntimeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Appends one value as `std::ostream <<` would print it (integers in
// decimal, floating point as "%g", bool as 0/1, char as a character).
template <typename T>
void str_append(std::string& s, const T& v) {
  using D = std::decay_t<T>;
  if constexpr (std::is_same_v<D, char>) {
    s += v;
  } else if constexpr (std::is_same_v<D, bool>) {
    s += v ? '1' : '0';
  } else if constexpr (std::is_integral_v<D>) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof(buf), v);
    s.append(buf, r.ptr);
  } else if constexpr (std::is_enum_v<D>) {
    str_append(s, static_cast<std::underlying_type_t<D>>(v));
  } else if constexpr (std::is_floating_point_v<D>) {
    char buf[48];
    int n = std::snprintf(buf, sizeof(buf), "%g", double(v));
    if (n > 0) s.append(buf, size_t(n) < sizeof(buf) ? size_t(n) : sizeof(buf) - 1);
  } else if constexpr (std::is_array_v<T>) {
    s.append(v);
  } else if constexpr (std::is_same_v<D, const char*> || std::is_same_v<D, char*>) {
    s.append(v ? v : "(null)");
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    s.append(std::string_view(v));
  } else if constexpr (std::is_pointer_v<D>) {
    char buf[32];
    int n = std::snprintf(buf, sizeof(buf), "%p", static_cast<const void*>(v));
    if (n > 0) s.append(buf, size_t(n));
  } else if constexpr (std::is_convertible_v<const T&, double>) {
    str_append(s, double(v));  // e.g. the 16-bit float types
  } else {
    static_assert(sizeof(D) == 0, "msg(): unsupported argument type");
  }
}

// Builds a message from its parts: msg("bad axis ", ax, " for shape ", s).
template <typename... Args>
std::string msg(const Args&... args) {
  std::string s;
  (str_append(s, args), ...);
  return s;
}

template <typename T>
std::string shape_str(const std::vector<T>& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ',';
    str_append(out, s[i]);
  }
  out += ')';
  return out;
}

}  // namespace oxmlx
