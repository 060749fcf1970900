"""``FourierFeatures``: random Fourier features of the coordinates, with
separate spatial and temporal scales."""

from __future__ import annotations

import numbers

import keras
import numpy as np
from keras import ops

from keras_pinn.differentiation import taylor as _taylor
from keras_pinn.layers import _checks

__all__ = ["FourierFeatures"]


@keras.saving.register_keras_serializable(package="keras_pinn")
class FourierFeatures(keras.layers.Layer):
    """Random Fourier features ``[cos(x B), sin(x B)]`` of the coordinates.

    ``B`` is a ``(d, units)`` matrix drawn once from a normal distribution
    with mean 0 and standard deviation ``scale`` (row ``time_axis`` with
    ``time_scale`` when given), and stored as a weight of the layer (not
    trainable by default), so a saved model reloads the same features. The
    features let an MLP behind them fit high frequencies that a plain MLP
    learns very slowly (spectral bias); the scale sets the frequencies:
    too small and the network stays smooth, too large and it overfits with
    noise between the collocation points. As in jaxpi, the frequencies are
    ``x B`` (no ``2 pi`` factor); with inputs scaled to ``[-1, 1]`` by a
    :class:`~keras_pinn.layers.DomainScaler`, ``scale=1`` to ``2`` is a good
    start (jaxpi's configurations use 1 and 2), and time usually needs a
    smaller scale than space (Wang, Wang & Perdikaris 2021).

    Args:
        units: number of frequencies ``m``; the output has ``2 m`` columns
            (``2 m + d`` with ``include_inputs``).
        scale: standard deviation of the spatial frequencies, > 0. Defaults
            to 1.
        time_scale: standard deviation of the row of ``B`` for the time
            column, > 0, or None (default) to use ``scale`` for every column.
        time_axis: the time column (``-1``, the last, as in
            :class:`~keras_pinn.SpaceTime`). Used only with ``time_scale``.
        include_inputs: prepend the inputs themselves to the features.
            Defaults to False.
        trainable_frequencies: train ``B`` too (jaxpi does). Defaults to
            False.
        seed: seed of the draw of ``B``, a non-negative int or None.
        **kwargs: passed to ``keras.layers.Layer``.

    Input shape:
        ``(N, d)``.

    Output shape:
        ``(N, 2 * units)``, or ``(N, d + 2 * units)`` with ``include_inputs``:
        ``[x, cos(x B), sin(x B)]``.

    Taylor mode (:mod:`keras_pinn.differentiation.taylor`) pushes derivatives through it.

    Example:

    ```python
    net = keras.Sequential([
        keras.Input((2,)), kp.layers.DomainScaler(domain),
        kp.layers.FourierFeatures(64, scale=2.0, time_scale=1.0, seed=0),
        kp.layers.ModifiedMLP(width=128, depth=4),
    ])
    ```

    References:
        Tancik, M. et al. (2020). Fourier Features Let Networks Learn High
        Frequency Functions in Low Dimensional Domains. NeurIPS.
        Wang, S., Wang, H. and Perdikaris, P. (2021). On the eigenvector bias
        of Fourier feature networks. CMAME 384, 113938.
    """

    def __init__(
        self,
        units: int,
        scale: float = 1.0,
        time_scale: float | None = None,
        time_axis: int = -1,
        include_inputs: bool = False,
        trainable_frequencies: bool = False,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = _checks.positive_int(units, "units")
        self.scale = _checks.positive_float(scale, "scale")
        self.time_scale = None if time_scale is None else _checks.positive_float(time_scale, "time_scale")
        if isinstance(time_axis, bool) or not isinstance(time_axis, numbers.Integral):
            raise ValueError(f"`time_axis` must be an integer column index. Received: time_axis={time_axis!r}")
        self.time_axis = int(time_axis)
        self.include_inputs = _checks.boolean(include_inputs, "include_inputs")
        self.trainable_frequencies = _checks.boolean(trainable_frequencies, "trainable_frequencies")
        self.seed = _checks.seed(seed)

    def build(self, input_shape):
        d = _checks.input_dim(self, input_shape)
        scales = np.full((d, 1), self.scale)
        if self.time_scale is not None:
            if not -d <= self.time_axis < d:
                raise ValueError(
                    f"`time_axis` is out of range for inputs with {d} columns. Received: time_axis={self.time_axis}"
                )
            scales[self.time_axis] = self.time_scale
        seed = self.seed

        def init(shape, dtype=None):
            draw = keras.random.normal(shape, dtype=dtype, seed=seed)
            return draw * ops.convert_to_tensor(scales, dtype=draw.dtype)

        self.kernel = self.add_weight(
            shape=(d, self.units), initializer=init, trainable=self.trainable_frequencies, name="frequencies"
        )

    def call(self, inputs):
        return _primal(self, inputs)[0]

    def compute_output_shape(self, input_shape):
        extra = input_shape[-1] if self.include_inputs else 0
        return (input_shape[0], 2 * self.units + extra)

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            scale=self.scale,
            time_scale=self.time_scale,
            time_axis=self.time_axis,
            include_inputs=self.include_inputs,
            trainable_frequencies=self.trainable_frequencies,
            seed=self.seed,
        )
        return config


def _primal(layer, x):
    z = ops.matmul(x, _checks.value(layer, layer.kernel))
    s, c = ops.sin(z), ops.cos(z)
    parts = [x, c, s] if layer.include_inputs else [c, s]
    return ops.concatenate(parts, axis=-1), (s, c)


def _push(layer, state, series):
    s, c = state
    zs = _taylor.linear_push(series, _checks.value(layer, layer.kernel))
    sin_s, cos_s = _taylor.sin_cos_push(s, c, zs)
    out = []
    for xs, cs, ss in zip(series, cos_s, sin_s):
        if cs is None and (xs is None or not layer.include_inputs):
            out.append(None)
            continue
        parts = [ops.zeros_like(c) if cs is None else cs, ops.zeros_like(s) if ss is None else ss]
        if layer.include_inputs:
            d = layer.kernel.shape[0]
            parts.insert(0, ops.zeros((1, d), dtype=c.dtype) if xs is None else xs)
        out.append(ops.concatenate([_taylor_rows(p, c) for p in parts], axis=-1))
    return out


def _taylor_rows(part, like):
    """``part`` broadcast to the rows of ``like`` (series of the inputs may
    be single ``(1, d)`` rows)."""
    if part.shape[0] == 1 and like.shape[0] != 1:
        return ops.broadcast_to(part, (ops.shape(like)[0], part.shape[1]))
    return part


_taylor.register_rule(FourierFeatures, _primal, _push)
