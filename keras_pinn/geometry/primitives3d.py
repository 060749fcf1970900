"""3-D primitives: ball, cuboid (axis-aligned box) and cylinder."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from keras_pinn import _validation
from keras_pinn.geometry.base import Primitive, piecewise_index, safe_norm
from keras_pinn.geometry.primitives2d import Disk, _AxisBox

__all__ = ["Ball", "Cuboid", "Cylinder"]

_TWO_PI = 2.0 * np.pi


@keras.saving.register_keras_serializable(package="keras_pinn")
class Ball(Disk):
    """The ball ``|x - center| <= radius`` in 3-D (exact signed distance).

    Args:
        center: 3 numbers.
        radius: > 0.
        names: coordinate names. Defaults to ``("x", "y", "z")``.
        name: the boundary part's name. Defaults to ``"ball"``.
    """

    _dim = 3

    def __init__(self, center: Sequence[float], radius: float, names=None, name: str = "ball"):
        super().__init__(center, radius, names=names, name=name)

    def _boundary_from_unit(self, u):
        # Archimedes' map: z uniform in [-1, 1] and the angle uniform give a
        # uniform point on the sphere (and keep LHS/Sobol strata).
        z = 1.0 - 2.0 * u[:, 0]
        phi = _TWO_PI * u[:, 1]
        rho = np.sqrt(np.clip(1.0 - z**2, 0.0, None))
        n = np.stack([rho * np.cos(phi), rho * np.sin(phi), z], axis=1)
        return self.center + self.radius * n, n, np.zeros(len(u), dtype=int)


@keras.saving.register_keras_serializable(package="keras_pinn")
class Cuboid(_AxisBox):
    """The axis-aligned box ``[lower, upper]`` in 3-D as a geometry (for CSG).

    Boundary parts: ``"<name>.<coord>_min"`` / ``"<name>.<coord>_max"``.

    Args:
        lower: 3 numbers.
        upper: 3 numbers, each above its lower bound.
        names: coordinate names. Defaults to ``("x", "y", "z")``.
        name: the primitive's name. Defaults to ``"cuboid"``.
    """

    _dim = 3


@keras.saving.register_keras_serializable(package="keras_pinn")
class Cylinder(Primitive):
    """A solid circular cylinder along a coordinate axis (exact signed distance).

    Boundary parts: ``"<name>.side"``, ``"<name>.bottom"`` (the cap at the
    lower end along ``axis``) and ``"<name>.top"``.

    Args:
        center: 3 numbers, the centre of the cylinder.
        radius: > 0.
        height: > 0, the length along ``axis``.
        axis: the axis coordinate's index (0, 1 or 2). Defaults to 2 (z).
        names: coordinate names. Defaults to ``("x", "y", "z")``.
        name: the primitive's name. Defaults to ``"cylinder"``.
    """

    _part_suffixes = ("side", "bottom", "top")

    def __init__(self, center, radius: float, height: float, axis: int = 2, names=None, name: str = "cylinder"):
        self.center = _validation.vector(center, 3, "center")
        self.radius = _validation.positive(radius, "radius")
        self.height = _validation.positive(height, "height")
        if isinstance(axis, bool) or axis not in (0, 1, 2):
            raise ValueError(f"`axis` must be 0, 1 or 2. Received: axis={axis!r}")
        self.axis = int(axis)
        self._across = [i for i in range(3) if i != self.axis]
        half = np.full(3, self.radius)
        half[self.axis] = self.height / 2
        self._init_geometry(self.center - half, self.center + half, names, name)

    @property
    def measure(self):
        return float(np.pi * self.radius**2 * self.height)

    @property
    def boundary_measure(self):
        return float(_TWO_PI * self.radius * self.height + 2 * np.pi * self.radius**2)

    def _split(self, x, xp, c):
        across = xp.stack([x[:, i] for i in self._across], axis=1)
        r = safe_norm(across - c(self.center[self._across]), xp)
        z = x[:, self.axis] - c(self.center[self.axis])
        return r, z

    def _sdf(self, x, xp, c):
        r, z = self._split(x, xp, c)
        dr = r - c(self.radius)
        dz = xp.abs(z) - c(self.height / 2)
        outside = safe_norm(xp.stack([xp.maximum(dr, 0.0), xp.maximum(dz, 0.0)], axis=1), xp)
        return xp.minimum(xp.maximum(dr, dz), 0.0) + outside

    def _part_of(self, x):
        from keras_pinn.geometry.base import NP, _Const

        r, z = self._split(x, NP, _Const(NP, x))
        side = np.abs(r - self.radius) <= np.abs(np.abs(z) - self.height / 2)
        return np.where(side, 0, np.where(z < 0, 1, 2))

    def _normal(self, x):
        part = self._part_of(x)
        n = np.zeros_like(x)
        radial = x[:, self._across] - self.center[self._across]
        norm = np.linalg.norm(radial, axis=1, keepdims=True)
        n[:, self._across] = np.where(part[:, None] == 0, radial / np.where(norm > 0, norm, 1.0), 0.0)
        n[:, self.axis] = np.where(part == 1, -1.0, np.where(part == 2, 1.0, 0.0))
        return n

    def _boundary_from_unit(self, u):
        side = _TWO_PI * self.radius * self.height
        cap = np.pi * self.radius**2
        lengths = np.array([side, cap, cap])
        part, s = piecewise_index(u[:, 0] * lengths.sum(), lengths)
        v = np.clip(s / lengths[part], 0.0, 1.0)  # the first parameter within the part
        w = u[:, 1]
        points = np.empty((u.shape[0], 3))
        normals = np.zeros((u.shape[0], 3))
        on_side = part == 0
        theta = np.where(on_side, _TWO_PI * v, _TWO_PI * w)
        # Caps: r = R sqrt(v) is uniform in area.
        radius = np.where(on_side, self.radius, self.radius * np.sqrt(v))
        a, b = self._across
        points[:, a] = self.center[a] + radius * np.cos(theta)
        points[:, b] = self.center[b] + radius * np.sin(theta)
        half = self.height / 2
        points[:, self.axis] = self.center[self.axis] + np.where(
            on_side, -half + w * self.height, np.where(part == 1, -half, half)
        )
        normals[:, a] = np.where(on_side, np.cos(theta), 0.0)
        normals[:, b] = np.where(on_side, np.sin(theta), 0.0)
        normals[:, self.axis] = np.where(part == 1, -1.0, np.where(part == 2, 1.0, 0.0))
        return points, normals, part

    def get_config(self):
        return {
            "center": self.center.tolist(),
            "radius": self.radius,
            "height": self.height,
            "axis": self.axis,
            **self._common_config(),
        }
