"""Embedding lookup table."""

import math
from typing import Optional

import oxmlx.core as mx
from oxmlx.nn.layers.base import Module


class Embedding(Module):
    r"""Lookup table of ``num_embeddings`` vectors of size ``dims``, drawn from
    :math:`\mathcal{N}(0, 1/\text{dims})`."""

    def __init__(self, num_embeddings: int, dims: int):
        super().__init__()
        self.weight = mx.random.normal(shape=(num_embeddings, dims), scale=math.sqrt(1 / dims))

    def _extra_repr(self):
        return f"{self.weight.shape[0]}, {self.weight.shape[1]}"

    def __call__(self, x):
        return self.weight[x]

    def as_linear(self, x):
        """Use the table as a linear layer (tied output projection): ``x @ weight.T``."""
        return x @ self.weight.T

    def to_quantized(self, group_size: Optional[int] = None, bits: Optional[int] = None,
                     mode: str = "affine", quantize_input: bool = False):
        """A :class:`QuantizedEmbedding` holding this table quantized."""
        from oxmlx.nn.layers.quantized import QuantizedEmbedding

        if quantize_input:
            raise ValueError("Quantized input is not supported.")
        return QuantizedEmbedding.from_embedding(self, group_size, bits, mode)
