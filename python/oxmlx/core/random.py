"""mx.random: MLX's key-based, splittable PRNG on threefry-2x32 bits.

Keys are (2,) uint32 arrays. Without an explicit ``key`` the functions use and
advance a global key set by :func:`seed`. The bit layout and every sampler's
arithmetic follow MLX's, so the same key (or seed) gives the same numbers as
``mlx.core.random`` (up to the last ulp of the transcendental functions).
"""

import math
import time as _time

from oxmlx import _core as c

_bits = c._random_bits


def _shape(shape):
    return [shape] if isinstance(shape, int) else list(shape)


def _arr(x, dtype=None):
    if isinstance(x, c.array):
        return x if dtype is None else x.astype(dtype)
    return c.array(x) if dtype is None else c.array(x, dtype)


class _State:
    key = None


def key(seed):
    """A PRNG key from an integer seed."""
    seed = int(seed) & 0xFFFFFFFFFFFFFFFF
    return c.array([(seed >> 32) & 0xFFFFFFFF, seed & 0xFFFFFFFF], dtype=c.uint32)


def seed(seed):
    """Seed the global PRNG."""
    _State.key = key(seed)


def _next_key(k):
    if k is not None:
        return k
    if _State.key is None:
        _State.key = key(_time.time_ns())
    # As MLX's key sequence: keep the first half of the split, hand out the second.
    both = split(_State.key)
    _State.key, out = both[0], both[1]
    return out


def split(key, num=2, stream=None):
    """``num`` new keys (shape (num, 2)) derived from ``key``."""
    return _bits([num, 2], key, 4, stream)


def bits(shape=(), width=4, key=None, stream=None):
    """Random bits of ``width`` bytes (1, 2 or 4) per element."""
    return _bits(_shape(shape), _next_key(key), width, stream)


def _check_shape(op, shape, *arrs):
    out = tuple(shape)
    for a in arrs:
        out = c.broadcast_shapes(out, tuple(a.shape))
    if tuple(out) != tuple(shape):
        fmt = lambda sh: "(" + ",".join(str(int(d)) for d in sh) + ")"  # noqa: E731 (MLX's format)
        raise ValueError(f"[{op}] Cannot generate random values of shape {fmt(shape)} "
                         f"from broadcasted shape {fmt(out)}.")


_BELOW_ONE = {
    "float32": math.nextafter(1.0, 0.0),
    "float16": 1.0 - 2.0**-11,
    "bfloat16": 1.0 - 2.0**-8,
}


def _is_float(dtype):
    return c.issubdtype(dtype, c.floating)


def uniform(low=0, high=1, shape=(), dtype=c.float32, key=None, stream=None):
    """Uniform samples in [low, high)."""
    if dtype is None:
        dtype = c.float32
    if not _is_float(dtype):
        raise ValueError("[uniform] Can only generate uniform numbers with real floating point type.")
    name = repr(dtype).split(".")[-1]
    if name not in _BELOW_ONE:
        raise RuntimeError("[uniform] Unsupported type.")
    shape = _shape(shape)
    lo = _arr(low).astype(dtype, stream=stream)
    hi = _arr(high).astype(dtype, stream=stream)
    rng = c.subtract(hi, lo, stream=stream)
    _check_shape("uniform", shape, rng)
    u = c.divide(_bits(shape, _next_key(key), 4, stream),
                 c.array(float(0xFFFFFFFF), c.float32), stream=stream)
    u = c.minimum(u, c.array(_BELOW_ONE[name], c.float32), stream=stream).astype(dtype, stream=stream)
    return c.add(c.multiply(rng, u, stream=stream), lo, stream=stream)


# MLX's lower bound of the symmetric uniform draw: the float32 just above -1.
_LOW = -(1.0 - 2.0**-24)


def normal(shape=(), dtype=c.float32, loc=None, scale=None, key=None, stream=None):
    """Normal samples (inverse error function of uniform samples)."""
    if dtype is None:
        dtype = c.float32
    shape = _shape(shape)
    if dtype == c.complex64:
        u = uniform(_LOW, 1.0, shape + [2], c.float32, key, stream)
        z = c.erfinv(u, stream=stream)
        z = c.add(c.multiply(z[..., 0], 1.0, stream=stream),
                  c.multiply(z[..., 1], c.array(1j, c.complex64), stream=stream), stream=stream)
        if scale is not None:
            z = c.multiply(_arr(scale), z, stream=stream)
        if loc is not None:
            z = c.add(_arr(loc), z, stream=stream)
        return z
    if not _is_float(dtype):
        raise ValueError("[normal] Can only generate uniform numbers with floating point type.")
    u = uniform(_LOW, 1.0, shape, c.float32, key, stream)
    applied = c.array(math.sqrt(2.0), dtype)
    if scale is not None:
        applied = c.multiply(applied, _arr(scale).astype(dtype), stream=stream)
    z = c.erfinv(u, stream=stream).astype(dtype, stream=stream)
    z = c.multiply(applied, z, stream=stream)
    if loc is not None:
        z = c.add(_arr(loc).astype(dtype), z, stream=stream)
    return z


def randint(low, high, shape=(), dtype=c.int32, key=None, stream=None):
    """Integers in [low, high)."""
    if dtype is None:
        dtype = c.int32
    if c.issubdtype(dtype, c.inexact):
        raise ValueError("[randint] randint only accepts integer dtypes and bool.")
    shape = _shape(shape)
    lo, hi = _arr(low), _arr(high)
    # As MLX 0.32: a float32 uniform draw in [low, high), floored into dtype.
    u = c.floor(uniform(lo, hi, shape, c.float32, key, stream), stream=stream)
    return c.maximum(u, lo, stream=stream).astype(dtype, stream=stream)


def bernoulli(p=0.5, shape=None, key=None, stream=None):
    """Booleans that are True with probability ``p``."""
    p = _arr(p)
    if not c.issubdtype(p.dtype, c.floating):
        raise ValueError("[bernoulli] bernoulli probability `p` must be a float type.")
    shape = list(p.shape) if shape is None else _shape(shape)
    # p scaled to [0, next float above UINT32_MAX]: p >= 1 is always True.
    upper = c.array(math.nextafter(float(0xFFFFFFFF), math.inf), c.float32)
    res = c.less(_bits(shape, _next_key(key), 4, stream), c.multiply(p, upper, stream=stream),
                 stream=stream)
    if list(res.shape) != shape:
        raise ValueError("[bernoulli] shape of `p` is incompatible with argument `shape`.")
    return res


def truncated_normal(lower, upper, shape=None, dtype=c.float32, key=None, stream=None):
    """Normal samples restricted to [lower, upper]."""
    if dtype is None:
        dtype = c.float32
    if not _is_float(dtype):
        raise ValueError("[trunc_normal] trunc_normal only accepts floating point dtypes.")
    lower, upper = _arr(lower), _arr(upper)
    if shape is None:
        shape = list(c.broadcast_shapes(tuple(lower.shape), tuple(upper.shape)))
    sqrt2 = c.array(math.sqrt(2.0), dtype)
    lo = lower.astype(dtype, stream=stream)
    hi = upper.astype(dtype, stream=stream)
    a = c.erf(c.divide(lo, sqrt2, stream=stream), stream=stream)
    b = c.erf(c.divide(hi, sqrt2, stream=stream), stream=stream)
    u = uniform(a, b, _shape(shape), dtype, key, stream)
    out = c.multiply(sqrt2, c.erfinv(u, stream=stream), stream=stream)
    return c.maximum(c.minimum(hi, out, stream=stream), lo, stream=stream)


def gumbel(shape=(), dtype=c.float32, key=None, stream=None):
    """Samples of the standard Gumbel distribution."""
    u = uniform(shape=_shape(shape), dtype=dtype or c.float32, key=key, stream=stream)
    return c.negative(c.log(c.negative(c.log(u, stream=stream), stream=stream), stream=stream),
                      stream=stream)


def laplace(shape=(), dtype=c.float32, loc=0.0, scale=1.0, key=None, stream=None):
    """Samples of the Laplace distribution."""
    if dtype is None:
        dtype = c.float32
    if not _is_float(dtype):
        raise ValueError("[laplace] Can only generate uniform numbers with real floating point type.")
    u = uniform(_LOW, 1.0, _shape(shape), c.float32, key, stream)
    s = c.multiply(c.sign(u, stream=stream),
                   c.log1p(c.multiply(c.array(-1.0, dtype), c.abs(u, stream=stream), stream=stream),
                           stream=stream), stream=stream).astype(dtype, stream=stream)
    if scale != 1.0:
        s = c.multiply(c.array(scale, dtype), s, stream=stream)
    if loc != 0.0:
        s = c.add(c.array(loc, dtype), s, stream=stream)
    return s


def _valid_axis(axis, ndim):
    ax = axis + ndim if axis < 0 else axis
    if ax < 0 or ax >= ndim:
        raise ValueError(f"[categorical] Invalid axis {axis} for logits with {ndim} dimensions.")
    return ax


def _categorical(logits, axis, shape, key, stream):
    gshape = list(shape)
    offset = axis + len(shape) - logits.ndim + 1
    gshape.insert(offset, logits.shape[axis])
    g = gumbel(gshape, c.float32, key, stream)
    return c.argmax(c.add(g, logits, stream=stream), axis=offset, stream=stream)


def categorical(logits, axis=-1, shape=None, num_samples=None, key=None, stream=None):
    """Samples of the categorical distribution given by unnormalized ``logits``."""
    logits = _arr(logits)
    if shape is not None and num_samples is not None:
        raise ValueError("[categorical] At most one of shape or num_samples can be specified.")
    axis = _valid_axis(axis, logits.ndim)
    if num_samples is not None:
        lg = c.expand_dims(logits, -1)
        sh = list(lg.shape)
        del sh[axis]
        sh[-1] = num_samples
        return _categorical(lg, axis, sh, key, stream)
    reduced = list(logits.shape)
    del reduced[axis]
    if shape is None:
        shape = reduced
    shape = _shape(shape)
    if list(c.broadcast_shapes(tuple(shape), tuple(reduced))) != shape:
        raise ValueError(f"[categorical] Requested shape {tuple(shape)} is not broadcast compatible "
                         f"with reduced logits shape {tuple(reduced)}.")
    return _categorical(logits, axis, shape, key, stream)


def permutation(x, axis=0, key=None, stream=None):
    """A random permutation of ``range(x)`` (uint32, as MLX), or ``x`` shuffled
    along ``axis``: the argsort of fresh random bits."""
    if isinstance(x, int) and not isinstance(x, bool):
        if x < 0:
            raise ValueError(f"[permutation] Received negative size {x}.")
        return c.argsort(_bits([x], _next_key(key), 4, stream), stream=stream)
    x = _arr(x)
    if axis < -x.ndim or axis >= x.ndim:
        raise IndexError(f"[permutation] Invalid axis {axis} for array with {x.ndim} dimensions.")
    perm = permutation(x.shape[axis], key=key, stream=stream)
    return c.take(x, perm, axis=axis, stream=stream)


__all__ = ["key", "seed", "split", "bits", "uniform", "normal", "randint", "bernoulli",
           "truncated_normal", "gumbel", "laplace", "categorical", "permutation",
           "multivariate_normal", "state"]


def multivariate_normal(mean, cov, shape=[], dtype=c.float32, key=None, stream=None):
    """Jointly normal samples: ``mean + z @ cov^(1/2)`` with the symmetric
    square root ``U diag(sqrt(S)) Vt`` of ``cov`` from its SVD (as MLX)."""
    mean = mean if isinstance(mean, c.array) else c.array(mean)
    cov = cov if isinstance(cov, c.array) else c.array(cov)
    if dtype != c.float32:
        raise ValueError("[multivariate_normal] dtype must be float32.")
    if mean.ndim < 1:
        raise ValueError("[multivariate_normal] mean must have at least one dimension.")
    if cov.ndim < 2:
        raise ValueError("[multivariate_normal] cov must have at least two dimensions.")
    if cov.shape[-1] != cov.shape[-2]:
        raise ValueError("[multivariate_normal] last two dimensions of cov must be equal.")
    n = mean.shape[-1]
    if cov.shape[-1] != n:
        raise ValueError("[multivariate_normal] mean and cov must have compatible shapes.")
    batch = list(c.broadcast_shapes(tuple(mean.shape[:-1]), tuple(cov.shape[:-2])))
    out = list(shape) if len(shape) else batch
    c.broadcast_shapes(tuple(out), tuple(batch))  # raises when incompatible
    z = normal(out + [n], dtype, key=key)
    u, s, vt = c.linalg.svd(cov.astype(dtype), stream=stream)
    std = c.matmul(u * c.expand_dims(c.sqrt(s), -2), vt)
    return mean.astype(dtype) + c.squeeze(c.matmul(c.expand_dims(z, -2), c.swapaxes(std, -1, -2)), -2)


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
