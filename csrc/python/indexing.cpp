// Basic indexing: integers, slices (any step), None and Ellipsis become one
// strided slice plus a reshape, both views of the source buffer. Advanced
// indexing (integer arrays/lists, mixed with the basic forms) becomes one
// gather; __setitem__ and .at[] become one scatter (see IndexPlan).
#include "python/bindings.h"

namespace oxmlx::py {

namespace {

// A Python integer index into an axis of size n, bounds-checked and wrapped.
int64_t int_index(nb::handle h, int64_t n, int dim) {
  Py_ssize_t i = PyNumber_AsSsize_t(h.ptr(), PyExc_IndexError);
  if (i == -1 && PyErr_Occurred()) throw nb::python_error();
  if (i < -n || i >= n)
    throw IndexError(msg("[indexing] Index ", i, " is out of bounds for axis ", dim,
                         " with size ", n, "."));
  return i < 0 ? i + n : i;
}

}  // namespace

namespace {

bool is_array_index(nb::handle h) {
  if (nb::isinstance<array>(h) || PyList_Check(h.ptr())) return true;
  return nb::hasattr(h, "__array__") && !PyLong_Check(h.ptr()) && !PyIndex_Check(h.ptr());
}

array index_array(nb::handle h) {
  array r = to_array(h);
  if (r.dtype() == bool_) throw ValueError("boolean indices are not yet supported");
  if (!is_integral(r.dtype())) {
    if (r.size() == 0) return astype(r, int32);
    throw ValueError("[indexing] Arrays used as indices must be of integer type.");  // as MLX
  }
  return r;
}

bool has_array_index(nb::handle index) {
  if (PyTuple_Check(index.ptr())) {
    for (nb::handle h : index) if (is_array_index(h)) return true;
    return false;
  }
  return is_array_index(index);
}

array basic_get_item(const array& a, nb::handle index);

}  // namespace

// The general index as gather/scatter operands: one index array per leading
// dim 0..m-1 of a (broadcastable to G), the trailing untouched dims kept
// whole as the slice, and the numpy result shape.
struct IndexPlan {
  std::vector<array> indices;
  Shape G, kept, result;
  int m = 0;
};

IndexPlan make_plan(const array& a, nb::handle index) {
  std::vector<nb::handle> items;
  nb::object holder = nb::borrow(index);
  if (PyTuple_Check(index.ptr())) for (nb::handle h : holder) items.push_back(h);
  else items.push_back(index);
  // Entries: kind 0 None, 1 slice, 2 advanced.
  struct Entry { int kind; int dim; int64_t start, step, n; array idx; };
  int consumed = 0, ellipses = 0;
  for (auto h : items) {
    if (h.is_none()) continue;
    if (h.ptr() == Py_Ellipsis) { ++ellipses; continue; }
    if (PyBool_Check(h.ptr())) throw IndexError("[indexing] Boolean indices are not supported.");
    ++consumed;
  }
  if (ellipses > 1) throw IndexError("[indexing] An index can only have a single ellipsis (...).");
  if (consumed > a.ndim())  // MLX raises ValueError here (basic indexing: IndexError)
    throw ValueError(msg("[indexing] Too many indices for array with ", a.ndim(), " dimensions."));
  std::vector<Entry> ents;
  int dim = 0;
  for (auto h : items) {
    if (h.is_none()) {
      ents.push_back({0, -1, 0, 1, 1, {}});
    } else if (h.ptr() == Py_Ellipsis) {
      for (int k = 0, fill = a.ndim() - consumed; k < fill; ++k, ++dim)
        ents.push_back({1, dim, 0, 1, a.shape(dim), {}});
    } else if (PySlice_Check(h.ptr())) {
      Py_ssize_t s0, s1, st;
      if (PySlice_Unpack(h.ptr(), &s0, &s1, &st) < 0) throw nb::python_error();
      Py_ssize_t n = PySlice_AdjustIndices(Py_ssize_t(a.shape(dim)), &s0, &s1, st);
      ents.push_back({1, dim, s0, st, n, {}});
      ++dim;
    } else if (is_array_index(h)) {
      ents.push_back({2, dim, 0, 1, 0, index_array(h)});
      ++dim;
    } else if (PyLong_Check(h.ptr()) || PyIndex_Check(h.ptr())) {
      ents.push_back({2, dim, 0, 1, 0, array(int_index(h, a.shape(dim), dim), int64)});
      ++dim;
    } else {
      throw IndexError(msg("[indexing] Cannot index with an object of type ",
                           nb::cast<std::string>(nb::str(h.type().attr("__name__"))), "."));
    }
  }
  for (; dim < a.ndim(); ++dim) ents.push_back({1, dim, 0, 1, a.shape(dim), {}});
  // Trailing whole slices stay slices of the gather.
  size_t end = ents.size();
  while (end > 0 && ents[end - 1].kind == 1 && ents[end - 1].start == 0 &&
         ents[end - 1].step == 1 && ents[end - 1].n == a.shape(ents[end - 1].dim))
    --end;
  IndexPlan p;
  for (size_t k = end; k < ents.size(); ++k) p.kept.push_back(ents[k].n);
  std::vector<array> adv;
  int first = -1, last = -1, nadv = 0;
  for (size_t k = 0; k < end; ++k)
    if (ents[k].kind == 2) {
      adv.push_back(ents[k].idx);
      if (first < 0) first = int(k);
      last = int(k);
      ++nadv;
    }
  Shape I;
  for (auto& x : adv) I = broadcast_shapes(I, x.shape());
  bool adjacent = nadv == 0 || last - first + 1 == nadv;
  // Slots of G: -1 marks the advanced group.
  std::vector<int> slots;  // entry index or -1
  if (nadv && !adjacent) slots.push_back(-1);
  for (size_t k = 0; k < end; ++k) {
    if (ents[k].kind == 2) {
      if (adjacent && int(k) == first) slots.push_back(-1);
      continue;
    }
    slots.push_back(int(k));
  }
  int I_pos = 0;
  std::vector<int> pos(end, 0);
  for (int s : slots) {
    if (s == -1) {
      I_pos = int(p.G.size());
      p.G.insert(p.G.end(), I.begin(), I.end());
    } else {
      pos[s] = int(p.G.size());
      p.G.push_back(ents[s].n);
    }
  }
  const int gr = int(p.G.size());
  for (size_t k = 0; k < end; ++k) {
    const Entry& e = ents[k];
    if (e.kind == 0) continue;
    ++p.m;
    if (e.kind == 1) {
      Shape sh(gr, 1);
      sh[pos[k]] = e.n;
      array r = arange(double(e.start), double(e.start + e.n * e.step), double(e.step), int64);
      p.indices.push_back(reshape(r, sh));
    } else {
      Shape sh(gr, 1);
      for (size_t j = 0; j < I.size(); ++j) sh[I_pos + j] = I[j];
      p.indices.push_back(reshape(broadcast_to(e.idx, I), sh));
    }
  }
  p.result = p.G;
  p.result.insert(p.result.end(), p.kept.begin(), p.kept.end());
  return p;
}

array get_item(const array& a, nb::handle index) {
  if (!has_array_index(index)) return basic_get_item(a, index);
  IndexPlan p = make_plan(a, index);
  Shape ss(p.m, 1);
  ss.insert(ss.end(), p.kept.begin(), p.kept.end());
  std::vector<int> axes(p.m);
  for (int i = 0; i < p.m; ++i) axes[i] = i;
  return reshape(gather(a, p.indices, axes, ss), p.result);
}

// Scatter of `values` (cast to a's dtype, broadcast to the result shape of
// a[index]) into a with `op`.
array scatter_item(const array& a, nb::handle index, const array& values_in, ScatterOp op) {
  IndexPlan p = make_plan(a, index);
  array v = astype(values_in, a.dtype());
  while (v.ndim() > int(p.result.size()) && v.shape(0) == 1) v = squeeze(v, {0});
  v = broadcast_to(v, p.result);
  Shape us = p.G;
  for (int i = 0; i < p.m; ++i) us.push_back(1);
  us.insert(us.end(), p.kept.begin(), p.kept.end());
  std::vector<int> axes(p.m);
  for (int i = 0; i < p.m; ++i) axes[i] = i;
  return scatter(op, a, p.indices, reshape(v, us), axes);
}

namespace {

array basic_get_item(const array& a, nb::handle index) {
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
  // MLX raises ValueError for these two (not numpy's IndexError).
  if (ellipses > 1) throw ValueError("[indexing] An index can only have a single ellipsis (...).");
  if (consumed > a.ndim())
    throw ValueError(msg("[indexing] Too many indices for array with ", a.ndim(), " dimensions."));

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
      int64_t i = int_index(h, a.shape(dim), dim);
      start[dim] = i;
      stop[dim] = i + 1;
      ++dim;
    }
  }
  for (; dim < nd; ++dim) out_shape.push_back(a.shape(dim));
  array r = slice(a, start, stop, step);
  return r.shape() == out_shape ? r : reshape(r, out_shape);
}

}  // namespace

}  // namespace oxmlx::py
