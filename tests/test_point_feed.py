"""How fit feeds the model's points: as tensors made once where the backend
has a faster path for that (TensorFlow), step by step otherwise, or when
something changes the points during fit."""

import keras
import numpy as np
import pytest

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


class _Moves(keras.callbacks.Callback):
    """Replaces the PDE's points after the first epoch."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            x = self.model.point_sets()["pde"]["x"]
            self.model.set_points("pde", x[::-1] * 0.5)


class _DeclaredMoves(_Moves):
    changes_points = True


class _Noop(keras.callbacks.Callback):
    changes_points = True


def test_fixed_feed_takes_the_same_steps():
    """The backend's fixed feed (if any) and the step-by-step feed (forced by
    a callback declaring changes_points) give the same losses."""
    first = _model()
    weights = first.network.get_weights()
    fixed = first.fit(epochs=2, steps_per_epoch=3, verbose=0).history["loss"]
    stepwise = _model(weights).fit(epochs=2, steps_per_epoch=3, verbose=0, callbacks=[_Noop()]).history["loss"]
    np.testing.assert_allclose(fixed, stepwise, rtol=1e-5)


def test_fixed_feed_only_on_tensorflow():
    dataset = kb.fixed_point_dataset(_model().point_sets(), 2)
    assert (dataset is not None) == (BACKEND == "tensorflow")
    if dataset is not None:
        batches = list(dataset)
        assert len(batches) == 2
        np.testing.assert_array_equal(batches[0][0]["pde"]["x"].numpy(), _model().point_sets()["pde"]["x"])


def test_declared_point_changes_are_used():
    model = _model()
    model.fit(epochs=2, steps_per_epoch=1, verbose=0, callbacks=[_DeclaredMoves()])
    assert model.point_sets()["pde"]["x"].shape == (16, 2)


@pytest.mark.skipif(BACKEND != "tensorflow", reason="only TensorFlow feeds fixed points")
def test_undeclared_point_change_is_an_error():
    model = _model()
    with pytest.raises(RuntimeError, match=r"points changed during fit .*changes_points = True"):
        model.fit(epochs=2, steps_per_epoch=1, verbose=0, callbacks=[_Moves()])


def test_adaptive_callbacks_declare_point_changes():
    assert kp.adaptive.RAR.changes_points and kp.adaptive.RAD.changes_points
