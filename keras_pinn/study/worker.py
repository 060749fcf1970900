"""The study's unit of work as it runs on a Dask worker (or in this process).

:func:`execute_run` trains one run with
:func:`keras_pinn.study.runner.run_one` on the worker's Keras backend, in a
scratch folder of the worker, and returns the run's record and array files
as bytes: the process that drives the study writes them into the report
folder, so workers on other machines need no shared file system. Keras is
imported here only inside the function (a worker's backend is fixed by its
``KERAS_BACKEND`` when it first imports Keras).
"""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
import traceback
from pathlib import Path

__all__ = ["RunFailed", "execute_run"]


class RunFailed(Exception):
    """A run ended with status ``"failed"``; ``result`` holds its record
    (message and traceback), as :func:`execute_run` would have returned it.
    Raised so that the study's engine can queue the run once more."""

    def __init__(self, result: dict):
        super().__init__(result.get("record", {}).get("message", "the run failed"))
        self.result = result

    def __reduce__(self):
        return (RunFailed, (self.result,))


def _scratch_root(scratch: str | None) -> str:
    if scratch:
        Path(scratch).mkdir(parents=True, exist_ok=True)
        return scratch
    try:
        from distributed import get_worker

        return get_worker().local_directory
    except (ImportError, ValueError):
        return tempfile.gettempdir()


def execute_run(spec: dict, budget: dict, backend: str, key: str, scratch: str | None = None, bar=None) -> dict:
    """Trains one run on this process's Keras backend.

    Args:
        spec: the run (:meth:`keras_pinn.study.config.RunSpec.to_dict`).
        budget: the budget (:meth:`keras_pinn.study.config.Budget.to_dict`).
        backend: the backend the run is for; it must be this process's.
        key: the run's key (:func:`keras_pinn.study.engine.run_key`),
            returned with the result.
        scratch: folder for the run's temporary files (default: the Dask
            worker's local directory, else the system's temporary folder).
        bar: optional tqdm bar over the steps.

    Returns:
        ``{"format", "key", "record", "problem", "versions", "worker",
        "files"}``: ``files`` maps paths relative to the report's
        ``arrays/`` folder to their bytes.

    Raises:
        RunFailed: the run failed: its status is ``"failed"``, an exception
            escaped it, or this process runs another Keras backend (the
            failed record, with message and traceback, attached).
    """
    try:
        result = _execute(spec, budget, backend, key, scratch, bar)
    except Exception as error:
        # Sent back as plain data: a live traceback (thousands of frames for
        # a RecursionError) can hang the client that unpickles it.
        record = {
            **spec,
            "backend": backend,
            "status": "failed",
            "error": None,
            "message": f"{type(error).__name__}: {error}"[:2000],
            "traceback": traceback.format_exc(limit=12)[-3000:],
        }
        raise RunFailed(
            {"format": 1, "key": key, "record": record, "problem": None, "worker": _worker_name(), "files": {}}
        ) from None
    if result["record"].get("status") == "failed":
        raise RunFailed(result)
    return result


def _worker_name() -> str:
    return f"{platform.node()}:{os.getpid()}"


def _execute(spec: dict, budget: dict, backend: str, key: str, scratch: str | None, bar) -> dict:
    import keras

    from keras_pinn.study.config import Budget, RunSpec
    from keras_pinn.study.runner import make_problem, problem_facts, run_one, versions

    if keras.backend.backend() != backend:  # a worker started without its KERAS_BACKEND
        raise RuntimeError(
            f"This worker runs Keras on {keras.backend.backend()!r}, but the run is for {backend!r}: start "
            f"the workers of {backend!r} with KERAS_BACKEND={backend} (and --resources {backend}=1). "
            f"Received: backend={backend!r}"
        )
    run_spec = RunSpec(spec["problem"], spec["variant"], int(spec["seed"]), dict(spec.get("problem_options") or {}))
    folder = tempfile.mkdtemp(prefix=f"run-{run_spec.run_id}-", dir=_scratch_root(scratch))
    try:
        arrays_root = Path(folder) / "arrays"
        record = run_one(run_spec, Budget(**budget), arrays_root / backend, bar)
        files = {}
        if arrays_root.exists():
            for path in sorted(arrays_root.rglob("*.npz")):
                files[path.relative_to(arrays_root).as_posix()] = path.read_bytes()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    try:
        problem = problem_facts(make_problem(run_spec.problem))
    except Exception:  # the record says what went wrong with the problem
        problem = None
    result = {
        "format": 1,
        "key": key,
        "record": record,
        "problem": problem,
        "versions": versions(),
        "worker": _worker_name(),
        "files": files,
    }
    return result
