// The narrow waist: the fixed set of kernel families every backend
// implements. Each family takes an op code and evaluated input arrays (typed
// buffers with shape, strides and offset) and fills its output arrays,
// allocating their storage through the backend (donating an input's buffer
// when it may).
#pragma once

#include <string>
#include <vector>

#include "core/array.h"

namespace oxmlx {

enum class UnaryOp : uint8_t {
  Abs, Negative, Sign, Floor, Ceil, Round, Trunc, Sqrt, Rsqrt, Square, Reciprocal,
  Exp, Expm1, Log, Log1p, Log2, Log10, Sin, Cos, Tan, ArcSin, ArcCos, ArcTan,
  Sinh, Cosh, Tanh, ArcSinh, ArcCosh, ArcTanh, Sigmoid, Erf, ErfInv,
  LogicalNot, BitwiseInvert, IsNan, IsInf, IsFinite, IsPosInf, IsNegInf,
  Real, Imag, Conjugate,
  Count_
};

enum class BinaryOp : uint8_t {
  Add, Subtract, Multiply, Divide, Power, Remainder, FloorDivide, Maximum, Minimum,
  Equal, NotEqual, Less, LessEqual, Greater, GreaterEqual, NanEqual,
  LogicalAnd, LogicalOr, BitwiseAnd, BitwiseOr, BitwiseXor, LeftShift, RightShift,
  ArcTan2, LogAddExp,
  Count_
};

enum class TernaryOp : uint8_t { Select };

enum class ScatterOp : uint8_t { None, Sum, Prod, Max, Min };
enum class LinalgOp : uint8_t {
  Inv, TriInv, Cholesky, Qr, Svd, Eigh, Eig, Lu, LuFactor, Solve, SolveTriangular
};

enum class ReduceOp : uint8_t { Sum, Prod, Max, Min, And, Or };
enum class ArgReduceOp : uint8_t { ArgMax, ArgMin };
enum class ScanOp : uint8_t { Sum, Prod, Max, Min, LogAddExp };
enum class QuantMode : uint8_t { Affine, Mxfp4, Mxfp8, Nvfp4 };

// Fused kernels (mx.fast, fused softmax): op codes and parameters are defined
// in backend/fast.h, included only by the files that build or run them.
enum class FastOp : uint8_t;
struct FastParams;

const char* op_name(UnaryOp op);
const char* op_name(BinaryOp op);
const char* op_name(ReduceOp op);
const char* op_name(ScanOp op);

// A fused elementwise program (compile's fusion). Registers 0..inputs-1 hold
// the inputs, broadcast to the output shape; instruction i writes register
// inputs + i. Unary/Binary use the op codes above on operands of one dtype;
// Select is (bool cond, x, y); Cast converts to `dtype`.
struct FusedInstr {
  enum class Kind : uint8_t { Unary, Binary, Select, Cast };
  Kind kind;
  uint8_t op = 0;  // UnaryOp / BinaryOp value
  int32_t a = -1, b = -1, c = -1;
  Dtype dtype;  // of the result
};
struct FusedProgram {
  std::vector<Dtype> input_dtypes;
  std::vector<FusedInstr> instrs;
  std::vector<int32_t> outputs;  // registers copied to the outputs, in order
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual Device::DeviceType device_type() const = 0;
  virtual std::shared_ptr<Data> allocate(size_t bytes) = 0;
  virtual void synchronize(const Stream&) {}

  // Elementwise families. Inputs are broadcast to the output's shape already
  // (broadcast dimensions have stride 0).
  virtual void unary(UnaryOp op, const array& in, array& out) = 0;
  virtual void binary(BinaryOp op, const array& a, const array& b, array& out) = 0;
  virtual void ternary(TernaryOp op, const array& a, const array& b, const array& c,
                       array& out) = 0;
  // Any layout and dtype in -> out's dtype, row-contiguous out.
  virtual void copy(const array& in, array& out) = 0;
  // out = base with update written into the region start + i * step.
  virtual void slice_update(const array& base, const array& update, array& out,
                            const Shape& start, const Shape& step) = 0;
  // out[i] = start + i * step, in out's dtype.
  virtual void arange(double start, double step, array& out) = 0;

  // Reductions over `axes` (sorted, unique); out keeps the reduced axes as size 1.
  virtual void reduce(ReduceOp op, const array& in, array& out, const std::vector<int>& axes) = 0;
  virtual void arg_reduce(ArgReduceOp op, const array& in, array& out, int axis) = 0;
  virtual void scan(ScanOp op, const array& in, array& out, int axis, bool reverse,
                    bool inclusive) = 0;

  // Batched matrix product; a: (..., M, K), b: (..., K, N) with batch dims
  // already broadcast to out's (..., M, N).
  virtual void matmul(const array& a, const array& b, array& out) = 0;

  // The families below have default implementations that raise, so a backend
  // can be brought up family by family.

  // Gather: for every position of the (broadcast) index arrays, the slice of
  // size `slice_sizes` of src starting at indices[k] along axes[k] (0 on the
  // other axes). out shape = index shape + slice_sizes.
  virtual void gather(const array& src, const std::vector<array>& indices, array& out,
                      const std::vector<int>& axes, const Shape& slice_sizes);
  // Scatter: out = base, then every update slice (updates shape = index shape
  // + slice shape) is combined by `op` into out at its index position.
  virtual void scatter(ScatterOp op, const array& base, const std::vector<array>& indices,
                       const array& updates, array& out, const std::vector<int>& axes);
  // Sort along `axis` (values, or uint32 indices when arg); partition places
  // the kth element where a full sort would, smaller before, larger after.
  virtual void sort(const array& in, array& out, int axis, bool arg);
  virtual void partition(const array& in, array& out, int axis, int kth, bool arg);
  // Random bits: threefry-2x32 counters keyed by `keys` (uint32 pairs).
  virtual void random_bits(const array& keys, array& out);
  // N-d convolution, channels last (MLX layout: in (N, ..., C), w (O, ..., C/groups)).
  virtual void conv(const array& in, const array& w, array& out, const std::vector<int>& stride,
                    const std::vector<int>& pad_lo, const std::vector<int>& pad_hi,
                    const std::vector<int>& kernel_dilation, const std::vector<int>& input_dilation,
                    int groups, bool flip);
  // Discrete Fourier transforms over `axes` (complex in/out, or real in /
  // half-spectrum out and back when `real`). Unnormalized in both directions
  // (the op layer applies the norm); real: axes.back() is the real axis and
  // an inverse's output length along it is out.shape(axes.back()).
  virtual void fft(const array& in, array& out, const std::vector<int>& axes, bool inverse,
                   bool real);
  // Dense factorizations and solves over the last two axes.
  virtual void linalg(LinalgOp op, const std::vector<array>& inputs, std::vector<array>& outputs);
  // Fused row kernels (norms, rope, softmax, attention); see backend/fast.h.
  // A backend without a kernel for `op` says so in supports_fast; the node
  // then evaluates its composition of core ops instead.
  virtual void fast(FastOp op, const std::vector<array>& inputs, std::vector<array>& outputs,
                    const FastParams& p);
  virtual bool supports_fast(FastOp) const { return false; }

  // Quantization (MLX's formats): groups of `group_size` along the last axis,
  // elements of `bits` bits packed LSB-first as one bitstream per row into
  // uint32 words. quantize: w -> {w_q, scales, biases (affine only)};
  // dequantize: {w_q, scales[, biases]} -> out (out's dtype).
  virtual void quantize(const array& w, std::vector<array>& outputs, int group_size, int bits,
                        QuantMode mode);
  virtual void dequantize(const std::vector<array>& inputs, array& out, int group_size, int bits,
                          QuantMode mode);
  // inputs {x, w_q, scales, biases, lhs, rhs}: out[b] = x[lhs[b]] @ W[rhs[b]]^T
  // (W without ^T when !transpose), W[i] the i-th dequantized matrix; x is
  // (B_x, M, K), w_q (B_w, rows, packed); lhs/rhs uint32 of out's batch shape.
  virtual void quantized_matmul(const std::vector<array>& inputs, array& out, bool transpose,
                                int group_size, int bits, QuantMode mode);
  // out[b] = a[lhs[b]] @ b[rhs[b]]; a (B_a, M, K), b (B_b, K, N), lhs/rhs
  // uint32 of out's batch shape.
  virtual void gather_mm(const array& a, const array& b, const array& lhs, const array& rhs,
                         array& out);
  // out[..., :, :] = a[:, k0:k1] @ b[k0:k1, :] for each (k0, k1) of segments
  // (int32/uint32, shape (..., 2)); a (M, K), b (K, N).
  virtual void segmented_mm(const array& a, const array& b, const array& segments, array& out);
  // Weight gradient of `conv` with the same parameters: out (O, K..., C/groups)
  // = sum over the batch and output positions of cot (N, Y..., O) times the
  // patches of in (N, X..., C) that each output position reads.
  virtual void conv_weight_grad(const array& in, const array& cot, array& out,
                                const std::vector<int>& stride, const std::vector<int>& pad_lo,
                                const std::vector<int>& pad_hi,
                                const std::vector<int>& kernel_dilation,
                                const std::vector<int>& input_dilation, int groups, bool flip);
  // A fused elementwise program over inputs broadcastable to the outputs'
  // (common) shape, in one pass over memory.
  virtual void fused(const FusedProgram& program, const std::vector<array>& inputs,
                     std::vector<array>& outputs);

 protected:
  [[noreturn]] void unsupported(const char* family) const;
};

}  // namespace oxmlx
