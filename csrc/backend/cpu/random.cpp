// Random bits family: counter-based threefry-2x32 (20 rounds), so every
// element is a pure function of (key, position) and can be computed in
// parallel and reproduced run after run.
#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/threadpool.h"

#include <cstring>

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

// MLX's layout, so the same key gives the same numbers as MLX: the output
// (out.nbytes() bytes, any of uint8/uint16/uint32) is a run of W = ceil(bytes
// / 4) 32-bit words; with H = W / 2 and odd = W % 2, counter (j, j + H + odd)
// gives words j and j + H + odd for j < H, and for odd W counter (H, 0)
// gives word H. A partial last word keeps its low bytes.
void CpuBackend::random_bits(const array& keys, array& out) {
  alloc_row_major(out);
  const uint32_t* k = keys.data<uint32_t>();
  const uint32_t k0 = k[0], k1 = k[keys.strides().empty() ? 1 : keys.strides().back()];
  const size_t bytes = out.nbytes();
  char* dst = static_cast<char*>(out.raw_ptr());
  const int64_t words = int64_t((bytes + 3) / 4);
  const int64_t half = words / 2;
  const bool odd = words % 2;
  auto put = [&](int64_t w, uint32_t v) {
    size_t at = size_t(w) * 4;
    if (at + 4 <= bytes)
      std::memcpy(dst + at, &v, 4);
    else
      std::memcpy(dst + at, &v, bytes - at);
  };
  parallel_for(half, 1 << 13, [&](int64_t b, int64_t e) {
    uint32_t r[2];
    for (int64_t j = b; j < e; ++j) {
      threefry2x32(k0, k1, uint32_t(j), uint32_t(j + half + odd), r);
      put(j, r[0]);
      put(j + half + odd, r[1]);
    }
  });
  if (odd) {
    uint32_t r[2];
    threefry2x32(k0, k1, uint32_t(half), 0u, r);
    put(half, r[0]);
  }
}

}  // namespace oxmlx::cpu
