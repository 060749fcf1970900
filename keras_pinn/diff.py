"""Derivatives of a network's outputs with respect to its inputs.

Written once for every backend: the per-backend engine lives in
:mod:`keras_pinn.backend`; this module resolves names, validates requests and
returns ``(N, 1)`` columns that are differentiable with respect to the
network's weights.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import keras
from keras import ops

from keras_pinn import backend as _backend
from keras_pinn import taylor as _taylor

__all__ = ["METHODS", "Derivatives", "DerivativesBase", "derivatives"]

#: The ``method`` values :class:`Derivatives` accepts.
METHODS = ("auto", "autodiff", "taylor")


def _resolve(value, names, what, argument):
    """Map a name or integer to a column index, with a clear error."""
    n = len(names)
    if isinstance(value, bool):
        value = None
    if isinstance(value, int):
        if -n <= value < n:
            return value % n
        raise ValueError(
            f"`{argument}` index out of range: the {what} has {n} "
            f"column(s) {tuple(names)}. Received: {argument}={value!r}"
        )
    if isinstance(value, str) and value in names:
        return names.index(value)
    raise ValueError(
        f"Unknown {what} {value!r}: expected one of {tuple(names)} or an "
        f"integer index. Received: {argument}={value!r}"
    )


def _check_points(x):
    x = ops.convert_to_tensor(x)
    if not keras.backend.is_float_dtype(x.dtype):
        x = ops.cast(x, keras.config.floatx())
    if len(x.shape) != 2 or x.shape[-1] is None:
        raise ValueError(
            "`x` must have shape (N, d), one row per point. Received: "
            f"x with shape {tuple(x.shape)}"
        )
    return x


def _names(names, count, default, argument, what):
    if names is None:
        names = default
    names = tuple(names)
    if len(names) != count:
        raise ValueError(
            f"`{argument}` must name the {count} {what}. Received: {argument}={names!r}"
        )
    return names


class _Params(dict):
    """``d.params``: a dict whose unknown keys raise a KeyError that names
    the known ones."""

    def __missing__(self, key):
        raise KeyError(
            f"Unknown PDE parameter {key!r}: expected one of {tuple(self)}. Declare it with "
            f"PINNModel(parameters={{{key!r}: initial value}}). Received: {key!r}"
        )


class DerivativesBase:
    """Name resolution and the derived operators (``coord``, ``gradient``,
    ``laplacian``) shared by :class:`Derivatives` and
    :class:`keras_pinn.finite_difference.GridDerivatives`.

    Subclasses call :meth:`_set_up` and implement ``_partial(component,
    index)`` for a sorted multi-index of input columns.
    """

    def _set_up(self, x, outputs, input_names, output_names, params):
        n_inputs = x.shape[-1]
        self.input_names = _names(
            input_names, n_inputs, tuple(f"x{i}" for i in range(n_inputs)), "input_names", "columns of `x`"
        )
        if len(outputs.shape) != 2 or (
            outputs.shape[0] is not None and x.shape[0] is not None and outputs.shape[0] != x.shape[0]
        ):
            raise ValueError(
                "`fn` must map (N, d) points to (N, m) outputs. Received: "
                f"outputs of shape {tuple(outputs.shape)} for x of shape "
                f"{tuple(x.shape)}"
            )
        n_outputs = outputs.shape[-1]
        default = ("u",) if n_outputs == 1 else tuple(f"u{i}" for i in range(n_outputs))
        self.output_names = _names(output_names, n_outputs, default, "output_names", "output columns")
        self.params = _Params(params or {})
        self.max_order = 0  # highest derivative order requested so far

    def __call__(self, output: str | int = 0, *wrt: str | int):
        """Partial derivative of ``output`` along ``wrt``, shape ``(N, 1)``.

        Args:
            output: name or index of the output component. Defaults to 0.
            *wrt: names or indices of the input coordinates, one per order
                of differentiation; none returns the output itself.
        """
        component = _resolve(output, self.output_names, "output", "output")
        index = tuple(
            sorted(_resolve(w, self.input_names, "input", "wrt") for w in wrt)
        )
        value = self._partial(component, index)
        self.max_order = max(self.max_order, len(index))
        return value

    def coord(self, name: str | int):
        """Column ``name`` of the points, shape ``(N, 1)``: the coordinate
        itself, for source terms and coefficients that vary in space or time.

        Args:
            name: name (one of ``input_names``, e.g. ``"x"``) or index of the
                input coordinate.

        Returns:
            The ``(N, 1)`` tensor of that coordinate at the points.

        Example:

        ```python
        def poisson(d):  # u_xx = -pi^2 sin(pi x)
            return d("u", "x", "x") + np.pi**2 * keras.ops.sin(np.pi * d.coord("x"))
        ```
        """
        j = _resolve(name, self.input_names, "input", "name")
        return self.x[:, j : j + 1]

    def gradient(self, output: str | int = 0, over: Sequence[str | int] | None = None):
        """First derivatives of ``output`` along ``over``, shape ``(N, k)``."""
        over = self.input_names if over is None else over
        return ops.concatenate([self(output, w) for w in over], axis=-1)

    def laplacian(self, output: str | int = 0, over: Sequence[str | int] | None = None):
        """Sum of second derivatives of ``output`` along ``over``, ``(N, 1)``.

        Args:
            output: the output component.
            over: the coordinates to sum over. Defaults to all inputs (pass
                the spatial names for a space-time domain).
        """
        over = self.input_names if over is None else over
        total = self(output, over[0], over[0])
        for w in over[1:]:
            total = total + self(output, w, w)
        return total


class Derivatives(DerivativesBase):
    """Lazy, cached derivatives of ``fn(x)`` with respect to the inputs ``x``.

    ``d(output, *wrt)`` returns the partial derivative of one output component
    with respect to the named (or indexed) input coordinates, as an ``(N, 1)``
    tensor; ``d(output)`` the output itself, ``d.coord("x")`` the x column
    of the points (for source terms), ``d.gradient(output)`` and
    ``d.laplacian(output, over)`` the usual operators, ``d.params[name]``
    the model's trainable PDE parameters. Each distinct partial is computed once: asking for ``u_x`` and then
    ``u_xx`` does not recompute ``u_x``. Mixed partials are symmetric
    (``d("u", "x", "t")`` is ``d("u", "t", "x")``), which holds for the smooth
    networks PINNs use.

    Forward mode is used on JAX (nested ``jax.jvp``), reverse mode on
    TensorFlow (nested ``GradientTape``) and PyTorch (``autograd.grad``): see
    ``docs/derivatives.md`` for the measurements behind the choice.

    Caution: derivatives are those of ``fn`` with respect to each row of ``x``
    summed over rows (a Jacobian-vector product). They equal the pointwise
    derivatives only when each output row depends on its own input row alone,
    as in an MLP. Layers that mix points (BatchNormalization in training
    mode, convolutions over a grid of points) break that; see
    :class:`keras_pinn.layers.GridConv`.

    Args:
        fn: callable mapping an ``(N, d)`` tensor to an ``(N, m)`` tensor,
            e.g. a Keras model.
        x: the ``(N, d)`` points.
        input_names: names of the ``d`` input columns. Defaults to
            ``("x0", "x1", ...)``.
        output_names: names of the ``m`` output columns. Defaults to
            ``("u",)`` for one output, ``("u0", "u1", ...)`` otherwise.
        params: optional mapping of named PDE coefficients, exposed as
            ``d.params`` to residual functions.
        method: ``"autodiff"`` (the backend's automatic differentiation,
            nested as above), ``"taylor"`` (Taylor mode: derivatives along
            each coordinate pushed forward through the network in closed
            form, :mod:`keras_pinn.taylor`; mixed partials still by
            autodiff; ``fn`` must be a network it supports) or ``"auto"``
            (default: Taylor mode where ``fn`` supports it, autodiff
            otherwise). Both give the same derivatives up to
            rounding.

    Example:

    ```python
    d = keras_pinn.derivatives(model, x, input_names=("x", "t"))
    residual = d("u", "t") + d("u") * d("u", "x") - nu * d("u", "x", "x")
    ```
    """

    def __init__(
        self,
        fn: Callable,
        x,
        input_names: Sequence[str] | None = None,
        output_names: Sequence[str] | None = None,
        params: Mapping | None = None,
        method: str = "auto",
    ):
        if not callable(fn):
            raise TypeError(f"`fn` must be callable. Received: fn={fn!r}")
        if method not in METHODS:
            raise ValueError(f"`method` must be one of {METHODS}. Received: method={method!r}")
        x = _check_points(x)
        if method == "taylor" and not _taylor.supports(fn):
            raise ValueError(
                f"method='taylor' needs a network Taylor mode can push derivatives through (a built "
                f"{_taylor.SUPPORTED}; see keras_pinn.taylor). Received: fn={fn!r}"
            )
        if method == "taylor" or (method == "auto" and _taylor.supports(fn)):
            self._engine = _TaylorEngine(fn, x)
        else:
            self._engine = _backend.InputDerivatives(fn, x)
        self.method = "taylor" if isinstance(self._engine, _TaylorEngine) else "autodiff"
        self._set_up(x, self._engine.outputs, input_names, output_names, params)

    @property
    def x(self):
        """The ``(N, d)`` points."""
        return self._engine.x

    @property
    def outputs(self):
        """The ``(N, m)`` outputs ``fn(x)``."""
        return self._engine.outputs

    @property
    def uses_autodiff(self) -> bool:
        """Whether any partial taken so far came from the backend's
        automatic differentiation: always with ``method == "autodiff"``,
        and with Taylor mode once a mixed partial (or an order above
        :data:`keras_pinn.taylor.MAX_ORDER`) was asked for."""
        return self.method == "autodiff" or self._engine.autodiff_used

    def _partial(self, component, index):
        return self._engine.partial(component, index)


class _TaylorEngine:
    """Pure partials along one coordinate by Taylor mode (every order up
    to ``max(k, 2)`` in one push, sharing the network's values); mixed
    partials and orders above :data:`keras_pinn.taylor.MAX_ORDER` by the
    backend's autodiff engine, built on first need."""

    def __init__(self, fn, x):
        self.x = x
        self._fn = fn
        self.outputs, self._state = _taylor.primal(fn, x)
        self._cache = {(): self.outputs}
        self._autodiff = None
        self.passes = 0  # derivative passes run, for tests of the cache

    @property
    def autodiff_used(self) -> bool:
        """Whether a mixed or high-order partial needed autodiff."""
        return self._autodiff is not None

    def partial(self, component, index):
        if index not in self._cache:
            if len(set(index)) > 1 or len(index) > _taylor.MAX_ORDER:
                if self._autodiff is None:
                    self._autodiff = _backend.InputDerivatives(self._fn, self.x)
                return self._autodiff.partial(component, index)
            j, order = index[0], min(max(len(index), 2), _taylor.MAX_ORDER)
            series = _taylor.push(self._fn, self._state, _taylor.unit_series(self.x, j, order))
            self.passes += 1
            for m, s in enumerate(series, start=1):
                if s is None:
                    s = ops.zeros_like(self.outputs)
                elif s.shape[0] == 1 and self.outputs.shape[0] != 1:
                    s = ops.broadcast_to(s, ops.shape(self.outputs))
                self._cache.setdefault((j,) * m, s)
        return self._cache[index][:, component : component + 1]


def derivatives(
    fn: Callable,
    x,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    params: Mapping | None = None,
    method: str = "auto",
) -> Derivatives:
    """Returns a :class:`Derivatives` of ``fn`` at the points ``x``."""
    return Derivatives(fn, x, input_names, output_names, params, method)
