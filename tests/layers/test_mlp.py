"""kp.layers.MLP: the same network as a stack of Dense layers, in either
activation layout (features, points), on every backend."""

import os

import keras
import numpy as np
import pytest

import keras_pinn as kp

BACKEND = keras.backend.backend()


def _dense_twin(widths, outputs, activation="tanh"):
    return keras.Sequential(
        [keras.Input((2,))] + [keras.layers.Dense(w, activation) for w in widths] + [keras.layers.Dense(outputs)]
    )


def _points(n=7, seed=0):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, (n, 2)).astype("float32")


def test_matches_dense_with_the_same_weights():
    dense = _dense_twin([5, 4], 2)
    mlp = kp.layers.MLP([5, 4], outputs=2)
    mlp.build((None, 2))
    mlp.set_weights(dense.get_weights())  # same order: kernel, bias per layer
    x = _points()
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(mlp(x)), keras.ops.convert_to_numpy(dense(x)), rtol=1e-5, atol=1e-6
    )
    assert [w.shape for w in mlp.get_weights()] == [w.shape for w in dense.get_weights()]


def test_gives_the_input_derivatives_of_its_dense_twin():
    x = _points(9)
    mlp = kp.layers.MLP([6, 6], 1)
    mlp.build((None, 2))
    mlp.set_weights([np.full(w.shape, 0.1 * (i + 1), "float32") for i, w in enumerate(mlp.get_weights())])
    dense = _dense_twin([6, 6], 1)
    dense.set_weights(mlp.get_weights())
    ours = kp.derivatives(mlp, x, input_names=("x", "t"))
    twin = kp.derivatives(dense, x, input_names=("x", "t"), method="autodiff")
    for w in [(), ("x",), ("x", "x"), ("x", "t")]:
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(ours("u", *w)), keras.ops.convert_to_numpy(twin("u", *w)), rtol=1e-4, atol=1e-6
        )


def test_loads_a_config_with_the_layout_of_0_1_0():
    config = kp.layers.MLP([3], name="old").get_config()
    for layout in ("auto", "features_points", "points_features"):
        assert kp.layers.MLP.from_config(dict(config, layout=layout)).widths == [3]


def test_trains_inside_pinn_model():
    domain = kp.SpaceTime(kp.Interval(-1.0, 1.0, "x"), 0.0, 1.0)
    model = kp.PINNModel(
        kp.layers.MLP([8, 8], 1),
        domain,
        lambda d: d("u", "t") + d("u") * d("u", "x") - 0.01 * d("u", "x", "x"),
        conditions=[
            kp.InitialCondition(lambda p: -np.sin(np.pi * p[:, 0]), n_points=16),
            kp.DirichletBC(0.0, n_points=16),
        ],
        n_collocation=32,
        seed=0,
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = model.fit(epochs=1, steps_per_epoch=5, verbose=0)
    losses = history.history["loss"]
    assert np.isfinite(losses).all()
    assert model.pde_order == 2


def test_config_and_save_round_trip(tmp_path):
    mlp = kp.layers.MLP([4, 3], outputs=2, activation="sigmoid", name="net")
    mlp.build((None, 2))
    clone = kp.layers.MLP.from_config(mlp.get_config())
    assert (clone.widths, clone.outputs) == ([4, 3], 2)
    model = keras.Sequential([keras.Input((2,)), mlp])
    path = os.path.join(tmp_path, "mlp.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    layer = loaded.layers[-1]
    assert isinstance(layer, kp.layers.MLP)
    assert (layer.widths, layer.outputs) == ([4, 3], 2)
    for a, b in zip(layer.get_weights(), mlp.get_weights()):
        np.testing.assert_array_equal(a, b)
    x = _points()
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(model(x)), rtol=1e-6, atol=1e-6
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"widths": [4, 0]}, r"`widths` must be a sequence of positive integers .* Received: widths=\[4, 0\]"),
        ({"widths": [4.5]}, r"`widths` .* Received: widths=\[4\.5\]"),
        ({"widths": [True]}, r"`widths` .* Received: widths=\[True\]"),
        ({"widths": "20"}, r"`widths` .* Received: widths='20'"),
        ({"widths": [4], "outputs": 0}, r"`outputs` must be a positive integer\. Received: outputs=0"),
    ],
)
def test_refuses_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        kp.layers.MLP(**kwargs)


def test_accepts_integer_like_widths():
    mlp = kp.layers.MLP(np.array([3, 2]), outputs=np.int64(2))
    assert (mlp.widths, mlp.outputs) == ([3, 2], 2)
    assert kp.layers.MLP(5).widths == [5]
    assert all(type(w) is int for w in mlp.get_config()["widths"])


def test_refuses_inputs_that_are_not_points():
    with pytest.raises(ValueError, match=r"inputs of shape \(N, d\).*Received: input_shape=\(None, 4, 2\)"):
        kp.layers.MLP([3]).build((None, 4, 2))


def test_float64_mlp_is_float64_precise(float64):
    """In float64 the MLP matches NumPy float64 to 1e-13 on every backend,
    also on JAX and PyTorch, where a Dense-tanh network does not with Keras
    3.15 (tests/test_lbfgs.py::test_float64_network_is_float64_precise)."""
    x = np.random.default_rng(0).uniform(-1.0, 1.0, (64, 2))
    mlp = kp.layers.MLP([16, 16], outputs=1)
    u = keras.ops.convert_to_numpy(mlp(keras.ops.convert_to_tensor(x)))
    k0, b0, k1, b1, k2, b2 = (keras.ops.convert_to_numpy(w) for w in mlp.weights)
    expected = np.tanh(np.tanh(x @ k0 + b0) @ k1 + b1) @ k2 + b2
    assert u.dtype == np.float64
    np.testing.assert_allclose(u, expected, rtol=0, atol=1e-13)
