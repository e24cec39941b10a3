// Sort family ops of oxmlx.core (sort, argsort, partition, argpartition,
// topk, median, searchsorted, unique): argument conversion only.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "python/bindings.h"

namespace oxmlx::py {

namespace {

std::optional<int> opt_axis(nb::handle ax) {
  if (!ax.is_valid() || ax.is_none()) return std::nullopt;
  if (!PyIndex_Check(ax.ptr()) || PyBool_Check(ax.ptr()))
    throw TypeError(msg("axis must be an int or None, got ",
                        nb::cast<std::string>(nb::str(nb::type_name(ax.type()))), "."));
  long long v = nb::cast<long long>(nb::int_(ax));
  if (v > INT32_MAX || v < INT32_MIN) throw IndexError(msg("Invalid axis ", v, "."));
  return int(v);
}

}  // namespace

void init_sort(nb::module_& m) {
  using SortFn = array (*)(const array&, std::optional<int>, StreamOrDevice);
  const std::pair<const char*, SortFn> sorts[] = {{"sort", &sort}, {"argsort", &argsort}};
  for (auto& [name, f] : sorts)
    m.def(name,
          [f](nb::handle a, nb::handle axis, nb::handle s) {
            return f(to_array(a), opt_axis(axis), to_sod(s));
          },
          "a"_a, "axis"_a.none() = -1, nb::kw_only(), "stream"_a.none() = nb::none());

  using PartFn = array (*)(const array&, int, std::optional<int>, StreamOrDevice);
  const std::pair<const char*, PartFn> parts[] = {{"partition", &partition},
                                                  {"argpartition", &argpartition}};
  for (auto& [name, f] : parts)
    m.def(name,
          [f](nb::handle a, int kth, nb::handle axis, nb::handle s) {
            return f(to_array(a), kth, opt_axis(axis), to_sod(s));
          },
          "a"_a, "kth"_a, "axis"_a.none() = -1, nb::kw_only(), "stream"_a.none() = nb::none());

  m.def("topk",
        [](nb::handle a, int k, nb::handle axis, nb::handle s) {
          return topk(to_array(a), k, opt_axis(axis), to_sod(s));
        },
        "a"_a, "k"_a, "axis"_a.none() = -1, nb::kw_only(), "stream"_a.none() = nb::none());

  m.def("median",
        [](nb::handle a, nb::handle axis, bool keepdims, nb::handle s) {
          array x = to_array(a);
          return median(x, to_axes(axis, x.ndim()), keepdims, to_sod(s));
        },
        "a"_a, "axis"_a.none() = nb::none(), "keepdims"_a = false, nb::kw_only(),
        "stream"_a.none() = nb::none());

  m.def("searchsorted",
        [](const array& seq, const array& values, const std::string& side, nb::handle s) {
          if (side != "left" && side != "right")
            throw ValueError(msg("[searchsorted] Invalid side '", side,
                                 "'. Expected 'left' or 'right'."));
          return searchsorted(seq, values, side == "right", to_sod(s));
        },
        "sorted_sequence"_a, "values"_a, "side"_a = "left", nb::kw_only(),
        "stream"_a.none() = nb::none());

  m.def("unique",
        [](nb::handle a, int64_t size, bool ri, bool rv, bool rc, nb::handle fill, nb::handle s)
            -> nb::object {
          array x = to_array(a);
          std::optional<array> fv;
          if (fill.is_valid() && !fill.is_none()) fv = scalar_or_array(fill, x.dtype());
          auto out = unique(x, size, ri, rv, rc, fv, to_sod(s));
          if (out.size() == 1) return nb::cast(out[0]);
          nb::list l;
          for (auto& o : out) l.append(nb::cast(o));
          return nb::tuple(l);
        },
        "a"_a, "size"_a, "return_index"_a = false, "return_inverse"_a = false,
        "return_counts"_a = false, "fill_value"_a.none() = nb::none(), nb::kw_only(),
        "stream"_a.none() = nb::none());
}

}  // namespace oxmlx::py
