// Quantization and matmul-variant families: quantize, dequantize,
// quantized_matmul, gather_qmm (one quantized-matmul primitive with batch
// index arrays), gather_mm, segmented_mm, and block_masked_mm (composed from
// core ops). Derivative rules at the end.
#include <algorithm>

#include "core/transforms.h"
#include "ops/conv.h"
#include "ops/primitives.h"

namespace oxmlx {

namespace {

struct QParams {
  int group_size, bits;
  QuantMode mode;
};

const char* mode_name(QuantMode m) {
  switch (m) {
    case QuantMode::Affine: return "affine";
    case QuantMode::Mxfp4: return "mxfp4";
    case QuantMode::Mxfp8: return "mxfp8";
    case QuantMode::Nvfp4: return "nvfp4";
  }
  return "?";
}

// Mode by name, MLX's defaults for group_size/bits (-1: unspecified) and
// their checks.
QParams qparams(const std::string& mode, int gs, int bits, const char* op) {
  QParams p;
  if (mode == "affine") p.mode = QuantMode::Affine;
  else if (mode == "mxfp4") p.mode = QuantMode::Mxfp4;
  else if (mode == "mxfp8") p.mode = QuantMode::Mxfp8;
  else if (mode == "nvfp4") p.mode = QuantMode::Nvfp4;
  else throw ValueError(msg("[", op, "] Invalid quantization mode '", mode, "'."));
  if (p.mode == QuantMode::Affine) {
    p.group_size = gs < 0 ? 64 : gs;
    p.bits = bits < 0 ? 4 : bits;
    if (p.group_size != 32 && p.group_size != 64 && p.group_size != 128)
      throw ValueError(msg("[", op, "] The requested group size ", p.group_size,
                           " is not supported. The supported group sizes are 32, 64, and 128."));
    if (p.bits < 1 || p.bits > 8 || p.bits == 7)
      throw ValueError(msg("[", op, "] The requested number of bits ", p.bits,
                           " is not supported. The supported bits are 1, 2, 3, 4, 5, 6 and 8."));
    return p;
  }
  const int def_gs = p.mode == QuantMode::Nvfp4 ? 16 : 32;
  const int def_bits = p.mode == QuantMode::Mxfp8 ? 8 : 4;
  p.group_size = gs < 0 ? def_gs : gs;
  p.bits = bits < 0 ? def_bits : bits;
  if (p.group_size != def_gs)
    throw ValueError(msg("[", op, "] ", mode, " quantization requires group size ", def_gs,
                         " but got ", p.group_size, "."));
  if (p.bits != def_bits)
    throw ValueError(msg("[", op, "] ", mode, " quantization requires bits to be ", def_bits,
                         " but got ", p.bits, "."));
  if (p.mode == QuantMode::Nvfp4)
    throw ValueError(msg("[", op, "] The '", mode,
                         "' quantization mode is not implemented yet (affine, mxfp4, mxfp8)."));
  return p;
}

class QuantizePrim : public Primitive {
 public:
  QuantizePrim(Stream s, QParams p) : Primitive(s), p_(p) {}
  void eval(const std::vector<array>& in, std::vector<array>& out) override {
    backend_for(stream()).quantize(in[0], out, p_.group_size, p_.bits, p_.mode);
  }
  std::vector<array> vjp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&, const std::vector<array>&) override;
  std::vector<array> jvp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&) override;
  OXMLX_VMAP_RULE
  std::string name() const override { return "Quantize"; }
  QParams p_;
};

class DequantizePrim : public Primitive {
 public:
  DequantizePrim(Stream s, QParams p) : Primitive(s), p_(p) {}
  void eval(const std::vector<array>& in, std::vector<array>& out) override {
    backend_for(stream()).dequantize(in, out[0], p_.group_size, p_.bits, p_.mode);
  }
  std::vector<array> vjp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&, const std::vector<array>&) override;
  std::vector<array> jvp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&) override;
  OXMLX_VMAP_RULE
  std::string name() const override { return "Dequantize"; }
  QParams p_;
};

// inputs {x (Bx, M, K), w_q (Bw, R, P), scales, biases, lhs (B), rhs (B)} -> (B, M, N)
class QMatmulPrim : public Primitive {
 public:
  QMatmulPrim(Stream s, QParams p, bool transpose) : Primitive(s), p_(p), transpose_(transpose) {}
  void eval(const std::vector<array>& in, std::vector<array>& out) override {
    backend_for(stream()).quantized_matmul(in, out[0], transpose_, p_.group_size, p_.bits,
                                           p_.mode);
  }
  std::vector<array> vjp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&, const std::vector<array>&) override;
  std::vector<array> jvp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&) override;
  OXMLX_VMAP_RULE
  std::string name() const override { return "QuantizedMatmul"; }
  QParams p_;
  bool transpose_;
};

// inputs {a (Ba, M, K), b (Bb, K, N), lhs (B), rhs (B)} -> (B, M, N)
class GatherMMPrim : public Primitive {
 public:
  explicit GatherMMPrim(Stream s) : Primitive(s) {}
  void eval(const std::vector<array>& in, std::vector<array>& out) override {
    backend_for(stream()).gather_mm(in[0], in[1], in[2], in[3], out[0]);
  }
  std::vector<array> vjp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&, const std::vector<array>&) override;
  std::vector<array> jvp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&) override;
  OXMLX_VMAP_RULE
  std::string name() const override { return "GatherMM"; }
};

class SegmentedMMPrim : public Primitive {
 public:
  explicit SegmentedMMPrim(Stream s) : Primitive(s) {}
  void eval(const std::vector<array>& in, std::vector<array>& out) override {
    backend_for(stream()).segmented_mm(in[0], in[1], in[2], out[0]);
  }
  std::vector<array> vjp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&, const std::vector<array>&) override;
  std::vector<array> jvp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&) override;
  OXMLX_VMAP_RULE
  std::string name() const override { return "SegmentedMM"; }
};

int64_t prod(const Shape& s, size_t from, size_t to) {
  int64_t n = 1;
  for (size_t i = from; i < to; ++i) n *= s[i];
  return n;
}

Shape batch_of(const array& a) { return Shape(a.shape().begin(), a.shape().end() - 2); }

// (batch..., r, c) -> (prod(batch), r, c)
array flat3(const array& a, Stream st) {
  return reshape(a, {prod(a.shape(), 0, a.ndim() - 2), a.shape(-2), a.shape(-1)}, st);
}

// Flat matrix indices: arange over `batch` (as its shape), or the given
// integer indices.
array matrix_indices(const std::optional<array>& idx, const Shape& batch, const char* op,
                     Stream st) {
  if (idx) {
    if (!is_integral(idx->dtype()))
      throw ValueError(msg("[", op, "] Got indices with invalid dtype. Indices must be integral."));
    return astype(*idx, uint32, st);
  }
  return reshape(arange(0, double(shape_size(batch)), 1, uint32, st), batch, st);
}

// Shared by quantized_matmul and gather_qmm once x, w, indices are known.
array qmm_node(const array& x, const array& wq, const array& scales, const array& biases,
               const array& lhs, const array& rhs, bool transpose, QParams p, Stream st) {
  const int64_t kw = wq.shape(-1) * 32 / p.bits;
  const int64_t K = transpose ? kw : wq.shape(-2), N = transpose ? wq.shape(-2) : kw;
  if (x.shape(-1) != K)
    throw ValueError(msg("[quantized_matmul] Last dimension of first input with shape (..., ",
                         x.shape(-1), ") does not match the expanded quantized matrix (", K, ", ",
                         N, ") computed from shape ", shape_str(wq.shape()),
                         " with group_size=", p.group_size, ", bits=", p.bits,
                         " and transpose=", transpose ? "true" : "false"));
  Dtype dt = promote_types(x.dtype(), scales.dtype());
  if (!is_floating(dt))
    throw ValueError(msg("[quantized_matmul] Only real floating types are supported, got ",
                         dtype_name(dt), "."));
  auto ib = broadcast_arrays({lhs, rhs}, st);
  Shape out_batch = ib[0].shape();
  Shape flat{shape_size(out_batch)};
  array out(Shape{flat[0], x.shape(-2), N}, dt, std::make_shared<QMatmulPrim>(st, p, transpose),
            {flat3(astype(x, dt, st), st), flat3(wq, st), flat3(astype(scales, dt, st), st),
             flat3(astype(biases, dt, st), st), reshape(ib[0], flat, st),
             reshape(ib[1], flat, st)});
  Shape os = out_batch;
  os.push_back(x.shape(-2));
  os.push_back(N);
  return reshape(out, os, st);
}

void check_wq(const array& wq, const array& scales, const std::optional<array>& biases, QParams p,
              const char* op) {
  if (wq.dtype() != uint32)
    throw ValueError(msg("[", op, "] The weight matrix should be uint32 but received ",
                         dtype_name(wq.dtype()), "."));
  if (p.mode == QuantMode::Affine && !biases)
    throw ValueError(msg("[", op, "] Biases must be provided for affine quantization."));
  if (p.mode != QuantMode::Affine && biases)
    throw ValueError(msg("[", op, "] Biases must be null for quantization mode '",
                         mode_name(p.mode), "'."));
  if (p.mode != QuantMode::Affine && scales.dtype() != uint8)
    throw ValueError(msg("[", op, "] Scales must be uint8 for quantization mode '",
                         mode_name(p.mode), "'."));
  if (wq.ndim() < 2)
    throw ValueError(msg("[", op, "] The weight matrix must have at least 2 dimensions but it has ",
                         wq.ndim(), "."));
  bool ok = scales.ndim() == wq.ndim() && (!biases || biases->shape() == scales.shape());
  for (int i = 0; ok && i < wq.ndim() - 1; ++i) ok = scales.shape(i) == wq.shape(i);
  ok = ok && wq.shape(-1) * 32 == scales.shape(-1) * int64_t(p.group_size) * p.bits;
  if (!ok)
    throw ValueError(msg("[", op, "] The shapes of the weight and scales are incompatible based on "
                         "bits and group_size. w.shape() == ",
                         shape_str(wq.shape()), " and scales.shape() == ",
                         shape_str(scales.shape()), " with group_size=", p.group_size,
                         " and bits=", p.bits));
}

}  // namespace

std::vector<array> quantize(const array& w, int group_size, int bits, const std::string& mode,
                            StreamOrDevice s) {
  Stream st = to_stream(s);
  QParams p = qparams(mode, group_size, bits, "quantize");
  if (w.ndim() < 2)
    throw ValueError(msg("[quantize] The matrix to be quantized must have at least 2 dimension "
                         "but it has only ",
                         w.ndim(), "."));
  if (!is_floating(w.dtype()))
    throw ValueError(msg("[quantize] Only real floating types can be quantized but w has type ",
                         dtype_name(w.dtype()), "."));
  if (w.shape(-1) % p.group_size != 0)
    throw ValueError(msg("[quantize] The last dimension of the matrix needs to be divisible by "
                         "the quantization group size ",
                         p.group_size, ". However the provided  matrix has shape ",
                         shape_str(w.shape())));
  Shape qs = w.shape(), ss = w.shape();
  qs.back() = w.shape(-1) * p.bits / 32;
  ss.back() = w.shape(-1) / p.group_size;
  if (p.mode != QuantMode::Affine)
    return array::make_arrays({qs, ss}, {uint32, uint8}, std::make_shared<QuantizePrim>(st, p),
                              {w});
  return array::make_arrays({qs, ss, ss}, {uint32, w.dtype(), w.dtype()},
                            std::make_shared<QuantizePrim>(st, p), {w});
}

array dequantize(const array& wq, const array& scales, const std::optional<array>& biases,
                 int group_size, int bits, const std::string& mode, std::optional<Dtype> dtype,
                 StreamOrDevice s) {
  Stream st = to_stream(s);
  QParams p = qparams(mode, group_size, bits, "dequantize");
  if (wq.dtype() != uint32) throw ValueError("[dequantize] The matrix should be given as a uint32");
  if (p.mode != QuantMode::Affine) {
    if (biases)
      throw ValueError(msg("[dequantize] Biases must be null for quantization mode '",
                           mode_name(p.mode), "'."));
    check_wq(wq, scales, biases, p, "dequantize");
    Dtype dt = dtype.value_or(bfloat16);
    if (!is_floating(dt))
      throw ValueError("[dequantize] The output dtype must be a real floating type.");
    Shape os = wq.shape();
    os.back() = wq.shape(-1) * 32 / p.bits;
    return array(os, dt, std::make_shared<DequantizePrim>(st, p), {wq, scales});
  }
  if (!biases) throw ValueError("[dequantize] Biases must be provided for affine quantization.");
  if (wq.ndim() < 2)
    throw ValueError(msg("[dequantize] The matrix to be dequantized must have at least 2 "
                         "dimension but it has only ",
                         wq.ndim(), "."));
  bool ok = scales.shape() == biases->shape() && scales.ndim() == wq.ndim();
  for (int i = 0; ok && i < wq.ndim() - 1; ++i) ok = scales.shape(i) == wq.shape(i);
  ok = ok && wq.shape(-1) * 32 == scales.shape(-1) * int64_t(p.group_size) * p.bits;
  if (!ok)
    throw ValueError(msg("[dequantize] Shape of scales and biases does not match the matrix given "
                         "the quantization parameters. Provided matrix of shape ",
                         shape_str(wq.shape()), " and scales/biases of shape ",
                         shape_str(scales.shape()), " with group_size=", p.group_size,
                         " and bits=", p.bits, "."));
  Dtype sdt = promote_types(scales.dtype(), biases->dtype());
  if (!is_floating(sdt))
    throw ValueError("[dequantize] Scales and biases must be floating point arrays.");
  Shape os = wq.shape();
  os.back() = wq.shape(-1) * 32 / p.bits;
  array out(os, sdt, std::make_shared<DequantizePrim>(st, p),
            {wq, astype(scales, sdt, st), astype(*biases, sdt, st)});
  return dtype && *dtype != sdt ? astype(out, *dtype, st) : out;
}

array quantized_matmul(const array& x_in, const array& wq, const array& scales,
                       const std::optional<array>& biases, bool transpose, int group_size,
                       int bits, const std::string& mode, StreamOrDevice s) {
  Stream st = to_stream(s);
  QParams p = qparams(mode, group_size, bits, "quantized_matmul");
  check_wq(wq, scales, biases, p, "quantized_matmul");
  if (x_in.ndim() == 0)
    throw ValueError("[quantized_matmul] The input must have at least one dimension.");
  array x = x_in.ndim() == 1 ? reshape(x_in, {1, x_in.shape(0)}, st) : x_in;
  if (p.mode != QuantMode::Affine) {
    // Microscaled weights: dequantized to x's type, then a matmul.
    const int64_t kw = wq.shape(-1) * 32 / p.bits;
    const int64_t K = transpose ? kw : wq.shape(-2), N = transpose ? wq.shape(-2) : kw;
    if (x.shape(-1) != K)
      throw ValueError(msg("[quantized_matmul] Last dimension of first input with shape (..., ",
                           x.shape(-1), ") does not match the expanded quantized matrix (", K,
                           ", ", N, ") computed from shape ", shape_str(wq.shape()),
                           " with group_size=", p.group_size, ", bits=", p.bits,
                           " and transpose=", transpose ? "true" : "false"));
    Dtype dt = is_floating(x.dtype()) ? x.dtype() : float32;
    array d = dequantize(wq, scales, std::nullopt, p.group_size, p.bits, mode, dt, st);
    if (x.ndim() == 2 && d.ndim() > 2) d = reshape(flat3(d, st), {-1, d.shape(-1)}, st);
    if (x.ndim() == 2 && wq.ndim() > 2)
      d = slice(d, {0, 0}, {wq.shape(-2), d.shape(-1)}, {1, 1}, st);
    array r = matmul(astype(x, dt, st), transpose ? swapaxes(d, -1, -2, st) : d, st);
    return x_in.ndim() == 1 ? squeeze(r, {-2}, st) : r;
  }
  // MLX broadcasts the batch dims only when both operands have them; a 2-D
  // x multiplies the first matrix of w.
  array w = wq, sc = scales, bi = *biases;
  if (x.ndim() == 2 && w.ndim() > 2) {
    auto first = [&](const array& a) {
      Shape e = a.shape();
      for (int i = 0; i < a.ndim() - 2; ++i) e[i] = 1;
      Shape sp(a.ndim(), 0), ss(a.ndim(), 1);
      return slice(a, sp, e, ss, st);
    };
    w = first(w);
    sc = first(sc);
    bi = first(bi);
  }
  array lhs = matrix_indices(std::nullopt, batch_of(x), "quantized_matmul", st);
  array rhs = matrix_indices(std::nullopt, batch_of(w), "quantized_matmul", st);
  if (x.ndim() == 2 || w.ndim() == 2) {
    // No broadcasting of matrices: the output batch is x's.
    rhs = zeros_like(lhs);
    if (x.ndim() == 2) rhs = reshape(rhs, {}, st), lhs = reshape(lhs, {}, st);
  }
  array r = qmm_node(x, w, sc, bi, lhs, rhs, transpose, p, st);
  if (x_in.ndim() == 1) r = squeeze(r, {-2}, st);
  return r;
}

array gather_qmm(const array& x, const array& wq, const array& scales,
                 const std::optional<array>& biases, const std::optional<array>& lhs_indices,
                 const std::optional<array>& rhs_indices, bool transpose, int group_size, int bits,
                 const std::string& mode, bool /*sorted_indices*/, StreamOrDevice s) {
  Stream st = to_stream(s);
  QParams p = qparams(mode, group_size, bits, "gather_qmm");
  check_wq(wq, scales, biases, p, "gather_qmm");
  if (x.ndim() < 2)
    throw ValueError("[gather_qmm] The input must have at least two dimensions.");
  array lhs = matrix_indices(lhs_indices, batch_of(x), "gather_qmm", st);
  array rhs = matrix_indices(rhs_indices, batch_of(wq), "gather_qmm", st);
  if (p.mode != QuantMode::Affine) {
    Dtype dt = is_floating(x.dtype()) ? x.dtype() : float32;
    array d = dequantize(wq, scales, std::nullopt, p.group_size, p.bits, mode, dt, st);
    return gather_mm(astype(x, dt, st), transpose ? swapaxes(d, -1, -2, st) : d, lhs, rhs, false,
                     st);
  }
  return qmm_node(x, wq, scales, *biases, lhs, rhs, transpose, p, st);
}

array gather_mm(const array& a_in, const array& b_in, const std::optional<array>& lhs_indices,
                const std::optional<array>& rhs_indices, bool /*sorted_indices*/,
                StreamOrDevice s) {
  Stream st = to_stream(s);
  if (a_in.ndim() == 0 || b_in.ndim() == 0)
    throw ValueError("[gather_mm] Got 0 dimension input. Inputs must have at least one dimension.");
  array a = a_in.ndim() == 1 ? reshape(a_in, {1, a_in.shape(0)}, st) : a_in;
  array b = b_in.ndim() == 1 ? reshape(b_in, {b_in.shape(0), 1}, st) : b_in;
  if (a.shape(-1) != b.shape(-2))
    throw ValueError(msg("[gather_mm] Last dimension of first input with shape ",
                         shape_str(a.shape()),
                         " must match second to last dimension of second input with shape ",
                         shape_str(b.shape()), "."));
  Dtype dt = promote_types(a.dtype(), b.dtype());
  if (!is_floating(dt))
    throw ValueError(msg("[gather_mm] Only real floating point types are supported but ",
                         dtype_name(a.dtype()), " and ", dtype_name(b.dtype()),
                         " were provided which results in ", dtype_name(dt), "."));
  array lhs = matrix_indices(lhs_indices, batch_of(a), "gather_mm", st);
  array rhs = matrix_indices(rhs_indices, batch_of(b), "gather_mm", st);
  auto ib = broadcast_arrays({lhs, rhs}, st);
  Shape ob = ib[0].shape();
  Shape flat{shape_size(ob)};
  array out(Shape{flat[0], a.shape(-2), b.shape(-1)}, dt, std::make_shared<GatherMMPrim>(st),
            {flat3(astype(a, dt, st), st), flat3(astype(b, dt, st), st), reshape(ib[0], flat, st),
             reshape(ib[1], flat, st)});
  Shape os = ob;
  os.push_back(a.shape(-2));
  os.push_back(b.shape(-1));
  array r = reshape(out, os, st);
  if (a_in.ndim() == 1) r = squeeze(r, {-2}, st);
  if (b_in.ndim() == 1) r = squeeze(r, {-1}, st);
  return r;
}

array segmented_mm(const array& a, const array& b, const array& segments, StreamOrDevice s) {
  Stream st = to_stream(s);
  if (a.ndim() != 2 || b.ndim() != 2) throw ValueError("[segmented_mm] Batched matmul not supported");
  if (!is_integral(segments.dtype()))
    throw ValueError("[segmented_mm] Got segments with invalid dtype. Segments must be integral.");
  if (segments.ndim() == 0 || segments.shape(-1) != 2)
    throw ValueError(msg("[segmented_mm] The segments must have shape (..., 2) but got ",
                         shape_str(segments.shape()), "."));
  if (a.shape(1) != b.shape(0))
    throw ValueError(msg("[segmented_mm] Last dimension of first input with shape ",
                         shape_str(a.shape()),
                         " must match second to last dimension of second input with shape ",
                         shape_str(b.shape()), "."));
  Dtype dt = promote_types(a.dtype(), b.dtype());
  if (!is_floating(dt))
    throw ValueError(msg("[segmented_mm] Only real floating point types are supported, got ",
                         dtype_name(dt), "."));
  Shape os(segments.shape().begin(), segments.shape().end() - 1);
  os.push_back(a.shape(0));
  os.push_back(b.shape(1));
  return array(os, dt, std::make_shared<SegmentedMMPrim>(st),
               {astype(a, dt, st), astype(b, dt, st), segments});
}

namespace {

// A block mask (..., ceil(R/bs), ceil(C/bs)) expanded to (..., R, C).
array expand_mask(const array& m, int bs, int64_t R, int64_t C, const char* what, Stream st) {
  if (m.ndim() < 2)
    throw ValueError(msg("[block_masked_mm] The ", what, " mask must have at least 2 dimensions."));
  const int64_t rb = (R + bs - 1) / bs, cb = (C + bs - 1) / bs;
  Shape batch = batch_of(m);
  Shape want = batch;
  want.push_back(rb);
  want.push_back(cb);
  if (m.shape(-2) != rb || m.shape(-1) != cb)
    throw ValueError(msg("[block_masked_mm] The ", what, " mask has shape ", shape_str(m.shape()),
                         " but blocks of ", bs, " need ", shape_str(want), "."));
  Shape s5 = batch, s6 = batch, sfull = batch;
  s5.insert(s5.end(), {rb, 1, cb, 1});
  s6.insert(s6.end(), {rb, int64_t(bs), cb, int64_t(bs)});
  sfull.insert(sfull.end(), {rb * bs, cb * bs});
  array e = reshape(broadcast_to(reshape(m, s5, st), s6, st), sfull, st);
  Shape start(e.ndim(), 0), stop = e.shape(), step(e.ndim(), 1);
  stop[e.ndim() - 2] = R;
  stop[e.ndim() - 1] = C;
  return slice(e, start, stop, step, st);
}

}  // namespace

array block_masked_mm(const array& a_in, const array& b_in, int block_size,
                      const std::optional<array>& mask_out, const std::optional<array>& mask_lhs,
                      const std::optional<array>& mask_rhs, StreamOrDevice s) {
  Stream st = to_stream(s);
  if (block_size != 32 && block_size != 64)
    throw ValueError(msg("[block_masked_mm] Only block_sizes 32 and 64 are supported. Got block "
                         "size ",
                         block_size, "."));
  if (a_in.ndim() < 2 || b_in.ndim() < 2)
    throw ValueError("[block_masked_mm] Arrays must have at least 2 dimensions.");
  Dtype dt = promote_types(a_in.dtype(), b_in.dtype());
  if (!is_floating(dt))
    throw ValueError(msg("[block_masked_mm] Only real floating point types are supported but ",
                         dtype_name(a_in.dtype()), " and ", dtype_name(b_in.dtype()),
                         " were provided which results in ", dtype_name(dt), "."));
  if (a_in.shape(-1) != b_in.shape(-2))
    throw ValueError(msg("[block_masked_mm] Last dimension of first input with shape ",
                         shape_str(a_in.shape()),
                         " must match second to last dimension of second input with shape ",
                         shape_str(b_in.shape()), "."));
  const int64_t M = a_in.shape(-2), K = a_in.shape(-1), N = b_in.shape(-1);
  // Masked blocks are multiplied by the mask (0 for false), as MLX does.
  array a = astype(a_in, dt, st), b = astype(b_in, dt, st);
  if (mask_lhs) a = multiply(a, astype(expand_mask(*mask_lhs, block_size, M, K, "lhs", st), dt, st), st);
  if (mask_rhs) b = multiply(b, astype(expand_mask(*mask_rhs, block_size, K, N, "rhs", st), dt, st), st);
  array r = matmul(a, b, st);
  if (mask_out)
    r = multiply(r, astype(expand_mask(*mask_out, block_size, M, N, "output", st), dt, st), st);
  return r;
}

// ------------------------------------------------------------ derivatives

namespace {

// Sums per-product gradients g (B, r, c) into the matrices they came from:
// out (nmat, r, c) with out[idx[i]] += g[i].
array scatter_back(const array& g, const array& idx, int64_t nmat) {
  Shape us{g.shape(0), 1, g.shape(1), g.shape(2)};
  return scatter(ScatterOp::Sum, zeros({nmat, g.shape(1), g.shape(2)}, g.dtype()), {idx},
                 reshape(g, us), {0});
}

array iota(int64_t n) { return arange(0, double(n), 1, uint32); }

}  // namespace

std::vector<array> QMatmulPrim::vjp(const std::vector<array>& in, const std::vector<array>& cots,
                                    const std::vector<int>& argnums, const std::vector<array>&) {
  const array& cot = cots[0];
  const int64_t B = cot.shape(0);
  // Per product, the gradient of the dequantized matrix in its stored
  // (rows, cols) layout: cot^T @ x (transpose) or x^T @ cot.
  std::optional<array> gw;
  auto dense_grad = [&] {
    if (!gw)
      gw = transpose_ ? gather_mm(swapaxes(cot, 1, 2), in[0], iota(B), in[4], false)
                      : gather_mm(swapaxes(in[0], 1, 2), cot, in[4], iota(B), false);
    return *gw;
  };
  std::vector<array> r;
  for (int a : argnums) {
    if (a == 0) {
      // d x[lhs[b]] += cot[b] @ W[rhs[b]] (W^T when !transpose).
      array g(Shape{B, cot.shape(1), in[0].shape(2)}, cot.dtype(),
              std::make_shared<QMatmulPrim>(stream(), p_, !transpose_),
              {cot, in[1], in[2], in[3], iota(B), in[5]});
      r.push_back(scatter_back(g, in[4], in[0].shape(0)));
    } else if (a == 2 || a == 3) {
      // w = s*q + b per group: db sums the dense gradient over each group,
      // ds sums it times q.
      array g = dense_grad();
      const int64_t R = g.shape(1), C = g.shape(2), G = in[2].shape(2);
      if (a == 2) {
        array q = dequantize(in[1], ones(in[2].shape(), in[2].dtype()),
                             zeros(in[3].shape(), in[3].dtype()), p_.group_size, p_.bits,
                             "affine", in[2].dtype());
        g = multiply(g, take(q, in[5], 0));
      }
      g = sum(reshape(g, {B, R, G, C / G}), std::vector<int>{3});
      r.push_back(scatter_back(g, in[5], in[2].shape(0)));
    } else if (a >= 4) {
      r.push_back(zeros_like(in[a]));
    } else {
      throw ValueError("[quantized_matmul] Cannot compute the gradient with respect to the "
                       "quantized weights.");
    }
  }
  return r;
}

std::vector<array> QMatmulPrim::jvp(const std::vector<array>& in, const std::vector<array>& tans,
                                    const std::vector<int>& argnums) {
  for (size_t i = 0; i < argnums.size(); ++i)
    if (argnums[i] >= 1 && argnums[i] <= 3)
      throw ValueError("[quantized_matmul] The jvp is implemented with respect to x only.");
  for (size_t i = 0; i < argnums.size(); ++i)
    if (argnums[i] == 0) {
      std::vector<array> ins = in;
      ins[0] = tans[i];
      Shape os{in[4].shape(0), in[0].shape(1),
               transpose_ ? in[1].shape(1) : in[1].shape(2) * 32 / p_.bits};
      return {array(os, tans[i].dtype(), std::make_shared<QMatmulPrim>(stream(), p_, transpose_),
                    ins)};
    }
  Shape os{in[4].shape(0), in[0].shape(1),
           transpose_ ? in[1].shape(1) : in[1].shape(2) * 32 / p_.bits};
  return {zeros(os, in[0].dtype())};
}

std::vector<array> GatherMMPrim::vjp(const std::vector<array>& in, const std::vector<array>& cots,
                                     const std::vector<int>& argnums, const std::vector<array>&) {
  const array& cot = cots[0];
  const int64_t B = cot.shape(0);
  std::vector<array> r;
  for (int a : argnums) {
    if (a == 0) {  // da[lhs] += cot @ b[rhs]^T
      array g(Shape{B, cot.shape(1), in[0].shape(2)}, cot.dtype(),
              std::make_shared<GatherMMPrim>(stream()),
              {cot, swapaxes(in[1], 1, 2), iota(B), in[3]});
      r.push_back(scatter_back(g, in[2], in[0].shape(0)));
    } else if (a == 1) {  // db[rhs] += a[lhs]^T @ cot
      array g(Shape{B, in[1].shape(1), cot.shape(2)}, cot.dtype(),
              std::make_shared<GatherMMPrim>(stream()),
              {swapaxes(in[0], 1, 2), cot, in[2], iota(B)});
      r.push_back(scatter_back(g, in[3], in[1].shape(0)));
    } else {
      r.push_back(zeros_like(in[a]));
    }
  }
  return r;
}

std::vector<array> GatherMMPrim::jvp(const std::vector<array>& in, const std::vector<array>& tans,
                                     const std::vector<int>& argnums) {
  std::optional<array> out;
  for (size_t i = 0; i < argnums.size(); ++i) {
    if (argnums[i] > 1) continue;
    std::vector<array> ins = in;
    ins[argnums[i]] = tans[i];
    array t(Shape{in[2].shape(0), in[0].shape(1), in[1].shape(2)}, in[0].dtype(),
            std::make_shared<GatherMMPrim>(stream()), ins);
    out = out ? add(*out, t) : t;
  }
  if (!out) return {zeros({in[2].shape(0), in[0].shape(1), in[1].shape(2)}, in[0].dtype())};
  return {*out};
}

// ---- quantize / dequantize / segmented_mm derivatives

namespace {

// The per-group scales and biases of affine quantization composed of ops,
// as the kernel computes them (in float32): their derivatives w.r.t. w
// (MLX differentiates its quantize through the same composition). The
// rounded q0 is locally constant.
std::vector<array> affine_scales_biases(const array& w, QParams p) {
  Shape gsh = w.shape();
  gsh.back() = w.shape(-1) / p.group_size;
  gsh.push_back(p.group_size);
  array g = astype(reshape(w, gsh), float32);
  array wmax = max(g, {-1}, false), wmin = min(g, {-1}, false);
  array eps(1e-7f, float32), zero(0.0f, float32), one(1.0f, float32);
  array scale, bias;
  if (p.bits == 1) {
    scale = maximum(subtract(wmax, wmin), eps);
    bias = wmin;
  } else {
    array n_bins(float((1 << p.bits) - 1), float32);
    array mask = greater(abs(wmin), abs(wmax));
    array s0 = maximum(divide(subtract(wmax, wmin), n_bins), eps);
    s0 = where(mask, s0, negative(s0));
    array edge = where(mask, wmin, wmax);
    array q0 = round(divide(edge, s0));
    array nz = not_equal(q0, zero);
    scale = where(nz, divide(edge, where(nz, q0, one)), s0);
    bias = where(nz, edge, zero);
  }
  return {astype(scale, w.dtype()), astype(bias, w.dtype())};
}

Shape packed_shape(const array& w, int bits) {
  Shape s = w.shape();
  s.back() = w.shape(-1) * bits / 32;
  return s;
}

}  // namespace

// w_q is integer (no derivative); scales and biases are differentiable
// functions of w in affine mode; the microscaled modes' outputs are all
// integer (uint32 words, uint8 scales).
std::vector<array> QuantizePrim::vjp(const std::vector<array>& in, const std::vector<array>& cots,
                                     const std::vector<int>&, const std::vector<array>&) {
  if (p_.mode != QuantMode::Affine) return {zeros_like(in[0])};
  QParams p = p_;
  auto fn = [p](const std::vector<array>& x) { return affine_scales_biases(x[0], p); };
  return {oxmlx::vjp(fn, {in[0]}, {cots[1], cots[2]}).second[0]};
}

std::vector<array> QuantizePrim::jvp(const std::vector<array>& in, const std::vector<array>& tans,
                                     const std::vector<int>&) {
  array tq = zeros(packed_shape(in[0], p_.bits), uint32);
  if (p_.mode != QuantMode::Affine) {
    Shape ss = in[0].shape();
    ss.back() /= p_.group_size;
    return {tq, zeros(ss, uint8)};
  }
  QParams p = p_;
  auto fn = [p](const std::vector<array>& x) { return affine_scales_biases(x[0], p); };
  auto t = oxmlx::jvp(fn, {in[0]}, {tans[0]}).second;
  return {tq, t[0], t[1]};
}

std::pair<std::vector<array>, std::vector<int>> QuantizePrim::vmap(const std::vector<array>& in,
                                                                   const std::vector<int>& axes) {
  return vmap_leading_batch(in, axes);  // groups run along the last axis
}

// out = scales * q + biases per group: linear in (scales, biases); w_q and
// the microscaled modes' uint8 scales are integer.
std::vector<array> DequantizePrim::vjp(const std::vector<array>& in, const std::vector<array>& cots,
                                       const std::vector<int>& argnums,
                                       const std::vector<array>& outs) {
  std::vector<array> r;
  for (int a : argnums) {
    if (a == 0 || p_.mode != QuantMode::Affine) {
      r.push_back(zeros_like(in[size_t(a)]));
      continue;
    }
    Shape gsh = in[1].shape();
    gsh.push_back(p_.group_size);
    array g = reshape(cots[0], gsh);  // (..., groups, group_size)
    if (a == 1) {
      array q(outs[0].shape(), in[1].dtype(), std::make_shared<DequantizePrim>(stream(), p_),
              {in[0], ones_like(in[1]), zeros_like(in[2])});
      g = multiply(g, reshape(q, gsh));
    }
    r.push_back(sum(g, {-1}, false));
  }
  return r;
}

std::vector<array> DequantizePrim::jvp(const std::vector<array>& in, const std::vector<array>& tans,
                                       const std::vector<int>& argnums) {
  Shape os = in[0].shape();
  os.back() = in[0].shape(-1) * 32 / p_.bits;
  if (p_.mode != QuantMode::Affine) return {zeros(os, float32)};
  array ts = zeros_like(in[1]), tb = zeros_like(in[2]);
  for (size_t i = 0; i < argnums.size(); ++i) {
    if (argnums[i] == 1) ts = astype(tans[i], in[1].dtype());
    if (argnums[i] == 2) tb = astype(tans[i], in[2].dtype());
  }
  return {array(os, in[1].dtype(), std::make_shared<DequantizePrim>(stream(), p_), {in[0], ts, tb})};
}

std::pair<std::vector<array>, std::vector<int>> DequantizePrim::vmap(const std::vector<array>& in,
                                                                     const std::vector<int>& axes) {
  return vmap_leading_batch(in, axes);
}

namespace {

// Segment membership of the inner index: (S, K) with 1 where k0 <= k < k1.
array segment_mask(const array& segments, int64_t K, Dtype dt) {
  array s = astype(reshape(segments, {-1, 2}), int64);
  const int64_t S = s.shape(0);
  array k0 = slice(s, {0, 0}, {S, 1}, {1, 1}), k1 = slice(s, {0, 1}, {S, 2}, {1, 1});
  array k = reshape(arange(0, double(K), 1, int64), {1, K});
  return astype(logical_and(greater_equal(k, k0), less(k, k1)), dt);
}

}  // namespace

// out[s] = a[:, k0:k1] @ b[k0:k1, :] (MLX has no derivative for it):
// da = sum_s (cot[s] @ b^T) * mask[s], db = sum_s mask[s]^T * (a^T @ cot[s]).
std::vector<array> SegmentedMMPrim::vjp(const std::vector<array>& in,
                                        const std::vector<array>& cots,
                                        const std::vector<int>& argnums,
                                        const std::vector<array>&) {
  const array &a = in[0], &b = in[1];
  const int64_t M = a.shape(0), K = a.shape(1), N = b.shape(1);
  array cot = reshape(cots[0], {-1, M, N});
  std::vector<array> r;
  for (int k : argnums) {
    if (k == 2) {
      r.push_back(zeros_like(in[2]));
      continue;
    }
    array mask = segment_mask(in[2], K, cot.dtype());  // (S, K)
    if (k == 0)
      r.push_back(sum(multiply(matmul(cot, transpose(b)), expand_dims(mask, {1})), {0}, false));
    else
      r.push_back(sum(multiply(matmul(transpose(a), cot), expand_dims(mask, {2})), {0}, false));
  }
  return r;
}

std::vector<array> SegmentedMMPrim::jvp(const std::vector<array>& in,
                                        const std::vector<array>& tans,
                                        const std::vector<int>& argnums) {
  Shape os(in[2].shape().begin(), in[2].shape().end() - 1);
  os.push_back(in[0].shape(0));
  os.push_back(in[1].shape(1));
  std::optional<array> out;
  for (size_t i = 0; i < argnums.size(); ++i) {
    if (argnums[i] == 2) continue;
    std::vector<array> ins = in;
    ins[size_t(argnums[i])] = astype(tans[i], in[size_t(argnums[i])].dtype());
    array t(os, in[0].dtype(), std::make_shared<SegmentedMMPrim>(stream()), ins);
    out = out ? add(*out, t) : t;
  }
  if (!out) return {zeros(os, in[0].dtype())};
  return {*out};
}

// ---- vmap rules of the matmul variants

namespace {

// Indices (V, B) into a stack of V*Bm matrices (element v's stack at v*Bm);
// an index out of range for its own stack stays out of range.
array offset_indices(const array& idx, int64_t V, int64_t Bm) {
  array bm(int64_t(Bm), uint32);
  array off = multiply(reshape(iota(V), {V, 1}), bm);
  return where(greater_equal(idx, bm), array(int64_t(UINT32_MAX), uint32), add(idx, off));
}

// Folds the batch into the stacks of the matrices mats and the flat index
// array idx of a gathered matmul node: matrices batched together (any one
// batched: all of them) become one stack of V*Bm, their indices offset per
// batch element; the indices always become (V*B).
void fold_gathered(std::vector<array>& ins, const std::vector<array>& in,
                   const std::vector<int>& axes, std::initializer_list<int> mats, int idx,
                   int64_t V) {
  bool batched = false;
  for (int m : mats) batched |= axes[size_t(m)] >= 0;
  array ix = vmap_batched_front(in[size_t(idx)], axes[size_t(idx)], V);  // (V, B)
  if (batched) {
    int64_t Bm = 0;
    for (int m : mats) {
      array f = vmap_batched_front(in[size_t(m)], axes[size_t(m)], V);  // (V, Bm, r, c)
      Bm = f.shape(1);
      Shape s(f.shape().begin() + 1, f.shape().end());
      s[0] *= V;
      ins[size_t(m)] = reshape(f, s);
    }
    ix = offset_indices(ix, V, Bm);
  }
  ins[size_t(idx)] = reshape(ix, {-1});
}

std::pair<std::vector<array>, std::vector<int>> gathered_node(const std::vector<array>& ins,
                                                              int64_t V) {
  const array& o = vmap_unbatched_outputs()[0];  // (B, M, N)
  Shape fs = o.shape(), os = o.shape();
  fs[0] *= V;
  os.insert(os.begin(), V);
  array r(fs, o.dtype(), o.primitive_ptr(), ins);
  return {{reshape(r, os)}, {0}};
}

}  // namespace

std::pair<std::vector<array>, std::vector<int>> GatherMMPrim::vmap(const std::vector<array>& in,
                                                                   const std::vector<int>& axes) {
  const int64_t V = vmap_batch_size(in, axes);
  std::vector<array> ins = in;
  fold_gathered(ins, in, axes, {0}, 2, V);
  fold_gathered(ins, in, axes, {1}, 3, V);
  return gathered_node(ins, V);
}

std::pair<std::vector<array>, std::vector<int>> QMatmulPrim::vmap(const std::vector<array>& in,
                                                                  const std::vector<int>& axes) {
  const int64_t V = vmap_batch_size(in, axes);
  std::vector<array> ins = in;
  fold_gathered(ins, in, axes, {0}, 4, V);
  fold_gathered(ins, in, axes, {1, 2, 3}, 5, V);
  return gathered_node(ins, V);
}

// Batched segments add leading axes; a batched `a` folds into M, a batched
// `b` into N; otherwise the V problems sit side by side along the inner axis
// (a as (M, V*K), b as (V*K, N)) with the segments offset by v*K.
std::pair<std::vector<array>, std::vector<int>> SegmentedMMPrim::vmap(
    const std::vector<array>& in, const std::vector<int>& axes) {
  const int64_t V = vmap_batch_size(in, axes);
  const array& o = vmap_unbatched_outputs()[0];  // (..., M, N)
  const int sb = o.ndim() - 2;
  auto node = [&](Shape shape, std::vector<array> ins) {
    return array(std::move(shape), o.dtype(), o.primitive_ptr(), std::move(ins));
  };
  if (axes[0] < 0 && axes[1] < 0) {
    Shape os = o.shape();
    os.insert(os.begin(), V);
    return {{node(os, {in[0], in[1], vmap_to_front(in[2], axes[2])})}, {0}};
  }
  if (axes[1] < 0 && axes[2] < 0) {
    array a = vmap_to_front(in[0], axes[0]);  // (V, M, K)
    Shape fs = o.shape(), rs = o.shape();
    fs[size_t(sb)] *= V;
    rs.insert(rs.begin() + sb, V);
    array y = node(fs, {reshape(a, {V * a.shape(1), a.shape(2)}), in[1], in[2]});
    return {{reshape(y, rs)}, {sb}};
  }
  if (axes[0] < 0 && axes[2] < 0) {
    array b = vmap_to_front(in[1], axes[1]);  // (V, K, N)
    Shape fs = o.shape(), rs = o.shape();
    fs[size_t(sb) + 1] *= V;
    rs.insert(rs.begin() + sb + 1, V);
    array y = node(fs, {in[0], reshape(swapaxes(b, 0, 1), {b.shape(1), V * b.shape(2)}), in[2]});
    return {{reshape(y, rs)}, {sb + 1}};
  }
  array a = vmap_batched_front(in[0], axes[0], V);  // (V, M, K)
  array b = vmap_batched_front(in[1], axes[1], V);  // (V, K, N)
  const int64_t M = a.shape(1), K = a.shape(2);
  array s = astype(vmap_batched_front(in[2], axes[2], V), int64);  // (V, ..., 2)
  Shape offs(size_t(s.ndim()), 1);
  offs[0] = V;
  array kk(int64_t(K), int64);
  array off = reshape(multiply(arange(0, double(V), 1, int64), kk), offs);
  array bad = logical_or(less(s, array(int64_t(0), int64)), greater(s, kk));
  s = where(bad, array(int64_t(-1), int64), add(s, off));
  Shape os = o.shape();
  os.insert(os.begin(), V);
  return {{node(os, {reshape(swapaxes(a, 0, 1), {M, V * K}), reshape(b, {V * K, b.shape(2)}), s})},
          {0}};
}

}  // namespace oxmlx
