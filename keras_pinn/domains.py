"""Domains and point samplers: intervals, boxes and space x time.

Points are NumPy arrays of shape ``(n, d)`` in Keras's ``floatx`` dtype, one
row per point, columns in the order of ``domain.names``. Every sampler takes
a ``seed`` (an int or a ``numpy.random.Generator``) so runs repeat exactly.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Sequence

import keras
import numpy as np

from keras_pinn import _validation
from keras_pinn._validation import SAMPLERS, positive_int

__all__ = ["Box", "Interval", "SpaceTime", "SAMPLERS", "sample_unit_cube"]


def sample_unit_cube(n: int, dim: int, method: str = "uniform", seed=None) -> np.ndarray:
    """``n`` points in ``[0, 1]^dim`` (float64).

    Args:
        n: number of points (for ``"grid"``: the per-dimension count is
            ``ceil(n ** (1 / dim))`` and all grid points are returned).
        dim: number of dimensions.
        method: ``"uniform"`` (i.i.d. uniform), ``"lhs"`` (Latin hypercube),
            ``"sobol"`` (scrambled Sobol, needs SciPy) or ``"grid"`` (regular
            grid including the faces).
        seed: int, ``numpy.random.Generator`` or None.
    """
    n = positive_int(n, "n")
    _validation.sampler(method, "method")
    rng = _validation.rng(seed)
    if method == "uniform":
        return rng.random((n, dim))
    if method == "lhs":
        strata = np.stack([rng.permutation(n) for _ in range(dim)], axis=1)
        return (strata + rng.random((n, dim))) / n
    if method == "sobol":
        try:
            from scipy.stats import qmc
        except ImportError as error:  # pragma: no cover - scipy is a dependency of jax
            raise ImportError("The 'sobol' sampler needs SciPy: `pip install scipy`.") from error
        sampler = qmc.Sobol(d=dim, scramble=True, seed=rng)
        return sampler.random(n)
    per_dim = max(2, math.ceil(round(n ** (1.0 / dim), 9)))
    axes = [np.linspace(0.0, 1.0, per_dim)] * dim
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=1)


@keras.saving.register_keras_serializable(package="keras_pinn")
class Box:
    """An axis-aligned box ``[lower_0, upper_0] x ... x [lower_d, upper_d]``.

    Args:
        lower: lower bounds, one per dimension.
        upper: upper bounds, one per dimension; each strictly above its
            lower bound, both finite.
        names: coordinate names. Defaults to ``("x0", "x1", ...)``.

    Example:

    ```python
    box = Box([-1.0, -1.0], [1.0, 1.0], names=("x", "y"))
    interior = box.sample_interior(1000, method="lhs", seed=0)
    walls = box.sample_boundary(200, seed=0)            # all faces
    left = box.sample_boundary(50, faces=["x_min"], seed=0)
    ```
    """

    def __init__(self, lower: Sequence[float], upper: Sequence[float], names: Sequence[str] | None = None):
        lo, hi = _validation.bounds(lower, upper)
        names = tuple(f"x{i}" for i in range(lo.size)) if names is None else tuple(names)
        if len(names) != lo.size or len(set(names)) != len(names):
            raise ValueError(f"`names` must give {lo.size} distinct coordinate names. Received: names={names!r}")
        self.lower: np.ndarray = lo
        self.upper: np.ndarray = hi
        self.names: tuple[str, ...] = names

    # -- geometry -------------------------------------------------------
    @property
    def dim(self) -> int:
        return self.lower.size

    @property
    def extent(self) -> np.ndarray:
        return self.upper - self.lower

    @property
    def faces(self) -> tuple[str, ...]:
        """Face names, ``"<name>_min"`` and ``"<name>_max"`` per boundary
        coordinate."""
        return tuple(f"{self.names[j]}_{side}" for j in self._boundary_dims() for side in ("min", "max"))

    def _boundary_dims(self):
        return range(self.dim)

    def index(self, name: str | int, argument: str = "name") -> int:
        """Column index of coordinate ``name``; an unknown one raises
        ``ValueError`` naming ``argument``."""
        if isinstance(name, (int, np.integer)) and not isinstance(name, bool):
            if 0 <= name < self.dim:
                return int(name)
        elif name in self.names:
            return self.names.index(name)
        raise ValueError(
            f"Unknown coordinate: expected one of {self.names} or an index below "
            f"{self.dim}. Received: {argument}={name!r}"
        )

    def check_face(self, face) -> None:
        """Raises ``ValueError`` naming ``face`` unless it selects part of
        the boundary: a name of :attr:`faces` (on a geometry, of its
        ``parts``, or a predicate of the points)."""
        self._face(face)

    def _face(self, face: str):
        if face not in self.faces:
            raise ValueError(f"Unknown face: expected one of {self.faces}. Received: face={face!r}")
        name, side = face.rsplit("_", 1)
        return self.names.index(name), side

    def contains(self, points, tol: float = 1e-6) -> np.ndarray:
        """Boolean mask of the rows of ``points`` inside the closed box
        (with a relative tolerance ``tol`` of the extent)."""
        points = np.asarray(points, dtype="float64")
        slack = tol * self.extent
        return np.all((points >= self.lower - slack) & (points <= self.upper + slack), axis=1)

    def check_points(self, points, argument: str = "points") -> np.ndarray:
        """Validates an ``(n, dim)`` array of points inside the domain and
        returns it as ``floatx``; raises ``ValueError`` naming ``argument``."""
        try:
            arr = np.asarray(points, dtype="float64")
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"`{argument}` must be an array of numbers of shape (n, {self.dim}). "
                f"Received: {argument}={reprlib.repr(points)} ({error})"
            ) from error
        if arr.ndim == 1 and self.dim == 1:
            arr = arr[:, None]
        if arr.ndim != 2 or arr.shape[1] != self.dim:
            raise ValueError(
                f"`{argument}` must have shape (n, {self.dim}) for coordinates "
                f"{self.names}. Received: shape {np.shape(points)}"
            )
        if arr.shape[0] == 0:
            raise ValueError(f"`{argument}` is empty. Received: shape {arr.shape}")
        bad = ~np.all(np.isfinite(arr), axis=1)
        if bad.any():
            raise ValueError(
                f"`{argument}` holds non-finite values (NaN or inf) in "
                f"{int(bad.sum())} row(s), first at row {int(np.argmax(bad))}: "
                f"{arr[np.argmax(bad)].tolist()}"
            )
        outside = ~self.contains(arr)
        if outside.any():
            i = int(np.argmax(outside))
            raise ValueError(
                f"`{argument}` has {int(outside.sum())} point(s) outside the "
                f"domain {self}; first at row {i}: {arr[i].tolist()}"
            )
        return arr.astype(keras.config.floatx())

    # -- sampling -------------------------------------------------------
    def _scale(self, unit, dims=None):
        dims = list(range(self.dim) if dims is None else dims)
        lower, upper = self.lower[dims], self.upper[dims]
        # lower + unit * extent rounds past upper (or short of it at unit = 1)
        # when |upper| is far below |lower|: clip, and put unit = 1 on upper.
        scaled = np.clip(lower + unit * (upper - lower), lower, upper)
        return np.where(unit >= 1.0, upper, scaled)

    def sample_interior(self, n: int, method: str = "uniform", seed=None) -> np.ndarray:
        """``n`` points in the box (see :func:`sample_unit_cube`)."""
        unit = sample_unit_cube(n, self.dim, method, seed)
        return self._scale(unit).astype(keras.config.floatx())

    def sample_boundary(
        self,
        n: int,
        faces: Sequence[str] | None = None,
        method: str = "uniform",
        seed=None,
        return_normals: bool = False,
    ):
        """``n`` points on the given faces (all by default), shared among the
        faces in proportion to their measure.

        Args:
            n: total number of points.
            faces: face names (see :attr:`faces`) or None for all.
            method: sampler used within each face.
            seed: int, ``numpy.random.Generator`` or None.
            return_normals: also return the ``(n, dim)`` outward unit normals.
        """
        n = positive_int(n, "n")
        if isinstance(faces, str):
            faces = [faces]
        faces = list(self.faces if faces is None else faces)
        if not faces:
            raise ValueError(f"`faces` is empty. Received: faces={faces!r}")
        parsed = [self._face(f) for f in faces]
        rng = _validation.rng(seed)
        measures = np.array([np.prod(np.delete(self.extent, j)) if self.dim > 1 else 1.0 for j, _ in parsed])
        counts = np.floor(n * measures / measures.sum()).astype(int)
        for k in np.argsort(-(n * measures / measures.sum() - counts))[: n - counts.sum()]:
            counts[k] += 1
        points, normals = [], []
        for (j, side), count in zip(parsed, counts):
            if count == 0:
                continue
            others = [k for k in range(self.dim) if k != j]
            block = np.empty((count, self.dim))
            if others:
                block[:, others] = self._scale(sample_unit_cube(count, len(others), method, rng)[:count], others)
            block[:, j] = self.lower[j] if side == "min" else self.upper[j]
            points.append(block)
            normal = np.zeros((count, self.dim))
            normal[:, j] = -1.0 if side == "min" else 1.0
            normals.append(normal)
        floatx = keras.config.floatx()
        stacked = np.concatenate(points).astype(floatx)
        if return_normals:
            return stacked, np.concatenate(normals).astype(floatx)
        return stacked

    def normals(self, points, faces: Sequence[str] | None = None) -> np.ndarray:
        """Outward unit normals ``(n, dim)`` of boundary ``points``, each from
        the first of ``faces`` (all by default) that it lies on; a point on no
        such face raises ``ValueError``."""
        points = np.asarray(points, dtype="float64")
        faces = list(self.faces if faces is None else faces)
        normals = np.zeros_like(points)
        found = np.zeros(points.shape[0], dtype=bool)
        for face in faces:
            j, side = self._face(face)
            bound = self.lower[j] if side == "min" else self.upper[j]
            on = ~found & np.isclose(points[:, j], bound, rtol=0.0, atol=1e-6 * self.extent[j])
            normals[on, j] = -1.0 if side == "min" else 1.0
            found |= on
        if not found.all():
            i = int(np.argmin(found))
            raise ValueError(f"Point {points[i].tolist()} (row {i}) lies on none of the faces {tuple(faces)}.")
        return normals

    def grid(self, shape: Sequence[int]) -> np.ndarray:
        """A regular grid of ``prod(shape)`` points including the faces, in
        C order (the last coordinate varies fastest)."""
        shape = tuple(int(s) for s in np.atleast_1d(shape))
        if len(shape) != self.dim or min(shape) < 2:
            raise ValueError(f"`shape` must give {self.dim} counts of at least 2. Received: shape={shape!r}")
        axes = [np.linspace(lo, hi, s) for lo, hi, s in zip(self.lower, self.upper, shape)]
        mesh = np.meshgrid(*axes, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=1).astype(keras.config.floatx())

    # -- serialization --------------------------------------------------
    def get_config(self) -> dict:
        return {"lower": self.lower.tolist(), "upper": self.upper.tolist(), "names": list(self.names)}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        bounds = ", ".join(f"{n} in [{lo:g}, {hi:g}]" for n, lo, hi in zip(self.names, self.lower, self.upper))
        return f"{type(self).__name__}({bounds})"

    def __eq__(self, other):
        return (
            type(self) is type(other)
            and self.names == other.names
            and np.array_equal(self.lower, other.lower)
            and np.array_equal(self.upper, other.upper)
        )

    # Unhashable, as __eq__ compares values (typeshed types __hash__ as a method).
    __hash__ = None  # type: ignore[assignment]


@keras.saving.register_keras_serializable(package="keras_pinn")
class Interval(Box):
    """The interval ``[lower, upper]`` with coordinate ``name``."""

    def __init__(self, lower: float, upper: float, name: str = "x"):
        super().__init__([lower], [upper], names=(name,))

    def get_config(self):
        return {"lower": float(self.lower[0]), "upper": float(self.upper[0]), "name": self.names[0]}


@keras.saving.register_keras_serializable(package="keras_pinn")
class SpaceTime(Box):
    """A spatial box times a time interval; time is the last coordinate.

    The boundary is the spatial boundary times the time interval; the
    initial set is the space box at ``t0``.

    Args:
        space: a :class:`Box` or :class:`Interval`.
        t0: initial time.
        t1: final time, above ``t0``.
        time_name: name of the time coordinate. Defaults to ``"t"``.

    Example:

    ```python
    domain = SpaceTime(Interval(-1.0, 1.0, "x"), 0.0, 1.0)
    x0 = domain.sample_initial(256, seed=0)      # t == 0
    xb = domain.sample_boundary(256, seed=0)     # x == -1 or x == 1
    ```
    """

    def __new__(cls, space=None, *args, **kwargs):
        # A keras_pinn.geometry region times time is a GeometryXTime (it
        # declares the class through `space_time_class`).
        if cls is SpaceTime and getattr(space, "space_time_class", None) is not None:
            cls = space.space_time_class
        return super().__new__(cls)

    def __init__(self, space: Box, t0: float, t1: float, time_name: str = "t"):
        if not isinstance(space, Box):
            raise ValueError(f"`space` must be a Box or Interval. Received: space={space!r}")
        try:
            ordered = math.isfinite(float(t0)) and math.isfinite(float(t1)) and float(t0) < float(t1)
        except (TypeError, ValueError):
            ordered = False
        if not ordered:
            raise ValueError(f"`t0` must be strictly below `t1`, both finite. Received: t0={t0!r}, t1={t1!r}")
        if time_name in space.names:
            raise ValueError(f"`time_name` clashes with a space coordinate. Received: time_name={time_name!r}")
        super().__init__(list(space.lower) + [t0], list(space.upper) + [t1], names=space.names + (time_name,))
        self.space = space

    @property
    def time_name(self) -> str:
        return self.names[-1]

    @property
    def t0(self) -> float:
        return float(self.lower[-1])

    def _boundary_dims(self):
        return range(self.dim - 1)

    def sample_initial(self, n: int, method: str = "uniform", seed=None) -> np.ndarray:
        """``n`` points of the space box at ``t = t0``."""
        space = self.space.sample_interior(n, method, seed).astype("float64")
        t = np.full((space.shape[0], 1), self.t0)
        return np.concatenate([space, t], axis=1).astype(keras.config.floatx())

    def get_config(self):
        return {
            "space": keras.saving.serialize_keras_object(self.space),
            "t0": float(self.lower[-1]),
            "t1": float(self.upper[-1]),
            "time_name": self.time_name,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("space"), dict):
            config["space"] = keras.saving.deserialize_keras_object(config["space"])
        return cls(**config)
