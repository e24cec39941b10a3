// Sort and partition families: every line along `axis` (any input strides)
// is copied into a contiguous scratch buffer, sorted (stable merge sort) or
// partitioned (nth_element) there with NaNs ordered after every number, and
// written to the row-contiguous output. Lines are split across threads.
#include <algorithm>
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

// Calls line(in_offset, out_offset) for every position of the non-axis dims.
template <typename F>
void for_each_sort_line(const array& in, const array& out, int axis, F&& line) {
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
      std::max<int64_t>(1, (int64_t(1) << 14) / per_line));
}

// Scratch element type (std::vector<bool> has no data()).
template <typename T>
using scratch_t = std::conditional_t<std::is_same_v<T, bool>, uint8_t, T>;

template <typename T0>
void run_sort(const array& in, array& out, int axis, bool arg) {
  using T = scratch_t<T0>;
  const T0* src = in.data<T0>();
  const int64_t n = in.shape(axis), ist = in.strides()[axis], ost = out.strides()[axis];
  if (arg) {
    uint32_t* dst = out.data<uint32_t>();
    for_each_sort_line(in, out, axis, [&](int64_t io, int64_t oo) {
      thread_local std::vector<T> vals;
      thread_local std::vector<uint32_t> idx;
      vals.resize(n);
      idx.resize(n);
      for (int64_t i = 0; i < n; ++i) vals[i] = T(src[io + i * ist]);
      std::iota(idx.begin(), idx.end(), uint32_t(0));
      const T* v = vals.data();
      // Stable: equal keys (and NaNs) keep their index order.
      std::stable_sort(idx.begin(), idx.end(),
                       [v](uint32_t a, uint32_t b) { return nan_last_less(v[a], v[b]); });
      for (int64_t i = 0; i < n; ++i) dst[oo + i * ost] = idx[i];
    });
  } else {
    T0* dst = out.data<T0>();
    for_each_sort_line(in, out, axis, [&](int64_t io, int64_t oo) {
      thread_local std::vector<T> vals;
      vals.resize(n);
      for (int64_t i = 0; i < n; ++i) vals[i] = T(src[io + i * ist]);
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
      thread_local std::vector<T> vals;
      thread_local std::vector<uint32_t> idx;
      vals.resize(n);
      idx.resize(n);
      for (int64_t i = 0; i < n; ++i) vals[i] = T(src[io + i * ist]);
      std::iota(idx.begin(), idx.end(), uint32_t(0));
      const T* v = vals.data();
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
      thread_local std::vector<T> vals;
      vals.resize(n);
      for (int64_t i = 0; i < n; ++i) vals[i] = T(src[io + i * ist]);
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
