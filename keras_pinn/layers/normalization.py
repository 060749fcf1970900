"""Learnable per-sample normalisation: the article's alternative to batch
normalisation."""

from __future__ import annotations

import math
import numbers
from typing import Any

import keras
from keras import ops

__all__ = ["LearnableNormalization"]

# softplus(_SOFTPLUS_ONE) == 1, so that a zero kernel gives a unit scale.
_SOFTPLUS_ONE = math.log(math.e - 1.0)


@keras.saving.register_keras_serializable(package="keras_pinn")
class LearnableNormalization(keras.layers.Layer):
    """Per-sample learnable normalisation, regularised towards zero mean and
    unit variance.

    A Dense layer reads the features of each sample and produces a shift and
    a scale for every feature::

        shift, s = split(Dense(2 * features)(x))
        scale    = softplus(s + log(e - 1))      # > 0, equal to 1 when s = 0
        out      = (x - shift) * scale

    The Dense kernel is initialised to zeros by default, so the layer starts
    as the identity (shift 0, scale 1). The layer adds, with ``add_loss``,
    the regularisation

        regularization * mean_over_samples(mean(out)^2 + (var(out) - 1)^2)

    where ``mean`` and ``var`` are taken across the feature axis of each
    sample: it pushes the outputs of each sample towards zero mean and unit
    variance.

    Why this is allowed in a PINN and batch normalisation is not: the output
    for a sample depends on that sample's features only. Batch normalisation
    shifts and scales each point by statistics of the whole mini-batch, so
    the network's value at a collocation point (and its derivatives with
    respect to that point's coordinates, which the PDE residual uses) change
    with the other points of the batch; the physics has no such coupling.
    Here the mapping from a point to its output is a fixed function of that
    point, so input derivatives are those of an ordinary pointwise network.
    Only the regularisation loss averages over the batch, as any loss does.

    Args:
        regularization: Weight of the zero-mean / unit-variance
            regularisation, ``>= 0``. Defaults to 1e-3.
        kernel_initializer: Initializer of the shift/scale Dense kernel.
            Defaults to ``"zeros"`` (the layer starts as the identity).
        **kwargs: Base layer keyword arguments (``name``, ``dtype``, ...).

    Call arguments:
        inputs: A tensor of shape ``(..., features)`` with ``features >= 2``.

    Input shape:
        ``(..., features)``, at least 2D, ``features >= 2``.

    Output shape:
        Same as the input.

    Example:

    >>> import numpy as np
    >>> layer = LearnableNormalization(regularization=1e-3)
    >>> tuple(layer(np.ones((4, 3), "float32")).shape)
    (4, 3)

    References:
        R. Bischof, "4 Ideas for Physics-Informed Neural Networks that
        failed" (2023), section "Batch Normalisation".
        S. Ioffe, C. Szegedy, "Batch normalization", ICML 2015.
    """

    def __init__(
        self,
        regularization: float = 1e-3,
        kernel_initializer: Any = "zeros",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if (
            isinstance(regularization, bool)
            or not isinstance(regularization, numbers.Real)
            or not math.isfinite(float(regularization))
            or regularization < 0
        ):
            raise ValueError(
                f"`regularization` must be a finite number >= 0. Received: regularization={regularization!r}"
            )
        self.regularization: float = float(regularization)
        self.kernel_initializer: keras.initializers.Initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape: tuple) -> None:
        input_shape = tuple(input_shape)
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(
                "`LearnableNormalization` needs inputs of rank >= 2 with a "
                f"known last dimension. Received: input_shape={input_shape}"
            )
        features = int(input_shape[-1])
        if features < 2:
            raise ValueError(
                "`LearnableNormalization` needs at least 2 features to "
                "normalise across (a variance over one feature is always 0). "
                f"Received: input_shape={input_shape}"
            )
        self.features = features
        self.shift_scale = keras.layers.Dense(
            2 * features,
            kernel_initializer=self.kernel_initializer,
            dtype=self.dtype_policy,
            name="shift_scale",
        )
        self.shift_scale.build(input_shape)
        self.input_spec = keras.InputSpec(min_ndim=2, axes={-1: features})
        self.built = True

    def call(self, inputs: Any) -> Any:
        inputs = ops.cast(inputs, self.compute_dtype)
        params = self.shift_scale(inputs)
        shift = params[..., : self.features]
        scale = ops.softplus(params[..., self.features :] + _SOFTPLUS_ONE)
        outputs = (inputs - shift) * scale
        if self.regularization > 0:
            mean = ops.mean(outputs, axis=-1)
            var = ops.var(outputs, axis=-1)
            penalty = ops.mean(ops.square(mean) + ops.square(var - 1.0))
            self.add_loss(self.regularization * penalty)
        return outputs

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def compute_output_spec(self, inputs: Any) -> Any:
        return keras.KerasTensor(inputs.shape, dtype=self.compute_dtype)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "regularization": self.regularization,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config
