"""The ``keras-pinn`` command: ``keras-pinn study [options]`` (also
``python -m keras_pinn study``).

Subcommands:
    study: train the source article's four ideas against their baselines and
        write a report folder (see ``docs/study.md``); ``study report DIR``
        rewrites the report of a study folder from its finished runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The ``keras-pinn`` parser with its subcommands."""
    from keras_pinn.study.cli import DESCRIPTION, add_arguments

    parser = argparse.ArgumentParser(
        prog="keras-pinn", description="keras-pinn: physics-informed neural networks for Keras 3."
    )
    sub = parser.add_subparsers(dest="subcommand", title="commands", required=True)
    study = sub.add_parser("study", help="run the article's study and write a report", description=DESCRIPTION)
    add_arguments(study)
    study.set_defaults(_parser=study)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``keras-pinn`` console command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:2] == ["study", "report"]:
        from keras_pinn.study.cli import report_main

        return report_main(argv[2:], prog="keras-pinn study report")
    args = build_parser().parse_args(argv)
    if args.subcommand == "study":
        from keras_pinn.study.cli import run_from_args

        args._argv = argv[1:]
        return run_from_args(args, args._parser, prog="keras-pinn study")
    return 2  # pragma: no cover - argparse rejects unknown subcommands


if __name__ == "__main__":
    sys.exit(main())
