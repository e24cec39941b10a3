// Distributions of mx.random built on the random-bits family. They mirror
// python/oxmlx/core/random.py step by step, so a key gives the same numbers
// from C++ (and the C ABI) as from Python.
#include <cmath>

#include "ops/composite.h"

namespace oxmlx {

namespace {

// 24 random mantissa bits -> [0, 1), exactly representable in float32.
array unit(const Shape& shape, const array& key, const Stream& st) {
  array b = right_shift(random_bits(shape, key, st), array(8u, uint32), st);
  return multiply(astype(b, float32, st), array(1.0 / double(1 << 24), float32), st);
}

// MLX: the parameters must broadcast to the requested shape.
void check_shape(const char* op, const Shape& shape, const std::vector<const array*>& params) {
  Shape b = shape;
  for (auto* p : params) b = broadcast_shapes(b, p->shape());
  if (b != shape)
    throw ValueError(msg("[", op, "] Cannot generate random values of shape ", shape_str(shape),
                         " from broadcasted shape ", shape_str(b), "."));
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

array random_uniform(const array& low, const array& high, const Shape& shape_in, Dtype dtype,
                     const array& key, StreamOrDevice s) {
  if (!is_floating(dtype))
    throw ValueError("[uniform] Can only generate uniform numbers with real floating point type.");
  Stream st = to_stream(s);
  check_shape("uniform", shape_in, {&low, &high});
  const Shape& shape = shape_in;
  array u = astype(unit(shape, key, st), dtype, st);
  array span = astype(subtract(high, low, st), dtype, st);
  return add(astype(low, dtype, st), multiply(u, span, st), st);
}

array random_normal(const Shape& shape, Dtype dtype, double loc, double scale, const array& key,
                    StreamOrDevice s) {
  if (!is_floating(dtype))
    throw ValueError("[normal] Only floating point types are supported.");
  Stream st = to_stream(s);
  array u = unit(shape, key, st);
  float lo = std::nextafter(-1.0f, 0.0f);
  array x = subtract(multiply(u, array(2.0f), st), array(1.0f), st);
  x = minimum(maximum(x, array(lo), st), array(-lo), st);
  array z = multiply(erfinv(x, st), array(float(std::sqrt(2.0))), st);
  array r = add(multiply(z, array(scale, float32), st), array(loc, float32), st);
  return astype(r, dtype, st);
}

array random_randint(const array& low, const array& high, const Shape& shape, Dtype dtype,
                     const array& key, StreamOrDevice s) {
  if (!is_integral(dtype) && dtype != bool_)
    throw ValueError("[randint] randint only accepts integer dtypes and bool.");
  check_shape("randint", shape, {&low, &high});
  Stream st = to_stream(s);
  array u = unit(shape, key, st);
  array span = astype(subtract(high, low, st), float32, st);
  array r = add(astype(floor(multiply(u, span, st), st), int64, st), astype(low, int64, st), st);
  array top = subtract(astype(high, int64, st), array(int64_t(1), int64), st);
  return astype(minimum(r, top, st), dtype, st);
}

array random_bernoulli(const array& p, const Shape& shape, const array& key, StreamOrDevice s) {
  check_shape("bernoulli", shape, {&p});
  Stream st = to_stream(s);
  return less(unit(shape, key, st), p, st);
}

}  // namespace oxmlx
