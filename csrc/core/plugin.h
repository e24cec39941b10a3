// Backends shipped as separate shared libraries (liboxmlx_<name>.so next to
// liboxmlx), loaded on first use so their dependencies (e.g. libmlx) are
// only needed by programs that select them.
#pragma once

#include <string>
#include <vector>

namespace oxmlx {

// Loads liboxmlx_<name> from the directory of liboxmlx if it exists there.
// Returns false when no such plugin is installed; throws RuntimeError when it
// exists but cannot be loaded (the loader's message says why).
bool load_backend_plugin(const std::string& name);
// Names of the backend plugins installed next to liboxmlx (loaded or not).
std::vector<std::string> available_backend_plugins();

}  // namespace oxmlx
