#include "core/plugin.h"

#include <dirent.h>
#include <dlfcn.h>
#include <sys/stat.h>

#include <cctype>
#include <mutex>
#include <set>

#include "core/errors.h"

namespace oxmlx {

namespace {

#ifdef __APPLE__
constexpr const char* kExt = ".dylib";
#else
constexpr const char* kExt = ".so";
#endif
constexpr const char* kPrefix = "liboxmlx_";

std::string library_dir() {
  Dl_info info{};
  if (!dladdr(reinterpret_cast<void*>(&load_backend_plugin), &info) || !info.dli_fname) return ".";
  std::string p = info.dli_fname;
  auto slash = p.rfind('/');
  return slash == std::string::npos ? "." : p.substr(0, slash);
}

bool valid_name(const std::string& n) {
  if (n.empty() || n.size() > 32) return false;
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

}  // namespace

bool load_backend_plugin(const std::string& name) {
  static std::mutex mu;
  static std::set<std::string> loaded;
  if (!valid_name(name)) return false;
  std::lock_guard<std::mutex> lk(mu);
  if (loaded.count(name)) return true;
  std::string path = library_dir() + "/" + kPrefix + name + kExt;
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return false;
  // RTLD_GLOBAL is not needed: the plugin links liboxmlx (already loaded) and
  // registers its backend from a static initializer.
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h)
    throw RuntimeError(msg("[backend] The '", name, "' backend is installed (", path,
                           ") but could not be loaded: ", dlerror()));
  using ErrFn = const char* (*)();
  if (auto err = reinterpret_cast<ErrFn>(dlsym(h, "oxmlx_plugin_error")); err && err()) {
    std::string why = err();
    throw RuntimeError(msg("[backend] The '", name, "' backend could not start: ", why, "."));
  }
  loaded.insert(name);
  return true;
}

std::vector<std::string> available_backend_plugins() {
  std::vector<std::string> out;
  std::string dir = library_dir();
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  const std::string pre = kPrefix, ext = kExt;
  while (dirent* e = readdir(d)) {
    std::string f = e->d_name;
    if (f.size() > pre.size() + ext.size() && f.compare(0, pre.size(), pre) == 0 &&
        f.compare(f.size() - ext.size(), ext.size(), ext) == 0)
      out.push_back(f.substr(pre.size(), f.size() - pre.size() - ext.size()));
  }
  closedir(d);
  return out;
}

}  // namespace oxmlx
