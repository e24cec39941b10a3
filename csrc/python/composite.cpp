// Private entry points of the C++ compositions (ops/composite.h) for the
// Python wrappers in python/oxmlx/core/_composite.py, which keep MLX's
// signatures and normalize the many argument forms before calling these.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "ops/composite.h"
#include "python/bindings.h"

namespace oxmlx::py {

namespace {

std::vector<array> to_array_list(nb::handle seq) {
  std::vector<array> out;
  for (nb::handle h : seq) out.push_back(to_array(h));
  return out;
}

std::optional<array> bound(nb::handle v, Dtype partner) {
  if (!v.is_valid() || v.is_none()) return std::nullopt;
  return scalar_or_array(v, partner);
}

}  // namespace

void init_composite(nb::module_& m) {
  auto sd = "stream"_a.none() = nb::none();
  m.def("_c_logsumexp",
        [](nb::handle a, nb::handle axis, bool keepdims, nb::handle s) {
          array x = to_array(a);
          return logsumexp(x, to_axes(axis, x.ndim()), keepdims, to_sod(s));
        },
        "a"_a, "axis"_a.none(), "keepdims"_a, sd);
  m.def("_c_softmax",
        [](nb::handle a, nb::handle axis, bool precise, nb::handle s) {
          array x = to_array(a);
          return softmax(x, to_axes(axis, x.ndim()), precise, to_sod(s));
        },
        "a"_a, "axis"_a.none(), "precise"_a, sd);
  m.def("_c_std",
        [](nb::handle a, nb::handle axis, bool keepdims, int ddof, nb::handle s) {
          array x = to_array(a);
          return stddev(x, to_axes(axis, x.ndim()), keepdims, ddof, to_sod(s));
        },
        "a"_a, "axis"_a.none(), "keepdims"_a, "ddof"_a, sd);
  m.def("_c_count_nonzero",
        [](nb::handle a, nb::handle axis, bool keepdims, nb::handle s) {
          array x = to_array(a);
          return count_nonzero(x, to_axes(axis, x.ndim()), keepdims, to_sod(s));
        },
        "a"_a, "axis"_a.none(), "keepdims"_a, sd);
  m.def("_c_clip",
        [](nb::handle a, nb::handle lo, nb::handle hi, nb::handle s) {
          array x = to_array(a);
          return clip(x, bound(lo, x.dtype()), bound(hi, x.dtype()), to_sod(s));
        },
        "a"_a, "a_min"_a.none(), "a_max"_a.none(), sd);
  m.def("_c_isclose",
        [](nb::handle a, nb::handle b, double rtol, double atol, bool equal_nan, nb::handle s) {
          auto [x, y] = to_arrays(a, b);
          return isclose(x, y, rtol, atol, equal_nan, to_sod(s));
        },
        "a"_a, "b"_a, "rtol"_a, "atol"_a, "equal_nan"_a, sd);
  m.def("_c_allclose",
        [](nb::handle a, nb::handle b, double rtol, double atol, bool equal_nan, nb::handle s) {
          auto [x, y] = to_arrays(a, b);
          return allclose(x, y, rtol, atol, equal_nan, to_sod(s));
        },
        "a"_a, "b"_a, "rtol"_a, "atol"_a, "equal_nan"_a, sd);
  m.def("_c_array_equal",
        [](nb::handle a, nb::handle b, bool equal_nan, nb::handle s) {
          auto [x, y] = to_arrays(a, b);
          return array_equal(x, y, equal_nan, to_sod(s));
        },
        "a"_a, "b"_a, "equal_nan"_a, sd);
  m.def("_c_nan_to_num",
        [](nb::handle a, double nan, std::optional<double> posinf, std::optional<double> neginf,
           nb::handle s) { return nan_to_num(to_array(a), nan, posinf, neginf, to_sod(s)); },
        "a"_a, "nan"_a, "posinf"_a.none(), "neginf"_a.none(), sd);
  m.def("_c_concatenate",
        [](nb::handle arrays, std::optional<int> axis, nb::handle s) {
          return concatenate(to_array_list(arrays), axis, to_sod(s));
        },
        "arrays"_a, "axis"_a.none(), sd);
  m.def("_c_stack",
        [](nb::handle arrays, int axis, nb::handle s) {
          return stack(to_array_list(arrays), axis, to_sod(s));
        },
        "arrays"_a, "axis"_a, sd);
  m.def("_c_split_sections",
        [](nb::handle a, int k, int axis, nb::handle s) { return split(to_array(a), k, axis, to_sod(s)); },
        "a"_a, "sections"_a, "axis"_a, sd);
  m.def("_c_split_indices",
        [](nb::handle a, std::vector<int64_t> idx, int axis, nb::handle s) {
          return split(to_array(a), Shape(idx.begin(), idx.end()), axis, to_sod(s));
        },
        "a"_a, "indices"_a, "axis"_a, sd);
  m.def("_c_pad",
        [](nb::handle a, std::vector<std::pair<int64_t, int64_t>> widths, nb::handle value,
           std::string mode, nb::handle s) {
          return pad(to_array(a), widths, to_array(value), mode, to_sod(s));
        },
        "a"_a, "widths"_a, "value"_a, "mode"_a, sd);
  m.def("_c_repeat",
        [](nb::handle a, int64_t repeats, std::optional<int> axis, nb::handle s) {
          return repeat(to_array(a), repeats, axis, to_sod(s));
        },
        "a"_a, "repeats"_a, "axis"_a.none(), sd);
  m.def("_c_tile",
        [](nb::handle a, std::vector<int64_t> reps, nb::handle s) {
          return tile(to_array(a), std::move(reps), to_sod(s));
        },
        "a"_a, "reps"_a, sd);
  m.def("_c_flip",
        [](nb::handle a, nb::handle axis, nb::handle s) {
          array x = to_array(a);
          return flip(x, to_axes(axis, x.ndim()), to_sod(s));
        },
        "a"_a, "axis"_a.none(), sd);
  m.def("_c_roll",
        [](nb::handle a, std::vector<int64_t> shifts, std::vector<int> axes, nb::handle s) {
          return roll(to_array(a), Shape(shifts.begin(), shifts.end()), axes, to_sod(s));
        },
        "a"_a, "shifts"_a, "axes"_a, sd);
  m.def("_c_tril", [](nb::handle x, int k, nb::handle s) { return tril(to_array(x), k, to_sod(s)); },
        "x"_a, "k"_a, sd);
  m.def("_c_triu", [](nb::handle x, int k, nb::handle s) { return triu(to_array(x), k, to_sod(s)); },
        "x"_a, "k"_a, sd);
  m.def("_c_diagonal",
        [](nb::handle a, int offset, int axis1, int axis2, nb::handle s) {
          return diagonal(to_array(a), offset, axis1, axis2, to_sod(s));
        },
        "a"_a, "offset"_a, "axis1"_a, "axis2"_a, sd);
  m.def("_c_diag", [](nb::handle a, int k, nb::handle s) { return diag(to_array(a), k, to_sod(s)); },
        "a"_a, "k"_a, sd);
  m.def("_c_trace",
        [](nb::handle a, int offset, int axis1, int axis2, std::optional<Dtype> dtype, nb::handle s) {
          return trace(to_array(a), offset, axis1, axis2, dtype, to_sod(s));
        },
        "a"_a, "offset"_a, "axis1"_a, "axis2"_a, "dtype"_a.none(), sd);
  m.def("_c_diff",
        [](nb::handle a, int n, int axis, nb::handle s) { return diff(to_array(a), n, axis, to_sod(s)); },
        "a"_a, "n"_a, "axis"_a, sd);
  m.def("_c_outer",
        [](nb::handle a, nb::handle b, nb::handle s) { return outer(to_array(a), to_array(b), to_sod(s)); },
        "a"_a, "b"_a, sd);
  m.def("_c_inner",
        [](nb::handle a, nb::handle b, nb::handle s) { return inner(to_array(a), to_array(b), to_sod(s)); },
        "a"_a, "b"_a, sd);
  m.def("_c_tensordot",
        [](nb::handle a, nb::handle b, std::vector<int> ax_a, std::vector<int> ax_b, nb::handle s) {
          return tensordot(to_array(a), to_array(b), ax_a, ax_b, to_sod(s));
        },
        "a"_a, "b"_a, "axes_a"_a, "axes_b"_a, sd);
  m.def("_c_kron",
        [](nb::handle a, nb::handle b, nb::handle s) { return kron(to_array(a), to_array(b), to_sod(s)); },
        "a"_a, "b"_a, sd);
  m.def("_c_addmm",
        [](nb::handle c, nb::handle a, nb::handle b, double alpha, double beta, nb::handle s) {
          return addmm(to_array(c), to_array(a), to_array(b), alpha, beta, to_sod(s));
        },
        "c"_a, "a"_a, "b"_a, "alpha"_a, "beta"_a, sd);
  m.def("_c_meshgrid",
        [](nb::handle arrays, bool sparse, std::string indexing, nb::handle s) {
          return meshgrid(to_array_list(arrays), sparse, indexing, to_sod(s));
        },
        "arrays"_a, "sparse"_a, "indexing"_a, sd);
  m.def("_c_unflatten",
        [](nb::handle a, int axis, std::vector<int64_t> shape, nb::handle s) {
          return unflatten(to_array(a), axis, Shape(shape.begin(), shape.end()), to_sod(s));
        },
        "a"_a, "axis"_a, "shape"_a, sd);
  // mx.random distributions (python/oxmlx/core/random.py passes the key).
  m.def("_c_random_uniform",
        [](const array& low, const array& high, Shape shape, Dtype dtype, const array& key,
           nb::handle s) { return random_uniform(low, high, shape, dtype, key, to_sod(s)); },
        "low"_a, "high"_a, "shape"_a, "dtype"_a, "key"_a, sd);
  m.def("_c_random_normal",
        [](Shape shape, Dtype dtype, double loc, double scale, const array& key, nb::handle s) {
          return random_normal(shape, dtype, loc, scale, key, to_sod(s));
        },
        "shape"_a, "dtype"_a, "loc"_a, "scale"_a, "key"_a, sd);
  m.def("_c_random_randint",
        [](const array& low, const array& high, Shape shape, Dtype dtype, const array& key,
           nb::handle s) { return random_randint(low, high, shape, dtype, key, to_sod(s)); },
        "low"_a, "high"_a, "shape"_a, "dtype"_a, "key"_a, sd);
  m.def("_c_random_bernoulli",
        [](const array& p, Shape shape, const array& key, nb::handle s) {
          return random_bernoulli(p, shape, key, to_sod(s));
        },
        "p"_a, "shape"_a, "key"_a, sd);
}

}  // namespace oxmlx::py
