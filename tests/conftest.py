"""Shared helpers of the foundation tests: dtype tables, conversion to numpy
(bfloat16 through float32) and dtype-aware comparisons."""

import os

import numpy as np
import pytest
from hypothesis import settings

import oxmlx.core as mx

# HYPOTHESIS_PROFILE=thorough runs 20x more examples (not for CI: minutes).
settings.register_profile("oxmlx", deadline=None, max_examples=50)
settings.register_profile("thorough", deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "oxmlx"))

# OXMLX_TEST_BACKEND=mlx runs the whole suite with the default CPU stream on
# that backend (e.g. the upstream-MLX shim) instead of the native kernels.
TEST_BACKEND = os.environ.get("OXMLX_TEST_BACKEND")
if TEST_BACKEND:
    mx.set_default_backend(mx.cpu, TEST_BACKEND)

# Tests that check what upstream MLX itself does differently (measured with
# mlx 0.32 directly, not through oxmlx), or that test oxmlx's own allocator,
# which does not see memory MLX allocates. They are deselected (and listed
# at the end of the run) when the suite runs on the mlx backend; see
# docs/backends.md.
_F64 = "MLX computes float64 exp/sin/cos/erf/erfinv/sigmoid/logaddexp at float32 accuracy"
MLX_BACKEND_GAPS = {
    "tests/test_fused_engine.py::test_fused_every_isa_path":
        "forces oxmlx's own CPU kernel ISA (OXMLX_FAST_ISA); the mlx backend runs MLX's kernels",
    "tests/test_fused_engine.py::test_fused_and_eager_exp_accuracy":
        "MLX's float32 exp is up to 64 ulp off over [-87, 88] and flushes subnormal results to 0",
    "tests/test_fused_engine.py::test_fused_float64_and_mixed_programs": _F64,
    "tests/test_cpu_kernels.py::test_cast_strided_and_broadcast_inputs[float64-float16]":
        "MLX casts float64 to float16 through float32 (rounds twice)",
    "tests/test_cpu_kernels.py::test_cast_f32_bf16_roundtrip": "MLX's bfloat16 cast drops the sign of NaN",
    "tests/test_composite.py::test_logcumsumexp_jvp_finite_differences": _F64,
    "tests/test_capi.py::test_random_matches_python_api":
        "the C program runs on the native backend; MLX's erfinv differs in the last ulp",
    "tests/test_memory.py": "oxmlx's allocator statistics do not see MLX's allocations",
    "tests/test_graph.py::test_ops_are_lazy_until_eval":
        "MLX's float32 sum of 2^20 elements is 0.5% off (sequential accumulation)",
    "tests/test_elementwise.py::test_unary_float[cos-float64]": _F64,
    "tests/test_elementwise.py::test_unary_float[erf-float64]": _F64,
    "tests/test_elementwise.py::test_unary_float[exp-float64]": _F64,
    "tests/test_elementwise.py::test_unary_float[sigmoid-float64]": _F64,
    "tests/test_elementwise.py::test_unary_float[sin-float64]": _F64,
    "tests/test_elementwise.py::test_binary_float[logaddexp-float64]": _F64,
    "tests/test_elementwise.py::test_erf_values_and_erfinv_inverse": _F64,
    "tests/test_transforms.py::test_unary_vjp_matches_finite_differences": _F64,
    "tests/test_transforms.py::test_binary_vjp_matches_finite_differences[logaddexp]": _F64,
    "tests/test_transforms.py::test_grad_of_grad": _F64,
    "tests/test_elementwise.py::test_unary_special_values[sign]": "MLX's sign(nan) is 0",
    "tests/test_elementwise.py::test_unary_special_values[sin]": "MLX's sin(-0.0) is +0.0",
    "tests/test_elementwise.py::test_unary_special_values[erf]": "MLX's erf(-0.0) is +0.0",
    "tests/test_elementwise.py::test_binary_float[logaddexp-bfloat16]":
        "MLX's bfloat16 logaddexp rounds differently",
    # mx.fast / fused softmax on the mlx backend run their compositions of
    # MLX ops (the backend has no fused kernels):
    **{f"tests/test_fast.py::test_softmax_last_axis[{n}-float64]": _F64 for n in (7, 16, 33, 130, 1000)},
    "tests/test_fast.py::test_softmax_grad_and_jvp": _F64,
    "tests/test_fast.py::test_sdpa_dtypes[float64]": _F64,
    "tests/test_fast.py::test_sdpa_grads": _F64,
    "tests/test_fast.py::test_sdpa_fused_backward": _F64,
    "tests/test_fast.py::test_cross_entropy": _F64,
    "tests/test_fast.py::test_fused_logsumexp_special_values_and_grad": _F64,
    "tests/test_fast.py::test_simd_exp_accuracy": "mx.exp there is MLX's float32 exp (more than 2 ulp off)",
    "tests/test_fast.py::test_compositions_without_kernels":
        "the mlx backend has no fused kernels: the whole file already runs the compositions",
    "tests/test_reduce_simd.py::test_column_reductions[(2100, 5)-float32]":
        "MLX's float32 sums accumulate sequentially",
    "tests/test_reduce_simd.py::test_long_sums_stay_accurate": "MLX's float32 sums accumulate sequentially",
    "tests/test_fast_rows.py::test_every_isa_and_thread_count":
        "the ISA and thread-count switches choose oxmlx's native kernels (the rest of the file runs)",
    "tests/test_reduce_paths.py::test_every_isa_and_thread_count":
        "the ISA and thread-count switches choose oxmlx's native kernels (the rest of the file runs)",
    "tests/test_vmap.py::test_vmap_of_grad_and_grad_of_vmap": _F64,
    "tests/test_custom_function.py::test_checkpoint_pytrees_and_finite_differences": _F64,
    "tests/test_transforms.py::test_logcumsumexp_jvp_matches_mlx_and_vjp": _F64,
    "tests/test_compile.py::test_grad_through_and_inside_compile": _F64,
    "tests/test_compile.py::test_exp_special_values":
        "MLX's float32 exp overflows below 88.72 and flushes subnormal results to 0",
    "tests/test_compile.py::test_fused_exp_accuracy_over_the_float_range":
        "MLX's float32 exp is several ulp off and flushes subnormal results to 0",
}


def _gap(nodeid):
    for k, why in MLX_BACKEND_GAPS.items():
        if nodeid == k or nodeid.startswith(k + "::") or nodeid.startswith(k + "["):
            return why
    return None


def pytest_collection_modifyitems(config, items):
    if TEST_BACKEND != "mlx":
        return
    keep, gone = [], []
    for it in items:
        (gone if _gap(it.nodeid) else keep).append(it)
    if gone:
        config.hook.pytest_deselected(items=gone)
        items[:] = keep
        config._oxmlx_gaps = sorted({(_gap(i.nodeid), i.nodeid.split("::")[0]) for i in gone})


def pytest_terminal_summary(terminalreporter, config):
    gaps = getattr(config, "_oxmlx_gaps", None)
    if gaps:
        terminalreporter.write_line("deselected on the mlx backend (upstream MLX differs):")
        for why, where in gaps:
            terminalreporter.write_line(f"  {where}: {why}")

DTYPE_NAMES = [
    "bool_", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
    "float16", "float32", "float64", "bfloat16", "complex64",
]
INT_NAMES = ["uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64"]
FLOAT_NAMES = ["float16", "float32", "float64", "bfloat16"]

# numpy twin of each dtype (bfloat16 has none: it compares as float32).
NP_OF = {
    "bool_": np.bool_, "uint8": np.uint8, "uint16": np.uint16, "uint32": np.uint32,
    "uint64": np.uint64, "int8": np.int8, "int16": np.int16, "int32": np.int32,
    "int64": np.int64, "float16": np.float16, "float32": np.float32, "float64": np.float64,
    "bfloat16": np.float32, "complex64": np.complex64,
}


def dname(d):
    """'float32' for mx.float32 (or mlx.core.float32); 'bool_' for bool."""
    n = repr(d).split(".")[-1]
    return "bool_" if n == "bool" else n


def to_np(a):
    """numpy copy of an oxmlx array; bfloat16 goes through float32 (exact)."""
    if a.dtype == mx.bfloat16:
        a = a.astype(mx.float32)
    return np.array(a)


def bf16_round(x):
    """Round float32 values to the nearest bfloat16 (ties to even), as float32."""
    x = np.asarray(x, dtype=np.float32)
    b = x.view(np.uint32).astype(np.uint64)
    b = (b + 0x7FFF + ((b >> 16) & 1)) & 0xFFFF0000
    out = b.astype(np.uint32).view(np.float32)
    return np.where(np.isnan(x), x, out)


TOL = {
    "float16": (2e-3, 2e-3), "bfloat16": (1.6e-2, 1.6e-2), "float32": (2e-6, 1e-6),
    "float64": (1e-12, 1e-12), "complex64": (2e-6, 1e-6),
}


def assert_close(a, expected, rtol=None, atol=None, check_dtype=True):
    """Compare an oxmlx array to an expected numpy array with dtype tolerances."""
    got = to_np(a)
    exp = np.asarray(expected)
    assert got.shape == exp.shape, (got.shape, exp.shape)
    name = dname(a.dtype)
    if check_dtype and name != "bfloat16":
        assert got.dtype == exp.dtype, (got.dtype, exp.dtype)
    r, t = TOL.get(name, (0, 0))
    np.testing.assert_allclose(got, exp.astype(got.dtype) if name != "bool_" else exp,
                               rtol=rtol if rtol is not None else r,
                               atol=atol if atol is not None else t, equal_nan=True)


def assert_equal(a, expected, dtype=None):
    got = to_np(a)
    exp = np.asarray(expected)
    assert got.shape == exp.shape, (got.shape, exp.shape)
    if dtype is not None:
        assert dname(a.dtype) == dtype, (a.dtype, dtype)
    np.testing.assert_array_equal(got, exp)


@pytest.fixture
def mlx():
    """Upstream MLX as a second oracle (skipped where not installed)."""
    return pytest.importorskip("mlx.core")
