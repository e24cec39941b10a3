// Quantization and matmul-variant ops of oxmlx.core: argument conversion only.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "ops/conv.h"
#include "python/bindings.h"

namespace oxmlx::py {

namespace {

std::optional<array> opt_array(nb::handle h) {
  if (!h.is_valid() || h.is_none()) return std::nullopt;
  return to_array(h);
}

int opt_int(nb::handle h) { return (!h.is_valid() || h.is_none()) ? -1 : nb::cast<int>(h); }

void no_global_scale(nb::handle g, const char* op) {
  if (g.is_valid() && !g.is_none())
    throw ValueError(msg("[", op, "] global_scale is only used by the 'nvfp4' mode, which is not "
                                  "implemented yet."));
}

}  // namespace

void init_quantized(nb::module_& m) {
  m.def("quantize",
        [](const array& w, nb::handle gs, nb::handle bits, const std::string& mode,
           nb::handle global_scale, nb::handle s) {
          no_global_scale(global_scale, "quantize");
          auto r = quantize(w, opt_int(gs), opt_int(bits), mode, to_sod(s));
          if (r.size() == 3) return nb::make_tuple(r[0], r[1], r[2]);
          return nb::make_tuple(r[0], r[1]);
        },
        "w"_a, "group_size"_a.none() = nb::none(), "bits"_a.none() = nb::none(),
        "mode"_a = "affine", nb::kw_only(), "global_scale"_a.none() = nb::none(),
        "stream"_a.none() = nb::none());
  m.def("dequantize",
        [](const array& w, const array& scales, nb::handle biases, nb::handle gs, nb::handle bits,
           const std::string& mode, nb::handle global_scale, std::optional<Dtype> dtype,
           nb::handle s) {
          no_global_scale(global_scale, "dequantize");
          return dequantize(w, scales, opt_array(biases), opt_int(gs), opt_int(bits), mode, dtype,
                            to_sod(s));
        },
        "w"_a, "scales"_a, "biases"_a.none() = nb::none(), "group_size"_a.none() = nb::none(),
        "bits"_a.none() = nb::none(), "mode"_a = "affine", "global_scale"_a.none() = nb::none(),
        "dtype"_a.none() = nb::none(), nb::kw_only(), "stream"_a.none() = nb::none());
  m.def("quantized_matmul",
        [](nb::handle x, const array& w, const array& scales, nb::handle biases, bool transpose,
           nb::handle gs, nb::handle bits, const std::string& mode, nb::handle s) {
          return quantized_matmul(to_array(x), w, scales, opt_array(biases), transpose,
                                  opt_int(gs), opt_int(bits), mode, to_sod(s));
        },
        "x"_a, "w"_a, "scales"_a, "biases"_a.none() = nb::none(), "transpose"_a = true,
        "group_size"_a.none() = nb::none(), "bits"_a.none() = nb::none(), "mode"_a = "affine",
        nb::kw_only(), "stream"_a.none() = nb::none());
  m.def("gather_qmm",
        [](nb::handle x, const array& w, const array& scales, nb::handle biases, nb::handle lhs,
           nb::handle rhs, bool transpose, nb::handle gs, nb::handle bits, const std::string& mode,
           nb::handle global_scale, bool sorted, nb::handle s) {
          no_global_scale(global_scale, "gather_qmm");
          return gather_qmm(to_array(x), w, scales, opt_array(biases), opt_array(lhs),
                            opt_array(rhs), transpose, opt_int(gs), opt_int(bits), mode, sorted,
                            to_sod(s));
        },
        "x"_a, "w"_a, "scales"_a, "biases"_a.none() = nb::none(),
        "lhs_indices"_a.none() = nb::none(), "rhs_indices"_a.none() = nb::none(),
        "transpose"_a = true, "group_size"_a.none() = nb::none(), "bits"_a.none() = nb::none(),
        "mode"_a = "affine", "global_scale"_a.none() = nb::none(), nb::kw_only(),
        "sorted_indices"_a = false, "stream"_a.none() = nb::none());
  m.def("gather_mm",
        [](nb::handle a, nb::handle b, nb::handle lhs, nb::handle rhs, bool sorted, nb::handle s) {
          return gather_mm(to_array(a), to_array(b), opt_array(lhs), opt_array(rhs), sorted,
                           to_sod(s));
        },
        "a"_a, "b"_a, "lhs_indices"_a.none() = nb::none(), "rhs_indices"_a.none() = nb::none(),
        nb::kw_only(), "sorted_indices"_a = false, "stream"_a.none() = nb::none());
  m.def("segmented_mm",
        [](nb::handle a, nb::handle b, nb::handle segments, nb::handle s) {
          return segmented_mm(to_array(a), to_array(b), to_array(segments), to_sod(s));
        },
        "a"_a, "b"_a, "segments"_a, nb::kw_only(), "stream"_a.none() = nb::none());
  m.def("block_masked_mm",
        [](nb::handle a, nb::handle b, int block_size, nb::handle mo, nb::handle ml, nb::handle mr,
           nb::handle s) {
          return block_masked_mm(to_array(a), to_array(b), block_size, opt_array(mo),
                                 opt_array(ml), opt_array(mr), to_sod(s));
        },
        "a"_a, "b"_a, "block_size"_a = 64, "mask_out"_a.none() = nb::none(),
        "mask_lhs"_a.none() = nb::none(), "mask_rhs"_a.none() = nb::none(), nb::kw_only(),
        "stream"_a.none() = nb::none());
}

}  // namespace oxmlx::py
