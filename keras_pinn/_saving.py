"""The save/load contract for the user's functions (residuals, targets,
output transforms).

A ``.keras`` file stores a function by its registered name, never its code.
So a function a model holds must be one of:

* registered with ``@keras.saving.register_keras_serializable()`` (it is
  then stored as ``"Custom>name"``; the loading process must have run the
  decorator, by importing or defining the function, before ``load_model``),
* or a registered serializable class instance (``kp.problems.HeatResidual``),
  or a Keras built-in.

``load_model(path, custom_objects={"name": fn})`` also works, keyed by the
function's plain name. Lambdas, and functions nobody registered, cannot be
found again at load time: :func:`check_saveable` refuses them when the model
is saved (from ``get_config``), naming the argument and what to do.
"""

from __future__ import annotations

import inspect

import keras

_deserialize = keras.saving.deserialize_keras_object

_HOW = (
    "Define it as a named function decorated with @keras.saving.register_keras_serializable() "
    "(or a registered class with get_config), then load with that function defined or imported "
    "before keras.saving.load_model(path), or pass load_model(path, custom_objects={{{name!r}: {name}}})."
)


def _keras_builtin(obj) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return module == "keras" or module.startswith("keras.")


def check_saveable(obj, argument: str) -> None:
    """Raises ``ValueError`` when the callable ``obj`` (held as ``argument``)
    could not be located again by ``keras.saving.load_model``: a lambda, a
    function nobody registered, an instance of an unregistered class or of
    a class without ``get_config``. None and non-callables pass."""
    if obj is None or not callable(obj):
        return
    if inspect.isfunction(obj) or inspect.isbuiltin(obj) or inspect.ismethod(obj):
        name = getattr(obj, "__name__", "fn")
        if name == "<lambda>":
            raise ValueError(
                f"Cannot save `{argument}`: it is a lambda, which a .keras file cannot store so that it loads "
                f"back. " + _HOW.format(name="my_function") + f" Received: {argument}={obj!r}"
            )
        if _keras_builtin(obj) or keras.saving.get_registered_name(obj) != name:
            return
        raise ValueError(
            f"Cannot save `{argument}`: the function {name!r} is not registered, so load_model could not "
            f"locate it. " + _HOW.format(name=name) + f" Received: {argument}={obj!r}"
        )
    cls = type(obj)
    if _keras_builtin(cls):
        return
    if not hasattr(obj, "get_config") or keras.saving.get_registered_name(cls) == cls.__name__:
        raise ValueError(
            f"Cannot save `{argument}`: its class {cls.__name__!r} is not a registered serializable class "
            "(decorate it with @keras.saving.register_keras_serializable() and give it get_config), or "
            "use a registered function. " + f"Received: {argument}={obj!r}"
        )


def deserialize_function(config, argument: str):
    """``keras.saving.deserialize_keras_object(config)`` for a saved
    function or callable object, which also finds it in ``custom_objects``
    under its plain name (``{"burgers": burgers}`` for a function saved as
    ``"Custom>burgers"``), and says what to do when it cannot be found."""
    try:
        return _deserialize(config)
    except TypeError as error:
        if "Could not locate" not in str(error) or not isinstance(config, dict):
            raise
        key = config.get("config") if config.get("class_name") == "function" else config.get("registered_name")
        key = key if isinstance(key, str) else str(config.get("class_name"))
        bare = key.split(">")[-1]
        if bare != key:
            retry = dict(config, registered_name=bare)
            if config.get("class_name") == "function":
                retry["config"] = bare
            try:
                return _deserialize(retry)
            except TypeError:
                pass
        raise TypeError(
            f"Could not locate {key!r}, saved as `{argument}`. Define or import it (decorated with "
            "@keras.saving.register_keras_serializable()) before keras.saving.load_model, or pass "
            f"load_model(path, custom_objects={{{bare!r}: {bare}}})."
        ) from error
