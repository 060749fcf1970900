"""The :class:`Geometry` base class: a region of R^d with an inside test, a
signed distance, seeded samplers and named boundary parts.

A geometry is a :class:`~keras_pinn.Box` whose ``lower`` and ``upper`` are its
bounding box, so it drops in wherever a keras-pinn domain goes
(:class:`~keras_pinn.PINNModel`, :class:`~keras_pinn.layers.DomainScaler`,
:class:`~keras_pinn.SpaceTime`, the conditions).

Conventions:

- Points are NumPy arrays ``(n, d)``; sampling is NumPy, seeded, so one seed
  gives the same points on every backend. Samplers return Keras's
  ``floatx``; ``sdf`` and the inside tests work in float64.
- The signed distance is negative inside, zero on the boundary, positive
  outside. :meth:`Geometry.sdf` evaluates it in NumPy,
  :meth:`Geometry.sdf_ops` in ``keras.ops`` (differentiable, for hard
  constraints), from one formula.
- Boundary parts: every primitive has a ``name``; primitives with faces or
  edges add ``"<name>.<face>"`` parts (``"plate.x_min"``, ``"poly.edge2"``).
  A selection (``faces=`` of the samplers and of boundary conditions) is a
  list of part names, primitive names (all of that primitive's parts) or
  NumPy predicates ``predicate(points) -> bool mask``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence

import keras
import numpy as np
from keras import ops

from keras_pinn import _validation
from keras_pinn._validation import positive_int
from keras_pinn.domains import Box, sample_unit_cube

__all__ = ["Geometry", "as_geometry"]


class _NumPyOps:
    """The handful of ``keras.ops`` names the distance formulas use, in
    NumPy float64, so each formula is written once for both."""

    abs = staticmethod(np.abs)
    maximum = staticmethod(np.maximum)
    minimum = staticmethod(np.minimum)
    sqrt = staticmethod(np.sqrt)
    square = staticmethod(np.square)
    sum = staticmethod(np.sum)
    max = staticmethod(np.max)
    min = staticmethod(np.min)
    where = staticmethod(np.where)
    clip = staticmethod(np.clip)
    stack = staticmethod(np.stack)
    expand_dims = staticmethod(np.expand_dims)
    mod = staticmethod(np.mod)
    sign = staticmethod(np.sign)
    greater = staticmethod(np.greater)
    greater_equal = staticmethod(np.greater_equal)
    less = staticmethod(np.less)

    @staticmethod
    def cast(x, dtype):
        return np.asarray(x).astype(dtype)


NP = _NumPyOps()


class _Const:
    """Makes constants in the dtype of the points (keeps float32 graphs
    float32 on every backend)."""

    def __init__(self, xp, x):
        self.xp = xp
        self.dtype = "float64" if xp is NP else x.dtype

    def __call__(self, value):
        value = np.asarray(value, dtype="float64")
        if self.xp is NP:
            return value
        return ops.convert_to_tensor(value, dtype=self.dtype)


def safe_norm(v, xp, axis=-1):
    """Euclidean norm along ``axis`` whose gradient is 0 (not NaN) at 0."""
    s = xp.sum(xp.square(v), axis=axis)
    positive = xp.greater(s, 0.0)
    return xp.where(positive, xp.sqrt(xp.where(positive, s, 1.0)), 0.0 * s)


def unit_points(m: int, dim: int, method: str, rng) -> np.ndarray:
    """``m`` points of ``[0, 1]^dim`` (``"grid"``: all grid points, about
    ``m``; ``"sobol"``: drawn as the next power of two and truncated, so
    SciPy's balance warning does not fire)."""
    if dim == 0:
        return np.zeros((m, 0))
    if method == "sobol":
        power = 1 << max(0, math.ceil(math.log2(max(m, 1))))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return sample_unit_cube(power, dim, "sobol", rng)[:m]
    return sample_unit_cube(m, dim, method, rng)


def check_name(name, argument="name"):
    if not isinstance(name, str) or not name or "." in name:
        raise ValueError(
            f"`{argument}` must be a non-empty string without '.' (it names a boundary part). "
            f"Received: {argument}={name!r}"
        )
    return name


def default_names(dim):
    return ("x", "y") if dim == 2 else ("x", "y", "z") if dim == 3 else tuple(f"x{i}" for i in range(dim))


class Geometry(Box):
    """Base class of the geometries: a region of R^d with a bounding box.

    Subclasses define ``_sdf(x, xp, c)`` (the signed distance written once
    for NumPy and ``keras.ops``), ``_boundary_candidates`` and
    ``_classify``. Users build geometries from the primitives
    (:class:`Disk`, :class:`Polygon`, :class:`Ball`, ...) and combine them
    with ``|`` (union), ``&`` (intersection) and ``-`` (difference).

    Attributes:
        lower, upper: the bounding box (what
            :class:`~keras_pinn.layers.DomainScaler` scales to [-1, 1]).
        names: coordinate names.
        exact_distance: whether :meth:`sdf` is the exact signed distance
            everywhere (True for the primitives except the ellipse; for
            unions, intersections and differences it is exact on the
            boundary and a bound elsewhere).
        min_acceptance: the smallest fraction of candidate points the
            rejection samplers accept before they declare the region too
            thin to sample (default 1e-3).
    """

    exact_distance = True
    min_acceptance = 1e-3

    # -- distances and inside tests ------------------------------------------
    def _sdf(self, x, xp, c):  # pragma: no cover - abstract
        raise NotImplementedError

    def sdf(self, points) -> np.ndarray:
        """Signed distance ``(n,)`` in float64: negative inside, 0 on the
        boundary, positive outside (see ``exact_distance``)."""
        x = self._points64(points)
        return np.asarray(self._sdf(x, NP, _Const(NP, x)), dtype="float64")

    def sdf_ops(self, x):
        """The signed distance of ``(n, d)`` tensor points in ``keras.ops``
        (differentiable; the points' dtype), shape ``(n,)``."""
        x = ops.convert_to_tensor(x)
        return self._sdf(x, ops, _Const(ops, x))

    def _points64(self, points, argument="points"):
        arr = np.asarray(points, dtype="float64")
        if arr.ndim != 2 or arr.shape[1] != self.dim:
            raise ValueError(f"`{argument}` must have shape (n, {self.dim}). Received: shape {arr.shape}")
        return arr

    @property
    def length_scale(self) -> float:
        """The largest side of the bounding box (tolerances are relative to it)."""
        return float(np.max(self.extent))

    def contains(self, points, tol: float = 1e-6) -> np.ndarray:
        """Boolean mask of the points in the closed region, up to ``tol``
        times :attr:`length_scale`."""
        return self.sdf(points) <= tol * self.length_scale

    def inside(self, points) -> np.ndarray:
        """Boolean mask of the points strictly inside (``sdf < 0``)."""
        return self.sdf(points) < 0.0

    def on_boundary(self, points, tol: float = 1e-6) -> np.ndarray:
        """Boolean mask of the points within ``tol * length_scale`` of the boundary."""
        return np.abs(self.sdf(points)) <= tol * self.length_scale

    # -- measures --------------------------------------------------------------
    @property
    def measure(self) -> float | None:
        """Exact area (2-D) or volume (3-D), or None where unknown (CSG)."""
        return None

    @property
    def boundary_measure(self) -> float | None:
        """Exact perimeter (2-D) or surface area (3-D), or None where unknown."""
        return None

    def estimate_measure(self, n: int = 200_000, seed=None) -> float:
        """Area or volume estimated from ``n`` uniform points of the bounding box."""
        n = positive_int(n, "n")
        unit = _validation.rng(seed).random((n, self.dim))
        points = self.lower + unit * self.extent
        return float(np.mean(self.inside(points)) * np.prod(self.extent))

    # -- boundary parts ------------------------------------------------------------
    def _leaves(self) -> list:
        return [self]

    @property
    def parts(self) -> tuple[str, ...]:
        """The finest boundary parts (what each boundary point is labelled)."""
        found = []
        for leaf in self._leaves():
            for part in leaf._part_names():
                if part not in found:
                    found.append(part)
        return tuple(found)

    @property
    def faces(self) -> tuple[str, ...]:
        """Every name a selection may use: primitive names and their parts."""
        found = []
        for leaf in self._leaves():
            for part in (leaf.name, *leaf._part_names()):
                if part not in found:
                    found.append(part)
        return tuple(found)

    def _face(self, face):
        """Validates one selection entry (a name of :attr:`faces` or a callable)."""
        if callable(face):
            return face
        if face not in self.faces:
            raise ValueError(
                f"Unknown boundary part: expected one of {self.faces} or a callable. Received: face={face!r}"
            )
        return face

    def _selection_mask(self, points, labels, faces):
        if faces is None:
            return np.ones(points.shape[0], dtype=bool)
        mask = np.zeros(points.shape[0], dtype=bool)
        for face in faces:
            if callable(face):
                chosen = np.asarray(face(points), dtype=bool).reshape(-1)
                if chosen.shape != (points.shape[0],):
                    raise ValueError(
                        f"A boundary predicate must return one bool per point, shape ({points.shape[0]},). "
                        f"Received: shape {chosen.shape} from face={face!r}"
                    )
                mask |= chosen
            else:
                fine = [p for p in self.parts if p == face or p.startswith(face + ".")]
                mask |= np.isin(labels, fine)
        return mask

    @staticmethod
    def _faces_list(faces):
        if faces is None:
            return None
        if isinstance(faces, str) or callable(faces):
            faces = [faces]
        faces = list(faces)
        if not faces:
            raise ValueError(f"`faces` is empty. Received: faces={faces!r}")
        return faces

    # -- sampling ------------------------------------------------------------------
    def _interior_unit_hint(self) -> float:
        """Expected acceptance of bounding-box candidates (sizes the first round)."""
        measure = self.measure
        if measure is None:
            return 0.5
        return max(measure / float(np.prod(self.extent)), self.min_acceptance)

    def _interior(self, n, method, rng, extra=0):
        """``(n', dim + extra)`` points: the region's points by rejection from
        its bounding box, then ``extra`` unit columns drawn jointly (time)."""
        _validation.sampler(method, "method")
        rate = self._interior_unit_hint()
        if method == "grid":
            per_dim = max(2, math.ceil((n / rate) ** (1.0 / (self.dim + extra))))
            unit = sample_unit_cube(per_dim ** (self.dim + extra), self.dim + extra, "grid")
            points = self.lower + unit[:, : self.dim] * self.extent
            keep = self.inside(points)
            if not keep.any():
                self._too_thin("interior", keep.size, 0)
            return np.concatenate([points, unit[:, self.dim :]], axis=1)[keep]
        found, drawn, accepted = [], 0, 0
        for _ in range(50):
            need = n - accepted
            m = max(64, math.ceil(1.2 * need / max(rate, self.min_acceptance)) + 16)
            unit = unit_points(m, self.dim + extra, method, rng)
            points = self.lower + unit[:, : self.dim] * self.extent
            keep = self.inside(points)
            drawn += m
            accepted += int(keep.sum())
            found.append(np.concatenate([points, unit[:, self.dim :]], axis=1)[keep])
            rate = accepted / drawn
            if accepted >= n:
                break
            if drawn >= 2000 and rate < self.min_acceptance:
                self._too_thin("interior", drawn, accepted)
        else:
            self._too_thin("interior", drawn, accepted)
        return np.concatenate(found)[:n]

    def _too_thin(self, what, drawn, accepted, faces=None):
        rate = accepted / max(drawn, 1)
        where = "its bounding box" if what == "interior" else "its primitives' boundaries"
        selection = "" if faces is None else f" with faces={faces!r}"
        raise ValueError(
            f"Cannot sample the {what} of {self!r}{selection} by rejection: {accepted} of {drawn} "
            f"candidate points from {where} were accepted (acceptance rate {rate:.3g}, below "
            f"min_acceptance={self.min_acceptance:g}). The region is too thin or empty for rejection "
            "sampling: check the geometry, or set a smaller `min_acceptance` on it."
        )

    def sample_interior(self, n: int, method: str = "uniform", seed=None) -> np.ndarray:
        """``n`` points strictly inside, by rejection from the bounding box.

        Args:
            n: number of points (``"grid"``: about ``n``, all the grid points
                inside).
            method: ``"uniform"``, ``"lhs"``, ``"sobol"`` or ``"grid"``: how
                the bounding-box candidates are drawn (LHS and Sobol keep
                their stratification up to the rejection).
            seed: int, ``numpy.random.Generator`` or None.

        Raises:
            ValueError: for a region so thin that fewer than
                ``min_acceptance`` of the candidates fall inside; the message
                names the geometry and the acceptance rate.
        """
        n = positive_int(n, "n")
        points = self._interior(n, method, _validation.rng(seed))
        return points.astype(keras.config.floatx())

    def _boundary_candidates(self, m, method, rng):  # pragma: no cover - abstract
        """``(points, normals, labels)``: points on the boundary, uniform in
        boundary measure, about ``m`` per unit of the leaves' measure share."""
        raise NotImplementedError

    def _leaf_boundary_measure(self) -> float:
        return float(sum(leaf.boundary_measure for leaf in self._leaves()))

    def _boundary(self, n, faces, method, rng):
        """``n`` boundary points, outward normals and part labels (float64)."""
        _validation.sampler(method, "method")
        faces = self._faces_list(faces)
        for face in faces or ():
            self._face(face)
        pts, nrm, lab = [], [], []
        drawn, accepted, rate = 0, 0, 1.0
        for _ in range(50):
            need = n - accepted
            m = max(16, math.ceil(1.2 * need / max(rate, self.min_acceptance)) + 8)
            points, normals, labels = self._boundary_candidates(m, method, rng)
            drawn += m
            keep = self._selection_mask(points, labels, faces)
            accepted += int(keep.sum())
            pts.append(points[keep])
            nrm.append(normals[keep])
            lab.append(labels[keep])
            rate = accepted / drawn
            if accepted >= n:
                break
            if drawn >= 2000 and rate < self.min_acceptance:
                self._too_thin("boundary", drawn, accepted, faces)
        else:
            self._too_thin("boundary", drawn, accepted, faces)
        points, normals, labels = np.concatenate(pts), np.concatenate(nrm), np.concatenate(lab)
        if method != "grid" and points.shape[0] > n:
            # Candidates come grouped by primitive: keep a random n of them.
            keep = np.sort(rng.permutation(points.shape[0])[:n])
            points, normals, labels = points[keep], normals[keep], labels[keep]
        return points, normals, labels

    def sample_boundary(
        self,
        n: int,
        faces: Sequence[str | Callable] | str | Callable | None = None,
        method: str = "uniform",
        seed=None,
        return_normals: bool = False,
    ):
        """``n`` points on the boundary (or on the selected parts), uniform
        in arc length or surface area.

        Args:
            n: number of points (``"grid"``: about ``n``).
            faces: None for the whole boundary, or a part name, primitive
                name, predicate ``predicate(points) -> bool mask``, or a
                list of them (their union). See :attr:`faces`.
            method: how each primitive's boundary parameters are drawn
                (``"uniform"``, ``"lhs"``, ``"sobol"``, ``"grid"``).
            seed: int, ``numpy.random.Generator`` or None.
            return_normals: also return the ``(n, d)`` outward unit normals.
        """
        n = positive_int(n, "n")
        points, normals, _ = self._boundary(n, faces, method, _validation.rng(seed))
        floatx = keras.config.floatx()
        if return_normals:
            return points.astype(floatx), normals.astype(floatx)
        return points.astype(floatx)

    def boundary_labels(self, points, tol: float = 1e-6) -> np.ndarray:
        """The boundary part of each point (``""`` for points off the boundary)."""
        on, _, labels = self._classify(self._points64(points), tol * self.length_scale)
        return np.where(on, labels, "")

    def _classify(self, x, tol):  # pragma: no cover - abstract
        """``(on, normals, labels)`` of arbitrary points: whether each lies on
        the boundary (within ``tol``), its outward normal and its part."""
        raise NotImplementedError

    def normals(self, points, faces=None) -> np.ndarray:
        """Outward unit normals ``(n, d)`` of boundary points; a point on no
        selected part raises ``ValueError`` naming it."""
        x = self._points64(points)
        faces = self._faces_list(faces)
        for face in faces or ():
            self._face(face)
        tol = 1e-6 * max(self.length_scale, float(np.max(np.abs(np.concatenate([self.lower, self.upper])))))
        on, normals, labels = self._classify(x, tol)
        on &= self._selection_mask(x, labels, faces)
        if not on.all():
            i = int(np.argmin(on))
            raise ValueError(
                f"Point {x[i].tolist()} (row {i}) lies on none of the boundary parts "
                f"{tuple(faces) if faces else self.parts} of {self!r}."
            )
        return normals

    def grid(self, shape: Sequence[int]) -> np.ndarray:
        """The points of the bounding box's regular grid that lie in the closed region."""
        points = super().grid(shape)
        return points[self.contains(points)]

    # -- combination -------------------------------------------------------------------
    def __or__(self, other):
        from keras_pinn.geometry.csg import Union

        return Union(self, other)

    def __and__(self, other):
        from keras_pinn.geometry.csg import Intersection

        return Intersection(self, other)

    def __sub__(self, other):
        from keras_pinn.geometry.csg import Difference

        return Difference(self, other)

    @property
    def space_time_class(self) -> type:
        """The class of this region times a time interval:
        ``kp.SpaceTime(region, t0, t1)`` builds a :class:`GeometryXTime`."""
        from keras_pinn.geometry.spacetime import GeometryXTime

        return GeometryXTime

    # -- serialization -------------------------------------------------------------------
    def get_config(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def __eq__(self, other):
        return type(self) is type(other) and _plain(self.get_config()) == _plain(other.get_config())

    __hash__ = None

    def __repr__(self):
        args = ", ".join(f"{k}={_short(v)}" for k, v in self.get_config().items() if k != "names")
        return f"{type(self).__name__}({args})"


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _short(value):
    if isinstance(value, dict) and "class_name" in value:
        return f"{value['class_name']}(...)"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list) and all(isinstance(v, float) for v in value):
        return "[" + ", ".join(f"{v:g}" for v in value) + "]"
    return repr(value)


def as_geometry(domain) -> Geometry:
    """``domain`` as a :class:`Geometry`: a 2-D or 3-D :class:`~keras_pinn.Box`
    becomes a :class:`Rectangle` or :class:`Cuboid` with the same names."""
    if isinstance(domain, Geometry):
        return domain
    from keras_pinn.domains import SpaceTime

    if isinstance(domain, Box) and not isinstance(domain, SpaceTime) and domain.dim in (2, 3):
        from keras_pinn.geometry.primitives2d import Rectangle
        from keras_pinn.geometry.primitives3d import Cuboid

        cls = Rectangle if domain.dim == 2 else Cuboid
        return cls(np.asarray(domain.lower).tolist(), np.asarray(domain.upper).tolist(), names=domain.names)
    raise ValueError(f"Expected a keras_pinn geometry, or a 2-D or 3-D Box. Received: {domain!r}")


class Primitive(Geometry):
    """A geometry with a closed-form boundary: subclasses give
    ``_boundary_from_unit(u)`` (boundary points, outward normals and local
    part indices from ``(m, d - 1)`` unit parameters, uniform in measure),
    ``_normal(x)``, ``_part_of(x)`` and ``_part_suffixes``."""

    _part_suffixes: tuple[str, ...] = ()

    def _init_geometry(self, lower, upper, names, name):
        dim = len(lower)
        names = default_names(dim) if names is None else tuple(names)
        super().__init__(lower, upper, names=names)
        self.name = check_name(name)

    def _part_names(self):
        if not self._part_suffixes:
            return (self.name,)
        return tuple(f"{self.name}.{s}" for s in self._part_suffixes)

    def _part_of(self, x):
        return np.zeros(x.shape[0], dtype=int)

    def _boundary_candidates(self, m, method, rng):
        if m <= 0:
            return np.zeros((0, self.dim)), np.zeros((0, self.dim)), np.zeros((0,), dtype=object)
        u = unit_points(m, self.dim - 1, method, rng)
        points, normals, local = self._boundary_from_unit(u)
        labels = np.asarray(self._part_names(), dtype=object)[local]
        return points, normals, labels

    def _classify(self, x, tol):
        on = np.abs(self.sdf(x)) <= tol
        labels = np.asarray(self._part_names(), dtype=object)[self._part_of(x)]
        return on, self._normal(x), labels

    def _common_config(self):
        return {"names": list(self.names), "name": self.name}


def piecewise_index(s, lengths):
    """For arc-length positions ``s`` along pieces of ``lengths``: the piece
    index and the position within it."""
    edges = np.concatenate([[0.0], np.cumsum(lengths)])
    k = np.clip(np.searchsorted(edges, s, side="right") - 1, 0, len(lengths) - 1)
    # Skip zero-length pieces (e.g. a rounded rectangle's straight sides at full radius).
    return k, np.clip(s - edges[k], 0.0, None)
