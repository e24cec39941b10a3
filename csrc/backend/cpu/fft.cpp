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
#include <cstdlib>
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
    if (rad > 5) {
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
      } else if constexpr (R == 5) {
        constexpr float c1 = 0.30901699437494742410f, c2 = -0.80901699437494742410f;
        constexpr float s1 = 0.95105651629515357212f, s2 = 0.58778525229247312917f;
        cf a1 = v[1] + v[4], b1 = v[1] - v[4], a2 = v[2] + v[3], b2 = v[2] - v[3];
        cf t1 = v[0] + c1 * a1 + c2 * a2, t2 = v[0] + c2 * a1 + c1 * a2;
        cf u1 = mul_neg_i(s1 * b1 + s2 * b2), u2 = mul_neg_i(s2 * b1 - s1 * b2);
        o[0] = v[0] + a1 + a2;
        o[ns] = t1 + u1;
        o[4 * ns] = t1 - u1;
        o[2 * ns] = t2 + u2;
        o[3 * ns] = t2 - u2;
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
      case 5: stage_fixed<5>(s, n_, in, out); break;
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
// Lines are numbered with the last of the other axes fastest, and handled in
// groups of up to kGroup consecutive lines along it, so that a transform
// along a strided axis reads and writes kGroup neighbouring elements at a
// time (whole cache lines) instead of one.
constexpr int64_t kGroup = 8;

struct Lines {
  int64_t count = 0;
  std::vector<int64_t> dims, in_str, out_str;  // the other axes
  int64_t run = 1;                            // lines per run of the fastest other axis
  int64_t in_step = 0, out_step = 0;          // its strides
  int64_t gsize = 1;                          // lines per group
  void start(int64_t line, int64_t& oi, int64_t& oo) const {
    oi = oo = 0;
    for (int d = int(dims.size()) - 1; d >= 0; --d) {
      int64_t i = line % dims[d];
      line /= dims[d];
      oi += i * in_str[d];
      oo += i * out_str[d];
    }
  }
  int64_t groups() const { return count / run * ((run + gsize - 1) / gsize); }
  // First line and size of group g.
  std::pair<int64_t, int64_t> group(int64_t g) const {
    int64_t per_run = (run + gsize - 1) / gsize;
    int64_t j = (g % per_run) * gsize;
    return {(g / per_run) * run + j, std::min(gsize, run - j)};
  }
};

// Lines over `shape` (of the in side) for `axis`; out strides may describe a
// shape differing along `axis` only. Lines are grouped only when a side is
// strided along the axis.
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
  if (!l.dims.empty() && l.count > 0) {
    l.run = l.dims.back();
    l.in_step = l.in_str.back();
    l.out_step = l.out_str.back();
  }
  bool strided = std::abs(in_str[axis]) != 1 || std::abs(out_str[axis]) != 1;
  l.gsize = strided ? std::min(kGroup, l.run) : 1;
  return l;
}

// Runs body(oi, oo, g) for every group of lines (base offsets of the first
// line, g lines stepping by in_step / out_step), groups spread over threads.
// make_state() gives each thread its buffers.
template <typename MakeState, typename Body>
void for_groups(const Lines& l, int64_t n, MakeState make_state, Body body) {
  int64_t grain = std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(n * l.gsize, 1));
  parallel_for(l.groups(), grain, [&](int64_t b, int64_t e) {
    auto state = make_state();
    for (int64_t g = b; g < e; ++g) {
      auto [first, cnt] = l.group(g);
      int64_t oi, oo;
      l.start(first, oi, oo);
      body(state, oi, oo, cnt);
    }
  });
}

// Whether to walk a group's elements line by line: when the line stride of
// the strided side (memory, not the line buffer) is the smaller one.
inline bool line_major(int64_t g, int64_t elem_stride, int64_t line_stride) {
  return g == 1 || std::abs(elem_stride) <= std::abs(line_stride);
}

// Copies g lines of len elements: dst line b, element k <- f(src[b*sb + k*sk]).
template <typename S, typename D, typename F>
void copy_lines(const S* src, int64_t sb, int64_t sk, D* dst, int64_t db, int64_t dk, int64_t g,
                int64_t len, bool by_line, F f) {
  if (by_line) {
    for (int64_t b = 0; b < g; ++b)
      for (int64_t k = 0; k < len; ++k) dst[b * db + k * dk] = f(src[b * sb + k * sk]);
  } else {
    for (int64_t k = 0; k < len; ++k)
      for (int64_t b = 0; b < g; ++b) dst[b * db + k * dk] = f(src[b * sb + k * sk]);
  }
}

// Per-thread buffers (uninitialized: every element is written before use).
struct LineState {
  LineState(int64_t nbuf, int64_t nscratch) : buf(new cf[nbuf]), scratch(new cf[nscratch]) {}
  std::unique_ptr<cf[]> buf, scratch;
};

// Complex lines of length n along axis: dst = DFT(src) (or inverse).
void c2c_axis(const cf* src, const Strides& sstr, cf* dst, const Strides& dstr, const Shape& shape,
              int axis, bool inverse) {
  const int64_t n = shape[axis];
  Lines l = lines_of(shape, sstr, dstr, axis);
  if (l.count == 0 || n == 0) return;
  auto plan = get_plan(n);
  const int64_t si = sstr[axis], di = dstr[axis];
  auto make = [&] { return LineState(n * l.gsize, plan->scratch_size()); };
  for_groups(l, n, make, [&](LineState& st, int64_t oi, int64_t oo, int64_t g) {
    cf* buf = st.buf.get();
    auto in = [inverse](cf v) { return inverse ? conj(v) : v; };
    copy_lines(src + oi, l.in_step, si, buf, n, 1, g, n, line_major(g, si, l.in_step), in);
    for (int64_t b = 0; b < g; ++b) plan->forward(buf + b * n, st.scratch.get());
    // Scatter: the destination strides decide the loop order.
    copy_lines(buf, n, 1, dst + oo, l.out_step, di, g, n, line_major(g, di, l.out_step), in);
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
  const int64_t len = even ? h : n, m = h + 1;
  auto make = [&] { return LineState((len + m) * l.gsize, plan->scratch_size()); };
  for_groups(l, n, make, [&](LineState& st, int64_t oi, int64_t oo, int64_t g) {
    cf* buf = st.buf.get();
    cf* res = buf + len * l.gsize;
    if (!even) {
      copy_lines(src + oi, l.in_step, si, buf, len, 1, g, n, line_major(g, si, l.in_step),
                 [](float v) { return cf{v, 0.0f}; });
      for (int64_t b = 0; b < g; ++b) {
        plan->forward(buf + b * len, st.scratch.get());
        std::copy(buf + b * len, buf + b * len + m, res + b * m);
      }
    } else {
      // Pack pairs: z_j = x_2j + i x_2j+1 (read as float pairs).
      const float* s0 = src + oi;
      auto pack = [&](int64_t b, int64_t j) { return cf{s0[b * l.in_step + 2 * j * si], s0[b * l.in_step + (2 * j + 1) * si]}; };
      if (line_major(g, si, l.in_step)) {
        for (int64_t b = 0; b < g; ++b)
          for (int64_t j = 0; j < h; ++j) buf[b * len + j] = pack(b, j);
      } else {
        for (int64_t j = 0; j < h; ++j)
          for (int64_t b = 0; b < g; ++b) buf[b * len + j] = pack(b, j);
      }
      const cf* w = rplan->w.data();
      for (int64_t b = 0; b < g; ++b) {
        cf* z = buf + b * len;
        plan->forward(z, st.scratch.get());
        for (int64_t k = 0; k <= h; ++k) {
          cf zk = z[k % h], zc = conj(z[(h - k) % h]);
          cf ev = 0.5f * (zk + zc);
          cf od = 0.5f * mul_neg_i(zk - zc);
          res[b * m + k] = ev + w[k] * od;
        }
      }
    }
    copy_lines(res, m, 1, dst + oo, l.out_step, di, g, m, line_major(g, di, l.out_step),
               [](cf v) { return v; });
  });
}

// Half spectra (n/2 + 1 along axis of in_shape) -> real lines of length n.
void c2r_axis(const cf* src, const Strides& sstr, float* dst, const Strides& dstr,
              const Shape& in_shape, int axis, int64_t n) {
  const int64_t h = n / 2, m = h + 1;
  Lines l = lines_of(in_shape, sstr, dstr, axis);
  if (l.count == 0) return;
  const int64_t si = sstr[axis], di = dstr[axis];
  bool even = n % 2 == 0;
  auto rplan = even ? get_real_plan(n) : nullptr;
  auto plan = even ? rplan->half : get_plan(n);
  const int64_t len = even ? h : n;
  auto make = [&] { return LineState((len + m) * l.gsize, plan->scratch_size()); };
  for_groups(l, n, make, [&](LineState& st, int64_t oi, int64_t oo, int64_t g) {
    cf* buf = st.buf.get();
    cf* spec = buf + len * l.gsize;
    copy_lines(src + oi, l.in_step, si, spec, m, 1, g, m, line_major(g, si, l.in_step),
               [](cf v) { return v; });
    for (int64_t b = 0; b < g; ++b) {
      const cf* s = spec + b * m;
      cf* z = buf + b * len;
      if (!even) {
        // Hermitian extension, conjugated for the inverse: conj(Y_k).
        z[0] = {s[0].re, 0.0f};
        for (int64_t k = 1; k <= h; ++k) {
          z[k] = conj(s[k]);
          z[n - k] = s[k];
        }
        plan->forward(z, st.scratch.get());
        continue;
      }
      const cf* w = rplan->w.data();
      for (int64_t k = 0; k < h; ++k) {
        cf xk = s[k], xc = conj(s[h - k]);
        if (k == 0) {
          xk = {xk.re, 0.0f};
          xc = {xc.re, 0.0f};
        }
        cf zz = (xk + xc) + mul_i(conj(w[k]) * (xk - xc));
        z[k] = conj(zz);  // inverse through the forward plan
      }
      plan->forward(z, st.scratch.get());
    }
    float* d0 = dst + oo;
    // Line b's values: odd n: re of z (stride 2 floats); even n: (re, -im) pairs.
    auto value = [&](int64_t b, int64_t j) -> float {
      const cf* z = buf + b * len;
      if (!even) return z[j].re;
      const cf& v = z[j / 2];
      return (j % 2) ? -v.im : v.re;
    };
    if (line_major(g, di, l.out_step)) {
      for (int64_t b = 0; b < g; ++b)
        for (int64_t j = 0; j < n; ++j) d0[b * l.out_step + j * di] = value(b, j);
    } else {
      for (int64_t j = 0; j < n; ++j)
        for (int64_t b = 0; b < g; ++b) d0[b * l.out_step + j * di] = value(b, j);
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
