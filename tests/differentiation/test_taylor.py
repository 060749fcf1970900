"""Taylor mode (keras_pinn.differentiation.taylor): derivatives pushed forward through the
network against analytic answers and against the backend's autodiff, on
every supported layer and activation, eager and compiled; gradients with
respect to the weights; PINNModel's choice of method; torch.compile."""

import re

import keras
import numpy as np
import pytest
from keras import ops

import keras_pinn as kp
from keras_pinn.differentiation import taylor
from keras_pinn.problems import BurgersResidual
from tests._backend_utils import BACKEND, compiled_variants, grad_wrt_variable

RNG = np.random.default_rng(3)
X = RNG.uniform(-1.0, 1.0, size=(9, 2)).astype("float32")
# every pure partial Taylor mode pushes forward, and mixed ones it hands to autodiff
INDICES = [(), (0,), (1,), (0, 0), (1, 1), (0, 0, 0), (1, 1, 1), (0, 0, 0, 0), (1, 1, 1, 1), (0, 1), (0, 0, 1)]
ACTIVATIONS = {"tanh": "tanh", "sigmoid": "sigmoid", "softplus": "softplus", "sin": ops.sin, "linear": None}


def _networks(activation):
    box = kp.Box([-2.0, -1.0], [1.0, 3.0])
    nets = {
        "MLP": kp.layers.MLP([6, 5], 2, activation),
        "Sequential(DomainScaler, MLP)": keras.Sequential(
            [keras.Input((2,)), kp.layers.DomainScaler(box), kp.layers.MLP([7], 2, activation)]
        ),
        "Sequential(Dense, Activation, Dense)": keras.Sequential(
            [
                keras.Input((2,)),
                keras.layers.Dense(6, activation),
                keras.layers.Dense(5),
                keras.layers.Activation(activation or "linear"),
                keras.layers.Dense(2),
            ]
        ),
    }
    inputs = keras.Input((2,))
    h = kp.layers.DomainScaler(box)(inputs)
    h = keras.layers.Dense(6, activation)(h)
    nets["functional chain(DomainScaler, Dense, Dense)"] = keras.Model(inputs, keras.layers.Dense(2)(h))
    for net in nets.values():
        net(ops.convert_to_tensor(X))
    return nets


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_taylor_matches_autodiff(activation):
    for label, net in _networks(ACTIVATIONS[activation]).items():
        assert taylor.supports(net), label
        x = ops.convert_to_tensor(X)
        auto = kp.derivatives(net, x, method="autodiff")
        jets = kp.derivatives(net, x, method="taylor")
        assert (auto.method, jets.method) == ("autodiff", "taylor")
        for index in INDICES:
            for c in (0, 1):
                want = ops.convert_to_numpy(auto(c, *index))
                got = ops.convert_to_numpy(jets(c, *index))
                assert got.shape == (9, 1)
                scale = max(1.0, float(np.abs(want).max()))
                np.testing.assert_allclose(
                    got, want, rtol=1e-4, atol=1e-5 * scale, err_msg=f"{label}, {activation}, output {c}, {index}"
                )


def test_sin_layer_against_analytic_orders_1_to_4():
    """u = sin(w . s(x) + b), s the DomainScaler: D_x^k u = (w0 c0)^k sin(z + k pi / 2)."""
    box = kp.Box([-2.0, -1.0], [1.0, 3.0])
    net = keras.Sequential([keras.Input((2,)), kp.layers.DomainScaler(box), keras.layers.Dense(1, ops.sin)])
    net.set_weights([np.array([[0.7], [-1.3]], "float32"), np.array([0.2], "float32")])
    d = kp.derivatives(net, ops.convert_to_tensor(X), method="taylor")
    c = 2.0 / np.array([3.0, 4.0])
    s = 2.0 * (X.astype("float64") - [-2.0, -1.0]) / [3.0, 4.0] - 1.0
    z = (s @ np.array([0.7, -1.3]) + 0.2)[:, None]
    for j, w in ((0, 0.7), (1, -1.3)):
        for k in range(0, 5):
            want = (w * c[j]) ** k * np.sin(z + k * np.pi / 2)
            np.testing.assert_allclose(ops.convert_to_numpy(d(0, *([j] * k))), want, rtol=1e-5, atol=1e-5)


def test_tanh_orders_against_analytic():
    """u = tanh(x0): derivatives 1 to 4 from tanh's closed forms (1 - u^2,
    -2 u (1 - u^2), ...) written out independently of keras_pinn.differentiation.taylor."""
    net = kp.layers.MLP([1], 1, "tanh")
    net.build((None, 2))
    net.set_weights(
        [
            np.array([[1.0], [0.0]], "float32"),
            np.zeros(1, "float32"),
            np.array([[1.0]], "float32"),
            np.zeros(1, "float32"),
        ]
    )
    d = kp.derivatives(net, ops.convert_to_tensor(X), method="taylor")
    t = np.tanh(X[:, :1].astype("float64"))
    sech2 = 1.0 / np.cosh(X[:, :1].astype("float64")) ** 2
    expected = [t, sech2, -2 * t * sech2, 4 * t**2 * sech2 - 2 * sech2**2, 16 * t * sech2**2 - 8 * t**3 * sech2]
    for k, want in enumerate(expected):
        np.testing.assert_allclose(ops.convert_to_numpy(d(0, *([0] * k))), want, rtol=1e-5, atol=1e-6)
        # nothing along the other coordinate, which the network ignores
        if k:
            np.testing.assert_allclose(ops.convert_to_numpy(d(0, *([1] * k))), 0 * want, atol=1e-7)


def _burgers_like(d):
    return d("u", "t") + d("u") * d("u", "x") - 0.01 * d("u", "x", "x") + d("u", "x", "t")


@pytest.mark.parametrize("label", [v[0] for v in compiled_variants(lambda z: z)])
def test_taylor_compiled_matches_eager(label):
    net = kp.layers.MLP([8, 8], 1, "tanh")
    x = ops.convert_to_tensor(X)
    net(x)

    def residual(z):
        return _burgers_like(kp.derivatives(net, z, input_names=("x", "t"), method="taylor"))

    fn = dict(compiled_variants(residual))[label]
    want = ops.convert_to_numpy(_burgers_like(kp.derivatives(net, x, input_names=("x", "t"), method="autodiff")))
    np.testing.assert_allclose(ops.convert_to_numpy(fn(x)), want, rtol=1e-4, atol=1e-5)


def test_weight_gradient_matches_autodiff():
    net = kp.layers.MLP([8, 8], 1, "tanh")
    x = ops.convert_to_tensor(X)
    net(x)

    def loss(method):
        return lambda: ops.mean(
            ops.square(_burgers_like(kp.derivatives(net, x, input_names=("x", "t"), method=method)))
        )

    for variable in (net.kernels[0], net.biases[1], net.kernels[2]):
        want = grad_wrt_variable(loss("autodiff"), variable)
        got = grad_wrt_variable(loss("taylor"), variable)
        assert np.abs(want).max() > 0
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6 * np.abs(want).max())


def test_one_push_per_coordinate_and_cache():
    net = kp.layers.MLP([4], 1, "tanh")
    x = ops.convert_to_tensor(X)
    net(x)
    d = kp.derivatives(net, x, method="taylor")
    d(0, 0)  # pushes orders 1 and 2 along x0
    d(0, 0, 0)
    d(0)
    assert d._engine.passes == 1
    d(0, 0, 1)  # mixed: autodiff, no push
    assert d._engine.passes == 1
    d(0, 0, 0, 0, 0)  # order 4 along x0: one more push
    d(0, 0, 1, 1)  # mixed again
    assert d._engine.passes == 2
    d(0, 1)  # along x1: one more
    assert d._engine.passes == 3


def test_uses_autodiff_reports_mixed_partials():
    net = kp.layers.MLP([4], 1, "tanh")
    x = ops.convert_to_tensor(X)
    net(x)
    d = kp.derivatives(net, x, method="taylor")
    d(0, 0, 0)
    assert not d.uses_autodiff
    d(0, 0, 1)  # mixed: from the backend's autodiff
    assert d.uses_autodiff
    assert kp.derivatives(net, x, method="autodiff").uses_autodiff


def test_unsupported_networks():
    relu = kp.layers.MLP([4], 1, "relu")
    bn = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4, "tanh"), keras.layers.BatchNormalization()])
    unbuilt = kp.layers.MLP([4], 1, "tanh")
    x = ops.convert_to_tensor(X)
    relu(x)
    bn(x)
    inputs = keras.Input((2,))
    h = keras.layers.Dense(4, "tanh")(inputs)
    skip = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Add()([keras.layers.Dense(4, "tanh")(h), h])))
    shared = keras.layers.Dense(2, "tanh")
    twice = keras.Model(inputs, shared(shared(inputs)))
    for fn in (relu, bn, unbuilt, skip, twice, lambda z: z * z):
        assert not taylor.supports(fn)
    d = kp.derivatives(relu, x)  # "auto" falls back to autodiff
    assert d.method == "autodiff"
    with pytest.raises(ValueError, match=r"method='taylor' needs a network .*Received: fn="):
        kp.derivatives(relu, x, method="taylor")
    with pytest.raises(ValueError, match=r"`method` must be one of .*Received: method='jets'"):
        kp.derivatives(relu, x, method="jets")


def test_auto_uses_taylor_mode_where_the_network_supports_it():
    net = kp.layers.MLP([4], 1, "tanh")
    x = ops.convert_to_tensor(X)
    net(x)
    assert kp.derivatives(net, x).method == "taylor"


@keras.saving.register_keras_serializable(package="keras_pinn_tests_taylor")
def _initial(points):
    return -np.sin(np.pi * points[:, :1])


def _burgers_model(network, **kwargs):
    domain = kp.SpaceTime(kp.Interval(-1.0, 1.0, "x"), 0.0, 1.0)
    return kp.PINNModel(
        network,
        domain,
        BurgersResidual(0.01),
        conditions=[kp.InitialCondition(_initial, n_points=8), kp.DirichletBC(0.0, n_points=8)],
        n_collocation=32,
        seed=0,
        **kwargs,
    )


def test_pinn_model_methods_agree():
    weights = None
    losses = {}
    for method in ("autodiff", "taylor", "auto"):
        net = kp.layers.MLP([8, 8], 1, "tanh")
        model = _burgers_model(net, derivative_method=method)
        if weights is None:
            weights = net.get_weights()
        net.set_weights(weights)
        want = {"autodiff": "autodiff", "taylor": "taylor", "auto": "taylor"}[method]
        assert model.resolved_derivative_method == want
        model.compile("adam")
        losses[method] = model.evaluate(verbose=0, return_dict=True)
    for key in losses["autodiff"]:
        np.testing.assert_allclose(losses["taylor"][key], losses["autodiff"][key], rtol=1e-5)


def test_pinn_model_taylor_errors_name_the_cause():
    relu = kp.layers.MLP([4], 1, "relu")
    with pytest.raises(ValueError, match=r"derivative_method='taylor' needs .*Received: network="):
        _burgers_model(relu, derivative_method="taylor")
    net = kp.layers.MLP([4], 1, "tanh")
    with pytest.raises(ValueError, match="with an output_transform"):
        _burgers_model(net, derivative_method="taylor", output_transform=lambda x, u: u * x[:, 1:])
    # with an output transform, "auto" falls back to autodiff
    model = _burgers_model(kp.layers.MLP([4], 1, "tanh"), output_transform=lambda x, u: u * x[:, 1:])
    assert model.resolved_derivative_method == "autodiff"
    with pytest.raises(ValueError, match=r"`derivative_method` must be one of .*Received: derivative_method='jet'"):
        _burgers_model(net, derivative_method="jet")


def test_saved_model_keeps_method(tmp_path):
    model = _burgers_model(kp.layers.MLP([4], 1, "tanh"), derivative_method="taylor")
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.derivative_method == "taylor"
    assert loaded.resolved_derivative_method == "taylor"
    x = model.point_sets()["pde"]["x"]
    np.testing.assert_allclose(
        ops.convert_to_numpy(loaded.residual(x)), ops.convert_to_numpy(model.residual(x)), rtol=1e-6, atol=1e-7
    )


@pytest.mark.skipif(BACKEND != "torch", reason="torch.compile is PyTorch's")
def test_torch_compile_trains_with_taylor_mode():
    """With Taylor mode a PINN step has no double backward, so Keras's
    jit_compile=True (torch.compile of the train step) works; it takes the
    same steps as eager."""
    weights, histories = None, []
    for jit in (False, True):
        net = kp.layers.MLP([8], 1, "tanh")
        model = _burgers_model(net, derivative_method="taylor")
        if weights is None:
            weights = net.get_weights()
        net.set_weights(weights)
        model.compile(keras.optimizers.Adam(1e-2), jit_compile=jit)
        histories.append(model.fit(epochs=3, steps_per_epoch=2, verbose=0).history["loss"])
    np.testing.assert_allclose(histories[1], histories[0], rtol=1e-5)


def test_steps_per_execution_accepted_on_every_backend():
    """The fast path's compile options run unchanged everywhere; PyTorch
    (whose Keras trainer refuses more) runs one step per call."""
    model = _burgers_model(kp.layers.MLP([4], 1, "tanh"))
    model.compile(keras.optimizers.Adam(1e-3), steps_per_execution=4)
    assert model.steps_per_execution == (1 if BACKEND == "torch" else 4)
    history = model.fit(epochs=1, steps_per_epoch=4, verbose=0)
    assert np.isfinite(history.history["loss"][-1])
    for bad in (0, "32", 2.5, True):
        message = f"`steps_per_execution` must be a positive integer. Received: steps_per_execution={bad!r}"
        with pytest.raises(ValueError, match=re.escape(message)):
            model.compile(keras.optimizers.Adam(1e-3), steps_per_execution=bad)


# -- the registry of rules ----------------------------------------------------
class _Stretch(keras.layers.Layer):
    """y = 3 x, for a rule registered outside keras_pinn."""

    def call(self, inputs):
        return 3.0 * inputs


class _StretchChild(_Stretch):
    pass


class _Unregistered(keras.layers.Layer):
    def call(self, inputs):
        return 3.0 * inputs


def test_registered_layer_rule_is_used():
    calls = {"primal": 0, "push": 0}

    def primal(layer, x):
        calls["primal"] += 1
        return layer.call(x), None

    def push(layer, state, series):
        calls["push"] += 1
        return [None if s is None else 3.0 * s for s in series]

    taylor.register_rule(_Stretch, primal, push)
    x = ops.convert_to_tensor(X)
    net = keras.Sequential([keras.Input((2,)), _StretchChild(), keras.layers.Dense(1, "tanh")])
    net.set_weights([np.array([[0.5], [-0.25]], "float32"), np.array([0.1], "float32")])
    assert taylor.supports(net)  # through the parent class's rule
    d = kp.derivatives(net, x)
    assert d.method == "taylor" and calls == {"primal": 1, "push": 0}
    # u = tanh(z), z = 1.5 x0 - 0.75 x1 + 0.1: u_x0x0 = -2 u (1 - u^2) 1.5^2
    u = np.tanh(1.5 * X[:, :1].astype("float64") - 0.75 * X[:, 1:].astype("float64") + 0.1)
    np.testing.assert_allclose(ops.convert_to_numpy(d(0, 0, 0)), -2 * u * (1 - u**2) * 2.25, rtol=1e-5, atol=1e-6)
    assert calls == {"primal": 1, "push": 1}
    unregistered = keras.Sequential([keras.Input((2,)), _Unregistered(), keras.layers.Dense(1, "tanh")])
    assert not taylor.supports(unregistered)
    assert kp.derivatives(unregistered, x).method == "autodiff"


def test_register_rule_refuses_bad_arguments():
    with pytest.raises(
        ValueError, match=r"`layer_class` must be a keras.layers.Layer subclass. Received: layer_class=3"
    ):
        taylor.register_rule(3, lambda layer, x: x, lambda layer, state, series: series)
    with pytest.raises(ValueError, match=r"`push_fn` must be callable. Received: push_fn=None"):
        taylor.register_rule(_Unregistered, lambda layer, x: x, None)
    assert not taylor.supports(_Unregistered())


def _cube(z):
    return z * z * z


def test_registered_activation_rule_is_used():
    net = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation=_cube)])
    net.set_weights([np.array([[2.0], [0.0]], "float32"), np.array([0.5], "float32")])
    assert not taylor.supports(net)
    taylor.register_activation_rule(_cube, lambda a, z, order: [3.0 * z * z, 6.0 * z, 6.0 + 0.0 * z, 0.0 * z][:order])
    assert taylor.supports(net)
    d = kp.derivatives(net, ops.convert_to_tensor(X))
    assert d.method == "taylor"
    z = 2.0 * X[:, :1].astype("float64") + 0.5  # u = z^3: u_x = 6 z^2, u_xx = 24 z, u_xxx = 48
    for k, want in enumerate([z**3, 6 * z**2, 24 * z, 48 + 0 * z, 0 * z]):
        np.testing.assert_allclose(ops.convert_to_numpy(d(0, *([0] * k))), want, rtol=1e-5, atol=1e-4)
    with pytest.raises(ValueError, match=r"`derivatives_fn` must be callable. Received: derivatives_fn=3"):
        taylor.register_activation_rule(_cube, 3)


def test_kp_sin_rule_comes_from_the_activations_module():
    """kp.activations.sin registers its own rule (no import of it in the taylor module)."""
    import ast
    import inspect

    assert taylor.activation_supported(kp.activations.sin)
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(ast.parse(inspect.getsource(taylor)))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert imported == {"__future__", "math", "collections.abc", "typing", "keras", "keras_pinn"}
