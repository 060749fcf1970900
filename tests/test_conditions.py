"""The loss terms (keras_pinn.conditions): each condition's residual against
hand-derived values on small inputs, the Term/Condition hierarchy, their
configs, systems of equations, argument errors, and a condition shared by
two models."""

import math

import keras
import numpy as np
import pytest
from keras import ops

import keras_pinn as kp
from keras_pinn.conditions import check_residual, point_count
from keras_pinn.layers import DomainScaler

DOMAIN = kp.SpaceTime(kp.Interval(0.0, 1.0), 0.0, 2.0)


def analytic_net():
    """u = sin(pi x) t + x^2, as a Keras layer with no weights."""
    return keras.Sequential(
        [keras.Input((2,)), keras.layers.Lambda(lambda z: ops.sin(np.pi * z[:, :1]) * z[:, 1:2] + z[:, :1] ** 2)]
    )


def linear_net(outputs=1):
    """u_j = (j + 1) (2 x + 3 t) + 1 (a Dense layer with fixed weights)."""
    dense = keras.layers.Dense(outputs)
    net = keras.Sequential([keras.Input((2,)), dense])
    dense.set_weights([np.array([[2.0], [3.0]]) * np.arange(1, outputs + 1), np.ones(outputs)])
    return net


def mlp(domain, width=16, depth=2, outputs=1):
    layers = [keras.Input((domain.dim,)), kp.layers.DomainScaler(domain)]
    layers += [keras.layers.Dense(width, "tanh") for _ in range(depth)]
    return keras.Sequential(layers + [keras.layers.Dense(outputs)])


def heat_pde(d):
    return d("u", "t") - 0.1 * d("u", "x", "x")


def two_outputs():
    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])


def residual(model, term, points):
    return ops.convert_to_numpy(model.residual(np.asarray(points, "float32"), term))


def test_condition_residuals_are_exact():
    t = np.linspace(0.1, 1.9, 5)[:, None]
    right = np.concatenate([np.ones_like(t), t], axis=1)
    x = np.linspace(0.1, 0.9, 5)[:, None]
    initial = np.concatenate([x, np.zeros_like(x)], axis=1)
    model = kp.PINNModel(
        analytic_net(),
        DOMAIN,
        pde=heat_pde,
        conditions=[
            kp.DirichletBC(lambda p: p[:, 1], faces="x_max", name="dir"),
            kp.NeumannBC(0.0, faces="x_max", name="neu"),
            kp.InitialCondition(0.0, name="ic"),
            kp.InitialDerivative(0.0, name="ict"),
            kp.PeriodicBC("x", derivative_order=1, name="per"),
            kp.PointData(initial, x[:, 0] ** 2 + 1.0, name="data"),
        ],
        n_collocation=8,
    )
    r = lambda term, pts: ops.convert_to_numpy(model.residual(pts, term))  # noqa: E731
    # u(1, t) = 1 against target t
    np.testing.assert_allclose(r("dir", right), 1 - t, atol=1e-5)
    # du/dn at x = 1 is u_x = pi cos(pi) t + 2
    np.testing.assert_allclose(r("neu", right), -np.pi * t + 2, atol=1e-4)
    # u(x, 0) = x^2; u_t(x, 0) = sin(pi x)
    np.testing.assert_allclose(r("ic", initial), x**2, atol=1e-6)
    np.testing.assert_allclose(r("ict", initial), np.sin(np.pi * x), atol=1e-5)
    # periodic in x over [0, 1]: u(0,t) - u(1,t) = -1; u_x(0,t) - u_x(1,t) = 2 pi t - 2
    left = right.copy()
    left[:, 0] = 0.0
    np.testing.assert_allclose(r("per", left), np.concatenate([-np.ones_like(t), 2 * np.pi * t - 2], axis=1), atol=1e-4)
    np.testing.assert_allclose(r("data", initial), -np.ones_like(x), atol=1e-6)
    # heat residual: u_t - 0.1 u_xx = sin(pi x) - 0.1 (-pi^2 sin(pi x) t + 2)
    pts = np.concatenate([x, np.full_like(x, 0.5)], axis=1)
    expected = np.sin(np.pi * x) - 0.1 * (-(np.pi**2) * np.sin(np.pi * x) * 0.5 + 2)
    np.testing.assert_allclose(r("pde", pts), expected, atol=1e-4)


def test_initial_condition_needs_space_time():
    box = kp.Box([0, 0], [1, 1], names=("x", "y"))
    with pytest.raises(ValueError, match="SpaceTime"):
        kp.PINNModel(mlp(box), box, heat_pde, conditions=[kp.InitialCondition(0.0)])


def test_condition_argument_errors():
    with pytest.raises(ValueError, match="weight.*-1"):
        kp.DirichletBC(0.0, weight=-1)
    with pytest.raises(ValueError, match="array `value` needs fixed `points`"):
        kp.DirichletBC(np.zeros(3))
    with pytest.raises(ValueError, match="derivative_order"):
        kp.PeriodicBC("x", derivative_order=-1)
    with pytest.raises(ValueError, match="one target per point"):
        kp.PINNModel(mlp(DOMAIN), DOMAIN, heat_pde, conditions=[kp.DirichletBC(lambda p: p)])


# -- systems of equations (#18, item 3) --------------------------------------------------


@pytest.mark.parametrize("k", [1, 2, 3])
def test_systems_of_one_two_and_three_equations(k):
    """The build-time probe must not take a k-equation residual (N, k) for
    a broadcast (N, N), whatever k, nor the training step when there are
    as many points as equations."""
    net = keras.Sequential(
        [keras.Input((2,)), DomainScaler(DOMAIN), keras.layers.Dense(6, "tanh"), keras.layers.Dense(k)]
    )
    names = tuple(f"u{i}" for i in range(k)) if k > 1 else ("u",)

    def system(d):
        return ops.concatenate([d(n, "t") - 0.1 * d(n, "x", "x") for n in names], axis=1)

    for n_collocation in (16, k):
        m = kp.PINNModel(net, DOMAIN, system, n_collocation=n_collocation, output_names=names, seed=0)
        assert m.term("pde").n_equations == k
        r = ops.convert_to_numpy(m.residual(np.array([[0.5, 0.5], [0.2, 1.0], [0.9, 0.1], [0.1, 0.3]])))
        assert r.shape == (4, k)
        m.compile(optimizer=keras.optimizers.SGD(1e-3))
        history = m.fit(epochs=1, verbose=0)
        assert math.isfinite(history.history["pde_loss"][0])
    # a broadcast (N,) - (N, 1) is still refused
    with pytest.raises(ValueError, match=r"broadcast against an \(N, 1\)"):
        kp.PINNModel(net, DOMAIN, lambda d: d(names[0], "t")[:, 0] - d(names[0], "x", "x"), output_names=names)


# -- a condition shared by two models (#18, item 4) ---------------------------------------


def test_condition_shared_by_two_models_keeps_each_models_binding():
    bc = kp.DirichletBC(1.0, component="v", n_points=8)
    first = kp.PINNModel(two_outputs(), DOMAIN, conditions=[bc], output_names=("u", "v"), seed=0)
    first.compile()
    before = first.evaluate(verbose=0, return_dict=True)
    fields = ops.convert_to_numpy(first.predict(first.point_sets()["bc"]["x"], verbose=0))
    np.testing.assert_allclose(before["bc_loss"], np.mean((fields[:, 1] - 1.0) ** 2), rtol=1e-5)
    kp.PINNModel(two_outputs(), DOMAIN, conditions=[bc, kp.DirichletBC(0.0)], output_names=("v", "w"), seed=0)
    after = first.evaluate(verbose=0, return_dict=True)
    assert after["bc_loss"] == before["bc_loss"]  # still v, the second output of the first model
    assert bc.name is None  # the user's object is left as given


def test_robin_and_point_data_residuals_are_exact():
    """u = 2 x + 3 t + 1: at x = 1 the outward normal derivative is 2, at
    x = 0 it is -2."""
    model = kp.PINNModel(
        linear_net(),
        DOMAIN,
        conditions=[
            kp.RobinBC(alpha=2.0, beta=0.5, value=1.0, name="robin"),
            kp.PointData([[0.5, 1.0], [0.25, 0.0]], [5.0, 0.0], name="data"),
        ],
        seed=0,
    )
    points = [[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]]
    # 2 u + 0.5 du/dn - 1: u = 3, 6, 7 and du/dn = 2, 2, -2
    np.testing.assert_allclose(residual(model, "robin", points), [[6.0], [12.0], [12.0]], atol=1e-5)
    # u(0.5, 1) = 5 against 5; u(0.25, 0) = 1.5 against 0
    np.testing.assert_allclose(residual(model, "data", [[0.5, 1.0], [0.25, 0.0]]), [[0.0], [1.5]], atol=1e-6)


def test_conditions_on_one_of_two_outputs_and_point_data_on_all():
    """u = 2 x + 3 t + 1, v = 4 x + 6 t + 1."""
    model = kp.PINNModel(
        linear_net(2),
        DOMAIN,
        output_names=("u", "v"),
        conditions=[
            kp.DirichletBC(1.0, component="v", faces="x_min", name="left_v"),
            kp.InitialDerivative(6.0, component=1, name="v_t"),
            kp.PointData([[0.5, 0.5]], [[4.0, 5.0]], name="both"),
        ],
        seed=0,
    )
    np.testing.assert_allclose(residual(model, "left_v", [[0.0, 0.0], [0.0, 1.0]]), [[0.0], [6.0]], atol=1e-6)
    np.testing.assert_allclose(residual(model, "v_t", [[0.3, 0.0]]), [[0.0]], atol=1e-5)
    # u(0.5, 0.5) = 3.5, v = 6: [3.5 - 4, 6 - 5]
    np.testing.assert_allclose(residual(model, "both", [[0.5, 0.5]]), [[-0.5, 1.0]], atol=1e-6)


def test_term_and_condition_hierarchy():
    """Term is the base of every loss term; Condition is the base of the
    conditions other than the PDE's Residual."""
    conditions = [
        kp.DirichletBC,
        kp.NeumannBC,
        kp.RobinBC,
        kp.InitialCondition,
        kp.InitialDerivative,
        kp.PeriodicBC,
        kp.PointData,
    ]
    assert all(issubclass(c, kp.Condition) and issubclass(c, kp.Term) for c in conditions)
    assert issubclass(kp.Residual, kp.Term) and not issubclass(kp.Residual, kp.Condition)
    assert issubclass(kp.Condition, kp.Term)


@keras.saving.register_keras_serializable(package="keras_pinn_tests_conditions")
def ramp(p):
    return p[:, 0]


@keras.saving.register_keras_serializable(package="keras_pinn_tests_conditions")
def right_face(p):
    return p[:, 0] > 0.5


def test_from_config_deserialises_functions_and_faces():
    """Config dicts become objects in from_config, not in the constructors."""
    bc = kp.DirichletBC(ramp, faces=["x_min", right_face], n_points=4, weight=2.0, name="ramp")
    config = bc.get_config()
    assert isinstance(config["value"], dict) and isinstance(config["faces"][1], dict)
    again = kp.DirichletBC.from_config(config)
    assert again.value is ramp and again.faces == ["x_min", right_face]
    assert (again.n_points, again.weight, again.name) == (4, 2.0, "ramp")
    pde = kp.Residual.from_config(kp.Residual(heat_pde_saved).get_config())
    assert pde.fn is heat_pde_saved
    with pytest.raises(ValueError, match="`fn` must be callable"):
        kp.Residual(kp.Residual(heat_pde_saved).get_config()["fn"])


@keras.saving.register_keras_serializable(package="keras_pinn_tests_conditions")
def heat_pde_saved(d):
    return d("u", "t") - 0.1 * d("u", "x", "x")


def test_point_count_and_check_residual():
    x = ops.zeros((3, 2))
    assert point_count(x) == 3 and isinstance(point_count(x), int)
    r = check_residual(ops.ones((3,)), 3, "pde")
    assert tuple(r.shape) == (3, 1)
    assert tuple(check_residual(ops.ones((3, 3)), 3, "pde", equations=3).shape) == (3, 3)
    with pytest.raises(
        ValueError,
        match=r"term 'pde' must have shape \(3,\) or \(3, k\).*Received: shape \(3, 3\)\. "
        r"It looks like an \(N,\) tensor was broadcast",
    ):
        check_residual(ops.ones((3, 3)), 3, "pde")
