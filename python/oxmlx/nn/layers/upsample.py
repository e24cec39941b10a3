"""Upsampling (nearest, linear, cubic; optional antialiasing) of channels-last inputs."""

import operator
from functools import reduce
from itertools import product
from math import ceil
from typing import Literal, Tuple, Union

import oxmlx.core as mx
from oxmlx.nn.layers.base import Module


def _axis_shape(dim, ndims):
    shape = [1] * ndims
    shape[dim] = -1
    return shape


def _source_coords(N, scale, align_corners, dim, ndims):
    """Fractional source coordinate of each output position along one axis."""
    M = int(scale * N)
    out = mx.arange(M, dtype=mx.float32)
    if align_corners:
        coords = out * ((N - 1) / max(M - 1, 1))
    else:
        step = 1 / scale
        coords = out * step - ((M - 1) * step - N + 1) / 2
    return coords.reshape(_axis_shape(dim, ndims))


def _nearest_indices(N, scale, dim, ndims):
    M = int(scale * N)
    idx = mx.arange(M, dtype=mx.float32)
    if M > N:
        idx = ((idx + 0.5) * (N / M) - 0.5).round()
    else:
        idx = idx * (N / M)
    return idx.astype(mx.uint32).reshape(_axis_shape(dim, ndims))


def _linear_indices(N, scale, align_corners, dim, ndims):
    c = mx.clip(_source_coords(N, scale, align_corners, dim, ndims), a_min=0, a_max=N - 1)
    lo, hi = mx.floor(c), mx.ceil(c)
    w = mx.expand_dims(c - lo, -1)
    return ((lo.astype(mx.uint32), 1 - w), (hi.astype(mx.uint32), w))


def _keys_weight(x, dist):
    # Keys' cubic convolution kernel with a = -0.75 (inner |x|<=1, outer 1<|x|<=2)
    a = -0.75
    if dist == 1:
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1
    return (((x - 5) * x + 8) * x - 4) * a


def _cubic_indices(N, scale, align_corners, dim, ndims):
    c = _source_coords(N, scale, align_corners, dim, ndims)
    l1 = mx.floor(c)
    r1 = mx.floor(c + 1)
    l2, r2 = l1 - 1, r1 + 1
    taps = []
    for grid, dist in ((l1, 1), (r1, 1), (l2, 2), (r2, 2)):
        w = _keys_weight(mx.abs(c - grid), dist)[..., None]
        taps.append((mx.clip(grid, a_min=0, a_max=N - 1).astype(mx.uint32), w))
    return tuple(taps)


def _triangle(x):
    return mx.maximum(1.0 - x, 0.0)


def _cubic_aa_kernel(x):
    a = -0.5
    inner = ((a + 2.0) * x - (a + 3.0)) * x * x + 1
    outer = (((x - 5) * x + 8) * x - 4) * a
    return mx.where(x <= 1.0, inner, mx.where(x <= 2.0, outer, 0.0))


def _antialiased_indices(kernel, radius):
    def indices(N, scale, align_corners, dim, ndims):
        c = _source_coords(N, scale, align_corners, dim, ndims)
        widen = 1.0 / scale if scale < 1 else 1.0
        taps = ceil(radius * widen) + 1
        idxs, ws = [], []
        for k in range(-taps + 1, taps):
            idx = mx.floor(c) + k
            w = kernel(mx.abs(c - idx) / widen)
            ws.append(mx.where((idx >= 0) & (idx < N), w, 0.0))
            idxs.append(idx)
        total = sum(ws)
        total = mx.where(total > 0, total, 1.0)
        return tuple(
            (mx.clip(i, a_min=0, a_max=N - 1).astype(mx.uint32), mx.expand_dims(w / total, -1))
            for i, w in zip(idxs, ws)
        )

    return indices


_linear_aa_indices = _antialiased_indices(_triangle, 1.0)
_cubic_aa_indices = _antialiased_indices(_cubic_aa_kernel, 2.0)


def _check_scales(x, scale_factor):
    if x.ndim - 2 != len(scale_factor):
        raise ValueError("A scale needs to be provided for each spatial dimension")


def _check_aa(align_corners, antialias):
    if antialias and align_corners:
        raise ValueError(
            "[Upsample] antialias=True with align_corners=True is not supported. "
            "Use align_corners=False for antialiased interpolation."
        )


def upsample_nearest(x, scale_factor: Tuple):
    """Nearest-neighbour upsampling of ``(N, *spatial, C)`` by one factor per spatial axis."""
    _check_scales(x, scale_factor)
    dims = x.ndim - 2
    if tuple(map(int, scale_factor)) == tuple(scale_factor):
        # integer factors: broadcast a new axis after each spatial axis, then merge
        shape = list(x.shape)
        for d in range(dims):
            shape.insert(2 + 2 * d, 1)
        y = x.reshape(shape)
        for d in range(dims):
            shape[2 + 2 * d] = int(scale_factor[d])
        y = mx.broadcast_to(y, shape)
        final = [x.shape[0]] + [x.shape[1 + d] * int(scale_factor[d]) for d in range(dims)] + [x.shape[-1]]
        return y.reshape(final)
    index = [slice(None)]
    for i, (n, s) in enumerate(zip(x.shape[1:-1], scale_factor)):
        index.append(_nearest_indices(n, s, i, dims))
    return x[tuple(index)]


def _interpolate(x, scale_factor, indices_fn, align_corners=False):
    _check_scales(x, scale_factor)
    dims = x.ndim - 2
    per_axis = [indices_fn(n, s, align_corners, i, dims) for i, (n, s) in enumerate(zip(x.shape[1:-1], scale_factor))]
    out = None
    for combo in product(*per_axis):
        idx, ws = zip(*combo)
        term = reduce(operator.mul, ws) * x[(slice(None),) + idx]
        out = term if out is None else out + term
    return out


def _interpolate_separable(x, scale_factor, indices_fn, align_corners=False):
    _check_scales(x, scale_factor)
    dims = x.ndim - 2
    out = x
    for i, (n, s) in enumerate(zip(x.shape[1:-1], scale_factor)):
        acc = None
        for idx, w in indices_fn(n, s, align_corners, i, dims):
            term = mx.take(out, idx.reshape(-1), axis=i + 1) * w
            acc = term if acc is None else acc + term
        out = acc
    return out


def upsample_linear(x, scale_factor: Tuple, align_corners: bool = False, antialias: bool = False):
    """(Multi)linear upsampling; ``antialias`` widens the filter when downsampling."""
    _check_aa(align_corners, antialias)
    if antialias:
        return _interpolate_separable(x, scale_factor, _linear_aa_indices, align_corners)
    if not align_corners:
        return _interpolate_separable(x, scale_factor, _linear_indices, align_corners)
    return _interpolate(x, scale_factor, _linear_indices, align_corners)


def upsample_cubic(x, scale_factor: Tuple, align_corners: bool = False, antialias: bool = False):
    """Bicubic-style upsampling (Keys kernel); ``antialias`` widens the filter when downsampling."""
    _check_aa(align_corners, antialias)
    if antialias:
        return _interpolate_separable(x, scale_factor, _cubic_aa_indices, align_corners)
    return _interpolate(x, scale_factor, _cubic_indices, align_corners)


class Upsample(Module):
    """Upsamples the spatial axes of ``(N, *spatial, C)`` inputs by ``scale_factor``."""

    def __init__(self, scale_factor: Union[float, Tuple], mode: Literal["nearest", "linear", "cubic"] = "nearest",
                 align_corners: bool = False, antialias: bool = False):
        super().__init__()
        if mode not in ("nearest", "linear", "cubic"):
            raise ValueError(f"[Upsample] Got unsupported upsampling algorithm: {mode}")
        if antialias and mode == "nearest":
            raise ValueError("[Upsample] Antialiasing is not supported for nearest neighbor upsampling")
        if isinstance(scale_factor, (list, tuple)):
            scale_factor = tuple(map(float, scale_factor))
        else:
            scale_factor = float(scale_factor)
        _check_aa(align_corners, antialias)
        self.scale_factor = scale_factor
        self.mode = mode
        self.align_corners = align_corners
        self.antialias = antialias

    def _extra_repr(self) -> str:
        s = f"scale_factor={self.scale_factor}, mode={self.mode!r}, align_corners={self.align_corners}"
        return s + (", antialias=True" if self.antialias else "")

    def __call__(self, x):
        dims = x.ndim - 2
        if dims <= 0:
            raise ValueError(
                "[Upsample] The input should have at least 1 spatial dimension which means it "
                f"should be at least 3D but {x.ndim}D was provided"
            )
        sf = self.scale_factor
        if isinstance(sf, tuple):
            if len(sf) != dims:
                raise ValueError(
                    f"[Upsample] One scale per spatial dimension is required but scale_factor={sf} "
                    f"and the number of spatial dimensions were {dims}"
                )
        else:
            sf = (sf,) * dims
        if self.mode == "nearest":
            return upsample_nearest(x, sf)
        if self.mode == "linear":
            return upsample_linear(x, sf, self.align_corners, self.antialias)
        return upsample_cubic(x, sf, self.align_corners, self.antialias)
