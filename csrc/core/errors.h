// Typed errors of the core. The Python bindings map them to ValueError,
// IndexError, TypeError and RuntimeError; the C ABI maps them to status codes.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
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

// Builds a message from streamable parts: msg("bad axis ", ax, " for shape ", s).
template <typename... Args>
std::string msg(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

template <typename T>
std::string shape_str(const std::vector<T>& s) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) os << ",";
    os << s[i];
  }
  os << ")";
  return os.str();
}

}  // namespace oxmlx
