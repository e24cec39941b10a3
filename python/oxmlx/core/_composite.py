"""Ops of mlx.core built by composing core ops (they run through the kernel
families of the waist and are differentiable through the core's rules).

These are Python compositions for now; the C ABI will get C++ versions when
they move into csrc/ops.
"""

import builtins
import math

import numpy as _np

from oxmlx import _core as c

_sl = c._strided_slice
_slu = c._strided_slice_update


def _axes(axis, ndim):
    if axis is None:
        return list(range(ndim))
    if isinstance(axis, int):
        axis = [axis]
    out = []
    for a in axis:
        if a < -ndim or a >= ndim:
            raise IndexError(f"Invalid axis {a} for array with {ndim} dimensions.")
        out.append(a % ndim)
    return out


def _axis(a, ndim, op):
    if a < -ndim or a >= ndim:
        raise IndexError(f"[{op}] Invalid axis {a} for array with {ndim} dimensions.")
    return a % ndim


def _arr(x):
    return x if isinstance(x, c.array) else c.array(x)


def _take_range(a, axis, start, stop, step=1):
    st = [0] * a.ndim
    sp = list(a.shape)
    sd = [1] * a.ndim
    st[axis], sp[axis], sd[axis] = start, stop, step
    return _sl(a, st, sp, sd)


# ---------------------------------------------------------------- reductions


def logsumexp(a, /, axis=None, keepdims=False, *, stream=None):
    a = _arr(a)
    if c.issubdtype(a.dtype, c.complexfloating):
        m = c.stop_gradient(c.max(a, axis=axis, keepdims=True, stream=stream))
        m = c.where(c.isinf(m), c.zeros_like(m), m)
        r = c.log(c.sum(c.exp(a - m), axis=axis, keepdims=True, stream=stream)) + m
        return r if keepdims else c.squeeze(r, axis=tuple(_axes(axis, a.ndim)))
    # One fused kernel per row (max-shifted, float32 accumulation); vjp in C++.
    return c._logsumexp(a, axis, keepdims, stream)


def softmax(a, /, axis=None, *, precise=False, stream=None):
    a = _arr(a)
    if c.issubdtype(a.dtype, c.complexfloating):
        e = c.exp(a - c.stop_gradient(c.max(a, axis=axis, keepdims=True)))
        return e / c.sum(e, axis=axis, keepdims=True)
    # One fused kernel (float32 accumulation for every dtype, so precise=True
    # and False both get the precise result); its vjp/jvp are in C++.
    return c._softmax(a, axis, precise, stream)


def std(a, /, axis=None, keepdims=False, ddof=0, *, stream=None):
    return c.sqrt(c.var(a, axis=axis, keepdims=keepdims, ddof=ddof, stream=stream))


def count_nonzero(a, /, *, axis=None, keepdims=False, stream=None):
    return c.sum(c.not_equal(_arr(a), 0), axis=axis, keepdims=keepdims).astype(c.int32)


def minmax(a, /, axis=None, keepdims=False, *, stream=None):
    return c.min(a, axis=axis, keepdims=keepdims), c.max(a, axis=axis, keepdims=keepdims)


# ---------------------------------------------------------------- elementwise


def clip(a, /, a_min, a_max, *, stream=None):
    if a_min is None and a_max is None:
        raise ValueError("[clip] One of a_min or a_max must be provided.")
    a = _arr(a)
    if a_min is not None:
        a = c.maximum(a, a_min)
    if a_max is not None:
        a = c.minimum(a, a_max)
    return a


def isclose(a, b, /, rtol=1e-05, atol=1e-08, *, equal_nan=False, stream=None):
    a, b = _arr(a), _arr(b)
    close = c.less_equal(c.abs(a - b), atol + rtol * c.abs(b))
    both_inf = c.logical_and(c.isinf(a), c.equal(a, b))
    out = c.logical_or(close, both_inf)
    if equal_nan:
        out = c.logical_or(out, c.logical_and(c.isnan(a), c.isnan(b)))
    return out


def allclose(a, b, /, rtol=1e-05, atol=1e-08, *, equal_nan=False, stream=None):
    return c.all(isclose(a, b, rtol, atol, equal_nan=equal_nan))


def array_equal(a, b, equal_nan=False, stream=None):
    a, b = _arr(a), _arr(b)
    if a.shape != b.shape:
        return c.array(False)
    eq = c.equal(a, b)
    if equal_nan:
        eq = c.logical_or(eq, c.logical_and(c.isnan(a), c.isnan(b)))
    return c.all(eq)


def nan_to_num(a, nan=0.0, posinf=None, neginf=None, *, stream=None):
    a = _arr(a)
    if not c.issubdtype(a.dtype, c.inexact):
        return a
    fi = finfo(a.dtype)
    posinf = fi.max if posinf is None else posinf
    neginf = fi.min if neginf is None else neginf
    a = c.where(c.isnan(a), c.array(nan, a.dtype), a)
    a = c.where(c.isposinf(a), c.array(posinf, a.dtype), a)
    return c.where(c.isneginf(a), c.array(neginf, a.dtype), a)


def degrees(a, /, *, stream=None):
    return c.multiply(a, 180.0 / math.pi)


def radians(a, /, *, stream=None):
    return c.multiply(a, math.pi / 180.0)


def divmod(a, b, stream=None):  # noqa: A001 - MLX's name
    return [c.floor_divide(a, b), c.remainder(a, b)]


def logical_xor(a, b, /, *, stream=None):
    return c.not_equal(c.astype(_arr(a), c.bool_), c.astype(_arr(b), c.bool_))


def positive(a, /, *, stream=None):
    return _arr(a)


# ---------------------------------------------------------------- shape


def concatenate(arrays, axis=0, *, stream=None):
    arrays = [_arr(x) for x in arrays]
    if not arrays:
        raise ValueError("[concatenate] No arrays provided for concatenation.")
    if axis is None:
        arrays = [x.reshape(-1) for x in arrays]
        axis = 0
    nd = arrays[0].ndim
    axis = _axis(axis, nd, "concatenate")
    dt = arrays[0].dtype
    for x in arrays[1:]:
        if x.ndim != nd or any(x.shape[i] != arrays[0].shape[i] for i in range(nd) if i != axis):
            raise ValueError(
                f"[concatenate] All the input array dimensions must match exactly except for the "
                f"concatenation axis. However, the provided shapes are {arrays[0].shape} and {x.shape}, "
                f"and the concatenation axis is {axis}."
            )
        dt = c.promote_types(dt, x.dtype)
    shape = list(arrays[0].shape)
    shape[axis] = builtins.sum(x.shape[axis] for x in arrays)
    out = c.zeros(shape, dt)
    pos = 0
    for x in arrays:
        st = [0] * nd
        sp = list(shape)
        st[axis], sp[axis] = pos, pos + x.shape[axis]
        out = _slu(out, x.astype(dt), st, sp, [1] * nd)
        pos += x.shape[axis]
    return out


concat = concatenate


def stack(arrays, axis=0, *, stream=None):
    arrays = [_arr(x) for x in arrays]
    if not arrays:
        raise ValueError("[stack] No arrays provided for stacking.")
    for x in arrays[1:]:
        if x.shape != arrays[0].shape:
            raise ValueError(f"[stack] All arrays must have the same shape, got {arrays[0].shape} and {x.shape}.")
    return concatenate([c.expand_dims(x, axis) for x in arrays], axis=axis)


def split(a, /, indices_or_sections, axis=0, *, stream=None):
    a = _arr(a)
    axis = _axis(axis, a.ndim, "split")
    n = a.shape[axis]
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        if k <= 0 or n % k != 0:
            raise ValueError(f"[split] Cannot split array of size {n} into {k} equal parts.")
        bounds = [i * (n // k) for i in range(1, k)]
    else:
        bounds = list(indices_or_sections)
    edges = [0] + [builtins.min(builtins.max(b, 0), n) for b in bounds] + [n]
    return [_take_range(a, axis, edges[i], builtins.max(edges[i], edges[i + 1])) for i in range(len(edges) - 1)]


def unstack(x, /, *, axis=0, stream=None):
    axis = _axis(axis, x.ndim, "unstack")
    return [c.squeeze(p, axis) for p in split(x, x.shape[axis], axis)] if x.shape[axis] else []


def unflatten(a, /, axis, shape, *, stream=None):
    axis = _axis(axis, a.ndim, "unflatten")
    return a.reshape(list(a.shape[:axis]) + list(shape) + list(a.shape[axis + 1:]))


def flip(a, /, axis=None, *, stream=None):
    st, sp, sd = [0] * a.ndim, list(a.shape), [1] * a.ndim
    for ax in _axes(axis, a.ndim):
        st[ax], sp[ax], sd[ax] = a.shape[ax] - 1, -1, -1
    return _sl(a, st, sp, sd)


def pad(a, pad_width, mode="constant", constant_values=0, *, stream=None):
    a = _arr(a)
    nd = a.ndim
    if isinstance(pad_width, int):
        widths = [(pad_width, pad_width)] * nd
    else:
        pw = list(pad_width)
        if len(pw) and isinstance(pw[0], int):
            widths = [(pw[0], pw[-1])] * nd if len(pw) in (1, 2) else None
        elif len(pw) == 1:
            widths = [tuple(pw[0]) if len(pw[0]) == 2 else (pw[0][0], pw[0][0])] * nd
        else:
            widths = [tuple(p) if len(p) == 2 else (p[0], p[0]) for p in pw]
        if widths is None or len(widths) != nd:
            raise ValueError(f"[pad] Invalid pad_width {pad_width} for array with {nd} dimensions.")
    if any(lo < 0 or hi < 0 for lo, hi in widths):
        raise ValueError("[pad] Pad widths must be non-negative.")
    if mode == "constant":
        shape = [d + lo + hi for d, (lo, hi) in zip(a.shape, widths)]
        out = c.full(shape, c.array(constant_values).astype(a.dtype))
        st = [lo for lo, _ in widths]
        sp = [lo + d for d, (lo, _) in zip(a.shape, widths)]
        return _slu(out, a, st, sp, [1] * nd)
    if mode == "edge":
        out = a
        for ax, (lo, hi) in enumerate(widths):
            n = out.shape[ax]
            if n == 0 and (lo or hi):
                raise ValueError("[pad] Cannot edge-pad an empty axis.")
            parts = []
            if lo:
                parts.append(repeat(_take_range(out, ax, 0, 1), lo, axis=ax))
            parts.append(out)
            if hi:
                parts.append(repeat(_take_range(out, ax, n - 1, n), hi, axis=ax))
            out = concatenate(parts, axis=ax) if len(parts) > 1 else out
        return out
    raise ValueError(f"[pad] Unsupported mode '{mode}' (supported: constant, edge).")


def repeat(array, repeats, axis=None, *, stream=None):
    a = _arr(array)
    if repeats < 0:
        raise ValueError("[repeat] Number of repeats cannot be negative.")
    if axis is None:
        a = a.reshape(-1)
        axis = 0
    axis = _axis(axis, a.ndim, "repeat")
    e = c.expand_dims(a, axis + 1)
    shape = list(e.shape)
    shape[axis + 1] = repeats
    out = list(a.shape)
    out[axis] *= repeats
    return c.broadcast_to(e, shape).reshape(out)


def tile(a, reps, /, *, stream=None):
    a = _arr(a)
    reps = [reps] if isinstance(reps, int) else list(reps)
    nd = builtins.max(a.ndim, len(reps))
    reps = [1] * (nd - len(reps)) + reps
    a = a.reshape([1] * (nd - a.ndim) + list(a.shape))
    inter = []
    target = []
    for r, d in zip(reps, a.shape):
        inter += [1, d]
        target += [r, d]
    return c.broadcast_to(a.reshape(inter), target).reshape([r * d for r, d in zip(reps, a.shape)])


def roll(a, shift, axis=None, *, stream=None):
    a = _arr(a)
    if axis is None:
        return roll(a.reshape(-1), shift, 0).reshape(a.shape)
    axes = [axis] if isinstance(axis, int) else list(axis)
    shifts = [shift] * len(axes) if isinstance(shift, int) else list(shift)
    if len(shifts) != len(axes):
        raise ValueError("[roll] shift and axis must have the same number of elements.")
    for s, ax in zip(shifts, axes):
        ax = _axis(ax, a.ndim, "roll")
        n = a.shape[ax]
        if n == 0:
            continue
        s %= n
        if s:
            a = concatenate([_take_range(a, ax, n - s, n), _take_range(a, ax, 0, n - s)], axis=ax)
    return a


def meshgrid(*arrays, sparse=False, indexing="xy", stream=None):
    if indexing not in ("xy", "ij"):
        raise ValueError(f"[meshgrid] Invalid indexing value '{indexing}' (expected 'xy' or 'ij').")
    arrays = [_arr(x).reshape(-1) for x in arrays]
    n = len(arrays)
    outs = []
    for i, x in enumerate(arrays):
        shape = [1] * n
        shape[i] = -1
        outs.append(x.reshape(shape))
    if indexing == "xy" and n >= 2:
        outs = [c.swapaxes(o, 0, 1) for o in outs]
    if not sparse:
        outs = c.broadcast_arrays(*outs)
    return list(outs)


def _atleast(arys, n):
    outs = []
    for x in arys:
        x = _arr(x)
        if x.ndim < n:
            if n == 3 and x.ndim == 2:
                x = c.expand_dims(x, 2)
            elif n == 3 and x.ndim == 1:
                x = x.reshape(1, -1, 1)
            else:
                x = x.reshape([1] * (n - x.ndim) + list(x.shape))
        outs.append(x)
    return outs[0] if len(outs) == 1 else outs


def atleast_1d(*arys, stream=None):
    return _atleast(arys, 1)


def atleast_2d(*arys, stream=None):
    return _atleast(arys, 2)


def atleast_3d(*arys, stream=None):
    return _atleast(arys, 3)


def matrix_transpose(a, /, *, stream=None):
    return c.swapaxes(a, -1, -2)


def tril(x, k=0, *, stream=None):
    if x.ndim < 2:
        raise ValueError("[tril] Array must have at least 2 dimensions.")
    m = c.tri(x.shape[-2], x.shape[-1], k, dtype=c.bool_)
    return c.where(m, x, c.zeros_like(x))


def triu(x, k=0, *, stream=None):
    if x.ndim < 2:
        raise ValueError("[triu] Array must have at least 2 dimensions.")
    m = c.tri(x.shape[-2], x.shape[-1], k - 1, dtype=c.bool_)
    return c.where(m, c.zeros_like(x), x)


def diagonal(a, offset=0, axis1=0, axis2=1, stream=None):
    a = _arr(a)
    ax1, ax2 = _axis(axis1, a.ndim, "diagonal"), _axis(axis2, a.ndim, "diagonal")
    if ax1 == ax2:
        raise ValueError("[diagonal] axis1 and axis2 cannot be the same axis.")
    n1, n2 = a.shape[ax1], a.shape[ax2]
    r0, c0 = (0, offset) if offset >= 0 else (-offset, 0)
    length = builtins.max(0, builtins.min(n1 - r0, n2 - c0))
    rest = [i for i in range(a.ndim) if i not in (ax1, ax2)]
    x = c.contiguous(c.transpose(a, rest + [ax1, ax2]))
    strides = []
    acc = 1
    for d in reversed(x.shape):
        strides.insert(0, acc)
        acc *= d
    shape = list(x.shape[:-2]) + [length]
    st = strides[:-2] + [strides[-2] + strides[-1]]
    off = r0 * strides[-2] + c0 * strides[-1] if length else 0
    return c.as_strided(x, shape, st, off)


def diag(a, /, k=0, *, stream=None):
    a = _arr(a)
    if a.ndim == 1:
        n = a.shape[0] + builtins.abs(k)
        # Row r of the result holds its diagonal element a[r - max(-k, 0)].
        row_vals = pad(a, [(builtins.max(-k, 0), builtins.max(k, 0))])
        return c.where(c.eye(n, n, k, dtype=c.bool_), c.expand_dims(row_vals, 1), c.zeros((1, 1), a.dtype))
    if a.ndim == 2:
        return diagonal(a, k, 0, 1)
    raise ValueError("[diag] Input must be 1-dimensional or 2-dimensional.")


def trace(a, /, offset=0, axis1=0, axis2=1, dtype=None, *, stream=None):
    d = diagonal(a, offset, axis1, axis2)
    if dtype is not None:
        d = d.astype(dtype)
    return c.sum(d, axis=-1)


def diff(a, /, n=1, axis=-1, *, stream=None):
    a = _arr(a)
    axis = _axis(axis, a.ndim, "diff")
    if n < 0:
        raise ValueError(f"[diff] Order must be non-negative but got {n}.")
    for _ in range(n):
        m = a.shape[axis]
        a = _take_range(a, axis, 1, builtins.max(m, 1)) - _take_range(a, axis, 0, builtins.max(m - 1, 0))
    return a


# ---------------------------------------------------------------- products


def outer(a, b, /, *, stream=None):
    a, b = _arr(a).reshape(-1), _arr(b).reshape(-1)
    return c.expand_dims(a, 1) * c.expand_dims(b, 0)


def inner(a, b, /, *, stream=None):
    a, b = _arr(a), _arr(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"[inner] a.shape[-1] ({a.shape[-1]}) must match b.shape[-1] ({b.shape[-1]}).")
    return tensordot(a, b, [[a.ndim - 1], [b.ndim - 1]])


def tensordot(a, b, /, axes=2, *, stream=None):
    a, b = _arr(a), _arr(b)
    if isinstance(axes, int):
        ax_a = list(range(a.ndim - axes, a.ndim))
        ax_b = list(range(axes))
    else:
        ax_a, ax_b = [list(x) if not isinstance(x, int) else [x] for x in axes]
    ax_a = [x % a.ndim for x in ax_a]
    ax_b = [x % b.ndim for x in ax_b]
    for i, j in zip(ax_a, ax_b):
        if a.shape[i] != b.shape[j]:
            raise ValueError(f"[tensordot] Dimension {i} of a ({a.shape[i]}) does not match dimension {j} of b ({b.shape[j]}).")
    free_a = [i for i in range(a.ndim) if i not in ax_a]
    free_b = [i for i in range(b.ndim) if i not in ax_b]
    k = int(_np.prod([a.shape[i] for i in ax_a])) if ax_a else 1
    am = c.transpose(a, free_a + ax_a).reshape(-1, k)
    bm = c.transpose(b, ax_b + free_b).reshape(k, -1)
    out = c.matmul(am, bm)
    return out.reshape([a.shape[i] for i in free_a] + [b.shape[i] for i in free_b])


def vecdot(a, b, /, *, axis=-1, stream=None):
    return c.sum(c.conjugate(_arr(a)) * _arr(b), axis=axis)


def kron(a, b, *, stream=None):
    a, b = _arr(a), _arr(b)
    nd = builtins.max(a.ndim, b.ndim)
    a = a.reshape([1] * (nd - a.ndim) + list(a.shape))
    b = b.reshape([1] * (nd - b.ndim) + list(b.shape))
    ia, ib = [], []
    for da, db in zip(a.shape, b.shape):
        ia += [da, 1]
        ib += [1, db]
    return (a.reshape(ia) * b.reshape(ib)).reshape([da * db for da, db in zip(a.shape, b.shape)])


def addmm(c_, a, b, /, alpha=1.0, beta=1.0, *, stream=None):
    return alpha * c.matmul(a, b) + beta * _arr(c_)


# ---------------------------------------------------------------- dtypes & info


def result_type(*arrays_and_dtypes):
    dt = None
    weak = []
    for x in arrays_and_dtypes:
        if isinstance(x, c.Dtype):
            d = x
        elif isinstance(x, c.array):
            d = x.dtype
        else:
            weak.append(x)
            continue
        dt = d if dt is None else c.promote_types(dt, d)
    if dt is None:
        dt = c.array(weak[0]).dtype if weak else c.float32
        weak = weak[1:]
    for w in weak:
        dt = (c.zeros((1,), dt) + w).dtype
    return dt


class finfo:
    """Machine limits of a floating point dtype (like ``mx.finfo``)."""

    _np = {"float16": _np.float16, "float32": _np.float32, "float64": _np.float64}

    def __init__(self, dtype):
        name = repr(dtype).split(".")[-1]
        if name == "bfloat16":
            self.min, self.max, self.eps = -3.3895313892515355e38, 3.3895313892515355e38, 0.0078125
            self.tiny = 1.1754943508222875e-38
        elif name in self._np:
            i = _np.finfo(self._np[name])
            self.min, self.max, self.eps = float(i.min), float(i.max), float(i.eps)
            self.tiny = float(i.tiny)
        elif name == "complex64":
            i = _np.finfo(_np.float32)
            self.min, self.max, self.eps, self.tiny = float(i.min), float(i.max), float(i.eps), float(i.tiny)
        else:
            raise ValueError(f"[finfo] dtype {name} is not inexact.")
        self.dtype = dtype

    def __repr__(self):
        return f"finfo(min={self.min}, max={self.max}, dtype={repr(self.dtype).split('.')[-1]})"


class iinfo:
    """Machine limits of an integer dtype (like ``mx.iinfo``)."""

    def __init__(self, dtype):
        name = repr(dtype).split(".")[-1]
        if name == "bool":
            raise ValueError("[iinfo] dtype bool is not integral.")
        try:
            i = _np.iinfo(getattr(_np, name))
        except (AttributeError, ValueError):
            raise ValueError(f"[iinfo] dtype {name} is not integral.") from None
        self.min, self.max, self.dtype = int(i.min), int(i.max), dtype

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={repr(self.dtype).split('.')[-1]})"


def empty(shape, dtype=c.float32, *, stream=None):
    return c.zeros(shape, dtype)


def empty_like(a, /, dtype=None, *, stream=None):
    return c.zeros(a.shape, dtype or a.dtype)


def asarray(a, dtype=None, *, copy=None):
    if isinstance(a, c.array) and (dtype is None or dtype == a.dtype) and not copy:
        return a
    return c.array(a, dtype=dtype)


__all__ = [n for n in dir() if not n.startswith("_") and n not in ("builtins", "math", "c")]
