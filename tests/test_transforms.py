"""grad / value_and_grad / vjp / jvp: finite differences in float64, MLX as oracle."""

import numpy as np
import pytest

import oxmlx.core as mx

UNARY = {
    "exp": (-1.0, 1.0), "expm1": (-1.0, 1.0), "log": (0.5, 2.0), "log1p": (0.1, 2.0),
    "log2": (0.5, 2.0), "log10": (0.5, 2.0), "sqrt": (0.5, 2.0), "rsqrt": (0.5, 2.0),
    "square": (-2.0, 2.0), "reciprocal": (0.5, 2.0), "sin": (-2.0, 2.0), "cos": (-2.0, 2.0),
    "tan": (-1.0, 1.0), "arcsin": (-0.8, 0.8), "arccos": (-0.8, 0.8), "arctan": (-2.0, 2.0),
    "sinh": (-1.0, 1.0), "cosh": (-1.0, 1.0), "tanh": (-2.0, 2.0), "arcsinh": (-2.0, 2.0),
    "arccosh": (1.2, 3.0), "arctanh": (-0.8, 0.8), "sigmoid": (-3.0, 3.0), "erf": (-1.5, 1.5),
    "erfinv": (-0.8, 0.8), "abs": (0.2, 2.0), "negative": (-2.0, 2.0),
}

BINARY = {
    "add": ((-2, 2), (-2, 2)), "subtract": ((-2, 2), (-2, 2)), "multiply": ((-2, 2), (-2, 2)),
    "divide": ((-2, 2), (0.5, 2)), "power": ((0.5, 2), (-1.5, 1.5)),
    "maximum": ((-2, 2), (-2, 2)), "minimum": ((-2, 2), (-2, 2)),
    "logaddexp": ((-2, 2), (-2, 2)), "arctan2": ((-2, 2), (0.5, 2)),
}


def numeric_grad(f, x, eps=1e-6):
    """Central differences of a scalar function of a float64 numpy array."""
    g = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        g[i] = (f(xp) - f(xm)) / (2 * eps)
    return g


def scalar_fn(op):
    return lambda x: mx.sum(getattr(mx, op)(x) * mx.arange(1, x.size + 1, dtype=mx.float64).reshape(x.shape))


@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary_vjp_matches_finite_differences(op):
    lo, hi = UNARY[op]
    x = np.random.default_rng(0).uniform(lo, hi, size=(2, 3))
    f = scalar_fn(op)
    g = np.array(mx.grad(f)(mx.array(x, dtype=mx.float64)))
    ng = numeric_grad(lambda v: f(mx.array(v, dtype=mx.float64)).item(), x)
    np.testing.assert_allclose(g, ng, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary_jvp_matches_vjp(op):
    lo, hi = UNARY[op]
    x = mx.array(np.random.default_rng(1).uniform(lo, hi, size=(4,)), dtype=mx.float64)
    t = mx.ones((4,), dtype=mx.float64)
    _, (jv,) = mx.jvp(getattr(mx, op), [x], [t])
    _, (vj,) = mx.vjp(getattr(mx, op), [x], [t])
    np.testing.assert_allclose(np.array(jv), np.array(vj), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary_vjp_matches_finite_differences(op):
    (alo, ahi), (blo, bhi) = BINARY[op]
    rng = np.random.default_rng(2)
    a = rng.uniform(alo, ahi, size=(3, 2))
    b = rng.uniform(blo, bhi, size=(2,))  # broadcast: gradient must be summed back
    fn = getattr(mx, op)

    def f(x, y):
        return mx.sum(fn(x, y) * mx.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=mx.float64))

    ga, gb = mx.grad(f, argnums=(0, 1))(mx.array(a, mx.float64), mx.array(b, mx.float64))
    na = numeric_grad(lambda v: f(mx.array(v, mx.float64), mx.array(b, mx.float64)).item(), a)
    nb_ = numeric_grad(lambda v: f(mx.array(a, mx.float64), mx.array(v, mx.float64)).item(), b)
    assert ga.shape == (3, 2) and gb.shape == (2,)
    np.testing.assert_allclose(np.array(ga), na, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.array(gb), nb_, rtol=1e-5, atol=1e-6)


def test_shape_reduce_and_matmul_gradients():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((3, 4))
    b = rng.standard_normal((4, 5))

    def f(x, y):
        z = (x @ y).T.reshape(-1)[::2]
        return mx.sum(z * z) + mx.max(x) + mx.mean(mx.prod(x[:, :2], axis=1)) + mx.sum(mx.cumsum(y, axis=1))

    ga, gb = mx.grad(f, argnums=(0, 1))(mx.array(a, mx.float64), mx.array(b, mx.float64))
    na = numeric_grad(lambda v: f(mx.array(v, mx.float64), mx.array(b, mx.float64)).item(), a)
    nb_ = numeric_grad(lambda v: f(mx.array(a, mx.float64), mx.array(v, mx.float64)).item(), b)
    np.testing.assert_allclose(np.array(ga), na, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.array(gb), nb_, rtol=1e-5, atol=1e-5)


def test_prod_gradient_with_zero_is_exact():
    x = mx.array([2.0, 0.0, 3.0, 4.0], dtype=mx.float64)
    g = mx.grad(lambda v: mx.prod(v))(x)
    np.testing.assert_array_equal(np.array(g), [0.0, 24.0, 0.0, 0.0])


def test_grad_of_grad():
    f = lambda x: mx.sum(mx.sin(x) * x**3)  # noqa: E731
    x = np.array([0.3, -1.2, 2.0])
    g2 = mx.grad(lambda v: mx.sum(mx.grad(f)(v)))(mx.array(x, mx.float64))
    # d2/dx2 [x^3 sin x] = 6x sin x + 6x^2 cos x - x^3 sin x
    expect = 6 * x * np.sin(x) + 6 * x**2 * np.cos(x) - x**3 * np.sin(x)
    np.testing.assert_allclose(np.array(g2), expect, rtol=1e-10)


def test_value_and_grad_pytrees_and_aux():
    params = {"w": [mx.array([1.0, 2.0]), mx.array(3.0)], "b": (mx.array([0.5]),)}

    def loss(p, scale):
        v = mx.sum(p["w"][0] ** 2) * p["w"][1] + mx.sum(p["b"][0]) * scale
        return v, mx.array(7.0)

    (val, aux), g = mx.value_and_grad(loss)(params, 2.0)
    assert val.item() == pytest.approx(15.0 + 1.0) and aux.item() == 7.0
    np.testing.assert_allclose(np.array(g["w"][0]), [6.0, 12.0])
    assert g["w"][1].item() == pytest.approx(5.0)
    assert isinstance(g["b"], tuple) and g["b"][0].tolist() == [2.0]


def test_grad_argnames_and_errors():
    f = lambda x, *, y: mx.sum(x * y)  # noqa: E731
    gx, gk = mx.grad(f, argnums=0, argnames="y")(mx.array([1.0, 2.0]), y=mx.array([3.0, 4.0]))
    assert gx.tolist() == [3.0, 4.0] and gk["y"].tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match="scalar"):
        mx.grad(lambda x: x * 2)(mx.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="argument number"):
        mx.grad(lambda x: mx.sum(x), argnums=3)(mx.array([1.0]))


def test_mlp_cross_entropy_gradients_match_mlx():
    M = pytest.importorskip("mlx.core")
    rng = np.random.default_rng(0)
    shapes = {"w1": (8, 16), "b1": (16,), "w2": (16, 4), "b2": (4,)}
    P = {k: (rng.standard_normal(s) * 0.3).astype(np.float32) for k, s in shapes.items()}
    X = rng.standard_normal((5, 8)).astype(np.float32)
    T = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 5)]

    def mlp(p, m):
        h = m.tanh(m.array(X) @ p["w1"] + p["b1"])
        z = h @ p["w2"] + p["b2"]
        zmax = m.max(z, axis=1, keepdims=True)
        lse = m.log(m.sum(m.exp(z - zmax), axis=1, keepdims=True)) + zmax
        return m.mean(m.sum((lse - z) * m.array(T), axis=1))

    la, ga = mx.value_and_grad(lambda p: mlp(p, mx))({k: mx.array(v) for k, v in P.items()})
    lb, gb = M.value_and_grad(lambda p: mlp(p, M))({k: M.array(v) for k, v in P.items()})
    assert la.item() == pytest.approx(lb.item(), rel=1e-6)
    for k in P:
        np.testing.assert_allclose(np.array(ga[k]), np.array(gb[k]), atol=1e-5)


@pytest.mark.parametrize("op", ["cumprod", "cummax", "cummin"])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("axis", [0, 1])
def test_scan_gradients_match_mlx(mlx, op, reverse, axis):
    rng = np.random.default_rng(4)
    # Small integers: zeros (cumprod) and ties (cummax/cummin) are common.
    x = rng.integers(-2, 3, (4, 5)).astype(np.float32)
    w = rng.standard_normal((4, 5)).astype(np.float32)
    f = lambda m: (lambda v: m.sum(getattr(m, op)(v, axis=axis, reverse=reverse) * m.array(w)))  # noqa: E731
    got = mx.grad(f(mx))(mx.array(x))
    ref = mlx.grad(f(mlx))(mlx.array(x))
    np.testing.assert_allclose(np.array(got), np.array(ref), rtol=1e-5, atol=1e-5)


def test_cumprod_gradient_finite_differences():
    x = np.random.default_rng(5).uniform(0.5, 2.0, (3, 4))
    f = lambda v: mx.sum(mx.cumprod(v, axis=1) * mx.arange(1, 5, dtype=mx.float64))  # noqa: E731
    g = mx.grad(f)(mx.array(x, mx.float64))
    ng = numeric_grad(lambda v: f(mx.array(v, mx.float64)).item(), x)
    np.testing.assert_allclose(np.array(g), ng, rtol=1e-6, atol=1e-7)


def test_integer_outputs_carry_zero_derivatives(mlx):
    x = [1.0, 3.0, 2.0]
    for m in (mx, mlx):
        g = m.grad(lambda v: m.sum(v * (m.argmax(v) == m.arange(3))))(m.array(x))
        assert g.tolist() == [0.0, 1.0, 0.0]
        g = m.grad(lambda v: m.sum(m.argmax(v) * v))(m.array(x))
        assert g.tolist() == [1.0, 1.0, 1.0]
    _, (t,) = mx.jvp(lambda v: mx.argmin(v), [mx.array(x)], [mx.ones(3)])
    assert t.item() == 0


@pytest.mark.parametrize("reverse", [False, True])
def test_logcumsumexp_jvp_matches_mlx_and_vjp(mlx, reverse):
    x = np.random.default_rng(6).uniform(-3, 3, (3, 5))
    t = np.random.default_rng(7).standard_normal((3, 5))
    f = lambda m: (lambda v: m.logcumsumexp(v, axis=1, reverse=reverse))  # noqa: E731
    _, (jv,) = mx.jvp(f(mx), [mx.array(x, mx.float64)], [mx.array(t, mx.float64)])
    _, (ref,) = mlx.jvp(f(mlx), [mlx.array(x.astype(np.float32))], [mlx.array(t.astype(np.float32))])
    np.testing.assert_allclose(np.array(jv), np.array(ref), rtol=1e-4, atol=1e-5)
    # <J t, c> == <t, J^T c>
    c = np.random.default_rng(8).standard_normal((3, 5))
    _, (vj,) = mx.vjp(f(mx), [mx.array(x, mx.float64)], [mx.array(c, mx.float64)])
    assert np.sum(np.array(jv) * c) == pytest.approx(np.sum(t * np.array(vj)), rel=1e-10)
    with pytest.raises(RuntimeError, match="cumulative prod/min/max"):
        mx.jvp(mx.cumprod, [mx.array([1.0, 2.0])], [mx.array([1.0, 1.0])])


# Complex inputs: the gradient of a real loss L is dL/dRe + i dL/dIm (MLX's
# convention), i.e. the cotangent times the conjugate derivative.
COMPLEX_UNARY = ["exp", "sin", "cos", "tan", "tanh", "sinh", "cosh", "sqrt", "rsqrt", "log", "log1p", "log2",
                 "log10", "square", "reciprocal", "negative", "arcsin", "arccos", "arctan", "arcsinh", "arctanh",
                 "abs", "conj", "real", "imag"]
COMPLEX_BINARY = ["add", "subtract", "multiply", "divide", "power"]
_Z = np.array([0.3 + 0.4j, -0.5 + 0.2j, 0.7 - 0.6j])
_W = np.array([0.2 - 0.1j, 1.1 + 0.3j, -0.4 + 0.9j])
_C = np.array([1 + 2j, -0.5 + 1j, 0.3 - 0.7j])


def _complex_loss(m, f, real_out):
    c = m.array(_C.astype(np.complex64))
    if real_out:  # abs / real / imag: real outputs
        return lambda *z: m.sum(f(*z) * m.real(c))
    return lambda *z: m.sum(m.real(f(*z) * c))


def _complex_fd(loss, zs, k, eps=1e-3):
    """dL/dRe + i dL/dIm of input k by central differences (complex64 arithmetic)."""
    g = np.zeros(zs[k].shape, np.complex128)
    for i in range(zs[k].size):
        for unit in (1, 1j):
            zp = [z.copy() for z in zs]
            zm = [z.copy() for z in zs]
            zp[k][i] += eps * unit
            zm[k][i] -= eps * unit
            d = (loss(*[mx.array(z.astype(np.complex64)) for z in zp]).item()
                 - loss(*[mx.array(z.astype(np.complex64)) for z in zm]).item()) / (2 * eps)
            g[i] += d * unit
    return g


@pytest.mark.parametrize("op", COMPLEX_UNARY)
def test_complex_unary_grad_conjugates(op, mlx):
    real_out = op in ("abs", "real", "imag")
    loss = _complex_loss(mx, getattr(mx, op), real_out)
    g = np.array(mx.grad(loss)(mx.array(_Z.astype(np.complex64))))
    np.testing.assert_allclose(g, _complex_fd(loss, [_Z], 0), rtol=2e-2, atol=2e-2)
    ref = mlx.grad(_complex_loss(mlx, getattr(mlx, op), real_out))(mlx.array(_Z.astype(np.complex64)))
    np.testing.assert_allclose(g, np.array(ref), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("op", COMPLEX_BINARY)
def test_complex_binary_grad_conjugates(op, mlx):
    loss = _complex_loss(mx, getattr(mx, op), False)
    z, w = mx.array(_Z.astype(np.complex64)), mx.array(_W.astype(np.complex64))
    gz, gw = mx.grad(loss, argnums=(0, 1))(z, w)
    np.testing.assert_allclose(np.array(gz), _complex_fd(loss, [_Z, _W], 0), rtol=2e-2, atol=2e-2)
    np.testing.assert_allclose(np.array(gw), _complex_fd(loss, [_Z, _W], 1), rtol=2e-2, atol=2e-2)
    if op == "power":
        # MLX 0.32's Power vjp alone leaves the partials unconjugated (its
        # result disagrees with the finite differences above and with its own
        # multiply / exp / log); oxmlx keeps the convention for power too.
        return
    rz, rw = mlx.grad(_complex_loss(mlx, getattr(mlx, op), False), argnums=(0, 1))(
        mlx.array(_Z.astype(np.complex64)), mlx.array(_W.astype(np.complex64)))
    np.testing.assert_allclose(np.array(gz), np.array(rz), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.array(gw), np.array(rw), rtol=1e-4, atol=1e-5)


def test_complex_jvp_is_not_conjugated(mlx):
    # Forward mode is the plain (holomorphic) derivative: t * w for z * w.
    z, w, t = (_Z.astype(np.complex64), _W.astype(np.complex64), _C.astype(np.complex64))
    _, (got,) = mx.jvp(lambda z: z * mx.array(w), [mx.array(z)], [mx.array(t)])
    np.testing.assert_allclose(np.array(got), t * w, rtol=1e-6)
    _, (vj,) = mx.vjp(lambda z: z * mx.array(w), [mx.array(z)], [mx.array(t)])
    np.testing.assert_allclose(np.array(vj), t * np.conj(w), rtol=1e-6)
    _, (ref,) = mlx.vjp(lambda z: z * mlx.array(w), [mlx.array(z)], [mlx.array(t)])
    np.testing.assert_allclose(np.array(vj), np.array(ref), rtol=1e-6)


@pytest.mark.parametrize("op", ["prod", "cumprod"])
def test_complex_product_grads_conjugate(op, mlx):
    rng = np.random.default_rng(9)
    a = (rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))).astype(np.complex64)
    w = (rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))).astype(np.complex64)
    f = lambda m: (lambda v: m.sum(m.real(getattr(m, op)(v, axis=1) * m.array(w if op == "cumprod" else w[:, 0]))))  # noqa: E731
    g = np.array(mx.grad(f(mx))(mx.array(a)))
    fnp = (lambda v: np.sum(np.real(np.cumprod(v, axis=1) * w))) if op == "cumprod" else \
        (lambda v: np.sum(np.real(np.prod(v, axis=1) * w[:, 0])))
    fd = np.zeros(a.shape, np.complex128)
    for i in np.ndindex(*a.shape):
        for u in (1, 1j):
            ap, am = a.astype(np.complex128), a.astype(np.complex128)
            ap[i] += 1e-6 * u
            am[i] -= 1e-6 * u
            fd[i] += (fnp(ap) - fnp(am)) / 2e-6 * u
    np.testing.assert_allclose(g, fd, rtol=1e-4, atol=1e-5)
    if op == "prod":
        # (MLX 0.32's cumprod vjp leaves the products unconjugated, against
        # the finite differences; its prod conjugates.)
        np.testing.assert_allclose(g, np.array(mlx.grad(f(mlx))(mlx.array(a))), rtol=1e-4, atol=1e-5)
