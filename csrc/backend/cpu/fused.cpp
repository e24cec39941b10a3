// Fused family: a register program of elementwise instructions run over the
// output in tiles of kTile elements. Each thread takes a range of tiles; an
// instruction is one loop over the tile (float32/float64 ops through the
// vector step kernels of fused_vec.h, everything else through scalar tile
// loops), and its result lives in a tile-sized scratch buffer that is reused
// once its last reader has run, so the working set stays in L1 and memory is
// read and written once. Dense inputs are read in place and gathered tile by
// tile otherwise. Size-1 inputs, and instructions on them only, are scalars:
// computed once, then held in a register by the vector kernels (or splatted
// into a buffer for the scalar loops). The instruction computing an output
// writes it directly, with non-temporal stores when the outputs are large.
#include <algorithm>
#include <cstring>
#include <memory>

#if defined(__x86_64__)
#include <emmintrin.h>
#endif

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/fused_vec.h"
#include "backend/cpu/scalar_ops.h"
#include "backend/cpu/threadpool.h"

namespace oxmlx::cpu {

namespace {

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

[[noreturn]] void bad(const char* what, Dtype d) {
  throw ValueError(msg("[fused] ", what, " is not supported for ", dtype_name(d), "."));
}

Fn1 unary_fn(UnaryOp op, Dtype d) {
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


// Where a register's tile lives.
enum class Loc : uint8_t {
  Dense,    // an input read in place
  Scalar,   // one value (sval), splatted into a buffer where scalar loops read it
  Strided,  // an input gathered into a buffer
  Scratch,  // an instruction's result in a buffer
  Out,      // an instruction's result written straight into an output
};

// One entry of the per-tile program.
struct TileOp {
  enum Kind : uint8_t { Vec, Generic, Copy } kind;
  FusedInstr::Kind ikind = FusedInstr::Kind::Unary;
  vec::Step st{};  // Vec: pointers filled per tile
  bool f64 = false;
  int a = -1, b = -1, c = -1, dst = -1;
  int out = -1;  // Copy: the output written from register a
  void* fn = nullptr;
};

// A per-thread scratch area that only grows (worker threads live on).
char* thread_scratch(size_t bytes) {
  thread_local std::unique_ptr<uint64_t[]> buf;
  thread_local size_t have = 0;
  if (have < bytes) {
    buf.reset(new uint64_t[(bytes + 7) / 8 + 8]);
    have = bytes;
  }
  // 64-byte aligned start.
  auto p = reinterpret_cast<uintptr_t>(buf.get());
  return reinterpret_cast<char*>((p + 63) & ~uintptr_t(63));
}

}  // namespace

void CpuBackend::fused(const FusedProgram& p, const std::vector<array>& inputs,
                       std::vector<array>& outputs) {
  const Shape shape = outputs[0].shape();
  const int64_t n = outputs[0].size();
  const int nin = int(inputs.size());
  const int ni = int(p.instrs.size());
  const int nreg = nin + ni;
  auto dt = [&](int r) { return r < nin ? inputs[r].dtype() : p.instrs[r - nin].dtype; };

  std::vector<Loc> loc(nreg, Loc::Scratch);
  std::vector<Strides> bst(nin);
  std::vector<uint64_t> sval(nreg, 0);  // raw bits of scalar registers
  std::vector<size_t> isz(nreg);
  for (int r = 0; r < nreg; ++r) isz[r] = dt(r).size;
  for (int i = 0; i < nin; ++i) {
    const array& in = inputs[i];
    if (in.size() == 1) {
      loc[i] = Loc::Scalar;
    } else if (in.shape() == shape && in.flags().row_contiguous && in.data_size() == in.size()) {
      loc[i] = Loc::Dense;
    } else {
      bst[i] = broadcast_strides(in, shape);
      bool zero = true;
      for (auto v : bst[i]) zero &= v == 0;
      loc[i] = zero ? Loc::Scalar : Loc::Strided;
    }
    if (loc[i] == Loc::Scalar) std::memcpy(&sval[i], in.raw_ptr(), isz[i]);
  }
  std::vector<int> last_use(nreg, -1), first_out(nreg, -1);
  for (int k = 0; k < ni; ++k) {
    const FusedInstr& ins = p.instrs[k];
    for (int r : {ins.a, ins.b, ins.c})
      if (r >= 0) last_use[r] = k;
  }
  for (size_t o = 0; o < p.outputs.size(); ++o)
    if (first_out[p.outputs[o]] < 0) first_out[p.outputs[o]] = int(o);

  // The instructions: vector kernel or scalar loop; scalar ones run now.
  const vec::Kernels& vk = vec::vec_kernels();
  std::vector<TileOp> ops;
  std::vector<int> op_of(ni, -1);
  std::vector<bool> splat(nreg, false);
  for (int k = 0; k < ni; ++k) {
    const FusedInstr& ins = p.instrs[k];
    const int r = nin + k;
    TileOp t;
    t.ikind = ins.kind;
    t.a = ins.a, t.b = ins.b, t.c = ins.c, t.dst = r;
    const Dtype d = dt(ins.a);
    const bool fl = (d == float32 || d == float64) && ins.dtype == d;
    t.f64 = d == float64;
    vec::Op vop{};
    bool is_vec = false;
    if (ins.kind == FusedInstr::Kind::Unary) {
      is_vec = fl && vec::vec_op(UnaryOp(ins.op), t.f64, &vop);
      if (!is_vec) t.fn = reinterpret_cast<void*>(unary_fn(UnaryOp(ins.op), d));
    } else if (ins.kind == FusedInstr::Kind::Binary) {
      is_vec = fl && dt(ins.b) == d && vec::vec_op(BinaryOp(ins.op), &vop);
      if (!is_vec) t.fn = reinterpret_cast<void*>(binary_fn(BinaryOp(ins.op), d));
    } else if (ins.kind == FusedInstr::Kind::Select) {
      t.fn = reinterpret_cast<void*>(select_fn(ins.dtype));
    } else {
      t.fn = reinterpret_cast<void*>(cast_fn(d, ins.dtype));
    }
    t.kind = is_vec ? TileOp::Vec : TileOp::Generic;
    bool all_scalar = true;
    for (int q : {ins.a, ins.b, ins.c})
      if (q >= 0) all_scalar &= loc[q] == Loc::Scalar;
    if (is_vec) {
      t.st.op = vop;
      if (!vec::is_binary(vop)) t.st.form = vec::Form::V;
      else if (!all_scalar && loc[ins.b] == Loc::Scalar) t.st.form = vec::Form::VS;
      else if (!all_scalar && loc[ins.a] == Loc::Scalar) t.st.form = vec::Form::SV;
      else t.st.form = vec::Form::VV;
      auto value = [&](int q) {
        if (t.f64) {
          double v;
          std::memcpy(&v, &sval[q], 8);
          return v;
        }
        float v;
        std::memcpy(&v, &sval[q], 4);
        return double(v);
      };
      if (t.st.form == vec::Form::SV) t.st.sa = value(ins.a);
      if (t.st.form == vec::Form::VS) t.st.sb = value(ins.b);
    } else if (!all_scalar) {
      for (int q : {ins.a, ins.b, ins.c})
        if (q >= 0 && loc[q] == Loc::Scalar) splat[q] = true;
    }
    if (all_scalar) {
      // One element through the same kernel as the tiles (the same bits).
      loc[r] = Loc::Scalar;
      void* y = &sval[r];
      const void* a = &sval[ins.a];
      const void* b = ins.b >= 0 ? &sval[ins.b] : nullptr;
      const void* c = ins.c >= 0 ? &sval[ins.c] : nullptr;
      if (is_vec) {
        vec::Step s = t.st;
        s.a = a, s.b = b, s.y = y;
        (t.f64 ? vk.run_f64 : vk.run_f32)(&s, 1, 1);
      } else if (ins.kind == FusedInstr::Kind::Binary) {
        reinterpret_cast<Fn2>(t.fn)(a, b, y, 1);
      } else if (ins.kind == FusedInstr::Kind::Select) {
        reinterpret_cast<Fn3>(t.fn)(a, b, c, y, 1);
      } else {
        reinterpret_cast<Fn1>(t.fn)(a, y, 1);
      }
      continue;
    }
    op_of[k] = int(ops.size());
    ops.push_back(t);
  }

  // Outputs: reuse a dense input's buffer for a lone output computed last.
  bool donated = false;
  if (outputs.size() == 1 && p.outputs[0] == nreg - 1 && ni > 0 && loc[nreg - 1] != Loc::Scalar) {
    for (int i = 0; i < nin && !donated; ++i)
      donated = loc[i] == Loc::Dense && try_donate(inputs[i], outputs[0]);
  }
  for (size_t o = donated ? 1 : 0; o < outputs.size(); ++o) alloc_row_major(outputs[o]);
  if (n == 0) return;
  int64_t out_bytes = 0;
  for (auto& o : outputs) out_bytes += int64_t(o.nbytes());
  // A donated output is read right before it is written: plain stores.
  const bool stream = out_bytes >= vec::stream_bytes() && !donated;

  // The instruction computing an output writes it in place, unless streamed
  // stores would have to be read back, or a scalar loop would have to stream.
  std::vector<bool> copied(nreg, false);
  for (int k = 0; k < ni; ++k) {
    const int r = nin + k;
    const int o = first_out[r];
    if (o < 0 || loc[r] == Loc::Scalar) continue;
    TileOp& t = ops[op_of[k]];
    if (stream && (last_use[r] >= 0 || t.kind != TileOp::Vec)) continue;
    loc[r] = Loc::Out;
    t.out = o;
    t.st.stream = stream;
  }
  for (size_t o = 0; o < p.outputs.size(); ++o) {
    const int r = p.outputs[o];
    if (loc[r] == Loc::Out && first_out[r] == int(o)) continue;
    TileOp t;
    t.kind = TileOp::Copy;
    t.a = r;
    t.out = int(o);
    ops.push_back(t);
    copied[r] = true;
    if (loc[r] == Loc::Scalar) splat[r] = true;
  }

  // Scratch buffers by liveness: a buffer is free again after the last
  // instruction reading its register; a vector instruction may overwrite its
  // operand's buffer (same element, read first).
  std::vector<int> buf(nreg, -1);
  std::vector<int> free_bufs;
  int nbuf = 0;
  auto take = [&]() {
    if (free_bufs.empty()) return nbuf++;
    int b = free_bufs.back();
    free_bufs.pop_back();
    return b;
  };
  auto until = [&](int r) { return copied[r] ? ni : last_use[r]; };
  for (int r = 0; r < nreg; ++r)
    if (splat[r] || loc[r] == Loc::Strided) buf[r] = take();
  std::vector<std::vector<int>> dies(ni + 1);  // registers whose buffer frees after instr k
  for (int r = 0; r < nreg; ++r)
    if (loc[r] == Loc::Strided && until(r) >= 0) dies[until(r)].push_back(r);
  for (int k = 0; k < ni; ++k) {
    const int r = nin + k;
    if (loc[r] == Loc::Scratch) {
      const TileOp& t = ops[op_of[k]];
      int reuse = -1;
      if (t.kind == TileOp::Vec) {
        for (int q : {t.a, t.b})
          if (q >= 0 && buf[q] >= 0 && !splat[q] && until(q) == k) reuse = q;
      }
      if (reuse >= 0) {
        auto& d = dies[k];
        d.erase(std::remove(d.begin(), d.end(), reuse), d.end());
        buf[r] = buf[reuse];
      } else {
        buf[r] = take();
      }
      if (until(r) >= 0) dies[until(r)].push_back(r);
      else free_bufs.push_back(buf[r]);  // never read (a dead value)
    }
    for (int q : dies[k]) free_bufs.push_back(buf[q]);
  }

  size_t maxisz = 1;
  for (int r = 0; r < nreg; ++r)
    if (buf[r] >= 0) maxisz = std::max(maxisz, isz[r]);
  const int64_t tile = std::min(kTile, n);
  // Buffers staggered by five cache lines, so that no two are 4 KiB apart
  // (loads and stores at such distances falsely alias in the store buffer).
  const size_t stride = ((size_t(tile) * maxisz + 63) & ~size_t(63)) + 320;
  const int64_t tiles = (n + kTile - 1) / kTile;

  // At least 32 tiles (32K elements) per thread, as the other elementwise kernels.
  parallel_for(tiles, 32, [&](int64_t t0, int64_t t1) {
    char* scratch = thread_scratch(size_t(nbuf) * stride);
    std::vector<char*> ptr(nreg, nullptr);
    for (int r = 0; r < nreg; ++r)
      if (buf[r] >= 0) ptr[r] = scratch + size_t(buf[r]) * stride;
    for (int r = 0; r < nreg; ++r) {
      if (!splat[r]) continue;
      char* b = ptr[r];
      auto fill = [&](auto tag) {
        using U = decltype(tag);
        U v;
        std::memcpy(&v, &sval[r], sizeof(U));
        std::fill_n(reinterpret_cast<U*>(b), tile, v);
      };
      switch (isz[r]) {
        case 1: fill(uint8_t{}); break;
        case 2: fill(uint16_t{}); break;
        case 4: fill(uint32_t{}); break;
        default: fill(uint64_t{}); break;
      }
    }
    std::vector<char*> outp(outputs.size());
    for (size_t o = 0; o < outputs.size(); ++o) outp[o] = static_cast<char*>(outputs[o].raw_ptr());
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t i0 = t * kTile, len = std::min(kTile, n - i0);
      for (int i = 0; i < nin; ++i) {
        if (loc[i] == Loc::Dense) {
          ptr[i] = const_cast<char*>(static_cast<const char*>(inputs[i].raw_ptr())) + i0 * int64_t(isz[i]);
        } else if (loc[i] == Loc::Strided) {
          gather_tile(static_cast<const char*>(inputs[i].raw_ptr()), isz[i], shape, bst[i], i0, len, ptr[i]);
        }
      }
      for (const TileOp& op : ops) {
        if (op.kind == TileOp::Copy) {
          store_tile(outp[op.out] + i0 * int64_t(isz[op.a]), ptr[op.a], size_t(len) * isz[op.a], stream);
          continue;
        }
        char* y = op.out >= 0 ? outp[op.out] + i0 * int64_t(isz[op.dst]) : ptr[op.dst];
        ptr[op.dst] = y;
        if (op.kind == TileOp::Vec) {
          vec::Step s = op.st;
          s.a = ptr[op.a];
          if (op.b >= 0) s.b = ptr[op.b];
          s.y = y;
          (op.f64 ? vk.run_f64 : vk.run_f32)(&s, 1, len);
          continue;
        }
        switch (op.ikind) {
          case FusedInstr::Kind::Unary:
          case FusedInstr::Kind::Cast:
            reinterpret_cast<Fn1>(op.fn)(ptr[op.a], y, len);
            break;
          case FusedInstr::Kind::Binary:
            reinterpret_cast<Fn2>(op.fn)(ptr[op.a], ptr[op.b], y, len);
            break;
          case FusedInstr::Kind::Select:
            reinterpret_cast<Fn3>(op.fn)(ptr[op.a], ptr[op.b], ptr[op.c], y, len);
            break;
        }
      }
    }
    if (stream) vec::stream_fence();
  });
}

}  // namespace oxmlx::cpu
