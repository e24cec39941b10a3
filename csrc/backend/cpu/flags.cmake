# Per-source compile flags for the CPU backend (included by the top-level
# CMakeLists.txt with OXMLX_SRC_DIR set to the repository root).
#
# The SIMD GEMM files do NOT need -mavx512f/-mavx2 here: gemm_avx512.cpp and
# gemm_avx2.cpp enable their instruction sets with `#pragma GCC target`
# (`#pragma clang attribute` on Clang) around the kernel code only, and the
# entry points that check the CPU (cpuid via __builtin_cpu_supports) stay on
# the baseline target. Global -m flags would let the compiler use AVX-512 in
# code shared with other files (inline functions, templates) and break the
# library on older CPUs, so the build stays portable and no -march=native is
# used. gemm_neon.cpp needs nothing either: NEON is baseline on AArch64.
#
# What is set: the GEMM sources are always optimized, even in Debug builds,
# because an unoptimized micro-kernel is ~50x slower and makes the test suite
# crawl (it does not affect debuggability of the rest of the library).
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  set(_oxmlx_gemm_sources
      ${OXMLX_SRC_DIR}/csrc/backend/cpu/gemm.cpp
      ${OXMLX_SRC_DIR}/csrc/backend/cpu/gemm_generic.cpp
      ${OXMLX_SRC_DIR}/csrc/backend/cpu/gemm_avx512.cpp
      ${OXMLX_SRC_DIR}/csrc/backend/cpu/gemm_avx512bf16.cpp
      ${OXMLX_SRC_DIR}/csrc/backend/cpu/gemm_amx.cpp
      ${OXMLX_SRC_DIR}/csrc/backend/cpu/gemm_avx2.cpp
      ${OXMLX_SRC_DIR}/csrc/backend/cpu/gemm_neon.cpp)
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
    # x86-64: nothing ISA-specific (see above); only the optimization level.
    set_source_files_properties(${_oxmlx_gemm_sources} PROPERTIES COMPILE_OPTIONS "-O3")
  elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64|ARM64")
    set_source_files_properties(${_oxmlx_gemm_sources} PROPERTIES COMPILE_OPTIONS "-O3")
  endif()
endif()
