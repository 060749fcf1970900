"""``GridConv``: a convolutional network over a regular grid of points."""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from keras_pinn.differentiation.finite_difference import check_grid_shape, infer_grid

__all__ = ["GridConv", "check_regular_grid"]

_CONV = {1: "Conv1D", 2: "Conv2D", 3: "Conv3D"}


def check_regular_grid(points, grid_shape: Sequence[int]) -> tuple[float, ...]:
    """Checks that ``points`` form the regular grid :class:`GridConv` expects.

    :class:`GridConv` reshapes its ``(N, d)`` input into an image without
    looking at the values (it cannot: inside a compiled function they are
    symbolic), so points in another order or off the grid silently give
    meaningless convolutions. This NumPy check catches that: the points must
    be ``prod(grid_shape)`` rows in C order as :meth:`keras_pinn.Box.grid`
    gives them (column ``j`` varies along grid axis ``j`` only, increasing
    with a constant step; the last column fastest).

    :class:`~keras_pinn.PINNModel` with ``derivative_method=
    "finite_difference"`` runs the same check on its collocation points, so
    PINN users get it for free; call this function yourself for points you
    feed to a GridConv network directly (``predict``, plain ``fit``).

    Args:
        points: ``(N, d)`` array of points.
        grid_shape: the grid's point counts, ``d`` integers.

    Returns:
        The grid step along each coordinate.

    Raises:
        ValueError: ``"points do not form a regular grid ..."`` when they do
            not.

    Example:

    ```python
    box = keras_pinn.Box([0.0, 0.0], [1.0, 2.0])
    check_regular_grid(box.grid((17, 33)), (17, 33))   # (0.0625, 0.0625)
    ```
    """
    _, spacing = infer_grid(points, grid_shape)
    return spacing


@keras.saving.register_keras_serializable(package="keras_pinn")
class GridConv(keras.layers.Layer):
    """A CNN applied to a regular grid of collocation points.

    Treats the ``N = prod(grid_shape)`` points of a regular grid as the
    pixels of one image: the ``(N, d)`` rows are reshaped into a
    ``(1, *grid_shape, d)`` image (the coordinates are its channels), the
    wrapped stack of convolutions maps it to ``(1, *grid_shape, m)``, and the
    result is reshaped back to ``(N, m)`` fields, one row per point. The
    points must be in C order, as :meth:`keras_pinn.Box.grid` and
    ``sampler="grid"`` give them (last coordinate fastest); the layer cannot
    check values (they are symbolic inside compiled functions), only the
    number of rows: use :func:`check_regular_grid` on points you feed it.

    Input derivatives by autodiff (``derivative_method="autodiff"``): each
    output of a convolution depends on the coordinates of its neighbouring
    points too, so "``du/dx``" of a grid network is ambiguous. keras-pinn
    defines it, on every backend, as

        D_j u_i = sum_k du_i/dx_kj,

    the derivative of output ``i`` when *all* the points move together along
    coordinate ``j`` (the Jacobian's row sum: a Jacobian-vector product with
    the tangent ``e_j`` on every row). Reason: for the usual CNN over the
    coordinates (same convolutions everywhere on a uniform grid), moving
    every point by one grid step is, away from the edges, the same as
    reading the field one point further, so this *is* the derivative of the
    predicted field there, the quantity finite differences on the grid
    approximate at O(h^2). Within a
    receptive field of the edges the zero padding does not move with the
    points and the two part ways: that, not the sum itself, is where the
    source article's objection to CNNs in PINNs holds. The other candidates
    are worse: the diagonal ``du_i/dx_ij`` (point ``i`` moved alone) is not
    a field derivative anywhere and costs one pass per point, and the
    column sum ``sum_k du_k/dx_ij`` (what one reverse pass gives) approaches
    the field derivative only at first order in h. For networks that treat each
    point on its own (MLPs) all three are the pointwise derivative. JAX's
    forward mode computes this sum as is; on TensorFlow and PyTorch the
    layer reports, while called, that it mixes points, and the reverse-mode
    engines then take a double backward pass (one more pass than
    coordinates, per derivative) instead of their usual one.

    The remedy at the edges, as in PhyGeoNet, is to change the problem
    setting: differentiate the *field* on the grid by finite differences,
    i.e. ``PINNModel(..., sampler="grid",
    derivative_method="finite_difference")`` (see
    :class:`keras_pinn.differentiation.GridDerivatives`).

    Args:
        layers: the convolution stack: a list of Keras layers or a Keras
            model (e.g. ``keras.Sequential``) mapping ``(1, *grid_shape, d)``
            images to ``(1, *grid_shape, m)``, e.g. ``Conv2D`` layers with
            ``padding="same"`` for a 2-D grid.
        grid_shape: point counts of the grid, one per coordinate (1 to 3
            coordinates, for ``Conv1D`` / ``Conv2D`` / ``Conv3D``).
        **kwargs: base layer arguments (``name``, ``dtype``, ...).

    Call arguments:
        inputs: the ``(N, d)`` grid points, ``N = prod(grid_shape)``.
        training: passed to the stack.

    Input shape:
        ``(N, d)`` with ``N = prod(grid_shape)`` and ``d = len(grid_shape)``
        (or any ``d``: the stack sees ``d`` input channels).

    Output shape:
        ``(N, m)``, ``m`` the stack's output channels.

    Example:

    ```python
    box = keras_pinn.Box([0.0, 0.0], [1.0, 1.0], names=("x", "y"))
    net = keras.Sequential([
        keras.Input((2,)),
        keras_pinn.layers.DomainScaler(box),
        GridConv([keras.layers.Conv2D(16, 3, padding="same", activation="tanh"),
                  keras.layers.Conv2D(1, 1)], grid_shape=(17, 17)),
    ])                                  # or GridConv.default((17, 17), 2, 1)
    u = net(box.grid((17, 17)))         # (289, 1); predict(..., batch_size=289)
    model = keras_pinn.PINNModel(net, box, pde, n_collocation=17 * 17,
                                 sampler="grid",
                                 derivative_method="finite_difference")
    ```

    References:
        H. Gao, L. Sun, J.-X. Wang, "PhyGeoNet: Physics-informed
        geometry-adaptive convolutional neural networks for solving
        parameterized steady-state PDEs on irregular domain", Journal of
        Computational Physics 428 (2021) 110079.
        R. Bischof, "4 Ideas for Physics-Informed Neural Networks that
        Failed", section 3 (convolutional neural networks).
    """

    def __init__(self, layers: Sequence[keras.Layer] | keras.Layer, grid_shape: Sequence[int], **kwargs):
        super().__init__(**kwargs)
        if isinstance(layers, dict):
            layers = keras.saving.deserialize_keras_object(layers)
        if isinstance(layers, keras.Layer):
            stack = layers
        elif isinstance(layers, (list, tuple)) and layers and all(isinstance(layer, keras.Layer) for layer in layers):
            stack = keras.Sequential(list(layers))
        else:
            raise ValueError(
                "`layers` must be a non-empty list of Keras layers or a Keras model mapping "
                f"(1, *grid_shape, d) images to (1, *grid_shape, m). Received: layers={layers!r}"
            )
        shape = check_grid_shape(grid_shape, minimum=1)
        if len(shape) > 3:
            raise ValueError(
                f"`grid_shape` must have 1 to 3 entries (Conv1D to Conv3D grids). Received: grid_shape={grid_shape!r}"
            )
        self.stack = stack
        self.grid_shape = shape

    @property
    def num_points(self) -> int:
        """``prod(grid_shape)``, the number of points the layer expects."""
        return math.prod(self.grid_shape)

    def _image_shape(self, input_shape):
        return (1,) + self.grid_shape + (input_shape[-1],)

    def _check_input_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise ValueError(
                f"GridConv expects (N, d) points, one row per grid point. Received: input_shape={input_shape}"
            )
        if input_shape[0] is not None and input_shape[0] != self.num_points:
            raise ValueError(
                f"GridConv expects the N = prod(grid_shape) = {self.num_points} points of its "
                f"{'x'.join(map(str, self.grid_shape))} grid, one row per point in C order (as "
                f"Box.grid(grid_shape) gives them), but received {input_shape[0]} points "
                f"(input_shape={input_shape}). With `predict`, pass batch_size={self.num_points}. "
                f"Received: grid_shape={self.grid_shape}"
            )

    def build(self, input_shape):
        self._check_input_shape(input_shape)
        image = self._image_shape(input_shape)
        if not self.stack.built:
            self.stack.build(image)
        out = tuple(self.stack.compute_output_shape(image))
        if len(out) != len(image) or out[1:-1] != self.grid_shape:
            raise ValueError(
                f"The convolution stack must keep the grid's shape {self.grid_shape} (use "
                f"padding='same' and stride 1): it maps images {image} to {out}. "
                f"Received: grid_shape={self.grid_shape}"
            )

    def call(self, inputs, training=None):
        from keras_pinn.backend import note_point_mixing  # local: keeps this module's imports as they are

        self._check_input_shape(inputs.shape)
        note_point_mixing()  # each output depends on the neighbours' points: see "Input derivatives"
        image = ops.reshape(inputs, self._image_shape(inputs.shape))
        out = self.stack(image, training=training)
        return ops.reshape(out, (-1, out.shape[-1]))

    def compute_output_shape(self, input_shape):
        out = self.stack.compute_output_shape(self._image_shape(input_shape))
        return (input_shape[0], out[-1])

    def get_config(self):
        config = super().get_config()
        config.update(
            layers=keras.saving.serialize_keras_object(self.stack),
            grid_shape=list(self.grid_shape),
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layers"] = keras.saving.deserialize_keras_object(config["layers"])
        return cls(**config)

    @classmethod
    def default(
        cls,
        grid_shape: Sequence[int],
        in_dim: int,
        out_dim: int,
        filters: int = 32,
        depth: int = 3,
        kernel_size: int = 3,
        activation: str = "tanh",
        **kwargs,
    ) -> GridConv:
        """A plain CNN over the grid, built for ``(N, in_dim)`` points.

        ``depth`` convolutions of ``filters`` channels, ``kernel_size`` wide,
        ``padding="same"`` and ``activation``, then a linear 1-wide
        convolution to ``out_dim`` channels; ``Conv1D``, ``Conv2D`` or
        ``Conv3D`` after the number of grid axes.

        Args:
            grid_shape: point counts of the grid, 1 to 3 entries.
            in_dim: input columns per point (the image's channels).
            out_dim: output fields per point.
            filters: channels of the hidden convolutions. Defaults to 32.
            depth: number of hidden convolutions. Defaults to 3.
            kernel_size: width of the hidden kernels. Defaults to 3.
            activation: activation of the hidden convolutions. Defaults to
                ``"tanh"``.
            **kwargs: passed to :class:`GridConv` (e.g. ``name``).

        Example:

        ```python
        layer = GridConv.default((17, 17), in_dim=2, out_dim=1, filters=16)
        u = layer(box.grid((17, 17)))   # (289, 1)
        ```
        """
        shape = check_grid_shape(grid_shape, minimum=1)
        if len(shape) > 3:
            raise ValueError(f"`grid_shape` must have 1 to 3 entries. Received: grid_shape={grid_shape!r}")
        for name, value, minimum in (
            ("in_dim", in_dim, 1),
            ("out_dim", out_dim, 1),
            ("filters", filters, 1),
            ("depth", depth, 0),
            ("kernel_size", kernel_size, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
                raise ValueError(f"`{name}` must be an integer >= {minimum}. Received: {name}={value!r}")
        conv = getattr(keras.layers, _CONV[len(shape)])
        stack = [conv(int(filters), int(kernel_size), padding="same", activation=activation) for _ in range(int(depth))]
        stack.append(conv(int(out_dim), 1, padding="same"))
        layer = cls(stack, shape, **kwargs)
        layer.build((math.prod(shape), int(in_dim)))
        return layer
