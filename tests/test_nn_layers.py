"""Each layer of oxmlx.nn against its mlx.nn twin: same parameter names and
shapes, and (with the oxmlx weights copied into MLX) the same outputs and
gradients; initialization distributions; errors."""

import math

import numpy as np
import pytest

import oxmlx.core as mx
import oxmlx.nn as nn
from oxmlx.utils import tree_flatten, tree_map

from _nn_util import assert_trees_close, copy_weights, to_np, uniform_ok

mnn = pytest.importorskip("mlx.nn")
mc = pytest.importorskip("mlx.core", minversion="0.32")  # the nn semantics mirrored here
mutils = pytest.importorskip("mlx.utils")

RNG = np.random.default_rng(0)


def _f32(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _shapes(module, flatten):
    return {k: tuple(v.shape) for k, v in flatten(module.parameters())}


def _build(cls, args, kwargs):
    a = getattr(nn, cls)(*args, **kwargs)
    b = getattr(mnn, cls)(*args, **kwargs)
    assert _shapes(a, tree_flatten) == _shapes(b, mutils.tree_flatten)
    copy_weights(a, b)
    return a, b


def _first(y):
    return y[0] if isinstance(y, tuple) else y


def _as_lib(x, lib):
    if x is None or isinstance(x, (int, float, str)):
        return x
    return (mx if lib == "ox" else mc).array(x)


def check_layer(cls, args=(), kwargs=None, inputs=(), call_kwargs=None, tol=2e-5, grad=True,
                method="__call__", train=True):
    """Build both, compare the forward output and the gradients (w.r.t. parameters
    and float inputs) of ``sum(out * cotangent)``."""
    kwargs = kwargs or {}
    call_kwargs = call_kwargs or {}
    a, b = _build(cls, args, kwargs)
    if not train:
        a.eval()
        b.eval()
    xa = [_as_lib(x, "ox") for x in inputs]
    xb = [_as_lib(x, "mlx") for x in inputs]
    ca = {k: _as_lib(v, "ox") for k, v in call_kwargs.items()}
    cb = {k: _as_lib(v, "mlx") for k, v in call_kwargs.items()}
    ya = _first(getattr(a, method)(*xa, **ca))
    yb = _first(getattr(b, method)(*xb, **cb))
    assert ya.shape == yb.shape
    assert repr(ya.dtype).split(".")[-1] == repr(yb.dtype).split(".")[-1]
    np.testing.assert_allclose(to_np(ya), to_np(yb), rtol=tol, atol=tol)
    if not grad:
        return a, b
    cot = RNG.standard_normal(ya.shape).astype(np.float32)
    float_idx = [i for i, x in enumerate(inputs) if isinstance(x, np.ndarray) and x.dtype.kind == "f"]

    def loss_fn(lib, model, call_in, call_kw):
        core = mx if lib == "ox" else mc

        def f(params, *xs):
            model.update(params)
            full = list(call_in)
            for i, x in zip(float_idx, xs):
                full[i] = x
            out = _first(getattr(model, method)(*full, **call_kw))
            return (out.astype(core.float32) * core.array(cot)).sum()

        return f

    nums = tuple(range(1 + len(float_idx)))
    ga = mx.grad(loss_fn("ox", a, xa, ca), argnums=nums)(a.trainable_parameters(), *[xa[i] for i in float_idx])
    gb = mc.grad(loss_fn("mlx", b, xb, cb), argnums=nums)(b.trainable_parameters(), *[xb[i] for i in float_idx])
    if len(nums) == 1:
        ga, gb = (ga,), (gb,)
    assert_trees_close(ga[0], gb[0], rtol=10 * tol, atol=10 * tol)
    for u, v in zip(ga[1:], gb[1:]):
        np.testing.assert_allclose(to_np(u), to_np(v), rtol=10 * tol, atol=10 * tol)
    return a, b


# ---------------------------------------------------------------- linear & co
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(3, 7), (2, 3, 7), (7,)])
def test_linear(bias, shape):
    check_layer("Linear", (7, 5), {"bias": bias}, [_f32(*shape)])


@pytest.mark.parametrize("bias", [True, False])
def test_bilinear(bias):
    check_layer("Bilinear", (4, 5, 3), {"bias": bias}, [_f32(2, 6, 4), _f32(2, 6, 5)])


def test_identity_and_sequential():
    check_layer("Identity", (1, 2), {"x": 3}, [_f32(3, 4)], grad=False)
    a = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), lambda t: t * 2, nn.Linear(6, 2))
    b = mnn.Sequential(mnn.Linear(4, 6), mnn.ReLU(), lambda t: t * 2, mnn.Linear(6, 2))
    copy_weights(a, b)
    x = _f32(5, 4)
    np.testing.assert_allclose(to_np(a(mx.array(x))), np.array(b(mc.array(x))), rtol=1e-5, atol=1e-6)
    assert sorted(k for k, _ in tree_flatten(a.parameters())) == ["layers.0.bias", "layers.0.weight",
                                                                  "layers.3.bias", "layers.3.weight"]


def test_embedding_and_as_linear():
    idx = RNG.integers(0, 11, (3, 4)).astype(np.int32)
    check_layer("Embedding", (11, 6), {}, [idx])
    check_layer("Embedding", (11, 6), {}, [_f32(2, 6)], method="as_linear")


def test_linear_noncontiguous_and_half():
    a, b = _build("Linear", (6, 4), {})
    x = _f32(6, 5)
    xa = mx.array(x).T  # strided view
    np.testing.assert_allclose(to_np(a(xa)), np.array(b(mc.array(x.T))), rtol=1e-5, atol=1e-6)
    for dt in ("float16", "bfloat16"):
        a.set_dtype(getattr(mx, dt))
        b.set_dtype(getattr(mc, dt))
        ya, yb = a(xa.astype(getattr(mx, dt))), b(mc.array(x.T).astype(getattr(mc, dt)))
        assert ya.dtype == getattr(mx, dt)
        np.testing.assert_allclose(to_np(ya), to_np(yb), rtol=2e-2, atol=2e-2)
        a.set_dtype(mx.float32)
        b.set_dtype(mc.float32)


# ------------------------------------------------------------ normalization
@pytest.mark.parametrize("kw", [{}, {"affine": False}, {"bias": False}, {"eps": 1e-3}])
def test_layer_norm(kw):
    check_layer("LayerNorm", (6,), kw, [_f32(2, 3, 6)])


def test_rms_norm():
    check_layer("RMSNorm", (6,), {}, [_f32(2, 3, 6)])
    check_layer("RMSNorm", (5,), {"eps": 1e-2}, [_f32(5)])


@pytest.mark.parametrize("kw", [{}, {"pytorch_compatible": True}, {"affine": False}])
@pytest.mark.parametrize("shape", [(2, 4, 6), (2, 3, 5, 6)])
def test_group_norm(kw, shape):
    check_layer("GroupNorm", (3, 6), kw, [_f32(*shape)])


@pytest.mark.parametrize("shape", [(5, 6), (4, 3, 6), (2, 3, 3, 6)])
@pytest.mark.parametrize("kw", [{}, {"affine": False}, {"track_running_stats": False}, {"momentum": 0.3}])
def test_batch_norm_train_and_eval(shape, kw):
    x = _f32(*shape)
    a, b = check_layer("BatchNorm", (6,), kw, [x], grad=False)
    # running statistics after the training call
    assert_trees_close(a, b, rtol=1e-5, atol=1e-6)
    a.eval()
    b.eval()
    x2 = _f32(*shape)
    np.testing.assert_allclose(to_np(a(mx.array(x2))), np.array(b(mc.array(x2))), rtol=1e-5, atol=1e-5)
    check_layer("BatchNorm", (6,), kw, [x], train=True)


def test_batch_norm_errors():
    bn = nn.BatchNorm(3)
    with pytest.raises(ValueError, match="more than one value"):
        bn(mx.ones((1, 3)))
    with pytest.raises(ValueError, match="2, 3 or 4 dimensions"):
        bn(mx.ones((3,)))
    with pytest.raises(ValueError, match="eps"):
        nn.BatchNorm(3, eps=0)
    assert sorted(bn.trainable_parameters()) == ["bias", "weight"]


@pytest.mark.parametrize("shape", [(2, 4, 6), (2, 3, 3, 6)])
@pytest.mark.parametrize("affine", [False, True])
def test_instance_norm(shape, affine):
    check_layer("InstanceNorm", (6,), {"affine": affine}, [_f32(*shape)])


def test_norm_errors():
    for ctor in (lambda: nn.LayerNorm(3, eps=0), lambda: nn.RMSNorm(3, eps=-1),
                 lambda: nn.GroupNorm(2, 3), lambda: nn.GroupNorm(0, 4), lambda: nn.GroupNorm(1, 0),
                 lambda: nn.InstanceNorm(2, eps=0)):
        with pytest.raises(ValueError):
            ctor()
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        nn.InstanceNorm(4)(mx.ones((2, 4)))


def test_norm_half_precision():
    x = _f32(2, 5, 8) * 3 + 1
    for cls, args in (("LayerNorm", (8,)), ("RMSNorm", (8,))):
        a, b = _build(cls, args, {})
        for dt in ("float16", "bfloat16"):
            ya = a(mx.array(x).astype(getattr(mx, dt)))
            yb = b(mc.array(x).astype(getattr(mc, dt)))
            assert repr(ya.dtype).split(".")[-1] == repr(yb.dtype).split(".")[-1]
            np.testing.assert_allclose(to_np(ya), to_np(yb), rtol=2e-2, atol=2e-2)


# ------------------------------------------------------------------- dropout
@pytest.mark.parametrize("cls,shape", [("Dropout", (200, 50)), ("Dropout2d", (8, 6, 5, 150)),
                                       ("Dropout3d", (4, 3, 3, 2, 300))])
def test_dropout(cls, shape):
    mx.random.seed(7)
    p = 0.3
    layer = getattr(nn, cls)(p)
    assert repr(layer) == repr(getattr(mnn, cls)(p))
    x = mx.ones(shape)
    y = to_np(layer(x))
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / (1 - p), rtol=1e-6)
    assert abs(kept.mean() - (1 - p)) < 0.05
    if cls != "Dropout":
        # one decision per channel: constant over the spatial axes
        nsp = 2 if cls == "Dropout2d" else 3
        sp = tuple(range(y.ndim - 1 - nsp, y.ndim - 1))
        assert np.all(kept.min(axis=sp) == kept.max(axis=sp))
    layer.eval()
    assert np.array_equal(to_np(layer(x)), to_np(x))
    with pytest.raises(ValueError, match="not in"):
        getattr(nn, cls)(1.0)
    assert np.array_equal(to_np(getattr(nn, cls)(0.0)(x)), to_np(x))


def test_dropout_nd_errors():
    with pytest.raises(ValueError, match="Expected 3 or 4"):
        nn.Dropout2d()(mx.ones((2, 3)))
    with pytest.raises(ValueError, match="Expected 4 or 5"):
        nn.Dropout3d()(mx.ones((2, 3, 4)))


# ---------------------------------------------------------------- attention
@pytest.mark.parametrize("mask", [None, "additive", "bool", "causal"])
@pytest.mark.parametrize("bias", [False, True])
def test_multi_head_attention(mask, bias):
    q, kv = _f32(2, 5, 8), _f32(2, 7, 8)
    m = "causal" if mask == "causal" else None
    if mask == "additive":
        m = np.array(nn.MultiHeadAttention.create_additive_causal_mask(7))[:5]
    elif mask == "bool":
        m = RNG.random((5, 7)) > 0.3
        m[:, 0] = True
    check_layer("MultiHeadAttention", (8, 2), {"bias": bias}, [q, kv, kv], {"mask": m})


def test_multi_head_attention_dims_and_mask():
    check_layer("MultiHeadAttention", (8, 4),
                {"query_input_dims": 6, "key_input_dims": 5, "value_input_dims": 3,
                 "value_dims": 12, "value_output_dims": 7},
                [_f32(2, 4, 6), _f32(2, 3, 5), _f32(2, 3, 3)])
    for dt in ("float32", "float16"):
        a = nn.MultiHeadAttention.create_additive_causal_mask(5, getattr(mx, dt))
        b = mnn.MultiHeadAttention.create_additive_causal_mask(5, getattr(mc, dt))
        np.testing.assert_array_equal(to_np(a), to_np(b))
    with pytest.raises(ValueError, match="divisible"):
        nn.MultiHeadAttention(10, 3)


@pytest.mark.parametrize("norm_first", [True, False])
def test_transformer_layers(norm_first):
    x, mem = _f32(2, 5, 8), _f32(2, 3, 8)
    mask = np.array(nn.MultiHeadAttention.create_additive_causal_mask(5))
    kw = {"norm_first": norm_first}
    check_layer("TransformerEncoderLayer", (8, 2), kw, [x], {"mask": mask}, tol=5e-5)
    check_layer("TransformerEncoder", (2, 8, 2), dict(kw, mlp_dims=12), [x], {"mask": mask}, tol=5e-5)
    check_layer("TransformerDecoderLayer", (8, 2), kw, [x, mem],
                {"x_mask": mask, "memory_mask": None}, tol=5e-5)
    check_layer("TransformerDecoder", (2, 8, 2), kw, [x, mem],
                {"x_mask": mask, "memory_mask": None}, tol=5e-5)
    check_layer("Transformer", (8, 2, 1, 2), kw, [x, x], {"src_mask": None, "tgt_mask": mask, "memory_mask": None}, tol=5e-5)


def test_transformer_checkpointed_layers():
    x = _f32(2, 4, 8)
    mask = np.array(nn.MultiHeadAttention.create_additive_causal_mask(4))
    check_layer("TransformerEncoder", (2, 8, 2), {"checkpoint": True}, [x], {"mask": mask}, tol=5e-5)
    check_layer("TransformerDecoder", (1, 8, 2), {"checkpoint": True}, [x, x],
                {"x_mask": mask, "memory_mask": None}, tol=5e-5)


def test_transformer_activation_and_dropout_eval():
    x = _f32(1, 4, 8)
    a = nn.TransformerEncoder(1, 8, 2, dropout=0.5, activation=nn.gelu)
    b = mnn.TransformerEncoder(1, 8, 2, dropout=0.5, activation=mnn.gelu)
    copy_weights(a, b)
    a.eval()
    b.eval()
    np.testing.assert_allclose(to_np(a(mx.array(x), None)), np.array(b(mc.array(x), None)),
                               rtol=5e-5, atol=5e-5)
    assert sorted(k for k, _ in tree_flatten(nn.Transformer(8, 2, 1, 1).parameters())) == sorted(
        k for k, _ in mutils.tree_flatten(mnn.Transformer(8, 2, 1, 1).parameters()))


# ---------------------------------------------------------------- recurrent
@pytest.mark.parametrize("cls", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(2, 5, 4), (5, 4)])
def test_recurrent(cls, bias, shape):
    check_layer(cls, (4, 6), {"bias": bias}, [_f32(*shape)])


@pytest.mark.parametrize("cls", ["RNN", "GRU", "LSTM"])
def test_recurrent_with_initial_state(cls):
    x, h = _f32(2, 3, 4), _f32(2, 6)
    call = {"hidden": h}
    if cls == "LSTM":
        call["cell"] = _f32(2, 6)
    check_layer(cls, (4, 6), {}, [x], call)
    if cls == "LSTM":
        a, b = _build("LSTM", (4, 6), {})
        ha, ca = a(mx.array(x))
        hb, cb = b(mc.array(x))
        np.testing.assert_allclose(to_np(ca), np.array(cb), rtol=1e-5, atol=1e-6)


def test_rnn_nonlinearity():
    check_layer("RNN", (4, 3), {"nonlinearity": None}, [_f32(2, 3, 4)])
    a = nn.RNN(4, 3, nonlinearity=nn.relu)
    b = mnn.RNN(4, 3, nonlinearity=mnn.relu)
    copy_weights(a, b)
    x = _f32(2, 3, 4)
    np.testing.assert_allclose(to_np(a(mx.array(x))), np.array(b(mc.array(x))), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="callable"):
        nn.RNN(4, 3, nonlinearity=3)


# ---------------------------------------------------------------- positional
@pytest.mark.parametrize("kw", [{}, {"traditional": True}, {"base": 500.0, "scale": 0.5}])
@pytest.mark.parametrize("dims", [8, 6])
@pytest.mark.parametrize("offset", [0, 3])
def test_rope(kw, dims, offset):
    check_layer("RoPE", (dims,), kw, [_f32(2, 2, 5, 8)], {"offset": offset})


def test_rope_half():
    a, b = _build("RoPE", (8,), {})
    x = _f32(1, 4, 8)
    for dt in ("float16", "bfloat16"):
        ya, yb = a(mx.array(x).astype(getattr(mx, dt))), b(mc.array(x).astype(getattr(mc, dt)))
        assert ya.dtype == getattr(mx, dt)
        np.testing.assert_allclose(to_np(ya), to_np(yb), rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize("kw", [{}, {"cos_first": True}, {"full_turns": True}, {"scale": 1.0},
                                {"min_freq": 0.01, "max_freq": 2.0}])
@pytest.mark.parametrize("dims", [2, 8])
def test_sinusoidal(kw, dims):
    check_layer("SinusoidalPositionalEncoding", (dims,), kw, [np.arange(6, dtype=np.float32)[None] * 1.5])
    with pytest.raises(ValueError, match="even"):
        nn.SinusoidalPositionalEncoding(3)


@pytest.mark.parametrize("heads", [4, 6])
@pytest.mark.parametrize("offset", [0, 2])
def test_alibi(heads, offset):
    scores = _f32(2, heads, 3, 5)
    mask = _f32(3, 5)
    check_layer("ALiBi", (), {}, [scores], {"offset": offset})
    check_layer("ALiBi", (), {}, [scores], {"mask": mask})
    for dt in ("float32", "float16"):
        np.testing.assert_allclose(to_np(nn.ALiBi.create_alibi_slope(heads, getattr(mx, dt))),
                                   to_np(mnn.ALiBi.create_alibi_slope(heads, getattr(mc, dt))))


# ------------------------------------------------------------------- pooling
@pytest.mark.parametrize("kind", ["Max", "Avg"])
@pytest.mark.parametrize("nd,shape", [(1, (2, 9, 3)), (2, (2, 7, 6, 3)), (3, (1, 5, 4, 6, 2))])
@pytest.mark.parametrize("kw", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 2},
                                {"kernel_size": 3, "stride": 1, "padding": 1}])
def test_pooling(kind, nd, shape, kw):
    check_layer(f"{kind}Pool{nd}d", (), kw, [_f32(*shape)])


def test_pooling_tuples_noncontiguous_and_errors():
    check_layer("MaxPool2d", (), {"kernel_size": (2, 3), "stride": (1, 2), "padding": (1, 0)}, [_f32(2, 5, 7, 3)])
    a, b = _build("AvgPool2d", (), {"kernel_size": 3, "stride": 2})
    x = _f32(3, 7, 6, 2)
    xa = mx.transpose(mx.array(np.ascontiguousarray(x.transpose(2, 1, 0, 3))), (2, 1, 0, 3))
    np.testing.assert_allclose(to_np(a(xa)), np.array(b(mc.array(x))), rtol=1e-6, atol=1e-6)
    for bad in ({"kernel_size": 0}, {"kernel_size": 2, "stride": -1}, {"kernel_size": 2, "padding": -1},
                {"kernel_size": (2, 2, 2)}, {"kernel_size": 2.5}):
        with pytest.raises(ValueError):
            nn.MaxPool2d(**bad)
    with pytest.raises(ValueError, match="at least 1 spatial"):
        nn.MaxPool1d(2)(mx.ones((4, 3)))
    assert repr(nn.AvgPool3d(2, 1, 1)) == repr(mnn.AvgPool3d(2, 1, 1))


# ------------------------------------------------------------------ upsample
@pytest.mark.parametrize("mode,kw", [("nearest", {}), ("linear", {}), ("linear", {"align_corners": True}),
                                     ("cubic", {}), ("cubic", {"align_corners": True})])
@pytest.mark.parametrize("scale", [2, 1.5, (2, 3), 0.5])
def test_upsample(mode, kw, scale):
    check_layer("Upsample", (scale, mode), kw, [_f32(2, 6, 4, 3)], grad=mode != "nearest")


@pytest.mark.parametrize("mode", ["linear", "cubic"])
@pytest.mark.parametrize("scale", [0.5, 0.4, 2.0])
def test_upsample_antialias(mode, scale):
    check_layer("Upsample", (scale, mode), {"antialias": True}, [_f32(1, 10, 9, 2)])


def test_upsample_1d_3d_and_errors():
    check_layer("Upsample", (2, "linear"), {}, [_f32(2, 5, 3)])
    check_layer("Upsample", (2, "nearest"), {}, [_f32(1, 2, 3, 2, 2)], grad=False)
    check_layer("Upsample", ((1, 2, 2), "linear", True), {}, [_f32(1, 2, 3, 2, 2)])
    with pytest.raises(ValueError, match="unsupported"):
        nn.Upsample(2, "area")
    with pytest.raises(ValueError, match="nearest"):
        nn.Upsample(2, "nearest", antialias=True)
    with pytest.raises(ValueError, match="align_corners"):
        nn.Upsample(2, "linear", align_corners=True, antialias=True)
    with pytest.raises(ValueError, match="at least 3D"):
        nn.Upsample(2)(mx.ones((2, 3)))
    with pytest.raises(ValueError, match="One scale per spatial"):
        nn.Upsample((2, 2))(mx.ones((1, 2, 2)))
    assert repr(nn.Upsample((2, 1.5), "cubic")) == repr(mnn.Upsample((2, 1.5), "cubic"))


# --------------------------------------------------------------- activations
_ACT_FNS = ["sigmoid", "relu", "relu2", "relu6", "leaky_relu", "log_softmax", "elu", "softmax",
            "softplus", "softsign", "softshrink", "celu", "silu", "log_sigmoid", "gelu", "gelu_approx",
            "gelu_fast_approx", "glu", "step", "selu", "mish", "hardswish", "hard_tanh", "hard_shrink",
            "softmin", "tanh"]
_ACT_CLASSES = ["Sigmoid", "Mish", "ReLU", "ReLU2", "ReLU6", "LeakyReLU", "ELU", "Softmax", "Softplus",
                "Softsign", "Softshrink", "CELU", "SiLU", "LogSoftmax", "LogSigmoid", "GELU", "Tanh",
                "Hardswish", "Step", "SELU", "HardTanh", "HardShrink", "Softmin", "GLU"]


@pytest.mark.parametrize("name", _ACT_FNS)
@pytest.mark.parametrize("dt", ["float32", "float16"])
def test_activation_functions(name, dt):
    x = (_f32(3, 8) * 3).astype(dt)
    x[0, :3] = [0.0, 0.5, -0.5]
    ya = getattr(nn, name)(mx.array(x))
    yb = getattr(mnn, name)(mc.array(x))
    assert repr(ya.dtype).split(".")[-1] == repr(yb.dtype).split(".")[-1]
    tol = 1e-5 if dt == "float32" else 2e-3
    np.testing.assert_allclose(to_np(ya), to_np(yb), rtol=tol, atol=tol)
    if name != "step" and dt == "float32":
        ga = mx.grad(lambda t: getattr(nn, name)(t).sum())(mx.array(x))
        gb = mc.grad(lambda t: getattr(mnn, name)(t).sum())(mc.array(x))
        np.testing.assert_allclose(to_np(ga), np.array(gb), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", _ACT_CLASSES)
def test_activation_modules(name):
    check_layer(name, (), {}, [_f32(2, 3, 8) * 3], grad=name != "Step")
    assert getattr(nn, name)().parameters() == {}


@pytest.mark.parametrize("cls,kw", [("LeakyReLU", {"negative_slope": 0.2}), ("ELU", {"alpha": 0.5}),
                                    ("CELU", {"alpha": 2.0}), ("Softshrink", {"lambd": 1.0}),
                                    ("HardShrink", {"lambd": 0.2}), ("Step", {"threshold": 0.5}),
                                    ("GLU", {"axis": 1}), ("GELU", {"approx": "precise"}),
                                    ("GELU", {"approx": "tanh"}), ("GELU", {"approx": "fast"})])
def test_activation_arguments(cls, kw):
    check_layer(cls, (), kw, [_f32(2, 4, 6) * 2], grad=cls != "Step")


def test_prelu_and_functional_arguments():
    check_layer("PReLU", (), {}, [_f32(3, 5)])
    check_layer("PReLU", (5, 0.1), {}, [_f32(3, 5)])
    x = _f32(4, 6)
    for name, args in (("leaky_relu", (0.3,)), ("elu", (0.7,)), ("celu", (1.5,)), ("softshrink", (0.2,)),
                       ("hard_tanh", (-0.5, 0.7)), ("hard_shrink", (0.8,)), ("step", (0.1,)),
                       ("softmax", (0,)), ("log_softmax", (0,)), ("softmin", (0,)), ("glu", (0,))):
        np.testing.assert_allclose(to_np(getattr(nn, name)(mx.array(x), *args)),
                                   np.array(getattr(mnn, name)(mc.array(x), *args)), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="approximation"):
        nn.GELU("bad")


def test_frozen_state_of_parameters_through_update():
    a, b = _build("Linear", (3, 2), {})
    new = tree_map(lambda v: v * 2, a.parameters())
    a.update(new)
    b.update(mutils.tree_map(lambda v: v * 2, b.parameters()))
    assert_trees_close(a, b, rtol=0, atol=0)


# --------------------------------------------------------------- convolution
@pytest.mark.parametrize("kw", [{}, {"stride": 2}, {"padding": 2, "dilation": 2}, {"groups": 2},
                                {"bias": False}])
def test_conv1d(kw):
    check_layer("Conv1d", (4, 6, 3), kw, [_f32(2, 9, 4)], tol=5e-5)


@pytest.mark.parametrize("kw", [{}, {"stride": (2, 1), "padding": (1, 2)}, {"dilation": 2},
                                {"groups": 2, "padding": 1}, {"bias": False}])
def test_conv2d(kw):
    check_layer("Conv2d", (4, 6, (3, 2)), kw, [_f32(2, 7, 6, 4)], tol=5e-5)


@pytest.mark.parametrize("kw", [{}, {"stride": 2, "padding": 1}, {"bias": False}])
def test_conv3d(kw):
    check_layer("Conv3d", (3, 4, 2), kw, [_f32(1, 4, 5, 4, 3)], tol=5e-5)


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("kw", [{}, {"stride": 2}, {"stride": 2, "padding": 1, "output_padding": 1},
                                {"dilation": 2}, {"bias": False}])
def test_conv_transpose(nd, kw):
    shape = {1: (2, 5, 3), 2: (2, 4, 5, 3), 3: (1, 3, 4, 3, 3)}[nd]
    check_layer(f"ConvTranspose{nd}d", (3, 4, 3), kw, [_f32(*shape)], tol=5e-5)


def test_conv_init_and_errors():
    c = nn.Conv2d(16, 8, 3, groups=4)
    assert c.weight.shape == (8, 3, 3, 4)
    uniform_ok(nn.Conv2d(32, 64, 3).weight, math.sqrt(1 / (32 * 9)))
    uniform_ok(nn.Conv1d(64, 64, 5, groups=2).weight, math.sqrt(1 / (32 * 5)))
    uniform_ok(nn.ConvTranspose2d(32, 64, 3).weight, math.sqrt(1 / (32 * 9)))
    assert np.all(to_np(c.bias) == 0)
    for cls in ("Conv1d", "Conv2d"):
        with pytest.raises(ValueError, match="divisible"):
            getattr(nn, cls)(5, 4, 3, groups=2)
    for build in (lambda lib: lib.Conv1d(4, 6, 3, stride=2, groups=2),
                  lambda lib: lib.Conv3d(2, 3, (1, 2, 3)),
                  lambda lib: lib.ConvTranspose2d(3, 4, 2, output_padding=1, stride=2),
                  lambda lib: lib.ConvTranspose1d(3, 4, 2)):
        assert repr(build(nn)) == repr(build(mnn))


# -------------------------------------------------------------- empty inputs
@pytest.mark.parametrize("cls,args,shape", [
    ("Linear", (7, 3), (0, 7)), ("LayerNorm", (6,), (0, 6)), ("RMSNorm", (6,), (0, 6)),
    ("LSTM", (4, 3), (0, 3, 4)), ("MaxPool1d", (2,), (0, 4, 3)), ("AvgPool2d", (2, 1), (0, 3, 3, 2)),
    ("Conv1d", (3, 2, 2), (0, 5, 3)), ("MultiHeadAttention", (8, 2), (0, 3, 8)),
    ("Dropout", (), (0, 3)), ("Upsample", (2, "linear"), (0, 3, 2))
])
def test_empty_batches_like_mlx(cls, args, shape):
    a, b = _build(cls, args, {})
    n = 3 if cls == "MultiHeadAttention" else 1
    ya, yb = _first(a(*[mx.zeros(shape)] * n)), _first(b(*[mc.zeros(shape)] * n))
    assert ya.shape == yb.shape
    mx.eval(ya)


def test_empty_sequence_and_unflatten():
    with pytest.raises(ValueError):
        nn.GRU(4, 3)(mx.zeros((2, 0, 4)))
    assert mx.unflatten(mx.zeros((0, 8)), -1, (2, -1)).shape == mc.unflatten(mc.zeros((0, 8)), -1, (2, -1)).shape
    for bad in ((3, -1), (-1, -1), (2, 2)):
        with pytest.raises(ValueError, match="Unflatten"):
            mx.unflatten(mx.zeros((8,)), 0, bad)


# ----------------------------------------------------------------- quantized
@pytest.mark.parametrize("bits,group_size", [(4, 64), (8, 32), (2, 64), (4, 32)])
@pytest.mark.parametrize("bias", [True, False])
def test_quantized_linear_from_linear(bits, group_size, bias):
    a, b = _build("Linear", (128, 6), {"bias": bias})
    qa = a.to_quantized(group_size=group_size, bits=bits)
    qb = b.to_quantized(group_size=group_size, bits=bits)
    assert type(qa).__name__ == "QuantizedLinear" == type(qb).__name__
    assert (qa.group_size, qa.bits, qa.mode) == (qb.group_size, qb.bits, qb.mode)
    fa, fb = tree_flatten(qa.parameters()), mutils.tree_flatten(qb.parameters())
    assert [k for k, _ in fa] == [k for k, _ in fb]
    for (k, u), (_, v) in zip(fa, fb):
        assert repr(u.dtype).split(".")[-1] == repr(v.dtype).split(".")[-1], k
        np.testing.assert_allclose(to_np(u), to_np(v), rtol=1e-6, atol=1e-6, err_msg=k)
    # (from_linear sets the bias after the frozen construction: it stays trainable, as in MLX)
    assert sorted(qa.trainable_parameters()) == sorted(qb.trainable_parameters())
    assert nn.QuantizedLinear(64, 4).trainable_parameters() == {}
    assert repr(qa) == repr(qb)
    x = _f32(3, 128)
    np.testing.assert_allclose(to_np(qa(mx.array(x))), np.array(qb(mc.array(x))), rtol=1e-4, atol=1e-4)


def test_quantized_embedding():
    a, b = _build("Embedding", (10, 64), {})
    qa, qb = a.to_quantized(bits=4), b.to_quantized(bits=4)
    idx = RNG.integers(0, 10, (2, 3)).astype(np.int32)
    np.testing.assert_allclose(to_np(qa(mx.array(idx))), np.array(qb(mc.array(idx))), rtol=1e-5, atol=1e-5)
    x = _f32(2, 64)
    np.testing.assert_allclose(to_np(qa.as_linear(mx.array(x))), np.array(qb.as_linear(mc.array(x))),
                               rtol=1e-4, atol=1e-4)
    assert repr(qa) == repr(qb)
    with pytest.raises(ValueError, match="Quantized input"):
        a.to_quantized(quantize_input=True)


def test_nn_quantize_model():
    def build(lib):
        return lib.Sequential(lib.Embedding(16, 64), lib.Linear(64, 64), lib.ReLU(), lib.Linear(64, 10))

    a, b = build(nn), build(mnn)
    copy_weights(a, b)
    nn.quantize(a, group_size=32, bits=8, class_predicate=lambda p, m: isinstance(m, nn.Linear) and m.weight.shape[0] == 64)
    mnn.quantize(b, group_size=32, bits=8, class_predicate=lambda p, m: isinstance(m, mnn.Linear) and m.weight.shape[0] == 64)
    assert [type(m).__name__ for m in a.layers] == [type(m).__name__ for m in b.layers] == [
        "Embedding", "QuantizedLinear", "ReLU", "Linear"]
    nn.quantize(a)
    mnn.quantize(b)
    assert [type(m).__name__ for m in a.layers] == [type(m).__name__ for m in b.layers]
    idx = RNG.integers(0, 16, (2, 5)).astype(np.int32)
    np.testing.assert_allclose(to_np(a(mx.array(idx))), np.array(b(mc.array(idx))), rtol=1e-4, atol=1e-4)
    c = build(nn)
    nn.quantize(c, class_predicate=lambda p, m: {"group_size": 32, "bits": 2} if p == "layers.1" else False)
    assert c.layers[1].bits == 2 and type(c.layers[3]).__name__ == "Linear"
    with pytest.raises(ValueError, match="Invalid quantization mode"):
        nn.QuantizedLinear(64, 4, mode="bad")


@pytest.mark.parametrize("kw", [{}, {"bits": 8, "group_size": 32}, {"bias": False}])
def test_quantized_layers_direct(kw):
    check_layer("QuantizedLinear", (128, 6), kw, [_f32(2, 3, 128)], tol=1e-4)
    ekw = {k: v for k, v in kw.items() if k != "bias"}
    # (no trainable parameters and an integer input: nothing to differentiate)
    check_layer("QuantizedEmbedding", (9, 64), ekw, [RNG.integers(0, 9, (2, 3)).astype(np.int32)], tol=1e-5,
                grad=False)
    with pytest.raises(ValueError, match="at least one argument"):
        mx.grad(lambda p, x: x.sum())(nn.QuantizedEmbedding(9, 64).trainable_parameters(), mx.ones(2))


def test_bad_inputs_raise_like_mlx():
    """Wrong feature sizes, ranks and index dtypes: the same exception types as MLX."""
    cases = [
        ("Linear", (4, 3), (2, 5), "float32"), ("Conv2d", (3, 4, 3), (1, 5, 5, 2), "float32"),
        ("Embedding", (5, 3), (2,), "float32"), ("LayerNorm", (4,), (2, 5), "float32"),
        ("RMSNorm", (4,), (2, 5), "float32"), ("LSTM", (4, 3), (2, 3, 5), "float32"),
        ("BatchNorm", (4,), (2, 5), "float32"), ("MaxPool2d", (2,), (1, 4, 3), "float32"),
        ("RoPE", (8,), (2, 3, 6), "float32"), ("RoPE", (7,), (2, 3, 8), "float32"),
        ("GroupNorm", (2, 4), (2, 3, 6), "float32"), ("QuantizedLinear", (64, 4), (2, 32), "float32"),
    ]
    for cls, args, shape, dt in cases:
        errs = []
        for lib, core in ((nn, mx), (mnn, mc)):
            try:
                core.eval(_first(getattr(lib, cls)(*args)(core.zeros(shape, getattr(core, dt)))))
                errs.append(None)
            except Exception as e:  # noqa: BLE001 (the type is what is compared)
                errs.append(type(e))
        assert errs[0] is errs[1] and errs[0] is not None, (cls, errs)


@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
@pytest.mark.parametrize("cls,args,shapes", [
    ("Linear", (6, 4), [(3, 6)]), ("Conv2d", (3, 4, 3), [(1, 5, 5, 3)]), ("Conv1d", (3, 2, 2), [(2, 5, 3)]),
    ("MultiHeadAttention", (8, 2), [(2, 3, 8)] * 3), ("LSTM", (4, 3), [(2, 3, 4)]), ("GRU", (4, 3), [(2, 3, 4)]),
    ("GroupNorm", (2, 4), [(2, 3, 4)]), ("BatchNorm", (4,), [(5, 4)]), ("InstanceNorm", (4,), [(2, 3, 4)]),
    ("Upsample", (2, "linear"), [(1, 3, 3, 2)]), ("MaxPool2d", (2, 1), [(1, 4, 4, 2)]),
    ("AvgPool1d", (3, 2), [(2, 7, 2)]), ("TransformerEncoderLayer", (8, 2), [(2, 3, 8), None]),
])
def test_half_precision_layers(dt, cls, args, shapes):
    a, b = _build(cls, args, {})
    a.set_dtype(getattr(mx, dt))
    b.set_dtype(getattr(mc, dt))
    xs = [None if s is None else _f32(*s) for s in shapes]
    ya = _first(a(*[None if x is None else mx.array(x).astype(getattr(mx, dt)) for x in xs]))
    yb = _first(b(*[None if x is None else mc.array(x).astype(getattr(mc, dt)) for x in xs]))
    assert repr(ya.dtype).split(".")[-1] == repr(yb.dtype).split(".")[-1]
    # (linear upsampling's float32 interpolation weights promote, in MLX too)
    assert repr(ya.dtype).split(".")[-1] == ("float32" if cls == "Upsample" else dt)
    tol = 2e-2 if dt == "float16" else 8e-2
    np.testing.assert_allclose(to_np(ya), to_np(yb), rtol=tol, atol=tol)


def test_maximum_minimum_tie_derivatives_match_mlx():
    """relu'(0) = 0 as in MLX: at ties maximum/minimum pass the derivative to the second argument."""
    a, b = np.array([1.0, 2.0, 3.0], np.float32), np.full(3, 2.0, np.float32)
    for name in ("maximum", "minimum"):
        fa, fb = getattr(mx, name), getattr(mc, name)
        ga = mx.grad(lambda x, y: fa(x, y).sum(), argnums=(0, 1))(mx.array(a), mx.array(b))
        gb = mc.grad(lambda x, y: fb(x, y).sum(), argnums=(0, 1))(mc.array(a), mc.array(b))
        for u, v in zip(ga, gb):
            np.testing.assert_array_equal(to_np(u), np.array(v))
        ta = mx.jvp(lambda x, y: fa(x, y), [mx.array(a), mx.array(b)], [mx.ones(3), mx.zeros(3)])[1][0]
        tb = mc.jvp(lambda x, y: fb(x, y), [mc.array(a), mc.array(b)], [mc.ones(3), mc.zeros(3)])[1][0]
        np.testing.assert_array_equal(to_np(ta), np.array(tb))


@pytest.mark.parametrize("mode", ["mxfp4", "mxfp8"])
def test_quantized_microscaling_modes(mode):
    a, b = _build("Linear", (64, 5), {})
    qa, qb = a.to_quantized(mode=mode), b.to_quantized(mode=mode)
    assert (qa.group_size, qa.bits) == (qb.group_size, qb.bits)
    assert sorted(k for k, _ in tree_flatten(qa.parameters())) == sorted(
        k for k, _ in mutils.tree_flatten(qb.parameters()))
    assert qa.get("biases") is None and repr(qa) == repr(qb)
    assert_trees_close(qa, qb, rtol=0, atol=0)
    x = _f32(3, 64)
    np.testing.assert_allclose(to_np(qa(mx.array(x))), np.array(qb(mc.array(x))), rtol=1e-4, atol=1e-4)
    ea, eb = _build("Embedding", (6, 64), {})
    idx = np.array([[0, 5], [3, 3]], np.int32)
    ya, yb = ea.to_quantized(mode=mode)(mx.array(idx)), eb.to_quantized(mode=mode)(mc.array(idx))
    assert repr(ya.dtype).split(".")[-1] == repr(yb.dtype).split(".")[-1]  # bfloat16 in both
    np.testing.assert_allclose(to_np(ya), to_np(yb), rtol=1e-5, atol=1e-6)
