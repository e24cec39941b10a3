// Tensor-core flash attention forward for float16 / bfloat16 (head dims 64
// and 128, no mask or the causal one, no sinks): mma.sync m16n8k16 with
// float32 accumulation. One block of 4 warps per (batch, head, 64 queries);
// each warp owns 16 query rows, held as A fragments in registers. Key tiles
// of 64 rows are staged in shared memory row-major (B fragments of Q K^T are
// pairs of neighbouring head-dim elements), value tiles transposed (B
// fragments of P V are pairs of neighbouring keys). Scores stay in the
// accumulator fragments: each thread owns two rows (lane / 4 and lane / 4 + 8)
// of them, so the online softmax reduces over the 4 threads of a quad, and
// the probabilities become the A fragments of P V without leaving registers
// (rounded to the input type, as every tensor-core attention does; the row
// sums are of the float32 values). Semantics are the CUDA-core kernel's
// (nn_kernels.cu): scores in float32 times `scale`, causal rows see keys
// j <= i + Tkv - Tq, masked scores are the type's lowest value (a row with no
// key averages all values), the row max and log-sum outputs for the backward.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <cstdlib>

#include <cuda/std/limits>
#include <cuda/std/type_traits>

#include "backend/cuda/nn_kernels.h"

namespace oxmlx::cu {

namespace {

namespace cs = cuda::std;
using half_t = __half;
using bf16_t = __nv_bfloat16;

constexpr int kBr = 64, kBc = 64, kWarpsTc = 4;

template <typename T>
__device__ __forceinline__ uint32_t pack2(float lo, float hi) {
  if constexpr (cs::is_same_v<T, bf16_t>) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);  // .x = lo (low half)
    return *reinterpret_cast<uint32_t*>(&v);
  } else {
    __half2 v = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<uint32_t*>(&v);
  }
}

template <typename T>
__device__ __forceinline__ float to_f(T x) {
  if constexpr (cs::is_same_v<T, bf16_t>) return __bfloat162float(x);
  else return __half2float(x);
}
template <typename T>
__device__ __forceinline__ T from_f(float x) {
  if constexpr (cs::is_same_v<T, bf16_t>) {
    const unsigned u = __float_as_uint(x);  // NaN keeps its sign, as the CPU
    if ((u & 0x7fffffffu) > 0x7f800000u) return __ushort_as_bfloat16((unsigned short)((u >> 16) | 0x40));
    return __float2bfloat16_rn(x);
  } else {
    return __float2half_rn(x);
  }
}

template <typename T>
__device__ __forceinline__ void mma16816(float* d, const uint32_t* a, uint32_t b0, uint32_t b1) {
  if constexpr (cs::is_same_v<T, bf16_t>) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
}

template <typename T>
__device__ __forceinline__ float low_of() {
  if constexpr (cs::is_same_v<T, half_t>) return -65504.0f;
  else return -3.38953139e38f;  // bfloat16 lowest
}

__device__ __forceinline__ float nanmax(float a, float b) { return (a != a || a > b) ? a : b; }

template <typename T, int D>
__global__ void __launch_bounds__(128) sdpa_tc_kernel(SdpaArgs a) {
  constexpr int KS = D + 8;    // padded row stride (halves) of the key tile
  constexpr int VS = kBc + 8;  // padded row stride of the transposed value tile
  __shared__ __align__(16) T Ks[kBc * KS];
  __shared__ __align__(16) T Vt[D * VS];
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int g = lane / 4, t4 = lane % 4;  // fragment row group, thread in group
  const int64_t nqb = (a.Tq + kBr - 1) / kBr;
  const int64_t bh = blockIdx.x / nqb, i0 = (blockIdx.x % nqb) * kBr;
  const int64_t b = bh / a.Nq, h = bh % a.Nq, hk = h / (a.Nq / a.Nkv);
  const int64_t Tq = a.Tq, Tkv = a.Tkv;
  const T* Q = static_cast<const T*>(a.q) + bh * Tq * D;
  const T* K = static_cast<const T*>(a.k) + (b * a.Nkv + hk) * Tkv * D;
  const T* V = static_cast<const T*>(a.v) + (b * a.Nkv + hk) * Tkv * D;

  // This warp's 16 query rows as A fragments (k-steps of 16 over D).
  const int64_t q0 = i0 + warp * 16 + g, q1 = q0 + 8;  // the thread's two rows
  uint32_t qa[D / 16][4];
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) {
    const int c = kk * 16 + t4 * 2;
    const uint32_t zero = 0;
    qa[kk][0] = q0 < Tq ? *reinterpret_cast<const uint32_t*>(Q + q0 * D + c) : zero;
    qa[kk][1] = q1 < Tq ? *reinterpret_cast<const uint32_t*>(Q + q1 * D + c) : zero;
    qa[kk][2] = q0 < Tq ? *reinterpret_cast<const uint32_t*>(Q + q0 * D + c + 8) : zero;
    qa[kk][3] = q1 < Tq ? *reinterpret_cast<const uint32_t*>(Q + q1 * D + c + 8) : zero;
  }
  float o[D / 8][4];
#pragma unroll
  for (int n = 0; n < D / 8; ++n) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;
  const float ninf = -cs::numeric_limits<float>::infinity(), low = low_of<T>();
  float m[2] = {ninf, ninf}, l[2] = {0.0f, 0.0f};

  const int64_t coff = Tkv - Tq;  // row i sees keys j <= i + coff
  const int64_t bq = Tq - i0 < kBr ? Tq - i0 : kBr;
  int64_t j_end = Tkv;
  if (a.causal && i0 + coff >= 0) j_end = i0 + bq + coff < Tkv ? i0 + bq + coff : Tkv;

  for (int64_t j0 = 0; j0 < j_end; j0 += kBc) {
    __syncthreads();
    // Stage the tiles: 16-byte vectors of 8 elements; rows past Tkv are zero.
    // Keys: neighbouring threads read neighbouring vectors of a row; values:
    // neighbouring threads take neighbouring rows, so that the transposed
    // 2-byte stores of a warp fall into distinct banks.
    for (int idx = tid; idx < kBc * D / 8; idx += 128) {
      const int r = idx / (D / 8), c = (idx % (D / 8)) * 8;
      uint4 kv = make_uint4(0, 0, 0, 0);
      if (j0 + r < Tkv) kv = *reinterpret_cast<const uint4*>(K + (j0 + r) * D + c);
      *reinterpret_cast<uint4*>(Ks + r * KS + c) = kv;
    }
    for (int idx = tid; idx < kBc * D / 8; idx += 128) {
      const int r = idx % kBc, c = (idx / kBc) * 8;
      uint4 vv = make_uint4(0, 0, 0, 0);
      if (j0 + r < Tkv) vv = *reinterpret_cast<const uint4*>(V + (j0 + r) * D + c);
      const T* ve = reinterpret_cast<const T*>(&vv);
#pragma unroll
      for (int e = 0; e < 8; ++e) Vt[(c + e) * VS + r] = ve[e];
    }
    __syncthreads();
    // S = Q K^T for this warp's 16 rows and the tile's 64 keys.
    float s[kBc / 8][4];
#pragma unroll
    for (int n = 0; n < kBc / 8; ++n) {
      s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.0f;
      const T* kr = Ks + (n * 8 + g) * KS + t4 * 2;
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        const uint32_t b0 = *reinterpret_cast<const uint32_t*>(kr + kk * 16);
        const uint32_t b1 = *reinterpret_cast<const uint32_t*>(kr + kk * 16 + 8);
        mma16816<T>(s[n], qa[kk], b0, b1);
      }
    }
    // Scale, mask, online softmax over the quad's row pieces.
    float tmax[2] = {ninf, ninf};
#pragma unroll
    for (int n = 0; n < kBc / 8; ++n) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int64_t kj = j0 + n * 8 + t4 * 2 + (e & 1);
        const int64_t qi = e < 2 ? q0 : q1;
        float sc = s[n][e] * a.scale;
        if (a.causal && kj > qi + coff) sc = low;
        if (kj >= Tkv) sc = ninf;
        s[n][e] = sc;
        tmax[e >> 1] = nanmax(tmax[e >> 1], sc);
      }
    }
    float corr[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      tmax[r] = nanmax(tmax[r], __shfl_xor_sync(0xffffffffu, tmax[r], 1));
      tmax[r] = nanmax(tmax[r], __shfl_xor_sync(0xffffffffu, tmax[r], 2));
      float mnew = nanmax(m[r], tmax[r]);
      if (tmax[r] != tmax[r]) mnew = tmax[r];
      corr[r] = mnew == ninf ? 1.0f : expf(m[r] - mnew);
      m[r] = mnew;
    }
    float psum[2] = {0.0f, 0.0f};
#pragma unroll
    for (int n = 0; n < kBc / 8; ++n) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int r = e >> 1;
        const float p = (m[r] == ninf || s[n][e] == ninf) ? 0.0f : expf(s[n][e] - m[r]);
        s[n][e] = p;
        psum[r] += p;
      }
    }
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      psum[r] += __shfl_xor_sync(0xffffffffu, psum[r], 1);
      psum[r] += __shfl_xor_sync(0xffffffffu, psum[r], 2);
      l[r] = l[r] * corr[r] + psum[r];
    }
#pragma unroll
    for (int n = 0; n < D / 8; ++n) {
      o[n][0] *= corr[0], o[n][1] *= corr[0];
      o[n][2] *= corr[1], o[n][3] *= corr[1];
    }
    // O += P V: the score fragments of keys 16kk.. are P's A fragment.
#pragma unroll
    for (int kk = 0; kk < kBc / 16; ++kk) {
      uint32_t pa[4];
      pa[0] = pack2<T>(s[2 * kk][0], s[2 * kk][1]);
      pa[1] = pack2<T>(s[2 * kk][2], s[2 * kk][3]);
      pa[2] = pack2<T>(s[2 * kk + 1][0], s[2 * kk + 1][1]);
      pa[3] = pack2<T>(s[2 * kk + 1][2], s[2 * kk + 1][3]);
#pragma unroll
      for (int n = 0; n < D / 8; ++n) {
        const T* vr = Vt + (n * 8 + g) * VS + kk * 16 + t4 * 2;
        const uint32_t b0 = *reinterpret_cast<const uint32_t*>(vr);
        const uint32_t b1 = *reinterpret_cast<const uint32_t*>(vr + 8);
        mma16816<T>(o[n], pa, b0, b1);
      }
    }
  }
  T* O = static_cast<T*>(a.o) + bh * Tq * D;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int64_t qi = r ? q1 : q0;
    if (qi >= Tq) continue;
    const float inv = 1.0f / l[r];
#pragma unroll
    for (int n = 0; n < D / 8; ++n) {
      const int c = n * 8 + t4 * 2;
      O[qi * D + c] = from_f<T>(o[n][2 * r] * inv);
      O[qi * D + c + 1] = from_f<T>(o[n][2 * r + 1] * inv);
    }
    if (t4 == 0 && a.m) {
      a.m[bh * Tq + qi] = m[r];
      a.l[bh * Tq + qi] = logf(l[r]);
    }
  }
}

template <typename T>
bool launch_tc(const SdpaArgs& a, cudaStream_t s) {
  const int64_t blocks = a.B * a.Nq * ((a.Tq + kBr - 1) / kBr);
  if (blocks > 0x7fffffff) return false;
  if (a.D == 64) sdpa_tc_kernel<T, 64><<<unsigned(blocks), 32 * kWarpsTc, 0, s>>>(a);
  else sdpa_tc_kernel<T, 128><<<unsigned(blocks), 32 * kWarpsTc, 0, s>>>(a);
  return true;
}

}  // namespace

bool sdpa_tc(int dt, const SdpaArgs& a, cudaStream_t s) {
  // Covered: 16-bit floats, D == Dv in {64, 128}, no mask or causal, no sinks,
  // 16-byte aligned rows (the host made q, k, v contiguous).
  if (a.mask_kind != 0 || a.sinks || a.D != a.Dv || (a.D != 64 && a.D != 128)) return false;
  if (a.Nkv == 0 || a.Nq % a.Nkv != 0) return false;
  for (const void* p : {a.q, a.k, a.v})
    if (reinterpret_cast<uintptr_t>(p) % 16 != 0) return false;
  if (std::getenv("OXMLX_CUDA_SDPA_TC") && std::getenv("OXMLX_CUDA_SDPA_TC")[0] == '0') return false;
  if (dt == 12) return launch_tc<bf16_t>(a, s);  // Dtype::Val codes
  if (dt == 9) return launch_tc<half_t>(a, s);
  return false;
}

}  // namespace oxmlx::cu
