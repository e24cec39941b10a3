// Sort kernels. Every element maps to an unsigned key whose order is the
// sort order (the CPU backend's radix keys: NaNs last and equal to each
// other, -0 == +0), and lines are sorted by (key, position), so the result
// is the stable sort, identical to the CPU's:
//  * lines of up to 4096 elements: one block per line, a bitonic sort of
//    (key, position) pairs in shared memory;
//  * longer lines: device-wide stable radix sorts (CUB, part of the CUDA
//    toolkit): all elements by key, then stably by line number.
#include <cub/device/device_radix_sort.cuh>

#include "backend/cuda/device_util.cuh"

namespace oxmlx::cu {

namespace {

using namespace dev;

template <typename T>
struct KeyOf;

template <typename T>
  requires(cs::is_integral_v<T>)
struct KeyOf<T> {
  using U = cs::make_unsigned_t<cs::conditional_t<cs::is_same_v<T, bool>, uint8_t, T>>;
  __device__ static U key(T x) {
    if constexpr (cs::is_signed_v<T>) return U(U(x) ^ (U(1) << (sizeof(U) * 8 - 1)));
    else return U(x);
  }
};

template <typename U>
__device__ __forceinline__ U float_key(U bits, bool nan) {
  constexpr U sign = U(1) << (sizeof(U) * 8 - 1);
  if (nan) return U(~U(0));
  if ((bits & U(~sign)) == 0) return sign;  // -0 and +0
  return (bits & sign) ? U(~bits) : U(bits | sign);
}

template <>
struct KeyOf<float> {
  using U = uint32_t;
  __device__ static U key(float x) { return float_key<U>(__float_as_uint(x), x != x); }
};
template <>
struct KeyOf<double> {
  using U = uint64_t;
  __device__ static U key(double x) {
    return float_key<U>(uint64_t(__double_as_longlong(x)), x != x);
  }
};
template <>
struct KeyOf<half_t> {
  using U = uint16_t;
  __device__ static U key(half_t x) {
    uint16_t b = __half_as_ushort(x);
    return float_key<U>(b, (b & 0x7fff) > 0x7c00);
  }
};
template <>
struct KeyOf<bf16_t> {
  using U = uint16_t;
  __device__ static U key(bf16_t x) {
    uint16_t b = __bfloat16_as_ushort(x);
    return float_key<U>(b, (b & 0x7fff) > 0x7f80);
  }
};

constexpr int kBlockMax = 4096;

template <typename T>
__global__ void bitonic_kernel(const T* in, void* out, bool arg, Lines ln, int np) {
  using U = typename KeyOf<T>::U;
  extern __shared__ __align__(16) unsigned char smem[];
  U* key = reinterpret_cast<U*>(smem);
  uint32_t* pos = reinterpret_cast<uint32_t*>(smem + ((sizeof(U) * np + 15) & ~size_t(15)));
  for (int64_t r = blockIdx.x; r < ln.lines; r += gridDim.x) {
    int64_t io, oo;
    lay_off2(ln.l, r, io, oo);
    const int n = int(ln.n);
    for (int i = threadIdx.x; i < np; i += blockDim.x) {
      if (i < n) {
        key[i] = KeyOf<T>::key(in[io + i * ln.ist]);
        pos[i] = uint32_t(i);
      } else {
        key[i] = U(~U(0));
        pos[i] = 0xffffffffu;
      }
    }
    __syncthreads();
    for (int k = 2; k <= np; k <<= 1) {
      for (int j = k >> 1; j > 0; j >>= 1) {
        for (int t = threadIdx.x; t < np / 2; t += blockDim.x) {
          const int i = (t / j) * 2 * j + (t % j), l = i + j;
          const bool up = (i & k) == 0;
          const U ki = key[i], kl = key[l];
          const uint32_t pi = pos[i], pl = pos[l];
          const bool greater = ki > kl || (ki == kl && pi > pl);
          if (greater == up) {
            key[i] = kl, key[l] = ki;
            pos[i] = pl, pos[l] = pi;
          }
        }
        __syncthreads();
      }
    }
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
      const uint32_t p = pos[i];
      if (arg) static_cast<uint32_t*>(out)[oo + i * ln.ost] = p;
      else static_cast<T*>(out)[oo + i * ln.ost] = in[io + int64_t(p) * ln.ist];
    }
    __syncthreads();
  }
}

// Keys of the device-wide path: 32 bits wide (sorted over their low
// 8 * sizeof(U) bits) or 64, so CUB is instantiated twice only.
template <typename T>
using wide_t = cs::conditional_t<(sizeof(typename KeyOf<T>::U) <= 4), uint32_t, uint64_t>;

template <typename T>
__global__ void keys_kernel(const T* in, Lines ln, wide_t<T>* keys, uint32_t* vals) {
  const int64_t N = ln.lines * ln.n;
  OXD_GRID_LOOP(t, N) {
    const int64_t r = t / ln.n, i = t - r * ln.n;
    const int64_t io = lay_off(ln.l, 0, r);
    keys[t] = KeyOf<T>::key(in[io + i * ln.ist]);
    vals[t] = uint32_t(t);
  }
}

__global__ void line_of_kernel(const uint32_t* vals, int64_t N, int64_t n, uint32_t* seg) {
  OXD_GRID_LOOP(t, N) seg[t] = uint32_t(vals[t] / uint64_t(n));
}

template <typename T>
__global__ void write_kernel(const T* in, const uint32_t* order, void* out, bool arg, Lines ln) {
  const int64_t N = ln.lines * ln.n;
  OXD_GRID_LOOP(t, N) {
    const int64_t r = t / ln.n, i = t - r * ln.n;
    int64_t io, oo;
    lay_off2(ln.l, r, io, oo);
    const int64_t p = int64_t(order[t]) - r * ln.n;
    if (arg) static_cast<uint32_t*>(out)[oo + i * ln.ost] = uint32_t(p);
    else static_cast<T*>(out)[oo + i * ln.ost] = in[io + p * ln.ist];
  }
}

int key_bytes(int dt) {
  switch (dt) {
    case B: case U8: case I8: return 1;
    case U16: case I16: case F16: case BF16: return 2;
    case U32: case I32: case F32: return 4;
    default: return 8;
  }
}

int bits_for(int64_t v) {  // bits to hold 0..v
  int b = 1;
  while (b < 32 && (uint64_t(1) << b) <= uint64_t(v)) ++b;
  return b;
}

size_t align256(size_t b) { return (b + 255) & ~size_t(255); }

// Scratch: keys x2, vals x2, seg x2, then CUB's temporary storage.
template <typename U>
size_t cub_bytes(int64_t N, int seg_bits) {
  size_t a = 0, b = 0;
  cub::DeviceRadixSort::SortPairs(nullptr, a, static_cast<const U*>(nullptr),
                                  static_cast<U*>(nullptr),
                                  static_cast<const uint32_t*>(nullptr),
                                  static_cast<uint32_t*>(nullptr), N, 0, int(sizeof(U) * 8));
  cub::DeviceRadixSort::SortPairs(nullptr, b, static_cast<const uint32_t*>(nullptr),
                                  static_cast<uint32_t*>(nullptr),
                                  static_cast<const uint32_t*>(nullptr),
                                  static_cast<uint32_t*>(nullptr), N, 0, seg_bits);
  return a > b ? a : b;
}

template <typename T>
void run_global(const T* in, void* out, bool arg, const Lines& ln, void* scratch, size_t bytes,
                cudaStream_t s) {
  using U = wide_t<T>;
  const int key_bits = int(sizeof(typename KeyOf<T>::U) * 8);
  const int64_t N = ln.lines * ln.n;
  const int seg_bits = bits_for(ln.lines - 1);
  char* p = static_cast<char*>(scratch);
  U* k0 = reinterpret_cast<U*>(p); p += align256(sizeof(U) * N);
  U* k1 = reinterpret_cast<U*>(p); p += align256(sizeof(U) * N);
  uint32_t* v0 = reinterpret_cast<uint32_t*>(p); p += align256(4 * N);
  uint32_t* v1 = reinterpret_cast<uint32_t*>(p); p += align256(4 * N);
  uint32_t* s0 = reinterpret_cast<uint32_t*>(p); p += align256(4 * N);
  uint32_t* s1 = reinterpret_cast<uint32_t*>(p); p += align256(4 * N);
  size_t temp = bytes - size_t(p - static_cast<char*>(scratch));
  keys_kernel<T><<<blocks_for(N), kThreads, 0, s>>>(in, ln, k0, v0);
  cub::DeviceRadixSort::SortPairs(p, temp, k0, k1, v0, v1, N, 0, key_bits, s);
  const uint32_t* order = v1;
  if (ln.lines > 1) {
    line_of_kernel<<<blocks_for(N), kThreads, 0, s>>>(v1, N, ln.n, s0);
    cub::DeviceRadixSort::SortPairs(p, temp, s0, s1, v1, v0, N, 0, seg_bits, s);
    order = v0;
  }
  write_kernel<T><<<blocks_for(N), kThreads, 0, s>>>(in, order, out, arg, ln);
}

__global__ void winner_keys_kernel(const int64_t* base, int64_t P, int64_t n_out,
                                   uint64_t* keys, uint32_t* vals) {
  OXD_GRID_LOOP(p, P) {
    keys[p] = base[p] == kBadBase ? uint64_t(n_out) : uint64_t(base[p]);
    vals[p] = uint32_t(p);
  }
}

__global__ void winner_flags_kernel(const uint64_t* keys, const uint32_t* vals, int64_t P,
                                    int64_t n_out, uint8_t* win) {
  OXD_GRID_LOOP(t, P) {
    const uint64_t k = keys[t];
    win[vals[t]] = k != uint64_t(n_out) && (t + 1 == P || keys[t + 1] != k);
  }
}

int bits_for64(int64_t v) {
  int b = 1;
  while (b < 64 && (uint64_t(1) << b) <= uint64_t(v)) ++b;
  return b;
}

}  // namespace

int64_t scatter_winners_scratch(int64_t P, int64_t n_out) {
  size_t t = 0;
  cub::DeviceRadixSort::SortPairs(nullptr, t, static_cast<const uint64_t*>(nullptr),
                                  static_cast<uint64_t*>(nullptr),
                                  static_cast<const uint32_t*>(nullptr),
                                  static_cast<uint32_t*>(nullptr), P, 0, bits_for64(n_out));
  return int64_t(2 * align256(8 * size_t(P)) + 2 * align256(4 * size_t(P)) + t + 256);
}

void scatter_winners(const int64_t* base, int64_t P, int64_t n_out, uint8_t* win, void* scratch,
                     int64_t scratch_bytes, cudaStream_t s) {
  if (P <= 0) return;
  char* p = static_cast<char*>(scratch);
  uint64_t* k0 = reinterpret_cast<uint64_t*>(p); p += align256(8 * size_t(P));
  uint64_t* k1 = reinterpret_cast<uint64_t*>(p); p += align256(8 * size_t(P));
  uint32_t* v0 = reinterpret_cast<uint32_t*>(p); p += align256(4 * size_t(P));
  uint32_t* v1 = reinterpret_cast<uint32_t*>(p); p += align256(4 * size_t(P));
  size_t temp = size_t(scratch_bytes) - size_t(p - static_cast<char*>(scratch));
  winner_keys_kernel<<<blocks_for(P), kThreads, 0, s>>>(base, P, n_out, k0, v0);
  cub::DeviceRadixSort::SortPairs(p, temp, k0, k1, v0, v1, P, 0, bits_for64(n_out), s);
  winner_flags_kernel<<<blocks_for(P), kThreads, 0, s>>>(k1, v1, P, n_out, win);
}

int64_t sort_block_max(int) { return kBlockMax; }

void sort_block(const void* in, int dt, void* out, bool arg, const Lines& ln, cudaStream_t s) {
  if (ln.lines <= 0 || ln.n <= 0) return;
  int np = 1;
  while (np < ln.n) np <<= 1;
  if (np < 2) np = 2;
  const int threads = np / 2 < 1024 ? np / 2 : 1024;
  const int kb = key_bytes(dt);
  const size_t shm = ((size_t(np) * size_t(kb) + 15) & ~size_t(15)) + size_t(np) * 4;
  const int blocks = int(ln.lines < 132 * 32 ? ln.lines : 132 * 32);
  OXD_DISPATCH(dt, bitonic_kernel<T><<<blocks, threads, shm, s>>>(static_cast<const T*>(in), out,
                                                                  arg, ln, np));
}

int64_t sort_global_scratch(int dt, int64_t lines, int64_t n) {
  const int64_t N = lines * n;
  const int kb = key_bytes(dt), seg_bits = bits_for(lines - 1);
  const int wb = kb <= 4 ? 4 : 8;
  size_t b = 2 * align256(size_t(wb) * N) + 4 * align256(4 * size_t(N));
  if (wb == 4) b += cub_bytes<uint32_t>(N, seg_bits);
  else b += cub_bytes<uint64_t>(N, seg_bits);
  return int64_t(b) + 256;
}

void sort_global(const void* in, int dt, void* out, bool arg, const Lines& ln, void* scratch,
                 int64_t scratch_bytes, cudaStream_t s) {
  if (ln.lines <= 0 || ln.n <= 0) return;
  OXD_DISPATCH(dt, run_global<T>(static_cast<const T*>(in), out, arg, ln, scratch,
                                 size_t(scratch_bytes), s));
}

}  // namespace oxmlx::cu
