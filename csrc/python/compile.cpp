// compile's C++ side: tracing a Python function into a CompiledProgram and
// replaying it (the cache by signature and state capture live in
// python/oxmlx/core/_compile.py), and export_to_dot.
#include <fstream>

#include <nanobind/stl/pair.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "core/compile.h"
#include "core/primitive.h"
#include "python/bindings.h"

namespace oxmlx::py {

void init_compile(nb::module_& m) {
  nb::class_<CompiledProgram>(m, "_CompiledProgram")
      .def("run", &CompiledProgram::run, "inputs"_a, "shapeless"_a = false)
      .def("step_names", [](const CompiledProgram& p) {
        std::vector<std::string> names;
        for (auto& s : p.steps()) names.push_back(s.prim->name());
        return names;
      });
  m.def("_compile_trace",
        [](nb::callable f, const std::vector<array>& inputs, bool simplify, bool fuse) {
          ArrayFn fn = [f](const std::vector<array>& xs) {
            return nb::cast<std::vector<array>>(f(nb::cast(xs, nb::rv_policy::copy)));
          };
          return compile_trace(fn, inputs, simplify, fuse);
        },
        "fun"_a, "inputs"_a, "simplify"_a = true, "fuse"_a = true);
  m.def("export_to_dot",
        [](nb::object file, nb::args args, nb::kwargs kwargs) {
          std::vector<array> outs;
          for (nb::handle h : args) {
            if (!nb::isinstance<array>(h))
              throw ValueError("[export_to_dot] Positional arguments must be arrays.");
            outs.push_back(nb::cast<array>(h));
          }
          std::vector<std::pair<std::string, array>> names;
          for (auto [k, v] : kwargs) {
            if (!nb::isinstance<array>(v))
              throw ValueError("[export_to_dot] Keyword arguments must be arrays.");
            names.emplace_back(nb::cast<std::string>(k), nb::cast<array>(v));
          }
          std::string dot = graph_to_dot(outs, names);
          if (nb::isinstance<nb::str>(file) || nb::hasattr(file, "__fspath__")) {
            std::string path = nb::cast<std::string>(nb::str(file));
            std::ofstream os(path);
            if (!os) throw ValueError(msg("[export_to_dot] Cannot open '", path, "' for writing."));
            os << dot;
          } else {
            file.attr("write")(dot);
          }
        },
        "file"_a, "args"_a, "kwargs"_a);
}

}  // namespace oxmlx::py
