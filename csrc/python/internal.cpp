// Private strided slice helpers used by the Python-level compositions in
// python/oxmlx/core/_composite.py (concatenate, pad, roll, ...).
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "backend/cpu/gemm.h"
#include "python/bindings.h"

namespace oxmlx::py {

void init_internal(nb::module_& m) {
  m.def("_strided_slice",
        [](const array& a, Shape start, Shape stop, Shape strides) {
          return slice(a, std::move(start), std::move(stop), std::move(strides));
        },
        "a"_a, "start"_a, "stop"_a, "strides"_a);
  m.def("_strided_slice_update",
        [](const array& a, const array& update, Shape start, Shape stop, Shape strides) {
          return slice_update(a, update, std::move(start), std::move(stop), std::move(strides));
        },
        "a"_a, "update"_a, "start"_a, "stop"_a, "strides"_a);
  // The CPU GEMM paths in use: ISA, bf16 dot-product kernels, AMX (for tests
  // that force them via OXMLX_GEMM_ISA / OXMLX_GEMM_BF16DOT / OXMLX_GEMM_AMX
  // in a subprocess).
  m.def("_gemm_paths", []() {
    return std::vector<std::string>{cpu::gemm_detail::gemm_isa_name(),
                                    cpu::gemm_detail::gemm_bf16_path_name(),
                                    cpu::gemm_detail::gemm_amx_name()};
  });
  m.def("_random_bits",
        [](Shape shape, const array& key, int width, nb::handle stream) {
          return random_bits(shape, key, width, to_sod(stream));
        },
        "shape"_a, "key"_a, "width"_a = 4, "stream"_a.none() = nb::none());
}

}  // namespace oxmlx::py
