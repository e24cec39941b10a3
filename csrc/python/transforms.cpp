// Function transforms: the flat C++ entry points; pytree handling lives in
// python/oxmlx/core/_transforms.py.
#include <nanobind/stl/function.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/vector.h>

#include "core/transforms.h"
#include "python/bindings.h"

namespace oxmlx::py {

namespace {

ArrayFn wrap(nb::callable f) {
  return [f](const std::vector<array>& xs) {
    nb::object r = f(nb::cast(xs));
    return nb::cast<std::vector<array>>(r);
  };
}

}  // namespace

void init_transforms(nb::module_& m) {
  m.def("_vjp_flat",
        [](nb::callable f, const std::vector<array>& primals, const std::vector<array>& cots) {
          return vjp(wrap(f), primals, cots);
        },
        "fun"_a, "primals"_a, "cotangents"_a);
  // in_axes / out_axes: None entries mean "not vectorized"; out_axes is a
  // callable returning the flat output axes once fun has run.
  m.def("_vmap_flat",
        [](nb::callable f, const std::vector<array>& inputs, nb::list in_axes, nb::callable out_axes) {
          auto conv = [](nb::handle h) { return h.is_none() ? kVmapNone : nb::cast<int>(h); };
          std::vector<int> ia;
          for (nb::handle h : in_axes) ia.push_back(conv(h));
          return vmap(wrap(f), inputs, ia, [&]() {
            std::vector<int> oa;
            for (nb::handle h : out_axes()) oa.push_back(conv(h));
            return oa;
          });
        },
        "fun"_a, "inputs"_a, "in_axes"_a, "out_axes"_a);
  m.def("_jvp_flat",
        [](nb::callable f, const std::vector<array>& primals, const std::vector<array>& tans) {
          return jvp(wrap(f), primals, tans);
        },
        "fun"_a, "primals"_a, "tangents"_a);
}

}  // namespace oxmlx::py
