// Compiles a region of a per-ISA file for that instruction set only:
//   OXMLX_ISA_BEGIN("avx2,fma,f16c")  ...kernels...  OXMLX_ISA_END()
// through a target pragma (GCC) or a target attribute on every function of
// the region (Clang), never global -m flags (see flags.cmake), so code shared
// with other files stays baseline. Put the region's code in an anonymous
// namespace and check the CPU (baseline code, outside the region) before
// calling into it.
#pragma once

#define OXMLX_ISA_PRAGMA_(x) _Pragma(#x)
#if defined(__clang__)
#define OXMLX_ISA_BEGIN(isa) \
  OXMLX_ISA_PRAGMA_(clang attribute push(__attribute__((target(isa))), apply_to = function))
#define OXMLX_ISA_END() OXMLX_ISA_PRAGMA_(clang attribute pop)
#else
#define OXMLX_ISA_BEGIN(isa) OXMLX_ISA_PRAGMA_(GCC push_options) OXMLX_ISA_PRAGMA_(GCC target(isa))
#define OXMLX_ISA_END() OXMLX_ISA_PRAGMA_(GCC pop_options)
#endif
