"""The one decision of how input derivatives are taken.

:func:`resolve_method` turns a requested method (``"auto"``, ``"autodiff"``,
``"taylor"``, ``"finite_difference"``) and a network into the method used.
:class:`~keras_pinn.differentiation.Derivatives` (its ``method``) and
:class:`~keras_pinn.PINNModel` (its ``derivative_method``) both call it, so
they cannot disagree on which networks Taylor mode covers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras

from keras_pinn.differentiation import taylor

__all__ = ["METHODS", "resolve_method"]

#: The ``method`` values :class:`~keras_pinn.differentiation.Derivatives`
#: accepts (exact derivatives of a network with respect to its inputs).
METHODS = ("auto", "autodiff", "taylor")

# What resolve_method accepts: METHODS, and finite differences on a grid
# (PINNModel's derivative_method, for grid models).
_REQUESTS = METHODS + ("finite_difference",)


def resolve_method(
    network: Any,
    method: str = "auto",
    *,
    output_transform: Callable | None = None,
    adds_losses: bool = False,
    method_argument: str = "method",
    network_argument: str = "network",
) -> str:
    """The derivative method used for ``network`` when ``method`` is asked for.

    ``"auto"`` resolves to ``"taylor"`` where Taylor mode
    (:mod:`keras_pinn.differentiation.taylor`) can push derivatives through
    the network as it is called: :func:`~keras_pinn.differentiation.taylor.supports`
    accepts it, no ``output_transform`` follows it and none of its layers adds
    losses (Taylor mode reads the layers' weights without calling the
    network, so such losses would be lost). It resolves to ``"autodiff"``
    otherwise. ``"autodiff"`` and ``"finite_difference"`` are kept as they
    are (the network is not inspected); ``"taylor"`` is kept where Taylor
    mode covers the network, and refused otherwise.

    Args:
        network: the network (or any callable) whose input derivatives are
            needed.
        method: ``"auto"`` (default), ``"autodiff"``, ``"taylor"`` or
            ``"finite_difference"``.
        output_transform: the function applied to the network's outputs
            before the derivatives are taken, if any (a hard constraint).
        adds_losses: whether the network adds losses when called (e.g. an
            activity regularizer).
        method_argument: the name under which the caller received
            ``method``, for error messages (``"derivative_method"`` for
            :class:`~keras_pinn.PINNModel`).
        network_argument: the name under which the caller received
            ``network``, for error messages (``"fn"`` for
            :class:`~keras_pinn.differentiation.Derivatives`).

    Returns:
        ``"taylor"``, ``"autodiff"`` or ``"finite_difference"``.

    Raises:
        ValueError: for an unknown ``method``, or ``method="taylor"`` for a
            network Taylor mode does not cover, naming the cause.

    Example:

    ```python
    net = kp.layers.MLP([20, 20], 1, "tanh")
    net.build((None, 2))
    kp.differentiation.resolve_method(net)                    # "taylor"
    kp.differentiation.resolve_method(lambda z: z ** 2)       # "autodiff"
    ```
    """
    if method not in _REQUESTS:
        raise ValueError(f"`{method_argument}` must be one of {_REQUESTS}. Received: {method_argument}={method!r}")
    if method in ("autodiff", "finite_difference"):
        return method
    covered = output_transform is None and not adds_losses and taylor.supports(network)
    if covered:
        return "taylor"
    if method == "taylor":
        label = repr(network.name) if isinstance(network, keras.layers.Layer) else repr(network)
        raise ValueError(
            f"{method_argument}='taylor' needs a network Taylor mode can push derivatives through (a built "
            f"{taylor.SUPPORTED}; see keras_pinn.differentiation.taylor), with no `output_transform` and no "
            f"losses added by its layers. Received: {network_argument}={label}"
            + (", with an output_transform" if output_transform is not None else "")
            + (", which adds losses" if adds_losses else "")
        )
    return "autodiff"
