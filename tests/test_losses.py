"""oxmlx.nn.losses against mlx.nn.losses: values for every reduction, gradients,
argument variants and errors."""

import numpy as np
import pytest

import oxmlx.core as mx
import oxmlx.nn as nn

from _nn_util import to_np

mnn = pytest.importorskip("mlx.nn")
mc = pytest.importorskip("mlx.core", minversion="0.32")  # the nn semantics mirrored here

RNG = np.random.default_rng(3)
REDUCTIONS = ["none", "mean", "sum"]


def _f(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _prob(*shape):
    return RNG.uniform(0.02, 0.98, shape).astype(np.float32)


def check(name, arrays, kwargs=None, grad_args=(0,), tol=1e-5):
    """Compare ``losses.<name>(*arrays, **kwargs)`` and the gradient of its sum
    w.r.t. the arrays in ``grad_args``."""
    kwargs = kwargs or {}
    fa, fb = getattr(nn.losses, name), getattr(mnn.losses, name)
    xa = [mx.array(a) if a is not None else None for a in arrays]
    xb = [mc.array(a) if a is not None else None for a in arrays]
    ka = {k: mx.array(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    kb = {k: mc.array(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    ya, yb = fa(*xa, **ka), fb(*xb, **kb)
    assert ya.shape == yb.shape
    assert repr(ya.dtype).split(".")[-1] == repr(yb.dtype).split(".")[-1]
    np.testing.assert_allclose(to_np(ya), np.array(yb), rtol=tol, atol=tol)
    if grad_args:
        def wrap(f, xs, kw, core):
            def g(*sel):
                full = list(xs)
                for i, s in zip(grad_args, sel):
                    full[i] = s
                return f(*full, **kw).sum()
            return core.grad(g, argnums=tuple(range(len(grad_args))))

        ga = wrap(fa, xa, ka, mx)(*[xa[i] for i in grad_args])
        gb = wrap(fb, xb, kb, mc)(*[xb[i] for i in grad_args])
        if len(grad_args) == 1:
            ga, gb = (ga,), (gb,)
        for u, v in zip(ga, gb):
            np.testing.assert_allclose(to_np(u), np.array(v), rtol=10 * tol, atol=10 * tol)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_indices(reduction):
    logits = _f(6, 5) * 3
    targets = RNG.integers(0, 5, (6,)).astype(np.int32)
    check("cross_entropy", [logits, targets], {"reduction": reduction})
    check("cross_entropy", [logits, targets.astype(np.uint32)], {"reduction": reduction})
    check("cross_entropy", [logits, targets], {"reduction": reduction, "label_smoothing": 0.2})
    check("cross_entropy", [logits, targets], {"reduction": reduction, "weights": _prob(6)})


def test_cross_entropy_probabilities_axis_and_batch():
    logits = _f(3, 4, 5)
    probs = np.exp(_f(3, 4, 5))
    probs /= probs.sum(-1, keepdims=True)
    check("cross_entropy", [logits, probs], {}, grad_args=(0, 1))
    check("cross_entropy", [logits, probs], {"label_smoothing": 0.1, "reduction": "mean"})
    t_axis1 = RNG.integers(0, 4, (3, 5)).astype(np.int32)
    check("cross_entropy", [logits, t_axis1], {"axis": 1})
    check("cross_entropy", [logits, t_axis1], {"axis": 1, "label_smoothing": 0.3, "reduction": "sum"})
    check("cross_entropy", [_f(4, 7).astype(np.float16), RNG.integers(0, 7, (4,)).astype(np.int32)], {},
          grad_args=(), tol=5e-3)


def test_cross_entropy_errors():
    logits = mx.zeros((3, 4))
    with pytest.raises(ValueError, match="Label smoothing"):
        nn.losses.cross_entropy(logits, mx.zeros((3,), mx.int32), label_smoothing=1.0)
    with pytest.raises(ValueError, match="Targets shape"):
        nn.losses.cross_entropy(logits, mx.zeros((4,), mx.int32))
    with pytest.raises(ValueError, match="Targets shape"):
        nn.losses.cross_entropy(logits, mx.zeros((3, 5)))
    with pytest.raises(ValueError, match="Weights with shape"):
        nn.losses.cross_entropy(logits, mx.zeros((3,), mx.int32), weights=mx.ones((4,)))
    with pytest.raises(ValueError, match="Invalid reduction"):
        nn.losses.cross_entropy(logits, mx.zeros((3,), mx.int32), reduction="avg")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("with_logits", [True, False])
def test_binary_cross_entropy(reduction, with_logits):
    inputs = _f(4, 3) * 2 if with_logits else _prob(4, 3)
    targets = (RNG.random((4, 3)) > 0.5).astype(np.float32)
    check("binary_cross_entropy", [inputs, targets], {"reduction": reduction, "with_logits": with_logits})
    check("binary_cross_entropy", [inputs, _prob(4, 3)],
          {"reduction": reduction, "with_logits": with_logits, "weights": _prob(4, 3)}, grad_args=(0, 1))
    # probabilities at exactly 0 / 1: log terms clipped at -100
    if not with_logits:
        edge = np.array([0.0, 1.0, 0.5], np.float32)
        check("binary_cross_entropy", [edge, np.array([1.0, 0.0, 1.0], np.float32)],
              {"with_logits": False, "reduction": reduction}, grad_args=())


@pytest.mark.parametrize("name", ["l1_loss", "mse_loss", "smooth_l1_loss", "huber_loss", "log_cosh_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses(name, reduction):
    a, b = _f(5, 4) * 2, _f(5, 4)
    check(name, [a, b], {"reduction": reduction}, grad_args=(0, 1))


def test_regression_loss_arguments():
    a, b = _f(6, 3) * 2, _f(6, 3)
    check("smooth_l1_loss", [a, b], {"beta": 0.3})
    check("huber_loss", [a, b], {"delta": 0.5, "reduction": "mean"})
    for name in ("l1_loss", "mse_loss", "smooth_l1_loss", "binary_cross_entropy", "gaussian_nll_loss"):
        args = [mx.zeros((2, 3)), mx.zeros((3, 2))] + ([mx.ones((2, 3))] if name == "gaussian_nll_loss" else [])
        with pytest.raises(ValueError, match="shape"):
            getattr(nn.losses, name)(*args)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("full", [False, True])
def test_gaussian_nll(reduction, full):
    check("gaussian_nll_loss", [_f(4, 3), _f(4, 3), _prob(4, 3)], {"reduction": reduction, "full": full},
          grad_args=(0, 1, 2))
    small = np.full((4, 3), 1e-9, np.float32)
    check("gaussian_nll_loss", [_f(4, 3), _f(4, 3), small], {"eps": 1e-3}, grad_args=(0,))
    with pytest.raises(ValueError, match="vars shape"):
        nn.losses.gaussian_nll_loss(mx.zeros((2,)), mx.zeros((2,)), mx.ones((3,)))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_and_kl(reduction):
    logp = np.log(_prob(5, 4))
    t = RNG.integers(0, 4, (5,)).astype(np.int32)
    check("nll_loss", [logp, t], {"reduction": reduction})
    check("nll_loss", [logp, RNG.integers(0, 5, (4,)).astype(np.int32)], {"axis": 0, "reduction": reduction})
    check("kl_div_loss", [logp, np.log(_prob(5, 4))], {"reduction": reduction}, grad_args=(0, 1))
    check("kl_div_loss", [logp, np.log(_prob(5, 4))], {"axis": 0})


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p", [1, 2, 3])
def test_triplet(reduction, p):
    check("triplet_loss", [_f(4, 6), _f(4, 6), _f(4, 6)], {"reduction": reduction, "p": p, "margin": 2.0},
          grad_args=(0, 1, 2), tol=2e-5)
    check("triplet_loss", [_f(6, 4), _f(6, 4), _f(6, 4)], {"axis": 0, "p": p})


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_hinge_cosine_margin(reduction):
    t = np.sign(_f(5, 3)).astype(np.float32)
    check("hinge_loss", [_f(5, 3), t], {"reduction": reduction})
    check("cosine_similarity_loss", [_f(4, 6), _f(4, 6)], {"reduction": reduction}, grad_args=(0, 1))
    check("cosine_similarity_loss", [_f(4, 6), _f(4, 6)], {"axis": 0, "eps": 1e-3})
    z = np.zeros((2, 3), np.float32)
    check("cosine_similarity_loss", [z, _f(2, 3)], {}, grad_args=())
    t1 = np.sign(_f(7)).astype(np.float32)
    check("margin_ranking_loss", [_f(7), _f(7), t1], {"reduction": reduction}, grad_args=(0, 1))
    check("margin_ranking_loss", [_f(7), _f(7), t1], {"margin": 0.5})
    with pytest.raises(ValueError, match="shapes of the arguments"):
        nn.losses.margin_ranking_loss(mx.zeros((3,)), mx.zeros((3,)), mx.zeros((2,)))


def test_loss_dtypes_follow_mlx():
    a, b = _f(4, 3).astype(np.float16), _f(4, 3).astype(np.float16)
    for name in ("l1_loss", "mse_loss", "huber_loss", "smooth_l1_loss", "log_cosh_loss"):
        check(name, [a, b], {}, grad_args=(), tol=5e-3)
