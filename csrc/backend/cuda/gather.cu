// Gather / scatter kernels. Indices (any integer dtype) wrap when negative;
// an index whose slice leaves the axis is recorded in an IndexErr slot (the
// host raises IndexError at the next synchronization) and its positions
// read zero (gather) or are skipped (scatter). Scatter combines with atomics
// (native where the type has them, compare-and-swap otherwise), so repeated
// indices combine like the CPU's sequential loop up to the order of
// floating-point sums and products; for ScatterOp::None the last update of
// each position wins (a winner table of update positions), as on the CPU.
#include "backend/cuda/device_util.cuh"

namespace oxmlx::cu {

namespace {

using namespace dev;

__device__ __forceinline__ int64_t load_index(const void* p, int dt, int64_t i) {
  switch (dt) {
    case U8: return int64_t(static_cast<const uint8_t*>(p)[i]);
    case U16: return int64_t(static_cast<const uint16_t*>(p)[i]);
    case U32: return int64_t(static_cast<const uint32_t*>(p)[i]);
    case U64: return int64_t(static_cast<const uint64_t*>(p)[i]);
    case I8: return int64_t(static_cast<const int8_t*>(p)[i]);
    case I16: return int64_t(static_cast<const int16_t*>(p)[i]);
    case I32: return int64_t(static_cast<const int32_t*>(p)[i]);
    default: return static_cast<const int64_t*>(p)[i];
  }
}

__device__ __forceinline__ void record(IndexErr* err, int64_t value, int axis, int64_t dim) {
  if (atomicCAS(&err->code, 0, 1) == 0) {
    err->value = value;
    err->axis = axis;
    err->dim = dim;
  }
}

// The wrapped index k at position p, or false (recorded) when out of bounds.
__device__ __forceinline__ bool index_at(const IndexSet& ix, int k, int64_t p, IndexErr* err,
                                         int64_t& i) {
  int64_t raw = load_index(ix.ptr[k], ix.dt[k], p);
  i = raw < 0 ? raw + ix.dim[k] : raw;
  if (i < 0 || i + ix.slice[k] > ix.dim[k]) {
    record(err, raw, ix.axis[k], ix.dim[k]);
    return false;
  }
  return true;
}

// Adds the element offset that position p's indices select to b; false when
// one of them is out of bounds (every index is still checked and recorded).
__device__ __forceinline__ bool add_offset(const IndexSet& ix, int64_t p, IndexErr* err,
                                           int64_t& b) {
  bool ok = true;
  for (int k = 0; k < ix.n; ++k) {
    int64_t i;
    if (!index_at(ix, k, p, err, i)) {
      ok = false;
      continue;
    }
    b += i * ix.stride[k];
  }
  return ok;
}

__global__ void bases_kernel(IndexSet ix, int64_t P, int64_t* base, bool acc, IndexErr* err) {
  OXD_GRID_LOOP(p, P) {
    int64_t b = acc ? base[p] : 0;
    const bool bad = b == kBadBase;
    base[p] = add_offset(ix, p, err, b) && !bad ? b : kBadBase;
  }
}

template <int Bytes>
struct Word;
template <> struct Word<1> { using T = uint8_t; };
template <> struct Word<2> { using T = uint16_t; };
template <> struct Word<4> { using T = uint32_t; };
template <> struct Word<8> { using T = uint64_t; };

template <typename W>
__global__ void gather_rows_kernel(const W* src, const int64_t* base, int64_t P, int64_t S,
                                   Layout l, W* out) {
  OXD_GRID_LOOP(e, P * S) {
    int64_t p = e / S, j = e - p * S;
    int64_t b = base[p];
    if (b == kBadBase) {
      out[e] = W{};
    } else {
      out[e] = src[b + lay_off(l, 0, j)];
    }
  }
}

template <typename W>
__global__ void gather_elements_kernel(const W* src, IndexSet ix, int64_t P, W* out,
                                       IndexErr* err) {
  OXD_GRID_LOOP(p, P) {
    int64_t b = 0;
    out[p] = add_offset(ix, p, err, b) ? src[b] : W{};
  }
}

// ---- combining updates

enum Op : int { None = 0, Sum, Prod, Max, Min };

template <typename T>
__device__ __forceinline__ T combine(int op, T x, T v) {
  if constexpr (cs::is_same_v<T, bool>) {
    return (op == Sum || op == Max) ? (x || v) : (x && v);
  } else if constexpr (is_half<T>) {
    float a = float(x), b = float(v);
    switch (op) {
      case Sum: return T(a + b);
      case Prod: return T(a * b);
      case Max: return (b > a || b != b) ? v : x;
      default: return (b < a || b != b) ? v : x;
    }
  } else if constexpr (cs::is_integral_v<T>) {
    using Un = cs::make_unsigned_t<T>;
    using W = cs::conditional_t<(sizeof(T) < 4), uint32_t, Un>;
    switch (op) {
      case Sum: return T(W(x) + W(v));
      case Prod: return T(W(x) * W(v));
      case Max: return v > x ? v : x;
      default: return v < x ? v : x;
    }
  } else {
    switch (op) {
      case Sum: return x + v;
      case Prod: return x * v;
      case Max: return (v > x || v != v) ? v : x;
      default: return (v < x || v != v) ? v : x;
    }
  }
}

template <typename T>
__device__ __forceinline__ uint64_t to_bits(T v) {
  if constexpr (sizeof(T) == 1) return uint64_t(*reinterpret_cast<const uint8_t*>(&v));
  else if constexpr (sizeof(T) == 2) return uint64_t(*reinterpret_cast<const uint16_t*>(&v));
  else if constexpr (sizeof(T) == 4) return uint64_t(*reinterpret_cast<const uint32_t*>(&v));
  else return *reinterpret_cast<const uint64_t*>(&v);
}
template <typename T>
__device__ __forceinline__ T from_bits(uint64_t b) {
  T v;
  if constexpr (sizeof(T) == 1) { uint8_t x = uint8_t(b); memcpy(&v, &x, 1); }
  else if constexpr (sizeof(T) == 2) { uint16_t x = uint16_t(b); memcpy(&v, &x, 2); }
  else if constexpr (sizeof(T) == 4) { uint32_t x = uint32_t(b); memcpy(&v, &x, 4); }
  else memcpy(&v, &b, 8);
  return v;
}

// *addr = combine(op, *addr, v) atomically through compare-and-swap on the
// aligned 32-bit word holding a sub-word element, or on the element itself.
template <typename T>
__device__ void cas_update(int op, T* addr, T v) {
  if constexpr (sizeof(T) == 8) {
    auto* a = reinterpret_cast<unsigned long long*>(addr);
    unsigned long long old = *a, assumed;
    do {
      assumed = old;
      T nv = combine(op, from_bits<T>(assumed), v);
      old = atomicCAS(a, assumed, (unsigned long long)to_bits(nv));
    } while (old != assumed);
  } else if constexpr (sizeof(T) == 4) {
    auto* a = reinterpret_cast<unsigned int*>(addr);
    unsigned int old = *a, assumed;
    do {
      assumed = old;
      T nv = combine(op, from_bits<T>(assumed), v);
      old = atomicCAS(a, assumed, (unsigned int)to_bits(nv));
    } while (old != assumed);
  } else {
    uintptr_t ad = reinterpret_cast<uintptr_t>(addr);
    auto* w = reinterpret_cast<unsigned int*>(ad & ~uintptr_t(3));
    const unsigned shift = unsigned(ad & 3) * 8;
    const unsigned mask = (sizeof(T) == 1 ? 0xffu : 0xffffu) << shift;
    unsigned int old = *w, assumed;
    do {
      assumed = old;
      T cur = from_bits<T>((assumed & mask) >> shift);
      unsigned nb = unsigned(to_bits(combine(op, cur, v))) << shift;
      old = atomicCAS(w, assumed, (assumed & ~mask) | nb);
    } while (old != assumed);
  }
}

template <typename T>
__device__ __forceinline__ void atomic_update(int op, T* addr, T v) {
  if (op == Sum) {
    if constexpr (cs::is_same_v<T, float> || cs::is_same_v<T, double> ||
                  cs::is_same_v<T, half_t> || cs::is_same_v<T, bf16_t> ||
                  cs::is_same_v<T, int32_t> || cs::is_same_v<T, uint32_t>) {
      atomicAdd(addr, v);
      return;
    } else if constexpr (cs::is_same_v<T, int64_t> || cs::is_same_v<T, uint64_t>) {
      atomicAdd(reinterpret_cast<unsigned long long*>(addr), (unsigned long long)v);
      return;
    }
  } else if (op == Max || op == Min) {
    if constexpr (cs::is_same_v<T, int32_t> || cs::is_same_v<T, uint32_t>) {
      if (op == Max) atomicMax(addr, v);
      else atomicMin(addr, v);
      return;
    } else if constexpr (cs::is_same_v<T, int64_t>) {
      auto* a = reinterpret_cast<long long*>(addr);
      if (op == Max) atomicMax(a, (long long)v);
      else atomicMin(a, (long long)v);
      return;
    } else if constexpr (cs::is_same_v<T, uint64_t>) {
      auto* a = reinterpret_cast<unsigned long long*>(addr);
      if (op == Max) atomicMax(a, (unsigned long long)v);
      else atomicMin(a, (unsigned long long)v);
      return;
    }
  }
  cas_update(op, addr, v);
}

template <typename T>
__global__ void scatter_kernel(int op, T* out, const T* upd, const int64_t* base,
                               const uint8_t* win, int64_t P, int64_t S, Layout lu, Layout lupd) {
  OXD_GRID_LOOP(e, P * S) {
    int64_t p = e / S, j = e - p * S;
    int64_t b = base[p];
    if (b == kBadBase) continue;
    if (op == None && !win[p]) continue;
    T v = upd[lay_off(lupd, 0, e)];
    T* d = out + b + lay_off(lu, 0, j);
    if (op == None) *d = v;
    else atomic_update(op, d, v);
  }
}

}  // namespace

void index_bases(const IndexSet& ix, int64_t P, int64_t* base, bool accumulate, IndexErr* err,
                 cudaStream_t s) {
  if (P <= 0) return;
  bases_kernel<<<blocks_for(P), kThreads, 0, s>>>(ix, P, base, accumulate, err);
}

void gather_rows(const void* src, int itemsize, const int64_t* base, int64_t P, int64_t S,
                 const Layout& l, void* out, cudaStream_t s) {
  if (P * S <= 0) return;
  int nb = blocks_for(P * S);
  switch (itemsize) {
#define OXD_CASE(n)                                                                        \
  case n:                                                                                   \
    gather_rows_kernel<<<nb, kThreads, 0, s>>>(static_cast<const Word<n>::T*>(src), base, P, \
                                                S, l, static_cast<Word<n>::T*>(out));       \
    break;
    OXD_CASE(1) OXD_CASE(2) OXD_CASE(4) OXD_CASE(8)
#undef OXD_CASE
  }
}

void gather_elements(const void* src, int itemsize, const IndexSet& ix, int64_t P, void* out,
                     IndexErr* err, cudaStream_t s) {
  if (P <= 0) return;
  int nb = blocks_for(P);
  switch (itemsize) {
#define OXD_CASE(n)                                                                  \
  case n:                                                                             \
    gather_elements_kernel<<<nb, kThreads, 0, s>>>(static_cast<const Word<n>::T*>(src), ix, \
                                                    P, static_cast<Word<n>::T*>(out), err); \
    break;
    OXD_CASE(1) OXD_CASE(2) OXD_CASE(4) OXD_CASE(8)
#undef OXD_CASE
  }
}

void scatter(int op, int dt, void* out, const void* upd, const int64_t* base, const uint8_t* win,
             int64_t P, int64_t S, const Layout& lu, const Layout& lupd, cudaStream_t s) {
  if (P * S <= 0) return;
  int nb = blocks_for(P * S);
  OXD_DISPATCH(dt, scatter_kernel<T><<<nb, kThreads, 0, s>>>(
                       op, static_cast<T*>(out), static_cast<const T*>(upd), base, win, P, S, lu,
                       lupd));
}

}  // namespace oxmlx::cu
