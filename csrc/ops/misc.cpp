// Small ops of mlx.core: bit views between dtypes, can_cast, depends,
// window functions (numpy's definitions), and fp8 (e4m3) conversions.
#include <cmath>
#include <numbers>

#include "ops/ops.h"
#include "ops/primitives.h"

namespace oxmlx {

// ------------------------------------------------------------ view

array view(const array& a, Dtype dtype, StreamOrDevice s) {
  Stream st = to_stream(s);
  if (dtype == a.dtype()) return identity_view(a, st);
  Shape shape = a.shape();
  int64_t isz = a.itemsize(), osz = dtype.size;
  if (isz != osz) {
    if (a.ndim() == 0)
      throw ValueError(
          "[view] Changing the type of a scalar is only allowed for types with the same size.");
    int64_t bytes = shape.back() * isz;
    if (bytes % osz != 0)
      throw ValueError(
          "[view] When viewing as a larger dtype, the size in bytes of the last axis must be a "
          "multiple of the requested type size.");
    shape.back() = bytes / osz;
  }
  return array(std::move(shape), dtype, std::make_shared<BitcastPrim>(st, dtype), {a});
}

void BitcastPrim::eval(const std::vector<array>& in, std::vector<array>& out) {
  const array& x = in[0];
  array& o = out[0];
  Backend& be = backend_for(stream());
  array src = x;
  bool dense = x.flags().row_contiguous && x.data_size() == x.size();
  if (!dense || (x.offset() * int64_t(x.itemsize())) % int64_t(o.itemsize()) != 0) {
    src = array(std::make_shared<ArrayDesc>(x.shape(), x.dtype()));
    be.copy(x, src);
  }
  int64_t off = src.offset() * int64_t(src.itemsize()) / int64_t(o.itemsize());
  Strides strides = row_major_strides(o.shape());
  if (o.dtype() == bool_ && x.dtype() != bool_) {
    // Bytes other than 0/1 are not valid bools: normalize them (nonzero -> true).
    array bytes(src.data_shared_ptr(), o.shape(), uint8, strides, off);
    be.copy(bytes, o);
    return;
  }
  o.copy_shared_buffer(src, strides, compute_flags(o.shape(), strides), o.size(), off);
}

// Batching: the batch axis goes first so the last (rescaled) axis stays the
// element's own.
std::pair<std::vector<array>, std::vector<int>> BitcastPrim::vmap(const std::vector<array>& in,
                                                                  const std::vector<int>& axes) {
  Dtype to = dtype_from_val(out_dtype_);
  if (axes[0] < 0) return {{view(in[0], to, stream())}, {-1}};
  if (in[0].ndim() == 1 && in[0].itemsize() != to.size)
    throw ValueError(
        "[view] Changing the type of a scalar is only allowed for types with the same size.");
  return {{view(moveaxis(in[0], axes[0], 0, stream()), to, stream())}, {0}};
}

// ------------------------------------------------------------ can_cast

bool can_cast(Dtype from, Dtype to) { return promote_types(from, to) == to; }

// ------------------------------------------------------------ depends

std::vector<array> depends(const std::vector<array>& inputs, const std::vector<array>& deps) {
  if (inputs.empty()) return {};
  std::vector<Shape> shapes;
  std::vector<Dtype> dtypes;
  for (auto& x : inputs) {
    shapes.push_back(x.shape());
    dtypes.push_back(x.dtype());
  }
  std::vector<array> all = inputs;
  all.insert(all.end(), deps.begin(), deps.end());
  Stream st = inputs[0].stream();
  return array::make_arrays(std::move(shapes), std::move(dtypes),
                            std::make_shared<DependsPrim>(st, int(inputs.size())), std::move(all));
}

void DependsPrim::eval(const std::vector<array>& in, std::vector<array>& out) {
  for (int i = 0; i < n_; ++i) out[i].copy_shared_buffer(in[i]);
}

std::vector<array> DependsPrim::vjp(const std::vector<array>& in, const std::vector<array>& cots,
                                    const std::vector<int>& argnums, const std::vector<array>&) {
  std::vector<array> r;
  for (int k : argnums) r.push_back(k < n_ ? cots[k] : zeros_like(in[k]));
  return r;
}

std::pair<std::vector<array>, std::vector<int>> DependsPrim::vmap(const std::vector<array>& in,
                                                                  const std::vector<int>& axes) {
  std::vector<array> xs(in.begin(), in.begin() + n_), deps(in.begin() + n_, in.end());
  return {depends(xs, deps), std::vector<int>(axes.begin(), axes.begin() + n_)};
}

std::vector<array> DependsPrim::jvp(const std::vector<array>& in, const std::vector<array>& tans,
                                    const std::vector<int>& argnums) {
  std::vector<array> r;
  for (int i = 0; i < n_; ++i) {
    array t = zeros_like(in[i]);
    for (size_t j = 0; j < argnums.size(); ++j)
      if (argnums[j] == i) t = tans[j];
    r.push_back(t);
  }
  return r;
}

// ------------------------------------------------------------ windows

namespace {

// sum_k c_k cos(2 pi k n / (M - 1)) for n in [0, M) (numpy's cosine windows).
array cosine_window(int M, std::initializer_list<double> coef, Stream st) {
  if (M < 1) return zeros({0}, float32, st);
  if (M == 1) return ones({1}, float32, st);
  array n = arange(0, M, 1, float32, st);
  array w = zeros({M}, float32, st);
  int k = 0;
  for (double c : coef) {
    double f = 2.0 * std::numbers::pi * k / double(M - 1);
    array term = k == 0 ? full({M}, array(float(c)), st)
                        : multiply(array(float(c)), cos(multiply(n, array(float(f)), st), st), st);
    w = add(w, term, st);
    ++k;
  }
  return w;
}

}  // namespace

array hanning(int M, StreamOrDevice s) { return cosine_window(M, {0.5, -0.5}, to_stream(s)); }
array hamming(int M, StreamOrDevice s) { return cosine_window(M, {0.54, -0.46}, to_stream(s)); }
array blackman(int M, StreamOrDevice s) {
  return cosine_window(M, {0.42, -0.5, 0.08}, to_stream(s));
}

array bartlett(int M, StreamOrDevice s) {
  Stream st = to_stream(s);
  if (M < 1) return zeros({0}, float32, st);
  if (M == 1) return ones({1}, float32, st);
  // 1 - |2n - (M - 1)| / (M - 1)
  array n = arange(0, M, 1, float32, st);
  array d = abs(subtract(multiply(n, array(2.0f), st), array(float(M - 1)), st), st);
  return subtract(array(1.0f), divide(d, array(float(M - 1)), st), st);
}

// ------------------------------------------------------------ fp8 (e4m3)

// e4m3: 1 sign, 4 exponent (bias 7), 3 mantissa bits; no infinities, the
// largest finite value is 448 and 0x7f / 0xff are NaN. Conversion rounds to
// nearest (ties to even) and saturates, as MLX does (NaN and inf become 448).
array to_fp8(const array& x, StreamOrDevice s) {
  Stream st = to_stream(s);
  if (!is_floating(x.dtype()))
    throw ValueError(msg("[to_fp8] Only real floating types are supported but x.dtype() == ",
                         dtype_name(x.dtype()), "."));
  auto u = [](uint32_t v) { return array(v, uint32); };
  auto i32 = [](int32_t v) { return array(v, int32); };
  array f = astype(x, float32, st);
  array bits = view(f, uint32, st);
  array sign = left_shift(right_shift(bits, u(31), st), u(7), st);
  array ax = abs(f, st);
  // Grid spacing 2^(max(e, -6) - 3), built exactly from exponent bits.
  array e = subtract(astype(bitwise_and(right_shift(bits, u(23), st), u(0xff), st), int32, st),
                     i32(127), st);
  array se = add(maximum(e, i32(-6), st), i32(127 - 3), st);
  array spacing = view(left_shift(astype(se, uint32, st), u(23), st), float32, st);
  array q = multiply(round(divide(ax, spacing, st), 0, st), spacing, st);
  q = where(isnan(f, st), array(448.0f), minimum(q, array(448.0f), st), st);
  array qb = view(q, uint32, st);
  array qe = astype(bitwise_and(right_shift(qb, u(23), st), u(0xff), st), int32, st);
  array mant = bitwise_and(right_shift(qb, u(20), st), u(7), st);
  // Normal: biased exponent (qe - 127 + 7) and 3 mantissa bits; subnormal:
  // q / 2^-9 (an integer in [0, 8)).
  array normal = bitwise_or(left_shift(astype(subtract(qe, i32(120), st), uint32, st), u(3), st),
                            mant, st);
  array sub = astype(multiply(q, array(512.0f), st), uint32, st);
  array code = where(greater_equal(q, array(0.015625f), st), normal, sub, st);
  return astype(bitwise_or(code, sign, st), uint8, st);
}

array from_fp8(const array& x, Dtype dtype, StreamOrDevice s) {
  Stream st = to_stream(s);
  if (x.dtype() != uint8)
    throw ValueError(msg("[from_fp8] Input must have type uint8 but x.dtype() == ",
                         dtype_name(x.dtype()), "."));
  if (!is_floating(dtype))
    throw ValueError(msg("[from_fp8] Only real floating types are supported but dtype == ",
                         dtype_name(dtype), "."));
  static const std::vector<float> table = [] {
    std::vector<float> t(256);
    for (int b = 0; b < 256; ++b) {
      int e = (b >> 3) & 15, m = b & 7;
      float v = e == 0 ? std::ldexp(float(m), -9) : std::ldexp(1.0f + float(m) / 8.0f, e - 7);
      if ((b & 0x7f) == 0x7f) v = NAN;
      t[b] = (b & 0x80) ? -v : v;
    }
    return t;
  }();
  array lut(table.data(), {256}, float32);
  return astype(take(lut, x, 0, st), dtype, st);
}

}  // namespace oxmlx
