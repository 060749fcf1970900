"""Floating-point precision of PINN training on every backend."""

from __future__ import annotations

import keras

from keras_pinn import backend as _backend

__all__ = ["set_precision"]


def set_precision(dtype: str):
    """Sets the precision of everything built afterwards, on every backend.

    Keras's ``keras.config.set_floatx`` alone is not enough: layers take
    their dtype from the global dtype policy, which Keras fixes from floatx
    when the first layer is built, and JAX computes in float32 unless its
    64-bit mode is on. This sets all three (floatx, the dtype policy, and
    JAX's ``jax_enable_x64``). Call it before building the network.

    Args:
        dtype: ``"float32"`` or ``"float64"``.

    Example:

    ```python
    kp.set_precision("float64")
    net = keras.Sequential([...])      # float64 weights
    model = kp.PINNModel(net, ...)     # float64 points, residuals, L-BFGS
    ```
    """
    if dtype not in ("float32", "float64"):
        raise ValueError(f"`dtype` must be 'float32' or 'float64'. Received: dtype={dtype!r}")
    _backend.enable_float64(dtype == "float64")
    keras.config.set_floatx(dtype)
    keras.config.set_dtype_policy(dtype)
