// Sort and partition families: every line along `axis` (any input strides)
// is copied into a contiguous scratch buffer, sorted (stable LSD radix sort
// for real dtypes, stable merge sort for short lines and complex) or
// partitioned (nth_element) there with NaNs ordered after every number, and
// written to the row-contiguous output. Lines are split across threads.
#include <algorithm>
#include <bit>
#include <limits>
#include <numeric>
#include <vector>

#include "backend/cpu/convert.h"
#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/strided.h"

namespace oxmlx::cpu {

namespace {

template <typename T>
inline bool is_nan_value(T x) {
  if constexpr (is_float_v<T>) return std::isnan(compute_t<T>(x));
  else if constexpr (is_complex_v<T>) return std::isnan(x.real()) || std::isnan(x.imag());
  else return false;
}

// Strict weak order with NaN greater than everything (and NaNs equivalent).
template <typename T>
inline bool nan_last_less(T a, T b) {
  if constexpr (is_float_v<T> || is_complex_v<T>) {
    if (is_nan_value(a)) return false;
    if (is_nan_value(b)) return true;
  }
  using C = compute_t<T>;
  return lex_less(C(a), C(b));
}

// ---- radix sort (real dtypes): keys mapped to unsigned integers whose
// order is the sort order (NaNs last and equal to each other, -0 == +0), so
// a stable LSD radix sort gives exactly the stable comparison sort.

template <typename T>
struct RadixKey {
  static constexpr bool ok = false;
};
template <typename T>
  requires(std::is_integral_v<T>)
struct RadixKey<T> {
  static constexpr bool ok = true;
  using U = std::make_unsigned_t<std::conditional_t<std::is_same_v<T, bool>, uint8_t, T>>;
  static U key(T x) {
    if constexpr (std::is_signed_v<T>) return U(x) ^ (U(1) << (sizeof(U) * 8 - 1));
    else return U(x);
  }
};
template <typename U>
inline U float_key(U bits, bool nan) {
  constexpr U sign = U(1) << (sizeof(U) * 8 - 1);
  if (nan) return U(~U(0));
  if ((bits & ~sign) == 0) return sign;  // -0 and +0
  return (bits & sign) ? U(~bits) : U(bits | sign);
}
template <>
struct RadixKey<float> {
  static constexpr bool ok = true;
  using U = uint32_t;
  static U key(float x) { return float_key(std::bit_cast<U>(x), std::isnan(x)); }
};
template <>
struct RadixKey<double> {
  static constexpr bool ok = true;
  using U = uint64_t;
  static U key(double x) { return float_key(std::bit_cast<U>(x), std::isnan(x)); }
};
template <>
struct RadixKey<float16_t> {
  static constexpr bool ok = true;
  using U = uint16_t;
  static U key(float16_t x) { return float_key<U>(x.bits, (x.bits & 0x7fff) > 0x7c00); }
};
template <>
struct RadixKey<bfloat16_t> {
  static constexpr bool ok = true;
  using U = uint16_t;
  static U key(bfloat16_t x) { return float_key<U>(x.bits, (x.bits & 0x7fff) > 0x7f80); }
};

// Lines shorter than this use the comparison sort.
constexpr int64_t kRadixMin = 96;

// Per-thread scratch reused from line to line; a line longer than
// kKeepScratch elements gets buffers of its own, freed after it, so a large
// sort does not leave every pool thread holding that much memory.
constexpr int64_t kKeepScratch = int64_t(1) << 15;

template <typename V, int Tag>
struct Scratch {
  V& get(int64_t n) {
    if (n <= kKeepScratch) {
      thread_local V kept;
      kept.resize(n);
      return kept;
    }
    own.resize(n);
    return own;
  }
  V own;
};

// Stable LSD radix sort of (k0, i0)[0, n) by key, 8 bits a pass (passes
// where every key has the same digit are skipped); k1/i1 are scratch.
template <typename U>
void radix_sort_range(U* k0, U* k1, uint32_t* i0, uint32_t* i1, int64_t n) {
  constexpr int P = int(sizeof(U));
  U* const kout = k0;
  uint32_t* const iout = i0;
  int64_t count[P][256] = {};
  for (int64_t i = 0; i < n; ++i)
    for (int p = 0; p < P; ++p) count[p][(k0[i] >> (8 * p)) & 0xff]++;
  for (int p = 0; p < P; ++p) {
    int64_t* c = count[p];
    bool trivial = false;
    for (int d = 0; d < 256; ++d)
      if (c[d] == n) trivial = true;
    if (trivial) continue;
    int64_t pos = 0;
    for (int d = 0; d < 256; ++d) {
      int64_t t = c[d];
      c[d] = pos;
      pos += t;
    }
    for (int64_t i = 0; i < n; ++i) {
      int64_t at = c[(k0[i] >> (8 * p)) & 0xff]++;
      k1[at] = k0[i];
      i1[at] = i0[i];
    }
    std::swap(k0, k1);
    std::swap(i0, i1);
  }
  if (k0 != kout) {
    std::copy(k0, k0 + n, kout);
    std::copy(i0, i0 + n, iout);
  }
}

// idx = the stable sorting permutation of vals[0, n).
template <typename T>
void radix_argsort(const T* vals, int64_t n, uint32_t* idx) {
  using K = RadixKey<T>;
  using U = typename K::U;
  Scratch<std::vector<U>, 3> sk;
  Scratch<std::vector<uint32_t>, 4> si;
  auto& kbuf = sk.get(2 * n);
  auto& ibuf = si.get(n);
  for (int64_t i = 0; i < n; ++i) {
    kbuf[i] = K::key(vals[i]);
    idx[i] = uint32_t(i);
  }
  radix_sort_range(kbuf.data(), kbuf.data() + n, idx, ibuf.data(), n);
}

// Lines at least this long, when there are fewer lines than threads, are
// sorted by several threads each.
constexpr int64_t kParallelLine = int64_t(1) << 16;

// The same permutation for one long line: chunks radix-sorted in parallel,
// then merged pairwise (ties taken from the left chunk, whose indices are
// smaller, so the result is still the stable order).
template <typename T>
void parallel_line_argsort(const T* vals, int64_t n, uint32_t* idx) {
  using K = RadixKey<T>;
  using U = typename K::U;
  const int64_t chunks = std::max<int64_t>(
      1, std::min<int64_t>(num_threads(), n / (kParallelLine / 2)));
  std::vector<U> ka(n), kb(n);
  std::vector<uint32_t> ib(n);
  std::vector<int64_t> bound(chunks + 1);
  for (int64_t c = 0; c <= chunks; ++c) bound[c] = n * c / chunks;
  parallel_for(chunks, 1, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) {
      int64_t lo = bound[c], hi = bound[c + 1];
      for (int64_t i = lo; i < hi; ++i) {
        ka[i] = K::key(vals[i]);
        idx[i] = uint32_t(i);
      }
      radix_sort_range(ka.data() + lo, kb.data() + lo, idx + lo, ib.data() + lo, hi - lo);
    }
  });
  U *ks = ka.data(), *kd = kb.data();
  uint32_t *is = idx, *id = ib.data();
  for (int64_t w = 1; w < chunks; w *= 2) {
    int64_t pairs = (chunks + 2 * w - 1) / (2 * w);
    parallel_for(pairs, 1, [&](int64_t b, int64_t e) {
      for (int64_t q = b; q < e; ++q) {
        int64_t c = q * 2 * w;
        int64_t lo = bound[c], mid = bound[std::min(c + w, chunks)],
                hi = bound[std::min(c + 2 * w, chunks)];
        int64_t x = lo, y = mid, o = lo;
        while (x < mid && y < hi) {
          bool right = ks[y] < ks[x];
          int64_t from = right ? y++ : x++;
          kd[o] = ks[from];
          id[o++] = is[from];
        }
        for (; x < mid; ++x, ++o) kd[o] = ks[x], id[o] = is[x];
        for (; y < hi; ++y, ++o) kd[o] = ks[y], id[o] = is[y];
      }
    });
    std::swap(ks, kd);
    std::swap(is, id);
  }
  if (is != idx) std::copy(is, is + n, idx);
}

// Calls line(in_offset, out_offset) for every position of the non-axis dims.
template <typename F>
void for_each_sort_line(const array& in, const array& out, int axis, F&& line,
                        bool serial = false) {
  Shape shape = in.shape();
  Strides is = in.strides(), os = out.strides();
  shape[axis] = 1;
  is[axis] = 0;
  os[axis] = 0;
  auto c = collapse<2>(shape, {&is, &os});
  int64_t n = std::max<int64_t>(in.shape(axis), 1);
  // n log n work per line: aim at ~2^14 element-steps per chunk (grain in lines).
  int64_t per_line = n * std::max<int64_t>(1, int64_t(std::log2(double(n)) + 1));
  for_each_row<2>(
      c,
      [&](const std::array<int64_t, 2>& off, int64_t m, const std::array<int64_t, 2>& st) {
        for (int64_t i = 0; i < m; ++i) line(off[0] + i * st[0], off[1] + i * st[1]);
      },
      serial ? std::numeric_limits<int64_t>::max() / 2
             : std::max<int64_t>(1, (int64_t(1) << 14) / per_line));
}

// Scratch element type (std::vector<bool> has no data()).
template <typename T>
using scratch_t = std::conditional_t<std::is_same_v<T, bool>, uint8_t, T>;

// One line of a sort or partition in this thread's scratch: its values
// (the n elements of src from io on, stride ist, converted to T) ...
template <typename T, typename T0>
struct ValLine {
  Scratch<std::vector<T>, 0> sv;
  std::vector<T>& vals;
  ValLine(const T0* src, int64_t io, int64_t ist, int64_t n) : vals(sv.get(n)) {
    for (int64_t i = 0; i < n; ++i) vals[i] = T(src[io + i * ist]);
  }
};
// ... and, for argsort/argpartition, the indices 0..n-1.
template <typename T, typename T0>
struct ArgLine : ValLine<T, T0> {
  Scratch<std::vector<uint32_t>, 1> si;
  std::vector<uint32_t>& idx;
  ArgLine(const T0* src, int64_t io, int64_t ist, int64_t n)
      : ValLine<T, T0>(src, io, ist, n), idx(si.get(n)) {
    std::iota(idx.begin(), idx.end(), uint32_t(0));
  }
};

template <typename T0>
void run_sort(const array& in, array& out, int axis, bool arg) {
  using T = scratch_t<T0>;
  const T0* src = in.data<T0>();
  const int64_t n = in.shape(axis), ist = in.strides()[axis], ost = out.strides()[axis];
  if constexpr (RadixKey<T0>::ok) {
    if (n >= kParallelLine && in.size() / n < num_threads() && num_threads() > 1) {
      // Few long lines: one at a time, each split across the pool.
      std::vector<T> vals(n);
      std::vector<uint32_t> idx(n);
      for_each_sort_line(
          in, out, axis,
          [&](int64_t io, int64_t oo) {
            for (int64_t i = 0; i < n; ++i) vals[i] = T(src[io + i * ist]);
            parallel_line_argsort(reinterpret_cast<const T0*>(vals.data()), n, idx.data());
            if (arg) {
              uint32_t* dst = out.data<uint32_t>();
              for (int64_t i = 0; i < n; ++i) dst[oo + i * ost] = idx[i];
            } else {
              T0* dst = out.data<T0>();
              for (int64_t i = 0; i < n; ++i) dst[oo + i * ost] = T0(vals[idx[i]]);
            }
          },
          true);
      return;
    }
  }
  if (arg) {
    uint32_t* dst = out.data<uint32_t>();
    for_each_sort_line(in, out, axis, [&](int64_t io, int64_t oo) {
      ArgLine<T, T0> line(src, io, ist, n);
      auto& idx = line.idx;
      const T* v = line.vals.data();
      if constexpr (RadixKey<T0>::ok) {
        if (n >= kRadixMin) {
          radix_argsort(reinterpret_cast<const T0*>(v), n, idx.data());
          for (int64_t i = 0; i < n; ++i) dst[oo + i * ost] = idx[i];
          return;
        }
      }
      // Stable: equal keys (and NaNs) keep their index order.
      std::stable_sort(idx.begin(), idx.end(),
                       [v](uint32_t a, uint32_t b) { return nan_last_less(v[a], v[b]); });
      for (int64_t i = 0; i < n; ++i) dst[oo + i * ost] = idx[i];
    });
  } else {
    T0* dst = out.data<T0>();
    for_each_sort_line(in, out, axis, [&](int64_t io, int64_t oo) {
      ValLine<T, T0> line(src, io, ist, n);
      auto& vals = line.vals;
      if constexpr (RadixKey<T0>::ok) {
        if (n >= kRadixMin) {
          Scratch<std::vector<uint32_t>, 2> sp;
          auto& perm = sp.get(n);
          radix_argsort(reinterpret_cast<const T0*>(vals.data()), n, perm.data());
          for (int64_t i = 0; i < n; ++i) dst[oo + i * ost] = T0(vals[perm[i]]);
          return;
        }
      }
      std::stable_sort(vals.begin(), vals.end(), [](T a, T b) { return nan_last_less(a, b); });
      for (int64_t i = 0; i < n; ++i) dst[oo + i * ost] = T0(vals[i]);
    });
  }
}

template <typename T0>
void run_partition(const array& in, array& out, int axis, int kth, bool arg) {
  using T = scratch_t<T0>;
  const T0* src = in.data<T0>();
  const int64_t n = in.shape(axis), ist = in.strides()[axis], ost = out.strides()[axis];
  if (arg) {
    uint32_t* dst = out.data<uint32_t>();
    for_each_sort_line(in, out, axis, [&](int64_t io, int64_t oo) {
      ArgLine<T, T0> line(src, io, ist, n);
      auto& idx = line.idx;
      const T* v = line.vals.data();
      // Ties broken by index, so the order is total and the result is the
      // same as MLX's for the same selection algorithm.
      std::nth_element(idx.begin(), idx.begin() + kth, idx.end(), [v](uint32_t a, uint32_t b) {
        if constexpr (is_float_v<T>) {
          if (is_nan_value(v[a])) return false;
          if (is_nan_value(v[b])) return true;
        }
        using C = compute_t<T>;
        C x(v[a]), y(v[b]);
        return lex_less(x, y) || (x == y && a < b);
      });
      for (int64_t i = 0; i < n; ++i) dst[oo + i * ost] = idx[i];
    });
  } else {
    T0* dst = out.data<T0>();
    for_each_sort_line(in, out, axis, [&](int64_t io, int64_t oo) {
      ValLine<T, T0> line(src, io, ist, n);
      auto& vals = line.vals;
      std::nth_element(vals.begin(), vals.begin() + kth, vals.end(),
                       [](T a, T b) { return nan_last_less(a, b); });
      for (int64_t i = 0; i < n; ++i) dst[oo + i * ost] = T0(vals[i]);
    });
  }
}

void check_line(const array& in, int axis, const char* op) {
  if (axis < 0 || axis >= in.ndim())
    throw ValueError(msg("[", op, "] Invalid axis ", axis, " for array with ", in.ndim(),
                         " dimensions."));
  if (in.shape(axis) > int64_t(UINT32_MAX))
    throw ValueError(msg("[", op, "] Axis of size ", in.shape(axis),
                         " is too long for uint32 indices."));
}

}  // namespace

void CpuBackend::sort(const array& in, array& out, int axis, bool arg) {
  check_line(in, axis, arg ? "argsort" : "sort");
  alloc_row_major(out);
  if (out.size() == 0) return;
  dispatch_dtype(in.dtype(), [&](auto t) { run_sort<decltype(t)>(in, out, axis, arg); });
}

void CpuBackend::partition(const array& in, array& out, int axis, int kth, bool arg) {
  check_line(in, axis, arg ? "argpartition" : "partition");
  if (kth < 0 || kth >= std::max<int64_t>(in.shape(axis), 1))
    throw ValueError(msg("[partition] Invalid kth ", kth, " for axis of size ", in.shape(axis), "."));
  alloc_row_major(out);
  if (out.size() == 0) return;
  dispatch_dtype(in.dtype(), [&](auto t) { run_partition<decltype(t)>(in, out, axis, kth, arg); });
}

}  // namespace oxmlx::cpu
