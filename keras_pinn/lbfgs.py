"""L-BFGS with a strong Wolfe line search, written once in ``keras.ops``.

The algorithm (two-loop recursion, limited history, line search by cubic
interpolation and zoom, Nocedal & Wright, *Numerical Optimization*, 2nd ed.,
algorithms 7.4, 3.5 and 3.6; the same scheme as ``torch.optim.LBFGS``) works
on one flat parameter vector with ``keras.ops``; the only backend-specific
piece is the loss-and-gradient function, from :mod:`keras_pinn.backend`.
It therefore runs the same on TensorFlow, JAX and PyTorch.

* :func:`minimize` minimises a function of a flat vector;
* :func:`fit_lbfgs` (also ``PINNModel.fit_lbfgs``) trains a PINN's weights
  and PDE parameters on its current points (full batch), with callbacks, a
  progress bar and a ``keras.callbacks.History`` like ``fit``.

Stopping rules: the gradient's largest entry at most ``tolerance_grad``; the
step's largest entry, or the loss change relative to the loss, at most
``tolerance_change``; no decrease found along the search direction, even
after restarting from steepest descent; a non-finite loss at the start; or
the iteration and evaluation budgets.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
from keras import ops

from keras_pinn import backend as _backend
from keras_pinn._validation import non_negative as _check_tolerance
from keras_pinn._validation import positive_int as _check_int

__all__ = ["LBFGS", "LBFGSResult", "fit_lbfgs", "minimize"]


def _float(x) -> float:
    return float(ops.convert_to_numpy(x))


def _dot(a, b) -> float:
    return _float(ops.sum(a * b))


def _max_abs(a) -> float:
    return _float(ops.max(ops.abs(a)))


def _finite(value: float) -> float:
    """A non-finite loss counts as +inf in the line search's comparisons."""
    return value if math.isfinite(value) else math.inf


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clipped
    to ``bounds``; the midpoint when the cubic has none or a value is not
    finite."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    if not all(math.isfinite(v) for v in (x1, f1, g1, x2, f2, g2)) or x1 == x2:
        return (lo + hi) / 2
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    if d2_square >= 0:
        d2 = math.sqrt(d2_square)
        if x1 <= x2:
            den = g2 - g1 + 2 * d2
            pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / den) if den != 0 else (lo + hi) / 2
        else:
            den = g1 - g2 + 2 * d2
            pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / den) if den != 0 else (lo + hi) / 2
        if math.isfinite(pos):
            return min(max(pos, lo), hi)
    return (lo + hi) / 2


def _strong_wolfe(evaluate, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """Line search along ``d`` from ``x`` satisfying the strong Wolfe
    conditions (Nocedal & Wright, algorithms 3.5 and 3.6).

    Returns ``(f_new, g_new, t, evaluations)``: the best point found, which
    may not satisfy the conditions when the budget runs out.
    """
    d_norm = _max_abs(d)
    f_new, g_new = evaluate(x + t * d)
    evaluations = 1
    gtd_new = _dot(g_new, d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    bracket = None
    ls_iter = 0  # as in torch.optim.LBFGS: evaluations after the first
    while ls_iter < max_ls:
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            bracket = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new, gtd_new]]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, done = [[t, f_new, g_new, gtd_new]], True
            break
        if gtd_new >= 0:
            bracket = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new, gtd_new]]
            break
        # Extrapolate: the minimum lies further along d.
        min_step, max_step = t + 0.01 * (t - t_prev), t * 10
        t_next = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = t_next
        f_new, g_new = evaluate(x + t * d)
        evaluations += 1
        ls_iter += 1
        gtd_new = _dot(g_new, d)
    if bracket is None:
        bracket = [[0.0, f, g, gtd], [t, f_new, g_new, gtd_new]]

    # Zoom: shrink the bracket until the strong Wolfe conditions hold.
    insufficient_progress = False
    low, high = (0, 1) if len(bracket) == 1 or bracket[0][1] <= bracket[-1][1] else (1, 0)
    while not done and ls_iter < max_ls:
        (t0, f0, _, gtd0), (t1, f1, _, gtd1) = bracket
        if abs(t1 - t0) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(t0, f0, gtd0, t1, f1, gtd1)
        top, bottom = max(t0, t1), min(t0, t1)
        eps = 0.1 * (top - bottom)
        if min(top - t, t - bottom) < eps:
            # Too close to an end of the bracket: move away unless the last
            # step made progress.
            if insufficient_progress or t >= top or t <= bottom:
                t = top - eps if abs(t - top) < abs(t - bottom) else bottom + eps
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False
        f_new, g_new = evaluate(x + t * d)
        evaluations += 1
        ls_iter += 1
        gtd_new = _dot(g_new, d)
        if f_new > f + c1 * t * gtd or f_new >= bracket[low][1]:
            bracket[high] = [t, f_new, g_new, gtd_new]
            low, high = (0, 1) if bracket[0][1] <= bracket[1][1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high][0] - bracket[low][0]) >= 0:
                bracket[high] = bracket[low]
            bracket[low] = [t, f_new, g_new, gtd_new]
    t, f_new, g_new, _ = bracket[low]
    return f_new, g_new, t, evaluations


@dataclasses.dataclass
class LBFGSResult:
    """Outcome of an L-BFGS run.

    Attributes:
        x: the final flat parameter vector (a backend tensor).
        loss: the loss there.
        gradient_max: the largest absolute entry of the gradient there.
        iterations: iterations taken.
        evaluations: loss-and-gradient evaluations, line searches included.
        converged: whether a convergence rule (not a budget) ended the run.
        message: why it ended.
    """

    x: object
    loss: float
    gradient_max: float
    iterations: int
    evaluations: int
    converged: bool
    message: str


class LBFGS:
    """L-BFGS iterations on a flat vector, one :meth:`step` at a time.

    Args:
        value_and_grad: ``f(x) -> (loss, gradient)`` for a flat tensor ``x``;
            ``loss`` a scalar tensor or float, ``gradient`` a tensor shaped
            like ``x``. It may return ``(loss, gradient, aux)``: the aux of
            the current point is then kept in :attr:`aux`.
        x0: the starting point, a flat (1-D) tensor or array.
        history_size: number of curvature pairs kept. Defaults to 50.
        tolerance_grad: stop when the gradient's largest absolute entry is
            at most this. Defaults to 1e-7.
        tolerance_change: stop when the step's largest absolute entry, or the
            loss change divided by ``max(|loss|, 1e-30)``, is at most this.
            Defaults to 1e-9.
        max_line_search: line-search iterations allowed after its first
            evaluation. Defaults to 25.
        c1: sufficient-decrease constant of the Wolfe conditions (1e-4).
        c2: curvature constant of the Wolfe conditions (0.9).
    """

    def __init__(
        self,
        value_and_grad: Callable,
        x0,
        history_size: int = 50,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        max_line_search: int = 25,
        c1: float = 1e-4,
        c2: float = 0.9,
    ):
        _check_int(history_size, "history_size")
        _check_int(max_line_search, "max_line_search")
        _check_tolerance(tolerance_grad, "tolerance_grad")
        _check_tolerance(tolerance_change, "tolerance_change")
        if not 0 < c1 < c2 < 1:
            raise ValueError(f"The Wolfe constants must satisfy 0 < c1 < c2 < 1. Received: c1={c1!r}, c2={c2!r}")
        # A copy: x0 may be (a view of) a variable that evaluations assign.
        x0 = ops.copy(ops.stop_gradient(ops.convert_to_tensor(x0)))
        if len(x0.shape) != 1:
            raise ValueError(f"`x0` must be a flat (1-D) vector. Received: x0 of shape {tuple(x0.shape)}")
        self._fn = value_and_grad
        self.history_size = int(history_size)
        self.tolerance_grad = float(tolerance_grad)
        self.tolerance_change = float(tolerance_change)
        self.max_line_search = int(max_line_search)
        self.c1, self.c2 = float(c1), float(c2)
        self.x = x0
        self.evaluations = 0
        self.iterations = 0
        self._aux: dict[int, Any] = {}  # aux outputs by id of the gradient they came with
        self.loss, self.grad = self._evaluate(x0)
        self.aux = self._aux.pop(id(self.grad))
        self._history: list[tuple] = []  # (s, y, rho)
        self._h_diag = 1.0
        self.done = False
        self.converged = False
        self.message = "running"
        if not math.isfinite(self.loss):
            self._finish(False, f"the loss at the starting point is not finite ({self.loss})")
        elif _max_abs(self.grad) <= self.tolerance_grad:
            self._finish(True, "gradient below tolerance_grad at the starting point")

    def _evaluate(self, x):
        out = self._fn(x)
        loss, grad = out[0], ops.convert_to_tensor(out[1])
        self.evaluations += 1
        # Keyed by the gradient object, which travels with its point through
        # the line search: the accepted point's aux is found again by it.
        self._aux[id(grad)] = out[2] if len(out) > 2 else None
        return _finite(_float(loss)), grad

    def _finish(self, converged, message):
        self.done, self.converged, self.message = True, converged, message

    def _direction(self):
        """-H g by the two-loop recursion over the stored pairs."""
        q = -self.grad
        alphas = []
        for s, y, rho in reversed(self._history):
            alpha = rho * ops.sum(s * q)
            q = q - alpha * y
            alphas.append(alpha)
        r = q * self._h_diag
        for (s, y, rho), alpha in zip(self._history, reversed(alphas)):
            beta = rho * ops.sum(y * r)
            r = r + s * (alpha - beta)
        return r

    def step(self) -> bool:
        """One iteration (direction, line search, update). Returns False
        once a stopping rule has ended the run."""
        if self.done:
            return False
        for restart in (False, True):
            if restart or not self._history:
                self._history.clear()
                self._h_diag = 1.0
                d = -self.grad
                # First step scaled so that it is at most 1 in the l1 sense.
                t = min(1.0, 1.0 / max(_float(ops.sum(ops.abs(self.grad))), 1e-30))
            else:
                d = self._direction()
                t = 1.0
            gtd = _dot(self.grad, d)
            if not gtd <= -self.tolerance_change:
                if self._history and not restart:
                    continue  # not a descent direction: restart from -g
                self._finish(True, "no descent direction (directional derivative ~ 0)")
                return False
            f_new, g_new, t, n_evals = _strong_wolfe(
                self._evaluate,
                self.x,
                t,
                d,
                self.loss,
                self.grad,
                gtd,
                c1=self.c1,
                c2=self.c2,
                tolerance_change=self.tolerance_change,
                max_ls=self.max_line_search,
            )
            if f_new < self.loss:
                break
            if restart or not self._history:
                self._finish(True, "the line search found no decrease (converged to the loss's resolution)")
                return False
        step = t * d
        y = g_new - self.grad
        ys = _dot(y, step)
        if ys > 1e-10:
            if len(self._history) == self.history_size:
                self._history.pop(0)
            self._history.append((step, y, ops.convert_to_tensor(1.0 / ys, dtype=step.dtype)))
            self._h_diag = ys / _dot(y, y)
        previous = self.loss
        self.x = self.x + step
        self.loss, self.grad = f_new, g_new
        self.aux = self._aux.get(id(g_new))
        self._aux.clear()
        self.iterations += 1
        if _max_abs(self.grad) <= self.tolerance_grad:
            self._finish(True, "gradient below tolerance_grad")
        elif _max_abs(step) <= self.tolerance_change:
            self._finish(True, "step below tolerance_change")
        elif abs(previous - self.loss) <= self.tolerance_change * max(abs(previous), 1e-30):
            self._finish(True, "relative loss change below tolerance_change")
        return not self.done

    def result(self) -> LBFGSResult:
        return LBFGSResult(
            x=self.x,
            loss=self.loss,
            gradient_max=_max_abs(self.grad),
            iterations=self.iterations,
            evaluations=self.evaluations,
            converged=self.converged,
            message=self.message,
        )


def minimize(
    value_and_grad: Callable, x0, max_iterations: int = 1000, max_evaluations: int | None = None, **kwargs
) -> LBFGSResult:
    """Minimises ``value_and_grad``'s function from ``x0`` with L-BFGS.

    Args:
        value_and_grad: ``f(x) -> (loss, gradient)`` on flat tensors.
        x0: starting point, flat.
        max_iterations: iteration budget. Defaults to 1000.
        max_evaluations: evaluation budget. Defaults to
            ``1.25 * max_iterations * max_line_search`` as in SciPy and torch.
        **kwargs: options of :class:`LBFGS`.

    Returns:
        An :class:`LBFGSResult`.
    """
    _check_int(max_iterations, "max_iterations")
    solver = LBFGS(value_and_grad, x0, **kwargs)
    if max_evaluations is None:
        max_evaluations = int(max_iterations * solver.max_line_search * 1.25)
    _check_int(max_evaluations, "max_evaluations")
    while solver.iterations < max_iterations and solver.step():
        if solver.evaluations >= max_evaluations:
            solver._finish(False, "max_evaluations reached")
    if not solver.done:
        solver._finish(False, "max_iterations reached")
    return solver.result()


# -- PINNModel -----------------------------------------------------------------


class _ModelObjective:
    """The model's weighted loss as a function of its flat trainable weights
    (PDE parameters included), on fixed point sets."""

    def __init__(self, model):
        if not model.built:
            raise ValueError("The model must be built before L-BFGS.")
        self.model = model
        self.variables = list(model.trainable_variables)
        if not self.variables:
            raise ValueError("The model has no trainable weights for L-BFGS to train.")
        trainable = {id(v) for v in self.variables}
        self.others = [v for v in model.variables if id(v) not in trainable]
        self.shapes = [tuple(v.shape) for v in self.variables]
        self.sizes = [int(np.prod(s)) for s in self.shapes]
        self.dtype = keras.backend.standardize_dtype(self.variables[0].dtype)
        floatx = keras.config.floatx()
        self.batch = {
            term: {
                k: ops.convert_to_tensor(v.astype(floatx) if np.issubdtype(v.dtype, np.floating) else v)
                for k, v in arrays.items()
            }
            for term, arrays in model.point_sets().items()
        }

        def loss(batch):
            losses = model.term_losses(batch, training=False)
            weights = model.loss_balancer.current()
            total = None
            for name, value in losses.items():
                term = ops.cast(weights[name], value.dtype) * value
                total = term if total is None else total + term
            return total, losses

        # Compiled as fit's step is: XLA on TensorFlow when the model was
        # compiled with jit_compile=True (Keras's "auto" leaves it off on CPU).
        self.jit_compile = bool(getattr(model, "jit_compile", False))
        self._grad = _backend.value_and_grad(loss, self.variables, self.others, jit_compile=self.jit_compile)

    def flatten(self, tensors):
        return ops.concatenate([ops.reshape(ops.cast(t, self.dtype), (-1,)) for t in tensors])

    def unflatten(self, x):
        out, start = [], 0
        for shape, size in zip(self.shapes, self.sizes):
            out.append(ops.reshape(x[start : start + size], shape))
            start += size
        return out

    def initial(self):
        return self.flatten([v.value for v in self.variables])

    def __call__(self, x):
        value, terms, grads = self._grad(self.unflatten(x), [v.value for v in self.others], self.batch)
        return value, self.flatten(grads), terms

    def assign(self, x):
        for v, value in zip(self.variables, self.unflatten(x)):
            v.assign(value)


def fit_lbfgs(
    model,
    epochs: int = 1,
    steps_per_epoch: int = 100,
    history_size: int = 50,
    tolerance_grad: float = 1e-7,
    tolerance_change: float = 1e-9,
    max_line_search: int = 25,
    callbacks=None,
    verbose="auto",
) -> keras.callbacks.History:
    """Trains ``model`` (a :class:`~keras_pinn.PINNModel`) with full-batch
    L-BFGS on its current points.

    Runs up to ``epochs * steps_per_epoch`` L-BFGS iterations, fewer when a
    stopping rule ends it (see :class:`LBFGS`). Each iteration is one step
    for callbacks and the progress bar; History records, at each epoch's
    end, the weighted ``loss``, each ``<term>_loss`` (unweighted), the PDE
    parameters and adaptive loss weights. Callbacks may stop it through
    ``model.stop_training`` (e.g. ``EarlyStopping``). The optimizer from
    ``compile`` is neither used nor changed, so ``fit`` with Adam can come
    before or after. The points stay fixed (no resampling), the network runs
    in inference mode (``training=False``: no dropout) and losses added by
    layers (e.g. VectorQuantizer's) are not part of the objective. The
    returned History has an ``lbfgs`` dict: iterations, evaluations,
    converged, message.

    Args:
        model: a built PINNModel.
        epochs: number of epochs. Defaults to 1.
        steps_per_epoch: L-BFGS iterations per epoch. Defaults to 100.
        history_size: curvature pairs kept. Defaults to 50.
        tolerance_grad: see :class:`LBFGS`. Defaults to 1e-7.
        tolerance_change: see :class:`LBFGS`. Defaults to 1e-9.
        max_line_search: evaluations per line search. Defaults to 25.
        callbacks: Keras callbacks.
        verbose: ``"auto"`` (1), 0, 1 or 2, as in ``fit``.

    Returns:
        A ``keras.callbacks.History``.
    """
    _check_int(epochs, "epochs")
    _check_int(steps_per_epoch, "steps_per_epoch")
    if model.network.losses:
        warnings.warn(
            "The network adds losses (e.g. a VectorQuantizer's); L-BFGS minimises the PINN terms only, without them.",
            stacklevel=2,
        )
    verbose = 1 if verbose == "auto" else verbose
    objective = _ModelObjective(model)
    callback_list = keras.callbacks.CallbackList(
        callbacks,
        add_history=True,
        add_progbar=verbose != 0,
        model=model,
        verbose=verbose,
        epochs=epochs,
        steps=steps_per_epoch,
    )
    model.stop_training = False
    solver = LBFGS(
        objective,
        objective.initial(),
        history_size=history_size,
        tolerance_grad=tolerance_grad,
        tolerance_change=tolerance_change,
        max_line_search=max_line_search,
    )

    if not math.isfinite(solver.loss):
        warnings.warn(_non_finite_start_message(model, solver.aux or {}), RuntimeWarning, stacklevel=2)

    def logs():
        terms = solver.aux or {}
        out = {"loss": solver.loss}
        out.update({f"{n}_loss": _float(v) for n, v in terms.items()})
        out.update({n: _float(v) for n, v in model.pde_parameters.items()})
        if model.loss_balancer.adaptive:
            out.update({f"{n}_weight": w for n, w in model.loss_weights().items()})
        return out

    callback_list.on_train_begin()
    epoch_logs = logs()
    for epoch in range(epochs):
        callback_list.on_epoch_begin(epoch)
        for step in range(steps_per_epoch):
            callback_list.on_train_batch_begin(step)
            solver.step()
            objective.assign(solver.x)
            epoch_logs = logs()
            callback_list.on_train_batch_end(step, epoch_logs)
            if solver.done or model.stop_training:
                break
        callback_list.on_epoch_end(epoch, epoch_logs)
        if solver.done or model.stop_training:
            break
    if not solver.done:
        solver._finish(
            False,
            "iteration budget (epochs * steps_per_epoch) used" if not model.stop_training else "stopped by a callback",
        )
    objective.assign(solver.x)
    callback_list.on_train_end(logs=epoch_logs)
    history = model.history
    history.lbfgs = {
        "iterations": solver.iterations,
        "evaluations": solver.evaluations,
        "converged": solver.converged,
        "message": solver.message,
    }
    if verbose:
        print(f"L-BFGS: {solver.message} after {solver.iterations} iterations, {solver.evaluations} evaluations.")
    return history


def _non_finite_start_message(model, terms) -> str:
    """Why L-BFGS cannot start: the non-finite terms (in the model's term
    order) and the first non-finite weight, if any."""
    bad = []
    for name, value in terms.items():
        value = _float(value)
        if not math.isfinite(value):
            bad.append(f"{name!r} ({value})")
    weights = [
        v.path for v in model.weights if "float" in str(v.dtype) and not np.all(np.isfinite(ops.convert_to_numpy(v)))
    ]
    what = f"term {bad[0]}" if len(bad) == 1 else ("terms " + ", ".join(bad) if bad else "the weighted total")
    message = f"fit_lbfgs: the loss at the starting weights is not finite: {what}"
    if weights:
        message += f"; the weights hold non-finite values (first: {weights[0]!r})"
    return message + ". L-BFGS cannot start from them and leaves the weights unchanged."
