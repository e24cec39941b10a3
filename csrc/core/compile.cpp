// compile: tracing into a CompiledProgram, simplification (CSE, scalar
// constants), fusion of elementwise chains, replay, and DOT export.
#include "core/compile.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "core/host.h"
#include "core/primitive.h"
#include "ops/ops.h"
#include "ops/primitives.h"

namespace oxmlx {

// ------------------------------------------------------------------ trace

std::shared_ptr<CompiledProgram> compile_trace(const ArrayFn& fun, const std::vector<array>& inputs,
                                               bool simplify, bool fuse) {
  using Ref = CompiledProgram::Ref;
  auto prog = std::make_shared<CompiledProgram>();
  prog->num_inputs_ = inputs.size();
  std::vector<array> tracers;
  std::unordered_map<uintptr_t, Ref> refs;  // array id -> where it comes from
  for (size_t i = 0; i < inputs.size(); ++i) {
    tracers.push_back(identity_view(inputs[i]));
    prog->input_shapes_.push_back(inputs[i].shape());
    prog->input_dtypes_.push_back(inputs[i].dtype());
    refs.emplace(tracers.back().id(), Ref{Ref::Input, int(i)});
  }
  std::vector<array> outs;
  {
    NoEvalScope no_eval(tracers);
    outs = fun(tracers);
  }
  std::unordered_map<uintptr_t, int> const_index;
  auto resolve = [&](const array& a) -> Ref {
    auto it = refs.find(a.id());
    if (it != refs.end()) return it->second;
    auto c = const_index.find(a.id());
    if (c != const_index.end()) return Ref{Ref::Const, c->second};
    int k = int(prog->constants_.size());
    prog->constants_.push_back(a);
    const_index.emplace(a.id(), k);
    return Ref{Ref::Const, k};
  };
  std::unordered_set<uintptr_t> tdep;  // ids that depend on the tracers
  for (auto& t : tracers) tdep.insert(t.id());
  for (auto& a : graph_postorder(outs, false)) {
    if (refs.count(a.id())) continue;  // a tracer
    const auto& ins = a.inputs();
    bool dep = false;
    for (auto& in : ins) dep |= tdep.count(in.id()) > 0;
    // Constant subgraphs are computed once, except views (cheap, and a
    // broadcast of a constant scalar is best left to fusion).
    if (!dep && !dynamic_cast<ViewPrim*>(&a.primitive())) continue;
    CompiledProgram::Step st;
    st.prim = a.primitive_ptr();
    for (auto& in : ins) st.inputs.push_back(resolve(in));
    std::vector<array> o = a.outputs();
    if (auto* v = dynamic_cast<ViewPrim*>(st.prim.get()); v && v->kind() == ViewPrim::Kind::Reshape) {
      // Match non-1 dims in order; anything else is a real reshape.
      const Shape& is = ins[0].shape();
      const Shape& os = o[0].shape();
      size_t j = 0;
      bool ok = true;
      for (size_t i = 0; i < os.size(); ++i) {
        if (os[i] == 1) {
          st.dim_map.push_back(-1);
          continue;
        }
        while (j < is.size() && is[j] == 1) ++j;
        if (j < is.size() && is[j] == os[i]) st.dim_map.push_back(int(j++));
        else ok = false;
      }
      while (j < is.size() && is[j] == 1) ++j;
      st.has_dim_map = ok && j == is.size();
      if (!st.has_dim_map) st.dim_map.clear();
    }
    int idx = int(prog->steps_.size());
    for (size_t k = 0; k < o.size(); ++k) {
      st.shapes.push_back(o[k].shape());
      st.dtypes.push_back(o[k].dtype());
      refs.emplace(o[k].id(), Ref{Ref::Node, idx, int(k)});
      if (dep) tdep.insert(o[k].id());
    }
    prog->steps_.push_back(std::move(st));
  }
  for (auto& o : outs) prog->outputs_.push_back(resolve(o));
  if (simplify) prog->simplify();
  prog->remove_dead();
  if (fuse) prog->fuse();
  prog->remove_dead();
  return prog;
}

// ------------------------------------------------------------------ replay

std::vector<array> CompiledProgram::run(const std::vector<array>& inputs, bool shapeless) const {
  if (inputs.size() != num_inputs_)
    throw ValueError(msg("[compile] Expected ", num_inputs_, " inputs, got ", inputs.size(), "."));
  std::vector<std::vector<array>> vals(steps_.size());
  auto get = [&](const Ref& r) -> const array& {
    if (r.kind == Ref::Input) return inputs[r.index];
    if (r.kind == Ref::Const) return constants_[r.index];
    return vals[r.index][r.out];
  };
  for (size_t i = 0; i < steps_.size(); ++i) {
    const Step& s = steps_[i];
    std::vector<array> ins;
    ins.reserve(s.inputs.size());
    for (auto& r : s.inputs) ins.push_back(get(r));
    std::vector<Shape> shapes;
    if (!shapeless) {
      shapes = s.shapes;
    } else if (s.has_dim_map) {
      Shape sh;
      for (int d : s.dim_map) sh.push_back(d < 0 ? 1 : ins[0].shape(d));
      shapes.push_back(std::move(sh));
    } else {
      shapes = s.prim->output_shapes(ins);
    }
    vals[i] = array::make_arrays(std::move(shapes), s.dtypes, s.prim, std::move(ins));
  }
  std::vector<array> out;
  for (auto& r : outputs_) out.push_back(get(r));
  return out;
}

// ------------------------------------------------------------------ simplify

namespace {

using Ref = CompiledProgram::Ref;

void remap_refs(std::vector<Ref>& refs, const std::vector<int>& step_map,
                const std::vector<std::vector<Ref>>* node_alias = nullptr) {
  for (auto& r : refs) {
    if (r.kind != Ref::Node) continue;
    if (node_alias && !(*node_alias)[r.index].empty()) r = (*node_alias)[r.index][r.out];
    if (r.kind == Ref::Node) r.index = step_map[r.index];
  }
}

}  // namespace

void CompiledProgram::simplify() {
  // Scalar constants: evaluate them and merge equal values, so that nodes
  // using "the same" scalar become equivalent.
  std::vector<int> const_alias(constants_.size());
  std::map<std::string, int> seen;
  for (size_t i = 0; i < constants_.size(); ++i) {
    const_alias[i] = int(i);
    array& c = constants_[i];
    if (c.size() != 1) continue;
    if (!c.is_available()) c.eval();
    std::string key = msg(int(c.dtype().val), ":", shape_str(c.shape()), ":");
    array h = host_array(c);  // the constant may live on a GPU
    key.append(static_cast<const char*>(h.raw_ptr()), h.itemsize());
    auto [it, fresh] = seen.emplace(key, int(i));
    if (!fresh) const_alias[i] = it->second;
  }
  auto fix_const = [&](Ref& r) {
    if (r.kind == Ref::Const) r.index = const_alias[r.index];
  };
  // Common subexpressions: a step equivalent to an earlier one with the same
  // inputs is replaced by it.
  std::vector<std::vector<Ref>> alias(steps_.size());
  std::unordered_map<std::string, std::vector<int>> buckets;
  for (size_t i = 0; i < steps_.size(); ++i) {
    Step& s = steps_[i];
    for (auto& r : s.inputs) {
      fix_const(r);
      if (r.kind == Ref::Node && !alias[r.index].empty()) r = alias[r.index][r.out];
    }
    std::string key = s.prim->name();
    for (auto& r : s.inputs) key += msg('|', int(r.kind), ':', r.index, ':', r.out);
    auto& cands = buckets[key];
    int match = -1;
    for (int j : cands) {
      const Step& t = steps_[j];
      if (t.inputs == s.inputs && t.shapes == s.shapes && t.dtypes == s.dtypes &&
          s.prim->is_equivalent(*t.prim)) {
        match = j;
        break;
      }
    }
    if (match >= 0) {
      for (size_t k = 0; k < s.shapes.size(); ++k) alias[i].push_back(Ref{Ref::Node, match, int(k)});
    } else {
      cands.push_back(int(i));
    }
  }
  for (auto& r : outputs_) {
    fix_const(r);
    if (r.kind == Ref::Node && !alias[r.index].empty()) r = alias[r.index][r.out];
  }
}

void CompiledProgram::remove_dead() {
  std::vector<bool> live(steps_.size(), false);
  for (auto& r : outputs_)
    if (r.kind == Ref::Node) live[r.index] = true;
  for (size_t i = steps_.size(); i-- > 0;) {
    if (!live[i]) continue;
    for (auto& r : steps_[i].inputs)
      if (r.kind == Ref::Node) live[r.index] = true;
  }
  std::vector<int> map(steps_.size(), -1);
  std::vector<Step> kept;
  for (size_t i = 0; i < steps_.size(); ++i) {
    if (!live[i]) continue;
    map[i] = int(kept.size());
    kept.push_back(std::move(steps_[i]));
  }
  for (auto& s : kept) remap_refs(s.inputs, map);
  remap_refs(outputs_, map);
  steps_ = std::move(kept);
  // Constants nothing uses any more.
  std::vector<int> cmap(constants_.size(), -1);
  std::vector<array> cs;
  auto use = [&](Ref& r) {
    if (r.kind != Ref::Const) return;
    if (cmap[r.index] < 0) {
      cmap[r.index] = int(cs.size());
      cs.push_back(constants_[r.index]);
    }
    r.index = cmap[r.index];
  };
  for (auto& s : steps_)
    for (auto& r : s.inputs) use(r);
  for (auto& r : outputs_) use(r);
  constants_ = std::move(cs);
}

// ------------------------------------------------------------------ fusion

namespace {

bool fusible_dtype(Dtype d) { return d != complex64; }

// The fused instruction of a step, if it is an elementwise one.
bool as_instr(const CompiledProgram::Step& s, FusedInstr& ins) {
  if (s.shapes.size() != 1 || !fusible_dtype(s.dtypes[0])) return false;
  Primitive* p = s.prim.get();
  if (auto* u = dynamic_cast<UnaryPrim*>(p)) {
    UnaryOp op = u->op();
    if (op == UnaryOp::Real || op == UnaryOp::Imag || op == UnaryOp::Conjugate) return false;
    ins.kind = FusedInstr::Kind::Unary;
    ins.op = uint8_t(op);
  } else if (auto* b = dynamic_cast<BinaryPrim*>(p)) {
    ins.kind = FusedInstr::Kind::Binary;
    ins.op = uint8_t(b->op());
  } else if (dynamic_cast<SelectPrim*>(p)) {
    ins.kind = FusedInstr::Kind::Select;
  } else if (dynamic_cast<CopyPrim*>(p)) {
    ins.kind = FusedInstr::Kind::Cast;
  } else {
    return false;
  }
  ins.dtype = s.dtypes[0];
  return true;
}

bool is_broadcast(const CompiledProgram::Step& s) {
  auto* v = dynamic_cast<ViewPrim*>(s.prim.get());
  return v && v->kind() == ViewPrim::Kind::Broadcast && fusible_dtype(s.dtypes[0]);
}

}  // namespace

void CompiledProgram::fuse() {
  const size_t n = steps_.size();
  std::vector<std::vector<int>> consumers(n);
  std::vector<bool> is_output(n, false);
  for (size_t i = 0; i < n; ++i)
    for (auto& r : steps_[i].inputs)
      if (r.kind == Ref::Node) consumers[r.index].push_back(int(i));
  for (auto& r : outputs_)
    if (r.kind == Ref::Node) is_output[r.index] = true;
  auto input_dtype_ok = [&](const Step& s) {
    for (auto& r : s.inputs) {
      Dtype d = r.kind == Ref::Node ? steps_[r.index].dtypes[r.out]
                : r.kind == Ref::Const ? constants_[r.index].dtype()
                                       : input_dtypes_[r.index];
      if (!fusible_dtype(d)) return false;
    }
    return true;
  };
  std::vector<FusedInstr> instr(n);
  std::vector<bool> elementwise(n), bcast(n);
  for (size_t i = 0; i < n; ++i) {
    elementwise[i] = as_instr(steps_[i], instr[i]) && input_dtype_ok(steps_[i]);
    bcast[i] = is_broadcast(steps_[i]) && input_dtype_ok(steps_[i]);
  }
  std::vector<bool> taken(n, false);
  std::unordered_map<int, Ref> alias;  // step -> output of the fused node that computes it

  auto grow = [&](int root, bool allow_bcast) {
    std::vector<int> members{root};
    std::unordered_set<int> in_group{root};
    bool changed = true;
    while (changed) {
      changed = false;
      for (size_t m = 0; m < members.size(); ++m) {
        for (auto& r : steps_[members[m]].inputs) {
          if (r.kind != Ref::Node) continue;
          int p = r.index;
          if (in_group.count(p) || taken[p]) continue;
          if (!(elementwise[p] || (allow_bcast && bcast[p]))) continue;
          if (steps_[p].shapes[0] != steps_[root].shapes[0]) continue;
          // Used outside the group: only an elementwise step whose outside
          // consumers all come after the root (so none of them feeds the
          // group) may join, as an extra output of the fused node.
          bool all_in = !is_output[p], later = true;
          for (int c : consumers[p]) {
            if (in_group.count(c)) continue;
            all_in = false;
            later &= c > root;
          }
          if (!all_in && !(elementwise[p] && later)) continue;
          members.push_back(p);
          in_group.insert(p);
          changed = true;
        }
      }
    }
    std::sort(members.begin(), members.end());
    return members;
  };

  for (int root = int(n) - 1; root >= 0; --root) {
    if (!elementwise[root] || taken[root]) continue;
    std::vector<int> members = grow(root, true);
    // External inputs: refs from outside the group (through absorbed broadcasts).
    auto externals = [&](const std::vector<int>& mem, std::vector<Ref>& ext,
                         std::unordered_map<int, int>& reg_of_step) {
      std::unordered_set<int> mset(mem.begin(), mem.end());
      ext.clear();
      reg_of_step.clear();
      auto ext_reg = [&](const Ref& r) {
        for (size_t k = 0; k < ext.size(); ++k)
          if (ext[k] == r) return int(k);
        ext.push_back(r);
        return int(ext.size()) - 1;
      };
      for (int m : mem)
        if (bcast[m]) reg_of_step[m] = ext_reg(steps_[m].inputs[0]);
      for (int m : mem) {
        if (bcast[m]) continue;
        for (auto& r : steps_[m].inputs)
          if (!(r.kind == Ref::Node && mset.count(r.index))) ext_reg(r);
      }
    };
    std::vector<Ref> ext;
    std::unordered_map<int, int> reg_of;
    externals(members, ext, reg_of);
    // The kernel broadcasts its inputs to their common shape: it must be the output's.
    auto shape_of = [&](const Ref& r) -> Shape {
      if (r.kind == Ref::Node) return steps_[r.index].shapes[r.out];
      if (r.kind == Ref::Const) return constants_[r.index].shape();
      return input_shapes_[r.index];
    };
    bool ok = true;
    for (auto& r : ext) {
      Shape s = shape_of(r);
      try {
        if (broadcast_shapes(s, steps_[root].shapes[0]) != steps_[root].shapes[0]) ok = false;
      } catch (...) {
        ok = false;
      }
    }
    Shape common;
    if (ok)
      for (auto& r : ext) common = broadcast_shapes(common, shape_of(r));
    if (!ok || common != steps_[root].shapes[0]) {
      members = grow(root, false);
      externals(members, ext, reg_of);
    }
    int ninstr = 0;
    for (int m : members) ninstr += !bcast[m];
    // One instruction gains nothing, unless it absorbs a broadcast (which
    // keeps shapeless programs free of fixed broadcast shapes).
    if (ninstr < 2 && ninstr == int(members.size())) continue;
    FusedProgram prog;
    const int nin = int(ext.size());
    for (auto& r : ext) {
      prog.input_dtypes.push_back(r.kind == Ref::Node ? steps_[r.index].dtypes[r.out]
                                  : r.kind == Ref::Const ? constants_[r.index].dtype()
                                                         : input_dtypes_[r.index]);
    }
    std::unordered_set<int> mset(members.begin(), members.end());
    auto reg = [&](const Ref& r) {
      if (r.kind == Ref::Node && mset.count(r.index)) return reg_of[r.index];
      for (int k = 0; k < nin; ++k)
        if (ext[k] == r) return k;
      throw RuntimeError("[compile] fusion lost an input.");
    };
    for (int m : members) {
      if (bcast[m]) continue;
      FusedInstr ins = instr[m];
      const auto& in = steps_[m].inputs;
      ins.a = reg(in[0]);
      if (in.size() > 1) ins.b = reg(in[1]);
      if (in.size() > 2) ins.c = reg(in[2]);
      reg_of[m] = nin + int(prog.instrs.size());
      prog.instrs.push_back(ins);
    }
    prog.outputs.push_back(reg_of[root]);
    Step fused;
    fused.shapes = steps_[root].shapes;
    fused.dtypes = steps_[root].dtypes;
    for (int m : members) {
      taken[m] = true;
      if (m == root || bcast[m]) continue;
      bool outside = is_output[m];
      for (int c : consumers[m]) outside |= !mset.count(c);
      if (!outside) continue;
      alias[m] = Ref{Ref::Node, root, int(prog.outputs.size())};
      prog.outputs.push_back(reg_of[m]);
      fused.shapes.push_back(steps_[m].shapes[0]);
      fused.dtypes.push_back(steps_[m].dtypes[0]);
    }
    fused.prim = make_fused_primitive(steps_[root].prim->stream(), std::move(prog));
    fused.inputs = ext;
    steps_[root] = std::move(fused);
  }
  // Refs to steps that became extra outputs of a fused node.
  auto fix = [&](Ref& r) {
    if (r.kind == Ref::Node && alias.count(r.index)) r = alias[r.index];
  };
  for (auto& st : steps_)
    for (auto& r : st.inputs) fix(r);
  for (auto& r : outputs_) fix(r);
}

// ------------------------------------------------------------------ DOT

std::string graph_to_dot(const std::vector<array>& outputs,
                         const std::vector<std::pair<std::string, array>>& names) {
  std::unordered_map<uintptr_t, std::string> label;
  for (auto& [n, a] : names) label[a.id()] = n;
  std::unordered_map<uintptr_t, int> ids;
  auto id_of = [&](const array& a) {
    auto [it, fresh] = ids.emplace(a.id(), int(ids.size()));
    return it->second;
  };
  std::string os = "digraph {\n";
  auto array_node = [&](const array& a) {
    int k = id_of(a);
    auto it = label.find(a.id());
    std::string l = it != label.end() ? it->second : msg(shape_str(a.shape()), " ", dtype_name(a.dtype()));
    os += msg("  A", k, " [label=\"", l, "\"];\n");
    return k;
  };
  std::unordered_set<uintptr_t> drawn;
  int prim_id = 0;
  for (auto& a : graph_postorder(outputs, true)) {
    int p = prim_id++;
    os += msg("  P", p, " [label=\"", a.primitive().name(), "\", shape=rectangle];\n");
    for (auto& in : a.inputs()) {
      if (drawn.insert(in.id()).second) array_node(in);
      os += msg("  A", id_of(in), " -> P", p, ";\n");
    }
    for (auto& o : a.outputs()) {
      if (drawn.insert(o.id()).second) array_node(o);
      os += msg("  P", p, " -> A", id_of(o), ";\n");
    }
  }
  for (auto& o : outputs)
    if (drawn.insert(o.id()).second) array_node(o);
  os += "}\n";
  return os;
}

}  // namespace oxmlx
