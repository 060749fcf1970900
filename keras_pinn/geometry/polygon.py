"""Simple polygons, convex or not (an L-shape, a star, ...)."""

from __future__ import annotations

import keras
import numpy as np

from keras_pinn.geometry.base import Primitive, piecewise_index

__all__ = ["Polygon"]


def _segments_cross(p1, p2, q1, q2):
    """Whether closed segments p1p2 and q1q2 intersect."""

    def orient(a, b, c):
        return np.sign((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))

    def on_segment(a, b, c):
        return min(a[0], b[0]) <= c[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= c[1] <= max(a[1], b[1])

    o1, o2, o3, o4 = orient(p1, p2, q1), orient(p1, p2, q2), orient(q1, q2, p1), orient(q1, q2, p2)
    if o1 != o2 and o3 != o4:
        return True
    return (
        (o1 == 0 and on_segment(p1, p2, q1))
        or (o2 == 0 and on_segment(p1, p2, q2))
        or (o3 == 0 and on_segment(q1, q2, p1))
        or (o4 == 0 and on_segment(q1, q2, p2))
    )


@keras.saving.register_keras_serializable(package="keras_pinn")
class Polygon(Primitive):
    """A simple polygon (convex or not, no self-intersection) from its
    vertices, in either orientation; exact signed distance.

    Boundary parts: ``"<name>.edge<i>"`` for the edge from vertex ``i`` to
    vertex ``i + 1`` (in the order given).

    Args:
        vertices: ``(k, 2)`` vertices, ``k >= 3``, not repeating the first.
        names: coordinate names. Defaults to ``("x", "y")``.
        name: the primitive's name. Defaults to ``"polygon"``.

    Example:

    ```python
    l_shape = kp.geometry.Polygon([[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2]])
    ```
    """

    def __init__(self, vertices, names=None, name: str = "polygon"):
        try:
            v = np.asarray(vertices, dtype="float64")
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"`vertices` must be a (k, 2) array of numbers. Received: vertices={vertices!r}"
            ) from error
        if v.ndim != 2 or v.shape[1] != 2 or v.shape[0] < 3 or not np.all(np.isfinite(v)):
            raise ValueError(
                f"`vertices` must be k >= 3 finite points of shape (k, 2). Received: vertices with shape {v.shape}"
            )
        self._given = v
        nxt = np.roll(v, -1, axis=0)
        lengths = np.linalg.norm(nxt - v, axis=1)
        if np.any(lengths == 0):
            raise ValueError(
                f"`vertices` repeats a point (edge {int(np.argmin(lengths))} "
                f"has length 0). Received: vertices={v.tolist()}"
            )
        k = v.shape[0]
        for i in range(k):
            for j in range(i + 1, k):
                if j == i + 1 or (i == 0 and j == k - 1):
                    continue  # neighbouring edges share a vertex
                if _segments_cross(v[i], nxt[i], v[j], nxt[j]):
                    raise ValueError(
                        f"`vertices` must describe a simple polygon: edges {i} and {j} intersect. "
                        f"Received: vertices={v.tolist()}"
                    )
        signed_area = 0.5 * np.sum(v[:, 0] * nxt[:, 1] - nxt[:, 0] * v[:, 1])
        if abs(signed_area) <= 1e-12 * np.max(np.ptp(v, axis=0)) ** 2:
            raise ValueError(f"`vertices` enclose no area. Received: vertices={v.tolist()}")
        self._area = abs(signed_area)
        self._orientation = 1.0 if signed_area > 0 else -1.0
        self._lengths = lengths
        edges = nxt - v
        # Outward normal of edge i: its direction turned clockwise for a
        # counter-clockwise polygon (and the other way round otherwise).
        self._edge_normals = self._orientation * np.stack([edges[:, 1], -edges[:, 0]], axis=1) / lengths[:, None]
        self._part_suffixes = tuple(f"edge{i}" for i in range(k))
        self._init_geometry(v.min(axis=0), v.max(axis=0), names, name)

    @property
    def vertices(self) -> np.ndarray:
        return self._given.copy()

    @property
    def measure(self):
        return float(self._area)

    @property
    def boundary_measure(self):
        return float(self._lengths.sum())

    def _edge_distances2(self, x, xp, c):
        """Squared distance of each point to each edge, ``(n, k)``."""
        a = c(self._given)
        e = c(np.roll(self._given, -1, axis=0) - self._given)
        w = xp.expand_dims(x, 1) - xp.expand_dims(a, 0)
        t = xp.clip(xp.sum(w * e, axis=-1) / c(self._lengths**2), 0.0, 1.0)
        d = w - xp.expand_dims(t, -1) * e
        return xp.sum(xp.square(d), axis=-1), w

    def _sdf(self, x, xp, c):
        d2, w = self._edge_distances2(x, xp, c)
        # Crossing-number parity (Quilez's polygon distance): edge from vertex
        # i to i + 1 toggles the sign when a ray in +x from the point crosses it.
        ay = c(self._given[:, 1])
        by = c(np.roll(self._given, -1, axis=0)[:, 1])
        ex = c(np.roll(self._given, -1, axis=0)[:, 0] - self._given[:, 0])
        ey = by - ay
        py = xp.expand_dims(x[:, 1], 1)
        c1 = xp.greater_equal(py, ay)
        c2 = xp.less(py, by)
        c3 = xp.greater(ex * w[..., 1], ey * w[..., 0])
        f1, f2, f3 = (xp.cast(b, c.dtype) for b in (c1, c2, c3))
        toggles = f1 * f2 * f3 + (1.0 - f1) * (1.0 - f2) * (1.0 - f3)
        inside = xp.mod(xp.sum(toggles, axis=-1), 2.0)
        distance = xp.sqrt(xp.maximum(xp.min(d2, axis=-1), 0.0))
        return (1.0 - 2.0 * inside) * distance

    def _part_of(self, x):
        from keras_pinn.geometry.base import NP, _Const

        d2, _ = self._edge_distances2(x, NP, _Const(NP, x))
        return np.argmin(d2, axis=1)

    def _normal(self, x):
        return self._edge_normals[self._part_of(x)]

    def _boundary_from_unit(self, u):
        k, s = piecewise_index(u[:, 0] * self._lengths.sum(), self._lengths)
        direction = (np.roll(self._given, -1, axis=0) - self._given) / self._lengths[:, None]
        points = self._given[k] + s[:, None] * direction[k]
        return points, self._edge_normals[k], k

    def get_config(self):
        return {"vertices": self._given.tolist(), **self._common_config()}
