// 16-bit floating point storage types: IEEE binary16 (float16_t) and bfloat16_t.
// Both are stored as raw bits; arithmetic happens in float (the conversions are
// exact widening and round-to-nearest-even narrowing).
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>

namespace oxmlx {

inline uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline float half_bits_to_float(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  if (exp == 0x1f) return float_of(sign | 0x7f800000u | (mant << 13));  // inf/nan
  if (exp == 0) {
    if (mant == 0) return float_of(sign);
    // subnormal: value = mant * 2^-24
    float v = float(mant) * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  return float_of(sign | ((exp + 112) << 23) | (mant << 13));
}

inline uint16_t float_to_half_bits(float f) {
  uint32_t u = bits_of(f);
  uint16_t sign = uint16_t((u >> 16) & 0x8000);
  uint32_t a = u & 0x7fffffffu;
  if (a >= 0x7f800000u) {  // inf or nan
    return sign | 0x7c00 | (a > 0x7f800000u ? 0x200 | ((a >> 13) & 0x3ff) : 0);
  }
  if (a >= 0x477ff000u) return sign | 0x7c00;  // rounds to >= 65520 -> inf
  if (a < 0x38800000u) {                        // below smallest normal half (2^-14)
    // subnormal or zero: scale to units of 2^-24 with round-to-nearest-even
    float af = float_of(a);
    float scaled = af * 16777216.0f;  // exact (power of two)
    // round half to even via the float adder
    float r = scaled + 12582912.0f;  // 1.5 * 2^23 forces integer rounding
    uint32_t m = bits_of(r) - bits_of(12582912.0f);
    return sign | uint16_t(m);
  }
  // normal: rebias exponent and round mantissa to nearest even
  uint32_t mant_odd = (a >> 13) & 1;
  a += 0xc8000fffu + mant_odd;  // (-112 << 23) + rounding bias
  return sign | uint16_t(a >> 13);
}

inline float bf16_bits_to_float(uint16_t b) { return float_of(uint32_t(b) << 16); }

inline uint16_t float_to_bf16_bits(float f) {
  uint32_t u = bits_of(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);  // quiet nan
  u += 0x7fffu + ((u >> 16) & 1);
  return uint16_t(u >> 16);
}

struct float16_t {
  uint16_t bits;
  float16_t() = default;
  float16_t(float f) : bits(float_to_half_bits(f)) {}
  float16_t(double d) : bits(float_to_half_bits(float(d))) {}
  template <typename I, typename = std::enable_if_t<std::is_integral_v<I>>>
  float16_t(I i) : bits(float_to_half_bits(float(i))) {}
  operator float() const { return half_bits_to_float(bits); }
  static float16_t from_bits(uint16_t b) {
    float16_t h;
    h.bits = b;
    return h;
  }
};

struct bfloat16_t {
  uint16_t bits;
  bfloat16_t() = default;
  bfloat16_t(float f) : bits(float_to_bf16_bits(f)) {}
  bfloat16_t(double d) : bits(float_to_bf16_bits(float(d))) {}
  template <typename I, typename = std::enable_if_t<std::is_integral_v<I>>>
  bfloat16_t(I i) : bits(float_to_bf16_bits(float(i))) {}
  operator float() const { return bf16_bits_to_float(bits); }
  static bfloat16_t from_bits(uint16_t b) {
    bfloat16_t h;
    h.bits = b;
    return h;
  }
};

static_assert(sizeof(float16_t) == 2 && sizeof(bfloat16_t) == 2);

}  // namespace oxmlx
