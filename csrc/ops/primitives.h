// The family primitives. One class per kernel family (not per op): the op
// code and parameters select the computation; vjp/jvp/vmap rules live in the
// family's .cpp file next to its builders.
#pragma once

#include "backend/backend.h"
#include "core/primitive.h"

namespace oxmlx {

// The vmap rule of a family (core/transforms.h has the helpers it uses).
#define OXMLX_VMAP_RULE                                                              \
  std::pair<std::vector<array>, std::vector<int>> vmap(const std::vector<array>&,    \
                                                       const std::vector<int>&) override;

class UnaryPrim : public Primitive {
 public:
  UnaryPrim(Stream s, UnaryOp op) : Primitive(s), op_(op) {}
  void eval(const std::vector<array>& in, std::vector<array>& out) override;
  OXMLX_VMAP_RULE
  std::vector<array> vjp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&, const std::vector<array>&) override;
  std::vector<array> jvp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&) override;
  std::vector<Shape> output_shapes(const std::vector<array>& in) override { return {in[0].shape()}; }
  std::string name() const override { return op_name(op_); }
  bool is_equivalent(const Primitive& o) const override;
  UnaryOp op() const { return op_; }

 private:
  UnaryOp op_;
};

class BinaryPrim : public Primitive {
 public:
  BinaryPrim(Stream s, BinaryOp op) : Primitive(s), op_(op) {}
  void eval(const std::vector<array>& in, std::vector<array>& out) override;
  OXMLX_VMAP_RULE
  std::vector<array> vjp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&, const std::vector<array>&) override;
  std::vector<array> jvp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&) override;
  std::vector<Shape> output_shapes(const std::vector<array>& in) override { return {in[0].shape()}; }
  std::string name() const override { return op_name(op_); }
  bool is_equivalent(const Primitive& o) const override;
  BinaryOp op() const { return op_; }

 private:
  BinaryOp op_;
};

class SelectPrim : public Primitive {
 public:
  explicit SelectPrim(Stream s) : Primitive(s) {}
  void eval(const std::vector<array>& in, std::vector<array>& out) override;
  OXMLX_VMAP_RULE
  std::vector<array> vjp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&, const std::vector<array>&) override;
  std::vector<array> jvp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&) override;
  std::vector<Shape> output_shapes(const std::vector<array>& in) override { return {in[0].shape()}; }
  std::string name() const override { return "Select"; }
  bool is_equivalent(const Primitive& o) const override { return dynamic_cast<const SelectPrim*>(&o); }
};

// Dtype conversion / materialization into row-contiguous storage.
class CopyPrim : public Primitive {
 public:
  explicit CopyPrim(Stream s) : Primitive(s) {}
  void eval(const std::vector<array>& in, std::vector<array>& out) override;
  OXMLX_VMAP_RULE
  std::vector<array> vjp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&, const std::vector<array>&) override;
  std::vector<array> jvp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&) override;
  std::vector<Shape> output_shapes(const std::vector<array>& in) override { return {in[0].shape()}; }
  std::string name() const override { return "Copy"; }
  bool is_equivalent(const Primitive& o) const override { return dynamic_cast<const CopyPrim*>(&o); }
};

class ArangePrim : public Primitive {
  // transforms: no vjp/jvp — no array inputs, nothing to differentiate (MLX: Arange has none either)
 public:
  ArangePrim(Stream s, double start, double step) : Primitive(s), start_(start), step_(step) {}
  void eval(const std::vector<array>& in, std::vector<array>& out) override;
  OXMLX_VMAP_RULE
  std::string name() const override { return "Arange"; }
  bool is_equivalent(const Primitive& o) const override;

 private:
  double start_, step_;
};

// Views: the output shares the input's buffer with new shape/strides/offset.
class ViewPrim : public Primitive {
 public:
  enum class Kind { Reshape, Transpose, Broadcast, Slice, AsStrided };
  ViewPrim(Stream s, Kind k) : Primitive(s), kind_(k) {}
  Kind kind() const { return kind_; }
  void eval(const std::vector<array>& in, std::vector<array>& out) override;
  OXMLX_VMAP_RULE
  std::vector<array> vjp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&, const std::vector<array>&) override;
  std::vector<array> jvp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&) override;
  std::vector<Shape> output_shapes(const std::vector<array>& in) override;
  std::string name() const override;
  bool is_equivalent(const Primitive& o) const override;

  // Parameters by kind: Transpose uses perm; Slice uses start/stop/strides;
  // AsStrided uses strides + offset; Reshape/Broadcast use the output shape.
  std::vector<int> perm;
  Shape start, stop, step;
  Strides as_strides;
  int64_t as_offset = 0;

 private:
  Kind kind_;
};

class ReducePrim : public Primitive {
 public:
  ReducePrim(Stream s, ReduceOp op, std::vector<int> axes) : Primitive(s), op_(op), axes_(std::move(axes)) {}
  void eval(const std::vector<array>& in, std::vector<array>& out) override;
  OXMLX_VMAP_RULE
  std::vector<array> vjp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&, const std::vector<array>&) override;
  std::vector<array> jvp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&) override;
  std::vector<Shape> output_shapes(const std::vector<array>& in) override;
  std::string name() const override { return op_name(op_); }
  bool is_equivalent(const Primitive& o) const override;
  ReduceOp op() const { return op_; }
  const std::vector<int>& axes() const { return axes_; }

 private:
  ReduceOp op_;
  std::vector<int> axes_;
};

class ArgReducePrim : public Primitive {
 public:
  ArgReducePrim(Stream s, ArgReduceOp op, int axis) : Primitive(s), op_(op), axis_(axis) {}
  void eval(const std::vector<array>& in, std::vector<array>& out) override;
  OXMLX_VMAP_RULE
  // Integer indices: zero cotangents / tangents (as MLX's ArgReduce).
  std::vector<array> vjp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&, const std::vector<array>&) override;
  std::vector<array> jvp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&) override;
  std::vector<Shape> output_shapes(const std::vector<array>& in) override;
  std::string name() const override { return op_ == ArgReduceOp::ArgMax ? "ArgMax" : "ArgMin"; }
  bool is_equivalent(const Primitive& o) const override;

 private:
  ArgReduceOp op_;
  int axis_;
};

class ScanPrim : public Primitive {
 public:
  ScanPrim(Stream s, ScanOp op, int axis, bool reverse, bool inclusive)
      : Primitive(s), op_(op), axis_(axis), reverse_(reverse), inclusive_(inclusive) {}
  void eval(const std::vector<array>& in, std::vector<array>& out) override;
  OXMLX_VMAP_RULE
  std::vector<array> vjp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&, const std::vector<array>&) override;
  std::vector<array> jvp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&) override;
  std::vector<Shape> output_shapes(const std::vector<array>& in) override { return {in[0].shape()}; }
  std::string name() const override { return op_name(op_); }
  bool is_equivalent(const Primitive& o) const override;

 private:
  ScanOp op_;
  int axis_;
  bool reverse_, inclusive_;
};

class MatmulPrim : public Primitive {
 public:
  explicit MatmulPrim(Stream s) : Primitive(s) {}
  void eval(const std::vector<array>& in, std::vector<array>& out) override;
  OXMLX_VMAP_RULE
  std::vector<array> vjp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&, const std::vector<array>&) override;
  std::vector<array> jvp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&) override;
  std::vector<Shape> output_shapes(const std::vector<array>& in) override;
  std::string name() const override { return "Matmul"; }
  bool is_equivalent(const Primitive& o) const override { return dynamic_cast<const MatmulPrim*>(&o); }
};

// Writes `update` into the strided region (start, step) of a copy of `base`.
class SliceUpdatePrim : public Primitive {
 public:
  SliceUpdatePrim(Stream s, Shape start, Shape step)
      : Primitive(s), start_(std::move(start)), step_(std::move(step)) {}
  void eval(const std::vector<array>& in, std::vector<array>& out) override;
  OXMLX_VMAP_RULE
  std::vector<array> vjp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&, const std::vector<array>&) override;
  std::vector<array> jvp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&) override;
  std::vector<Shape> output_shapes(const std::vector<array>& in) override { return {in[0].shape()}; }
  std::string name() const override { return "SliceUpdate"; }
  bool is_equivalent(const Primitive& o) const override;

 private:
  Shape start_, step_;
};

}  // namespace oxmlx

namespace oxmlx {

// Gather family: inputs {src, indices...}; out = index shape + slice_sizes.
class GatherPrim : public Primitive {
 public:
  GatherPrim(Stream s, std::vector<int> axes, Shape slice_sizes)
      : Primitive(s), axes_(std::move(axes)), slice_sizes_(std::move(slice_sizes)) {}
  void eval(const std::vector<array>& in, std::vector<array>& out) override;
  OXMLX_VMAP_RULE
  std::vector<array> vjp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&, const std::vector<array>&) override;
  std::vector<array> jvp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&) override;
  std::string name() const override { return "Gather"; }
  bool is_equivalent(const Primitive& o) const override;

 private:
  std::vector<int> axes_;
  Shape slice_sizes_;
};

// Scatter family: inputs {base, indices..., updates}; out has base's shape.
class ScatterPrim : public Primitive {
 public:
  ScatterPrim(Stream s, ScatterOp op, std::vector<int> axes)
      : Primitive(s), op_(op), axes_(std::move(axes)) {}
  void eval(const std::vector<array>& in, std::vector<array>& out) override;
  OXMLX_VMAP_RULE
  std::vector<array> vjp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&, const std::vector<array>&) override;
  std::vector<array> jvp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&) override;
  std::string name() const override { return "Scatter"; }
  bool is_equivalent(const Primitive& o) const override;

 private:
  ScatterOp op_;
  std::vector<int> axes_;
};

}  // namespace oxmlx

namespace oxmlx {

// Sort family (ops/sort.cpp): inputs {a}; the values sorted along `axis`
// (stable, NaNs last), or their uint32 source indices when `arg`.
class SortPrim : public Primitive {
 public:
  SortPrim(Stream s, int axis, bool arg) : Primitive(s), axis_(axis), arg_(arg) {}
  void eval(const std::vector<array>& in, std::vector<array>& out) override;
  std::vector<array> vjp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&, const std::vector<array>&) override;
  std::vector<array> jvp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&) override;
  std::vector<Shape> output_shapes(const std::vector<array>& in) override { return {in[0].shape()}; }
  std::pair<std::vector<array>, std::vector<int>> vmap(const std::vector<array>&,
                                                       const std::vector<int>&) override;
  std::string name() const override { return arg_ ? "ArgSort" : "Sort"; }
  bool is_equivalent(const Primitive& o) const override;

 private:
  int axis_;
  bool arg_;
};

// Partition family: the kth element where a full sort puts it, smaller ones
// before, larger ones after (or the indices that do so when `arg`).
class PartitionPrim : public Primitive {
 public:
  PartitionPrim(Stream s, int axis, int kth, bool arg)
      : Primitive(s), axis_(axis), kth_(kth), arg_(arg) {}
  void eval(const std::vector<array>& in, std::vector<array>& out) override;
  std::vector<array> vjp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&, const std::vector<array>&) override;
  std::vector<array> jvp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&) override;
  std::vector<Shape> output_shapes(const std::vector<array>& in) override { return {in[0].shape()}; }
  std::pair<std::vector<array>, std::vector<int>> vmap(const std::vector<array>&,
                                                       const std::vector<int>&) override;
  std::string name() const override { return arg_ ? "ArgPartition" : "Partition"; }
  bool is_equivalent(const Primitive& o) const override;

 private:
  int axis_, kth_;
  bool arg_;
};

// Bit reinterpretation (ops/misc.cpp): a view of the input's bytes as another
// dtype (the last axis rescaled when the item sizes differ); copies first
// when the input is not row-contiguous.
class BitcastPrim : public Primitive {
  // transforms: no vjp/jvp — reinterpreting bits is not differentiable (MLX: View has no vjp/jvp
  // either); integer results still give zero gradients through the engine
 public:
  BitcastPrim(Stream s, Dtype to) : Primitive(s), out_dtype_(to.val) {}
  void eval(const std::vector<array>& in, std::vector<array>& out) override;
  std::pair<std::vector<array>, std::vector<int>> vmap(const std::vector<array>&,
                                                       const std::vector<int>&) override;
  std::string name() const override { return "View"; }
  bool is_equivalent(const Primitive& o) const override {
    auto* p = dynamic_cast<const BitcastPrim*>(&o);
    return p && p->out_dtype_ == out_dtype_;
  }

 private:
  Dtype::Val out_dtype_;
};

// inputs {x_0..x_{n-1}, deps...}; outputs share x_i's buffers once the
// dependencies have been evaluated (mx.depends).
class DependsPrim : public Primitive {
 public:
  DependsPrim(Stream s, int n) : Primitive(s), n_(n) {}
  void eval(const std::vector<array>& in, std::vector<array>& out) override;
  std::vector<array> vjp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&, const std::vector<array>&) override;
  std::vector<array> jvp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&) override;
  std::pair<std::vector<array>, std::vector<int>> vmap(const std::vector<array>&,
                                                       const std::vector<int>&) override;
  std::string name() const override { return "Depends"; }

 private:
  int n_;
};

}  // namespace oxmlx

namespace oxmlx {

// Linalg family (ops/linalg_ops.cpp): dense factorizations and solves over
// the last two axes. The number of outputs selects variants (svd without
// U/Vt, eigvals, eigvalsh); "upper" variants are built from transposes.
class LinalgPrim : public Primitive {
 public:
  LinalgPrim(Stream s, LinalgOp op) : Primitive(s), op_(op) {}
  void eval(const std::vector<array>& in, std::vector<array>& out) override;
  OXMLX_VMAP_RULE
  std::vector<array> vjp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&, const std::vector<array>&) override;
  std::vector<array> jvp(const std::vector<array>&, const std::vector<array>&,
                         const std::vector<int>&) override;
  std::string name() const override;
  bool is_equivalent(const Primitive& o) const override;
  LinalgOp op() const { return op_; }

 private:
  LinalgOp op_;
};

}  // namespace oxmlx
