"""Affine quantization (bit-exact against MLX and a numpy model of the format),
quantized_matmul / gather_qmm values, gather_mm, segmented_mm and
block_masked_mm against numpy, their derivatives, and argument errors."""

import numpy as np
import pytest

import oxmlx.core as mx
from conftest import to_np

RNG = np.random.default_rng(0)


def f64(a):
    return mx.array(np.asarray(a, np.float64), dtype=mx.float64)


def np_quantize(w, gs, bits):
    """numpy model of MLX's affine quantization: (q values, scales, biases) in float32."""
    g = np.asarray(w, np.float32).reshape(*w.shape[:-1], -1, gs)
    wmax, wmin = g.max(-1, keepdims=True), g.min(-1, keepdims=True)
    if bits == 1:
        scales = np.maximum(wmax - wmin, np.float32(1e-7))
        biases = wmin
    else:
        nb = np.float32(2**bits - 1)
        mask = np.abs(wmin) > np.abs(wmax)
        scales = np.maximum((wmax - wmin) / nb, np.float32(1e-7))
        scales = np.where(mask, scales, -scales)
        edge = np.where(mask, wmin, wmax)
        with np.errstate(invalid="ignore", divide="ignore"):
            q0 = np.round(edge / scales)
            scales = np.where(q0 != 0, edge / q0, scales)
        biases = np.where(q0 == 0, np.float32(0), edge)
    q = np.clip(np.round((g - biases) / scales), 0, 2**bits - 1).astype(np.uint64)
    return q.reshape(w.shape), scales[..., 0], biases[..., 0]


def np_pack(q, bits):
    """LSB-first bitstream of each row into uint32 words."""
    rows = q.reshape(-1, q.shape[-1])
    out = np.zeros((rows.shape[0], q.shape[-1] * bits // 32), np.uint32)
    for r, row in enumerate(rows):
        acc = 0
        for i, v in enumerate(row):
            acc |= int(v) << (i * bits)
        for j in range(out.shape[1]):
            out[r, j] = (acc >> (32 * j)) & 0xFFFFFFFF
    return out.reshape(*q.shape[:-1], -1)


def np_dequantize(wq, scales, biases, gs, bits):
    wq = np.asarray(wq).reshape(-1, wq.shape[-1])
    n = wq.shape[-1] * 32 // bits
    q = np.zeros((wq.shape[0], n))
    for r, row in enumerate(wq):
        acc = 0
        for j, v in enumerate(row):
            acc |= int(v) << (32 * j)
        q[r] = [(acc >> (i * bits)) & ((1 << bits) - 1) for i in range(n)]
    s = np.repeat(np.asarray(scales, np.float64).reshape(-1, scales.shape[-1]), gs, axis=1)
    b = np.repeat(np.asarray(biases, np.float64).reshape(-1, biases.shape[-1]), gs, axis=1)
    return (q * s + b).reshape(*scales.shape[:-1], n)


def test_quantize_matches_numpy_model():
    for bits in [1, 2, 3, 4, 5, 6, 8]:
        for gs in [32, 64, 128]:
            w = RNG.standard_normal((3, 256)).astype(np.float32)
            w[0, :gs] = np.abs(w[0, :gs])  # all-positive group
            w[1, :gs] = 0.25  # constant group
            wq, s, b = mx.quantize(mx.array(w), group_size=gs, bits=bits)
            q, rs, rb = np_quantize(w, gs, bits)
            assert wq.dtype == mx.uint32 and wq.shape == (3, 256 * bits // 32)
            np.testing.assert_array_equal(np.array(wq), np_pack(q, bits))
            np.testing.assert_array_equal(np.array(s), rs)
            np.testing.assert_array_equal(np.array(b), rb)


@pytest.mark.parametrize("dt", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("bits", [1, 2, 3, 4, 5, 6, 8])
@pytest.mark.parametrize("gs", [32, 64, 128])
def test_quantize_bit_exact_with_mlx(dt, bits, gs, mlx):
    w = (RNG.standard_normal((4, 2, 256)) * RNG.uniform(0.01, 10)).astype(np.float32)
    w[0, 0, :32] = np.abs(w[0, 0, :32])
    w[1, 0, :32] = -np.abs(w[1, 0, :32])
    w[2, 0, :32] = 0
    ours = mx.quantize(mx.array(w).astype(getattr(mx, dt)), group_size=gs, bits=bits)
    theirs = mlx.quantize(mlx.array(w).astype(getattr(mlx, dt)), group_size=gs, bits=bits)
    assert len(ours) == 3
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        ref = b.astype(mlx.float32) if b.dtype == mlx.bfloat16 else b
        np.testing.assert_array_equal(to_np(a), np.array(ref))
    dq = mx.dequantize(*ours, group_size=gs, bits=bits)
    dm = mlx.dequantize(*theirs, group_size=gs, bits=bits)
    assert dq.dtype == getattr(mx, dt)
    np.testing.assert_array_equal(to_np(dq.astype(mx.float32)), np.array(dm.astype(mlx.float32)))


def test_quantize_defaults_and_float64():
    w = RNG.standard_normal((4, 128))
    wq, s, b = mx.quantize(mx.array(w, dtype=mx.float64))
    assert wq.shape == (4, 16) and s.shape == (4, 2) and s.dtype == mx.float64
    d = np.array(mx.dequantize(wq, s, b))
    np.testing.assert_allclose(d, np_dequantize(np.array(wq), np.array(s), np.array(b), 64, 4),
                               rtol=1e-12, atol=1e-12)
    # Every value lands within one quantization step of the input.
    step = np.repeat(np.abs(np.array(s)), 64, axis=1)
    assert np.all(np.abs(d - w) <= step + 1e-9)


def test_dequantize_values_and_dtype():
    w = RNG.standard_normal((6, 192)).astype(np.float32)
    for bits in [3, 4, 8]:
        wq, s, b = mx.quantize(mx.array(w), group_size=32, bits=bits)
        d = mx.dequantize(wq, s, b, group_size=32, bits=bits)
        want = np_dequantize(np.array(wq), np.array(s), np.array(b), 32, bits)
        np.testing.assert_allclose(np.array(d), want, rtol=1e-6, atol=1e-6)
        d16 = mx.dequantize(wq, s, b, group_size=32, bits=bits, dtype=mx.float16)
        assert d16.dtype == mx.float16
        np.testing.assert_array_equal(np.array(d16), np.array(d).astype(np.float16))


def ref_qmm(x, wq, s, b, transpose, gs, bits):
    w = np_dequantize(np.array(wq), np.array(s), np.array(b), gs, bits)
    return x @ (np.swapaxes(w, -1, -2) if transpose else w)


@pytest.mark.parametrize("bits", [2, 3, 4, 6, 8])
@pytest.mark.parametrize("M", [1, 5, 40])
@pytest.mark.parametrize("transpose", [True, False])
def test_quantized_matmul_values(bits, M, transpose):
    gs = 32
    w = RNG.standard_normal((96, 128) if transpose else (128, 96)).astype(np.float32)
    x = RNG.standard_normal((M, 128 if transpose else 128)).astype(np.float32)
    if not transpose:
        w = RNG.standard_normal((128, 160)).astype(np.float32)
    wq, s, b = mx.quantize(mx.array(w), group_size=gs, bits=bits)
    got = mx.quantized_matmul(mx.array(x), wq, s, b, transpose=transpose, group_size=gs, bits=bits)
    want = ref_qmm(x.astype(np.float64), wq, s, b, transpose, gs, bits)
    np.testing.assert_allclose(np.array(got), want, rtol=1e-4, atol=1e-4)


def test_quantized_matmul_batched_and_dtypes(mlx):
    w = RNG.standard_normal((3, 64, 128)).astype(np.float32)
    x = RNG.standard_normal((2, 1, 5, 128)).astype(np.float32)
    ours = mx.quantize(mx.array(w))
    theirs = mlx.quantize(mlx.array(w))
    got = mx.quantized_matmul(mx.array(x), *ours)
    want = mlx.quantized_matmul(mlx.array(x), *theirs)
    assert got.shape == (2, 3, 5, 64)
    np.testing.assert_allclose(np.array(got), np.array(want), rtol=1e-4, atol=1e-4)
    # 1-D input, 2-D input with a batched w (MLX uses its first matrix), f16 x.
    for xx in [x[0, 0, 0], x[0, 0]]:
        g = mx.quantized_matmul(mx.array(xx), *ours)
        h = mlx.quantized_matmul(mlx.array(xx), *theirs)
        assert g.shape == h.shape
        np.testing.assert_allclose(np.array(g), np.array(h), rtol=1e-4, atol=1e-4)
    g = mx.quantized_matmul(mx.array(x).astype(mx.float16), *ours)
    assert g.dtype == mx.float32
    w16 = mx.quantize(mx.array(w[0]).astype(mx.bfloat16))
    g = mx.quantized_matmul(mx.array(x[0, 0]).astype(mx.bfloat16), *w16)
    assert g.dtype == mx.bfloat16
    xb = to_np(mx.array(x[0, 0]).astype(mx.bfloat16))
    want = ref_qmm(xb, *[np.array(a.astype(mx.float32)) if a.dtype != mx.uint32 else a
                              for a in w16], True, 64, 4)
    np.testing.assert_allclose(to_np(g), want, rtol=3e-2, atol=3e-2)


def test_quantized_matmul_large_threaded():
    w = RNG.standard_normal((200, 256)).astype(np.float32)
    x = RNG.standard_normal((70, 256)).astype(np.float32)
    wq, s, b = mx.quantize(mx.array(w), bits=5, group_size=128)
    got = mx.quantized_matmul(mx.array(x), wq, s, b, bits=5, group_size=128)
    np.testing.assert_allclose(np.array(got), ref_qmm(x, wq, s, b, True, 128, 5), rtol=1e-4,
                               atol=1e-4)


def test_gather_qmm(mlx):
    w = RNG.standard_normal((4, 64, 128)).astype(np.float32)
    x = RNG.standard_normal((6, 1, 128)).astype(np.float32)
    rhs = np.array([0, 3, 1, 1, 2, 0])
    ours = mx.quantize(mx.array(w))
    got = mx.gather_qmm(mx.array(x), *ours, rhs_indices=mx.array(rhs))
    deq = np_dequantize(np.array(ours[0]), np.array(ours[1]), np.array(ours[2]), 64, 4)
    want = np.stack([x[i] @ deq[rhs[i]].T for i in range(6)])
    assert got.shape == (6, 1, 64)
    np.testing.assert_allclose(np.array(got), want, rtol=1e-4, atol=1e-4)
    lhs = np.array([[5], [2]])
    got = mx.gather_qmm(mx.array(x), *ours, lhs_indices=mx.array(lhs), rhs_indices=mx.array([1, 3]))
    theirs = mlx.quantize(mlx.array(w))
    ref = mlx.gather_qmm(mlx.array(x), *theirs, lhs_indices=mlx.array(lhs),
                         rhs_indices=mlx.array([1, 3]))
    assert got.shape == ref.shape == (2, 2, 1, 64)
    np.testing.assert_allclose(np.array(got), np.array(ref), rtol=1e-4, atol=1e-4)
    with pytest.raises(IndexError):
        mx.eval(mx.gather_qmm(mx.array(x), *ours, rhs_indices=mx.array([4])))


def test_quantized_matmul_grad_wrt_x():
    w = RNG.standard_normal((3, 32, 64))
    wq, s, b = mx.quantize(mx.array(w, dtype=mx.float64), group_size=32)
    deq = np.array(mx.dequantize(wq, s, b, group_size=32))
    x = RNG.standard_normal((3, 4, 64))
    c = RNG.standard_normal((3, 4, 32))

    def f(v):
        return mx.sum(mx.quantized_matmul(v, wq, s, b, group_size=32) * f64(c))

    g = mx.grad(f)(f64(x))
    np.testing.assert_allclose(np.array(g), c @ deq, rtol=1e-10, atol=1e-10)
    # gather form: rows reused by two products sum their gradients.
    lhs = mx.array([0, 0, 2])

    def h(v):
        return mx.sum(mx.gather_qmm(v, wq, s, b, lhs_indices=lhs, rhs_indices=mx.array([0, 1, 2]),
                                    group_size=32) * f64(c[:, :1]))

    xg = RNG.standard_normal((3, 1, 64))
    g = np.array(mx.grad(h)(f64(xg)))
    want = np.zeros_like(xg)
    for i, li in enumerate([0, 0, 2]):
        want[li] += c[i, :1] @ deq[i]
    np.testing.assert_allclose(g, want, rtol=1e-10, atol=1e-10)
    _, (jv,) = mx.jvp(lambda v: mx.quantized_matmul(v, wq, s, b, group_size=32), [f64(x)],
                      [mx.ones((3, 4, 64), dtype=mx.float64)])
    np.testing.assert_allclose(np.array(jv), np.ones((3, 4, 64)) @ np.swapaxes(deq, -1, -2),
                               rtol=1e-10)


@pytest.mark.parametrize("call,err,word", [
    (lambda: mx.quantize(mx.ones((4, 96))), ValueError, "divisible"),
    (lambda: mx.quantize(mx.ones((4, 128)), bits=7), ValueError, "bits"),
    (lambda: mx.quantize(mx.ones((4, 128)), group_size=16), ValueError, "group size"),
    (lambda: mx.quantize(mx.ones((128,))), ValueError, "at least 2"),
    (lambda: mx.quantize(mx.ones((4, 128), dtype=mx.int32)), ValueError, "floating"),
    (lambda: mx.quantize(mx.ones((4, 128)), mode="foo"), ValueError, "mode"),
    (lambda: mx.dequantize(mx.zeros((4, 16), dtype=mx.uint32), mx.ones((4, 2))), ValueError,
     "Biases"),
    (lambda: mx.dequantize(mx.zeros((4, 16), dtype=mx.int32), mx.ones((4, 2)), mx.ones((4, 2))),
     ValueError, "uint32"),
    (lambda: mx.dequantize(mx.zeros((4, 16), dtype=mx.uint32), mx.ones((4, 1)), mx.ones((4, 1))),
     ValueError, "Shape"),
    (lambda: mx.quantized_matmul(mx.ones((5, 64)), mx.zeros((64, 16), dtype=mx.uint32),
                                 mx.ones((64, 2)), mx.ones((64, 2))), ValueError, "Last dimension"),
    (lambda: mx.quantized_matmul(mx.ones((5, 128)), mx.zeros((64, 16), dtype=mx.uint32),
                                 mx.ones((64, 2)), mx.ones((64, 2)), bits=8), ValueError,
     "incompatible"),
])
def test_quantized_errors(call, err, word):
    with pytest.raises(err, match=word):
        call()


# ------------------------------------------------------------ gather_mm & friends

def test_gather_mm_values():
    a = RNG.standard_normal((3, 4, 5))
    b = RNG.standard_normal((2, 5, 6))
    lhs, rhs = np.array([0, 2, 2]), np.array([1, 1, 0])
    got = mx.gather_mm(mx.array(a), mx.array(b), mx.array(lhs), mx.array(rhs))
    want = np.stack([a[i] @ b[j] for i, j in zip(lhs, rhs)])
    np.testing.assert_allclose(np.array(got), want, rtol=1e-5, atol=1e-5)
    got = mx.gather_mm(mx.array(a), mx.array(b), None, mx.array([[1], [0]]))
    assert got.shape == (2, 3, 4, 6)
    np.testing.assert_allclose(np.array(got)[0, 2], a[2] @ b[1], rtol=1e-5, atol=1e-5)
    got = mx.gather_mm(mx.array(a, dtype=mx.float64), mx.array(b[:1], dtype=mx.float64))
    np.testing.assert_allclose(np.array(got), a @ b[0], rtol=1e-12)
    with pytest.raises(ValueError, match="broadcast"):
        mx.gather_mm(mx.array(a), mx.array(b))
    with pytest.raises(ValueError, match="integral"):
        mx.gather_mm(mx.array(a), mx.array(b), mx.array([0.0]), mx.array([1]))
    with pytest.raises(ValueError, match="Last dimension"):
        mx.gather_mm(mx.array(a), mx.array(b[:, :4]))
    with pytest.raises(IndexError):
        mx.eval(mx.gather_mm(mx.array(a), mx.array(b), mx.array([0, 7]), mx.array([1, 1])))


def test_gather_mm_matches_mlx(mlx):
    a = RNG.standard_normal((8, 1, 16)).astype(np.float32)
    b = RNG.standard_normal((4, 16, 12)).astype(np.float32)
    rhs = np.array([3, 0, 0, 1, 2, 2, 3, 1])
    got = mx.gather_mm(mx.array(a), mx.array(b), rhs_indices=mx.array(rhs))
    want = mlx.gather_mm(mlx.array(a), mlx.array(b), rhs_indices=mlx.array(rhs))
    np.testing.assert_allclose(np.array(got), np.array(want), rtol=1e-5, atol=1e-5)


def test_gather_mm_grads():
    a = RNG.standard_normal((3, 2, 4))
    b = RNG.standard_normal((2, 4, 3))
    lhs, rhs = mx.array([0, 2, 2, 1]), mx.array([1, 1, 0, 0])
    c = RNG.standard_normal((4, 2, 3))

    def f(x, y):
        return mx.sum(mx.gather_mm(x, y, lhs, rhs) * f64(c))

    ga, gb = mx.grad(f, argnums=(0, 1))(f64(a), f64(b))
    wa, wb = np.zeros_like(a), np.zeros_like(b)
    for k, (i, j) in enumerate(zip([0, 2, 2, 1], [1, 1, 0, 0])):
        wa[i] += c[k] @ b[j].T
        wb[j] += a[i].T @ c[k]
    np.testing.assert_allclose(np.array(ga), wa, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.array(gb), wb, rtol=1e-10, atol=1e-12)


def test_segmented_mm():
    a = RNG.standard_normal((5, 9))
    b = RNG.standard_normal((9, 4))
    seg = np.array([[0, 3], [3, 9], [2, 2], [1, 8]])
    got = mx.segmented_mm(f64(a), f64(b), mx.array(seg))
    want = np.stack([a[:, s:e] @ b[s:e] for s, e in seg])
    np.testing.assert_allclose(np.array(got), want, rtol=1e-12, atol=1e-12)
    got = mx.segmented_mm(f64(a), f64(b), mx.array(seg.reshape(2, 2, 2)))
    assert got.shape == (2, 2, 5, 4)
    got = mx.segmented_mm(f64(a), f64(b), mx.array([4, 9]))
    np.testing.assert_allclose(np.array(got), a[:, 4:] @ b[4:], rtol=1e-12)
    with pytest.raises(ValueError, match="integral"):
        mx.segmented_mm(f64(a), f64(b), mx.array([[0.0, 1.0]]))
    with pytest.raises(ValueError, match="Batched"):
        mx.segmented_mm(f64(a[None]), f64(b), mx.array([[0, 1]]))
    with pytest.raises(IndexError):
        mx.eval(mx.segmented_mm(f64(a), f64(b), mx.array([[0, 10]])))


def test_segmented_mm_matches_mlx(mlx):
    a = RNG.standard_normal((6, 16)).astype(np.float32)
    b = RNG.standard_normal((16, 5)).astype(np.float32)
    seg = np.array([[0, 4], [4, 16], [3, 11]], np.uint32)
    got = mx.segmented_mm(mx.array(a), mx.array(b), mx.array(seg))
    want = mlx.segmented_mm(mlx.array(a), mlx.array(b), mlx.array(seg))
    np.testing.assert_allclose(np.array(got), np.array(want), rtol=1e-5, atol=1e-5)


def expand(mask, bs, r, c):
    return np.kron(mask, np.ones((bs, bs)))[..., :r, :c]


@pytest.mark.parametrize("bs", [32, 64])
def test_block_masked_mm(bs, mlx):
    M, K, N = 70, 40, 100
    a = RNG.standard_normal((2, M, K)).astype(np.float32)
    b = RNG.standard_normal((K, N)).astype(np.float32)
    cb = lambda n: -(-n // bs)  # noqa: E731
    mo = RNG.random((2, cb(M), cb(N))) > 0.4
    ml = RNG.random((cb(M), cb(K))) > 0.3
    mr = RNG.standard_normal((cb(K), cb(N))).astype(np.float32)  # float mask scales blocks
    got = mx.block_masked_mm(mx.array(a), mx.array(b), bs, mx.array(mo), mx.array(ml), mx.array(mr))
    want = ((a * expand(ml, bs, M, K)) @ (b * expand(mr, bs, K, N))) * np.stack(
        [expand(m, bs, M, N) for m in mo])
    np.testing.assert_allclose(np.array(got), want, rtol=1e-4, atol=1e-4)
    ref = mlx.block_masked_mm(mlx.array(a), mlx.array(b), bs, mlx.array(mo), mlx.array(ml),
                              mlx.array(mr))
    np.testing.assert_allclose(np.array(got), np.array(ref), rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError):
        mx.block_masked_mm(mx.array(a), mx.array(b), bs, mask_out=mx.ones((2, 2), dtype=mx.bool_)
                           if bs == 32 else mx.ones((1, 1), dtype=mx.bool_))


def test_block_masked_mm_errors():
    with pytest.raises(ValueError, match="block"):
        mx.block_masked_mm(mx.ones((8, 8)), mx.ones((8, 8)), 16)
    with pytest.raises(ValueError, match="floating"):
        mx.block_masked_mm(mx.ones((8, 8), dtype=mx.int32), mx.ones((8, 8), dtype=mx.int32), 32)


# ------------------------------------------------------------ microscaled modes

E2M1 = np.array([0, 0.5, 1, 1.5, 2, 3, 4, 6], np.float32)


def np_mxfp4(w):
    """numpy model of MLX's mxfp4: E8M0 scale 2^ceil(log2(amax/6)), E2M1 ties toward zero."""
    g = w.reshape(w.shape[0], -1, 32).astype(np.float32)
    amax = np.abs(g).max(-1)
    with np.errstate(divide="ignore"):
        e = np.where(amax == 0, 0, np.ceil(np.log2(amax / np.float32(6)))).astype(np.int32)
    v = g / np.exp2(e.astype(np.float32))[..., None]
    code = (np.abs(v)[..., None] > np.array([0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0])).sum(-1)
    code = np.where(code > 0, code | ((v < 0) << 3), 0).astype(np.uint32).reshape(w.shape)
    packed = np.zeros((w.shape[0], w.shape[1] // 8), np.uint32)
    for i in range(8):
        packed |= code[:, i::8] << (4 * i)
    return packed, (e + 127).astype(np.uint8)


def test_mxfp4_matches_numpy_model():
    w = (RNG.standard_normal((6, 128)) * 3).astype(np.float32)
    w[0, :32] = 0
    w[1, :8] = [0.25, -0.75, 1.25, 1.75, -2.5, 3.5, 5.0, -6.0]  # ties (scale 1)
    w[1, 8:32] = 0
    wq, s = mx.quantize(mx.array(w), mode="mxfp4")
    assert wq.dtype == mx.uint32 and s.dtype == mx.uint8 and s.shape == (6, 4)
    pq, ps = np_mxfp4(w)
    np.testing.assert_array_equal(np.array(s), ps)
    np.testing.assert_array_equal(np.array(wq), pq)
    d = mx.dequantize(wq, s, mode="mxfp4")
    assert d.dtype == mx.bfloat16
    codes = np.stack([(pq >> (4 * i)) & 15 for i in range(8)], -1).reshape(6, 128)
    vals = E2M1[codes & 7] * np.where(codes & 8, -1, 1)
    want = vals * np.repeat(np.exp2(ps.astype(np.float64) - 127), 32, axis=1)
    np.testing.assert_array_equal(to_np(mx.dequantize(wq, s, mode="mxfp4", dtype=mx.float32)), want)


@pytest.mark.parametrize("mode", ["mxfp4", "mxfp8"])
@pytest.mark.parametrize("dt", ["float32", "float16", "bfloat16"])
def test_mx_modes_bit_exact_with_mlx(mode, dt, mlx):
    w = (RNG.standard_normal((8, 256)) * RNG.uniform(1e-3, 1e3)).astype(np.float32)
    w[0, :32] = 0
    w[2, :32] = -1e-3
    w[2, 0] = 100  # tiny negatives round to zero
    ours = mx.quantize(mx.array(w).astype(getattr(mx, dt)), mode=mode)
    theirs = mlx.quantize(mlx.array(w).astype(getattr(mlx, dt)), mode=mode)
    assert len(ours) == len(theirs) == 2
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(np.array(a), np.array(b))
    np.testing.assert_array_equal(
        to_np(mx.dequantize(*ours, mode=mode, dtype=mx.float32)),
        np.array(mlx.dequantize(*theirs, mode=mode, dtype=mlx.float32)))
    x = RNG.standard_normal((3, 256)).astype(np.float32)
    got = mx.quantized_matmul(mx.array(x), *ours, mode=mode)
    want = mlx.quantized_matmul(mlx.array(x), *theirs, mode=mode)
    ref = np.array(want.astype(mlx.float32))
    tol = 2e-2 if dt != "float32" else 1e-4
    np.testing.assert_allclose(to_np(got), ref, rtol=tol, atol=1e-3 * float(np.abs(ref).max()) + 1e-4)


def test_mx_modes_matmul_and_errors(mlx):
    w = RNG.standard_normal((3, 64, 128)).astype(np.float32)
    x = RNG.standard_normal((4, 1, 128)).astype(np.float32)
    ours = mx.quantize(mx.array(w), mode="mxfp8")
    theirs = mlx.quantize(mlx.array(w), mode="mxfp8")
    ri = np.array([2, 0, 1, 2])
    got = mx.gather_qmm(mx.array(x), *ours, rhs_indices=mx.array(ri), mode="mxfp8")
    want = mlx.gather_qmm(mlx.array(x), *theirs, rhs_indices=mlx.array(ri), mode="mxfp8")
    np.testing.assert_allclose(np.array(got), np.array(want), rtol=1e-4, atol=1e-4)
    got = mx.quantized_matmul(mx.array(x[:, 0]).astype(mx.float16), *ours, mode="mxfp8")
    assert got.dtype == mx.float16
    with pytest.raises(ValueError, match="null"):
        mx.dequantize(ours[0], ours[1], ours[1], mode="mxfp8")
    with pytest.raises(ValueError, match="null"):
        mx.quantized_matmul(mx.array(x), ours[0], ours[1], ours[1], mode="mxfp8")
    with pytest.raises(ValueError, match="bits"):
        mx.quantize(mx.array(w), mode="mxfp4", bits=8)
    with pytest.raises(ValueError, match="group size"):
        mx.quantize(mx.array(w), mode="mxfp8", group_size=64)


def test_fp8_conversions():
    # Every code decodes to the E4M3 value (0x7f / 0xff are NaN).
    codes = np.arange(256, dtype=np.uint8)
    got = np.array(mx.from_fp8(mx.array(codes), dtype=mx.float32))
    e, m = (codes >> 3) & 15, (codes & 7).astype(np.float64)
    want = np.where(e == 0, m / 8 * 2.0**-6, (1 + m / 8) * 2.0 ** (e.astype(np.float64) - 7))
    want = np.where(codes >= 128, -want, want)
    want = np.where((codes & 127) == 127, np.nan, want)
    np.testing.assert_array_equal(got, want.astype(np.float32))
    assert mx.from_fp8(mx.array(codes)).dtype == mx.bfloat16
    # Encoding: round trip of the codes, midpoints round to the even code,
    # saturation at 448 (NaN and inf too), -0 keeps its sign.
    finite = np.array([c for c in range(256) if (c & 127) != 127], np.uint8)
    vals = got[finite]
    np.testing.assert_array_equal(np.array(mx.to_fp8(mx.array(vals))), finite)
    pos = got[:127]
    mids = (pos[:-1] + pos[1:]) / 2
    enc = np.array(mx.to_fp8(mx.array(mids)))
    assert np.all(enc % 2 == 0) and np.all((enc == np.arange(126)) | (enc == np.arange(1, 127)))
    sat = np.array(mx.to_fp8(mx.array([500.0, -1e6, np.inf, np.nan, -0.0, 1e-9], mx.float32)))
    np.testing.assert_array_equal(sat, [126, 254, 126, 126, 128, 0])
    with pytest.raises(ValueError, match="floating"):
        mx.to_fp8(mx.array([1, 2]))
    with pytest.raises(ValueError, match="uint8"):
        mx.from_fp8(mx.array([1, 2]))


@pytest.mark.parametrize("dt", ["float32", "float16", "bfloat16"])
def test_to_fp8_matches_mlx(dt, mlx):
    v = (RNG.standard_normal(3000) * np.exp2(RNG.uniform(-14, 10, 3000))).astype(np.float32)
    a = np.array(mx.to_fp8(mx.array(v).astype(getattr(mx, dt))))
    b = np.array(mlx.to_fp8(mlx.array(v).astype(getattr(mlx, dt))))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("transpose", [True, False])
def test_quantized_matmul_grad_scales_biases(transpose):
    # out is linear in scales and biases: compare with the exact derivative
    # of x @ (s*q + b) (q from dequantize with unit scales and zero biases).
    shape = (2, 32, 64) if transpose else (2, 64, 32)
    wq, s, b = mx.quantize(f64(RNG.standard_normal(shape)), group_size=32)
    q = np.array(mx.dequantize(wq, mx.ones(s.shape, mx.float64), mx.zeros(b.shape, mx.float64),
                               group_size=32))
    x = RNG.standard_normal((2, 3, 64))
    c = RNG.standard_normal((2, 3, 32))

    def f(sc, bi):
        return mx.sum(mx.quantized_matmul(f64(x), wq, sc, bi, transpose=transpose, group_size=32)
                      * f64(c))

    gs, gb = mx.grad(f, argnums=(0, 1))(s, b)
    dense = np.swapaxes(c, -1, -2) @ x if transpose else np.swapaxes(x, -1, -2) @ c  # (2, R, C)
    R, C = dense.shape[1:]
    want_b = dense.reshape(2, R, -1, 32).sum(-1)
    want_s = (dense * q).reshape(2, R, -1, 32).sum(-1)
    np.testing.assert_allclose(np.array(gb), want_b, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(np.array(gs), want_s, rtol=1e-10, atol=1e-10)
    # Finite differences on one scale entry.
    eps = 1e-6
    sp = np.array(s).copy()
    sp[1, 3, 0] += eps
    sm = np.array(s).copy()
    sm[1, 3, 0] -= eps
    fd = (f(f64(sp), b).item() - f(f64(sm), b).item()) / (2 * eps)
    assert abs(fd - np.array(gs)[1, 3, 0]) < 1e-6 * max(1.0, abs(fd))


def test_quantized_noncontiguous_and_empty():
    w = RNG.standard_normal((128, 64)).astype(np.float32)
    a = mx.quantize(mx.transpose(mx.array(w)))  # strided view
    b = mx.quantize(mx.array(np.ascontiguousarray(w.T)))
    for u, v in zip(a, b):
        np.testing.assert_array_equal(np.array(u), np.array(v))
    x = RNG.standard_normal((128, 6)).astype(np.float32)
    got = mx.quantized_matmul(mx.transpose(mx.array(x)), *a)  # (6, 128) strided
    want = mx.quantized_matmul(mx.array(np.ascontiguousarray(x.T)), *b)
    np.testing.assert_array_equal(np.array(got), np.array(want))
    e = mx.quantize(mx.zeros((0, 64)))
    assert e[0].shape == (0, 8) and e[1].shape == (0, 1)
    assert mx.dequantize(*e).shape == (0, 64)
    assert mx.quantized_matmul(mx.zeros((0, 128)), *a).shape == (0, 64)
    assert mx.gather_mm(mx.ones((2, 3, 4)), mx.ones((2, 4, 5)), mx.array([], dtype=mx.int32),
                        mx.array([], dtype=mx.int32)).shape == (0, 3, 5)
