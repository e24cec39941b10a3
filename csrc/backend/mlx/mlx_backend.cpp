// The upstream-MLX backend: implements the kernel-family waist by calling
// MLX ops (libmlx from the `mlx` wheel) on zero-copy wrapped buffers.
//
// Built as its own shared library (liboxmlx_mlx) that liboxmlx loads only
// when the "mlx" backend is asked for, so `import oxmlx` never needs MLX.
// Inputs are wrapped as MLX arrays over our storage (strided views through
// mlx::as_strided); MLX's result buffer is adopted by our output without a
// copy when it is row-contiguous.
#include <mlx/mlx.h>

#include "backend/backend.h"
#include "core/dtype.h"

namespace mx = mlx::core;

namespace oxmlx::mlxb {

namespace {

mx::Dtype to_mlx(Dtype d) {
  switch (d.val) {
    case Dtype::Val::bool_: return mx::bool_;
    case Dtype::Val::uint8: return mx::uint8;
    case Dtype::Val::uint16: return mx::uint16;
    case Dtype::Val::uint32: return mx::uint32;
    case Dtype::Val::uint64: return mx::uint64;
    case Dtype::Val::int8: return mx::int8;
    case Dtype::Val::int16: return mx::int16;
    case Dtype::Val::int32: return mx::int32;
    case Dtype::Val::int64: return mx::int64;
    case Dtype::Val::float16: return mx::float16;
    case Dtype::Val::float32: return mx::float32;
    case Dtype::Val::float64: return mx::float64;
    case Dtype::Val::bfloat16: return mx::bfloat16;
    case Dtype::Val::complex64: return mx::complex64;
  }
  throw RuntimeError("[mlx backend] unknown dtype");
}

mx::Shape to_mlx_shape(const Shape& s) {
  mx::Shape out;
  for (auto d : s) {
    if (d > INT32_MAX) throw ValueError(msg("[mlx backend] dimension ", d, " exceeds MLX's int32 shapes."));
    out.push_back(int(d));
  }
  return out;
}

template <typename V>
mx::Shape ints(const V& v) {
  mx::Shape out;
  for (auto x : v) out.push_back(int(x));
  return out;
}

const mx::StreamOrDevice kCpu = mx::Device(mx::Device::cpu);

// A zero-copy MLX view of an evaluated oxmlx array (any strides, offset).
mx::array wrap(const array& a) {
  mx::Shape shape = to_mlx_shape(a.shape());
  mx::Dtype dt = to_mlx(a.dtype());
  if (a.size() == 0) return mx::zeros(shape, dt, kCpu);
  // The element range [lo, hi] the view touches, relative to data->ptr.
  int64_t lo = a.offset(), hi = a.offset();
  for (int i = 0; i < a.ndim(); ++i) {
    int64_t span = (a.shape(i) - 1) * a.strides(i);
    (span < 0 ? lo : hi) += span;
  }
  auto keep = new std::shared_ptr<Data>(a.data_shared_ptr());
  char* base = static_cast<char*>(a.data_shared_ptr()->ptr) + lo * int64_t(a.itemsize());
  mx::array flat(base, mx::Shape{int(hi - lo + 1)}, dt,
                 [keep](void*) { delete keep; });
  bool row = a.flags().row_contiguous && lo == a.offset() && hi - lo + 1 == a.size();
  if (row) return mx::reshape(flat, shape, kCpu);
  mx::Strides st(a.strides().begin(), a.strides().end());
  return mx::as_strided(flat, shape, st, size_t(a.offset() - lo), kCpu);
}

void release_mlx_array(void* ctx) { delete static_cast<mx::array*>(ctx); }

// Evaluates r (after casting/reshaping to out's dtype and shape) and makes
// out own its buffer: adopted when row-contiguous, else copied by MLX first.
void adopt(mx::array r, array& out) {
  if (r.dtype() != to_mlx(out.dtype())) r = mx::astype(r, to_mlx(out.dtype()), kCpu);
  mx::Shape want = to_mlx_shape(out.shape());
  if (r.shape() != want) r = mx::reshape(r, want, kCpu);
  mx::eval(r);
  if (!r.flags().row_contiguous || r.data_size() != r.size()) {
    r = mx::contiguous(r, false, kCpu);
    mx::eval(r);
  }
  if (out.size() == 0) {
    out.set_data(allocator::malloc(0));
    return;
  }
  auto* holder = new mx::array(r);
  void* ptr = holder->data<void>();
  out.set_data(allocator::wrap(ptr, out.nbytes(), holder, &release_mlx_array));
}

void adopt_all(std::vector<mx::array> rs, std::vector<array>& outs) {
  for (size_t i = 0; i < outs.size(); ++i) adopt(rs.at(i), outs[i]);
}

using U = UnaryOp;
mx::array unary_op(UnaryOp op, const mx::array& x) {
  switch (op) {
    case U::Abs: return mx::abs(x, kCpu);
    case U::Negative: return mx::negative(x, kCpu);
    case U::Sign: return mx::sign(x, kCpu);
    case U::Floor: return mx::floor(x, kCpu);
    case U::Ceil: return mx::ceil(x, kCpu);
    case U::Round: return mx::round(x, kCpu);
    case U::Trunc: return mx::where(mx::less(x, mx::zeros_like(x, kCpu), kCpu), mx::ceil(x, kCpu),
                                    mx::floor(x, kCpu), kCpu);
    case U::Sqrt: return mx::sqrt(x, kCpu);
    case U::Rsqrt: return mx::rsqrt(x, kCpu);
    case U::Square: return mx::square(x, kCpu);
    case U::Reciprocal: return mx::reciprocal(x, kCpu);
    case U::Exp: return mx::exp(x, kCpu);
    case U::Expm1:
      // MLX refuses complex expm1; the waist defines it as exp(x) - 1.
      if (x.dtype() == mx::complex64) return mx::subtract(mx::exp(x, kCpu), mx::array(1.0f), kCpu);
      return mx::expm1(x, kCpu);
    case U::Log: return mx::log(x, kCpu);
    case U::Log1p: return mx::log1p(x, kCpu);
    case U::Log2: return mx::log2(x, kCpu);
    case U::Log10: return mx::log10(x, kCpu);
    case U::Sin: return mx::sin(x, kCpu);
    case U::Cos: return mx::cos(x, kCpu);
    case U::Tan: return mx::tan(x, kCpu);
    case U::ArcSin: return mx::arcsin(x, kCpu);
    case U::ArcCos: return mx::arccos(x, kCpu);
    case U::ArcTan: return mx::arctan(x, kCpu);
    case U::Sinh: return mx::sinh(x, kCpu);
    case U::Cosh: return mx::cosh(x, kCpu);
    case U::Tanh: return mx::tanh(x, kCpu);
    case U::ArcSinh: return mx::arcsinh(x, kCpu);
    case U::ArcCosh: return mx::arccosh(x, kCpu);
    case U::ArcTanh: return mx::arctanh(x, kCpu);
    case U::Sigmoid:
      if (x.dtype() == mx::complex64)
        return mx::reciprocal(mx::add(mx::exp(mx::negative(x, kCpu), kCpu), mx::array(1.0f), kCpu), kCpu);
      return mx::sigmoid(x, kCpu);
    case U::Erf: return mx::erf(x, kCpu);
    case U::ErfInv: return mx::erfinv(x, kCpu);
    case U::LogicalNot: return mx::logical_not(x, kCpu);
    case U::BitwiseInvert: return mx::bitwise_invert(x, kCpu);
    case U::IsNan: return mx::isnan(x, kCpu);
    case U::IsInf: return mx::isinf(x, kCpu);
    case U::IsFinite: return mx::isfinite(x, kCpu);
    case U::IsPosInf: return mx::isposinf(x, kCpu);
    case U::IsNegInf: return mx::isneginf(x, kCpu);
    case U::Real: return mx::real(x, kCpu);
    case U::Imag: return mx::imag(x, kCpu);
    case U::Conjugate: return mx::conjugate(x, kCpu);
    case U::Count_: break;
  }
  throw ValueError(msg("[mlx backend] unsupported unary op ", op_name(op)));
}

bool is_int(const mx::array& a) { return mx::issubdtype(a.dtype(), mx::integer); }

// Where MLX leaves integer corner cases undefined (x // 0, shifts by the bit
// width or more, negative integer powers) the waist defines numpy's answer;
// these wrappers give it.
mx::array int_safe_divmod(bool div, const mx::array& a, const mx::array& b) {
  auto zero = mx::equal(b, mx::zeros_like(b, kCpu), kCpu);
  auto one = mx::ones_like(b, kCpu);
  auto trap = zero;
  if (mx::issubdtype(a.dtype(), mx::signedinteger)) {
    // INT_MIN / -1 traps in hardware; numpy's answers are INT_MIN and 0,
    // which is what dividing by 1 gives.
    int bits = int(mx::size_of(a.dtype())) * 8;
    auto lo = mx::astype(mx::array(int64_t(-1) * (int64_t(1) << (bits - 2)) * 2), a.dtype(), kCpu);
    trap = mx::logical_or(zero, mx::logical_and(mx::equal(a, lo, kCpu),
                                                mx::equal(b, mx::negative(one, kCpu), kCpu), kCpu), kCpu);
  }
  auto safe_b = mx::where(trap, one, b, kCpu);
  auto r = div ? mx::floor_divide(a, safe_b, kCpu) : mx::remainder(a, safe_b, kCpu);
  return mx::where(zero, mx::zeros_like(r, kCpu), r, kCpu);
}

mx::array int_shift(bool left, const mx::array& a, const mx::array& b) {
  int bits = int(mx::size_of(a.dtype())) * 8;
  auto width = mx::array(bits - 1, b.dtype());
  auto big = mx::greater(b, width, kCpu);
  auto safe = mx::where(big, mx::zeros_like(b, kCpu), b, kCpu);
  auto r = left ? mx::left_shift(a, safe, kCpu) : mx::right_shift(a, safe, kCpu);
  if (left) return mx::where(big, mx::zeros_like(r, kCpu), r, kCpu);
  // Right shift by >= width: 0, or -1 for negative signed values.
  auto fill = mx::issubdtype(a.dtype(), mx::signedinteger) ? mx::right_shift(a, width, kCpu)
                                                           : mx::zeros_like(a, kCpu);
  return mx::where(big, fill, r, kCpu);
}

mx::array int_power(const mx::array& a, const mx::array& b) {
  auto neg = mx::less(b, mx::zeros_like(b, kCpu), kCpu);
  auto r = mx::power(a, mx::where(neg, mx::zeros_like(b, kCpu), b, kCpu), kCpu);
  // a ** -k: 1 for a == 1, +-1 for a == -1 (by parity), 0 otherwise.
  auto one = mx::ones_like(r, kCpu);
  auto odd = mx::not_equal(mx::bitwise_and(b, mx::ones_like(b, kCpu), kCpu), mx::zeros_like(b, kCpu), kCpu);
  auto neg_r = mx::where(mx::equal(a, one, kCpu), one,
                         mx::where(mx::equal(a, mx::negative(one, kCpu), kCpu),
                                   mx::where(odd, mx::negative(one, kCpu), one, kCpu),
                                   mx::zeros_like(r, kCpu), kCpu), kCpu);
  return mx::where(neg, neg_r, r, kCpu);
}

using B = BinaryOp;
mx::array binary_op(BinaryOp op, const mx::array& a, const mx::array& b) {
  if (is_int(a)) {
    switch (op) {
      case B::FloorDivide: return int_safe_divmod(true, a, b);
      case B::Remainder: return int_safe_divmod(false, a, b);
      case B::LeftShift: return int_shift(true, a, b);
      case B::RightShift: return int_shift(false, a, b);
      case B::Power: return int_power(a, b);
      default: break;
    }
  }
  switch (op) {
    case B::Add: return mx::add(a, b, kCpu);
    case B::Subtract: return mx::subtract(a, b, kCpu);
    case B::Multiply: return mx::multiply(a, b, kCpu);
    case B::Divide: return mx::divide(a, b, kCpu);
    case B::Power: return mx::power(a, b, kCpu);
    case B::Remainder: return mx::remainder(a, b, kCpu);
    case B::FloorDivide: return mx::floor_divide(a, b, kCpu);
    case B::Maximum: return mx::maximum(a, b, kCpu);
    case B::Minimum: return mx::minimum(a, b, kCpu);
    case B::Equal: return mx::equal(a, b, kCpu);
    case B::NotEqual: return mx::not_equal(a, b, kCpu);
    case B::Less: return mx::less(a, b, kCpu);
    case B::LessEqual: return mx::less_equal(a, b, kCpu);
    case B::Greater: return mx::greater(a, b, kCpu);
    case B::GreaterEqual: return mx::greater_equal(a, b, kCpu);
    case B::NanEqual: {
      auto both_nan = mx::logical_and(mx::isnan(a, kCpu), mx::isnan(b, kCpu), kCpu);
      return mx::logical_or(mx::equal(a, b, kCpu), both_nan, kCpu);
    }
    case B::LogicalAnd: return mx::logical_and(a, b, kCpu);
    case B::LogicalOr: return mx::logical_or(a, b, kCpu);
    case B::BitwiseAnd: return mx::bitwise_and(a, b, kCpu);
    case B::BitwiseOr: return mx::bitwise_or(a, b, kCpu);
    case B::BitwiseXor: return mx::bitwise_xor(a, b, kCpu);
    case B::LeftShift: return mx::left_shift(a, b, kCpu);
    case B::RightShift: return mx::right_shift(a, b, kCpu);
    case B::ArcTan2: return mx::arctan2(a, b, kCpu);
    case B::LogAddExp: return mx::logaddexp(a, b, kCpu);
    case B::Count_: break;
  }
  throw ValueError(msg("[mlx backend] unsupported binary op ", op_name(op)));
}

// MLX reports its errors as std::invalid_argument / std::runtime_error; the
// waist's callers expect oxmlx's typed errors with the op named.
template <typename F>
auto guarded(const char* family, F&& f) {
  try {
    return f();
  } catch (const ValueError&) {
    throw;
  } catch (const IndexError&) {
    throw;
  } catch (const std::invalid_argument& e) {
    throw ValueError(msg("[mlx backend: ", family, "] ", e.what()));
  } catch (const std::out_of_range& e) {
    throw IndexError(msg("[mlx backend: ", family, "] ", e.what()));
  } catch (const std::exception& e) {
    throw RuntimeError(msg("[mlx backend: ", family, "] ", e.what()));
  }
}

// MLX does not bounds-check gather/scatter indices; the waist raises
// IndexError for an index whose slice leaves the array (negatives wrap).
void check_indices(const char* op, const Shape& shape, const std::vector<mx::array>& idx,
                   const std::vector<int>& axes, const std::vector<int64_t>& slice) {
  for (size_t k = 0; k < idx.size(); ++k) {
    int64_t dim = shape[axes[k]];
    if (idx[k].size() == 0) continue;
    auto i = mx::astype(idx[k], mx::int64, kCpu);
    auto n = mx::where(mx::less(i, mx::array(int64_t(0)), kCpu), mx::add(i, mx::array(dim), kCpu), i, kCpu);
    auto bad = mx::flatten(mx::logical_or(mx::less(n, mx::array(int64_t(0)), kCpu),
                                          mx::greater(n, mx::array(dim - slice[axes[k]]), kCpu), kCpu),
                           kCpu);
    auto first = mx::argmax(bad, kCpu);
    auto any = mx::any(bad, kCpu);
    mx::eval({first, any});
    if (any.item<bool>()) {
      auto v = mx::take(mx::flatten(i, kCpu), first, kCpu);
      throw IndexError(msg("[", op, "] Index ", v.item<int64_t>(), " is out of bounds for axis ",
                           axes[k], " with size ", dim, "."));
    }
  }
}

class MlxBackend final : public Backend {
 public:
  std::string name() const override { return "mlx"; }
  Device::DeviceType device_type() const override { return Device::cpu; }
  std::shared_ptr<Data> allocate(size_t bytes) override { return allocator::malloc(bytes); }

  void unary(UnaryOp op, const array& in, array& out) override {
    guarded("unary", [&] { adopt(unary_op(op, wrap(in)), out); });
  }
  void binary(BinaryOp op, const array& a, const array& b, array& out) override {
    guarded("binary", [&] { adopt(binary_op(op, wrap(a), wrap(b)), out); });
  }
  void ternary(TernaryOp, const array& a, const array& b, const array& c, array& out) override {
    guarded("ternary", [&] { adopt(mx::where(wrap(a), wrap(b), wrap(c), kCpu), out); });
  }
  void copy(const array& in, array& out) override {
    guarded("copy", [&] { adopt(mx::contiguous(wrap(in), false, kCpu), out); });
  }
  void slice_update(const array& base, const array& update, array& out, const Shape& start,
                    const Shape& step) override {
    // MLX's slice bounds cannot express "through index 0" for a negative step
    // (a stop of -1 wraps to the end): those, and empty updates, run natively.
    bool negative_step = false;
    for (auto st : step) negative_step |= st < 0;
    if (update.size() == 0 || negative_step)
      return native().slice_update(base, update, out, start, step);
    guarded("slice_update", [&] {
      mx::Shape stop;
      for (size_t i = 0; i < start.size(); ++i)
        stop.push_back(int(start[i] + (update.shape(int(i)) - 1) * step[i] + (step[i] > 0 ? 1 : -1)));
      adopt(mx::slice_update(wrap(base), wrap(update), ints(start), stop, ints(step), kCpu), out);
    });
  }
  void arange(double start, double step, array& out) override {
    guarded("arange", [&] {
      auto i = mx::arange(0.0, double(out.size()), 1.0, mx::float64, kCpu);
      auto r = mx::add(mx::multiply(i, mx::array(step, mx::float64), kCpu),
                       mx::array(start, mx::float64), kCpu);
      adopt(r, out);
    });
  }
  void reduce(ReduceOp op, const array& in, array& out, const std::vector<int>& axes) override {
    guarded("reduce", [&] {
      auto x = wrap(in);
      mx::array r = [&] {
        switch (op) {
          case ReduceOp::Sum: return mx::sum(x, axes, true, kCpu);
          case ReduceOp::Prod: return mx::prod(x, axes, true, kCpu);
          case ReduceOp::Max: return mx::max(x, axes, true, kCpu);
          case ReduceOp::Min: return mx::min(x, axes, true, kCpu);
          case ReduceOp::And: return mx::all(x, axes, true, kCpu);
          case ReduceOp::Or: return mx::any(x, axes, true, kCpu);
        }
        throw ValueError("[mlx backend] unknown reduce op");
      }();
      adopt(r, out);
    });
  }
  void arg_reduce(ArgReduceOp op, const array& in, array& out, int axis) override {
    guarded("arg_reduce", [&] {
      auto x = wrap(in);
      adopt(op == ArgReduceOp::ArgMax ? mx::argmax(x, axis, true, kCpu) : mx::argmin(x, axis, true, kCpu),
            out);
    });
  }
  void scan(ScanOp op, const array& in, array& out, int axis, bool reverse, bool inclusive) override {
    guarded("scan", [&] {
      auto x = wrap(in);
      if (x.dtype() != to_mlx(out.dtype())) x = mx::astype(x, to_mlx(out.dtype()), kCpu);
      // The waist accumulates 16-bit floats in float32 (MLX's CPU scans do not).
      if (x.dtype() == mx::float16 || x.dtype() == mx::bfloat16) x = mx::astype(x, mx::float32, kCpu);
      mx::array r = [&] {
        switch (op) {
          case ScanOp::Sum: return mx::cumsum(x, axis, reverse, inclusive, std::nullopt, kCpu);
          case ScanOp::Prod: return mx::cumprod(x, axis, reverse, inclusive, kCpu);
          case ScanOp::Max: return mx::cummax(x, axis, reverse, inclusive, kCpu);
          case ScanOp::Min: return mx::cummin(x, axis, reverse, inclusive, kCpu);
          case ScanOp::LogAddExp: return mx::logcumsumexp(x, axis, reverse, inclusive, kCpu);
        }
        throw ValueError("[mlx backend] unknown scan op");
      }();
      adopt(r, out);
    });
  }
  void matmul(const array& a, const array& b, array& out) override {
    guarded("matmul", [&] { adopt(mx::matmul(wrap(a), wrap(b), kCpu), out); });
  }
  void gather(const array& src, const std::vector<array>& indices, array& out,
              const std::vector<int>& axes, const Shape& slice_sizes) override {
    guarded("gather", [&] {
      std::vector<mx::array> idx;
      for (auto& i : indices) idx.push_back(wrap(i));
      check_indices("gather", src.shape(), idx, axes, slice_sizes);
      adopt(mx::gather(wrap(src), idx, axes, ints(slice_sizes), kCpu), out);
    });
  }
  void scatter(ScatterOp op, const array& base, const std::vector<array>& indices,
               const array& updates, array& out, const std::vector<int>& axes) override {
    guarded("scatter", [&] {
      std::vector<mx::array> idx;
      for (auto& i : indices) idx.push_back(wrap(i));
      auto b = wrap(base), u = wrap(updates);
      int lead = indices.empty() ? 0 : indices[0].ndim();
      std::vector<int64_t> slice(updates.shape().begin() + lead, updates.shape().end());
      check_indices("scatter", base.shape(), idx, axes, slice);
      mx::array r = [&] {
        switch (op) {
          case ScatterOp::None: return mx::scatter(b, idx, u, axes, kCpu);
          case ScatterOp::Sum: return mx::scatter_add(b, idx, u, axes, kCpu);
          case ScatterOp::Prod: return mx::scatter_prod(b, idx, u, axes, kCpu);
          case ScatterOp::Max: return mx::scatter_max(b, idx, u, axes, kCpu);
          case ScatterOp::Min: return mx::scatter_min(b, idx, u, axes, kCpu);
        }
        throw ValueError("[mlx backend] unknown scatter op");
      }();
      adopt(r, out);
    });
  }
  void sort(const array& in, array& out, int axis, bool arg) override {
    guarded("sort", [&] {
      auto x = wrap(in);
      adopt(arg ? mx::argsort(x, axis, kCpu) : mx::sort(x, axis, kCpu), out);
    });
  }
  void partition(const array& in, array& out, int axis, int kth, bool arg) override {
    guarded("partition", [&] {
      auto x = wrap(in);
      adopt(arg ? mx::argpartition(x, kth, axis, kCpu) : mx::partition(x, kth, axis, kCpu), out);
    });
  }
  void conv(const array& in, const array& w, array& out, const std::vector<int>& stride,
            const std::vector<int>& pad_lo, const std::vector<int>& pad_hi,
            const std::vector<int>& kernel_dilation, const std::vector<int>& input_dilation,
            int groups, bool flip) override {
    // MLX's CPU convolution has no float64, traps (SIGFPE) on empty inputs
    // and sizes some padded/dilated cases differently from the waist's
    // definition: convolutions take the native kernels.
    native().conv(in, w, out, stride, pad_lo, pad_hi, kernel_dilation, input_dilation, groups,
                  flip);
  }
  void fft(const array& in, array& out, const std::vector<int>& axes, bool inverse,
           bool real) override {
    guarded("fft", [&] {
      auto x = wrap(in);
      mx::Shape n;
      for (int ax : axes) n.push_back(int((real && !inverse) ? in.shape(ax) : out.shape(ax)));
      // The waist's transforms are unnormalized both ways: MLX's "backward"
      // for forward transforms, "forward" (no 1/n) for inverse ones.
      const auto nb = inverse ? mx::fft::FFTNorm::Forward : mx::fft::FFTNorm::Backward;
      mx::array r = real ? (inverse ? mx::fft::irfftn(x, n, axes, nb, kCpu)
                                    : mx::fft::rfftn(x, n, axes, nb, kCpu))
                         : (inverse ? mx::fft::ifftn(x, n, axes, nb, kCpu)
                                    : mx::fft::fftn(x, n, axes, nb, kCpu));
      adopt(r, out);
    });
  }
  void random_bits(const array& keys, array& out) override {
    // The waist's bit layout is MLX's, so MLX's own generator gives it.
    guarded("random_bits", [&] {
      adopt(mx::random::bits(to_mlx_shape(out.shape()), int(out.itemsize()), wrap(keys), kCpu), out);
    });
  }
  // Families without an MLX mapping here run on the native CPU kernels (the
  // waist's semantics are the same; docs/backends.md lists them).
  void linalg(LinalgOp op, const std::vector<array>& inputs, std::vector<array>& outputs) override {
    native().linalg(op, inputs, outputs);
  }
  void quantize(const array& w, std::vector<array>& outputs, int group_size, int bits,
                QuantMode mode) override {
    native().quantize(w, outputs, group_size, bits, mode);
  }
  void dequantize(const std::vector<array>& inputs, array& out, int group_size, int bits,
                  QuantMode mode) override {
    native().dequantize(inputs, out, group_size, bits, mode);
  }
  void quantized_matmul(const std::vector<array>& inputs, array& out, bool transpose,
                        int group_size, int bits, QuantMode mode) override {
    native().quantized_matmul(inputs, out, transpose, group_size, bits, mode);
  }
  void gather_mm(const array& a, const array& b, const array& lhs, const array& rhs,
                 array& out) override {
    native().gather_mm(a, b, lhs, rhs, out);
  }
  void segmented_mm(const array& a, const array& b, const array& segments, array& out) override {
    native().segmented_mm(a, b, segments, out);
  }
  void conv_weight_grad(const array& in, const array& cot, array& out,
                        const std::vector<int>& stride, const std::vector<int>& pad_lo,
                        const std::vector<int>& pad_hi, const std::vector<int>& kernel_dilation,
                        const std::vector<int>& input_dilation, int groups, bool flip) override {
    native().conv_weight_grad(in, cot, out, stride, pad_lo, pad_hi, kernel_dilation,
                              input_dilation, groups, flip);
  }

 private:
  static Backend& native() {
    static Backend& b = backend(find_backend("cpu"));
    return b;
  }
};

std::string load_error;

// Registered when liboxmlx loads this library (see core/plugin.cpp), unless
// the libmlx found at run time is not the release it was compiled against
// (MLX's C++ ABI changes between minor releases).
struct Registrar {
  Registrar() {
    std::string want = std::to_string(MLX_VERSION_MAJOR) + "." + std::to_string(MLX_VERSION_MINOR) + ".";
    std::string have = mx::version();
    if (have.compare(0, want.size(), want) != 0) {
      load_error = "it was built against MLX " + want + "x but MLX " + have +
                   " is installed; reinstall oxmlx against this MLX";
      return;
    }
    static MlxBackend b;
    register_backend(&b);
  }
} registrar;

}  // namespace

}  // namespace oxmlx::mlxb

// Read by core/plugin.cpp after loading: null when the backend registered.
extern "C" __attribute__((visibility("default"))) const char* oxmlx_plugin_error() {
  return oxmlx::mlxb::load_error.empty() ? nullptr : oxmlx::mlxb::load_error.c_str();
}
