"""Derivatives of the fields with respect to the coordinates, for residuals.

One concept per module:

* :mod:`~keras_pinn.differentiation.base`: :class:`DerivativesBase`, the
  interface a residual function sees (``d("u", "x")``, ``d.coord``,
  ``d.gradient``, ``d.laplacian``, ``d.params``), and the checks every kind of
  derivatives shares (:func:`resolve_column`, :func:`check_points`).
* :mod:`~keras_pinn.differentiation.method`: :func:`resolve_method`, the one
  decision of how derivatives are taken, shared by :class:`Derivatives` and
  :class:`~keras_pinn.PINNModel`.
* :mod:`~keras_pinn.differentiation.exact`: :class:`Derivatives`, exact
  derivatives of a network by Taylor mode or the backend's autodiff.
* :mod:`~keras_pinn.differentiation.taylor`: Taylor mode, with the registry of
  the layers' rules (:func:`~keras_pinn.differentiation.taylor.register_rule`).
* :mod:`~keras_pinn.differentiation.finite_difference`:
  :class:`GridDerivatives`, finite differences on a regular grid of points.

``kp.derivatives``, ``kp.Derivatives`` and ``kp.GridDerivatives`` are the
same objects at the package's top level.
"""

from keras_pinn.differentiation import taylor
from keras_pinn.differentiation.base import DerivativesBase, check_points, resolve_column
from keras_pinn.differentiation.exact import Derivatives, derivatives
from keras_pinn.differentiation.finite_difference import GridDerivatives, check_grid_shape, infer_grid
from keras_pinn.differentiation.method import METHODS, resolve_method

__all__ = [
    "METHODS",
    "Derivatives",
    "DerivativesBase",
    "GridDerivatives",
    "check_grid_shape",
    "check_points",
    "derivatives",
    "infer_grid",
    "resolve_column",
    "resolve_method",
    "taylor",
]
