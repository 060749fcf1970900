"""Command line of the study: ``keras-pinn study`` and
``python -m keras_pinn.study`` (and ``... study report DIR``).

The parent process parses and validates the arguments, prepares the report
folder (:func:`keras_pinn.study.engine.prepare_out`), runs what is not
finished yet on a Dask cluster (:func:`keras_pinn.study.engine.execute`:
a local one by default, one worker process per core, each pinned to one
Keras backend) and writes the report from the finished runs. It imports no
backend itself.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import shlex
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

__all__ = [
    "add_arguments",
    "main",
    "options_from_args",
    "report_main",
    "run_from_args",
    "run_study",
    "write_study_report",
]

_BACKEND_PACKAGES = {"jax": "jax", "tensorflow": "tensorflow", "torch": "torch"}

DESCRIPTION = (
    "Train the four ideas of the article '4 Ideas for Physics-Informed Neural Networks that Failed' "
    "against their baselines (same problems, budgets and seeds) and write a report folder with "
    "report.md, results.json and figures. With no options: the quick budget (a few minutes on a "
    "2-core CPU) on JAX if installed, else on Keras's configured backend. Runs execute on a local Dask "
    "cluster (one worker per core) or an existing one (--scheduler); each finished run is stored at once, "
    "and the same command resumes an interrupted study. 'keras-pinn study report DIR' rewrites the report "
    "of DIR from its finished runs."
)


def _positive_int(option: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < 1:
            raise argparse.ArgumentTypeError(f"must be a positive integer. Received: {option}={text!r}")
        return value

    return parse


def _positive_float(option: str):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"must be a positive finite number. Received: {option}={text!r}")
        return value

    return parse


def _nonempty(option: str):
    def parse(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"must not be empty. Received: {option}={text!r}")
        return text.strip()

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Adds the study's options to ``parser``."""
    ideas = ", ".join(f"{i.number}={k}" for k, i in IDEAS.items())
    parser.add_argument(
        "--backend",
        "--backends",
        dest="backend",
        nargs="+",
        metavar="NAME",
        help=f"backend(s) to run, each in its own process: {', '.join(BACKENDS)} or all "
        "(space- or comma-separated). Default: jax if installed, else Keras's backend",
    )
    parser.add_argument(
        "--ideas", nargs="+", metavar="IDEA", help=f"ideas to run, by number or name ({ideas}) or all. Default: all"
    )
    parser.add_argument(
        "--problems",
        nargs="+",
        metavar="NAME",
        help=f"problems of ideas 1 to 3 ({', '.join(PROBLEM_NAMES)}). "
        f"Default: {' '.join(DEFAULT_PROBLEMS)}. Idea 4 always uses buckley_leverett",
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        metavar="NAME",
        help=f"run only these variants ({', '.join(VARIANTS)}). Default: every variant",
    )
    parser.add_argument(
        "--seeds",
        metavar="N|LIST",
        help="a count N (seeds 0 .. N-1) or a comma-separated list of seeds. "
        f"Default: {BUDGETS['quick'].seeds} (quick), {BUDGETS['full'].seeds} (full)",
    )
    parser.add_argument(
        "--steps", type=_positive_int("--steps"), metavar="N", help="Adam steps per run (overrides the budget)"
    )
    parser.add_argument(
        "--budget",
        choices=tuple(BUDGETS),
        default="quick",
        help="quick: " + _budget_text("quick") + "; full: " + _budget_text("full"),
    )
    parser.add_argument(
        "--out",
        default="study-report",
        metavar="DIR",
        help="report folder (default: study-report). A folder of the same configuration "
        "resumes: its finished runs are kept; another study's folder is refused",
    )
    parser.add_argument(
        "--collocation",
        type=_positive_int("--collocation"),
        metavar="N",
        help="collocation points (overrides the budget)",
    )
    parser.add_argument(
        "--width", type=_positive_int("--width"), metavar="N", help="units per hidden layer (overrides the budget)"
    )
    parser.add_argument(
        "--depth", type=_positive_int("--depth"), metavar="N", help="hidden layers (overrides the budget)"
    )
    parser.add_argument(
        "--lr", type=_positive_float("--lr"), metavar="RATE", help="initial learning rate (overrides the budget)"
    )
    parser.add_argument(
        "--diffusion",
        type=_positive_float("--diffusion"),
        default=DEFAULT_DIFFUSION,
        metavar="EPS",
        help=f"artificial diffusion of the mlp_diffusion variant (default {DEFAULT_DIFFUSION:g})",
    )
    parser.add_argument(
        "--scheduler",
        type=_nonempty("--scheduler"),
        metavar="ADDRESS",
        help="run on the Dask cluster of this scheduler (e.g. tcp://host:8786), whose workers "
        "offer a resource per backend (see docs/study-engine.md). Default: a local "
        "cluster on this machine",
    )
    parser.add_argument(
        "--workers",
        type=_positive_int("--workers"),
        metavar="N",
        help="worker processes of the local cluster, one thread each, shared out over the "
        "backends (default: the CPU cores, at least one per backend)",
    )
    parser.add_argument(
        "--rerun", action="store_true", help="run every run again, even those already finished in --out"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace a report of another configuration in --out (deletes its runs, arrays, "
        "figures and report; nothing else in the folder)",
    )
    parser.add_argument("--no-figures", action="store_true", help="skip the figures")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser


def _budget_text(name: str) -> str:
    b = BUDGETS[name]
    return f"{b.seeds} seeds, {b.steps} steps, {b.n_collocation} collocation points, {b.depth}x{b.width} network"


def _join(values: Sequence[str] | None) -> str | None:
    return None if values is None else ",".join(values)


def options_from_args(args: argparse.Namespace) -> StudyOptions:
    """Validated options from parsed arguments (``ValueError`` naming the
    offending argument and value otherwise)."""
    return make_options(
        ideas=_join(args.ideas),
        problems=_join(args.problems),
        seeds=args.seeds,
        steps=args.steps,
        budget=args.budget,
        backends=_join(args.backend),
        out=args.out,
        diffusion=args.diffusion,
        variants=_join(args.variants),
        n_collocation=args.collocation,
        width=args.width,
        depth=args.depth,
        learning_rate=args.lr,
    )


def _check_installed(backends: Sequence[str]) -> None:
    missing = [b for b in backends if importlib.util.find_spec(_BACKEND_PACKAGES[b]) is None]
    if missing:
        raise ValueError(f"Backend(s) not installed: {', '.join(missing)}. Received: backend={','.join(backends)!r}")


def run_study(
    options: StudyOptions,
    *,
    in_process: bool = False,
    progress: bool = True,
    figures: bool = True,
    command: str | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    rerun: bool = False,
    force: bool = False,
) -> dict:
    """Runs a study and writes its report folder.

    The runs already finished in ``options.out`` (same configuration, see
    :func:`keras_pinn.study.engine.configuration`) are kept and skipped;
    every other run is written there as soon as it ends.

    Args:
        options: the study (see :func:`keras_pinn.study.config.make_options`).
        in_process: train in this process on the current Keras backend
            (``options.backends`` must be that one backend), one run after
            the other, instead of on a Dask cluster.
        progress: print progress.
        figures: draw the figures.
        command: the command line, recorded in the report.
        scheduler: address of a running Dask scheduler to run on (default:
            a local cluster on this machine).
        workers: worker processes of the local cluster (default: the CPU
            cores, at least one per backend).
        rerun: run every run again, even those already finished.
        force: replace a study of another configuration in ``options.out``.

    Returns:
        The results written to ``<out>/results.json``.

    Raises:
        keras_pinn.study.engine.OutFolderError: ``options.out`` cannot be
            used (unwritable, a file, or another study's folder without
            ``force``).
        KeyboardInterrupt: interrupted; the finished runs are kept.
    """
    from keras_pinn.study import engine

    engine.prepare_out(options, force=force, command=command)
    start = time.perf_counter()
    if in_process:
        import keras

        current = keras.backend.backend()
        if tuple(options.backends) != (current,):
            raise ValueError(
                f"In-process studies run on the current backend {current!r} only. "
                f"Received: backends={list(options.backends)!r}"
            )
    elif scheduler is None:
        _check_installed(options.backends)
    try:
        engine.execute(
            options, rerun=rerun, in_process=in_process, scheduler=scheduler, workers=workers, progress=progress
        )
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: the finished runs are kept in {options.out}/. Run the same command again to "
            f"finish the study, or 'keras-pinn study report {options.out}' for a report of what is "
            "finished.",
            file=sys.stderr,
            flush=True,
        )
        raise
    return write_study_report(
        options, command=command, wall_time_s=time.perf_counter() - start, figures=figures, progress=progress
    )


def write_study_report(
    options: StudyOptions,
    *,
    command: str | None = None,
    wall_time_s: float | None = None,
    figures: bool = True,
    progress: bool = False,
) -> dict:
    """Writes the report of ``options.out`` from its finished runs (a study
    still running or interrupted gives a report of what is finished; its
    backends' status says how much)."""
    from keras_pinn.study import engine
    from keras_pinn.study.report import write_report

    engine.assemble(options, command=command)
    if progress:
        print("writing the report ...", flush=True)
    return write_report(Path(options.out), options, wall_time_s=wall_time_s, command=command, figures=figures)


def _print_results(results: dict, out: str) -> None:
    for backend, meta in results["backends"].items():
        print(f"  {backend}: {meta.get('status')}")
    print("Verdicts:")
    for v in results["verdicts"]:
        print(f"  idea {v['number']} ({v['backend']}): {v['headline']}")
    print(f"report: {Path(out) / 'report.md'}")


def run_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser, prog: str | None = None) -> int:
    """Runs the study described by parsed arguments; a bad value ends with
    ``parser.error`` (exit status 2) naming it."""
    from keras_pinn.study import engine

    command = " ".join([prog or parser.prog] + [shlex.quote(a) for a in getattr(args, "_argv", [])])
    try:
        engine.check_out(args.out)
        options = options_from_args(args)
        if importlib.util.find_spec("distributed") is None:
            raise ValueError(
                "The study runs on Dask, which is not installed: pip install 'keras-pinn[study]' "
                "(or 'dask[distributed]')."
            )
        if args.scheduler is None:
            _check_installed(options.backends)
        elif args.workers is not None:
            raise ValueError(
                f"--workers sizes the local cluster; with --scheduler the cluster's own workers run "
                f"the study. Received: --workers={args.workers}, --scheduler={args.scheduler!r}"
            )
        engine.prepare_out(options, force=args.force, command=command)
    except ValueError as error:
        parser.error(str(error))
    n_runs = len(plan_runs(options))
    chosen = (
        "chosen with --backend"
        if args.backend
        else ("JAX is installed" if options.backends == ("jax",) else "Keras's configured backend")
    )
    b = options.budget
    print(
        f"keras-pinn study: backend {', '.join(options.backends)} ({chosen}); budget {b.name}: "
        f"{len(options.seeds)} seed(s), {b.steps} steps, {b.n_collocation} collocation points, "
        f"{b.depth}x{b.width} networks; ideas {', '.join(options.ideas)}; {n_runs} runs per backend; "
        f"report in {options.out}/",
        flush=True,
    )
    try:
        results = run_study(
            options,
            progress=not args.quiet,
            figures=not args.no_figures,
            command=command,
            scheduler=args.scheduler,
            workers=args.workers,
            rerun=args.rerun,
        )
    except KeyboardInterrupt:
        return 130
    print(f"done in {results['wall_time_s']:.0f} s.")
    _print_results(results, options.out)
    incomplete = [b for b, meta in results["backends"].items() if meta.get("status") != "complete"]
    return 1 if incomplete else 0


def report_main(argv: Sequence[str] | None = None, prog: str = "python -m keras_pinn.study report") -> int:
    """``keras-pinn study report DIR``: rewrites the report of the study in
    ``DIR`` (``report.md``, ``results.json``, figures) from its finished
    runs; the study may be unfinished, interrupted or still running."""
    from keras_pinn.study import engine

    parser = argparse.ArgumentParser(
        prog=prog, description=(report_main.__doc__ or "").split("\n\n")[0].replace("``", "'")
    )
    parser.add_argument("dir", metavar="DIR", help="the report folder of a study (its --out)")
    parser.add_argument("--no-figures", action="store_true", help="skip the figures")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        out = engine.check_out(args.dir, option="DIR")
        study = engine.load_study(out) if out.is_dir() else None
        if study is None:
            raise ValueError(
                f"DIR holds no study: {engine.STUDY_FILE} is missing (a study's --out folder has it). "
                f"Received: DIR={args.dir!r}"
            )
        options = StudyOptions.from_dict({**study["options"], "out": str(out)})
    except ValueError as error:
        parser.error(str(error))
    results = write_study_report(options, command=study.get("command"), figures=not args.no_figures)
    _print_results(results, options.out)
    return 0


def main(argv: Sequence[str] | None = None, prog: str = "python -m keras_pinn.study") -> int:
    """Entry point of ``python -m keras_pinn.study`` (``... report DIR``
    rewrites a report)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["report"]:
        return report_main(argv[1:], prog=f"{prog} report")
    parser = add_arguments(argparse.ArgumentParser(prog=prog, description=DESCRIPTION))
    args = parser.parse_args(argv)
    args._argv = argv
    return run_from_args(args, parser)
