"""How fit feeds the model's points: as tensors made once per change and
read at each epoch's start where the backend has a faster path for that
(TensorFlow), step by step otherwise; points set during fit are used from
the next epoch on either way."""

import keras
import numpy as np

import keras_pinn as kp
from keras_pinn import backend as kb
from tests._backend_utils import BACKEND

DOMAIN = kp.SpaceTime(kp.Interval(-1.0, 1.0, "x"), 0.0, 1.0)


def _heat(d):
    return d("u", "t") - 0.1 * d("u", "x", "x")


def _model(weights=None):
    net = kp.layers.MLP([8], 1, "tanh")
    model = kp.PINNModel(net, DOMAIN, _heat, conditions=[kp.DirichletBC(0.0, n_points=8)], n_collocation=16, seed=0)
    if weights is not None:
        net.set_weights(weights)
    model.compile(keras.optimizers.Adam(1e-2))
    return model


def _total_loss(model):
    """The model's weighted loss on its current points (fixed weights 1)."""
    batch = {name: {k: keras.ops.convert_to_tensor(v) for k, v in b.items()} for name, b in model.point_sets().items()}
    losses = model.term_losses(batch)
    return {name: float(keras.ops.convert_to_numpy(v)) for name, v in losses.items()}


class _Moves(keras.callbacks.Callback):
    """Replaces the PDE's 16 points by 8 others after the first epoch, with
    no declaration, and records the losses on the new points."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            x = self.model.point_sets()["pde"]["x"]
            self.model.set_points("pde", x[::-2] * 0.5)
            self.expected = _total_loss(self.model)


def test_feed_gives_the_loss_of_the_points():
    """The first logged loss is that of the model's points and initial
    weights, whichever feed the backend uses."""
    model = _model()
    expected = _total_loss(model)
    history = model.fit(epochs=1, steps_per_epoch=1, verbose=0).history
    np.testing.assert_allclose(history["pde_loss"][0], expected["pde"], rtol=1e-5)
    np.testing.assert_allclose(history["bc_loss"][0], expected["bc"], rtol=1e-5)
    np.testing.assert_allclose(history["loss"][0], expected["pde"] + expected["bc"], rtol=1e-5)


def test_feed_reads_the_points_at_each_epoch():
    """TensorFlow's feed reads the point tensors once per epoch (pass over
    the dataset): a change between epochs, new number of points included,
    is in the next one."""
    current = {"pde": {"x": np.zeros((3, 2), "float32")}}
    dataset = kb.fixed_point_dataset(lambda: current, 2)
    assert (dataset is not None) == (BACKEND == "tensorflow")
    if dataset is None:
        return
    first = [batch[0]["pde"]["x"].numpy() for batch in dataset]
    current = {"pde": {"x": np.ones((5, 2), "float32")}}
    second = [batch[0]["pde"]["x"].numpy() for batch in dataset]
    assert len(first) == len(second) == 2
    np.testing.assert_array_equal(first[1], np.zeros((3, 2)))
    np.testing.assert_array_equal(second[0], np.ones((5, 2)))


def test_points_set_by_a_callback_are_used_from_the_next_epoch():
    """A callback that calls set_points needs no declaration: the next
    epoch trains on the new points on every backend (TensorFlow's fast feed
    included), with their new number."""
    model = _model()
    moves = _Moves()
    history = model.fit(epochs=2, steps_per_epoch=1, verbose=0, callbacks=[moves]).history
    assert model.point_sets()["pde"]["x"].shape == (8, 2)
    np.testing.assert_allclose(history["pde_loss"][1], moves.expected["pde"], rtol=1e-5)
    np.testing.assert_allclose(history["loss"][1], moves.expected["pde"] + moves.expected["bc"], rtol=1e-5)
