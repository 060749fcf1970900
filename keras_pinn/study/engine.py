"""How the study's runs are executed and stored: a Dask cluster, resumable.

A study is many independent runs (:func:`keras_pinn.study.config.plan_runs`
on each backend). This module

- keeps the report folder safe (:func:`check_out`, :func:`prepare_out`):
  ``<out>/study.json`` records the study's configuration, and a folder that
  holds another configuration's study is refused unless ``force``;
- runs what is not finished yet (:func:`execute`), on a Dask cluster (a
  local one by default: a scheduler in this process and one ``dask worker``
  process per core, each with one thread and pinned to one Keras backend by
  its ``KERAS_BACKEND``), or in this process (``in_process=True``);
- writes every finished run as soon as it ends, atomically: its arrays
  (``arrays/...npz``), then its record (``runs/<backend>/<run_id>.json``),
  which marks the run as finished;
- assembles the per-backend files the report reads
  (``runs/<backend>.json``) from the records (:func:`assemble`).

It imports neither Keras nor a backend: the runs execute in
:func:`keras_pinn.study.worker.execute_run`, in the workers.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from keras_pinn.study.config import RunSpec, StudyOptions, plan_runs

__all__ = [
    "STUDY_FILE",
    "OutFolderError",
    "assemble",
    "check_out",
    "configuration",
    "execute",
    "load_study",
    "prepare_out",
    "run_key",
    "run_line",
    "worker_env",
]

FORMAT = 1
"""Version of the folder layout written here."""

STUDY_FILE = "study.json"
"""The file of the report folder that names its study's configuration."""

ATTEMPTS = 2
"""A run that fails (an exception, or its worker dies) is queued once more,
then recorded as failed."""

SCRATCH = ".dask-scratch"
"""Folder under ``--out`` for the local workers' scratch space."""

# Relative cost of a run by variant and by backend, for "longest first"
# (mean run times of the quick budget measured in docs/study/*-quick*; a
# variant not listed counts as 1).
_VARIANT_COST = {
    "gridconv_autodiff": 2.0,
    "learnable_norm": 2.0,
    "layer_norm": 1.9,
    "parallel_pow_relu": 1.6,
    "vq": 1.5,
    "mlp": 1.1,
    "batch_norm": 1.0,
    "no_scaling": 0.9,
    "residual_mlp": 0.8,
    "mlp_grid": 0.8,
    "pow_relu": 0.8,
    "mlp_diffusion": 0.7,
    "relu": 0.5,
    "gridconv_fd": 0.5,
}
_BACKEND_COST = {"jax": 1.0, "torch": 1.8, "tensorflow": 2.8}


class OutFolderError(ValueError):
    """``--out`` cannot take this study (the message says why and what to do)."""


# -- the report folder ------------------------------------------------------------


def _probe_writable(folder: Path) -> bool:
    """Whether a file can be created in ``folder`` (tried, not guessed: a
    permission check says yes to root on a read-only file system)."""
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=".keras-pinn-probe-")
    except OSError:
        return False
    os.close(fd)
    os.unlink(name)
    return True


def check_out(out: str | os.PathLike, option: str = "--out") -> Path:
    """Checks that ``out`` can be a report folder: a non-empty path that is a
    writable folder, or does not exist yet under a writable folder.

    Raises:
        OutFolderError: naming ``option`` and the value received.
    """
    text = os.fspath(out)
    if not str(text).strip():
        raise OutFolderError(f"{option} must name a folder. Received: {option}={text!r}")
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise OutFolderError(f"{option} must be a folder, not a file. Received: {option}={text!r}")
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise OutFolderError(f"{option} lies under {str(existing)!r}, which is a file. Received: {option}={text!r}")
    if not _probe_writable(existing):
        where = "" if existing == path else f" (its nearest existing folder {str(existing)!r} is not writable)"
        raise OutFolderError(f"{option} must be a writable folder{where}. Received: {option}={text!r}")
    return path


def configuration(options: StudyOptions) -> dict:
    """What makes two studies' runs the same: the training budget (without
    its name and seed count) and the artificial diffusion. Which ideas,
    problems, variants, seeds and backends run does not: a study that only
    adds or drops runs resumes in the same folder."""
    budget = {k: v for k, v in options.budget.to_dict().items() if k not in ("name", "seeds")}
    return {"budget": budget, "diffusion": options.diffusion}


def run_key(spec: RunSpec, options: StudyOptions, backend: str) -> str:
    """A short hash of everything that fixes one run's result: its
    configuration, problem, variant, seed, problem options and backend."""
    data = {"configuration": configuration(options), "spec": spec.to_dict(), "backend": backend}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


_OWN = ("runs", "arrays", "figures", "results.json", "report.md", SCRATCH)


def _holds_a_study(out: Path) -> bool:
    return any((out / name).exists() for name in ("runs", "results.json", "report.md"))


def _remove_study(out: Path) -> None:
    """Deletes the study's own files in ``out`` (never anything else)."""
    for name in (*_OWN, STUDY_FILE):
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def load_study(out: str | os.PathLike) -> dict | None:
    """The contents of ``<out>/study.json``, or None."""
    path = Path(out) / STUDY_FILE
    if not path.exists():
        return None
    return json.loads(path.read_text())


def prepare_out(
    options: StudyOptions, *, force: bool = False, command: str | None = None, option: str = "--out"
) -> Path:
    """Makes ``options.out`` ready for this study and records it there.

    The same configuration (:func:`configuration`) resumes: its finished runs
    are kept. Another configuration is refused unless ``force``, which
    deletes that study's files (``study.json``, ``runs/``, ``arrays/``,
    ``figures/``, ``results.json``, ``report.md``; nothing else).

    Raises:
        OutFolderError: the folder is unusable or holds another study.
    """
    out = check_out(options.out, option)
    found = load_study(out) if out.exists() else None
    mine = configuration(options)
    if not force and out.exists():
        if found is None and _holds_a_study(out):
            raise OutFolderError(
                f"{option} {str(out)!r} holds a study report of unknown configuration (no {STUDY_FILE}). "
                f"Choose another {option}, or add --force to replace that report. "
                f"Received: {option}={options.out!r}"
            )
        if found is not None and found.get("configuration") != mine:
            theirs = found.get("configuration") or {}
            diff = _differences(theirs, mine)
            raise OutFolderError(
                f"{option} {str(out)!r} holds another study's report (a different configuration: {diff}). "
                f"Choose another {option}, run that study's own command to resume it, or add --force to "
                f"replace it. Received: {option}={options.out!r}"
            )
    if force:
        _remove_study(out)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    study = {
        "format": FORMAT,
        "configuration": mine,
        "options": options.to_dict(),
        "command": command,
        "written": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    _write_json(out / STUDY_FILE, study)
    return out


def _differences(theirs: dict, mine: dict) -> str:
    flat_a, flat_b = _flatten(theirs), _flatten(mine)
    keys = [k for k in dict.fromkeys([*flat_a, *flat_b]) if flat_a.get(k) != flat_b.get(k)]
    return ", ".join(f"{k} {flat_a.get(k)!r} there, {flat_b.get(k)!r} here" for k in keys[:4]) or "unknown"


def _flatten(data: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _write_json(path: Path, data) -> None:
    """Writes JSON atomically (a temporary file, then a rename)."""
    _write_bytes(path, json.dumps(data, indent=1, allow_nan=False).encode())


def _write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def record_path(out: Path, backend: str, run_id: str) -> Path:
    """Where the record of one run is stored."""
    return Path(out) / "runs" / backend / f"{run_id}.json"


def load_record(out: Path, backend: str, spec: RunSpec, key: str) -> dict | None:
    """The stored result of a run with this key, or None."""
    path = record_path(out, backend, spec.run_id)
    if not path.exists():
        return None
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return stored if stored.get("key") == key else None


def save_result(out: Path, backend: str, result: dict) -> Path:
    """Writes one finished run: its array files first, then its record (the
    record marks the run as finished), each atomically."""
    out = Path(out)
    for rel, data in (result.get("files") or {}).items():
        target = (out / "arrays" / rel).resolve()
        if (out / "arrays").resolve() not in target.parents:
            raise ValueError(f"A run's array file must lie under arrays/. Received: {rel!r}")
        _write_bytes(target, data)
    stored = {k: v for k, v in result.items() if k != "files"}
    stored["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    path = record_path(out, backend, result["record"]["run_id"])
    _write_json(path, _clean(stored))
    return path


def _clean(value):
    """NaN and infinities as None (strict JSON)."""
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


# -- the plan -------------------------------------------------------------------------


@dataclass
class Task:
    """One run to execute: a spec on a backend, with its key and cost."""

    backend: str
    spec: RunSpec
    key: str
    cost: float
    attempt: int = 1

    @property
    def label(self) -> str:
        s = self.spec
        return f"{self.backend} {s.problem} {s.variant} seed {s.seed}"


def plan_tasks(options: StudyOptions) -> list[Task]:
    """Every run of the study on every backend, longest first."""
    tasks = []
    for backend in options.backends:
        for spec in plan_runs(options):
            cost = _VARIANT_COST.get(spec.variant, 1.0) * _BACKEND_COST.get(backend, 1.0)
            tasks.append(Task(backend, spec, run_key(spec, options, backend), cost))
    return sorted(tasks, key=lambda t: -t.cost)


# -- progress -----------------------------------------------------------------------


def run_line(record: dict) -> str:
    """One line about a finished run."""
    label = f"{record.get('backend')} {record.get('problem')} {record.get('variant')} seed {record.get('seed')}"
    if record.get("status") == "failed":
        message = " ".join(str(record.get("message", "")).split())
        return f"{label}: FAILED ({message[:160]})"
    error = "diverged" if record.get("error") is None else f"rel. L2 {record['error']:.3g}"
    line = f"{label}: {error}"
    if record.get("steps") is not None and record.get("wall_time_s") is not None:
        line += f", {record['steps']} steps in {record['wall_time_s']:.1f} s"
    return line


def _clock(seconds: float) -> str:
    seconds = int(round(max(seconds, 0.0)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """Runs done / total, time left (from the measured pace and the runs'
    relative costs) and the last finished run's line, one line per run."""

    def __init__(self, tasks: Sequence[Task], skipped: int, enabled: bool):
        self.total = len(tasks)
        self.cost_left = sum(t.cost for t in tasks)
        self.cost_done = 0.0
        self.done = 0
        self.skipped = skipped
        self.enabled = enabled
        self.start = time.perf_counter()

    def say(self, text: str) -> None:
        if self.enabled:
            print(text, flush=True)

    def finished(self, task: Task, record: dict) -> None:
        self.done += 1
        self.cost_done += task.cost
        self.cost_left -= task.cost
        elapsed = time.perf_counter() - self.start
        left = self.cost_left * elapsed / self.cost_done if self.cost_done else 0.0
        self.say(
            f"[{self.done}/{self.total}] {_clock(elapsed)} elapsed, about {_clock(left)} left | {run_line(record)}"
        )


# -- execution ------------------------------------------------------------------------


@dataclass
class Outcome:
    """What :func:`execute` did."""

    total: int
    skipped: int
    ran: int
    failed: int
    interrupted: bool = False
    dashboard: str | None = None


def execute(
    options: StudyOptions,
    *,
    rerun: bool = False,
    in_process: bool = False,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> Outcome:
    """Runs every run of ``options`` that ``options.out`` does not hold yet.

    Args:
        options: the study; ``options.out`` must have been prepared
            (:func:`prepare_out`).
        rerun: run every run again, finished or not.
        in_process: run here, one after the other, on the current Keras
            backend (which must be ``options.backends``' only one).
        scheduler: address of a running Dask scheduler (``tcp://host:8786``)
            whose workers offer the resources named by the backends.
        workers: workers of the local cluster (default: the CPU cores, at
            least one per backend).
        progress: print a line per finished run.

    Returns:
        The counts of runs found finished, run and failed.
    """
    out = Path(options.out)
    tasks = plan_tasks(options)
    todo = []
    for task in tasks:
        if rerun:
            record_path(out, task.backend, task.spec.run_id).unlink(missing_ok=True)
            todo.append(task)
            continue
        stored = load_record(out, task.backend, task.spec, task.key)
        if stored is None or stored["record"].get("status") == "failed":
            todo.append(task)
    skipped = len(tasks) - len(todo)
    report = Progress(todo, skipped, progress)
    if skipped:
        report.say(f"{skipped} of {len(tasks)} runs already finished in {out}/ (kept; --rerun runs them again)")
    outcome = Outcome(total=len(tasks), skipped=skipped, ran=0, failed=0)
    if not todo:
        return outcome
    if in_process:
        _execute_here(options, todo, report, outcome)
    else:
        _execute_dask(options, todo, report, outcome, scheduler=scheduler, workers=workers)
    return outcome


def _failed_result(task: Task, message: str, trace: str | None, attempts: int) -> dict:
    record = {
        **task.spec.to_dict(),
        "backend": task.backend,
        "status": "failed",
        "error": None,
        "message": message,
        "traceback": (trace or "")[-3000:],
    }
    return {"format": FORMAT, "key": task.key, "attempts": attempts, "record": record}


def _store(options: StudyOptions, task: Task, result: dict, report: Progress, outcome: Outcome) -> None:
    result = {**result, "attempts": task.attempt}
    save_result(Path(options.out), task.backend, result)
    outcome.ran += 1
    if result["record"].get("status") == "failed":
        outcome.failed += 1
    report.finished(task, result["record"])


def _execute_here(options: StudyOptions, todo: list[Task], report: Progress, outcome: Outcome) -> None:
    """Runs the tasks in this process, one after the other."""
    from keras_pinn.study.worker import RunFailed, execute_run

    scratch = Path(options.out) / SCRATCH
    queue = list(todo)
    while queue:
        task = queue.pop(0)
        try:
            result = execute_run(
                task.spec.to_dict(), options.budget.to_dict(), task.backend, task.key, scratch=str(scratch)
            )
        except RunFailed as failure:
            result, reason = failure.result, failure.result["record"].get("message", "")
        except Exception as error:
            result = _failed_result(task, f"{type(error).__name__}: {error}", traceback.format_exc(), task.attempt)
            reason = result["record"]["message"]
        else:
            reason = None
        if reason is not None and task.attempt < ATTEMPTS:
            report.say(f"retrying {task.label} (attempt {task.attempt + 1} of {ATTEMPTS}): {reason[:160]}")
            task.attempt += 1
            queue.insert(0, task)
            continue
        _store(options, task, result, report, outcome)
    shutil.rmtree(scratch, ignore_errors=True)


def cores() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def worker_env(backend: str, base: dict | None = None) -> dict:
    """The environment of a worker pinned to ``backend``: ``KERAS_BACKEND``,
    one thread for every math library, quiet TensorFlow, and for JAX the
    persistent compilation cache (``~/.cache/keras-pinn/jax-compilation-cache``
    or ``$XDG_CACHE_HOME/...``; runs that differ only by their seed compile
    to the same program)."""
    env = dict(os.environ if base is None else base)
    env["KERAS_BACKEND"] = backend
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for name in (
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "TF_NUM_INTRAOP_THREADS",
        "TF_NUM_INTEROP_THREADS",
    ):
        env.setdefault(name, "1")
    flags = env.get("XLA_FLAGS", "")
    if "xla_cpu_multi_thread_eigen" not in flags:
        env["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false").strip()
    if backend == "jax":
        cache = os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "keras-pinn", "jax-compilation-cache"
        )
        env.setdefault("JAX_COMPILATION_CACHE_DIR", cache)
        env.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
        env.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
    return env


def worker_command(address: str, backend: str, name: str, scratch: str | None = None) -> list[str]:
    """The ``dask worker`` command of one worker of ``backend`` (one thread,
    the resource ``<backend>=1``); run it with :func:`worker_env`."""
    command = [
        sys.executable,
        "-m",
        "distributed.cli.dask_worker",
        address,
        "--nthreads",
        "1",
        "--nworkers",
        "1",
        "--resources",
        f"{backend}=1",
        "--name",
        name,
        "--no-dashboard",
        "--death-timeout",
        "120",
    ]
    if scratch:
        command += ["--local-directory", scratch]
    return command


def _assign(backends: Sequence[str], n: int) -> list[str]:
    """``n`` workers shared out over the backends (at least one each)."""
    n = max(n, len(backends))
    return [backends[i % len(backends)] for i in range(n)]


class _LocalCluster:
    """A Dask scheduler in this process (``distributed.LocalCluster`` with no
    workers of its own) and ``dask worker`` processes, each started with its
    backend's environment (a worker's backend is fixed when it imports
    Keras, so it must be set before the process starts)."""

    def __init__(self, options: StudyOptions, workers: int | None, report: Progress):
        import dask
        from distributed import LocalCluster

        self.scratch = Path(options.out) / SCRATCH
        self.scratch.mkdir(parents=True, exist_ok=True)
        dashboard = ":0" if importlib.util.find_spec("bokeh") is not None else None
        # A run whose worker dies is failed at once by the scheduler, then
        # queued again once by execute(): one re-queue in all.
        with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
            self.cluster = LocalCluster(
                n_workers=0,
                host="127.0.0.1",
                scheduler_port=0,
                dashboard_address=dashboard,
                processes=True,
                local_directory=str(self.scratch),
                silence_logs=40,
            )
        self.address = self.cluster.scheduler_address
        self.backends = _assign(list(options.backends), workers or cores())
        self.procs: list[subprocess.Popen] = []
        self.log = open(self.scratch / "workers.log", "ab")  # noqa: SIM115 - closed in close()
        counts: dict[str, int] = {}
        for backend in self.backends:
            counts[backend] = counts.get(backend, 0) + 1
            name = f"{backend}-{counts[backend]}"
            self.procs.append(
                subprocess.Popen(
                    worker_command(self.address, backend, name, str(self.scratch)),
                    env=worker_env(backend),
                    stdout=self.log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            )
        report.say(
            f"local Dask cluster: scheduler {self.address}, {len(self.procs)} worker process(es) "
            f"with one thread each ({', '.join(f'{n} {b}' for b, n in counts.items())})"
        )

    def wait(self, client, timeout: float = 600.0) -> None:
        deadline = time.monotonic() + timeout
        while len(_workers(client)) < len(self.procs):
            dead = [p for p in self.procs if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                raise RuntimeError(
                    f"{'A worker process exited' if dead else 'The workers did not start in time'}; "
                    f"see {self.scratch / 'workers.log'}"
                )
            time.sleep(0.2)

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.cluster.close()
        self.log.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


def _check_resources(client, backends: Sequence[str], address: str, timeout: float = 60.0) -> None:
    """Waits until the cluster has a worker for every backend; a clear error
    naming the missing ones (and how to start them) otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        offered: set[str] = set()
        for info in _workers(client).values():
            offered.update((info.get("resources") or {}).keys())
        missing = [b for b in backends if b not in offered]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if missing:
        hints = "; ".join(f"KERAS_BACKEND={b} dask worker {address} --nthreads 1 --resources {b}=1" for b in missing)
        raise RuntimeError(
            f"No worker of the Dask cluster at {address} offers backend(s) {', '.join(missing)}. "
            f"Start one per backend, e.g.: {hints}. Received: --scheduler={address!r}"
        )


def _execute_dask(
    options: StudyOptions,
    todo: list[Task],
    report: Progress,
    outcome: Outcome,
    *,
    scheduler: str | None,
    workers: int | None,
) -> None:
    from distributed import Client, as_completed

    from keras_pinn.study.worker import RunFailed, execute_run

    local = None
    client = None
    try:
        if scheduler is None:
            local = _LocalCluster(options, workers, report)
            client = Client(local.address, timeout=60)
            local.wait(client)
            address = local.address
        else:
            client = Client(scheduler, timeout=60)
            address = scheduler
            report.say(f"Dask cluster at {scheduler}: {len(_workers(client))} worker(s)")
        _check_resources(client, options.backends, address)
        if local is None or importlib.util.find_spec("bokeh") is not None:
            link = client.dashboard_link if _has_dashboard(client) else None
            if link:
                outcome.dashboard = link
                report.say(f"Dask dashboard: {link}")
        budget = options.budget.to_dict()
        futures = {}

        def submit(task: Task):
            future = client.submit(
                execute_run,
                task.spec.to_dict(),
                budget,
                task.backend,
                task.key,
                resources={task.backend: 1},
                priority=int(task.cost * 1000),
                pure=False,
                key=f"{task.backend}-{task.spec.run_id}-{task.key}-a{task.attempt}",
            )
            futures[future] = task
            return future

        # Each backend's runs wait here, longest first, and go to Dask one
        # per free worker of that backend: Dask places them, and a worker
        # that dies holds only the run it was running (the scheduler blames
        # every run assigned to a dying worker).
        queues: dict[str, list[Task]] = {b: [t for t in todo if t.backend == b] for b in options.backends}
        running = dict.fromkeys(options.backends, 0)
        pending = as_completed()

        def fill() -> None:
            slots = _slots(client, options.backends)
            for backend, queue in queues.items():
                while queue and running[backend] < slots[backend]:
                    pending.add(submit(queue.pop(0)))
                    running[backend] += 1

        report.start = time.perf_counter()  # the pace counts from here, not from the workers' start
        report.say(f"{len(todo)} run(s) to do, longest first")
        fill()
        for future in pending:
            task = futures.pop(future)
            running[task.backend] -= 1
            reason = None
            if future.status == "finished":
                result = future.result()
            else:
                error = future.exception()
                if isinstance(error, RunFailed):
                    result = error.result
                else:
                    trace = "".join(traceback.format_tb(future.traceback())) if future.traceback() else ""
                    result = _failed_result(task, f"{type(error).__name__}: {error}", trace, task.attempt)
                reason = result["record"].get("message", "")
            future.release()
            if reason is not None and task.attempt < ATTEMPTS:
                report.say(
                    f"retrying {task.label} (attempt {task.attempt + 1} of {ATTEMPTS}): "
                    f"{' '.join(reason.split())[:160]}"
                )
                task.attempt += 1
                queues[task.backend].insert(0, task)
            else:
                _store(options, task, result, report, outcome)
            fill()
    except KeyboardInterrupt:
        outcome.interrupted = True
        raise
    finally:
        if client is not None:
            if scheduler is not None:
                client.cancel(list(futures))
            client.close()
        if local is not None:
            local.close()


def _slots(client, backends: Sequence[str]) -> dict:
    """How many workers offer each backend now (at least one: a run waits
    for a worker that is restarting)."""
    slots = dict.fromkeys(backends, 0)
    for info in _workers(client).values():
        for name, amount in (info.get("resources") or {}).items():
            if name in slots:
                slots[name] += max(1, int(amount))
    return {b: max(1, n) for b, n in slots.items()}


def _workers(client) -> dict:
    """Every worker the scheduler knows (recent Dask lists only a few unless
    asked for all)."""
    try:
        return client.scheduler_info(n_workers=-1)["workers"]
    except TypeError:  # Dask before 2025: no n_workers, and every worker listed
        return client.scheduler_info()["workers"]


def _has_dashboard(client) -> bool:
    try:
        return "dashboard" in client.scheduler_info().get("services", {})
    except Exception:  # pragma: no cover - an old scheduler
        return False


# -- assembling the report's input -------------------------------------------------------


def assemble(options: StudyOptions, command: str | None = None) -> dict:
    """Writes ``<out>/runs/<backend>.json`` (what the report reads) from the
    records of this study's runs that are finished; returns the status of
    each backend (``"complete"`` or ``"incomplete: k of n runs finished"``)."""
    out = Path(options.out)
    plan = plan_runs(options)
    statuses = {}
    for backend in options.backends:
        runs, problems, versions, finished = [], {}, None, []
        for spec in plan:
            stored = load_record(out, backend, spec, run_key(spec, options, backend))
            if stored is None:
                continue
            runs.append(stored["record"])
            if stored.get("problem"):
                problems[spec.problem] = stored["problem"]
            versions = stored.get("versions") or versions
            finished.append(stored.get("finished") or "")
        status = "complete" if len(runs) == len(plan) else f"incomplete: {len(runs)} of {len(plan)} runs finished"
        statuses[backend] = status
        compute = sum(r.get("total_time_s") or 0.0 for r in runs)
        data = {
            "backend": backend,
            "versions": versions,
            "command": command,
            "options": options.to_dict(),
            "problems": problems,
            "runs": runs,
            "started": min(finished) if finished else None,
            "status": status,
            "wall_time_s": compute,
        }
        _write_json(out / "runs" / f"{backend}.json", _clean(data))
    return statuses
