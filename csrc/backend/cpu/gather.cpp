// Gather/scatter family. Index arrays (any integer dtype, any layout, all of
// the same broadcast shape) are read once into int64 positions: negative
// indices wrap, and an index whose slice would leave the source raises
// IndexError (we check rather than clamp: no silently wrong results).
#include <cstring>

#include "backend/cpu/convert.h"
#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/strided.h"

namespace oxmlx::cpu {

namespace {

// Element offsets (in `strides`) of every position of `shape`, row-major.
std::vector<int64_t> offsets_of(const Shape& shape, const Strides& strides) {
  int64_t n = shape_size(shape);
  std::vector<int64_t> off(size_t(std::max<int64_t>(n, 0)));
  if (n == 0) return off;
  int nd = int(shape.size());
  std::vector<int64_t> idx(nd, 0);
  int64_t cur = 0;
  for (int64_t i = 0; i < n; ++i) {
    off[size_t(i)] = cur;
    for (int d = nd - 1; d >= 0; --d) {
      cur += strides[d];
      if (++idx[d] < shape[d]) break;
      cur -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
  return off;
}

// The index value v as a position (negative: from the end) whose slice
// [i, i + slice) lies inside [0, dim); IndexError otherwise.
inline int64_t wrap_index(int64_t v, int64_t dim, int64_t slice, int axis) {
  int64_t i = v < 0 ? v + dim : v;
  if (i < 0 || i > dim - slice)
    throw IndexError(
        msg("[gather] Index ", v, " is out of bounds for axis ", axis, " with size ", dim, "."));
  return i;
}

// f(p) with p the data of idx as its integer type; false, without calling
// f, for a non-integer index dtype.
template <typename F>
bool with_int_index(const array& idx, F&& f) {
  return dispatch_dtype(idx.dtype(), [&](auto t) -> bool {
    using I = decltype(t);
    if constexpr (!is_int_v<I>) {
      return false;
    } else {
      f(idx.data<I>());
      return true;
    }
  });
}

// Adds idx[p] * stride to base[p] for every index position p, after wrapping
// negatives and checking that [i, i + slice) lies inside [0, dim).
void add_index(const array& idx, int64_t dim, int64_t slice, int64_t stride, int axis,
               std::vector<int64_t>& base) {
  auto off = offsets_of(idx.shape(), idx.strides());
  dispatch_dtype(idx.dtype(), [&](auto t) {
    using T = decltype(t);
    if constexpr (!is_int_v<T>) {
      throw TypeError(msg("[gather] Indices must be integers, got ", dtype_name(idx.dtype()), "."));
    } else {
      const T* p = idx.data<T>();
      for (size_t k = 0; k < off.size(); ++k)
        base[k] += wrap_index(int64_t(p[off[k]]), dim, slice, axis) * stride;
    }
  });
}

std::vector<int64_t> index_bases(const array& ref, const std::vector<array>& indices,
                                 const std::vector<int>& axes, const Shape& slice_sizes,
                                 const Strides& strides) {
  int64_t n = indices.empty() ? 1 : indices[0].size();
  std::vector<int64_t> base(size_t(n), 0);
  for (size_t k = 0; k < indices.size(); ++k)
    add_index(indices[k], ref.shape(axes[k]), slice_sizes[axes[k]], strides[axes[k]], axes[k],
              base);
  return base;
}

template <typename T>
inline void combine(ScatterOp op, T& x, T v) {
  if constexpr (std::is_same_v<T, bool>) {
    switch (op) {
      case ScatterOp::None: x = v; break;
      case ScatterOp::Sum: case ScatterOp::Max: x = x || v; break;
      case ScatterOp::Prod: case ScatterOp::Min: x = x && v; break;
    }
  } else if constexpr (is_half_v<T>) {
    float a = float(x), b = float(v);
    switch (op) {
      case ScatterOp::None: x = v; break;
      case ScatterOp::Sum: x = T(a + b); break;
      case ScatterOp::Prod: x = T(a * b); break;
      case ScatterOp::Max: if (b > a || b != b) x = v; break;
      case ScatterOp::Min: if (b < a || b != b) x = v; break;
    }
  } else if constexpr (is_complex_v<T>) {
    switch (op) {
      case ScatterOp::None: x = v; break;
      case ScatterOp::Sum: x = x + v; break;
      case ScatterOp::Prod: x = x * v; break;
      case ScatterOp::Max:
        if (v.real() > x.real() || (v.real() == x.real() && v.imag() > x.imag())) x = v;
        break;
      case ScatterOp::Min:
        if (v.real() < x.real() || (v.real() == x.real() && v.imag() < x.imag())) x = v;
        break;
    }
  } else {
    switch (op) {
      case ScatterOp::None: x = v; break;
      case ScatterOp::Sum: x = T(x + v); break;
      case ScatterOp::Prod: x = T(x * v); break;
      case ScatterOp::Max: if (v > x || v != v) x = v; break;
      case ScatterOp::Min: if (v < x || v != v) x = v; break;
    }
  }
}

// Positions of a single row-contiguous index array, read in parallel
// without the offset tables of the general path. Returns false for a
// non-integer index dtype (the general path raises the TypeError).
bool one_index_bases(const array& src, const array& idx, int axis, int64_t slice,
                     std::vector<int64_t>& base) {
  return with_int_index(idx, [&](const auto* p) {
    const int64_t dim = src.shape(axis), stride = src.strides()[axis];
    base.resize(size_t(idx.size()));
    parallel_for(idx.size(), 1 << 15, [&](int64_t b, int64_t e) {
      for (int64_t k = b; k < e; ++k)
        base[size_t(k)] = wrap_index(int64_t(p[k]), dim, slice, axis) * stride;
    });
  });
}

// take of single elements through one row-contiguous index array (flat
// take): index, check and load in one pass, without a position table.
// Returns false for a non-integer index dtype.
bool gather_one_element(const array& src, const array& idx, array& out, int axis) {
  return with_int_index(idx, [&](const auto* p) {
    const int64_t dim = src.shape(axis), stride = src.strides()[axis];
    dispatch_dtype(out.dtype(), [&](auto v) {
      using T = decltype(v);
      const T* s = src.data<T>();
      T* d = out.data<T>();
      parallel_for(idx.size(), 1 << 15, [&](int64_t b, int64_t e) {
        for (int64_t k = b; k < e; ++k) d[k] = s[wrap_index(int64_t(p[k]), dim, 1, axis) * stride];
      });
    });
  });
}

}  // namespace

void CpuBackend::gather(const array& src, const std::vector<array>& indices, array& out,
                        const std::vector<int>& axes, const Shape& slice_sizes) {
  alloc_row_major(out);
  if (out.size() == 0) return;
  if (indices.size() == 1 && indices[0].flags().row_contiguous &&
      indices[0].data_size() == indices[0].size() && shape_size(slice_sizes) == 1 &&
      gather_one_element(src, indices[0], out, axes[0]))
    return;
  std::vector<int64_t> base;
  const bool one = indices.size() == 1 && indices[0].flags().row_contiguous &&
                   indices[0].data_size() == indices[0].size() &&
                   one_index_bases(src, indices[0], axes[0], slice_sizes[axes[0]], base);
  if (!one) base = index_bases(src, indices, axes, slice_sizes, src.strides());
  auto soff = offsets_of(slice_sizes, src.strides());
  const int64_t S = int64_t(soff.size());
  const int64_t total = int64_t(base.size()) * S;
  dispatch_dtype(out.dtype(), [&](auto t) {
    using T = decltype(t);
    const T* s = src.data<T>();
    T* d = out.data<T>();
    const int64_t P = int64_t(base.size());
    if (S == 1) {
      const int64_t o = soff[0];
      parallel_for(P, 1 << 15, [&](int64_t b, int64_t e) {
        for (int64_t p = b; p < e; ++p) d[p] = s[base[size_t(p)] + o];
      });
      return;
    }
    bool contiguous_slice = true;
    for (int64_t j = 1; j < S && contiguous_slice; ++j)
      contiguous_slice = soff[size_t(j)] == soff[0] + j;
    if (contiguous_slice && S >= 16) {
      // Each slice is one run of the source (rows of take(axis=0)): copy runs.
      parallel_for(P, std::max<int64_t>(1, (1 << 15) / S), [&](int64_t b, int64_t e) {
        for (int64_t p = b; p < e; ++p)
          std::memcpy(d + p * S, s + base[size_t(p)] + soff[0], size_t(S) * sizeof(T));
      });
      return;
    }
    if (S >= 64 && P >= 64) {
      // Strided slices gathered at many positions (columns of take(axis=1)):
      // walk blocks of 16 slice elements for all positions, so the source
      // lines of one block stay in cache and each position writes a line.
      constexpr int64_t J = 16;
      const int64_t nb = (S + J - 1) / J;
      parallel_for(nb, 1, [&](int64_t b, int64_t e) {
        for (int64_t jb = b; jb < e; ++jb) {
          const int64_t j0 = jb * J, j1 = std::min(S, j0 + J);
          for (int64_t p = 0; p < P; ++p) {
            const T* sp = s + base[size_t(p)];
            T* dp = d + p * S;
            for (int64_t j = j0; j < j1; ++j) dp[j] = sp[soff[size_t(j)]];
          }
        }
      });
      return;
    }
    // Parallel over (index position, slice element) pairs, so both many
    // small slices and a few large ones spread across threads.
    parallel_for(total, 1 << 14, [&](int64_t b, int64_t e) {
      int64_t p = b / S, j = b % S;
      for (int64_t i = b; i < e; ++i) {
        d[i] = s[base[size_t(p)] + soff[size_t(j)]];
        if (++j == S) {
          j = 0;
          ++p;
        }
      }
    });
  });
}

void CpuBackend::scatter(ScatterOp op, const array& base_in, const std::vector<array>& indices,
                         const array& updates_in, array& out, const std::vector<int>& axes) {
  if (!(base_in.flags().row_contiguous && try_donate(base_in, out))) copy(base_in, out);
  if (updates_in.size() == 0 || out.size() == 0) return;
  int nidx = indices.empty() ? 0 : indices[0].ndim();
  Shape upd_slice(updates_in.shape().begin() + nidx, updates_in.shape().end());
  auto base = index_bases(out, indices, axes, upd_slice, out.strides());
  auto uoff = offsets_of(upd_slice, out.strides());
  auto upos = offsets_of(updates_in.shape(), updates_in.strides());
  const int64_t S = int64_t(uoff.size());
  dispatch_dtype(out.dtype(), [&](auto t) {
    using T = decltype(t);
    const T* u = updates_in.data<T>();
    T* d = out.data<T>();
    // Sequential: repeated indices combine in index order (last write wins
    // for None), as numpy and MLX's CPU backend do.
    int64_t k = 0;
    for (size_t p = 0; p < base.size(); ++p)
      for (int64_t j = 0; j < S; ++j, ++k) combine(op, d[base[p] + uoff[size_t(j)]], u[upos[size_t(k)]]);
  });
}

}  // namespace oxmlx::cpu
