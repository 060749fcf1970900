"""Install-level behaviour: a missing backend package gives an error naming
the pip extra; the public API is importable."""

import importlib.metadata
import json
import os
import re
import subprocess
import sys

import pytest

import keras_pinn as kp


@pytest.mark.parametrize("backend", ["jax", "tensorflow", "torch"])
def test_missing_backend_package_names_the_extra(backend):
    # sys.modules[name] = None makes the package look uninstalled.
    code = f"import sys; sys.modules[{backend!r}] = None; import keras_pinn"
    env = dict(os.environ, KERAS_BACKEND=backend)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert f'pip install "keras-pinn[{backend}]"' in proc.stderr, proc.stderr[-2000:]


def _run(code, env):
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def _without_backend_env(tmp_path, backend):
    """An environment with KERAS_BACKEND unset and a keras.json choosing `backend`."""
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["KERAS_HOME"] = str(tmp_path)
    (tmp_path / "keras.json").write_text(json.dumps({"backend": backend}))
    return env


@pytest.mark.parametrize("backend", ["jax", "tensorflow", "torch"])
def test_import_leaves_the_backend_choice_to_keras(tmp_path, backend):
    env = _without_backend_env(tmp_path, backend)
    code = "import os, keras_pinn, keras; print(keras.backend.backend(), os.environ.get('KERAS_BACKEND'))"
    proc = _run(code, env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == [backend, "None"]


def test_missing_configured_backend_names_the_extra_and_sets_nothing(tmp_path):
    # KERAS_BACKEND unset, keras.json says tensorflow, tensorflow missing:
    # an error naming the extra, and no silent switch to another backend.
    env = _without_backend_env(tmp_path, "tensorflow")
    proc = _run("import sys; sys.modules['tensorflow'] = None; import keras_pinn", env)
    assert proc.returncode != 0
    assert 'pip install "keras-pinn[tensorflow]"' in proc.stderr, proc.stderr[-2000:]
    assert "KERAS_BACKEND" in proc.stderr


def test_other_import_errors_pass_through(tmp_path):
    # An ImportError that is not a missing backend package keeps its own message.
    env = dict(os.environ)
    code = "import sys; sys.modules['numpy'] = None; import keras_pinn"
    proc = _run(code, env)
    assert proc.returncode != 0
    assert "keras-pinn[" not in proc.stderr
    assert "numpy" in proc.stderr.splitlines()[-1], proc.stderr[-2000:]


def test_unknown_backend_is_refused():
    env = dict(os.environ, KERAS_BACKEND="numpy")
    proc = _run("import keras_pinn", env)
    assert proc.returncode != 0
    assert "Received: KERAS_BACKEND='numpy'" in proc.stderr, proc.stderr[-2000:]


def test_public_api():
    for name in kp.__all__:
        assert hasattr(kp, name), name


def test_version_lives_in_one_place():
    # pyproject.toml reads the version from keras_pinn.__version__ and states none itself.
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "pyproject.toml")) as f:
        pyproject = f.read()
    assert re.search(r'^dynamic = \["version"\]$', pyproject, re.M), "version must be dynamic"
    assert not re.search(r"""^version = ['"]""", pyproject, re.M), "a second, static version in pyproject.toml"
    assert 'version = { attr = "keras_pinn.__version__" }' in pyproject
    assert re.fullmatch(r"\d+\.\d+\.\d+([.-]?\w+)?", kp.__version__), kp.__version__


def test_installed_metadata_matches_the_version():
    # The version an installed keras-pinn reports (pip, importlib.metadata) is __version__.
    try:
        installed = importlib.metadata.version("keras-pinn")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(reason="requires keras-pinn installed (here it is only on the path)")
    assert installed == kp.__version__
