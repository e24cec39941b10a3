"""Methods and properties of ``array`` that forward to the ops of the same name,
with MLX's method signatures (the function's, less the array argument).

Imported by oxmlx.core after the Python compositions, since some of the
forwarded ops (logsumexp, std, diag, diagonal, split) are defined there."""

import oxmlx._core as _c
from oxmlx.core import _composite as _p

array = _c.array


def _op(name):
    return getattr(_p, name, None) or getattr(_c, name)


def _named(fn, name):
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"See :func:`{name}`."
    return fn


def _unary(name):
    f = _op(name)

    def method(self, *, stream=None):
        return f(self, stream=stream)

    return _named(method, name)


def _reduce(name):
    f = _op(name)

    def method(self, axis=None, keepdims=False, *, stream=None):
        return f(self, axis, keepdims, stream=stream)

    return _named(method, name)


def _scan(name):
    f = _op(name)

    def method(self, axis=None, *, reverse=False, inclusive=True, stream=None):
        return f(self, axis, reverse=reverse, inclusive=inclusive, stream=stream)

    return _named(method, name)


def _moments(name):
    f = _op(name)

    def method(self, axis=None, keepdims=False, ddof=0, *, correction=None, stream=None):
        # Array-API spelling: `correction`, when given, is the ddof.
        return f(self, axis, keepdims, ddof if correction is None else correction, stream=stream)

    return _named(method, name)


def diag(self, k=0, *, stream=None):
    return _op("diag")(self, k, stream=stream)


def diagonal(self, offset=0, axis1=0, axis2=1, stream=None):
    return _op("diagonal")(self, offset, axis1, axis2, stream=stream)


def flatten(self, start_axis=0, end_axis=-1, *, stream=None):
    return _c.flatten(self, start_axis, end_axis, stream=stream)


def moveaxis(self, source, destination, *, stream=None):
    return _c.moveaxis(self, source, destination, stream=stream)


def swapaxes(self, axis1, axis2, *, stream=None):
    return _c.swapaxes(self, axis1, axis2, stream=stream)


def split(self, indices_or_sections, axis=0, *, stream=None):
    return _op("split")(self, indices_or_sections, axis, stream=stream)


def squeeze(self, axis=None, *, stream=None):
    return _c.squeeze(self, axis, stream=stream)


def round(self, decimals=0, *, stream=None):  # noqa: A001 - MLX's name
    return _c.round(self, decimals, stream=stream)


# Not methods of MLX's array; kept from earlier oxmlx versions (extensions).
def expand_dims(self, axis, *, stream=None):
    return _c.expand_dims(self, axis, stream=stream)


def maximum(self, b, *, stream=None):
    return _c.maximum(self, b, stream=stream)


def minimum(self, b, *, stream=None):
    return _c.minimum(self, b, stream=stream)


_METHODS = [diag, diagonal, flatten, moveaxis, swapaxes, split, squeeze, round, expand_dims,
            maximum, minimum]
for _f in _METHODS:
    _named(_f, _f.__name__)
for _n in ["abs", "conj", "cos", "exp", "log", "log10", "log1p", "log2", "reciprocal",
           "rsqrt", "sin", "sqrt", "square"]:
    _METHODS.append(_unary(_n))
for _n in ["all", "any", "argmax", "argmin", "logsumexp", "max", "mean", "min", "prod", "sum"]:
    _METHODS.append(_reduce(_n))
for _n in ["cummax", "cummin", "cumprod", "cumsum", "logcumsumexp"]:
    _METHODS.append(_scan(_n))
_METHODS += [_moments("var"), _moments("std")]

for _f in _METHODS:
    setattr(array, _f.__name__, _f)

array.real = property(lambda self: _c.real(self), doc="The real part of a complex array.")
array.imag = property(lambda self: _c.imag(self), doc="The imaginary part of a complex array.")
array.mT = property(lambda self: _p.matrix_transpose(self),
                    doc="Equivalent to calling ``self.transpose()`` with the last two axes "
                        "swapped.")


# ---- Python protocol methods MLX's array has beyond the operators ----


def _array_namespace(self, api_version=None):
    import oxmlx.core

    return oxmlx.core


def _bytes(self):
    """The elements' bytes in row-major order (as MLX)."""
    x = _c.view(self, _c.uint16) if self.dtype == _c.bfloat16 else self
    return bytes(memoryview(_c.contiguous(x)))


def _complex(self):
    return complex(self.item())


def _format(self, spec):
    if not spec:
        return str(self)
    return format(self.item(), spec)


def _getstate(self):
    """(numpy array, dtype name); bfloat16 travels as float32 (exactly)."""
    import numpy as np

    x = self.astype(_c.float32) if self.dtype == _c.bfloat16 else self
    return (np.array(x), str(self.dtype).split(".")[-1])


def _setstate(self, state):
    data, dtype = state
    array.__init__(self, data, getattr(_c, "bool_" if dtype == "bool" else dtype))


array.__array_namespace__ = _named(_array_namespace, "__array_namespace__")
array.__bytes__ = _named(_bytes, "__bytes__")
array.__complex__ = _named(_complex, "__complex__")
array.__format__ = _named(_format, "__format__")
array.__getstate__ = _named(_getstate, "__getstate__")
array.__setstate__ = _named(_setstate, "__setstate__")
array.__div__ = array.__truediv__
array.__rdiv__ = array.__rtruediv__
