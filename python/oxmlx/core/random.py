"""mx.random: MLX's key-based, splittable PRNG on threefry-2x32 bits.

Keys are (2,) uint32 arrays. Without an explicit ``key`` the functions use and
advance a global key set by :func:`seed`. Same seed, same numbers.
"""

import math
import time as _time

from oxmlx import _core as c
from oxmlx.core._composite import clip as _clip

_bits = c._random_bits


def _shape(shape):
    return [shape] if isinstance(shape, int) else list(shape)


class _State:
    key = None


def key(seed):
    """A PRNG key from an integer seed."""
    seed = int(seed)
    return c.array([(seed >> 32) & 0xFFFFFFFF, seed & 0xFFFFFFFF], dtype=c.uint32)


def seed(seed):
    """Seed the global PRNG."""
    _State.key = key(seed)


def _next_key(k):
    if k is not None:
        return k
    if _State.key is None:
        _State.key = key(_time.time_ns())
    k, _State.key = split(_State.key)
    return k


def split(key, num=2, *, stream=None):
    """``num`` new keys (shape (num, 2)) derived from ``key``."""
    return _bits([num, 2], key)


def bits(shape=(), width=4, *, key=None, stream=None):
    """Random bits of ``width`` bytes (1, 2 or 4) per element."""
    shape = _shape(shape)
    b = _bits(shape, _next_key(key))
    if width == 4:
        return b
    if width == 2:
        return (b >> 16).astype(c.uint16)
    if width == 1:
        return (b >> 24).astype(c.uint8)
    raise ValueError(f"[random.bits] width must be 1, 2 or 4, got {width}.")


def _unit(shape, k):
    # 24 random mantissa bits -> [0, 1) exactly representable in float32.
    return (bits(shape, key=k) >> 8).astype(c.float32) * (1.0 / (1 << 24))


def uniform(low=0.0, high=1.0, shape=(), dtype=c.float32, key=None, *, stream=None):
    """Uniform samples in [low, high)."""
    shape = _shape(shape)
    low, high = c.array(low), c.array(high)
    shape = list(c.broadcast_shapes(tuple(shape), low.shape, high.shape))
    u = _unit(shape, _next_key(key)).astype(dtype)
    return low.astype(dtype) + u * (high - low).astype(dtype)


def normal(shape=(), dtype=c.float32, loc=0.0, scale=1.0, key=None, *, stream=None):
    """Normal samples (inverse-CDF of uniform bits)."""
    shape = _shape(shape)
    u = _unit(shape, _next_key(key))
    lo = math.nextafter(-1.0, 0.0)
    z = c.erfinv(_clip(u * 2.0 - 1.0, lo, -lo)) * math.sqrt(2.0)
    return (z * scale + loc).astype(dtype)


def randint(low, high, shape=(), dtype=c.int32, key=None, *, stream=None):
    """Integers in [low, high)."""
    shape = _shape(shape)
    low_a, high_a = c.array(low), c.array(high)
    u = _unit(shape, _next_key(key))
    span = (high_a - low_a).astype(c.float32)
    r = c.floor(u * span).astype(c.int64) + low_a.astype(c.int64)
    return c.minimum(r, high_a.astype(c.int64) - 1).astype(dtype)


def bernoulli(p=0.5, shape=None, key=None, *, stream=None):
    """Booleans that are True with probability ``p``."""
    p = c.array(p)
    shape = list(p.shape) if shape is None else (_shape(shape))
    return c.less(_unit(shape, _next_key(key)), p)


def truncated_normal(lower, upper, shape=None, dtype=c.float32, key=None, *, stream=None):
    """Normal samples restricted to [lower, upper] (inverse CDF on the clipped range)."""
    lower, upper = c.array(lower, c.float32), c.array(upper, c.float32)
    shape = list(c.broadcast_shapes(lower.shape, upper.shape)) if shape is None else list(shape)
    sq2 = math.sqrt(2.0)
    a, b = c.erf(lower / sq2), c.erf(upper / sq2)
    u = _unit(shape, _next_key(key))
    lo = math.nextafter(-1.0, 0.0)
    z = c.erfinv(_clip(a + u * (b - a), lo, -lo)) * sq2
    return _clip(z, lower, upper).astype(dtype)


def gumbel(shape=(), dtype=c.float32, key=None, *, stream=None):
    u = _unit(_shape(shape), _next_key(key))
    return (-c.log(-c.log(_clip(u, 1e-20, 1.0 - 1e-7)))).astype(dtype)


def laplace(shape=(), dtype=c.float32, loc=0.0, scale=1.0, key=None, *, stream=None):
    u = _unit(_shape(shape), _next_key(key)) * 2.0 - 1.0
    u = _clip(u, -1.0 + 1e-7, 1.0 - 1e-7)
    return (loc - scale * c.sign(u) * c.log1p(-c.abs(u))).astype(dtype)


def categorical(logits, axis=-1, shape=None, num_samples=None, key=None, *, stream=None):
    """Samples of the categorical distribution given by ``logits`` (Gumbel-max)."""
    logits = c.array(logits) if not isinstance(logits, c.array) else logits
    axis = axis % logits.ndim
    batch = list(logits.shape[:axis]) + list(logits.shape[axis + 1:])
    if num_samples is not None and shape is not None:
        raise ValueError("[categorical] At most one of shape or num_samples can be specified.")
    if num_samples is not None:
        shape = batch + [num_samples]
    if shape is None:
        shape = batch
    lg = c.expand_dims(c.moveaxis(logits, axis, -1), -2) if len(shape) > len(batch) else c.moveaxis(logits, axis, -1)
    target = list(shape) + [logits.shape[axis]]
    g = gumbel(target, key=_next_key(key))
    return c.argmax(lg + g, axis=-1).astype(c.uint32)


__all__ = ["key", "seed", "split", "bits", "uniform", "normal", "randint", "bernoulli",
           "truncated_normal", "gumbel", "laplace", "categorical"]


class _KeyState(list):
    """``mx.random.state``: a one-element list view of the global key, so that
    compile can capture it (``mx.compile(f, inputs=mx.random.state,
    outputs=mx.random.state)``) as in MLX."""

    def __init__(self):
        super().__init__([None])

    def __getitem__(self, i):
        if i not in (0, -1):
            raise IndexError("list index out of range")
        return _State.key

    def __setitem__(self, i, value):
        if i not in (0, -1):
            raise IndexError("list assignment index out of range")
        _State.key = value

    def __iter__(self):
        yield _State.key

    def __len__(self):
        return 1

    def __repr__(self):
        return repr([_State.key])


state = _KeyState()
