// The array: a shared handle to a node of the lazy graph. Until evaluated an
// array holds the primitive that computes it and its inputs; afterwards it
// holds a buffer, strides and an offset (so views share buffers).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/allocator.h"
#include "core/device.h"
#include "core/dtype.h"
#include "core/errors.h"
#include "core/pool.h"

namespace oxmlx {

using ShapeElem = int64_t;
using Shape = std::vector<ShapeElem>;
using Strides = std::vector<int64_t>;

class Primitive;
class array;

// The part of the graph shared by all outputs of one primitive application.
struct Node {
  std::shared_ptr<Primitive> primitive;
  std::vector<array> inputs;
  // Multi-output primitives only (empty for a single output, which is the
  // array that holds the node):
  std::vector<Shape> shapes;     // of every output
  std::vector<Dtype> dtypes;     // of every output
  std::vector<std::weak_ptr<struct ArrayDesc>> outputs;
  // Visit mark of eval's graph walk (see graph_postorder in core/eval.cpp).
  uint64_t visit_mark = 0;
};

struct Flags {
  bool contiguous = true;      // elements occupy a dense range (any order)
  bool row_contiguous = true;  // C order
  bool col_contiguous = true;  // Fortran order
};

enum class Status : uint8_t { unscheduled, evaluated, available };

struct ArrayDesc {
  Shape shape;
  Strides strides;
  int64_t size = 1;
  Dtype dtype;
  Status status = Status::unscheduled;
  uint32_t output_index = 0;
  std::shared_ptr<Node> node;  // null for leaves and evaluated arrays
  Stream stream;
  // Storage once evaluated.
  std::shared_ptr<Data> data;
  int64_t offset = 0;      // in elements from data->ptr
  int64_t data_size = 0;   // elements reachable from offset when contiguous
  Flags flags;

  ArrayDesc(Shape s, Dtype d);
  ~ArrayDesc();
};

Strides row_major_strides(const Shape& shape);
int64_t shape_size(const Shape& shape);  // checked against overflow
// Layout flags of a strided view (size-1 dims ignored; dense = no gaps, no
// repeats, non-negative strides).
Flags compute_flags(const Shape& shape, const Strides& strides);

class array {
 public:
  array() = default;
  // Leaf arrays holding a copy of host data (data has shape's size elements of dtype).
  array(const void* data, Shape shape, Dtype dtype);
  // A scalar leaf.
  template <typename T>
  explicit array(T value, Dtype dtype = dtype_of<T>());
  // Wraps existing storage (zero-copy), e.g. numpy memory or a mapped file.
  array(std::shared_ptr<Data> data, Shape shape, Dtype dtype, Strides strides, int64_t offset);
  // A lazy node.
  array(Shape shape, Dtype dtype, std::shared_ptr<Primitive> p, std::vector<array> inputs);
  static std::vector<array> make_arrays(std::vector<Shape> shapes, std::vector<Dtype> dtypes,
                                        std::shared_ptr<Primitive> p, std::vector<array> inputs);

  bool valid() const { return desc_ != nullptr; }
  const Shape& shape() const { return desc_->shape; }
  ShapeElem shape(int axis) const;
  const Strides& strides() const { return desc_->strides; }
  int64_t strides(int axis) const;
  int ndim() const { return int(desc_->shape.size()); }
  int64_t size() const { return desc_->size; }
  Dtype dtype() const { return desc_->dtype; }
  size_t itemsize() const { return desc_->dtype.size; }
  size_t nbytes() const { return size_t(size()) * itemsize(); }

  bool has_primitive() const { return desc_->node != nullptr; }
  Primitive& primitive() const;
  std::shared_ptr<Primitive> primitive_ptr() const;
  const std::vector<array>& inputs() const;
  std::vector<array>& inputs();
  const std::shared_ptr<Node>& node() const { return desc_->node; }
  uint32_t output_index() const { return desc_->output_index; }
  // All outputs of this array's primitive, this one included (siblings that
  // nobody holds any more are recreated as temporaries).
  std::vector<array> outputs() const;
  Stream stream() const { return desc_->stream; }
  void set_stream(const Stream& s) { desc_->stream = s; }

  Status status() const { return desc_->status; }
  void set_status(Status s) const { desc_->status = s; }
  bool is_available() const { return desc_->status == Status::available; }
  void eval();

  // Storage (valid once evaluated).
  const std::shared_ptr<Data>& data_shared_ptr() const { return desc_->data; }
  int64_t offset() const { return desc_->offset; }
  int64_t data_size() const { return desc_->data_size; }
  const Flags& flags() const { return desc_->flags; }
  template <typename T>
  T* data() {
    return reinterpret_cast<T*>(raw_ptr());
  }
  template <typename T>
  const T* data() const {
    return reinterpret_cast<const T*>(raw_ptr());
  }
  void* raw_ptr() const {
    return static_cast<char*>(desc_->data->ptr) + desc_->offset * int64_t(desc_->dtype.size);
  }

  // Gives this array fresh row-contiguous storage.
  void set_data(std::shared_ptr<Data> d);
  void set_data(std::shared_ptr<Data> d, int64_t data_size, Strides strides, Flags flags,
                int64_t offset = 0);
  // Shares another array's storage with new strides/offset (a view).
  void copy_shared_buffer(const array& other, const Strides& strides, Flags flags,
                          int64_t data_size, int64_t offset);
  void copy_shared_buffer(const array& other);
  // Whether this array's storage may be reused by the op consuming it.
  bool is_donatable() const {
    return desc_.use_count() == 1 && desc_->data && desc_->data.use_count() == 1 &&
           desc_->flags.row_contiguous && desc_->data->release_fn == nullptr;
  }
  // Drops the primitive and inputs once evaluated so the graph can be freed.
  void detach();

  template <typename T>
  T item();
  // Identity of the node (for hashing in transforms).
  uintptr_t id() const { return reinterpret_cast<uintptr_t>(desc_.get()); }
  bool is_same(const array& o) const { return desc_ == o.desc_; }
  long use_count() const { return desc_.use_count(); }

  const std::shared_ptr<ArrayDesc>& desc() const { return desc_; }
  explicit array(std::shared_ptr<ArrayDesc> d) : desc_(std::move(d)) {}

 private:
  std::shared_ptr<ArrayDesc> desc_;
};

template <typename T>
array::array(T value, Dtype dtype) : desc_(make_pooled<ArrayDesc>(Shape{}, dtype)) {
  set_data(allocator::malloc(dtype.size));
  dispatch_dtype(dtype, [&](auto t) {
    using U = decltype(t);
    if constexpr (std::is_same_v<U, complex64_t>) {
      if constexpr (std::is_same_v<T, complex64_t>)
        *data<U>() = value;
      else
        *data<U>() = U(static_cast<float>(value), 0.0f);
    } else if constexpr (std::is_same_v<T, complex64_t>) {
      *data<U>() = static_cast<U>(value.real());
    } else if constexpr (std::is_same_v<U, float16_t> || std::is_same_v<U, bfloat16_t>) {
      *data<U>() = U(static_cast<float>(value));
    } else {
      *data<U>() = static_cast<U>(value);
    }
  });
  desc_->status = Status::available;
}

}  // namespace oxmlx
