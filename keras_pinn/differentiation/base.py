"""What every kind of derivatives shares: the points, the names of their
columns, and the operators built from partial derivatives.

:class:`DerivativesBase` is the interface a residual function sees (``d(output,
*wrt)``, ``d.coord``, ``d.gradient``, ``d.laplacian``, ``d.params``);
:class:`~keras_pinn.differentiation.Derivatives` (exact derivatives of a
network) and :class:`~keras_pinn.differentiation.GridDerivatives` (finite
differences on a grid) implement it. :func:`resolve_column` and
:func:`check_points` are the checks they share, public so that other modules
(conditions naming an output, grid layers) reuse them instead of copying.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import keras
from keras import ops

from keras_pinn import _validation

__all__ = ["DerivativesBase", "check_points", "resolve_column"]


def resolve_column(value: str | int, names: Sequence[str], what: str, argument: str) -> int:
    """The index of the column ``value`` names among ``names``.

    Args:
        value: a name in ``names``, or an integer index (negative counts
            from the end).
        names: the column names, e.g. a model's output names.
        what: what the columns are, for the error message (``"output"``,
            ``"input"``).
        argument: the name of the argument that received ``value``, for the
            error message.

    Returns:
        The index, in ``[0, len(names))``.

    Raises:
        ValueError: for an unknown name, an index out of range or any other
            value (a bool is not an index), naming ``argument`` and the value.

    Example:

    ```python
    resolve_column("v", ("u", "v"), "output", "component")  # 1
    ```
    """
    return _validation.column(value, names, what, argument)


def check_points(x: Any) -> Any:
    """``x`` as a 2-D floating-point tensor of points, one row per point.

    Integer input is cast to ``keras.config.floatx()``.

    Raises:
        ValueError: when ``x`` is not of shape ``(N, d)`` with a known ``d``.
    """
    x = ops.convert_to_tensor(x)
    if not keras.backend.is_float_dtype(x.dtype):
        x = ops.cast(x, keras.config.floatx())
    if len(x.shape) != 2 or x.shape[-1] is None:
        raise ValueError(f"`x` must have shape (N, d), one row per point. Received: x with shape {tuple(x.shape)}")
    return x


def _names(names: Sequence[str] | None, count: int, default: tuple[str, ...], argument: str, what: str):
    names = tuple(default if names is None else names)
    if len(names) != count:
        raise ValueError(f"`{argument}` must name the {count} {what}. Received: {argument}={names!r}")
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
    ``laplacian``) shared by :class:`~keras_pinn.differentiation.Derivatives`
    and :class:`~keras_pinn.differentiation.GridDerivatives`.

    Subclasses call :meth:`_set_up` and implement ``_partial(component,
    index)`` for a sorted multi-index of input columns, and the ``x``
    property (the ``(N, d)`` points).
    """

    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    params: _Params
    max_order: int

    @property
    def x(self) -> Any:
        """The ``(N, d)`` points."""
        raise NotImplementedError

    def _partial(self, component: int, index: tuple[int, ...]) -> Any:
        raise NotImplementedError

    def _set_up(self, x, outputs, input_names, output_names, params: Mapping | None) -> None:
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
        component = resolve_column(output, self.output_names, "output", "output")
        index = tuple(sorted(resolve_column(w, self.input_names, "input", "wrt") for w in wrt))
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
        j = resolve_column(name, self.input_names, "input", "name")
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
