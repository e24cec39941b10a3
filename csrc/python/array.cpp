// The array class: construction, properties, conversion out (numpy, buffer
// protocol, DLPack, lists, scalars), Python operators and indexing.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "core/host.h"
#include "core/primitive.h"
#include "python/bindings.h"

namespace oxmlx::py {

namespace {

// ---- buffer protocol (memoryview(a), zero-copy) ----

struct BufferInfo {
  array keep;
  std::vector<Py_ssize_t> shape, strides;
};

const char* buffer_format(Dtype d) {
  switch (d.val) {
    case Dtype::Val::bool_: return "?";
    case Dtype::Val::uint8: return "B";
    case Dtype::Val::uint16: return "H";
    case Dtype::Val::uint32: return "I";
    case Dtype::Val::uint64: return "Q";
    case Dtype::Val::int8: return "b";
    case Dtype::Val::int16: return "h";
    case Dtype::Val::int32: return "i";
    case Dtype::Val::int64: return "q";
    case Dtype::Val::float16: return "e";
    case Dtype::Val::float32: return "f";
    case Dtype::Val::float64: return "d";
    case Dtype::Val::complex64: return "Zf";
    default: return nullptr;
  }
}

int getbuffer(PyObject* obj, Py_buffer* view, int flags) {
  try {
    array a = nb::cast<array&>(nb::handle(obj));
    a.eval();
    a = host_array(a);
    const char* f = buffer_format(a.dtype());
    if (!f) {
      PyErr_SetString(PyExc_ValueError, "'bfloat16' is not a valid PEP 3118 buffer format string");
      return -1;
    }
    auto* info = new BufferInfo{a, {}, {}};
    for (int i = 0; i < a.ndim(); ++i) {
      info->shape.push_back(Py_ssize_t(a.shape()[i]));
      info->strides.push_back(Py_ssize_t(a.strides()[i] * int64_t(a.itemsize())));
    }
    view->obj = obj;
    Py_INCREF(obj);
    view->buf = a.raw_ptr();
    view->len = Py_ssize_t(a.nbytes());
    view->readonly = 0;
    view->itemsize = Py_ssize_t(a.itemsize());
    view->format = (flags & PyBUF_FORMAT) ? const_cast<char*>(f) : nullptr;
    view->ndim = a.ndim();
    view->shape = info->shape.data();
    view->strides = info->strides.data();
    view->suboffsets = nullptr;
    view->internal = info;
    return 0;
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
    return -1;
  }
}

void releasebuffer(PyObject*, Py_buffer* view) { delete static_cast<BufferInfo*>(view->internal); }


// Binary operator with weak Python scalars; returns NotImplemented for
// operands we do not understand so Python can try the reflected operator.
template <typename F>
nb::object binop(nb::handle a, nb::handle b, F&& f) {
  if (!nb::isinstance<array>(b) && !is_python_scalar(b) && !nb::isinstance<nb::list>(b) &&
      !nb::isinstance<nb::tuple>(b) && !nb::hasattr(b, "__array_interface__") &&
      !nb::hasattr(b, "__mlx_array__"))
    return nb::borrow(Py_NotImplemented);
  auto [x, y] = to_arrays(a, b);
  return nb::cast(f(x, y));
}

PyType_Slot array_slots[] = {{Py_bf_getbuffer, (void*)getbuffer},
                             {Py_bf_releasebuffer, (void*)releasebuffer},
                             {0, nullptr}};

}  // namespace

// a.at[index].add(values) and friends: new arrays, repeated indices accumulate.
struct ArrayAt {
  array a;
  nb::object index;
};

void init_array_at(nb::module_& m) {
  auto upd = [](ScatterOp op, int pre) {
    return [op, pre](const ArrayAt& at, nb::handle v) {
      if (!at.index.is_valid() || at.index.is_none())
        throw ValueError("[at] Index the .at property first, as in a.at[idx].add(v).");
      array x = scalar_or_array(v, at.a.dtype());
      if (pre == 1) x = negative(x);
      if (pre == 2) x = divide(array(1.0f, at.a.dtype()), x);
      return scatter_item(at.a, at.index, x, op);
    };
  };
  nb::class_<ArrayAt>(m, "ArrayAt")
      .def("__getitem__", [](const ArrayAt& at, nb::handle idx) {
        return ArrayAt{at.a, nb::borrow(idx)};
      }, "indices"_a.none())
      .def("add", upd(ScatterOp::Sum, 0), "value"_a)
      .def("subtract", upd(ScatterOp::Sum, 1), "value"_a)
      .def("multiply", upd(ScatterOp::Prod, 0), "value"_a)
      .def("divide", upd(ScatterOp::Prod, 2), "value"_a)
      .def("maximum", upd(ScatterOp::Max, 0), "value"_a)
      .def("minimum", upd(ScatterOp::Min, 0), "value"_a);
}

void init_array(nb::module_& m) {
  init_array_at(m);
  // Pooled: a freed array object is kept (still mapped) and reused, which
  // saves nanobind's instance map insertion and removal per result.
  nb::class_<array> cls(m, "array", nb::type_slots(array_slots), nb::pooled(1024));
  cls.def("__init__",
          [](array* self, nb::handle val, std::optional<Dtype> dtype) {
            new (self) array(to_array(val, dtype));
          },
          "val"_a, "dtype"_a.none() = nb::none())
      .def_prop_ro("shape", [](const array& a) {
        nb::list l;
        for (auto d : a.shape()) l.append(d);
        return nb::tuple(l);
      })
      .def_prop_ro("dtype", &array::dtype)
      .def_prop_ro("ndim", &array::ndim)
      .def_prop_ro("size", &array::size)
      .def_prop_ro("itemsize", &array::itemsize)
      .def_prop_ro("nbytes", &array::nbytes)
      .def_prop_ro("T", [](const array& a) { return transpose(a); })
      .def("item", [](array& a) { return to_scalar(a); })
      .def("tolist", [](array& a) { return tolist(a); })
      .def("astype",
           [](const array& a, Dtype d, nb::handle s) { return astype(a, d, to_sod(s)); },
           "dtype"_a, "stream"_a.none() = nb::none())
      .def("__repr__", [](array& a) { return array_repr(a); })
      .def("__len__", [](const array& a) {
        if (a.ndim() == 0) throw TypeError("len() 0-dimensional array.");
        return a.shape(0);
      })
      .def("__iter__", [](const array& a) {
        if (a.ndim() == 0) throw TypeError("iteration over a 0-d array.");
        nb::list l;
        for (int64_t i = 0; i < a.shape(0); ++i) {
          Shape st(a.ndim(), 0), sp = a.shape(), one(a.ndim(), 1);
          st[0] = i;
          sp[0] = i + 1;
          l.append(squeeze(slice(a, st, sp, one), {0}));
        }
        return nb::iter(l);
      })
      .def("__bool__", [](array& a) { return nb::cast<bool>(nb::bool_(to_scalar(a))); })
      .def("__int__", [](array& a) { return nb::int_(to_scalar(a)); })
      .def("__float__", [](array& a) { return nb::float_(to_scalar(a)); })
      .def("__index__", [](array& a) {
        if (a.ndim() != 0 || !is_integral(a.dtype()))
          throw TypeError("Only 0-dimensional integer arrays can be converted to an index.");
        return nb::int_(to_scalar(a));
      })
      .def("__hash__", [](const array& a) { return nb::hash(nb::int_(a.id())); })
      .def("__array__",
           [](array& a, nb::handle dtype, nb::handle copy) {
             nb::object np = to_numpy(a);
             if (dtype.is_valid() && !dtype.is_none()) np = np.attr("astype")(dtype);
             else if (copy.is_valid() && !copy.is_none() && nb::cast<bool>(copy))
               np = np.attr("copy")();
             return np;
           },
           "dtype"_a.none() = nb::none(), "copy"_a.none() = nb::none())
      .def("__dlpack__",
           [](array& a, nb::handle stream, nb::handle max_version, nb::handle dl_device,
              nb::handle copy) {
             // Through numpy's capsule; only the arguments given are passed on.
             nb::dict kw;
             if (!stream.is_none()) kw["stream"] = stream;
             if (!max_version.is_none()) kw["max_version"] = max_version;
             if (!dl_device.is_none()) kw["dl_device"] = dl_device;
             if (!copy.is_none()) kw["copy"] = copy;
             return to_numpy(a).attr("__dlpack__")(**kw);
           },
           nb::kw_only(), "stream"_a.none() = nb::none(), "max_version"_a.none() = nb::none(),
           "dl_device"_a.none() = nb::none(), "copy"_a.none() = nb::none())
      .def("__dlpack_device__", [](const array&) { return nb::make_tuple(1, 0); })
      .def("__copy__", [](const array& a) { return copy(a); })
      .def("__deepcopy__", [](const array& a, nb::handle) { return copy(a); }, "memo"_a)
      .def("__getitem__", [](const array& a, nb::handle idx) { return get_item(a, idx); }, "index"_a.none())
      .def("__setitem__",
           [](array& a, nb::handle idx, nb::handle v) {
             a = scatter_item(a, idx, scalar_or_array(v, a.dtype()), ScatterOp::None);
           },
           "index"_a.none(), "value"_a)
      .def_prop_ro("at", [](const array& a) { return ArrayAt{a, nb::none()}; })
      .def("reshape",
           [](const array& a, nb::args shape, nb::handle stream) {
             Shape sh = (shape.size() == 1 && !PyLong_Check(shape[0].ptr())) ? to_shape(shape[0])
                                                                               : to_shape(shape);
             return reshape(a, sh, to_sod(stream));
           },
           "shape"_a, nb::kw_only(), "stream"_a.none() = nb::none())
      .def("transpose",
           [](const array& a, nb::args axes, nb::handle stream) {
             if (axes.size() == 0) return transpose(a, to_sod(stream));
             std::vector<int> ax;
             if (axes.size() == 1 && !PyLong_Check(axes[0].ptr()))
               for (nb::handle h : axes[0]) ax.push_back(nb::cast<int>(h));
             else
               for (nb::handle h : axes) ax.push_back(nb::cast<int>(h));
             return transpose(a, ax, to_sod(stream));
           },
           "axes"_a, nb::kw_only(), "stream"_a.none() = nb::none());

  // Python operators.
  auto def_bin = [&](const char* name, const char* rname, array (*f)(const array&, const array&, StreamOrDevice)) {
    cls.def(name, [f](nb::handle a, nb::handle b) {
      return binop(a, b, [f](const array& x, const array& y) { return f(x, y, {}); });
    }, "other"_a);
    if (rname)
      cls.def(rname, [f](nb::handle a, nb::handle b) {
        return binop(a, b, [f](const array& x, const array& y) { return f(y, x, {}); });
      }, "other"_a);
  };
  // In-place operators rebind this array object to the result, whose dtype
  // follows promotion (MLX semantics: int32 `a += 1.5` makes a float32).
  auto def_ibin = [&](const char* name, array (*f)(const array&, const array&, StreamOrDevice)) {
    cls.def(name, [f](nb::handle a, nb::handle b) -> nb::object {
      auto [x, y] = to_arrays(a, b);
      if (f == &divide && !is_inexact(x.dtype()))
        throw ValueError("In place division cannot cast to non-floating point type.");
      array r = f(x, y, {});
      nb::cast<array&>(a) = r;
      return nb::borrow(a);
    }, "other"_a);
  };
  // The arithmetic operators: forward, reflected and in-place forms.
  struct ArithOp {
    const char *name, *rname, *iname;
    array (*f)(const array&, const array&, StreamOrDevice);
  };
  const ArithOp arith[] = {
      {"__add__", "__radd__", "__iadd__", &add},
      {"__sub__", "__rsub__", "__isub__", &subtract},
      {"__mul__", "__rmul__", "__imul__", &multiply},
      {"__truediv__", "__rtruediv__", "__itruediv__", &divide},
      {"__floordiv__", "__rfloordiv__", "__ifloordiv__", &floor_divide},
      {"__mod__", "__rmod__", "__imod__", &remainder},
      {"__pow__", "__rpow__", "__ipow__", &power},
      {"__matmul__", "__rmatmul__", "__imatmul__", &matmul},
      {"__and__", "__rand__", "__iand__", &bitwise_and},
      {"__or__", "__ror__", "__ior__", &bitwise_or},
      {"__xor__", "__rxor__", "__ixor__", &bitwise_xor},
      {"__lshift__", "__rlshift__", "__ilshift__", &left_shift},
      {"__rshift__", "__rrshift__", "__irshift__", &right_shift},
  };
  for (const ArithOp& o : arith) {
    def_bin(o.name, o.rname, o.f);
    def_ibin(o.iname, o.f);
  }
  def_bin("__lt__", nullptr, &less);
  def_bin("__le__", nullptr, &less_equal);
  def_bin("__gt__", nullptr, &greater);
  def_bin("__ge__", nullptr, &greater_equal);
  def_bin("__eq__", nullptr, &equal);
  def_bin("__ne__", nullptr, &not_equal);
  cls.def("__neg__", [](const array& a) { return negative(a); })
      .def("__pos__", [](const array& a) { return a; })
      .def("__abs__", [](const array& a) { return abs(a); })
      .def("__invert__", [](const array& a) {
        if (a.dtype() == bool_) return logical_not(a);
        return bitwise_invert(a);
      });
  install_operator_slots((PyTypeObject*)cls.ptr());
}

}  // namespace oxmlx::py
