"""Checks, before Keras is imported, that the chosen backend's package is
installed, so the error names the pip extra instead of a bare
``ModuleNotFoundError`` from inside Keras.

When no backend was chosen explicitly (``KERAS_BACKEND`` unset) and the one
Keras would fall back to is not installed, an installed one is picked
instead (jax, then torch), with a warning: Keras alone would fail to import.
"""

import importlib.util
import json
import os
import warnings

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


def _installed(package):
    return importlib.util.find_spec(package) is not None


def check_backend_installed() -> None:
    backend = chosen_backend()
    package = _PACKAGES.get(backend)
    if package is not None and not _installed(package) and not os.environ.get("KERAS_BACKEND"):
        fallback = next((b for b in ("jax", "torch") if _installed(_PACKAGES[b])), None)
        if fallback is not None:
            warnings.warn(
                f"keras-pinn: KERAS_BACKEND is not set and Keras's configured backend "
                f"{backend!r} is not installed; using {fallback!r}. Set KERAS_BACKEND to choose.",
                stacklevel=3,
            )
            os.environ["KERAS_BACKEND"] = fallback
            return
    if package is not None and not _installed(package):
        raise ImportError(
            f"keras-pinn: Keras is set to the {backend!r} backend but the {package!r} package is "
            f"not installed. Install it with `pip install \"keras-pinn[{backend}]\"`, or choose "
            f"an installed backend with the KERAS_BACKEND environment variable "
            f"(jax, tensorflow or torch)."
        )
