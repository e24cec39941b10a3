// Distributions of mx.random for C++ callers (the C ABI), built on the
// random-bits family with MLX's arithmetic step by step, as
// python/oxmlx/core/random.py: the same key gives the same numbers as MLX
// (tests/test_capi.py and tests/test_random.py check both against mlx).
#include <cmath>
#include <limits>

#include "ops/composite.h"

namespace oxmlx {

namespace {

// MLX: the parameters must broadcast to the requested shape.
void check_shape(const char* op, const Shape& shape, const std::vector<const array*>& params) {
  Shape b = shape;
  for (auto* p : params) b = broadcast_shapes(b, p->shape());
  if (b != shape)
    throw ValueError(msg("[", op, "] Cannot generate random values of shape ", shape_str(shape),
                         " from broadcasted shape ", shape_str(b), "."));
}

// The largest value below 1 of each floating dtype (samples lie in [0, 1)).
double below_one(Dtype d) {
  if (d == float16) return 1.0 - std::ldexp(1.0, -11);
  if (d == bfloat16) return 1.0 - std::ldexp(1.0, -8);
  if (d == float32) return double(std::nextafter(1.0f, 0.0f));
  throw RuntimeError("[uniform] Unsupported type.");
}

}  // namespace

array random_key(uint64_t seed) {
  uint32_t k[2] = {uint32_t(seed >> 32), uint32_t(seed & 0xFFFFFFFFu)};
  return array(k, Shape{2}, uint32);
}

array random_split(const array& key, int num, StreamOrDevice s) {
  if (num < 0) throw ValueError(msg("[random.split] num must be non-negative, got ", num, "."));
  return random_bits({num, 2}, key, s);
}

array random_uniform(const array& low, const array& high, const Shape& shape, Dtype dtype,
                     const array& key, StreamOrDevice s) {
  if (!is_floating(dtype))
    throw ValueError("[uniform] Can only generate uniform numbers with real floating point type.");
  Stream st = to_stream(s);
  array lo = astype(low, dtype, st), hi = astype(high, dtype, st);
  array range = subtract(hi, lo, st);
  check_shape("uniform", shape, {&range});
  const double upper = below_one(dtype);
  array u = divide(random_bits(shape, key, 4, st),
                   array(float(std::numeric_limits<uint32_t>::max()), float32), st);
  u = astype(minimum(u, array(float(upper), float32), st), dtype, st);
  return add(multiply(range, u, st), lo, st);
}

array random_normal(const Shape& shape, Dtype dtype, double loc, double scale, const array& key,
                    StreamOrDevice s) {
  if (!is_floating(dtype))
    throw ValueError("[normal] Can only generate uniform numbers with floating point type.");
  Stream st = to_stream(s);
  array u = random_uniform(array(std::nextafter(-1.0f, 0.0f), float32), array(1.0f, float32), shape,
                           float32, key, st);
  array applied = multiply(array(std::sqrt(2.0), dtype), astype(array(scale), dtype, st), st);
  array z = multiply(applied, astype(erfinv(u, st), dtype, st), st);
  return add(astype(array(loc), dtype, st), z, st);
}

array random_randint(const array& low, const array& high, const Shape& shape, Dtype dtype,
                     const array& key, StreamOrDevice s) {
  if (!is_integral(dtype) && dtype != bool_)
    throw ValueError("[randint] randint only accepts integer dtypes and bool.");
  Stream st = to_stream(s);
  // As MLX 0.32: a float32 uniform draw in [low, high), floored into dtype.
  array u = floor(random_uniform(low, high, shape, float32, key, st), st);
  return astype(maximum(u, low, st), dtype, st);
}

array random_bernoulli(const array& p, const Shape& shape, const array& key, StreamOrDevice s) {
  if (!is_floating(p.dtype()))
    throw ValueError("[bernoulli] bernoulli probability `p` must be a float type.");
  check_shape("bernoulli", shape, {&p});
  Stream st = to_stream(s);
  // p on the scale [0, next float above UINT32_MAX]: p >= 1 is always true.
  const float upper = std::nextafter(float(std::numeric_limits<uint32_t>::max()),
                                     std::numeric_limits<float>::max());
  return less(random_bits(shape, key, 4, st), multiply(p, array(upper, float32), st), st);
}

}  // namespace oxmlx
