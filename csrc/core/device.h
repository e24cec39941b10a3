// Devices, streams and the registry that maps a stream to the backend that
// runs its work.
#pragma once

#include <string>
#include <vector>

namespace oxmlx {

struct Device {
  enum class DeviceType { cpu, gpu };
  static constexpr DeviceType cpu = DeviceType::cpu;
  static constexpr DeviceType gpu = DeviceType::gpu;

  DeviceType type = DeviceType::cpu;
  int index = 0;

  constexpr Device() = default;
  constexpr Device(DeviceType t, int i = 0) : type(t), index(i) {}
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
};

class Backend;

// A stream is an ordered queue of work on one device, executed by one backend.
struct Stream {
  int index = 0;
  Device device;
  int backend = 0;  // index into the backend registry

  bool operator==(const Stream& o) const { return index == o.index; }
  bool operator!=(const Stream& o) const { return index != o.index; }
};

const Device& default_device();
void set_default_device(const Device& d);
bool is_available(const Device& d);
int device_count(Device::DeviceType t);

Stream default_stream(const Device& d);
void set_default_stream(const Stream& s);
Stream new_stream(const Device& d);
Stream new_stream(const Device& d, const std::string& backend);
Stream get_stream(int index);
Stream resolve_stream(const Stream* s);  // s or the default stream of the default device
void synchronize(const Stream& s);
void synchronize();

// Backends register under a name ("cpu", "mlx", "cuda"). The default backend
// of each device type can be changed globally; streams made afterwards use it.
int register_backend(Backend* b);
Backend& backend(int index);
Backend& backend_for(const Stream& s);
int find_backend(const std::string& name);  // -1 if absent
std::vector<std::string> backend_names();
void set_default_backend(Device::DeviceType t, const std::string& name);
std::string default_backend_name(Device::DeviceType t);

}  // namespace oxmlx
