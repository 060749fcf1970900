"""Install-level behaviour: a missing backend package gives an error naming
the pip extra; the public API is importable."""

import os
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


def test_unset_backend_falls_back_to_an_installed_one(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["KERAS_HOME"] = str(tmp_path)  # no keras.json: Keras would pick tensorflow
    code = "import sys; sys.modules['tensorflow'] = None; import keras_pinn, keras; print(keras.backend.backend())"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "jax"
    assert "using 'jax'" in proc.stderr


def test_unknown_backend_is_refused():
    from keras_pinn._preflight import chosen_backend

    env = dict(os.environ, KERAS_BACKEND="numpy")
    code = "import keras_pinn"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "Received: KERAS_BACKEND='numpy'" in proc.stderr, proc.stderr[-2000:]
    assert chosen_backend() == os.environ.get("KERAS_BACKEND", chosen_backend())


def test_public_api():
    for name in kp.__all__:
        assert hasattr(kp, name), name
    assert kp.__version__ == "0.1.0"
