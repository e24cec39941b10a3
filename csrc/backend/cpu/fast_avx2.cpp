// AVX2 row kernels of the fused family: not written yet; the portable
// kernels serve CPUs without AVX-512.
#include "backend/cpu/fast_isa.h"

namespace oxmlx::cpu::fast_detail {

const FastIsa* fast_avx2() { return nullptr; }

}  // namespace oxmlx::cpu::fast_detail
