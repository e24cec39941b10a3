// oxmlx._core.fft: the Fourier transforms of mx.fft (argument conversion
// only; python/oxmlx/core/fft.py adds the shifts, frequencies and STFT), and
// mx.hadamard_transform on the main module.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "ops/fft.h"
#include "python/bindings.h"

namespace oxmlx::py {

namespace {

std::optional<std::vector<int>> opt_axes(nb::handle h) {
  if (h.is_none()) return std::nullopt;
  if (PyLong_Check(h.ptr()))
    throw nb::type_error("[fft] axes must be a sequence of integers, not an integer.");
  return nb::cast<std::vector<int>>(h);
}

std::optional<Shape> opt_shape(nb::handle h) {
  if (h.is_none()) return std::nullopt;
  if (PyLong_Check(h.ptr()))
    throw nb::type_error("[fft] s must be a sequence of integers, not an integer.");
  return nb::cast<std::vector<int64_t>>(h);
}

const char* doc_of(const std::string& name) {
  static const std::pair<const char*, const char*> docs[] = {
      {"fft", "One dimensional discrete Fourier Transform along `axis` (input padded or\n"
              "truncated to `n`); norm is 'backward', 'ortho' or 'forward'. complex64 result."},
      {"ifft", "One dimensional inverse discrete Fourier Transform (see fft)."},
      {"rfft", "Fourier Transform of a real input: n // 2 + 1 complex values along `axis`\n"
               "(complex inputs are cast to real)."},
      {"irfft", "The inverse of rfft: n real values along `axis` (default n is\n"
                "2 * (a.shape[axis] - 1)); the input is padded or truncated to n // 2 + 1."},
      {"fft2", "Two dimensional discrete Fourier Transform over `axes` (default [-2, -1])."},
      {"ifft2", "Two dimensional inverse discrete Fourier Transform."},
      {"rfft2", "Two dimensional real Fourier Transform; the last of `axes` is the real axis."},
      {"irfft2", "The inverse of rfft2; s[-1] is the real output length."},
      {"fftn", "n-dimensional discrete Fourier Transform over `axes` (default: all axes;\n"
               "`axes` is required when `s` is given)."},
      {"ifftn", "n-dimensional inverse discrete Fourier Transform."},
      {"rfftn", "n-dimensional real Fourier Transform; the last of `axes` is the real axis."},
      {"irfftn", "The inverse of rfftn; s[-1] is the real output length."}};
  for (auto& [n, d] : docs)
    if (name == n) return d;
  return "";
}

}  // namespace

void init_fft(nb::module_& parent) {
  nb::module_ m = parent.def_submodule("fft", "Fourier transforms (mx.fft).");
  struct Kind {
    const char* name;
    bool inverse, real;
  };
  // 1-D: fft(a, n=None, axis=-1, norm="backward", stream=None)
  for (Kind k : {Kind{"fft", false, false}, Kind{"ifft", true, false}, Kind{"rfft", false, true},
                 Kind{"irfft", true, true}}) {
    m.def(
        k.name,
        [k](nb::handle a, std::optional<int64_t> n, int axis, const std::string& norm,
            nb::handle s) {
          auto nm = fft::parse_norm(norm, k.name);
          std::optional<Shape> sz;
          if (n) sz = Shape{*n};
          return fft::fftn(to_array(a), sz, std::vector<int>{axis}, nm, k.inverse, k.real, k.name,
                           to_sod(s));
        },
        "a"_a, "n"_a.none() = nb::none(), "axis"_a = -1, "norm"_a = "backward",
        "stream"_a.none() = nb::none(), doc_of(k.name));
  }
  // 2-D (axes default [-2, -1]) and n-D (axes default None).
  for (bool two : {true, false}) {
    for (Kind k : {Kind{"fft", false, false}, Kind{"ifft", true, false}, Kind{"rfft", false, true},
                   Kind{"irfft", true, true}}) {
      std::string name = std::string(k.name) + (two ? "2" : "n");
      auto fn = [k, name](nb::handle a, nb::handle s_, nb::handle axes_, const std::string& norm,
                          nb::handle s) {
        auto nm = fft::parse_norm(norm, name.c_str());
        return fft::fftn(to_array(a), opt_shape(s_), opt_axes(axes_), nm, k.inverse, k.real,
                         name.c_str(), to_sod(s));
      };
      if (two)
        m.def(name.c_str(), fn, "a"_a, "s"_a.none() = nb::none(),
              "axes"_a.none() = std::vector<int>{-2, -1}, "norm"_a = "backward",
              "stream"_a.none() = nb::none(), doc_of(name));
      else
        m.def(name.c_str(), fn, "a"_a, "s"_a.none() = nb::none(), "axes"_a.none() = nb::none(),
              "norm"_a = "backward", "stream"_a.none() = nb::none(), doc_of(name));
    }
  }

  parent.def(
      "hadamard_transform",
      [](nb::handle a, std::optional<float> scale, nb::handle s) {
        return hadamard_transform(to_array(a), scale, to_sod(s));
      },
      "a"_a, "scale"_a.none() = nb::none(), "stream"_a.none() = nb::none(),
      "Walsh-Hadamard transform along the last axis: (H_n @ x) * scale, n = m * 2^k with\n"
      "m in (1, 12, 20, 28); scale defaults to 1 / sqrt(n).");
}

}  // namespace oxmlx::py
