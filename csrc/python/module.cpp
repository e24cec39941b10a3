// The extension module oxmlx._core: dtypes, devices and streams, memory.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "backend/device_info.h"
#include "core/primitive.h"
#include "python/bindings.h"

namespace oxmlx::py {

namespace {

std::string device_repr(const Device& d) {
  return msg("Device(", d.type == Device::cpu ? "cpu" : "gpu", ", ", d.index, ")");
}

// `with mx.stream(s):` makes s (or the device's default stream) the default.
struct StreamContext {
  StreamOrDevice target;
  Device saved_device;
  std::optional<Stream> saved_stream;
  std::optional<Stream> saved_target;  // the target device's default, when it is another device
};

}  // namespace

void init_dtype(nb::module_& m) {
  nb::class_<Dtype>(m, "Dtype")
      .def_prop_ro("size", [](const Dtype& d) { return int(d.size); })
      .def("__repr__", [](const Dtype& d) { return std::string("oxmlx.core.") + dtype_name(d); })
      .def("__eq__", [](const Dtype& a, nb::handle b) {
        return nb::isinstance<Dtype>(b) && a == nb::cast<Dtype>(b);
      })
      .def("__hash__", [](const Dtype& d) { return int(d.val); });
  const std::pair<const char*, Dtype> all[] = {
      {"bool_", bool_},     {"uint8", uint8},     {"uint16", uint16},   {"uint32", uint32},
      {"uint64", uint64},   {"int8", int8},       {"int16", int16},     {"int32", int32},
      {"int64", int64},     {"float16", float16}, {"float32", float32}, {"float64", float64},
      {"bfloat16", bfloat16}, {"complex64", complex64}};
  for (auto& [n, d] : all) m.attr(n) = d;

  nb::enum_<DtypeCategory>(m, "DtypeCategory")
      .value("complexfloating", DtypeCategory::complexfloating)
      .value("floating", DtypeCategory::floating)
      .value("inexact", DtypeCategory::inexact)
      .value("signedinteger", DtypeCategory::signedinteger)
      .value("unsignedinteger", DtypeCategory::unsignedinteger)
      .value("integer", DtypeCategory::integer)
      .value("number", DtypeCategory::number)
      .value("generic", DtypeCategory::generic);
  for (auto c : {DtypeCategory::complexfloating, DtypeCategory::floating, DtypeCategory::inexact,
                 DtypeCategory::signedinteger, DtypeCategory::unsignedinteger,
                 DtypeCategory::integer, DtypeCategory::number, DtypeCategory::generic}) {
    nb::object o = nb::cast(c);
    m.attr(nb::cast<std::string>(o.attr("name")).c_str()) = o;
  }
  m.def("issubdtype", [](nb::handle a, nb::handle b) {
    auto is_d = [](nb::handle h) { return nb::isinstance<Dtype>(h); };
    if (is_d(a) && is_d(b)) return issubdtype(nb::cast<Dtype>(a), nb::cast<Dtype>(b));
    if (is_d(a)) return issubdtype(nb::cast<Dtype>(a), nb::cast<DtypeCategory>(b));
    if (is_d(b)) return issubdtype(nb::cast<DtypeCategory>(a), nb::cast<Dtype>(b));
    return issubdtype(nb::cast<DtypeCategory>(a), nb::cast<DtypeCategory>(b));
  }, "arg1"_a, "arg2"_a);
  m.def("promote_types", [](Dtype a, Dtype b) { return promote_types(a, b); });
}

void init_device(nb::module_& m) {
  nb::enum_<Device::DeviceType>(m, "DeviceType")
      .value("cpu", Device::cpu)
      .value("gpu", Device::gpu);
  m.attr("cpu") = Device::cpu;
  m.attr("gpu") = Device::gpu;

  nb::class_<Device>(m, "Device")
      .def(nb::init<Device::DeviceType, int>(), "type"_a, "index"_a = 0)
      .def_prop_ro("type", [](const Device& d) { return d.type; })
      .def("__repr__", &device_repr)
      .def("__eq__", [](const Device& d, nb::handle o) {
        if (nb::isinstance<Device>(o)) return d == nb::cast<Device>(o);
        if (nb::isinstance<Device::DeviceType>(o)) return d.type == nb::cast<Device::DeviceType>(o);
        return false;
      })
      .def("__hash__", [](const Device& d) { return int(d.type) * 1000 + d.index; });
  nb::implicitly_convertible<Device::DeviceType, Device>();

  nb::class_<Stream>(m, "Stream")
      .def_prop_ro("device", [](const Stream& s) { return s.device; })
      .def_prop_ro("index", [](const Stream& s) { return s.index; })
      .def_prop_ro("backend", [](const Stream& s) { return backend_for(s).name(); })
      .def("__repr__", [](const Stream& s) { return msg("Stream(", device_repr(s.device), ", ", s.index, ")"); })
      .def("__eq__", [](const Stream& a, nb::handle b) {
        return nb::isinstance<Stream>(b) && a == nb::cast<Stream>(b);
      })
      .def("__hash__", [](const Stream& s) { return s.index; });

  m.def("default_device", []() { return default_device(); });
  m.def("set_default_device", [](const Device& d) { set_default_device(d); }, "device"_a);
  m.def("default_stream", [](const Device& d) { return default_stream(d); }, "device"_a);
  m.def("set_default_stream", [](const Stream& s) { set_default_stream(s); }, "stream"_a);
  m.def("new_stream",
        [](const Device& d, std::optional<std::string> backend) {
          return backend ? new_stream(d, *backend) : new_stream(d);
        },
        "device"_a, "backend"_a.none() = nb::none());
  m.def("is_available", [](const Device& d) { return is_available(d); }, "device"_a);
  m.def("device_count", [](Device::DeviceType t) { return device_count(t); }, "device_type"_a);
  // The backend's part of mx.device_info (backend/device_info.h, python/oxmlx/core/_misc.py).
  m.def("_device_info",
        [](const Device& d) {
          nb::dict out;
          for (const auto& kv : device_info(d))
            std::visit([&](const auto& v) { out[kv.first.c_str()] = v; }, kv.second);
          return out;
        },
        "device"_a);
  m.def("synchronize",
        [](std::optional<Stream> s) { s ? synchronize(*s) : synchronize(); },
        "stream"_a.none() = nb::none());
  m.def("backends", []() { return backend_names(); });
  m.def("set_default_backend",
        [](Device::DeviceType t, const std::string& name) { set_default_backend(t, name); },
        "device_type"_a, "name"_a);
  m.def("default_backend", [](Device::DeviceType t) { return default_backend_name(t); },
        "device_type"_a = Device::cpu);

  nb::class_<StreamContext>(m, "StreamContext")
      .def("__enter__",
           [](StreamContext& c) {
             c.saved_device = default_device();
             c.saved_stream = default_stream(c.saved_device);
             Stream s = to_stream(c.target);
             c.saved_target.reset();
             if (s.device != c.saved_device) {
               c.saved_target = default_stream(s.device);
               set_default_device(s.device);
             }
             set_default_stream(s);
           })
      .def("__exit__",
           [](StreamContext& c, nb::handle, nb::handle, nb::handle) {
             // Both devices' defaults come back (MLX restores only the first).
             if (c.saved_target) set_default_stream(*c.saved_target);
             if (c.saved_stream) set_default_stream(*c.saved_stream);
             set_default_device(c.saved_device);
           },
           "exc_type"_a.none() = nb::none(), "exc_value"_a.none() = nb::none(),
           "traceback"_a.none() = nb::none());
  m.def("stream", [](nb::handle s) { return StreamContext{to_sod(s), Device(), std::nullopt}; },
        "s"_a);
}

void init_memory(nb::module_& m) {
  m.def("get_active_memory", []() { return allocator::active_memory(); });
  m.def("get_peak_memory", []() { return allocator::peak_memory(); });
  m.def("reset_peak_memory", []() { allocator::reset_peak_memory(); });
  m.def("get_cache_memory", []() { return allocator::cache_memory(); });
  m.def("clear_cache", []() { allocator::clear_cache(); });
  m.def("get_memory_limit", []() { return allocator::memory_limit(); });
  m.def("set_memory_limit", [](size_t l) { return allocator::set_memory_limit(l); }, "limit"_a);
  m.def("set_cache_limit", [](size_t l) { return allocator::set_cache_limit(l); }, "limit"_a);
}

}  // namespace oxmlx::py

NB_MODULE(_core, m) {
  using namespace oxmlx;
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const TypeError& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    } catch (const IndexError& e) {
      PyErr_SetString(PyExc_IndexError, e.what());
    }
  });
  py::init_dtype(m);
  py::init_device(m);
  py::init_memory(m);
  py::init_array(m);
  py::init_ops(m);
  py::init_transforms(m);
  py::init_io(m);
  py::init_internal(m);
  py::init_fft(m);
  py::init_compile(m);
  py::init_sort(m);
  py::init_misc(m);
  py::init_linalg(m);
  py::init_conv(m);
  py::init_quantized(m);
  py::init_composite(m);
  py::init_fast(m);
}
