// Random bits family: counter-based threefry-2x32 (20 rounds), so every
// element is a pure function of (key, position) and can be computed in
// parallel and reproduced run after run.
#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/threadpool.h"

namespace oxmlx::cpu {

namespace {

inline uint32_t rotl(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

void threefry2x32(uint32_t k0, uint32_t k1, uint32_t c0, uint32_t c1, uint32_t out[2]) {
  static constexpr int R[8] = {13, 15, 26, 6, 17, 29, 16, 24};
  const uint32_t ks[3] = {k0, k1, 0x1BD11BDAu ^ k0 ^ k1};
  uint32_t x0 = c0 + ks[0], x1 = c1 + ks[1];
  for (int block = 0; block < 5; ++block) {
    for (int j = 0; j < 4; ++j) {
      x0 += x1;
      x1 = rotl(x1, R[(block % 2) * 4 + j]) ^ x0;
    }
    x0 += ks[(block + 1) % 3];
    x1 += ks[(block + 2) % 3] + uint32_t(block + 1);
  }
  out[0] = x0;
  out[1] = x1;
}

}  // namespace

void CpuBackend::random_bits(const array& keys, array& out) {
  // keys: (2,) uint32 (contiguous copy made by the op builder); out: uint32.
  alloc_row_major(out);
  const uint32_t* k = keys.data<uint32_t>();
  const uint32_t k0 = k[0], k1 = k[keys.strides().empty() ? 1 : keys.strides().back()];
  uint32_t* dst = out.data<uint32_t>();
  const int64_t n = out.size();
  const int64_t pairs = (n + 1) / 2;
  parallel_for(pairs, 1 << 14, [&](int64_t b, int64_t e) {
    uint32_t r[2];
    for (int64_t i = b; i < e; ++i) {
      threefry2x32(k0, k1, uint32_t(uint64_t(i) >> 32), uint32_t(i), r);
      dst[2 * i] = r[0];
      if (2 * i + 1 < n) dst[2 * i + 1] = r[1];
    }
  });
}

}  // namespace oxmlx::cpu
