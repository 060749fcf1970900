"""Each layer of keras_pinn.layers inside a PINNModel: trains a few steps on
every backend, and layer losses (VectorQuantizer, LearnableNormalization)
reach the training loss."""

import keras
import numpy as np
import pytest

import keras_pinn as kp
from keras_pinn.problems import heat

PROBLEM = heat()
DOMAIN = PROBLEM.domain


def _net(*middle):
    return keras.Sequential([keras.Input((2,)), kp.layers.DomainScaler(DOMAIN), *middle, keras.layers.Dense(1)])


def _vq_net():
    inputs = keras.Input((2,))
    scaled = kp.layers.DomainScaler(DOMAIN)(inputs)
    coded = kp.layers.VectorQuantizer(num_codes=4, code_dim=3, concat_input=True)(scaled)
    hidden = keras.layers.Dense(8, activation="tanh")(coded)
    return keras.Model(inputs, keras.layers.Dense(1)(hidden))


NETWORKS = {
    "dense_tanh": lambda: _net(keras.layers.Dense(8, activation="tanh")),
    "pow_relu": lambda: _net(keras.layers.Dense(8), kp.layers.PowReLU(3)),
    "relu3_activation": lambda: _net(keras.layers.Dense(8, activation=kp.layers.relu3)),
    "parallel_power_block": lambda: _net(kp.layers.ParallelPowerBlock(units=4, max_power=3)),
    "layer_norm": lambda: _net(keras.layers.Dense(8, activation="tanh"), keras.layers.LayerNormalization()),
    "learnable_norm": lambda: _net(keras.layers.Dense(8, activation="tanh"), kp.layers.LearnableNormalization()),
    "vector_quantizer": _vq_net,
}


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_layer_trains_in_pinn(name, tmp_path):
    model = PROBLEM.model(NETWORKS[name](), n_collocation=32, n_condition=16, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(epochs=3, verbose=0)
    losses = np.array(history.history["loss"])
    assert np.all(np.isfinite(losses)), losses
    # the model with this layer saves and reloads with identical outputs
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    pts = DOMAIN.sample_interior(16, seed=2)
    np.testing.assert_allclose(loaded.predict(pts, verbose=0), model.predict(pts, verbose=0), rtol=1e-5, atol=1e-6)


def test_relu_power_below_order_warns():
    with pytest.warns(UserWarning, match=r"relu\^2.*order 2"):
        PROBLEM.model(_net(keras.layers.Dense(8), kp.layers.PowReLU(2)), n_collocation=8, n_condition=4)


@pytest.mark.parametrize("name", ["vector_quantizer", "learnable_norm"])
def test_layer_losses_reach_training_loss(name):
    model = PROBLEM.model(NETWORKS[name](), n_collocation=32, n_condition=16, seed=0)
    model.compile(optimizer=keras.optimizers.SGD(0.0))  # weights stay fixed
    logs = model.evaluate(verbose=0, return_dict=True)
    terms = logs["pde_loss"] + logs["ic_loss"] + logs["bc_loss"]
    # the layer's own loss over every point of every term
    batch = model.point_sets()
    everything = np.concatenate([batch[t]["x"] for t in ("pde", "ic", "bc")])
    model.network(everything)
    layer_loss = float(sum(keras.ops.convert_to_numpy(v) for v in model.network.losses))
    assert layer_loss > 0
    np.testing.assert_allclose(logs["loss"], terms + layer_loss, rtol=1e-4)
    history = model.fit(epochs=1, verbose=0)
    np.testing.assert_allclose(history.history["loss"][0], terms + layer_loss, rtol=1e-4)
