// Fused family: a register program of elementwise instructions run over the
// output in blocks, so that every intermediate stays in cache and memory is
// read and written once. Programs of float32 registers and common arithmetic
// run on the register engine (fused_vec.h: whole SIMD registers, scalars in
// broadcast registers, slots reused by liveness); any other program on the
// tile loops below: tiles of kTile elements, one tile-sized scratch buffer
// per register, each instruction one vectorizable loop over the tile. In
// both, dense inputs are read in place, size-1 inputs are splatted once, any
// other layout (broadcast, strided views) is gathered block by block. The
// ISA (AVX-512, AVX2, portable) is fast_isa()'s: OXMLX_FAST_ISA forces it.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>

#if defined(__x86_64__)
#include <emmintrin.h>
#endif

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/fast_isa.h"
#include "backend/cpu/fused_vec.h"
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

enum class Isa { Avx512, Avx2, Generic };

// The kernels' ISA: fast_isa()'s choice (cpuid, or OXMLX_FAST_ISA when the
// CPU has that path), so that fused exp and mx.exp are the same kernel.
Isa isa() {
  static const Isa v = [] {
    const char* name = fast_detail::fast_isa().name;
    if (std::strcmp(name, "avx512") == 0 && fused_vec::vec_run_avx512()) return Isa::Avx512;
    if (std::strcmp(name, "avx2") == 0 && fused_vec::vec_run_avx2()) return Isa::Avx2;
    return Isa::Generic;
  }();
  return v;
}

void* isa_unary(UnaryOp op, bool f64) {
  switch (isa()) {
    case Isa::Avx512: return fused_avx512_unary(op, f64);
    case Isa::Avx2: return fused_avx2_unary(op, f64);
    default: return reinterpret_cast<void*>(simd_unary(op, f64));
  }
}

void* isa_binary(BinaryOp op, bool f64) {
  switch (isa()) {
    case Isa::Avx512: return fused_avx512_binary(op, f64);
    case Isa::Avx2: return fused_avx2_binary(op, f64);
    default: return reinterpret_cast<void*>(simd_binary(op, f64));
  }
}

[[noreturn]] void bad(const char* what, Dtype d) {
  throw ValueError(msg("[fused] ", what, " is not supported for ", dtype_name(d), "."));
}

Fn1 unary_fn(UnaryOp op, Dtype d) {
  if (d == float32 || d == float64) {
    bool f64 = d == float64;
    void* p = isa_unary(op, f64);
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
    void* p = isa_binary(op, f64);
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

// The portable trait of the register engine: one lane (the compiler
// vectorizes the block loops where it can), exp as mx.exp's portable path.
struct GenericTr {
  using V = float;
  static constexpr int W = 1;
  static V set1(float a) { return a; }
  static V load(const float* p) { return *p; }
  static void store(float* p, V v) { *p = v; }
  static void stream(float* p, V v) { *p = v; }
  static void fence() {}
  static float first(V v) { return v; }
  static V add(V a, V b) { return a + b; }
  static V sub(V a, V b) { return a - b; }
  static V mul(V a, V b) { return a * b; }
  static V div(V a, V b) { return a / b; }
  static V sqrt(V a) { return std::sqrt(a); }
  static V neg(V a) { return -a; }
  static V abs(V a) { return std::abs(a); }
  static V max(V a, V b) { return ((a != a) || a > b) ? a : b; }
  static V min(V a, V b) { return ((a != a) || a < b) ? a : b; }
  static V exp(V a) { return std::exp(a); }
};

namespace generic_vec {
using Tr = GenericTr;
#include "backend/cpu/fused_vec.inc"
}  // namespace generic_vec

bool vec_op(const FusedInstr& ins, fused_vec::VOp& v) {
  using fused_vec::VOp;
  if (ins.kind == FusedInstr::Kind::Unary) {
    switch (UnaryOp(ins.op)) {
      case UnaryOp::Negative: v = VOp::Neg; return true;
      case UnaryOp::Abs: v = VOp::Abs; return true;
      case UnaryOp::Square: v = VOp::Square; return true;
      case UnaryOp::Sqrt: v = VOp::Sqrt; return true;
      case UnaryOp::Rsqrt: v = VOp::Rsqrt; return true;
      case UnaryOp::Reciprocal: v = VOp::Recip; return true;
      case UnaryOp::Exp: v = VOp::Exp; return true;
      default: return false;
    }
  }
  if (ins.kind == FusedInstr::Kind::Binary) {
    switch (BinaryOp(ins.op)) {
      case BinaryOp::Add: v = VOp::Add; return true;
      case BinaryOp::Subtract: v = VOp::Sub; return true;
      case BinaryOp::Multiply: v = VOp::Mul; return true;
      case BinaryOp::Divide: v = VOp::Div; return true;
      case BinaryOp::Maximum: v = VOp::Max; return true;
      case BinaryOp::Minimum: v = VOp::Min; return true;
      default: return false;
    }
  }
  return false;
}

struct GatherCtx {
  const std::vector<array>* inputs;
  const Shape* shape;
  const std::vector<Strides>* bst;
  std::vector<int> which;  // gather index -> input
};

void gather_f32(const void* ctx, int k, int64_t i0, int64_t len, float* dst);

enum Kind { Dense, Scalar, Strided };

// Runs f over [0, nblocks) of engine blocks on the pool, threads taking
// chunks of about 1/32 of the work per thread from a shared counter as they
// finish (not one fixed share each): on a loaded machine a descheduled
// thread delays the kernel by one chunk, not by its whole share. At least
// 32K elements per thread and 4K per chunk.
template <typename F>
void parallel_blocks(int64_t nblocks, F&& f) {
  constexpr int64_t B = fused_vec::kVecBlock;
  const int64_t nt = num_threads();
  if (nt <= 1 || nblocks * B < 2 * (int64_t(1) << 15) || in_parallel_region()) {
    f(0, nblocks);
    return;
  }
  const int64_t chunk = std::max<int64_t>(4096 / B, nblocks / (nt * 32));
  std::atomic<int64_t> next{0};
  parallel_for(nt, 1, [&](int64_t, int64_t) {
    for (;;) {
      int64_t b = next.fetch_add(chunk, std::memory_order_relaxed);
      if (b >= nblocks) break;
      f(b, std::min(b + chunk, nblocks));
    }
  });
}

// Builds the register engine's program; false when the program has other
// dtypes or ops, or needs more slots than the engine has.
bool build_vec(const FusedProgram& p, const std::vector<array>& inputs, std::vector<array>& outputs,
               const std::vector<Kind>& kind, fused_vec::VecProgram& vp, GatherCtx& gctx) {
  using namespace fused_vec;
  const int nin = int(inputs.size());
  const int nins = int(p.instrs.size());
  for (const array& in : inputs)
    if (in.dtype() != float32) return false;
  std::vector<VOp> ops(nins);
  for (int k = 0; k < nins; ++k)
    if (p.instrs[k].dtype != float32 || !vec_op(p.instrs[k], ops[k])) return false;
  const int nreg = nin + nins;
  // Last instruction reading each register; registers copied to an output
  // (other than by a direct write) live to the end of the block.
  std::vector<int> last(nreg, -1), nout(nreg, 0);
  for (int k = 0; k < nins; ++k) {
    last[p.instrs[k].a] = k;
    if (!is_unary(ops[k])) last[p.instrs[k].b] = k;
  }
  for (int32_t r : p.outputs) ++nout[r];
  std::vector<int> direct(nreg, -1);  // output written straight by the register's instruction
  for (size_t o = 0; o < p.outputs.size(); ++o) {
    int r = p.outputs[o];
    if (r >= nin && nout[r] == 1 && last[r] < 0) direct[r] = int(o);
  }
  for (int r = 0; r < nreg; ++r)
    if (nout[r] > 0 && direct[r] < 0) last[r] = nins;
  std::vector<Opnd> reg(nreg);
  std::vector<int> free_slots;
  int nslots = 0;
  auto take = [&]() {
    if (!free_slots.empty()) {
      int s = free_slots.back();
      free_slots.pop_back();
      return s;
    }
    return nslots++;
  };
  for (int i = 0; i < nin; ++i) {
    if (kind[i] == Dense) {
      reg[i] = {Opnd::Dense, int16_t(vp.dense.size())};
      vp.dense.push_back(inputs[i].data<float>());
    } else if (kind[i] == Scalar) {
      reg[i] = {Opnd::Scalar, int16_t(vp.scalars.size())};
      vp.scalars.push_back(*inputs[i].data<float>());
    } else {
      int s = nslots++;  // gathered inputs keep their slot
      reg[i] = {Opnd::Slot, int16_t(s)};
      vp.gather_slots.push_back(int16_t(s));
      gctx.which.push_back(i);
    }
  }
  const int nsc_in = int(vp.scalars.size());
  for (int k = 0; k < nins; ++k) {
    const FusedInstr& fi = p.instrs[k];
    const int r = nin + k;
    VInstr in;
    in.op = ops[k];
    in.a = reg[fi.a];
    if (!is_unary(ops[k])) in.b = reg[fi.b];
    else in.b = {Opnd::Scalar, 0};
    const bool scal = in.a.kind == Opnd::Scalar && in.b.kind == Opnd::Scalar;
    // Free the operands whose last use this is (the result may take their slot).
    auto release = [&](int32_t q) {
      if (q < nin && kind[q] == Strided) return;
      if (reg[q].kind == Opnd::Slot && last[q] == k) {
        free_slots.push_back(reg[q].idx);
        last[q] = -2;
      }
    };
    release(fi.a);
    if (!is_unary(ops[k])) release(fi.b);
    if (scal) {
      in.dkind = VInstr::ToScalar;
      in.dst = int16_t(nsc_in + k);
      reg[r] = {Opnd::Scalar, in.dst};
      direct[r] = -1;  // copied to its outputs after each block
    } else if (direct[r] >= 0) {
      in.dkind = VInstr::ToOut;
      in.dst = int16_t(direct[r]);
    } else {
      in.dkind = VInstr::ToSlot;
      in.dst = int16_t(take());
      reg[r] = {Opnd::Slot, in.dst};
    }
    vp.instrs.push_back(in);
  }
  for (size_t o = 0; o < p.outputs.size(); ++o) {
    int r = p.outputs[o];
    if (direct[r] == int(o)) continue;
    vp.copies.push_back({reg[r], int16_t(o)});
  }
  vp.nslots = nslots;
  if (nslots + int(vp.dense.size()) + int(outputs.size()) > kMaxSlots) return false;
  if (nsc_in + nins > 30000) return false;
  return true;
}

void gather_f32(const void* ctx, int k, int64_t i0, int64_t len, float* dst) {
  auto& c = *static_cast<const GatherCtx*>(ctx);
  const array& in = (*c.inputs)[c.which[k]];
  gather_tile(static_cast<const char*>(in.raw_ptr()), 4, *c.shape, (*c.bst)[c.which[k]], i0, len,
              reinterpret_cast<char*>(dst));
}

}  // namespace

namespace fused_vec {
VecRunFn vec_run_generic() { return &generic_vec::vec_engine::run; }

VecRunFn vec_run() {
  return isa() == Isa::Avx512 ? vec_run_avx512() : isa() == Isa::Avx2 ? vec_run_avx2() : vec_run_generic();
}

void vec_apply(VOp op, const float* a, bool a_scalar, const float* b, bool b_scalar, float* out,
               int64_t n, bool fresh) {
  VecProgram vp;
  auto opnd = [&](const float* p, bool scalar) {
    if (scalar) {
      vp.scalars.push_back(*p);
      return Opnd{Opnd::Scalar, int16_t(vp.scalars.size() - 1)};
    }
    vp.dense.push_back(p);
    return Opnd{Opnd::Dense, int16_t(vp.dense.size() - 1)};
  };
  VInstr in;
  in.op = op;
  in.a = opnd(a, a_scalar);
  in.b = is_unary(op) ? Opnd{Opnd::Scalar, 0} : opnd(b, b_scalar);
  if (is_unary(op) && vp.scalars.empty()) vp.scalars.push_back(0.0f);
  in.dkind = VInstr::ToOut;
  in.dst = 0;
  vp.instrs.push_back(in);
  vp.outs.push_back(out);
  vp.stream.push_back(fresh && n * 4 >= kStreamBytes && (reinterpret_cast<uintptr_t>(out) & 63) == 0);
  VecRunFn run = vec_run();
  constexpr int64_t B = kVecBlock;
  parallel_blocks((n + B - 1) / B, [&](int64_t b0, int64_t b1) { run(vp, b0 * B, std::min(b1 * B, n)); });
}
}  // namespace fused_vec

void CpuBackend::fused(const FusedProgram& p, const std::vector<array>& inputs,
                       std::vector<array>& outputs) {
  const Shape shape = outputs[0].shape();
  const int64_t n = outputs[0].size();
  const int nin = int(inputs.size());
  const int nreg = nin + int(p.instrs.size());

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

  fused_vec::VecProgram vp;
  GatherCtx gctx{&inputs, &shape, &bst, {}};
  if (build_vec(p, inputs, outputs, kind, vp, gctx)) {
    for (auto& o : outputs) {
      vp.outs.push_back(o.data<float>());
      vp.stream.push_back(stream && (reinterpret_cast<uintptr_t>(o.raw_ptr()) & 63) == 0);
    }
    vp.gather = &gather_f32;
    vp.gather_ctx = &gctx;
    fused_vec::VecRunFn run = fused_vec::vec_run();
    constexpr int64_t B = fused_vec::kVecBlock;
    parallel_blocks((n + B - 1) / B, [&](int64_t b0, int64_t b1) { run(vp, b0 * B, std::min(b1 * B, n)); });
    return;
  }

  size_t max_isz = 1;
  for (size_t v : isz) max_isz = std::max(max_isz, v);
  const int64_t tiles = (n + kTile - 1) / kTile;
  // At least 32 tiles (32K elements) per thread, as the other elementwise kernels.
  parallel_for(tiles, 32, [&](int64_t t0, int64_t t1) {
    // One tile of scratch per register (of the widest dtype), staggered by a
    // few cache lines so that no two registers are 4 KiB apart (loads and
    // stores at such distances falsely alias in the store buffer).
    const int64_t tile = std::min(kTile, n);
    const size_t reg_words = (size_t(tile) * max_isz + 7) / 8 + 40;
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
