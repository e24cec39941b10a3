"""Transform coverage: every primitive has a vjp, jvp and vmap rule or a
justified gap (scripts/transform_coverage.py), and the rules of the conv,
linalg, fast, quantized and gathered-matmul families are right: vmap against
a Python loop (and one node, not one per batch element), vjp/jvp against
finite differences and MLX."""

import importlib.util
import io
import pathlib

import numpy as np
import pytest

import oxmlx.core as mx

try:
    import mlx.core as mlx
except ImportError:  # pragma: no cover - mlx is a test extra
    mlx = None

ROOT = pathlib.Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(7)


def R(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def _coverage():
    spec = importlib.util.spec_from_file_location("transform_coverage", ROOT / "scripts" / "transform_coverage.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ------------------------------------------------------------ the scan


def test_every_gap_is_justified():
    cov = _coverage()
    rows = cov.scan()
    assert len(rows) > 20  # the scan found the primitives
    bad = [(p, r) for p, r, why in cov.gaps(rows) if why is None]
    assert bad == [], f"primitives lacking a rule without a '// transforms:' justification: {bad}"


def test_scan_flags_unjustified_gaps():
    cov = _coverage()
    body = """{
  void eval(const std::vector<array>& in, std::vector<array>& out) override;
  std::pair<std::vector<array>, std::vector<int>> vmap(const std::vector<array>& in,
                                                       const std::vector<int>& axes) override {
    return vmap_fallback(in, axes);
  }
  // transforms: no vjp/jvp — integer output (MLX: same)
"""
    assert cov.INLINE_FALLBACK.search(body)
    assert cov.markers(body) == {"vjp": "integer output (MLX: same)", "jvp": "integer output (MLX: same)"}
    assert cov.markers("// nothing here") == {}
    text = "// transforms: fallback vmap — one key\n// per node\nclass P : public Primitive {};"
    assert cov.markers(cov.preceding_comments(text, text.index("class"))) == {"vmap": "one key per node"}


# ------------------------------------------------------------ helpers


def loop(fun, args, in_axes, out_axis=0):
    n = next(a.shape[ax] for a, ax in zip(args, in_axes) if ax is not None)
    outs = []
    for b in range(n):
        el = [mx.array(np.take(a, b, axis=ax)) if ax is not None else mx.array(a) for a, ax in zip(args, in_axes)]
        r = fun(*el)
        outs.append([np.array(x) for x in r] if isinstance(r, (list, tuple)) else np.array(r))
    if isinstance(outs[0], list):
        return [np.stack([o[k] for o in outs], axis=out_axis) for k in range(len(outs[0]))]
    return np.stack(outs, axis=out_axis)


def nodes(arrays, name):
    """Number of `name` nodes in the (unevaluated) graph of arrays."""
    buf = io.StringIO()
    arrays = arrays if isinstance(arrays, (list, tuple)) else [arrays]
    mx.export_to_dot(buf, *arrays)
    return buf.getvalue().count(f'label="{name}"')


def check_vmap(fun, args, in_axes, prim, rtol=1e-5, atol=1e-5, out_axis=0, max_nodes=1):
    got = mx.vmap(fun, in_axes=tuple(in_axes), out_axes=out_axis)(*[mx.array(a) for a in args])
    # A native rule leaves one node of the family; the fallback one per element.
    n = nodes(got, prim)
    assert 1 <= n <= max_nodes, f"{n} {prim} nodes"
    want = loop(fun, args, in_axes, out_axis)
    if isinstance(got, (list, tuple)):
        for g, w in zip(got, want):
            np.testing.assert_allclose(np.array(g), w, rtol=rtol, atol=atol)
    else:
        np.testing.assert_allclose(np.array(got), want, rtol=rtol, atol=atol)


def fd_vjp(f, xs, ct, k, eps=1e-6):
    """<ct, d f / d xs[k]> by central differences (f returns one numpy array)."""
    x = xs[k]
    g = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        xp = [v.copy() for v in xs]
        xm = [v.copy() for v in xs]
        xp[k][i] += eps
        xm[k][i] -= eps
        g[i] = np.sum(ct * (f(*xp) - f(*xm))) / (2 * eps)
    return g


# ------------------------------------------------------------ conv


CONV_CASES = {
    # name: (fn(x, w), x shape (no batch), w shape (no batch))
    "conv1d": (lambda x, w: mx.conv1d(x, w, stride=2, padding=1), (2, 9, 4), (3, 3, 4)),
    "conv1d_groups": (lambda x, w: mx.conv1d(x, w, padding=2, dilation=2, groups=2), (2, 8, 4), (6, 3, 2)),
    "conv2d": (lambda x, w: mx.conv2d(x, w, stride=(1, 2), padding=(1, 0)), (2, 6, 5, 3), (4, 3, 2, 3)),
    "conv2d_groups": (lambda x, w: mx.conv2d(x, w, groups=3), (1, 5, 5, 6), (6, 2, 2, 2)),
    "conv_transpose1d": (lambda x, w: mx.conv_transpose1d(x, w, stride=2, padding=1), (2, 5, 3), (4, 3, 3)),
    "conv_general_idil": (lambda x, w: mx.conv_general(x, w, stride=1, padding=1, input_dilation=2, flip=True),
                          (1, 5, 5, 2), (3, 2, 3, 2)),
}


@pytest.mark.parametrize("name", sorted(CONV_CASES))
@pytest.mark.parametrize("which", ["x", "w", "both"])
def test_conv_vmap(name, which):
    fn, xs, ws = CONV_CASES[name]
    V = 3
    x = R(*xs[:1], V, *xs[1:]) if which != "w" else R(*xs)
    w = R(*ws, V) if which != "x" else R(*ws)
    axes = [1 if which != "w" else None, len(ws) if which != "x" else None]
    check_vmap(fn, [x, w], axes, "Convolution", rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["conv1d_groups", "conv2d", "conv_transpose1d"])
def test_conv_per_example_weight_grads(name):
    # vmap of grad: per-example weight gradients (ConvolutionWeightGrad batched).
    fn, xs, ws = CONV_CASES[name]
    V = 3
    x, w = R(V, *xs), R(*ws)

    def g(x, w):
        return mx.grad(lambda w: mx.sum(fn(x, w) ** 2), argnums=0)(w)

    check_vmap(g, [x, w], [0, None], "ConvolutionWeightGrad", rtol=1e-4, atol=1e-3)
    # and with the weight batched too
    check_vmap(g, [x, R(V, *ws)], [0, 0], "ConvolutionWeightGrad", rtol=1e-4, atol=1e-3)


# ------------------------------------------------------------ linalg


def _spd(*batch, n=4):
    a = R(*batch, n, n).astype(np.float64)
    return (a @ np.swapaxes(a, -1, -2) + n * np.eye(n)).astype(np.float32)


LINALG = {
    "inv": (lambda a: mx.linalg.inv(a), "Inverse"),
    "tri_inv": (lambda a: mx.linalg.tri_inv(a, upper=False), "TriInverse"),
    "cholesky": (lambda a: mx.linalg.cholesky(a), "Cholesky"),
    "qr": (lambda a: mx.linalg.qr(a), "QRF"),
    "svd_values": (lambda a: mx.linalg.svd(a, compute_uv=False), "SVD"),
    "eigvalsh": (lambda a: mx.linalg.eigvalsh(a), "Eigh"),
    "eigh_vectors_abs": (lambda a: mx.abs(mx.linalg.eigh(a)[1]), "Eigh"),
    "lu_factor": (lambda a: mx.linalg.lu_factor(a)[0], "LUFactor"),
    "lu": (lambda a: mx.linalg.lu(a)[1], "LUF"),
    "det": (lambda a: mx.linalg.det(a), "Det"),
    "slogdet": (lambda a: mx.linalg.slogdet(a)[1], "SlogDet"),
}


@pytest.mark.parametrize("name", sorted(LINALG))
@pytest.mark.parametrize("axis", [0, 2])
def test_linalg_vmap(name, axis):
    fn, prim = LINALG[name]
    a = np.moveaxis(_spd(3, 2), 0, axis)  # per element (2, 4, 4), batched at `axis`
    if name == "tri_inv":
        a = np.tril(np.moveaxis(a, axis, 0)) + 0
        a = np.moveaxis(a, 0, axis)
    check_vmap(fn, [a], [axis], prim, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("axes", [(0, None), (None, 1), (2, 0)])
def test_solve_vmap(axes):
    a = _spd(3, 4) if axes[0] is not None else _spd(4)
    if axes[0] == 2:
        a = np.moveaxis(a, 0, 2)
    b = R(4, 3, 2) if axes[1] == 1 else (R(3, 4, 2) if axes[1] == 0 else R(4, 2))
    check_vmap(lambda a, b: mx.linalg.solve(a, b), [a, b], list(axes), "Solve", rtol=1e-4, atol=1e-4)
    check_vmap(lambda a, b: mx.linalg.solve_triangular(a, b, upper=True), [a, b], list(axes),
               "SolveTriangular", rtol=1e-4, atol=1e-4)


def test_det_grad_vmap():
    # Cofactor (the gradient of det) batched.
    a = _spd(3, n=3)
    check_vmap(mx.grad(lambda a: mx.linalg.det(a)), [a], [0], "Cofactor", rtol=1e-4, atol=1e-4)


# ------------------------------------------------------------ fast


def test_fast_norms_vmap():
    x, w, b = R(3, 2, 5, 8), R(8), R(8)
    check_vmap(lambda x: mx.fast.rms_norm(x, None, 1e-5), [x], [2], "RMSNorm")
    check_vmap(lambda x, w: mx.fast.rms_norm(x, w, 1e-5), [x, w], [0, None], "RMSNorm")
    check_vmap(lambda x, w, b: mx.fast.layer_norm(x, w, b, 1e-5), [x, w, b], [1, None, None], "LayerNorm")
    # A batched weight / bias: through the composition (no fused node left).
    W = R(3, 8)
    got = mx.vmap(lambda x, w: mx.fast.rms_norm(x, w, 1e-5), in_axes=(0, 0))(mx.array(x), mx.array(W))
    want = loop(lambda x, w: mx.fast.rms_norm(x, w, 1e-5), [x, W], [0, 0])
    np.testing.assert_allclose(np.array(got), want, rtol=1e-5, atol=1e-5)
    got = mx.vmap(lambda x, b: mx.fast.layer_norm(x, None, b, 1e-5), in_axes=(None, 0))(mx.array(x[0]), mx.array(W))
    want = loop(lambda x, b: mx.fast.layer_norm(x, None, b, 1e-5), [x[0], W], [None, 0])
    np.testing.assert_allclose(np.array(got), want, rtol=1e-5, atol=1e-5)


def test_fast_norm_grads_vmap():
    # per-example gradients of the norms (their backward nodes batched)
    x, w = R(3, 4, 8), R(8)
    g = lambda x, w: mx.grad(lambda x, w: mx.sum(mx.fast.rms_norm(x, w, 1e-5) * x), argnums=(0, 1))(x, w)  # noqa: E731
    got = mx.vmap(g, in_axes=(0, None))(mx.array(x), mx.array(w))
    want = loop(g, [x, w], [0, None])
    for a, b in zip(got, want):
        np.testing.assert_allclose(np.array(a), b, rtol=1e-4, atol=1e-5)


def test_rope_vmap():
    x = R(3, 2, 2, 5, 8)
    f = lambda x, off: mx.fast.rope(x, 8, traditional=False, base=10000.0, scale=1.0, offset=off)  # noqa: E731
    check_vmap(f, [x, np.array(2, np.int32)], [0, None], "RoPE")
    check_vmap(f, [x, np.array([1, 4, 0], np.int32)], [0, 0], "RoPE")
    check_vmap(f, [x[0], np.array([[1, 4], [0, 3], [2, 2]], np.int32)], [None, 0], "RoPE")
    ft = lambda x: mx.fast.rope(x, 6, traditional=True, base=500.0, scale=0.5, offset=3)  # noqa: E731
    check_vmap(ft, [np.moveaxis(x, 0, 3)], [3], "RoPE")
    # batched frequencies: the composition
    fr = lambda x, fq: mx.fast.rope(x, 8, traditional=False, base=None, scale=1.0, offset=1, freqs=fq)  # noqa: E731
    fq = np.abs(R(3, 4)) + 0.5
    got = mx.vmap(fr, in_axes=(0, 0))(mx.array(x), mx.array(fq))
    np.testing.assert_allclose(np.array(got), loop(fr, [x, fq], [0, 0]), rtol=1e-5, atol=1e-5)


def test_softmax_logsumexp_cross_entropy_vmap():
    x = R(4, 3, 7)
    check_vmap(lambda x: mx.softmax(x, axis=-1), [x], [2], "Softmax")
    check_vmap(lambda x: mx.logsumexp(x, axis=0), [x], [1], "LogSumExp")
    t = RNG.integers(0, 7, size=(4, 3)).astype(np.int32)
    check_vmap(lambda x, t: mx.fast.cross_entropy(x, t), [x, t], [0, 0], "LogSumExp")


def _sdpa_inputs(V, B=1, nq=4, nkv=2, T=5, S=6, D=8):
    return R(V, B, nq, T, D), R(V, B, nkv, S, D), R(V, B, nkv, S, D)


@pytest.mark.parametrize("mask", [None, "causal", "array", "bool"])
def test_sdpa_vmap(mask):
    q, k, v = _sdpa_inputs(3)
    m = None
    if mask == "array":
        m = R(3, 5, 6)
    elif mask == "bool":
        m = RNG.random((3, 1, 5, 6)) > 0.3
        m[..., 0] = True
    if m is None or mask == "causal":
        f = lambda q, k, v: mx.fast.scaled_dot_product_attention(q, k, v, scale=0.3, mask=mask)  # noqa: E731
        check_vmap(f, [q, k, v], [0, 0, 0], "ScaledDotProductAttention")
        check_vmap(f, [q, k[0], v[0]], [0, None, None], "ScaledDotProductAttention")
        check_vmap(f, [np.moveaxis(q, 0, 3), k[0], v], [3, None, 0], "ScaledDotProductAttention")
    else:
        f = lambda q, k, v, m: mx.fast.scaled_dot_product_attention(q, k, v, scale=0.3, mask=m)  # noqa: E731
        check_vmap(f, [q, k, v, m], [0, 0, 0, 0], "ScaledDotProductAttention")
        check_vmap(f, [q, k, v, m[0]], [0, 0, 0, None], "ScaledDotProductAttention")


def test_sdpa_sinks_vmap():
    q, k, v = _sdpa_inputs(3)
    sinks = R(4)
    f = lambda q, k, v, s: mx.fast.scaled_dot_product_attention(q, k, v, scale=0.3, sinks=s)  # noqa: E731
    check_vmap(f, [q, k, v, sinks], [0, 0, 0, None], "ScaledDotProductAttention")
    # batched sinks: the composition
    S = R(3, 4)
    got = mx.vmap(f, in_axes=(0, 0, 0, 0))(*[mx.array(a) for a in (q, k, v, S)])
    np.testing.assert_allclose(np.array(got), loop(f, [q, k, v, S], [0, 0, 0, 0]), rtol=1e-5, atol=1e-5)


def test_sdpa_grad_vmap():
    # per-example attention gradients: ScaledDotProductAttentionVJP batched
    q, k, v = _sdpa_inputs(3)
    g = lambda q, k, v: mx.grad(  # noqa: E731
        lambda q, k, v: mx.sum(mx.fast.scaled_dot_product_attention(q, k, v, scale=0.3, mask="causal") ** 2),
        argnums=(0, 1, 2))(q, k, v)
    got = mx.vmap(g, in_axes=(0, 0, None))(mx.array(q), mx.array(k), mx.array(v[0]))
    assert nodes(list(got), "ScaledDotProductAttentionVJP") == 1
    want = loop(g, [q, k, v[0]], [0, 0, None])
    for a, b in zip(got, want):
        np.testing.assert_allclose(np.array(a), b, rtol=1e-4, atol=1e-5)


def test_gated_delta_vmap():
    V, B, T, Hk, Hv, Dk, Dv = 3, 1, 4, 1, 2, 4, 3
    q, k, v = R(V, B, T, Hk, Dk), R(V, B, T, Hk, Dk), R(V, B, T, Hv, Dv)
    g = 1 / (1 + np.exp(-R(V, B, T, Hv)))
    beta = 1 / (1 + np.exp(-R(V, B, T, Hv)))
    f = lambda q, k, v, g, b: mx.fast.gated_delta_update(q, k, v, g, b)  # noqa: E731
    check_vmap(f, [q, k, v, g, beta], [0, 0, 0, 0, 0], "GatedDeltaUpdate", atol=1e-4)
    check_vmap(f, [q, k[0], v, g[0], beta], [0, None, 0, None, 0], "GatedDeltaUpdate", atol=1e-4)


# ------------------------------------------------------------ gathered / quantized matmuls


@pytest.mark.parametrize("axes", [(0, None, None, None), (None, 1, None, None), (None, None, 0, None),
                                  (0, 0, None, 1), (2, None, 0, 0)])
def test_gather_mm_vmap(axes):
    V = 3
    shapes = [(4, 2, 5), (3, 5, 6), (7,), (7,)]
    args = []
    for i, (s, ax) in enumerate(zip(shapes, axes)):
        if i < 2:
            a = R(*s) if ax is None else np.moveaxis(R(V, *s), 0, ax)
        else:
            hi = shapes[i - 2][0]
            a = RNG.integers(0, hi, size=s if ax is None else (V, *s) if ax == 0 else (*s, V)).astype(np.uint32)
            if ax not in (None, 0):
                a = np.moveaxis(a, -1, ax)
        args.append(a)
    f = lambda a, b, li, ri: mx.gather_mm(a, b, li, ri)  # noqa: E731
    check_vmap(f, args, list(axes), "GatherMM", rtol=1e-4, atol=1e-4)


def test_gather_mm_vmap_keeps_index_errors():
    # An index out of range for its own batch element stays an error (not
    # another element's matrix).
    a, b = R(3, 2, 4, 5), R(3, 5, 2)
    bad = np.array([[0], [4], [1]], np.uint32)  # 4 >= 2 matrices per element
    with pytest.raises(IndexError, match="out of bounds"):
        mx.eval(mx.vmap(lambda a, i: mx.gather_mm(a, b[0], i, None), in_axes=(0, 0))(mx.array(a[:, :2]), mx.array(bad)))


def _qw(*shape, bits=4, gs=32):
    w = R(*shape)
    return [np.array(t) for t in mx.quantize(mx.array(w), group_size=gs, bits=bits)]


@pytest.mark.parametrize("which", ["x", "w", "both"])
def test_quantized_matmul_vmap(which):
    V = 3
    x = R(V, 2, 64) if which != "w" else R(2, 64)
    wq, s, b = _qw(V, 8, 64) if which != "x" else _qw(8, 64)
    ax_w = 0 if which != "x" else None
    f = lambda x, wq, s, b: mx.quantized_matmul(x, wq, s, b, transpose=True, group_size=32, bits=4)  # noqa: E731
    check_vmap(f, [x, wq, s, b], [0 if which != "w" else None, ax_w, ax_w, ax_w], "QuantizedMatmul",
               rtol=1e-4, atol=1e-4)


def test_gather_qmm_vmap():
    V = 3
    x = R(V, 4, 1, 64)
    wq, s, b = _qw(5, 16, 64)
    idx = RNG.integers(0, 5, size=(V, 4)).astype(np.uint32)
    f = lambda x, i: mx.gather_qmm(x, mx.array(wq), mx.array(s), mx.array(b), rhs_indices=i, transpose=True,  # noqa: E731
                                   group_size=32, bits=4)
    check_vmap(f, [x, idx], [0, 0], "QuantizedMatmul", rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_quantize_dequantize_vmap(axis):
    w = np.moveaxis(R(3, 4, 64), 0, axis)
    check_vmap(lambda w: mx.quantize(w, group_size=32, bits=4), [w], [axis], "Quantize")
    wq, s, b = _qw(4, 64)
    S = np.abs(R(3, 4, 2)) + 0.1
    check_vmap(lambda s: mx.dequantize(mx.array(wq), s, mx.array(b), group_size=32, bits=4), [S], [0], "Dequantize")
    wq3, s3, b3 = _qw(3, 4, 64)
    check_vmap(lambda w, s, b: mx.dequantize(w, s, b, group_size=32, bits=4), [wq3, s3, b3], [0, 0, 0], "Dequantize")


SEG = np.array([[0, 3], [3, 7], [2, 2], [5, 1]], np.int32)


@pytest.mark.parametrize("axes", [(0, None, None), (None, 0, None), (None, None, 0), (0, 2, None), (1, None, 0),
                                  (0, 0, 0)])
def test_segmented_mm_vmap(axes):
    V = 3
    a = R(4, 7) if axes[0] is None else np.moveaxis(R(V, 4, 7), 0, axes[0])
    b = R(7, 5) if axes[1] is None else np.moveaxis(R(V, 7, 5), 0, axes[1])
    seg = SEG if axes[2] is None else np.stack([SEG, SEG[::-1], np.array([[0, 7], [1, 2], [6, 7], [0, 0]], np.int32)])
    check_vmap(lambda a, b, s: mx.segmented_mm(a, b, s), [a, b, seg], list(axes), "SegmentedMM", rtol=1e-4,
               atol=1e-4)


def test_segmented_mm_vmap_keeps_bound_errors():
    a, b = R(3, 4, 7), R(3, 7, 5)
    with pytest.raises(IndexError, match="out of bounds"):
        mx.eval(mx.vmap(lambda a, b: mx.segmented_mm(a, b, mx.array([[0, 9]])), in_axes=(0, 0))(mx.array(a),
                                                                                             mx.array(b)))


# ------------------------------------------------------------ derivative rules


def test_segmented_mm_vjp_jvp_finite_differences():
    a, b = R(4, 7).astype(np.float64), R(7, 5).astype(np.float64)
    seg = np.array([[[0, 3], [3, 7]], [[2, 6], [4, 1]]], np.int32)  # (2, 2, 2): overlapping, empty
    ct = R(2, 2, 4, 5).astype(np.float64)
    D = lambda v: mx.array(v, dtype=mx.float64)  # noqa: E731
    f = lambda a, b: np.array(mx.segmented_mm(D(a), D(b), mx.array(seg)))  # noqa: E731
    _, (ga, gb) = mx.vjp(lambda a, b: mx.segmented_mm(a, b, mx.array(seg)), [D(a), D(b)], [D(ct)])
    assert np.array(ga).dtype == np.float64
    np.testing.assert_allclose(np.array(ga), fd_vjp(f, [a, b], ct, 0), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(np.array(gb), fd_vjp(f, [a, b], ct, 1), rtol=1e-6, atol=1e-7)
    ta, tb = R(4, 7).astype(np.float64), R(7, 5).astype(np.float64)
    _, (t,) = mx.jvp(lambda a, b: mx.segmented_mm(a, b, mx.array(seg)), [D(a), D(b)], [D(ta), D(tb)])
    eps = 1e-6
    want = (f(a + eps * ta, b + eps * tb) - f(a - eps * ta, b - eps * tb)) / (2 * eps)
    np.testing.assert_allclose(np.array(t), want, rtol=1e-6, atol=1e-7)


def test_dequantize_vjp_jvp():
    wq, s, b = _qw(4, 64)
    s64, b64 = s.astype(np.float64), b.astype(np.float64)
    ct = R(4, 64).astype(np.float64)

    D = lambda v: mx.array(v, dtype=mx.float64)  # noqa: E731

    def f(s, b):
        return np.array(mx.dequantize(mx.array(wq), D(s), D(b), group_size=32, bits=4))

    _, (gs, gb) = mx.vjp(lambda s, b: mx.dequantize(mx.array(wq), s, b, group_size=32, bits=4),
                         [D(s64), D(b64)], [D(ct)])
    assert np.array(gs).dtype == np.float64
    np.testing.assert_allclose(np.array(gs), fd_vjp(f, [s64, b64], ct, 0), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.array(gb), fd_vjp(f, [s64, b64], ct, 1), rtol=1e-6, atol=1e-6)
    ts, tb = R(4, 2).astype(np.float64), R(4, 2).astype(np.float64)
    _, (t,) = mx.jvp(lambda s, b: mx.dequantize(mx.array(wq), s, b, group_size=32, bits=4),
                     [D(s64), D(b64)], [D(ts), D(tb)])
    np.testing.assert_allclose(np.array(t), (f(s64 + ts, b64 + tb) - f(s64 - ts, b64 - tb)) / 2, rtol=1e-9,
                               atol=1e-9)
    if mlx is not None:
        m = mlx.grad(lambda s, b: (mlx.dequantize(mlx.array(wq), s, b, group_size=32, bits=4) * mlx.array(ct.astype(np.float32))).sum(),
                     argnums=(0, 1))(mlx.array(s), mlx.array(b))
        np.testing.assert_allclose(np.array(gs), np.array(m[0]), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(np.array(gb), np.array(m[1]), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_quantize_vjp_jvp(bits):
    # scales / biases are piecewise linear in w (through the group's extreme
    # value; q0 = round(edge / scale) picks the piece). The kernel computes in
    # float32: the differences divide by the float32 step actually taken and
    # skip the points whose two sides lie on different pieces.
    w = R(3, 64)
    cs, cb = R(3, 2), R(3, 2)

    def loss_np(w):
        """The loss and the groups' q0 = bias / scale (the piece w lies on)."""
        _, s, b = mx.quantize(mx.array(w), group_size=32, bits=bits)
        s, b = np.array(s).astype(np.float64), np.array(b).astype(np.float64)
        return float(np.sum(s * cs) + np.sum(b * cb)), np.rint(b / s)

    def loss(w):
        _, s, b = mx.quantize(w, group_size=32, bits=bits)
        return mx.sum(s * mx.array(cs)) + mx.sum(b * mx.array(cb))

    g = np.array(mx.grad(loss)(mx.array(w)))
    eps = 1e-4
    num = np.zeros_like(w)
    smooth = np.ones(w.shape, bool)
    for i in np.ndindex(*w.shape):
        wp, wm = w.copy(), w.copy()
        wp[i] += np.float32(eps)
        wm[i] -= np.float32(eps)
        (lp, qp), (lm, qm) = loss_np(wp), loss_np(wm)
        num[i] = (lp - lm) / (float(wp[i]) - float(wm[i]))  # the float32 step actually taken
        smooth[i] = (qp == qm).all()  # a q0 jump between the two points is no derivative
    assert smooth.mean() > 0.9
    np.testing.assert_allclose(g[smooth], num[smooth], rtol=1e-3, atol=1e-3)
    assert np.count_nonzero(g) > 0
    t = R(3, 64)
    _, (tq, ts, tb) = mx.jvp(lambda w: mx.quantize(w, group_size=32, bits=bits), [mx.array(w)], [mx.array(t)])
    assert np.array(tq).dtype == np.uint32 and not np.array(tq).any()
    np.testing.assert_allclose(np.sum(np.array(ts) * cs) + np.sum(np.array(tb) * cb), np.sum(g * t), rtol=1e-4,
                               atol=1e-4)
    if mlx is not None:
        def mloss(w):
            _, s, b = mlx.quantize(w, group_size=32, bits=bits)
            return (s * mlx.array(cs)).sum() + (b * mlx.array(cb)).sum()

        np.testing.assert_allclose(g, np.array(mlx.grad(mloss)(mlx.array(w))), rtol=1e-4, atol=1e-5)


def test_quantized_matmul_grad_vmap():
    # vmap of grad through quantized_matmul (its vjp's nodes batched too)
    x = R(3, 2, 64)
    wq, s, b = _qw(8, 64)
    f = lambda x, s: mx.grad(lambda x, s: mx.sum(mx.quantized_matmul(x, mx.array(wq), s, mx.array(b), group_size=32,  # noqa: E731
                                                                   bits=4) ** 2), argnums=(0, 1))(x, s)
    got = mx.vmap(f, in_axes=(0, None))(mx.array(x), mx.array(s))
    want = loop(f, [x, s], [0, None])
    for a, c in zip(got, want):
        np.testing.assert_allclose(np.array(a), c, rtol=1e-4, atol=1e-4)


def test_argmax_gives_zero_gradients():
    x = R(5).astype(np.float64)
    f = lambda x: mx.sum(x * mx.argmax(x).astype(mx.float64))  # noqa: E731
    g = np.array(mx.grad(f)(mx.array(x)))
    np.testing.assert_allclose(g, np.full(5, float(np.argmax(x))))
    _, (t,) = mx.jvp(lambda x: mx.argmin(x, axis=0), [mx.array(x)], [mx.array(np.ones(5))])
    assert np.array(t).dtype == np.uint32 and not np.array(t).any()
    if mlx is not None:
        mg = mlx.grad(lambda x: (x * mlx.argmax(x).astype(mlx.float32)).sum())(mlx.array(x.astype(np.float32)))
        np.testing.assert_allclose(g, np.array(mg))


def test_empty_batch():
    # V = 0: every batched node is empty (a V * groups convolution would
    # otherwise have zero groups).
    z = lambda *s: mx.zeros(s)  # noqa: E731
    r = mx.vmap(lambda x, w: mx.conv1d(x, w), in_axes=(0, 0))(z(0, 2, 5, 3), z(0, 4, 2, 3))
    assert r.shape == (0, 2, 4, 4)
    r = mx.vmap(lambda a, b: mx.segmented_mm(a, b, mx.array([[0, 3]])), in_axes=(0, 0), out_axes=1)(z(0, 2, 3),
                                                                                                 z(0, 3, 2))
    assert r.shape == (1, 0, 2, 2)
    assert np.array(r).size == 0


GRAD_OF_VMAP = {
    # name: (fn, args, in_axes): grad of sum(vmap(fn)(...) * c) against the
    # per-element gradients summed (unbatched args) or stacked (batched)
    "conv_both": (lambda x, w: mx.conv1d(x, w, padding=1, groups=2), [R(3, 2, 7, 4), R(3, 6, 3, 2)], (0, 0)),
    "conv_w": (lambda x, w: mx.conv1d(x, w, stride=2), [R(2, 7, 4), R(3, 6, 3, 4)], (None, 0)),
    "gather_mm": (lambda a, b: mx.gather_mm(a, b, mx.array([1, 0, 1]), mx.array([0, 0, 1])),
                  [R(3, 2, 2, 5), R(3, 2, 5, 4)], (0, 0)),
    "segmented_mm": (lambda a, b: mx.segmented_mm(a, b, mx.array([[0, 2], [2, 6], [1, 5]])),
                     [R(3, 4, 6), R(3, 6, 2)], (0, 0)),
    "sdpa": (lambda q, k, v: mx.fast.scaled_dot_product_attention(q, k, v, scale=0.4, mask="causal"),
             [R(3, 1, 2, 4, 8), R(3, 1, 1, 5, 8), R(1, 1, 5, 8)], (0, 0, None)),
    "rope": (lambda x, o: mx.fast.rope(x, 8, traditional=True, base=100.0, scale=1.0, offset=o),
             [R(3, 2, 1, 4, 8), np.array([0, 3, 1], np.int32)], (0, 0)),
    "layer_norm": (lambda x, w, b: mx.fast.layer_norm(x, w, b, 1e-5), [R(3, 4, 8), R(8), R(8)], (0, None, None)),
}


@pytest.mark.parametrize("name", sorted(GRAD_OF_VMAP))
def test_grad_of_vmap(name):
    fn, args, axes = GRAD_OF_VMAP[name]
    diff = [i for i, a in enumerate(args) if a.dtype.kind == "f"]
    out = mx.vmap(fn, in_axes=axes)(*[mx.array(a) for a in args])
    c = R(*out.shape)

    def loss(*xs):
        full = list(map(mx.array, args))
        for i, x in zip(diff, xs):
            full[i] = x
        return mx.sum(mx.vmap(fn, in_axes=axes)(*full) * mx.array(c))

    tup = lambda g: g if isinstance(g, (list, tuple)) else [g]  # noqa: E731
    got = tup(mx.grad(loss, argnums=tuple(range(len(diff))))(*[mx.array(args[i]) for i in diff]))
    V = c.shape[0]
    per = []
    for b in range(V):
        el = [mx.array(a[b]) if ax is not None else mx.array(a) for a, ax in zip(args, axes)]

        def lb(*xs, b=b, el=el):
            e = list(el)
            for i, x in zip(diff, xs):
                e[i] = x
            return mx.sum(fn(*e) * mx.array(c[b]))

        per.append([np.array(g) for g in tup(mx.grad(lb, argnums=tuple(range(len(diff))))(*[el[i] for i in diff]))])
    for k, i in enumerate(diff):
        want = np.stack([p[k] for p in per]) if axes[i] is not None else np.sum([p[k] for p in per], axis=0)
        np.testing.assert_allclose(np.array(got[k]), want, rtol=1e-4, atol=1e-4)
