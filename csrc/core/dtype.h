// Element types, their categories, MLX's promotion rules and the C++ type
// that backs each dtype (dispatch_dtype).
#pragma once

#include <complex>
#include <cstdint>
#include <string>

#include "core/errors.h"
#include "core/half.h"

namespace oxmlx {

using complex64_t = std::complex<float>;

struct Dtype {
  // Order matches MLX's Dtype::Val so that enum values agree across projects.
  enum class Val : uint8_t {
    bool_,
    uint8,
    uint16,
    uint32,
    uint64,
    int8,
    int16,
    int32,
    int64,
    float16,
    float32,
    float64,
    bfloat16,
    complex64,
  };
  static constexpr int count = 14;

  enum class Kind : char { b = 'b', u = 'u', i = 'i', f = 'f', V = 'V', c = 'c' };

  Val val;
  uint8_t size;

  constexpr Dtype() : val(Val::float32), size(4) {}
  constexpr Dtype(Val v, uint8_t s) : val(v), size(s) {}
  constexpr bool operator==(const Dtype& o) const { return val == o.val; }
  constexpr bool operator!=(const Dtype& o) const { return val != o.val; }
  constexpr operator Val() const { return val; }
};

inline constexpr Dtype bool_{Dtype::Val::bool_, 1};
inline constexpr Dtype uint8{Dtype::Val::uint8, 1};
inline constexpr Dtype uint16{Dtype::Val::uint16, 2};
inline constexpr Dtype uint32{Dtype::Val::uint32, 4};
inline constexpr Dtype uint64{Dtype::Val::uint64, 8};
inline constexpr Dtype int8{Dtype::Val::int8, 1};
inline constexpr Dtype int16{Dtype::Val::int16, 2};
inline constexpr Dtype int32{Dtype::Val::int32, 4};
inline constexpr Dtype int64{Dtype::Val::int64, 8};
inline constexpr Dtype float16{Dtype::Val::float16, 2};
inline constexpr Dtype float32{Dtype::Val::float32, 4};
inline constexpr Dtype float64{Dtype::Val::float64, 8};
inline constexpr Dtype bfloat16{Dtype::Val::bfloat16, 2};
inline constexpr Dtype complex64{Dtype::Val::complex64, 8};

Dtype dtype_from_val(Dtype::Val v);
Dtype::Kind kind(Dtype d);
const char* dtype_name(Dtype d);  // "float32"
Dtype promote_types(Dtype a, Dtype b);

// The category tree of MLX: generic > number > {integer > {signed, unsigned},
// inexact > {floating, complexfloating}}, plus bool under generic.
enum class DtypeCategory {
  complexfloating,
  floating,
  inexact,
  signedinteger,
  unsignedinteger,
  integer,
  number,
  generic,
};
bool issubdtype(Dtype a, Dtype b);
bool issubdtype(Dtype a, DtypeCategory c);
bool issubdtype(DtypeCategory a, DtypeCategory b);
bool issubdtype(DtypeCategory a, Dtype b);

inline bool is_floating(Dtype d) {
  return d == float16 || d == float32 || d == float64 || d == bfloat16;
}
inline bool is_complex(Dtype d) { return d == complex64; }
inline bool is_inexact(Dtype d) { return is_floating(d) || is_complex(d); }
inline bool is_integral(Dtype d) { return !is_inexact(d) && d != bool_; }
inline bool is_unsigned(Dtype d) {
  return d == uint8 || d == uint16 || d == uint32 || d == uint64;
}

// The type that arithmetic on a dtype happens in when converted to float.
template <typename T>
struct TypeToDtype;
#define OXMLX_T2D(T, D)                        \
  template <>                                  \
  struct TypeToDtype<T> {                      \
    static constexpr Dtype value() { return D; } \
  };
OXMLX_T2D(bool, bool_)
OXMLX_T2D(uint8_t, uint8)
OXMLX_T2D(uint16_t, uint16)
OXMLX_T2D(uint32_t, uint32)
OXMLX_T2D(uint64_t, uint64)
OXMLX_T2D(int8_t, int8)
OXMLX_T2D(int16_t, int16)
OXMLX_T2D(int32_t, int32)
OXMLX_T2D(int64_t, int64)
OXMLX_T2D(float16_t, float16)
OXMLX_T2D(float, float32)
OXMLX_T2D(double, float64)
OXMLX_T2D(bfloat16_t, bfloat16)
OXMLX_T2D(complex64_t, complex64)
#undef OXMLX_T2D

template <typename T>
constexpr Dtype dtype_of() {
  return TypeToDtype<T>::value();
}

// Calls f(T{}) with T the C++ type backing `d`.
template <typename F>
decltype(auto) dispatch_dtype(Dtype d, F&& f) {
  switch (d.val) {
    case Dtype::Val::bool_: return f(bool{});
    case Dtype::Val::uint8: return f(uint8_t{});
    case Dtype::Val::uint16: return f(uint16_t{});
    case Dtype::Val::uint32: return f(uint32_t{});
    case Dtype::Val::uint64: return f(uint64_t{});
    case Dtype::Val::int8: return f(int8_t{});
    case Dtype::Val::int16: return f(int16_t{});
    case Dtype::Val::int32: return f(int32_t{});
    case Dtype::Val::int64: return f(int64_t{});
    case Dtype::Val::float16: return f(float16_t{});
    case Dtype::Val::float32: return f(float{});
    case Dtype::Val::float64: return f(double{});
    case Dtype::Val::bfloat16: return f(bfloat16_t{});
    case Dtype::Val::complex64: return f(complex64_t{});
  }
  throw RuntimeError("dispatch_dtype: unknown dtype");
}

}  // namespace oxmlx
