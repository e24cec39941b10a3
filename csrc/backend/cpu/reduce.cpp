// Reduction family. A row-contiguous input is first collapsed (size-1 axes
// dropped, adjacent axes that are both reduced or both kept merged), and the
// shapes that remain are served in place:
//   (K, R)        row reductions, K rows of R contiguous elements ((R) is
//                 K = 1): rows split across threads, a long row in segments;
//   (K0, R, K1)   column reductions ((R, K1) is K0 = 1): whole rows streamed
//                 into wide accumulators, threads split K0, the rows
//                 (partials combined in order) or, for few rows, the columns.
// A transposed dense input is reduced in memory order the same way when its
// kept axes keep their order in memory. Any
// other axis pattern, and strided inputs, are copied into (kept...,
// reduced...) order first. Float storage (f32/f16/bf16) accumulates in f32
// through the per-ISA kernels (reduce_kernels.inc, picked like the fused
// family's: OXMLX_FAST_ISA=avx512|avx2|generic); other dtypes go through
// portable loops of the same shape. Float rows longer than kPairwiseBlock and
// columns longer than kColBlock are halved pairwise (error grows with log n).
#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <numeric>
#include <vector>

#include "backend/cpu/convert.h"
#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/fast_isa.h"
#include "backend/cpu/strided.h"
#include "backend/cpu/threadpool.h"
#include "ops/ops.h"

namespace oxmlx::cpu {

namespace {

template <ReduceOp op, typename A>
struct ROp {
  static A init() {
    if constexpr (op == ReduceOp::Sum || op == ReduceOp::Or) return A(0);
    else if constexpr (op == ReduceOp::Prod || op == ReduceOp::And) return A(1);
    else if constexpr (op == ReduceOp::Max) {
      if constexpr (is_complex_v<A>) return A(-INFINITY, 0);
      else if constexpr (std::is_floating_point_v<A>) return -std::numeric_limits<A>::infinity();
      else return std::numeric_limits<A>::lowest();
    } else {
      if constexpr (is_complex_v<A>) return A(INFINITY, 0);
      else if constexpr (std::is_floating_point_v<A>) return std::numeric_limits<A>::infinity();
      else return std::numeric_limits<A>::max();
    }
  }
  static A apply(A a, A b) {
    if constexpr (op == ReduceOp::Sum) {
      if constexpr (std::is_same_v<A, bool>) return a || b;
      else return a + b;
    } else if constexpr (op == ReduceOp::Prod) {
      if constexpr (std::is_same_v<A, bool>) return a && b;
      else return a * b;
    } else if constexpr (op == ReduceOp::And) {
      return a && b;
    } else if constexpr (op == ReduceOp::Or) {
      return a || b;
    } else if constexpr (op == ReduceOp::Max) {
      return binary_scalar<BinaryOp::Maximum, A>(a, b);
    } else {
      return binary_scalar<BinaryOp::Minimum, A>(a, b);
    }
  }
};

constexpr int64_t kPairwiseBlock = 2048;
constexpr int64_t kColBlock = 1024;
// Below this many input elements a reduction runs on the calling thread.
constexpr int64_t kParallelMin = 1 << 15;

template <typename T>
constexpr bool is_float_storage_v =
    std::is_same_v<T, float> || std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>;

// The two kernels every path is built from (see fast_isa.h RowFns):
// rows(x, ld, rows, n, out): out[r] = reduction of x[r * ld + k], k < n;
// cols(x, ld, rows, n, acc): acc[j] = op(acc[j], reduction over i < rows of x[i * ld + j]).
template <typename T, typename A>
struct Kernels {
  void (*rows)(const T*, int64_t, int64_t, int64_t, A*);
  void (*cols)(const T*, int64_t, int64_t, int64_t, A*);
};

// Portable row kernel: 16 independent accumulators the compiler vectorizes.
template <ReduceOp op, typename T, typename A>
void rows_portable(const T* x, int64_t ld, int64_t rows, int64_t n, A* out) {
  using R = ROp<op, A>;
  constexpr int K = 16;
  for (int64_t r = 0; r < rows; ++r) {
    const T* p = x + r * ld;
    int64_t i = 0;
    A res = R::init();
    if (n >= K) {
      A acc[K];
      for (int k = 0; k < K; ++k) acc[k] = R::init();
      for (; i + K <= n; i += K)
        for (int k = 0; k < K; ++k) acc[k] = R::apply(acc[k], convert<A>(p[i + k]));
      for (int k = 0; k < K; ++k) res = R::apply(res, acc[k]);
    }
    for (; i < n; ++i) res = R::apply(res, convert<A>(p[i]));
    out[r] = res;
  }
}

// Portable column kernel: four rows combined before each accumulator update,
// very wide rows cut into column tiles (as reduce_kernels.inc).
template <ReduceOp op, typename T, typename A>
void cols_portable(const T* x, int64_t ld, int64_t rows, int64_t n, A* acc) {
  using R = ROp<op, A>;
  constexpr int64_t kTile = 4096;
  for (int64_t j0 = 0; j0 < n; j0 += kTile) {
    const int64_t j1 = std::min(n, j0 + kTile);
    int64_t i = 0;
    for (; i + 4 <= rows; i += 4) {
      const T *x0 = x + i * ld, *x1 = x0 + ld, *x2 = x1 + ld, *x3 = x2 + ld;
      for (int64_t j = j0; j < j1; ++j)
        acc[j] = R::apply(acc[j], R::apply(R::apply(convert<A>(x0[j]), convert<A>(x1[j])),
                                           R::apply(convert<A>(x2[j]), convert<A>(x3[j]))));
    }
    for (; i < rows; ++i)
      for (int64_t j = j0; j < j1; ++j) acc[j] = R::apply(acc[j], convert<A>(x[i * ld + j]));
  }
}

template <ReduceOp op, typename T, typename A>
Kernels<T, A> kernels_for() {
  if constexpr (std::is_same_v<A, float> && is_float_storage_v<T> && op != ReduceOp::And &&
                op != ReduceOp::Or) {
    constexpr int k = op == ReduceOp::Sum ? 0 : op == ReduceOp::Prod ? 1 : op == ReduceOp::Max ? 2 : 3;
    const auto& f = fast_detail::fns_for<T, float>(fast_detail::fast_isa());
    return {f.reduce_rows[k], f.reduce_cols[k]};
  } else {
    return {&rows_portable<op, T, A>, &cols_portable<op, T, A>};
  }
}

template <ReduceOp op, typename T, typename A>
struct Reducer {
  using R = ROp<op, A>;
  Kernels<T, A> k = kernels_for<op, T, A>();

  // One row of any length, halved pairwise above kPairwiseBlock.
  A row(const T* p, int64_t n) const {
    if (n > kPairwiseBlock) {
      int64_t h = (n / 2) & ~int64_t(15);
      return R::apply(row(p, h), row(p + h, n - h));
    }
    A r;
    if (n < 8) rows_portable<op, T, A>(p, n, 1, n, &r);
    else k.rows(p, n, 1, n, &r);
    return r;
  }

  // acc[j] = reduction over i < rows of x[i * ld + j], j < m; rows halved
  // pairwise above kColBlock.
  void cols(const T* x, int64_t ld, int64_t rows, int64_t m, A* acc) const {
    if (rows > kColBlock) {
      int64_t h = rows / 2;
      std::unique_ptr<A[]> other(new A[m]);
      cols(x, ld, h, m, acc);
      cols(x + h * ld, ld, rows - h, m, other.get());
      for (int64_t j = 0; j < m; ++j) acc[j] = R::apply(acc[j], other[j]);
      return;
    }
    for (int64_t j = 0; j < m; ++j) acc[j] = R::init();
    k.cols(x, ld, rows, m, acc);
  }

  // Column reduction of a contiguous (rows, m) block. Few columns (m < 64)
  // are read as super-rows of L = lcm(m, 16) elements (G = L / m rows each)
  // so the vectors are full, then the G partial results are folded.
  void block(const T* x, int64_t rows, int64_t m, A* acc) const {
    int64_t L = std::lcm(m, int64_t(16)), G = L / m;
    if (m >= 64 || rows < 8 * G) return cols(x, m, rows, m, acc);
    int64_t r2 = rows / G;
    std::unique_ptr<A[]> wide(new A[L]);
    cols(x, L, r2, L, wide.get());
    for (int64_t j = 0; j < m; ++j) acc[j] = wide[j];
    for (int64_t g = 1; g < G; ++g)
      for (int64_t j = 0; j < m; ++j) acc[j] = R::apply(acc[j], wide[g * m + j]);
    if (r2 * G < rows) k.cols(x + r2 * G * m, m, rows - r2 * G, m, acc);
  }
};

// Runs fn(c) for every chunk c < n on the pool, each thread claiming the
// next chunk as it finishes one: on a shared machine a descheduled thread
// then delays one chunk, not a fixed half of the work. Which thread runs a
// chunk never changes the result (every chunk writes its own outputs).
void parallel_chunks(int64_t n, const std::function<void(int64_t)>& fn) {
  const int nt = num_threads();
  if (n <= 1 || nt == 1 || in_parallel_region()) {
    for (int64_t c = 0; c < n; ++c) fn(c);
    return;
  }
  std::atomic<int64_t> next{0};
  parallel_for(std::min<int64_t>(nt, n), 1, [&](int64_t, int64_t) {
    for (int64_t c; (c = next.fetch_add(1, std::memory_order_relaxed)) < n;) fn(c);
  });
}

// Chunks per thread when work is split (see parallel_chunks).
constexpr int kChunksPerThread = 4;

// (K, R): out[i] = reduction of src[i * R .. (i + 1) * R).
template <ReduceOp op, typename T, typename A, typename O>
void reduce_rows(const Reducer<op, T, A>& red, const T* src, int64_t K, int64_t R, O* dst) {
  using Rop = ROp<op, A>;
  const int nt = num_threads();
  const int64_t total = K * R;
  auto rows = [&](int64_t b, int64_t e) {
    if (R > kPairwiseBlock || R < 8) {
      for (int64_t i = b; i < e; ++i) dst[i] = convert<O>(red.row(src + i * R, R));
      return;
    }
    constexpr int64_t kChunk = 256;
    A tmp[kChunk];
    for (int64_t i0 = b; i0 < e; i0 += kChunk) {
      int64_t n = std::min(kChunk, e - i0);
      red.k.rows(src + i0 * R, R, n, R, tmp);
      for (int64_t i = 0; i < n; ++i) dst[i0 + i] = convert<O>(tmp[i]);
    }
  };
  if (total < kParallelMin || nt == 1) return rows(0, K);
  const int64_t want = int64_t(kChunksPerThread) * nt;
  if (R > kPairwiseBlock && K < want) {
    // Few long rows: P segments per row, combined in order.
    const int64_t P = std::min((want + K - 1) / K, (R + kPairwiseBlock - 1) / kPairwiseBlock);
    const int64_t seg = ((R + P - 1) / P + 15) & ~int64_t(15);
    std::unique_ptr<A[]> part(new A[K * P]);  // not vector: vector<bool> packs bits
    parallel_chunks(K * P, [&](int64_t t) {
      int64_t i = t / P, s0 = (t % P) * seg, s1 = std::min(R, s0 + seg);
      part[t] = s0 < s1 ? red.row(src + i * R + s0, s1 - s0) : Rop::init();
    });
    for (int64_t i = 0; i < K; ++i) {
      A r = part[i * P];
      for (int64_t p = 1; p < P; ++p) r = Rop::apply(r, part[i * P + p]);
      dst[i] = convert<O>(r);
    }
    return;
  }
  const int64_t per = std::max((K + want - 1) / want, (kParallelMin + R - 1) / R);
  parallel_chunks((K + per - 1) / per, [&](int64_t c) { rows(c * per, std::min(K, (c + 1) * per)); });
}

// (K0, R, K1): out[a * K1 + j] = reduction over i of src[(a * R + i) * K1 + j].
template <ReduceOp op, typename T, typename A, typename O>
void reduce_cols(const Reducer<op, T, A>& red, const T* src, int64_t K0, int64_t R, int64_t K1,
                 O* dst) {
  using Rop = ROp<op, A>;
  const int nt = num_threads();
  const int64_t total = K0 * R * K1;
  const int64_t want = int64_t(kChunksPerThread) * nt;
  constexpr int64_t kColChunk = 64;
  auto slabs = [&](int64_t b, int64_t e) {
    std::unique_ptr<A[]> acc(new A[K1]);
    for (int64_t a = b; a < e; ++a) {
      red.block(src + a * R * K1, R, K1, acc.get());
      for (int64_t j = 0; j < K1; ++j) dst[a * K1 + j] = convert<O>(A(acc[j]));
    }
  };
  if (total < kParallelMin || nt == 1) return slabs(0, K0);
  if (K0 >= want || (R < 16 * nt && K1 < kColChunk * nt)) {
    const int64_t per = std::max((K0 + want - 1) / want, kParallelMin / (R * K1) + 1);
    parallel_chunks((K0 + per - 1) / per, [&](int64_t c) { slabs(c * per, std::min(K0, (c + 1) * per)); });
    return;
  }
  if (R < 16 * nt) {
    // Few rows: chunks of columns (multiples of 64).
    const int64_t blocks = (K1 + kColChunk - 1) / kColChunk;
    const int64_t per = (blocks + want - 1) / want;
    parallel_chunks((blocks + per - 1) / per, [&](int64_t c) {
      int64_t j0 = c * per * kColChunk, j1 = std::min(K1, (c + 1) * per * kColChunk);
      std::unique_ptr<A[]> acc(new A[j1 - j0]);
      for (int64_t a = 0; a < K0; ++a) {
        red.cols(src + a * R * K1 + j0, K1, R, j1 - j0, acc.get());
        for (int64_t j = j0; j < j1; ++j) dst[a * K1 + j] = convert<O>(A(acc[j - j0]));
      }
    });
    return;
  }
  // Row segments (each streams whole rows), S per slab, partials combined in order.
  const int64_t S = std::max<int64_t>(1, std::min((want + K0 - 1) / K0, R / 16));
  const int64_t seg = (R + S - 1) / S;
  std::unique_ptr<A[]> part(new A[size_t(K0 * S * K1)]);
  parallel_chunks(K0 * S, [&](int64_t t) {
    int64_t a = t / S, r0 = (t % S) * seg, r1 = std::min(R, r0 + seg);
    A* acc = part.get() + t * K1;
    if (r0 < r1) red.block(src + (a * R + r0) * K1, r1 - r0, K1, acc);
    else for (int64_t j = 0; j < K1; ++j) acc[j] = Rop::init();
  });
  for (int64_t a = 0; a < K0; ++a)
    for (int64_t j = 0; j < K1; ++j) {
      A r = part[(a * S) * K1 + j];
      for (int64_t p = 1; p < S; ++p) r = Rop::apply(r, part[(a * S + p) * K1 + j]);
      dst[a * K1 + j] = convert<O>(r);
    }
}

// The axes of a dense input (every element once, positive strides, no gaps:
// row-contiguous, or a transpose of it) from the largest stride to the
// smallest, when the kept axes keep their order there (the output is laid
// out in that order); empty otherwise. Reducing in memory order reads the
// input sequentially without a copy.
std::vector<int> memory_order(const array& in, const std::vector<bool>& red_ax) {
  const int nd = in.ndim();
  std::vector<int> order;
  for (int i = 0; i < nd; ++i)
    if (in.shape(i) != 1) order.push_back(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return in.strides()[a] > in.strides()[b]; });
  int64_t expect = 1;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    if (in.strides()[*it] != expect) return {};
    expect *= in.shape(*it);
  }
  int last_kept = -1;
  for (int i : order)
    if (!red_ax[i]) {
      if (i < last_kept) return {};
      last_kept = i;
    }
  if (order.empty() && nd > 0) order.push_back(0);  // a single element
  return order;
}

template <ReduceOp op, typename T, typename O>
void run_reduce(const array& in, array& out, const std::vector<int>& axes) {
  // Accumulate in float for 16-bit floats, otherwise in the output type.
  using A = std::conditional_t<is_half_v<O>, float, O>;
  using R = ROp<op, A>;
  alloc_row_major(out);
  O* dst = out.data<O>();
  int64_t n_out = out.size();
  if (in.size() == 0) {
    for (int64_t i = 0; i < n_out; ++i) dst[i] = convert<O>(R::init());
    return;
  }
  const Reducer<op, T, A> red;
  int nd = in.ndim();
  std::vector<bool> red_ax(nd, false);
  for (int ax : axes) red_ax[ax] = true;
  std::vector<int> order = memory_order(in, red_ax);
  if (!order.empty() || nd == 0) {
    // Collapse: drop size-1 axes, merge runs of reduced / kept axes.
    std::vector<int64_t> dims;
    std::vector<bool> kind;
    for (int i : order) {
      if (in.shape(i) == 1) continue;
      if (!kind.empty() && kind.back() == red_ax[i]) dims.back() *= in.shape(i);
      else dims.push_back(in.shape(i)), kind.push_back(red_ax[i]);
    }
    const T* src = in.data<T>();
    const size_t m = dims.size();
    if (m == 0) return reduce_rows<op, T, A, O>(red, src, 1, 1, dst);
    if (m == 1) {
      if (kind[0]) return reduce_rows<op, T, A, O>(red, src, 1, dims[0], dst);
      return reduce_rows<op, T, A, O>(red, src, dims[0], 1, dst);
    }
    if (m == 2 && !kind[0]) return reduce_rows<op, T, A, O>(red, src, dims[0], dims[1], dst);
    if (m == 2) return reduce_cols<op, T, A, O>(red, src, 1, dims[0], dims[1], dst);
    if (m == 3 && !kind[0]) return reduce_cols<op, T, A, O>(red, src, dims[0], dims[1], dims[2], dst);
  }
  // General: lay out as (kept..., reduced...) contiguously, then row-reduce.
  std::vector<int> perm;
  int64_t rsize = 1;
  for (int i = 0; i < nd; ++i)
    if (!red_ax[i]) perm.push_back(i);
  for (int i = 0; i < nd; ++i)
    if (red_ax[i]) perm.push_back(i), rsize *= in.shape(i);
  Shape pshape;
  Strides pstrides;
  for (int p : perm) {
    pshape.push_back(in.shape(p));
    pstrides.push_back(in.strides()[p]);
  }
  array view(in.data_shared_ptr(), pshape, in.dtype(), pstrides, in.offset());
  array tmp(std::make_shared<ArrayDesc>(pshape, in.dtype()));
  CpuBackend().copy(view, tmp);
  reduce_rows<op, T, A, O>(red, tmp.data<T>(), n_out, rsize, dst);
}

// The (input, output) pairs the op builders produce: And/Or give bool; Sum and
// Prod widen bool/int8/int16 to int32 and uint8/uint16 to uint32; otherwise
// the dtype is kept.
template <ReduceOp op, typename T, typename O>
constexpr bool reduce_allowed() {
  if constexpr (op == ReduceOp::And || op == ReduceOp::Or) return std::is_same_v<O, bool>;
  else if constexpr (op == ReduceOp::Sum || op == ReduceOp::Prod)
    return std::is_same_v<T, O> ||
           (std::is_same_v<O, int32_t> &&
            (std::is_same_v<T, bool> || std::is_same_v<T, int8_t> || std::is_same_v<T, int16_t>)) ||
           (std::is_same_v<O, uint32_t> &&
            (std::is_same_v<T, uint8_t> || std::is_same_v<T, uint16_t>));
  else return std::is_same_v<T, O>;
}

template <ReduceOp op>
void reduce_op(const array& in, array& out, const std::vector<int>& axes) {
  dispatch_dtype(in.dtype(), [&](auto t) {
    dispatch_dtype(out.dtype(), [&](auto o) {
      using T = decltype(t);
      using O = decltype(o);
      if constexpr (reduce_allowed<op, T, O>()) {
        run_reduce<op, T, O>(in, out, axes);
      } else {
        throw RuntimeError(msg("[reduce] unsupported output dtype ", dtype_name(out.dtype())));
      }
    });
  });
}

}  // namespace

void CpuBackend::reduce(ReduceOp op, const array& in, array& out, const std::vector<int>& axes) {
  switch (op) {
    case ReduceOp::Sum: return reduce_op<ReduceOp::Sum>(in, out, axes);
    case ReduceOp::Prod: return reduce_op<ReduceOp::Prod>(in, out, axes);
    case ReduceOp::Max: return reduce_op<ReduceOp::Max>(in, out, axes);
    case ReduceOp::Min: return reduce_op<ReduceOp::Min>(in, out, axes);
    case ReduceOp::And: return reduce_op<ReduceOp::And>(in, out, axes);
    case ReduceOp::Or: return reduce_op<ReduceOp::Or>(in, out, axes);
  }
}

}  // namespace oxmlx::cpu
