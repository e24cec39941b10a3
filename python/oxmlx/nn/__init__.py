"""Neural network layers, losses and initializers (mirrors ``mlx.nn``)."""

from oxmlx.nn import init, losses  # noqa: F401
from oxmlx.nn.layers import *  # noqa: F401,F403
from oxmlx.nn.layers import Module  # noqa: F401
from oxmlx.nn.utils import average_gradients, checkpoint, value_and_grad  # noqa: F401
