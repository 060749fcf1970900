"""keras-pinn: physics-informed neural networks for Keras 3.

Runs unchanged on the TensorFlow, JAX and PyTorch backends (``KERAS_BACKEND``).
"""

__version__ = "0.1.0"

from keras_pinn._preflight import check_backend_installed as _check_backend_installed

_check_backend_installed()

from keras_pinn import adaptive, balancing, callbacks, layers  # noqa: E402
from keras_pinn.conditions import (  # noqa: E402
    Condition,
    DirichletBC,
    InitialCondition,
    InitialDerivative,
    NeumannBC,
    PeriodicBC,
    PointData,
    Residual,
)
from keras_pinn.diff import Derivatives, derivatives  # noqa: E402
from keras_pinn.domains import Box, Interval, SpaceTime  # noqa: E402
from keras_pinn.finite_difference import GridDerivatives  # noqa: E402
from keras_pinn.model import PINNModel  # noqa: E402
from keras_pinn.precision import set_floatx  # noqa: E402

__all__ = [
    "Box",
    "Condition",
    "Derivatives",
    "DirichletBC",
    "GridDerivatives",
    "InitialCondition",
    "InitialDerivative",
    "Interval",
    "NeumannBC",
    "PINNModel",
    "PeriodicBC",
    "PointData",
    "Residual",
    "SpaceTime",
    "adaptive",
    "balancing",
    "callbacks",
    "derivatives",
    "layers",
    "set_floatx",
]

# The accuracy methods (issue #19): the Adam + L-BFGS recipe and point weightings.
from keras_pinn import recipe, weighting  # noqa: E402

__all__ += ["recipe", "weighting"]
