"""Residual-based adaptive collocation, as Keras callbacks for
``PINNModel.fit``.

* :class:`RAR`: residual-based adaptive refinement (Lu et al. 2021): every
  few epochs, add the points where the residual is largest.
* :class:`RAD`: residual-based adaptive distribution (Wu et al. 2023): every
  few epochs, redraw the whole collocation set with a density that grows
  with the residual.

Both act on a :class:`~keras_pinn.Residual` term of the model (the PDE,
``"pde"``, by default) through ``model.set_points``; the model must not
resample its points itself (``resample=False``, the default). Residuals are
evaluated outside the train step, in chunks of ``chunk_size`` points, with
:func:`residual_magnitude`. Each callback keeps what it did in
:attr:`events` and logs the term's number of points every epoch as
``<term>_points`` (History records it).

Changing the number of points makes JAX recompile the train step for the
new shape (some seconds for a PINN); TensorFlow and PyTorch need nothing.

Example:

```python
rar = kp.callbacks.RAR(every=10, n_candidates=10_000, n_add=100, seed=0)
model.fit(epochs=100, steps_per_epoch=100, callbacks=[rar])
rar.events  # [(epoch, n_points), ...]
```
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from keras_pinn import _validation
from keras_pinn._validation import non_negative as _non_negative
from keras_pinn._validation import positive_int as _positive_int
from keras_pinn.conditions import Residual

__all__ = ["RAD", "RAR", "residual_magnitude"]


def residual_magnitude(model, points, term: str = "pde", chunk_size: int = 4096) -> np.ndarray:
    """``|r|`` of ``term`` at ``points``, ``(n,)`` NumPy: the Euclidean norm
    of the residual's components (the absolute value for a scalar PDE),
    evaluated ``chunk_size`` points at a time.

    Args:
        model: a :class:`~keras_pinn.PINNModel`.
        points: ``(n, d)`` points inside the domain.
        term: the term's name. Defaults to ``"pde"``.
        chunk_size: points per evaluation (bounds the memory). Defaults to
            4096.
    """
    chunk_size = _positive_int(chunk_size, "chunk_size")
    points = np.asarray(points)
    out = []
    for start in range(0, points.shape[0], chunk_size):
        r = ops.convert_to_numpy(model.residual(points[start : start + chunk_size], term))
        r = np.asarray(r, dtype="float64").reshape(r.shape[0], -1)
        out.append(np.sqrt(np.sum(r * r, axis=1)))
    return np.concatenate(out) if out else np.zeros(0)


class _Adaptive(keras.callbacks.Callback):
    """Shared set-up: arguments, checks against the model, logging."""

    def __init__(self, every, n_candidates, term, sampler, seed, chunk_size):
        super().__init__()
        self.every = _positive_int(every, "every")
        self.n_candidates = _positive_int(n_candidates, "n_candidates")
        if not isinstance(term, str):
            raise ValueError(f"`term` must be the name of a Residual term. Received: term={term!r}")
        self.term = term
        self.sampler = _validation.sampler(sampler)
        self.seed = _validation.seed(seed)
        self.chunk_size = _positive_int(chunk_size, "chunk_size")
        self.rng = np.random.default_rng(seed)
        #: ``[(epoch, n_points)]``: the epoch after which the points changed
        #: and the term's number of points then.
        self.events: list[tuple[int, int]] = []
        self._epochs_seen = 0

    def _check_model(self, model):
        terms = getattr(model, "terms", None)
        if terms is None or not hasattr(model, "set_points"):
            raise ValueError(
                f"{type(self).__name__} works with a keras_pinn.PINNModel. "
                f"Received: model of type {type(model).__name__}"
            )
        found = [t for t in terms if t.name == self.term]
        if not found or not isinstance(found[0], Residual):
            names = tuple(t.name for t in terms if isinstance(t, Residual))
            raise ValueError(
                f"`term` must name a Residual term of the model, one of {names}. Received: term={self.term!r}"
            )
        if model.resample:
            raise ValueError(
                f"{type(self).__name__} sets the collocation points itself; the model redraws them every "
                "epoch (resample=True), which would discard them. Build the model with resample=False. "
                "Received: model.resample=True"
            )

    def on_train_begin(self, logs=None):
        self._check_model(self.model)

    def n_points(self) -> int:
        """The term's current number of points."""
        return int(self.model.point_sets()[self.term]["x"].shape[0])

    def candidates(self, n: int) -> np.ndarray:
        """``n`` fresh random points in the domain, drawn with the
        callback's generator."""
        return self.model.domain.sample_interior(n, self.sampler, self.rng)

    def on_epoch_end(self, epoch, logs=None):
        self._epochs_seen += 1
        if self._epochs_seen % self.every == 0:
            if self._act(epoch):
                self.events.append((int(epoch), self.n_points()))
        if logs is not None:
            logs[f"{self.term}_points"] = self.n_points()

    def _act(self, epoch) -> bool:
        raise NotImplementedError

    def _base_config(self):
        return {
            "every": self.every,
            "n_candidates": self.n_candidates,
            "term": self.term,
            "sampler": self.sampler,
            "seed": self.seed,
            "chunk_size": self.chunk_size,
        }


class RAR(_Adaptive):
    """Residual-based adaptive refinement (Lu, Meng, Mao & Karniadakis 2021).

    After every ``every`` epochs (counted by the callback, across ``fit``
    calls) it draws ``n_candidates`` random points in the domain, evaluates
    the residual's magnitude ``|r|`` there (see :func:`residual_magnitude`)
    and adds the ``n_add`` points with the largest ``|r|`` to the term's
    collocation points, which keep growing. With ``tolerance`` it adds none
    while the candidates' mean ``|r|`` is below it (the paper's stopping
    rule); with ``max_points`` the set never grows beyond that size.

    Args:
        every: refine after every this many epochs. Defaults to 1.
        n_candidates: random candidate points per refinement. Defaults to
            10000.
        n_add: points added per refinement, at most ``n_candidates``.
            Defaults to 100.
        max_points: largest size of the term's point set, or None for no
            limit. Defaults to None.
        tolerance: add no points while the candidates' mean ``|r|`` is below
            this; None (the default) always adds.
        term: the :class:`~keras_pinn.Residual` term refined. Defaults to
            ``"pde"``.
        sampler: how candidates are drawn, one of ``"uniform"``, ``"lhs"``,
            ``"sobol"``, ``"grid"``. Defaults to ``"uniform"``.
        seed: seed of the candidates' NumPy generator.
        chunk_size: points per residual evaluation. Defaults to 4096.

    Attributes:
        events: ``[(epoch, n_points)]`` for every refinement that added
            points.
        last_added: the points added last, ``(k, d)``, or None.
        last_mean_residual: the candidates' mean ``|r|`` at the last check.

    References:
        Lu, L., Meng, X., Mao, Z. and Karniadakis, G. E. (2021). DeepXDE: A
        deep learning library for solving differential equations. SIAM
        Review, 63(1), 208-228.
    """

    def __init__(
        self,
        every: int = 1,
        n_candidates: int = 10_000,
        n_add: int = 100,
        max_points: int | None = None,
        tolerance: float | None = None,
        term: str = "pde",
        sampler: str = "uniform",
        seed: int | None = None,
        chunk_size: int = 4096,
    ):
        super().__init__(every, n_candidates, term, sampler, seed, chunk_size)
        self.n_add = _positive_int(n_add, "n_add")
        if self.n_add > self.n_candidates:
            raise ValueError(f"`n_add` must be at most `n_candidates` ({self.n_candidates}). Received: n_add={n_add!r}")
        self.max_points = None if max_points is None else _positive_int(max_points, "max_points")
        self.tolerance = None if tolerance is None else _validation.non_negative(tolerance, "tolerance")
        self.last_added = None
        self.last_mean_residual = None

    def _act(self, epoch):
        current = self.model.point_sets()[self.term]["x"]
        room = self.n_add if self.max_points is None else min(self.n_add, self.max_points - current.shape[0])
        if room <= 0:
            return False
        candidates = self.candidates(self.n_candidates)
        r = residual_magnitude(self.model, candidates, self.term, self.chunk_size)
        self.last_mean_residual = float(np.mean(r))
        if self.tolerance is not None and self.last_mean_residual < self.tolerance:
            return False
        worst = np.argsort(-r, kind="stable")[:room]
        self.last_added = candidates[worst]
        self.model.set_points(self.term, np.concatenate([current, self.last_added.astype(current.dtype)], axis=0))
        return True

    def get_config(self):
        config = self._base_config()
        config.update(n_add=self.n_add, max_points=self.max_points, tolerance=self.tolerance)
        return config


class RAD(_Adaptive):
    """Residual-based adaptive distribution (Wu, Zhu, Tan, Kartha & Lu
    2023).

    After every ``every`` epochs (counted by the callback, across ``fit``
    calls) it draws a dense set of ``n_candidates`` random points, evaluates
    the residual's magnitude ``|r|`` there (see :func:`residual_magnitude`)
    and replaces the term's whole collocation set by ``n_collocation`` of
    them drawn without replacement with probability proportional to

    ``p(x) = |r(x)|^k / mean(|r|^k) + c``

    (the paper's density; ``k = 1, c = 1`` are its defaults: ``c`` keeps a
    uniform share, larger ``k`` concentrates the points where the residual
    is large).

    Args:
        every: resample after every this many epochs. Defaults to 1.
        n_candidates: size of the dense candidate set, at least
            ``n_collocation``. Defaults to 10000.
        n_collocation: number of points after resampling; None (the
            default) keeps the term's current number.
        k: exponent of the residual, a finite number >= 0. Defaults to 1.
        c: uniform share, a finite number >= 0. Defaults to 1.
        term: the :class:`~keras_pinn.Residual` term resampled. Defaults to
            ``"pde"``.
        sampler: how candidates are drawn, one of ``"uniform"``, ``"lhs"``,
            ``"sobol"``, ``"grid"``. Defaults to ``"uniform"``.
        seed: seed of the NumPy generator (candidates and the draw).
        chunk_size: points per residual evaluation. Defaults to 4096.

    Attributes:
        events: ``[(epoch, n_points)]`` for every resampling.
        last_probabilities: the candidates' probabilities at the last
            resampling, ``(n_candidates,)``.

    References:
        Wu, C., Zhu, M., Tan, Q., Kartha, Y. and Lu, L. (2023). A
        comprehensive study of non-adaptive and residual-based adaptive
        sampling for physics-informed neural networks. Computer Methods in
        Applied Mechanics and Engineering, 403, 115671.
    """

    def __init__(
        self,
        every: int = 1,
        n_candidates: int = 10_000,
        n_collocation: int | None = None,
        k: float = 1.0,
        c: float = 1.0,
        term: str = "pde",
        sampler: str = "uniform",
        seed: int | None = None,
        chunk_size: int = 4096,
    ):
        super().__init__(every, n_candidates, term, sampler, seed, chunk_size)
        self.n_collocation = None if n_collocation is None else _positive_int(n_collocation, "n_collocation")
        if self.n_collocation is not None and self.n_collocation > self.n_candidates:
            raise ValueError(
                f"`n_collocation` must be at most `n_candidates` ({self.n_candidates}). "
                f"Received: n_collocation={n_collocation!r}"
            )
        self.k = _non_negative(k, "k")
        self.c = _non_negative(c, "c")
        self.last_probabilities = None

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        n = self.n_collocation or self.n_points()
        if n > self.n_candidates:
            raise ValueError(
                f"`n_candidates` must be at least the number of collocation points ({n}). "
                f"Received: n_candidates={self.n_candidates}"
            )

    def probabilities(self, residuals) -> np.ndarray:
        """The sampling probabilities for residual magnitudes ``|r|``."""
        e = np.asarray(residuals, dtype="float64") ** self.k
        mean = float(np.mean(e))
        p = (e / mean if mean > 0 else np.ones_like(e)) + self.c
        return p / np.sum(p)

    def _act(self, epoch):
        n = self.n_collocation or self.n_points()
        candidates = self.candidates(self.n_candidates)
        r = residual_magnitude(self.model, candidates, self.term, self.chunk_size)
        p = self.probabilities(r)
        if np.count_nonzero(p) < n:
            # c = 0 and fewer non-zero residuals than points: give the rest
            # a tiny probability so the draw without replacement can happen.
            p = np.where(p > 0, p, 1e-12 * p.max() / p.size)
            p = p / p.sum()
        self.last_probabilities = p
        chosen = self.rng.choice(candidates.shape[0], size=n, replace=False, p=p)
        self.model.set_points(self.term, candidates[np.sort(chosen)])
        return True

    def get_config(self):
        config = self._base_config()
        config.update(n_collocation=self.n_collocation, k=self.k, c=self.c)
        return config
