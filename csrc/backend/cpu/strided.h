// Strided iteration shared by the CPU kernel families: merge dimensions that
// are contiguous for every operand, then walk the outer index space row by row
// (rows may be split across threads) and hand each row's pointers to a kernel.
#pragma once

#include <algorithm>
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
  // Fewer rows than threads but long rows (a flat or nearly flat space):
  // split each row into column chunks instead, so that the threads still
  // share the work. Rows are independent element by element, so any split
  // gives the same result.
  const int nt = num_threads();
  if (nt > 1 && rows < nt && inner >= 2 * grain && !in_parallel_region()) {
    const int64_t chunks = std::min<int64_t>(inner / grain, (nt + rows - 1) / rows);
    parallel_for(rows * chunks, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        int64_t r = t / chunks, k = t % chunks;
        int64_t b = inner * k / chunks, e = inner * (k + 1) / chunks;
        std::array<int64_t, N> off{};
        int64_t rem = r;
        for (int i = nd - 2; i >= 0; --i) {
          int64_t ix = rem % c.shape[i];
          rem /= c.shape[i];
          for (int q = 0; q < N; ++q) off[q] += ix * c.strides[q][i];
        }
        for (int q = 0; q < N; ++q) off[q] += b * inner_strides[q];
        row(off, e - b, inner_strides);
      }
    });
    return;
  }
  int64_t row_grain = std::max<int64_t>(1, grain / std::max<int64_t>(inner, 1));
  parallel_for(rows, row_grain, run);
}

// A collapsed space whose last two dims are walked across the grain of one
// operand (that operand steps 1 along dim nd-2 but not along the row dim
// nd-1), e.g. a transposed input: returns that operand's index, or -1.
// Kernels then tile the two dims so that both sides stay in cache.
template <int N>
int transposed_operand(const Collapsed<N>& c) {
  const int nd = int(c.shape.size());
  if (nd < 2 || c.shape[nd - 1] < 16 || c.shape[nd - 2] < 16) return -1;
  for (int k = 0; k < N; ++k)
    if (c.strides[k][nd - 2] == 1 && c.strides[k][nd - 1] != 1 && c.strides[k][nd - 1] != 0)
      return k;
  return -1;
}

// Tiled walk of a collapsed space with a transposed operand: calls
// tile(offsets, rows, cols, strides_row_dim, strides_col_dim) for blocks of
// at most B x B over the last two dims, for every index of the leading dims.
// `strides_col_dim` are the operands' steps along the row dim (nd-1),
// `strides_row_dim` their steps along dim nd-2. Blocks are spread over threads.
template <int N, typename F>
void for_each_tile(const Collapsed<N>& c, F&& tile, int64_t B = 32) {
  const int nd = int(c.shape.size());
  const int64_t R = c.shape[nd - 2], C = c.shape[nd - 1];
  int64_t outer = 1;
  for (int i = 0; i < nd - 2; ++i) outer *= c.shape[i];
  const int64_t tr = (R + B - 1) / B, tc = (C + B - 1) / B;
  std::array<int64_t, N> s_r, s_c;
  for (int k = 0; k < N; ++k) {
    s_r[k] = c.strides[k][nd - 2];
    s_c[k] = c.strides[k][nd - 1];
  }
  // Each task is one band of B rows (all column blocks), so a thread writes
  // whole cache lines of row-major outputs.
  int64_t grain = std::max<int64_t>(1, (int64_t(1) << 15) / std::max<int64_t>(B * C, 1));
  parallel_for(outer * tr, grain, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      int64_t o = t / tr, bi = t % tr;
      std::array<int64_t, N> base{};
      int64_t rem = o;
      for (int i = nd - 3; i >= 0; --i) {
        int64_t ix = rem % c.shape[i];
        rem /= c.shape[i];
        for (int k = 0; k < N; ++k) base[k] += ix * c.strides[k][i];
      }
      int64_t r0 = bi * B, nr = std::min(B, R - r0);
      for (int64_t bj = 0; bj < tc; ++bj) {
        int64_t c0 = bj * B, ncol = std::min(B, C - c0);
        std::array<int64_t, N> off;
        for (int k = 0; k < N; ++k) off[k] = base[k] + r0 * s_r[k] + c0 * s_c[k];
        tile(off, nr, ncol, s_r, s_c);
      }
    }
  });
}

}  // namespace oxmlx::cpu
