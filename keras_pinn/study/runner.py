"""Training runs of the study on the current Keras backend.

:func:`run_one` trains one variant on one problem with one seed and returns
its record (error, loss history, timings) and writes the arrays the figures
need; :func:`run_backend` runs a whole plan in this process through the
study's engine (:mod:`keras_pinn.study.engine`), which stores every finished
run under the report folder, so that the report can be written by a process
that never imports a backend.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import math
import platform
import re
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

import keras
import numpy as np

from keras_pinn.model import PINNModel
from keras_pinn.problems import PROBLEMS
from keras_pinn.problems.reference import (
    buckley_leverett_metrics,
    buckley_leverett_shock,
    buckley_leverett_solution,
    buckley_leverett_viscous,
    relative_l2_error,
)
from keras_pinn.study.config import (
    EXACT_CONDITIONS,
    VARIANTS,
    Budget,
    RunSpec,
    StudyOptions,
    target_of,
)
from keras_pinn.study.variants import Network, build_network, grid_shape_of, hard_constraint

__all__ = ["diffusion_floor", "make_problem", "problem_facts", "run_backend", "run_one", "versions"]


def versions() -> dict:
    """Versions of Python, Keras, NumPy and the installed backends (read from
    package metadata, nothing imported)."""
    found = {"python": platform.python_version(), "platform": platform.platform()}
    for package in ("keras", "numpy", "jax", "jaxlib", "tensorflow", "tensorflow-cpu", "torch", "keras-pinn"):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            pass
    return found


def make_problem(name: str, options: dict | None = None):
    """The :class:`~keras_pinn.problems.Problem` ``name`` built with ``options``."""
    if name not in PROBLEMS:
        raise ValueError(f"Unknown problem: expected one of {tuple(PROBLEMS)}. Received: problem={name!r}")
    return PROBLEMS[name](**(options or {}))


def problem_facts(problem) -> dict:
    """What the report needs to know about a problem, JSON-ready."""
    facts = {
        "name": problem.name,
        "description": problem.description,
        "order": int(problem.order),
        "names": list(problem.domain.names),
        "lower": [float(v) for v in problem.domain.lower],
        "upper": [float(v) for v in problem.domain.upper],
        "grid_shape": [int(s) for s in problem.grid_shape],
    }
    facts["exact_conditions"] = problem.name in EXACT_CONDITIONS
    if problem.name == "buckley_leverett":
        m = float(getattr(problem.pde, "m", 2.0))
        s_shock, speed = buckley_leverett_shock(m)
        facts.update(m=m, shock_saturation=float(s_shock), shock_speed=float(speed))
    return facts


@functools.lru_cache(maxsize=8)
def _diffusion_floor(diffusion: float, m: float, length: float, t1: float, shape: tuple) -> dict:
    from keras_pinn.problems import buckley_leverett

    return diffusion_floor(buckley_leverett(m=m, diffusion=diffusion, t1=t1, length=length), diffusion)


def diffusion_floor(problem, diffusion: float) -> dict:
    """How far the exact solution of the diffused Buckley-Leverett problem
    (``S_t + f(S)_x = eps S_xx``, finite volumes) lies from the inviscid
    (Welge) reference: the error a perfectly trained ``diffusion`` variant
    would still have. Relative L2 on the evaluation grid and the shock
    position error."""
    length = float(problem.domain.upper[0])
    m = float(problem.pde.m)
    points = problem.grid()
    viscous = buckley_leverett_viscous(points[:, 0], points[:, 1], diffusion, m=m, length=length)
    exact = buckley_leverett_solution(points[:, 0], points[:, 1], m=m)
    metrics = buckley_leverett_metrics(
        lambda p: buckley_leverett_viscous(p[:, 0], p[:, 1], diffusion, m=m, length=length), m=m, length=length
    )
    return {
        "diffusion": float(diffusion),
        "relative_l2": float(relative_l2_error(viscous, exact)),
        "shock_position_error": metrics["shock_position_error"],
        "relative_l1": metrics["relative_l1"],
    }


def _finite(value) -> float | None:
    """A float, or None for NaN and infinities (JSON has neither)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _shape_key(shape) -> str:
    return "x".join(str(int(s)) for s in shape)


class _Timer(keras.callbacks.Callback):
    """Epoch end times, the error every ``trace_every`` epochs, and a tqdm
    bar over the steps when given one.

    ``stamps`` are training times: the time spent measuring the error is
    taken out, so the error-vs-time curve and the speed are those of
    training alone.
    """

    def __init__(self, steps_per_epoch: int, bar=None, trace=None, trace_every: int = 10):
        super().__init__()
        self.steps_per_epoch = steps_per_epoch
        self.bar = bar
        self.trace = trace
        self.trace_every = max(1, int(trace_every))
        self.stamps: list[float] = []
        self.error_trace: list[list[float]] = []  # [step, training time (s), error]
        self.eval_total = 0.0
        self.fit_start = time.perf_counter()

    def on_train_begin(self, logs=None):
        self.fit_start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter() - self.eval_total
        self.stamps.append(now)
        if self.trace is not None and (epoch + 1) % self.trace_every == 0:
            start = time.perf_counter()
            try:
                error = _finite(self.trace())
            except Exception:  # the trace is a figure, never a reason to fail the run
                error = None
            self.error_trace.append([(epoch + 1) * self.steps_per_epoch, now - self.fit_start, error])
            self.eval_total += time.perf_counter() - start
        if self.bar is not None:
            self.bar.update(self.steps_per_epoch)
            loss = (logs or {}).get("loss")
            if loss is not None:
                self.bar.set_postfix_str(f"loss {float(loss):.3g}", refresh=False)


def _schedule(budget: Budget, steps: int) -> tuple[int, int]:
    """``(epochs, steps_per_epoch)``: about ``budget.log_points`` epochs and
    at least ``steps`` steps in all (rounded up to whole epochs)."""
    per_epoch = max(1, math.ceil(steps / budget.log_points))
    return math.ceil(steps / per_epoch), per_epoch


def _save_reference(problem, shape, arrays_dir: Path) -> str:
    """Writes the reference solution on the grid ``shape`` once; returns the
    file name (relative to the arrays folder's parent)."""
    name = f"reference__{problem.name}__{_shape_key(shape)}.npz"
    path = arrays_dir.parent / name
    if not path.exists():
        points = problem.domain.grid(shape)
        np.savez_compressed(
            path, points=points, solution=problem.solution(points).astype("float32"), shape=np.asarray(shape)
        )
    return name


def run_one(spec: RunSpec, budget: Budget, arrays_dir: Path | None = None, bar=None) -> dict:
    """Trains one variant on one problem with one seed.

    Args:
        spec: the problem, variant, seed and problem options.
        budget: steps, points and network size.
        arrays_dir: where to write the run's arrays for the figures
            (prediction on the evaluation grid, VQ codes, hidden layers), or
            None.
        bar: optional tqdm bar advanced over the steps.

    Returns:
        The run's record, JSON-ready: ``status`` (``"ok"``, ``"diverged"``
        or ``"failed"``), ``error`` (relative L2), ``history`` (loss per term
        per epoch), timings and facts about the network.
    """
    variant = VARIANTS[spec.variant]
    record = {**spec.to_dict(), "backend": keras.backend.backend(), "status": "failed", "error": None}
    start = time.perf_counter()
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            keras.utils.set_random_seed(spec.seed)
            problem = make_problem(spec.problem, spec.problem_options)
            network = build_network(spec.variant, problem.domain, problem.order, budget)
            extra_callbacks = network.setup(problem) if network.setup is not None else []
            model = _pinn_model(problem, network, variant, budget, spec.seed)
            epochs, per_epoch = _schedule(budget, budget.steps)
            steps = epochs * per_epoch
            schedule = keras.optimizers.schedules.ExponentialDecay(
                budget.learning_rate, decay_steps=steps, decay_rate=0.1
            )
            model.compile(optimizer=keras.optimizers.Adam(schedule))
            record["setup_time_s"] = time.perf_counter() - start
            timer = _Timer(
                per_epoch,
                bar,
                trace=_error_trace(spec, problem, model, network, budget),
                trace_every=max(1, epochs // 5),
            )
            fit_start = time.perf_counter()
            history = model.fit(
                epochs=epochs,
                steps_per_epoch=per_epoch,
                verbose=0,
                callbacks=[*extra_callbacks, timer, keras.callbacks.TerminateOnNaN()],
            )
            fit_time = time.perf_counter() - fit_start - timer.eval_total
            record.update(_timings(timer.stamps, timer.fit_start, fit_time, per_epoch))
            record["error_trace"] = timer.error_trace
            record.update(
                steps=len(timer.stamps) * per_epoch,
                epochs=len(timer.stamps),
                steps_per_epoch=per_epoch,
                n_params=network.info.get("n_params"),
                derivative_method=model.resolved_derivative_method,
                info={k: v for k, v in network.info.items() if k != "n_params"},
            )
            record["history"] = {k: [_finite(v) for v in values] for k, values in history.history.items()}
            record["final_losses"] = {k: v[-1] for k, v in record["history"].items() if v}
            eval_start = time.perf_counter()
            record.update(_evaluate(spec, problem, model, network, budget, arrays_dir))
            record["eval_time_s"] = time.perf_counter() - eval_start
    except Exception as error:  # a broken variant must not stop the study
        message = re.sub(r"\x1b\[[0-9;]*m", "", f"{type(error).__name__}: {error}")  # no terminal colours
        record.update(status="failed", message=message, traceback=traceback.format_exc(limit=6)[-3000:])
    record["total_time_s"] = time.perf_counter() - start
    # keras_pinn's own warnings (e.g. PINNModel's about ReLU and the PDE's order).
    messages = list(
        dict.fromkeys(
            str(w.message).splitlines()[0][:300]
            for w in caught
            if issubclass(w.category, UserWarning) and "keras_pinn" in str(w.filename)
        )
    )
    if messages:
        record["warnings"] = messages[:5]
    return record


def _pinn_model(problem, network: Network, variant, budget: Budget, seed: int):
    """The PINNModel of a run: the problem's loss terms, or for variants with
    hard constraints and problems of :data:`config.EXACT_CONDITIONS` the PDE
    alone with the conditions imposed exactly."""
    options = dict(
        n_collocation=budget.n_collocation,
        seed=seed,
        sampler=variant.sampler,
        derivative_method=variant.derivative_method,
        allow_batch_normalization=variant.allow_batch_normalization,
    )
    if not (variant.hard_constraints or problem.name in EXACT_CONDITIONS):
        return problem.model(network.model, n_condition=budget.n_condition, **options)
    # A GridConv with derivative_method="autodiff" is the article's naive
    # CNN-PINN: PINNModel probes it with the whole grid and takes input
    # derivatives of the CNN's outputs.
    model = PINNModel(
        network.model, problem.domain, problem.pde, conditions=(), output_transform=hard_constraint(problem), **options
    )
    return model


def _timings(stamps: list[float], fit_start: float, fit_time: float, per_epoch: int) -> dict:
    """Wall time of ``fit`` and the steady speed (the first epoch holds the
    compilation, so the speed is measured over the others)."""
    first = stamps[0] - fit_start if stamps else fit_time
    if len(stamps) > 1:
        speed = (len(stamps) - 1) * per_epoch / (stamps[-1] - stamps[0])
    else:
        speed = per_epoch / max(fit_time, 1e-9)
    return {"wall_time_s": fit_time, "first_epoch_s": first, "steps_per_second": speed}


def _eval_shape(spec: RunSpec, problem, network: Network, budget: Budget) -> tuple[int, ...]:
    """The grid a run is scored on: the collocation grid for grid networks
    and the grid sampler's variants (idea 3), else the problem's grid."""
    variant = VARIANTS[spec.variant]
    if network.grid_shape is not None or variant.sampler == "grid":
        return tuple(network.grid_shape or grid_shape_of(problem.domain, budget.n_collocation))
    return tuple(problem.grid_shape)


def _error_trace(spec: RunSpec, problem, model, network: Network, budget: Budget):
    """``trace() -> relative L2 error`` during training, on a coarser grid
    (a quarter of the points per dimension; grid networks on their grid)."""
    shape = _eval_shape(spec, problem, network, budget)
    if network.grid_shape is None and VARIANTS[spec.variant].sampler != "grid":
        shape = tuple(max(2, s // 4) for s in shape)
    points = problem.domain.grid(shape)
    solution = problem.solution(points)

    def trace() -> float:
        pred = np.asarray(model.predict(points, verbose=0, batch_size=len(points)))[:, :1]
        return relative_l2_error(pred, solution) if np.all(np.isfinite(pred)) else float("nan")

    return trace


def _predict_batch_statistics(model, network: Network, points: np.ndarray) -> np.ndarray:
    """The network's prediction with its normalisation layers in training
    mode (statistics of ``points`` themselves), without updating the moving
    averages (they are restored), through the model's output transform."""
    saved = [np.array(keras.ops.convert_to_numpy(v)) for v in network.model.non_trainable_variables]
    x = keras.ops.convert_to_tensor(points, dtype="float32")
    u = network.model(x, training=True)
    transform = getattr(model, "output_transform", None)
    if transform is not None:
        u = transform(x, u)
    for variable, value in zip(network.model.non_trainable_variables, saved):
        variable.assign(value)
    return np.asarray(keras.ops.convert_to_numpy(u))[:, :1]


def _evaluate(spec: RunSpec, problem, model, network: Network, budget: Budget, arrays_dir: Path | None) -> dict:
    """Relative L2 error, the problem's target metric, and the arrays of the
    figures.

    Networks bound to a grid (GridConv) and every variant trained on the grid
    sampler (idea 3) are scored on the collocation grid, the only points a
    grid network can predict, so the three variants of idea 3 are scored on
    the same points; every other variant on the problem's evaluation grid.
    Buckley-Leverett runs also get the shock metrics of
    :func:`keras_pinn.problems.reference.buckley_leverett_metrics` under
    ``metrics`` (shock position error at t = 0.25, 0.5, 0.75, relative L1,
    front width, relative L2 outside a band around the front).
    """
    shape = _eval_shape(spec, problem, network, budget)
    points = problem.domain.grid(shape)
    pred = np.asarray(model.predict(points, verbose=0, batch_size=len(points)))[:, :1]
    error = _finite(relative_l2_error(pred, problem.solution(points))) if np.all(np.isfinite(pred)) else None
    metrics_out: dict = {"relative_l2": error}
    out: dict = {
        "error": error,
        "status": "ok" if error is not None else "diverged",
        "eval_grid": list(shape),
        "metrics": metrics_out,
    }
    if problem.name == "buckley_leverett" and error is not None and network.grid_shape is None:
        length, t1 = float(problem.domain.upper[0]), float(problem.domain.upper[-1])
        metrics = buckley_leverett_metrics(
            lambda p: np.asarray(model.predict(p, verbose=0, batch_size=len(p)))[:, :1],
            m=float(problem.pde.m),
            times=tuple(f * t1 for f in (0.25, 0.5, 0.75)),
            length=length,
        )
        out["metrics"].update({k: (_finite(v) if isinstance(v, float) else v) for k, v in metrics.items()})
    if VARIANTS[spec.variant].allow_batch_normalization and error is not None:
        # Batch normalisation with the statistics of the whole evaluation set
        # (training mode) instead of the moving averages: separates the batch
        # coupling from the train/inference mismatch.
        full = _predict_batch_statistics(model, network, points)
        out["metrics"]["relative_l2_full_set_statistics"] = (
            _finite(relative_l2_error(full, problem.solution(points))) if np.all(np.isfinite(full)) else None
        )
    if problem.name == "buckley_leverett" and getattr(problem.pde, "diffusion", 0.0) > 0:
        out["diffusion_floor"] = _diffusion_floor(
            float(problem.pde.diffusion),
            float(problem.pde.m),
            float(problem.domain.upper[0]),
            float(problem.domain.upper[-1]),
            tuple(problem.grid_shape),
        )
    target = target_of(problem.name, budget.name)
    if target is not None:
        value = out["metrics"].get(target.metric)
        out["target"] = {
            "metric": target.metric,
            "threshold": target.threshold,
            "value": value,
            "met": value is not None and value <= target.threshold,
        }
    if arrays_dir is None:
        return out
    arrays_dir.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, Any] = {"prediction": pred[:, 0].astype("float32")}
    codes = network.code_indices(points)
    if codes is not None:
        arrays["codes"] = codes.astype("int16")
    if spec.variant == "mlp" and network.hidden is not None:
        x = model.point_sets()["pde"]["x"][: budget.tsne_points]
        arrays["tsne_points"] = x.astype("float32")
        arrays["tsne_prediction"] = np.asarray(model.predict(x, verbose=0, batch_size=len(x)))[:, 0]
        arrays["hidden"] = np.stack(network.hidden_values(x) or []).astype("float32")
    np.savez_compressed(arrays_dir / f"{spec.run_id}.npz", **arrays)
    out["arrays"] = f"{arrays_dir.name}/{spec.run_id}.npz"
    out["reference"] = _save_reference(problem, shape, arrays_dir)
    return out


def run_backend(options: StudyOptions, progress: bool = True, command: str | None = None) -> dict:
    """Runs the plan of ``options`` on the current backend, in this process,
    one run after the other, through the study's engine
    (:func:`keras_pinn.study.engine.execute` with ``in_process=True``): each
    finished run is written to ``<out>/runs/<backend>/`` as soon as it ends,
    runs already finished there are skipped, and ``<out>/runs/<backend>.json``
    is assembled at the end.

    Args:
        options: the study; ``options.backends`` must be the current backend
            only, and ``options.out`` a prepared report folder
            (:func:`keras_pinn.study.engine.prepare_out`).
        progress: print one line per finished run.
        command: the command line, recorded in the results.

    Returns:
        ``{"backend", "versions", "problems", "runs", "status", ...}``, as
        written to ``<out>/runs/<backend>.json``.
    """
    from keras_pinn.study import engine

    backend = keras.backend.backend()
    if tuple(options.backends) != (backend,):
        raise ValueError(
            f"run_backend runs on the current backend {backend!r} only. Received: backends={list(options.backends)!r}"
        )
    engine.execute(options, in_process=True, progress=progress)
    engine.assemble(options, command=command)
    return json.loads((Path(options.out) / "runs" / f"{backend}.json").read_text())
