"""Loss terms of a PINN: the PDE residual and the conditions around it.

Every condition owns its points (sampled from the model's domain, or given)
and its targets (computed in NumPy when the points are drawn), and returns a
residual tensor whose mean square is its loss term. Targets may be a constant,
an array matching fixed points, or a NumPy callable ``value(points) -> (n,)``
or ``(n, 1)`` evaluated on the ``(n, d)`` points; register such callables
with ``keras.saving.register_keras_serializable`` to save models that use
them.
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable, Sequence

import keras
import numpy as np
from keras import ops

from keras_pinn import _saving, _validation
from keras_pinn._validation import positive_int
from keras_pinn.domains import Box, SpaceTime

__all__ = [
    "Term",
    "Condition",
    "Residual",
    "DirichletBC",
    "NeumannBC",
    "RobinBC",
    "InitialCondition",
    "InitialDerivative",
    "PeriodicBC",
    "PointData",
    "check_residual",
    "point_count",
]

_serialize = keras.saving.serialize_keras_object
_deserialize = keras.saving.deserialize_keras_object


def _float_array(value, argument, what="an array of numbers"):
    """``value`` as a float64 array; a ValueError naming ``argument`` if it
    holds something else (strings, ragged lists)."""
    try:
        return np.asarray(value, dtype="float64")
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"`{argument}` must be {what}. Received: {argument}={reprlib.repr(value)} ({error})"
        ) from error


def _first_bad_row(mask, points):
    i = int(np.argmax(mask))
    return f"{int(mask.sum())} point(s) off it, first at row {i}: {np.asarray(points)[i].tolist()}"


class Term:
    """Base class of the loss terms: ``weight * mean(residual ** 2)``.

    A term owns its points and computes its residual there. The PDE's
    :class:`Residual` and every :class:`Condition` (boundary, initial,
    periodic and data conditions) derive from it.

    Args:
        n_points: number of points drawn from the domain (ignored when
            ``points`` is given).
        points: fixed ``(n, d)`` points instead of sampled ones.
        sampler: ``"uniform"``, ``"lhs"``, ``"sobol"`` or ``"grid"``.
        component: output name or index the condition applies to.
        name: the term's name in logs and History. Defaults to the class's
            short name, made unique by the model.
        weight: fixed weight of the term in the total loss.
        resample: whether to draw new points when the model resamples
            (only for sampled points).
    """

    default_name = "term"
    needs_derivatives = False

    def __init__(
        self,
        n_points: int = 100,
        points=None,
        sampler: str = "uniform",
        component: str | int = 0,
        name: str | None = None,
        weight: float = 1.0,
        resample: bool = True,
    ):
        self.n_points = positive_int(n_points, "n_points")
        self.points = None if points is None else _float_array(points, "points")
        self.sampler = _validation.sampler(sampler)
        self.component = component
        self.name = name
        self.weight = _validation.non_negative(weight, "weight")
        self.resample = _validation.flag(resample, "resample")
        if name is not None:
            _validation.identifier(name, "name", "it becomes a log key")

    # -- set-up -----------------------------------------------------------
    def bind(self, domain: Box, output_names: Sequence[str]):
        """Validates the condition against the model's domain and outputs."""
        self._component = _validation.column(self.component, tuple(output_names), "output", "component")
        if self.points is not None:
            self.points = domain.check_points(self.points, f"{type(self).__name__}.points").astype("float64")

    def draw(self, domain: Box, rng: np.random.Generator) -> np.ndarray:
        """New points for this condition (float64)."""
        return domain.sample_interior(self.n_points, self.sampler, rng).astype("float64")

    def sample(self, domain: Box, rng: np.random.Generator, first: bool = False) -> dict | None:
        """The condition's batch: ``{"x": points, ...targets}``, or None when
        its fixed points need no redraw."""
        if self.points is not None:
            if not first:
                return None
            points = self.points
        else:
            if not (first or self.resample):
                return None
            points = self.draw(domain, rng)
        return self.targets(points)

    def targets(self, points) -> dict:
        floatx = keras.config.floatx()
        return {"x": np.asarray(points, dtype=floatx)}

    # -- the loss -----------------------------------------------------------
    def residual(self, model, batch: dict, values=None):
        """Residual tensor ``(n, k)`` whose mean square is the term's loss.

        Args:
            model: the :class:`~keras_pinn.PINNModel`.
            batch: this condition's batch (``{"x": ..., ...}``).
            values: the model's outputs at ``batch["x"]`` when already
                computed (conditions without derivatives).
        """
        raise NotImplementedError

    def get_config(self) -> dict:
        return {
            "n_points": self.n_points,
            "points": None if self.points is None else self.points.tolist(),
            "sampler": self.sampler,
            "component": self.component,
            "name": self.name,
            "weight": self.weight,
            "resample": self.resample,
        }

    @classmethod
    def from_config(cls, config):
        """The term of ``get_config``'s dict, its saved functions (``fn``,
        ``value``) and boundary predicates (``faces``) deserialised."""
        config = dict(config)
        for key in ("fn", "value"):
            if isinstance(config.get(key), dict):
                config[key] = _saving.deserialize_function(config[key], key)
        if isinstance(config.get("faces"), (list, tuple)):
            config["faces"] = [_deserialize(f) if isinstance(f, dict) else f for f in config["faces"]]
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r}, weight={self.weight})"


class Condition(Term):
    """Base class of the conditions a solution meets besides its PDE:
    boundary (:class:`DirichletBC`, :class:`NeumannBC`, :class:`RobinBC`,
    :class:`PeriodicBC`), initial (:class:`InitialCondition`,
    :class:`InitialDerivative`) and data (:class:`PointData`). Takes the
    arguments of :class:`Term`."""

    default_name = "condition"


class _ValueTarget(Condition):
    """A condition with a target ``value`` evaluated at its points."""

    def __init__(self, value: float | Callable | np.ndarray = 0.0, **kwargs):
        super().__init__(**kwargs)
        if not callable(value):
            arr = _float_array(value, "value", "a number, an array or a callable")
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"`value` must be finite. Received: value={value!r}")
            if arr.ndim > 0 and self.points is None:
                raise ValueError(
                    "An array `value` needs fixed `points` of the same length. "
                    f"Received: value with shape {arr.shape} and points=None"
                )
            value = arr
        self.value = value

    def targets(self, points):
        batch = super().targets(points)
        n = points.shape[0]
        if callable(self.value):
            y = np.asarray(self.value(np.asarray(points, dtype="float64")), dtype="float64")
        else:
            y = np.broadcast_to(self.value, (n,)) if self.value.ndim == 0 else self.value
        y = y.reshape(-1, 1) if y.ndim == 1 else y
        if y.shape != (n, 1):
            raise ValueError(
                f"{type(self).__name__} `value` must give one target per point, "
                f"shape ({n},) or ({n}, 1). Received: shape {y.shape}"
            )
        bad = ~np.isfinite(y).all(axis=1)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(
                f"{type(self).__name__} `value` produced {int(bad.sum())} non-finite target(s) "
                f"(NaN or inf), first at row {i}, point {np.asarray(points)[i].tolist()}: {y[i].tolist()}"
            )
        batch["y"] = y.astype(keras.config.floatx())
        return batch

    def get_config(self):
        config = super().get_config()
        value = self.value
        _saving.check_saveable(value, f"value (of {type(self).__name__} {self.name!r})")
        config["value"] = _serialize(value) if callable(value) else np.asarray(value).tolist()
        return config


@keras.saving.register_keras_serializable(package="keras_pinn")
class Residual(Term):
    """The PDE residual at interior collocation points.

    Args:
        fn: ``fn(d) -> residual`` written in ``keras.ops``, where ``d`` is a
            :class:`~keras_pinn.Derivatives` at the collocation points:
            ``d("u", "x", "x")`` is u_xx, ``d.coord("x")`` the x column,
            ``d.params`` the model's PDE parameters. Returns ``(n,)`` or
            ``(n, k)`` for a system of k equations.
        **kwargs: see :class:`Term` (default name ``"pde"``).
    """

    default_name = "pde"
    needs_derivatives = True

    def __init__(self, fn: Callable, **kwargs):
        kwargs.setdefault("sampler", "lhs")
        super().__init__(**kwargs)
        if not callable(fn):
            raise ValueError(f"`fn` must be callable. Received: fn={fn!r}")
        self.fn = fn
        #: Number of equations k of the residual ``(n, k)``, found by the
        #: model's build-time probe (None until then).
        self.n_equations = None

    def residual(self, model, batch, values=None):
        d = model.derivatives(batch["x"])
        return self.residual_from(d, point_count(batch["x"]))

    def residual_from(self, d, n):
        """``fn(d)``, checked to have shape ``(n,)`` or ``(n, k)`` and
        returned as ``(n, k)``."""
        return check_residual(self.fn(d), n, self.name, self.n_equations)

    def get_config(self):
        config = super().get_config()
        _saving.check_saveable(self.fn, f"fn (of {type(self).__name__} {self.name!r})")
        config["fn"] = _serialize(self.fn)
        return config


def point_count(x):
    """Number of rows of the points ``x``: an ``int`` when the shape says
    it, else a scalar tensor (TensorFlow's feed leaves the number of points
    unknown when tracing, so that it may change during ``fit``)."""
    rows = x.shape[0]
    return int(rows) if rows is not None else ops.shape(x)[0]


def check_residual(r, n, name, equations=None):
    """``r`` as an ``(n, k)`` float tensor of ``floatx``, or a ValueError.
    An ``(n, n)`` residual is refused as a likely broadcast unless
    ``equations`` (the number of equations found by the model's probe) is
    ``n``."""
    if r is None:
        raise ValueError(f"The residual of term {name!r} returned None; return a tensor of shape (N,) or (N, k).")
    r = ops.convert_to_tensor(r)
    if not keras.backend.is_float_dtype(r.dtype):
        raise ValueError(f"The residual of term {name!r} must be a float tensor. Received: dtype {r.dtype}")
    if keras.backend.standardize_dtype(r.dtype) != keras.config.floatx():
        # One loss dtype on every backend (TensorFlow refuses float64 + float32).
        r = ops.cast(r, keras.config.floatx())
    shape = tuple(r.shape)
    # ``n`` is a tensor when the number of points is unknown while tracing
    # (TensorFlow's feed): then only the static parts of the shape are checked.
    known = isinstance(n, int)
    rows = bool(shape) and (shape[0] is None or not known or shape[0] == n)
    if len(shape) == 1 and rows:
        return r[:, None]
    broadcast = known and len(shape) == 2 and shape[1] == n and n != 1 and shape[1] != equations
    if len(shape) == 2 and rows and not broadcast:
        return r
    hint = ""
    if known and shape == (n, n):
        hint = " It looks like an (N,) tensor was broadcast against an (N, 1) one: derivatives are (N, 1) columns."
    raise ValueError(
        f"The residual of term {name!r} must have shape ({n},) or ({n}, k), one row per point. "
        f"Received: shape {shape}.{hint}"
    )


@keras.saving.register_keras_serializable(package="keras_pinn")
class DirichletBC(_ValueTarget):
    """``u_component = value`` on boundary faces.

    Args:
        value: target (constant, callable of the points, or array for fixed
            points). Defaults to 0.
        faces: face names (``"x_min"``, ...), all boundary faces by default.
        **kwargs: see :class:`Term`.
    """

    default_name = "bc"

    def __init__(self, value=0.0, faces: str | Callable | Sequence[str | Callable] | None = None, **kwargs):
        super().__init__(value, **kwargs)
        # Geometries (keras_pinn.geometry) also select by predicate.
        self.faces: list[str | Callable] | None = (
            None if faces is None else [faces] if isinstance(faces, str) or callable(faces) else list(faces)
        )

    def bind(self, domain, output_names):
        super().bind(domain, output_names)
        for face in self.faces or ():
            domain.check_face(face)

    def draw(self, domain, rng):
        return domain.sample_boundary(self.n_points, self.faces, self.sampler, rng).astype("float64")

    def residual(self, model, batch, values=None):
        c = self._component
        return values[:, c : c + 1] - batch["y"]

    def get_config(self):
        config = super().get_config()
        config["faces"] = None if self.faces is None else [_serialize(f) if callable(f) else f for f in self.faces]
        return config


@keras.saving.register_keras_serializable(package="keras_pinn")
class NeumannBC(DirichletBC):
    """Outward normal derivative ``du/dn = value`` on boundary faces.

    The normal at each point is that of the face it lies on (the first of
    ``faces`` at corners); fixed ``points`` must each lie on one of them.
    """

    default_name = "neumann"
    needs_derivatives = True

    def bind(self, domain, output_names):
        super().bind(domain, output_names)
        self._domain = domain
        if self.points is not None:
            domain.normals(self.points, self.faces)  # every point on a face

    def targets(self, points):
        batch = super().targets(points)
        normals = self._domain.normals(points, self.faces)
        batch["normal"] = normals.astype(keras.config.floatx())
        return batch

    def residual(self, model, batch, values=None):
        d = model.derivatives(batch["x"])
        grad = d.gradient(self._component)
        return ops.sum(grad * batch["normal"], axis=1, keepdims=True) - batch["y"]


@keras.saving.register_keras_serializable(package="keras_pinn")
class RobinBC(NeumannBC):
    """``alpha * u + beta * du/dn = value`` on boundary faces, with ``n`` the
    outward unit normal (curved boundaries of keras_pinn.geometry included).

    Args:
        alpha: coefficient of ``u``. Defaults to 1.
        beta: coefficient of the outward normal derivative. Defaults to 1.
            ``alpha`` and ``beta`` are finite and not both 0.
        value: target (constant, callable of the points, or array for fixed
            points). Defaults to 0.
        faces: boundary parts (names or, on a geometry, predicates), all by
            default.
        **kwargs: see :class:`Term`.
    """

    default_name = "robin"

    def __init__(self, alpha: float = 1.0, beta: float = 1.0, value=0.0, faces=None, **kwargs):
        super().__init__(value, faces, **kwargs)
        _validation.finite(alpha, "alpha")
        _validation.finite(beta, "beta")
        if alpha == 0 and beta == 0:
            raise ValueError(f"`alpha` and `beta` must not both be 0. Received: alpha={alpha!r}, beta={beta!r}")
        self.alpha = float(alpha)
        self.beta = float(beta)

    def residual(self, model, batch, values=None):
        d = model.derivatives(batch["x"])
        du_dn = ops.sum(d.gradient(self._component) * batch["normal"], axis=1, keepdims=True)
        return self.alpha * d(self._component) + self.beta * du_dn - batch["y"]

    def get_config(self):
        config = super().get_config()
        config.update(alpha=self.alpha, beta=self.beta)
        return config


def _require_space_time(condition, domain):
    if not isinstance(domain, SpaceTime):
        raise ValueError(f"{type(condition).__name__} needs a SpaceTime domain. Received: domain={domain!r}")


@keras.saving.register_keras_serializable(package="keras_pinn")
class InitialCondition(_ValueTarget):
    """``u_component(x, t0) = value(x)`` on a :class:`SpaceTime` domain.

    Its points lie on the initial slice ``t = t0`` (drawn by
    ``domain.sample_initial``, or fixed ``points`` whose last column is
    ``t0``).

    Args:
        value: the target: a constant, an array matching fixed ``points``,
            or a NumPy function ``value(points) -> (n,)`` or ``(n, 1)`` of
            the ``(n, d)`` points (register it with
            ``@keras.saving.register_keras_serializable()`` to save the
            model). Defaults to 0.
        **kwargs: see :class:`Term` (``n_points`` or ``points``,
            ``component``, ``weight``, ``name``; default name ``"ic"``).

    Example:

    ```python
    @keras.saving.register_keras_serializable()
    def initial_u(p):
        return -np.sin(np.pi * p[:, 0])

    ic = kp.InitialCondition(initial_u, n_points=512)
    ```
    """

    default_name = "ic"

    def bind(self, domain, output_names):
        _require_space_time(self, domain)
        super().bind(domain, output_names)
        if self.points is not None:
            off = ~np.isclose(self.points[:, -1], domain.t0)
            if off.any():
                raise ValueError(
                    f"{type(self).__name__} `points` must lie at t = t0 = {domain.t0}. "
                    f"Received: {_first_bad_row(off, self.points)}"
                )

    def draw(self, domain, rng):
        return domain.sample_initial(self.n_points, self.sampler, rng).astype("float64")

    def residual(self, model, batch, values=None):
        c = self._component
        return values[:, c : c + 1] - batch["y"]


@keras.saving.register_keras_serializable(package="keras_pinn")
class InitialDerivative(InitialCondition):
    """``du/dt(x, t0) = value(x)``: the initial rate of change of a field.

    A PDE of second order in time, such as the wave equation
    ``u_tt = c^2 u_xx``, needs two initial conditions: the initial state
    ``u(x, t0)`` (an :class:`InitialCondition`) and the initial velocity
    ``u_t(x, t0)``, which this condition imposes. Its residual is
    ``d(component, t) - value`` at points on the initial slice ``t = t0``;
    the time derivative is taken like the PDE's (Taylor mode or autodiff).

    Args:
        value: the target velocity: a constant, an array matching fixed
            ``points``, or a registered NumPy function of the points.
            Defaults to 0 (starting at rest).
        **kwargs: see :class:`Term` (default name ``"ic_t"``).

    Example:

    ```python
    # a plucked string released at rest: u(x, 0) = sin(pi x), u_t(x, 0) = 0
    conditions = [kp.InitialCondition(pluck, n_points=256),
                  kp.InitialDerivative(0.0, n_points=256),
                  kp.DirichletBC(0.0, n_points=256)]
    ```
    """

    default_name = "ic_t"
    needs_derivatives = True

    def residual(self, model, batch, values=None):
        d = model.derivatives(batch["x"])
        return d(self._component, -1) - batch["y"]


@keras.saving.register_keras_serializable(package="keras_pinn")
class PeriodicBC(Condition):
    """``D^k u(x at coordinate's lower face) = D^k u(x at its upper face)``
    for ``k = 0 .. derivative_order`` along ``coordinate``.

    Args:
        coordinate: the periodic coordinate's name or index.
        derivative_order: highest derivative matched. Defaults to 0.
        **kwargs: see :class:`Term`.
    """

    default_name = "periodic"
    needs_derivatives = True

    def __init__(self, coordinate: str | int, derivative_order: int = 0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(derivative_order, bool) or not isinstance(derivative_order, int) or derivative_order < 0:
            raise ValueError(
                f"`derivative_order` must be an integer >= 0. Received: derivative_order={derivative_order!r}"
            )
        self.coordinate = coordinate
        self.derivative_order = derivative_order

    def bind(self, domain, output_names):
        super().bind(domain, output_names)
        self._j = domain.index(self.coordinate, "coordinate")
        self._shift = float(domain.extent[self._j])
        if self.points is not None:
            off = ~np.isclose(self.points[:, self._j], domain.lower[self._j])
            if off.any():
                raise ValueError(
                    f"PeriodicBC `points` must lie on the coordinate's lower face "
                    f"{domain.names[self._j]} = {domain.lower[self._j]}. "
                    f"Received: {_first_bad_row(off, self.points)}"
                )

    def draw(self, domain, rng):
        face = f"{domain.names[self._j]}_min"
        return domain.sample_boundary(self.n_points, [face], self.sampler, rng).astype("float64")

    def targets(self, points):
        batch = super().targets(points)
        partner = np.array(points, dtype="float64")
        partner[:, self._j] += self._shift
        batch["x_partner"] = partner.astype(keras.config.floatx())
        return batch

    def residual(self, model, batch, values=None):
        n = point_count(batch["x"])
        both = ops.concatenate([batch["x"], batch["x_partner"]], axis=0)
        d = model.derivatives(both)
        c, j = self._component, self._j
        parts = [d(c, *([j] * k)) for k in range(self.derivative_order + 1)]
        stacked = ops.concatenate(parts, axis=1)
        return stacked[:n] - stacked[n:]

    def get_config(self):
        config = super().get_config()
        config.update(coordinate=self.coordinate, derivative_order=self.derivative_order)
        return config


@keras.saving.register_keras_serializable(package="keras_pinn")
class PointData(Condition):
    """Observed values ``u(points) = values``, e.g. measurements.

    Args:
        points: ``(n, d)`` observation points, inside the domain.
        values: ``(n,)`` or ``(n, 1)`` observations of ``component``, or
            ``(n, m)`` of all outputs when ``component=None``.
        component: output name or index, or None for all outputs.
        **kwargs: see :class:`Term` (default name ``"data"``).
    """

    default_name = "data"

    def __init__(self, points, values, component: str | int | None = None, **kwargs):
        kwargs.setdefault("resample", False)
        points = _float_array(points, "points")
        super().__init__(points=points, component=0 if component is None else component, **kwargs)
        self.all_components = component is None
        values = _float_array(values, "values")
        if values.ndim == 1:
            values = values[:, None]
        if values.ndim != 2 or values.shape[0] != points.shape[0]:
            raise ValueError(
                "`values` must have one row per point. Received: values with shape "
                f"{values.shape} for {points.shape[0]} points"
            )
        bad = ~np.isfinite(values).all(axis=1)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(
                f"`values` holds {int(bad.sum())} non-finite row(s) (NaN or inf), first at row {i}: "
                f"{values[i].tolist()} at point {points[i].tolist()}"
            )
        self.values = values

    def bind(self, domain, output_names):
        super().bind(domain, output_names)
        expected = len(output_names) if self.all_components else 1
        if self.values.shape[1] != expected:
            raise ValueError(
                f"`values` must have {expected} column(s) for "
                f"{'all outputs ' + str(tuple(output_names)) if self.all_components else 'one component'}. "
                f"Received: values with shape {self.values.shape}"
            )

    def targets(self, points):
        batch = super().targets(points)
        batch["y"] = self.values.astype(keras.config.floatx())
        return batch

    def residual(self, model, batch, values=None):
        if self.all_components:
            return values - batch["y"]
        c = self._component
        return values[:, c : c + 1] - batch["y"]

    def get_config(self):
        config = super().get_config()
        config.pop("n_points")
        config["values"] = self.values.tolist()
        config["component"] = None if self.all_components else self.component
        return config
