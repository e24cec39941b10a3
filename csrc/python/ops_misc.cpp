// Small ops of oxmlx.core (view, can_cast, depends, windows, fp8, einsum,
// buffer and wired-memory queries, print precision): argument conversion only.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <unordered_set>

#include "python/bindings.h"

namespace oxmlx::py {

namespace {

// Arrays among the leaves of a pytree (lists, tuples, dict values).
void tree_arrays(nb::handle o, std::vector<array>& out) {
  if (nb::isinstance<array>(o)) {
    out.push_back(nb::cast<array>(o));
  } else if (PyList_Check(o.ptr()) || PyTuple_Check(o.ptr())) {
    for (nb::handle h : o) tree_arrays(h, out);
  } else if (PyDict_Check(o.ptr())) {
    for (auto [k, v] : nb::borrow<nb::dict>(o)) tree_arrays(v, out);
  }
}

std::vector<array> array_list(nb::handle o) {
  if (nb::isinstance<array>(o)) return {nb::cast<array>(o)};
  std::vector<array> out;
  for (nb::handle h : o) out.push_back(to_array(h));
  return out;
}

}  // namespace

void init_misc(nb::module_& m) {
  m.def("view",
        [](nb::handle a, Dtype dtype, nb::handle s) { return view(to_array(a), dtype, to_sod(s)); },
        "a"_a, "dtype"_a, "stream"_a.none() = nb::none());

  m.def("can_cast",
        [](nb::handle from, Dtype to) {
          if (nb::isinstance<Dtype>(from)) return can_cast(nb::cast<Dtype>(from), to);
          if (nb::isinstance<array>(from)) return can_cast(nb::cast<array>(from).dtype(), to);
          throw ValueError("[can_cast] `from_` must be an array or a dtype.");
        },
        "from_"_a, "to"_a);

  m.def("depends",
        [](nb::handle inputs, nb::handle deps) -> nb::object {
          auto out = depends(array_list(inputs), array_list(deps));
          if (nb::isinstance<array>(inputs)) return nb::cast(out[0]);
          return nb::cast(out);
        },
        "inputs"_a, "dependencies"_a);

  using WinFn = array (*)(int, StreamOrDevice);
  const std::pair<const char*, WinFn> windows[] = {
      {"bartlett", &bartlett}, {"blackman", &blackman}, {"hamming", &hamming}, {"hanning", &hanning}};
  for (auto& [name, f] : windows)
    m.def(name, [f](int M, nb::handle s) { return f(M, to_sod(s)); }, "M"_a, nb::kw_only(),
          "stream"_a.none() = nb::none());

  m.def("to_fp8", [](const array& x, nb::handle s) { return to_fp8(x, to_sod(s)); }, "x"_a,
        nb::kw_only(), "stream"_a.none() = nb::none());
  m.def("from_fp8",
        [](const array& x, Dtype dtype, nb::handle s) { return from_fp8(x, dtype, to_sod(s)); },
        "x"_a, "dtype"_a = bfloat16, nb::kw_only(), "stream"_a.none() = nb::none());

  m.def("einsum",
        [](const std::string& subscripts, nb::args operands, nb::handle s) {
          std::vector<array> ops;
          for (nb::handle h : operands) ops.push_back(to_array(h));
          return einsum(subscripts, ops, to_sod(s));
        },
        "subscripts"_a, "operands"_a, nb::kw_only(), "stream"_a.none() = nb::none());
  m.def("einsum_path", [](const std::string& subscripts, nb::args operands) {
    std::vector<array> ops;
    for (nb::handle h : operands) ops.push_back(to_array(h));
    auto [path, info] = einsum_path(subscripts, ops);
    nb::list l;
    for (auto& p : path) l.append(nb::tuple(nb::cast(p)));
    return nb::make_tuple(l, info);
  }, "subscripts"_a, "operands"_a);

  m.def("get_array_buffer_size", [](nb::args args) {
    std::vector<array> arrs;
    tree_arrays(args, arrs);
    std::unordered_set<const Data*> seen;
    size_t total = 0;
    for (auto& a : arrs) {
      if (a.status() == Status::unscheduled || !a.data_shared_ptr())
        throw ValueError("[get_array_buffer_size] Arrays must be evaluated before querying buffer size.");
      const Data* d = a.data_shared_ptr().get();
      if (seen.insert(d).second) total += d->size;
    }
    return total;
  });
  // Wired (resident) memory is a Metal notion: without it MLX accepts any
  // non-negative limit, ignores it and reports 0 as the previous one.
  m.def("set_wired_limit", [](size_t) { return size_t(0); }, "limit"_a);

  m.def("_get_print_precision", []() { return print_precision(); });
  m.def("_set_print_precision", [](int p) { print_precision() = p; }, "precision"_a);
}

}  // namespace oxmlx::py
