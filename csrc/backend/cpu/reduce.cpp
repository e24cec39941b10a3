// Reduction family: reductions over trailing axes of a row-contiguous input
// are "row" reductions (contiguous runs), over leading axes "column"
// reductions (accumulate whole rows, vectorized across columns); any other
// axis set is first copied into (kept..., reduced...) order.
#include <memory>

#include "backend/cpu/convert.h"
#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/fast_isa.h"
#include "backend/cpu/strided.h"
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

// Rows longer than this are halved recursively (pairwise, as numpy): a float
// sum's error then grows with log(n) instead of n.
constexpr int64_t kPairwiseBlock = 2048;

template <typename T>
constexpr bool is_float_storage_v =
    std::is_same_v<T, float> || std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>;

// Float rows (f32/f16/bf16 accumulated in f32) go to the SIMD row kernels of
// the fused family (fast_isa.h) for sum, max and min.
template <ReduceOp op, typename T, typename A>
constexpr bool simd_row_v = std::is_same_v<A, float> && is_float_storage_v<T> &&
                            (op == ReduceOp::Sum || op == ReduceOp::Max || op == ReduceOp::Min);

// Row reduction of n contiguous elements with several independent
// accumulators so the compiler can vectorize and the sum error stays small.
template <ReduceOp op, typename T, typename A>
A reduce_row(const T* p, int64_t n) {
  using R = ROp<op, A>;
  if (n > kPairwiseBlock) {
    int64_t h = (n / 2) & ~int64_t(15);
    return R::apply(reduce_row<op, T, A>(p, h), reduce_row<op, T, A>(p + h, n - h));
  }
  if constexpr (simd_row_v<op, T, A>) {
    const auto& f = fast_detail::fns_for<T, float>(fast_detail::fast_isa());
    if constexpr (op == ReduceOp::Sum) return f.row_sum(p, n);
    else if constexpr (op == ReduceOp::Max) return f.row_max(p, n);
    else return f.row_min(p, n);
  }
  constexpr int K = 16;
  A acc[K];
  for (int k = 0; k < K; ++k) acc[k] = R::init();
  int64_t i = 0;
  for (; i + K <= n; i += K)
    for (int k = 0; k < K; ++k) acc[k] = R::apply(acc[k], convert<A>(p[i + k]));
  A r = R::init();
  for (int k = 0; k < K; ++k) r = R::apply(r, acc[k]);
  for (; i < n; ++i) r = R::apply(r, convert<A>(p[i]));
  return r;
}

// acc[j] = reduction over rows [r0, r1) of src[i * stride + j], j < m; the
// rows are halved pairwise like reduce_row.
template <ReduceOp op, typename T, typename A>
void reduce_cols(const T* src, int64_t stride, int64_t r0, int64_t r1, int64_t m, A* acc) {
  using R = ROp<op, A>;
  if (r1 - r0 > kPairwiseBlock / 2) {
    int64_t mid = r0 + (r1 - r0) / 2;
    std::unique_ptr<A[]> other(new A[m]);
    reduce_cols<op, T, A>(src, stride, r0, mid, m, acc);
    reduce_cols<op, T, A>(src, stride, mid, r1, m, other.get());
    for (int64_t j = 0; j < m; ++j) acc[j] = R::apply(acc[j], other[j]);
    return;
  }
  for (int64_t j = 0; j < m; ++j) acc[j] = R::init();
  if constexpr (op == ReduceOp::Sum && std::is_same_v<T, float> && std::is_same_v<A, float>) {
    auto add_row = fast_detail::fast_isa().add_row_f32;
    for (int64_t i = r0; i < r1; ++i) add_row(src + i * stride, acc, m);
    return;
  }
  for (int64_t i = r0; i < r1; ++i) {
    const T* row = src + i * stride;
    for (int64_t j = 0; j < m; ++j) acc[j] = R::apply(acc[j], convert<A>(row[j]));
  }
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
  int nd = in.ndim();
  std::vector<bool> red(nd, false);
  for (int ax : axes) red[ax] = true;
  bool trailing = true, leading = true;
  for (int i = nd - int(axes.size()); i < nd; ++i) trailing &= red[i];
  for (int i = 0; i < int(axes.size()); ++i) leading &= red[i];
  bool rowc = in.flags().row_contiguous && in.data_size() == in.size();
  int64_t rsize = 1;
  for (int ax : axes) rsize *= in.shape(ax);

  if (rowc && trailing) {
    const T* src = in.data<T>();
    if (n_out == 1) {
      // One output: split the row across threads, then combine.
      int nt = num_threads();
      std::vector<A> part(std::max(nt, 1), R::init());
      int64_t chunk = (rsize + nt - 1) / nt;
      parallel_for(nt, 1, [&](int64_t b, int64_t e) {
        for (int64_t t = b; t < e; ++t) {
          int64_t s0 = t * chunk, s1 = std::min(rsize, s0 + chunk);
          if (s0 < s1) part[t] = reduce_row<op, T, A>(src + s0, s1 - s0);
        }
      });
      A r = R::init();
      for (size_t t = 0; t < part.size(); ++t) r = R::apply(r, A(part[t]));
      dst[0] = convert<O>(r);
      return;
    }
    parallel_for(n_out, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(rsize, 1)),
                 [&](int64_t b, int64_t e) {
                   for (int64_t i = b; i < e; ++i)
                     dst[i] = convert<O>(reduce_row<op, T, A>(src + i * rsize, rsize));
                 });
    return;
  }
  if (rowc && leading) {
    // out[j] = reduce_i in[i * n_out + j]: stream whole rows, vectorized over j.
    const T* src = in.data<T>();
    parallel_for(n_out, 256, [&](int64_t b, int64_t e) {
      std::unique_ptr<A[]> acc(new A[e - b]);
      reduce_cols<op, T, A>(src + b, n_out, 0, rsize, e - b, acc.get());
      for (int64_t j = b; j < e; ++j) dst[j] = convert<O>(A(acc[j - b]));
    });
    return;
  }
  // General: lay out as (kept..., reduced...) contiguously, then row-reduce.
  std::vector<int> perm;
  for (int i = 0; i < nd; ++i)
    if (!red[i]) perm.push_back(i);
  for (int i = 0; i < nd; ++i)
    if (red[i]) perm.push_back(i);
  Shape pshape;
  Strides pstrides;
  for (int p : perm) {
    pshape.push_back(in.shape(p));
    pstrides.push_back(in.strides()[p]);
  }
  array view(in.data_shared_ptr(), pshape, in.dtype(), pstrides, in.offset());
  array tmp(std::make_shared<ArrayDesc>(pshape, in.dtype()));
  CpuBackend().copy(view, tmp);
  const T* src = tmp.data<T>();
  parallel_for(n_out, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(rsize, 1)),
               [&](int64_t b, int64_t e) {
                 for (int64_t i = b; i < e; ++i)
                   dst[i] = convert<O>(reduce_row<op, T, A>(src + i * rsize, rsize));
               });
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
