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
* TensorFlow: nested reverse mode on persistent ``tf.GradientTape``s, one per order
  (``tf.autodiff.ForwardAccumulator`` under XLA compiled for minutes);
* PyTorch: reverse mode (``torch.autograd.grad`` with ``create_graph=True``),
  which measured several times faster than ``torch.func.jvp``.

All three compute the same quantity, ``D_j u_i = sum_k du_i/dx_kj`` (the
derivative of each output row when every point moves together along input
column ``j``): the pointwise derivative for networks that treat each point on
its own, and for a network that mixes points (a GridConv, which reports it
through :func:`note_point_mixing`) what reverse mode gets by two passes
(``_common.ReverseModeCache``).
"""

import importlib

import keras

from keras_pinn.backend._common import note_point_mixing

_MODULES = {"jax": "jax_backend", "tensorflow": "tensorflow_backend", "torch": "torch_backend"}


def _load():
    # A missing backend package is reported by keras_pinn._preflight when
    # Keras fails to import; here only the backends keras-pinn has no engine
    # for remain to refuse.
    name = keras.backend.backend()
    if name not in _MODULES:
        raise ImportError(
            f"keras-pinn supports the Keras backends 'jax', 'tensorflow' and 'torch'. Received: KERAS_BACKEND={name!r}."
        )
    return importlib.import_module(f"keras_pinn.backend.{_MODULES[name]}")


_impl = _load()

BACKEND = keras.backend.backend()
InputDerivatives = _impl.InputDerivatives
DERIVATIVE_MODE = _impl.DERIVATIVE_MODE
enable_grad = _impl.enable_grad
value_and_grad = _impl.value_and_grad
enable_float64 = _impl.enable_float64
native_activation = _impl.native_activation
#: The most steps Keras's trainer runs per call on this backend (None: no limit).
MAX_STEPS_PER_EXECUTION = _impl.MAX_STEPS_PER_EXECUTION
fixed_point_dataset = _impl.fixed_point_dataset
#: What ``PINNModel.compile(jit_compile="auto")`` passes to Keras on this backend.
DEFAULT_JIT_COMPILE = _impl.DEFAULT_JIT_COMPILE
#: Whether ``PINNModel.fit`` compiles long runs when ``jit_compile`` was left at "auto" (PyTorch).
COMPILE_LONG_FITS = _impl.COMPILE_LONG_FITS

__all__ = [
    "BACKEND",
    "COMPILE_LONG_FITS",
    "DEFAULT_JIT_COMPILE",
    "DERIVATIVE_MODE",
    "InputDerivatives",
    "MAX_STEPS_PER_EXECUTION",
    "enable_float64",
    "enable_grad",
    "fixed_point_dataset",
    "native_activation",
    "note_point_mixing",
    "value_and_grad",
]
