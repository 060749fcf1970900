"""Hard Dirichlet conditions from a signed distance: ``u = g + phi * N``."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
import numpy as np
from keras import ops

from keras_pinn.domains import SpaceTime
from keras_pinn.geometry.base import Geometry, as_geometry

__all__ = ["HardDirichlet"]


@keras.saving.register_keras_serializable(package="keras_pinn")
class HardDirichlet:
    """An ``output_transform`` that imposes ``u = g`` on a geometry's whole
    boundary exactly: ``u = g(x) + phi(x) * N(x)``, with ``N`` the network's
    output and ``phi = -geometry.sdf_ops(x)`` (zero on the boundary, positive
    inside). Pass it as ``PINNModel(..., output_transform=HardDirichlet(...))``.

    The exact distance of a polygon or a CSG combination has kinks (on its
    medial axis), which second-derivative PDEs then see; pass a smooth
    ``phi`` of your own where that matters.

    Args:
        geometry: a :class:`Geometry` (or 2-D/3-D Box, or a
            :class:`GeometryXTime`, whose space part is used).
        value: ``g``: a number, or a callable ``g(x) -> (n,) or (n, 1)``
            written in ``keras.ops`` (register it with
            ``keras.saving.register_keras_serializable`` to save models).
            It must equal the boundary data on the boundary. Defaults to 0.
        components: output indices the constraint applies to; None for
            all. Others pass through unchanged.
        phi: optional ``phi(x) -> (n,)`` in ``keras.ops`` replacing the
            signed distance (zero on the boundary, positive inside).

    Example:

    ```python
    domain = kp.geometry.Rectangle([-1, -1], [1, 1]) - kp.geometry.Disk([0, 0], 0.3)
    model = kp.PINNModel(net, domain, poisson, output_transform=kp.geometry.HardDirichlet(domain))
    ```
    """

    def __init__(
        self,
        geometry,
        value: float | Callable = 0.0,
        components: Sequence[int] | None = None,
        phi: Callable | None = None,
    ):
        if isinstance(geometry, dict):
            geometry = keras.saving.deserialize_keras_object(geometry)
        self._space_dims = None
        if isinstance(geometry, SpaceTime):
            if not isinstance(geometry.space, Geometry) and geometry.space.dim not in (2, 3):
                raise ValueError(f"`geometry` must be a 2-D or 3-D region. Received: geometry={geometry!r}")
            self._space_dims = geometry.space.dim
            space = as_geometry(geometry.space)
        else:
            try:
                space = as_geometry(geometry)
            except ValueError as error:
                raise ValueError(
                    f"`geometry` must be a keras_pinn geometry. Received: geometry={geometry!r}"
                ) from error
        self.geometry = geometry
        self._space = space
        if isinstance(value, dict):
            value = keras.saving.deserialize_keras_object(value)
        if not callable(value):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not np.isfinite(value):
                raise ValueError(f"`value` must be a finite number or a callable. Received: value={value!r}")
            value = float(value)
        self.value = value
        if components is not None:
            components = [components] if isinstance(components, int) else list(components)
            if not components or any(isinstance(c, bool) or not isinstance(c, int) or c < 0 for c in components):
                raise ValueError(
                    f"`components` must be output indices (integers >= 0) or None. Received: components={components!r}"
                )
        self.components = components
        if isinstance(phi, dict):
            phi = keras.saving.deserialize_keras_object(phi)
        if phi is not None and not callable(phi):
            raise ValueError(f"`phi` must be callable or None. Received: phi={phi!r}")
        self.phi = phi

    def distance(self, x):
        """``phi(x)`` as an ``(n, 1)`` tensor."""
        if self.phi is not None:
            phi = self.phi(x)
        else:
            space = x if self._space_dims is None else x[:, : self._space_dims]
            phi = -self._space.sdf_ops(space)
        phi = ops.convert_to_tensor(phi)
        return ops.reshape(phi, (-1, 1))

    def __call__(self, x, u):
        phi = ops.cast(self.distance(x), u.dtype)
        if callable(self.value):
            g = ops.reshape(ops.cast(ops.convert_to_tensor(self.value(x)), u.dtype), (-1, 1))
        else:
            g = self.value
        constrained = g + phi * u
        if self.components is None:
            return constrained
        m = u.shape[-1]
        bad = [c for c in self.components if m is not None and c >= m]
        if bad:
            raise ValueError(f"`components` {bad} out of range for {m} outputs. Received: components={self.components}")
        columns = [constrained[:, j : j + 1] if j in self.components else u[:, j : j + 1] for j in range(m)]
        return ops.concatenate(columns, axis=1)

    def get_config(self):
        value = self.value if not callable(self.value) else keras.saving.serialize_keras_object(self.value)
        return {
            "geometry": keras.saving.serialize_keras_object(self.geometry),
            "value": value,
            "components": self.components,
            "phi": None if self.phi is None else keras.saving.serialize_keras_object(self.phi),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"HardDirichlet({self.geometry!r}, value={self.value!r}, components={self.components})"
