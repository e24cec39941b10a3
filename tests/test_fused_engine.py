"""The CPU fused family (compile's elementwise programs): the float32
register engine (fused_vec.h) and the tile loops, on every ISA path
(OXMLX_FAST_ISA=avx512|avx2|generic, each in a child process).

Oracles: numpy float32 arithmetic (IEEE, correctly rounded: add, sub, mul,
div, sqrt, reciprocal must match bit for bit), numpy float64 for exp (<= 2
ulp, subnormals within one step, inf/nan/0 exact), and the uncompiled ops,
which the compiled program must reproduce bit for bit (same kernels, same
roundings; mx.exp is the same polynomial). Sizes around the engine's block
(512) and the SIMD widths, strided / broadcast / size-1 inputs, several
outputs, programs too wide for the engine, large (streamed) outputs."""

import os
import subprocess
import sys

import numpy as np
import pytest

import oxmlx.core as mx

SIZES = (1, 2, 15, 16, 17, 255, 511, 512, 513, 1025, 4099, 70001)
SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1.17e-38, 3.4e38, -3.4e38,
                    88.72, 88.73, -87.3, -103.9, -104.5, 1.0, -1.0, 0.5, 2.0], np.float32)


def data(rng, n, lo=-3.0, hi=3.0, special=True):
    x = rng.uniform(lo, hi, n).astype(np.float32)
    if special:
        k = min(n, len(SPECIAL))
        x[rng.choice(n, k, replace=False)] = SPECIAL[rng.permutation(len(SPECIAL))[:k]]
    return x


def same(got, ref):
    """Bit for bit (any NaN matches any NaN)."""
    got, ref = np.asarray(got), np.asarray(ref)
    assert got.shape == ref.shape and got.dtype == ref.dtype, (got.shape, ref.shape, got.dtype, ref.dtype)
    nan = np.isnan(ref)
    assert np.array_equal(np.isnan(got), nan)
    iv = np.int64 if got.dtype == np.float64 else np.int32
    bad = got[~nan].view(iv) != ref[~nan].view(iv)
    assert not bad.any(), (got[~nan][bad][:5], ref[~nan][bad][:5])


def check_exp(got, x):
    got = np.asarray(got)
    with np.errstate(over="ignore"):
        ref = np.exp(x.astype(np.float64)).astype(np.float32)
    tiny = np.finfo(np.float32).tiny
    normal = np.isfinite(ref) & (ref >= tiny)
    ulps = np.abs(got[normal].view(np.int32).astype(np.int64) - ref[normal].view(np.int32))
    assert ulps.size == 0 or ulps.max() <= 2, ulps.max()
    sub = ref < tiny
    assert np.all(np.abs(got[sub].astype(np.float64) - ref[sub]) <= 1.5e-45)
    assert np.array_equal(np.isinf(got), np.isinf(ref))
    assert np.array_equal(np.isnan(got), np.isnan(x))


def compiled_and_eager(f, *args):
    cf = mx.compile(f)
    got = cf(*args)
    ref = f(*args)
    if isinstance(got, (tuple, list)):
        return [np.array(g) for g in got], [np.array(r) for r in ref]
    return np.array(got), np.array(ref)


UNARY = {
    "negative": (mx.negative, np.negative),
    "abs": (mx.abs, np.abs),
    "square": (mx.square, lambda v: v * v),
    "sqrt": (mx.sqrt, np.sqrt),
    "rsqrt": (mx.rsqrt, lambda v: np.float32(1) / np.sqrt(v)),
    "reciprocal": (mx.reciprocal, lambda v: np.float32(1) / v),
    "exp": (mx.exp, None),
}
BINARY = {
    "add": (mx.add, np.add),
    "subtract": (mx.subtract, np.subtract),
    "multiply": (mx.multiply, np.multiply),
    "divide": (mx.divide, np.divide),
    "maximum": (mx.maximum, np.maximum),
    "minimum": (mx.minimum, np.minimum),
}


def check_unary(rng, names=None):
    for n in SIZES:
        x = data(rng, n, -100, 90)
        for name, (mf, nf) in UNARY.items():
            if names is not None and name not in names:
                continue
            # "* 1" keeps the op inside a program of two instructions (exact).
            got, ref = compiled_and_eager(lambda a: mf(a) * 1, mx.array(x))
            same(got, ref)
            if nf is None:
                check_exp(got, x)
            else:
                with np.errstate(all="ignore"):
                    same(got, nf(x))


def check_binary(rng):
    m = 37
    for n in (1, 16, 17, 513, 4099):
        a, b = data(rng, m * n), data(rng, m * n)
        b[: m * n // 3] = a[: m * n // 3]  # ties (and -0.0 against 0.0)
        a2, b2 = a.reshape(m, n), b.reshape(m, n)
        row, col = data(rng, n), data(rng, m).reshape(m, 1)
        h = m * n // 2
        # (form, numpy operands, oxmlx arrays, program over them)
        forms = [
            ("vv", (a, b), (mx.array(a), mx.array(b)), lambda f: lambda u, v: f(u, v) * 1),
            ("vs", (a, np.float32(2.5)), (mx.array(a),), lambda f: lambda u: f(u, 2.5) * 1),
            ("sv", (np.float32(-1.5), b), (mx.array(b),), lambda f: lambda v: f(-1.5, v) * 1),
            ("size-1", (a, np.float32(0.75)), (mx.array(a), mx.array([0.75])),
             lambda f: lambda u, v: f(u, v) * 1),
            ("row", (a2, row), (mx.array(a2), mx.array(row)), lambda f: lambda u, v: f(u, v) * 1),
            ("col", (col, b2), (mx.array(col), mx.array(b2)), lambda f: lambda u, v: f(u, v) * 1),
            ("strided", (a[: 2 * h : 2], b[1 : 2 * h : 2]), (mx.array(a)[: 2 * h : 2], mx.array(b)[1 : 2 * h : 2]),
             lambda f: lambda u, v: f(u, v) * 1),
            ("transposed", (a2.T, b2.T), (mx.array(a2).T, mx.array(b2).T), lambda f: lambda u, v: f(u, v) * 1),
        ]
        for name, (mf, nf) in BINARY.items():
            for form, (na, nb), args, prog in forms:
                got, ref = compiled_and_eager(prog(mf), *args)
                same(got, ref)
                with np.errstate(all="ignore"):
                    want = nf(na, nb).astype(np.float32)
                if name in ("maximum", "minimum"):  # ties may pick either zero
                    assert np.array_equal(np.isnan(got), np.isnan(want)), (name, form)
                    assert np.array_equal(got[~np.isnan(want)], want[~np.isnan(want)]), (name, form)
                else:
                    same(got, want)


def chain(m):
    return lambda x: m.exp(x) * 2 + x * x - 1


def check_programs(rng):
    for n in SIZES + (2_100_003,):  # the last: > 8 MiB, streamed, odd tail, threads
        x = data(rng, n, -2, 2, special=n < 100000)
        got, ref = compiled_and_eager(chain(mx), mx.array(x))
        same(got, ref)
        with np.errstate(all="ignore"):
            want = chain(np)(x.astype(np.float64)).astype(np.float32)
        fin = np.isfinite(want)
        np.testing.assert_allclose(got[fin], want[fin], rtol=2e-6, atol=2e-6)
        assert np.array_equal(got[~fin], want[~fin], equal_nan=True)
    # Several outputs: a repeated register, an input, a value also read later.
    x, y = data(rng, 1031), data(rng, 1031)

    def multi(a, b):
        p = a * b
        return p, a, p, mx.exp(a) + p, p - b

    gots, refs = compiled_and_eager(multi, mx.array(x), mx.array(y))
    for g, r in zip(gots, refs):
        same(g, r)
    same(gots[1], x)
    # Only size-1 operands (the program evaluated once), and a size-1 output.
    one = mx.array(np.array([0.5], np.float32))
    for f in (lambda a: a * 2, lambda a: mx.exp(a) * 2 - a, lambda a: (a + 1, a * 3)):
        got, ref = compiled_and_eager(f, one)
        for g, r in zip(got if isinstance(got, list) else [got], ref if isinstance(ref, list) else [ref]):
            same(g, r)
    # Many live values: slots reused, then more than the engine holds (tile loops).
    x = data(rng, 3001, -1, 1, special=False)

    def wide(k):
        def f(a):
            vals = [a * float(i + 1) for i in range(k)]
            acc = vals[-1]
            for v in reversed(vals[:-1]):
                acc = acc * 0.5 + mx.exp(v)
            return acc
        return f

    for k in (3, 12, 40):
        got, ref = compiled_and_eager(wide(k), mx.array(x))
        same(got, ref)
    # An input that may be donated to the output (a temporary).
    base = data(rng, 5000, -1, 1, special=False)
    cf = mx.compile(chain(mx))
    same(np.array(cf(mx.array(base) + 0)), np.array(chain(mx)(mx.array(base) + 0)))


def check_float64_and_mixed(rng):
    """Programs off the engine (tile loops): float64, and a cast inside."""
    x64 = rng.uniform(-5, 5, 4099)
    got, ref = compiled_and_eager(lambda a: mx.maximum(mx.exp(a) * 2 - a, 0.5) / 3, mx.array(x64, dtype=mx.float64))
    same(got, ref)
    np.testing.assert_allclose(got, np.maximum(np.exp(x64) * 2 - x64, 0.5) / 3, rtol=1e-14)
    x = data(rng, 4099, -3, 3, special=False)
    got, ref = compiled_and_eager(lambda a: (mx.exp(a) * 2).astype(mx.float16).astype(mx.float32) + a,
                                  mx.array(x))
    same(got, ref)


def check_eager(rng, names=None):
    """Uncompiled unary/binary ops on large dense float32 arrays (the engine's
    vec_apply: dynamic chunks, streamed fresh outputs, in place on a donated
    input) against numpy, bit for bit."""
    for n in (16384, 16385, 70001, 2_100_003):
        a, b = data(rng, n, -100, 90), data(rng, n)
        b[: n // 4] = a[: n // 4]
        for name, (mf, nf) in UNARY.items():
            if names is not None and name not in names:
                continue
            got = np.array(mf(mx.array(a)))
            tmp = np.array(mf(mx.array(a) * 1))  # a temporary: may be overwritten in place
            same(tmp, got)
            if nf is None:
                check_exp(got, a)
            else:
                with np.errstate(all="ignore"):
                    same(got, nf(a))
        for name, (mf, nf) in BINARY.items():
            if names is not None and name not in names:
                continue
            if name == "maximum":
                nf = lambda u, v: np.where(np.isnan(u) | (u > v), u, v).astype(np.float32)
            elif name == "minimum":
                nf = lambda u, v: np.where(np.isnan(u) | (u < v), u, v).astype(np.float32)
            with np.errstate(all="ignore"):
                cases = [
                    (mf(mx.array(a), mx.array(b)), nf(a, b)),
                    (mf(mx.array(a) * 1, mx.array(b)), nf(a, b)),
                    (mf(mx.array(a), 2.5), nf(a, np.float32(2.5))),
                    (mf(-1.5, mx.array(b)), nf(np.float32(-1.5), b)),
                ]
                for got, want in cases:
                    got = np.array(got)
                    if name in ("maximum", "minimum") and TEST_BACKEND:
                        # MLX may pick the other zero on ties.
                        assert np.array_equal(got, want, equal_nan=True), name
                    else:
                        same(got, np.asarray(want, np.float32))


TEST_BACKEND = os.environ.get("OXMLX_TEST_BACKEND")


def run_all():
    if os.environ.get("OXMLX_TEST_BACKEND"):
        mx.set_default_backend(mx.cpu, os.environ["OXMLX_TEST_BACKEND"])
    rng = np.random.default_rng(0)
    check_unary(rng)
    check_binary(rng)
    check_programs(rng)
    check_float64_and_mixed(rng)
    check_eager(rng)


ARITH = [k for k in list(UNARY) + list(BINARY) if k != "exp"]


def test_eager_ops_on_the_engine():
    check_eager(np.random.default_rng(4), ARITH)


def test_fused_unary_ops():
    check_unary(np.random.default_rng(1), ARITH)


def test_fused_and_eager_exp_accuracy():
    rng = np.random.default_rng(5)
    check_unary(rng, ["exp"])
    check_eager(rng, ["exp"])


def test_fused_float64_and_mixed_programs():
    check_float64_and_mixed(np.random.default_rng(6))


def test_fused_binary_ops_and_operand_forms():
    check_binary(np.random.default_rng(2))


def test_fused_programs():
    check_programs(np.random.default_rng(3))


@pytest.mark.parametrize("isa", ["avx512", "avx2", "generic"])
def test_fused_every_isa_path(isa):
    """The same checks with the ISA forced (a path the CPU lacks falls back)."""
    env = dict(os.environ, OXMLX_FAST_ISA=isa)
    code = "import sys; sys.path.insert(0, sys.argv[1]); import test_fused_engine as t; t.run_all(); print('ok')"
    r = subprocess.run([sys.executable, "-c", code, os.path.dirname(__file__)], env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stderr[-3000:]
