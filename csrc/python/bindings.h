// Shared declarations of the nanobind module, cut by API area.
#pragma once

#include <nanobind/nanobind.h>

#include "python/convert.h"

using namespace nanobind::literals;

namespace oxmlx::py {

void init_dtype(nb::module_& m);
void init_device(nb::module_& m);
void init_array(nb::module_& m);
void init_ops(nb::module_& m);
void init_memory(nb::module_& m);
void init_transforms(nb::module_& m);
void init_io(nb::module_& m);
void init_internal(nb::module_& m);
void init_fft(nb::module_& m);
void init_compile(nb::module_& m);
void init_sort(nb::module_& m);
void init_misc(nb::module_& m);
void init_linalg(nb::module_& m);
void init_conv(nb::module_& m);
void init_quantized(nb::module_& m);
void init_composite(nb::module_& m);
void init_fast(nb::module_& m);

std::string array_repr(array& a);
// Decimals printed for inexact values (< 0: shortest form, as %g); mx.set_printoptions.
int& print_precision();
// Basic indexing (ints, slices, None, Ellipsis) as strided views.
array get_item(const array& a, nb::handle index);
// a with values combined into a[index] by op (None: assignment), a new array.
array scatter_item(const array& a, nb::handle index, const array& values, ScatterOp op);
// Points the array type's number and comparison slots at the fast operators
// (python/operators.cpp); called once the operator methods are defined.
void install_operator_slots(PyTypeObject* array_type);

}  // namespace oxmlx::py
