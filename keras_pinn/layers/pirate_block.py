"""``PirateBlock``: PirateNet's adaptive residual block (Wang et al. 2024)."""

from __future__ import annotations

import keras

from keras_pinn.differentiation import taylor as _taylor
from keras_pinn.layers import _checks
from keras_pinn.layers.modified_mlp import dense_primal, dense_push, gate, gate_push

__all__ = ["PirateBlock"]


@keras.saving.register_keras_serializable(package="keras_pinn")
class PirateBlock(keras.layers.Layer):
    """PirateNet's adaptive residual block, called on ``(x, u, v)``.

    With ``s`` the activation and the gates ``u``, ``v`` of the network
    (see :class:`PirateNet`),

    ``f = s(x W_1 + b_1)``, ``z_1 = f * u + (1 - f) * v``,
    ``g = s(z_1 W_2 + b_2)``, ``z_2 = g * u + (1 - g) * v``,
    ``h = s(z_2 W_3 + b_3)``, output ``alpha h + (1 - alpha) x``,

    with a trainable scalar ``alpha`` that starts at ``alpha_init``
    (default 0: the block starts as the identity, so a PirateNet starts as
    a linear model of its input embedding and grows deeper as training
    turns the ``alpha`` on). As jaxpi's ``PirateBlock``.

    Args:
        activation: the activation. Defaults to ``"tanh"``.
        alpha_init: initial ``alpha``, a finite number. Defaults to 0.
        kernel_initializer: Defaults to ``"glorot_normal"``.
        bias_initializer: Defaults to ``"zeros"``.
        **kwargs: passed to ``keras.layers.Layer``.

    Call arguments:
        inputs: a list ``[x, u, v]`` of three ``(N, width)`` tensors.

    Output shape:
        ``(N, width)``.

    References:
        Wang, S., Li, B., Chen, Y. and Perdikaris, P. (2024). PirateNets:
        Physics-informed Deep Learning with Residual Adaptive Networks.
        JMLR 25(402). arXiv:2402.00326.
    """

    def __init__(
        self,
        activation="tanh",
        alpha_init: float = 0.0,
        kernel_initializer="glorot_normal",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.activation = _checks.activation(activation)
        if isinstance(alpha_init, bool) or not isinstance(alpha_init, (int, float)) or alpha_init != alpha_init:
            raise ValueError(f"`alpha_init` must be a finite number. Received: alpha_init={alpha_init!r}")
        self.alpha_init = float(alpha_init)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        shapes = (
            list(input_shape)
            if isinstance(input_shape, (list, tuple)) and isinstance(input_shape[0], (list, tuple))
            else None
        )
        if shapes is None or len(shapes) != 3 or len({s[-1] for s in shapes}) != 1 or shapes[0][-1] is None:
            raise ValueError(
                "PirateBlock is called on [x, u, v], three (N, width) tensors of one width. "
                f"Received: input_shape={input_shape!r}"
            )
        w = int(shapes[0][-1])
        self.dense = [
            (
                self.add_weight(shape=(w, w), initializer=self.kernel_initializer, name=f"kernel_{i}"),
                self.add_weight(shape=(w,), initializer=self.bias_initializer, name=f"bias_{i}"),
            )
            for i in range(3)
        ]
        self.alpha = self.add_weight(shape=(), initializer=keras.initializers.Constant(self.alpha_init), name="alpha")

    def _weights(self, pair):
        return _checks.value(self, pair[0]), _checks.value(self, pair[1])

    def call(self, inputs):
        x, u, v = inputs
        return block_primal(self, x, u, v)[0]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        config = super().get_config()
        config.update(
            activation=keras.activations.serialize(self.activation),
            alpha_init=self.alpha_init,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            bias_initializer=keras.initializers.serialize(self.bias_initializer),
        )
        return config


def block_primal(block, x, u, v):
    """``(output, state)`` of ``block`` on ``x`` with gates ``u``, ``v``."""
    f, sf = dense_primal(block, block.dense[0], x)
    z1 = gate(f, u, v)
    g, sg = dense_primal(block, block.dense[1], z1)
    z2 = gate(g, u, v)
    h, sh = dense_primal(block, block.dense[2], z2)
    alpha = _checks.value(block, block.alpha)
    return alpha * h + (1.0 - alpha) * x, (f, sf, g, sg, sh, alpha)


def block_push(block, state, xs, u, us, v, vs):
    """The series of ``block``'s output from those of ``x``, ``u``, ``v``."""
    f, sf, g, sg, sh, alpha = state
    fs = dense_push(block, block.dense[0], sf, xs)
    z1s = gate_push(f, fs, u, us, v, vs)
    gs = dense_push(block, block.dense[1], sg, z1s)
    z2s = gate_push(g, gs, u, us, v, vs)
    hs = dense_push(block, block.dense[2], sh, z2s)
    return _taylor.add_push(hs, xs, coefficients=[alpha, 1.0 - alpha])
