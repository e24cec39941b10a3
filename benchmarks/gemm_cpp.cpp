// GEMM throughput benchmark for oxmlx::cpu::gemm.
//
// Build (from the repo root):
//   g++ -O3 -std=c++20 -I csrc csrc/backend/cpu/threadpool.cpp csrc/backend/cpu/gemm*.cpp
//       benchmarks/gemm_cpp.cpp -lpthread -o gemm_bench
// Run: ./gemm_bench [dtype n [ta tb]] ...   e.g. ./gemm_bench f32 1024 bf16 1024
// With no arguments runs a default set. OXMLX_GEMM_ISA / OXMLX_NUM_THREADS
// select the path and thread count. Reports the best of several repetitions.
#include <chrono>
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

template <typename T>
double bench(int64_t M, int64_t N, int64_t K, bool ta, bool tb) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<T> A(M * K), B(K * N), C(M * N);
  for (auto& x : A) x = T(d(rng));
  for (auto& x : B) x = T(d(rng));
  const int64_t lda = ta ? M : K, ldb = tb ? K : N;
  auto run = [&] {
    gemm<T>(ta, tb, M, N, K, 1.0f, A.data(), lda, B.data(), ldb, 0.0f, C.data(), N);
  };
  run();
  const double flops = 2.0 * M * N * K;
  const int reps = std::max(1, int(1.0e9 / flops));
  double best = 1e30;
  for (int t = 0; t < 7; ++t) {
    auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) run();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;
    best = std::min(best, s);
  }
  return flops / best * 1e-9;
}

double run_one(const std::string& dt, int64_t n, bool ta, bool tb) {
  if (dt == "f32") return bench<float>(n, n, n, ta, tb);
  if (dt == "f64") return bench<double>(n, n, n, ta, tb);
  if (dt == "f16") return bench<float16_t>(n, n, n, ta, tb);
  if (dt == "bf16") return bench<bfloat16_t>(n, n, n, ta, tb);
  std::fprintf(stderr, "unknown dtype %s\n", dt.c_str());
  std::exit(2);
}

int main(int argc, char** argv) {
  std::printf("isa=%s threads=%d\n", gemm_detail::gemm_isa_name(), num_threads());
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty())
    args = {"f32", "64", "f32", "128", "f32", "256", "f32", "512", "f32", "1024", "f32", "2048",
            "f64", "1024", "bf16", "1024", "f16", "1024"};
  for (size_t i = 0; i + 1 < args.size();) {
    std::string dt = args[i];
    int64_t n = std::atoll(args[i + 1].c_str());
    i += 2;
    bool ta = false, tb = false;
    if (i + 1 < args.size() && (args[i] == "0" || args[i] == "1")) {
      ta = args[i] == "1";
      tb = args[i + 1] == "1";
      i += 2;
    }
    std::printf("%-5s n=%-5lld ta=%d tb=%d  %7.1f GFLOP/s\n", dt.c_str(), (long long)n, ta, tb,
                run_one(dt, n, ta, tb));
    std::fflush(stdout);
  }
  return 0;
}
