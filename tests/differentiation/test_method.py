"""The one decision of the derivative method (keras_pinn.differentiation.
resolve_method): Derivatives and PINNModel report the same method for the
same network and request, because both ask the same function."""

import keras
import numpy as np
import pytest
from keras import ops

import keras_pinn as kp
import keras_pinn.differentiation.exact
import keras_pinn.differentiation.method
import keras_pinn.model
from keras_pinn.differentiation import resolve_method
from keras_pinn.problems import BurgersResidual

X = np.random.default_rng(5).uniform(-1.0, 1.0, size=(6, 2)).astype("float32")


@keras.saving.register_keras_serializable(package="keras_pinn_tests_method")
def _initial(points):
    return -np.sin(np.pi * points[:, :1])


def _model(network, method, **kwargs):
    domain = kp.SpaceTime(kp.Interval(-1.0, 1.0, "x"), 0.0, 1.0)
    return kp.PINNModel(
        network,
        domain,
        BurgersResidual(0.01),
        conditions=[kp.InitialCondition(_initial, n_points=4)],
        n_collocation=8,
        seed=0,
        derivative_method=method,
        **kwargs,
    )


def _built(net):
    net(ops.convert_to_tensor(X))
    return net


def test_both_callers_use_the_same_function():
    assert keras_pinn.model.resolve_method is resolve_method
    assert keras_pinn.differentiation.exact.resolve_method is resolve_method
    assert kp.differentiation.resolve_method is keras_pinn.differentiation.method.resolve_method


@pytest.mark.parametrize(
    "activation,method,want",
    [
        ("tanh", "auto", "taylor"),  # a network Taylor mode covers
        ("tanh", "taylor", "taylor"),
        ("tanh", "autodiff", "autodiff"),  # an explicit method is kept
        ("gelu", "auto", "autodiff"),  # a network it does not cover
        ("gelu", "autodiff", "autodiff"),
    ],
)
def test_derivatives_and_pinn_model_report_the_same_method(activation, method, want):
    net = _built(kp.layers.MLP([4], 1, activation))
    assert resolve_method(net, method) == want
    assert kp.derivatives(net, ops.convert_to_tensor(X), method=method).method == want
    assert _model(net, method).resolved_derivative_method == want


def test_taylor_refused_alike_for_an_uncovered_network():
    relu = _built(kp.layers.MLP([4], 1, "relu"))
    with pytest.raises(ValueError, match=r"^method='taylor' needs a network .*Received: fn=") as direct:
        kp.derivatives(relu, ops.convert_to_tensor(X), method="taylor")
    with pytest.raises(ValueError, match=r"^derivative_method='taylor' needs a network .*Received: network=") as model:
        _model(relu, "taylor")
    # the same sentence after the argument's name, up to the received value
    assert (
        str(direct.value).split("needs")[1].split("Received")[0]
        == (str(model.value).split("needs")[1].split("Received")[0])
    )
    assert str(model.value).endswith(f"Received: network={relu.name!r}")


def test_output_transform_and_added_losses_make_auto_autodiff():
    net = _built(kp.layers.MLP([4], 1, "tanh"))

    def transform(x, u):
        return u * x[:, 1:]

    assert resolve_method(net, "auto", output_transform=transform) == "autodiff"
    assert _model(net, "auto", output_transform=transform).resolved_derivative_method == "autodiff"
    assert resolve_method(net, "auto", adds_losses=True) == "autodiff"
    with pytest.raises(ValueError, match=r"Received: network='mlp.*', which adds losses$"):
        resolve_method(net, "taylor", adds_losses=True)
    with pytest.raises(ValueError, match=r"Received: network='mlp.*', with an output_transform$"):
        resolve_method(net, "taylor", output_transform=transform)


def test_finite_difference_and_unknown_requests():
    net = _built(kp.layers.MLP([4], 1, "tanh"))
    assert resolve_method(net, "finite_difference") == "finite_difference"
    with pytest.raises(ValueError, match=r"^`method` must be one of .*Received: method='jet'$"):
        resolve_method(net, "jet")
    with pytest.raises(ValueError, match=r"^`derivative_method` must be one of .*Received: derivative_method='jet'$"):
        resolve_method(net, "jet", method_argument="derivative_method")


def test_one_place_decides_which_networks_taylor_mode_covers(monkeypatch):
    """Change what Taylor mode covers in the one decision and both callers follow."""
    net = _built(kp.layers.MLP([4], 1, "tanh"))
    monkeypatch.setattr(keras_pinn.differentiation.method.taylor, "supports", lambda fn: False)
    assert kp.derivatives(net, ops.convert_to_tensor(X)).method == "autodiff"
    assert _model(net, "auto").resolved_derivative_method == "autodiff"
