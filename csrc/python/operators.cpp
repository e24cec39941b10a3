#include <cstring>

#include "core/tracing.h"
#include "python/bindings.h"

namespace oxmlx::py {

namespace {

// The array type's fast operator slots (see install_operator_slots).
//
// `x + 1` is the hottest call of eager code. The arithmetic operators are the
// type's number slots (Python calls them directly, with no method lookup or
// overload dispatch), and a Python int or float operand becomes a leaf that
// already has its partner's shape (stride 0 over one element, the same
// layout a broadcast view of it gets), so no broadcast node is built. Those
// leaves are cached by (value, partner dtype, partner shape): arrays are
// immutable and a cached leaf is never donated (the cache holds a reference).
// Anything else (subclasses, other operand types, errors, tracing) goes
// through the bound methods (the generic path), which also translate C++
// exceptions.

using BinFn = array (*)(const array&, const array&, StreamOrDevice);

PyTypeObject* g_array_type = nullptr;

struct ShapedScalar {
  uint8_t kind = 0;  // 0: empty, 1: int, 2: float
  uint64_t bits = 0;
  Dtype partner;
  array value;
};
constexpr int kScalarCache = 8;

// Python int / float `o` as scalar_or_array(o, partner.dtype()) would make
// it, broadcast to partner's shape (a cache entry: valid until the next call);
// null where the fast path does not apply.
const array* shaped_scalar(PyObject* o, const array& partner) {
  uint8_t kind;
  uint64_t bits;
  if (PyFloat_CheckExact(o)) {
    double v = PyFloat_AS_DOUBLE(o);
    std::memcpy(&bits, &v, sizeof bits);
    kind = 2;
  } else if (PyLong_CheckExact(o)) {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow) return nullptr;
    bits = uint64_t(v);
    kind = 1;
  } else {
    return nullptr;
  }
  // Only touched with the GIL held (operators run under it).
  static ShapedScalar* cache = new ShapedScalar[kScalarCache];
  static int next = 0;
  const Dtype pd = partner.dtype();
  const Shape& ps = partner.shape();
  for (int i = 0; i < kScalarCache; ++i) {
    ShapedScalar& e = cache[i];
    if (e.kind == kind && e.bits == bits && e.partner == pd && e.value.shape() == ps) return &e.value;
  }
  array s = scalar_or_array(nb::handle(o), pd);
  if (!ps.empty())
    s = array(s.data_shared_ptr(), ps, s.dtype(), Strides(ps.size(), 0), s.offset());
  ShapedScalar& e = cache[next];
  next = (next + 1) % kScalarCache;
  e.kind = kind;
  e.bits = bits;
  e.partner = pd;
  e.value = std::move(s);
  return &e.value;
}

// A new Python array object holding r (straight from the type's instance
// pool: no type lookup as in nb::cast).
PyObject* wrap(array&& r) {
  nb::object o = nb::inst_alloc(nb::handle((PyObject*)g_array_type));
  new (nb::inst_ptr<array>(o)) array(std::move(r));
  nb::inst_mark_ready(o);
  return o.release().ptr();
}

// The generic path: the bound methods (looked up on each use, so they may be
// replaced and hold no reference here).
PyObject* call_method(const char* name, PyObject* self, PyObject* other) {
  PyObject* m = PyObject_GetAttrString((PyObject*)g_array_type, name);
  if (!m) return nullptr;
  PyObject* r = PyObject_CallFunctionObjArgs(m, self, other, nullptr);
  Py_DECREF(m);
  return r;
}

constexpr char kAdd[] = "__add__", kRAdd[] = "__radd__", kSub[] = "__sub__",
               kRSub[] = "__rsub__", kMul[] = "__mul__", kRMul[] = "__rmul__",
               kDiv[] = "__truediv__", kRDiv[] = "__rtruediv__", kFloorDiv[] = "__floordiv__",
               kRFloorDiv[] = "__rfloordiv__", kMod[] = "__mod__", kRMod[] = "__rmod__",
               kPow[] = "__pow__", kRPow[] = "__rpow__";

template <BinFn F, const char* Name, const char* RName>
PyObject* binary_slot(PyObject* a, PyObject* b) {
  const bool aa = Py_TYPE(a) == g_array_type && nb::inst_ready(a);
  const bool ab = Py_TYPE(b) == g_array_type && nb::inst_ready(b);
  if (aa || ab) {
    try {
      if (aa && ab) return wrap(F(*nb::inst_ptr<array>(a), *nb::inst_ptr<array>(b), {}));
      if (!tracing()) {
        if (aa) {
          const array& x = *nb::inst_ptr<array>(a);
          if (const array* s = shaped_scalar(b, x)) return wrap(F(x, *s, {}));
        } else {
          const array& y = *nb::inst_ptr<array>(b);
          if (const array* s = shaped_scalar(a, y)) return wrap(F(*s, y, {}));
        }
      }
    } catch (...) {
      // The generic path below raises the translated error.
    }
  }
  if (PyObject_TypeCheck(a, g_array_type)) return call_method(Name, a, b);
  return call_method(RName, b, a);
}

// a += b and friends: rebind a's array to the result (as __iadd__ does).
template <BinFn F, const char* IName>
PyObject* inplace_slot(PyObject* a, PyObject* b) {
  if (Py_TYPE(a) == g_array_type && nb::inst_ready(a)) {
    try {
      array& x = *nb::inst_ptr<array>(a);
      std::optional<array> r;
      if (F == &divide && !is_inexact(x.dtype())) {
        // an error: raised by the generic path
      } else if (Py_TYPE(b) == g_array_type && nb::inst_ready(b)) {
        r = F(x, *nb::inst_ptr<array>(b), {});
      } else if (!tracing()) {
        if (const array* s = shaped_scalar(b, x)) r = F(x, *s, {});
      }
      if (r) {
        x = std::move(*r);
        Py_INCREF(a);
        return a;
      }
    } catch (...) {
      // The generic path below raises the translated error.
    }
  }
  return call_method(IName, a, b);
}

// pow(a, b) (three-argument pow goes to the method, which rejects it).
PyObject* power_slot(PyObject* a, PyObject* b, PyObject* mod) {
  if (mod == Py_None) return binary_slot<&power, kPow, kRPow>(a, b);
  bool fwd = PyObject_TypeCheck(a, g_array_type);
  PyObject* m = PyObject_GetAttrString((PyObject*)g_array_type, fwd ? kPow : kRPow);
  if (!m) return nullptr;
  PyObject* r = PyObject_CallFunctionObjArgs(m, fwd ? a : b, fwd ? b : a, mod, nullptr);
  Py_DECREF(m);
  return r;
}

// a < b and friends (Python calls this with an array as a).
PyObject* richcompare_slot(PyObject* a, PyObject* b, int op) {
  static constexpr BinFn fns[] = {&less, &less_equal, &equal, &not_equal, &greater, &greater_equal};
  static constexpr const char* names[] = {"__lt__", "__le__", "__eq__", "__ne__", "__gt__", "__ge__"};
  if (op < 0 || op > 5) Py_RETURN_NOTIMPLEMENTED;
  if (Py_TYPE(a) == g_array_type && nb::inst_ready(a)) {
    try {
      const array& x = *nb::inst_ptr<array>(a);
      if (Py_TYPE(b) == g_array_type && nb::inst_ready(b))
        return wrap(fns[op](x, *nb::inst_ptr<array>(b), {}));
      if (!tracing())
        if (const array* s = shaped_scalar(b, x)) return wrap(fns[op](x, *s, {}));
    } catch (...) {
      // The generic path below raises the translated error.
    }
  }
  return call_method(names[op], a, b);
}

constexpr char kIAdd[] = "__iadd__", kISub[] = "__isub__", kIMul[] = "__imul__",
               kIDiv[] = "__itruediv__";

}  // namespace

void install_operator_slots(PyTypeObject* t) {
  // Defining __add__ made nb_add Python's generic slot (a method lookup and
  // call per operation); point the slots of +, -, *, /, //, %, **, the
  // comparisons and +=, -=, *=, /= at the fast versions.
  // The methods stay for explicit calls and introspection, and subclasses
  // get the generic slot again (it finds these methods).
  g_array_type = t;
  PyNumberMethods* num = t->tp_as_number;
  num->nb_add = binary_slot<&add, kAdd, kRAdd>;
  num->nb_subtract = binary_slot<&subtract, kSub, kRSub>;
  num->nb_multiply = binary_slot<&multiply, kMul, kRMul>;
  num->nb_true_divide = binary_slot<&divide, kDiv, kRDiv>;
  num->nb_floor_divide = binary_slot<&floor_divide, kFloorDiv, kRFloorDiv>;
  num->nb_remainder = binary_slot<&remainder, kMod, kRMod>;
  num->nb_power = power_slot;
  num->nb_inplace_add = inplace_slot<&add, kIAdd>;
  num->nb_inplace_subtract = inplace_slot<&subtract, kISub>;
  num->nb_inplace_multiply = inplace_slot<&multiply, kIMul>;
  num->nb_inplace_true_divide = inplace_slot<&divide, kIDiv>;
  g_array_type->tp_richcompare = richcompare_slot;
  PyType_Modified(g_array_type);
}

}  // namespace oxmlx::py
