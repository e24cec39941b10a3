"""Initialization of oxmlx.nn: the default parameter distributions of the layers,
the nn.init functions, and (since mx.random draws MLX's bits) equality with
MLX's initial parameters, init draws and dropout masks under the same seed."""

import math

import numpy as np
import pytest

import oxmlx.core as mx
import oxmlx.nn as nn
from oxmlx.utils import tree_flatten

from _nn_util import assert_trees_close, to_np, uniform_ok

mnn = pytest.importorskip("mlx.nn")
mc = pytest.importorskip("mlx.core", minversion="0.32")  # the nn semantics mirrored here

RNG = np.random.default_rng(1)


def _f32(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def test_default_initializations():
    lin = nn.Linear(300, 200)
    uniform_ok(lin.weight, 1 / math.sqrt(300))
    bil = nn.Bilinear(50, 40, 30)
    uniform_ok(bil.weight, 1 / math.sqrt(50))
    emb = nn.Embedding(400, 64)
    assert abs(to_np(emb.weight).std() - 1 / 8) < 0.01 and abs(to_np(emb.weight).mean()) < 0.01
    for cls in ("RNN", "GRU", "LSTM"):
        layer = getattr(nn, cls)(100, 64)
        for _, v in tree_flatten(layer.parameters()):
            assert to_np(v).max() <= 1 / 8 and to_np(v).min() >= -1 / 8
    ln, bn, gn = nn.LayerNorm(5), nn.BatchNorm(5), nn.GroupNorm(1, 5)
    for layer in (ln, bn, gn):
        assert np.all(to_np(layer.weight) == 1) and np.all(to_np(layer.bias) == 0)
    assert np.all(to_np(bn.running_mean) == 0) and np.all(to_np(bn.running_var) == 1)
    assert np.all(to_np(nn.PReLU(3).weight) == 0.25)
    assert lin.weight.dtype == mx.float32


@pytest.mark.parametrize("shape", [(200, 300), (64, 3, 3, 32)])
def test_init_functions(shape):
    a = mx.zeros(shape)
    fan_in = shape[-1] * math.prod(shape[1:-1])
    fan_out = shape[0] * math.prod(shape[1:-1])
    v = to_np(nn.init.glorot_uniform()(a))
    uniform_ok(v, math.sqrt(6 / (fan_in + fan_out)))
    v = to_np(nn.init.glorot_normal()(a, gain=2.0))
    assert abs(v.std() - 2 * math.sqrt(2 / (fan_in + fan_out))) < 0.03 * v.std()
    v = to_np(nn.init.he_normal()(a, mode="fan_out"))
    assert abs(v.std() - 1 / math.sqrt(fan_out)) < 0.03 * v.std()
    uniform_ok(to_np(nn.init.he_uniform()(a)), math.sqrt(3 / fan_in))
    v = to_np(nn.init.normal(1.0, 0.5)(a))
    assert abs(v.mean() - 1) < 0.02 and abs(v.std() - 0.5) < 0.02
    v = to_np(nn.init.uniform(-2, 4)(a))
    assert v.min() >= -2 and v.max() <= 4 and abs(v.mean() - 1) < 0.05
    assert np.all(to_np(nn.init.constant(3.5)(a)) == 3.5)
    assert nn.init.constant(1, mx.float16)(a).dtype == mx.float16
    assert nn.init.normal(dtype=mx.bfloat16)(a).dtype == mx.bfloat16
    with pytest.raises(ValueError, match="Invalid mode"):
        nn.init.he_normal()(a, mode="bad")


def test_init_identity_orthogonal_sparse():
    np.testing.assert_array_equal(to_np(nn.init.identity()(mx.zeros((4, 4)))), np.eye(4))
    with pytest.raises(ValueError, match="square"):
        nn.init.identity()(mx.zeros((3, 4)))
    for shape in ((6, 6), (4, 9), (9, 4)):
        q = to_np(nn.init.orthogonal(gain=2.0)(mx.zeros(shape)))
        small = min(shape)
        gram = q @ q.T if shape[0] == small else q.T @ q
        np.testing.assert_allclose(gram, 4 * np.eye(small), atol=1e-4)
    with pytest.raises(ValueError, match="2D"):
        nn.init.orthogonal()(mx.zeros((2, 2, 2)))
    s = to_np(nn.init.sparse(0.25, std=2.0)(mx.zeros((30, 20))))
    assert np.all((s == 0).sum(axis=1) >= 5)
    assert abs(s[s != 0].std() - 2.0) < 0.3
    with pytest.raises(ValueError, match="2 dimensions"):
        nn.init.sparse(0.5)(mx.zeros((3,)))
    with pytest.raises(ValueError, match="at least 2 dimensional"):
        nn.init.glorot_uniform()(mx.zeros((3,)))


def test_init_paths_through_core_sort_and_qr(monkeypatch):
    """sparse / orthogonal take mx.argsort / mx.linalg.qr when the core has them;
    exercise those paths with numpy stand-ins."""
    import types

    monkeypatch.setattr(mx, "argsort", lambda a, axis=-1: mx.array(np.argsort(np.array(a), axis=axis)),
                        raising=False)

    def qr(a, stream=None):
        q, r = np.linalg.qr(np.array(a))
        return mx.array(q), mx.array(r)

    monkeypatch.setattr(mx, "linalg", types.SimpleNamespace(qr=qr), raising=False)
    s = to_np(nn.init.sparse(0.3)(mx.zeros((10, 20))))
    assert np.all((s == 0).sum(axis=1) >= 6)
    q = to_np(nn.init.orthogonal()(mx.zeros((5, 8))))
    np.testing.assert_allclose(q @ q.T, np.eye(5), atol=1e-5)


@pytest.mark.parametrize("cls,args,kw", [
    ("Linear", (7, 5), {}), ("Linear", (7, 5), {"bias": False}), ("Bilinear", (3, 4, 2), {}),
    ("Embedding", (9, 4), {}), ("Conv1d", (4, 6, 3), {"groups": 2}), ("Conv2d", (3, 4, 2), {}),
    ("Conv3d", (2, 3, 2), {}), ("ConvTranspose2d", (3, 4, 2), {}), ("RNN", (4, 3), {}), ("GRU", (4, 3), {}),
    ("LSTM", (4, 3), {"bias": False}), ("MultiHeadAttention", (8, 2), {"bias": True}),
    ("Transformer", (8, 2, 1, 1), {}), ("PReLU", (3, 0.1), {}), ("BatchNorm", (3,), {}),
])
def test_initialization_equals_mlx_with_the_same_seed(cls, args, kw):
    """mx.random draws MLX's bits and samples, so a layer built after the same seed
    holds exactly MLX's initial parameters (same draw order, shapes and scales)."""
    mx.random.seed(42)
    mc.random.seed(42)
    a, b = getattr(nn, cls)(*args, **kw), getattr(mnn, cls)(*args, **kw)
    # uniform draws are bit-identical; normal draws agree to float32 rounding
    # (the inverse-erf evaluation differs by an ulp)
    tol = 2e-6 if cls in ("Embedding", "QuantizedEmbedding") else 0
    assert_trees_close(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("cls,args,kw", [("QuantizedLinear", (64, 3), {}),
                                         ("QuantizedEmbedding", (5, 64), {"bits": 8})])
def test_quantized_initialization_equals_mlx(cls, args, kw):
    test_initialization_equals_mlx_with_the_same_seed(cls, args, kw)


@pytest.mark.parametrize("name,args,call", [
    ("normal", (0.5, 2.0), {}), ("uniform", (-1.0, 3.0), {}), ("glorot_normal", (), {"gain": 1.5}),
    ("glorot_uniform", (), {}), ("he_normal", (), {"mode": "fan_out"}), ("he_uniform", (), {"gain": 0.5}),
    ("sparse", (0.3,), {}), ("orthogonal", (2.0,), {}), ("constant", (1.5,), {}), ("identity", (), {}),
])
def test_init_functions_equal_mlx_with_the_same_seed(name, args, call):
    mx.random.seed(3)
    mc.random.seed(3)
    a = getattr(nn.init, name)(*args)(mx.zeros((6, 6)), **call)
    b = getattr(mnn.init, name)(*args)(mc.zeros((6, 6)), **call)
    # orthogonal: QR by Gram-Schmidt where the core has no linalg.qr; normal draws
    # agree to float32 rounding (the inverse-erf evaluation differs by an ulp)
    tol = {"orthogonal": 1e-5, "normal": 2e-6, "glorot_normal": 2e-6, "he_normal": 2e-6, "sparse": 2e-6}.get(name, 0)
    np.testing.assert_allclose(to_np(a), to_np(b), rtol=tol, atol=tol)


@pytest.mark.parametrize("cls", ["Dropout", "Dropout2d", "Dropout3d"])
def test_dropout_masks_equal_mlx_with_the_same_seed(cls):
    mx.random.seed(5)
    mc.random.seed(5)
    x = _f32(2, 3, 4, 5, 6)[0] if cls != "Dropout3d" else _f32(2, 3, 4, 5, 6)
    np.testing.assert_array_equal(to_np(getattr(nn, cls)(0.4)(mx.array(x))),
                                  to_np(getattr(mnn, cls)(0.4)(mc.array(x))))
