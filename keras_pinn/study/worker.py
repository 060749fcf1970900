"""Worker process of the study: runs one backend's share of a study.

``python -m keras_pinn.study.worker JOB.json`` with ``KERAS_BACKEND`` set;
the command-line parent (:mod:`keras_pinn.study.cli`) writes the job file
and starts one worker per backend. The worker writes
``<out>/runs/<backend>.json`` after every run, and the arrays of the figures.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the job file given as the only argument; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 1:
        print("usage: python -m keras_pinn.study.worker JOB.json", file=sys.stderr)
        return 2
    with open(argv[0]) as f:
        job = json.load(f)

    import keras

    from keras_pinn.study.config import StudyOptions
    from keras_pinn.study.runner import run_backend

    options = StudyOptions.from_dict(job["options"])
    if tuple(options.backends) != (keras.backend.backend(),):
        print(f"the worker runs on {keras.backend.backend()!r} but the job is for {options.backends!r}: "
              "set KERAS_BACKEND", file=sys.stderr)
        return 2
    run_backend(options, progress=job.get("progress", True), command=job.get("command"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
