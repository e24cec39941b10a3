"""``mx.fast`` entry points used by the layers, with compositions of core ops
as the fallback while ``oxmlx.core.fast`` does not provide them.

Each composition follows the documented semantics of the ``mlx.core.fast``
function of the same name (statistics accumulated in float32 for 16-bit
inputs, result in the input dtype).
"""

import math

import oxmlx.core as mx


def _fast(name):
    fast = getattr(mx, "fast", None)
    return getattr(fast, name, None) if fast is not None else None


def _dtype_name(dt):
    return repr(dt).split(".")[-1]


def _acc(x):
    return x.astype(mx.float32) if x.dtype in (mx.float16, mx.bfloat16) else x


def _out_dtype(*arrays):
    out = None
    for a in arrays:
        if a is not None:
            out = a.dtype if out is None else (mx.zeros((), out) + mx.zeros((), a.dtype)).dtype
    return out


def layer_norm(x, weight, bias, eps):
    fn = _fast("layer_norm")
    if fn is not None:
        return fn(x, weight, bias, eps)
    out_dt = _out_dtype(x, weight, bias)
    xa = _acc(x)
    mean = mx.mean(xa, axis=-1, keepdims=True)
    var = mx.var(xa, axis=-1, keepdims=True)
    y = (xa - mean) * mx.rsqrt(var + eps)
    if weight is not None:
        y = y * _acc(weight)
    if bias is not None:
        y = y + _acc(bias)
    return y.astype(out_dt)


def rms_norm(x, weight, eps):
    fn = _fast("rms_norm")
    if fn is not None:
        return fn(x, weight, eps)
    out_dt = _out_dtype(x, weight)
    xa = _acc(x)
    y = xa * mx.rsqrt(mx.mean(mx.square(xa), axis=-1, keepdims=True) + eps)
    if weight is not None:
        y = y * _acc(weight)
    return y.astype(out_dt)


def rope(x, dims, *, traditional, base, scale, offset, freqs=None):
    fn = _fast("rope")
    if fn is not None:
        return fn(x, dims, traditional=traditional, base=base, scale=scale, offset=offset, freqs=freqs)
    if dims % 2 != 0 or dims > x.shape[-1]:
        raise ValueError(f"[rope] dims must be even and at most the last axis size, got {dims}.")
    half = dims // 2
    seq = x.shape[-2]
    if freqs is None:
        inv = mx.exp(-mx.arange(half, dtype=mx.float32) * (math.log(base) / half))
    else:
        inv = 1.0 / freqs.astype(mx.float32)
    pos = (mx.arange(seq, dtype=mx.float32) + offset) * scale
    theta = pos[:, None] * inv[None, :]
    cos, sin = mx.cos(theta), mx.sin(theta)
    xr = x[..., :dims].astype(mx.float32)
    if traditional:
        pairs = xr.reshape(*xr.shape[:-1], half, 2)
        a, b = pairs[..., 0], pairs[..., 1]
        rot = mx.stack([a * cos - b * sin, a * sin + b * cos], axis=-1).reshape(xr.shape)
    else:
        a, b = xr[..., :half], xr[..., half:]
        rot = mx.concatenate([a * cos - b * sin, a * sin + b * cos], axis=-1)
    rot = rot.astype(x.dtype)
    if dims < x.shape[-1]:
        rot = mx.concatenate([rot, x[..., dims:]], axis=-1)
    return rot


def scaled_dot_product_attention(q, k, v, *, scale, mask=None):
    fn = _fast("scaled_dot_product_attention")
    if fn is not None:
        return fn(q, k, v, scale=scale, mask=mask)
    n_q, n_kv = q.shape[-3], k.shape[-3]
    if n_q != n_kv:
        if n_q % n_kv != 0:
            raise ValueError("[scaled_dot_product_attention] query heads must be a multiple of key heads.")
        k = mx.repeat(k, n_q // n_kv, axis=-3)
        v = mx.repeat(v, n_q // n_kv, axis=-3)
    scores = (q * scale) @ mx.swapaxes(k, -1, -2)
    L, S = q.shape[-2], k.shape[-2]
    if isinstance(mask, str):
        if mask != "causal":
            raise ValueError(f"[scaled_dot_product_attention] Invalid mask type '{mask}'.")
        qi = mx.arange(L)[:, None] + (S - L)
        ki = mx.arange(S)[None, :]
        mask = qi >= ki
    if mask is not None:
        if mask.dtype != mx.bool_ and _out_dtype(mask, q) != q.dtype:
            raise ValueError(
                f"[scaled_dot_product_attention] Mask type must promote to output type {_dtype_name(q.dtype)}."
            )
        if mask.dtype == mx.bool_:
            scores = mx.where(mask, scores, mx.array(mx.finfo(scores.dtype).min, scores.dtype))
        else:
            scores = scores + mask.astype(scores.dtype)
    probs = mx.softmax(scores.astype(mx.float32), axis=-1).astype(scores.dtype)
    return probs @ v
