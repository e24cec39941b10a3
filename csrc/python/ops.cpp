// Op functions of oxmlx.core: argument conversion only.
#include <set>

#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "core/primitive.h"
#include "python/bindings.h"

namespace oxmlx::py {

namespace {

using UnaryFn = array (*)(const array&, StreamOrDevice);
using BinaryFn = array (*)(const array&, const array&, StreamOrDevice);

// Arrays inside a pytree (list/tuple/dict nesting) in order.
void collect(nb::handle o, std::vector<array>& out) {
  if (nb::isinstance<array>(o)) {
    out.push_back(nb::cast<array>(o));
  } else if (PyList_Check(o.ptr()) || PyTuple_Check(o.ptr())) {
    for (nb::handle h : o) collect(h, out);
  } else if (PyDict_Check(o.ptr())) {
    for (auto [k, v] : nb::borrow<nb::dict>(o)) collect(v, out);
  }
}

Dtype dtype_or(nb::handle d, Dtype def) {
  return (!d.is_valid() || d.is_none()) ? def : nb::cast<Dtype>(d);
}

bool all_ints(std::initializer_list<nb::handle> hs) {
  for (auto h : hs)
    if (h.is_valid() && !h.is_none() && !PyLong_Check(h.ptr())) return false;
  return true;
}

double num(nb::handle h) { return nb::cast<double>(nb::float_(h)); }

}  // namespace

void init_ops(nb::module_& m) {
  auto S = [](nb::handle s) { return to_sod(s); };

  // ---- evaluation ----
  m.def("eval", [](nb::args args) {
    std::vector<array> arrs;
    collect(args, arrs);
    nb::gil_scoped_release nogil;
    eval(std::move(arrs));
  });
  m.def("async_eval", [](nb::args args) {
    std::vector<array> arrs;
    collect(args, arrs);
    nb::gil_scoped_release nogil;
    async_eval(std::move(arrs));
  });

  // ---- elementwise ----
  const std::pair<const char*, UnaryFn> unaries[] = {
      {"abs", &abs}, {"negative", &negative}, {"sign", &sign}, {"floor", &floor},
      {"ceil", &ceil}, {"trunc", &trunc}, {"sqrt", &sqrt}, {"rsqrt", &rsqrt},
      {"square", &square}, {"reciprocal", &reciprocal}, {"exp", &exp}, {"expm1", &expm1},
      {"log", &log}, {"log1p", &log1p}, {"log2", &log2}, {"log10", &log10}, {"sin", &sin},
      {"cos", &cos}, {"tan", &tan}, {"arcsin", &arcsin}, {"arccos", &arccos},
      {"arctan", &arctan}, {"sinh", &sinh}, {"cosh", &cosh}, {"tanh", &tanh},
      {"arcsinh", &arcsinh}, {"arccosh", &arccosh}, {"arctanh", &arctanh},
      {"sigmoid", &sigmoid}, {"erf", &erf}, {"erfinv", &erfinv},
      {"logical_not", &logical_not}, {"bitwise_invert", &bitwise_invert}, {"isnan", &isnan},
      {"isinf", &isinf}, {"isfinite", &isfinite}, {"isposinf", &isposinf},
      {"isneginf", &isneginf}, {"real", &real}, {"imag", &imag}, {"conjugate", &conjugate},
      {"conj", &conjugate}, {"stop_gradient", &stop_gradient},
      {"asin", &arcsin}, {"acos", &arccos}, {"atan", &arctan}, {"asinh", &arcsinh},
      {"acosh", &arccosh}, {"atanh", &arctanh}};
  // MLX's signatures show stream as positional for some ops and keyword-only
  // for others; where positional, it is accepted positionally here too.
  auto positional_stream = [](const std::string& n) {
    static const std::set<std::string> names = {
        "bitwise_invert", "isnan", "isinf", "isfinite", "isposinf", "isneginf",
        "add", "subtract", "multiply", "divide", "remainder", "floor_divide", "equal",
        "not_equal", "less", "less_equal", "greater", "greater_equal", "bitwise_and",
        "bitwise_or", "bitwise_xor", "left_shift", "right_shift", "bitwise_left_shift",
        "bitwise_right_shift"};
    return names.count(n) > 0;
  };
  for (auto& [name, f] : unaries) {
    auto fn = [f](nb::handle a, nb::handle s) { return f(to_array(a), to_sod(s)); };
    if (positional_stream(name))
      m.def(name, fn, "a"_a, "stream"_a.none() = nb::none());
    else
      m.def(name, fn, "a"_a, nb::kw_only(), "stream"_a.none() = nb::none());
  }
  const std::pair<const char*, BinaryFn> binaries[] = {
      {"add", &add}, {"subtract", &subtract}, {"multiply", &multiply}, {"divide", &divide},
      {"power", &power}, {"pow", &power}, {"remainder", &remainder},
      {"floor_divide", &floor_divide}, {"maximum", &maximum}, {"minimum", &minimum},
      {"equal", &equal}, {"not_equal", &not_equal}, {"less", &less},
      {"less_equal", &less_equal}, {"greater", &greater}, {"greater_equal", &greater_equal},
      {"logical_and", &logical_and}, {"logical_or", &logical_or},
      {"bitwise_and", &bitwise_and}, {"bitwise_or", &bitwise_or},
      {"bitwise_xor", &bitwise_xor}, {"left_shift", &left_shift},
      {"right_shift", &right_shift}, {"bitwise_left_shift", &left_shift},
      {"bitwise_right_shift", &right_shift}, {"arctan2", &arctan2}, {"atan2", &arctan2},
      {"logaddexp", &logaddexp}};
  for (auto& [name, f] : binaries) {
    auto fn = [f](nb::handle a, nb::handle b, nb::handle s) {
      auto [x, y] = to_arrays(a, b);
      return f(x, y, to_sod(s));
    };
    if (positional_stream(name))
      m.def(name, fn, "a"_a, "b"_a, "stream"_a.none() = nb::none());
    else
      m.def(name, fn, "a"_a, "b"_a, nb::kw_only(), "stream"_a.none() = nb::none());
  }
  m.def("round",
        [](nb::handle a, int decimals, nb::handle s) { return round(to_array(a), decimals, to_sod(s)); },
        "a"_a, "decimals"_a = 0, "stream"_a.none() = nb::none());
  m.def("where",
        [](nb::handle c, nb::handle x, nb::handle y, nb::handle s) {
          auto [xa, ya] = to_arrays(x, y);
          return where(to_array(c), xa, ya, to_sod(s));
        },
        "condition"_a, "x"_a, "y"_a, nb::kw_only(), "stream"_a.none() = nb::none());

  // ---- creation ----
  m.def("zeros",
        [S](nb::handle shape, nb::handle dtype, nb::handle s) {
          return zeros(to_shape(shape), dtype_or(dtype, float32), S(s));
        },
        "shape"_a, "dtype"_a = float32, nb::kw_only(), "stream"_a.none() = nb::none());
  m.def("ones",
        [S](nb::handle shape, nb::handle dtype, nb::handle s) {
          return ones(to_shape(shape), dtype_or(dtype, float32), S(s));
        },
        "shape"_a, "dtype"_a = float32, nb::kw_only(), "stream"_a.none() = nb::none());
  m.def("full",
        [S](nb::handle shape, nb::handle vals, nb::handle dtype, nb::handle s) {
          array v = (dtype.is_valid() && !dtype.is_none()) ? to_array(vals, nb::cast<Dtype>(dtype))
                                                           : to_array(vals);
          return full(to_shape(shape), v, S(s));
        },
        "shape"_a, "vals"_a, "dtype"_a.none() = nb::none(), nb::kw_only(), "stream"_a.none() = nb::none());
  for (bool one : {false, true}) {
    std::string name = one ? "ones_like" : "zeros_like";
    m.def(name.c_str(),
          [S, one](const array& a, nb::handle dtype, nb::handle s) {
            if (dtype.is_none()) return one ? ones_like(a, S(s)) : zeros_like(a, S(s));
            Dtype d = nb::cast<Dtype>(dtype);
            return one ? ones(a.shape(), d, S(s)) : zeros(a.shape(), d, S(s));
          },
          "a"_a, "dtype"_a.none() = nb::none(), nb::kw_only(), "stream"_a.none() = nb::none());
  }
  m.def("full_like",
        [S](const array& a, nb::handle vals, nb::handle dtype, nb::handle s) {
          Dtype d = dtype_or(dtype, a.dtype());
          return full_like(a, to_array(vals, d), d, S(s));
        },
        "a"_a, "vals"_a, "dtype"_a.none() = nb::none(), nb::kw_only(), "stream"_a.none() = nb::none());
  m.def("arange",
        [S](nb::handle a0, nb::handle a1, nb::handle a2, nb::handle dtype, nb::handle s) {
          bool has1 = a1.is_valid() && !a1.is_none(), has2 = a2.is_valid() && !a2.is_none();
          double start = has1 ? num(a0) : 0.0, stop = has1 ? num(a1) : num(a0);
          double step = has2 ? num(a2) : 1.0;
          Dtype def = all_ints({a0, a1, a2}) ? int32 : float32;
          return arange(start, stop, step, dtype_or(dtype, def), S(s));
        },
        "start"_a, "stop"_a.none() = nb::none(), "step"_a.none() = nb::none(),
        "dtype"_a.none() = nb::none(), nb::kw_only(), "stream"_a.none() = nb::none());
  m.def("linspace",
        [S](double start, double stop, int64_t num, bool endpoint, nb::handle dtype, nb::handle s) {
          // Without the endpoint: num points of step (stop - start) / num from start.
          if (!endpoint && num > 1) stop = start + (stop - start) * double(num - 1) / double(num);
          return linspace(start, stop, num, dtype_or(dtype, float32), S(s));
        },
        "start"_a, "stop"_a, "num"_a = 50, "endpoint"_a = true, "dtype"_a = float32,
        "stream"_a.none() = nb::none());
  m.def("eye",
        [S](int64_t n, std::optional<int64_t> mm, int k, nb::handle dtype, nb::handle s) {
          return eye(n, mm.value_or(n), k, dtype_or(dtype, float32), S(s));
        },
        "n"_a, "m"_a.none() = nb::none(), "k"_a = 0, "dtype"_a = float32, nb::kw_only(),
        "stream"_a.none() = nb::none());
  m.def("identity",
        [S](int64_t n, nb::handle dtype, nb::handle s) {
          return identity(n, dtype_or(dtype, float32), S(s));
        },
        "n"_a, "dtype"_a = float32, nb::kw_only(), "stream"_a.none() = nb::none());
  m.def("tri",
        [S](int64_t n, std::optional<int64_t> mm, int k, nb::handle dtype, nb::handle s) {
          return tri(n, mm.value_or(n), k, dtype_or(dtype, float32), S(s));
        },
        "n"_a, "m"_a.none() = nb::none(), "k"_a = 0, "dtype"_a.none() = nb::none(), nb::kw_only(),
        "stream"_a.none() = nb::none());
  m.def("astype", [S](const array& a, Dtype d, nb::handle s) { return astype(a, d, S(s)); },
        "a"_a, "dtype"_a, nb::kw_only(), "stream"_a.none() = nb::none());
  m.def("contiguous",
        [S](const array& a, bool allow_col, nb::handle s) { return contiguous(a, allow_col, S(s)); },
        "a"_a, "allow_col_major"_a = false, nb::kw_only(), "stream"_a.none() = nb::none());

  // ---- shape ----
  m.def("reshape",
        [S](const array& a, nb::handle shape, nb::handle s) { return reshape(a, to_shape(shape), S(s)); },
        "a"_a, "shape"_a, nb::kw_only(), "stream"_a.none() = nb::none());
  m.def("flatten",
        [S](const array& a, int st, int en, nb::handle s) { return flatten(a, st, en, S(s)); },
        "a"_a, "start_axis"_a = 0, "end_axis"_a = -1, nb::kw_only(), "stream"_a.none() = nb::none());
  m.def("transpose",
        [S](const array& a, std::optional<std::vector<int>> axes, nb::handle s) {
          return axes ? transpose(a, *axes, S(s)) : transpose(a, S(s));
        },
        "a"_a, "axes"_a.none() = nb::none(), nb::kw_only(), "stream"_a.none() = nb::none());
  m.def("permute_dims",
        [S](const array& a, std::optional<std::vector<int>> axes, nb::handle s) {
          return axes ? transpose(a, *axes, S(s)) : transpose(a, S(s));
        },
        "a"_a, "axes"_a.none() = nb::none(), nb::kw_only(), "stream"_a.none() = nb::none());
  m.def("swapaxes",
        [S](const array& a, int a1, int a2, nb::handle s) { return swapaxes(a, a1, a2, S(s)); },
        "a"_a, "axis1"_a, "axis2"_a, nb::kw_only(), "stream"_a.none() = nb::none());
  m.def("moveaxis",
        [S](const array& a, int src, int dst, nb::handle s) { return moveaxis(a, src, dst, S(s)); },
        "a"_a, "source"_a, "destination"_a, nb::kw_only(), "stream"_a.none() = nb::none());
  m.def("broadcast_to",
        [S](nb::handle a, nb::handle shape, nb::handle s) {
          return broadcast_to(to_array(a), to_shape(shape), S(s));
        },
        "a"_a, "shape"_a, nb::kw_only(), "stream"_a.none() = nb::none());
  m.def("broadcast_arrays",
        [S](nb::args arrays, nb::handle s) {
          std::vector<array> in;
          for (nb::handle h : arrays) in.push_back(to_array(h));
          return nb::list(nb::cast(broadcast_arrays(in, S(s))));  // a list, as MLX
        },
        "arrays"_a, nb::kw_only(), "stream"_a.none() = nb::none());
  m.def("broadcast_shapes", [](nb::args shapes) {
    Shape out;
    for (nb::handle h : shapes) out = broadcast_shapes(out, to_shape(h));
    return nb::tuple(nb::cast(out));
  });
  m.def("squeeze",
        [S](const array& a, nb::handle axis, nb::handle s) {
          if (axis.is_none()) return squeeze(a, S(s));
          return squeeze(a, to_axes(axis, a.ndim()), S(s));
        },
        "a"_a, "axis"_a.none() = nb::none(), nb::kw_only(), "stream"_a.none() = nb::none());
  m.def("expand_dims",
        [S](const array& a, nb::handle axis, nb::handle s) {
          return expand_dims(a, to_axes(axis, a.ndim()), S(s));
        },
        "a"_a, "axis"_a, nb::kw_only(), "stream"_a.none() = nb::none());
  m.def("as_strided",
        [S](const array& a, std::optional<std::vector<int64_t>> shape,
            std::optional<std::vector<int64_t>> strides, int64_t offset, nb::handle s) {
          Shape sh = shape.value_or(a.shape());
          Strides st = strides ? *strides : row_major_strides(sh);
          return as_strided(a, sh, st, offset, S(s));
        },
        "a"_a, "shape"_a.none() = nb::none(), "strides"_a.none() = nb::none(), "offset"_a = 0, nb::kw_only(),
        "stream"_a.none() = nb::none());

  // ---- reductions ----
  auto def_reduce = [&](const char* name, ReduceOp op) {
    m.def(name,
          [op](nb::handle a, nb::handle axis, bool keepdims, nb::handle s) {
            array x = to_array(a);
            return reduce(op, x, to_axes(axis, x.ndim()), keepdims, to_sod(s));
          },
          "a"_a, "axis"_a.none() = nb::none(), "keepdims"_a = false, nb::kw_only(),
          "stream"_a.none() = nb::none());
  };
  def_reduce("sum", ReduceOp::Sum);
  def_reduce("prod", ReduceOp::Prod);
  def_reduce("max", ReduceOp::Max);
  def_reduce("min", ReduceOp::Min);
  def_reduce("all", ReduceOp::And);
  def_reduce("any", ReduceOp::Or);
  m.def("mean",
        [](nb::handle a, nb::handle axis, bool keepdims, nb::handle s) {
          array x = to_array(a);
          return mean(x, to_axes(axis, x.ndim()), keepdims, to_sod(s));
        },
        "a"_a, "axis"_a.none() = nb::none(), "keepdims"_a = false, nb::kw_only(), "stream"_a.none() = nb::none());
  m.def("var",
        [](nb::handle a, nb::handle axis, bool keepdims, int ddof, nb::handle s) {
          array x = to_array(a);
          return var(x, to_axes(axis, x.ndim()), keepdims, ddof, to_sod(s));
        },
        "a"_a, "axis"_a.none() = nb::none(), "keepdims"_a = false, "ddof"_a = 0, nb::kw_only(),
        "stream"_a.none() = nb::none());
  auto def_arg = [&](const char* name, ArgReduceOp op) {
    m.def(name,
          [op](nb::handle a, std::optional<int> axis, bool keepdims, nb::handle s) {
            return argreduce(op, to_array(a), axis, keepdims, to_sod(s));
          },
          "a"_a, "axis"_a.none() = nb::none(), "keepdims"_a = false, nb::kw_only(),
          "stream"_a.none() = nb::none());
  };
  def_arg("argmax", ArgReduceOp::ArgMax);
  def_arg("argmin", ArgReduceOp::ArgMin);
  auto def_scan = [&](const char* name, ScanOp op) {
    m.def(name,
          [op](nb::handle a, std::optional<int> axis, bool reverse, bool inclusive, nb::handle s) {
            return scan(op, to_array(a), axis, reverse, inclusive, to_sod(s));
          },
          "a"_a, "axis"_a.none() = nb::none(), nb::kw_only(), "reverse"_a = false, "inclusive"_a = true,
          "stream"_a.none() = nb::none());
  };
  // cumsum/cumprod take dtype= (cast before accumulating); MLX 0.32 also
  // exports them as cumulative_sum/cumulative_prod.
  for (auto [name, op] : {std::pair{"cumsum", ScanOp::Sum}, std::pair{"cumprod", ScanOp::Prod},
                          std::pair{"cumulative_sum", ScanOp::Sum},
                          std::pair{"cumulative_prod", ScanOp::Prod}}) {
    m.def(name,
          [op](nb::handle a, std::optional<int> axis, bool reverse, bool inclusive, nb::handle dtype,
               nb::handle s) {
            array x = to_array(a);
            if (!dtype.is_none()) x = astype(x, nb::cast<Dtype>(dtype), to_sod(s));
            return scan(op, x, axis, reverse, inclusive, to_sod(s));
          },
          "a"_a, "axis"_a.none() = nb::none(), nb::kw_only(), "reverse"_a = false, "inclusive"_a = true,
          "dtype"_a.none() = nb::none(), "stream"_a.none() = nb::none());
  }
  def_scan("cummax", ScanOp::Max);
  def_scan("cummin", ScanOp::Min);
  def_scan("logcumsumexp", ScanOp::LogAddExp);

  // ---- linear algebra ----
  m.def("matmul",
        [](nb::handle a, nb::handle b, nb::handle s) {
          return matmul(to_array(a), to_array(b), to_sod(s));
        },
        "a"_a, "b"_a, nb::kw_only(), "stream"_a.none() = nb::none());

  // ---- indexing ----
  auto opt_axis = [](nb::handle ax) -> std::optional<int> {
    if (ax.is_none()) return std::nullopt;
    return nb::cast<int>(ax);
  };
  m.def("take",
        [opt_axis](nb::handle a, nb::handle idx, nb::handle axis, nb::handle s) {
          return take(to_array(a), to_array(idx), opt_axis(axis), to_sod(s));
        },
        "a"_a, "indices"_a, "axis"_a.none() = nb::none(), nb::kw_only(), "stream"_a.none() = nb::none());
  m.def("take_along_axis",
        [opt_axis](nb::handle a, nb::handle idx, nb::handle axis, nb::handle s) {
          return take_along_axis(to_array(a), to_array(idx), opt_axis(axis), to_sod(s));
        },
        "a"_a, "indices"_a, "axis"_a.none() = -1, nb::kw_only(), "stream"_a.none() = nb::none());
  m.def("put_along_axis",
        [opt_axis](nb::handle a, nb::handle idx, nb::handle v, nb::handle axis, nb::handle s) {
          array x = to_array(a);
          return put_along_axis(x, to_array(idx), scalar_or_array(v, x.dtype()), opt_axis(axis),
                                to_sod(s));
        },
        "a"_a, "indices"_a, "values"_a, "axis"_a.none() = nb::none(), nb::kw_only(),
        "stream"_a.none() = nb::none());
  m.def("slice",
        [](nb::handle a, nb::handle start, std::vector<int> axes, std::vector<int64_t> size,
           nb::handle s) {
          return dynamic_slice(to_array(a), to_array(start), axes, Shape(size.begin(), size.end()),
                               to_sod(s));
        },
        "a"_a, "start_indices"_a, "axes"_a, "slice_size"_a, nb::kw_only(),
        "stream"_a.none() = nb::none());
  m.def("slice_update",
        [](nb::handle a, nb::handle update, nb::handle start, std::vector<int> axes, nb::handle s) {
          array x = to_array(a);
          return dynamic_slice_update(x, to_array(update), to_array(start), axes, to_sod(s));
        },
        "a"_a, "update"_a, "start_indices"_a, "axes"_a, nb::kw_only(),
        "stream"_a.none() = nb::none());
}

}  // namespace oxmlx::py
