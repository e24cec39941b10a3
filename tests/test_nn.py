"""Module API of oxmlx.nn against mlx.nn: state trees, freezing, updates,
modes, weight files and value_and_grad."""

import numpy as np
import pytest

import oxmlx.core as mx
import oxmlx.nn as nn
from oxmlx.utils import tree_flatten

from _nn_util import assert_trees_close, copy_weights, flat_np, to_np

mnn = pytest.importorskip("mlx.nn")
mc = pytest.importorskip("mlx.core", minversion="0.32")  # the nn semantics mirrored here
mutils = pytest.importorskip("mlx.utils")


def _model(lib):
    """The same composite model built from either library."""

    class Block(lib.Module):
        def __init__(self):
            super().__init__()
            self.proj = lib.Linear(4, 6)
            self.norm = lib.LayerNorm(6)
            self.scale = (mx if lib is nn else mc).full((6,), 2.0)
            self.extras = {"a": lib.Linear(6, 2, bias=False), "b": [lib.ReLU(), lib.Linear(2, 2)]}
            self._private = lib.Linear(2, 2)
            self.count = 3
            self.maybe = None

        def __call__(self, x):
            x = self.norm(self.proj(x)) * self.scale
            x = self.extras["a"](x)
            return self.extras["b"][1](self.extras["b"][0](x))

    class Net(lib.Module):
        def __init__(self):
            super().__init__()
            self.blocks = [Block(), Block()]
            self.head = lib.Sequential(lib.Linear(2, 3), lib.GELU(), lib.Dropout(0.5))
            self.bn = lib.BatchNorm(3)

        def __call__(self, x):
            return self.bn(self.head(self.blocks[0](x)))

    return Net()


def _shape_tree(tree):
    """Arrays -> shapes, modules -> class names, recursively (for structure equality)."""
    if isinstance(tree, (nn.Module, mnn.Module)):
        return type(tree).__name__
    if isinstance(tree, dict):
        return {k: _shape_tree(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return [_shape_tree(v) for v in tree]
    if hasattr(tree, "shape"):
        return tuple(tree.shape)
    return tree


def _pair():
    a, b = _model(nn), _model(mnn)
    copy_weights(a, b)
    return a, b


def test_state_trees_match_mlx():
    a, b = _pair()
    for what in ("parameters", "trainable_parameters", "children", "leaf_modules"):
        assert _shape_tree(getattr(a, what)()) == _shape_tree(getattr(b, what)()), what
    assert [k for k, _ in a.named_modules()] == [k for k, _ in b.named_modules()]
    assert [type(m).__name__ for m in a.modules()] == [type(m).__name__ for m in b.modules()]
    # private keys and non-array attributes are not parameters, but stay reachable
    assert "_private" in a.blocks[0] and "_private" not in a.parameters()["blocks"][0]
    assert a.blocks[0].count == 3 and "count" not in a.blocks[0]
    assert a.blocks[0].maybe is None
    assert a.state is a
    assert_trees_close(a, b)


def test_repr_matches_mlx():
    for build in (lambda lib: lib.Sequential(lib.Linear(3, 4), lib.ReLU(), lib.LayerNorm(4)),
                  lambda lib: lib.MultiHeadAttention(8, 2),
                  lambda lib: lib.Conv2d(3, 4, 3, padding=1),
                  lambda lib: lib.MaxPool2d(2, 1, 1),
                  lambda lib: lib.Upsample(2.0, "linear"),
                  lambda lib: lib.GroupNorm(2, 4),
                  lambda lib: lib.Embedding(10, 4)):
        assert repr(build(nn)) == repr(build(mnn))


def test_attribute_semantics():
    m = nn.Linear(2, 3)
    with pytest.raises(AttributeError):
        m.not_there  # noqa: B018
    m.extra = mx.ones((2,))
    assert "extra" in m and m.extra is m["extra"]
    m.extra = 5  # a non-array value moves out of the state
    assert "extra" not in m and m.extra == 5
    del m.extra
    assert not hasattr(m, "extra")
    del m.bias
    assert "bias" not in m.parameters()
    y = m(mx.ones((1, 2)))
    assert y.shape == (1, 3)


@pytest.mark.parametrize("kw", [
    {}, {"keys": "bias"}, {"keys": ["weight"], "recurse": False}, {"recurse": False},
    {"keys": ["bias", "scale"]},
])
def test_freeze_unfreeze_match_mlx(kw):
    a, b = _pair()
    a.freeze(**kw)
    b.freeze(**kw)
    ka = sorted(k for k, _ in tree_flatten(a.trainable_parameters()))
    kb = sorted(k for k, _ in mutils.tree_flatten(b.trainable_parameters()))
    assert ka == kb
    a.unfreeze(keys="weight")
    b.unfreeze(keys="weight")
    assert sorted(k for k, _ in tree_flatten(a.trainable_parameters())) == sorted(
        k for k, _ in mutils.tree_flatten(b.trainable_parameters()))
    a.unfreeze()
    b.unfreeze()
    ka = sorted(k for k, _ in tree_flatten(a.trainable_parameters()))
    assert ka == sorted(k for k, _ in mutils.tree_flatten(b.trainable_parameters()))
    # BatchNorm's own unfreeze keeps its running statistics frozen
    a.bn.freeze()
    a.bn.unfreeze()
    b.bn.freeze()
    b.bn.unfreeze()
    assert sorted(a.bn.trainable_parameters()) == sorted(b.bn.trainable_parameters()) == ["bias", "weight"]


def test_freeze_strict_keys():
    a = _model(nn)
    with pytest.raises(KeyError):
        a.freeze(keys="nope", strict=True)
    with pytest.raises(KeyError):
        a.head.layers[0].freeze(keys="nope", strict=True, recurse=False)
    a.freeze(keys="nope")  # not strict: ignored
    a.freeze(keys="bias", strict=True)  # exists in some sub-module
    assert "bias" not in a.head.layers[0].trainable_parameters()


def test_update_strict_and_errors():
    a, b = _pair()
    new = {"head": {"layers": [{"weight": mx.zeros((3, 2))}]}}
    a.update(new)
    assert np.all(to_np(a.head.layers[0].weight) == 0)
    for bad, err in (({"nope": mx.zeros(1)}, 'does not have parameter named "nope"'),
                     ({"head": {"layers": [{"weight": 3.0}]}}, "Received invalid type: float"),
                     ({"blocks": [{}, {}, {}]}, "List index 2 is out of bounds"),
                     ({"head": 1.0}, "Received invalid type")):
        with pytest.raises(ValueError, match=err):
            a.update(bad)
        mb = mutils.tree_map(lambda v: mc.array(np.array(v)) if isinstance(v, mx.array) else v, bad)
        with pytest.raises(ValueError):
            b.update(mb)
    # non-strict: unknown keys and extra list entries are ignored
    a.update({"nope": mx.zeros(1), "blocks": [{}, {}, {"x": mx.zeros(1)}]}, strict=False)
    assert "nope" not in a


def test_update_modules_and_apply():
    a, b = _pair()
    a.update_modules({"head": {"layers": [nn.Identity(), {}, nn.Identity()]}})
    b.update_modules({"head": {"layers": [mnn.Identity(), {}, mnn.Identity()]}})
    assert _shape_tree(a.children()) == _shape_tree(b.children())
    assert _shape_tree(a.parameters()) == _shape_tree(b.parameters())
    with pytest.raises(ValueError, match="sub-module named"):
        a.update_modules({"nope": nn.Identity()})
    with pytest.raises(ValueError, match="out of bounds"):
        a.update_modules({"blocks": [{}, {}, nn.Identity()]})
    a.update_modules({"nope": nn.Identity()}, strict=False)

    a.apply(lambda v: v.astype(mx.float16))
    assert all(v.dtype == mx.float16 for _, v in tree_flatten(a.parameters()))
    a.set_dtype(mx.bfloat16)
    assert all(v.dtype == mx.bfloat16 for _, v in tree_flatten(a.parameters()))
    a.apply(lambda v: v * 0, filter_fn=lambda m, k, v: k == "bias" or isinstance(v, (dict, list)))
    for k, v in tree_flatten(a.parameters()):
        if k.endswith("bias"):
            assert np.all(to_np(v) == 0)


def test_train_eval_modes():
    a = _model(nn)
    assert a.training and all(m.training for m in a.modules())
    a.eval()
    assert not a.training and not any(m.training for m in a.modules())
    x = mx.ones((4, 2))
    d = a.head.layers[2]
    assert np.array_equal(to_np(d(x)), to_np(x))
    a.train()
    assert all(m.training for m in a.modules())


@pytest.mark.parametrize("ext", [".npz", ".safetensors"])
def test_save_load_round_trip_and_interop(tmp_path, ext):
    a, b = _pair()
    path = str(tmp_path / f"w{ext}")
    a.save_weights(path)
    fresh = _model(nn)
    fresh.load_weights(path)
    assert_trees_close(fresh, a, rtol=0, atol=0)
    # the file is readable by MLX into the twin model, and MLX's file by oxmlx
    twin = _model(mnn)
    twin.load_weights(path)
    assert_trees_close(twin, a, rtol=0, atol=0)
    path2 = str(tmp_path / f"m{ext}")
    b.save_weights(path2)
    back = _model(nn).load_weights(path2)
    assert_trees_close(back, b, rtol=0, atol=0)
    with pytest.raises(ValueError, match="Unsupported file extension"):
        a.save_weights(str(tmp_path / "w.bin"))


def test_load_weights_strict_errors():
    m = nn.Linear(3, 2)
    w = mx.zeros((2, 3))
    with pytest.raises(ValueError, match="Missing 1 parameters"):
        m.load_weights([("weight", w)])
    with pytest.raises(ValueError, match="not in model"):
        m.load_weights([("weight", w), ("bias", mx.zeros((2,))), ("extra", w)])
    with pytest.raises(ValueError, match=r"Expected shape \(2, 3\)"):
        m.load_weights([("weight", mx.zeros((3, 2))), ("bias", mx.zeros((2,)))])
    with pytest.raises(ValueError, match="Expected mx.array"):
        m.load_weights([("weight", np.zeros((2, 3))), ("bias", mx.zeros((2,)))])
    m.load_weights([("weight", w)], strict=False)
    assert np.all(to_np(m.weight) == 0)
    m.load_weights([], strict=False)


def test_value_and_grad_matches_mlx():
    a, b = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3)), mnn.Sequential(
        mnn.Linear(5, 7), mnn.Tanh(), mnn.Linear(7, 3))
    copy_weights(a, b)
    a.layers[0].freeze(keys="bias")
    b.layers[0].freeze(keys="bias")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 5)).astype(np.float32)
    y = rng.integers(0, 3, (6,)).astype(np.int32)

    fa = nn.value_and_grad(a, lambda X, Y: nn.losses.cross_entropy(a(X), Y, reduction="mean"))
    fb = mnn.value_and_grad(b, lambda X, Y: mnn.losses.cross_entropy(b(X), Y, reduction="mean"))
    va, ga = fa(mx.array(x), mx.array(y))
    vb, gb = fb(mc.array(x), mc.array(y))
    np.testing.assert_allclose(to_np(va), np.array(vb), rtol=1e-6)
    assert_trees_close(ga, gb, rtol=1e-5, atol=1e-7)
    assert "bias" not in ga["layers"][0]
    # the model keeps its own parameters (not tracers) after the call
    assert_trees_close(a, b, rtol=0, atol=0)


def test_leaf_modules_and_apply_to_modules_paths():
    a, b = _pair()
    pa, pb = [], []
    a.apply_to_modules(lambda k, m: pa.append((k, type(m).__name__)))
    b.apply_to_modules(lambda k, m: pb.append((k, type(m).__name__)))
    assert pa == pb
    la = [k for k, _ in tree_flatten(a.leaf_modules(), is_leaf=nn.Module.is_module)]
    lb = [k for k, _ in mutils.tree_flatten(b.leaf_modules(), is_leaf=mnn.Module.is_module)]
    assert la == lb


def test_module_flat_names_are_mlx_names():
    a, b = _pair()
    assert sorted(flat_np(a)) == sorted(k for k, _ in mutils.tree_flatten(b.parameters()))


def test_average_gradients_single_process():
    g = {"w": mx.ones((2, 2)), "b": [mx.zeros((3,))]}
    out = nn.average_gradients(g)
    assert_trees_close(out, mnn.average_gradients({"w": mc.ones((2, 2)), "b": [mc.zeros((3,))]}))
