"""Loss balancing: the weights of a PINN's loss terms, fixed or adapted
during training.

A balancer is chosen by name in :class:`~keras_pinn.PINNModel`
(``loss_balancing="relobralo"``) or passed as an instance. It holds its state
in non-trainable variables of the model (saved with it), updates them inside
the train step from the terms' unweighted losses, and returns the weights
that multiply those losses. The weights are logged every epoch in History as
``<term>_weight`` (for every balancer but :class:`FixedWeights`).

Subclasses implement :meth:`LossBalancer.update` in ``keras.ops`` (it runs in
the compiled train step on every backend); balancers that need gradients
(learning-rate annealing) also implement :meth:`LossBalancer.on_epoch_end`,
which the model calls between epochs.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import ops

__all__ = ["FixedWeights", "LossBalancer", "get"]


@keras.saving.register_keras_serializable(package="keras_pinn")
class LossBalancer(keras.layers.Layer):
    """Base class of the loss balancers.

    The model calls :meth:`setup` once with its term names and fixed weights
    (each term's ``weight``); :meth:`update` in every training step with the
    unweighted losses ``{term: scalar}``; :meth:`current` to read the weights
    without updating them (evaluation, L-BFGS); and :meth:`on_epoch_end`
    between epochs.
    """

    #: Whether the weights change during training (and are logged).
    adaptive = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.term_names: tuple[str, ...] = ()
        self.base_weights: tuple[float, ...] = ()

    def setup(self, term_names: Sequence[str], base_weights: Sequence[float]):
        """Creates the state for the model's terms, in their order."""
        self.term_names = tuple(term_names)
        self.base_weights = tuple(float(w) for w in base_weights)
        self.built = True

    def current(self) -> dict:
        """The weights now, ``{term: scalar tensor}``."""
        raise NotImplementedError

    def update(self, losses: dict, training: bool = True) -> dict:
        """Updates the state from this step's unweighted ``losses`` (when
        ``training``) and returns the weights to apply to them."""
        return self.current()

    def on_epoch_end(self, model, epoch: int):
        """Called by the model between epochs; the default does nothing."""

    def get_config(self):
        return super().get_config()


@keras.saving.register_keras_serializable(package="keras_pinn")
class FixedWeights(LossBalancer):
    """Each term keeps its own ``weight`` (default 1): no balancing."""

    adaptive = False

    def current(self):
        return {n: ops.convert_to_tensor(w, dtype=keras.config.floatx()) for n, w in zip(self.term_names, self.base_weights)}


_BALANCERS = {"fixed": FixedWeights}


def get(identifier) -> LossBalancer:
    """A balancer from a name (``"fixed"``, ...), a config dict or an
    instance."""
    if identifier is None:
        identifier = "fixed"
    if isinstance(identifier, LossBalancer):
        return identifier
    if isinstance(identifier, dict):
        return keras.saving.deserialize_keras_object(identifier)
    if isinstance(identifier, str) and identifier.lower() in _BALANCERS:
        return _BALANCERS[identifier.lower()]()
    raise ValueError(
        f"`loss_balancing` must be one of {tuple(_BALANCERS)} or a keras_pinn.balancing.LossBalancer. "
        f"Received: loss_balancing={identifier!r}"
    )
