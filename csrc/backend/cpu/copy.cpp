// Copy family: any layout and dtype into a row-contiguous output, plus arange.
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
  if (in.flags().row_contiguous && in.data_size() == in.size()) {
    if constexpr (std::is_same_v<From, To>) {
      parallel_for(in.size(), 1 << 18, [&](int64_t b, int64_t e) {
        std::memcpy(dst + b, src + b, size_t(e - b) * sizeof(To));
      });
    } else {
      parallel_for(in.size(), 1 << 15, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) dst[i] = convert<To>(src[i]);
      });
    }
    return;
  }
  auto c = collapse<2>(out.shape(), {&in.strides(), &out.strides()});
  for_each_row<2>(c, [&](const std::array<int64_t, 2>& off, int64_t n,
                         const std::array<int64_t, 2>& st) {
    const From* s = src + off[0];
    To* d = dst + off[1];
    if (st[0] == 0) {
      To v = convert<To>(*s);
      for (int64_t i = 0; i < n; ++i) d[i] = v;
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
