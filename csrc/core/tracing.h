// Whether some thread is tracing a function (compile, vmap): fast paths that
// change the graph's shape (e.g. scalars made with their partner's shape,
// which a shapeless program must not bake in) step aside while it is true.
#pragma once

namespace oxmlx {

bool tracing();

}  // namespace oxmlx
