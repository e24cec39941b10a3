// Copy family: any layout and dtype into a row-contiguous output, plus arange.
#include "backend/cpu/cast_simd.h"
#include "backend/cpu/convert.h"
#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/strided.h"

#include <cstring>

namespace oxmlx::cpu {

namespace {

template <typename From, typename To>
void run_copy(const array& in, array& out) {
  const From* src = in.data<From>();
  To* dst = out.data<To>();
  const bool fast = has_fast_cast(in.dtype(), out.dtype());
  if (in.flags().row_contiguous && in.data_size() == in.size()) {
    if constexpr (std::is_same_v<From, To>) {
      parallel_for(in.size(), 1 << 18, [&](int64_t b, int64_t e) {
        std::memcpy(dst + b, src + b, size_t(e - b) * sizeof(To));
      });
    } else {
      parallel_for(in.size(), 1 << 15, [&](int64_t b, int64_t e) {
        if (fast) {
          fast_cast(in.dtype(), out.dtype(), src + b, dst + b, e - b);
          return;
        }
        for (int64_t i = b; i < e; ++i) dst[i] = convert<To>(src[i]);
      });
    }
    return;
  }
  auto c = collapse<2>(out.shape(), {&in.strides(), &out.strides()});
  if (transposed_operand<2>(c) == 0) {
    // Transposed input: copy 32x32 tiles, reading the input's columns while
    // they are in cache and writing whole output lines.
    for_each_tile<2>(c, [&](const std::array<int64_t, 2>& off, int64_t nr, int64_t nc,
                            const std::array<int64_t, 2>& sr, const std::array<int64_t, 2>& sc) {
      const From* s = src + off[0];
      To* d = dst + off[1];
      if (sc[1] == 1 && sr[0] == 1) {
        const int64_t ls = sc[0], ld = sr[1];
        for (int64_t i = 0; i < nr; ++i)
          for (int64_t j = 0; j < nc; ++j) d[i * ld + j] = convert<To>(s[i + j * ls]);
      } else {
        for (int64_t i = 0; i < nr; ++i)
          for (int64_t j = 0; j < nc; ++j)
            d[i * sr[1] + j * sc[1]] = convert<To>(s[i * sr[0] + j * sc[0]]);
      }
    });
    return;
  }
  for_each_row<2>(c, [&](const std::array<int64_t, 2>& off, int64_t n,
                         const std::array<int64_t, 2>& st) {
    const From* s = src + off[0];
    To* d = dst + off[1];
    if (st[0] == 0) {
      To v = convert<To>(*s);
      for (int64_t i = 0; i < n; ++i) d[i] = v;
    } else if (st[0] == 1 && st[1] == 1) {
      if constexpr (std::is_same_v<From, To>) {
        std::memcpy(d, s, size_t(n) * sizeof(To));
      } else {
        if (!(fast && fast_cast(in.dtype(), out.dtype(), s, d, n)))
          for (int64_t i = 0; i < n; ++i) d[i] = convert<To>(s[i]);
      }
    } else {
      for (int64_t i = 0; i < n; ++i) d[i] = convert<To>(s[i * st[0]]);
    }
  });
}

}  // namespace

void CpuBackend::copy(const array& in, array& out) {
  alloc_row_major(out);
  if (out.size() == 0) return;
  dispatch_dtype(in.dtype(), [&](auto f) {
    dispatch_dtype(out.dtype(), [&](auto t) { run_copy<decltype(f), decltype(t)>(in, out); });
  });
}

void CpuBackend::arange(double start, double step, array& out) {
  alloc_row_major(out);
  dispatch_dtype(out.dtype(), [&](auto t) {
    using T = decltype(t);
    T* dst = out.data<T>();
    if constexpr (is_int_v<T>) {
      if (start != double(int64_t(start)) || step != double(int64_t(step))) {
        for (int64_t i = 0; i < out.size(); ++i) dst[i] = T(start + double(i) * step);
        return;
      }
      // Integer ranges are exact: no accumulated floating error.
      int64_t s = int64_t(start), d = int64_t(step);
      for (int64_t i = 0; i < out.size(); ++i) dst[i] = T(s + i * d);
    } else {
      for (int64_t i = 0; i < out.size(); ++i) dst[i] = convert<T>(start + double(i) * step);
    }
  });
}

}  // namespace oxmlx::cpu

namespace oxmlx::cpu {

void CpuBackend::slice_update(const array& base, const array& update, array& out,
                              const Shape& start, const Shape& step) {
  // out starts as base (donated when possible), then the update is copied
  // through a strided view of out's region.
  if (!(base.flags().row_contiguous && try_donate(base, out))) copy(base, out);
  Strides st(out.ndim());
  int64_t off = 0;
  for (int i = 0; i < out.ndim(); ++i) {
    off += start[i] * out.strides()[i];
    st[i] = out.strides()[i] * step[i];
  }
  if (update.size() == 0) return;
  dispatch_dtype(out.dtype(), [&](auto t) {
    using T = decltype(t);
    const T* src = update.data<T>();
    T* dst = out.data<T>() + off;
    auto c = collapse<2>(update.shape(), {&update.strides(), &st});
    for_each_row<2>(c, [&](const std::array<int64_t, 2>& o, int64_t n,
                           const std::array<int64_t, 2>& s) {
      for (int64_t i = 0; i < n; ++i) dst[o[1] + i * s[1]] = src[o[0] + i * s[0]];
    });
  });
}

}  // namespace oxmlx::cpu
