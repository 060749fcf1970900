"""ReLU raised to a power, and the article's block of parallel power branches.

A PDE of order ``n`` needs an activation with ``n + 1`` non-zero derivatives
(``n`` with respect to the inputs, one more with respect to the weights).
Plain ReLU has a constant first derivative and a zero second one, so it cannot
be used; ``relu(x) ** k`` has ``k`` non-zero derivatives for ``x > 0``:

    d^j/dx^j relu(x)^k = k! / (k - j)! * relu(x)^(k - j)   for j <= k,
    and 0 for j > k.

:class:`ParallelPowerBlock` is the architecture the article tried (and found
not to converge): branches side by side, branch ``k`` using ``relu^k`` for
``k = 1 .. max_power``, whose outputs are combined.

As activations: :func:`relu2` ... :func:`relu5` are registered functions
(``"keras_pinn>relu2"`` ... ``"keras_pinn>relu5"``). Pass the function object,
``keras.layers.Dense(8, activation=relu3)``; the layer is saved with the name
``"keras_pinn>relu3"`` and restored by ``keras.saving.load_model``. The bare
string ``activation="keras_pinn>relu3"`` does not work in Keras 3 (up to at
least 3.15): ``keras.activations.get`` resolves strings among the built-in
activations only. ``keras.saving.get_registered_object("keras_pinn>relu3")``
or ``keras.activations.get(keras.activations.serialize(relu3))`` turn the
name into the function.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import keras
import numpy as np
from keras import ops

__all__ = [
    "PowReLU",
    "ParallelPowerBlock",
    "pow_relu",
    "relu2",
    "relu3",
    "relu4",
    "relu5",
]


def _validate_power(power: Any, name: str = "power") -> float | int:
    if isinstance(power, bool) or not isinstance(power, numbers.Real):
        raise ValueError(f"`{name}` must be a real number >= 1. Received: {name}={power!r}")
    if not math.isfinite(float(power)):
        raise ValueError(f"`{name}` must be finite and >= 1. Received: {name}={power!r}")
    if power < 1:
        raise ValueError(f"`{name}` must be >= 1. Received: {name}={power!r}")
    # Plain Python number, so that get_config stays JSON-serialisable.
    if isinstance(power, numbers.Integral):
        return int(power)
    number = float(power)
    return int(number) if number.is_integer() else number


def pow_relu(x: Any, power: float = 2) -> Any:
    """ReLU raised to a power: ``relu(x) ** power``.

    Integer powers are computed by repeated multiplication, so that all input
    derivatives (including at ``x = 0``, where they are 0) are finite on every
    backend; ``ops.power`` with a float exponent can give NaN gradients at 0.
    Non-integer powers use ``ops.power`` on the positive part only, behind a
    safe ``where``.

    Args:
        x: Input tensor.
        power: Exponent, a finite real number ``>= 1``. Defaults to 2.

    Returns:
        A tensor of the same shape and dtype as ``x``.

    Example:

    >>> import numpy as np
    >>> np.asarray(pow_relu(np.array([-1.0, 0.0, 2.0]), power=3)).tolist()
    [0.0, 0.0, 8.0]
    """
    power = _validate_power(power)
    x = ops.convert_to_tensor(x)
    r = ops.relu(x)
    if isinstance(power, int):
        out = r
        for _ in range(power - 1):
            out = out * r
        return out
    positive = r > 0
    safe = ops.where(positive, r, ops.ones_like(r))
    return ops.where(positive, ops.power(safe, power), ops.zeros_like(r))


# Activation functions usable by object or through the serialisation registry.
# Note: in Keras 3, ``keras.activations.get("keras_pinn>relu3")`` does NOT
# resolve registered names (a string is only looked up among the built-in
# activations). Pass the function itself, e.g.
# ``keras.layers.Dense(8, activation=relu3)``; it is saved as
# ``"keras_pinn>relu3"`` and restored by ``keras.saving.load_model`` and
# ``keras.activations.get(keras.activations.serialize(relu3))``.


@keras.saving.register_keras_serializable(package="keras_pinn")
def relu2(x: Any) -> Any:
    """``relu(x) ** 2``: activation for first-order PDEs (2 derivatives).

    Registered as ``"keras_pinn>relu2"``; use it as
    ``keras.layers.Dense(8, activation=relu2)``.
    """
    return pow_relu(x, 2)


@keras.saving.register_keras_serializable(package="keras_pinn")
def relu3(x: Any) -> Any:
    """``relu(x) ** 3``: activation for second-order PDEs (3 derivatives).

    Registered as ``"keras_pinn>relu3"``; use it as
    ``keras.layers.Dense(8, activation=relu3)``.
    """
    return pow_relu(x, 3)


@keras.saving.register_keras_serializable(package="keras_pinn")
def relu4(x: Any) -> Any:
    """``relu(x) ** 4``: activation for third-order PDEs (4 derivatives).

    Registered as ``"keras_pinn>relu4"``; use it as
    ``keras.layers.Dense(8, activation=relu4)``.
    """
    return pow_relu(x, 4)


@keras.saving.register_keras_serializable(package="keras_pinn")
def relu5(x: Any) -> Any:
    """``relu(x) ** 5``: activation for fourth-order PDEs (5 derivatives).

    Registered as ``"keras_pinn>relu5"``; use it as
    ``keras.layers.Dense(8, activation=relu5)``.
    """
    return pow_relu(x, 5)


@keras.saving.register_keras_serializable(package="keras_pinn")
class PowReLU(keras.layers.Layer):
    """ReLU raised to a power, ``relu(x) ** power``, as a layer.

    For a PDE of order ``n`` use ``power = n + 1``: the activation then has
    ``n + 1`` non-zero derivatives for ``x > 0`` (``n`` for the residual, one
    for the weight update). Integer powers are computed by repeated
    multiplication so that derivatives at 0 are well defined on every backend.

    The fixed powers 2 to 5 also exist as registered activation functions
    (:func:`relu2` ... :func:`relu5`) that can be passed to any Keras layer's
    ``activation`` argument and survive ``.keras`` saving.

    Args:
        power: Exponent, a finite real number ``>= 1``. Defaults to 2.
        **kwargs: Base layer keyword arguments (``name``, ``dtype``, ...).

    Call arguments:
        inputs: A tensor of any shape.

    Input shape:
        Arbitrary.

    Output shape:
        Same as the input.

    Example:

    >>> import numpy as np
    >>> layer = PowReLU(power=3)
    >>> np.asarray(layer(np.array([[-2.0, 0.5, 2.0]]))).tolist()
    [[0.0, 0.125, 8.0]]

    References:
        R. Bischof, "4 Ideas for Physics-Informed Neural Networks that
        failed" (2023), section "ReLU**(n+1) activation".
    """

    def __init__(self, power: float = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.power = _validate_power(power)
        self.supports_masking = True

    def build(self, input_shape: tuple) -> None:
        self.built = True

    def call(self, inputs: Any) -> Any:
        return pow_relu(inputs, self.power)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"power": self.power})
        return config


_COMBINE_MODES = ("concat", "sum")


@keras.saving.register_keras_serializable(package="keras_pinn")
class ParallelPowerBlock(keras.layers.Layer):
    """Parallel Dense branches with ReLU raised to the powers ``1 .. max_power``.

    The article's architecture: branch ``k`` (``k = 1 .. max_power``) is a
    stack of ``n_layers`` Dense layers of ``units`` units, each followed by
    ``relu(x) ** k``; the branch outputs are concatenated (``combine="concat"``)
    or added (``combine="sum"``). For a PDE of order ``n`` the article uses
    ``max_power = n + 1`` so that the patterns of each order of
    differentiation can be captured by the branch able to represent it. The
    article reports that this architecture failed to converge.

    Args:
        units: Units of every Dense layer, ``>= 1``.
        max_power: Highest power, ``>= 1``; one branch per power
            ``1, 2, ..., max_power``.
        n_layers: Dense layers per branch, ``>= 1``. Defaults to 1.
        combine: ``"concat"`` (default) or ``"sum"``.
        use_bias: Whether the Dense layers use a bias. Defaults to True.
        kernel_initializer: Initializer of the Dense kernels. Defaults to
            ``"glorot_normal"`` (as in the article's code).
        bias_initializer: Initializer of the Dense biases. Defaults to
            ``"zeros"``.
        **kwargs: Base layer keyword arguments (``name``, ``dtype``, ...).

    Call arguments:
        inputs: A tensor of shape ``(..., features)``.

    Input shape:
        ``(..., features)``, at least 2D.

    Output shape:
        ``(..., units * max_power)`` with ``combine="concat"``,
        ``(..., units)`` with ``combine="sum"``.

    Example:

    >>> import numpy as np
    >>> block = ParallelPowerBlock(units=4, max_power=3)
    >>> tuple(block(np.zeros((5, 2), "float32")).shape)
    (5, 12)

    References:
        R. Bischof, "4 Ideas for Physics-Informed Neural Networks that
        failed" (2023), section "ReLU**(n+1) activation".
    """

    def __init__(
        self,
        units: int,
        max_power: int,
        n_layers: int = 1,
        combine: str = "concat",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_normal",
        bias_initializer: Any = "zeros",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        for arg, value in (
            ("units", units),
            ("max_power", max_power),
            ("n_layers", n_layers),
        ):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"`{arg}` must be an integer >= 1. Received: {arg}={value!r}")
        if combine not in _COMBINE_MODES:
            raise ValueError(f"`combine` must be one of {_COMBINE_MODES}. Received: combine={combine!r}")
        self.units = int(units)
        self.max_power = int(max_power)
        self.n_layers = int(n_layers)
        self.combine = combine
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.powers = tuple(range(1, self.max_power + 1))
        self.branches = [
            [
                keras.layers.Dense(
                    self.units,
                    use_bias=self.use_bias,
                    kernel_initializer=keras.initializers.get(keras.initializers.serialize(self.kernel_initializer)),
                    bias_initializer=keras.initializers.get(keras.initializers.serialize(self.bias_initializer)),
                    dtype=self.dtype_policy,
                    name=f"power{k}_dense{j}",
                )
                for j in range(self.n_layers)
            ]
            for k in self.powers
        ]

    def build(self, input_shape: tuple) -> None:
        input_shape = tuple(input_shape)
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(
                "`ParallelPowerBlock` needs inputs of rank >= 2 with a known "
                f"last dimension. Received: input_shape={input_shape}"
            )
        for branch in self.branches:
            shape = input_shape
            for dense in branch:
                dense.build(shape)
                shape = dense.compute_output_shape(shape)
        self.input_spec = keras.InputSpec(min_ndim=2, axes={-1: input_shape[-1]})
        self.built = True

    def call(self, inputs: Any) -> Any:
        outputs = []
        for power, branch in zip(self.powers, self.branches, strict=True):
            h = inputs
            for dense in branch:
                h = pow_relu(dense(h), power)
            outputs.append(h)
        if len(outputs) == 1:
            return outputs[0]
        if self.combine == "concat":
            return ops.concatenate(outputs, axis=-1)
        total = outputs[0]
        for h in outputs[1:]:
            total = total + h
        return total

    def preserve_variance(self, inputs: Any) -> ParallelPowerBlock:
        """Variance-preserving (data-dependent) initialisation of every branch.

        ``relu(z)^k`` is homogeneous of degree ``k``, so a Dense layer feeding
        it that is scaled by ``c`` scales the branch's output by ``c^k``:
        through ``n_layers`` layers a fixed initialisation multiplies the
        output's spread by a power ``k^n_layers`` of its deviation from one,
        and at depth 8 the ``k >= 2`` branches start with outputs of exactly
        zero (or overflow). This rescales each Dense layer in turn, layer by
        layer as in LSUV (Mishkin & Matas 2016), so that every layer's
        output has unit standard deviation on ``inputs``. Call it once,
        after building and before training, with a sample of the inputs the
        block will see (e.g. scaled collocation points).

        Limitation: the unit spread holds on ``inputs``. A branch of
        ``n_layers`` relu^k layers is a piecewise polynomial of degree
        ``k^n_layers``, so for ``k >= 2`` and deep branches its values on other
        points still range over orders of magnitude (at depth 8 the relu^2
        and relu^3 branches measured 1e-13 to 1e3 on fresh samples): the
        initialisation removes dead branches at the start, not the
        ill-conditioning of the architecture.

        Args:
            inputs: A sample of inputs, shape ``(n, features)`` with ``n >= 2``.

        Returns:
            The block itself.

        Raises:
            ValueError: if a layer's output has no spread on ``inputs`` (every
                unit inactive), which no scaling can mend.
        """
        x = ops.convert_to_tensor(inputs, dtype=self.compute_dtype)
        if not self.built:
            self.build(tuple(x.shape))
        for power, branch in zip(self.powers, self.branches, strict=True):
            h = x
            for j, dense in enumerate(branch):
                std = float(np.std(ops.convert_to_numpy(pow_relu(dense(h), power))))
                if not (math.isfinite(std) and std > 0):
                    raise ValueError(
                        f"Layer {j} of the relu^{power} branch has no output spread on the given inputs, so "
                        f"it cannot be rescaled to unit variance. Received: output std={std!r}"
                    )
                factor = std ** (-1.0 / power)
                dense.kernel.assign(dense.kernel * factor)
                if dense.use_bias:
                    dense.bias.assign(dense.bias * factor)
                h = pow_relu(dense(h), power)
        return self

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        width = self.units * self.max_power if self.combine == "concat" else (self.units)
        return tuple(input_shape)[:-1] + (width,)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "max_power": self.max_power,
                "n_layers": self.n_layers,
                "combine": self.combine,
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
