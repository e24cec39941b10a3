// Conversions between Python objects and arrays (argument conversion only;
// the semantics live in the core).
#pragma once

#include <nanobind/nanobind.h>

#include <optional>

#include "ops/ops.h"

namespace nb = nanobind;

namespace oxmlx::py {

// Python scalar/list/tuple/buffer/array -> array. `dtype` forces the result
// type (scalars: cast; buffers and lists: converted).
array to_array(nb::handle obj, std::optional<Dtype> dtype = std::nullopt);

// Scalar operand of an op with an array: Python scalars are weakly typed and
// take the array's dtype when it can represent their kind (MLX's rule).
array scalar_or_array(nb::handle obj, Dtype partner);

// Both operands of a binary op, with the weak-scalar rule applied.
std::pair<array, array> to_arrays(nb::handle a, nb::handle b);

bool is_python_scalar(nb::handle obj);

// StreamOrDevice from None / Stream / Device / DeviceType.
StreamOrDevice to_sod(nb::handle obj);

// Array -> Python scalar / nested list.
nb::object to_scalar(array& a);
nb::object tolist(array& a);

// Zero-copy numpy view of an evaluated array (keeps the array alive).
nb::object to_numpy(array& a);

std::vector<int> to_axes(nb::handle axis, int ndim);  // None -> all axes
Shape to_shape(nb::handle shape);

}  // namespace oxmlx::py
