// Random family builder: bits(shape, key) as a RandomBits node; everything
// else in mx.random is built from it (python/oxmlx/core/random.py).
#include "ops/ops.h"
#include "core/transforms.h"
#include "ops/primitives.h"

namespace oxmlx {

namespace {

class RandomBitsPrim : public Primitive {
  // transforms: no vjp/jvp — a uint32 key in, integer bits out: nothing to differentiate (MLX:
  // RandomBits has no vjp/jvp either)
  // transforms: fallback vmap — the backends' kernel takes one key, so a batch of keys runs one
  // node per key (each as much work as a batched kernel's share; MLX's kernel takes a stack of
  // keys). An unbatched key never reaches this rule.
 public:
  using Primitive::Primitive;
  void eval(const std::vector<array>& in, std::vector<array>& out) override {
    backend_for(stream()).random_bits(in[0], out[0]);
  }
  std::string name() const override { return "RandomBits"; }
  // The kernel takes one key: a batch of keys runs one node per key.
  std::pair<std::vector<array>, std::vector<int>> vmap(const std::vector<array>& in,
                                                       const std::vector<int>& axes) override {
    return vmap_fallback(in, axes);
  }
  bool is_equivalent(const Primitive& o) const override {
    return dynamic_cast<const RandomBitsPrim*>(&o) != nullptr;
  }
};

}  // namespace

array random_bits(const Shape& shape, const array& key, StreamOrDevice s) {
  return random_bits(shape, key, 4, s);
}

array random_bits(const Shape& shape, const array& key, int width, StreamOrDevice s) {
  if (width != 1 && width != 2 && width != 4)
    throw ValueError(msg("[random.bits] Bit width must be in {1, 2, 4} but got ", width, "."));
  if (key.dtype() != uint32 || key.ndim() != 1 || key.shape(0) != 2)
    throw ValueError(msg("[random.bits] Expected a key of shape (2,) and dtype uint32, got shape ",
                         shape_str(key.shape()), " and dtype ", dtype_name(key.dtype()), "."));
  Stream st = to_stream(s);
  Dtype dt = width == 4 ? uint32 : width == 2 ? uint16 : uint8;
  return array(shape, dt, std::make_shared<RandomBitsPrim>(st), {contiguous(key, false, st)});
}

}  // namespace oxmlx
