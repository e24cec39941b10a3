#include "core/array.h"
#include "core/host.h"

#include <algorithm>
#include <cstring>

#include "core/pool.h"
#include "core/primitive.h"

namespace oxmlx {

Strides row_major_strides(const Shape& shape) {
  Strides s(shape.size());
  int64_t acc = 1;
  for (int i = int(shape.size()) - 1; i >= 0; --i) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

int64_t shape_size(const Shape& shape) {
  int64_t n = 1;
  for (auto d : shape) {
    if (d < 0) throw ValueError(msg("Negative dimension in shape ", shape_str(shape), "."));
    if (d != 0 && n > INT64_MAX / d)
      throw ValueError(msg("Shape ", shape_str(shape), " has too many elements."));
    n *= d;
  }
  return n;
}

Flags compute_flags(const Shape& shape, const Strides& strides) {
  Flags f;
  int64_t expect = 1;
  for (int i = int(shape.size()) - 1; i >= 0; --i) {
    if (shape[i] == 1) continue;
    if (strides[i] != expect) f.row_contiguous = false;
    expect *= shape[i];
  }
  expect = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 1) continue;
    if (strides[i] != expect) f.col_contiguous = false;
    expect *= shape[i];
  }
  f.contiguous = f.row_contiguous || f.col_contiguous;
  if (!f.contiguous) {
    // Any permutation of a dense layout: sorted by stride, each stride must
    // equal the product of the extents inside it.
    std::vector<std::pair<int64_t, int64_t>> dims;
    for (size_t i = 0; i < shape.size(); ++i)
      if (shape[i] != 1) dims.push_back({strides[i], shape[i]});
    std::sort(dims.begin(), dims.end());
    int64_t acc = 1;
    bool dense = true;
    for (auto& [st, n] : dims) {
      if (st != acc) dense = false;
      acc *= n;
    }
    f.contiguous = dense;
  }
  return f;
}

ArrayDesc::ArrayDesc(Shape s, Dtype d) : shape(std::move(s)), dtype(d) {
  size = shape_size(shape);
}

ArrayDesc::~ArrayDesc() {
  // Releasing a long chain through nested shared_ptr destructors would
  // recurse once per node; instead strip nodes that only we reference and
  // release them from an explicit stack.
  if (!node || node.use_count() != 1) return;
  std::vector<std::shared_ptr<Node>> stack;
  stack.push_back(std::move(node));
  while (!stack.empty()) {
    std::shared_ptr<Node> n = std::move(stack.back());
    stack.pop_back();
    for (auto& in : n->inputs) {
      auto& d = const_cast<std::shared_ptr<ArrayDesc>&>(in.desc());
      if (d && d.use_count() == 1 && d->node && d->node.use_count() == 1) {
        stack.push_back(std::move(d->node));
      }
    }
  }
}

array::array(const void* src, Shape shape, Dtype dtype)
    : desc_(make_pooled<ArrayDesc>(std::move(shape), dtype)) {
  set_data(allocator::malloc(nbytes()));
  if (nbytes()) std::memcpy(desc_->data->ptr, src, nbytes());
  desc_->status = Status::available;
}

array::array(std::shared_ptr<Data> data, Shape shape, Dtype dtype, Strides strides, int64_t offset)
    : desc_(make_pooled<ArrayDesc>(std::move(shape), dtype)) {
  Flags f = compute_flags(desc_->shape, strides);
  desc_->data = std::move(data);
  desc_->strides = std::move(strides);
  desc_->offset = offset;
  desc_->data_size = f.contiguous ? size() : 0;
  desc_->flags = f;
  desc_->status = Status::available;
}

array::array(Shape shape, Dtype dtype, std::shared_ptr<Primitive> p, std::vector<array> inputs)
    : desc_(make_pooled<ArrayDesc>(std::move(shape), dtype)) {
  auto n = make_pooled<Node>();
  desc_->stream = p->stream();
  n->primitive = std::move(p);
  n->inputs = std::move(inputs);
  // A single-output node leaves shapes/dtypes/outputs empty (its one output
  // is the array holding it; see outputs()), saving four allocations per op.
  desc_->node = std::move(n);
}

std::vector<array> array::make_arrays(std::vector<Shape> shapes, std::vector<Dtype> dtypes,
                                      std::shared_ptr<Primitive> p, std::vector<array> inputs) {
  auto n = make_pooled<Node>();
  Stream s = p->stream();
  n->primitive = std::move(p);
  n->inputs = std::move(inputs);
  std::vector<array> outs;
  for (size_t i = 0; i < shapes.size(); ++i) {
    auto d = make_pooled<ArrayDesc>(shapes[i], dtypes[i]);
    d->node = n;
    d->output_index = uint32_t(i);
    d->stream = s;
    n->outputs.push_back(d);
    outs.emplace_back(std::move(d));
  }
  n->shapes = std::move(shapes);
  n->dtypes = std::move(dtypes);
  return outs;
}

ShapeElem array::shape(int axis) const {
  int ax = axis < 0 ? axis + ndim() : axis;
  if (ax < 0 || ax >= ndim())
    throw IndexError(msg("Axis ", axis, " is out of bounds for array with ", ndim(), " dimensions."));
  return desc_->shape[ax];
}

int64_t array::strides(int axis) const {
  int ax = axis < 0 ? axis + ndim() : axis;
  return desc_->strides.at(ax);
}

Primitive& array::primitive() const { return *desc_->node->primitive; }
std::shared_ptr<Primitive> array::primitive_ptr() const {
  return desc_->node ? desc_->node->primitive : nullptr;
}
const std::vector<array>& array::inputs() const {
  static const std::vector<array> empty;
  return desc_->node ? desc_->node->inputs : empty;
}
std::vector<array>& array::inputs() { return desc_->node->inputs; }

std::vector<array> array::outputs() const {
  auto& n = desc_->node;
  if (!n || n->outputs.empty()) return {*this};
  std::vector<array> out;
  out.reserve(n->outputs.size());
  for (size_t i = 0; i < n->outputs.size(); ++i) {
    if (i == desc_->output_index) {
      out.push_back(*this);
    } else if (auto sp = n->outputs[i].lock()) {
      out.emplace_back(std::move(sp));
    } else {
      auto d = make_pooled<ArrayDesc>(n->shapes[i], n->dtypes[i]);
      d->node = n;
      d->output_index = uint32_t(i);
      d->stream = desc_->stream;
      n->outputs[i] = d;
      out.emplace_back(std::move(d));
    }
  }
  return out;
}

void array::eval() { oxmlx::eval({*this}); }

void array::set_data(std::shared_ptr<Data> d) {
  desc_->data = std::move(d);
  desc_->strides = row_major_strides(desc_->shape);
  desc_->offset = 0;
  desc_->data_size = desc_->size;
  desc_->flags = Flags{true, true, ndim() <= 1 || size() <= 1};
  if (!desc_->flags.col_contiguous) {
    int non1 = 0;
    for (auto s : desc_->shape) non1 += s != 1;
    desc_->flags.col_contiguous = non1 <= 1;
  }
}

void array::set_data(std::shared_ptr<Data> d, int64_t data_size, Strides strides, Flags flags,
                     int64_t offset) {
  desc_->data = std::move(d);
  desc_->strides = std::move(strides);
  desc_->offset = offset;
  desc_->data_size = data_size;
  desc_->flags = flags;
}

void array::copy_shared_buffer(const array& other, const Strides& strides, Flags flags,
                               int64_t data_size, int64_t offset) {
  desc_->data = other.desc_->data;
  desc_->strides = strides;
  desc_->flags = flags;
  desc_->data_size = data_size;
  desc_->offset = offset;
}

void array::copy_shared_buffer(const array& other) {
  copy_shared_buffer(other, other.strides(), other.flags(), other.data_size(), other.offset());
}

void array::detach() {
  desc_->node.reset();
}

template <typename T>
T array::item() {
  if (size() != 1)
    throw ValueError(msg("item() can only be called on arrays of size 1, got shape ",
                         shape_str(shape()), "."));
  eval();
  array h = host_array(*this);
  return dispatch_dtype(dtype(), [&](auto t) -> T {
    using U = decltype(t);
    U v = *h.data<U>();
    if constexpr (std::is_same_v<U, complex64_t>) {
      if constexpr (std::is_same_v<T, complex64_t>) return v;
      else return static_cast<T>(v.real());
    } else if constexpr (std::is_same_v<T, complex64_t>) {
      return T(static_cast<float>(v), 0.0f);
    } else if constexpr (std::is_same_v<U, float16_t> || std::is_same_v<U, bfloat16_t>) {
      return static_cast<T>(static_cast<float>(v));
    } else {
      return static_cast<T>(v);
    }
  });
}

template bool array::item<bool>();
template int64_t array::item<int64_t>();
template uint64_t array::item<uint64_t>();
template double array::item<double>();
template float array::item<float>();
template int32_t array::item<int32_t>();
template complex64_t array::item<complex64_t>();

}  // namespace oxmlx
