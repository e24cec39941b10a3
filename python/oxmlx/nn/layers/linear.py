"""Identity, Linear and Bilinear layers."""

import math
from typing import Any, Optional

import oxmlx.core as mx
from oxmlx.nn.layers.base import Module


class Identity(Module):
    """Returns its input; accepts and ignores any constructor arguments."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def __call__(self, x):
        return x


class Linear(Module):
    r"""Affine map :math:`y = x W^T + b`.

    ``weight`` has shape ``(output_dims, input_dims)``; weight and bias are drawn
    from :math:`\mathcal{U}(-k, k)` with :math:`k = 1/\sqrt{\text{input\_dims}}`.
    """

    def __init__(self, input_dims: int, output_dims: int, bias: bool = True) -> None:
        super().__init__()
        k = math.sqrt(1.0 / input_dims)
        self.weight = mx.random.uniform(low=-k, high=k, shape=(output_dims, input_dims))
        if bias:
            self.bias = mx.random.uniform(low=-k, high=k, shape=(output_dims,))

    def _extra_repr(self) -> str:
        out_dims, in_dims = self.weight.shape
        return f"input_dims={in_dims}, output_dims={out_dims}, bias={'bias' in self}"

    def __call__(self, x):
        if "bias" in self:
            return mx.addmm(self["bias"], x, self["weight"].T)
        return x @ self["weight"].T

    def to_quantized(self, group_size: Optional[int] = None, bits: Optional[int] = None,
                     mode: str = "affine", quantize_input: bool = False):
        """A :class:`QuantizedLinear` holding this layer's weights quantized."""
        from oxmlx.nn.layers.quantized import QuantizedLinear

        if quantize_input:
            raise ValueError("Quantized activations (QQLinear) are not supported.")
        return QuantizedLinear.from_linear(self, group_size, bits, mode)


class Bilinear(Module):
    r"""Bilinear map :math:`y_i = x_1^T W_i x_2 + b_i`.

    ``weight`` has shape ``(output_dims, input2_dims, input1_dims)``; initialized
    from :math:`\mathcal{U}(-k, k)` with :math:`k = 1/\sqrt{\text{input1\_dims}}`.
    """

    def __init__(self, input1_dims: int, input2_dims: int, output_dims: int, bias: bool = True) -> None:
        super().__init__()
        k = math.sqrt(1.0 / input1_dims)
        self.weight = mx.random.uniform(low=-k, high=k, shape=(output_dims, input2_dims, input1_dims))
        if bias:
            self.bias = mx.random.uniform(low=-k, high=k, shape=(output_dims,))

    def _extra_repr(self) -> str:
        out, in2, in1 = self.weight.shape
        return f"input1_dims={in1}, input2_dims={in2}, output_dims={out}, bias={'bias' in self}"

    def __call__(self, x1, x2):
        out, in2, in1 = self.weight.shape
        lead = x1.shape[:-1]
        # (n, in1) @ (in1, out*in2) -> (n, out, in2), then contract in2 with x2.
        y = x1.reshape(-1, in1) @ self.weight.reshape(out * in2, in1).T
        y = y.reshape(-1, out, in2).swapaxes(-2, -1)
        y = (x2.reshape(-1, 1, in2) @ y).squeeze(1).reshape(*lead, out)
        if "bias" in self:
            y = y + self.bias
        return y
