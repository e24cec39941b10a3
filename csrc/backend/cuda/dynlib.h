// Opening CUDA libraries at run time with dlopen (cuBLASLt in matmul.cpp,
// NVRTC and the driver API in fused.cpp), so the plugin needs none of their
// headers and no link-time dependency on them.
#pragma once

#include <dlfcn.h>

#include <string>
#include <vector>

namespace oxmlx::cuda {

// The folder of the loaded library that holds addr ("." if unknown).
std::string dir_of(const void* addr);

// Where to look for the library file `so` (e.g. "libcublasLt.so.13"), in
// order: $env, `so` on the loader path, then the nvidia wheels beside oxmlx
// (site-packages/oxmlx/lib -> site-packages/nvidia/{cu13,<wheel>}/lib).
std::vector<std::string> library_paths(const char* env, const char* so, const char* wheel);

// The first of paths that opens (RTLD_NOW | RTLD_LOCAL), or nullptr.
void* open_first(const std::vector<std::string>& paths);

// fn = the entry point `name` of the library h; the first one missing is
// recorded in error ("<lib> has no <name>").
template <typename Fn>
void bind_symbol(void* h, Fn& fn, const char* name, const char* lib, std::string& error) {
  fn = reinterpret_cast<Fn>(dlsym(h, name));
  if (!fn && error.empty()) error = std::string(lib) + " has no " + name;
}

}  // namespace oxmlx::cuda
