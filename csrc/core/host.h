// Host access to evaluated arrays whose storage may live in device memory
// (GPU backends): code that reads elements on the host (conversion to
// Python/numpy, repr, item, file writers, CPU kernels) goes through
// host_array, which copies device buffers back.
#pragma once

#include "core/array.h"

namespace oxmlx {

// Whether an evaluated array's buffer is device memory.
bool on_device(const array& a);
// a itself when its storage is host memory; otherwise a new evaluated array
// with the same shape, strides and dtype over a host copy of the elements a
// can reach (the device work producing them is waited for).
array host_array(const array& a);

}  // namespace oxmlx
