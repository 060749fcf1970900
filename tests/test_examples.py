"""The examples run end to end on every backend (tiny budgets)."""

import importlib.util
import math
import pathlib

import keras
import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("network", [[], ["--mlp"]], ids=["dense", "mlp"])
def test_burgers_example_runs_adam_then_lbfgs(network, capsys):
    jit = ["--jit-compile"] if keras.backend.backend() == "tensorflow" else []
    error = _load("burgers").main(["--steps", "4", "--collocation", "64", "--lbfgs", "3", *network, *jit])
    out = capsys.readouterr().out
    assert math.isfinite(error) and error > 0
    assert f"backend={keras.backend.backend()} adam_steps=4 lbfgs_iterations=3 " in out
    assert f"relative_l2={error:.3e}" in out


def test_burgers_example_rejects_bad_steps(capsys):
    with pytest.raises(SystemExit):
        _load("burgers").main(["--steps", "0"])
    assert "--steps must be >= 1, got 0" in capsys.readouterr().err
