"""Loss balancing: the weights of a PINN's loss terms, fixed or adapted
during training.

A balancer is chosen by name in :class:`~keras_pinn.PINNModel`
(``loss_balancing="relobralo"``) or passed as an instance:

========================  ==============================================
name                      balancer
========================  ==============================================
``"fixed"`` (default)     :class:`FixedWeights`: each term's ``weight``
``"relobralo"``           :class:`ReLoBRaLo` (Bischof & Kraus 2021)
``"annealing"``           :class:`LearningRateAnnealing` (Wang, Teng &
                          Perdikaris 2021)
``"softadapt"``           :class:`SoftAdapt` (Heydari et al. 2019)
``"gradnorm"``            :class:`GradNorm` (jaxpi's gradient-norm
                          weights, Wang et al. 2023)
========================  ==============================================

A balancer holds its state in non-trainable variables of the model (saved
with it in ``.keras`` files), updates them inside the train step from the
terms' unweighted losses, and returns the weights that multiply those
losses. The weights are logged every epoch in History as ``<term>_weight``
(for every balancer but :class:`FixedWeights`); ``model.loss_weights()``
reads them at any time.

**Fixed and adaptive weights.** Every balancer multiplies its adaptive
weight by the term's own fixed ``weight`` (``pde_weight`` for the PDE, the
``weight`` argument of each condition, default 1): the weight applied to
term ``i`` is ``w_i = weight_i * lambda_i``, where ``lambda_i`` is the
balancer's weight, 1 for every term at the start. So the fixed weights set a
prior scale and the balancer adapts around it; with all fixed weights at 1
(the default) the applied weights are the balancer's own. The balancers
see the *unweighted* losses.

The state is updated only in training steps (``fit``): ``evaluate``,
``predict`` and L-BFGS read the weights without changing them.

Subclasses implement :meth:`LossBalancer.update` in ``keras.ops`` (it runs in
the compiled train step on every backend: ``jax.jit``, ``tf.function`` or
PyTorch eager); balancers that need gradients (learning-rate annealing)
implement :meth:`LossBalancer.on_epoch_end` instead, which the model calls
between epochs.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from keras_pinn import _validation
from keras_pinn._validation import positive_int as _positive_int

__all__ = ["FixedWeights", "GradNorm", "LearningRateAnnealing", "LossBalancer", "ReLoBRaLo", "SoftAdapt", "get"]

# Added to denominators; tiny so that it never matters next to a loss
# (PINN losses reach 1e-10 and below), yet representable in float32.
_TINY = 1e-30


@keras.saving.register_keras_serializable(package="keras_pinn")
class LossBalancer(keras.layers.Layer):
    """Base class of the loss balancers.

    The model calls :meth:`setup` once with its term names and fixed weights
    (each term's ``weight``); :meth:`update` in every training step with the
    unweighted losses ``{term: scalar}``; :meth:`current` to read the weights
    without updating them (evaluation, L-BFGS); and :meth:`on_epoch_end`
    between epochs. A balancer instance belongs to one model.
    """

    #: Whether the weights change during training (and are logged).
    adaptive = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.term_names: tuple[str, ...] = ()
        self.base_weights: tuple[float, ...] = ()
        self._is_set_up = False

    def setup(self, term_names: Sequence[str], base_weights: Sequence[float]):
        """Creates the state for the model's terms, in their order.
        Subclasses call it first, then create their variables with
        ``self.add_weight(..., trainable=False)``."""
        if self._is_set_up:
            raise ValueError(
                f"This {type(self).__name__} already balances the terms {self.term_names}: "
                "a balancer instance belongs to one model. Pass a new instance (or a name) "
                f"to each model. Received: term_names={tuple(term_names)}"
            )
        self.term_names = tuple(term_names)
        self.base_weights = tuple(float(w) for w in base_weights)
        if len(self.term_names) != len(self.base_weights) or not self.term_names:
            raise ValueError(
                "`term_names` and `base_weights` must have the same, non-zero length. "
                f"Received: term_names={self.term_names}, base_weights={self.base_weights}"
            )
        self._is_set_up = True
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

    # -- helpers for subclasses -------------------------------------------
    def _stack(self, losses: dict):
        """The losses as one vector in term order, in the state's dtype."""
        return ops.stack([ops.cast(losses[n], self.variable_dtype) for n in self.term_names])

    def _base(self):
        return ops.convert_to_tensor(np.asarray(self.base_weights), dtype=self.variable_dtype)

    def _as_dict(self, vector) -> dict:
        return {n: vector[i] for i, n in enumerate(self.term_names)}

    def _state(self, name, initializer="zeros", shape=None, dtype=None):
        return self.add_weight(
            shape=(len(self.term_names),) if shape is None else shape,
            initializer=initializer,
            dtype=dtype,
            trainable=False,
            name=name,
        )


@keras.saving.register_keras_serializable(package="keras_pinn")
class FixedWeights(LossBalancer):
    """Each term keeps its own ``weight`` (default 1): no balancing."""

    adaptive = False

    def current(self):
        return {
            n: ops.convert_to_tensor(w, dtype=keras.config.floatx()) for n, w in zip(self.term_names, self.base_weights)
        }


@keras.saving.register_keras_serializable(package="keras_pinn")
class ReLoBRaLo(LossBalancer):
    """Relative Loss Balancing with Random Lookback (Bischof & Kraus 2021).

    At every training step ``t`` with unweighted losses ``L_i(t)`` of the
    ``m`` terms, the balancer computes the relative-progress weights

    ``lambda_hat_i(t; t') = m * softmax_i(L_i(t) / (temperature * L_i(t')))``

    (largest for the term that decreased least since step ``t'``), and
    updates

    ``lambda_i(t) = alpha * (rho * lambda_i(t-1) + (1 - rho) * lambda_hat_i(t; 0))
    + (1 - alpha) * lambda_hat_i(t; t-1)``

    where ``rho`` is drawn each step from a Bernoulli distribution with
    ``P(rho = 1) = rho`` (the argument): with probability ``1 - rho`` the
    history is replaced by the weights relative to the first step (the
    "random lookback"). As in the authors' implementation, the first step
    keeps ``lambda = 1`` and records the initial losses, and the second uses
    ``lambda_hat(t; t-1)`` alone (``alpha = 0``). The weights sum to ``m``.
    Each applied weight is ``weight_i * lambda_i`` (see the module
    docstring); the new weights apply from the step that computed them.

    The defaults ``alpha=0.999``, ``rho=0.99`` and ``temperature=0.1`` are
    those of the authors' reference implementation
    (https://github.com/rbischof/relative_balancing); the paper studies
    ``alpha`` and ``E[rho]`` close to 1 and small temperatures.

    Args:
        alpha: weight of the history (exponential decay), in ``[0, 1]``.
            Defaults to 0.999.
        rho: expected value of the Bernoulli lookback variable, in
            ``[0, 1]``: the probability of *keeping* the history at a step.
            1 never looks back, 0 always does. Defaults to 0.99.
        temperature: softmax temperature, > 0; smaller is sharper. Defaults
            to 0.1.
        seed: seed of the lookback draws (a ``keras.random.SeedGenerator``
            owned by the balancer), a non-negative int or None.
        **kwargs: passed to ``keras.layers.Layer`` (e.g. ``name``).

    Attributes:
        lambdas: the adaptive weights ``lambda_i``, ``(m,)``.
        last_losses: the losses of the previous step, ``(m,)``.
        initial_losses: the losses of the first step, ``(m,)``.
        step: number of training steps seen.

    References:
        Bischof, R. and Kraus, M. (2021). Multi-Objective Loss Balancing for
        Physics-Informed Deep Learning. arXiv:2110.09813.
    """

    def __init__(
        self, alpha: float = 0.999, rho: float = 0.99, temperature: float = 0.1, seed: int | None = None, **kwargs
    ):
        kwargs.setdefault("name", "relobralo")
        super().__init__(**kwargs)
        self.alpha = _validation.fraction(alpha, "alpha")
        self.rho = _validation.fraction(rho, "rho")
        self.temperature = _validation.positive(temperature, "temperature")
        self.seed = _validation.seed(seed)
        self.seed_generator = keras.random.SeedGenerator(seed, name="relobralo_seed")

    def setup(self, term_names, base_weights):
        super().setup(term_names, base_weights)
        self.lambdas = self._state("lambdas", "ones")
        self.last_losses = self._state("last_losses", "ones")
        self.initial_losses = self._state("initial_losses", "ones")
        self.step = self._state("step", "zeros", shape=(), dtype="int32")

    def current(self):
        return self._as_dict(self._base() * self.lambdas.value)

    def update(self, losses, training=True):
        if not training:
            return self.current()
        m = float(len(self.term_names))
        loss = self._stack(losses)
        dtype = loss.dtype
        step = self.step.value
        first = ops.equal(step, 0)
        initial = ops.where(first, loss, ops.cast(self.initial_losses.value, dtype))
        hat_last = m * ops.softmax(loss / (self.temperature * ops.cast(self.last_losses.value, dtype) + _TINY))
        hat_initial = m * ops.softmax(loss / (self.temperature * initial + _TINY))
        draw = keras.random.uniform((), dtype=dtype, seed=self.seed_generator)
        keep = ops.cast(ops.less(draw, self.rho), dtype)
        one = ops.ones((), dtype)
        # Step 0: alpha = rho = 1 (lambda stays 1); step 1: alpha = 0, rho = 1.
        alpha = ops.where(first, one, ops.where(ops.equal(step, 1), 0.0 * one, self.alpha * one))
        rho = ops.where(ops.less(step, 2), one, keep)
        history = rho * ops.cast(self.lambdas.value, dtype) + (1.0 - rho) * hat_initial
        lambdas = alpha * history + (1.0 - alpha) * hat_last
        self.lambdas.assign(lambdas)
        self.last_losses.assign(loss)
        self.initial_losses.assign(initial)
        self.step.assign(step + 1)
        return self._as_dict(ops.cast(self._base(), dtype) * lambdas)

    def get_config(self):
        config = super().get_config()
        config.update(alpha=self.alpha, rho=self.rho, temperature=self.temperature, seed=self.seed)
        return config


_SOFTADAPT_VARIANTS = ("original", "normalized", "loss_weighted")


@keras.saving.register_keras_serializable(package="keras_pinn")
class SoftAdapt(LossBalancer):
    """SoftAdapt (Heydari, Thompson & Mehmood 2019): weights from a softmax
    of the losses' rates of change.

    At every training step the rate of change of each unweighted loss is
    the first-order difference ``s_i = L_i(t) - L_i(t-1)`` (0 at the first
    step), and the weights are

    * ``variant="original"`` (paper section 3.1.1):
      ``lambda_i = m * softmax_i(beta * s_i)``;
    * ``variant="normalized"`` (the default; section 3.1.3): the same with
      the slopes normalised, ``s_i / sum_j |s_j|``, so ``beta`` does not
      depend on the losses' scale and the weights stay within a factor
      ``exp(2 beta)`` of each other;
    * ``variant="loss_weighted"`` (section 3.1.2, here with the normalised
      slopes): ``lambda_i = m * L_i exp(beta s_i) / sum_j L_j exp(beta s_j)``,
      which also favours the larger losses.

    ``beta > 0`` favours the terms whose loss decreases least (or grows),
    ``beta < 0`` the others, ``beta = 0`` gives equal weights (and, with
    ``"loss_weighted"``, weights proportional to the losses). The weights
    sum to ``m`` (the number of terms), so equal weights are 1; each applied
    weight is ``weight_i * lambda_i`` (see the module docstring).

    The default is ``"normalized"``: in a PINN the PDE loss is often orders
    of magnitude above the boundary losses, and ``"loss_weighted"`` then
    gives almost all the weight to the PDE term, leaving the boundary
    conditions (which make the solution unique) nearly unweighted. The
    default ``beta=0.1`` is that of the authors' implementation
    (https://github.com/dr-aheydari/SoftAdapt); with normalised slopes it
    moves the weights by at most ``exp(0.2)``, i.e. by about 20%.

    Args:
        beta: softmax inverse temperature, a finite number. Defaults to 0.1.
        variant: ``"original"``, ``"normalized"`` or ``"loss_weighted"``.
            Defaults to ``"normalized"``.
        **kwargs: passed to ``keras.layers.Layer`` (e.g. ``name``).

    Attributes:
        lambdas: the adaptive weights ``lambda_i``, ``(m,)``.
        last_losses: the losses of the previous step, ``(m,)``.
        step: number of training steps seen.

    References:
        Heydari, A. A., Thompson, C. A. and Mehmood, A. (2019). SoftAdapt:
        Techniques for Adaptive Loss Weighting of Neural Networks with
        Multi-Part Loss Functions. arXiv:1912.12355.
    """

    def __init__(self, beta: float = 0.1, variant: str = "normalized", **kwargs):
        kwargs.setdefault("name", "softadapt")
        super().__init__(**kwargs)
        self.beta = _validation.finite(beta, "beta")
        if variant not in _SOFTADAPT_VARIANTS:
            raise ValueError(f"`variant` must be one of {_SOFTADAPT_VARIANTS}. Received: variant={variant!r}")
        self.variant = variant

    def setup(self, term_names, base_weights):
        super().setup(term_names, base_weights)
        self.lambdas = self._state("lambdas", "ones")
        self.last_losses = self._state("last_losses", "zeros")
        self.step = self._state("step", "zeros", shape=(), dtype="int32")

    def current(self):
        return self._as_dict(self._base() * self.lambdas.value)

    def update(self, losses, training=True):
        if not training:
            return self.current()
        m = float(len(self.term_names))
        loss = self._stack(losses)
        dtype = loss.dtype
        step = self.step.value
        previous = ops.where(ops.equal(step, 0), loss, ops.cast(self.last_losses.value, dtype))
        slope = loss - previous
        if self.variant != "original":
            slope = slope / (ops.sum(ops.abs(slope)) + _TINY)
        z = self.beta * slope
        e = ops.exp(z - ops.max(z))
        if self.variant == "loss_weighted":
            e = e * loss
        lambdas = m * e / ops.maximum(ops.sum(e), _TINY)
        self.lambdas.assign(lambdas)
        self.last_losses.assign(loss)
        self.step.assign(step + 1)
        return self._as_dict(ops.cast(self._base(), dtype) * lambdas)

    def get_config(self):
        config = super().get_config()
        config.update(beta=self.beta, variant=self.variant)
        return config


@keras.saving.register_keras_serializable(package="keras_pinn")
class LearningRateAnnealing(LossBalancer):
    """Learning-rate annealing (Wang, Teng & Perdikaris 2021): weights from
    the gradients' magnitudes.

    Every ``update_every`` epochs, after the epoch, the balancer computes on
    the model's current points the gradient of each unweighted term loss
    ``L_i`` with respect to the network's trainable weights ``theta`` and
    sets, for every term but the reference (the PDE residual),

    ``lambda_hat_i = max_theta |grad L_ref| / mean_theta |grad L_i|``,
    ``lambda_i <- alpha * lambda_i + (1 - alpha) * lambda_hat_i``

    (Algorithm 1 of the paper), so that no term's gradients are dwarfed by
    the residual's. The reference term keeps ``lambda = 1``; all start at 1.
    Each applied weight is ``weight_i * lambda_i`` (see the module
    docstring). The gradients are taken outside the train step (one
    gradient evaluation per term over all its points, with the backend's
    compiled ``value_and_grad``), in inference mode; in between, the
    weights are constant.

    ``alpha`` is the weight of the *previous* value, as in the authors'
    code (``0.9``); the paper writes the same moving average with the
    complementary convention. The paper updates every 10 optimizer steps;
    here the update is per epoch (``steps_per_epoch`` steps), so choose
    ``steps_per_epoch * update_every`` accordingly.

    With full-batch training on fixed points the paper's rule can run away:
    as a heavily weighted term is fitted, ``mean |grad L_i|`` goes to 0 and
    ``lambda_hat_i`` grows without bound (in ``docs/balancing.md`` the
    boundary weight of Helmholtz reached 1e9 to 1e10 in 5000 steps).
    ``weighted_gradients=True`` follows the authors' code instead
    (https://github.com/PredictiveIntelligenceLab/GradientPathologiesPINNs),
    which takes the gradient of the *weighted* term ``lambda_i L_i``:
    ``lambda_hat_i = max |grad L_ref| / (lambda_i mean |grad L_i|)``, a
    self-limiting rule whose fixed point is
    ``lambda_i = sqrt(max |grad L_ref| / mean |grad L_i|)``.

    Args:
        alpha: weight of the previous value in the moving average, in
            ``[0, 1)``. Defaults to 0.9.
        update_every: update after every this many epochs, a positive int.
            Defaults to 1.
        reference: the term whose gradient's maximum is the numerator
            (keeps weight 1). Defaults to ``"pde"``, or the first term when
            the model has no PDE.
        weighted_gradients: use the gradient of ``lambda_i L_i`` (the
            authors' code) rather than of ``L_i`` (the paper). Defaults to
            False.
        **kwargs: passed to ``keras.layers.Layer`` (e.g. ``name``).

    Attributes:
        lambdas: the adaptive weights ``lambda_i``, ``(m,)``.
        n_updates: number of updates made.

    References:
        Wang, S., Teng, Y. and Perdikaris, P. (2021). Understanding and
        mitigating gradient flow pathologies in physics-informed neural
        networks. SIAM Journal on Scientific Computing, 43(5), A3055-A3081.
    """

    def __init__(
        self,
        alpha: float = 0.9,
        update_every: int = 1,
        reference: str | None = None,
        weighted_gradients: bool = False,
        **kwargs,
    ):
        kwargs.setdefault("name", "annealing")
        super().__init__(**kwargs)
        self.alpha = _validation.fraction(alpha, "alpha")
        if self.alpha == 1.0:
            raise ValueError(f"`alpha` must be in [0, 1): 1 never updates the weights. Received: alpha={alpha!r}")
        self.update_every = _positive_int(update_every, "update_every")
        if reference is not None and not isinstance(reference, str):
            raise ValueError(f"`reference` must be a term name or None. Received: reference={reference!r}")
        self.reference = reference
        self.weighted_gradients = _validation.flag(weighted_gradients, "weighted_gradients")
        self._gradients = _GradientCache()

    def setup(self, term_names, base_weights):
        super().setup(term_names, base_weights)
        if self.reference is not None and self.reference not in self.term_names:
            raise ValueError(
                f"`reference` must name one of the model's terms {self.term_names}. "
                f"Received: reference={self.reference!r}"
            )
        self.lambdas = self._state("lambdas", "ones")
        self.n_updates = self._state("n_updates", "zeros", shape=(), dtype="int32")

    @property
    def reference_term(self) -> str:
        """The reference term's name."""
        if self.reference is not None:
            return self.reference
        return "pde" if "pde" in self.term_names else self.term_names[0]

    def current(self):
        return self._as_dict(self._base() * self.lambdas.value)

    def update(self, losses, training=True):
        return self.current()

    def term_gradients(self, model) -> dict:
        """``{term: flat NumPy gradient}`` of each unweighted term loss with
        respect to the network's trainable weights, on the model's current
        points."""
        fns, variables, others = self._gradients.get(model)
        floatx = keras.config.floatx()
        grads = {}
        values = [v.value for v in variables]
        other_values = [v.value for v in others]
        for name, arrays in model.point_sets().items():
            if name not in fns:
                continue
            batch = {
                k: ops.convert_to_tensor(v.astype(floatx) if np.issubdtype(v.dtype, np.floating) else v)
                for k, v in arrays.items()
            }
            _, _, g = fns[name](values, other_values, batch)
            grads[name] = np.concatenate([np.ravel(ops.convert_to_numpy(x)) for x in g]) if g else np.zeros(0)
        return grads

    def on_epoch_end(self, model, epoch):
        if (epoch + 1) % self.update_every:
            return
        grads = self.term_gradients(model)
        reference = self.reference_term
        numerator = float(np.max(np.abs(grads[reference]))) if grads[reference].size else 0.0
        lambdas = np.array(ops.convert_to_numpy(self.lambdas.value), dtype="float64")
        for i, name in enumerate(self.term_names):
            if name == reference:
                lambdas[i] = 1.0
                continue
            denominator = float(np.mean(np.abs(grads[name]))) if grads[name].size else 0.0
            if self.weighted_gradients:
                denominator *= lambdas[i]
            hat = numerator / max(denominator, _TINY)
            lambdas[i] = self.alpha * lambdas[i] + (1.0 - self.alpha) * hat
        self.lambdas.assign(lambdas.astype(self.variable_dtype))
        self.n_updates.assign(self.n_updates.value + 1)

    def get_config(self):
        config = super().get_config()
        config.update(
            alpha=self.alpha,
            update_every=self.update_every,
            reference=self.reference,
            weighted_gradients=self.weighted_gradients,
        )
        return config


@keras.saving.register_keras_serializable(package="keras_pinn")
class GradNorm(LossBalancer):
    """Gradient-norm weighting as jaxpi does it (Wang et al. 2023, "An
    expert's guide to training physics-informed neural networks").

    Every ``update_every`` epochs, after the epoch, the balancer computes
    on the model's current points the gradient ``g_i`` of each unweighted
    term loss with respect to the network's trainable weights and sets

    ``lambda_hat_i = mean_j ||g_j|| / (||g_i|| + 1e-5 mean_j ||g_j||)``,
    ``lambda_i <- momentum * lambda_i + (1 - momentum) * lambda_hat_i``

    (``||.||`` the Euclidean norm over all weights), so that every term
    pulls the weights with the same strength; all start at 1. Each applied
    weight is ``weight_i * lambda_i`` (see the module docstring). Unlike
    :class:`LearningRateAnnealing` every term, the PDE residual included,
    is weighted, and the rule cannot run away: ``lambda_hat_i`` is bounded
    by ``1e5`` and the weights' geometric scale stays near 1.

    jaxpi updates every 1000 Adam steps with ``momentum=0.9``; here the
    update is per epoch, so choose ``steps_per_epoch * update_every``
    accordingly (e.g. ``steps_per_epoch=1000``).

    Args:
        momentum: weight of the previous value in the moving average, in
            ``[0, 1)``. Defaults to 0.9.
        update_every: update after every this many epochs, a positive int.
            Defaults to 1.
        **kwargs: passed to ``keras.layers.Layer`` (e.g. ``name``).

    Attributes:
        lambdas: the adaptive weights ``lambda_i``, ``(m,)``.
        n_updates: number of updates made.

    References:
        Wang, S., Sankaran, S., Wang, H. and Perdikaris, P. (2023). An
        expert's guide to training physics-informed neural networks.
        arXiv:2308.08468. Code: https://github.com/PredictiveIntelligenceLab/jaxpi
    """

    def __init__(self, momentum: float = 0.9, update_every: int = 1, **kwargs):
        kwargs.setdefault("name", "gradnorm")
        super().__init__(**kwargs)
        self.momentum = _validation.fraction(momentum, "momentum")
        if self.momentum == 1.0:
            raise ValueError(
                f"`momentum` must be in [0, 1): 1 never updates the weights. Received: momentum={momentum!r}"
            )
        self.update_every = _positive_int(update_every, "update_every")
        self._gradients = _GradientCache()

    def setup(self, term_names, base_weights):
        super().setup(term_names, base_weights)
        self.lambdas = self._state("lambdas", "ones")
        self.n_updates = self._state("n_updates", "zeros", shape=(), dtype="int32")

    def current(self):
        return self._as_dict(self._base() * self.lambdas.value)

    term_gradients = LearningRateAnnealing.term_gradients

    @staticmethod
    def weights_from_norms(norms) -> np.ndarray:
        """``lambda_hat`` from the gradient norms ``(m,)`` (jaxpi's rule)."""
        norms = np.asarray(norms, dtype="float64")
        mean = float(np.mean(norms))
        return mean / (norms + 1e-5 * mean + _TINY)

    def on_epoch_end(self, model, epoch):
        if (epoch + 1) % self.update_every:
            return
        grads = self.term_gradients(model)
        norms = [float(np.linalg.norm(grads[name])) if grads[name].size else 0.0 for name in self.term_names]
        hat = self.weights_from_norms(norms)
        lambdas = np.array(ops.convert_to_numpy(self.lambdas.value), dtype="float64")
        lambdas = self.momentum * lambdas + (1.0 - self.momentum) * hat
        self.lambdas.assign(lambdas.astype(self.variable_dtype))
        self.n_updates.assign(self.n_updates.value + 1)

    def get_config(self):
        config = super().get_config()
        config.update(momentum=self.momentum, update_every=self.update_every)
        return config


class _GradientCache:
    """Compiled per-term ``value_and_grad`` functions for one model, kept
    outside Keras's tracking (it would adopt the model's variables)."""

    def __init__(self):
        self._model = None
        self._entry = None

    def get(self, model):
        if self._model is None or self._model() is not model:
            from keras_pinn import backend as _backend

            variables = list(model.network.trainable_variables)
            if not variables:
                raise ValueError(
                    "Gradient-based balancing weighs the terms by their gradients with respect to the "
                    f"network's trainable weights, but the network {model.network.name!r} has none."
                )
            ids = {id(v) for v in variables}
            others = [v for v in model.variables if id(v) not in ids]
            fns = {
                t.name: _backend.value_and_grad(_term_loss(model, t, variables), variables, others) for t in model.terms
            }
            self._model = weakref.ref(model)
            self._entry = (fns, variables, others)
        return self._entry


def _term_loss(model, term, variables):
    def loss(batch):
        values = None if term.needs_derivatives else model(batch["x"], training=False)
        r = term.residual(model, batch, values)
        return ops.mean(ops.square(r)), ()

    return loss


_BALANCERS = {
    "fixed": FixedWeights,
    "relobralo": ReLoBRaLo,
    "annealing": LearningRateAnnealing,
    "softadapt": SoftAdapt,
    "gradnorm": GradNorm,
}


def get(identifier) -> LossBalancer:
    """A balancer from a name (``"fixed"``, ``"relobralo"``,
    ``"annealing"``, ``"softadapt"``; with default arguments), a config
    dict or an instance."""
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
