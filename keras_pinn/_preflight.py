"""Imports Keras and turns a missing backend package into an error that names
the pip extra, instead of a bare ``ModuleNotFoundError`` from inside Keras.

Importing keras-pinn changes nothing: Keras alone chooses the backend
(``KERAS_BACKEND``, else its ``keras.json``), as it would without keras-pinn.
"""

#: Top-level package of each backend's import name, mapped to its pip extra.
_EXTRAS = {"jax": "jax", "jaxlib": "jax", "tensorflow": "tensorflow", "torch": "torch"}


def check_backend_installed() -> None:
    """Imports Keras; if that fails because the chosen backend's package is
    missing, raises an ``ImportError`` that says how to install it.

    Raises:
        ImportError: the backend Keras is set to is not installed. The
            message names the package and ``pip install "keras-pinn[<extra>]"``.
    """
    try:
        import keras  # noqa: F401
    except ModuleNotFoundError as error:
        package = (error.name or "").split(".")[0]
        extra = _EXTRAS.get(package)
        if extra is None:
            raise
        raise ImportError(
            f"keras-pinn: Keras is set to a backend whose package {package!r} is not installed. "
            f'Install it with `pip install "keras-pinn[{extra}]"`, or choose an installed backend '
            f"with the KERAS_BACKEND environment variable (jax, tensorflow or torch)."
        ) from error
