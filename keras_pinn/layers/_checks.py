"""Argument checks and small helpers shared by the accuracy layers
(Fourier features, modified MLP, PirateNet, periodic embedding)."""

from __future__ import annotations

import math
import numbers

import keras
from keras import ops

from keras_pinn._validation import positive_int, seed

__all__ = ["activation", "boolean", "input_dim", "positive_float", "positive_int", "seed", "value"]


def positive_float(value, argument: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (math.isfinite(value) and float(value) > 0):
        raise ValueError(f"`{argument}` must be a finite number > 0. Received: {argument}={value!r}")
    return float(value)


def boolean(value, argument: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"`{argument}` must be True or False. Received: {argument}={value!r}")
    return value


def activation(value):
    """``keras.activations.get(value)`` with an error naming the argument."""
    try:
        fn = keras.activations.get(value)
    except (ValueError, TypeError) as error:
        raise ValueError(f"Unknown `activation`. Received: activation={value!r} ({error})") from error
    if fn is None or not callable(fn):
        raise ValueError(f"`activation` must name a Keras activation or be callable. Received: activation={value!r}")
    return fn


def input_dim(layer, input_shape) -> int:
    if len(input_shape) != 2 or input_shape[-1] is None:
        raise ValueError(
            f"{type(layer).__name__} needs inputs of shape (N, d) with d known. "
            f"Received: input_shape={tuple(input_shape)}"
        )
    return int(input_shape[-1])


def value(layer, variable):
    """A variable's tensor in the layer's compute dtype (no autocast scope
    needed, so Taylor mode can read it outside ``__call__``)."""
    if layer.compute_dtype == layer.variable_dtype:
        return variable.value
    return ops.cast(variable.value, layer.compute_dtype)
