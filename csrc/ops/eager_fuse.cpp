// Eager fusion on GPU streams: a few elementwise patterns that training steps
// build op by op (outside compile) are emitted as one Fused node instead of
// a chain of nodes, so that they run as one kernel:
//   - the gradient of maximum / minimum (relu'):  g * (a > b)  (3 nodes -> 1);
//   - a - s * x and a + s * x with a single-value s (the SGD update
//     p - lr * g): the multiply's node is left unused (2 kernels -> 1).
// The Fused node computes the same operations in the same order and dtype
// (the CUDA fused kernels are compiled without FMA contraction), so values
// equal the unfused nodes'. Its vjp / jvp / vmap expand it back into the
// ordinary nodes. Off under compile and vmap tracing (compile fuses on its
// own), for complex and integer dtypes, and with OXMLX_EAGER_FUSION=0;
// OXMLX_EAGER_FUSION=1 turns it on for CPU streams too (a test hook).
#include "ops/eager_fuse.h"

#include <cstdlib>

#include "core/compile.h"
#include "core/primitive.h"
#include "core/tracing.h"
#include "ops/ops.h"
#include "ops/primitives.h"

namespace oxmlx {

namespace {

int mode() {
  static const int m = [] {
    const char* e = std::getenv("OXMLX_EAGER_FUSION");
    if (!e || !*e) return -1;  // GPU streams only
    return e[0] == '0' ? 0 : 1;
  }();
  return m;
}

FusedInstr instr(FusedInstr::Kind k, uint8_t op, int a, int b, Dtype d) {
  FusedInstr i;
  i.kind = k;
  i.op = op;
  i.a = a;
  i.b = b;
  i.dtype = d;
  return i;
}

// x is one value broadcast: a size-1 array, an evaluated array with stride
// 0 on every dim (Python scalars become such leaves) or a broadcast view of
// a size-1 array.
bool single_value(const array& x) {
  if (x.size() == 1) return true;
  if (x.status() == Status::available) {
    for (int d = 0; d < x.ndim(); ++d)
      if (x.shape(d) != 1 && x.strides(d) != 0) return false;
    return true;
  }
  if (!x.has_primitive() || x.status() != Status::unscheduled) return false;
  auto* v = dynamic_cast<const ViewPrim*>(x.node()->primitive.get());
  return v && v->kind() == ViewPrim::Kind::Broadcast && x.node()->inputs.size() == 1 &&
         x.node()->inputs[0].size() == 1;
}

}  // namespace

bool eager_fusion(const Stream& s) {
  int m = mode();
  if (m == 0) return false;
  if (m < 0 && s.device.type != Device::gpu) return false;
  return !tracing();
}

std::optional<array> fused_minmax_grad(BinaryOp op, const array& cot, const array& a,
                                       const array& b, int arg, Stream st) {
  Dtype dt = a.dtype();
  if (!is_floating(dt) || b.dtype() != dt || cot.dtype() != dt || a.shape() != b.shape() ||
      cot.shape() != a.shape())
    return std::nullopt;
  using K = FusedInstr::Kind;
  FusedProgram p;
  p.input_dtypes = {dt, dt, dt};  // r0 = cot, r1 = a, r2 = b
  BinaryOp cmp = op == BinaryOp::Maximum ? BinaryOp::Greater : BinaryOp::Less;
  p.instrs.push_back(instr(K::Binary, uint8_t(cmp), 1, 2, bool_));  // r3
  int m = 3;
  if (arg == 1) {  // 1 - (a > b) is !(a > b) as 0 / 1
    p.instrs.push_back(instr(K::Unary, uint8_t(UnaryOp::LogicalNot), 3, -1, bool_));  // r4
    m = 4;
  }
  p.instrs.push_back(instr(K::Cast, 0, m, -1, dt));
  p.instrs.push_back(instr(K::Binary, uint8_t(BinaryOp::Multiply), 0, m + 1, dt));
  p.outputs = {m + 2};
  return array(Shape(a.shape()), dt, make_fused_primitive(st, std::move(p)), {cot, a, b});
}

std::optional<array> fused_axpy(BinaryOp op, const array& a, const array& b, Stream st) {
  // a (+|-) b where b = s * x (or x * s), unevaluated, with s a single value.
  if (!b.has_primitive() || b.status() != Status::unscheduled || !b.node()->outputs.empty())
    return std::nullopt;
  auto* m = dynamic_cast<const BinaryPrim*>(b.node()->primitive.get());
  if (!m || m->op() != BinaryOp::Multiply || !(m->stream() == st)) return std::nullopt;
  Dtype dt = a.dtype();
  if (!is_floating(dt) || b.dtype() != dt) return std::nullopt;
  const auto& mi = b.node()->inputs;
  if (mi.size() != 2 || mi[0].dtype() != dt || mi[1].dtype() != dt) return std::nullopt;
  if (!single_value(mi[0]) && !single_value(mi[1])) return std::nullopt;
  using K = FusedInstr::Kind;
  FusedProgram p;
  p.input_dtypes = {dt, dt, dt};  // r0 = a, r1, r2 = the multiply's operands
  p.instrs.push_back(instr(K::Binary, uint8_t(BinaryOp::Multiply), 1, 2, dt));  // r3
  p.instrs.push_back(instr(K::Binary, uint8_t(op), 0, 3, dt));                  // r4
  p.outputs = {4};
  return array(Shape(a.shape()), dt, make_fused_primitive(st, std::move(p)), {a, mi[0], mi[1]});
}

}  // namespace oxmlx
