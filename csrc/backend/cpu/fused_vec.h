// The float32 engine of the fused family: fused.cpp turns a FusedProgram
// whose registers are all float32 (and whose ops are the common arithmetic
// ones) into a VecProgram; one engine per ISA (fused_vec.inc, compiled into
// fused_avx512.cpp, fused_avx2.cpp and, portable, fused.cpp) runs it over a
// range of elements in blocks of kVecBlock: every instruction is one loop of
// whole SIMD registers over the block, its operands in a few block-sized
// scratch slots (reused by liveness, a few KiB: L1-resident), size-1 inputs
// and instructions of size-1 operands held as broadcast registers, dense
// inputs read in place and the output instruction storing straight to the
// output (non-temporal stores for large outputs).
#pragma once

#include <cstdint>
#include <vector>

namespace oxmlx::cpu::fused_vec {

constexpr int64_t kVecBlock = 512;  // elements per block; a multiple of every W
constexpr int kMaxSlots = 24;  // 48 KiB of stack

enum class VOp : uint8_t { Copy, Neg, Abs, Square, Sqrt, Rsqrt, Recip, Exp, Add, Sub, Mul, Div, Max, Min };

constexpr bool is_unary(VOp op) { return op <= VOp::Exp; }

// An operand: a scratch slot, a dense input (read in place at the block's
// offset), or a scalar (an index into the scalar table).
struct Opnd {
  enum Kind : uint8_t { Slot, Dense, Scalar };
  Kind kind = Slot;
  int16_t idx = 0;
};

struct VInstr {
  enum Dst : uint8_t { ToSlot, ToOut, ToScalar };
  VOp op;
  Opnd a, b;  // b unused by unary ops
  Dst dkind = ToSlot;
  int16_t dst = 0;  // slot, output or scalar index
};

// out[o] = src after each block (outputs that repeat a register, or are an
// input or a scalar).
struct VCopy {
  Opnd src;
  int16_t out;
};

struct VecProgram {
  int nslots = 0;
  std::vector<float> scalars;  // size-1 inputs; ToScalar results are appended at run time
  std::vector<VInstr> instrs;
  std::vector<VCopy> copies;
  std::vector<const float*> dense;  // per dense operand index
  // Strided inputs: slot i of gather_slots is filled by gather(ctx, k, i0, len, dst)
  // before each block (k = gather index).
  std::vector<int16_t> gather_slots;
  void (*gather)(const void* ctx, int k, int64_t i0, int64_t len, float* dst) = nullptr;
  const void* gather_ctx = nullptr;
  std::vector<float*> outs;
  std::vector<bool> stream;  // per output: non-temporal stores (needs 64-byte alignment)
};

using VecRunFn = void (*)(const VecProgram& p, int64_t i0, int64_t i1);

// The chosen ISA's engine (fast_isa()'s choice; fused.cpp).
VecRunFn vec_run();

// out[i] = op(a[i], b[i]) over n dense float32 elements on the engine and the
// thread pool (unary.cpp, binary.cpp); a scalar operand is read from *a / *b.
// fresh: out is a new buffer (not an input), so large outputs are streamed.
void vec_apply(VOp op, const float* a, bool a_scalar, const float* b, bool b_scalar, float* out,
               int64_t n, bool fresh);

// nullptr when the ISA is not compiled in (the caller checks the CPU).
VecRunFn vec_run_avx512();
VecRunFn vec_run_avx2();
VecRunFn vec_run_generic();

}  // namespace oxmlx::cpu::fused_vec
