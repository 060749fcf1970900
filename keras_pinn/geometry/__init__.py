"""Geometry beyond boxes: 2-D and 3-D primitives, polygons, constructive
solid geometry (``|``, ``&``, ``-``), products with time, and hard
Dirichlet conditions from the signed distance.

Every geometry is a keras-pinn domain: pass it to
:class:`~keras_pinn.PINNModel`, :class:`~keras_pinn.layers.DomainScaler`
(its bounding box) or :class:`~keras_pinn.SpaceTime`. See ``docs/geometry.md``.
"""

from keras_pinn.geometry.base import Geometry, as_geometry
from keras_pinn.geometry.csg import Difference, Intersection, Union
from keras_pinn.geometry.hard import HardDirichlet
from keras_pinn.geometry.polygon import Polygon
from keras_pinn.geometry.primitives2d import Disk, Ellipse, Rectangle, RoundedRectangle
from keras_pinn.geometry.primitives3d import Ball, Cuboid, Cylinder
from keras_pinn.geometry.spacetime import GeometryXTime

__all__ = [
    "Ball",
    "Cuboid",
    "Cylinder",
    "Difference",
    "Disk",
    "Ellipse",
    "Geometry",
    "GeometryXTime",
    "HardDirichlet",
    "Intersection",
    "Polygon",
    "Rectangle",
    "RoundedRectangle",
    "Union",
    "as_geometry",
]
