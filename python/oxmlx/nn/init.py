"""Parameter initializers (mirrors ``mlx.nn.init``): each factory returns a function
that maps an array to a new array of the same shape."""

import math
from typing import Callable, Literal

import oxmlx.core as mx


def constant(value: float, dtype: mx.Dtype = mx.float32) -> Callable[[mx.array], mx.array]:
    """Fill with ``value``."""

    def initializer(a):
        return mx.full(a.shape, value, dtype=dtype)

    return initializer


def normal(mean: float = 0.0, std: float = 1.0, dtype: mx.Dtype = mx.float32) -> Callable[[mx.array], mx.array]:
    """Samples of N(``mean``, ``std``^2)."""

    def initializer(a):
        return mx.random.normal(shape=a.shape, scale=std, loc=mean, dtype=dtype)

    return initializer


def uniform(low: float = 0.0, high: float = 1.0, dtype: mx.Dtype = mx.float32) -> Callable[[mx.array], mx.array]:
    """Samples of U(``low``, ``high``)."""

    def initializer(a):
        return mx.random.uniform(low, high, a.shape, dtype=dtype)

    return initializer


def identity(dtype: mx.Dtype = mx.float32) -> Callable[[mx.array], mx.array]:
    """The identity matrix (square 2-D inputs only)."""

    def initializer(arr):
        if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
            raise ValueError(f"The input array must be a square matrix but got shape {arr.shape}.")
        return mx.eye(n=arr.shape[0], dtype=dtype)

    return initializer


def _calculate_fan_in_fan_out(x):
    if x.ndim < 2:
        raise ValueError(
            "Glorot / He initialization requires at least 2 dimensional input"
            f" but input with {x.ndim} dimensions."
        )
    fan_in, fan_out = x.shape[-1], x.shape[0]
    if x.ndim > 2:
        field = math.prod(x.shape[1:-1])
        fan_in, fan_out = fan_in * field, fan_out * field
    return fan_in, fan_out


def glorot_normal(dtype: mx.Dtype = mx.float32) -> Callable[[mx.array, float], mx.array]:
    """N(0, gain^2 * 2 / (fan_in + fan_out))."""

    def initializer(a, gain: float = 1.0):
        fi, fo = _calculate_fan_in_fan_out(a)
        return mx.random.normal(shape=a.shape, scale=gain * math.sqrt(2.0 / (fi + fo)), dtype=dtype)

    return initializer


def glorot_uniform(dtype: mx.Dtype = mx.float32) -> Callable[[mx.array, float], mx.array]:
    """U(-l, l) with l = gain * sqrt(6 / (fan_in + fan_out))."""

    def initializer(a, gain: float = 1.0):
        fi, fo = _calculate_fan_in_fan_out(a)
        lim = gain * math.sqrt(6.0 / (fi + fo))
        return mx.random.uniform(-lim, lim, a.shape, dtype=dtype)

    return initializer


def _fan(a, mode):
    fi, fo = _calculate_fan_in_fan_out(a)
    if mode == "fan_in":
        return fi
    if mode == "fan_out":
        return fo
    raise ValueError(f"Invalid mode: {mode}. Valid modes are: fan_in, fan_out")


def he_normal(dtype: mx.Dtype = mx.float32) -> Callable[[mx.array, str, float], mx.array]:
    """N(0, gain^2 / fan) with fan the fan_in (default) or fan_out."""

    def initializer(a, mode: Literal["fan_in", "fan_out"] = "fan_in", gain: float = 1.0):
        return mx.random.normal(shape=a.shape, scale=gain / math.sqrt(_fan(a, mode)), dtype=dtype)

    return initializer


def he_uniform(dtype: mx.Dtype = mx.float32) -> Callable[[mx.array, str, float], mx.array]:
    """U(-l, l) with l = gain * sqrt(3 / fan)."""

    def initializer(a, mode: Literal["fan_in", "fan_out"] = "fan_in", gain: float = 1.0):
        lim = gain * math.sqrt(3.0 / _fan(a, mode))
        return mx.random.uniform(-lim, lim, a.shape, dtype=dtype)

    return initializer


def _random_order(shape):
    """Per-row random permutation ranks of a 2-D shape (argsort of uniform noise)."""
    noise = mx.random.uniform(shape=shape)
    if hasattr(mx, "argsort"):
        return mx.argsort(noise, axis=1), True
    # rank of each entry within its row: a random permutation as well
    rank = mx.sum(noise[:, None, :] < noise[:, :, None], axis=-1)
    return rank, False


def sparse(sparsity: float, mean: float = 0.0, std: float = 1.0, dtype: mx.Dtype = mx.float32) -> Callable[[mx.array], mx.array]:
    """N(``mean``, ``std``^2) with ``ceil(sparsity * cols)`` random zeros in each row (2-D only)."""

    def initializer(a):
        if a.ndim != 2:
            raise ValueError("Only tensors with 2 dimensions are supported")
        rows, cols = a.shape
        zeros = int(math.ceil(sparsity * cols))
        order, is_argsort = _random_order(a.shape)
        out = mx.random.normal(shape=a.shape, scale=std, loc=mean, dtype=dtype)
        if is_argsort:
            out[mx.arange(rows).reshape(rows, 1), order[:, :zeros]] = 0
            return out
        return mx.where(order < zeros, mx.array(0, dtype), out)

    return initializer


def _orthonormal_columns(m):
    """Q of the QR factorization of square ``m`` with a positive diagonal of R
    (``mx.linalg.qr`` when present, else modified Gram-Schmidt)."""
    linalg = getattr(mx, "linalg", None)
    if linalg is not None and hasattr(linalg, "qr"):
        q, r = linalg.qr(m, stream=mx.cpu)
        return q * mx.sign(mx.diag(r))
    n = m.shape[0]
    cols = []
    for j in range(n):
        v = m[:, j]
        for q in cols:
            v = v - mx.sum(q * v) * q
        cols.append(v / mx.sqrt(mx.sum(v * v)))
    return mx.stack(cols, axis=1)


def orthogonal(gain: float = 1.0, dtype: mx.Dtype = mx.float32) -> Callable[[mx.array], mx.array]:
    """A (semi-)orthogonal matrix scaled by ``gain`` (2-D only)."""

    def initializer(a):
        if a.ndim != 2:
            raise ValueError(f"Orthogonal initialization requires a 2D array but got a {a.ndim}D array.")
        rows, cols = a.shape
        n = max(rows, cols)
        q = _orthonormal_columns(mx.random.normal(shape=(n, n)))
        return (q[:rows, :cols] * gain).astype(dtype)

    return initializer
