// oxmlx.core.fast (mx.fast) and the fused softmax entry point: argument
// conversion only.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "ops/composite.h"
#include "ops/fast.h"
#include "python/bindings.h"

namespace oxmlx::py {

namespace {

std::optional<array> opt_array(nb::handle h) {
  if (!h.is_valid() || h.is_none()) return std::nullopt;
  return to_array(h);
}

// Custom GPU kernels cannot run here: the factory works as in MLX, calling
// the kernel raises RuntimeError.
nb::object no_backend_kernel(const char* what) {
  std::string m = msg("[", what, "] No ", std::string(what) == "metal_kernel" ? "Metal" : "CUDA",
                      " back-end.");
  return nb::cpp_function([m](nb::args, nb::kwargs) -> nb::object { throw RuntimeError(m); });
}

}  // namespace

void init_fast(nb::module_& m) {
  nb::module_ f = m.def_submodule("fast", "Fused kernels: norms, rotary embeddings, attention.");

  f.def("rms_norm",
        [](nb::handle x, nb::handle weight, float eps, nb::handle s) {
          return fast::rms_norm(to_array(x), opt_array(weight), eps, to_sod(s));
        },
        "x"_a, "weight"_a.none(), "eps"_a, nb::kw_only(), "stream"_a.none() = nb::none(),
        "Root Mean Square normalization over the last axis of x.");
  f.def("layer_norm",
        [](nb::handle x, nb::handle weight, nb::handle bias, float eps, nb::handle s) {
          return fast::layer_norm(to_array(x), opt_array(weight), opt_array(bias), eps, to_sod(s));
        },
        "x"_a, "weight"_a.none(), "bias"_a.none(), "eps"_a, nb::kw_only(),
        "stream"_a.none() = nb::none(), "Layer normalization over the last axis of x.");
  f.def("rope",
        [](nb::handle a, int dims, bool traditional, std::optional<float> base, float scale,
           nb::handle offset, nb::handle freqs, nb::handle s) {
          array off = PyLong_Check(offset.ptr()) ? array(nb::cast<int64_t>(offset), int32)
                                                 : to_array(offset);
          return fast::rope(to_array(a), dims, traditional, base, scale, off, opt_array(freqs),
                            to_sod(s));
        },
        "a"_a, "dims"_a, nb::kw_only(), "traditional"_a, "base"_a.none(), "scale"_a, "offset"_a,
        "freqs"_a.none() = nb::none(), "stream"_a.none() = nb::none(),
        "Rotary positional encoding of the last axis of a (B, *, T, D).");
  f.def("scaled_dot_product_attention",
        [](nb::handle q, nb::handle k, nb::handle v, float scale, nb::handle mask,
           nb::handle sinks, bool, nb::handle s) {
          std::string mode;
          std::optional<array> marr;
          if (nb::isinstance<nb::str>(mask)) {
            mode = nb::cast<std::string>(mask);
            if (mode != "causal")
              throw ValueError(msg("[scaled_dot_product_attention] invalid mask option '", mode,
                                   "'. Must be 'causal', or an array."));
          } else if (!mask.is_none()) {
            mode = "array";
            marr = to_array(mask);
          }
          return fast::scaled_dot_product_attention(to_array(q), to_array(k), to_array(v), scale,
                                                    mode, marr, opt_array(sinks), to_sod(s));
        },
        "q"_a, "k"_a, "v"_a, nb::kw_only(), "scale"_a, "mask"_a.none() = nb::none(),
        "sinks"_a.none() = nb::none(), "force_fused"_a = false, "stream"_a.none() = nb::none(),
        "Multi-head attention softmax(scale * q k^T + mask) v with grouped-query heads.");
  f.def("cross_entropy",
        [](nb::handle logits, nb::handle targets, nb::handle s) {
          return fast::cross_entropy(to_array(logits), to_array(targets), to_sod(s));
        },
        "logits"_a, "targets"_a, nb::kw_only(), "stream"_a.none() = nb::none(),
        "Cross entropy logsumexp(logits, -1) - logits[..., targets], in float32.");
  f.def("gated_delta_update",
        [](nb::handle q, nb::handle k, nb::handle v, nb::handle gamma, nb::handle beta,
           nb::handle state, nb::handle mask, nb::handle s) {
          return fast::gated_delta_update(to_array(q), to_array(k), to_array(v), to_array(gamma),
                                          to_array(beta), opt_array(state), opt_array(mask),
                                          to_sod(s));
        },
        "q"_a, "k"_a, "v"_a, "gamma"_a, "beta"_a, "initial_state"_a.none() = nb::none(),
        "mask"_a.none() = nb::none(), "stream"_a.none() = nb::none(),
        "Gated delta network recurrence: returns [output (B, T, Hv, Dv), final state (B, Hv, Dv, Dk)].");
  f.def("metal_kernel",
        [](nb::handle, nb::handle, nb::handle, nb::handle, nb::handle, bool, bool, nb::handle) {
          return no_backend_kernel("metal_kernel");
        },
        "name"_a, "input_names"_a, "output_names"_a, "source"_a, "header"_a = "",
        "ensure_row_contiguous"_a = true, "atomic_outputs"_a = false,
        "compile_options"_a.none() = nb::none(),
        "Custom Metal kernel (this build has no Metal back-end: calling it raises).");
  f.def("cuda_kernel",
        [](nb::handle, nb::handle, nb::handle, nb::handle, nb::handle, bool, int) {
          return no_backend_kernel("cuda_kernel");
        },
        "name"_a, "input_names"_a, "output_names"_a, "source"_a, "header"_a = "",
        "ensure_row_contiguous"_a = true, "shared_memory"_a = 0,
        "Custom CUDA kernel (this build has no CUDA back-end: calling it raises).");
  f.def("precompiled_cuda_kernel",
        [](nb::kwargs) -> nb::object { throw RuntimeError("[cuda_kernel] No CUDA back-end."); },
        "Precompiled CUDA kernel (this build has no CUDA back-end: raises).");

  m.def("_fast_exp", [](nb::handle a) { return fast_exp(to_array(a)); }, "a"_a);
  m.def("_logsumexp",
        [](nb::handle a, nb::handle axis, bool keepdims, nb::handle s) {
          array x = to_array(a);
          return logsumexp(x, to_axes(axis, x.ndim()), keepdims, to_sod(s));
        },
        "a"_a, "axis"_a.none() = nb::none(), "keepdims"_a = false, "stream"_a.none() = nb::none());
  // The fused softmax behind mx.softmax (python/oxmlx/core/_composite.py).
  m.def("_softmax",
        [](nb::handle a, nb::handle axis, bool precise, nb::handle s) {
          array x = to_array(a);
          return softmax(x, to_axes(axis, x.ndim()), precise, to_sod(s));
        },
        "a"_a, "axis"_a.none() = nb::none(), "precise"_a = false, "stream"_a.none() = nb::none());
}

}  // namespace oxmlx::py
