// The backend part of mx.device_info: a backend that can describe its device
// registers a describer under its name (the CUDA plugin does when it loads);
// python/oxmlx/core/_misc.py describes the CPU itself.
#pragma once

#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/device.h"

namespace oxmlx {

// (key, text or number) pairs in order, as MLX's device_info.
using DeviceInfo = std::vector<std::pair<std::string, std::variant<std::string, size_t>>>;

// fn describes the device of the backend called `backend` (the last one registered wins).
void set_device_info(const std::string& backend, DeviceInfo (*fn)());
// What the describer of d's default backend reports ({} when it has none).
DeviceInfo device_info(const Device& d);

}  // namespace oxmlx
