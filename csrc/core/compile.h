// compile: a function traced once into a program of primitive applications
// that is replayed on new inputs without calling the function again.
// Simplification merges equivalent nodes (common subexpressions) and equal
// scalar constants; fusion turns chains of elementwise nodes into one node
// of the fused kernel family.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backend/backend.h"
#include "core/transforms.h"

namespace oxmlx {

class Primitive;

class CompiledProgram {
 public:
  struct Ref {
    enum Kind : uint8_t { Input, Const, Node } kind;
    int index;    // input number, constant number or step number
    int out = 0;  // output of the step
    bool operator==(const Ref& o) const { return kind == o.kind && index == o.index && out == o.out; }
  };
  struct Step {
    std::shared_ptr<Primitive> prim;
    std::vector<Ref> inputs;
    std::vector<Shape> shapes;
    std::vector<Dtype> dtypes;
    // Reshapes that only add or drop size-1 dims (squeeze, expand_dims,
    // keepdims): output dim i is input dim dim_map[i], or 1 where it is -1.
    // Lets shapeless replays follow new input shapes.
    std::vector<int> dim_map;
    bool has_dim_map = false;
  };

  // New lazy outputs computed from `inputs` (shapes inferred from the inputs
  // with shapeless, else the traced ones).
  std::vector<array> run(const std::vector<array>& inputs, bool shapeless) const;
  const std::vector<Step>& steps() const { return steps_; }
  size_t num_inputs() const { return num_inputs_; }

 private:
  friend std::shared_ptr<CompiledProgram> compile_trace(const ArrayFn&, const std::vector<array>&,
                                                        bool, bool);
  void simplify();
  void fuse();
  void remove_dead();

  size_t num_inputs_ = 0;
  std::vector<Shape> input_shapes_;
  std::vector<Dtype> input_dtypes_;
  std::vector<Step> steps_;
  std::vector<array> constants_;
  std::vector<Ref> outputs_;
};

// Traces fun on tracers of `inputs` (their shapes and dtypes) into a program.
std::shared_ptr<CompiledProgram> compile_trace(const ArrayFn& fun, const std::vector<array>& inputs,
                                               bool simplify = true, bool fuse = true);

// The fused-family primitive (ops/fused.cpp); all outputs share one shape,
// the broadcast of the inputs' shapes.
std::shared_ptr<Primitive> make_fused_primitive(Stream s, FusedProgram program);

// The graph of outputs (its unevaluated part) as DOT text; `names` label some arrays.
std::string graph_to_dot(const std::vector<array>& outputs,
                         const std::vector<std::pair<std::string, array>>& names);

}  // namespace oxmlx
