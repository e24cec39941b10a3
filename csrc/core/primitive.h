// A primitive is one node kind of the graph: the family of kernels it calls
// and its transformation rules (vjp, jvp, vmap) kept next to it.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/array.h"

namespace oxmlx {

class Primitive {
 public:
  explicit Primitive(Stream s) : stream_(s) {}
  virtual ~Primitive() = default;
  Primitive(const Primitive&) = delete;
  Primitive& operator=(const Primitive&) = delete;

  // Computes every output from evaluated inputs on this primitive's stream.
  virtual void eval(const std::vector<array>& inputs, std::vector<array>& outputs) = 0;

  // Reverse mode: cotangents of the inputs listed in argnums.
  virtual std::vector<array> vjp(const std::vector<array>& primals,
                                 const std::vector<array>& cotangents,
                                 const std::vector<int>& argnums,
                                 const std::vector<array>& outputs);
  // Forward mode: tangents of the outputs given tangents of the inputs in argnums.
  virtual std::vector<array> jvp(const std::vector<array>& primals,
                                 const std::vector<array>& tangents,
                                 const std::vector<int>& argnums);
  // Batching: outputs and their batch axes given inputs with batch axes (-1: none).
  virtual std::pair<std::vector<array>, std::vector<int>> vmap(const std::vector<array>& inputs,
                                                               const std::vector<int>& axes);
  // Output shapes from input shapes (for shapeless compilation).
  virtual std::vector<Shape> output_shapes(const std::vector<array>& inputs);

  virtual std::string name() const = 0;
  // Same kind and parameters (so the node can be merged by compile's CSE).
  virtual bool is_equivalent(const Primitive& other) const { return false; }

  const Stream& stream() const { return stream_; }

 private:
  Stream stream_;
};

// Evaluates arrays (iteratively; the graph may be arbitrarily deep).
void eval(std::vector<array> outputs);
void async_eval(std::vector<array> outputs);

// Nodes reachable from outputs, inputs before consumers, one entry per node,
// found with an explicit stack (any depth). only_unscheduled skips nodes that
// are already evaluated or scheduled.
std::vector<array> graph_postorder(const std::vector<array>& outputs, bool only_unscheduled);

}  // namespace oxmlx
