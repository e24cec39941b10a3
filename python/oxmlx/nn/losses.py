"""Loss functions (the set of ``mlx.nn.losses``), each with a ``reduction`` of
``'none'``, ``'mean'`` or ``'sum'``."""

import math
from typing import Literal, Optional, get_args

import oxmlx.core as mx

Reduction = Literal["none", "mean", "sum"]


def _reduce(loss, reduction: Reduction = "none"):
    if reduction not in get_args(Reduction):
        raise ValueError(f"Invalid reduction. Must be one of {get_args(Reduction)}.")
    if reduction == "mean":
        return mx.mean(loss)
    if reduction == "sum":
        return mx.sum(loss)
    return loss


def _same_shape(a, b, what_a, what_b):
    if a.shape != b.shape:
        raise ValueError(f"{what_a} shape {a.shape} does not match {what_b.lower()} shape {b.shape}.")


def _apply_weights(loss, weights):
    if weights is None:
        return loss
    if weights.shape != loss.shape:
        raise ValueError(
            f"Weights with shape {weights.shape} is not the same as output loss with shape {loss.shape}."
        )
    return loss * weights


def _norm(x, axis):
    return mx.sqrt(mx.sum(mx.square(x), axis=axis))


def cross_entropy(logits, targets, weights: Optional[mx.array] = None, axis: int = -1,
                  label_smoothing: float = 0.0, reduction: Reduction = "none"):
    """Cross entropy of ``logits`` with class-index ``targets`` or probability ``targets``
    (same shape as ``logits``), with optional label smoothing and per-sample weights."""
    if label_smoothing < 0 or label_smoothing >= 1:
        raise ValueError(f"Label smoothing must be in [0, 1), got {label_smoothing}.")
    probs = targets.ndim == logits.ndim
    expected = list(logits.shape)
    if not probs:
        expected.pop(axis)
    if tuple(targets.shape) != tuple(expected):
        raise ValueError(f"Targets shape {targets.shape} does not match logits shape {logits.shape}.")
    shifted = logits - mx.stop_gradient(mx.max(logits, axis=axis, keepdims=True))
    if probs:
        score = mx.sum(shifted * targets, axis=axis)
    else:
        score = mx.take_along_axis(shifted, mx.expand_dims(targets, axis), axis).squeeze(axis)
    lse = mx.logsumexp(shifted, axis=axis)
    if label_smoothing > 0:
        loss = lse - (1 - label_smoothing) * score - label_smoothing * shifted.mean(axis=axis)
    else:
        loss = lse - score
    return _reduce(_apply_weights(loss, weights), reduction)


def binary_cross_entropy(inputs, targets, weights: Optional[mx.array] = None, with_logits: bool = True,
                         reduction: Reduction = "mean"):
    """Binary cross entropy of logits (``with_logits``) or probabilities; log terms clipped at -100."""
    _same_shape(inputs, targets, "Inputs", "Targets")
    if with_logits:
        loss = mx.logaddexp(0.0, inputs) - inputs * targets
    else:
        log_p = mx.clip(mx.log(inputs), a_min=-100, a_max=None)
        log_q = mx.clip(mx.log(1 - inputs), a_min=-100, a_max=None)
        loss = -(targets * log_p + (1 - targets) * log_q)
    return _reduce(_apply_weights(loss, weights), reduction)


def l1_loss(predictions, targets, reduction: Reduction = "mean"):
    """Absolute error."""
    _same_shape(predictions, targets, "Predictions", "Targets")
    return _reduce(mx.abs(predictions - targets), reduction)


def mse_loss(predictions, targets, reduction: Reduction = "mean"):
    """Squared error."""
    _same_shape(predictions, targets, "Predictions", "Targets")
    return _reduce(mx.square(predictions - targets), reduction)


def nll_loss(inputs, targets, axis: int = -1, reduction: Reduction = "none"):
    """Negative log likelihood of log-probability ``inputs`` at class ``targets``."""
    loss = -mx.take_along_axis(inputs, mx.expand_dims(targets, axis), axis).squeeze(axis)
    return _reduce(loss, reduction)


def gaussian_nll_loss(inputs, targets, vars, full: bool = False, eps: float = 1e-6,
                      reduction: Reduction = "mean"):
    """Negative log likelihood of ``targets`` under N(``inputs``, ``vars``) (vars floored at ``eps``)."""
    _same_shape(inputs, targets, "Inputs", "Targets")
    _same_shape(inputs, vars, "Inputs", "Vars")
    v = mx.maximum(vars, eps)
    loss = 0.5 * (mx.log(v) + mx.square(targets - inputs) / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def kl_div_loss(inputs, targets, axis: int = -1, reduction: Reduction = "none"):
    """KL divergence with log-probability ``inputs`` and ``targets``."""
    loss = mx.sum(mx.exp(targets) * (targets - inputs), axis)
    return _reduce(loss, reduction)


def smooth_l1_loss(predictions, targets, beta: float = 1.0, reduction: Reduction = "mean"):
    """Quadratic below ``beta``, linear above."""
    _same_shape(predictions, targets, "Predictions", "Targets")
    d = mx.abs(predictions - targets)
    loss = mx.where(d < beta, 0.5 * mx.square(d) / beta, mx.abs(d) - 0.5 * beta)
    return _reduce(loss, reduction)


def triplet_loss(anchors, positives, negatives, axis: int = -1, p: int = 2, margin: float = 1.0,
                 eps: float = 1e-6, reduction: Reduction = "none"):
    """``max(d(a, p) - d(a, n) + margin, 0)`` with p-norm distances."""

    def dist(a, b):
        return mx.power(mx.power(mx.abs(a - b), p).sum(axis) + eps, 1.0 / p)

    loss = mx.maximum(dist(anchors, positives) - dist(anchors, negatives) + margin, 0)
    return _reduce(loss, reduction)


def hinge_loss(inputs, targets, reduction: Reduction = "none"):
    """``max(1 - inputs * targets, 0)`` for targets in {-1, 1}."""
    return _reduce(mx.maximum(1 - inputs * targets, 0), reduction)


def huber_loss(inputs, targets, delta: float = 1.0, reduction: Reduction = "none"):
    """Quadratic up to ``delta``, linear beyond."""
    err = mx.abs(inputs - targets)
    quad = mx.minimum(err, delta)
    loss = 0.5 * quad**2 + delta * (err - quad)
    return _reduce(loss, reduction)


def log_cosh_loss(inputs, targets, reduction: Reduction = "none"):
    """``log(cosh(inputs - targets))`` computed stably."""
    e = inputs - targets
    return _reduce(mx.logaddexp(e, -e) - math.log(2), reduction)


def cosine_similarity_loss(x1, x2, axis: int = 1, eps: float = 1e-8, reduction: Reduction = "none"):
    """Cosine similarity of ``x1`` and ``x2`` along ``axis`` (norm product floored at ``eps``)."""
    denom = mx.maximum(_norm(x1, axis) * _norm(x2, axis), eps)
    return _reduce(mx.sum(x1 * x2, axis=axis) / denom, reduction)


def margin_ranking_loss(inputs1, inputs2, targets, margin: float = 0.0, reduction: Reduction = "none"):
    """``max(0, -targets * (inputs1 - inputs2) + margin)``."""
    if not inputs1.shape == inputs2.shape == targets.shape:
        raise ValueError(
            "The shapes of the arguments do not match. The provided shapes are "
            f"inputs1.shape={inputs1.shape}, inputs2.shape={inputs2.shape}, and "
            f"targets.shape={targets.shape}."
        )
    return _reduce(mx.maximum(0, -targets * (inputs1 - inputs2) + margin), reduction)
