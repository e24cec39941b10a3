// Builders of the fused family (mx.fast, softmax): checks and dtype rules as
// MLX 0.32, the FastPrim node, and the compositions (MLX's definitions) that
// rms_norm, layer_norm and attention differentiate through.
#include "ops/fast.h"

#include <limits>
#include <numeric>

#include "backend/backend.h"

namespace oxmlx {

namespace {

Dtype compute_type(Dtype t) { return t == float64 ? float64 : float32; }

// finfo(t).min as a scalar of dtype t.
array lowest_of(Dtype t) {
  if (t == float16) return array(-65504.0, float16);
  if (t == bfloat16) return array(-3.3895313892515355e38, bfloat16);
  if (t == float64) return array(std::numeric_limits<double>::lowest(), float64);
  return array(double(std::numeric_limits<float>::lowest()), float32);
}

array fast_node(FastOp op, const FastParams& p, Shape shape, Dtype dt, std::vector<array> in,
                Stream st, ArrayFn fallback = {}) {
  return array(std::move(shape), dt, std::make_shared<FastPrim>(st, op, p, std::move(fallback)),
               std::move(in));
}

// The compositions of the row ops (what their kernels compute), used by a
// backend without the kernels.
ArrayFn softmax_fallback(Stream st) {
  return [st](const std::vector<array>& in) {
    if (in[0].size() == 0) return std::vector<array>{in[0]};
    Dtype ct = compute_type(in[0].dtype());
    array x = astype(in[0], ct, st);
    array e = exp(subtract(x, max(x, {-1}, true, st), st), st);
    return std::vector<array>{astype(divide(e, sum(e, {-1}, true, st), st), in[0].dtype(), st)};
  };
}

ArrayFn logsumexp_fallback(Stream st) {
  return [st](const std::vector<array>& in) {
    Shape sh = in[0].shape();
    sh.back() = 1;
    if (in[0].shape(-1) == 0)  // log of an empty sum
      return std::vector<array>{full(sh, array(-INFINITY, in[0].dtype()), in[0].dtype(), st)};
    Dtype ct = compute_type(in[0].dtype());
    array x = astype(in[0], ct, st);
    array m = max(x, {-1}, true, st);
    m = where(isinf(m, st), zeros_like(m, st), m, st);
    array r = add(log(sum(exp(subtract(x, m, st), st), {-1}, true, st), st), m, st);
    return std::vector<array>{astype(r, in[0].dtype(), st)};
  };
}

// MLX's rope composition on (B, N, T, D) with offset (1) or (B), [freqs].
ArrayFn rope_fallback(FastParams p, Stream st) {
  return [p, st](const std::vector<array>& in) {
    const array& x = in[0];
    const int64_t B = x.shape(0), N = x.shape(1), T = x.shape(2);
    const int64_t half = p.dims / 2;
    array off = reshape(astype(in[1], float32, st), {in[1].size(), 1, 1, 1}, st);
    array pos = multiply(add(reshape(arange(0.0, double(T), 1.0, float32, st), {1, 1, T, 1}, st),
                             off, st),
                         array(double(p.scale), float32), st);
    array inv = in.size() > 2
                    ? reciprocal(in[2], st)
                    : exp(multiply(arange(0.0, double(-half), -1.0, float32, st),
                                   array(double(std::log(p.base) / float(half)), float32), st),
                          st);
    array th = multiply(pos, inv, st);
    array c = astype(cos(th, st), x.dtype(), st), s = astype(sin(th, st), x.dtype(), st);
    Shape s1{0, 0, 0, 0}, e1{B, N, T, p.traditional ? p.dims : half}, st1{1, 1, 1, p.traditional ? 2 : 1};
    Shape s2{0, 0, 0, p.traditional ? 1 : half}, e2{B, N, T, p.dims};
    array x1 = slice(x, s1, e1, st1, st), x2 = slice(x, s2, e2, st1, st);
    array o1 = p.forward ? subtract(multiply(x1, c, st), multiply(x2, s, st), st)
                         : add(multiply(x2, s, st), multiply(x1, c, st), st);
    array o2 = p.forward ? add(multiply(x1, s, st), multiply(x2, c, st), st)
                         : subtract(multiply(x2, c, st), multiply(x1, s, st), st);
    array y = slice_update(x, o1, s1, e1, st1, st);
    return std::vector<array>{slice_update(y, o2, s2, e2, st1, st)};
  };
}

}  // namespace

void FastPrim::eval(const std::vector<array>& in, std::vector<array>& out) {
  Backend& be = backend_for(stream());
  if (be.supports_fast(op_)) return be.fast(op_, in, out, p_);
  // No kernel on this backend: evaluate the composition (its ops run on the
  // same stream) and take over its buffers.
  if (!fallback_)
    throw RuntimeError(msg("[", name(), "] is not implemented by the '", be.name(), "' backend."));
  std::vector<array> r = fallback_(in);
  oxmlx::eval(r);
  for (size_t i = 0; i < out.size(); ++i) out[i].copy_shared_buffer(r[i]);
}

std::string FastPrim::name() const {
  switch (op_) {
    case FastOp::RmsNorm: return "RMSNorm";
    case FastOp::LayerNorm: return "LayerNorm";
    case FastOp::Rope: return "RoPE";
    case FastOp::Softmax: return "Softmax";
    case FastOp::LogSumExp: return "LogSumExp";
    case FastOp::Sdpa: return "ScaledDotProductAttention";
    case FastOp::SdpaVjp: return "ScaledDotProductAttentionVJP";
    case FastOp::Exp: return "FastExp";
    case FastOp::GatedDelta: return "GatedDeltaUpdate";
    case FastOp::RmsNormVjp: return "RMSNormVJP";
    case FastOp::LayerNormVjp: return "LayerNormVJP";
  }
  return "Fast";
}

bool FastPrim::is_equivalent(const Primitive& o) const {
  auto* f = dynamic_cast<const FastPrim*>(&o);
  if (!f || f->op_ != op_) return false;
  const FastParams &a = p_, &b = f->p_;
  return a.eps == b.eps && a.scale == b.scale && a.base == b.base && a.dims == b.dims &&
         a.traditional == b.traditional && a.forward == b.forward &&
         a.has_weight == b.has_weight && a.has_bias == b.has_bias && a.causal == b.causal &&
         a.mask == b.mask && a.has_sinks == b.has_sinks;
}

// ------------------------------------------------------------ softmax

namespace {

// a with `axes` moved last (kept axes in order first) and flattened to
// (kept, n); perm is the transpose applied (empty when none was needed).
array rows_of(const array& a, const std::vector<int>& axes, std::vector<int>& perm, Shape& tshape,
              Stream st) {
  std::vector<bool> red(a.ndim(), false);
  for (int ax : axes) red[ax] = true;
  int64_t kept = 1, n = 1;
  for (int i = 0; i < a.ndim(); ++i)
    if (!red[i]) {
      perm.push_back(i);
      kept *= a.shape(i);
    }
  for (int i = 0; i < a.ndim(); ++i)
    if (red[i]) {
      perm.push_back(i);
      n *= a.shape(i);
    }
  bool identity = true;
  for (int i = 0; i < int(perm.size()); ++i) identity &= perm[i] == i;
  if (identity) perm.clear();
  array xt = perm.empty() ? a : transpose(a, perm, st);
  tshape = xt.shape();
  return reshape(xt, {kept, n}, st);
}

}  // namespace

array logsumexp_fused(const array& a_in, const std::vector<int>& axes_in, bool keepdims,
                      StreamOrDevice s) {
  Stream st = to_stream(s);
  if (is_complex(a_in.dtype()))
    throw ValueError("[logsumexp] complex inputs are not supported.");
  array a = is_floating(a_in.dtype()) ? a_in : astype(a_in, float32, st);
  auto axes = normalize_axes(axes_in, a.ndim(), "logsumexp");
  std::vector<int> perm;
  Shape tshape;
  array rows = rows_of(a, axes, perm, tshape, st);
  array r = logsumexp_last(rows, st);  // (kept, 1)
  Shape out = a.shape();
  for (int ax : axes) out[ax] = 1;
  // Kept axes keep their order, so the result reshapes straight back.
  r = reshape(r, out, st);
  return keepdims ? r : squeeze(r, axes, st);
}

array softmax_fused(const array& a_in, const std::vector<int>& axes_in, bool, StreamOrDevice s) {
  Stream st = to_stream(s);
  if (is_complex(a_in.dtype()))
    throw ValueError("[softmax] complex inputs are not supported.");
  array a = is_floating(a_in.dtype()) ? a_in : astype(a_in, float32, st);
  auto axes = normalize_axes(axes_in, a.ndim(), "softmax");
  std::vector<bool> red(a.ndim(), false);
  for (int ax : axes) red[ax] = true;
  std::vector<int> perm;
  int64_t kept = 1, n = 1;
  for (int i = 0; i < a.ndim(); ++i)
    if (!red[i]) {
      perm.push_back(i);
      kept *= a.shape(i);
    }
  for (int i = 0; i < a.ndim(); ++i)
    if (red[i]) {
      perm.push_back(i);
      n *= a.shape(i);
    }
  bool identity = true;
  for (int i = 0; i < int(perm.size()); ++i) identity &= perm[i] == i;
  array xt = identity ? a : transpose(a, perm, st);
  array y = fast_node(FastOp::Softmax, {}, {kept, n}, a.dtype(), {reshape(xt, {kept, n}, st)}, st,
                      softmax_fallback(st));
  y = reshape(y, xt.shape(), st);
  if (identity) return y;
  std::vector<int> inv(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inv[perm[i]] = int(i);
  return transpose(y, inv, st);
}

array logsumexp_last(const array& a, StreamOrDevice s) {
  Stream st = to_stream(s);
  if (!is_floating(a.dtype())) throw ValueError("[logsumexp] expected a floating point input.");
  Shape sh = a.shape();
  sh.back() = 1;
  return fast_node(FastOp::LogSumExp, {}, sh, a.dtype(), {a}, st, logsumexp_fallback(st));
}

array fast_exp(const array& a, StreamOrDevice s) {
  Stream st = to_stream(s);
  array x = astype(a, float32, st);
  return fast_node(FastOp::Exp, {}, x.shape(), float32, {x}, st,
                   [st](const std::vector<array>& in) { return std::vector<array>{exp(in[0], st)}; });
}

namespace fast {

// ---------------------------------------------------------------- norms

namespace {

void check_affine(const char* op, const char* what, const std::optional<array>& w, const array& x) {
  if (!w) return;
  if (w->ndim() != 1)
    throw ValueError(msg("[", op, "] ", what, " must have 1 dimension but has ", w->ndim(),
                         " dimensions."));
  if (w->size() != x.shape(-1))
    throw ValueError(msg("[", op, "] ", what,
                         " must have the same size as the last dimension of x but has ",
                         w->size(), " elements."));
}

}  // namespace

array rms_norm(const array& x, const std::optional<array>& weight, float eps, StreamOrDevice s) {
  if (x.ndim() == 0)
    throw ValueError("[rms_norm] Input must have at least 1 dimension but got input with 0 dimensions.");
  check_affine("rms_norm", "(*weight)", weight, x);
  Dtype out_t = weight ? promote_types(x.dtype(), weight->dtype()) : x.dtype();
  if (!is_floating(out_t))
    throw ValueError(msg("[rms_norm] Received unsupported type ", dtype_name(out_t), "."));
  Stream st = to_stream(s);
  FastParams p;
  p.eps = eps;
  p.has_weight = bool(weight);
  Dtype ct = compute_type(out_t);
  ArrayFn fallback = [p, out_t, ct, st](const std::vector<array>& in) {
    array x = astype(in[0], ct, st);
    array n = rsqrt(add(mean(square(x, st), {-1}, true, st), array(double(p.eps), ct), st), st);
    array y = astype(multiply(x, n, st), out_t, st);
    if (p.has_weight) y = multiply(y, in[1], st);
    return std::vector<array>{y};
  };
  array w = weight ? astype(*weight, out_t, st) : array(1.0, out_t);
  return fast_node(FastOp::RmsNorm, p, x.shape(), out_t, {astype(x, out_t, st), w}, st, fallback);
}

array layer_norm(const array& x, const std::optional<array>& weight,
                 const std::optional<array>& bias, float eps, StreamOrDevice s) {
  if (x.ndim() == 0)
    throw ValueError("[layer_norm] Input must have at least 1 dimension but got input with 0 dimensions.");
  check_affine("layer_norm", "weight", weight, x);
  check_affine("layer_norm", "bias", bias, x);
  Dtype out_t = x.dtype();
  if (weight) out_t = promote_types(out_t, weight->dtype());
  if (weight && bias) out_t = promote_types(out_t, bias->dtype());
  if (!is_floating(out_t))
    throw ValueError(msg("[layer_norm] Received unsupported type ", dtype_name(out_t), "."));
  Stream st = to_stream(s);
  FastParams p;
  p.eps = eps;
  p.has_weight = bool(weight);
  p.has_bias = bool(bias);
  Dtype ct = compute_type(out_t);
  ArrayFn fallback = [p, out_t, ct, st](const std::vector<array>& in) {
    array x = astype(in[0], ct, st);
    array mu = mean(x, {-1}, true, st);
    array xc = subtract(x, mu, st);
    array v = mean(square(xc, st), {-1}, true, st);
    array y = astype(multiply(xc, rsqrt(add(v, array(double(p.eps), ct), st), st), st), out_t, st);
    if (p.has_weight) y = multiply(y, in[1], st);
    if (p.has_bias) y = add(y, in[2], st);
    return std::vector<array>{y};
  };
  array w = weight ? astype(*weight, out_t, st) : array(1.0, out_t);
  array b = bias ? astype(*bias, out_t, st) : array(0.0, out_t);
  return fast_node(FastOp::LayerNorm, p, x.shape(), out_t, {astype(x, out_t, st), w, b}, st,
                   fallback);
}

// ----------------------------------------------------------------- rope

array rope(const array& x, int dims, bool traditional, std::optional<float> base, float scale,
           const array& offset_in, const std::optional<array>& freqs, StreamOrDevice s) {
  if (freqs && base) throw ValueError("[rope] Only one of base or freqs can have a value.");
  if (!freqs && !base) throw ValueError("[rope] Neither base nor freqs has a value.");
  if (x.ndim() < 3)
    throw ValueError(msg("[rope] Input must have at least 3 dimensions but got input with ",
                         x.ndim(), " dimensions."));
  if (!is_floating(x.dtype()))
    throw ValueError(msg("[rope] Input must be a floating type but got ", dtype_name(x.dtype()), "."));
  if (offset_in.ndim() > 1)
    throw ValueError(msg("[rope] offset must have at most one dimension but has shape ",
                         shape_str(offset_in.shape()), "."));
  if (offset_in.size() != 1 && offset_in.size() != x.shape(0))
    throw ValueError(msg("[rope] offset must be a scalar or vector with ", x.shape(0),
                         " elements but has shape ", shape_str(offset_in.shape()), "."));
  if (!is_integral(offset_in.dtype()))
    throw ValueError(msg("[rope] offset must be an integer but got type ",
                         dtype_name(offset_in.dtype()), "."));
  if (dims <= 0) throw ValueError(msg("[rope] dims must be positive but got ", dims, "."));
  if (dims % 2 != 0) throw ValueError(msg("[rope] dims must be even but got ", dims, "."));
  if (dims > x.shape(-1))
    throw ValueError(msg("[rope] dims must not exceed the input's last dimension (", x.shape(-1),
                         ") but got ", dims, "."));
  if (freqs && (freqs->ndim() != 1 || freqs->shape(0) != dims / 2))
    throw ValueError(msg("[rope] freqs must be one dimensional with size ", dims / 2,
                         " but got shape ", shape_str(freqs->shape()), "."));
  Stream st = to_stream(s);
  FastParams p;
  p.dims = dims;
  p.traditional = traditional;
  p.base = base.value_or(1.0f);
  p.scale = scale;
  int64_t B = x.shape(0), T = x.shape(-2), D = x.shape(-1);
  int64_t N = x.size() == 0 ? 0 : x.size() / std::max<int64_t>(B * T * D, 1);
  if (x.size() == 0) {
    N = 1;
    for (int i = 1; i < x.ndim() - 2; ++i) N *= x.shape(i);
  }
  std::vector<array> in = {reshape(x, {B, N, T, D}, st),
                           reshape(astype(offset_in, int32, st), {offset_in.size()}, st)};
  if (freqs) in.push_back(astype(*freqs, float32, st));
  array y = fast_node(FastOp::Rope, p, {B, N, T, D}, x.dtype(), std::move(in), st,
                      rope_fallback(p, st));
  return reshape(y, x.shape(), st);
}

// ------------------------------------------------------------ attention

array scaled_dot_product_attention(const array& queries, const array& keys, const array& values,
                                   float scale, const std::string& mask_mode,
                                   const std::optional<array>& mask_in,
                                   const std::optional<array>& sinks_in, StreamOrDevice s) {
  const char* op = "[scaled_dot_product_attention]";
  for (const array* t : {&queries, &keys, &values})
    if (t->ndim() != 4)
      throw ValueError(msg(op, " input with shape ", shape_str(t->shape()), " expected to be rank 4"));
  if (mask_mode != "" && mask_mode != "causal" && mask_mode != "array")
    throw ValueError(msg(op, " invalid mask option '", mask_mode, "'. Must be 'causal', or an array."));
  bool causal = mask_mode == "causal";
  bool has_arr = mask_mode == "array" && mask_in;
  if (has_arr && mask_in->ndim() > 4)
    throw ValueError(msg(op, " the mask with shape ", shape_str(mask_in->shape()),
                         " expected to have at most rank 4."));
  for (const array* t : {&keys, &values})
    if (t->shape(0) != queries.shape(0))
      throw ValueError(msg(op, " mismatching batch dimension for input with shape ",
                           shape_str(t->shape()), "."));
  if (queries.shape(-1) != keys.shape(-1))
    throw ValueError(msg(op, " query, keys expected to have matching last dimension; found query shape ",
                         shape_str(queries.shape()), " for keys shape ", shape_str(keys.shape()), "."));
  int64_t nq = queries.shape(1), nkv = keys.shape(1);
  if (values.shape(1) != nkv)
    throw ValueError(msg(op, " keys, values expected to have matching n_kv_heads; found keys with n_heads ",
                         nkv, " for values with n_heads ", values.shape(1), "."));
  if (nkv == 0 || nq % nkv != 0)
    throw ValueError(msg(op, " n_heads must be a multiple of n_kv_heads, found n_heads ", nq,
                         " for n_kv_heads ", nkv, "."));
  if (values.shape(2) != keys.shape(2))
    throw ValueError(msg(op, " keys and values expected to have the same sequence length; found ",
                         keys.shape(2), " and ", values.shape(2), "."));
  Dtype ft = promote_types(promote_types(queries.dtype(), keys.dtype()), values.dtype());
  if (!is_floating(ft))
    throw ValueError(msg(op, " Received unsupported type ", dtype_name(ft), "."));
  Stream st = to_stream(s);
  int64_t B = queries.shape(0), Tq = queries.shape(2), Tkv = keys.shape(2), Dv = values.shape(3);
  FastParams p;
  p.scale = scale;
  p.causal = causal;
  std::vector<array> in = {astype(queries, ft, st), astype(keys, ft, st), astype(values, ft, st)};
  if (has_arr) {
    bool is_bool = mask_in->dtype() == bool_;
    if (!is_bool && promote_types(mask_in->dtype(), ft) != ft)
      throw ValueError(msg(op, " Mask type must promote to output type ", dtype_name(ft), "."));
    p.mask = is_bool ? 1 : 2;
    array m = is_bool ? *mask_in : astype(*mask_in, ft, st);
    in.push_back(broadcast_to(m, {B, nq, Tq, Tkv}, st));
  }
  if (sinks_in) {
    if (promote_types(sinks_in->dtype(), ft) != ft)
      throw ValueError(msg(op, " Type of sinks must promote to output type ", dtype_name(ft), "."));
    if (sinks_in->ndim() != 1 || sinks_in->shape(0) != nq)
      throw ValueError(msg(op, " Received invalid shape for sinks ", shape_str(sinks_in->shape()), "."));
    p.has_sinks = true;
    in.push_back(astype(*sinks_in, ft, st));
  }
  int64_t rep = nq / nkv;
  ArrayFn fallback = [p, B, nq, nkv, rep, Tq, Tkv, Dv, ft, st](const std::vector<array>& in) {
    Dtype ct = compute_type(ft);
    if (Tkv == 0) {  // softmax over no keys: an empty sum of values
      array ninf = full({B, nq, Tq}, array(-INFINITY, ct), ct, st);
      return std::vector<array>{zeros({B, nq, Tq, Dv}, ft, st), ninf, ninf};
    }
    array q = reshape(multiply(array(double(p.scale), ft), in[0], st),
                      {B, nkv, rep, Tq, in[0].shape(3)}, st);
    array k = expand_dims(in[1], {2}, st);
    array v = expand_dims(in[2], {2}, st);
    array sc = matmul(q, swapaxes(k, -1, -2, st), st);
    int idx = 3;
    if (p.causal) {
      array qi = expand_dims(arange(double(Tkv - Tq), double(Tkv), 1.0, int32, st), {1}, st);
      array ki = expand_dims(arange(0.0, double(Tkv), 1.0, int32, st), {0}, st);
      sc = where(greater_equal(qi, ki, st), sc, lowest_of(ft), st);
    } else if (p.mask) {
      array m = reshape(in[idx++], {B, nkv, rep, Tq, Tkv}, st);
      sc = p.mask == 1 ? where(m, sc, lowest_of(ft), st) : add(sc, m, st);
    }
    array sc32 = astype(sc, ct, st);
    // Row statistics kept by the kernel: m = max (with the sink), log(l).
    array m = max(sc32, {-1}, true, st);
    array sum_e;
    array w;
    if (p.has_sinks) {
      array sk = reshape(astype(in[idx], ct, st), {1, nkv, rep, 1, 1}, st);
      m = maximum(m, sk, st);
      array e = exp(subtract(sc32, m, st), st);
      sum_e = add(sum(e, {-1}, true, st), exp(subtract(sk, m, st), st), st);
      w = divide(e, sum_e, st);
    } else {
      w = softmax_fused(sc32, {-1}, true, st);
      sum_e = sum(exp(subtract(sc32, m, st), st), {-1}, true, st);
    }
    array o = matmul(astype(w, ft, st), v, st);
    return std::vector<array>{reshape(o, {B, nq, Tq, Dv}, st), reshape(m, {B, nq, Tq}, st),
                              reshape(log(sum_e, st), {B, nq, Tq}, st)};
  };
  // Outputs: the attention and each row's max and log-sum (kept for the backward).
  Dtype ct = compute_type(ft);
  return array::make_arrays({{B, nq, Tq, Dv}, {B, nq, Tq}, {B, nq, Tq}}, {ft, ct, ct},
                            std::make_shared<FastPrim>(st, FastOp::Sdpa, p, fallback),
                            std::move(in))[0];
}

// ------------------------------------------------------- cross entropy

array cross_entropy(const array& logits, const array& targets, StreamOrDevice s) {
  if (logits.ndim() == 0)
    throw ValueError("[cross_entropy] logits must have at least 1 dimension.");
  if (!is_floating(logits.dtype()))
    throw ValueError(msg("[cross_entropy] Received unsupported logits type ",
                         dtype_name(logits.dtype()), "."));
  if (!is_integral(targets.dtype()))
    throw ValueError(msg("[cross_entropy] targets must be integer class indices but got ",
                         dtype_name(targets.dtype()), "."));
  Shape want(logits.shape().begin(), logits.shape().end() - 1);
  if (targets.shape() != want)
    throw ValueError(msg("[cross_entropy] targets shape ", shape_str(targets.shape()),
                         " does not match logits shape ", shape_str(logits.shape()),
                         " with the last axis removed."));
  Stream st = to_stream(s);
  Dtype ct = logits.dtype() == float64 ? float64 : float32;
  array x = astype(logits, ct, st);
  array picked = take_along_axis(x, expand_dims(targets, {-1}, st), -1, st);
  return astype(squeeze(subtract(logsumexp_last(x, st), picked, st), {-1}, st), float32, st);
}

// ------------------------------------------------------ gated delta rule

std::vector<array> gated_delta_update(const array& q, const array& k, const array& v,
                                      const array& gamma, const array& beta,
                                      const std::optional<array>& initial_state,
                                      const std::optional<array>& mask, StreamOrDevice s) {
  const char* op = "[gated_delta_update]";
  for (const array* t : {&q, &k, &v})
    if (t->ndim() != 4)
      throw ValueError(msg(op, " q, k and v must have 4 dimensions (B, T, H, D) but got shape ",
                           shape_str(t->shape()), "."));
  if (k.shape() != q.shape())
    throw ValueError(msg(op, " q and k must have the same shape but got ", shape_str(q.shape()),
                         " and ", shape_str(k.shape()), "."));
  const int64_t B = q.shape(0), T = q.shape(1), Hk = q.shape(2), Dk = q.shape(3);
  const int64_t Hv = v.shape(2), Dv = v.shape(3);
  if (v.shape(0) != B || v.shape(1) != T)
    throw ValueError(msg(op, " v of shape ", shape_str(v.shape()), " does not match q of shape ",
                         shape_str(q.shape()), " in (B, T)."));
  if (Hk == 0 || Hv % Hk != 0)
    throw ValueError(msg(op, " the value heads (", Hv, ") must be a multiple of the key heads (",
                         Hk, ")."));
  Shape gs{B, T, Hv}, gs4{B, T, Hv, Dk};
  if (gamma.shape() != gs && gamma.shape() != gs4)
    throw ValueError(msg(op, " gamma must have shape ", shape_str(gs), " or ", shape_str(gs4),
                         " but got ", shape_str(gamma.shape()), "."));
  if (beta.shape() != gs)
    throw ValueError(msg(op, " beta must have shape ", shape_str(gs), " but got ",
                         shape_str(beta.shape()), "."));
  Shape ss{B, Hv, Dv, Dk};
  if (initial_state && initial_state->shape() != ss)
    throw ValueError(msg(op, " initial_state must have shape ", shape_str(ss), " but got ",
                         shape_str(initial_state->shape()), "."));
  if (mask && mask->shape() != Shape{B, T})
    throw ValueError(msg(op, " mask must have shape ", shape_str(Shape{B, T}), " but got ",
                         shape_str(mask->shape()), "."));
  Dtype out_t = promote_types(promote_types(q.dtype(), k.dtype()), v.dtype());
  if (!is_floating(out_t))
    throw ValueError(msg(op, " Received unsupported type ", dtype_name(out_t), "."));
  Dtype st_t = promote_types(out_t, float32);
  Stream st = to_stream(s);
  std::vector<array> in = {astype(q, out_t, st), astype(k, out_t, st), astype(v, out_t, st),
                           astype(gamma, st_t, st), astype(beta, st_t, st),
                           initial_state ? astype(*initial_state, st_t, st) : zeros(ss, st_t, st)};
  if (mask) in.push_back(astype(*mask, bool_, st));
  const int64_t rep = Hv / Hk;
  const bool g_vec = gamma.ndim() == 4;
  // The recurrence step by step in core ops (what the kernel computes).
  ArrayFn fallback = [=](const std::vector<array>& x) {
    auto step = [&](const array& a, int64_t t) {  // a[:, t]
      Shape start(a.ndim(), 0), stop = a.shape(), str(a.ndim(), 1);
      start[1] = t;
      stop[1] = t + 1;
      return squeeze(slice(a, start, stop, str, st), {1}, st);
    };
    auto heads = [&](const array& a) {  // (B, Hk, D) -> (B, Hv, D)
      array e = broadcast_to(expand_dims(a, {2}, st), {B, Hk, rep, Dk}, st);
      return reshape(e, {B, Hv, Dk}, st);
    };
    array S = x[5];
    array y = zeros({B, T, Hv, Dv}, out_t, st);
    for (int64_t t = 0; t < T; ++t) {
      array qt = astype(heads(step(x[0], t)), st_t, st);
      array kt = astype(heads(step(x[1], t)), st_t, st);
      array vt = astype(step(x[2], t), st_t, st);
      array gt = g_vec ? expand_dims(step(x[3], t), {2}, st) : reshape(step(x[3], t), {B, Hv, 1, 1}, st);
      array bt = reshape(step(x[4], t), {B, Hv, 1}, st);
      array Sn = multiply(S, gt, st);
      array kv = squeeze(matmul(Sn, expand_dims(kt, {-1}, st), st), {-1}, st);
      array d = multiply(bt, subtract(vt, kv, st), st);
      Sn = add(Sn, multiply(expand_dims(d, {-1}, st), expand_dims(kt, {2}, st), st), st);
      array yt = squeeze(matmul(Sn, expand_dims(qt, {-1}, st), st), {-1}, st);
      if (x.size() > 6) {
        array mt = reshape(step(x[6], t), {B, 1, 1, 1}, st);
        S = where(mt, Sn, S, st);
        yt = where(reshape(mt, {B, 1, 1}, st), yt, zeros_like(yt, st), st);
      } else {
        S = Sn;
      }
      y = slice_update(y, expand_dims(astype(yt, out_t, st), {1}, st), {0, t, 0, 0},
                       {B, t + 1, Hv, Dv}, {1, 1, 1, 1}, st);
    }
    return std::vector<array>{y, S};
  };
  return array::make_arrays({{B, T, Hv, Dv}, ss}, {out_t, st_t},
                            std::make_shared<FastPrim>(st, FastOp::GatedDelta, FastParams{}, fallback),
                            std::move(in));
}

}  // namespace fast

// ------------------------------------------------------- derivative rules

std::vector<array> FastPrim::vjp(const std::vector<array>& primals,
                                 const std::vector<array>& cots, const std::vector<int>& argnums,
                                 const std::vector<array>& outs) {
  Stream st = stream();
  switch (op_) {
    case FastOp::Softmax: {
      const array &y = outs[0], &g = cots[0];
      return {multiply(y, subtract(g, sum(multiply(g, y, st), {-1}, true, st), st), st)};
    }
    case FastOp::LogSumExp:
      return {multiply(cots[0], exp(subtract(primals[0], outs[0], st), st), st)};
    case FastOp::Sdpa: {
      bool qkv_only = true;
      for (int a : argnums) qkv_only &= a < 3;
      if (!qkv_only) break;  // mask / sinks: through the composition below
      ArrayFn fwd = fallback_;
      size_t np = primals.size();
      ArrayFn fb = [fwd, np](const std::vector<array>& a) {
        std::vector<array> pr(a.begin(), a.begin() + np);
        auto outs = fwd(pr);
        std::vector<array> c = {a.back(), zeros_like(outs[1]), zeros_like(outs[2])};
        auto all = oxmlx::vjp(fwd, pr, c).second;
        return std::vector<array>(all.begin(), all.begin() + 3);
      };
      std::vector<array> in = primals;
      in.push_back(outs[0]);
      in.push_back(outs[1]);
      in.push_back(outs[2]);
      in.push_back(cots[0]);
      auto all = array::make_arrays({primals[0].shape(), primals[1].shape(), primals[2].shape()},
                                    {primals[0].dtype(), primals[1].dtype(), primals[2].dtype()},
                                    std::make_shared<FastPrim>(st, FastOp::SdpaVjp, p_, fb),
                                    std::move(in));
      std::vector<array> r;
      for (int a : argnums) r.push_back(all[a]);
      return r;
    }
    case FastOp::RmsNorm:
    case FastOp::LayerNorm: {
      // One fused backward node; its own derivatives (grad of grad) go
      // through the vjp of the forward composition.
      FastOp vop = op_ == FastOp::RmsNorm ? FastOp::RmsNormVjp : FastOp::LayerNormVjp;
      ArrayFn fwd = fallback_;
      size_t np = primals.size();
      ArrayFn fb = [fwd, np](const std::vector<array>& a) {
        std::vector<array> pr(a.begin(), a.begin() + np);
        return oxmlx::vjp(fwd, pr, {a.back()}).second;
      };
      std::vector<array> in = primals;
      in.push_back(cots[0]);
      std::vector<Shape> shapes;
      std::vector<Dtype> dtypes;
      for (const auto& p : primals) {
        shapes.push_back(p.shape());
        dtypes.push_back(p.dtype());
      }
      auto all = array::make_arrays(std::move(shapes), std::move(dtypes),
                                    std::make_shared<FastPrim>(st, vop, p_, fb), std::move(in));
      std::vector<array> r;
      for (int a : argnums) r.push_back(all[a]);
      return r;
    }
    case FastOp::Rope: {
      for (int a : argnums)
        if (a != 0) throw ValueError("[RoPE::vjp] vjp for offset or frequencies not supported");
      FastParams q = p_;
      q.forward = !q.forward;
      std::vector<array> in = {cots[0], primals[1]};
      if (primals.size() > 2) in.push_back(primals[2]);
      return {fast_node(FastOp::Rope, q, cots[0].shape(), cots[0].dtype(), std::move(in), st,
                        rope_fallback(q, st))};
    }
    default:
      break;
  }
  if (!fallback_) throw ValueError(msg("[", name(), "] vjp is not implemented."));
  auto [o, all] = oxmlx::vjp(fallback_, primals, cots);
  std::vector<array> r;
  for (int a : argnums) r.push_back(all[a]);
  return r;
}

std::vector<array> FastPrim::jvp(const std::vector<array>& primals,
                                 const std::vector<array>& tans, const std::vector<int>& argnums) {
  Stream st = stream();
  switch (op_) {
    case FastOp::Softmax: {
      array y = fast_node(op_, p_, primals[0].shape(), primals[0].dtype(), primals, st, fallback_);
      const array& t = tans[0];
      return {multiply(y, subtract(t, sum(multiply(t, y, st), {-1}, true, st), st), st)};
    }
    case FastOp::LogSumExp: {
      Shape sh = primals[0].shape();
      sh.back() = 1;
      array y = fast_node(op_, p_, sh, primals[0].dtype(), primals, st, fallback_);
      return {sum(multiply(tans[0], exp(subtract(primals[0], y, st), st), st), {-1}, true, st)};
    }
    case FastOp::Rope: {
      if (argnums.size() != 1 || argnums[0] != 0)
        throw ValueError("[RoPE::jvp] jvp for offset or frequencies not supported");
      std::vector<array> in = primals;
      in[0] = tans[0];
      return {fast_node(FastOp::Rope, p_, tans[0].shape(), tans[0].dtype(), std::move(in), st,
                        fallback_)};
    }
    default: {
      if (!fallback_) throw ValueError(msg("[", name(), "] jvp is not implemented."));
      std::vector<array> all;
      for (size_t i = 0, j = 0; i < primals.size(); ++i) {
        if (j < argnums.size() && argnums[j] == int(i)) all.push_back(tans[j++]);
        else all.push_back(zeros_like(primals[i]));
      }
      auto [o, t] = oxmlx::jvp(fallback_, primals, all);
      return t;
    }
  }
}

// ------------------------------------------------------------ vmap rule

namespace {

// (V, B, ...) -> (V*B, ...)
array merge_front(const array& f) {
  Shape s(f.shape().begin() + 1, f.shape().end());
  s[0] *= f.shape(0);
  return reshape(f, s);
}

// The composition of a node whose inputs `fold` had the batch merged into
// their leading axis (B_i -> V*B_i): inputs split again, the original
// composition vmapped over V, outputs merged back. Used when the backend has
// no kernel (the compositions read B from their captured shapes).
ArrayFn folded_fallback(ArrayFn fb, int64_t V, std::vector<int64_t> lead) {
  return [fb, V, lead](const std::vector<array>& in) {
    std::vector<array> ins;
    std::vector<int> ax;
    for (size_t i = 0; i < in.size(); ++i) {
      if (lead[i] < 0) {
        ins.push_back(in[i]);
        ax.push_back(kVmapNone);
        continue;
      }
      Shape s = in[i].shape();
      s[0] = lead[i];
      s.insert(s.begin(), V);
      ins.push_back(reshape(in[i], s));
      ax.push_back(0);
    }
    std::vector<array> outs = oxmlx::vmap(fb, ins, ax, std::vector<int>{0});
    for (auto& o : outs) o = merge_front(o);
    return outs;
  };
}

}  // namespace

// Softmax, logsumexp and exp act on rows of the last axis: the batch axis
// goes in front. The norms take the batch in front of x's rows unless the
// weight or bias is batched. Rope, attention and the gated delta rule fold
// the batch into their batch axis B (rope's offset and attention's inputs
// broadcast as needed), except batched frequencies (rope) or sinks
// (attention). The remaining cases (a batched norm weight / bias, rope
// frequencies, attention sinks, and the norms' backward nodes, whose weight
// gradients sum over all rows) vmap the node's composition, whose ops all
// batch natively.
std::pair<std::vector<array>, std::vector<int>> FastPrim::vmap(const std::vector<array>& in,
                                                               const std::vector<int>& axes) {
  const int64_t V = vmap_batch_size(in, axes);
  const std::vector<array>& outs = vmap_unbatched_outputs();
  auto composition = [&]() -> std::pair<std::vector<array>, std::vector<int>> {
    if (!fallback_) return vmap_fallback(in, axes);
    std::vector<int> ax;
    for (int a : axes) ax.push_back(a < 0 ? kVmapNone : a);
    std::vector<array> r = oxmlx::vmap(fallback_, in, ax, std::vector<int>{0});
    return {r, std::vector<int>(r.size(), 0)};
  };
  switch (op_) {
    case FastOp::Softmax:
    case FastOp::LogSumExp:
    case FastOp::Exp:
      return vmap_leading_batch(in, axes);
    case FastOp::RmsNorm:
    case FastOp::LayerNorm: {
      for (size_t i = 1; i < in.size(); ++i)
        if (axes[i] >= 0) return composition();
      std::vector<array> ins = in;
      ins[0] = vmap_to_front(in[0], axes[0]);
      return {{array(ins[0].shape(), outs[0].dtype(), outs[0].primitive_ptr(), ins)}, {0}};
    }
    case FastOp::Rope: {
      if (in.size() > 2 && axes[2] >= 0) return composition();
      array x = vmap_batched_front(in[0], axes[0], V);  // (V, B, N, T, D)
      const int64_t B = x.shape(1);
      std::vector<array> ins = in;
      ins[0] = merge_front(x);
      if (axes[1] >= 0 || in[1].size() != 1) {
        array off = vmap_batched_front(in[1], axes[1], V);  // (V, 1) or (V, B)
        ins[1] = reshape(broadcast_to(off, {V, B}), {V * B});
      }
      array y(ins[0].shape(), outs[0].dtype(), outs[0].primitive_ptr(), ins);
      return {{reshape(y, x.shape())}, {0}};
    }
    case FastOp::Sdpa:
    case FastOp::SdpaVjp:
    case FastOp::GatedDelta: {
      int sinks = -1;
      if (op_ != FastOp::GatedDelta && p_.has_sinks) sinks = 3 + (p_.mask ? 1 : 0);
      if (sinks >= 0 && axes[size_t(sinks)] >= 0) return composition();
      std::vector<array> ins;
      std::vector<int64_t> lead;
      for (size_t i = 0; i < in.size(); ++i) {
        if (int(i) == sinks) {
          ins.push_back(in[i]);
          lead.push_back(-1);
          continue;
        }
        array f = vmap_batched_front(in[i], axes[i], V);
        lead.push_back(f.shape(1));
        ins.push_back(merge_front(f));
      }
      std::vector<Shape> shapes;
      std::vector<Dtype> dtypes;
      for (auto& o : outs) {
        Shape s = o.shape();
        s[0] *= V;
        shapes.push_back(std::move(s));
        dtypes.push_back(o.dtype());
      }
      auto prim = std::make_shared<FastPrim>(stream(), op_, p_, folded_fallback(fallback_, V, lead));
      std::vector<array> r = array::make_arrays(shapes, dtypes, prim, std::move(ins));
      for (size_t k = 0; k < r.size(); ++k) {
        Shape s = outs[k].shape();
        s.insert(s.begin(), V);
        r[k] = reshape(r[k], s);
      }
      return {r, std::vector<int>(r.size(), 0)};
    }
    default:
      return composition();
  }
}

}  // namespace oxmlx
