// The fused family's hot float loops (fused_simd.h) compiled for avx2;
// chosen at run time by fused.cpp when the CPU has it.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "backend/backend.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
namespace oxmlx::cpu {
namespace {
#include "backend/cpu/fused_simd.h"
}  // namespace
void* fused_avx2_unary(UnaryOp op, bool f64) { return reinterpret_cast<void*>(simd_unary(op, f64)); }
void* fused_avx2_binary(BinaryOp op, bool f64) { return reinterpret_cast<void*>(simd_binary(op, f64)); }
}  // namespace oxmlx::cpu
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#else
namespace oxmlx::cpu {
void* fused_avx2_unary(UnaryOp, bool) { return nullptr; }
void* fused_avx2_binary(BinaryOp, bool) { return nullptr; }
}  // namespace oxmlx::cpu
#endif
