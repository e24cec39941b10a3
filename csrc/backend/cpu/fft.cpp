// FFT family: unnormalized discrete Fourier transforms over any set of axes.
//
// One line (a 1-D transform of length n) is computed by a plan, built once
// per length and cached:
//  * n whose prime factors are all <= kMaxRadix: a mixed-radix Stockham
//    (self-sorting, no bit reversal) transform; radix 4 first, then 2, 3 and
//    the other small primes (generic odd-radix butterflies); the twiddles of
//    every stage are precomputed in double precision;
//  * any other n: Bluestein's chirp-z algorithm, a circular convolution of
//    power-of-two length m >= 2n - 1 done with a Stockham plan; the chirp and
//    the transformed filter are precomputed.
// Plans compute the forward transform (exponent -2 pi i jk/n); the inverse
// uses conj(F(conj(x))), applied when a line is copied in and out.
//
// Real transforms of even length n use one complex transform of length n/2
// on the packed signal (x[2j] + i x[2j+1]) and a twiddled split (r2c) or
// merge (c2r); odd lengths go through a complex line. c2r ignores the
// imaginary parts of the DC and (even n) Nyquist terms, as numpy and MLX do.
//
// A multi-axis transform runs axis by axis; the lines of one axis (any
// strides) are gathered into a contiguous buffer, transformed, and scattered,
// with lines spread over the thread pool.
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/threadpool.h"

namespace oxmlx::cpu {

namespace {

struct cf {
  float re, im;
};
inline cf operator+(cf a, cf b) { return {a.re + b.re, a.im + b.im}; }
inline cf operator-(cf a, cf b) { return {a.re - b.re, a.im - b.im}; }
inline cf operator*(cf a, cf b) { return {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re}; }
inline cf operator*(float s, cf a) { return {s * a.re, s * a.im}; }
inline cf conj(cf a) { return {a.re, -a.im}; }
inline cf mul_neg_i(cf a) { return {a.im, -a.re}; }  // a * (-i)
inline cf mul_i(cf a) { return {-a.im, a.re}; }      // a * i

constexpr int kMaxRadix = 31;

// e^{-2 pi i k / n}, exact in double then rounded (k reduced mod n first).
cf root(int64_t k, int64_t n) {
  k %= n;
  if (k < 0) k += n;
  double a = -2.0 * M_PI * double(k) / double(n);
  return {float(std::cos(a)), float(std::sin(a))};
}

struct Stage {
  int radix;
  int64_t ns;           // product of the radices of the earlier stages
  std::vector<cf> tw;   // tw[t * (radix - 1) + r - 1] = W_{ns*radix}^{r t}
  std::vector<cf> dft;  // generic radix: dft[k] = W_radix^k
};

class Plan {
 public:
  explicit Plan(int64_t n);
  int64_t size() const { return n_; }
  // Scratch elements forward() needs.
  int64_t scratch_size() const { return bluestein_ ? m_ + sub_->scratch_size() : n_; }
  // x (n elements) <- forward DFT of x.
  void forward(cf* x, cf* scratch) const;

 private:
  void stockham(cf* x, cf* scratch) const;
  int64_t n_;
  std::vector<Stage> stages_;
  bool bluestein_ = false;
  int64_t m_ = 0;
  std::vector<cf> chirp_;   // e^{-i pi j^2 / n}, j < n
  std::vector<cf> filter_;  // DFT_m of the conjugate chirp, times 1/m
  std::shared_ptr<const Plan> sub_;
};

std::shared_ptr<const Plan> get_plan(int64_t n) {
  static std::mutex mu;
  static std::map<int64_t, std::shared_ptr<const Plan>> cache;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(n);
    if (it != cache.end()) return it->second;
  }
  auto p = std::make_shared<const Plan>(n);  // built outside the lock (may recurse)
  std::lock_guard<std::mutex> lock(mu);
  return cache.emplace(n, p).first->second;
}

Plan::Plan(int64_t n) : n_(n) {
  std::vector<int> radices;
  int64_t r = n;
  while (r % 4 == 0) radices.push_back(4), r /= 4;
  while (r % 2 == 0) radices.push_back(2), r /= 2;
  for (int p = 3; p <= kMaxRadix && r > 1; p += 2)
    while (r % p == 0) radices.push_back(p), r /= p;
  if (r > 1) {
    // A prime factor too large for a direct butterfly: Bluestein.
    bluestein_ = true;
    m_ = 1;
    while (m_ < 2 * n - 1) m_ *= 2;
    sub_ = get_plan(m_);
    chirp_.resize(n);
    for (int64_t j = 0; j < n; ++j) {
      // j^2 mod 2n keeps the angle exact for large j.
      int64_t q = int64_t((__int128)j * j % (2 * n));
      double a = -M_PI * double(q) / double(n);
      chirp_[j] = {float(std::cos(a)), float(std::sin(a))};
    }
    std::vector<cf> f(m_, cf{0, 0});
    f[0] = conj(chirp_[0]);
    for (int64_t j = 1; j < n; ++j) f[j] = f[m_ - j] = conj(chirp_[j]);
    std::vector<cf> scratch(sub_->scratch_size());
    sub_->forward(f.data(), scratch.data());
    float inv_m = 1.0f / float(m_);
    for (auto& v : f) v = inv_m * v;
    filter_ = std::move(f);
    return;
  }
  int64_t ns = 1;
  for (int rad : radices) {
    Stage s{rad, ns, {}, {}};
    s.tw.resize(size_t(ns) * (rad - 1));
    for (int64_t t = 0; t < ns; ++t)
      for (int q = 1; q < rad; ++q) s.tw[t * (rad - 1) + q - 1] = root(q * t, ns * rad);
    if (rad > 4) {
      s.dft.resize(rad);
      for (int k = 0; k < rad; ++k) s.dft[k] = root(k, rad);
    }
    stages_.push_back(std::move(s));
    ns *= rad;
  }
}

// One Stockham stage: out[b*ns*R + t + r*ns] = DFT_R(in[j + q*n/R] * tw)[r],
// j = b*ns + t.
template <int R>
void stage_fixed(const Stage& s, int64_t n, const cf* in, cf* out) {
  const int64_t ns = s.ns, stride = n / R, nb = n / (R * ns);
  const cf* tw = s.tw.data();
  for (int64_t b = 0; b < nb; ++b) {
    for (int64_t t = 0; t < ns; ++t) {
      int64_t j = b * ns + t;
      cf v[R];
      v[0] = in[j];
      for (int q = 1; q < R; ++q) v[q] = in[j + q * stride] * tw[t * (R - 1) + q - 1];
      cf* o = out + b * ns * R + t;
      if constexpr (R == 2) {
        o[0] = v[0] + v[1];
        o[ns] = v[0] - v[1];
      } else if constexpr (R == 3) {
        constexpr float s3 = 0.86602540378443864676f;
        cf sum = v[1] + v[2];
        cf m = v[0] - 0.5f * sum;
        cf d = s3 * mul_neg_i(v[1] - v[2]);
        o[0] = v[0] + sum;
        o[ns] = m + d;
        o[2 * ns] = m - d;
      } else {
        cf t0 = v[0] + v[2], t1 = v[0] - v[2], t2 = v[1] + v[3], t3 = mul_neg_i(v[1] - v[3]);
        o[0] = t0 + t2;
        o[ns] = t1 + t3;
        o[2 * ns] = t0 - t2;
        o[3 * ns] = t1 - t3;
      }
    }
  }
}

void stage_generic(const Stage& s, int64_t n, const cf* in, cf* out) {
  const int R = s.radix;
  const int64_t ns = s.ns, stride = n / R, nb = n / (R * ns);
  const cf* tw = s.tw.data();
  const cf* w = s.dft.data();
  cf v[kMaxRadix];
  for (int64_t b = 0; b < nb; ++b) {
    for (int64_t t = 0; t < ns; ++t) {
      int64_t j = b * ns + t;
      v[0] = in[j];
      for (int q = 1; q < R; ++q) v[q] = in[j + q * stride] * tw[t * (R - 1) + q - 1];
      cf* o = out + b * ns * R + t;
      for (int k = 0; k < R; ++k) {
        cf acc = v[0];
        int qk = 0;
        for (int q = 1; q < R; ++q) {
          qk += k;
          if (qk >= R) qk -= R;
          acc = acc + v[q] * w[qk];
        }
        o[k * ns] = acc;
      }
    }
  }
}

void Plan::stockham(cf* x, cf* scratch) const {
  cf* in = x;
  cf* out = scratch;
  for (const Stage& s : stages_) {
    switch (s.radix) {
      case 2: stage_fixed<2>(s, n_, in, out); break;
      case 3: stage_fixed<3>(s, n_, in, out); break;
      case 4: stage_fixed<4>(s, n_, in, out); break;
      default: stage_generic(s, n_, in, out); break;
    }
    std::swap(in, out);
  }
  if (in != x) std::copy(in, in + n_, x);
}

void Plan::forward(cf* x, cf* scratch) const {
  if (!bluestein_) return stockham(x, scratch);
  // X_k = w_k sum_j (x_j w_j) conj(w_{k-j}), w_j = e^{-i pi j^2/n}.
  cf* a = scratch;
  cf* sub_scratch = scratch + m_;
  for (int64_t j = 0; j < n_; ++j) a[j] = x[j] * chirp_[j];
  std::fill(a + n_, a + m_, cf{0, 0});
  sub_->forward(a, sub_scratch);
  for (int64_t k = 0; k < m_; ++k) a[k] = conj(a[k] * filter_[k]);
  sub_->forward(a, sub_scratch);  // conj(F(conj(.))) = m * inverse
  for (int64_t k = 0; k < n_; ++k) x[k] = conj(a[k]) * chirp_[k];
}

// Real plans: the half-length complex plan and the split twiddles W_n^k, k <= n/2.
struct RealPlan {
  std::shared_ptr<const Plan> half;
  std::vector<cf> w;
};

std::shared_ptr<const RealPlan> get_real_plan(int64_t n) {
  static std::mutex mu;
  static std::map<int64_t, std::shared_ptr<const RealPlan>> cache;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(n);
    if (it != cache.end()) return it->second;
  }
  auto p = std::make_shared<RealPlan>();
  p->half = get_plan(n / 2);
  p->w.resize(n / 2 + 1);
  for (int64_t k = 0; k <= n / 2; ++k) p->w[k] = root(k, n);
  std::lock_guard<std::mutex> lock(mu);
  return cache.emplace(n, std::shared_ptr<const RealPlan>(p)).first->second;
}

// The lines of `axis`: element offsets of every line start in two layouts.
struct Lines {
  int64_t count = 0;
  std::vector<int64_t> dims, in_str, out_str;  // the other axes
  void start(int64_t line, int64_t& oi, int64_t& oo) const {
    oi = oo = 0;
    for (int d = int(dims.size()) - 1; d >= 0; --d) {
      int64_t i = line % dims[d];
      line /= dims[d];
      oi += i * in_str[d];
      oo += i * out_str[d];
    }
  }
};

// Lines over `shape` (of the in side) for `axis`; out strides may describe a
// shape differing along `axis` only.
Lines lines_of(const Shape& shape, const Strides& in_str, const Strides& out_str, int axis) {
  Lines l;
  l.count = 1;
  for (int d = 0; d < int(shape.size()); ++d) {
    if (d == axis) continue;
    l.dims.push_back(shape[d]);
    l.in_str.push_back(in_str[d]);
    l.out_str.push_back(out_str[d]);
    l.count *= shape[d];
  }
  return l;
}

int64_t line_grain(int64_t n) { return std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(n, 1)); }

// Complex lines of length n along axis: dst = DFT(src) (or inverse).
void c2c_axis(const cf* src, const Strides& sstr, cf* dst, const Strides& dstr, const Shape& shape,
              int axis, bool inverse) {
  const int64_t n = shape[axis];
  Lines l = lines_of(shape, sstr, dstr, axis);
  if (l.count == 0 || n == 0) return;
  auto plan = get_plan(n);
  const int64_t si = sstr[axis], di = dstr[axis];
  parallel_for(l.count, line_grain(n), [&](int64_t b, int64_t e) {
    std::vector<cf> buf(n), scratch(plan->scratch_size());
    for (int64_t line = b; line < e; ++line) {
      int64_t oi, oo;
      l.start(line, oi, oo);
      const cf* s = src + oi;
      for (int64_t k = 0; k < n; ++k) buf[k] = inverse ? conj(s[k * si]) : s[k * si];
      plan->forward(buf.data(), scratch.data());
      cf* d = dst + oo;
      for (int64_t k = 0; k < n; ++k) d[k * di] = inverse ? conj(buf[k]) : buf[k];
    }
  });
}

// Real lines of length n (in shape along axis) -> n/2 + 1 complex values.
void r2c_axis(const float* src, const Strides& sstr, cf* dst, const Strides& dstr,
              const Shape& shape, int axis) {
  const int64_t n = shape[axis], h = n / 2;
  Lines l = lines_of(shape, sstr, dstr, axis);
  if (l.count == 0) return;
  const int64_t si = sstr[axis], di = dstr[axis];
  bool even = n % 2 == 0;
  auto rplan = even ? get_real_plan(n) : nullptr;
  auto plan = even ? rplan->half : get_plan(n);
  int64_t len = even ? h : n;
  parallel_for(l.count, line_grain(n), [&](int64_t b, int64_t e) {
    std::vector<cf> buf(len), scratch(plan->scratch_size());
    for (int64_t line = b; line < e; ++line) {
      int64_t oi, oo;
      l.start(line, oi, oo);
      const float* s = src + oi;
      cf* d = dst + oo;
      if (!even) {
        for (int64_t k = 0; k < n; ++k) buf[k] = {s[k * si], 0.0f};
        plan->forward(buf.data(), scratch.data());
        for (int64_t k = 0; k <= h; ++k) d[k * di] = buf[k];
        continue;
      }
      for (int64_t j = 0; j < h; ++j) buf[j] = {s[2 * j * si], s[(2 * j + 1) * si]};
      plan->forward(buf.data(), scratch.data());
      const cf* w = rplan->w.data();
      for (int64_t k = 0; k <= h; ++k) {
        cf zk = buf[k % h], zc = conj(buf[(h - k) % h]);
        cf ev = 0.5f * (zk + zc);
        cf od = 0.5f * mul_neg_i(zk - zc);
        d[k * di] = ev + w[k] * od;
      }
    }
  });
}

// Half spectra (n/2 + 1 along axis of in_shape) -> real lines of length n.
void c2r_axis(const cf* src, const Strides& sstr, float* dst, const Strides& dstr,
              const Shape& in_shape, int axis, int64_t n) {
  const int64_t h = n / 2;
  Lines l = lines_of(in_shape, sstr, dstr, axis);
  if (l.count == 0) return;
  const int64_t si = sstr[axis], di = dstr[axis];
  bool even = n % 2 == 0;
  auto rplan = even ? get_real_plan(n) : nullptr;
  auto plan = even ? rplan->half : get_plan(n);
  int64_t len = even ? h : n;
  parallel_for(l.count, line_grain(n), [&](int64_t b, int64_t e) {
    std::vector<cf> buf(len), scratch(plan->scratch_size());
    for (int64_t line = b; line < e; ++line) {
      int64_t oi, oo;
      l.start(line, oi, oo);
      const cf* s = src + oi;
      float* d = dst + oo;
      if (!even) {
        // Hermitian extension, conjugated for the inverse: conj(Y_k).
        buf[0] = {s[0].re, 0.0f};
        for (int64_t k = 1; k <= h; ++k) {
          buf[k] = conj(s[k * si]);
          buf[n - k] = s[k * si];
        }
        plan->forward(buf.data(), scratch.data());
        for (int64_t j = 0; j < n; ++j) d[j * di] = buf[j].re;
        continue;
      }
      const cf* w = rplan->w.data();
      for (int64_t k = 0; k < h; ++k) {
        cf xk = s[k * si], xc = conj(s[(h - k) * si]);
        if (k == 0) {
          xk = {xk.re, 0.0f};
          xc = {xc.re, 0.0f};
        }
        cf z = (xk + xc) + mul_i(conj(w[k]) * (xk - xc));
        buf[k] = conj(z);  // inverse through the forward plan
      }
      plan->forward(buf.data(), scratch.data());
      for (int64_t j = 0; j < h; ++j) {
        d[2 * j * di] = buf[j].re;
        d[(2 * j + 1) * di] = -buf[j].im;
      }
    }
  });
}

}  // namespace

void CpuBackend::fft(const array& in, array& out, const std::vector<int>& axes, bool inverse,
                     bool real) {
  alloc_row_major(out);
  if (out.size() == 0 || axes.empty()) return;
  const Strides ostr = row_major_strides(out.shape());
  if (!real) {
    if (in.dtype() != complex64 || out.dtype() != complex64)
      throw RuntimeError("[fft] expects complex64 input and output.");
    const cf* src = reinterpret_cast<const cf*>(in.raw_ptr());
    cf* dst = out.data<cf>();
    c2c_axis(src, in.strides(), dst, ostr, in.shape(), axes[0], inverse);
    for (size_t i = 1; i < axes.size(); ++i) c2c_axis(dst, ostr, dst, ostr, out.shape(), axes[i], inverse);
    return;
  }
  const int last = axes.back();
  if (!inverse) {
    if (in.dtype() != float32 || out.dtype() != complex64)
      throw RuntimeError("[rfft] expects float32 input and complex64 output.");
    cf* dst = out.data<cf>();
    r2c_axis(in.data<float>(), in.strides(), dst, ostr, in.shape(), last);
    for (size_t i = 0; i + 1 < axes.size(); ++i)
      c2c_axis(dst, ostr, dst, ostr, out.shape(), axes[i], false);
    return;
  }
  if (in.dtype() != complex64 || out.dtype() != float32)
    throw RuntimeError("[irfft] expects complex64 input and float32 output.");
  const cf* src = reinterpret_cast<const cf*>(in.raw_ptr());
  Strides sstr = in.strides();
  std::shared_ptr<Data> tmp;
  if (axes.size() > 1) {
    // The complex axes first, into a row-major copy of the half spectrum.
    tmp = allocator::malloc(size_t(in.size()) * sizeof(cf));
    cf* t = static_cast<cf*>(tmp->ptr);
    Strides tstr = row_major_strides(in.shape());
    c2c_axis(src, sstr, t, tstr, in.shape(), axes[0], true);
    for (size_t i = 1; i + 1 < axes.size(); ++i) c2c_axis(t, tstr, t, tstr, in.shape(), axes[i], true);
    src = t;
    sstr = tstr;
  }
  c2r_axis(src, sstr, out.data<float>(), ostr, in.shape(), last, out.shape(last));
}

}  // namespace oxmlx::cpu
