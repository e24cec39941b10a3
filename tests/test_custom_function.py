"""custom_function (.vjp/.jvp/.vmap), checkpoint and stop_gradient, with MLX
as the oracle and finite differences where the default rules apply."""

import numpy as np
import pytest

import oxmlx.core as mx


def test_stop_gradient_blocks_vjp_and_jvp(mlx):
    xs = [1.0, -2.0, 3.0]
    f = lambda m: (lambda x: m.sum(m.stop_gradient(x * x) * x + m.sin(m.stop_gradient(x))))  # noqa: E731
    g = mx.grad(f(mx))(mx.array(xs))
    ref = mlx.grad(f(mlx))(mlx.array(xs))
    np.testing.assert_allclose(np.array(g), np.array(ref), rtol=1e-6)
    np.testing.assert_allclose(np.array(g), np.square(xs), rtol=1e-6)
    _, (t,) = mx.jvp(lambda x: mx.stop_gradient(x) * 2, [mx.array(xs)], [mx.ones(3)])
    assert t.tolist() == [0.0, 0.0, 0.0]
    y = mx.stop_gradient(mx.array([[1, 2]], dtype=mx.int16))
    assert y.dtype == mx.int16 and y.tolist() == [[1, 2]]
    v = mx.vmap(lambda a: mx.stop_gradient(a) + 1, in_axes=1)(mx.array([[1.0, 2.0], [3.0, 4.0]]))
    assert v.tolist() == [[2.0, 4.0], [3.0, 5.0]]


def test_custom_vjp_is_used(mlx):
    def make(m):
        @m.custom_function
        def f(x, y):
            return m.sin(x) * y

        @f.vjp
        def f_vjp(primals, cotangent, output):
            x, y = primals
            return cotangent * 10 * y, cotangent * output
        return f

    x, y = [0.5, 1.0], [2.0, -1.0]
    loss = lambda m, f: (lambda a, b: m.sum(f(a, b) * m.array([1.0, 3.0])))  # noqa: E731
    got = mx.grad(loss(mx, make(mx)), argnums=(0, 1))(mx.array(x), mx.array(y))
    ref = mlx.grad(loss(mlx, make(mlx)), argnums=(0, 1))(mlx.array(x), mlx.array(y))
    for a, b in zip(got, ref):
        np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-6)
    # The forward value is fun's.
    np.testing.assert_allclose(np.array(make(mx)(mx.array(x), mx.array(y))), np.sin(x) * np.array(y), rtol=1e-6)


def test_custom_vjp_pytree_outputs_and_single_argument():
    seen = {}

    @mx.custom_function
    def g(x):
        return {"a": x * 2, "b": (mx.exp(x),)}

    @g.vjp
    def g_vjp(primals, cot, out):
        seen["types"] = (type(primals), type(cot), type(out["b"]))
        return cot["a"] * 100 + cot["b"][0] * out["b"][0]

    x = mx.array([0.0, 1.0])
    gr = mx.grad(lambda v: mx.sum(g(v)["a"]) + mx.sum(g(v)["b"][0]))(x)
    np.testing.assert_allclose(np.array(gr), 100 + np.exp([0.0, 1.0]), rtol=1e-6)
    assert seen["types"] == (mx.array, dict, tuple)


def test_custom_jvp_and_vmap(mlx):
    @mx.custom_function
    def f(x, y):
        return mx.sin(x) * y

    @f.jvp
    def f_jvp(primals, tangents):
        x, y = primals
        dx, dy = tangents
        return 3 * dx + 5 * dy

    calls = []

    @f.vmap
    def f_vmap(inputs, axes):
        calls.append(axes)
        x, y = inputs
        ax, ay = axes
        if ay is not None and ax is not None and ay != ax:
            y = y.swapaxes(ay, ax)
        return mx.sin(x) * y + 100, ax if ax is not None else ay

    _, (t,) = mx.jvp(f, [mx.array(1.0), mx.array(2.0)], [mx.array(1.0), mx.array(2.0)])
    assert t.item() == 13.0
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    r = mx.vmap(f, in_axes=(0, None))(mx.array(x), mx.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(np.array(r), np.sin(x) * [1, 2, 3] + 100, rtol=1e-6)
    assert calls == [(0, None)]


def test_missing_rules_fall_back_to_fun():
    @mx.custom_function
    def f(x, y):
        return x * y + mx.sin(x)

    @f.vmap
    def f_vmap(inputs, axes):
        return inputs[0] * inputs[1] + mx.sin(inputs[0]), axes[0]

    gx, gy = mx.grad(f, argnums=(0, 1))(mx.array(2.0), mx.array(3.0))
    assert gx.item() == pytest.approx(3.0 + np.cos(2.0))
    assert gy.item() == pytest.approx(2.0)
    _, (t,) = mx.jvp(f, [mx.array(2.0), mx.array(3.0)], [mx.array(1.0), mx.array(0.0)])
    assert t.item() == pytest.approx(3.0 + np.cos(2.0))


def test_captured_arrays_are_constants():
    def g(x, y):
        @mx.custom_function
        def f(x):
            return x * y

        @f.vjp
        def f_vjp(x, dx, fx):
            raise ValueError("Abort!")

        return f(x)

    x, y = mx.array(2.0), mx.array(3.0)
    assert g(x, y).item() == 6.0
    with pytest.raises(ValueError, match="Abort"):
        mx.grad(g)(x, y)
    assert mx.grad(g, argnums=1)(x, y).item() == 0.0


def test_checkpoint_recomputes_and_matches_gradients(mlx):
    calls = []

    def block(w, x):
        calls.append(1)
        return mx.tanh(x @ w) * mx.sin(x @ w)

    rng = np.random.default_rng(0)
    W = rng.standard_normal((4, 4)).astype(np.float32) * 0.5
    X = rng.standard_normal((3, 4)).astype(np.float32)

    def loss(f, m):
        return lambda w, x: m.sum(f(w, f(w, x)) ** 2)

    ck = mx.checkpoint(block)
    g1 = mx.grad(loss(ck, mx))(mx.array(W), mx.array(X))
    n_ck = len(calls)
    calls.clear()
    g2 = mx.grad(loss(block, mx))(mx.array(W), mx.array(X))
    assert len(calls) == 2 and n_ck == 4  # each block traced again in the backward pass
    np.testing.assert_allclose(np.array(g1), np.array(g2), rtol=1e-5, atol=1e-6)

    def mblock(w, x):
        return mlx.tanh(x @ w) * mlx.sin(x @ w)

    g3 = mlx.grad(loss(mlx.checkpoint(mblock), mlx))(mlx.array(W), mlx.array(X))
    np.testing.assert_allclose(np.array(g1), np.array(g3), rtol=1e-5, atol=1e-6)


def test_checkpoint_pytrees_and_finite_differences():
    f = mx.checkpoint(lambda p, x: {"y": mx.sin(p["a"]) * x**3})
    x = np.array([0.3, -0.7, 1.1])
    g = mx.grad(lambda v: mx.sum(f({"a": mx.array(0.5, mx.float64)}, v)["y"]))(mx.array(x, mx.float64))
    np.testing.assert_allclose(np.array(g), np.sin(0.5) * 3 * x**2, rtol=1e-12)
    out = f({"a": mx.array(1.0)}, mx.array(2.0))
    assert isinstance(out, dict) and out["y"].item() == pytest.approx(np.sin(1.0) * 8, rel=1e-6)
    # grad of grad through a checkpoint
    h = mx.checkpoint(lambda v: mx.sin(v) * v)
    g2 = mx.grad(lambda v: mx.sum(mx.grad(lambda u: mx.sum(h(u)))(v)))(mx.array(x, mx.float64))
    np.testing.assert_allclose(np.array(g2), 2 * np.cos(x) - x * np.sin(x), rtol=1e-10)


def test_custom_function_errors():
    @mx.custom_function
    def f(x):
        return x * 2

    @f.vjp
    def f_vjp(p, c, o):
        return "bad"

    with pytest.raises(ValueError, match="must return arrays"):
        mx.grad(lambda v: mx.sum(f(v)))(mx.array([1.0]))
    with pytest.raises(ValueError, match="only arrays"):
        mx.custom_function(lambda x: 3.0)(mx.array(1.0))


def test_non_array_arguments_are_constants(mlx):
    for m in (mx, mlx):
        f = m.custom_function(lambda x, s: x * s)
        assert f(m.array(2.0), 3.0).item() == 6.0
        assert m.grad(f)(m.array(2.0), 3.0).item() == 3.0
        assert m.checkpoint(lambda x, s: x * s)(m.array(2.0), 3.0).item() == 6.0


def test_depends(mlx):
    import io

    a, b = mx.array(1.0), mx.array(2.0) * 3
    r = mx.depends(a, b)
    buf = io.StringIO()
    mx.export_to_dot(buf, r)
    assert "Depends" in buf.getvalue() and "Multiply" in buf.getvalue()  # b is part of r's graph
    assert isinstance(r, mx.array) and r.item() == 1.0
    rs = mx.depends([a, a + 1], [b])
    assert isinstance(rs, list) and [x.item() for x in rs] == [1.0, 2.0]
    for m in (mx, mlx):
        assert m.grad(lambda x: m.depends(x * 2, x * 5))(m.array(1.0)).item() == 2.0
    assert mx.vmap(lambda x: mx.depends(x * 2, x * 5))(mx.array([1.0, 2.0])).tolist() == [2.0, 4.0]
    assert mx.compile(lambda x: mx.depends(x * 2, x * 5))(mx.array([1.0, 2.0])).tolist() == [2.0, 4.0]
    with pytest.raises((TypeError, ValueError)):
        mx.depends(a, 3)
