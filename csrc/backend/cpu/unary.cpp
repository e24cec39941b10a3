// Unary family: contiguous inputs run one flat (vectorizable) loop over the
// buffer, keeping the input's layout (large float32 ones on the fused
// engine, fused_vec.h); other layouts go through strided rows.
#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/fast_isa.h"
#include "backend/cpu/fused_vec.h"
#include "backend/cpu/scalar_ops.h"
#include "backend/cpu/strided.h"

namespace oxmlx::cpu {

namespace {

constexpr int64_t kGrain = 1 << 15;
constexpr int64_t kEngineMin = 1 << 14;

// The fused engine's op code of a unary op, or -1.
template <UnaryOp op>
constexpr int fused_vec_op() {
  using V = fused_vec::VOp;
  switch (op) {
    case UnaryOp::Negative: return int(V::Neg);
    case UnaryOp::Abs: return int(V::Abs);
    case UnaryOp::Square: return int(V::Square);
    case UnaryOp::Sqrt: return int(V::Sqrt);
    case UnaryOp::Rsqrt: return int(V::Rsqrt);
    case UnaryOp::Reciprocal: return int(V::Recip);
    case UnaryOp::Exp: return int(V::Exp);
    default: return -1;
  }
}

template <UnaryOp op, typename T>
void run_unary(const array& in, array& out) {
  using R = typename UnaryOut<op, T>::type;
  if (sizeof(R) != out.itemsize()) throw RuntimeError(msg("[", op_name(op), "] bad output dtype."));
  if (is_dense(in)) {
    if (!try_donate(in, out)) alloc_like(in, out);
    const T* src = in.data<T>();
    R* dst = out.data<R>();
    if constexpr (std::is_same_v<T, float> && fused_vec_op<op>() >= 0) {
      // Large float32 arrays: the fused engine (SIMD, dynamic chunks,
      // streamed fresh outputs; the same exp as below).
      if (in.data_size() >= kEngineMin) {
        fused_vec::vec_apply(fused_vec::VOp(fused_vec_op<op>()), src, false, nullptr, false, dst,
                             in.data_size(), dst != src);
        return;
      }
    }
    if constexpr (op == UnaryOp::Exp && std::is_same_v<T, float>) {
      // The fused family's SIMD polynomial exp (<= 1 ulp, fast_isa.h).
      auto fn = fast_detail::fast_isa().exp_f32;
      parallel_for(in.data_size(), kGrain, [&](int64_t b, int64_t e) { fn(src + b, dst + b, e - b); });
      return;
    }
    parallel_for(in.data_size(), kGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) dst[i] = unary_scalar<op, T>(src[i]);
    });
    return;
  }
  alloc_row_major(out);
  const T* src = in.data<T>();
  R* dst = out.data<R>();
  auto c = collapse<2>(out.shape(), {&in.strides(), &out.strides()});
  for_each_row<2>(c, [&](const std::array<int64_t, 2>& off, int64_t n,
                         const std::array<int64_t, 2>& st) {
    const T* s = src + off[0];
    R* d = dst + off[1];
    for (int64_t i = 0; i < n; ++i) d[i * st[1]] = unary_scalar<op, T>(s[i * st[0]]);
  });
}

template <UnaryOp op>
void unary_op(const array& in, array& out) {
  dispatch_dtype(in.dtype(), [&](auto t) {
    using T = decltype(t);
    if constexpr (unary_valid<op, T>()) {
      run_unary<op, T>(in, out);
    } else {
      throw ValueError(msg("[", op_name(op), "] Not supported for ", dtype_name(in.dtype()), "."));
    }
  });
}

}  // namespace

void CpuBackend::unary(UnaryOp op, const array& in, array& out) {
  using O = UnaryOp;
  switch (op) {
#define CASE(X) \
  case O::X: return unary_op<O::X>(in, out);
    CASE(Abs) CASE(Negative) CASE(Sign) CASE(Floor) CASE(Ceil) CASE(Round) CASE(Trunc)
    CASE(Sqrt) CASE(Rsqrt) CASE(Square) CASE(Reciprocal) CASE(Exp) CASE(Expm1) CASE(Log)
    CASE(Log1p) CASE(Log2) CASE(Log10) CASE(Sin) CASE(Cos) CASE(Tan) CASE(ArcSin)
    CASE(ArcCos) CASE(ArcTan) CASE(Sinh) CASE(Cosh) CASE(Tanh) CASE(ArcSinh) CASE(ArcCosh)
    CASE(ArcTanh) CASE(Sigmoid) CASE(Erf) CASE(ErfInv) CASE(LogicalNot) CASE(BitwiseInvert)
    CASE(IsNan) CASE(IsInf) CASE(IsFinite) CASE(IsPosInf) CASE(IsNegInf) CASE(Real)
    CASE(Imag) CASE(Conjugate)
#undef CASE
    default: break;
  }
  throw RuntimeError("[unary] unknown op code");
}

}  // namespace oxmlx::cpu
