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
  m.def("_jvp_flat",
        [](nb::callable f, const std::vector<array>& primals, const std::vector<array>& tans) {
          return jvp(wrap(f), primals, tans);
        },
        "fun"_a, "primals"_a, "tangents"_a);
}

}  // namespace oxmlx::py
