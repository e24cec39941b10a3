"""Max / average pooling over 1, 2 or 3 spatial axes (channels-last inputs)."""

from itertools import product
from typing import Optional, Tuple, Union

import oxmlx.core as mx
from oxmlx.nn.layers.base import Module


def _as_list(value, n, msg):
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(msg)
        return list(value)
    if not isinstance(value, int):
        raise ValueError(msg)
    return [value] * n


def _windows(x, window, strides):
    """View of ``x`` (N, *spatial, C) as (N, *out_spatial, *window, C)."""
    if x.ndim < 3:
        raise ValueError(
            "To extract sliding windows at least 1 spatial dimension (3 total) is needed "
            f"but the input only has {x.ndim} dimensions."
        )
    spatial = x.shape[1:-1]
    if not len(spatial) == len(window) == len(strides):
        raise ValueError(
            "To extract sliding windows the window shapes and strides must have the same number "
            f"of spatial dimensions as the signal but the signal has {len(spatial)} dims and the "
            f"window shape has {len(window)} and strides have {len(strides)}."
        )
    if all(w == s and n % w == 0 for n, w, s in zip(spatial, window, strides)):
        # non-overlapping tiles: a reshape and a transpose suffice
        shape = [x.shape[0]]
        for n, w in zip(spatial, window):
            shape += [n // w, w]
        shape.append(x.shape[-1])
        last = len(shape) - 1
        order = [0, *range(1, last, 2), *range(2, last, 2), last]
        return x.reshape(shape).transpose(order)
    # overlapping windows: one strided slice per window offset, stacked so that the
    # layout is (N, *out_spatial, *window, C) as MLX's as_strided view. (Slices keep
    # the result differentiable; the core has no as_strided vjp.)
    out = [(n - w) // s + 1 for n, w, s in zip(spatial, window, strides)]
    taps = []
    for offs in product(*(range(w) for w in window)):
        index = [slice(None)]
        for o, n_out, s in zip(offs, out, strides):
            index.append(slice(o, o + s * (n_out - 1) + 1, s))
        taps.append(x[tuple(index)])
    stacked = mx.stack(taps, axis=-2)  # (N, *out, K, C)
    return stacked.reshape(x.shape[0], *out, *window, x.shape[-1])


class _Pool(Module):
    def __init__(self, reduce_fn, kernel_size, stride, padding, padding_value):
        super().__init__()
        name = type(self).__name__
        for what, vals in (("kernel_size", kernel_size), ("stride", stride)):
            if any(v <= 0 for v in vals):
                raise ValueError(f"[{name}] '{what}' must be positive but got {tuple(vals)}.")
        if any(p[0] < 0 for p in padding):
            raise ValueError(f"[{name}] 'padding' must be non-negative but got {tuple(p[0] for p in padding)}.")
        self._pooling_function = reduce_fn
        self._kernel_size = kernel_size
        self._stride = stride
        self._padding = padding
        self._padding_value = padding_value
        self._axes = tuple(range(-len(kernel_size) - 1, -1))

    def _extra_repr(self):
        return (f"kernel_size={tuple(self._kernel_size)}, stride={tuple(self._stride)}, "
                f"padding={tuple(p[0] for p in self._padding)}")

    def __call__(self, x):
        if any(p[0] > 0 for p in self._padding):
            x = mx.pad(x, [(0, 0)] + self._padding + [(0, 0)], constant_values=self._padding_value)
        return self._pooling_function(_windows(x, self._kernel_size, self._stride), self._axes)


def _make_pool(nd, reduce_fn, padding_value, name, doc):
    ints = "1 integer" if nd == 1 else f"{nd} integers"

    def __init__(self, kernel_size, stride=None, padding=0):
        msg = f"[{type(self).__name__}] '{{}}' must be an integer or a tuple containing {ints}"
        k = _as_list(kernel_size, nd, msg.format("kernel_size"))
        s = _as_list(stride, nd, msg.format("stride")) if stride is not None else k
        p = [(v, v) for v in _as_list(padding, nd, msg.format("padding"))]
        _Pool.__init__(self, reduce_fn, k, s, p, padding_value)

    __init__.__annotations__ = {
        "kernel_size": Union[int, Tuple[int, ...]],
        "stride": Optional[Union[int, Tuple[int, ...]]],
        "padding": Union[int, Tuple[int, ...]],
    }
    return type(name, (_Pool,), {"__init__": __init__, "__doc__": doc, "__module__": __name__})


_NEG_INF = -float("inf")
MaxPool1d = _make_pool(1, mx.max, _NEG_INF, "MaxPool1d", "Max pooling over inputs ``(N, L, C)``.")
AvgPool1d = _make_pool(1, mx.mean, 0, "AvgPool1d", "Average pooling over inputs ``(N, L, C)``.")
MaxPool2d = _make_pool(2, mx.max, _NEG_INF, "MaxPool2d", "Max pooling over inputs ``(N, H, W, C)``.")
AvgPool2d = _make_pool(2, mx.mean, 0, "AvgPool2d", "Average pooling over inputs ``(N, H, W, C)``.")
MaxPool3d = _make_pool(3, mx.max, _NEG_INF, "MaxPool3d", "Max pooling over inputs ``(N, D, H, W, C)``.")
AvgPool3d = _make_pool(3, mx.mean, 0, "AvgPool3d", "Average pooling over inputs ``(N, D, H, W, C)``.")
