// FFT family: unnormalized discrete Fourier transforms over any set of axes.
//
// One line (a 1-D transform of length n) is computed by a plan, built once
// per length and cached:
//  * n whose prime factors are all <= kMaxRadix: a mixed-radix Stockham
//    (self-sorting, no bit reversal) transform; radix 8, 4, then 2, 3, 5 and
//    the other small primes (generic odd-radix butterflies); the twiddles of
//    every stage are precomputed in double precision;
//  * any other n: Bluestein's chirp-z algorithm, a circular convolution of
//    power-of-two length m >= 2n - 1 done with a Stockham plan; the chirp and
//    the transformed filter are precomputed.
// Plans compute the forward transform (exponent -2 pi i jk/n); the inverse
// uses conj(F(conj(x))), applied when a line is copied in and out.
//
// Batches run kLanes lines at once: the lines are gathered into a buffer of
// `cv` elements (one complex value of kLanes lines, split re/im arrays), and
// the same plan code, templated on the element type, then runs on all lanes
// with vector arithmetic. Single lines (and very long ones) use `cf`.
//
// Real transforms of even length n use one complex transform of length n/2
// on the packed signal (x[2j] + i x[2j+1]) and a twiddled split (r2c) or
// merge (c2r); odd lengths go through a complex line. c2r ignores the
// imaginary parts of the DC and (even n) Nyquist terms, as numpy and MLX do.
//
// A multi-axis transform runs axis by axis; lines (any strides) are
// gathered, transformed and scattered, groups of lines spread over the
// thread pool.
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <type_traits>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/threadpool.h"

namespace oxmlx::cpu {

namespace {

// ---------------------------------------------------------- element types

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
inline cf real_only(cf a) { return {a.re, 0.0f}; }

constexpr int kLanes = 8;
struct cv {
  float re[kLanes], im[kLanes];
};
#define OXMLX_LANES(expr_re, expr_im) \
  cv r;                               \
  for (int l = 0; l < kLanes; ++l) {  \
    r.re[l] = expr_re;                \
    r.im[l] = expr_im;                \
  }                                   \
  return r;
inline cv operator+(const cv& a, const cv& b) { OXMLX_LANES(a.re[l] + b.re[l], a.im[l] + b.im[l]) }
inline cv operator-(const cv& a, const cv& b) { OXMLX_LANES(a.re[l] - b.re[l], a.im[l] - b.im[l]) }
inline cv operator*(const cv& a, cf w) {
  OXMLX_LANES(a.re[l] * w.re - a.im[l] * w.im, a.re[l] * w.im + a.im[l] * w.re)
}
inline cv operator*(cf w, const cv& a) { return a * w; }
inline cv operator*(float s, const cv& a) { OXMLX_LANES(s * a.re[l], s * a.im[l]) }
inline cv conj(const cv& a) { OXMLX_LANES(a.re[l], -a.im[l]) }
inline cv mul_neg_i(const cv& a) { OXMLX_LANES(a.im[l], -a.re[l]) }
inline cv mul_i(const cv& a) { OXMLX_LANES(-a.im[l], a.re[l]) }
inline cv real_only(const cv& a) { OXMLX_LANES(a.re[l], 0.0f) }
#undef OXMLX_LANES

inline void set_lane(cf& v, int, cf x) { v = x; }
inline void set_lane(cv& v, int l, cf x) { v.re[l] = x.re, v.im[l] = x.im; }
inline cf get_lane(const cf& v, int) { return v; }
inline cf get_lane(const cv& v, int l) { return {v.re[l], v.im[l]}; }
template <typename T>
constexpr int lanes_of = std::is_same_v<T, cv> ? kLanes : 1;

// x * (1 - i)/sqrt2 and x * (-1 - i)/sqrt2 (W_8 and W_8^3).
template <typename T>
inline T mul_w8(const T& x) {
  constexpr float h = 0.70710678118654752440f;
  return h * (x + mul_neg_i(x));
}
template <typename T>
inline T mul_w83(const T& x) {
  constexpr float h = 0.70710678118654752440f;
  return h * (mul_neg_i(x) - x);
}

constexpr int kMaxRadix = 31;
// Plans kept per kind (they hold O(n) twiddles); the cache restarts when full.
constexpr size_t kMaxCachedPlans = 128;

// e^{-2 pi i k / n}, exact in double then rounded (k reduced mod n first).
cf root(int64_t k, int64_t n) {
  k %= n;
  if (k < 0) k += n;
  double a = -2.0 * M_PI * double(k) / double(n);
  return {float(std::cos(a)), float(std::sin(a))};
}

// ------------------------------------------------------------ butterflies

template <typename T>
inline void dft4(T& a, T& b, T& c, T& d) {
  T t0 = a + c, t1 = a - c, t2 = b + d, t3 = mul_neg_i(b - d);
  a = t0 + t2;
  b = t1 + t3;
  c = t0 - t2;
  d = t1 - t3;
}

// In-place forward DFT of R values.
template <int R, typename T>
inline void butterfly(T* v) {
  if constexpr (R == 2) {
    T a = v[0];
    v[0] = a + v[1];
    v[1] = a - v[1];
  } else if constexpr (R == 3) {
    constexpr float s3 = 0.86602540378443864676f;
    T sum = v[1] + v[2];
    T m = v[0] - 0.5f * sum;
    T d = s3 * mul_neg_i(v[1] - v[2]);
    v[0] = v[0] + sum;
    v[1] = m + d;
    v[2] = m - d;
  } else if constexpr (R == 4) {
    dft4(v[0], v[1], v[2], v[3]);
  } else if constexpr (R == 5) {
    constexpr float c1 = 0.30901699437494742410f, c2 = -0.80901699437494742410f;
    constexpr float s1 = 0.95105651629515357212f, s2 = 0.58778525229247312917f;
    T a1 = v[1] + v[4], b1 = v[1] - v[4], a2 = v[2] + v[3], b2 = v[2] - v[3];
    T t1 = v[0] + c1 * a1 + c2 * a2, t2 = v[0] + c2 * a1 + c1 * a2;
    T u1 = mul_neg_i(s1 * b1 + s2 * b2), u2 = mul_neg_i(s2 * b1 - s1 * b2);
    v[0] = v[0] + a1 + a2;
    v[1] = t1 + u1;
    v[4] = t1 - u1;
    v[2] = t2 + u2;
    v[3] = t2 - u2;
  } else {
    static_assert(R == 8);
    // Two 4-point DFTs (even, odd inputs) joined with W_8^k.
    T e0 = v[0], e1 = v[2], e2 = v[4], e3 = v[6];
    T o0 = v[1], o1 = v[3], o2 = v[5], o3 = v[7];
    dft4(e0, e1, e2, e3);
    dft4(o0, o1, o2, o3);
    o1 = mul_w8(o1);
    o2 = mul_neg_i(o2);
    o3 = mul_w83(o3);
    v[0] = e0 + o0;
    v[4] = e0 - o0;
    v[1] = e1 + o1;
    v[5] = e1 - o1;
    v[2] = e2 + o2;
    v[6] = e2 - o2;
    v[3] = e3 + o3;
    v[7] = e3 - o3;
  }
}

struct Stage {
  int radix;
  int64_t ns;           // product of the radices of the earlier stages
  std::vector<cf> tw;   // tw[(q - 1) * ns + t] = W_{ns*radix}^{q t}
  std::vector<cf> dft;  // generic radix: dft[k] = W_radix^k
};

// One Stockham stage: out[b*ns*R + t + q*ns] = DFT_R(in[j + q*n/R] * tw)[q],
// j = b*ns + t. Twiddles are contiguous in t (the inner loop); the first
// stage (ns = 1) has none.
template <int R, typename T>
void stage_fixed(const Stage& s, int64_t n, const T* in, T* out) {
  const int64_t ns = s.ns, stride = n / R, nb = n / (R * ns);
  if (ns == 1) {
    for (int64_t b = 0; b < nb; ++b) {
      T v[R];
      for (int q = 0; q < R; ++q) v[q] = in[b + q * stride];
      butterfly<R>(v);
      for (int q = 0; q < R; ++q) out[b * R + q] = v[q];
    }
    return;
  }
  const cf* tw = s.tw.data();
  for (int64_t b = 0; b < nb; ++b) {
    const T* src = in + b * ns;
    T* o = out + b * ns * R;
    for (int64_t t = 0; t < ns; ++t) {
      T v[R];
      v[0] = src[t];
      for (int q = 1; q < R; ++q) v[q] = src[t + q * stride] * tw[(q - 1) * ns + t];
      butterfly<R>(v);
      for (int q = 0; q < R; ++q) o[t + q * ns] = v[q];
    }
  }
}

template <typename T>
void stage_generic(const Stage& s, int64_t n, const T* in, T* out) {
  const int R = s.radix;
  const int64_t ns = s.ns, stride = n / R, nb = n / (R * ns);
  const cf* tw = s.tw.data();
  const cf* w = s.dft.data();
  T v[kMaxRadix];
  for (int64_t b = 0; b < nb; ++b) {
    for (int64_t t = 0; t < ns; ++t) {
      int64_t j = b * ns + t;
      v[0] = in[j];
      for (int q = 1; q < R; ++q) v[q] = in[j + q * stride] * tw[(q - 1) * ns + t];
      T* o = out + b * ns * R + t;
      for (int k = 0; k < R; ++k) {
        T acc = v[0];
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

// ------------------------------------------------------------------ plans

class Plan {
 public:
  explicit Plan(int64_t n);
  // Scratch elements forward() needs.
  int64_t scratch_size() const { return bluestein_ ? m_ + sub_->scratch_size() : n_; }
  // x (n elements) <- forward DFT of x (T = cf: one line, cv: kLanes lines).
  template <typename T>
  void forward(T* x, T* scratch) const;

 private:
  template <typename T>
  void stockham(T* x, T* scratch) const;
  int64_t n_;
  std::vector<Stage> stages_;
  bool bluestein_ = false;
  int64_t m_ = 0;
  std::vector<cf> chirp_;   // e^{-i pi j^2 / n}, j < n
  std::vector<cf> filter_;  // DFT_m of the conjugate chirp, times 1/m
  std::shared_ptr<const Plan> sub_;
};

// The cached plan P of length n, made by make(n) on a miss: built outside
// the lock (it may look up other lengths); at most kMaxCachedPlans are kept
// (plans in use stay alive). One cache per make (a lambda: per call site).
template <typename P, typename Make>
std::shared_ptr<const P> cached_plan(int64_t n, Make make) {
  static std::mutex mu;
  static std::map<int64_t, std::shared_ptr<const P>> cache;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(n);
    if (it != cache.end()) return it->second;
  }
  std::shared_ptr<const P> p = make(n);
  std::lock_guard<std::mutex> lock(mu);
  if (cache.size() >= kMaxCachedPlans) cache.clear();
  return cache.emplace(n, std::move(p)).first->second;
}

std::shared_ptr<const Plan> get_plan(int64_t n) {
  return cached_plan<Plan>(n, [](int64_t len) { return std::make_shared<const Plan>(len); });
}

Plan::Plan(int64_t n) : n_(n) {
  std::vector<int> radices;
  int64_t r = n;
  while (r % 8 == 0) radices.push_back(8), r /= 8;
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
      for (int q = 1; q < rad; ++q) s.tw[(q - 1) * ns + t] = root(q * t, ns * rad);
    if (rad != 2 && rad != 3 && rad != 4 && rad != 5 && rad != 8) {
      s.dft.resize(rad);
      for (int k = 0; k < rad; ++k) s.dft[k] = root(k, rad);
    }
    stages_.push_back(std::move(s));
    ns *= rad;
  }
}

template <typename T>
void Plan::stockham(T* x, T* scratch) const {
  T* in = x;
  T* out = scratch;
  for (const Stage& s : stages_) {
    switch (s.radix) {
      case 2: stage_fixed<2>(s, n_, in, out); break;
      case 3: stage_fixed<3>(s, n_, in, out); break;
      case 4: stage_fixed<4>(s, n_, in, out); break;
      case 5: stage_fixed<5>(s, n_, in, out); break;
      case 8: stage_fixed<8>(s, n_, in, out); break;
      default: stage_generic(s, n_, in, out); break;
    }
    std::swap(in, out);
  }
  if (in != x) std::copy(in, in + n_, x);
}

template <typename T>
void Plan::forward(T* x, T* scratch) const {
  if (!bluestein_) return stockham(x, scratch);
  // X_k = w_k sum_j (x_j w_j) conj(w_{k-j}), w_j = e^{-i pi j^2/n}.
  T* a = scratch;
  T* sub_scratch = scratch + m_;
  for (int64_t j = 0; j < n_; ++j) a[j] = x[j] * chirp_[j];
  std::fill(a + n_, a + m_, T{});
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
  return cached_plan<RealPlan>(n, [](int64_t len) {
    auto p = std::make_shared<RealPlan>();
    p->half = get_plan(len / 2);
    p->w.resize(len / 2 + 1);
    for (int64_t k = 0; k <= len / 2; ++k) p->w[k] = root(k, len);
    return std::shared_ptr<const RealPlan>(p);
  });
}

// ----------------------------------------------------------- line drivers

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

using Offsets = const int64_t*;  // start offsets of the lines of a group

// Per-thread buffers (uninitialized: every element is written before use).
template <typename T>
struct LineBufs {
  LineBufs(int64_t nbuf, int64_t nscratch) : buf(new T[nbuf]), scratch(new T[nscratch]) {}
  std::unique_ptr<T[]> buf, scratch;
};

// Runs body(bufs, off_in, off_out, g) for groups of g <= lanes_of<T>
// consecutive lines (their start offsets), groups spread over the threads.
template <typename T, typename Body>
void for_groups(const Lines& l, int64_t n, int64_t nbuf, int64_t nscratch, Body body) {
  constexpr int G = lanes_of<T>;
  int64_t groups = (l.count + G - 1) / G;
  int64_t grain = std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(n * G, 1));
  parallel_for(groups, grain, [&](int64_t b, int64_t e) {
    LineBufs<T> bufs(nbuf, nscratch);
    int64_t oi[G] = {}, oo[G] = {};
    for (int64_t g = b; g < e; ++g) {
      int cnt = int(std::min<int64_t>(G, l.count - g * G));
      for (int k = 0; k < cnt; ++k) l.start(g * G + k, oi[k], oo[k]);
      body(bufs, oi, oo, cnt);
    }
  });
}

// Lanes for a batch: vector lanes unless there is one line or lines are long.
bool use_lanes(const Lines& l, int64_t n) { return l.count > 1 && n <= (int64_t(1) << 15); }

// buf[k] lane j <- f(src[oi[j] + k * s]) for j < g (other lanes zero).
template <typename T, typename S, typename F>
void gather(T* buf, int64_t len, const S* src, const int64_t* oi, int g, int64_t s, F f) {
  if (g < lanes_of<T>) std::fill(buf, buf + len, T{});
  for (int64_t k = 0; k < len; ++k)
    for (int j = 0; j < g; ++j) set_lane(buf[k], j, f(src[oi[j] + k * s]));
}

template <typename T, typename D, typename F>
void scatter(const T* buf, int64_t len, D* dst, const int64_t* oo, int g, int64_t s, F f) {
  for (int64_t k = 0; k < len; ++k)
    for (int j = 0; j < g; ++j) dst[oo[j] + k * s] = f(get_lane(buf[k], j));
}

// Complex lines of length n along axis: dst = DFT(src) (or inverse).
template <typename T>
void c2c_lines(const Lines& l, const cf* src, int64_t si, cf* dst, int64_t di, int64_t n,
               bool inverse) {
  auto plan = get_plan(n);
  auto io = [inverse](cf v) { return inverse ? conj(v) : v; };
  auto body = [&](LineBufs<T>& b, Offsets oi, Offsets oo, int g) {
    T* buf = b.buf.get();
    gather(buf, n, src, oi, g, si, io);
    plan->forward(buf, b.scratch.get());
    scatter(buf, n, dst, oo, g, di, io);
  };
  for_groups<T>(l, n, n, plan->scratch_size(), body);
}

void c2c_axis(const cf* src, const Strides& sstr, cf* dst, const Strides& dstr, const Shape& shape,
              int axis, bool inverse) {
  const int64_t n = shape[axis];
  Lines l = lines_of(shape, sstr, dstr, axis);
  if (l.count == 0 || n == 0) return;
  if (use_lanes(l, n)) c2c_lines<cv>(l, src, sstr[axis], dst, dstr[axis], n, inverse);
  else c2c_lines<cf>(l, src, sstr[axis], dst, dstr[axis], n, inverse);
}

// The plans of a real line of length n: even n runs as a complex line of its
// h = n/2 packed pairs (rplan->half, with rplan's split twiddles), odd n as a
// full complex line; len is that complex line's length, m = h + 1 the length
// of the half spectrum.
struct RealLine {
  int64_t h, m;
  bool even;
  std::shared_ptr<const RealPlan> rplan;
  std::shared_ptr<const Plan> plan;
  int64_t len;
  explicit RealLine(int64_t n)
      : h(n / 2), m(n / 2 + 1), even(n % 2 == 0), rplan(even ? get_real_plan(n) : nullptr),
        plan(even ? rplan->half : get_plan(n)), len(even ? h : n) {}
};

// Real lines of length n -> n/2 + 1 complex values.
template <typename T>
void r2c_lines(const Lines& l, const float* src, int64_t si, cf* dst, int64_t di, int64_t n) {
  const RealLine p(n);
  const int64_t h = p.h;
  auto id = [](cf v) { return v; };
  auto body = [&](LineBufs<T>& b, Offsets oi, Offsets oo, int g) {
    T* z = b.buf.get();
    T* res = z + p.len;
    if (!p.even) {
      gather(z, n, src, oi, g, si, [](float v) { return cf{v, 0.0f}; });
      p.plan->forward(z, b.scratch.get());
      std::copy(z, z + p.m, res);
    } else {
      // Packed pairs z_j = x_2j + i x_2j+1.
      if (g < lanes_of<T>) std::fill(z, z + h, T{});
      for (int64_t j = 0; j < h; ++j)
        for (int q = 0; q < g; ++q)
          set_lane(z[j], q, cf{src[oi[q] + 2 * j * si], src[oi[q] + (2 * j + 1) * si]});
      p.plan->forward(z, b.scratch.get());
      const cf* w = p.rplan->w.data();
      for (int64_t k = 0; k <= h; ++k) {
        T zk = z[k % h], zc = conj(z[(h - k) % h]);
        T ev = 0.5f * (zk + zc);
        T od = 0.5f * mul_neg_i(zk - zc);
        res[k] = ev + w[k] * od;
      }
    }
    scatter(res, p.m, dst, oo, g, di, id);
  };
  for_groups<T>(l, n, p.len + p.m, p.plan->scratch_size(), body);
}

void r2c_axis(const float* src, const Strides& sstr, cf* dst, const Strides& dstr,
              const Shape& shape, int axis) {
  const int64_t n = shape[axis];
  Lines l = lines_of(shape, sstr, dstr, axis);
  if (l.count == 0) return;
  if (use_lanes(l, n)) r2c_lines<cv>(l, src, sstr[axis], dst, dstr[axis], n);
  else r2c_lines<cf>(l, src, sstr[axis], dst, dstr[axis], n);
}

// Half spectra (n/2 + 1 values) -> real lines of length n.
template <typename T>
void c2r_lines(const Lines& l, const cf* src, int64_t si, float* dst, int64_t di, int64_t n) {
  const RealLine p(n);
  const int64_t h = p.h;
  auto body = [&](LineBufs<T>& b, Offsets oi, Offsets oo, int g) {
    T* z = b.buf.get();
    T* s = z + p.len;
    gather(s, p.m, src, oi, g, si, [](cf v) { return v; });
    if (!p.even) {
      // Hermitian extension, conjugated for the inverse: conj(Y_k).
      z[0] = real_only(s[0]);
      for (int64_t k = 1; k <= h; ++k) {
        z[k] = conj(s[k]);
        z[n - k] = s[k];
      }
      p.plan->forward(z, b.scratch.get());
      for (int64_t j = 0; j < n; ++j)
        for (int q = 0; q < g; ++q) dst[oo[q] + j * di] = get_lane(z[j], q).re;
      return;
    }
    const cf* w = p.rplan->w.data();
    for (int64_t k = 0; k < h; ++k) {
      T xk = s[k], xc = conj(s[h - k]);
      if (k == 0) {
        xk = real_only(xk);
        xc = real_only(xc);
      }
      z[k] = conj((xk + xc) + mul_i(conj(w[k]) * (xk - xc)));  // inverse via the forward plan
    }
    p.plan->forward(z, b.scratch.get());
    for (int64_t j = 0; j < h; ++j)
      for (int q = 0; q < g; ++q) {
        cf v = get_lane(z[j], q);
        dst[oo[q] + 2 * j * di] = v.re;
        dst[oo[q] + (2 * j + 1) * di] = -v.im;
      }
  };
  for_groups<T>(l, n, p.len + p.m, p.plan->scratch_size(), body);
}

void c2r_axis(const cf* src, const Strides& sstr, float* dst, const Strides& dstr,
              const Shape& in_shape, int axis, int64_t n) {
  Lines l = lines_of(in_shape, sstr, dstr, axis);
  if (l.count == 0) return;
  if (use_lanes(l, n)) c2r_lines<cv>(l, src, sstr[axis], dst, dstr[axis], n);
  else c2r_lines<cf>(l, src, sstr[axis], dst, dstr[axis], n);
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
    for (size_t i = 1; i < axes.size(); ++i)
      c2c_axis(dst, ostr, dst, ostr, out.shape(), axes[i], inverse);
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
    for (size_t i = 1; i + 1 < axes.size(); ++i)
      c2c_axis(t, tstr, t, tstr, in.shape(), axes[i], true);
    src = t;
    sstr = tstr;
  }
  c2r_axis(src, sstr, out.data<float>(), ostr, in.shape(), last, out.shape(last));
}

}  // namespace oxmlx::cpu
