"""Constructive solid geometry: union, intersection and difference of any
two geometries (primitives or other combinations), also written ``a | b``,
``a & b`` and ``a - b``.

The signed distance of a combination is ``min(a, b)``, ``max(a, b)`` and
``max(a, -b)``: exactly zero on the combination's boundary, with the right
sign everywhere, but only a bound on the distance elsewhere (exact outside a
union and inside an intersection, for instance, not in general), so the
combinations have ``exact_distance = False``.

Boundary points are drawn from the primitives' boundaries (in proportion to
their measures, so the result stays uniform in arc length or area) and kept
where they lie on the combination's boundary: ``a``'s boundary outside ``b``
for a union, inside ``b`` for an intersection; for a difference ``a - b``,
``a``'s boundary outside ``b`` and ``b``'s boundary inside ``a``, with its
normals turned round.
"""

from __future__ import annotations

import keras
import numpy as np

from keras_pinn.geometry.base import Geometry, as_geometry

__all__ = ["Difference", "Intersection", "Union"]


class _Combination(Geometry):
    exact_distance = False

    def __init__(self, a, b):
        if isinstance(a, dict):
            a = keras.saving.deserialize_keras_object(a)
        if isinstance(b, dict):
            b = keras.saving.deserialize_keras_object(b)
        a = _operand(a, "a")
        b = _operand(b, "b")
        if a.dim != b.dim or a.names != b.names:
            raise ValueError(
                f"`a` and `b` must have the same coordinates. Received: a with names {a.names}, b with names {b.names}"
            )
        self.a, self.b = a, b
        lower, upper = self._bounds(a, b)
        if np.any(lower >= upper):
            raise ValueError(f"{type(self).__name__} of {a!r} and {b!r} is empty (its bounding boxes do not overlap).")
        super().__init__(lower, upper, names=a.names)
        self.min_acceptance = min(a.min_acceptance, b.min_acceptance)

    def _leaves(self):
        return self.a._leaves() + self.b._leaves()

    def _part_names(self):  # pragma: no cover - combinations label through their leaves
        return ()

    @property
    def name(self):
        return type(self).__name__.lower()

    def _candidates_of(self, child, m, method, rng):
        return child._boundary_candidates(m, method, rng)

    def _split(self, m, rng):
        share_a = self.a._leaf_boundary_measure()
        total = share_a + self.b._leaf_boundary_measure()
        m_a = int(rng.binomial(m, share_a / total))
        return m_a, m - m_a

    def _boundary_candidates(self, m, method, rng):
        m_a, m_b = self._split(m, rng)
        pa, na, la = self.a._boundary_candidates(m_a, method, rng)
        pb, nb, lb = self.b._boundary_candidates(m_b, method, rng)
        keep_a, keep_b, flip_b = self._keep(pa, pb, strict=True)
        sign_b = -1.0 if flip_b else 1.0
        return (
            np.concatenate([pa[keep_a], pb[keep_b]]),
            np.concatenate([na[keep_a], sign_b * nb[keep_b]]),
            np.concatenate([la[keep_a], lb[keep_b]]),
        )

    def _classify(self, x, tol):
        on_a, na, la = self.a._classify(x, tol)
        on_b, nb, lb = self.b._classify(x, tol)
        keep_a, keep_b, flip_b = self._keep(x, x, strict=False, tol=tol)
        use_a = on_a & keep_a
        use_b = ~use_a & on_b & keep_b
        normals = np.where(use_a[:, None], na, (-1.0 if flip_b else 1.0) * nb)
        labels = np.where(use_a, la, lb)
        return use_a | use_b, normals, labels

    def get_config(self):
        return {
            "a": keras.saving.serialize_keras_object(self.a),
            "b": keras.saving.serialize_keras_object(self.b),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}({self.a!r}, {self.b!r})"


def _operand(value, argument):
    try:
        return as_geometry(value)
    except ValueError as error:
        raise ValueError(
            f"`{argument}` must be a keras_pinn geometry (or a 2-D or 3-D Box). Received: {argument}={value!r}"
        ) from error


@keras.saving.register_keras_serializable(package="keras_pinn")
class Union(_Combination):
    """Points in ``a`` or ``b`` (``a | b``); boundary parts are those of both.

    Args:
        a: a geometry.
        b: a geometry with the same coordinates as `a`.
    """

    @staticmethod
    def _bounds(a, b):
        return np.minimum(a.lower, b.lower), np.maximum(a.upper, b.upper)

    def _sdf(self, x, xp, c):
        return xp.minimum(self.a._sdf(x, xp, c), self.b._sdf(x, xp, c))

    def _keep(self, pa, pb, strict, tol=0.0):
        if strict:
            return self.b.sdf(pa) > 0, self.a.sdf(pb) > 0, False
        return self.b.sdf(pa) > -tol, self.a.sdf(pb) > -tol, False


@keras.saving.register_keras_serializable(package="keras_pinn")
class Intersection(_Combination):
    """Points in both ``a`` and ``b`` (``a & b``).

    Args:
        a: a geometry.
        b: a geometry with the same coordinates as `a`.
    """

    @staticmethod
    def _bounds(a, b):
        return np.maximum(a.lower, b.lower), np.minimum(a.upper, b.upper)

    def _sdf(self, x, xp, c):
        return xp.maximum(self.a._sdf(x, xp, c), self.b._sdf(x, xp, c))

    def _keep(self, pa, pb, strict, tol=0.0):
        if strict:
            return self.b.sdf(pa) < 0, self.a.sdf(pb) < 0, False
        return self.b.sdf(pa) < tol, self.a.sdf(pb) < tol, False


@keras.saving.register_keras_serializable(package="keras_pinn")
class Difference(_Combination):
    """Points in ``a`` but not in ``b`` (``a - b``): a plate with a hole.
    The boundary of ``b`` inside ``a`` keeps ``b``'s part names, with normals
    pointing out of the difference (into ``b``).

    Args:
        a: the geometry to cut from.
        b: the geometry cut out, same coordinates.
    """

    @staticmethod
    def _bounds(a, b):
        return a.lower.copy(), a.upper.copy()

    def _sdf(self, x, xp, c):
        return xp.maximum(self.a._sdf(x, xp, c), -self.b._sdf(x, xp, c))

    def _keep(self, pa, pb, strict, tol=0.0):
        if strict:
            return self.b.sdf(pa) > 0, self.a.sdf(pb) < 0, True
        return self.b.sdf(pa) > -tol, self.a.sdf(pb) < tol, True
