// Fused family: a register program of elementwise instructions run over the
// output in tiles of kTile elements. Each thread takes a range of tiles and
// keeps one tile-sized scratch buffer per register, so every intermediate
// stays in cache and memory is read and written once. Dense inputs are read
// in place, size-1 inputs are splatted once, any other layout (broadcast,
// strided views) is gathered tile by tile. Each instruction is one
// vectorizable loop over the tile (AVX2/AVX-512 builds of the hot float loops
// are picked at run time).
#include <algorithm>
#include <cstring>
#include <memory>

#if defined(__x86_64__)
#include <emmintrin.h>
#endif

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/scalar_ops.h"
#include "backend/cpu/threadpool.h"

namespace oxmlx::cpu {

void* fused_avx2_unary(UnaryOp op, bool f64);
void* fused_avx2_binary(BinaryOp op, bool f64);
void* fused_avx512_unary(UnaryOp op, bool f64);
void* fused_avx512_binary(BinaryOp op, bool f64);

namespace {

#include "backend/cpu/fused_simd.h"

constexpr int64_t kTile = 1024;

using Fn1 = void (*)(const void*, void*, int64_t);
using Fn2 = void (*)(const void*, const void*, void*, int64_t);
using Fn3 = void (*)(const void*, const void*, const void*, void*, int64_t);

template <UnaryOp op, typename T>
void unary_tile(const void* in, void* out, int64_t n) {
  using R = typename UnaryOut<op, T>::type;
  const T* __restrict x = static_cast<const T*>(in);
  R* __restrict y = static_cast<R*>(out);
  for (int64_t i = 0; i < n; ++i) y[i] = unary_scalar<op, T>(x[i]);
}

template <BinaryOp op, typename T>
void binary_tile(const void* pa, const void* pb, void* out, int64_t n) {
  using R = binary_out_t<op, T>;
  const T* __restrict a = static_cast<const T*>(pa);
  const T* __restrict b = static_cast<const T*>(pb);
  R* __restrict y = static_cast<R*>(out);
  for (int64_t i = 0; i < n; ++i) y[i] = binary_scalar<op, T>(a[i], b[i]);
}

template <typename T>
void select_tile(const void* pc, const void* pa, const void* pb, void* out, int64_t n) {
  const bool* __restrict c = static_cast<const bool*>(pc);
  const T* __restrict a = static_cast<const T*>(pa);
  const T* __restrict b = static_cast<const T*>(pb);
  T* __restrict y = static_cast<T*>(out);
  for (int64_t i = 0; i < n; ++i) y[i] = c[i] ? a[i] : b[i];
}

template <typename S, typename D>
void cast_tile(const void* in, void* out, int64_t n) {
  const S* __restrict x = static_cast<const S*>(in);
  D* __restrict y = static_cast<D*>(out);
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_same_v<D, bool>) {
      y[i] = compute_t<S>(x[i]) != compute_t<S>(0);
    } else if constexpr (is_half_v<D> || is_half_v<S>) {
      y[i] = D(float(x[i]));
    } else {
      y[i] = static_cast<D>(x[i]);
    }
  }
}

bool is_x86_avx512() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  static const bool v = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
  return v;
#else
  return false;
#endif
}

bool is_x86_avx2() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  static const bool v = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return v;
#else
  return false;
#endif
}

[[noreturn]] void bad(const char* what, Dtype d) {
  throw ValueError(msg("[fused] ", what, " is not supported for ", dtype_name(d), "."));
}

Fn1 unary_fn(UnaryOp op, Dtype d) {
  if (d == float32 || d == float64) {
    bool f64 = d == float64;
    void* p = is_x86_avx512() ? fused_avx512_unary(op, f64)
              : is_x86_avx2() ? fused_avx2_unary(op, f64)
                              : reinterpret_cast<void*>(simd_unary(op, f64));
    if (p) return reinterpret_cast<Fn1>(p);
  }
  Fn1 fn = nullptr;
  auto pick = [&](auto opc) {
    constexpr UnaryOp O = decltype(opc)::value;
    dispatch_dtype(d, [&](auto t) {
      using T = decltype(t);
      if constexpr (unary_valid<O, T>() && !is_complex_v<T>) fn = &unary_tile<O, T>;
    });
  };
  using O = UnaryOp;
  switch (op) {
#define CASE(X) \
  case O::X: pick(std::integral_constant<O, O::X>{}); break;
    CASE(Abs) CASE(Negative) CASE(Sign) CASE(Floor) CASE(Ceil) CASE(Round) CASE(Trunc)
    CASE(Sqrt) CASE(Rsqrt) CASE(Square) CASE(Reciprocal) CASE(Exp) CASE(Expm1) CASE(Log)
    CASE(Log1p) CASE(Log2) CASE(Log10) CASE(Sin) CASE(Cos) CASE(Tan) CASE(ArcSin)
    CASE(ArcCos) CASE(ArcTan) CASE(Sinh) CASE(Cosh) CASE(Tanh) CASE(ArcSinh) CASE(ArcCosh)
    CASE(ArcTanh) CASE(Sigmoid) CASE(Erf) CASE(ErfInv) CASE(LogicalNot) CASE(BitwiseInvert)
    CASE(IsNan) CASE(IsInf) CASE(IsFinite) CASE(IsPosInf) CASE(IsNegInf)
#undef CASE
    default: break;
  }
  if (!fn) bad(op_name(op), d);
  return fn;
}

Fn2 binary_fn(BinaryOp op, Dtype d) {
  if (d == float32 || d == float64) {
    bool f64 = d == float64;
    void* p = is_x86_avx512() ? fused_avx512_binary(op, f64)
              : is_x86_avx2() ? fused_avx2_binary(op, f64)
                              : reinterpret_cast<void*>(simd_binary(op, f64));
    if (p) return reinterpret_cast<Fn2>(p);
  }
  Fn2 fn = nullptr;
  auto pick = [&](auto opc) {
    constexpr BinaryOp O = decltype(opc)::value;
    dispatch_dtype(d, [&](auto t) {
      using T = decltype(t);
      if constexpr (binary_valid<O, T>() && !is_complex_v<T>) fn = &binary_tile<O, T>;
    });
  };
  using O = BinaryOp;
  switch (op) {
#define CASE(X) \
  case O::X: pick(std::integral_constant<O, O::X>{}); break;
    CASE(Add) CASE(Subtract) CASE(Multiply) CASE(Divide) CASE(Power) CASE(Remainder)
    CASE(FloorDivide) CASE(Maximum) CASE(Minimum) CASE(Equal) CASE(NotEqual) CASE(Less)
    CASE(LessEqual) CASE(Greater) CASE(GreaterEqual) CASE(NanEqual) CASE(LogicalAnd)
    CASE(LogicalOr) CASE(BitwiseAnd) CASE(BitwiseOr) CASE(BitwiseXor) CASE(LeftShift)
    CASE(RightShift) CASE(ArcTan2) CASE(LogAddExp)
#undef CASE
    default: break;
  }
  if (!fn) bad(op_name(op), d);
  return fn;
}

Fn3 select_fn(Dtype d) {
  Fn3 fn = nullptr;
  dispatch_dtype(d, [&](auto t) {
    using T = decltype(t);
    if constexpr (!is_complex_v<T>) fn = &select_tile<T>;
  });
  if (!fn) bad("select", d);
  return fn;
}

Fn1 cast_fn(Dtype from, Dtype to) {
  Fn1 fn = nullptr;
  dispatch_dtype(from, [&](auto s) {
    using S = decltype(s);
    dispatch_dtype(to, [&](auto t) {
      using D = decltype(t);
      if constexpr (!is_complex_v<S> && !is_complex_v<D>) fn = &cast_tile<S, D>;
    });
  });
  if (!fn) bad("astype", from);
  return fn;
}

// Element strides of `in` read as broadcast to `shape` (0 on broadcast dims).
Strides broadcast_strides(const array& in, const Shape& shape) {
  Strides st(shape.size(), 0);
  int diff = int(shape.size()) - in.ndim();
  for (int i = 0; i < in.ndim(); ++i)
    st[i + diff] = in.shape(i) == 1 ? 0 : in.strides()[i];
  return st;
}

// Copies elements [i0, i0 + n) (row-major over shape) of a strided input.
void gather_tile(const char* base, size_t isz, const Shape& shape, const Strides& st, int64_t i0,
                 int64_t n, char* dst) {
  const int nd = int(shape.size());
  std::vector<int64_t> idx(nd, 0);
  int64_t off = 0, rem = i0;
  for (int d = nd - 1; d >= 0; --d) {
    idx[d] = rem % shape[d];
    rem /= shape[d];
    off += idx[d] * st[d];
  }
  auto run = [&](auto tag) {
    using U = decltype(tag);
    const U* src = reinterpret_cast<const U*>(base);
    U* out = reinterpret_cast<U*>(dst);
    const int64_t last = shape[nd - 1], lst = st[nd - 1];
    int64_t k = 0;
    while (k < n) {
      int64_t m = std::min<int64_t>(n - k, last - idx[nd - 1]);
      for (int64_t j = 0; j < m; ++j) out[k + j] = src[off + j * lst];
      k += m;
      off += m * lst;
      idx[nd - 1] += m;
      for (int d = nd - 1; d > 0 && idx[d] == shape[d]; --d) {
        off -= idx[d] * st[d];
        idx[d] = 0;
        ++idx[d - 1];
        off += st[d - 1];
      }
    }
  };
  switch (isz) {
    case 1: run(uint8_t{}); break;
    case 2: run(uint16_t{}); break;
    case 4: run(uint32_t{}); break;
    default: run(uint64_t{}); break;
  }
}

// Copies a finished tile to the output; large outputs use non-temporal
// stores (no read of the destination lines, no eviction of the inputs).
void store_tile(char* dst, const char* src, size_t bytes, bool stream) {
#if defined(__x86_64__)
  if (stream && (reinterpret_cast<uintptr_t>(dst) & 15) == 0) {
    size_t k = 0;
    for (; k + 64 <= bytes; k += 64) {
      __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + k));
      __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + k + 16));
      __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + k + 32));
      __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + k + 48));
      _mm_stream_si128(reinterpret_cast<__m128i*>(dst + k), a);
      _mm_stream_si128(reinterpret_cast<__m128i*>(dst + k + 16), b);
      _mm_stream_si128(reinterpret_cast<__m128i*>(dst + k + 32), c);
      _mm_stream_si128(reinterpret_cast<__m128i*>(dst + k + 48), d);
    }
    std::memcpy(dst + k, src + k, bytes - k);
    return;
  }
#endif
  (void)stream;
  std::memcpy(dst, src, bytes);
}

void stream_fence() {
#if defined(__x86_64__)
  _mm_sfence();
#endif
}

// Outputs larger than this are written with non-temporal stores.
constexpr int64_t kStreamBytes = int64_t(8) << 20;

}  // namespace

void CpuBackend::fused(const FusedProgram& p, const std::vector<array>& inputs,
                       std::vector<array>& outputs) {
  const Shape shape = outputs[0].shape();
  const int64_t n = outputs[0].size();
  const int nin = int(inputs.size());
  const int nreg = nin + int(p.instrs.size());

  enum Kind { Dense, Scalar, Strided };
  std::vector<Kind> kind(nin);
  std::vector<Strides> bst(nin);
  for (int i = 0; i < nin; ++i) {
    const array& in = inputs[i];
    if (in.size() == 1) kind[i] = Scalar;
    else if (in.shape() == shape && in.flags().row_contiguous && in.data_size() == in.size()) kind[i] = Dense;
    else {
      bst[i] = broadcast_strides(in, shape);
      bool zero = true;
      for (auto v : bst[i]) zero &= v == 0;
      kind[i] = zero ? Scalar : Strided;
    }
  }
  std::vector<size_t> isz(nreg);
  for (int i = 0; i < nin; ++i) isz[i] = inputs[i].itemsize();
  std::vector<void*> fns(p.instrs.size());
  for (size_t k = 0; k < p.instrs.size(); ++k) {
    const FusedInstr& ins = p.instrs[k];
    isz[nin + k] = ins.dtype.size;
    auto dt = [&](int r) { return r < nin ? inputs[r].dtype() : p.instrs[r - nin].dtype; };
    switch (ins.kind) {
      case FusedInstr::Kind::Unary: fns[k] = reinterpret_cast<void*>(unary_fn(UnaryOp(ins.op), dt(ins.a))); break;
      case FusedInstr::Kind::Binary: fns[k] = reinterpret_cast<void*>(binary_fn(BinaryOp(ins.op), dt(ins.a))); break;
      case FusedInstr::Kind::Select: fns[k] = reinterpret_cast<void*>(select_fn(ins.dtype)); break;
      case FusedInstr::Kind::Cast: fns[k] = reinterpret_cast<void*>(cast_fn(dt(ins.a), ins.dtype)); break;
    }
  }
  // Output k is written straight from the instruction that computes it.
  std::vector<int> out_of_reg(nreg, -1);
  for (size_t o = 0; o < p.outputs.size(); ++o)
    if (out_of_reg[p.outputs[o]] < 0) out_of_reg[p.outputs[o]] = int(o);
  bool donated = false;
  if (outputs.size() == 1 && p.outputs[0] == nreg - 1) {
    for (int i = 0; i < nin && !donated; ++i)
      donated = kind[i] == Dense && try_donate(inputs[i], outputs[0]);
  }
  for (size_t o = donated ? 1 : 0; o < outputs.size(); ++o) alloc_row_major(outputs[o]);
  if (n == 0) return;

  int64_t out_bytes = 0;
  for (auto& o : outputs) out_bytes += int64_t(o.nbytes());
  // Streaming stores would overwrite a donated input before it is read.
  const bool stream = out_bytes >= kStreamBytes && !donated;
  const int64_t tiles = (n + kTile - 1) / kTile;
  // At least 32 tiles (32K elements) per thread, as the other elementwise kernels.
  parallel_for(tiles, 32, [&](int64_t t0, int64_t t1) {
    // One tile of scratch per register (8-byte elements at most), staggered
    // by a few cache lines so that no two registers are 4 KiB apart (loads
    // and stores at such distances falsely alias in the store buffer).
    const int64_t tile = std::min(kTile, n);
    const size_t reg_words = size_t(tile) + 40;
    std::unique_ptr<uint64_t[]> scratch(new uint64_t[size_t(nreg) * reg_words + 8]);
    auto buf = [&](int r) { return reinterpret_cast<char*>(scratch.get() + size_t(r) * reg_words); };
    std::vector<const void*> reg(nreg);
    for (int i = 0; i < nin; ++i) {
      if (kind[i] != Scalar) continue;
      char* b = buf(i);
      auto fill = [&](auto tag) {
        using U = decltype(tag);
        U v;
        std::memcpy(&v, inputs[i].raw_ptr(), sizeof(U));
        std::fill_n(reinterpret_cast<U*>(b), tile, v);
      };
      switch (isz[i]) {
        case 1: fill(uint8_t{}); break;
        case 2: fill(uint16_t{}); break;
        case 4: fill(uint32_t{}); break;
        default: fill(uint64_t{}); break;
      }
      reg[i] = b;
    }
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t i0 = t * kTile, len = std::min(kTile, n - i0);
      for (int i = 0; i < nin; ++i) {
        if (kind[i] == Dense) {
          reg[i] = static_cast<const char*>(inputs[i].raw_ptr()) + i0 * int64_t(isz[i]);
        } else if (kind[i] == Strided) {
          gather_tile(static_cast<const char*>(inputs[i].raw_ptr()), isz[i], shape, bst[i], i0, len, buf(i));
          reg[i] = buf(i);
        }
      }
      for (size_t k = 0; k < p.instrs.size(); ++k) {
        const FusedInstr& ins = p.instrs[k];
        const int r = nin + int(k);
        int o = stream ? -1 : out_of_reg[r];
        void* dst = o >= 0 ? static_cast<char*>(outputs[o].raw_ptr()) + i0 * int64_t(isz[r]) : buf(r);
        switch (ins.kind) {
          case FusedInstr::Kind::Unary:
          case FusedInstr::Kind::Cast:
            reinterpret_cast<Fn1>(fns[k])(reg[ins.a], dst, len);
            break;
          case FusedInstr::Kind::Binary:
            reinterpret_cast<Fn2>(fns[k])(reg[ins.a], reg[ins.b], dst, len);
            break;
          case FusedInstr::Kind::Select:
            reinterpret_cast<Fn3>(fns[k])(reg[ins.a], reg[ins.b], reg[ins.c], dst, len);
            break;
        }
        reg[r] = dst;
      }
      // Outputs that repeat a register (or are an input) are copied.
      for (size_t o = 0; o < p.outputs.size(); ++o) {
        int r = p.outputs[o];
        if (!stream && out_of_reg[r] == int(o) && r >= nin) continue;
        store_tile(static_cast<char*>(outputs[o].raw_ptr()) + i0 * int64_t(isz[r]),
                   static_cast<const char*>(reg[r]), size_t(len) * isz[r], stream);
      }
    }
    if (stream) stream_fence();
  });
}

}  // namespace oxmlx::cpu
