// Element conversion between any two dtypes with numpy's rules: complex to
// real keeps the real part, anything to bool tests != 0, 16-bit floats go
// through float.
#pragma once

#include "backend/cpu/scalar_ops.h"

namespace oxmlx::cpu {

template <typename To, typename From>
inline To convert(From x) {
  if constexpr (std::is_same_v<To, From>) {
    return x;
  } else if constexpr (std::is_same_v<To, bool>) {
    if constexpr (is_complex_v<From>) return x != From(0);
    else if constexpr (is_half_v<From>) return float(x) != 0.0f;
    else return x != From(0);
  } else if constexpr (is_complex_v<To>) {
    if constexpr (is_half_v<From>) return To(float(x), 0.0f);
    else return To(static_cast<float>(x), 0.0f);
  } else if constexpr (is_complex_v<From>) {
    return convert<To, float>(x.real());
  } else if constexpr (is_half_v<To>) {
    if constexpr (std::is_same_v<From, double>) return To(float(x));
    else if constexpr (is_half_v<From>) return To(float(x));
    else return To(static_cast<float>(x));
  } else if constexpr (is_half_v<From>) {
    return static_cast<To>(float(x));
  } else {
    return static_cast<To>(x);
  }
}

}  // namespace oxmlx::cpu
