// Describers of devices for mx.device_info (see device_info.h).
#include "backend/device_info.h"

#include <mutex>
#include <unordered_map>

#include "backend/backend.h"

namespace oxmlx {

namespace {

struct Registry {
  std::mutex mu;
  std::unordered_map<std::string, DeviceInfo (*)()> fns;
};

Registry& registry() {
  static Registry* r = new Registry();  // leaked: plugins may register during exit
  return *r;
}

}  // namespace

void set_device_info(const std::string& backend, DeviceInfo (*fn)()) {
  auto& r = registry();
  std::lock_guard<std::mutex> lk(r.mu);
  r.fns[backend] = fn;
}

DeviceInfo device_info(const Device& d) {
  const std::string name = backend_for(default_stream(d)).name();
  DeviceInfo (*fn)() = nullptr;
  {
    auto& r = registry();
    std::lock_guard<std::mutex> lk(r.mu);
    auto it = r.fns.find(name);
    if (it != r.fns.end()) fn = it->second;
  }
  return fn ? fn() : DeviceInfo{};
}

}  // namespace oxmlx
