"""The geometry examples run end to end on every backend (tiny budgets)."""

import importlib.util
import math
import pathlib

import keras

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_poisson_plate_hole_runs_and_plots(tmp_path, capsys):
    error = _load("poisson_plate_hole").main(["--steps", "2", "--collocation", "64", "--plots", str(tmp_path)])
    assert math.isfinite(error) and error > 0
    assert f"backend={keras.backend.backend()} adam_steps=2 lbfgs=0 relative_l2={error:.3e}" in capsys.readouterr().out
    assert (tmp_path / "poisson_points.png").stat().st_size > 0
    assert (tmp_path / "poisson_solution.png").stat().st_size > 0


def test_lid_driven_cavity_runs(capsys):
    module = _load("lid_driven_cavity")
    errors = module.main(["--steps", "2", "--lbfgs", "0", "--collocation", "64"])
    assert set(errors) == {"u_max_error", "u_rms_error", "v_max_error", "v_rms_error"}
    assert all(math.isfinite(v) for v in errors.values())
    # The embedded reference table: 17 points per centreline, lid and walls at the ends.
    assert module.GHIA_U.shape == module.GHIA_Y.shape == module.GHIA_V.shape == module.GHIA_X.shape == (17,)
    assert (module.GHIA_U[0], module.GHIA_U[-1], module.GHIA_V[0], module.GHIA_V[-1]) == (1.0, 0.0, 0.0, 0.0)
    assert "re=100 adam_steps=2" in capsys.readouterr().out
