// Fused family on the CPU (Backend::fast): ISA selection, the portable
// scalar row kernels, and the row drivers for softmax, logsumexp, rms_norm
// and layer_norm (one pass per row, rows split across threads). Rope and
// attention drivers are in fast_rope.cpp and fast_sdpa.cpp.
#include "backend/fast.h"

#include <atomic>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <type_traits>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/fast_isa.h"
#include "backend/cpu/threadpool.h"

namespace oxmlx::cpu {

namespace fast_detail {
namespace {

// One-lane trait: the portable path, and the float64 path of every ISA.
template <typename AT>
struct Scalar {
  using A = AT;
  using V = AT;
  static constexpr int W = 1;
  static V zero() { return A(0); }
  static V set1(A a) { return a; }
  template <typename T>
  static V load(const T* p) {
    return static_cast<A>(*p);
  }
  template <typename T>
  static V load_n(const T* p, int, A) {
    return static_cast<A>(*p);
  }
  template <typename T>
  static void store(T* p, V v) {
    *p = T(v);
  }
  template <typename T>
  static void store_n(T* p, V v, int) {
    *p = T(v);
  }
  template <typename T>
  static V round(V v) {
    return static_cast<A>(T(v));
  }
  static V add(V a, V b) { return a + b; }
  static V sub(V a, V b) { return a - b; }
  static V mul(V a, V b) { return a * b; }
  static V fmadd(V a, V b, V c) { return a * b + c; }
  static V max(V a, V b) { return (a != a || a > b) ? a : b; }
  static V min(V a, V b) { return (a != a || a < b) ? a : b; }
  static A hmin(V v) { return v; }
  static A hsum(V v) { return v; }
  static A hmax(V v) { return v; }
  static V exp(V x) { return std::exp(x); }
  static V exp_neg(V x) { return std::exp(x); }
  static V max_nn(V a, V b) { return a > b ? a : b; }  // b when a is NaN
  static constexpr int kStreamAlign = 0;  // no streaming stores
  template <typename T>
  static void stream(T* p, V v) {
    *p = T(v);
  }
  static void stream_fence() {}
};

namespace f32 {
using Tr = Scalar<float>;
#include "backend/cpu/fast_kernels.inc"
}  // namespace f32
namespace f64 {
using Tr = Scalar<double>;
#include "backend/cpu/fast_kernels.inc"
}  // namespace f64

bool env_is(const char* v, const char* name) { return v && std::strcmp(v, name) == 0; }

const FastIsa* detect() {
  const char* force = std::getenv("OXMLX_FAST_ISA");
  const FastIsa* a512 = fast_avx512();
  const FastIsa* a2 = fast_avx2();
  if (env_is(force, "generic")) return fast_generic();
  if (env_is(force, "avx2") && a2) return a2;
  if (env_is(force, "avx512") && a512) return a512;
  if (a512) return a512;
  if (a2) return a2;
  return fast_generic();
}

}  // namespace

const FastIsa* fast_generic() {
  static const FastIsa isa = f32::k_float_isa("generic", f64::k_row_fns<double>());
  return &isa;
}

const FastIsa& fast_isa() {
  static const FastIsa* k = detect();
  return *k;
}

}  // namespace fast_detail

using namespace fast_detail;

// Rope and attention drivers (fast_rope.cpp, fast_sdpa.cpp).
void fast_rope(const std::vector<array>& in, array& out, const FastParams& p);
void fast_sdpa(const std::vector<array>& in, std::vector<array>& out, const FastParams& p);
void fast_sdpa_vjp(const std::vector<array>& in, std::vector<array>& out, const FastParams& p);
void fast_gated_delta(const std::vector<array>& in, std::vector<array>& out, const FastParams& p);

// in itself when it is row-contiguous and dense, else a row-contiguous copy.
array fast_row_major(const array& in) {
  if (in.flags().row_contiguous && in.data_size() == in.size()) return in;
  array tmp(std::make_shared<ArrayDesc>(in.shape(), in.dtype()));
  CpuBackend().copy(in, tmp);
  return tmp;
}

namespace {

array row_major(const array& in) { return fast_row_major(in); }

// Calls f(T, A) for the floating storage types the family supports.
template <typename F>
void dispatch_float(Dtype d, const char* op, F&& f) {
  if (d == float32) f(float{}, float{});
  else if (d == float16) f(float16_t{}, float{});
  else if (d == bfloat16) f(bfloat16_t{}, float{});
  else if (d == float64) f(double{}, double{});
  else throw RuntimeError(msg("[", op, "] unsupported dtype ", dtype_name(d), "."));
}

int64_t row_grain(int64_t n) { return std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(n, 1)); }

// Outputs at least this large take streaming stores in the row kernels:
// they do not fit the caches anyway, and a streaming store skips reading
// the destination line first (a third of the memory traffic of a row op).
constexpr size_t kStreamBytes = size_t(8) << 20;

bool stream_out(const array& x, const array& y) {
  return y.nbytes() >= kStreamBytes && y.data<char>() != x.data<char>();
}

// Runs f(r0, r1) over [0, rows) in blocks of rows claimed one at a time by
// the pool's threads (the caller included), so that a thread the OS
// deschedules holds up one block, not its share of the rows. A block is
// about 256 KiB of input (the kernels prefetch the next row within a
// block; smaller blocks measured slower at 4096^2), fewer rows when that
// would leave under 8 blocks per thread.
template <typename F>
void for_row_blocks(int64_t rows, int64_t n, size_t itemsize, F&& f) {
  const int64_t row_bytes = std::max<int64_t>(1, n * int64_t(itemsize));
  const int64_t threads = num_threads();
  const int64_t blk = std::max<int64_t>(
      1, std::min<int64_t>((int64_t(1) << 18) / row_bytes, rows / (8 * threads)));
  const int64_t nblk = (rows + blk - 1) / blk;
  const int64_t nt = std::min<int64_t>(threads, nblk);
  if (nt <= 1 || rows * n < (int64_t(1) << 14)) {
    f(int64_t(0), rows);
    return;
  }
  std::atomic<int64_t> next{0};
  parallel_for(nt, 1, [&](int64_t, int64_t) {
    for (int64_t b; (b = next.fetch_add(1, std::memory_order_relaxed)) < nblk;)
      f(b * blk, std::min(rows, (b + 1) * blk));
  });
}

// Per-thread scratch of at least n values of A, kept between calls.
template <typename A>
A* thread_scratch(int64_t n) {
  thread_local std::vector<A> buf;
  if (int64_t(buf.size()) < n) buf.resize(size_t(n));
  return buf.data();
}

void run_softmax(const array& x_in, array& y) {
  array x = row_major(x_in);
  if (!try_donate(x, y)) alloc_row_major(y);
  if (x.size() == 0) return;
  int64_t n = x.shape(-1), rows = x.size() / n;
  const bool stream = stream_out(x, y);
  dispatch_float(x.dtype(), "softmax", [&](auto t, auto a) {
    using T = decltype(t);
    using A = decltype(a);
    const auto& f = fns_for<T, A>(fast_isa());
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    for_row_blocks(rows, n, sizeof(T), [&](int64_t r0, int64_t r1) {
      f.softmax(xp + r0 * n, yp + r0 * n, n, r1 - r0, thread_scratch<A>(n), stream);
    });
  });
}

void run_logsumexp(const array& x_in, array& y) {
  array x = row_major(x_in);
  alloc_row_major(y);
  int64_t n = x.shape(-1), rows = y.size();
  if (rows == 0) return;
  dispatch_float(x.dtype(), "logsumexp", [&](auto t, auto a) {
    using T = decltype(t);
    using A = decltype(a);
    const auto& f = fns_for<T, A>(fast_isa());
    const T* xp = n ? x.data<T>() : nullptr;
    T* yp = y.data<T>();
    for_row_blocks(rows, n, sizeof(T), [&](int64_t r0, int64_t r1) {
      f.logsumexp(xp ? xp + r0 * n : nullptr, yp + r0, n, r1 - r0);
    });
  });
}

void run_norm(FastOp op, const std::vector<array>& in, array& y, const FastParams& p) {
  array x = row_major(in[0]);
  array w = p.has_weight ? row_major(in[1]) : in[1];
  array b = (op == FastOp::LayerNorm && p.has_bias) ? row_major(in[2]) : in[0];
  if (!try_donate(x, y)) alloc_row_major(y);
  if (x.size() == 0) return;
  int64_t n = x.shape(-1), rows = x.size() / n;
  const bool stream = stream_out(x, y);
  const char* name = op == FastOp::RmsNorm ? "rms_norm" : "layer_norm";
  dispatch_float(x.dtype(), name, [&](auto t, auto a) {
    using T = decltype(t);
    using A = decltype(a);
    const auto& f = fns_for<T, A>(fast_isa());
    const T* xp = x.data<T>();
    const T* wp = p.has_weight ? w.data<T>() : nullptr;
    const T* bp = (op == FastOp::LayerNorm && p.has_bias) ? b.data<T>() : nullptr;
    T* yp = y.data<T>();
    float eps = p.eps;
    for_row_blocks(rows, n, sizeof(T), [&](int64_t r0, int64_t r1) {
      if (op == FastOp::RmsNorm) f.rms_norm(xp + r0 * n, wp, yp + r0 * n, n, r1 - r0, eps, stream);
      else f.layer_norm(xp + r0 * n, wp, bp, yp + r0 * n, n, r1 - r0, eps, stream);
    });
  });
}

// Norm backward: rows in parallel, each chunk accumulates its own dw/db
// partial sums (float, or double for float64) and adds them under a lock.
void run_norm_vjp(FastOp op, const std::vector<array>& in, std::vector<array>& out,
                  const FastParams& p) {
  const bool ln = op == FastOp::LayerNormVjp;
  array x = row_major(in[0]);
  array w = p.has_weight ? row_major(in[1]) : in[1];
  array g = row_major(in[ln ? 3 : 2]);
  for (auto& o : out) alloc_row_major(o);
  const int64_t n = x.ndim() ? x.shape(-1) : 1;
  const int64_t rows = n ? x.size() / n : 0;
  const bool want_dw = p.has_weight, want_db = ln && p.has_bias;
  dispatch_float(x.dtype(), ln ? "layer_norm vjp" : "rms_norm vjp", [&](auto t, auto a) {
    using T = decltype(t);
    using A = decltype(a);
    const auto& f = fns_for<T, A>(fast_isa());
    const T* xp = x.data<T>();
    const T* wp = want_dw ? w.data<T>() : nullptr;
    const T* gp = g.data<T>();
    T* dxp = out[0].data<T>();
    std::vector<A> dw_tot(want_dw ? n : 0, A(0)), db_tot(want_db ? n : 0, A(0));
    std::mutex mu;
    parallel_for(rows, row_grain(n), [&](int64_t r0, int64_t r1) {
      std::vector<A> dw(dw_tot.size(), A(0)), db(db_tot.size(), A(0));
      A* dwp = want_dw ? dw.data() : nullptr;
      A* dbp = want_db ? db.data() : nullptr;
      for (int64_t r = r0; r < r1; ++r) {
        if (ln) f.layer_norm_vjp(xp + r * n, wp, gp + r * n, dxp + r * n, dwp, dbp, n, p.eps);
        else f.rms_norm_vjp(xp + r * n, wp, gp + r * n, dxp + r * n, dwp, n, p.eps);
      }
      std::lock_guard<std::mutex> lock(mu);
      for (size_t i = 0; i < dw.size(); ++i) dw_tot[i] += dw[i];
      for (size_t i = 0; i < db.size(); ++i) db_tot[i] += db[i];
    });
    auto put = [](array& o, const std::vector<A>& v, bool want) {
      T* d = o.data<T>();
      for (int64_t i = 0; i < o.size(); ++i) d[i] = want ? T(v[i]) : T(A(0));
    };
    put(out[1], dw_tot, want_dw);
    if (ln) put(out[2], db_tot, want_db);
  });
}

void run_exp(const array& x_in, array& y) {
  array x = row_major(x_in);
  if (x.dtype() != float32) throw RuntimeError("[fast exp] expected float32.");
  alloc_row_major(y);
  auto fn = fast_isa().exp_f32;
  const float* xp = x.data<float>();
  float* yp = y.data<float>();
  parallel_for(x.size(), 1 << 15, [&](int64_t b, int64_t e) { fn(xp + b, yp + b, e - b); });
}

}  // namespace

// OXMLX_FAST_ISA=none turns the kernels off (the nodes then evaluate their
// compositions, as on a backend without them): a test hook.
bool CpuBackend::supports_fast(FastOp) const {
  static const bool off = env_is(std::getenv("OXMLX_FAST_ISA"), "none");
  return !off;
}

void CpuBackend::fast(FastOp op, const std::vector<array>& in, std::vector<array>& out,
                      const FastParams& p) {
  switch (op) {
    case FastOp::Softmax: return run_softmax(in[0], out[0]);
    case FastOp::LogSumExp: return run_logsumexp(in[0], out[0]);
    case FastOp::RmsNorm:
    case FastOp::LayerNorm: return run_norm(op, in, out[0], p);
    case FastOp::Rope: return fast_rope(in, out[0], p);
    case FastOp::Sdpa: return fast_sdpa(in, out, p);
    case FastOp::SdpaVjp: return fast_sdpa_vjp(in, out, p);
    case FastOp::Exp: return run_exp(in[0], out[0]);
    case FastOp::RmsNormVjp:
    case FastOp::LayerNormVjp: return run_norm_vjp(op, in, out, p);
    case FastOp::GatedDelta: return fast_gated_delta(in, out, p);
  }
  throw RuntimeError("[fast] unknown op.");
}

}  // namespace oxmlx::cpu
