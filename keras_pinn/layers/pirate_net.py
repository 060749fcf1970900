"""``PirateNet``: a residual network of adaptive PirateNet blocks
(Wang, Li, Chen & Perdikaris 2024)."""

from __future__ import annotations

import keras
from keras import ops

from keras_pinn.differentiation import taylor as _taylor
from keras_pinn.layers import _checks
from keras_pinn.layers.modified_mlp import dense_primal, dense_push
from keras_pinn.layers.pirate_block import PirateBlock, block_primal, block_push

__all__ = ["PirateNet"]


@keras.saving.register_keras_serializable(package="keras_pinn")
class PirateNet(keras.layers.Layer):
    """PirateNet: gates ``u``, ``v`` from the input embedding, then
    ``blocks`` :class:`PirateBlock` s, then a linear output layer.

    With ``x`` the input (best a :class:`FourierFeatures` embedding of the
    coordinates, ``2 * units == width``, as in the paper),

    ``u = s(x W_u + b_u)``, ``v = s(x W_v + b_v)``, ``h_0 = x`` (or
    ``x P``, a learned linear projection, when ``x`` is not ``width``
    wide), ``h_k = PirateBlock_k(h_{k-1}, u, v)``, output ``h W + b``.

    Every block starts as the identity (``alpha = 0``), so the network
    starts as a linear model of its embedding and becomes deeper as
    training turns on each block: deep networks without the poor
    initialisation that makes deep PINNs train badly. (The paper's
    physics-informed initialisation of the last layer, by least squares on
    the initial or boundary data, is not included.)

    Args:
        width: width of the blocks and gates, a positive int. Defaults to
            128.
        blocks: number of PirateBlocks (each three dense layers), a
            positive int. Defaults to 3.
        outputs: number of output fields. Defaults to 1.
        activation: the activation. Defaults to ``"tanh"``.
        kernel_initializer: Defaults to ``"glorot_normal"``.
        bias_initializer: Defaults to ``"zeros"``.
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
                            kp.layers.FourierFeatures(64, scale=2.0, seed=0),
                            kp.layers.PirateNet(width=128, blocks=3)])
    ```

    References:
        Wang, S., Li, B., Chen, Y. and Perdikaris, P. (2024). PirateNets:
        Physics-informed Deep Learning with Residual Adaptive Networks.
        JMLR 25(402). arXiv:2402.00326.
    """

    def __init__(
        self,
        width: int = 128,
        blocks: int = 3,
        outputs: int = 1,
        activation="tanh",
        kernel_initializer="glorot_normal",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.width = _checks.positive_int(width, "width")
        self.n_blocks = _checks.positive_int(blocks, "blocks")
        self.outputs = _checks.positive_int(outputs, "outputs")
        self.activation = _checks.activation(activation)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.blocks = [
            PirateBlock(
                self.activation,
                kernel_initializer=kernel_initializer,
                bias_initializer=bias_initializer,
                name=f"pirate_block_{i}",
            )
            for i in range(self.n_blocks)
        ]

    def build(self, input_shape):
        d = _checks.input_dim(self, input_shape)
        w = self.width

        def dense(name, a, b, bias=True):
            kernel = self.add_weight(shape=(a, b), initializer=self.kernel_initializer, name=f"{name}_kernel")
            if not bias:
                return kernel
            return kernel, self.add_weight(shape=(b,), initializer=self.bias_initializer, name=f"{name}_bias")

        self.gate_u = dense("gate_u", d, w)
        self.gate_v = dense("gate_v", d, w)
        self.projection = None if d == w else dense("projection", d, w, bias=False)
        for block in self.blocks:
            block.build([(None, w)] * 3)
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
            blocks=self.n_blocks,
            outputs=self.outputs,
            activation=keras.activations.serialize(self.activation),
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            bias_initializer=keras.initializers.serialize(self.bias_initializer),
        )
        return config


def _primal(layer, x):
    u, su = dense_primal(layer, layer.gate_u, x)
    v, sv = dense_primal(layer, layer.gate_v, x)
    h = x if layer.projection is None else ops.matmul(x, _checks.value(layer, layer.projection))
    states = []
    for block in layer.blocks:
        h, state = block_primal(block, h, u, v)
        states.append(state)
    k, b = layer._weights(layer.head)
    return ops.matmul(h, k) + b, (u, su, v, sv, states)


def _push(layer, state, series):
    u, su, v, sv, states = state
    us = dense_push(layer, layer.gate_u, su, series)
    vs = dense_push(layer, layer.gate_v, sv, series)
    hs = series if layer.projection is None else _taylor.linear_push(series, _checks.value(layer, layer.projection))
    for block, block_state in zip(layer.blocks, states):
        hs = block_push(block, block_state, hs, u, us, v, vs)
    return _taylor.linear_push(hs, layer._weights(layer.head)[0])


_taylor.register_rule(PirateNet, _primal, _push, lambda layer: _taylor.activation_supported(layer.activation))
