// Fused family primitive: one node for a chain of elementwise ops (built by
// compile's fusion). Its transforms expand the program back into the
// ordinary elementwise nodes and transform those.
#include "core/compile.h"
#include "core/primitive.h"
#include "ops/ops.h"
#include "ops/primitives.h"

namespace oxmlx {

namespace {

class FusedPrim : public Primitive {
 public:
  FusedPrim(Stream s, FusedProgram p) : Primitive(s), prog_(std::move(p)) {}

  void eval(const std::vector<array>& in, std::vector<array>& out) override {
    Backend& b = backend_for(stream());
    if (!b.name().empty() && b.name() != "cpu" && !native_) {
      // A backend without the fused family runs the ordinary nodes instead.
      try {
        b.fused(prog_, in, out);
        native_ = true;
        return;
      } catch (const RuntimeError& e) {
        if (std::string(e.what()).find("is not implemented by the") == std::string::npos) throw;
      }
      std::vector<array> r = expand(in);
      oxmlx::eval(r);
      for (size_t k = 0; k < out.size(); ++k) out[k].copy_shared_buffer(r[k]);
      return;
    }
    b.fused(prog_, in, out);
  }

  // The program as ordinary nodes.
  std::vector<array> expand(const std::vector<array>& in) const {
    Shape shape;
    for (auto& a : in) shape = broadcast_shapes(shape, a.shape());
    std::vector<array> reg;
    for (auto& a : in) reg.push_back(broadcast_to(a, shape));
    Stream st = stream();
    for (auto& ins : prog_.instrs) {
      std::shared_ptr<Primitive> p;
      std::vector<array> args{reg[ins.a]};
      switch (ins.kind) {
        case FusedInstr::Kind::Unary: p = std::make_shared<UnaryPrim>(st, UnaryOp(ins.op)); break;
        case FusedInstr::Kind::Binary:
          p = std::make_shared<BinaryPrim>(st, BinaryOp(ins.op));
          args.push_back(reg[ins.b]);
          break;
        case FusedInstr::Kind::Select:
          p = std::make_shared<SelectPrim>(st);
          args.push_back(reg[ins.b]);
          args.push_back(reg[ins.c]);
          break;
        case FusedInstr::Kind::Cast: p = std::make_shared<CopyPrim>(st); break;
      }
      reg.push_back(array(shape, ins.dtype, std::move(p), std::move(args)));
    }
    std::vector<array> out;
    for (int r : prog_.outputs) out.push_back(reg[r]);
    return out;
  }

  std::vector<array> vjp(const std::vector<array>& in, const std::vector<array>& cots,
                         const std::vector<int>& argnums, const std::vector<array>&) override {
    auto g = oxmlx::vjp([this](const std::vector<array>& x) { return expand(x); }, in, cots).second;
    std::vector<array> r;
    for (int k : argnums) r.push_back(g[k]);
    return r;
  }

  std::vector<array> jvp(const std::vector<array>& in, const std::vector<array>& tans,
                         const std::vector<int>& argnums) override {
    std::vector<array> full;
    for (auto& a : in) full.push_back(zeros_like(a));
    for (size_t i = 0; i < argnums.size(); ++i) full[argnums[i]] = tans[i];
    return oxmlx::jvp([this](const std::vector<array>& x) { return expand(x); }, in, full).second;
  }

  std::pair<std::vector<array>, std::vector<int>> vmap(const std::vector<array>& in,
                                                       const std::vector<int>& axes) override {
    std::vector<int> ax;
    for (int a : axes) ax.push_back(a < 0 ? kVmapNone : a);
    auto outs = oxmlx::vmap([this](const std::vector<array>& x) { return expand(x); }, in, ax,
                            std::vector<int>{0});
    return {outs, std::vector<int>(outs.size(), 0)};
  }

  std::vector<Shape> output_shapes(const std::vector<array>& in) override {
    Shape shape;
    for (auto& a : in) shape = broadcast_shapes(shape, a.shape());
    return std::vector<Shape>(prog_.outputs.size(), shape);
  }

  std::string name() const override { return "Fused"; }

 private:
  FusedProgram prog_;
  bool native_ = false;  // the backend has been seen to run the fused family
};

}  // namespace

std::shared_ptr<Primitive> make_fused_primitive(Stream s, FusedProgram program) {
  return std::make_shared<FusedPrim>(s, std::move(program));
}

}  // namespace oxmlx
