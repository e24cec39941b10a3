"""Every CPU GEMM path this machine has, forced in a subprocess
(OXMLX_GEMM_ISA, OXMLX_GEMM_BF16DOT, OXMLX_GEMM_AMX), against a float64 numpy oracle on the
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

# bf16 paths of the avx512 ISA: AMX tiles forced for every blocked size, the
# AVX512-BF16 dot-product kernels forced, and plain f32 conversion.
BF16_PATHS = [("amx", {"OXMLX_GEMM_AMX": "1", "OXMLX_GEMM_BF16DOT": "0"}),
              ("avx512bf16", {"OXMLX_GEMM_AMX": "0", "OXMLX_GEMM_BF16DOT": "1"}),
              ("f32", {"OXMLX_GEMM_AMX": "0", "OXMLX_GEMM_BF16DOT": "0"})]


def _want(name):
    return {"amx": ("", "amx"), "avx512bf16": ("avx512bf16", ""), "f32": ("", "")}[name]


# Sizes around the AMX tiles (16 rows x 32 k, 32 x 32 blocks) for every
# (M, N, K), cycling through transposed layouts; K over several K blocks;
# batched with a broadcast operand. Error per element against the float64
# product of the same bf16 inputs, relative to the bf16 rounding of the
# result plus f32 accumulation over |a| @ |b|.
CHILD_BF16 = r"""
import json
import numpy as np
import oxmlx.core as mx
from oxmlx import _core
rng = np.random.default_rng(1)
sizes = [1, 15, 17, 31, 33, 100, 257]
cases = [((M, K), (K, N), i % 4) for i, (M, N, K) in enumerate(
    (M, N, K) for M in sizes for N in sizes for K in sizes)]
cases += [((100, 1100), (1100, 257), t) for t in range(4)]
cases += [((3, 65, 300), (1, 300, 70), 1), ((2, 1, 40, 257), (3, 257, 33), 2)]
worst = 0.0
for sa, sb, t in cases:
    a = mx.array(rng.standard_normal(sa).astype(np.float32)).astype(mx.bfloat16)
    b = mx.array(rng.standard_normal(sb).astype(np.float32)).astype(mx.bfloat16)
    A = mx.swapaxes(mx.contiguous(mx.swapaxes(a, -1, -2)), -1, -2) if t & 1 else a
    B = mx.swapaxes(mx.contiguous(mx.swapaxes(b, -1, -2)), -1, -2) if t & 2 else b
    got = np.array(mx.matmul(A, B).astype(mx.float64))
    a64, b64 = np.array(a.astype(mx.float64)), np.array(b.astype(mx.float64))
    ref = a64 @ b64
    bound = 2.0**-8 * np.abs(ref) + 1e-4 * (np.abs(a64) @ np.abs(b64)) + 1e-30
    worst = max(worst, float((np.abs(got - ref) / bound).max()))
print(json.dumps({"paths": _core._gemm_paths(), "worst": worst}))
"""


@pytest.mark.parametrize("name,env", BF16_PATHS, ids=[n for n, _ in BF16_PATHS])
def test_bf16_paths_on_tile_edges(name, env):
    from oxmlx import _core

    if _core._gemm_paths()[0] != "avx512":
        pytest.skip("the bf16 AMX / dot-product paths need the avx512 GEMM path")
    r = _run({"OXMLX_GEMM_ISA": "avx512", **env}, CHILD_BF16)
    isa, bf, amx = r["paths"]
    assert isa == "avx512"
    if (bf, amx) != _want(name):
        pytest.skip(f"{name} not available on this CPU")
    assert r["worst"] <= 1.0, (name, r["worst"])


# Output rounding of each dtype (relative); errors are scaled by sqrt(K).
TOL = {"float32": 1e-6, "float64": 1e-14, "float16": 2e-3, "bfloat16": 1.6e-2}


def _run(env, child=CHILD):
    e = dict(os.environ)
    e.update(env)
    out = subprocess.run([sys.executable, "-c", child], env=e, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _available():
    from oxmlx import _core

    isa = _core._gemm_paths()[0]
    forced = [("generic", {"OXMLX_GEMM_ISA": "generic"})]
    if isa == "avx512":
        forced += [("avx2", {"OXMLX_GEMM_ISA": "avx2"}),
                   ("avx512", {"OXMLX_GEMM_ISA": "avx512", "OXMLX_GEMM_BF16DOT": "0",
                               "OXMLX_GEMM_AMX": "0"})]
        forced += [(n, {"OXMLX_GEMM_ISA": "avx512", **e}) for n, e in BF16_PATHS if n != "f32"]
    elif isa != "generic":
        forced.append((isa, {"OXMLX_GEMM_ISA": isa}))
    return forced


@pytest.mark.parametrize("name,env", _available(), ids=[n for n, _ in _available()])
def test_gemm_path_matches_float64_oracle(name, env):
    r = _run(env)
    isa, bf, amx = r["paths"]
    if name in ("avx512bf16", "amx"):
        if (bf, amx) != _want(name):
            pytest.skip(f"{name} not available on this CPU")
        assert isa == "avx512"
    else:
        assert isa == name and bf == "" and amx == ""
    for dt, err in r["worst"].items():
        assert err < TOL[dt], (name, dt, err)
