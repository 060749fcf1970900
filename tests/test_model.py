"""PINNModel: training through plain fit, History, evaluate, predict,
saving and bad inputs (the conditions' residuals are in test_conditions.py)."""

import warnings

import keras
import numpy as np
import pytest
from keras import ops

import keras_pinn as kp
from keras_pinn.problems import heat


def analytic_net():
    """u = sin(pi x) t + x^2, as a Keras layer with no weights."""
    return keras.Sequential(
        [keras.Input((2,)), keras.layers.Lambda(lambda z: ops.sin(np.pi * z[:, :1]) * z[:, 1:2] + z[:, :1] ** 2)]
    )


DOMAIN = kp.SpaceTime(kp.Interval(0.0, 1.0), 0.0, 2.0)


def mlp(domain, width=16, depth=2, outputs=1):
    layers = [keras.Input((domain.dim,)), kp.layers.DomainScaler(domain)]
    layers += [keras.layers.Dense(width, "tanh") for _ in range(depth)]
    return keras.Sequential(layers + [keras.layers.Dense(outputs)])


@keras.saving.register_keras_serializable(package="keras_pinn_tests_model")  # saved by ModelCheckpoint
def heat_pde(d):
    return d("u", "t") - 0.1 * d("u", "x", "x")


def test_training_heat_loss_falls_tenfold():
    problem = heat()
    model = problem.model(mlp(problem.domain, 20, 2), n_collocation=256, n_condition=64, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    first = model.evaluate(verbose=0, return_dict=True)["loss"]
    history = model.fit(epochs=6, steps_per_epoch=50, verbose=0)
    last = model.evaluate(verbose=0, return_dict=True)["loss"]
    assert set(history.history) == {"loss", "pde_loss", "ic_loss", "bc_loss"}
    assert len(history.history["pde_loss"]) == 6
    assert last < first / 10, (first, last)


def test_history_terms_and_weights_add_up():
    model = kp.PINNModel(
        mlp(DOMAIN),
        DOMAIN,
        heat_pde,
        conditions=[kp.InitialCondition(lambda p: np.sin(np.pi * p[:, 0]), weight=3.0), kp.DirichletBC(0.0)],
        n_collocation=64,
        seed=1,
    )
    model.compile(optimizer=keras.optimizers.SGD(0.0))  # weights stay fixed
    logs = model.evaluate(verbose=0, return_dict=True)
    total = logs["pde_loss"] + 3.0 * logs["ic_loss"] + logs["bc_loss"]
    np.testing.assert_allclose(logs["loss"], total, rtol=1e-5)
    h = model.fit(epochs=2, verbose=0)
    np.testing.assert_allclose(h.history["loss"][-1], total, rtol=1e-4)


def test_predict_returns_field():
    model = kp.PINNModel(analytic_net(), DOMAIN, heat_pde, n_collocation=8)
    pts = np.array([[0.5, 1.0], [0.25, 2.0]], "float32")
    expected = np.sin(np.pi * pts[:, :1]) * pts[:, 1:] + pts[:, :1] ** 2
    np.testing.assert_allclose(model.predict(pts, verbose=0), expected, rtol=1e-5)


def test_resampling_changes_points_each_epoch():
    model = kp.PINNModel(mlp(DOMAIN), DOMAIN, heat_pde, n_collocation=16, resample=True, seed=0)
    model.compile()
    before = model.point_sets()["pde"]["x"].copy()
    model.fit(epochs=1, verbose=0)
    after = model.point_sets()["pde"]["x"]
    assert after.shape == before.shape
    assert not np.allclose(after, before)
    assert DOMAIN.contains(after).all()


def test_fixed_points_and_seed_repeat():
    a = kp.PINNModel(mlp(DOMAIN), DOMAIN, heat_pde, n_collocation=16, seed=3).point_sets()
    b = kp.PINNModel(mlp(DOMAIN), DOMAIN, heat_pde, n_collocation=16, seed=3).point_sets()
    np.testing.assert_array_equal(a["pde"]["x"], b["pde"]["x"])


def test_callbacks_work(tmp_path):
    model = kp.PINNModel(mlp(DOMAIN), DOMAIN, heat_pde, conditions=[kp.DirichletBC(0.0)], n_collocation=32)
    model.compile()
    csv = tmp_path / "log.csv"
    model.fit(
        epochs=3,
        verbose=0,
        callbacks=[
            keras.callbacks.CSVLogger(str(csv)),
            # Keras infers min/max only for "loss" and compiled metrics: per-term monitors need mode="min".
            keras.callbacks.EarlyStopping(monitor="pde_loss", mode="min", patience=5),
            keras.callbacks.ModelCheckpoint(str(tmp_path / "best.keras"), monitor="loss"),
        ],
    )
    header = csv.read_text().splitlines()[0].split(",")
    assert {"epoch", "loss", "pde_loss", "bc_loss"} <= set(header)
    assert (tmp_path / "best.keras").exists()


def test_save_and_load_round_trip(tmp_path):
    problem = heat()
    model = problem.model(mlp(problem.domain), n_collocation=32, n_condition=16, seed=0)
    model.compile()
    model.fit(epochs=1, verbose=0)
    path = tmp_path / "heat.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, kp.PINNModel)
    pts = problem.domain.sample_interior(20, seed=1)
    np.testing.assert_allclose(loaded.predict(pts, verbose=0), model.predict(pts, verbose=0), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(
        ops.convert_to_numpy(loaded.residual(pts)), ops.convert_to_numpy(model.residual(pts)), rtol=1e-5, atol=1e-6
    )
    assert [t.name for t in loaded.terms] == [t.name for t in model.terms]
    # the network alone round-trips too
    model.network.save(tmp_path / "net.keras")
    net = keras.models.load_model(tmp_path / "net.keras")
    np.testing.assert_allclose(net.predict(pts, verbose=0), model.predict(pts, verbose=0), rtol=1e-6, atol=1e-7)


def test_trainable_parameter_in_residual():
    def pde(d):
        return d("u", "t") - d.params["alpha"] * d("u", "x", "x")

    model = kp.PINNModel(analytic_net(), DOMAIN, pde, parameters={"alpha": 0.1}, n_collocation=8)
    assert [v.name for v in model.trainable_variables] == ["alpha"]
    x = np.array([[0.5, 0.5]], "float32")
    expected = np.sin(np.pi * 0.5) - 0.1 * (-(np.pi**2) * 0.5 + 2)
    np.testing.assert_allclose(ops.convert_to_numpy(model.residual(x)), [[expected]], rtol=1e-5)


# -- bad inputs -------------------------------------------------------------------


def test_residual_of_wrong_shape_is_refused():
    def broadcast_bug(d):
        return d("u", "t")[:, 0] - d("u", "x", "x")  # (N,) - (N, 1) -> (N, N)

    # Checked when the model is built, on a probe of three points.
    with pytest.raises(ValueError, match=r"broadcast against an \(N, 1\)"):
        kp.PINNModel(mlp(DOMAIN), DOMAIN, broadcast_bug, n_collocation=8)
    with pytest.raises(ValueError, match=r"must have shape \(3,\) or \(3, k\).*Received: shape \(\)"):
        kp.PINNModel(mlp(DOMAIN), DOMAIN, lambda d: ops.sum(d("u")), n_collocation=8)
    with pytest.raises(ValueError, match="float tensor"):
        kp.PINNModel(mlp(DOMAIN), DOMAIN, lambda d: ops.cast(d("u") > 0, "int32"), n_collocation=8)


def test_points_outside_domain_or_nan_are_refused():
    with pytest.raises(ValueError, match="outside the domain"):
        kp.PINNModel(mlp(DOMAIN), DOMAIN, heat_pde, conditions=[kp.PointData([[2.0, 0.5]], [1.0])])
    with pytest.raises(ValueError, match="non-finite"):
        kp.PINNModel(mlp(DOMAIN), DOMAIN, heat_pde, conditions=[kp.PointData([[np.nan, 0.5]], [1.0])])
    with pytest.raises(ValueError, match="values"):
        kp.PointData([[0.5, 0.5]], [np.nan])
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        kp.PINNModel(mlp(DOMAIN), DOMAIN, heat_pde, conditions=[kp.PointData([[0.5]], [1.0])])


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"sampler": "halton"}, "Unknown sampler.*halton"),
        ({"n_collocation": 0}, "n_collocation.*0"),
        ({"pde": None}, "needs `pde` or at least one condition"),
        ({"network": "mlp"}, "network.*Received: network='mlp'"),
        ({"domain": (0, 1)}, r"domain.*Received: domain=\(0, 1\)"),
        ({"output_names": ("u", "v")}, "output_names"),
        ({"conditions": ["bc"]}, "Condition. Received: 'bc'"),
        ({"conditions": [kp.DirichletBC(0.0, faces="y_min")]}, "Unknown face.*y_min"),
        ({"conditions": [kp.DirichletBC(0.0, component="v")]}, "Unknown output 'v'"),
        ({"derivative_method": "spectral"}, "derivative_method.*spectral"),
    ],
)
def test_bad_model_arguments(kwargs, message):
    args = {"network": mlp(DOMAIN), "domain": DOMAIN, "pde": heat_pde}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        kp.PINNModel(**args)


def test_loss_argument_to_compile_is_refused():
    model = kp.PINNModel(mlp(DOMAIN), DOMAIN, heat_pde, n_collocation=8)
    with pytest.raises(ValueError, match="loss"):
        model.compile(loss="mse")


def test_batch_normalization_is_refused_unless_opted_in():
    net = keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(4), keras.layers.BatchNormalization(), keras.layers.Dense(1)]
    )
    with pytest.raises(ValueError, match="BatchNormalization.*allow_batch_normalization=True"):
        kp.PINNModel(net, DOMAIN, heat_pde, n_collocation=8)
    kp.PINNModel(net, DOMAIN, heat_pde, n_collocation=8, allow_batch_normalization=True)


def test_batch_normalization_statistics_and_derivatives():
    # A linear network with BatchNormalization (momentum 0, so the moving
    # averages are the last step's batch statistics) and SGD(0) (the weights
    # stay fixed): u_t is then a constant of the weights and statistics.
    net = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(4),
            keras.layers.BatchNormalization(momentum=0.0, epsilon=1e-3),
            keras.layers.Dense(1),
        ]
    )
    model = kp.PINNModel(
        net,
        DOMAIN,
        heat_pde,
        conditions=[kp.InitialCondition(lambda p: np.sin(np.pi * p[:, 0]), n_points=16)],
        n_collocation=32,
        seed=0,
        allow_batch_normalization=True,
    )
    model.compile(optimizer=keras.optimizers.SGD(0.0))
    history = model.fit(epochs=1, steps_per_epoch=1, verbose=0)
    dense, norm, head = net.layers
    kernel, bias = (ops.convert_to_numpy(v) for v in dense.weights)
    points = model.point_sets()
    every = np.concatenate([points["pde"]["x"], points["ic"]["x"]])
    # The training step normalised every point together, collocation included.
    z = every @ kernel + bias
    np.testing.assert_allclose(ops.convert_to_numpy(norm.moving_mean), z.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ops.convert_to_numpy(norm.moving_variance), z.var(0), rtol=1e-4, atol=1e-6)
    boundary_only = points["ic"]["x"] @ kernel + bias
    assert np.abs(boundary_only.mean(0) - z.mean(0)).max() > 1e-3  # the check can tell them apart
    # The residual's derivatives are those of the network in inference mode.
    gamma, beta = (ops.convert_to_numpy(v) for v in (norm.gamma, norm.beta))
    scale = gamma / np.sqrt(z.var(0) + 1e-3)
    u_t = float((kernel[1] * scale) @ ops.convert_to_numpy(head.kernel)[:, 0])
    logs = model.evaluate(verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["pde_loss"], u_t**2, rtol=1e-4)
    np.testing.assert_allclose(history.history["pde_loss"][0], u_t**2, rtol=1e-4)


def test_pde_order_and_activation_warnings():
    relu_net = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, "relu"), keras.layers.Dense(1)])
    with pytest.warns(UserWarning, match=r"dense.*relu\^1.*order 2"):
        model = kp.PINNModel(relu_net, DOMAIN, heat_pde, n_collocation=8)
    assert model.pde_order == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tanh_model = kp.PINNModel(mlp(DOMAIN), DOMAIN, heat_pde, n_collocation=8)
        assert tanh_model.pde_order == 2
        first_order = kp.PINNModel(mlp(DOMAIN), DOMAIN, lambda d: d("u", "t") + d("u", "x"), n_collocation=8)
        assert first_order.pde_order == 1
