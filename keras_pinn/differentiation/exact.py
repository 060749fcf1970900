"""Exact derivatives of a network's outputs with respect to its inputs.

:class:`Derivatives` takes them by Taylor mode (:mod:`keras_pinn.differentiation.taylor`)
or by the backend's automatic differentiation (the per-backend engine lives in
:mod:`keras_pinn.backend`), as :func:`~keras_pinn.differentiation.resolve_method`
decides, and returns ``(N, 1)`` columns that are differentiable with respect
to the network's weights.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from keras import ops

from keras_pinn import backend as _backend
from keras_pinn.differentiation import taylor as _taylor
from keras_pinn.differentiation.base import DerivativesBase, check_points
from keras_pinn.differentiation.method import METHODS, resolve_method

__all__ = ["Derivatives", "derivatives"]


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
            form, :mod:`keras_pinn.differentiation.taylor`; mixed partials still by
            autodiff; ``fn`` must be a network it supports) or ``"auto"``
            (default: Taylor mode where ``fn`` supports it, autodiff
            otherwise; :func:`~keras_pinn.differentiation.resolve_method`
            decides, as for :class:`~keras_pinn.PINNModel`). Both give the
            same derivatives up to rounding.

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
        x = check_points(x)
        #: The method in use: ``"taylor"`` or ``"autodiff"`` (``method`` with ``"auto"`` resolved).
        self.method = resolve_method(fn, method, network_argument="fn")
        self._engine: _TaylorEngine | _backend.InputDerivatives
        if self.method == "taylor":
            self._engine = _TaylorEngine(fn, x)
        else:
            self._engine = _backend.InputDerivatives(fn, x)
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
        :data:`keras_pinn.differentiation.taylor.MAX_ORDER`) was asked for."""
        return self.method == "autodiff" or self._engine.autodiff_used

    def _partial(self, component, index):
        return self._engine.partial(component, index)


class _TaylorEngine:
    """Pure partials along one coordinate by Taylor mode (every order up
    to ``max(k, 2)`` in one push, sharing the network's values); mixed
    partials and orders above :data:`keras_pinn.differentiation.taylor.MAX_ORDER` by the
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
