"""Sequential container."""

from oxmlx.nn.layers.base import Module


class Sequential(Module):
    """Calls its modules (or callables) in order; they are kept in ``layers``."""

    def __init__(self, *modules):
        super().__init__()
        self.layers = list(modules)

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x
