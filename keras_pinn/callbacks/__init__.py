"""keras-pinn's Keras callbacks for ``PINNModel.fit``.

* :class:`StopOnNonFinite` (``training.py``): stops at the first non-finite
  loss, naming the term (``fit`` adds one by default).
* :class:`RAR` and :class:`RAD` (``sampling.py``): residual-based adaptive
  collocation, which moves or adds the PDE's points during training; with
  :func:`residual_magnitude`, the residual's size at given points.

A callback that changes the points (``model.set_points``) needs nothing
else: ``fit`` trains on the new points from the next epoch on (on JAX and
PyTorch from the next step), on every backend.
"""

from keras_pinn.callbacks.sampling import RAD, RAR, residual_magnitude
from keras_pinn.callbacks.training import StopOnNonFinite

__all__ = ["RAD", "RAR", "StopOnNonFinite", "residual_magnitude"]
