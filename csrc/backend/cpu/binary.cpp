// Binary family: vector-vector, scalar-vector and vector-scalar flat loops for
// dense operands that share a layout (large float32 ones on the fused
// engine, fused_vec.h); strided rows for everything else.
#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/fused_vec.h"
#include "backend/cpu/scalar_ops.h"
#include "backend/cpu/strided.h"

#include <algorithm>

namespace oxmlx::cpu {

namespace {

constexpr int64_t kGrain = 1 << 15;

bool is_scalar_like(const array& a) {
  for (int i = 0; i < a.ndim(); ++i)
    if (a.shape(i) != 1 && a.strides()[i] != 0) return false;
  return true;
}

constexpr int64_t kEngineMin = 1 << 14;

// The fused engine's op code of a binary op, or -1.
template <BinaryOp op>
constexpr int fused_vec_op() {
  using V = fused_vec::VOp;
  switch (op) {
    case BinaryOp::Add: return int(V::Add);
    case BinaryOp::Subtract: return int(V::Sub);
    case BinaryOp::Multiply: return int(V::Mul);
    case BinaryOp::Divide: return int(V::Div);
    case BinaryOp::Maximum: return int(V::Max);
    case BinaryOp::Minimum: return int(V::Min);
    default: return -1;
  }
}

template <BinaryOp op, typename T>
void run_binary(const array& a, const array& b, array& out) {
  using R = binary_out_t<op, T>;
  if (sizeof(R) != out.itemsize()) throw RuntimeError(msg("[", op_name(op), "] bad output dtype."));
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  bool sa = is_scalar_like(a), sb = is_scalar_like(b);
  bool da = is_dense(a), db = is_dense(b);
  auto flat = [&](const array& like, auto&& body) {
    const bool fresh = !try_donate(a, out) && !try_donate(b, out);
    if (fresh) alloc_like(like, out);
    R* dst = out.data<R>();
    if constexpr (std::is_same_v<T, float> && fused_vec_op<op>() >= 0) {
      // Large float32 operands: the fused engine (SIMD, dynamic chunks,
      // streamed fresh outputs), bit-identical to binary_scalar.
      if (like.data_size() >= kEngineMin) {
        fused_vec::vec_apply(fused_vec::VOp(fused_vec_op<op>()), pa, sa, pb, sb, dst, like.data_size(), fresh);
        return;
      }
    }
    parallel_for(like.data_size(), kGrain, [&](int64_t s, int64_t e) { body(dst, s, e); });
  };
  if (sa && sb) {
    alloc_row_major(out);
    T x = *pa, y = *pb;
    R v = binary_scalar<op, T>(x, y);
    R* dst = out.data<R>();
    parallel_for(out.size(), 1 << 17, [&](int64_t s, int64_t e) { std::fill(dst + s, dst + e, v); });
    return;
  }
  if (da && db && a.strides() == b.strides()) {
    flat(a, [&](R* dst, int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) dst[i] = binary_scalar<op, T>(pa[i], pb[i]);
    });
    return;
  }
  if (sa && db) {
    T x = *pa;
    flat(b, [&](R* dst, int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) dst[i] = binary_scalar<op, T>(x, pb[i]);
    });
    return;
  }
  if (da && sb) {
    T y = *pb;
    flat(a, [&](R* dst, int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) dst[i] = binary_scalar<op, T>(pa[i], y);
    });
    return;
  }
  alloc_row_major(out);
  R* dst = out.data<R>();
  auto c = collapse<3>(out.shape(), {&a.strides(), &b.strides(), &out.strides()});
  if (transposed_operand<3>(c) >= 0) {
    // An operand read across its rows (a + b.T): 32x32 tiles keep the
    // strided side's cache lines alive until all their elements are used.
    for_each_tile<3>(c, [&](const std::array<int64_t, 3>& off, int64_t nr, int64_t nc,
                            const std::array<int64_t, 3>& sr, const std::array<int64_t, 3>& sc) {
      for (int64_t i = 0; i < nr; ++i) {
        const T* x = pa + off[0] + i * sr[0];
        const T* y = pb + off[1] + i * sr[1];
        R* d = dst + off[2] + i * sr[2];
        for (int64_t j = 0; j < nc; ++j) d[j * sc[2]] = binary_scalar<op, T>(x[j * sc[0]], y[j * sc[1]]);
      }
    });
    return;
  }
  for_each_row<3>(c, [&](const std::array<int64_t, 3>& off, int64_t n,
                         const std::array<int64_t, 3>& st) {
    const T* x = pa + off[0];
    const T* y = pb + off[1];
    R* d = dst + off[2];
    if (st[0] == 1 && st[1] == 1 && st[2] == 1) {
      for (int64_t i = 0; i < n; ++i) d[i] = binary_scalar<op, T>(x[i], y[i]);
    } else if (st[0] == 0 && st[1] == 1 && st[2] == 1) {
      for (int64_t i = 0; i < n; ++i) d[i] = binary_scalar<op, T>(*x, y[i]);
    } else if (st[0] == 1 && st[1] == 0 && st[2] == 1) {
      for (int64_t i = 0; i < n; ++i) d[i] = binary_scalar<op, T>(x[i], *y);
    } else {
      for (int64_t i = 0; i < n; ++i)
        d[i * st[2]] = binary_scalar<op, T>(x[i * st[0]], y[i * st[1]]);
    }
  });
}

template <BinaryOp op>
void binary_op(const array& a, const array& b, array& out) {
  dispatch_dtype(a.dtype(), [&](auto t) {
    using T = decltype(t);
    if constexpr (binary_valid<op, T>()) {
      run_binary<op, T>(a, b, out);
    } else {
      throw ValueError(msg("[", op_name(op), "] Not supported for ", dtype_name(a.dtype()), "."));
    }
  });
}

template <typename T>
void run_select(const array& c, const array& a, const array& b, array& out) {
  alloc_row_major(out);
  T* dst = out.data<T>();
  const bool* pc = c.data<bool>();
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  auto col = collapse<4>(out.shape(), {&c.strides(), &a.strides(), &b.strides(), &out.strides()});
  for_each_row<4>(col, [&](const std::array<int64_t, 4>& off, int64_t n,
                           const std::array<int64_t, 4>& st) {
    for (int64_t i = 0; i < n; ++i)
      dst[off[3] + i * st[3]] =
          pc[off[0] + i * st[0]] ? pa[off[1] + i * st[1]] : pb[off[2] + i * st[2]];
  });
}

}  // namespace

void CpuBackend::binary(BinaryOp op, const array& a, const array& b, array& out) {
  using O = BinaryOp;
  switch (op) {
#define CASE(X) \
  case O::X: return binary_op<O::X>(a, b, out);
    CASE(Add) CASE(Subtract) CASE(Multiply) CASE(Divide) CASE(Power) CASE(Remainder)
    CASE(FloorDivide) CASE(Maximum) CASE(Minimum) CASE(Equal) CASE(NotEqual) CASE(Less)
    CASE(LessEqual) CASE(Greater) CASE(GreaterEqual) CASE(NanEqual) CASE(LogicalAnd)
    CASE(LogicalOr) CASE(BitwiseAnd) CASE(BitwiseOr) CASE(BitwiseXor) CASE(LeftShift)
    CASE(RightShift) CASE(ArcTan2) CASE(LogAddExp)
#undef CASE
    default: break;
  }
  throw RuntimeError("[binary] unknown op code");
}

void CpuBackend::ternary(TernaryOp, const array& c, const array& a, const array& b, array& out) {
  dispatch_dtype(out.dtype(), [&](auto t) { run_select<decltype(t)>(c, a, b, out); });
}

}  // namespace oxmlx::cpu
