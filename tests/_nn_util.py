"""Helpers of the nn / optimizer tests: build the same module in oxmlx and MLX,
copy the oxmlx weights into the MLX twin, compare parameter trees."""

import numpy as np

import oxmlx.core as mx
from oxmlx.utils import tree_flatten


def to_np(a):
    """numpy copy of an oxmlx or MLX array (16-bit floats through float32)."""
    if repr(a.dtype).split(".")[-1] in ("bfloat16", "float16"):
        f32 = mx.float32 if isinstance(a, mx.array) else __import__("mlx.core").core.float32
        a = a.astype(f32)
    return np.array(a)


def flat_np(module_or_tree):
    tree = module_or_tree.parameters() if hasattr(module_or_tree, "parameters") else module_or_tree
    return {k: to_np(v) for k, v in tree_flatten(tree)}


def copy_weights(ox_module, mlx_module):
    """Load the oxmlx module's parameters into the MLX module (names must match)."""
    import mlx.core as mc

    pairs = []
    for k, v in tree_flatten(ox_module.parameters()):
        dt = getattr(mc, repr(v.dtype).split(".")[-1])
        pairs.append((k, mc.array(to_np(v)).astype(dt)))
    mlx_module.load_weights(pairs)
    mc.eval(mlx_module.parameters())


def assert_trees_close(a, b, rtol=1e-5, atol=1e-6):
    fa, fb = flat_np(a), flat_np(b)
    assert fa.keys() == fb.keys(), (sorted(fa), sorted(fb))
    for k in fa:
        assert fa[k].shape == fb[k].shape, (k, fa[k].shape, fb[k].shape)
        np.testing.assert_allclose(fa[k], fb[k], rtol=rtol, atol=atol, err_msg=k)


def uniform_ok(a, limit):
    """``a`` looks like samples of U(-limit, limit): bounds, mean and std."""
    v = to_np(a)
    assert v.min() >= -limit and v.max() <= limit
    assert abs(v.mean()) < 0.05 * limit
    assert abs(v.std() - limit / 3 ** 0.5) < 0.05 * limit
