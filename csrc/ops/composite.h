// Ops of mlx.core built by composing core ops (so they run through the kernel
// families of the waist and differentiate through the core's rules). The
// Python layer (python/oxmlx/core/_composite.py) and the C ABI call these.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ops/ops.h"

namespace oxmlx {

// ---- reductions ----
array logsumexp(const array& a, const std::vector<int>& axes, bool keepdims = false,
                StreamOrDevice s = {});
array softmax(const array& a, const std::vector<int>& axes, bool precise = false,
              StreamOrDevice s = {});
// mx.std (named stddev here: `std` would read as the namespace).
array stddev(const array& a, const std::vector<int>& axes, bool keepdims = false, int ddof = 0,
             StreamOrDevice s = {});
array count_nonzero(const array& a, const std::vector<int>& axes, bool keepdims = false,
                    StreamOrDevice s = {});

// ---- elementwise ----
// At least one bound must be given (ValueError otherwise).
array clip(const array& a, const std::optional<array>& a_min, const std::optional<array>& a_max,
           StreamOrDevice s = {});
array isclose(const array& a, const array& b, double rtol = 1e-5, double atol = 1e-8,
              bool equal_nan = false, StreamOrDevice s = {});
array allclose(const array& a, const array& b, double rtol = 1e-5, double atol = 1e-8,
               bool equal_nan = false, StreamOrDevice s = {});
array array_equal(const array& a, const array& b, bool equal_nan = false, StreamOrDevice s = {});
// Defaults (nullopt): the dtype's largest / lowest finite value.
array nan_to_num(const array& a, double nan = 0.0, std::optional<double> posinf = std::nullopt,
                 std::optional<double> neginf = std::nullopt, StreamOrDevice s = {});

// ---- shape ----
// axis nullopt: the arrays are flattened first.
array concatenate(const std::vector<array>& arrays, std::optional<int> axis = 0,
                  StreamOrDevice s = {});
array stack(const std::vector<array>& arrays, int axis = 0, StreamOrDevice s = {});
// Equal sections (the axis length must divide) or split points.
std::vector<array> split(const array& a, int num_sections, int axis = 0, StreamOrDevice s = {});
std::vector<array> split(const array& a, const Shape& indices, int axis = 0, StreamOrDevice s = {});
// widths: (before, after) per axis; mode "constant" (value) or "edge".
array pad(const array& a, const std::vector<std::pair<int64_t, int64_t>>& widths,
          const array& value, const std::string& mode = "constant", StreamOrDevice s = {});
array repeat(const array& a, int64_t repeats, std::optional<int> axis = std::nullopt,
             StreamOrDevice s = {});
array tile(const array& a, std::vector<int64_t> reps, StreamOrDevice s = {});
// axes empty: every axis.
array flip(const array& a, const std::vector<int>& axes, StreamOrDevice s = {});
// axes empty: roll the flattened array by shifts[0].
array roll(const array& a, const Shape& shifts, const std::vector<int>& axes,
           StreamOrDevice s = {});
array tril(const array& x, int k = 0, StreamOrDevice s = {});
array triu(const array& x, int k = 0, StreamOrDevice s = {});
array diagonal(const array& a, int offset = 0, int axis1 = 0, int axis2 = 1,
               StreamOrDevice s = {});
array diag(const array& a, int k = 0, StreamOrDevice s = {});
array trace(const array& a, int offset = 0, int axis1 = 0, int axis2 = 1,
            std::optional<Dtype> dtype = std::nullopt, StreamOrDevice s = {});
array diff(const array& a, int n = 1, int axis = -1, StreamOrDevice s = {});

// ---- products ----
array outer(const array& a, const array& b, StreamOrDevice s = {});
array inner(const array& a, const array& b, StreamOrDevice s = {});
array tensordot(const array& a, const array& b, const std::vector<int>& axes_a,
                const std::vector<int>& axes_b, StreamOrDevice s = {});
array tensordot(const array& a, const array& b, int axes = 2, StreamOrDevice s = {});
array kron(const array& a, const array& b, StreamOrDevice s = {});
// alpha * (a @ b) + beta * c
array addmm(const array& c, const array& a, const array& b, double alpha = 1.0,
            double beta = 1.0, StreamOrDevice s = {});

// ---- grids and reshapes ----
// indexing "xy" (Cartesian, default) or "ij" (matrix).
std::vector<array> meshgrid(const std::vector<array>& arrays, bool sparse = false,
                            const std::string& indexing = "xy", StreamOrDevice s = {});
array unflatten(const array& a, int axis, const Shape& shape, StreamOrDevice s = {});

}  // namespace oxmlx

namespace oxmlx {

// ---- random distributions over random_bits (same numbers as mx.random for a key) ----
array random_key(uint64_t seed);
array random_split(const array& key, int num = 2, StreamOrDevice s = {});
array random_uniform(const array& low, const array& high, const Shape& shape, Dtype dtype,
                     const array& key, StreamOrDevice s = {});
array random_normal(const Shape& shape, Dtype dtype, double loc, double scale, const array& key,
                    StreamOrDevice s = {});
array random_randint(const array& low, const array& high, const Shape& shape, Dtype dtype,
                     const array& key, StreamOrDevice s = {});
array random_bernoulli(const array& p, const Shape& shape, const array& key,
                       StreamOrDevice s = {});

}  // namespace oxmlx
