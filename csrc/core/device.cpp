#include "core/device.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <unordered_map>

#include "backend/backend.h"
#include "core/errors.h"
#include "core/plugin.h"

namespace oxmlx {

namespace {

struct Registry {
  std::mutex mu;
  std::vector<Backend*> backends;
  std::vector<Stream> streams;
  std::unordered_map<int, int> default_backend;  // device type -> backend index
  std::unordered_map<int, int> default_stream;   // device type -> stream index
  Device default_device{Device::cpu, 0};
  // A copy of every stream that never moves, and the default device's
  // default stream among them (null when a setting changed since it was
  // found): ops take it without the lock (see resolve_stream).
  std::deque<Stream> stable;
  std::atomic<const Stream*> fast_default{nullptr};
};

Registry& reg() {
  static auto* r = new Registry();  // leaked: streams are used during exit
  return *r;
}

// Both with r.mu held.
void add_stream(Registry& r, const Stream& s) {
  r.streams.push_back(s);
  r.stable.push_back(s);
}
void settings_changed(Registry& r) { r.fast_default.store(nullptr, std::memory_order_release); }

int ensure_default_stream(Registry& r, Device::DeviceType t) {
  auto it = r.default_stream.find(int(t));
  if (it != r.default_stream.end()) return it->second;
  auto b = r.default_backend.find(int(t));
  if (b == r.default_backend.end()) return -1;
  Stream s{int(r.streams.size()), Device(t, 0), b->second};
  add_stream(r, s);
  r.default_stream[int(t)] = s.index;
  return s.index;
}

const char* type_name(Device::DeviceType t) { return t == Device::cpu ? "cpu" : "gpu"; }

void check_available(Registry& r, const Device& d) {
  if (r.default_backend.find(int(d.type)) == r.default_backend.end())
    throw ValueError(msg("[Device] No ", type_name(d.type),
                         " backend is available in this build of oxmlx."));
}

// The GPU device's backend ships as the "cuda" plugin: asking for the GPU
// loads it once (it registers itself only when a usable device is found).
// Must be called without holding the registry lock.
void ensure_device_backend(const Device& d) {
  if (d.type != Device::gpu) return;
  static std::once_flag once;
  std::call_once(once, [] {
    try {
      load_backend_plugin("cuda");
    } catch (const std::exception&) {
      // Not usable here (no driver or device): the GPU stays unavailable and
      // asking for it explicitly (new_stream(..., "cuda")) gives the reason.
    }
  });
}

}  // namespace

int register_backend(Backend* b) {
  auto& r = reg();
  std::lock_guard<std::mutex> lk(r.mu);
  r.backends.push_back(b);
  int idx = int(r.backends.size()) - 1;
  r.default_backend.emplace(int(b->device_type()), idx);  // first one registered wins
  settings_changed(r);
  return idx;
}

Backend& backend(int index) { return *reg().backends.at(index); }
Backend& backend_for(const Stream& s) { return *reg().backends[s.backend]; }

namespace {
int find_registered(const std::string& name) {
  auto& r = reg();
  std::lock_guard<std::mutex> lk(r.mu);
  for (size_t i = 0; i < r.backends.size(); ++i)
    if (r.backends[i]->name() == name) return int(i);
  return -1;
}
}  // namespace

int find_backend(const std::string& name) {
  int idx = find_registered(name);
  // Backends built as plugins (liboxmlx_<name>) register themselves when
  // loaded; they are loaded the first time they are asked for.
  if (idx < 0 && load_backend_plugin(name)) idx = find_registered(name);
  return idx;
}

std::vector<std::string> backend_names() {
  auto& r = reg();
  std::lock_guard<std::mutex> lk(r.mu);
  std::vector<std::string> out;
  for (auto* b : r.backends) out.push_back(b->name());
  for (auto& p : available_backend_plugins())
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  return out;
}

void set_default_backend(Device::DeviceType t, const std::string& name) {
  int idx = find_backend(name);
  if (idx < 0) throw ValueError(msg("[set_default_backend] Unknown backend '", name, "'."));
  auto& r = reg();
  std::lock_guard<std::mutex> lk(r.mu);
  if (r.backends[idx]->device_type() != t)
    throw ValueError(msg("[set_default_backend] Backend '", name, "' does not run on ",
                         type_name(t), "."));
  r.default_backend[int(t)] = idx;
  // New default stream on the chosen backend.
  Stream s{int(r.streams.size()), Device(t, 0), idx};
  add_stream(r, s);
  r.default_stream[int(t)] = s.index;
  settings_changed(r);
}

std::string default_backend_name(Device::DeviceType t) {
  auto& r = reg();
  std::lock_guard<std::mutex> lk(r.mu);
  auto it = r.default_backend.find(int(t));
  return it == r.default_backend.end() ? "" : r.backends[it->second]->name();
}

const Device& default_device() { return reg().default_device; }

void set_default_device(const Device& d) {
  ensure_device_backend(d);
  auto& r = reg();
  std::lock_guard<std::mutex> lk(r.mu);
  check_available(r, d);
  r.default_device = d;
  settings_changed(r);
}

bool is_available(const Device& d) {
  ensure_device_backend(d);
  auto& r = reg();
  std::lock_guard<std::mutex> lk(r.mu);
  return d.index == 0 && r.default_backend.count(int(d.type));
}

int device_count(Device::DeviceType t) {
  ensure_device_backend(Device(t, 0));
  auto& r = reg();
  std::lock_guard<std::mutex> lk(r.mu);
  return r.default_backend.count(int(t)) ? 1 : 0;
}

Stream default_stream(const Device& d) {
  ensure_device_backend(d);
  auto& r = reg();
  std::lock_guard<std::mutex> lk(r.mu);
  check_available(r, d);
  return r.streams[ensure_default_stream(r, d.type)];
}

void set_default_stream(const Stream& s) {
  auto& r = reg();
  std::lock_guard<std::mutex> lk(r.mu);
  r.default_stream[int(s.device.type)] = s.index;
  r.default_device = s.device;
  settings_changed(r);
}

Stream new_stream(const Device& d) {
  ensure_device_backend(d);
  auto& r = reg();
  std::lock_guard<std::mutex> lk(r.mu);
  check_available(r, d);
  Stream s{int(r.streams.size()), d, r.default_backend[int(d.type)]};
  add_stream(r, s);
  return s;
}

Stream new_stream(const Device& d, const std::string& name) {
  int idx = find_backend(name);
  if (idx < 0) throw ValueError(msg("[new_stream] Unknown backend '", name, "'."));
  auto& r = reg();
  std::lock_guard<std::mutex> lk(r.mu);
  if (r.backends[idx]->device_type() != d.type)
    throw ValueError(msg("[new_stream] Backend '", name, "' does not run on ", type_name(d.type), "."));
  Stream s{int(r.streams.size()), d, idx};
  add_stream(r, s);
  return s;
}

Stream get_stream(int index) {
  auto& r = reg();
  std::lock_guard<std::mutex> lk(r.mu);
  if (index < 0 || index >= int(r.streams.size()))
    throw ValueError(msg("[get_stream] No stream with index ", index, "."));
  return r.streams[index];
}

Stream resolve_stream(const Stream* s) {
  if (s) return *s;
  auto& r = reg();
  if (const Stream* p = r.fast_default.load(std::memory_order_acquire)) return *p;
  Stream out = default_stream(default_device());
  // Publish it if no setting changed meanwhile (settings change under the
  // lock and clear fast_default).
  std::lock_guard<std::mutex> lk(r.mu);
  auto it = r.default_stream.find(int(out.device.type));
  if (r.default_device == out.device && it != r.default_stream.end() && it->second == out.index)
    r.fast_default.store(&r.stable[size_t(out.index)], std::memory_order_release);
  return out;
}

void synchronize(const Stream& s) { backend_for(s).synchronize(s); }

void synchronize() {
  auto& r = reg();
  std::vector<Stream> all;
  {
    std::lock_guard<std::mutex> lk(r.mu);
    all = r.streams;
  }
  for (auto& s : all) synchronize(s);
}

}  // namespace oxmlx
