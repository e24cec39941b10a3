#include "backend/cpu/gemm.h"
namespace oxmlx::cpu::gemm_detail {
const IsaKernels* neon_kernels() { return nullptr; }
}
