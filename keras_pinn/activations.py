"""Activations for PINNs that Keras does not ship, and a lookup that knows them.

Keras 3 has ``tanh``, ``sigmoid``, ``softplus`` and ``linear`` but no
``sin``, an activation many PINNs use (SIREN-style networks, periodic
solutions). :func:`sin` is written in ``keras.ops`` and registered
serializable as ``"keras_pinn>sin"``, so a layer using it saves to
``.keras`` and loads back after ``import keras_pinn``.

Which activations work where:

* ``kp.layers.MLP(..., activation=...)`` accepts every Keras name
  (``"tanh"``, ``"relu"``, ...) plus ``"sin"``, and any callable written in
  ``keras.ops``.
* ``keras.layers.Dense`` and ``keras.layers.Activation`` resolve a *string*
  only among Keras's own activations (Keras 3 has no public hook to add a
  name), so pass the function: ``keras.layers.Dense(20, activation=kp.activations.sin)``.
* Taylor mode (:mod:`keras_pinn.differentiation.taylor`) pushes derivatives in closed form
  through ``tanh``, ``sigmoid``, ``softplus``, ``sin`` and ``linear``: the
  Keras activations of those names (or their ``keras.ops`` functions) and
  :func:`sin` (or ``keras.ops.sin``). Any other activation works with
  ``derivative_method="autodiff"``.
* NumPy functions such as ``np.sin`` do not run on Keras tensors (they
  would convert the tensor to a NumPy array, which fails while tracing and
  cuts the gradient): they are refused with an error naming the
  ``keras.ops`` function to use instead.

Example:

```python
net = kp.layers.MLP([32, 32], outputs=1, activation="sin")
net = keras.Sequential([keras.Input((2,)),
                        keras.layers.Dense(32, activation=kp.activations.sin),
                        keras.layers.Dense(1)])
```
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from keras_pinn.differentiation import taylor as _taylor

__all__ = ["EXTRA_ACTIVATIONS", "check", "get", "sin"]


@keras.saving.register_keras_serializable(package="keras_pinn")
def sin(x: Any) -> Any:
    """``sin(x)``, elementwise: a periodic activation (``keras.ops.sin``).

    Registered as ``"keras_pinn>sin"``; Taylor mode supports it.

    Args:
        x: input tensor.

    Returns:
        A tensor of the same shape and dtype as ``x``.

    Example:

    ```python
    layer = keras.layers.Dense(16, activation=kp.activations.sin)
    ```
    """
    return ops.sin(x)


def _sin_derivatives(a: Any, z: Any, order: int) -> list:
    """``sin``'s derivatives 1..order at ``z`` (``a = sin(z)``), for Taylor mode."""
    c = ops.cos(z)
    return [c, -a, -c, a][:order]


_taylor.register_activation_rule(sin, _sin_derivatives)


#: Activation names keras-pinn adds to Keras's own, for :func:`get`.
EXTRA_ACTIVATIONS = {"sin": sin}


def _numpy_function(fn) -> bool:
    module = getattr(fn, "__module__", None) or ""
    return isinstance(fn, np.ufunc) or module == "numpy" or module.startswith("numpy.")


def check(fn, argument: str = "activation"):
    """Raises ``ValueError`` when ``fn`` is a NumPy function (it cannot run
    on Keras tensors); returns ``fn`` otherwise."""
    if _numpy_function(fn):
        name = getattr(fn, "__name__", repr(fn))
        hint = f"'{name}' or keras.ops.{name}" if name in EXTRA_ACTIVATIONS else f"keras.ops.{name}"
        raise ValueError(
            f"`{argument}` is a NumPy function, which cannot run on Keras tensors (it converts them to "
            f"NumPy arrays: that fails while tracing and cuts the gradients). Use {hint}, or a function "
            f"written in keras.ops. Received: {argument}={fn!r}"
        )
    return fn


def get(identifier, argument: str = "activation"):
    """The activation function for ``identifier``.

    Like ``keras.activations.get``, and also knows the names of
    :data:`EXTRA_ACTIVATIONS` (``"sin"``).

    Args:
        identifier: None (linear), a name (``"tanh"``, ``"sin"``, ...), a
            serialized config, or a callable written in ``keras.ops``.
        argument: the argument's name, for error messages.

    Returns:
        The activation function.

    Raises:
        ValueError: for an unknown name or a NumPy function such as ``np.sin``.
    """
    if isinstance(identifier, str) and identifier in EXTRA_ACTIVATIONS:
        return EXTRA_ACTIVATIONS[identifier]
    check(identifier, argument)
    try:
        return keras.activations.get(identifier)
    except (ValueError, TypeError) as error:
        names = "Keras's activation names (e.g. 'tanh', 'relu'), " + ", ".join(repr(n) for n in EXTRA_ACTIVATIONS)
        raise ValueError(
            f"Unknown `{argument}`: expected {names}, or a callable written in keras.ops. "
            f"Received: {argument}={identifier!r}"
        ) from error
