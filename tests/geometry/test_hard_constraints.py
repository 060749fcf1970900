"""Hard constraints through ``output_transform``: conditions that hold
exactly, before and after training, and survive a .keras round trip."""

import keras
import numpy as np
from keras import ops

import keras_pinn as kp
from keras_pinn.problems import burgers


@keras.saving.register_keras_serializable(package="keras_pinn_tests")
def burgers_hard(x, u):
    """u(x, 0) = -sin(pi x) and u(+-1, t) = 0 hold for any network output."""
    xs, t = x[:, :1], x[:, 1:2]
    return -ops.sin(np.pi * xs) + t * (1.0 - xs**2) * u


def make_model():
    problem = burgers()
    net = keras.Sequential(
        [
            keras.Input((2,)),
            kp.layers.DomainScaler(problem.domain),
            keras.layers.Dense(8, "tanh"),
            keras.layers.Dense(1),
        ]
    )
    # Only the PDE is a loss term: the conditions are built in.
    return kp.PINNModel(net, problem.domain, problem.pde, n_collocation=64, output_transform=burgers_hard, seed=0)


def boundary_points():
    x = np.linspace(-1.0, 1.0, 9)
    t = np.linspace(0.0, 1.0, 5)
    initial = np.stack([x, np.zeros_like(x)], 1)
    sides = np.concatenate([np.stack([np.full_like(t, s), t], 1) for s in (-1.0, 1.0)])
    return initial, sides


def test_conditions_hold_exactly_before_and_after_training(tmp_path):
    model = make_model()
    initial, sides = boundary_points()
    for _ in range(2):
        np.testing.assert_allclose(model.predict(initial, verbose=0)[:, 0], -np.sin(np.pi * initial[:, 0]), atol=1e-6)
        np.testing.assert_allclose(model.predict(sides, verbose=0)[:, 0], 0.0, atol=1e-6)
        model.compile(keras.optimizers.Adam(1e-2))
        model.fit(epochs=1, steps_per_epoch=5, verbose=0)
    assert set(model.history.history) == {"loss", "pde_loss"}


def test_round_trip_keeps_the_transform(tmp_path):
    model = make_model()
    path = tmp_path / "hard.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = np.array([[0.3, 0.5], [-0.7, 0.2]])
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    initial, _ = boundary_points()
    np.testing.assert_allclose(loaded.predict(initial, verbose=0)[:, 0], -np.sin(np.pi * initial[:, 0]), atol=1e-6)
