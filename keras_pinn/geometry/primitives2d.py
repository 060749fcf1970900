"""2-D primitives: disk, ellipse, rectangle and rounded rectangle (the
polygon is in :mod:`keras_pinn.geometry.polygon`)."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from keras_pinn import _validation
from keras_pinn.geometry.base import (
    Primitive,
    piecewise_index,
    safe_norm,
)

__all__ = ["Disk", "Ellipse", "Rectangle", "RoundedRectangle"]

_TWO_PI = 2.0 * np.pi


@keras.saving.register_keras_serializable(package="keras_pinn")
class Disk(Primitive):
    """The disk ``|x - center| <= radius``.

    Args:
        center: 2 numbers.
        radius: > 0.
        names: coordinate names. Defaults to ``("x", "y")``.
        name: the boundary part's name (for boundary conditions). Defaults
            to ``"disk"``.

    Example:

    ```python
    plate = kp.geometry.Rectangle([-1, -1], [1, 1], name="plate")
    hole = kp.geometry.Disk([0, 0], 0.3, name="hole")
    domain = plate - hole
    xb = domain.sample_boundary(100, faces="hole", seed=0)   # the hole only
    ```
    """

    _dim = 2

    def __init__(self, center: Sequence[float], radius: float, names=None, name: str = "disk"):
        self.center = _validation.vector(center, self._dim, "center")
        self.radius = _validation.positive(radius, "radius")
        self._init_geometry(self.center - self.radius, self.center + self.radius, names, name)

    @property
    def measure(self):
        return np.pi * self.radius**2 if self._dim == 2 else 4.0 / 3.0 * np.pi * self.radius**3

    @property
    def boundary_measure(self):
        return _TWO_PI * self.radius if self._dim == 2 else 4.0 * np.pi * self.radius**2

    def _sdf(self, x, xp, c):
        return safe_norm(x - c(self.center), xp) - c(self.radius)

    def _normal(self, x):
        v = x - self.center
        norm = np.linalg.norm(v, axis=1, keepdims=True)
        return v / np.where(norm > 0, norm, 1.0)

    def _boundary_from_unit(self, u):
        theta = _TWO_PI * u[:, 0]
        n = np.stack([np.cos(theta), np.sin(theta)], axis=1)
        return self.center + self.radius * n, n, np.zeros(len(u), dtype=int)

    def get_config(self):
        return {"center": self.center.tolist(), "radius": self.radius, **self._common_config()}


@keras.saving.register_keras_serializable(package="keras_pinn")
class Ellipse(Primitive):
    """The axis-aligned ellipse ``((x - cx) / a)^2 + ((y - cy) / b)^2 <= 1``.

    Its signed distance is not exact (the exact one needs a quartic's root):
    :meth:`sdf` is the first-order estimate ``k0 (k0 - 1) / k1`` with
    ``k0 = |(x/a, y/b)|`` and ``k1 = |(x/a^2, y/b^2)|``: zero exactly on
    the ellipse, of the right sign, smooth, and equal to the distance to
    first order near the boundary (``exact_distance = False``).

    Args:
        center: 2 numbers.
        semi_axes: ``(a, b)``, both > 0.
        names: coordinate names. Defaults to ``("x", "y")``.
        name: the boundary part's name. Defaults to ``"ellipse"``.
    """

    exact_distance = False

    def __init__(self, center: Sequence[float], semi_axes: Sequence[float], names=None, name: str = "ellipse"):
        self.center = _validation.vector(center, 2, "center")
        axes = _validation.vector(semi_axes, 2, "semi_axes")
        if np.any(axes <= 0):
            raise ValueError(f"`semi_axes` must both be > 0. Received: semi_axes={list(semi_axes)!r}")
        self.semi_axes = axes
        self._init_geometry(self.center - axes, self.center + axes, names, name)
        # Arc length against the angle parameter, for sampling uniform in arc length.
        theta = np.linspace(0.0, _TWO_PI, 4097)
        speed = np.hypot(axes[0] * np.sin(theta), axes[1] * np.cos(theta))
        self._theta = theta
        self._arc = np.concatenate([[0.0], np.cumsum((speed[1:] + speed[:-1]) / 2 * np.diff(theta))])

    @property
    def measure(self):
        return np.pi * self.semi_axes[0] * self.semi_axes[1]

    @property
    def boundary_measure(self):
        return float(self._arc[-1])

    def _sdf(self, x, xp, c):
        q = x - c(self.center)
        k0 = safe_norm(q / c(self.semi_axes), xp)
        k1 = safe_norm(q / c(self.semi_axes**2), xp)
        safe_k1 = xp.where(xp.greater(k1, 0.0), k1, 1.0)
        # At the centre k0 = k1 = 0: the distance there is -min(a, b).
        return xp.where(xp.greater(k1, 0.0), k0 * (k0 - 1.0) / safe_k1, 0.0 * k0 - c(np.min(self.semi_axes)))

    def _normal(self, x):
        g = (x - self.center) / self.semi_axes**2
        norm = np.linalg.norm(g, axis=1, keepdims=True)
        return g / np.where(norm > 0, norm, 1.0)

    def _boundary_from_unit(self, u):
        theta = np.interp(u[:, 0] * self._arc[-1], self._arc, self._theta)
        a, b = self.semi_axes
        points = self.center + np.stack([a * np.cos(theta), b * np.sin(theta)], axis=1)
        return points, self._normal(points), np.zeros(len(u), dtype=int)

    def get_config(self):
        return {"center": self.center.tolist(), "semi_axes": self.semi_axes.tolist(), **self._common_config()}


class _AxisBox(Primitive):
    """An axis-aligned box as a primitive, with faces ``"<name>.<coord>_min"``
    and ``"<name>.<coord>_max"``."""

    _dim = 2

    def __init__(self, lower: Sequence[float], upper: Sequence[float], names=None, name: str | None = None):
        lo = _validation.vector(lower, self._dim, "lower")
        hi = _validation.vector(upper, self._dim, "upper")
        if np.any(lo >= hi):
            raise ValueError(
                "Each lower bound must be strictly below its upper bound. "
                f"Received: lower={lo.tolist()}, upper={hi.tolist()}"
            )
        self._init_geometry(lo, hi, names, type(self).__name__.lower() if name is None else name)
        self._part_suffixes = tuple(f"{n}_{side}" for n in self.names for side in ("min", "max"))

    @property
    def measure(self):
        return float(np.prod(self.extent))

    def _face_measures(self):
        return np.repeat([np.prod(np.delete(self.extent, j)) for j in range(self.dim)], 2)

    @property
    def boundary_measure(self):
        return float(self._face_measures().sum())

    def _sdf(self, x, xp, c):
        center, half = (self.lower + self.upper) / 2, self.extent / 2
        q = xp.abs(x - c(center)) - c(half)
        outside = safe_norm(xp.maximum(q, 0.0), xp)
        return outside + xp.minimum(xp.max(q, axis=-1), 0.0)

    def _part_of(self, x):
        gaps = np.stack([x - self.lower, self.upper - x], axis=2).reshape(x.shape[0], -1)
        return np.argmin(np.abs(gaps), axis=1)  # face 2j is <coord j>_min, 2j + 1 its _max

    def _normal(self, x):
        face = self._part_of(x)
        n = np.zeros_like(x)
        n[np.arange(x.shape[0]), face // 2] = np.where(face % 2 == 0, -1.0, 1.0)
        return n

    def _boundary_from_unit(self, u):
        measures = self._face_measures()
        face, s = piecewise_index(u[:, 0] * measures.sum(), measures)
        j = face // 2
        points = np.empty((u.shape[0], self.dim))
        for k in range(self.dim):
            others = [i for i in range(self.dim) if i != k]
            rows = j == k
            # The first free coordinate comes from the position within the
            # face's share of u[:, 0] (keeps LHS/Sobol strata), the rest from u[:, 1:].
            params = np.concatenate([s[rows, None] / measures[2 * k], u[rows, 1:]], axis=1)[:, : len(others)]
            if others:
                points[np.ix_(rows, others)] = self.lower[others] + np.clip(params, 0, 1) * self.extent[others]
            points[rows, k] = np.where(face[rows] % 2 == 0, self.lower[k], self.upper[k])
        normals = np.zeros_like(points)
        normals[np.arange(len(u)), j] = np.where(face % 2 == 0, -1.0, 1.0)
        return points, normals, face

    def get_config(self):
        return {"lower": self.lower.tolist(), "upper": self.upper.tolist(), **self._common_config()}


@keras.saving.register_keras_serializable(package="keras_pinn")
class Rectangle(_AxisBox):
    """The axis-aligned rectangle ``[lower, upper]`` as a geometry (for CSG;
    a plain :class:`~keras_pinn.Box` is enough on its own).

    Boundary parts: ``"<name>.<coord>_min"`` / ``"<name>.<coord>_max"``
    (``"rectangle.x_min"``, ...).

    Args:
        lower: 2 numbers.
        upper: 2 numbers, each above its lower bound.
        names: coordinate names. Defaults to ``("x", "y")``.
        name: the primitive's name. Defaults to ``"rectangle"``.
    """

    _dim = 2


@keras.saving.register_keras_serializable(package="keras_pinn")
class RoundedRectangle(Primitive):
    """A rectangle ``[lower, upper]`` whose corners are quarter circles of
    ``radius`` (exact signed distance).

    Args:
        lower: 2 numbers.
        upper: 2 numbers, each above its lower bound.
        radius: corner radius, ``0 < radius <= min(half sides)``.
        names: coordinate names. Defaults to ``("x", "y")``.
        name: the boundary part's name. Defaults to ``"rounded_rectangle"``.
    """

    def __init__(self, lower, upper, radius: float, names=None, name: str = "rounded_rectangle"):
        lo = _validation.vector(lower, 2, "lower")
        hi = _validation.vector(upper, 2, "upper")
        if np.any(lo >= hi):
            raise ValueError(
                "Each lower bound must be strictly below its upper bound. "
                f"Received: lower={lo.tolist()}, upper={hi.tolist()}"
            )
        self.radius = _validation.positive(radius, "radius")
        if self.radius > np.min(hi - lo) / 2:
            raise ValueError(
                f"`radius` must be at most half the shorter side ({np.min(hi - lo) / 2:g}). Received: radius={radius!r}"
            )
        self._init_geometry(lo, hi, names, name)

    @property
    def _inner_half(self):
        return self.extent / 2 - self.radius

    @property
    def measure(self):
        return float(np.prod(self.extent) - (4.0 - np.pi) * self.radius**2)

    @property
    def boundary_measure(self):
        return float(4.0 * self._inner_half.sum() + _TWO_PI * self.radius)

    def _sdf(self, x, xp, c):
        center = (self.lower + self.upper) / 2
        q = xp.abs(x - c(center)) - c(self._inner_half)
        return safe_norm(xp.maximum(q, 0.0), xp) + xp.minimum(xp.max(q, axis=-1), 0.0) - c(self.radius)

    def _normal(self, x):
        center = (self.lower + self.upper) / 2
        s = np.where(x >= center, 1.0, -1.0)
        q = np.abs(x - center) - self._inner_half
        corner = np.all(q > 0, axis=1)
        n = np.zeros_like(x)
        side = np.argmax(q, axis=1)
        n[np.arange(x.shape[0]), side] = 1.0
        qc = np.maximum(q, 0.0)
        norm = np.linalg.norm(qc, axis=1, keepdims=True)
        n = np.where(corner[:, None], qc / np.where(norm > 0, norm, 1.0), n)
        return n * s

    def _boundary_from_unit(self, u):
        center, (hx, hy), r = (self.lower + self.upper) / 2, self._inner_half, self.radius
        quarter = np.pi * r / 2
        # Counter-clockwise from the bottom side: 4 sides and 4 corner arcs.
        lengths = np.array([2 * hx, quarter, 2 * hy, quarter, 2 * hx, quarter, 2 * hy, quarter])
        k, s = piecewise_index(u[:, 0] * lengths.sum(), lengths)
        points = np.empty((u.shape[0], 2))
        normals = np.empty((u.shape[0], 2))
        sides = {
            0: ((-hx, -hy - r), (1, 0), (0, -1)),
            2: ((hx + r, -hy), (0, 1), (1, 0)),
            4: ((hx, hy + r), (-1, 0), (0, 1)),
            6: ((-hx - r, hy), (0, -1), (-1, 0)),
        }
        for piece, (start, direction, normal) in sides.items():
            rows = k == piece
            points[rows] = center + np.asarray(start) + s[rows, None] * np.asarray(direction, dtype=float)
            normals[rows] = normal
        arcs = {1: (hx, -hy, -np.pi / 2), 3: (hx, hy, 0.0), 5: (-hx, hy, np.pi / 2), 7: (-hx, -hy, np.pi)}
        for piece, (cx, cy, start) in arcs.items():
            rows = k == piece
            angle = start + s[rows] / r
            n = np.stack([np.cos(angle), np.sin(angle)], axis=1)
            points[rows] = center + np.array([cx, cy]) + r * n
            normals[rows] = n
        return points, normals, np.zeros(len(u), dtype=int)

    def get_config(self):
        return {
            "lower": self.lower.tolist(),
            "upper": self.upper.tolist(),
            "radius": self.radius,
            **self._common_config(),
        }
