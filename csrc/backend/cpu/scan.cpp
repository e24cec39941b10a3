// Arg-reduction and scan families: both walk one axis per output line, with
// the lines (all other axes) split across threads.
#include "backend/cpu/convert.h"
#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/strided.h"

namespace oxmlx::cpu {

namespace {

// Calls line(in_offset, out_offset) for every index of the non-axis dims.
template <typename F>
void for_each_line(const array& in, const array& out, int axis, F&& line) {
  Shape shape = in.shape();
  Strides is = in.strides(), os = out.strides();
  shape[axis] = 1;
  is[axis] = 0;
  os[axis] = 0;
  auto c = collapse<2>(shape, {&is, &os});
  int64_t n = in.shape(axis);
  for_each_row<2>(
      c,
      [&](const std::array<int64_t, 2>& off, int64_t m, const std::array<int64_t, 2>& st) {
        for (int64_t i = 0; i < m; ++i) line(off[0] + i * st[0], off[1] + i * st[1]);
      },
      std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(n, 1)));
}

template <typename T>
void run_arg(ArgReduceOp op, const array& in, array& out, int axis) {
  using C = compute_t<T>;
  alloc_row_major(out);
  const T* src = in.data<T>();
  uint32_t* dst = out.data<uint32_t>();
  int64_t n = in.shape(axis), st = in.strides()[axis];
  // out keeps the reduced axis as size 1, so its strides line up with in's.
  for_each_line(in, out, axis, [&](int64_t io, int64_t oo) {
    int64_t best = 0;
    C bv = C(src[io]);
    for (int64_t i = 1; i < n; ++i) {
      C v = C(src[io + i * st]);
      bool take;
      if constexpr (is_float_v<T>) {
        if (std::isnan(bv)) break;  // first NaN wins, like numpy
        take = std::isnan(v) || (op == ArgReduceOp::ArgMax ? v > bv : v < bv);
      } else if constexpr (is_complex_v<T>) {
        take = op == ArgReduceOp::ArgMax ? lex_less(bv, v) : lex_less(v, bv);
      } else {
        take = op == ArgReduceOp::ArgMax ? v > bv : v < bv;
      }
      if (take) {
        best = i;
        bv = v;
      }
    }
    dst[oo] = uint32_t(best);
  });
}

template <ScanOp op, typename A>
A scan_init() {
  if constexpr (op == ScanOp::Sum) {
    return A(0);
  } else if constexpr (op == ScanOp::Prod) {
    return A(1);
  } else if constexpr (op == ScanOp::Max || op == ScanOp::LogAddExp) {
    if constexpr (std::is_floating_point_v<A>) return -std::numeric_limits<A>::infinity();
    else if constexpr (is_complex_v<A>) return A(-INFINITY, 0);  // log(0) for LogAddExp
    else if constexpr (op == ScanOp::Max) return std::numeric_limits<A>::lowest();
    else return A(0);
  } else {
    if constexpr (std::is_floating_point_v<A>) return std::numeric_limits<A>::infinity();
    else if constexpr (is_complex_v<A>) return A(INFINITY, 0);
    else return std::numeric_limits<A>::max();
  }
}

template <ScanOp op, typename A>
inline A scan_step(A acc, A v) {
  // binary_scalar wraps integer overflow instead of signed-overflow UB.
  if constexpr (op == ScanOp::Sum) return binary_scalar<BinaryOp::Add, A>(acc, v);
  else if constexpr (op == ScanOp::Prod) return binary_scalar<BinaryOp::Multiply, A>(acc, v);
  else if constexpr (op == ScanOp::Max) return binary_scalar<BinaryOp::Maximum, A>(acc, v);
  else if constexpr (op == ScanOp::Min) return binary_scalar<BinaryOp::Minimum, A>(acc, v);
  else if constexpr (std::is_floating_point_v<A> || is_complex_v<A>)
    return binary_scalar<BinaryOp::LogAddExp, A>(acc, v);
  else return acc;  // never built: the op builder casts integers to float
}

template <ScanOp op, typename T, typename O>
void run_scan(const array& in, array& out, int axis, bool reverse, bool inclusive) {
  using A = std::conditional_t<is_half_v<O>, float, O>;
  alloc_row_major(out);
  const T* src = in.data<T>();
  O* dst = out.data<O>();
  const int64_t n = in.shape(axis), ist = in.strides()[axis], ost = out.strides()[axis];
  int64_t inner = 1, outer = 1;
  for (int i = axis + 1; i < in.ndim(); ++i) inner *= in.shape(i);
  for (int i = 0; i < axis; ++i) outer *= in.shape(i);
  if (in.flags().row_contiguous && in.data_size() == in.size() && inner > 1 && n > 1) {
    // Scan over a non-last axis of a row-major input: walk whole rows of the
    // trailing dims together (contiguous, vectorizable) with one accumulator
    // per column, instead of one strided line per column. Each element sees
    // the same operations in the same order as the line loop below.
    constexpr int64_t W = 512;
    const int64_t nb = (inner + W - 1) / W;
    const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 15) / (n * std::min(inner, W)));
    parallel_for(outer * nb, grain, [&](int64_t t0, int64_t t1) {
      A acc[W];
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t o = t / nb, j0 = (t % nb) * W, m = std::min(W, inner - j0);
        const T* s0 = src + o * n * inner + j0;
        O* d0 = dst + o * n * inner + j0;
        for (int64_t j = 0; j < m; ++j) acc[j] = scan_init<op, A>();
        for (int64_t k = 0; k < n; ++k) {
          const int64_t i = reverse ? n - 1 - k : k;
          const T* s = s0 + i * inner;
          O* d = d0 + i * inner;
          if (inclusive) {
            for (int64_t j = 0; j < m; ++j) {
              acc[j] = scan_step<op, A>(acc[j], convert<A>(s[j]));
              d[j] = convert<O>(acc[j]);
            }
          } else {
            for (int64_t j = 0; j < m; ++j) {
              d[j] = convert<O>(acc[j]);
              acc[j] = scan_step<op, A>(acc[j], convert<A>(s[j]));
            }
          }
        }
      }
    });
    return;
  }
  for_each_line(in, out, axis, [&](int64_t io, int64_t oo) {
    A acc = scan_init<op, A>();
    if (ist == 1 && ost == 1 && !reverse) {
      const T* s = src + io;
      O* d = dst + oo;
      if (inclusive) {
        for (int64_t i = 0; i < n; ++i) {
          acc = scan_step<op, A>(acc, convert<A>(s[i]));
          d[i] = convert<O>(acc);
        }
      } else {
        for (int64_t i = 0; i < n; ++i) {
          d[i] = convert<O>(acc);
          acc = scan_step<op, A>(acc, convert<A>(s[i]));
        }
      }
      return;
    }
    for (int64_t k = 0; k < n; ++k) {
      int64_t i = reverse ? n - 1 - k : k;
      A v = convert<A>(src[io + i * ist]);
      if (inclusive) {
        acc = scan_step<op, A>(acc, v);
        dst[oo + i * ost] = convert<O>(acc);
      } else {
        dst[oo + i * ost] = convert<O>(acc);
        acc = scan_step<op, A>(acc, v);
      }
    }
  });
}

template <typename T, typename O>
void run_scan_op(ScanOp op, const array& in, array& out, int axis, bool reverse, bool inclusive) {
  switch (op) {
    case ScanOp::Sum: return run_scan<ScanOp::Sum, T, O>(in, out, axis, reverse, inclusive);
    case ScanOp::Prod: return run_scan<ScanOp::Prod, T, O>(in, out, axis, reverse, inclusive);
    case ScanOp::Max: return run_scan<ScanOp::Max, T, O>(in, out, axis, reverse, inclusive);
    case ScanOp::Min: return run_scan<ScanOp::Min, T, O>(in, out, axis, reverse, inclusive);
    case ScanOp::LogAddExp:
      return run_scan<ScanOp::LogAddExp, T, O>(in, out, axis, reverse, inclusive);
  }
}

}  // namespace

void CpuBackend::arg_reduce(ArgReduceOp op, const array& in, array& out, int axis) {
  if (in.shape(axis) == 0) throw ValueError("[argreduce] Cannot reduce an empty axis.");
  dispatch_dtype(in.dtype(), [&](auto t) { run_arg<decltype(t)>(op, in, out, axis); });
}

void CpuBackend::scan(ScanOp op, const array& in, array& out, int axis, bool reverse,
                      bool inclusive) {
  dispatch_dtype(in.dtype(), [&](auto t) {
    using T = decltype(t);
    if (out.dtype() == in.dtype()) {
      run_scan_op<T, T>(op, in, out, axis, reverse, inclusive);
    } else if (out.dtype() == int32) {
      run_scan_op<T, int32_t>(op, in, out, axis, reverse, inclusive);
    } else if (out.dtype() == uint32) {
      run_scan_op<T, uint32_t>(op, in, out, axis, reverse, inclusive);
    } else {
      throw RuntimeError(msg("[scan] unsupported output dtype ", dtype_name(out.dtype())));
    }
  });
}

}  // namespace oxmlx::cpu
