"""The only place in keras-pinn that touches jax, tensorflow or torch.

Keras fixes its backend at import time; this module dispatches once, on
``keras.backend.backend()``, to the matching implementation of the two things
Keras has no backend-agnostic op for (keras-team/keras#19220):

* derivatives of a function's outputs with respect to its inputs, used for PDE
  residuals (:class:`InputDerivatives`);
* gradients of a scalar function with respect to variables, used where Keras's
  trainer gives no hook.

Derivative mode per backend (see ``docs/derivatives.md``):

* JAX: nested forward mode (``jax.jvp``), which traces and compiles well;
* TensorFlow: nested reverse mode on one persistent ``tf.GradientTape``
  (``tf.autodiff.ForwardAccumulator`` under XLA compiled for minutes);
* PyTorch: reverse mode (``torch.autograd.grad`` with ``create_graph=True``),
  which measured several times faster than ``torch.func.jvp``.
"""

import importlib

import keras

_EXTRAS = {"jax": "jax", "tensorflow": "tensorflow", "torch": "torch"}


def _load():
    name = keras.backend.backend()
    if name not in _EXTRAS:
        raise ImportError(
            f"keras-pinn supports the Keras backends 'jax', 'tensorflow' and "
            f"'torch'. Received: KERAS_BACKEND={name!r}."
        )
    package = {"jax": "jax", "tensorflow": "tensorflow", "torch": "torch"}[name]
    if importlib.util.find_spec(package) is None:
        raise ImportError(
            f"Keras is set to the {name!r} backend but the {package!r} package "
            f"is not installed. Install it with "
            f"`pip install \"keras-pinn[{_EXTRAS[name]}]\"`, or choose another "
            f"backend with the KERAS_BACKEND environment variable."
        )
    return importlib.import_module(f"keras_pinn.backend.{_module_name(name)}")


def _module_name(name):
    return {"jax": "jax_backend", "tensorflow": "tensorflow_backend",
            "torch": "torch_backend"}[name]


_impl = _load()

BACKEND = keras.backend.backend()
InputDerivatives = _impl.InputDerivatives
DERIVATIVE_MODE = _impl.DERIVATIVE_MODE
enable_grad = _impl.enable_grad

__all__ = ["BACKEND", "DERIVATIVE_MODE", "InputDerivatives", "enable_grad"]
