// Microscaling formats of the quantization family (CPU): mxfp4 (E2M1
// elements) and mxfp8 (E4M3 elements), groups of 32 sharing an E8M0 scale
// (uint8, 2^(s - 127)), elements packed LSB-first into uint32 words (8 or 4
// per word). Bit-exact with MLX: the scale is 2^ceil(log2(amax / emax))
// (emax 6 or 448; an all-zero group gets 2^0), E2M1 rounds to nearest with
// ties toward zero and never stores -0, E4M3 rounds to nearest even.
#include <cmath>
#include <cstring>

#include "backend/cpu/quantized_mx.h"
#include "backend/cpu/threadpool.h"

namespace oxmlx::cpu {

namespace {

// The 127 finite non-negative E4M3 (fn) values by code.
struct E4M3Table {
  float v[128];
  E4M3Table() {
    for (int c = 0; c < 128; ++c) {
      const int e = c >> 3, m = c & 7;
      v[c] = e == 0 ? std::ldexp(float(m) / 8.0f, -6) : std::ldexp(1.0f + float(m) / 8.0f, e - 7);
    }
  }
};
const E4M3Table& e4m3() {
  static const E4M3Table t;
  return t;
}

const float kE2M1[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};

inline uint32_t encode_e2m1(float x) {
  const float a = std::abs(x);
  const float th[7] = {0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5.0f};
  uint32_t c = 0;
  for (float t : th) c += a > t;
  return c == 0 ? 0u : (c | (x < 0 ? 8u : 0u));
}

inline uint32_t encode_e4m3(float x) {
  const float* t = e4m3().v;
  const float a = std::min(std::abs(x), t[126]);  // saturate at 448
  int lo = 0, hi = 126;                           // t[lo] <= a <= t[hi]
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    (t[mid] <= a ? lo : hi) = mid;
  }
  int c;
  const float dl = a - t[lo], dh = t[hi] - a;
  if (dl < dh) c = lo;
  else if (dh < dl) c = hi;
  else c = (lo & 1) ? hi : lo;  // tie: even code
  return uint32_t(c) | (std::signbit(x) ? 0x80u : 0u);
}

template <typename T>
void quantize_mx(const array& w, std::vector<array>& outs, int bits) {
  array &wq = outs[0], &sc = outs[1];
  wq.set_data(allocator::malloc(wq.nbytes()));
  sc.set_data(allocator::malloc(sc.nbytes()));
  const int64_t K = w.shape(-1), rows = K ? w.size() / K : 0, G = K / 32;
  const int64_t words = K * bits / 32;
  const T* src = w.data<T>();
  uint32_t* dst = wq.data<uint32_t>();
  uint8_t* sp = sc.data<uint8_t>();
  const float emax = bits == 4 ? 6.0f : 448.0f;
  parallel_for(rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(K, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      uint32_t* out = dst + r * words;
      std::memset(out, 0, size_t(words) * sizeof(uint32_t));
      for (int64_t g = 0; g < G; ++g) {
        const T* x = src + r * K + g * 32;
        float amax = 0.0f;
        for (int i = 0; i < 32; ++i) amax = std::max(amax, std::abs(float(x[i])));
        int e = amax == 0.0f ? 0 : int(std::ceil(std::log2(amax / emax)));
        e = std::clamp(e, -127, 127);
        sp[r * G + g] = uint8_t(e + 127);
        const float scale = std::ldexp(1.0f, e);
        for (int i = 0; i < 32; ++i) {
          const float v = float(x[i]) / scale;
          const int64_t bit = (g * 32 + i) * bits;
          out[bit >> 5] |= (bits == 4 ? encode_e2m1(v) : encode_e4m3(v)) << (bit & 31);
        }
      }
    }
  });
}

template <typename T>
void dequantize_mx(const array& wq, const array& sc, array& out, int bits) {
  out.set_data(allocator::malloc(out.nbytes()));
  const int64_t K = out.shape(-1), rows = K ? out.size() / K : 0, G = K / 32;
  const int64_t words = K * bits / 32;
  const uint32_t* q = wq.data<uint32_t>();
  const uint8_t* sp = sc.data<uint8_t>();
  T* o = out.data<T>();
  const float* t8 = e4m3().v;
  parallel_for(rows, std::max<int64_t>(1, 8192 / std::max<int64_t>(K, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t i = 0; i < K; ++i) {
        const int64_t bit = i * bits;
        const uint32_t c = (q[r * words + (bit >> 5)] >> (bit & 31)) & ((1u << bits) - 1u);
        float v;
        if (bits == 4) v = (c & 8 ? -1.0f : 1.0f) * kE2M1[c & 7];
        else v = (c & 0x7f) == 0x7f ? NAN : (c & 0x80 ? -1.0f : 1.0f) * t8[c & 0x7f];
        o[r * K + i] = T(v * std::ldexp(1.0f, int(sp[r * G + i / 32]) - 127));
      }
  });
}

}  // namespace

void quantize_microscaled(const array& w, std::vector<array>& outputs, int bits) {
  switch (w.dtype().val) {
    case Dtype::Val::float32: return quantize_mx<float>(w, outputs, bits);
    case Dtype::Val::float64: return quantize_mx<double>(w, outputs, bits);
    case Dtype::Val::float16: return quantize_mx<float16_t>(w, outputs, bits);
    case Dtype::Val::bfloat16: return quantize_mx<bfloat16_t>(w, outputs, bits);
    default: throw ValueError("[quantize] Only real floating types can be quantized.");
  }
}

void dequantize_microscaled(const array& wq, const array& scales, array& out, int bits) {
  switch (out.dtype().val) {
    case Dtype::Val::float32: return dequantize_mx<float>(wq, scales, out, bits);
    case Dtype::Val::float64: return dequantize_mx<double>(wq, scales, out, bits);
    case Dtype::Val::float16: return dequantize_mx<float16_t>(wq, scales, out, bits);
    case Dtype::Val::bfloat16: return dequantize_mx<bfloat16_t>(wq, scales, out, bits);
    default: throw ValueError("[dequantize] The output must be a real floating type.");
  }
}

}  // namespace oxmlx::cpu
