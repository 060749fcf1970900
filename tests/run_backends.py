"""Runs the whole test suite once per Keras backend, each in its own process
(Keras fixes the backend at import), and prints a per-backend summary.

Usage: python tests/run_backends.py [--backends jax,tensorflow,torch] [pytest args...]
Exit status is non-zero if any backend fails.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("jax", "tensorflow", "torch")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated backends")
    args, pytest_args = parser.parse_known_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown:
        parser.error(f"unknown backend(s) {unknown}; choose from {BACKENDS}")
    results = []
    for backend in backends:
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
        print(f"\n===== KERAS_BACKEND={backend} =====", flush=True)
        start = time.time()
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *pytest_args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        sys.stdout.write(proc.stdout)
        lines = [ln for ln in proc.stdout.splitlines() if re.search(r"\d+ (passed|failed|error)", ln)]
        summary = lines[-1].strip("= ") if lines else f"pytest exited with {proc.returncode}"
        results.append((backend, proc.returncode, summary, time.time() - start))
    print("\n===== summary per backend =====")
    for backend, code, summary, seconds in results:
        status = "OK  " if code == 0 else "FAIL"
        print(f"{status} {backend:<11} {summary}  ({seconds:.0f} s)")
    failed = [b for b, code, _, _ in results if code != 0]
    if failed:
        print(f"FAILED on: {', '.join(failed)}")
        return 1
    print("all backends passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
