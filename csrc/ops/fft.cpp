// FFT family: the fftn builder behind mx.fft.{fft, ifft, rfft, irfft}{,2,n}
// (MLX 0.32 semantics: sizes, axes, norm, dtypes, errors) and the FFTPrim
// derivative rules. The primitive is unnormalized; the norm is a scalar
// multiply here, and padding/truncation to the requested sizes are slice /
// slice_update nodes, so their derivatives come from those ops.
#include "ops/fft.h"

#include <cmath>

#include "ops/primitives.h"

namespace oxmlx {

void FFTPrim::eval(const std::vector<array>& in, std::vector<array>& out) {
  backend_for(stream()).fft(in[0], out[0], axes_, inverse_, real_);
}

bool FFTPrim::is_equivalent(const Primitive& o) const {
  auto* p = dynamic_cast<const FFTPrim*>(&o);
  return p && p->axes_ == axes_ && p->inverse_ == inverse_ && p->real_ == real_ &&
         p->real_n_ == real_n_;
}

std::vector<Shape> FFTPrim::output_shapes(const std::vector<array>& in) {
  Shape s = in[0].shape();
  if (real_) s[axes_.back()] = inverse_ ? real_n_ : s[axes_.back()] / 2 + 1;
  return {s};
}

namespace {

array fft_node(const array& x, const std::vector<int>& axes, bool inverse, bool real,
               int64_t real_n, Stream st) {
  Shape shape = x.shape();
  Dtype dt = complex64;
  if (real) {
    int last = axes.back();
    if (inverse) {
      shape[last] = real_n;
      dt = float32;
    } else {
      real_n = shape[last];
      shape[last] = shape[last] / 2 + 1;
    }
  }
  auto p = std::make_shared<FFTPrim>(st, axes, inverse, real, real_n);
  return array(std::move(shape), dt, std::move(p), {x});
}

// x with every axis brought to `shape`: truncated by a slice, zero-padded by
// writing x into zeros.
array pad_or_truncate(const array& x, const Shape& shape, Stream st) {
  Shape start(x.ndim(), 0), stop = x.shape(), step(x.ndim(), 1);
  bool cut = false, grow = false;
  for (int i = 0; i < x.ndim(); ++i) {
    if (shape[i] < x.shape(i)) stop[i] = shape[i], cut = true;
    if (shape[i] > x.shape(i)) grow = true;
  }
  array y = cut ? slice(x, start, stop, step, st) : x;
  if (!grow) return y;
  return slice_update(zeros(shape, y.dtype(), st), y, start, y.shape(), step, st);
}

// Weights along `axis` of an ndim-dimensional half spectrum of a length-n
// real signal: `edge` at k = 0 and (n even) k = n/2, `inner` elsewhere.
array half_weights(int64_t n, int axis, int ndim, float edge, float inner) {
  int64_t m = n / 2 + 1;
  std::vector<float> w(m, inner);
  w[0] = edge;
  if (n % 2 == 0) w[m - 1] = edge;
  Shape shape(ndim, 1);
  shape[axis] = m;
  return array(w.data(), shape, float32);
}

std::string axes_str(const std::vector<int>& axes) {
  return shape_str(axes);
}

}  // namespace

namespace fft {

FFTNorm parse_norm(const std::string& norm, const char* op) {
  if (norm == "backward") return FFTNorm::Backward;
  if (norm == "ortho") return FFTNorm::Ortho;
  if (norm == "forward") return FFTNorm::Forward;
  throw ValueError(
      msg("[", op, "] Invalid norm. Expected one of {'backward', 'ortho', 'forward'}."));
}

array fftn(const array& a, const std::optional<Shape>& s_in,
           const std::optional<std::vector<int>>& axes_in, FFTNorm norm, bool inverse, bool real,
           const char* op, StreamOrDevice sd) {
  (void)op;
  Stream st = to_stream(sd);
  if (s_in && !axes_in)
    throw ValueError("[fftn] `axes` should not be `None` if `s` is not `None`.");
  std::vector<int> raw = axes_in ? *axes_in : all_axes(a.ndim());
  if (s_in && s_in->size() != raw.size())
    throw ValueError("[fftn] Shape and axes have different sizes.");
  const int nd = a.ndim();
  // MLX's order of checks: the default sizes are read off the shape first
  // (bad axes fail there), then rank, duplicates (after wrapping negative
  // axes), axis range and sizes.
  if (!s_in)
    for (int ax : raw) normalize_axis(ax, nd, "fftn");
  if (nd == 0) throw ValueError("[fftn] Requires array with at least one dimension.");
  std::vector<int> axes;
  for (int ax : raw) axes.push_back(ax < 0 ? ax + nd : ax);
  {
    auto sorted = axes;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
      throw ValueError(msg("[fftn] Duplicated axis received ", axes_str(raw)));
  }
  for (size_t i = 0; i < axes.size(); ++i)
    if (axes[i] < 0 || axes[i] >= nd)
      throw IndexError(msg("[fftn] Invalid axis ", raw[i], " for array with ", nd, " dimensions."));
  if (axes.empty()) return a;
  Shape n;
  for (size_t i = 0; i < axes.size(); ++i) n.push_back(s_in ? (*s_in)[i] : a.shape(axes[i]));
  if (real && inverse && !s_in) n.back() = 2 * (a.shape(axes.back()) - 1);
  for (auto v : n)
    if (v <= 0) throw ValueError(msg("[fftn] Invalid FFT output size requested (", v, ")"));

  // The input as the kernel wants it: dtype, then sizes.
  Dtype in_dt = real && !inverse ? float32 : complex64;
  array x = a.dtype() == in_dt ? a : astype(a, in_dt, st);
  Shape in_shape = x.shape();
  for (size_t i = 0; i < axes.size(); ++i) in_shape[axes[i]] = n[i];
  if (real && inverse) in_shape[axes.back()] = n.back() / 2 + 1;
  x = pad_or_truncate(x, in_shape, st);

  array y = fft_node(x, axes, inverse, real, n.back(), st);
  double total = 1;
  for (auto v : n) total *= double(v);
  double scale = 1;
  if (norm == FFTNorm::Ortho) scale = 1 / std::sqrt(total);
  else if ((norm == FFTNorm::Backward) == inverse) scale = 1 / total;
  if (scale != 1) y = multiply(y, array(float(scale), float32), st);
  return y;
}

}  // namespace fft

// ------------------------------------------------------- derivative rules
//
// Cotangents of complex values are dL/dRe + i dL/dIm (MLX's convention), so
// the adjoint of a complex-linear map A is A^H: the unnormalized transform in
// the other direction. Real forward (r2c of length n on the last axis): the
// adjoint keeps the real part of the zero-extended inverse, which is c2r of
// the cotangent with its interior terms halved (c2r counts them twice).
// Real inverse (c2r): r2c of the cotangent with the interior terms doubled.

std::vector<array> FFTPrim::vjp(const std::vector<array>& in, const std::vector<array>& cots,
                                const std::vector<int>&, const std::vector<array>&) {
  const array& x = in[0];
  array c = cots[0];
  Stream st = stream();
  if (!real_) return {fft_node(astype(c, complex64, st), axes_, !inverse_, false, 0, st)};
  int last = axes_.back();
  if (!inverse_) {
    int64_t n = x.shape(last);
    array w = half_weights(n, last, x.ndim(), 1.0f, 0.5f);
    return {fft_node(multiply(astype(c, complex64, st), w, st), axes_, true, true, n, st)};
  }
  int64_t n = real_n_;
  array r = fft_node(astype(c, float32, st), axes_, false, true, 0, st);
  return {multiply(r, half_weights(n, last, x.ndim(), 1.0f, 2.0f), st)};
}

std::vector<array> FFTPrim::jvp(const std::vector<array>& in, const std::vector<array>& tans,
                                const std::vector<int>&) {
  Stream st = stream();
  array t = astype(tans[0], in[0].dtype(), st);
  return {fft_node(t, axes_, inverse_, real_, real_n_, st)};
}

// Batching: the batch axis is one more untransformed axis; the transformed
// axes shift past it.
std::pair<std::vector<array>, std::vector<int>> FFTPrim::vmap(const std::vector<array>& in,
                                                              const std::vector<int>& bax) {
  int b = bax.empty() ? -1 : bax[0];
  std::vector<int> axes = axes_;
  if (b >= 0)
    for (int& a : axes) a += a >= b ? 1 : 0;
  return {{fft_node(in[0], axes, inverse_, real_, real_n_, stream())}, {b}};
}

}  // namespace oxmlx
