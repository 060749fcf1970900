"""Checks, before Keras is imported, that the chosen backend's package is
installed, so the error names the pip extra instead of a bare
``ModuleNotFoundError`` from inside Keras."""

import importlib.util
import json
import os

_PACKAGES = {"jax": "jax", "tensorflow": "tensorflow", "torch": "torch"}


def chosen_backend() -> str:
    """The backend Keras will pick: ``KERAS_BACKEND``, else the ``backend``
    of ``$KERAS_HOME/keras.json`` (default ``~/.keras``), else tensorflow."""
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json")) as f:
            return json.load(f).get("backend", "tensorflow")
    except (OSError, ValueError):
        return "tensorflow"


def check_backend_installed() -> None:
    backend = chosen_backend()
    package = _PACKAGES.get(backend)
    if package is not None and importlib.util.find_spec(package) is None:
        raise ImportError(
            f"keras-pinn: Keras is set to the {backend!r} backend but the {package!r} package is "
            f"not installed. Install it with `pip install \"keras-pinn[{backend}]\"`, or choose "
            f"an installed backend with the KERAS_BACKEND environment variable "
            f"(jax, tensorflow or torch)."
        )
