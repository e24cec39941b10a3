// The submodule oxmlx.core.linalg (and mx.matrix_norm): argument conversion
// only; the ops live in ops/linalg_ops.cpp and ops/linalg_norm.cpp.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "python/bindings.h"

namespace oxmlx::py {

namespace {

nb::tuple tup(const std::vector<array>& v) {
  nb::list l;
  for (auto& a : v) l.append(nb::cast(a));
  return nb::tuple(l);
}

std::optional<std::vector<int>> opt_axes(nb::handle axis) {
  if (!axis.is_valid() || axis.is_none()) return std::nullopt;
  if (PyIndex_Check(axis.ptr())) return std::vector<int>{int(PyNumber_AsSsize_t(axis.ptr(), nullptr))};
  if (!PyList_Check(axis.ptr()) && !PyTuple_Check(axis.ptr()))
    throw TypeError("[linalg::norm] axis must be None, an int or a sequence of ints.");
  std::vector<int> out;
  for (nb::handle h : axis) {
    if (!PyIndex_Check(h.ptr())) throw TypeError("[linalg::norm] axis must be None, an int or a sequence of ints.");
    out.push_back(int(PyNumber_AsSsize_t(h.ptr(), nullptr)));
  }
  return out;
}

array norm_py(nb::handle a_h, nb::handle ord, nb::handle axis, bool keepdims, nb::handle s) {
  array a = to_array(a_h);
  auto ax = opt_axes(axis);
  if (ord.is_none()) return linalg::norm(a, ax, keepdims, to_sod(s));
  if (PyUnicode_Check(ord.ptr())) return linalg::norm(a, nb::cast<std::string>(ord), ax, keepdims, to_sod(s));
  double o;
  try {
    o = nb::cast<double>(nb::float_(ord));  // ints, floats and numpy scalars
  } catch (const std::exception&) {
    throw TypeError("[linalg::norm] ord must be None, an int, a float or a string.");
  }
  return linalg::norm(a, o, ax, keepdims, to_sod(s));
}

}  // namespace

void init_linalg(nb::module_& parent) {
  nb::module_ m = parent.def_submodule("linalg", "Linear algebra (mx.linalg).");
  auto K = nb::kw_only();
  m.def("norm", &norm_py, "a"_a, "ord"_a.none() = nb::none(), "axis"_a.none() = nb::none(),
        "keepdims"_a = false, K, "stream"_a.none() = nb::none());
  parent.attr("matrix_norm") = m.attr("norm");

  using U = array (*)(const array&, StreamOrDevice);
  const std::pair<const char*, U> unary[] = {{"inv", &linalg::inv}, {"pinv", &linalg::pinv},
                                             {"det", &linalg::det}, {"eigvals", &linalg::eigvals}};
  for (auto& [name, f] : unary)
    m.def(name, [f](nb::handle a, nb::handle s) { return f(to_array(a), to_sod(s)); }, "a"_a, K,
          "stream"_a.none() = nb::none());
  using UU = array (*)(const array&, bool, StreamOrDevice);
  const std::pair<const char*, UU> with_upper[] = {{"tri_inv", &linalg::tri_inv},
                                                   {"cholesky", &linalg::cholesky},
                                                   {"cholesky_inv", &linalg::cholesky_inv}};
  for (auto& [name, f] : with_upper)
    m.def(name, [f](nb::handle a, bool upper, nb::handle s) { return f(to_array(a), upper, to_sod(s)); },
          "a"_a, "upper"_a = false, K, "stream"_a.none() = nb::none());
  using UT = std::vector<array> (*)(const array&, StreamOrDevice);
  const std::pair<const char*, UT> tuples[] = {{"qr", &linalg::qr},
                                               {"eig", &linalg::eig},
                                               {"lu", &linalg::lu},
                                               {"lu_factor", &linalg::lu_factor},
                                               {"slogdet", &linalg::slogdet}};
  for (auto& [name, f] : tuples)
    m.def(name, [f](nb::handle a, nb::handle s) { return tup(f(to_array(a), to_sod(s))); }, "a"_a, K,
          "stream"_a.none() = nb::none());
  m.def("svd",
        [](nb::handle a, bool compute_uv, nb::handle s) -> nb::object {
          auto r = linalg::svd(to_array(a), compute_uv, to_sod(s));
          if (!compute_uv) return nb::cast(r[0]);
          return tup(r);
        },
        "a"_a, "compute_uv"_a = true, K, "stream"_a.none() = nb::none());
  m.def("eigh",
        [](nb::handle a, const std::string& uplo, nb::handle s) {
          return tup(linalg::eigh(to_array(a), uplo, to_sod(s)));
        },
        "a"_a, "UPLO"_a = "L", K, "stream"_a.none() = nb::none());
  m.def("eigvalsh",
        [](nb::handle a, const std::string& uplo, nb::handle s) {
          return linalg::eigvalsh(to_array(a), uplo, to_sod(s));
        },
        "a"_a, "UPLO"_a = "L", K, "stream"_a.none() = nb::none());
  m.def("solve",
        [](nb::handle a, nb::handle b, nb::handle s) {
          return linalg::solve(to_array(a), to_array(b), to_sod(s));
        },
        "a"_a, "b"_a, K, "stream"_a.none() = nb::none());
  m.def("solve_triangular",
        [](nb::handle a, nb::handle b, bool upper, nb::handle s) {
          return linalg::solve_triangular(to_array(a), to_array(b), upper, to_sod(s));
        },
        "a"_a, "b"_a, K, "upper"_a = false, "stream"_a.none() = nb::none());
  m.def("cross",
        [](nb::handle a, nb::handle b, int axis, nb::handle s) {
          return linalg::cross(to_array(a), to_array(b), axis, to_sod(s));
        },
        "a"_a, "b"_a, "axis"_a = -1, K, "stream"_a.none() = nb::none());
}

}  // namespace oxmlx::py
