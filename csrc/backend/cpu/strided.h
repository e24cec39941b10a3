// Strided iteration shared by the CPU kernel families: merge dimensions that
// are contiguous for every operand, then walk the outer index space row by row
// (rows may be split across threads) and hand each row's pointers to a kernel.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "backend/cpu/threadpool.h"
#include "core/array.h"

namespace oxmlx::cpu {

template <int N>
struct Collapsed {
  Shape shape;
  std::array<Strides, N> strides;
};

// Drops size-1 dims and merges dims i, i+1 when every operand steps through
// them as one dim. Always returns at least one dim.
template <int N>
Collapsed<N> collapse(const Shape& shape, const std::array<const Strides*, N>& strides) {
  Collapsed<N> c;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 1) continue;
    if (!c.shape.empty()) {
      bool merge = true;
      for (int k = 0; k < N; ++k)
        if (c.strides[k].back() != (*strides[k])[i] * shape[i]) merge = false;
      if (merge) {
        c.shape.back() *= shape[i];
        for (int k = 0; k < N; ++k) c.strides[k].back() = (*strides[k])[i];
        continue;
      }
    }
    c.shape.push_back(shape[i]);
    for (int k = 0; k < N; ++k) c.strides[k].push_back((*strides[k])[i]);
  }
  if (c.shape.empty()) {
    c.shape.push_back(1);
    for (int k = 0; k < N; ++k) c.strides[k].push_back(0);
  }
  return c;
}

// Calls row(offsets, n, inner_strides) for every row of the collapsed space
// (the last dim is the row), with element offsets of each operand. Splits rows
// across threads when the total work exceeds `grain` elements.
template <int N, typename F>
void for_each_row(const Collapsed<N>& c, F&& row, int64_t grain = 1 << 15) {
  const int nd = int(c.shape.size());
  const int64_t inner = c.shape[nd - 1];
  int64_t rows = 1;
  for (int i = 0; i < nd - 1; ++i) rows *= c.shape[i];
  std::array<int64_t, N> inner_strides;
  for (int k = 0; k < N; ++k) inner_strides[k] = c.strides[k][nd - 1];

  auto run = [&](int64_t r0, int64_t r1) {
    // Offsets of row r0 by mixed-radix decomposition, then increment.
    std::vector<int64_t> idx(nd > 1 ? nd - 1 : 1, 0);
    std::array<int64_t, N> off{};
    int64_t rem = r0;
    for (int i = nd - 2; i >= 0; --i) {
      idx[i] = rem % c.shape[i];
      rem /= c.shape[i];
      for (int k = 0; k < N; ++k) off[k] += idx[i] * c.strides[k][i];
    }
    for (int64_t r = r0; r < r1; ++r) {
      row(off, inner, inner_strides);
      for (int i = nd - 2; i >= 0; --i) {
        for (int k = 0; k < N; ++k) off[k] += c.strides[k][i];
        if (++idx[i] < c.shape[i]) break;
        for (int k = 0; k < N; ++k) off[k] -= c.strides[k][i] * c.shape[i];
        idx[i] = 0;
      }
    }
  };
  int64_t row_grain = std::max<int64_t>(1, grain / std::max<int64_t>(inner, 1));
  parallel_for(rows, row_grain, run);
}

}  // namespace oxmlx::cpu
