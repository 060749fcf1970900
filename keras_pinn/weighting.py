"""Point weightings: how the squared residuals of one term are averaged
into its loss during training.

By default a term's loss is the mean squared residual over its points. A
point weighting replaces that mean in training steps (``fit``) only:

================================  ============================================
weighting                         loss of the term
================================  ============================================
:class:`CausalWeighting`          chunks of time weighted by how well the
                                  earlier chunks are solved (Wang, Sankaran &
                                  Perdikaris 2022)
:class:`ResidualAttention`        each point weighted by its running, bounded
                                  residual history (Anagnostopoulos et al.
                                  2024)
================================  ============================================

Pass one to :class:`~keras_pinn.PINNModel` for the PDE term,
``point_weighting=kp.weighting.CausalWeighting()``, or a dict
``{term name: weighting}`` for several terms. ``evaluate`` and
``fit_lbfgs`` use the plain mean squared residual (L-BFGS needs a fixed
objective), and so do History's entries outside training: in ``fit``'s
History, ``<term>_loss`` is the weighted loss of the term. Each weighting
keeps its state in non-trainable variables of the model (saved with it).
"""

from __future__ import annotations

import numbers

import keras
from keras import ops

from keras_pinn._validation import non_negative as _non_negative
from keras_pinn._validation import positive_int as _positive_int

__all__ = ["CausalWeighting", "PointWeighting", "ResidualAttention", "get"]


@keras.saving.register_keras_serializable(package="keras_pinn")
class PointWeighting(keras.layers.Layer):
    """Base class: :meth:`setup` once with the model and the term's name,
    then :meth:`loss` in every training step with the term's residuals
    ``(n, k)`` and its batch ``{"x": points, ...}``; returns a scalar."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.term = None

    def setup(self, model, term: str):
        if self.term is not None:
            raise ValueError(
                f"This {type(self).__name__} already weights the term {self.term!r}: a weighting instance "
                f"belongs to one term of one model. Received: term={term!r}"
            )
        self.term = term
        self.built = True

    def loss(self, residual, batch):
        raise NotImplementedError


@keras.saving.register_keras_serializable(package="keras_pinn")
class CausalWeighting(PointWeighting):
    """Causal training for time-dependent problems (Wang, Sankaran &
    Perdikaris 2022).

    The time interval ``[t0, t1]`` of the domain is cut into ``chunks``
    equal parts; ``L_i`` is the mean squared residual of the points in part
    ``i`` (0 for a part without points). The term's loss is

    ``(1 / chunks) sum_i w_i L_i``, ``w_i = exp(-epsilon sum_{k < i} L_k)``,

    with the weights ``w`` held constant (no gradient flows through them).
    So a later time is trained only once the earlier times are solved:
    ``w_0 = 1`` always, and ``w_i`` rises towards 1 as the losses before it
    fall below about ``1 / epsilon``. This respects the causality of the
    evolution, which plain PINNs violate by fitting late times before the
    initial condition has propagated (the cause of their failure on
    Allen-Cahn, Kuramoto-Sivashinsky and chaotic flows). The defaults are
    jaxpi's (``num_chunks = 32``, ``causal_tol = 1.0``); the paper also
    raises ``epsilon`` in steps (1e-2 ... 1e2), which a callback calling
    :meth:`set_epsilon` between epochs can do (it is a variable, so the
    compiled train step sees the new value). The last weights are in
    :attr:`causal_weights` (their minimum tells how far the training has
    reached in time: jaxpi logs it).

    Args:
        chunks: number of time chunks, a positive int. Defaults to 32.
        epsilon: causality parameter, a finite number >= 0 (0 turns the
            weighting off: every ``w_i = 1``). Defaults to 1.
        time: the time coordinate: a name of the domain (default ``"t"``,
            the time of a :class:`~keras_pinn.SpaceTime`) or a column index.
        **kwargs: passed to ``keras.layers.Layer``.

    Attributes:
        causal_weights: the weights ``w`` of the last training step,
            ``(chunks,)``.

    References:
        Wang, S., Sankaran, S. and Perdikaris, P. (2024). Respecting
        causality for training physics-informed neural networks. CMAME 421,
        116813 (arXiv:2203.07404, 2022).
    """

    def __init__(self, chunks: int = 32, epsilon: float = 1.0, time="t", **kwargs):
        kwargs.setdefault("name", "causal_weighting")
        super().__init__(**kwargs)
        self.chunks = _positive_int(chunks, "chunks")
        self.epsilon = _non_negative(epsilon, "epsilon")
        if isinstance(time, bool) or not isinstance(time, (str, numbers.Integral)):
            raise ValueError(f"`time` must be a coordinate name or a column index. Received: time={time!r}")
        self.time = time if isinstance(time, str) else int(time)

    def setup(self, model, term):
        names = tuple(model.domain.names)
        if isinstance(self.time, str):
            if self.time not in names:
                raise ValueError(
                    f"`time` must name a coordinate of the domain {names} (CausalWeighting is for "
                    f"time-dependent problems). Received: time={self.time!r}"
                )
            column = names.index(self.time)
        else:
            if not -len(names) <= self.time < len(names):
                raise ValueError(f"`time` is out of range for the domain's columns {names}. Received: time={self.time}")
            column = self.time % len(names)
        super().setup(model, term)
        self.column = column
        self.t0 = float(model.domain.lower[column])
        self.t1 = float(model.domain.upper[column])
        self.causal_weights = self.add_weight(
            shape=(self.chunks,), initializer="ones", trainable=False, name="causal_weights"
        )
        self.epsilon_variable = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(self.epsilon), trainable=False, name="epsilon"
        )

    def set_epsilon(self, epsilon: float):
        """Sets the causality parameter (e.g. from a callback)."""
        self.epsilon = _non_negative(epsilon, "epsilon")
        self.epsilon_variable.assign(self.epsilon)

    def chunk_losses(self, residual, batch):
        """``(chunks,)``: the mean squared residual in each time chunk."""
        r2 = ops.mean(ops.square(residual), axis=-1)
        t = batch["x"][:, self.column]
        position = (t - self.t0) / (self.t1 - self.t0) * self.chunks
        index = ops.clip(ops.cast(ops.floor(position), "int32"), 0, self.chunks - 1)
        member = ops.one_hot(index, self.chunks, dtype=r2.dtype)  # (n, chunks)
        counts = ops.sum(member, axis=0)
        sums = ops.sum(member * ops.expand_dims(r2, -1), axis=0)
        return sums / ops.maximum(counts, 1.0)

    def weights_from(self, chunk_losses):
        """``w_i = exp(-epsilon sum_{k < i} L_k)``, without gradient."""
        before = ops.cumsum(chunk_losses) - chunk_losses
        epsilon = ops.cast(self.epsilon_variable.value, before.dtype)
        return ops.stop_gradient(ops.exp(-epsilon * before))

    def loss(self, residual, batch):
        losses = self.chunk_losses(residual, batch)
        w = self.weights_from(losses)
        self.causal_weights.assign(ops.cast(w, self.causal_weights.dtype))
        return ops.mean(w * losses)

    def get_config(self):
        config = super().get_config()
        config.update(chunks=self.chunks, epsilon=self.epsilon, time=self.time)
        return config


@keras.saving.register_keras_serializable(package="keras_pinn")
class ResidualAttention(PointWeighting):
    """Residual-based attention: self-adaptive weights per point
    (Anagnostopoulos, Toscano, Stergiopulos & Karniadakis 2024).

    Each point ``i`` of the term has a weight ``lambda_i``, updated in every
    training step from the residuals ``r`` before the loss is taken:

    ``lambda_i <- gamma lambda_i + eta |r_i| / max_j |r_j|``,

    and the term's loss is ``mean_i (lambda_i r_i)^2`` with ``lambda`` held
    constant (no gradient). The weights stay below ``eta / (1 - gamma)``
    (10 with the defaults, the paper's ``gamma = 0.999``, ``eta = 0.01``)
    and concentrate on the points whose residual stays large, at no extra
    gradient evaluation. For a residual of several components ``|r_i|`` is
    their root mean square.

    The weights belong to the points: the term's points must stay fixed
    (``PINNModel(resample=False)``, the default); after ``set_points`` with
    a new number of points the weights restart at ``initial``.

    Args:
        gamma: memory of the weights, in ``[0, 1)``. Defaults to 0.999.
        eta: learning rate of the weights, > 0. Defaults to 0.01.
        initial: the weights' initial value, >= 0. Defaults to 1 (the first
            step's loss is then the plain mean; the paper starts from 0).
        **kwargs: passed to ``keras.layers.Layer``.

    Attributes:
        point_weights: ``lambda``, ``(n,)``.

    References:
        Anagnostopoulos, S. J., Toscano, J. D., Stergiopulos, N. and
        Karniadakis, G. E. (2024). Residual-based attention in
        physics-informed neural networks. CMAME 421, 116805.
    """

    def __init__(self, gamma: float = 0.999, eta: float = 0.01, initial: float = 1.0, **kwargs):
        kwargs.setdefault("name", "residual_attention")
        super().__init__(**kwargs)
        gamma_value = _non_negative(gamma, "gamma")
        if gamma_value >= 1.0:
            raise ValueError(f"`gamma` must be in [0, 1). Received: gamma={gamma!r}")
        self.gamma = gamma_value
        self.eta = _non_negative(eta, "eta")
        if self.eta == 0.0:
            raise ValueError(f"`eta` must be > 0. Received: eta={eta!r}")
        self.initial = _non_negative(initial, "initial")

    def setup(self, model, term):
        if model.resample:
            raise ValueError(
                "ResidualAttention keeps one weight per point, so the points must stay fixed: build the "
                f"PINNModel with resample=False. Received: resample={model.resample!r}"
            )
        super().setup(model, term)
        n = model.point_sets()[term]["x"].shape[0]
        self.point_weights = self.add_weight(
            shape=(n,), initializer=keras.initializers.Constant(self.initial), trainable=False, name="point_weights"
        )

    def update_weights(self, residual):
        """The new weights from this step's residuals ``(n, k)`` (pure)."""
        size = ops.sqrt(ops.mean(ops.square(residual), axis=-1))
        ratio = size / ops.maximum(ops.max(size), 1e-30)
        old = ops.cast(self.point_weights.value, ratio.dtype)
        return ops.stop_gradient(self.gamma * old + self.eta * ratio)

    def loss(self, residual, batch):
        n = self.point_weights.shape[0]
        if residual.shape[0] is not None and residual.shape[0] != n:
            raise ValueError(
                f"ResidualAttention holds {n} point weights for the term {self.term!r}, but the term now has "
                f"{residual.shape[0]} points. Keep the points fixed (resample=False, no set_points) while "
                "training with it."
            )
        w = self.update_weights(residual)
        self.point_weights.assign(ops.cast(w, self.point_weights.dtype))
        return ops.mean(ops.square(ops.expand_dims(w, -1) * residual))

    def get_config(self):
        config = super().get_config()
        config.update(gamma=self.gamma, eta=self.eta, initial=self.initial)
        return config


_WEIGHTINGS = {"causal": CausalWeighting, "rba": ResidualAttention, "residual_attention": ResidualAttention}


def get(identifier) -> PointWeighting:
    """A weighting from a name (``"causal"``, ``"rba"``), a config dict or
    an instance."""
    if isinstance(identifier, PointWeighting):
        return identifier
    if isinstance(identifier, dict) and "class_name" in identifier:
        return keras.saving.deserialize_keras_object(identifier)
    if isinstance(identifier, str) and identifier.lower() in _WEIGHTINGS:
        return _WEIGHTINGS[identifier.lower()]()
    raise ValueError(
        f"A point weighting must be one of {tuple(_WEIGHTINGS)} or a keras_pinn.weighting.PointWeighting. "
        f"Received: {identifier!r}"
    )


def resolve(point_weighting, term_names) -> dict:
    """``{term: PointWeighting}`` from PINNModel's ``point_weighting``
    argument: None, one weighting (for the ``"pde"`` term) or a dict."""
    if point_weighting is None:
        return {}
    if not isinstance(point_weighting, dict) or "class_name" in point_weighting:
        point_weighting = {"pde": point_weighting}
    out = {}
    for term, weighting in point_weighting.items():
        if term not in term_names:
            raise ValueError(
                f"`point_weighting` names a term the model does not have: expected one of {tuple(term_names)}. "
                f"Received: point_weighting={{{term!r}: ...}}"
            )
        out[term] = get(weighting)
    return out
