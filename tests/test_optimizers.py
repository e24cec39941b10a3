"""oxmlx.optimizers against mlx.optimizers: parameter trajectories over several
steps, optimizer state trees, schedules, MultiOptimizer, clip_grad_norm,
saving / restoring state, errors."""

import numpy as np
import pytest

import oxmlx.core as mx
import oxmlx.nn as nn
import oxmlx.optimizers as optim
from oxmlx.utils import tree_flatten, tree_unflatten

from _nn_util import assert_trees_close, copy_weights, flat_np, to_np

mnn = pytest.importorskip("mlx.nn")
mc = pytest.importorskip("mlx.core", minversion="0.32")  # the nn semantics mirrored here
moptim = pytest.importorskip("mlx.optimizers")
mutils = pytest.importorskip("mlx.utils")

RNG = np.random.default_rng(5)
X = RNG.standard_normal((16, 6)).astype(np.float32)
Y = RNG.integers(0, 3, (16,)).astype(np.int32)


def _models():
    mx.random.seed(11)  # fixed weights: sign-like first steps (RMSprop, Lion) stay comparable
    a = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3), nn.LayerNorm(3))
    b = mnn.Sequential(mnn.Linear(6, 8), mnn.Tanh(), mnn.Linear(8, 3), mnn.LayerNorm(3))
    copy_weights(a, b)
    return a, b


def _steppers(a, b):
    la = nn.value_and_grad(a, lambda: nn.losses.cross_entropy(a(mx.array(X)), mx.array(Y), reduction="mean"))
    lb = mnn.value_and_grad(b, lambda: mnn.losses.cross_entropy(b(mc.array(X)), mc.array(Y), reduction="mean"))
    return la, lb


def _state_np(state, flatten):
    return {k: to_np(v).astype(np.float64) for k, v in flatten(state)}


# 1e-4: oxmlx's SIMD/pairwise float32 reductions and MLX's sequential ones round
# differently; over six steps that moves a few weights by up to ~3e-5.
def run_both(name, kwargs, steps=6, tol=1e-4):
    a, b = _models()
    oa, ob = getattr(optim, name)(**kwargs), getattr(moptim, name)(**kwargs)
    la, lb = _steppers(a, b)
    for _ in range(steps):
        va, ga = la()
        oa.update(a, ga)
        mx.eval(a.parameters(), oa.state)
        vb, gb = lb()
        ob.update(b, gb)
        mc.eval(b.parameters(), ob.state)
        np.testing.assert_allclose(to_np(va), np.array(vb), rtol=tol, atol=tol)
    assert_trees_close(a, b, rtol=tol, atol=tol)
    sa, sb = _state_np(oa.state, tree_flatten), _state_np(ob.state, mutils.tree_flatten)
    assert sa.keys() == sb.keys()
    for k in sa:
        np.testing.assert_allclose(sa[k], sb[k], rtol=10 * tol, atol=10 * tol, err_msg=k)
    return oa, ob, a, b


CASES = [
    ("SGD", {"learning_rate": 0.1}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.1}),
    ("Adam", {"learning_rate": 0.01}),
    ("Adam", {"learning_rate": 0.01, "betas": [0.8, 0.95], "eps": 1e-6, "bias_correction": True}),
    ("AdamW", {"learning_rate": 0.01}),
    ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.1, "bias_correction": True}),
    ("Adamax", {"learning_rate": 0.01}),
    ("Adamax", {"learning_rate": 0.02, "betas": [0.5, 0.9], "eps": 1e-4}),
    ("Adagrad", {"learning_rate": 0.1}),
    ("Adagrad", {"learning_rate": 0.1, "eps": 1e-3}),
    ("AdaDelta", {"learning_rate": 1.0}),
    ("AdaDelta", {"learning_rate": 0.5, "rho": 0.5, "eps": 1e-4}),
    ("RMSprop", {"learning_rate": 0.01}),
    ("RMSprop", {"learning_rate": 0.01, "alpha": 0.9, "eps": 1e-5}),
    ("Lion", {"learning_rate": 0.01}),
    ("Lion", {"learning_rate": 0.01, "betas": [0.8, 0.9], "weight_decay": 0.1}),
    ("Adafactor", {}),
    ("Adafactor", {"learning_rate": 0.01, "relative_step": False, "beta_1": 0.9, "weight_decay": 0.01}),
    ("Adafactor", {"warmup_init": True, "scale_parameter": False, "clip_threshold": 0.5}),
    ("Muon", {"learning_rate": 0.02}),
    ("Muon", {"learning_rate": 0.02, "momentum": 0.9, "nesterov": False, "weight_decay": 0.0, "ns_steps": 3}),
]


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_trajectory_matches_mlx(name, kwargs):
    run_both(name, kwargs)


@pytest.mark.parametrize("sched,args", [
    ("exponential_decay", (0.1, 0.9)),
    ("step_decay", (0.1, 0.5, 2)),
    ("cosine_decay", (0.1, 4)),
    ("cosine_decay", (0.1, 4, 0.01)),
    ("linear_schedule", (0.0, 0.1, 3)),
])
def test_schedules(sched, args):
    fa, fb = getattr(optim, sched)(*args), getattr(moptim, sched)(*args)
    for s in range(8):
        np.testing.assert_allclose(to_np(mx.array(fa(mx.array(s)))), np.array(fb(mc.array(s))), rtol=1e-6)


def test_schedule_drives_optimizer_like_mlx():
    a, b = _models()
    oa = optim.Adam(learning_rate=optim.cosine_decay(0.05, 3, 0.001))
    ob = moptim.Adam(learning_rate=moptim.cosine_decay(0.05, 3, 0.001))
    la, lb = _steppers(a, b)
    for _ in range(5):
        oa.update(a, la()[1])
        ob.update(b, lb()[1])
        np.testing.assert_allclose(to_np(oa.learning_rate), np.array(ob.learning_rate), rtol=1e-6)
    assert_trees_close(a, b, rtol=2e-5, atol=2e-5)


def test_join_schedules():
    warm = optim.linear_schedule(0, 0.1, 3)
    fa = optim.join_schedules([warm, optim.cosine_decay(0.1, 5)], [3])
    fb = moptim.join_schedules([moptim.linear_schedule(0, 0.1, 3), moptim.cosine_decay(0.1, 5)], [3])
    for s in range(10):
        np.testing.assert_allclose(to_np(fa(mx.array(s))), np.array(fb(mc.array(s))), rtol=1e-6, atol=1e-8)
    with pytest.raises(ValueError, match="at least 1"):
        optim.join_schedules([], [])
    with pytest.raises(ValueError, match="boundaries"):
        optim.join_schedules([warm, warm], [1, 2])


def test_schedule_errors():
    with pytest.raises(ValueError, match="step_size"):
        optim.step_decay(0.1, 0.5, 0)
    with pytest.raises(ValueError, match="decay_steps"):
        optim.cosine_decay(0.1, 0)
    with pytest.raises(ValueError, match="steps"):
        optim.linear_schedule(0.1, 0, 0)


def test_state_layout_and_save_restore(tmp_path):
    a, _ = _models()
    opt = optim.Adam(learning_rate=0.01)
    loss = nn.value_and_grad(a, lambda: nn.losses.cross_entropy(a(mx.array(X)), mx.array(Y), reduction="mean"))
    for _ in range(3):
        opt.update(a, loss()[1])
    mx.eval(opt.state)
    keys = sorted(k for k, _ in tree_flatten(opt.state))
    assert keys[:2] == ["layers.0.bias.m", "layers.0.bias.v"] and "step" in keys and "learning_rate" in keys
    assert opt.state["step"].dtype == mx.uint64 and int(opt.step) == 3
    assert opt.state["layers"][1] == {} and opt.state["layers"][0]["weight"]["m"].shape == (8, 6)

    # save state and weights, continue in a fresh optimizer: same as uninterrupted
    path = str(tmp_path / "opt.safetensors")
    mx.save_safetensors(path, dict(tree_flatten(opt.state)))
    a.save_weights(str(tmp_path / "w.npz"))
    for _ in range(2):
        opt.update(a, loss()[1])
    expected = flat_np(a)

    b = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3), nn.LayerNorm(3))
    b.load_weights(str(tmp_path / "w.npz"))
    opt2 = optim.Adam(learning_rate=0.01)
    opt2.state = tree_unflatten(list(mx.load(path).items()))
    loss_b = nn.value_and_grad(b, lambda: nn.losses.cross_entropy(b(mx.array(X)), mx.array(Y), reduction="mean"))
    for _ in range(2):
        opt2.update(b, loss_b()[1])
    got = flat_np(b)
    for k in expected:
        np.testing.assert_allclose(got[k], expected[k], rtol=1e-6, atol=1e-7, err_msg=k)
    assert int(opt2.step) == 5


def test_init_then_extend_and_learning_rate_setter():
    a, b = _models()
    oa, ob = optim.SGD(0.1, momentum=0.9), moptim.SGD(0.1, momentum=0.9)
    oa.init(a.trainable_parameters())
    ob.init(b.trainable_parameters())
    assert sorted(k for k, _ in tree_flatten(oa.state)) == sorted(k for k, _ in mutils.tree_flatten(ob.state))
    oa.learning_rate = 0.05
    ob.learning_rate = 0.05
    assert oa.learning_rate.dtype == mx.float32
    la, lb = _steppers(a, b)
    for _ in range(3):
        oa.update(a, la()[1])
        ob.update(b, lb()[1])
    assert_trees_close(a, b, rtol=2e-5, atol=2e-5)
    # init keeps existing state entries
    before = to_np(oa.state["layers"][0]["weight"]["v"])
    oa.init(a.trainable_parameters())
    np.testing.assert_array_equal(to_np(oa.state["layers"][0]["weight"]["v"]), before)


def test_apply_gradients_on_plain_trees_and_dtypes():
    for dt in ("float32", "float16", "bfloat16"):
        p = {"w": [np.ones((2, 3), np.float32), np.arange(4, dtype=np.float32)]}
        g = {"w": [np.full((2, 3), 0.5, np.float32), np.linspace(-1, 1, 4).astype(np.float32)]}
        pa = {"w": [mx.array(v).astype(getattr(mx, dt)) for v in p["w"]]}
        ga = {"w": [mx.array(v).astype(getattr(mx, dt)) for v in g["w"]]}
        pb = {"w": [mc.array(v).astype(getattr(mc, dt)) for v in p["w"]]}
        gb = {"w": [mc.array(v).astype(getattr(mc, dt)) for v in g["w"]]}
        for name, kw in (("Adam", {"learning_rate": 0.1}), ("SGD", {"learning_rate": 0.1, "momentum": 0.5}),
                         ("Lion", {"learning_rate": 0.1}), ("Adafactor", {})):
            oa, ob = getattr(optim, name)(**kw), getattr(moptim, name)(**kw)
            ra, rb = pa, pb
            for _ in range(3):
                ra = oa.apply_gradients(ga, ra)
                rb = ob.apply_gradients(gb, rb)
            for u, v in zip(ra["w"], rb["w"]):
                assert repr(u.dtype).split(".")[-1] == repr(v.dtype).split(".")[-1], (name, dt)
                tol = 1e-5 if dt == "float32" else 2e-2
                np.testing.assert_allclose(to_np(u), to_np(v), rtol=tol, atol=tol)


def test_multi_optimizer():
    a, b = _models()
    filt = [lambda path, g: path.endswith("bias")]
    oa = optim.MultiOptimizer([optim.SGD(0.5), optim.Adam(0.01)], filt)
    ob = moptim.MultiOptimizer([moptim.SGD(0.5), moptim.Adam(0.01)], filt)
    la, lb = _steppers(a, b)
    for _ in range(4):
        oa.update(a, la()[1])
        ob.update(b, lb()[1])
    assert_trees_close(a, b, rtol=2e-5, atol=2e-5)
    ka = sorted(k for k, _ in tree_flatten(oa.state))
    assert ka == sorted(k for k, _ in mutils.tree_flatten(ob.state))
    assert any(k.startswith("states.0.layers.0.bias") for k in ka)
    assert not any(k.startswith("states.0.layers.0.weight") for k in ka)
    np.testing.assert_allclose(to_np(oa.learning_rate), 0.5)
    oa.learning_rate = 0.1
    assert float(oa.optimizers[1].learning_rate) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="filters"):
        optim.MultiOptimizer([optim.SGD(0.1), optim.SGD(0.1)], [])
    with pytest.raises(ValueError, match="Invalid state"):
        oa.state = {"states": [{}]}
    single = optim.MultiOptimizer([optim.SGD(0.1)])
    single.update(a, la()[1])


def test_clip_grad_norm():
    g = {"a": np.array([3.0, 4.0], np.float32), "b": [np.full((2, 2), 1.0, np.float32)]}
    for max_norm in (1.0, 100.0, 0.0):
        ca, na = optim.clip_grad_norm({"a": mx.array(g["a"]), "b": [mx.array(g["b"][0])]}, max_norm)
        cb, nb = moptim.clip_grad_norm({"a": mc.array(g["a"]), "b": [mc.array(g["b"][0])]}, max_norm)
        np.testing.assert_allclose(to_np(na), np.array(nb), rtol=1e-6)
        assert_trees_close(ca, cb, rtol=1e-6, atol=1e-7)
    ch, nh = optim.clip_grad_norm({"x": mx.full((4,), 200.0).astype(mx.float16)}, 1.0)
    assert ch["x"].dtype == mx.float16 and float(nh) == pytest.approx(400.0)
    with pytest.raises(ValueError, match="max_norm"):
        optim.clip_grad_norm({"a": mx.ones(2)}, -1.0)


def test_constructor_errors():
    bad = [
        lambda: optim.SGD(0.1, nesterov=True),
        lambda: optim.SGD(0.1, momentum=0.9, dampening=0.1, nesterov=True),
        lambda: optim.Adam(0.1, betas=[1.0, 0.9]),
        lambda: optim.Adam(0.1, eps=-1.0),
        lambda: optim.Lion(0.1, betas=[0.9, -0.1]),
        lambda: optim.RMSprop(0.1, alpha=-0.1),
        lambda: optim.RMSprop(0.1, eps=0.0),
        lambda: optim.Adagrad(0.1, eps=0.0),
        lambda: optim.AdaDelta(0.1, rho=-1.0),
        lambda: optim.AdaDelta(0.1, eps=0.0),
    ]
    for ctor in bad:
        with pytest.raises(ValueError):
            ctor()
    with pytest.raises(NotImplementedError):
        optim.Optimizer().init({"w": mx.ones(2)})


def test_muon_higher_rank_and_vectors():
    p = {"conv": np.ones((4, 3, 2), np.float32) * 0.1, "v": np.ones((5,), np.float32)}
    g = {"conv": RNG.standard_normal((4, 3, 2)).astype(np.float32), "v": RNG.standard_normal(5).astype(np.float32)}
    oa, ob = optim.Muon(0.05), moptim.Muon(0.05)
    ra = {k: mx.array(v) for k, v in p.items()}
    rb = {k: mc.array(v) for k, v in p.items()}
    for _ in range(3):
        ra = oa.apply_gradients({k: mx.array(v) for k, v in g.items()}, ra)
        rb = ob.apply_gradients({k: mc.array(v) for k, v in g.items()}, rb)
    assert_trees_close(ra, rb, rtol=2e-5, atol=2e-5)
