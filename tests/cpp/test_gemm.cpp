// Standalone correctness test for oxmlx::cpu::gemm / gemm_batched.
//
// Build (from the repo root):
//   g++ -O2 -std=c++20 -I csrc csrc/backend/cpu/threadpool.cpp csrc/backend/cpu/gemm*.cpp
//       tests/cpp/test_gemm.cpp -lpthread -o test_gemm  &&  ./test_gemm
//
// Every ISA path the CPU supports is forced in turn (OXMLX_GEMM_ISA +
// gemm_reset_isa), and for each: all four dtypes, all trans_a/trans_b
// combinations, odd sizes and tails, padded leading dimensions, several
// alpha/beta pairs (beta == 0 with a NaN-filled C), empty dimensions, K == 0,
// alpha == 0, matrix-vector shapes (M or N == 1, their own path), shapes
// spanning several cache blocks, several thread counts (1, 3, all) and
// batched products with broadcast operands. The
// reference is a naive triple loop accumulating in double on the same
// (already rounded) inputs; the tolerance scales with K and the magnitude of
// the products, plus one rounding of the output type.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/gemm.h"
#include "backend/cpu/threadpool.h"

using namespace oxmlx;
using namespace oxmlx::cpu;

namespace {

int g_passed = 0, g_failed = 0;
std::mt19937_64 g_rng(12345);

template <typename T>
const char* tname();
template <>
const char* tname<float>() { return "f32"; }
template <>
const char* tname<double>() { return "f64"; }
template <>
const char* tname<float16_t>() { return "f16"; }
template <>
const char* tname<bfloat16_t>() { return "bf16"; }

// Unit roundoff of the accumulation type and of the stored type.
template <typename T>
double acc_eps() { return std::is_same_v<T, double> ? 0x1p-53 : 0x1p-24; }
template <typename T>
double out_eps() {
  if (std::is_same_v<T, double>) return 0x1p-53;
  if (std::is_same_v<T, float>) return 0x1p-24;
  if (std::is_same_v<T, float16_t>) return 0x1p-11;
  return 0x1p-8;
}

// Absolute rounding error floor of the stored type (float16 subnormals).
template <typename T>
double out_tiny() { return std::is_same_v<T, float16_t> ? 0x1p-24 : 1e-300; }

template <typename T>
double to_d(T v) {
  if constexpr (std::is_same_v<T, double>) return v;
  else return double(float(v));
}
template <typename T>
T from_d(double v) {
  if constexpr (std::is_same_v<T, double>) return v;
  else return T(float(v));
}

template <typename T>
std::vector<T> rand_vec(size_t n) {
  std::uniform_real_distribution<double> d(-1.0, 1.0);
  std::vector<T> v(n);
  for (auto& x : v) x = from_d<T>(d(g_rng));
  return v;
}

struct Case {
  bool ta, tb;
  int64_t M, N, K;
  float alpha, beta;
  int64_t pad_a, pad_b, pad_c;
};

// Checks C (M x N with ldc) against the double reference; also checks that
// the padding columns of C were not touched.
template <typename T>
bool check(const Case& c, const T* A, int64_t lda, const T* B, int64_t ldb, const T* C0,
           const T* C, int64_t ldc, std::string& why) {
  for (int64_t i = 0; i < c.M; ++i) {
    for (int64_t j = 0; j < c.N; ++j) {
      double s = 0, sabs = 0;
      for (int64_t k = 0; k < c.K; ++k) {
        double a = to_d(c.ta ? A[k * lda + i] : A[i * lda + k]);
        double b = to_d(c.tb ? B[j * ldb + k] : B[k * ldb + j]);
        s += a * b;
        sabs += std::fabs(a * b);
      }
      double ref = double(c.alpha) * s;
      double scale = std::fabs(double(c.alpha)) * sabs;
      if (c.beta != 0.0f) {
        ref += double(c.beta) * to_d(C0[i * ldc + j]);
        scale += std::fabs(double(c.beta) * to_d(C0[i * ldc + j]));
      }
      double got = to_d(C[i * ldc + j]);
      double tol = 4.0 * (double(c.K) + 4.0) * acc_eps<T>() * scale +
                   2.0 * out_eps<T>() * std::fabs(ref) + out_tiny<T>();
      if (!(std::fabs(got - ref) <= tol)) {
        char buf[200];
        std::snprintf(buf, sizeof buf, "C(%lld,%lld) = %.9g, want %.9g (tol %.3g)", (long long)i,
                      (long long)j, got, ref, tol);
        why = buf;
        return false;
      }
    }
    for (int64_t j = c.N; j < ldc; ++j) {
      if (std::memcmp(&C[i * ldc + j], &C0[i * ldc + j], sizeof(T)) != 0) {
        why = "padding column " + std::to_string(j) + " of row " + std::to_string(i) + " changed";
        return false;
      }
    }
  }
  return true;
}

template <typename T>
void report(bool ok, const std::string& what, const std::string& why) {
  if (ok) {
    ++g_passed;
  } else {
    ++g_failed;
    std::printf("FAIL [%s %s] %s: %s\n", gemm_detail::gemm_isa_name(), tname<T>(), what.c_str(),
                why.c_str());
  }
}

std::string describe(const Case& c) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "ta=%d tb=%d M=%lld N=%lld K=%lld alpha=%g beta=%g pads=%lld,%lld,%lld",
                c.ta, c.tb, (long long)c.M, (long long)c.N, (long long)c.K, c.alpha, c.beta,
                (long long)c.pad_a, (long long)c.pad_b, (long long)c.pad_c);
  return buf;
}

template <typename T>
void run_case(const Case& c) {
  // Stored shapes: A is MxK (or KxM when transposed), B is KxN (or NxK).
  const int64_t a_rows = c.ta ? c.K : c.M, a_cols = c.ta ? c.M : c.K;
  const int64_t b_rows = c.tb ? c.N : c.K, b_cols = c.tb ? c.K : c.N;
  const int64_t lda = std::max<int64_t>(a_cols + c.pad_a, 1);
  const int64_t ldb = std::max<int64_t>(b_cols + c.pad_b, 1);
  const int64_t ldc = std::max<int64_t>(c.N + c.pad_c, 1);
  auto A = rand_vec<T>(size_t(std::max<int64_t>(a_rows * lda, 1)));
  auto B = rand_vec<T>(size_t(std::max<int64_t>(b_rows * ldb, 1)));
  auto C0 = rand_vec<T>(size_t(std::max<int64_t>(c.M * ldc, 1)));
  if (c.beta == 0.0f) {
    // beta == 0 must ignore C entirely: poison the logical part with NaN.
    for (int64_t i = 0; i < c.M; ++i)
      for (int64_t j = 0; j < c.N; ++j) C0[i * ldc + j] = from_d<T>(std::nan(""));
  }
  auto C = C0;
  gemm<T>(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta, C.data(), ldc);
  std::string why;
  bool ok = check<T>(c, A.data(), lda, B.data(), ldb, C0.data(), C.data(), ldc, why);
  report<T>(ok, describe(c), why);
}

template <typename T>
void run_batched(bool ta, bool tb, int64_t batch, int64_t M, int64_t N, int64_t K,
                 bool bcast_a, bool bcast_b, float alpha, float beta) {
  const int64_t a_rows = ta ? K : M, a_cols = ta ? M : K;
  const int64_t b_rows = tb ? N : K, b_cols = tb ? K : N;
  const int64_t lda = a_cols + 1, ldb = b_cols + 2, ldc = N + 3;
  const int64_t a_sz = a_rows * lda, b_sz = b_rows * ldb, c_sz = M * ldc;
  auto A = rand_vec<T>(size_t(a_sz * (bcast_a ? 1 : batch) + 1));
  auto B = rand_vec<T>(size_t(b_sz * (bcast_b ? 1 : batch) + 1));
  auto C0 = rand_vec<T>(size_t(c_sz * batch + 1));
  if (beta == 0.0f)
    for (auto& x : C0) x = from_d<T>(std::nan(""));  // pads too: checked per row below
  std::vector<int64_t> ao(batch), bo(batch), co(batch);
  // Reverse the C order so offsets are not simply b*c_sz in the same order.
  for (int64_t b = 0; b < batch; ++b) {
    ao[b] = bcast_a ? 0 : b * a_sz;
    bo[b] = bcast_b ? 0 : b * b_sz;
    co[b] = (batch - 1 - b) * c_sz;
  }
  auto C = C0;
  gemm_batched<T>(ta, tb, batch, M, N, K, alpha, A.data(), lda, ao.data(), B.data(), ldb,
                  bo.data(), beta, C.data(), ldc, co.data());
  Case c{ta, tb, M, N, K, alpha, beta, 1, 2, 3};
  bool ok = true;
  std::string why;
  for (int64_t b = 0; b < batch && ok; ++b) {
    ok = check<T>(c, A.data() + ao[b], lda, B.data() + bo[b], ldb, C0.data() + co[b],
                  C.data() + co[b], ldc, why);
    if (!ok) why = "batch " + std::to_string(b) + ": " + why;
  }
  char buf[160];
  std::snprintf(buf, sizeof buf, "batched b=%lld %s bcast_a=%d bcast_b=%d", (long long)batch,
                describe(c).c_str(), bcast_a, bcast_b);
  report<T>(ok, buf, why);
}

const float kAlphaBeta[][2] = {{1, 0}, {0.5f, 0}, {1, 1}, {-1.5f, 0.25f}, {2, -1}};

template <typename T>
void run_dtype(bool quick) {
  const int64_t sizes[] = {1, 3, 17, 31, 33, 65, 127, 129};
  std::uniform_int_distribution<int> pick(0, 7), pad(0, 5), ab(0, 4);
  // Random combinations of odd sizes across all trans combos.
  const int per_combo = quick ? 12 : 40;
  for (int t = 0; t < 4; ++t) {
    for (int r = 0; r < per_combo; ++r) {
      const float* alb = kAlphaBeta[ab(g_rng)];
      Case c{bool(t & 1), bool(t & 2), sizes[pick(g_rng)], sizes[pick(g_rng)],
             sizes[pick(g_rng)], alb[0], alb[1], pad(g_rng), pad(g_rng), pad(g_rng)};
      run_case<T>(c);
    }
  }
  // Every size as M, N and K along the diagonal, all trans combos.
  for (int64_t s : sizes)
    for (int t = 0; t < 4; ++t) run_case<T>(Case{bool(t & 1), bool(t & 2), s, s, s, 1, 0, 0, 0, 0});
  // Empty dimensions and K == 0 (C = beta*C), alpha == 0.
  for (int t = 0; t < 4; ++t) {
    bool ta = t & 1, tb = t & 2;
    run_case<T>(Case{ta, tb, 0, 5, 7, 1, 0, 0, 0, 0});
    run_case<T>(Case{ta, tb, 5, 0, 7, 1, 0, 0, 0, 1});
    run_case<T>(Case{ta, tb, 0, 0, 0, 1, 0, 0, 0, 0});
    run_case<T>(Case{ta, tb, 6, 9, 0, 1, 0, 1, 1, 2});
    run_case<T>(Case{ta, tb, 6, 9, 0, 1, 0.5f, 1, 1, 2});
    run_case<T>(Case{ta, tb, 40, 50, 60, 0, 0.5f, 1, 1, 2});
  }
  // Matrix-vector shapes (their own path): row/column vectors, tails in K
  // and in the output length, strided vectors, dot products.
  for (int t = 0; t < 4; ++t) {
    bool ta = t & 1, tb = t & 2;
    run_case<T>(Case{ta, tb, 1, 300, 77, 1, 0, 3, 2, 0});
    run_case<T>(Case{ta, tb, 300, 1, 77, -0.5f, 2, 1, 3, 4});
    run_case<T>(Case{ta, tb, 1, 1, 1000, 1, 0, 0, 0, 0});
    run_case<T>(Case{ta, tb, 1, 129, 5, 1, 1, 0, 1, 0});
    run_case<T>(Case{ta, tb, 131, 1, 3, 2, 0, 1, 0, 2});
  }
  // Larger shapes: several K blocks, several NC/MB blocks, thread grids.
  const Case big[] = {
      {false, false, 300, 257, 520, 1, 0, 3, 1, 2},
      {true, false, 257, 300, 600, -1, 0.5f, 0, 4, 0},
      {false, true, 129, 411, 777, 0.5f, 1, 1, 0, 5},
      {true, true, 200, 190, 300, 1, 0, 2, 2, 2},
      {false, false, 7, 4200, 300, 1, 0.25f, 0, 0, 1},   // N > NC (f32) and tiny M
      {false, false, 2100, 20, 40, 1, 0, 0, 0, 0},       // M > MB, tiny N
      {false, true, 1, 1000, 1000, 1, 0, 0, 0, 0},       // GEMV-like
      {true, false, 1000, 1, 1000, 1, 0, 0, 0, 0},
      {false, false, 1100, 1030, 90, 1, 0.5f, 0, 0, 0},  // 16-bit: multiple W blocks
  };
  for (const Case& c : big) {
    if (quick && c.M * c.N * c.K > 50000000) continue;
    run_case<T>(c);
  }
  // Batched: broadcast A or B, many small (threads across batches), few large.
  for (int t = 0; t < 4; ++t) {
    bool ta = t & 1, tb = t & 2;
    run_batched<T>(ta, tb, 5, 17, 33, 9, true, false, 1, 0);
    run_batched<T>(ta, tb, 64, 8, 12, 16, false, true, 0.5f, 1);
    run_batched<T>(ta, tb, 2, 150, 130, 140, false, false, 1, 0);
    run_batched<T>(ta, tb, 3, 120, 100, 300, true, true, 1, -0.5f);
    run_batched<T>(ta, tb, 4, 0, 5, 5, false, false, 1, 0);
    run_batched<T>(ta, tb, 3, 4, 5, 0, false, false, 1, 0.5f);
  }
}

void run_all(bool quick) {
  run_dtype<float>(quick);
  run_dtype<double>(quick);
  run_dtype<float16_t>(quick);
  run_dtype<bfloat16_t>(quick);
}

// bf16 sizes around the AMX tiles (16 x 32 k, 32 x 32 blocks): every
// (M, N, K) triple, cycling through the trans combos and alpha/beta pairs,
// and K across several AMX K blocks.
void run_bf16_tiles() {
  const int64_t sizes[] = {1, 15, 17, 31, 33, 100, 257};
  int idx = 0;
  for (int64_t M : sizes)
    for (int64_t N : sizes)
      for (int64_t K : sizes) {
        const float* alb = kAlphaBeta[idx % 5];
        const int t = idx++ % 4;
        run_case<bfloat16_t>(Case{bool(t & 1), bool(t & 2), M, N, K, alb[0], alb[1], t, 0, t});
      }
  for (int t = 0; t < 4; ++t) {
    run_case<bfloat16_t>(Case{bool(t & 1), bool(t & 2), 100, 257, 1100, 1, 0.5f, 1, 2, 3});
    run_batched<bfloat16_t>(bool(t & 1), bool(t & 2), 3, 65, 70, 300, false, true, 1, 0.5f);
  }
}

// The bf16 paths of the avx512 ISA: AMX forced for every blocked size, the
// AVX512-BF16 dot-product kernels, and f32 conversion; each skipped when the
// CPU lacks it.
void run_bf16_paths() {
  struct Variant {
    const char* name;
    const char* amx;
    const char* dot;
  };
  const Variant vs[] = {{"bf16 amx", "1", "0"}, {"bf16 dot", "0", "1"}, {"bf16 f32", "0", "0"}};
  const int hw_threads = num_threads();
  setenv("OXMLX_GEMM_ISA", "avx512", 1);
  for (const Variant& v : vs) {
    setenv("OXMLX_GEMM_AMX", v.amx, 1);
    setenv("OXMLX_GEMM_BF16DOT", v.dot, 1);
    gemm_detail::gemm_reset_isa();
    const bool amx = *gemm_detail::gemm_amx_name() != 0;
    const bool dot = *gemm_detail::gemm_bf16_path_name() != 0;
    if (std::strcmp(gemm_detail::gemm_isa_name(), "avx512") != 0 || amx != (*v.amx == '1') ||
        dot != (*v.dot == '1')) {
      std::printf("skip %s (not supported here)\n", v.name);
      continue;
    }
    const int before = g_failed;
    run_bf16_tiles();
    run_dtype<bfloat16_t>(false);
    set_num_threads(3);
    run_dtype<bfloat16_t>(true);
    set_num_threads(1);
    run_dtype<bfloat16_t>(true);
    set_num_threads(hw_threads);
    std::printf("%s: %s\n", v.name, g_failed == before ? "ok" : "FAILURES");
  }
  unsetenv("OXMLX_GEMM_AMX");
  unsetenv("OXMLX_GEMM_BF16DOT");
}

}  // namespace

int main() {
  const char* isas[] = {"avx512", "avx2", "neon", "generic"};
  const int hw_threads = num_threads();
  for (const char* name : isas) {
    setenv("OXMLX_GEMM_ISA", name, 1);
    gemm_detail::gemm_reset_isa();
    if (std::strcmp(gemm_detail::gemm_isa_name(), name) != 0) {
      std::printf("skip %s (not supported here)\n", name);
      continue;
    }
    const int before = g_failed;
    run_all(false);
    // Other thread counts change the thread grids and the batch split.
    set_num_threads(3);
    run_all(true);
    set_num_threads(1);
    run_all(true);
    set_num_threads(hw_threads);
    std::printf("%s: %s\n", name, g_failed == before ? "ok" : "FAILURES");
  }
  run_bf16_paths();
  unsetenv("OXMLX_GEMM_ISA");
  gemm_detail::gemm_reset_isa();
  std::printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed ? 1 : 0;
}
