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
