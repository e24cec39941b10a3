// Vector kernels of the float32/float64 elementwise ops, shared by the fused
// family (one step per instruction of a tile program) and by the unary and
// binary families (one step over a whole chunk). Each ISA file
// (fused_avx512.cpp, fused_avx2.cpp, and the portable loops in fused.cpp)
// implements `run` for its vector width; vec_kernels() picks one from cpuid.
//
// A step reads one or two operands, each a vector (a pointer to n values) or
// a scalar held in a register, and writes n values, with non-temporal stores
// when `stream` is set (large outputs that nothing reads back soon: no read of
// the destination lines and no eviction of the inputs). The result of a step
// depends only on the op and the values, never on the ISA's lane position, so
// that a tail computed apart gives the same bits as a full vector.
#pragma once

#include <cstdint>

#include "backend/backend.h"

namespace oxmlx::cpu::vec {

enum class Op : uint8_t {
  // unary
  Copy, Neg, Abs, Square, Sqrt, Rsqrt, Recip, Exp,
  // binary
  Add, Sub, Mul, Div, Max, Min,
};

inline bool is_binary(Op op) { return op >= Op::Add; }

// Operand forms: V (unary on a vector), VV, VS (b is a scalar), SV (a is a
// scalar), S (fill with the scalar a).
enum class Form : uint8_t { V, VV, VS, SV, S };

struct Step {
  Op op;
  Form form;
  bool stream = false;
  const void* a = nullptr;
  const void* b = nullptr;
  void* y = nullptr;
  double sa = 0, sb = 0;  // scalar operands (a float32 value is exact in double)
};

struct Kernels {
  const char* name;
  // Runs steps[0..count) in order, each over n elements. A stream step needs
  // y aligned to the vector size (callers check); y may equal a or b.
  void (*run_f32)(const Step* steps, int count, int64_t n);
  void (*run_f64)(const Step* steps, int count, int64_t n);
};

// The op of a unary/binary family code, or false when no vector kernel does it
// for this float type (f64: exp is left to the generic loops).
bool vec_op(UnaryOp op, bool f64, Op* out);
bool vec_op(BinaryOp op, Op* out);

const Kernels* kernels_avx512();  // nullptr when not compiled in
const Kernels* kernels_avx2();
const Kernels& kernels_generic();
// The chosen set: OXMLX_FUSED_ISA=avx512|avx2|generic forces one (ignored when
// the CPU lacks it).
const Kernels& vec_kernels();

inline void run(const Step* steps, int count, int64_t n, bool f64) {
  const Kernels& k = vec_kernels();
  (f64 ? k.run_f64 : k.run_f32)(steps, count, n);
}

// Outputs of at least this many bytes that nothing reads back at once are
// written with non-temporal stores (OXMLX_STREAM_BYTES overrides; 0 = never).
int64_t stream_bytes();

// Orders this thread's non-temporal stores before what follows (call once
// per thread after streaming, before the results are handed on).
void stream_fence();

}  // namespace oxmlx::cpu::vec
