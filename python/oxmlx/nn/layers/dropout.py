"""Dropout layers (element-wise and channel-wise)."""

import oxmlx.core as mx
from oxmlx.nn.layers.base import Module


class _DropoutBase(Module):
    # number of trailing spatial axes that share one mask value (0: none)
    _shared_axes = 0
    _ndims = None

    def __init__(self, p: float = 0.5):
        super().__init__()
        if p < 0 or p >= 1:
            raise ValueError(f"The dropout probability {p} is not in [0, 1)")
        self._p_1 = 1 - p

    def _extra_repr(self) -> str:
        return f"p={1 - self._p_1}"

    def __call__(self, x):
        if self._ndims is not None and x.ndim not in self._ndims:
            a, b = self._ndims
            raise ValueError(f"Received input with {x.ndim} dimensions. Expected {a} or {b} dimensions.")
        if self._p_1 == 1 or not self.training:
            return x
        shape = list(x.shape)
        for i in range(2, 2 + self._shared_axes):
            shape[-i] = 1
        keep = mx.random.bernoulli(p=self._p_1, shape=shape)
        return keep * x * (1 / self._p_1)


class Dropout(_DropoutBase):
    """Zeroes each element with probability ``p`` in training and scales the rest by ``1/(1-p)``."""


class Dropout2d(_DropoutBase):
    """Zeroes whole channels of ``(N, H, W, C)`` / ``(H, W, C)`` inputs with probability ``p``."""

    _shared_axes = 2
    _ndims = (3, 4)


class Dropout3d(_DropoutBase):
    """Zeroes whole channels of ``(N, D, H, W, C)`` / ``(D, H, W, C)`` inputs with probability ``p``."""

    _shared_axes = 3
    _ndims = (4, 5)
