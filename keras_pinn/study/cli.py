"""Command line of the study: ``keras-pinn study`` and
``python -m keras_pinn.study``.

The parent process parses and validates the arguments, then runs each backend
in its own worker process (``python -m keras_pinn.study.worker``) with
``KERAS_BACKEND`` set, since Keras fixes its backend at import; it imports no
backend itself. When every worker is done it writes the report from the
files they left.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from keras_pinn.study.config import (
    BACKENDS,
    BUDGETS,
    DEFAULT_DIFFUSION,
    DEFAULT_PROBLEMS,
    IDEAS,
    PROBLEM_NAMES,
    VARIANTS,
    StudyOptions,
    make_options,
    plan_runs,
)

__all__ = ["add_arguments", "main", "options_from_args", "run_from_args", "run_study"]

_BACKEND_PACKAGES = {"jax": "jax", "tensorflow": "tensorflow", "torch": "torch"}

DESCRIPTION = (
    "Train the four ideas of the article '4 Ideas for Physics-Informed Neural Networks that Failed' "
    "against their baselines (same problems, budgets and seeds) and write a report folder with "
    "report.md, results.json and figures. With no options: the quick budget (a few minutes on a "
    "2-core CPU) on JAX if installed, else on Keras's configured backend."
)


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Adds the study's options to ``parser``."""
    ideas = ", ".join(f"{i.number}={k}" for k, i in IDEAS.items())
    parser.add_argument("--backend", "--backends", dest="backend", nargs="+", metavar="NAME",
                        help=f"backend(s) to run, each in its own process: {', '.join(BACKENDS)} or all "
                             "(space- or comma-separated). Default: jax if installed, else Keras's backend")
    parser.add_argument("--ideas", nargs="+", metavar="IDEA",
                        help=f"ideas to run, by number or name ({ideas}) or all. Default: all")
    parser.add_argument("--problems", nargs="+", metavar="NAME",
                        help=f"problems of ideas 1 to 3 ({', '.join(PROBLEM_NAMES)}). "
                             f"Default: {' '.join(DEFAULT_PROBLEMS)}. Idea 4 always uses buckley_leverett")
    parser.add_argument("--variants", nargs="+", metavar="NAME",
                        help=f"run only these variants ({', '.join(VARIANTS)}). Default: every variant")
    parser.add_argument("--seeds", metavar="N|LIST",
                        help="a count N (seeds 0 .. N-1) or a comma-separated list of seeds. "
                             f"Default: {BUDGETS['quick'].seeds} (quick), {BUDGETS['full'].seeds} (full)")
    parser.add_argument("--steps", type=int, metavar="N", help="Adam steps per run (overrides the budget)")
    parser.add_argument("--budget", choices=tuple(BUDGETS), default="quick",
                        help="quick: " + _budget_text("quick") + "; full: " + _budget_text("full"))
    parser.add_argument("--out", default="study-report", metavar="DIR",
                        help="report folder (default: study-report)")
    parser.add_argument("--collocation", type=int, metavar="N", help="collocation points (overrides the budget)")
    parser.add_argument("--width", type=int, metavar="N", help="units per hidden layer (overrides the budget)")
    parser.add_argument("--depth", type=int, metavar="N", help="hidden layers (overrides the budget)")
    parser.add_argument("--lr", type=float, metavar="RATE", help="initial learning rate (overrides the budget)")
    parser.add_argument("--diffusion", type=float, default=DEFAULT_DIFFUSION, metavar="EPS",
                        help=f"artificial diffusion of the mlp_diffusion variant (default {DEFAULT_DIFFUSION:g})")
    parser.add_argument("--no-figures", action="store_true", help="skip the figures")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def _budget_text(name: str) -> str:
    b = BUDGETS[name]
    return (f"{b.seeds} seeds, {b.steps} steps, {b.n_collocation} collocation points, "
            f"{b.depth}x{b.width} network")


def _join(values: Sequence[str] | None) -> str | None:
    return None if values is None else ",".join(values)


def options_from_args(args: argparse.Namespace) -> StudyOptions:
    """Validated options from parsed arguments (``ValueError`` naming the
    offending argument and value otherwise)."""
    return make_options(
        ideas=_join(args.ideas), problems=_join(args.problems), seeds=args.seeds, steps=args.steps,
        budget=args.budget, backends=_join(args.backend), out=args.out, diffusion=args.diffusion,
        variants=_join(args.variants), n_collocation=args.collocation, width=args.width, depth=args.depth,
        learning_rate=args.lr,
    )


def _check_installed(backends: Sequence[str]) -> None:
    missing = [b for b in backends if importlib.util.find_spec(_BACKEND_PACKAGES[b]) is None]
    if missing:
        raise ValueError(f"Backend(s) not installed: {', '.join(missing)}. Received: backend={','.join(backends)!r}")


def _clear(out: Path) -> None:
    """Removes the files an earlier study left in ``out`` (only the study's
    own file names: ``--out`` may be a folder holding other things)."""
    patterns = [f"runs/{b}.json" for b in BACKENDS] + [f"runs/{b}.job.json" for b in BACKENDS]
    patterns += ["arrays/reference__*.npz"] + [f"arrays/{b}/*.npz" for b in BACKENDS]
    patterns += [f"figures/{kind}_*.png" for kind in ("solutions", "losses", "vq_codes", "tsne")]
    patterns += ["results.json", "report.md"]
    for pattern in patterns:
        for path in out.glob(pattern):
            path.unlink()


def _worker_env(backend: str) -> dict:
    env = dict(os.environ, KERAS_BACKEND=backend)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if backend == "jax":
        # Runs that differ only by their seed compile to the same program: a
        # persistent compilation cache cuts each repeat's compile time from
        # seconds to a fraction of a second.
        cache = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                             "keras-pinn", "jax-compilation-cache")
        env.setdefault("JAX_COMPILATION_CACHE_DIR", cache)
        env.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
        env.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
    return env


def run_study(
    options: StudyOptions,
    *,
    in_process: bool = False,
    progress: bool = True,
    figures: bool = True,
    command: str | None = None,
) -> dict:
    """Runs a study and writes its report folder.

    Args:
        options: the study (see :func:`keras_pinn.study.config.make_options`).
        in_process: train in this process on the current Keras backend
            (``options.backends`` must be that one backend) instead of one
            worker process per backend.
        progress: show progress.
        figures: draw the figures.
        command: the command line, recorded in the report.

    Returns:
        The results written to ``<out>/results.json``.
    """
    from keras_pinn.study.report import write_report

    out = Path(options.out)
    _clear(out)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    if in_process:
        import keras

        from keras_pinn.study.runner import run_backend

        current = keras.backend.backend()
        if tuple(options.backends) != (current,):
            raise ValueError(
                f"In-process studies run on the current backend {current!r} only. "
                f"Received: backends={list(options.backends)!r}"
            )
        run_backend(options, progress=progress, command=command)
    else:
        _check_installed(options.backends)
        for backend in options.backends:
            _spawn(options, backend, progress, command)
    wall = time.perf_counter() - start
    if progress:
        print("writing the report ...", flush=True)
    return write_report(out, options, wall_time_s=wall, command=command, figures=figures)


def _spawn(options: StudyOptions, backend: str, progress: bool, command: str | None) -> int:
    """Runs one backend's share of the study in a worker process."""
    out = Path(options.out)
    job = out / "runs" / f"{backend}.job.json"
    job_options = StudyOptions.from_dict({**options.to_dict(), "backends": [backend]})
    job.write_text(json.dumps({"options": job_options.to_dict(), "progress": progress, "command": command}))
    if progress:
        print(f"--- backend {backend}: {len(plan_runs(job_options))} runs, worker process "
              f"(KERAS_BACKEND={backend})", flush=True)
    code = subprocess.call([sys.executable, "-m", "keras_pinn.study.worker", str(job)], env=_worker_env(backend))
    job.unlink(missing_ok=True)
    if code != 0:
        print(f"--- backend {backend}: the worker exited with status {code}; the report keeps the runs "
              "it finished", file=sys.stderr, flush=True)
        _mark_status(out / "runs" / f"{backend}.json", backend, f"worker exited with status {code}")
    return code


def _mark_status(path: Path, backend: str, status: str) -> None:
    data = json.loads(path.read_text()) if path.exists() else {"backend": backend, "problems": {}, "runs": []}
    data["status"] = status
    path.write_text(json.dumps(data, indent=1))


def run_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser, prog: str | None = None) -> int:
    """Runs the study described by parsed arguments; a bad value ends with
    ``parser.error`` (exit status 2) naming it."""
    try:
        options = options_from_args(args)
        _check_installed(options.backends)
    except ValueError as error:
        parser.error(str(error))
    command = " ".join([prog or parser.prog] + [shlex.quote(a) for a in getattr(args, "_argv", [])])
    n_runs = len(plan_runs(options))
    chosen = "chosen with --backend" if args.backend else (
        "JAX is installed" if options.backends == ("jax",) else "Keras's configured backend")
    b = options.budget
    print(f"keras-pinn study: backend {', '.join(options.backends)} ({chosen}); budget {b.name}: "
          f"{len(options.seeds)} seed(s), {b.steps} steps, {b.n_collocation} collocation points, "
          f"{b.depth}x{b.width} networks; ideas {', '.join(options.ideas)}; {n_runs} runs per backend; "
          f"report in {options.out}/", flush=True)
    results = run_study(options, progress=not args.quiet, figures=not args.no_figures, command=command)
    print(f"done in {results['wall_time_s']:.0f} s. Verdicts:")
    for v in results["verdicts"]:
        print(f"  idea {v['number']} ({v['backend']}): {v['headline']}")
    print(f"report: {Path(options.out) / 'report.md'}")
    failed = [b for b, meta in results["backends"].items() if meta.get("status") != "complete"]
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None, prog: str = "python -m keras_pinn.study") -> int:
    """Entry point of ``python -m keras_pinn.study``."""
    parser = add_arguments(argparse.ArgumentParser(prog=prog, description=DESCRIPTION))
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args._argv = argv
    return run_from_args(args, parser)
