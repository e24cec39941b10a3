"""Activation functions and their module wrappers (the set of ``mlx.nn``)."""

import math
from typing import Any

import oxmlx.core as mx
from oxmlx.nn.layers.base import Module

_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_SQRT_2 = math.sqrt(2)


def sigmoid(x):
    r"""Element-wise logistic sigmoid :math:`1 / (1 + e^{-x})`."""
    return mx.sigmoid(x)


def relu(x):
    r"""Rectified linear unit :math:`\max(x, 0)`."""
    return mx.maximum(x, 0)


def relu2(x):
    r"""Squared ReLU :math:`\max(x, 0)^2`."""
    return mx.square(mx.maximum(x, 0))


def relu6(x):
    r""":math:`\min(\max(x, 0), 6)`."""
    return mx.minimum(mx.maximum(x, 0), 6.0)


def leaky_relu(x, negative_slope=0.01):
    r""":math:`\max(\text{negative\_slope} \cdot x, x)`."""
    return mx.maximum(negative_slope * x, x)


def log_softmax(x, axis=-1):
    """Log of the softmax along ``axis`` (shifted by the max for stability)."""
    shifted = x - mx.stop_gradient(mx.max(x, axis=axis, keepdims=True))
    return shifted - mx.logsumexp(shifted, axis=axis, keepdims=True)


def elu(x, alpha=1.0):
    r""":math:`x` for positive inputs, :math:`\alpha (e^x - 1)` otherwise."""
    return mx.where(x > 0, x, alpha * (mx.exp(x) - 1))


def softmax(x, axis=-1):
    """Softmax along ``axis``."""
    return mx.softmax(x, axis=axis)


def softplus(x):
    r""":math:`\log(1 + e^x)`."""
    return mx.logaddexp(x, 0)


def softsign(x):
    r""":math:`x / (1 + |x|)`."""
    return mx.divide(x, 1 + mx.abs(x))


def softshrink(x, lambd: float = 0.5):
    r""":math:`x - \lambda\,\mathrm{sign}(x)` where :math:`|x| > \lambda`, else 0."""
    return mx.where(mx.abs(x) > lambd, x - mx.sign(x) * lambd, 0)


def celu(x, alpha=1.0):
    r""":math:`\max(0, x) + \alpha (e^{\min(0, x)/\alpha} - 1)`."""
    return mx.maximum(x, 0.0) + alpha * (mx.exp(mx.minimum(x, 0.0) / alpha) - 1)


def silu(x):
    r"""Sigmoid linear unit :math:`x \sigma(x)`."""
    return x * mx.sigmoid(x)


def log_sigmoid(x):
    r""":math:`\log \sigma(x) = -\mathrm{softplus}(-x)`."""
    return -softplus(-x)


def gelu(x):
    r"""Exact GELU :math:`x \Phi(x)` with the Gaussian CDF (through ``erf``)."""
    return x * (1 + mx.erf(x / _SQRT_2)) / 2


def gelu_approx(x):
    r"""Tanh approximation of GELU."""
    return 0.5 * x * (1 + mx.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x**3)))


def gelu_fast_approx(x):
    r"""Sigmoid approximation of GELU :math:`x \sigma(1.702 x)`."""
    return x * mx.sigmoid(1.702 * x)


def glu(x, axis: int = -1):
    r"""Gated linear unit: split ``x`` in halves ``a, b`` along ``axis``, return :math:`a \sigma(b)`."""
    a, b = mx.split(x, indices_or_sections=2, axis=axis)
    return a * mx.sigmoid(b)


def step(x, threshold: float = 0.0):
    """1 where ``x >= threshold``, else 0."""
    return mx.where(x >= threshold, 1, 0)


def selu(x):
    """Scaled exponential linear unit."""
    return elu(x, 1.67326) * 1.0507


def prelu(x, alpha):
    r""":math:`\max(0, x) + \alpha \min(0, x)` with a learned ``alpha``."""
    return mx.maximum(0, x) + alpha * mx.minimum(0, x)


def mish(x):
    r""":math:`x \tanh(\mathrm{softplus}(x))`."""
    return x * mx.tanh(softplus(x))


def hardswish(x):
    r""":math:`x \min(\max(x + 3, 0), 6) / 6`."""
    return x * mx.minimum(mx.maximum(x + 3, 0), 6) / 6


def hard_tanh(x, min_val=-1.0, max_val=1.0):
    """``x`` clipped to ``[min_val, max_val]``."""
    return mx.minimum(mx.maximum(x, min_val), max_val)


def hard_shrink(x, lambd=0.5):
    r"""``x`` where :math:`|x| > \lambda`, else 0."""
    return mx.where(mx.abs(x) > lambd, x, 0)


def softmin(x, axis=-1):
    """Softmax of ``-x`` along ``axis``."""
    return mx.softmax(-x, axis=axis)


def tanh(x):
    """Hyperbolic tangent."""
    return mx.tanh(x)


# ----------------------------------------------------------------- modules
def _stateless(fn, name, doc=None):
    """A parameterless module class whose call is ``fn(x)``."""

    def call(self, x):
        return fn(x)

    return type(name, (Module,), {"__call__": call, "__doc__": doc or f"Applies :func:`{fn.__name__}`."})


Sigmoid = _stateless(sigmoid, "Sigmoid")
Mish = _stateless(mish, "Mish")
ReLU = _stateless(relu, "ReLU")
ReLU2 = _stateless(relu2, "ReLU2")
ReLU6 = _stateless(relu6, "ReLU6")
Softmax = _stateless(softmax, "Softmax")
Softplus = _stateless(softplus, "Softplus")
Softsign = _stateless(softsign, "Softsign")
SiLU = _stateless(silu, "SiLU")
LogSoftmax = _stateless(log_softmax, "LogSoftmax")
LogSigmoid = _stateless(log_sigmoid, "LogSigmoid")
Tanh = _stateless(tanh, "Tanh")
Hardswish = _stateless(hardswish, "Hardswish")
SELU = _stateless(selu, "SELU")
HardTanh = _stateless(hard_tanh, "HardTanh")
Softmin = _stateless(softmin, "Softmin")

for _cls in (Sigmoid, Mish, ReLU, ReLU2, ReLU6, Softmax, Softplus, Softsign, SiLU, LogSoftmax,
             LogSigmoid, Tanh, Hardswish, SELU, HardTanh, Softmin):
    _cls.__module__ = __name__
del _cls


class GLU(Module):
    """Gated linear unit along ``axis``."""

    def __init__(self, axis: int = -1):
        super().__init__()
        self.axis = axis

    def __call__(self, x) -> Any:
        return glu(x=x, axis=self.axis)


class LeakyReLU(Module):
    """Leaky ReLU with slope ``negative_slope`` for negative inputs."""

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self._negative_slope = negative_slope

    def __call__(self, x):
        return leaky_relu(x, self._negative_slope)


class ELU(Module):
    """Exponential linear unit."""

    def __init__(self, alpha=1.0):
        super().__init__()
        self._alpha = alpha

    def __call__(self, x):
        return elu(x, self._alpha)


class CELU(Module):
    """Continuously differentiable ELU."""

    def __init__(self, alpha=1.0):
        super().__init__()
        self._alpha = alpha

    def __call__(self, x):
        return celu(x, self._alpha)


class Softshrink(Module):
    """Soft shrinkage with threshold ``lambd``."""

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = lambd

    def __call__(self, x):
        return softshrink(x, self.lambd)


class HardShrink(Module):
    """Hard shrinkage with threshold ``lambd``."""

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = lambd

    def __call__(self, x):
        return hard_shrink(x, self.lambd)


class PReLU(Module):
    """Parametric ReLU; ``weight`` has ``num_parameters`` entries set to ``init``."""

    def __init__(self, num_parameters=1, init=0.25):
        super().__init__()
        self.weight = mx.full([num_parameters], init)

    def __call__(self, x):
        return prelu(x, self.weight)


class GELU(Module):
    """GELU; ``approx`` is 'none', 'precise' / 'tanh' (tanh form) or 'fast' (sigmoid form)."""

    def __init__(self, approx="none"):
        super().__init__()
        allowed = ["none", "precise", "tanh", "fast"]
        if approx not in allowed:
            raise ValueError(f"The approximation should be in {allowed} but '{approx}' was given")
        self._approx = approx

    def __call__(self, x):
        if self._approx == "none":
            return gelu(x)
        if self._approx in ("precise", "tanh"):
            return gelu_approx(x)
        return gelu_fast_approx(x)


class Step(Module):
    """Binary step at ``threshold``."""

    def __init__(self, threshold: float = 0.0):
        super().__init__()
        self.threshold = threshold

    def __call__(self, x):
        return step(x, self.threshold)
