// Transform-only primitives: stop_gradient, and the custom-transforms node
// behind mx.custom_function and mx.checkpoint.
#include "core/primitive.h"
#include "core/transforms.h"
#include "ops/ops.h"

namespace oxmlx {

namespace {

// Identity whose derivative is zero; the transforms do not trace through it.
class StopGradientPrim : public Primitive {
 public:
  using Primitive::Primitive;
  void eval(const std::vector<array>& in, std::vector<array>& out) override {
    out[0].copy_shared_buffer(in[0]);
  }
  std::vector<array> vjp(const std::vector<array>& in, const std::vector<array>&,
                         const std::vector<int>& argnums, const std::vector<array>&) override {
    std::vector<array> r;
    for (size_t i = 0; i < argnums.size(); ++i) r.push_back(zeros_like(in[0]));
    return r;
  }
  std::vector<array> jvp(const std::vector<array>& in, const std::vector<array>&,
                         const std::vector<int>&) override {
    return {zeros_like(in[0])};
  }
  std::pair<std::vector<array>, std::vector<int>> vmap(const std::vector<array>& in,
                                                       const std::vector<int>& axes) override {
    return {{stop_gradient(in[0], stream())}, {axes[0]}};
  }
  std::vector<Shape> output_shapes(const std::vector<array>& in) override { return {in[0].shape()}; }
  std::string name() const override { return "StopGradient"; }
  bool is_equivalent(const Primitive& o) const override {
    return dynamic_cast<const StopGradientPrim*>(&o) != nullptr;
  }
};

// inputs = primals + stop_gradient(fun(primals)); the outputs share the
// buffers of the latter. The transforms call the custom rules (or, where one
// is missing, transform fun itself: a vjp then recomputes the forward pass).
class CustomTransformsPrim : public Primitive {
 public:
  CustomTransformsPrim(Stream s, size_t nprimals, CustomRules rules, std::string name)
      : Primitive(s), nprimals_(nprimals), rules_(std::move(rules)), name_(std::move(name)) {}

  void eval(const std::vector<array>& in, std::vector<array>& out) override {
    for (size_t k = 0; k < out.size(); ++k) out[k].copy_shared_buffer(in[nprimals_ + k]);
  }

  std::vector<array> vjp(const std::vector<array>& in, const std::vector<array>& cots,
                         const std::vector<int>& argnums, const std::vector<array>& outs) override {
    std::vector<array> primals(in.begin(), in.begin() + nprimals_);
    std::vector<array> all;
    if (rules_.vjp) {
      all = rules_.vjp(primals, cots, outs);
    } else {
      all = oxmlx::vjp(rules_.fun, primals, cots).second;
    }
    std::vector<array> r;
    for (int k : argnums) {
      if (k < int(nprimals_) && k < int(all.size()) && all[k].valid()) r.push_back(all[k]);
      else r.push_back(zeros_like(in[k]));
    }
    return r;
  }

  std::vector<array> jvp(const std::vector<array>& in, const std::vector<array>& tans,
                         const std::vector<int>& argnums) override {
    std::vector<array> primals(in.begin(), in.begin() + nprimals_);
    std::vector<array> full;
    for (auto& p : primals) full.push_back(zeros_like(p));
    for (size_t i = 0; i < argnums.size(); ++i)
      if (argnums[i] < int(nprimals_)) full[argnums[i]] = tans[i];
    if (rules_.jvp) return rules_.jvp(primals, full);
    return oxmlx::jvp(rules_.fun, primals, full).second;
  }

  std::pair<std::vector<array>, std::vector<int>> vmap(const std::vector<array>& in,
                                                       const std::vector<int>& axes) override {
    if (rules_.vmap) {
      std::vector<array> primals(in.begin(), in.begin() + nprimals_);
      std::vector<int> pax(axes.begin(), axes.begin() + nprimals_);
      return rules_.vmap(primals, pax);
    }
    // The batched forward outputs (the custom vjp/jvp do not survive vmap).
    return {std::vector<array>(in.begin() + nprimals_, in.end()),
            std::vector<int>(axes.begin() + nprimals_, axes.end())};
  }

  std::string name() const override { return name_; }

 private:
  size_t nprimals_;
  CustomRules rules_;
  std::string name_;
};

}  // namespace

array stop_gradient(const array& a, StreamOrDevice s) {
  return array(a.shape(), a.dtype(), std::make_shared<StopGradientPrim>(to_stream(s)), {a});
}

std::vector<array> custom_function(const CustomRules& rules, const std::vector<array>& primals,
                                   const char* name) {
  std::vector<array> outs = rules.fun(primals);
  std::vector<array> inputs = primals;
  std::vector<Shape> shapes;
  std::vector<Dtype> dtypes;
  for (auto& o : outs) {
    inputs.push_back(stop_gradient(o));
    shapes.push_back(o.shape());
    dtypes.push_back(o.dtype());
  }
  if (outs.empty()) return outs;
  Stream st = to_stream({});
  return array::make_arrays(shapes, dtypes,
                            std::make_shared<CustomTransformsPrim>(st, primals.size(), rules, name),
                            std::move(inputs));
}

std::vector<array> checkpoint(const ArrayFn& fun, const std::vector<array>& primals) {
  CustomRules r;
  r.fun = fun;
  return custom_function(r, primals, "Checkpoint");
}

}  // namespace oxmlx
