// Basic indexing: integers, slices (any step), None and Ellipsis become one
// strided slice plus a reshape, both views of the source buffer.
#include "python/bindings.h"

namespace oxmlx::py {

array get_item(const array& a, nb::handle index) {
  std::vector<nb::handle> items;
  nb::object holder;
  if (PyTuple_Check(index.ptr())) {
    holder = nb::borrow(index);
    for (nb::handle h : holder) items.push_back(h);
  } else {
    items.push_back(index);
  }
  int consumed = 0, ellipses = 0;
  for (auto h : items) {
    if (h.is_none()) continue;
    if (h.ptr() == Py_Ellipsis) {
      ++ellipses;
      continue;
    }
    if (PyBool_Check(h.ptr()))  // not the integer 1: numpy reads it as a mask
      throw IndexError("[indexing] Boolean indices are not supported.");
    if (nb::isinstance<array>(h) || PyList_Check(h.ptr()))
      throw IndexError("[indexing] Array (advanced) indices are not supported yet.");
    if (!PySlice_Check(h.ptr()) && !PyLong_Check(h.ptr()) && !PyIndex_Check(h.ptr()))
      throw IndexError(msg("[indexing] Cannot index with an object of type ",
                           nb::cast<std::string>(nb::str(h.type().attr("__name__"))), "."));
    ++consumed;
  }
  if (ellipses > 1) throw IndexError("[indexing] An index can only have a single ellipsis (...).");
  if (consumed > a.ndim())
    throw IndexError(msg("[indexing] Too many indices for array with ", a.ndim(), " dimensions."));

  int nd = a.ndim();
  Shape start(nd, 0), stop = a.shape(), step(nd, 1);
  Shape out_shape;
  int dim = 0;
  for (auto h : items) {
    if (h.is_none()) {
      out_shape.push_back(1);
    } else if (h.ptr() == Py_Ellipsis) {
      int fill = nd - consumed;
      for (int k = 0; k < fill; ++k, ++dim) out_shape.push_back(a.shape(dim));
    } else if (PySlice_Check(h.ptr())) {
      Py_ssize_t s0, s1, st;
      if (PySlice_Unpack(h.ptr(), &s0, &s1, &st) < 0) throw nb::python_error();
      Py_ssize_t n = PySlice_AdjustIndices(Py_ssize_t(a.shape(dim)), &s0, &s1, st);
      start[dim] = s0;
      stop[dim] = s1;
      step[dim] = st;
      out_shape.push_back(n);
      ++dim;
    } else {
      Py_ssize_t i = PyNumber_AsSsize_t(h.ptr(), PyExc_IndexError);
      if (i == -1 && PyErr_Occurred()) throw nb::python_error();
      int64_t n = a.shape(dim);
      if (i < -n || i >= n)
        throw IndexError(msg("[indexing] Index ", i, " is out of bounds for axis ", dim,
                             " with size ", n, "."));
      if (i < 0) i += n;
      start[dim] = i;
      stop[dim] = i + 1;
      ++dim;
    }
  }
  for (; dim < nd; ++dim) out_shape.push_back(a.shape(dim));
  array r = slice(a, start, stop, step);
  return r.shape() == out_shape ? r : reshape(r, out_shape);
}

}  // namespace oxmlx::py
