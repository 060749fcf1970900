"""``DomainScaler``: coordinates to [-1, 1] from the domain's bounds."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from keras_pinn._validation import bounds
from keras_pinn.differentiation import taylor as _taylor

__all__ = ["DomainScaler"]


@keras.saving.register_keras_serializable(package="keras_pinn")
class DomainScaler(keras.layers.Layer):
    """Maps coordinates from the box ``[lower, upper]`` onto ``[-1, 1]``.

    ``y = 2 (x - lower) / (upper - lower) - 1`` per column. This is the
    source article's replacement for batch normalisation in PINNs: a fixed,
    per-point affine map, so each output depends on its own point alone and
    the derivative ``dy/dx = 2 / (upper - lower)`` is exact and constant.
    (The article's own snippet divides by ``y_range[1] - y_range[1]``, which
    is zero; here a lower bound not below its upper bound is refused.)

    Args:
        lower: lower bounds, one per input column, or a keras_pinn domain
            (then ``upper`` must be None).
        upper: upper bounds, one per input column.

    Call arguments:
        inputs: ``(..., d)`` coordinates.

    Input shape:
        ``(..., d)``.

    Output shape:
        Same as the input.

    Example:

    ```python
    domain = keras_pinn.SpaceTime(keras_pinn.Interval(-1.0, 1.0), 0.0, 1.0)
    net = keras.Sequential([
        keras.Input((2,)),
        keras_pinn.layers.DomainScaler(domain),   # or DomainScaler([-1, 0], [1, 1])
        keras.layers.Dense(20, activation="tanh"),
        keras.layers.Dense(1),
    ])
    ```

    References:
        R. Bischof, "4 Ideas for Physics-Informed Neural Networks that
        Failed", section 1 (batch normalisation).
    """

    def __init__(self, lower: Sequence[float] | object, upper: Sequence[float] | None = None, **kwargs):
        super().__init__(**kwargs)
        if hasattr(lower, "lower") and hasattr(lower, "upper"):
            if upper is not None:
                raise ValueError(
                    f"Pass either a domain or `lower` and `upper`, not both. Received: lower={lower!r}, upper={upper!r}"
                )
            domain = lower  # one name: mypy narrows a tuple assignment item by item
            lower, upper = domain.lower, domain.upper
        if upper is None:
            raise ValueError("`upper` is required when `lower` is not a domain. Received: upper=None")
        lo, hi = bounds(lower, upper)
        dtype = self.compute_dtype if "float" in str(self.compute_dtype) else "float32"
        with np.errstate(over="ignore", invalid="ignore"):
            scaled = [np.asarray(v, dtype=dtype) for v in (lo, hi, 2 * (hi - lo))]
        if not all(np.all(np.isfinite(v)) for v in scaled):
            raise ValueError(
                f"The bounds overflow the layer's dtype {dtype}: lower, upper and 2 * (upper - lower) must "
                f"be finite in it (largest {float(np.finfo(dtype).max):.3g}), or the outputs are NaN. "
                f"Rescale the coordinates. Received: lower={lo.tolist()}, upper={hi.tolist()}"
            )
        self.lower = lo.tolist()
        self.upper = hi.tolist()

    def build(self, input_shape):
        d = input_shape[-1]
        if d is not None and d != len(self.lower):
            raise ValueError(
                f"DomainScaler has bounds for {len(self.lower)} coordinate(s) but the "
                f"input has {d} column(s). Received: input_shape={tuple(input_shape)}"
            )

    def call(self, inputs):
        lo = ops.convert_to_tensor(np.asarray(self.lower), dtype=inputs.dtype)
        hi = ops.convert_to_tensor(np.asarray(self.upper), dtype=inputs.dtype)
        return 2.0 * (inputs - lo) / (hi - lo) - 1.0

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(lower=list(self.lower), upper=list(self.upper))
        return config


# -- Taylor mode's rule (keras_pinn.differentiation.taylor): a constant scaling
def _taylor_primal(layer, x):
    return layer.call(x), None


def _taylor_push(layer, state, series):
    lo = ops.convert_to_tensor(layer.lower, dtype=layer.compute_dtype)
    hi = ops.convert_to_tensor(layer.upper, dtype=layer.compute_dtype)
    scale = ops.expand_dims(2.0 / (hi - lo), 0)
    return [None if s is None else s * scale for s in series]


_taylor.register_rule(DomainScaler, _taylor_primal, _taylor_push)
