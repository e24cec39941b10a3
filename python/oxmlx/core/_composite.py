"""Ops of mlx.core built by composing core ops (they run through the kernel
families of the waist and are differentiable through the core's rules).

The common ones are C++ compositions (csrc/ops/composite.cpp, shared with the
C ABI) reached through private ``_c_*`` bindings; the wrappers here keep MLX's
signatures and normalize its argument forms. The rest are still composed here.
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
    return c._c_std(a, axis, keepdims, ddof, stream)


def count_nonzero(a, /, *, axis=None, keepdims=False, stream=None):
    return c._c_count_nonzero(a, axis, keepdims, stream)


def minmax(a, /, axis=None, keepdims=False, *, stream=None):
    return c.min(a, axis=axis, keepdims=keepdims), c.max(a, axis=axis, keepdims=keepdims)


# ---------------------------------------------------------------- elementwise


def clip(a, /, a_min, a_max, *, stream=None):
    return c._c_clip(a, a_min, a_max, stream)


def isclose(a, b, /, rtol=1e-05, atol=1e-08, *, equal_nan=False, stream=None):
    return c._c_isclose(a, b, rtol, atol, equal_nan, stream)


def allclose(a, b, /, rtol=1e-05, atol=1e-08, *, equal_nan=False, stream=None):
    return c._c_allclose(a, b, rtol, atol, equal_nan, stream)


def array_equal(a, b, equal_nan=False, stream=None):
    return c._c_array_equal(a, b, equal_nan, stream)


def nan_to_num(a, nan=0, posinf=None, neginf=None, *, stream=None):
    return c._c_nan_to_num(a, nan, posinf, neginf, stream)


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
    return c._c_concatenate(list(arrays), axis, stream)


concat = concatenate


def stack(arrays, axis=0, *, stream=None):
    return c._c_stack(list(arrays), axis, stream)


def split(a, /, indices_or_sections, axis=0, *, stream=None):
    if isinstance(indices_or_sections, int):
        return c._c_split_sections(a, indices_or_sections, axis, stream)
    return c._c_split_indices(a, list(indices_or_sections), axis, stream)


def unstack(x, /, *, axis=0, stream=None):
    axis = _axis(axis, x.ndim, "unstack")
    return [c.squeeze(p, axis) for p in split(x, x.shape[axis], axis)] if x.shape[axis] else []


def unflatten(a, /, axis, shape, *, stream=None):
    axis = _axis(axis, a.ndim, "unflatten")
    shape = [int(s) for s in shape]
    n = a.shape[axis]
    # a -1 is inferred from the unflattened axis alone (so it works for empty arrays)
    if shape.count(-1) > 1:
        raise ValueError("[Unflatten] Can only infer one dimension.")
    known = 1
    for s in shape:
        known *= s if s != -1 else 1
    if -1 in shape:
        if known == 0 or n % known != 0:
            raise ValueError(f"[Unflatten] Cannot infer the unflattened shape of axis {axis} with size {n}.")
        shape[shape.index(-1)] = n // known
    elif known != n:
        raise ValueError(
            f"[Unflatten] Cannot unflatten axis {axis} with size {n} into shape ({','.join(map(str, shape))}).")
    return a.reshape(list(a.shape[:axis]) + shape + list(a.shape[axis + 1:]))


def flip(a, /, axis=None, *, stream=None):
    return c._c_flip(a, axis, stream)


def _pad_widths(pad_width, nd):
    if isinstance(pad_width, int):
        return [(pad_width, pad_width)] * nd
    pw = list(pad_width)
    if len(pw) and isinstance(pw[0], int):
        widths = [(pw[0], pw[-1])] * nd if len(pw) in (1, 2) else None
    elif len(pw) == 1:
        widths = [tuple(pw[0]) if len(pw[0]) == 2 else (pw[0][0], pw[0][0])] * nd
    else:
        widths = [tuple(p) if len(p) == 2 else (p[0], p[0]) for p in pw]
    if widths is None or len(widths) != nd:
        raise ValueError(f"[pad] Invalid pad_width {pad_width} for array with {nd} dimensions.")
    return widths


def pad(a, pad_width, mode="constant", constant_values=0, *, stream=None):
    a = _arr(a)
    return c._c_pad(a, _pad_widths(pad_width, a.ndim), constant_values, mode, stream)


def repeat(array, repeats, axis=None, *, stream=None):
    return c._c_repeat(array, repeats, axis, stream)


def tile(a, reps, /, *, stream=None):
    return c._c_tile(a, [reps] if isinstance(reps, int) else list(reps), stream)


def roll(a, shift, axis=None, *, stream=None):
    axes = [] if axis is None else ([axis] if isinstance(axis, int) else list(axis))
    if isinstance(shift, int):
        shifts = [shift] * builtins.max(len(axes), 1)
    else:
        shifts = list(shift)
        if len(shifts) < builtins.max(len(axes), 1):
            raise ValueError(f"[roll] At least one shift value per axis is required, "
                             f"{len(shifts)} provided for {len(axes)} axes.")
    return c._c_roll(a, shifts, axes, stream)


def meshgrid(*arrays, sparse=False, indexing="xy", stream=None):
    return list(c._c_meshgrid(list(arrays), sparse, indexing, stream))


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
    a = a if isinstance(a, c.array) else c.array(a)
    if a.ndim < 2:
        raise ValueError("[matrix_transpose] Input array must have at least 2 dimensions.")
    return c.swapaxes(a, -1, -2, stream=stream)


def tril(x, k=0, *, stream=None):
    return c._c_tril(x, k, stream)


def triu(x, k=0, *, stream=None):
    return c._c_triu(x, k, stream)


def diagonal(a, offset=0, axis1=0, axis2=1, stream=None):
    return c._c_diagonal(a, offset, axis1, axis2, stream)


def diag(a, /, k=0, *, stream=None):
    return c._c_diag(a, k, stream)


def trace(a, /, offset=0, axis1=0, axis2=1, dtype=None, *, stream=None):
    return c._c_trace(a, offset, axis1, axis2, dtype, stream)


def diff(a, /, n=1, axis=-1, *, stream=None):
    return c._c_diff(a, n, axis, stream)


# ---------------------------------------------------------------- products


def outer(a, b, /, *, stream=None):
    return c._c_outer(a, b, stream)


def inner(a, b, /, *, stream=None):
    return c._c_inner(a, b, stream)


def tensordot(a, b, /, axes=2, *, stream=None):
    a, b = _arr(a), _arr(b)
    if isinstance(axes, int):
        if axes < 0 or axes > a.ndim or axes > b.ndim:
            raise ValueError(f"[tensordot] axes ({axes}) must be between 0 and the dimensions of both inputs.")
        ax_a, ax_b = list(range(a.ndim - axes, a.ndim)), list(range(axes))
    else:
        ax_a, ax_b = [list(x) if not isinstance(x, int) else [x] for x in axes]
    return c._c_tensordot(a, b, ax_a, ax_b, stream)


def vecdot(a, b, /, *, axis=-1, stream=None):
    return c.sum(c.conjugate(_arr(a)) * _arr(b), axis=axis)


def kron(a, b, *, stream=None):
    return c._c_kron(a, b, stream)


def addmm(c_, a, b, /, alpha=1.0, beta=1.0, *, stream=None):
    return c._c_addmm(c_, a, b, alpha, beta, stream)


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
        # As MLX: a complex dtype reports its real component.
        self.dtype = c.float32 if name == "complex64" else dtype
        self.bits = 8 * self.dtype.size
        self.smallest_normal = self.tiny

    def __repr__(self):
        return (f"finfo(min={self.min:g}, max={self.max:g}, "
                f"dtype={repr(self.dtype).split('.')[-1]})")


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
