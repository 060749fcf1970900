"""Argument checks shared across keras-pinn: each error names the argument
and the value received."""

from __future__ import annotations

import math

import numpy as np


def positive_int(value, argument: str) -> int:
    """``value`` as an ``int`` if it is an integer >= 1 (not a bool), else a
    ValueError naming ``argument``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{argument}` must be a positive integer. Received: {argument}={value!r}")
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
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not (
        math.isfinite(value) and value >= 0
    ):
        raise ValueError(f"`{argument}` must be a finite number >= 0. Received: {argument}={value!r}")
    return float(value)


def float_vector(value, argument: str) -> np.ndarray:
    """``value`` as a 1-D float64 array (a scalar becomes one entry); a
    ValueError naming ``argument`` if it holds anything but real numbers."""
    try:
        array = np.atleast_1d(np.asarray(value, dtype="float64"))
    except (TypeError, ValueError) as error:
        raise ValueError(f"`{argument}` must be a number or a list of numbers. Received: {argument}={value!r}") from error
    if np.asarray(value).dtype.kind in "US" or isinstance(value, (bool, np.bool_)):
        raise ValueError(f"`{argument}` must be a number or a list of numbers. Received: {argument}={value!r}")
    return array
