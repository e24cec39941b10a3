"""Positional encodings: RoPE, sinusoidal, ALiBi."""

import math
from typing import Optional

import oxmlx.core as mx
from oxmlx.nn import _fast
from oxmlx.nn.layers.base import Module


class RoPE(Module):
    """Rotary positional encoding of the first ``dims`` features (``mx.fast.rope``)."""

    def __init__(self, dims: int, traditional: bool = False, base: float = 10000, scale: float = 1.0):
        super().__init__()
        self.dims = dims
        self.traditional = traditional
        self.base = base
        self.scale = scale

    def _extra_repr(self):
        return f"{self.dims}, traditional={self.traditional}"

    def __call__(self, x, offset: int = 0):
        return _fast.rope(x, self.dims, traditional=self.traditional, base=self.base,
                          scale=self.scale, offset=offset)


class SinusoidalPositionalEncoding(Module):
    """Sine / cosine features of positions at ``dims // 2`` geometrically spaced
    frequencies between ``max_freq`` and ``min_freq``."""

    def __init__(self, dims: int, min_freq: float = 0.0001, max_freq: float = 1,
                 scale: Optional[float] = None, cos_first: bool = False, full_turns: bool = False):
        super().__init__()
        if dims <= 0 or dims % 2 != 0:
            raise ValueError(f"[SinusoidalPositionalEncoding] dims must be positive and even but got {dims}.")
        half = dims // 2
        frac = mx.array([1.0]) if dims == 2 else 1 - mx.arange(0, half) / (half - 1)
        lo, hi = math.log(min_freq), math.log(max_freq)
        sigmas = mx.exp(frac * (hi - lo) + lo)
        if full_turns:
            sigmas = sigmas * (2 * math.pi)
        self._sigmas = sigmas
        self.scale = scale if scale is not None else (2 / dims) ** 0.5
        self.cos_first = cos_first

    def __call__(self, x):
        y = x[..., None] * self._sigmas
        parts = [mx.cos(y), mx.sin(y)] if self.cos_first else [mx.sin(y), mx.cos(y)]
        y = mx.concatenate(parts, axis=-1)
        return y * self.scale if self.scale != 1 else y


class ALiBi(Module):
    """Attention with linear biases: adds ``-slope_h * |i - j|`` to attention scores."""

    @staticmethod
    def create_alibi_matrix(q_sequence_length: int, k_sequence_length: int, num_heads: int,
                            offset: int = 0, dtype: mx.Dtype = mx.float32):
        qi = mx.arange(offset, q_sequence_length)
        ki = mx.arange(0, k_sequence_length)
        dist = -mx.abs(mx.expand_dims(qi[:, None] - ki[None, :], axis=(0, 1)))
        return (dist * ALiBi.create_alibi_slope(num_heads=num_heads, dtype=dtype)).astype(dtype)

    @staticmethod
    def create_alibi_slope(num_heads: int, dtype: mx.Dtype = mx.float32):
        def slopes(n):
            if math.log2(n).is_integer():
                first = 2 ** (-(2 ** -(math.log2(n) - 3)))
                return [first * first**i for i in range(n)]
            p = 2 ** math.floor(math.log2(n))
            return slopes(p) + slopes(2 * p)[0::2][: n - p]

        return mx.expand_dims(mx.array(slopes(num_heads), dtype=dtype), axis=(-1, -2))

    def __call__(self, attention_scores, offset: int = 0, mask=None):
        bias = ALiBi.create_alibi_matrix(
            q_sequence_length=attention_scores.shape[-2] + offset,
            k_sequence_length=attention_scores.shape[-1],
            num_heads=attention_scores.shape[1], offset=offset, dtype=attention_scores.dtype)
        if mask is not None:
            bias = bias + mask
        return attention_scores + bias
