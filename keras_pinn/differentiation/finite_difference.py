"""Finite-difference derivatives of a field on a regular grid of points.

:class:`GridDerivatives` has the public interface of
:class:`keras_pinn.Derivatives` (``d(output, *wrt)``, ``coord``, ``gradient``,
``laplacian``, ``params``, ...), but its derivatives are finite differences of
the values ``u = fn(x)`` on a regular grid, not derivatives of ``fn`` with
respect to its inputs. This is what grid models need: a convolutional network
over the grid (:class:`keras_pinn.layers.grid_conv.GridConv`) mixes
neighbouring points, so the input derivatives of its outputs are not the
spatial derivatives of the field it predicts (Gao, Sun & Wang 2021, PhyGeoNet).

Everything is ``keras.ops`` arithmetic on ``fn(x)``, so the derivatives are
differentiable with respect to the network's weights on every backend, and
no input derivative is ever taken.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from keras import ops

from keras_pinn.differentiation.base import DerivativesBase, check_points

__all__ = ["MAX_ORDER", "GridDerivatives", "check_grid_shape", "infer_grid"]

MAX_ORDER = 4
"""Highest derivative order along one coordinate (mixed partials combine
orders up to this along each coordinate)."""


# --------------------------------------------------------------------------
# The grid: shape and spacings, from NumPy points
# --------------------------------------------------------------------------


def check_grid_shape(grid_shape: Sequence[int] | int, d: int | None = None, minimum: int = 2) -> tuple[int, ...]:
    """``grid_shape`` as a tuple of point counts, one per coordinate.

    Args:
        grid_shape: the point counts (a sequence of integers, or one integer
            for a 1-D grid).
        d: the number of coordinates the grid must have, or None for any.
        minimum: the smallest point count accepted along an axis.

    Raises:
        ValueError: naming ``grid_shape`` when it is not ``d`` integers of at
            least ``minimum``.
    """
    shape: tuple | None
    try:
        shape = tuple(np.atleast_1d(np.asarray(grid_shape)).tolist())
    except Exception:  # noqa: BLE001 - anything unparsable is refused below
        shape = None
    ok = (
        shape is not None
        and len(shape) >= 1
        and all(isinstance(s, int) and not isinstance(s, bool) and s >= minimum for s in shape)
        and (d is None or len(shape) == d)
    )
    if not ok:
        what = f"{d} " if d is not None else ""
        raise ValueError(
            f"`grid_shape` must give {what}integer point counts of at least {minimum}, "
            f"one per coordinate. Received: grid_shape={grid_shape!r}"
        )
    return tuple(shape or ())


def _check_spacing(spacing, d):
    arr = np.asarray(spacing, dtype="float64") if spacing is not None else None
    if arr is not None and arr.ndim == 0:
        arr = np.full((d,), float(arr))
    if arr is None or arr.shape != (d,) or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(
            f"`spacing` must give {d} finite positive grid steps, one per coordinate "
            f"(or one number for all). Received: spacing={spacing!r}"
        )
    return tuple(float(h) for h in arr)


def _infer_shape(points):
    """Grid shape of C-ordered points (last column fastest), from the order of
    the values alone: along axis j, with stride ``prod(shape[j+1:])``, the
    j-th coordinate increases until it wraps around."""
    n, d = points.shape
    shape = [1] * d
    stride = 1
    for j in reversed(range(d)):
        column = points[::stride, j]
        steps = np.diff(column) > 0
        count = 1 + (int(np.argmin(steps)) if not steps.all() else steps.size)
        shape[j] = count
        stride *= count
    return tuple(shape)


def infer_grid(points, grid_shape: Sequence[int] | None = None) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Shape and spacings of the regular grid formed by ``points`` (NumPy).

    The points must form a regular grid in C order, as
    :meth:`keras_pinn.Box.grid` produces: column ``j`` varies along grid
    axis ``j`` only, in increasing order with a constant step, and the last
    column varies fastest.

    Args:
        points: ``(N, d)`` array of points.
        grid_shape: the expected shape, ``d`` counts with product ``N``; None
            infers it from the points.

    Returns:
        ``(grid_shape, spacing)``: the point count and the step along each
        coordinate.

    Raises:
        ValueError: when the points do not form such a grid.
    """
    pts = np.asarray(points, dtype="float64")
    if pts.ndim != 2 or pts.shape[0] == 0 or pts.shape[1] == 0:
        raise ValueError(f"`points` must have shape (N, d), one row per point. Received: shape {np.shape(points)}")
    if not np.all(np.isfinite(pts)):
        raise ValueError("`points` holds non-finite values (NaN or inf).")
    n, d = pts.shape
    if grid_shape is None:
        shape = _infer_shape(pts)
        if min(shape) < 2 or math.prod(shape) != n:
            raise ValueError(
                f"points do not form a regular grid in C order (last coordinate fastest, as "
                f"Box.grid gives): the value order suggests a grid of shape {shape} "
                f"({math.prod(shape)} points, at least 2 per axis) but there are {n} points."
            )
    else:
        shape = check_grid_shape(grid_shape, d)
        if math.prod(shape) != n:
            raise ValueError(
                f"points do not form a regular grid of shape {shape}: it has "
                f"{math.prod(shape)} points but {n} were given. Received: grid_shape={grid_shape!r}"
            )
    grid = pts.reshape(shape + (d,))
    lows, steps, tolerances = [], [], []
    for j in range(d):
        last = [0] * d
        last[j] = shape[j] - 1
        lo, hi = grid[(0,) * d + (j,)], grid[tuple(last) + (j,)]
        h = (hi - lo) / (shape[j] - 1)
        if not h > 0:
            raise ValueError(
                f"points do not form a regular grid of shape {shape} in C order: coordinate "
                f"{j} does not increase along grid axis {j} (from {lo:g} to {hi:g}). Points "
                "must be ordered as Box.grid gives them, last coordinate fastest."
            )
        lows.append(lo)
        steps.append(h)
        tolerances.append(1e-3 * h + 1e-6 * max(abs(lo), abs(hi)))
    axes = [lo + h * np.arange(s) for lo, h, s in zip(lows, steps, shape)]
    expected = np.stack([m.ravel() for m in np.meshgrid(*axes, indexing="ij")], axis=1)
    bad = np.abs(pts - expected) > np.asarray(tolerances)
    if bad.any():
        i = int(np.argmax(bad.any(axis=1)))
        raise ValueError(
            f"points do not form a regular grid of shape {shape} in C order (equal spacing "
            f"per axis, last coordinate fastest, as Box.grid gives): row {i} is "
            f"{pts[i].tolist()}, expected {expected[i].tolist()} ({int(bad.any(axis=1).sum())} "
            "row(s) off the grid)."
        )
    return shape, tuple(float(h) for h in steps)


def _concrete(x):
    """``x`` as a NumPy array, or None when it has no value (traced)."""
    try:
        return np.asarray(ops.convert_to_numpy(x))
    except Exception:  # noqa: BLE001 - each backend raises its own error type
        return None


# --------------------------------------------------------------------------
# 1-D operators
# --------------------------------------------------------------------------


@functools.cache
def _weights(offsets: tuple[int, ...], order: int) -> tuple[float, ...]:
    """Weights ``w`` with ``sum_s w_s f(x + s h) = h^order f^(order)(x) + O(h^{len - order})``
    (unit spacing), from the Taylor (Vandermonde) conditions."""
    s = np.asarray(offsets, dtype="float64")
    powers = np.arange(s.size)
    matrix = s[None, :] ** powers[:, None]
    rhs = np.zeros(s.size)
    rhs[order] = math.factorial(order)
    return tuple(np.linalg.solve(matrix, rhs).tolist())


def _stencils(n: int, order: int):
    """Second-order stencils for the ``order``-th derivative on ``n`` points:
    ``(r, central, left, right)``; ``central`` holds the centred weights on
    offsets ``-r..r`` for rows ``r..n-1-r``; ``left[i]`` / ``right[i]``
    the one-sided weights on the first / last ``order + 2`` points for the
    first and last ``r`` rows."""
    r = (order + 1) // 2
    width = order + 2
    central = _weights(tuple(range(-r, r + 1)), order)
    left = [_weights(tuple(range(-i, width - i)), order) for i in range(r)]
    right = [_weights(tuple(range(n - width - i, n - i)), order) for i in range(n - r, n)]
    return r, central, left, right


def _slice(f, axis, start, stop):
    return f[(slice(None),) * axis + (slice(start, stop),)]


def _combine(terms):
    total = None
    for w, f in terms:
        if abs(w) < 1e-12:
            continue
        term = w * f
        total = term if total is None else total + term
    return total


def _derivative_1d(f, axis: int, n: int, order: int, h: float):
    """``order``-th finite-difference derivative of the grid field ``f``
    along ``axis`` (``n`` points, step ``h``): centred in the interior,
    one-sided at the edges, second order everywhere."""
    r, central, left, right = _stencils(n, order)
    scale = 1.0 / h**order
    width = order + 2
    rows = []
    for weights in left:
        rows.append(_combine((scale * w, _slice(f, axis, j, j + 1)) for j, w in enumerate(weights)))
    rows.append(_combine((scale * w, _slice(f, axis, r + s, n - r + s)) for s, w in zip(range(-r, r + 1), central)))
    for weights in right:
        base = n - width
        rows.append(_combine((scale * w, _slice(f, axis, base + j, base + j + 1)) for j, w in enumerate(weights)))
    return rows[0] if len(rows) == 1 else ops.concatenate(rows, axis=axis)


# --------------------------------------------------------------------------
# GridDerivatives
# --------------------------------------------------------------------------


class GridDerivatives(DerivativesBase):
    """Finite-difference derivatives of ``fn(x)`` on a regular grid of points.

    The drop-in counterpart of :class:`keras_pinn.Derivatives` for grid
    models: ``d(output, *wrt)`` returns an ``(N, 1)`` column, but computed
    from the field values ``u = fn(x)`` on the grid rather than by
    differentiating ``fn`` with respect to ``x``. Along each coordinate the
    ``k``-th derivative (``k <= 4``) uses second-order central differences in
    the interior and second-order one-sided stencils (``k + 2`` points) at the
    edges; mixed partials apply the 1-D operators successively along their
    axes (``u_xy = D_y(D_x u)``), which keeps second order. Each distinct
    partial is computed once and cached, and intermediate ones are reused
    (``u_xxy`` reuses ``u_xx``).

    The derivatives are plain ``keras.ops`` arithmetic on ``fn(x)``, hence
    differentiable with respect to the weights on every backend (and cheap:
    one forward pass of ``fn``, no input derivatives).

    The points must form a regular grid in C order as
    :meth:`keras_pinn.Box.grid` (or ``sampler="grid"``) gives them: column
    ``j`` varies along grid axis ``j`` only, increasing with a constant step,
    the last column fastest. Inferring the grid needs the points' values:
    when ``grid_shape`` and ``spacing`` are not both given, the points are
    converted to NumPy and checked (a ``ValueError`` says when they do not
    form a grid). Inside a compiled function (``jit``, ``tf.function``) the
    points have no values, so pass both; they are then trusted unchecked
    (:class:`~keras_pinn.PINNModel` with ``derivative_method=
    "finite_difference"`` computes them once from its NumPy collocation
    grid).

    Args:
        fn: callable mapping the ``(N, d)`` points to ``(N, m)`` fields,
            e.g. a Keras model holding a
            :class:`~keras_pinn.layers.grid_conv.GridConv`.
        x: the ``(N, d)`` grid points.
        input_names: names of the ``d`` coordinates. Defaults to
            ``("x0", "x1", ...)``.
        output_names: names of the ``m`` outputs. Defaults to ``("u",)`` for
            one output, ``("u0", "u1", ...)`` otherwise.
        params: optional mapping of named PDE coefficients, ``d.params``.
        grid_shape: the grid's point counts, ``d`` integers of product ``N``.
            Defaults to None (inferred from the points).
        spacing: the grid steps, ``d`` positive numbers (or one for all).
            Defaults to None (inferred from the points).

    Example:

    ```python
    box = keras_pinn.Box([0.0, 0.0], [1.0, 1.0], names=("x", "y"))
    x = box.grid((33, 33))
    d = GridDerivatives(model, x, input_names=box.names)
    residual = d.laplacian("u") + 2 * np.pi**2 * d("u")
    ```

    References:
        H. Gao, L. Sun, J.-X. Wang, "PhyGeoNet: Physics-informed
        geometry-adaptive convolutional neural networks for solving
        parameterized steady-state PDEs on irregular domain", Journal of
        Computational Physics 428 (2021) 110079.
    """

    def __init__(
        self,
        fn: Callable,
        x,
        input_names: Sequence[str] | None = None,
        output_names: Sequence[str] | None = None,
        params: Mapping | None = None,
        grid_shape: Sequence[int] | None = None,
        spacing: Sequence[float] | float | None = None,
    ):
        if not callable(fn):
            raise TypeError(f"`fn` must be callable. Received: fn={fn!r}")
        x = check_points(x)
        d = x.shape[-1]
        shape, steps = self._grid(x, d, grid_shape, spacing)
        n = math.prod(shape)
        if x.shape[0] is not None and x.shape[0] != n:
            raise ValueError(
                f"`x` must hold the {n} points of the grid of shape {shape}. Received: x with shape {tuple(x.shape)}"
            )
        outputs = fn(x)
        self._x = x
        self._outputs = outputs
        self._set_up(x, outputs, input_names, output_names, params)
        #: The grid's point count along each coordinate.
        self.grid_shape: tuple[int, ...] = shape
        #: The grid's step along each coordinate.
        self.spacing: tuple[float, ...] = steps
        self._fields: dict[tuple[int, tuple[int, ...]], Any] = {}  # (component, counts per axis) -> grid tensor
        self._columns: dict[tuple[int, tuple[int, ...]], Any] = {}  # (component, sorted index) -> (N, 1) tensor

    @staticmethod
    def _grid(x, d, grid_shape, spacing) -> tuple[tuple[int, ...], tuple[float, ...]]:
        if grid_shape is not None:
            grid_shape = check_grid_shape(grid_shape, d)
        if spacing is not None:
            spacing = _check_spacing(spacing, d)
        if grid_shape is not None and spacing is not None:
            return grid_shape, spacing
        points = _concrete(x)
        if points is None:
            raise ValueError(
                "GridDerivatives cannot infer the grid from symbolic points (inside a compiled "
                "function the points have no values): pass `grid_shape=` and `spacing=`, "
                "computed once from the NumPy points with keras_pinn.differentiation."
                f"infer_grid. Received: grid_shape={grid_shape!r}, spacing={spacing!r}"
            )
        inferred_shape, inferred_spacing = infer_grid(points, grid_shape)
        return inferred_shape, spacing if spacing is not None else inferred_spacing

    @property
    def x(self):
        """The ``(N, d)`` points."""
        return self._x

    @property
    def outputs(self):
        """The ``(N, m)`` outputs ``fn(x)``."""
        return self._outputs

    def _field(self, component: int, counts: tuple[int, ...]):
        """The derivative with ``counts[j]`` orders along axis ``j``, as a
        tensor of shape ``grid_shape``."""
        key = (component, counts)
        if key not in self._fields:
            if not any(counts):
                value = ops.reshape(self._outputs[:, component], self.grid_shape)
            else:
                axis = max(j for j, c in enumerate(counts) if c)
                parent = counts[:axis] + (0,) + counts[axis + 1 :]
                value = _derivative_1d(
                    self._field(component, parent),
                    axis,
                    self.grid_shape[axis],
                    counts[axis],
                    self.spacing[axis],
                )
            self._fields[key] = value
        return self._fields[key]

    def _partial(self, component, index):
        """Finite-difference partial along the sorted multi-index ``index``."""
        key = (component, index)
        if key in self._columns:
            return self._columns[key]
        counts = tuple(index.count(j) for j in range(len(self.input_names)))
        for j, c in enumerate(counts):
            if c > MAX_ORDER:
                raise ValueError(
                    f"Finite differences support derivatives up to order {MAX_ORDER} along each "
                    f"coordinate. Received: order {c} along {self.input_names[j]!r}"
                )
            if c and self.grid_shape[j] < c + 2:
                raise ValueError(
                    f"A second-order derivative of order {c} along {self.input_names[j]!r} needs "
                    f"at least {c + 2} grid points along it. Received: grid_shape={self.grid_shape}"
                )
        if not index:
            value = self._outputs[:, component : component + 1]
        else:
            value = ops.reshape(self._field(component, counts), (-1, 1))
        self._columns[key] = value
        return value
