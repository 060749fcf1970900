"""Input derivatives against analytic answers, orders 1 to 4, on every
backend, eager and compiled; differentiable with respect to weights; cached."""

import keras
import numpy as np
import pytest
from keras import ops

import keras_pinn as kp
from tests._backend_utils import compiled_variants, grad_wrt_variable

RNG = np.random.default_rng(0)
X = RNG.uniform(0.1, 0.9, size=(7, 2)).astype("float32")
A, T = X[:, :1].astype("float64"), X[:, 1:].astype("float64")


def field(z):
    """u = sin(x) exp(-t), v = x^4 t^3 + x t."""
    x, t = z[:, 0:1], z[:, 1:2]
    u = ops.sin(x) * ops.exp(-t)
    v = x**4 * t**3 + x * t
    return ops.concatenate([u, v], axis=1)


# (output, wrt) -> analytic value at (A, T)
EXPECTED = {
    ("u", ()): np.sin(A) * np.exp(-T),
    ("u", ("x",)): np.cos(A) * np.exp(-T),
    ("u", ("t",)): -np.sin(A) * np.exp(-T),
    ("u", ("x", "x")): -np.sin(A) * np.exp(-T),
    ("u", ("x", "t")): -np.cos(A) * np.exp(-T),
    ("u", ("t", "x")): -np.cos(A) * np.exp(-T),
    ("u", ("x", "x", "x")): -np.cos(A) * np.exp(-T),
    ("u", ("x", "x", "x", "x")): np.sin(A) * np.exp(-T),
    ("u", ("t", "t", "t", "t")): np.sin(A) * np.exp(-T),
    ("v", ("x",)): 4 * A**3 * T**3 + T,
    ("v", ("x", "t")): 12 * A**3 * T**2 + 1,
    ("v", ("x", "x", "t")): 36 * A**2 * T**2,
    ("v", ("x", "x", "t", "t")): 72 * A**2 * T,
    ("v", ("x", "x", "x", "t")): 72 * A * T**2,
    ("v", ("x", "x", "x", "x")): 24 * T**3,
    ("v", ("t", "t", "t", "t")): 0 * A,
}
KEYS = list(EXPECTED)


def _all(z):
    d = kp.derivatives(field, z, input_names=("x", "t"), output_names=("u", "v"))
    return [d(out, *wrt) for out, wrt in KEYS]


@pytest.mark.parametrize("label,fn", compiled_variants(_all), ids=lambda v: v if isinstance(v, str) else "")
def test_partials_match_analytic(label, fn):
    got = fn(ops.convert_to_tensor(X))
    for (out, wrt), value in zip(KEYS, got):
        value = ops.convert_to_numpy(value)
        assert value.shape == (7, 1), (out, wrt, value.shape)
        expected = EXPECTED[(out, wrt)]
        scale = max(1.0, np.abs(expected).max())
        np.testing.assert_allclose(
            value, expected, atol=2e-5 * scale, rtol=1e-4, err_msg=f"{label} {out}_{''.join(wrt)}"
        )


def test_laplacian_gradient_and_coord():
    def f(z):
        return ops.sum(z**3, axis=1, keepdims=True)  # u = x^3 + y^3 + z^3

    pts = RNG.uniform(-1, 1, size=(5, 3)).astype("float32")
    d = kp.derivatives(f, pts, input_names=("x", "y", "z"))
    np.testing.assert_allclose(ops.convert_to_numpy(d.laplacian()), 6 * pts.sum(1, keepdims=True), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        ops.convert_to_numpy(d.laplacian("u", ("x", "y"))), 6 * pts[:, :2].sum(1, keepdims=True), rtol=1e-5, atol=1e-5
    )
    np.testing.assert_allclose(ops.convert_to_numpy(d.gradient()), 3 * pts**2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ops.convert_to_numpy(d.coord("y")), pts[:, 1:2])
    np.testing.assert_allclose(ops.convert_to_numpy(d(0, 2)), 3 * pts[:, 2:3] ** 2, rtol=1e-5)


def test_cache_reuses_lower_orders():
    d = kp.derivatives(field, X, input_names=("x", "t"), output_names=("u", "v"))
    engine = d._engine
    d("u", "x")
    d("u", "x", "x")
    first = engine.passes
    d("u", "x")
    d("u", "x", "x")
    d("u", "x", "t")
    d("u", "t", "x")
    assert engine.passes <= first + 1
    assert first <= 2
    # Reverse mode gets u_t with u_x; forward mode needs one more pass.
    d("u", "t")
    assert engine.passes <= first + 2


@pytest.mark.requires_backend("jax")
def test_jax_under_jit_one_request_fills_a_tower():
    """Under jax.jit, asking for u_x computes u, u_x and u_xx in one nested
    jvp (a tower): u and u_xx then come from the cache, no further pass."""
    import jax

    seen = {}

    def f(z):
        d = kp.derivatives(field, z, input_names=("x", "t"), output_names=("u", "v"))
        ux = d("u", "x")
        seen["after_ux"] = (sorted(d._engine._cache), d._engine.passes)
        u, uxx = d("u"), d("u", "x", "x")
        seen["passes"] = d._engine.passes
        return u, ux, uxx

    u, ux, uxx = jax.jit(f)(X)
    assert seen["after_ux"] == ([(), (0,), (0, 0)], 2)
    assert seen["passes"] == 2
    for value, key in ((u, ()), (ux, ("x",)), (uxx, ("x", "x"))):
        np.testing.assert_allclose(np.asarray(value), EXPECTED[("u", key)], atol=2e-5, rtol=1e-4)


def test_derivatives_are_differentiable_wrt_weights():
    w = keras.Variable(1.5, dtype="float32")

    def f(z):
        return ops.sin(w * z[:, :1]) * z[:, 1:2]

    def loss():
        d = kp.derivatives(f, X, input_names=("x", "t"))
        return ops.mean(d("u", "x", "x"))

    # u_xx = -w^2 sin(w x) t; d/dw = -2 w sin(w x) t - w^2 x cos(w x) t.
    w0 = 1.5
    expected = np.mean(-2 * w0 * np.sin(w0 * A) * T - w0**2 * A * np.cos(w0 * A) * T)
    np.testing.assert_allclose(grad_wrt_variable(loss, w), expected, rtol=1e-4)


def test_network_derivative_matches_finite_differences():
    net = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, "tanh"), keras.layers.Dense(1)])
    x = RNG.uniform(-1, 1, size=(4, 2)).astype("float64")
    d = kp.derivatives(net, x.astype("float32"), input_names=("x", "t"))
    h = 1e-2

    def u(p):
        return keras.ops.convert_to_numpy(net(p.astype("float32"))).astype("float64")

    e = np.array([[h, 0.0]])
    fd_xx = (u(x + e) - 2 * u(x) + u(x - e)) / h**2
    np.testing.assert_allclose(ops.convert_to_numpy(d("u", "x", "x")), fd_xx, atol=2e-2)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"output": "w"}, "Unknown output 'w'"),
        ({"wrt": ("z",)}, "Unknown input 'z'"),
        ({"wrt": (5,)}, "index out of range"),
    ],
)
def test_bad_requests_name_the_value(kwargs, message):
    d = kp.derivatives(field, X, input_names=("x", "t"), output_names=("u", "v"))
    with pytest.raises(ValueError, match=message):
        d(kwargs.get("output", "u"), *kwargs.get("wrt", ()))


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"shape \(N, d\)"):
        kp.derivatives(field, X[0])
    with pytest.raises(ValueError, match="input_names"):
        kp.derivatives(field, X, input_names=("x",))
    with pytest.raises(ValueError, match="output_names"):
        kp.derivatives(field, X, output_names=("u",))
    with pytest.raises(TypeError, match="callable"):
        kp.derivatives(3, X)
    with pytest.raises(ValueError, match=r"\(N, m\) outputs"):
        kp.derivatives(lambda z: ops.sum(z, axis=1), X)
