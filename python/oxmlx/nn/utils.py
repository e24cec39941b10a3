"""``value_and_grad`` / ``checkpoint`` over a module's trainable parameters."""

from functools import wraps
from typing import Any, Callable, Optional

import oxmlx.core as mx
from oxmlx.nn.layers.base import Module


def value_and_grad(model: Module, fn: Callable):
    """``fn``'s value and its gradient w.r.t. ``model.trainable_parameters()``.

    The returned function takes ``fn``'s arguments and returns ``(value, grads)``;
    ``grads`` has the structure of the trainable parameters.
    """

    def with_params(params, *args, **kwargs):
        model.update(params)
        return fn(*args, **kwargs)

    vg = mx.value_and_grad(with_params)

    @wraps(fn)
    def wrapped(*args, **kwargs):
        return vg(model.trainable_parameters(), *args, **kwargs)

    return wrapped


def checkpoint(module: Module, fn: Optional[Callable] = None):
    """``fn`` (default: the module) with its intermediate values recomputed in the
    backward pass (``mx.checkpoint``; a plain call where the core lacks it)."""
    fn = module if fn is None else fn

    def with_params(params, *args, **kwargs):
        module.update(params)
        return fn(*args, **kwargs)

    ck = getattr(mx, "checkpoint", None)
    inner = ck(with_params) if ck is not None else with_params

    @wraps(fn)
    def wrapped(*args, **kwargs):
        return inner(module.trainable_parameters(), *args, **kwargs)

    return wrapped


def average_gradients(gradients: Any, group: Optional[Any] = None, all_reduce_size: int = 32 * 1024**2,
                      communication_stream: Optional[Any] = None):
    """Average gradients over a distributed group. With a single process (the only
    case without ``mx.distributed``) the gradients are returned unchanged."""
    dist = getattr(mx, "distributed", None)
    if dist is None:
        if group is not None and group.size() != 1:
            raise ValueError("[average_gradients] mx.distributed is not available.")
        return gradients
    group = group or dist.init()
    n = group.size()
    if n == 1:
        return gradients
    from oxmlx.utils import tree_map

    return tree_map(lambda g: dist.all_sum(g, group=group, stream=communication_stream) / n, gradients)
