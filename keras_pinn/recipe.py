"""The accuracy recipe in one call: Adam with a decaying learning rate,
then full-batch L-BFGS, optionally within a wall-clock budget; and
:func:`network`, the recipe's default network.

Example:

```python
net = kp.recipe.network(domain, periodic={"x": 2.0})
model = kp.PINNModel(net, domain, pde, conditions=..., n_collocation=4096,
                     loss_balancing="gradnorm", point_weighting="causal")
result = model.fit_recipe(adam_steps=5000, lbfgs_steps=2000)   # or kp.recipe.train(model, ...)
```
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

import keras

from keras_pinn._validation import positive_int as _positive

__all__ = ["TimeLimit", "network", "train"]


class TimeLimit(keras.callbacks.Callback):
    """Stops training (``model.stop_training``) once ``seconds`` of wall
    time have passed since ``start`` (a ``time.perf_counter()`` value;
    default: the start of training). Works with ``fit`` and ``fit_lbfgs``.

    Args:
        seconds: the budget, > 0.
        start: the clock's origin, or None for ``on_train_begin``.
    """

    def __init__(self, seconds: float, start: float | None = None):
        super().__init__()
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
            raise ValueError(f"`seconds` must be a number > 0. Received: seconds={seconds!r}")
        self.seconds = float(seconds)
        self.start = start

    def on_train_begin(self, logs=None):
        if self.start is None:
            self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if time.perf_counter() - self.start >= self.seconds:
            self.model.stop_training = True


def train(
    model,
    adam_steps: int = 10_000,
    lbfgs_steps: int = 5_000,
    learning_rate: float = 1e-3,
    decay_rate: float = 0.9,
    decay_steps: int = 2_000,
    steps_per_epoch: int = 500,
    time_limit: float | None = None,
    adam_fraction: float = 0.7,
    callbacks=None,
    verbose=0,
    compile_kwargs: Mapping | None = None,
) -> dict:
    """Trains a :class:`~keras_pinn.PINNModel` with Adam, then L-BFGS.

    Adam runs ``adam_steps`` steps with the learning rate
    ``learning_rate * decay_rate ** (step / decay_steps)`` (jaxpi's
    schedule: 1e-3 decaying by 0.9 every 2000 steps), then full-batch
    L-BFGS (:func:`keras_pinn.lbfgs.fit_lbfgs`) runs up to ``lbfgs_steps``
    iterations or until it converges. Adam finds the basin; L-BFGS then
    reaches the accuracy Adam's noise floor hides (often one to two orders
    of magnitude in relative L2 on smooth problems). Point weightings and
    adaptive loss balancing act during Adam; L-BFGS minimises the plain
    losses with the weights reached by then.

    With ``time_limit`` (seconds) the whole call stops within the budget
    (up to one step or line search past it): Adam gets ``adam_fraction`` of
    it, L-BFGS the rest (and what Adam left unused).

    Args:
        model: a PINNModel. It is (re)compiled with Adam here.
        adam_steps: Adam steps, a positive int. Defaults to 10,000.
        lbfgs_steps: L-BFGS iterations at most, an int >= 0. Defaults to
            5,000.
        learning_rate: Adam's initial learning rate. Defaults to 1e-3.
        decay_rate: factor of the learning rate every ``decay_steps``.
            Defaults to 0.9.
        decay_steps: Defaults to 2,000.
        steps_per_epoch: steps per epoch (History's resolution, and the
            update period of epoch-wise balancers such as ``"gradnorm"``);
            the greatest common divisor of it and each phase's steps is
            used, so each phase runs exactly its steps. Defaults to 500.
        time_limit: wall-clock budget in seconds, or None (no limit).
        adam_fraction: Adam's share of ``time_limit``, in (0, 1]. Defaults
            to 0.7.
        callbacks: Keras callbacks for both phases.
        verbose: as in ``fit``. Defaults to 0.
        compile_kwargs: more ``compile`` arguments (e.g. ``jit_compile``).

    Returns:
        ``{"adam": History, "lbfgs": History or None, "seconds": {"adam":
        s, "lbfgs": s}}``.
    """
    adam_steps = _positive(adam_steps, "adam_steps")
    if isinstance(lbfgs_steps, bool) or not isinstance(lbfgs_steps, int) or lbfgs_steps < 0:
        raise ValueError(f"`lbfgs_steps` must be an integer >= 0. Received: lbfgs_steps={lbfgs_steps!r}")
    decay_steps = _positive(decay_steps, "decay_steps")
    steps_per_epoch = _positive(steps_per_epoch, "steps_per_epoch")
    for name, value in (("learning_rate", learning_rate), ("decay_rate", decay_rate)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"`{name}` must be a number > 0. Received: {name}={value!r}")
    if time_limit is not None and (
        isinstance(time_limit, bool) or not isinstance(time_limit, (int, float)) or not time_limit > 0
    ):
        raise ValueError(f"`time_limit` must be a number of seconds > 0 or None. Received: time_limit={time_limit!r}")
    if isinstance(adam_fraction, bool) or not isinstance(adam_fraction, (int, float)) or not 0 < adam_fraction <= 1:
        raise ValueError(f"`adam_fraction` must be in (0, 1]. Received: adam_fraction={adam_fraction!r}")
    callbacks = list(callbacks or [])
    schedule = keras.optimizers.schedules.ExponentialDecay(learning_rate, decay_steps, decay_rate)
    model.compile(optimizer=keras.optimizers.Adam(schedule), **dict(compile_kwargs or {}))

    start = time.perf_counter()
    limit = [] if time_limit is None else [TimeLimit(adam_fraction * time_limit, start=start)]
    per_epoch = math.gcd(adam_steps, steps_per_epoch)  # exactly adam_steps steps
    adam = model.fit(
        epochs=adam_steps // per_epoch, steps_per_epoch=per_epoch, callbacks=callbacks + limit, verbose=verbose
    )
    adam_seconds = time.perf_counter() - start

    lbfgs = None
    lbfgs_start = time.perf_counter()
    left = None if time_limit is None else time_limit - (lbfgs_start - start)
    if lbfgs_steps and (left is None or left > 0):
        limit = [] if left is None else [TimeLimit(left, start=lbfgs_start)]
        per = math.gcd(lbfgs_steps, steps_per_epoch)
        lbfgs = model.fit_lbfgs(
            epochs=lbfgs_steps // per, steps_per_epoch=per, callbacks=callbacks + limit, verbose=verbose
        )
    return {"adam": adam, "lbfgs": lbfgs, "seconds": {"adam": adam_seconds, "lbfgs": time.perf_counter() - lbfgs_start}}


def network(
    domain,
    outputs: int = 1,
    width: int = 64,
    depth: int = 4,
    fourier_features: int | None = 32,
    scale: float = 1.0,
    time_scale: float | None = None,
    periodic: Mapping[str, float] | None = None,
    architecture: str = "modified_mlp",
    activation="tanh",
    seed: int | None = 0,
) -> keras.Sequential:
    """The recipe's network: ``DomainScaler`` (inputs to ``[-1, 1]``), then
    a :class:`~keras_pinn.layers.PeriodicEmbedding` of the ``periodic``
    coordinates, random :class:`~keras_pinn.layers.FourierFeatures`, and a
    :class:`~keras_pinn.layers.ModifiedMLP` (or a
    :class:`~keras_pinn.layers.PirateNet`). Taylor mode covers all of it.

    Args:
        domain: the PINNModel's domain.
        outputs: number of output fields. Defaults to 1.
        width: hidden width. Defaults to 64.
        depth: gated layers of the modified MLP, or PirateNet blocks.
            Defaults to 4.
        fourier_features: number of Fourier frequencies, or None for no
            Fourier features. Defaults to 32.
        scale: spatial Fourier scale (of the scaled inputs). Defaults to 1.
        time_scale: temporal Fourier scale, or None for ``scale``.
        periodic: ``{coordinate name: period}`` (in the domain's units) of
            the coordinates with periodic boundaries, or None.
        architecture: ``"modified_mlp"`` (default) or ``"piratenet"``.
        activation: Defaults to ``"tanh"``.
        seed: seed of the Fourier features. Defaults to 0.
    """
    from keras_pinn import layers

    if architecture not in ("modified_mlp", "piratenet"):
        raise ValueError(
            f"`architecture` must be 'modified_mlp' or 'piratenet'. Received: architecture={architecture!r}"
        )
    names = tuple(domain.names)
    stack = [keras.Input((len(names),)), layers.DomainScaler(domain)]
    if periodic:
        for name in periodic:
            if name not in names:
                raise ValueError(
                    "`periodic` names an unknown coordinate: expected one "
                    f"of {names}. Received: periodic={dict(periodic)!r}"
                )
        axes = [names.index(n) for n in periodic]
        # After the DomainScaler a coordinate of length L spans 2: its period scales by 2 / L.
        periods = [
            float(periodic[n]) * 2.0 / float(domain.upper[names.index(n)] - domain.lower[names.index(n)])
            for n in periodic
        ]
        stack.append(layers.PeriodicEmbedding(axes, periods))
    if fourier_features:
        time_axis = -1
        if time_scale is not None and "t" in names:
            position = names.index("t")
            if periodic:  # the embedding puts the kept columns first, in order
                kept = [j for j in range(len(names)) if names[j] not in periodic]
                position = kept.index(position) if position in kept else -1
            time_axis = position
        stack.append(
            layers.FourierFeatures(fourier_features, scale=scale, time_scale=time_scale, time_axis=time_axis, seed=seed)
        )
    if architecture == "piratenet":
        stack.append(layers.PirateNet(width=width, blocks=depth, outputs=outputs, activation=activation))
    else:
        stack.append(layers.ModifiedMLP(width=width, depth=depth, outputs=outputs, activation=activation))
    return keras.Sequential(stack)
