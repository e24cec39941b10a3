// Run-time loading of CUDA libraries (see dynlib.h).
#include "backend/cuda/dynlib.h"

#include <cstdlib>

namespace oxmlx::cuda {

std::string dir_of(const void* addr) {
  Dl_info info{};
  if (!dladdr(addr, &info) || !info.dli_fname) return ".";
  std::string p = info.dli_fname;
  auto slash = p.rfind('/');
  return slash == std::string::npos ? "." : p.substr(0, slash);
}

std::vector<std::string> library_paths(const char* env, const char* so, const char* wheel) {
  std::vector<std::string> paths;
  if (const char* e = std::getenv(env)) paths.push_back(e);
  paths.push_back(so);
  const std::string d = dir_of(reinterpret_cast<const void*>(&library_paths));
  for (const char* up : {"/../../", "/../"})
    for (const std::string sub : {std::string("cu13"), std::string(wheel)})
      paths.push_back(d + up + "nvidia/" + sub + "/lib/" + so);
  return paths;
}

void* open_first(const std::vector<std::string>& paths) {
  for (auto& p : paths)
    if (void* h = dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL)) return h;
  return nullptr;
}

}  // namespace oxmlx::cuda
