"""compile: values against the uncompiled function (and MLX), one trace per
signature, shapeless, CSE and fusion visible in the program, state capture,
transforms through compiled functions, disable/enable, export_to_dot."""

import os
import subprocess
import sys

import numpy as np
import pytest

import oxmlx.core as mx
from oxmlx import _core

RNG = np.random.default_rng(0)


def programs(cf):
    return [entry[0] for entry in cf._cache.values()]


def counted(fun):
    calls = []

    def f(*a, **k):
        calls.append(1)
        return fun(*a, **k)

    return f, calls


ELEMENTWISE = {
    "chain": lambda x, y: mx.exp(x) * 2 + x * x - 1,
    "broadcast": lambda x, y: mx.sin(x) * y[0] + mx.maximum(x, y[:1]),
    "select": lambda x, y: mx.where(x > 0, x, y[0] * x) + 3,
    "astype": lambda x, y: (x.astype(mx.float16) * 2).astype(mx.float32) - y[0],
    "compare_int": lambda x, y: ((x > 0.1).astype(mx.int32) * 7 + 1) // 2,
    "mixed_reduce": lambda x, y: mx.sum(mx.tanh(x) * x, axis=-1, keepdims=True) + x * y[0],
    "transcendental": lambda x, y: mx.sigmoid(x) + mx.log1p(mx.abs(x)) * mx.cos(x) - mx.erf(x),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@pytest.mark.parametrize("shape", [(7,), (3, 1025), (0, 4), (2, 3, 5)])
def test_values_match_uncompiled(name, shape):
    f = ELEMENTWISE[name]
    x = mx.array(RNG.uniform(-2, 2, shape).astype(np.float32))
    y = mx.array(RNG.uniform(-2, 2, (3,)).astype(np.float32))
    cf = mx.compile(f)
    got, ref = cf(x, y), f(x, y)
    assert got.dtype == ref.dtype and got.shape == ref.shape
    np.testing.assert_allclose(np.array(got), np.array(ref), rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("dname", ["float64", "float16", "bfloat16", "int32", "int64", "uint8"])
def test_fused_dtypes(dname):
    dtype = getattr(mx, dname)
    f = lambda x: (x * x + x) - (x // 2 if dname in ("int32", "int64", "uint8") else x / 2)  # noqa: E731
    x = mx.array(RNG.integers(0, 9, (5, 33)), dtype=dtype)
    got, ref = mx.compile(f)(x), f(x)
    assert got.dtype == ref.dtype
    np.testing.assert_array_equal(np.array(got.astype(mx.float64)), np.array(ref.astype(mx.float64)))


def test_non_contiguous_and_broadcast_inputs():
    f = lambda a, b: mx.exp(a) * b - a  # noqa: E731
    base = mx.array(RNG.standard_normal((6, 8)).astype(np.float32))
    a = base.T[::2]  # strided view
    b = mx.array(RNG.standard_normal((1, 6)).astype(np.float32))
    np.testing.assert_allclose(np.array(mx.compile(f)(a, b)), np.array(f(a, b)), rtol=2e-6, atol=1e-6)


def test_exp_special_values():
    vals = [0.0, -0.0, 88.7, 88.8, 100.0, -87.0, -100.0, -104.0, -200.0, float("inf"), float("-inf"), float("nan"), 1e-8]
    x = mx.array(vals * 3)  # full SIMD vectors and a partial tail
    got = np.array(mx.compile(lambda v: mx.exp(v) + 0)(x))
    with np.errstate(over="ignore"):
        ref = np.exp(np.array(x, dtype=np.float64)).astype(np.float32)
    np.testing.assert_allclose(got, ref, rtol=3e-7, atol=1e-45, equal_nan=True)


def test_matches_mlx(mlx):
    f = lambda m: (lambda x: m.exp(x) * 2 + x * x - 1)  # noqa: E731
    x = RNG.standard_normal(1000).astype(np.float32)
    np.testing.assert_allclose(np.array(mx.compile(f(mx))(mx.array(x))), np.array(mlx.compile(f(mlx))(mlx.array(x))), rtol=2e-6, atol=2e-6)


def test_one_trace_per_signature():
    f, calls = counted(lambda x, s=1.0: x * s + 1)
    cf = mx.compile(f)
    a = mx.ones((3,))
    for _ in range(3):
        cf(a)
    assert len(calls) == 1
    cf(mx.zeros((3,)))  # same signature, new values
    assert len(calls) == 1
    assert cf(mx.full((3,), 2.0)).tolist() == [3.0, 3.0, 3.0]
    cf(mx.ones((4,)))  # new shape
    assert len(calls) == 2
    cf(mx.ones((3,), dtype=mx.float16))  # new dtype
    assert len(calls) == 3
    cf(a, 2.0)  # new non-array constant
    assert len(calls) == 4
    assert cf(a, 2.0).tolist() == [3.0, 3.0, 3.0] and cf(a, 3.0).tolist() == [4.0] * 3
    assert len(calls) == 5
    cf([a][0])
    assert len(calls) == 5


def test_pytree_structure_is_part_of_the_signature():
    f, calls = counted(lambda p: {"s": p["a"] + p["b"][0], "t": (p["a"] * 2,)})
    cf = mx.compile(f)
    out = cf({"a": mx.array(1.0), "b": [mx.array(2.0)]})
    assert out["s"].item() == 3.0 and isinstance(out["t"], tuple) and out["t"][0].item() == 2.0
    cf({"a": mx.array(5.0), "b": [mx.array(2.0)]})
    assert len(calls) == 1
    out = cf({"a": mx.array(1.0), "b": (mx.array(2.0),)})
    assert len(calls) == 2 and out["s"].item() == 3.0


def test_shapeless():
    f, calls = counted(lambda x: mx.exp(x) * 2 - x)
    cf = mx.compile(f, shapeless=True)
    for n in (3, 10, 1):
        x = mx.array(RNG.standard_normal(n).astype(np.float32))
        np.testing.assert_allclose(np.array(cf(x)), np.array(f(x)), rtol=2e-6)
    assert len(calls) == 1 + 3  # one trace, plus the three uncompiled references
    cf(mx.ones((2, 2)))  # a new number of dimensions retraces
    cf(mx.ones((3, 5)))
    assert len(calls) == 5
    g = mx.compile(lambda x: mx.sum(x, axis=0) + 1, shapeless=True)
    assert g(mx.ones((2, 3))).tolist() == [3.0] * 3 and g(mx.ones((4, 2))).tolist() == [5.0] * 2
    with pytest.raises(ValueError, match="shapeless"):
        mx.compile(lambda x: x.reshape(-1), shapeless=True)(mx.ones((2, 3)))


def test_simplification_and_fusion_in_the_program():
    f = lambda x: mx.sin(x) * 2 + mx.sin(x) * 2  # noqa: E731
    cf = mx.compile(f)
    x = mx.array([0.5, 1.0])
    np.testing.assert_allclose(np.array(cf(x)), np.array(f(x)), rtol=1e-6)
    (prog,) = programs(cf)
    assert prog.step_names() == ["Fused"]
    # Without fusion, CSE alone leaves one Sin and one Multiply.
    names = _core._compile_trace(lambda xs: [f(xs[0])], [x], True, False).step_names()
    assert names.count("Sin") == 1 and names.count("Multiply") == 1 and names.count("Add") == 1
    raw = _core._compile_trace(lambda xs: [f(xs[0])], [x], False, False).step_names()
    assert raw.count("Sin") == 2
    # A reduction splits the chain into two fused groups.
    g = mx.compile(lambda x: mx.exp(mx.sum(x * x + 1, axis=0)) * 3 - 1)
    g(mx.ones((4, 3)))
    assert programs(g)[0].step_names().count("Fused") == 2


def test_state_capture_like_an_optimizer():
    state = {"w": mx.array([1.0, 2.0]), "opt": [mx.array(0)]}

    def step(g):
        state["w"] = state["w"] - 0.5 * g
        state["opt"][0] = state["opt"][0] + 1
        return mx.sum(state["w"])

    f, calls = counted(step)
    c = mx.compile(f, inputs=state, outputs=state)
    vals = [c(mx.array([1.0, 1.0])).item() for _ in range(3)]
    assert vals == [2.0, 1.0, 0.0]
    assert state["w"].tolist() == [-0.5, 0.5] and state["opt"][0].item() == 3
    assert len(calls) == 1
    state["w"] = mx.array([10.0, 10.0])  # replaced from outside: the next call sees it
    assert c(mx.array([0.0, 0.0])).item() == 20.0


def test_inputs_only_capture_reads_current_values():
    params = [mx.array(2.0)]
    c = mx.compile(lambda x: x * params[0], inputs=params)
    assert c(mx.array(3.0)).item() == 6.0
    params[0] = mx.array(5.0)
    assert c(mx.array(3.0)).item() == 15.0


def test_grad_through_and_inside_compile():
    x64 = np.array([0.3, -1.2, 2.0])
    f = lambda v: mx.sum(mx.exp(v) * v + mx.sin(v))  # noqa: E731
    ref = np.exp(x64) * (1 + x64) + np.cos(x64)
    x = mx.array(x64, mx.float64)
    np.testing.assert_allclose(np.array(mx.grad(mx.compile(f))(x)), ref, rtol=1e-12)
    np.testing.assert_allclose(np.array(mx.compile(mx.grad(f))(x)), ref, rtol=1e-12)
    np.testing.assert_allclose(np.array(mx.vmap(mx.compile(mx.grad(f)))(x[:, None])), ref[:, None], rtol=1e-12)
    # jvp and vmap through a fused node
    h = mx.compile(lambda v: mx.exp(v) * 2 - v * v)
    _, (t,) = mx.jvp(h, [x], [mx.ones(3, dtype=mx.float64)])
    np.testing.assert_allclose(np.array(t), 2 * np.exp(x64) - 2 * x64, rtol=1e-12)
    np.testing.assert_allclose(np.array(mx.vmap(h, in_axes=1)(x[None])), (2 * np.exp(x64) - x64**2)[:, None], rtol=1e-12)


def test_disable_and_enable_compile():
    f, calls = counted(lambda x: x + 1)
    cf = mx.compile(f)
    mx.disable_compile()
    try:
        cf(mx.array(1.0))
        cf(mx.array(1.0))
        assert len(calls) == 2 and not cf._cache
    finally:
        mx.enable_compile()
    cf(mx.array(1.0))
    cf(mx.array(1.0))
    assert len(calls) == 3


def test_env_var_disables_compile():
    code = (
        "import oxmlx.core as mx\n"
        "n = []\n"
        "c = mx.compile(lambda x: (n.append(1), x + 1)[1])\n"
        "c(mx.array(1.0)); c(mx.array(1.0))\n"
        "print(len(n))\n"
    )
    env = dict(os.environ, MLX_DISABLE_COMPILE="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "2"


def test_outputs_and_errors():
    c = mx.compile(lambda x: (x, 2, None))
    out = c(mx.array(1.0))
    assert out[1] == 2 and out[2] is None and out[0].item() == 1.0
    with pytest.raises(TypeError):
        mx.compile(3)
    with pytest.raises(ValueError, match="outputs"):
        mx.compile(lambda x: object())(mx.array(1.0))
    assert mx.compile(lambda x: x + 1, inputs=3)(mx.array(1.0)).item() == 2.0  # ignored, as MLX
    t = (mx.array(1.0),)
    with pytest.raises(ValueError, match="tuple"):
        mx.compile(lambda x: x, outputs=t)(mx.array(1.0))
    with pytest.raises(ValueError, match="eval"):
        mx.compile(lambda x: x.item())(mx.array(1.0))


def test_export_to_dot(tmp_path):
    x, y = mx.array(1.0), mx.array(2.0)
    z = mx.exp(x + y) * 2
    path = tmp_path / "g.dot"
    mx.export_to_dot(str(path), z, x=x, y=y)
    text = path.read_text()
    assert text.startswith("digraph {") and text.rstrip().endswith("}")
    assert "Exp" in text and "Add" in text and "Multiply" in text
    assert 'label="x"' in text and 'label="y"' in text
    import io

    buf = io.StringIO()
    mx.export_to_dot(buf, z)
    assert "Exp" in buf.getvalue()


def test_large_outputs_and_donated_intermediates():
    # > 8 MiB of output takes the non-temporal store path; odd size leaves a tail.
    x = mx.array(RNG.uniform(-1, 1, 3 * 10**6 + 7).astype(np.float32))
    f = lambda v: mx.exp(v) * 2 + v * v - 1  # noqa: E731
    np.testing.assert_allclose(np.array(mx.compile(f)(x)), np.array(f(x)), rtol=2e-6, atol=2e-6)
    # The matmul result is used only by the fused node, which may reuse its buffer.
    a = mx.array(RNG.standard_normal((64, 48)).astype(np.float32))
    b = mx.array(RNG.standard_normal((48, 80)).astype(np.float32))
    g = lambda p, q: mx.tanh(p @ q) * 3 - (p @ q)  # noqa: E731
    cg = mx.compile(g)
    np.testing.assert_allclose(np.array(cg(a, b)), np.array(g(a, b)), rtol=1e-5, atol=1e-5)
    assert programs(cg)[0].step_names() == ["Matmul", "Fused"]


def test_fused_exp_accuracy_over_the_float_range():
    x = RNG.uniform(-100, 89, 10**5).astype(np.float32)
    got = np.array(mx.compile(lambda v: mx.exp(v) * 1)(mx.array(x))).astype(np.float64)
    ref = np.exp(x.astype(np.float64))
    normal = (ref > 1.2e-38) & (ref < 3.4e38)
    assert np.max(np.abs(got[normal] - ref[normal]) / ref[normal]) < 2.5e-7  # about 1 ulp
    sub = ref < 1.2e-38
    assert np.max(np.abs(got[sub] - ref[sub])) < 3e-45  # subnormals within one step


def test_random_state_capture_matches_uncompiled():
    from functools import partial

    @partial(mx.compile, inputs=mx.random.state, outputs=mx.random.state)
    def f(x):
        return x + mx.random.uniform(shape=x.shape)

    mx.random.seed(3)
    got = [f(mx.zeros(4)).tolist() for _ in range(3)]
    mx.random.seed(3)
    ref = [mx.random.uniform(shape=(4,)).tolist() for _ in range(3)]
    assert got == ref and got[0] != got[1]
    assert f._trace_count == 1


def test_multi_output_fusion_like_an_optimizer_step():
    def adam(p, m, v, g):
        m2 = 0.9 * m + 0.1 * g
        v2 = 0.999 * v + 0.001 * g * g
        return p - 0.01 * m2 / (mx.sqrt(v2) + 1e-8), m2, v2

    c = mx.compile(adam)
    args = [mx.array(RNG.uniform(0.1, 1, 777).astype(np.float32)) for _ in range(4)]
    for a, b in zip(c(*args), adam(*args)):
        np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-6, atol=1e-7)
    assert programs(c)[0].step_names() == ["Fused"]  # one pass: three outputs
    # An intermediate used by a later, non-fusible consumer becomes an extra output.
    h = lambda x: (mx.exp(x) * 2, mx.sum(mx.exp(x)))  # noqa: E731
    ch = mx.compile(h)
    x = mx.array(RNG.standard_normal(50).astype(np.float32))
    for a, b in zip(ch(x), h(x)):
        np.testing.assert_allclose(np.array(a), np.array(b), rtol=2e-6)
    assert programs(ch)[0].step_names().count("Exp") == 0
    # Transforms through a multi-output fused node.
    x64 = mx.array(RNG.uniform(0.5, 1.5, 5), mx.float64)

    def loss(p):
        a, b, c2 = mx.compile(adam)(p, p * 0.5, p * p, p + 1)
        return mx.sum(a * 3 + b * 2 + c2)

    def loss_ref(p):
        a, b, c2 = adam(p, p * 0.5, p * p, p + 1)
        return mx.sum(a * 3 + b * 2 + c2)

    np.testing.assert_allclose(np.array(mx.grad(loss)(x64)), np.array(mx.grad(loss_ref)(x64)), rtol=1e-10)
    vm = mx.vmap(mx.compile(adam))(*[mx.array(RNG.uniform(0.1, 1, (3, 4)).astype(np.float32))] * 4)
    assert [t.shape for t in vm] == [(3, 4)] * 3


def test_many_dimensions_and_strided_broadcast_inputs():
    x = mx.array(RNG.random([1] * 8 + [2, 3, 1, 2, 1, 1, 2, 1, 3, 2]).astype(np.float32))
    xt = mx.swapaxes(x, 8, 9)  # 18-d, not contiguous
    y = mx.array(RNG.random((3, 1)).astype(np.float32))
    f = lambda a, b: mx.exp(a) * 2 + b  # noqa: E731
    np.testing.assert_allclose(np.array(mx.compile(f)(xt, y)), np.array(f(xt, y)), rtol=2e-6)


def test_nested_state_with_non_array_leaves():
    model = {"layers": [{"w": mx.array([1.0, 2.0]), "name": "a"}, {"w": mx.array([3.0]), "n": 4}], "step": 0}
    opt = {"lr": mx.array(0.5), "count": [mx.array(0, dtype=mx.int32)]}
    state = [model, opt]

    def update(scale):
        for layer in model["layers"]:
            layer["w"] = layer["w"] * scale - opt["lr"]
        opt["count"][0] = opt["count"][0] + 1
        return mx.sum(model["layers"][0]["w"])

    f, calls = counted(update)
    c = mx.compile(f, inputs=state, outputs=state)
    assert c(mx.array(2.0)).item() == 5.0
    assert c(mx.array(1.0)).item() == 4.0
    assert model["layers"][0]["w"].tolist() == [1.0, 3.0] and model["layers"][1]["w"].tolist() == [5.0]
    assert opt["count"][0].item() == 2 and model["layers"][0]["name"] == "a" and model["step"] == 0
    assert len(calls) == 1
    opt["lr"] = mx.array(0.0)  # a new value of a captured input is used, no retrace
    assert c(mx.array(1.0)).item() == 4.0 and len(calls) == 1


def test_shapeless_broadcasting_and_reductions():
    f, calls = counted(lambda x, b: mx.softmax(mx.exp(x) * 2 + b, axis=-1))
    cf = mx.compile(f, shapeless=True)
    for n in (3, 5, 1):
        x = mx.array(RNG.random((n, 4)).astype(np.float32))
        b = mx.array(RNG.random(4).astype(np.float32))
        got = cf(x, b)
        assert got.shape == (n, 4)
        np.testing.assert_allclose(np.array(got), np.array(f(x, b)), rtol=2e-6, atol=1e-7)
    assert len(calls) == 1 + 3


@pytest.mark.skipif("mlx" not in mx.backends(), reason="this build has no mlx backend")
def test_fused_nodes_on_a_backend_without_the_fused_family():
    s = mx.new_stream(mx.cpu, backend="mlx")
    f = lambda v: mx.exp(v) * 2 + v * v - 1  # noqa: E731
    x = mx.array(np.linspace(-1, 1, 100).astype(np.float32))
    with mx.stream(s):
        cf = mx.compile(f)
        got, ref = cf(x), f(x)
    assert programs(cf)[0].step_names() == ["Fused"]
    np.testing.assert_allclose(np.array(got), np.array(ref), rtol=1e-6)
