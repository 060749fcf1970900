"""A geometry times a time interval."""

from __future__ import annotations

import keras
import numpy as np

from keras_pinn._validation import positive_int
from keras_pinn.domains import SpaceTime
from keras_pinn.geometry.base import Geometry, _rng, check_method, unit_points

__all__ = ["GeometryXTime"]


@keras.saving.register_keras_serializable(package="keras_pinn")
class GeometryXTime(SpaceTime):
    """A :class:`Geometry` times ``[t0, t1]``; time is the last coordinate.

    ``kp.SpaceTime(geometry, t0, t1)`` returns one. The boundary is the
    geometry's boundary times the time interval (normals have a zero time
    component, parts are the geometry's); the initial set is the geometry
    at ``t0``; the bounding box (what DomainScaler uses) is the geometry's
    times ``[t0, t1]``.

    Args:
        space: a :class:`Geometry`.
        t0: initial time.
        t1: final time, above ``t0``.
        time_name: name of the time coordinate. Defaults to ``"t"``.
    """

    space: Geometry

    def __init__(self, space, t0: float, t1: float, time_name: str = "t"):
        if isinstance(space, dict):
            space = keras.saving.deserialize_keras_object(space)
        if not isinstance(space, Geometry):
            raise ValueError(f"`space` must be a keras_pinn geometry. Received: space={space!r}")
        super().__init__(space, t0, t1, time_name)

    @property
    def faces(self):
        return self.space.faces

    @property
    def parts(self):
        return self.space.parts

    def _face(self, face):
        return self.space._face(face)

    def contains(self, points, tol: float = 1e-6) -> np.ndarray:
        points = np.asarray(points, dtype="float64")
        dt = self.upper[-1] - self.lower[-1]
        t = points[:, -1]
        in_time = (t >= self.lower[-1] - tol * dt) & (t <= self.upper[-1] + tol * dt)
        return self.space.contains(points[:, :-1], tol) & in_time

    def _times(self, unit):
        return self.lower[-1] + unit * (self.upper[-1] - self.lower[-1])

    def sample_interior(self, n: int, method: str = "uniform", seed=None) -> np.ndarray:
        """``n`` points inside the geometry, times drawn jointly with the
        space coordinates (LHS and Sobol strata span space and time)."""
        n = positive_int(n, "n")
        points = self.space._interior(n, method, _rng(seed), extra=1)
        points[:, -1] = self._times(points[:, -1])
        return points.astype(keras.config.floatx())

    def sample_boundary(self, n, faces=None, method="uniform", seed=None, return_normals=False):
        """``n`` points on the geometry's boundary (or the selected parts)
        times ``[t0, t1]``, with outward normals (zero time component)."""
        n = positive_int(n, "n")
        check_method(method)
        rng = _rng(seed)
        space, normals, _ = self.space._boundary(n, faces, method, rng)
        k = space.shape[0]
        t = unit_points(k, 1, method, rng)[:, 0]
        if t.shape[0] != k:  # the grid sampler: spread times evenly
            t = np.linspace(0.0, 1.0, k)
        points = np.concatenate([space, self._times(t)[:, None]], axis=1)
        floatx = keras.config.floatx()
        if return_normals:
            normals = np.concatenate([normals, np.zeros((k, 1))], axis=1)
            return points.astype(floatx), normals.astype(floatx)
        return points.astype(floatx)

    def normals(self, points, faces=None) -> np.ndarray:
        points = np.asarray(points, dtype="float64")
        space = self.space.normals(points[:, :-1], faces)
        return np.concatenate([space, np.zeros((points.shape[0], 1))], axis=1)

    def grid(self, shape):
        points = super().grid(shape)
        return points[self.contains(points)]

    def __eq__(self, other):
        return super().__eq__(other) and self.space == other.space

    # __eq__ without __hash__: Python makes instances unhashable, as Box's.

    def __repr__(self):
        return f"{type(self).__name__}({self.space!r}, t in [{self.lower[-1]:g}, {self.upper[-1]:g}])"
