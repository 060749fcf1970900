"""``PeriodicEmbedding``: coordinates mapped to harmonics of their period,
so the network is exactly periodic along them."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from keras_pinn.differentiation import taylor as _taylor
from keras_pinn.layers import _checks

__all__ = ["PeriodicEmbedding"]


@keras.saving.register_keras_serializable(package="keras_pinn")
class PeriodicEmbedding(keras.layers.Layer):
    """Replaces periodic coordinates by ``cos(k w x), sin(k w x)``,
    ``w = 2 pi / period``, ``k = 1..harmonics``.

    Any network behind it is then exactly periodic along those coordinates
    (values and every derivative), so a periodic boundary condition holds by
    construction and needs no loss term (Dong & Ni 2021; jaxpi's
    ``PeriodEmbs``). The other columns pass through unchanged, first, in
    their order.

    Put it in front of the network, on the coordinates as they are, or
    after a :class:`~keras_pinn.layers.DomainScaler`: a coordinate periodic
    over its whole interval then has period 2 (the scaled interval
    ``[-1, 1]``).

    Args:
        axes: the periodic columns, e.g. ``(0,)``.
        periods: their periods (> 0), one per axis, or one number for all.
        harmonics: number of harmonics ``k = 1..harmonics`` per axis, a
            positive int. Defaults to 1.
        **kwargs: passed to ``keras.layers.Layer``.

    Input shape:
        ``(N, d)``.

    Output shape:
        ``(N, d - p + 2 p harmonics)`` for ``p`` periodic axes: the other
        columns, then for each periodic axis and harmonic ``cos``, then the
        ``sin`` of the same.

    Taylor mode (:mod:`keras_pinn.differentiation.taylor`) pushes derivatives through it.

    Example:

    ```python
    # Allen-Cahn on x in [-1, 1] (period 2), t in [0, 1]: inputs (x, t)
    net = keras.Sequential([keras.Input((2,)),
                            kp.layers.PeriodicEmbedding(axes=(0,), periods=2.0),
                            kp.layers.ModifiedMLP(width=64, depth=4)])
    ```

    References:
        Dong, S. and Ni, N. (2021). A method for representing periodic
        functions and enforcing exactly periodic boundary conditions with
        deep neural networks. J. Comput. Phys. 435, 110242.
    """

    def __init__(self, axes: Sequence[int] | int, periods, harmonics: int = 1, **kwargs):
        super().__init__(**kwargs)
        columns: tuple | None
        if isinstance(axes, numbers.Integral) and not isinstance(axes, bool):
            columns = (axes,)
        elif isinstance(axes, int):  # a bool
            columns = None
        else:
            try:
                columns = tuple(axes)
            except TypeError:
                columns = None
        if not columns or not all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in columns):
            raise ValueError(f"`axes` must be a non-empty sequence of column indices. Received: axes={axes!r}")
        self.axes = tuple(int(a) for a in columns)
        if isinstance(periods, numbers.Real) and not isinstance(periods, bool):
            periods = (periods,) * len(self.axes)
        try:
            periods = tuple(periods)
        except TypeError as error:
            raise ValueError(
                f"`periods` must be a number or one number per axis. Received: periods={periods!r}"
            ) from error
        if len(periods) != len(self.axes):
            raise ValueError(
                f"`periods` must give one period per axis ({len(self.axes)}). Received: periods={periods!r}"
            )
        self.periods = tuple(_checks.positive_float(p, "periods") for p in periods)
        self.harmonics = _checks.positive_int(harmonics, "harmonics")

    def build(self, input_shape):
        d = _checks.input_dim(self, input_shape)
        axes = []
        for a in self.axes:
            if not -d <= a < d:
                raise ValueError(
                    f"`axes` holds a column out of range for {d} input columns. Received: axes={self.axes}"
                )
            axes.append(a % d)
        if len(set(axes)) != len(axes):
            raise ValueError(f"`axes` names a column twice. Received: axes={self.axes}")
        others = [j for j in range(d) if j not in axes]
        self._keep = np.zeros((d, len(others)))
        for i, j in enumerate(others):
            self._keep[j, i] = 1.0
        self._freq = np.zeros((d, len(axes) * self.harmonics))
        col = 0
        for a, p in zip(axes, self.periods):
            for k in range(1, self.harmonics + 1):
                self._freq[a, col] = 2.0 * math.pi * k / p
                col += 1

    def _matrices(self):
        dtype = self.compute_dtype
        return ops.convert_to_tensor(self._keep, dtype=dtype), ops.convert_to_tensor(self._freq, dtype=dtype)

    def call(self, inputs):
        return _primal(self, inputs)[0]

    def compute_output_shape(self, input_shape):
        d = input_shape[-1]
        return (input_shape[0], d - len(self.axes) + 2 * len(self.axes) * self.harmonics)

    def get_config(self):
        config = super().get_config()
        config.update(axes=list(self.axes), periods=list(self.periods), harmonics=self.harmonics)
        return config


def _primal(layer, x):
    keep, freq = layer._matrices()
    z = ops.matmul(x, freq)
    s, c = ops.sin(z), ops.cos(z)
    parts = [c, s] if keep.shape[1] == 0 else [ops.matmul(x, keep), c, s]
    return ops.concatenate(parts, axis=-1), (s, c)


def _push(layer, state, series):
    s, c = state
    keep, freq = layer._matrices()
    sin_s, cos_s = _taylor.sin_cos_push(s, c, _taylor.linear_push(series, freq))
    kept = _taylor.linear_push(series, keep)
    out = []
    for ks, cs, ss in zip(kept, cos_s, sin_s):
        if cs is None and ks is None:
            out.append(None)
            continue
        parts = [ops.zeros_like(c) if cs is None else cs, ops.zeros_like(s) if ss is None else ss]
        if keep.shape[1]:
            parts.insert(0, ops.zeros((1, keep.shape[1]), dtype=c.dtype) if ks is None else ks)
        rows = ops.shape(c)[0]
        parts = [ops.broadcast_to(p, (rows, p.shape[1])) if p.shape[0] == 1 and c.shape[0] != 1 else p for p in parts]
        out.append(ops.concatenate(parts, axis=-1))
    return out


_taylor.register_rule(PeriodicEmbedding, _primal, _push)
