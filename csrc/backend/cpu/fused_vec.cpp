// The portable vector step kernels (plain loops the compiler vectorizes for
// the baseline ISA), the mapping from the family op codes, and the choice of
// the ISA (fused_vec.h).
#include "backend/cpu/fused_vec.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>

#if defined(__x86_64__)
#include <emmintrin.h>
#endif

namespace oxmlx::cpu::vec {
namespace {

template <typename F>
struct Scalar {
  using T = F;
  using V = F;
  static constexpr int W = 1;
  static V load(const T* p) { return *p; }
  static void store(T* p, V v) { *p = v; }
  static void stream(T* p, V v) { *p = v; }
  static V load_n(const T* p, int) { return *p; }
  static void store_n(T* p, V v, int) { *p = v; }
  static V set1(T a) { return a; }
  static V add(V a, V b) { return a + b; }
  static V sub(V a, V b) { return a - b; }
  static V mul(V a, V b) { return a * b; }
  static V div(V a, V b) { return a / b; }
  static V sqrt(V a) { return std::sqrt(a); }
  static V neg(V a) { return -a; }
  static V abs(V a) { return std::abs(a); }
  static V max(V a, V b) { return (a != a || a > b) ? a : b; }
  static V min(V a, V b) { return (a != a || a < b) ? a : b; }
  static V fma(V a, V b, V c) {
#if defined(__FP_FAST_FMAF) || defined(__aarch64__)
    return std::fma(a, b, c);
#else
    return a * b + c;  // no hardware FMA: within an ulp of the FMA kernels
#endif
  }
  // fused_avx2.cpp's exp, branch free (clamp, then 2^n in two exact halves).
  static V exp(V x) {
    if constexpr (std::is_same_v<T, float>) {
      float xc = x < -104.0f ? -104.0f : x;
      xc = xc > 89.0f ? 89.0f : xc;
      float n = xc * 1.44269504088896341f;
      n = (n + 12582912.0f) - 12582912.0f;  // round to nearest even, |n| < 2^22
      float r = fma(-n, 0.693359375f, xc);
      r = fma(-n, -2.12194440e-4f, r);
      float p = 1.9875691500e-4f;
      p = fma(p, r, 1.3981999507e-3f);
      p = fma(p, r, 8.3334519073e-3f);
      p = fma(p, r, 4.1665795894e-2f);
      p = fma(p, r, 1.6666665459e-1f);
      p = fma(p, r, 5.0000001201e-1f);
      float y = fma(p * r, r, r + 1.0f);
      int32_t ni = int32_t(n);
      int32_t n1 = ni >> 1, n2 = ni - n1;
      int32_t b1 = (n1 + 127) << 23, b2 = (n2 + 127) << 23;
      float s1, s2;
      std::memcpy(&s1, &b1, 4);
      std::memcpy(&s2, &b2, 4);
      y = y * s1 * s2;
      return x != x ? x : y;
    } else {
      return x;  // not used: f64 exp takes the generic loops
    }
  }
};

#include "backend/cpu/fused_vec.inc"

void run_f32(const Step* s, int count, int64_t n) { StepRunner<Scalar<float>>::run(s, count, n); }
void run_f64(const Step* s, int count, int64_t n) { StepRunner<Scalar<double>>::run(s, count, n); }

const Kernels* pick() {
  const char* env = std::getenv("OXMLX_FUSED_ISA");
  std::string want = env ? env : "";
  if (want == "generic") return &kernels_generic();
  if (want == "avx2") {
    if (auto* k = kernels_avx2()) return k;
  }
  if (auto* k = kernels_avx512()) return k;
  if (auto* k = kernels_avx2()) return k;
  return &kernels_generic();
}

}  // namespace

const Kernels& kernels_generic() {
  static const Kernels k{"generic", &run_f32, &run_f64};
  return k;
}

const Kernels& vec_kernels() {
  static const Kernels* k = pick();
  return *k;
}

int64_t stream_bytes() {
  static const int64_t v = [] {
    const char* env = std::getenv("OXMLX_STREAM_BYTES");
    if (env && *env) {
      long long b = std::atoll(env);
      return b <= 0 ? INT64_MAX : int64_t(b);
    }
    return int64_t(8) << 20;
  }();
  return v;
}

void stream_fence() {
#if defined(__x86_64__)
  _mm_sfence();
#endif
}

bool vec_op(UnaryOp op, bool f64, Op* out) {
  switch (op) {
    case UnaryOp::Negative: *out = Op::Neg; return true;
    case UnaryOp::Abs: *out = Op::Abs; return true;
    case UnaryOp::Square: *out = Op::Square; return true;
    case UnaryOp::Sqrt: *out = Op::Sqrt; return true;
    case UnaryOp::Rsqrt: *out = Op::Rsqrt; return true;
    case UnaryOp::Reciprocal: *out = Op::Recip; return true;
    case UnaryOp::Exp: *out = Op::Exp; return !f64;
    default: return false;
  }
}

bool vec_op(BinaryOp op, Op* out) {
  switch (op) {
    case BinaryOp::Add: *out = Op::Add; return true;
    case BinaryOp::Subtract: *out = Op::Sub; return true;
    case BinaryOp::Multiply: *out = Op::Mul; return true;
    case BinaryOp::Divide: *out = Op::Div; return true;
    case BinaryOp::Maximum: *out = Op::Max; return true;
    case BinaryOp::Minimum: *out = Op::Min; return true;
    default: return false;
  }
}

}  // namespace oxmlx::cpu::vec
