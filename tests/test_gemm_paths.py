"""Every CPU GEMM path this machine has, forced in a subprocess
(OXMLX_GEMM_ISA, OXMLX_GEMM_BF16DOT), against a float64 numpy oracle on the
same rounded inputs: dtypes, transposed operands, odd sizes and tails,
matrix-vector shapes, K spanning several blocks, batches."""

import json
import os
import subprocess
import sys

import pytest

import oxmlx.core as mx

CHILD = r"""
import json, sys
import numpy as np
import oxmlx.core as mx
from oxmlx import _core
rng = np.random.default_rng(0)
worst = {}
shapes = [(1, 1, 1), (5, 7, 3), (37, 53, 71), (12, 32, 2), (13, 33, 3), (128, 96, 33),
          (64, 1, 200), (1, 80, 200), (200, 130, 1100), (3, 2, 1031)]
for dt in ["float32", "float64", "float16", "bfloat16"]:
    d = getattr(mx, dt)
    for (M, N, K) in shapes:
        for ta in (False, True):
            for tb in (False, True):
                a = mx.array(rng.standard_normal((M, K)).astype(np.float32)).astype(d)
                b = mx.array(rng.standard_normal((K, N)).astype(np.float32)).astype(d)
                A = mx.contiguous(a.T).T if ta else a
                B = mx.contiguous(b.T).T if tb else b
                got = np.array(mx.matmul(A, B).astype(mx.float64))
                ref = np.array(a.astype(mx.float64)) @ np.array(b.astype(mx.float64))
                scale = np.sqrt(K) * 4 + 1
                err = float(np.abs(got - ref).max() / scale)
                worst[dt] = max(worst.get(dt, 0.0), err)
    # batched with a broadcast operand
    a = mx.array(rng.standard_normal((3, 1, 17, 19)).astype(np.float32)).astype(d)
    b = mx.array(rng.standard_normal((4, 19, 23)).astype(np.float32)).astype(d)
    got = np.array(mx.matmul(a, b).astype(mx.float64))
    ref = np.array(a.astype(mx.float64)) @ np.array(b.astype(mx.float64))
    worst[dt] = max(worst[dt], float(np.abs(got - ref).max() / (np.sqrt(19) * 4 + 1)))
print(json.dumps({"paths": _core._gemm_paths(), "worst": worst}))
"""

# Output rounding of each dtype (relative); errors are scaled by sqrt(K).
TOL = {"float32": 1e-6, "float64": 1e-14, "float16": 2e-3, "bfloat16": 1.6e-2}


def _run(env):
    e = dict(os.environ)
    e.update(env)
    out = subprocess.run([sys.executable, "-c", CHILD], env=e, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _available():
    from oxmlx import _core

    isa, bf = _core._gemm_paths()
    forced = [("generic", {"OXMLX_GEMM_ISA": "generic"})]
    if isa == "avx512":
        forced += [("avx2", {"OXMLX_GEMM_ISA": "avx2"}), ("avx512", {"OXMLX_GEMM_ISA": "avx512",
                                                                      "OXMLX_GEMM_BF16DOT": "0"})]
        if bf:
            forced.append(("avx512bf16", {"OXMLX_GEMM_ISA": "avx512"}))
    elif isa != "generic":
        forced.append((isa, {"OXMLX_GEMM_ISA": isa}))
    return forced


@pytest.mark.parametrize("name,env", _available(), ids=[n for n, _ in _available()])
def test_gemm_path_matches_float64_oracle(name, env):
    r = _run(env)
    isa, bf = r["paths"]
    if name == "avx512bf16":
        assert (isa, bf) == ("avx512", "avx512bf16")
    else:
        assert isa == name and bf == ""
    for dt, err in r["worst"].items():
        assert err < TOL[dt], (name, dt, err)
