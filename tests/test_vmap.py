"""vmap: every family against a Python loop over the batch, pytrees of axes,
nesting, vmap of grad / grad of vmap, and MLX's errors."""

import numpy as np
import pytest

import oxmlx.core as mx

RNG = np.random.default_rng(0)


def R(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def loop(fun, args, in_axes, out_axis=0):
    """Reference: fun applied to each batch element, results stacked at out_axis."""
    n = next(a.shape[ax] for a, ax in zip(args, in_axes) if ax is not None)
    outs = []
    for b in range(n):
        el = [mx.array(np.take(a, b, axis=ax)) if ax is not None else mx.array(a) for a, ax in zip(args, in_axes)]
        outs.append(np.array(fun(*el)))
    return np.stack(outs, axis=out_axis)


def check(fun, args, in_axes, out_axis=0, atol=1e-5):
    got = mx.vmap(fun, in_axes=tuple(in_axes), out_axes=out_axis)(*[mx.array(a) for a in args])
    np.testing.assert_allclose(np.array(got), loop(fun, args, in_axes, out_axis), rtol=1e-5, atol=atol)


CASES = {
    "unary": (lambda a: mx.sin(a) * mx.exp(a), [R(3, 4)], [1]),
    "binary_mixed_axes": (lambda a, b: a * b - a, [R(3, 4), R(4, 3)], [0, 1]),
    "binary_unbatched": (lambda a, b: a + b, [R(5, 2), R(2)], [0, None]),
    "binary_broadcast": (lambda a, b: a[:, None] + b, [R(3, 4), R(5)], [1, None]),
    "compare_int": (lambda a, b: (a > b).astype(mx.int32) + a.astype(mx.int32), [R(4, 3), R(3)], [0, None]),
    "select": (lambda c, a, b: mx.where(c > 0, a, b), [R(3, 4), R(4), R(4, 3)], [0, None, 1]),
    "astype": (lambda a: a.astype(mx.float16).astype(mx.float32), [R(2, 3)], [0]),
    "reshape": (lambda a: a.reshape(2, -1), [R(4, 3, 2)], [1]),
    "transpose": (lambda a: a.T, [R(3, 4, 2)], [2]),
    "broadcast_to": (lambda a: mx.broadcast_to(a, (2, 3, 4)), [R(5, 4)], [0]),
    "slice": (lambda a: a[1::2, ::-1], [R(3, 5, 4)], [0]),
    "as_strided": (lambda a: mx.as_strided(a, (2, 2), (1, 2)), [R(3, 6)], [0]),
    "sum": (lambda a: mx.sum(a, axis=1), [R(3, 4, 5)], [2]),
    "max_keepdims": (lambda a: mx.max(a, axis=0, keepdims=True), [R(3, 4)], [0]),
    "mean_all": (lambda a: mx.mean(a), [R(3, 4)], [1]),
    "argmax": (lambda a: mx.argmax(a, axis=0), [R(4, 5)], [1]),
    "cumsum": (lambda a: mx.cumsum(a, axis=0, reverse=True), [R(3, 4)], [1]),
    "matmul": (lambda a, b: a @ b, [R(3, 4, 5), R(5, 2)], [0, None]),
    "matmul_both": (lambda a, b: a @ b, [R(4, 3, 2), R(2, 3, 5)], [1, 1]),
    "matvec": (lambda a, b: a @ b, [R(4, 3), R(3, 5)], [None, 1]),
    "slice_update": (lambda a, u: a.at[1:3].add(0) * 0 + mx.slice_update(a, u, mx.array([1]), [0]), [R(3, 5), R(3, 2)], [0, 0]),
    "setitem_unbatched_base": (lambda a, u: _set(a, u), [R(5), R(3, 2)], [None, 0]),
    "gather_src": (lambda a: a[mx.array([2, 0, 2])], [R(3, 4)], [1]),
    "gather_idx": (lambda a, i: a[i], [R(4, 3), np.array([[0, 3], [1, 1], [2, 0]])], [None, 0]),
    "gather_both": (lambda a, i: mx.take_along_axis(a, i, axis=0), [R(3, 4, 2), np.array([[[1, 0]], [[0, 0]], [[3, 2]]])], [0, 0]),
    "scatter_add": (lambda a, v: a.at[mx.array([0, 2, 0])].add(v), [R(3, 4), R(3, 3)], [0, 0]),
    "scatter_idx": (lambda a, i, v: a.at[i].add(v), [R(5), np.array([[0, 1], [4, 4], [2, 3]]), R(3, 2)], [None, 0, 0]),
    "softmax": (lambda a: mx.softmax(a, axis=-1), [R(3, 4, 5)], [1]),
    "concatenate": (lambda a, b: mx.concatenate([a, b], axis=0), [R(5, 2, 3), R(4, 3)], [0, None]),
}


def _set(a, u):
    a = mx.array(a)
    a[1:3] = u
    return a


@pytest.mark.parametrize("name", sorted(CASES))
def test_family_matches_python_loop(name):
    fun, args, axes = CASES[name]
    check(fun, args, axes)


def test_out_axes_and_negative_axes():
    x = R(3, 4, 5)
    check(lambda a: mx.exp(a), [x], [-1], out_axis=-1)
    check(lambda a: a[0], [x], [1], out_axis=1)


def test_random_bits_per_key_matches_loop():
    keys = mx.random.split(mx.random.key(7), 4)
    got = mx.vmap(lambda k: mx.random.uniform(shape=(3,), key=k))(keys)
    for b in range(4):
        np.testing.assert_array_equal(np.array(got[b]), np.array(mx.random.uniform(shape=(3,), key=keys[b])))


def test_pytree_in_and_out_axes():
    p = {"w": mx.array(R(4, 3)), "b": mx.array(R(3))}
    xs = mx.array(R(5, 4))

    def f(params, x):
        y = x @ params["w"] + params["b"]
        return {"y": y, "n": (mx.sum(y),)}

    out = mx.vmap(f, in_axes=({"w": None, "b": None}, 0), out_axes={"y": 1, "n": 0})(p, xs)
    ref = np.array(xs) @ np.array(p["w"]) + np.array(p["b"])
    np.testing.assert_allclose(np.array(out["y"]), ref.T, rtol=1e-5, atol=1e-5)
    assert isinstance(out["n"], tuple)
    np.testing.assert_allclose(np.array(out["n"][0]), ref.sum(axis=1), rtol=1e-5, atol=1e-4)
    # An int prefix covers a whole subtree.
    out2 = mx.vmap(f, in_axes=(None, 0))(p, xs)
    np.testing.assert_allclose(np.array(out2["y"]), ref, rtol=1e-5, atol=1e-5)


def test_unbatched_output_and_out_axes_none():
    x, y = mx.array(R(3, 4)), mx.array(R(5, 4))
    r = mx.vmap(lambda a, b: b * 2, in_axes=(0, None))(x, y)
    assert r.shape == (3, 5, 4)
    np.testing.assert_allclose(np.array(r[2]), np.array(y) * 2)
    r = mx.vmap(lambda a, b: (a + 1, b), in_axes=(0, None), out_axes=(0, None))(x, y)
    assert r[0].shape == (3, 4) and r[1].shape == (5, 4)
    with pytest.raises(ValueError):
        mx.vmap(lambda a, b: a, in_axes=(0, None), out_axes=None if False else (None,))(x, y)


def test_nested_vmap_is_outer_product():
    a, b = R(3), R(4)
    f = mx.vmap(mx.vmap(lambda u, v: u * v + mx.sin(u), in_axes=(None, 0)), in_axes=(0, None))
    np.testing.assert_allclose(np.array(f(mx.array(a), mx.array(b))), a[:, None] * b + np.sin(a)[:, None], rtol=1e-6)
    # Batched matmul from two vmaps of a dot product.
    A, B = R(3, 5), R(5, 4)
    dot = lambda u, v: mx.sum(u * v)  # noqa: E731
    mm = mx.vmap(mx.vmap(dot, in_axes=(None, 1)), in_axes=(0, None))
    np.testing.assert_allclose(np.array(mm(mx.array(A), mx.array(B))), A @ B, rtol=1e-5, atol=1e-5)


def test_vmap_of_grad_and_grad_of_vmap():
    x = R(4, 3).astype(np.float64)
    f = lambda v: mx.sum(mx.sin(v) * v**2)  # noqa: E731
    per = mx.vmap(mx.grad(f))(mx.array(x, mx.float64))
    np.testing.assert_allclose(np.array(per), np.cos(x) * x**2 + 2 * x * np.sin(x), rtol=1e-10)
    g = mx.grad(lambda v: mx.sum(mx.vmap(f)(v) ** 2))(mx.array(x, mx.float64))
    fx = (np.sin(x) * x**2).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(np.array(g), 2 * fx * (np.cos(x) * x**2 + 2 * x * np.sin(x)), rtol=1e-10)
    # jacobian rows by vmap over vjp cotangents
    W = R(3, 3).astype(np.float64)
    h = lambda v: mx.tanh(mx.array(W, mx.float64) @ v)  # noqa: E731
    v0 = mx.array(x[0], mx.float64)
    jac = mx.vmap(lambda c: mx.vjp(h, [v0], [c])[1][0])(mx.eye(3, dtype=mx.float64))
    ref = (1 - np.tanh(W @ x[0]) ** 2)[:, None] * W
    np.testing.assert_allclose(np.array(jac), ref, rtol=1e-10)


def test_matches_mlx(mlx):
    x = R(4, 3, 5)
    f = lambda m: (lambda a: m.sum(m.softmax(a, axis=0) * m.arange(5), axis=-1))  # noqa: E731
    got = mx.vmap(f(mx), in_axes=1, out_axes=-1)(mx.array(x))
    ref = mlx.vmap(f(mlx), in_axes=1, out_axes=-1)(mlx.array(x))
    np.testing.assert_allclose(np.array(got), np.array(ref), rtol=1e-5, atol=1e-6)


def test_empty_batch_and_dtypes():
    r = mx.vmap(lambda a: a * 2)(mx.zeros((0, 3)))
    assert r.shape == (0, 3)
    xi = np.arange(12, dtype=np.int16).reshape(3, 4)
    check(lambda a: a * a + 3, [xi], [1])
    check(lambda a: mx.cumsum(a > 5, axis=0), [xi], [0])


def test_errors_match_mlx():
    x, y = mx.array(R(3, 4)), mx.array(R(5, 4))
    with pytest.raises(IndexError, match="Invalid vectorization axis 2"):
        mx.vmap(lambda a: a, in_axes=2)(x)
    with pytest.raises(IndexError, match="Invalid vectorization axis 0"):
        mx.vmap(lambda a: a)(mx.array(3.0))
    with pytest.raises(ValueError, match="Inconsistent axis sizes: 3 and 5"):
        mx.vmap(lambda a, b: a + b)(x, y)
    with pytest.raises(ValueError, match="valid prefix"):
        mx.vmap(lambda a, b: a, in_axes=(0,))(x, y)
    with pytest.raises(ValueError, match="valid prefix"):
        mx.vmap(lambda a: a, in_axes=({"u": 0, "v": 1},))({"u": x})
    with pytest.raises(ValueError, match="axis must be int or None"):
        mx.vmap(lambda a: a, in_axes="a")(x)
    with pytest.raises(ValueError, match="axis must be int or None"):
        mx.vmap(lambda a: a, out_axes=1.5)(x)
    with pytest.raises(IndexError, match="Invalid output vectorization axis 2"):
        mx.vmap(lambda a: a * 2, out_axes=2)(x)
    with pytest.raises(ValueError, match="only arrays"):
        mx.vmap(lambda a: 3)(x)
    with pytest.raises(ValueError, match="only arrays"):
        mx.vmap(lambda a, b: a, in_axes=(0, None))(x, 2.0)
    with pytest.raises(TypeError, match="Keyword"):
        mx.vmap(lambda a: a)(a=x)
    with pytest.raises(TypeError):
        mx.vmap(lambda a: a, in_axes=None)
