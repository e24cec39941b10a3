// Function transforms: the flat C++ entry points; pytree handling lives in
// python/oxmlx/core/_transforms.py.
#include <nanobind/stl/function.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/vector.h>
#include <nanobind/stl/string.h>

#include "core/transforms.h"
#include "python/bindings.h"

namespace oxmlx::py {

namespace {

ArrayFn wrap(nb::callable f) {
  return [f](const std::vector<array>& xs) {
    nb::object r = f(nb::cast(xs, nb::rv_policy::copy));
    return nb::cast<std::vector<array>>(r);
  };
}

// A Python callable kept by a graph node: it may be released by a thread
// that does not hold the GIL (eval frees nodes with the GIL released).
std::shared_ptr<nb::object> keep(nb::handle f) {
  return std::shared_ptr<nb::object>(new nb::object(nb::borrow(f)), [](nb::object* p) {
    nb::gil_scoped_acquire gil;
    delete p;
  });
}

ArrayFn wrap_kept(nb::handle f) {
  auto k = keep(f);
  return [k](const std::vector<array>& xs) {
    return nb::cast<std::vector<array>>((*k)(nb::cast(xs, nb::rv_policy::copy)));
  };
}

std::vector<int> axes_from_py(nb::handle h) {
  std::vector<int> r;
  for (nb::handle a : h) r.push_back(a.is_none() ? -1 : nb::cast<int>(a));
  return r;
}

nb::list axes_to_py(const std::vector<int>& axes) {
  nb::list l;
  for (int a : axes) l.append(a < 0 ? nb::none() : nb::cast(a));
  return l;
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
  m.def("_custom_function",
        [](nb::callable f, const std::vector<array>& inputs, nb::object vjp_fn, nb::object jvp_fn,
           nb::object vmap_fn) {
          CustomRules r;
          r.fun = wrap_kept(f);
          if (!vjp_fn.is_none()) {
            auto k = keep(vjp_fn);
            r.vjp = [k](const std::vector<array>& p, const std::vector<array>& c,
                        const std::vector<array>& o) {
              nb::object res = (*k)(nb::cast(p, nb::rv_policy::copy), nb::cast(c, nb::rv_policy::copy),
                                    nb::cast(o, nb::rv_policy::copy));
              std::vector<array> g;
              for (nb::handle h : res) g.push_back(h.is_none() ? array() : nb::cast<array>(h));
              return g;
            };
          }
          if (!jvp_fn.is_none()) {
            auto k = keep(jvp_fn);
            r.jvp = [k](const std::vector<array>& p, const std::vector<array>& t) {
              return nb::cast<std::vector<array>>(
                  (*k)(nb::cast(p, nb::rv_policy::copy), nb::cast(t, nb::rv_policy::copy)));
            };
          }
          if (!vmap_fn.is_none()) {
            auto k = keep(vmap_fn);
            r.vmap = [k](const std::vector<array>& in, const std::vector<int>& axes) {
              nb::object res = (*k)(nb::cast(in, nb::rv_policy::copy), axes_to_py(axes));
              auto t = nb::cast<nb::tuple>(res);
              return std::make_pair(nb::cast<std::vector<array>>(t[0]), axes_from_py(t[1]));
            };
          }
          return custom_function(r, inputs);
        },
        "fun"_a, "inputs"_a, "vjp"_a.none(), "jvp"_a.none(), "vmap"_a.none());
  m.def("_checkpoint",
        [](nb::callable f, const std::vector<array>& inputs) { return checkpoint(wrap_kept(f), inputs); },
        "fun"_a, "inputs"_a);
  m.def("_jvp_flat",
        [](nb::callable f, const std::vector<array>& primals, const std::vector<array>& tans) {
          return jvp(wrap(f), primals, tans);
        },
        "fun"_a, "primals"_a, "tangents"_a);
}

}  // namespace oxmlx::py
