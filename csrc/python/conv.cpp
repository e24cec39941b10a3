// Convolution ops of oxmlx.core: argument conversion only.
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "ops/conv.h"
#include "python/bindings.h"

namespace oxmlx::py {

namespace {

// int -> {int}; sequence of ints -> vector.
std::vector<int> int_list(nb::handle h, const char* what) {
  if (PyLong_Check(h.ptr())) return {nb::cast<int>(h)};
  if (PyList_Check(h.ptr()) || PyTuple_Check(h.ptr())) {
    std::vector<int> v;
    for (nb::handle e : h) {
      if (!PyLong_Check(e.ptr()))
        throw TypeError(msg("[conv] ", what, " must be an int or a sequence of ints."));
      v.push_back(nb::cast<int>(e));
    }
    return v;
  }
  throw TypeError(msg("[conv] ", what, " must be an int or a sequence of ints."));
}

}  // namespace

void init_conv(nb::module_& m) {
  auto def_conv = [&](const char* name, int d) {
    m.def(name,
          [d](const array& in, const array& w, nb::handle stride, nb::handle padding,
              nb::handle dilation, int groups, nb::handle s) {
            return conv_nd(d, in, w, int_list(stride, "stride"), int_list(padding, "padding"),
                           int_list(dilation, "dilation"), groups, to_sod(s));
          },
          "input"_a, "weight"_a, "stride"_a = 1, "padding"_a = 0,
          "dilation"_a = 1, "groups"_a = 1, nb::kw_only(), "stream"_a.none() = nb::none());
  };
  def_conv("conv1d", 1);
  def_conv("conv2d", 2);
  def_conv("conv3d", 3);
  auto def_convt = [&](const char* name, int d) {
    m.def(name,
          [d](const array& in, const array& w, nb::handle stride, nb::handle padding,
              nb::handle dilation, nb::handle output_padding, int groups, nb::handle s) {
            return conv_transpose_nd(d, in, w, int_list(stride, "stride"),
                                     int_list(padding, "padding"), int_list(dilation, "dilation"),
                                     int_list(output_padding, "output_padding"), groups,
                                     to_sod(s));
          },
          "input"_a, "weight"_a, "stride"_a = 1, "padding"_a = 0,
          "dilation"_a = 1, "output_padding"_a = 0, "groups"_a = 1, nb::kw_only(),
          "stream"_a.none() = nb::none());
  };
  def_convt("conv_transpose1d", 1);
  def_convt("conv_transpose2d", 2);
  def_convt("conv_transpose3d", 3);
  m.def("conv_general",
        [](const array& in, const array& w, nb::handle stride, nb::handle padding,
           nb::handle kdil, nb::handle idil, int groups, bool flip, nb::handle s) {
          std::vector<int> lo, hi;
          // (lo_list, hi_list): a pair of sequences; otherwise symmetric.
          if (PyTuple_Check(padding.ptr()) && nb::len(padding) == 2 &&
              !PyLong_Check(nb::borrow<nb::tuple>(padding)[0].ptr())) {
            auto t = nb::borrow<nb::tuple>(padding);
            lo = int_list(t[0], "padding");
            hi = int_list(t[1], "padding");
          } else {
            lo = hi = int_list(padding, "padding");
          }
          return conv_general(in, w, int_list(stride, "stride"), lo, hi,
                              int_list(kdil, "kernel_dilation"), int_list(idil, "input_dilation"),
                              groups, flip, to_sod(s));
        },
        "input"_a, "weight"_a, "stride"_a = 1, "padding"_a = 0,
        "kernel_dilation"_a = 1, "input_dilation"_a = 1, "groups"_a = 1, "flip"_a = false,
        nb::kw_only(), "stream"_a.none() = nb::none());
  m.def("convolve",
        [](nb::handle a, nb::handle v, const std::string& mode, nb::handle s) {
          return convolve(to_array(a), to_array(v), mode, to_sod(s));
        },
        "a"_a, "v"_a, "mode"_a = "full", nb::kw_only(),
        "stream"_a.none() = nb::none());
}

}  // namespace oxmlx::py
