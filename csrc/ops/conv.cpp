// Convolution family: the Conv primitive, conv_general and the MLX ops built
// on it (conv1d/2d/3d, conv_transpose1d/2d/3d, convolve), and its vjp/jvp.
//
// Layout is MLX's: input (N, spatial..., C_in), weight (C_out, spatial...,
// C_in / groups), output (N, spatial..., C_out). Along each spatial dim the
// input is dilated by input_dilation, padded by (pad_lo, pad_hi) (negative
// pads crop) and cross-correlated with the kernel dilated by kernel_dilation
// (flipped when `flip`: true convolution) at `stride`:
//   out = (in_dil + lo + hi - k_dil) / stride + 1.
#include <algorithm>

#include "core/transforms.h"
#include "ops/conv.h"
#include "ops/primitives.h"

namespace oxmlx {

namespace {

class ConvPrim : public Primitive {
 public:
  ConvPrim(Stream s, std::vector<int> stride, std::vector<int> lo, std::vector<int> hi,
           std::vector<int> kdil, std::vector<int> idil, int groups, bool flip)
      : Primitive(s), stride_(std::move(stride)), lo_(std::move(lo)), hi_(std::move(hi)),
        kdil_(std::move(kdil)), idil_(std::move(idil)), groups_(groups), flip_(flip) {}
  void eval(const std::vector<array>& in, std::vector<array>& out) override {
    backend_for(stream()).conv(in[0], in[1], out[0], stride_, lo_, hi_, kdil_, idil_, groups_,
                               flip_);
  }
  std::vector<array> vjp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&, const std::vector<array>&) override;
  std::vector<array> jvp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&) override;
  OXMLX_VMAP_RULE
  std::string name() const override { return "Convolution"; }
  bool is_equivalent(const Primitive& o) const override {
    auto* p = dynamic_cast<const ConvPrim*>(&o);
    return p && p->stride_ == stride_ && p->lo_ == lo_ && p->hi_ == hi_ && p->kdil_ == kdil_ &&
           p->idil_ == idil_ && p->groups_ == groups_ && p->flip_ == flip_;
  }

  std::vector<int> stride_, lo_, hi_, kdil_, idil_;
  int groups_;
  bool flip_;

  struct Params {
    std::vector<int> stride, lo, hi, kdil, idil;
    int groups;
    bool flip;
  };
  Params params() const { return {stride_, lo_, hi_, kdil_, idil_, groups_, flip_}; }
};

// The weight gradient of a convolution: inputs {x, cot}, out shaped like w.
class ConvWeightGradPrim : public Primitive {
 public:
  ConvWeightGradPrim(Stream s, ConvPrim::Params p, Shape wshape)
      : Primitive(s), p_(std::move(p)), wshape_(std::move(wshape)) {}
  void eval(const std::vector<array>& in, std::vector<array>& out) override {
    backend_for(stream()).conv_weight_grad(in[0], in[1], out[0], p_.stride, p_.lo, p_.hi, p_.kdil,
                                           p_.idil, p_.groups, p_.flip);
  }
  std::vector<array> vjp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&, const std::vector<array>&) override;
  std::vector<array> jvp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&) override;
  OXMLX_VMAP_RULE
  std::string name() const override { return "ConvolutionWeightGrad"; }
  ConvPrim::Params p_;
  Shape wshape_;
};

int64_t dilated(int64_t n, int64_t d) { return n == 0 ? 0 : d * (n - 1) + 1; }

// The node, with shape inference only (callers have checked the arguments;
// the derivative rules use it directly with pads of any sign).
array conv_node(const array& in, const array& w, const std::vector<int>& stride,
                const std::vector<int>& lo, const std::vector<int>& hi,
                const std::vector<int>& kdil, const std::vector<int>& idil, int groups, bool flip,
                Stream st) {
  const int nd = in.ndim() - 2;
  Shape out{in.shape(0)};
  for (int i = 0; i < nd; ++i) {
    int64_t span = dilated(in.shape(1 + i), idil[i]) + lo[i] + hi[i] -
                   dilated(w.shape(1 + i), kdil[i]);
    out.push_back(span < 0 ? 0 : span / stride[i] + 1);
  }
  out.push_back(w.shape(0));
  return array(std::move(out), in.dtype(),
               std::make_shared<ConvPrim>(st, stride, lo, hi, kdil, idil, groups, flip), {in, w});
}

std::string vec_str(const std::vector<int>& v) { return shape_str(v); }

std::vector<int> expand(std::vector<int> v, int nd, const char* what, int n_spatial) {
  if (v.size() == 1 && nd > 1) v.assign(size_t(nd), v[0]);
  if (int(v.size()) != nd)
    throw ValueError(msg("[conv] Invalid ", what, " ", vec_str(v), " for ", n_spatial,
                         "D convolution."));
  return v;
}

void check_float(const array& a, const char* what) {
  if (!is_floating(a.dtype()))
    throw ValueError(msg("[conv] Invalid ", what, " array with type ", dtype_name(a.dtype()),
                         ". Convolution currently only supports floating point types"));
}

}  // namespace

namespace {

// MLX's argument checks; expands scalar parameters to one per spatial dim.
void check_conv_args(const array& in_, const array& w_, std::vector<int>& stride,
                     std::vector<int>& lo, std::vector<int>& hi, std::vector<int>& kdil,
                     std::vector<int>& idil, int groups) {
  if (in_.ndim() < 3 || in_.ndim() > 5)
    throw ValueError(
        "[conv] Only works for inputs with 1-3 spatial dimensions. The inputs must be in the "
        "format [N, ..., C_in]");
  const int nd = in_.ndim() - 2;
  if (w_.ndim() != in_.ndim())
    throw ValueError(msg("[conv] Invalid weight array with ", w_.ndim(), " dimensions for ", nd,
                         "D convolution. Expected an array with ", nd + 2,
                         " dimensions following the format [C_out, ..., C_in]."));
  check_float(in_, "input");
  check_float(w_, "weight");
  stride = expand(std::move(stride), nd, "strides", nd);
  kdil = expand(std::move(kdil), nd, "kernel dilation", nd);
  idil = expand(std::move(idil), nd, "input dilation", nd);
  if (lo.size() == 1 && nd > 1) lo.assign(size_t(nd), lo[0]);
  if (hi.size() == 1 && nd > 1) hi.assign(size_t(nd), hi[0]);
  if (int(lo.size()) != nd || int(hi.size()) != nd)
    throw ValueError(msg("[conv] Invalid padding ", vec_str(lo), " | ", vec_str(hi), " for ", nd,
                         "D convolution."));
  auto positive = [](const std::vector<int>& v) {
    return std::all_of(v.begin(), v.end(), [](int x) { return x > 0; });
  };
  if (!positive(stride))
    throw ValueError(msg("[conv] Stride sizes must be positive. Got strides ", vec_str(stride), "."));
  if (!positive(kdil))
    throw ValueError(msg("[conv] Kernel dilation sizes must be positive. Got kernel dilation ",
                         vec_str(kdil), "."));
  if (!positive(idil))
    throw ValueError(msg("[conv] Input dilation sizes must be positive. Got input dilation ",
                         vec_str(idil), "."));
  if (groups < 1)
    throw ValueError(msg("[conv] The number of groups must be positive. Got ", groups, " groups."));
  const int64_t C = in_.shape(-1), O = w_.shape(0);
  if (C % groups != 0)
    throw ValueError(msg("[conv] The input channels must be divisible by the number of groups. "
                         "Got input with shape ",
                         shape_str(in_.shape()), " and ", groups, " groups."));
  if (w_.shape(-1) * groups != C)
    throw ValueError(msg("[conv] Expect the input channels in the input and weight array to "
                         "match but got shapes - input: ",
                         shape_str(in_.shape()), " and weight: ", shape_str(w_.shape())));
  if (groups > 1 && O % groups != 0)
    throw ValueError(msg("[conv] If groups > 1, the output channels must be divisible by the "
                         "number of groups. Got ",
                         O, " output channels and ", groups, " groups."));
}

void check_spatial(const array& x, const array& w_, const std::vector<int>& lo,
                   const std::vector<int>& hi, const std::vector<int>& kdil,
                   const std::vector<int>& idil) {
  for (int i = 0; i < x.ndim() - 2; ++i) {
    if (dilated(x.shape(1 + i), idil[i]) + lo[i] + hi[i] < dilated(w_.shape(1 + i), kdil[i]))
      throw ValueError(msg("[conv] Spatial dimensions of input after padding cannot be smaller "
                           "than weight spatial dimensions. Got error at axis ",
                           i + 1, " for input with shape ", shape_str(x.shape()),
                           ", padding low ", vec_str(lo), ", padding high ", vec_str(hi),
                           ", and weight of shape ", shape_str(w_.shape()), "."));
  }
}

}  // namespace

array conv_general(const array& in_, const array& w_, std::vector<int> stride,
                   std::vector<int> lo, std::vector<int> hi, std::vector<int> kdil,
                   std::vector<int> idil, int groups, bool flip, StreamOrDevice s) {
  Stream st = to_stream(s);
  check_conv_args(in_, w_, stride, lo, hi, kdil, idil, groups);
  const int nd = in_.ndim() - 2;
  // MLX crops the undilated input for negative pads.
  array x = in_;
  if (std::any_of(lo.begin(), lo.end(), [](int v) { return v < 0; }) ||
      std::any_of(hi.begin(), hi.end(), [](int v) { return v < 0; })) {
    Shape start(x.ndim(), 0), stop = x.shape(), step(x.ndim(), 1);
    for (int i = 0; i < nd; ++i) {
      if (lo[i] < 0) start[1 + i] = std::min<int64_t>(-lo[i], x.shape(1 + i)), lo[i] = 0;
      if (hi[i] < 0) stop[1 + i] = std::max(start[1 + i], stop[1 + i] + hi[i]), hi[i] = 0;
    }
    x = slice(x, start, stop, step, st);
  }
  check_spatial(x, w_, lo, hi, kdil, idil);
  Dtype dt = promote_types(in_.dtype(), w_.dtype());
  return conv_node(astype(x, dt, st), astype(w_, dt, st), stride, lo, hi, kdil, idil, groups,
                   flip, st);
}

array conv_nd(int d, const array& in, const array& w, std::vector<int> stride,
              std::vector<int> padding, std::vector<int> dilation, int groups, StreamOrDevice s) {
  if (in.ndim() != d + 2)
    throw ValueError(msg("[conv] Invalid input array with ", in.ndim(), " dimensions for ", d,
                         "D convolution. Expected an array with ", d + 2,
                         " dimensions following the format [N, ..., C_in]."));
  return conv_general(in, w, std::move(stride), padding, padding, std::move(dilation), {1}, groups,
                      false, s);
}

array conv_transpose_nd(int d, const array& in, const array& w, std::vector<int> stride,
                        std::vector<int> padding, std::vector<int> dilation,
                        std::vector<int> output_padding, int groups, StreamOrDevice s) {
  if (in.ndim() != d + 2)
    throw ValueError(msg("[conv] Invalid input array with ", in.ndim(), " dimensions for ", d,
                         "D convolution. Expected an array with ", d + 2,
                         " dimensions following the format [N, ..., C_in]."));
  if (w.ndim() != d + 2)
    throw ValueError(msg("[conv] Invalid weight array with ", w.ndim(), " dimensions for ", d,
                         "D convolution. Expected an array with ", d + 2,
                         " dimensions following the format [C_out, ..., C_in]."));
  stride = expand(std::move(stride), d, "strides", d);
  padding = expand(std::move(padding), d, "padding", d);
  dilation = expand(std::move(dilation), d, "kernel dilation", d);
  output_padding = expand(std::move(output_padding), d, "output padding", d);
  // The transposed convolution is the convolution of the stride-dilated
  // input with the flipped kernel; the pads place the output window.
  std::vector<int> lo(d), hi(d);
  for (int i = 0; i < d; ++i) {
    const int wt = int(dilated(w.shape(1 + i), dilation[i]));
    const int64_t x = in.shape(1 + i);
    const int64_t full = (x - 1) * stride[i] - 2 * int64_t(padding[i]) + wt;  // output size
    const int64_t din = dilated(x, stride[i]);
    lo[i] = wt - padding[i] - 1;
    hi[i] = int(full - din + padding[i] + output_padding[i]);
  }
  // A pad larger than the kernel crops the *dilated* input here (MLX crops
  // the undilated one, which changes the output size; we keep the
  // documented size (in - 1) * stride - 2 * padding + dilated kernel).
  std::vector<int> one(size_t(d), 1);
  check_conv_args(in, w, one, lo, hi, dilation, stride, groups);
  check_spatial(in, w, lo, hi, dilation, stride);
  Stream st = to_stream(s);
  Dtype dt = promote_types(in.dtype(), w.dtype());
  return conv_node(astype(in, dt, st), astype(w, dt, st), one, lo, hi, dilation, stride, groups,
                   true, st);
}

array convolve(const array& a, const array& v, const std::string& mode, StreamOrDevice s) {
  Stream st = to_stream(s);
  if (a.ndim() != 1 || v.ndim() != 1) throw ValueError("[convolve] Inputs must be 1D.");
  if (a.size() == 0 || v.size() == 0) throw ValueError("[convolve] Inputs cannot be empty.");
  const bool swap = a.size() < v.size();
  array in = swap ? v : a, wt = swap ? a : v;
  const int64_t n = wt.size();
  int lo = 0, hi = 0;
  if (mode == "full") {
    lo = hi = int(n - 1);
  } else if (mode == "same") {
    lo = int(n / 2);
    hi = int(n - 1 - lo);
  } else if (mode != "valid") {
    throw ValueError("[convolve] Invalid mode.");
  }
  in = reshape(in, {1, -1, 1}, st);
  wt = reshape(wt, {1, -1, 1}, st);
  // Convolution proper: the kernel is flipped (flip=true).
  return reshape(conv_general(in, wt, {1}, {lo}, {hi}, {1}, {1}, 1, true, st), {-1}, st);
}

// ------------------------------------------------------------ derivatives

namespace {

// (G*Og, K..., Cg) -> (G*Cg, K..., Og): each group's weight with its in and
// out channels swapped.
array group_transpose(const array& w, int groups) {
  const int nd = w.ndim();
  const int64_t O = w.shape(0), Cg = w.shape(-1);
  Shape sh{groups, O / groups};
  sh.insert(sh.end(), w.shape().begin() + 1, w.shape().end());
  array r = reshape(w, sh);  // (G, Og, K..., Cg)
  std::vector<int> perm{0, nd};
  for (int i = 2; i < nd; ++i) perm.push_back(i);
  perm.push_back(1);
  r = transpose(r, perm);  // (G, Cg, K..., Og)
  Shape out{groups * Cg};
  out.insert(out.end(), w.shape().begin() + 1, w.shape().end() - 1);
  out.push_back(O / groups);
  return reshape(r, out);
}

array reverse_spatial(const array& a) {
  const int nd = a.ndim();
  Shape start(nd, 0), stop = a.shape(), step(nd, 1);
  for (int i = 1; i < nd - 1; ++i) {
    start[i] = a.shape(i) - 1;
    stop[i] = -1;
    step[i] = -1;
  }
  return slice(a, start, stop, step);
}

}  // namespace

// The weight gradient as a convolution over the batch (batch and channels
// swapped): dw[o, k, c] = sum_{n, y} cot[n, y, o] x_pad[n, y*s + k*kd, c].
// Used for the derivatives of ConvWeightGradPrim (higher-order gradients).
array weight_grad_by_conv(const array& x, const array& cot, const Shape& wshape,
                          const ConvPrim::Params& p, Stream st) {
  const int nd = x.ndim() - 2;
  std::vector<int> lo(nd), hi(nd);
  // dw[o, k, c] = sum_{n, y} cot[n, y, o] x_pad[n, y*s + k*kd, c]: a
  // convolution over the batch with channels and batch swapped.
  for (int i = 0; i < nd; ++i) {
    const int64_t kd = dilated(wshape[size_t(1 + i)], p.kdil[i]);
    const int64_t xin = dilated(x.shape(1 + i), p.idil[i]);
    const int64_t yd = dilated(cot.shape(1 + i), p.stride[i]);
    lo[i] = p.lo[i];
    hi[i] = int(kd - 1 + yd - xin - p.lo[i]);
  }
  const int64_t N = x.shape(0), Cg = wshape.back();
  Shape sh(x.shape().begin(), x.shape().end() - 1);
  sh.push_back(p.groups);
  sh.push_back(Cg);
  array xt = reshape(x, sh);  // (N, X..., G, Cg)
  std::vector<int> perm{nd + 2};
  for (int i = 1; i <= nd; ++i) perm.push_back(i);
  perm.push_back(nd + 1);
  perm.push_back(0);
  xt = transpose(xt, perm);  // (Cg, X..., G, N)
  Shape sx{Cg};
  sx.insert(sx.end(), x.shape().begin() + 1, x.shape().end() - 1);
  sx.push_back(p.groups * N);
  xt = reshape(xt, sx);
  array g = conv_node(xt, swapaxes(cot, 0, -1), p.kdil, lo, hi, p.stride, p.idil, p.groups, false,
                      st);  // (Cg, K..., O)
  g = swapaxes(g, 0, -1);
  return p.flip ? reverse_spatial(g) : g;
}

std::vector<array> ConvPrim::vjp(const std::vector<array>& primals,
                                 const std::vector<array>& cots, const std::vector<int>& argnums,
                                 const std::vector<array>&) {
  const array& x = primals[0];
  const array& w = primals[1];
  const array& cot = cots[0];
  const int nd = x.ndim() - 2;
  const Stream st = stream();
  std::vector<array> r;
  for (int a : argnums) {
    std::vector<int> lo(nd), hi(nd);
    if (a == 0) {
      // dx: the cotangent, stride-dilated, correlated with the (un)flipped,
      // group-transposed kernel; the pads align the windows with the input.
      for (int i = 0; i < nd; ++i) {
        const int64_t kd = dilated(w.shape(1 + i), kdil_[i]);
        const int64_t xin = dilated(x.shape(1 + i), idil_[i]);
        const int64_t yd = dilated(cot.shape(1 + i), stride_[i]);
        lo[i] = int(kd - 1 - lo_[i]);
        hi[i] = int(xin + lo_[i] - yd);
      }
      r.push_back(conv_node(cot, group_transpose(w, groups_), idil_, lo, hi, kdil_, stride_,
                            groups_, !flip_, st));
    } else {
      r.push_back(array(w.shape(), w.dtype(),
                        std::make_shared<ConvWeightGradPrim>(st, params(), w.shape()), {x, cot}));
    }
  }
  return r;
}

std::vector<array> ConvPrim::jvp(const std::vector<array>& primals,
                                 const std::vector<array>& tans, const std::vector<int>& argnums) {
  const Stream st = stream();
  auto run = [&](const array& x, const array& w) {
    return conv_node(x, w, stride_, lo_, hi_, kdil_, idil_, groups_, flip_, st);
  };
  std::optional<array> out;
  for (size_t i = 0; i < argnums.size(); ++i) {
    array t = argnums[i] == 0 ? run(tans[i], primals[1]) : run(primals[0], tans[i]);
    out = out ? add(*out, t) : t;
  }
  return {*out};
}

std::vector<array> ConvWeightGradPrim::vjp(const std::vector<array>& primals,
                                           const std::vector<array>& cots,
                                           const std::vector<int>& argnums,
                                           const std::vector<array>&) {
  // Differentiate the equivalent convolution expression.
  const Shape ws = wshape_;
  const ConvPrim::Params p = p_;
  const Stream st = stream();
  auto fn = [ws, p, st](const std::vector<array>& xs) {
    return std::vector<array>{weight_grad_by_conv(xs[0], xs[1], ws, p, st)};
  };
  auto grads = oxmlx::vjp(fn, primals, cots).second;
  std::vector<array> r;
  for (int a : argnums) r.push_back(grads[size_t(a)]);
  return r;
}

std::vector<array> ConvWeightGradPrim::jvp(const std::vector<array>& primals,
                                           const std::vector<array>& tans,
                                           const std::vector<int>& argnums) {
  // Bilinear in (x, cot).
  std::optional<array> out;
  for (size_t i = 0; i < argnums.size(); ++i) {
    std::vector<array> ins = primals;
    ins[size_t(argnums[i])] = tans[i];
    array w(wshape_, ins[0].dtype(), std::make_shared<ConvWeightGradPrim>(stream(), p_, wshape_),
            ins);
    out = out ? add(*out, w) : w;
  }
  return {*out};
}

}  // namespace oxmlx

// ------------------------------------------------------------ vmap rules

namespace oxmlx {

namespace {

// (V, N, S..., C) -> (N, S..., V*C): the batch folded into the channels
// (channel v*C + c is batch element v's channel c).
array fold_into_channels(const array& xb) {
  array m = moveaxis(xb, 0, xb.ndim() - 2);  // (N, S..., V, C)
  Shape s(m.shape().begin(), m.shape().end() - 2);
  s.push_back(m.shape(-2) * m.shape(-1));
  return reshape(m, s);
}

// (..., V*C) -> (..., V, C), the batch axis at ndim - 2.
array split_channels(const array& y, int64_t V) {
  Shape s(y.shape().begin(), y.shape().end() - 1);
  s.push_back(V);
  s.push_back(y.shape(-1) / V);
  return reshape(y, s);
}

}  // namespace

// A batched input folds into N; a batched weight becomes V times as many
// output channels (each group's V copies side by side); both batched is a
// convolution with V times the groups, the batch folded into the channels.
std::pair<std::vector<array>, std::vector<int>> ConvPrim::vmap(const std::vector<array>& in,
                                                               const std::vector<int>& axes) {
  const Stream st = stream();
  const int64_t V = vmap_batch_size(in, axes);
  auto run = [&](const array& x, const array& w, int groups) {
    return conv_node(x, w, stride_, lo_, hi_, kdil_, idil_, groups, flip_, st);
  };
  if (axes[1] < 0) {
    array xb = vmap_to_front(in[0], axes[0]);  // (V, N, S..., C)
    Shape s(xb.shape().begin() + 1, xb.shape().end());
    s[0] *= V;
    array y = run(reshape(xb, s), in[1], groups_);  // (V*N, S'..., O)
    Shape ys = y.shape();
    ys[0] = xb.shape(1);
    ys.insert(ys.begin(), V);
    return {{reshape(y, ys)}, {0}};
  }
  array wb = vmap_to_front(in[1], axes[1]);  // (V, O, K..., Cg)
  const int64_t O = wb.shape(1), G = groups_;
  const int nd = wb.ndim() - 3;
  if (axes[0] < 0) {
    // (V, G, Og, K..., Cg) -> (G, V, Og, K..., Cg) -> (G*V*Og, K..., Cg)
    Shape s{V, G, O / G};
    s.insert(s.end(), wb.shape().begin() + 2, wb.shape().end());
    array w = swapaxes(reshape(wb, s), 0, 1);
    Shape ws{V * O};
    ws.insert(ws.end(), wb.shape().begin() + 2, wb.shape().end());
    array y = run(in[0], reshape(w, ws), groups_);  // (N, S'..., G*V*Og)
    Shape gs(y.shape().begin(), y.shape().end() - 1);
    gs.insert(gs.end(), {G, V, O / G});
    array r = swapaxes(reshape(y, gs), -3, -2);  // (N, S'..., V, G, Og)
    Shape os(y.shape().begin(), y.shape().end() - 1);
    os.insert(os.end(), {V, O});
    return {{reshape(r, os)}, {nd + 1}};
  }
  array x = fold_into_channels(vmap_to_front(in[0], axes[0]));
  Shape ws(wb.shape().begin() + 1, wb.shape().end());
  ws[0] *= V;
  array y = run(x, reshape(wb, ws), int(V) * groups_);  // (N, S'..., V*O)
  return {{split_channels(y, V)}, {nd + 1}};
}

// dw[v] from x[v] and cot[v]: a weight gradient with V times the groups, the
// batch folded into the channels of both (unbatched operands broadcast).
std::pair<std::vector<array>, std::vector<int>> ConvWeightGradPrim::vmap(
    const std::vector<array>& in, const std::vector<int>& axes) {
  const int64_t V = vmap_batch_size(in, axes);
  array x = fold_into_channels(vmap_batched_front(in[0], axes[0], V));
  array cot = fold_into_channels(vmap_batched_front(in[1], axes[1], V));
  ConvPrim::Params p = p_;
  p.groups = int(V) * p_.groups;
  Shape ws = wshape_;
  ws[0] *= V;
  array dw(ws, x.dtype(), std::make_shared<ConvWeightGradPrim>(stream(), p, ws), {x, cot});
  Shape os = wshape_;
  os.insert(os.begin(), V);
  return {{reshape(dw, os)}, {0}};
}

}  // namespace oxmlx
