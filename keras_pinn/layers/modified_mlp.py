"""``ModifiedMLP``: the gated MLP of Wang, Teng & Perdikaris (2021)."""

from __future__ import annotations

import keras
from keras import ops

from keras_pinn.differentiation import taylor as _taylor
from keras_pinn.layers import _checks

__all__ = ["ModifiedMLP"]


@keras.saving.register_keras_serializable(package="keras_pinn")
class ModifiedMLP(keras.layers.Layer):
    """The modified MLP: every hidden layer gated by two encodings of the
    input.

    With ``s`` the activation and ``x`` the input,

    ``u = s(x W_u + b_u)``, ``v = s(x W_v + b_v)``, ``h_0 = x``,
    ``z_l = s(h_{l-1} W_l + b_l)``, ``h_l = z_l * u + (1 - z_l) * v``
    (``l = 1..depth``), output ``h_depth W + b``,

    as in jaxpi's ``ModifiedMlp`` (the paper writes ``(1 - z) u + z v``,
    the same network with ``u`` and ``v`` swapped). The gates carry the
    input to every layer, which eases the gradient pathologies of deep
    PINNs (Wang, Teng & Perdikaris 2021) and is jaxpi's default network.

    Args:
        width: width of every hidden layer and of the gates, a positive int.
            Defaults to 64.
        depth: number of gated hidden layers, a positive int. Defaults to 4.
        outputs: number of output fields. Defaults to 1.
        activation: activation of the gates and hidden layers. Defaults to
            ``"tanh"``.
        kernel_initializer: initializer of the kernels. Defaults to
            ``"glorot_normal"`` (jaxpi's).
        bias_initializer: initializer of the biases. Defaults to ``"zeros"``.
        **kwargs: passed to ``keras.layers.Layer``.

    Input shape:
        ``(N, d)``.

    Output shape:
        ``(N, outputs)``.

    Taylor mode (:mod:`keras_pinn.differentiation.taylor`) pushes derivatives through it
    for a tanh, sigmoid, softplus, sin or linear activation.

    Example:

    ```python
    net = keras.Sequential([keras.Input((2,)), kp.layers.DomainScaler(domain),
                            kp.layers.ModifiedMLP(width=64, depth=4)])
    ```

    References:
        Wang, S., Teng, Y. and Perdikaris, P. (2021). Understanding and
        mitigating gradient flow pathologies in physics-informed neural
        networks. SIAM J. Sci. Comput. 43(5), A3055-A3081.
    """

    def __init__(
        self,
        width: int = 64,
        depth: int = 4,
        outputs: int = 1,
        activation="tanh",
        kernel_initializer="glorot_normal",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.width = _checks.positive_int(width, "width")
        self.depth = _checks.positive_int(depth, "depth")
        self.outputs = _checks.positive_int(outputs, "outputs")
        self.activation = _checks.activation(activation)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        d = _checks.input_dim(self, input_shape)
        w = self.width

        def dense(name, a, b):
            return (
                self.add_weight(shape=(a, b), initializer=self.kernel_initializer, name=f"{name}_kernel"),
                self.add_weight(shape=(b,), initializer=self.bias_initializer, name=f"{name}_bias"),
            )

        self.gate_u = dense("gate_u", d, w)
        self.gate_v = dense("gate_v", d, w)
        self.hidden = [dense(f"hidden_{i}", d if i == 0 else w, w) for i in range(self.depth)]
        self.head = dense("output", w, self.outputs)

    def _weights(self, pair):
        return _checks.value(self, pair[0]), _checks.value(self, pair[1])

    def call(self, inputs):
        return _primal(self, inputs)[0]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.outputs)

    def get_config(self):
        config = super().get_config()
        config.update(
            width=self.width,
            depth=self.depth,
            outputs=self.outputs,
            activation=keras.activations.serialize(self.activation),
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            bias_initializer=keras.initializers.serialize(self.bias_initializer),
        )
        return config


def gate(z, u, v):
    """``z * u + (1 - z) * v``, written ``v + z * (u - v)``."""
    return v + z * (u - v)


def gate_push(z, zs, u, us, v, vs):
    """The series of :func:`gate` from those of ``z``, ``u``, ``v``."""
    diff = _taylor.add_push(us, vs, coefficients=[1.0, -1.0])
    return _taylor.add_push(vs, _taylor.product_push(z, zs, u - v, diff))


def dense_primal(layer, pair, x):
    """``(activation(x K + b), state)`` with the layer's activation."""
    k, b = layer._weights(pair)
    return _taylor.activation_primal(layer.activation, ops.matmul(x, k) + b)


def dense_push(layer, pair, state, series):
    k, _ = layer._weights(pair)
    return _taylor.activation_push(state, _taylor.linear_push(series, k))


def _primal(layer, x):
    u, su = dense_primal(layer, layer.gate_u, x)
    v, sv = dense_primal(layer, layer.gate_v, x)
    h, states = x, []
    for pair in layer.hidden:
        z, sz = dense_primal(layer, pair, h)
        h = gate(z, u, v)
        states.append((z, sz))
    k, b = layer._weights(layer.head)
    return ops.matmul(h, k) + b, (u, su, v, sv, states)


def _push(layer, state, series):
    u, su, v, sv, states = state
    us = dense_push(layer, layer.gate_u, su, series)
    vs = dense_push(layer, layer.gate_v, sv, series)
    hs = series
    for pair, (z, sz) in zip(layer.hidden, states):
        zs = dense_push(layer, pair, sz, hs)
        hs = gate_push(z, zs, u, us, v, vs)
    return _taylor.linear_push(hs, layer._weights(layer.head)[0])


_taylor.register_rule(ModifiedMLP, _primal, _push, lambda layer: _taylor.activation_supported(layer.activation))
