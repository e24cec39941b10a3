// Random bits: counter-based threefry-2x32 (20 rounds) in the layout of the
// CPU backend (backend/cpu/random.cpp, which is MLX's), so a key gives the
// same bits on either device. For W = ceil(bytes / 4) words, H = W / 2 and
// odd = W % 2: counter (j, j + H + odd) gives words j and j + H + odd for
// j < H, and for odd W counter (H, 0) gives word H; a partial last word
// keeps its low bytes.
#include "backend/cuda/device_util.cuh"

namespace oxmlx::cu {

namespace {

using namespace dev;

__device__ __forceinline__ uint32_t rotl(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

__device__ __forceinline__ void threefry2x32(uint32_t k0, uint32_t k1, uint32_t c0, uint32_t c1,
                                             uint32_t& o0, uint32_t& o1) {
  const uint32_t ks[3] = {k0, k1, 0x1BD11BDAu ^ k0 ^ k1};
  uint32_t x0 = c0 + ks[0], x1 = c1 + ks[1];
#pragma unroll
  for (int block = 0; block < 5; ++block) {
    const int r0 = block % 2 ? 17 : 13, r1 = block % 2 ? 29 : 15, r2 = block % 2 ? 16 : 26,
              r3 = block % 2 ? 24 : 6;
    x0 += x1; x1 = rotl(x1, r0) ^ x0;
    x0 += x1; x1 = rotl(x1, r1) ^ x0;
    x0 += x1; x1 = rotl(x1, r2) ^ x0;
    x0 += x1; x1 = rotl(x1, r3) ^ x0;
    x0 += ks[(block + 1) % 3];
    x1 += ks[(block + 2) % 3] + uint32_t(block + 1);
  }
  o0 = x0;
  o1 = x1;
}

__device__ __forceinline__ void put(uint8_t* out, int64_t bytes, int64_t w, uint32_t v) {
  int64_t at = w * 4;
  if (at + 4 <= bytes) {
    *reinterpret_cast<uint32_t*>(out + at) = v;
  } else {
    for (int64_t b = at; b < bytes; ++b, v >>= 8) out[b] = uint8_t(v);
  }
}

__global__ void bits_kernel(const uint32_t* key, int64_t key_stride, uint8_t* out, int64_t bytes,
                            int64_t half, bool odd) {
  const uint32_t k0 = key[0], k1 = key[key_stride];
  OXD_GRID_LOOP(j, half + (odd ? 1 : 0)) {
    uint32_t r0, r1;
    if (j < half) {
      threefry2x32(k0, k1, uint32_t(j), uint32_t(j + half + (odd ? 1 : 0)), r0, r1);
      put(out, bytes, j, r0);
      put(out, bytes, j + half + (odd ? 1 : 0), r1);
    } else {
      threefry2x32(k0, k1, uint32_t(half), 0u, r0, r1);
      put(out, bytes, half, r0);
    }
  }
}

}  // namespace

void random_bits(const uint32_t* key, int64_t key_stride, void* out, int64_t bytes,
                 cudaStream_t s) {
  if (bytes <= 0) return;
  const int64_t words = (bytes + 3) / 4, half = words / 2;
  const bool odd = words % 2;
  bits_kernel<<<blocks_for(half + 1), kThreads, 0, s>>>(key, key_stride,
                                                        static_cast<uint8_t*>(out), bytes, half,
                                                        odd);
}

}  // namespace oxmlx::cu
