"""Argument checks shared across keras-pinn: each error names the argument
and the value received. The one home of these checks: modules call them
rather than keep their own copies."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

#: The point samplers of keras-pinn (see ``keras_pinn.domains.sample_unit_cube``).
SAMPLERS = ("uniform", "lhs", "sobol", "grid")


def _real(value) -> bool:
    """Whether ``value`` is a real number (not a bool)."""
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, numbers.Real)


def positive_int(value, argument: str, maximum: int | None = None) -> int:
    """``value`` as an ``int`` if it is an integer >= 1 (not a bool), and at
    most ``maximum`` when given, else a ValueError naming ``argument``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{argument}` must be a positive integer. Received: {argument}={value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"`{argument}` must be at most {maximum}. Received: {argument}={value!r}")
    return int(value)


def integer(value, argument: str, minimum: int = 1) -> int:
    """``value`` as an ``int`` if it is an integer >= ``minimum`` (not a
    bool), else a ValueError naming ``argument`` and the bound."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"`{argument}` must be an integer >= {minimum}. Received: {argument}={value!r}")
    return int(value)


def seed(value, argument: str = "seed") -> int | None:
    """``value`` as an ``int`` if it is an integer >= 0 (not a bool), None
    for None, else a ValueError naming ``argument``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"`{argument}` must be a non-negative integer or None. Received: {argument}={value!r}")
    return int(value)


def non_negative(value, argument: str) -> float:
    """``value`` as a ``float`` if it is a finite real number >= 0 (not a
    bool), else a ValueError naming ``argument``."""
    if not _real(value) or not (math.isfinite(value) and value >= 0):
        raise ValueError(f"`{argument}` must be a finite number >= 0. Received: {argument}={value!r}")
    return float(value)


def finite(value, argument: str) -> float:
    """``value`` as a ``float`` if it is a finite real number (not a bool),
    else a ValueError naming ``argument``."""
    if not _real(value) or not math.isfinite(value):
        raise ValueError(f"`{argument}` must be a finite number. Received: {argument}={value!r}")
    return float(value)


def positive(value, argument: str) -> float:
    """``value`` as a ``float`` if it is a finite real number > 0 (not a
    bool), else a ValueError naming ``argument``."""
    if not _real(value) or not (math.isfinite(value) and value > 0):
        raise ValueError(f"`{argument}` must be a finite number > 0. Received: {argument}={value!r}")
    return float(value)


def fraction(value, argument: str) -> float:
    """``value`` as a ``float`` if it is a real number in [0, 1] (not a
    bool), else a ValueError naming ``argument``."""
    if not _real(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"`{argument}` must be a number in [0, 1]. Received: {argument}={value!r}")
    return float(value)


def flag(value, argument: str) -> bool:
    """``value`` as a ``bool`` if it is True or False (NumPy's too), else a
    ValueError naming ``argument``."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"`{argument}` must be True or False. Received: {argument}={value!r}")
    return bool(value)


def sampler(value, argument: str = "sampler") -> str:
    """``value`` if it names one of :data:`SAMPLERS`, else a ValueError
    naming ``argument``."""
    if not isinstance(value, str) or value not in SAMPLERS:
        raise ValueError(f"Unknown sampler: expected one of {SAMPLERS}. Received: {argument}={value!r}")
    return value


def rng(value, argument: str = "seed") -> np.random.Generator:
    """A NumPy generator: ``value`` itself if it is one, else one seeded by
    ``value`` (checked by :func:`seed`)."""
    if isinstance(value, np.random.Generator):
        return value
    return np.random.default_rng(seed(value, argument))


def vector(value, dim: int, argument: str) -> np.ndarray:
    """``value`` as a ``(dim,)`` float64 array of finite numbers, else a
    ValueError naming ``argument``."""
    try:
        array = np.asarray(value, dtype="float64")
    except (TypeError, ValueError) as error:
        raise ValueError(f"`{argument}` must be {dim} numbers. Received: {argument}={value!r}") from error
    if array.shape != (dim,) or not np.all(np.isfinite(array)):
        raise ValueError(f"`{argument}` must be {dim} finite numbers. Received: {argument}={value!r}")
    return array


def identifier(value, argument: str, why: str) -> str:
    """``value`` if it is a Python identifier, else a ValueError naming
    ``argument`` and saying ``why`` one is needed."""
    if not isinstance(value, str) or not value.isidentifier():
        raise ValueError(f"`{argument}` must be a Python identifier ({why}). Received: {argument}={value!r}")
    return value


def float_vector(value, argument: str) -> np.ndarray:
    """``value`` as a 1-D float64 array (a scalar becomes one entry); a
    ValueError naming ``argument`` if it holds anything but real numbers."""
    try:
        array = np.atleast_1d(np.asarray(value, dtype="float64"))
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"`{argument}` must be a number or a list of numbers. Received: {argument}={value!r}"
        ) from error
    if np.asarray(value).dtype.kind in "US" or isinstance(value, (bool, np.bool_)):
        raise ValueError(f"`{argument}` must be a number or a list of numbers. Received: {argument}={value!r}")
    return array


def column(value, names: Sequence[str], what: str, argument: str) -> int:
    """The column index of ``value``, a name in ``names`` or an integer
    index (negative ones count from the end); a ValueError naming
    ``argument`` otherwise. ``what`` says what the columns are
    (``"output"``, ``"input"``)."""
    n = len(names)
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        if -n <= value < n:
            return int(value) % n
        raise ValueError(
            f"`{argument}` index out of range: the {what} has {n} "
            f"column(s) {tuple(names)}. Received: {argument}={value!r}"
        )
    if isinstance(value, str) and value in names:
        return list(names).index(value)
    raise ValueError(
        f"Unknown {what} {value!r}: expected one of {tuple(names)} or an integer index. Received: {argument}={value!r}"
    )


def bounds(lower, upper) -> tuple[np.ndarray, np.ndarray]:
    """``lower`` and ``upper`` as 1-D float64 arrays of equal length, finite,
    each lower bound strictly below its upper bound; else a ValueError
    naming both (a domain's or a scaler's box)."""
    lo = float_vector(lower, "lower")
    hi = float_vector(upper, "upper")
    received = f"Received: lower={lo.tolist()}, upper={hi.tolist()}"
    if lo.size == 0 or hi.size == 0:
        raise ValueError(f"A domain needs at least one coordinate. {received}")
    if lo.ndim != 1 or lo.shape != hi.shape:
        raise ValueError(f"`lower` and `upper` must be 1-D and of equal length. {received}")
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        raise ValueError(f"Domain bounds must be finite. {received}")
    if np.any(lo >= hi):
        raise ValueError(f"Each lower bound must be strictly below its upper bound. {received}")
    return lo, hi
