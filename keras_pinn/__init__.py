"""keras-pinn: physics-informed neural networks for Keras 3.

Runs unchanged on the TensorFlow, JAX and PyTorch backends (``KERAS_BACKEND``).
"""

__version__ = "0.1.0"

from keras_pinn._preflight import check_backend_installed as _check_backend_installed

_check_backend_installed()

# Every submodule the docs use as an attribute (kp.problems.heat(), kp.lbfgs,
# kp.differentiation.taylor). Importing them also registers every serializable class and
# function of the package, so a saved model loads after `import keras_pinn`.
from keras_pinn import (  # noqa: E402
    activations,
    adaptive,
    balancing,
    callbacks,
    differentiation,
    geometry,
    layers,
    lbfgs,
    problems,
    recipe,
    weighting,
)
from keras_pinn.conditions import (  # noqa: E402
    Condition,
    DirichletBC,
    InitialCondition,
    InitialDerivative,
    NeumannBC,
    PeriodicBC,
    PointData,
    Residual,
    RobinBC,
)
from keras_pinn.differentiation import Derivatives, GridDerivatives, derivatives  # noqa: E402
from keras_pinn.domains import Box, Interval, SpaceTime  # noqa: E402
from keras_pinn.geometry import (  # noqa: E402
    Ball,
    Cuboid,
    Cylinder,
    Difference,
    Disk,
    Ellipse,
    GeometryXTime,
    HardDirichlet,
    Intersection,
    Polygon,
    Rectangle,
    RoundedRectangle,
    Union,
)
from keras_pinn.model import PINNModel  # noqa: E402
from keras_pinn.precision import set_floatx  # noqa: E402

__all__ = [
    "Ball",
    "Box",
    "Condition",
    "Cuboid",
    "Cylinder",
    "Derivatives",
    "Difference",
    "DirichletBC",
    "Disk",
    "Ellipse",
    "GeometryXTime",
    "GridDerivatives",
    "HardDirichlet",
    "InitialCondition",
    "InitialDerivative",
    "Intersection",
    "Interval",
    "NeumannBC",
    "PINNModel",
    "PeriodicBC",
    "PointData",
    "Polygon",
    "Rectangle",
    "Residual",
    "RobinBC",
    "RoundedRectangle",
    "SpaceTime",
    "Union",
    "activations",
    "adaptive",
    "balancing",
    "callbacks",
    "derivatives",
    "differentiation",
    "geometry",
    "layers",
    "lbfgs",
    "problems",
    "recipe",
    "set_floatx",
    "weighting",
]
