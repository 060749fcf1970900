"""The study's engine (keras_pinn.study.engine): numeric options and --out
checked by the parser, a folder of another study refused, a run that raises
retried once then recorded as failed, a killed study resumed (only the rest
trained, the same results as an uninterrupted study), the report rebuilt from
what is finished, and a tiny study on a Dask cluster started with Dask's own
commands. Every study here trains on the session's backend."""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from keras_pinn.study import engine
from keras_pinn.study.config import make_options

BACKEND = keras.backend.backend()
ROOT = Path(__file__).resolve().parents[2]
TINY = dict(
    ideas="4",
    variants="mlp",
    steps=4,
    width=4,
    depth=2,
    n_collocation=48,
    n_condition=8,
    tsne_points=16,
    log_points=2,
    backends=BACKEND,
)
TINY_ARGS = [
    "--ideas",
    "4",
    "--variants",
    "mlp",
    "--steps",
    "4",
    "--width",
    "4",
    "--depth",
    "2",
    "--collocation",
    "48",
    "--backend",
    BACKEND,
    "--no-figures",
]


def _entries():
    from keras_pinn.__main__ import main as console_main
    from keras_pinn.study.cli import main

    return ((main, []), (console_main, ["study"]))


def _parser_error(argv, capsys) -> str:
    """Runs both command lines with ``argv``; both must stop with a parser
    error (status 2); returns the second's message."""
    for entry, prefix in _entries():
        with pytest.raises(SystemExit) as exit_info:
            entry([*prefix, *argv])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert "error:" in err, err
    return err


# --------------------------------------------------------------------------
# The parser: numbers and --out
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "option, value",
    [
        ("--lr", "inf"),
        ("--lr", "nan"),
        ("--lr", "-inf"),
        ("--lr", "0"),
        ("--lr", "-0.1"),
        ("--diffusion", "inf"),
        ("--diffusion", "0"),
        ("--steps", "0"),
        ("--width", "-2"),
        ("--depth", "0"),
        ("--collocation", "1.5"),
        ("--workers", "0"),
    ],
)
def test_numeric_options_must_be_positive_and_finite(option, value, capsys, tmp_path):
    err = _parser_error(["--out", str(tmp_path / "r"), f"{option}={value}"], capsys)
    assert f"{option}={value!r}" in err, err
    assert not (tmp_path / "r").exists()


def _unwritable(tmp_path: Path) -> Path:
    """A folder this process cannot write in: a read-only one for a normal
    user; for root (who may write in any folder) /sys, a read-only file
    system."""
    if os.geteuid() == 0:
        return Path("/sys")
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    return folder


def test_bad_out_values_are_parser_errors(capsys, tmp_path):
    a_file = tmp_path / "a-file.txt"
    a_file.write_text("not a folder")
    locked = _unwritable(tmp_path)
    for value in ("", "   ", str(a_file), str(a_file / "sub"), str(locked), str(locked / "new-report")):
        err = _parser_error(["--out", value], capsys)
        assert f"--out={value!r}" in err, err
    assert a_file.read_text() == "not a folder"
    with pytest.raises(engine.OutFolderError, match="--out"):
        engine.check_out("")


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_folder_of_another_study_is_refused_and_nothing_is_deleted(capsys, tmp_path):
    out = tmp_path / "report"
    first = make_options(**TINY, seeds=2, out=str(out))
    engine.prepare_out(first, command="first")
    (out / "runs" / BACKEND).mkdir(parents=True)
    (out / "runs" / BACKEND / "buckley_leverett__mlp__s0.json").write_text("{}")
    (out / "report.md").write_text("# the first study")
    (out / "notes.txt").write_text("the user's own file")
    before = _snapshot(out)

    # another configuration (more steps): refused, by the parser and by the API
    err = _parser_error([*TINY_ARGS, "--steps", "5", "--out", str(out)], capsys)
    assert f"--out={str(out)!r}" in err and "--force" in err and "steps 4 there, 5 here" in err, err
    second = make_options(**{**TINY, "steps": 5}, seeds=2, out=str(out))
    with pytest.raises(engine.OutFolderError, match="another study"):
        engine.prepare_out(second)
    assert _snapshot(out) == before

    # a report without study.json (unknown configuration): refused too
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "results.json").write_text("{}")
    with pytest.raises(engine.OutFolderError, match="unknown configuration"):
        engine.prepare_out(make_options(**TINY, out=str(legacy)))
    assert _snapshot(legacy) == {"results.json": b"{}"}

    # the same configuration with other seeds resumes (keeps the runs) ...
    engine.prepare_out(make_options(**TINY, seeds=3, out=str(out)))
    assert (out / "runs" / BACKEND / "buckley_leverett__mlp__s0.json").exists()
    # ... and force replaces the study's own files only
    engine.prepare_out(second, force=True)
    assert sorted(_snapshot(out)) == ["notes.txt", "study.json"]
    assert engine.load_study(out)["configuration"]["budget"]["steps"] == 5


def test_the_engine_modules_import_no_backend():
    heavy = {"keras", "jax", "tensorflow", "torch"}
    for name in ("engine.py", "worker.py", "cli.py"):
        tree = ast.parse((ROOT / "keras_pinn" / "study" / name).read_text())
        for node in tree.body:
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            else:
                continue
            for module in names:
                assert module.split(".")[0] not in heavy, (name, module)
                assert module not in ("keras_pinn.study.runner", "keras_pinn.study.variants"), (name, module)


# --------------------------------------------------------------------------
# Failures and retries (in this process; the Dask path is tested below)
# --------------------------------------------------------------------------


def _fake_result(spec: dict, backend: str, key: str, error: float) -> dict:
    record = {
        **spec,
        "backend": backend,
        "status": "ok",
        "error": error,
        "steps": 4,
        "wall_time_s": 0.1,
        "total_time_s": 0.1,
        "history": {"loss": [1.0, 0.5]},
        "final_losses": {"loss": 0.5},
    }
    return {"format": 1, "key": key, "record": record, "problem": None, "files": {}}


def test_a_run_that_raises_is_retried_once_then_recorded_as_failed(monkeypatch, tmp_path, capsys):
    from keras_pinn.study import worker

    calls, transient = [], []

    def flaky(spec, budget, backend, key, scratch=None, bar=None):
        calls.append(spec["run_id"])
        if spec["seed"] == 0:  # raises every time
            raise RuntimeError("boom in the run")
        if spec["seed"] == 1:  # a failed record (run_one caught the error) every time
            result = _fake_result(spec, backend, key, None)
            result["record"].update(status="failed", message="ValueError: bad problem", traceback="Traceback ...")
            raise worker.RunFailed(result)
        if spec["seed"] == 2 and not transient:  # fails once, then works
            transient.append(1)
            raise OSError("transient")
        return _fake_result(spec, backend, key, 0.25)

    monkeypatch.setattr(worker, "execute_run", flaky)
    options = make_options(**TINY, seeds=3, out=str(tmp_path / "r"))
    engine.prepare_out(options)
    outcome = engine.execute(options, in_process=True, progress=True)
    assert (outcome.total, outcome.ran, outcome.skipped, outcome.failed) == (3, 3, 0, 2)
    assert sorted(calls) == sorted(
        ["buckley_leverett__mlp__s0"] * 2 + ["buckley_leverett__mlp__s1"] * 2 + ["buckley_leverett__mlp__s2"] * 2
    )
    stored = {
        s: json.loads(engine.record_path(tmp_path / "r", BACKEND, f"buckley_leverett__mlp__s{s}").read_text())
        for s in range(3)
    }
    assert stored[0]["attempts"] == 2 and stored[0]["record"]["status"] == "failed"
    assert stored[0]["record"]["message"] == "RuntimeError: boom in the run"
    assert "flaky" in stored[0]["record"]["traceback"]
    assert stored[1]["attempts"] == 2 and stored[1]["record"]["message"] == "ValueError: bad problem"
    assert stored[2]["attempts"] == 2 and stored[2]["record"]["status"] == "ok"
    assert stored[2]["record"]["error"] == 0.25
    printed = capsys.readouterr().out
    assert "retrying " + f"{BACKEND} buckley_leverett mlp seed 0 (attempt 2 of 2): RuntimeError: boom" in printed
    assert "[3/3]" in printed and "FAILED (RuntimeError: boom in the run)" in printed

    # Again: the finished run is kept, the failed ones are tried again; --rerun runs all.
    calls.clear()
    outcome = engine.execute(options, in_process=True, progress=False)
    assert (outcome.skipped, outcome.ran) == (1, 2) and "buckley_leverett__mlp__s2" not in calls
    calls.clear()
    outcome = engine.execute(options, in_process=True, progress=False, rerun=True)
    assert (outcome.skipped, outcome.ran) == (0, 3) and len(calls) == 5  # seed 2 works at once now

    statuses = engine.assemble(options)
    assert statuses == {BACKEND: "complete"}
    aggregate = json.loads((tmp_path / "r" / "runs" / f"{BACKEND}.json").read_text())
    assert [r["seed"] for r in aggregate["runs"]] == [0, 1, 2]


# --------------------------------------------------------------------------
# Killed, resumed, reported
# --------------------------------------------------------------------------


def _comparable(results: dict) -> dict:
    return {r["run_id"]: (r["status"], r["error"], r["history"]) for r in results["runs"]}


def test_a_killed_study_resumes_with_only_the_rest_and_the_same_results(tmp_path, capsys):
    from keras_pinn.study.cli import report_main, run_study, write_study_report

    seeds = 3
    whole = make_options(**TINY, seeds=seeds, out=str(tmp_path / "whole"))
    expected = run_study(whole, in_process=True, progress=False, figures=False)
    assert len(expected["runs"]) == seeds

    out = tmp_path / "killed"
    script = (
        "import sys; from keras_pinn.study import make_options, run_study; "
        f"run_study(make_options(**{TINY!r}, seeds={seeds}, out=sys.argv[1]), in_process=True, "
        "progress=False, figures=False)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(out)],
        cwd=ROOT,
        env=engine.worker_env(BACKEND, dict(os.environ, PYTHONPATH=str(ROOT))),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    records = out / "runs" / BACKEND
    deadline = time.monotonic() + 300
    while not (records.exists() and list(records.glob("*.json"))):
        assert proc.poll() is None and time.monotonic() < deadline, "the study ended before its first run"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = {p.name: p.read_bytes() for p in records.glob("*.json")}
    assert 1 <= len(finished) < seeds, finished.keys()
    assert not list(records.glob(".*.tmp"))  # nothing half-written is left as a record

    # the report of what is finished, at any time
    assert report_main([str(out), "--no-figures"]) == 0
    partial = json.loads((out / "results.json").read_text())
    assert len(partial["runs"]) == len(finished)
    assert partial["backends"][BACKEND]["status"] == f"incomplete: {len(finished)} of {seeds} runs finished"
    assert "## Verdicts" in (out / "report.md").read_text()

    # the same study again: only the rest is trained
    resumed = make_options(**TINY, seeds=seeds, out=str(out))
    engine.prepare_out(resumed)
    outcome = engine.execute(resumed, in_process=True, progress=True)
    assert (outcome.skipped, outcome.ran, outcome.failed) == (len(finished), seeds - len(finished), 0)
    assert f"{len(finished)} of {seeds} runs already finished" in capsys.readouterr().out
    assert {name: (records / name).read_bytes() for name in finished} == finished  # untouched
    results = write_study_report(resumed, figures=False)
    assert results["backends"][BACKEND]["status"] == "complete"
    got, want = _comparable(results), _comparable(expected)
    assert sorted(got) == sorted(want)
    for run_id, (status, error, history) in want.items():
        assert got[run_id][0] == status
        np.testing.assert_allclose(got[run_id][1], error, rtol=1e-5, err_msg=run_id)
        for term, values in history.items():
            np.testing.assert_allclose(got[run_id][2][term], values, rtol=1e-5, err_msg=f"{run_id} {term}")


# --------------------------------------------------------------------------
# A Dask cluster started with Dask's own commands
# --------------------------------------------------------------------------


def _start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def test_a_study_on_a_cluster_of_a_scheduler_and_two_worker_processes(tmp_path, capsys):
    from keras_pinn.study.cli import main

    env = dict(os.environ, PYTHONPATH=str(ROOT), DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="0")
    scheduler_file = tmp_path / "scheduler.json"
    procs = [
        _start(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(scheduler_file),
            ],
            env,
            tmp_path / "scheduler.log",
        )
    ]
    try:
        deadline = time.monotonic() + 120
        while not scheduler_file.exists():
            assert procs[0].poll() is None and time.monotonic() < deadline, (tmp_path / "scheduler.log").read_text()
            time.sleep(0.1)
        time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        worker_env = engine.worker_env(
            BACKEND,
            {
                **env,
                "KERAS_PINN_TEST_FAILING_RUN": "buckley_leverett__mlp__s1",
                "KERAS_PINN_TEST_DYING_RUN": "buckley_leverett__mlp__s3",
            },
        )
        for i in range(2):
            command = engine.worker_command(address, BACKEND, f"test-{BACKEND}-{i}", str(tmp_path / "scratch"))
            procs.append(
                _start(
                    [*command, "--preload", str(ROOT / "tests" / "study" / "study_engine_preload.py")],
                    worker_env,
                    tmp_path / f"worker{i}.log",
                )
            )
        out = tmp_path / "report"
        code = main([*TINY_ARGS, "--seeds", "4", "--out", str(out), "--scheduler", address])
        printed = capsys.readouterr().out
        assert code == 0, printed
        assert f"Dask cluster at {address}" in printed and "[4/4]" in printed, printed
        assert "retrying " + f"{BACKEND} buckley_leverett mlp seed 1 (attempt 2 of 2): RuntimeError" in printed
        results = json.loads((out / "results.json").read_text())
        by_seed = {r["seed"]: r for r in results["runs"]}
        assert by_seed[0]["status"] == by_seed[2]["status"] == "ok"
        assert by_seed[1]["status"] == "failed" and "injected failure" in by_seed[1]["message"]
        # the run that ends its worker: re-queued once, then failed (the nanny restarts the worker)
        assert by_seed[3]["status"] == "failed" and by_seed[3]["message"].startswith("KilledWorker"), by_seed[3]
        assert f"retrying {BACKEND} buckley_leverett mlp seed 3 (attempt 2 of 2): KilledWorker" in printed
        stored = [json.loads(p.read_text()) for p in sorted((out / "runs" / BACKEND).glob("*.json"))]
        assert [s["attempts"] for s in stored] == [1, 2, 1, 2]
        pids = {s["worker"].rsplit(":", 1)[1] for s in stored if "worker" in s}
        assert pids and str(os.getpid()) not in pids  # trained in the worker processes
        assert (out / "arrays" / BACKEND / "buckley_leverett__mlp__s0.npz").exists()
        assert not (tmp_path / "scratch").exists() or not any((tmp_path / "scratch").rglob("*.npz"))
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
