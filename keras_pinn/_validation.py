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


def non_negative(value, argument: str) -> float:
    """``value`` as a ``float`` if it is a finite real number >= 0 (not a
    bool), else a ValueError naming ``argument``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not (
        math.isfinite(value) and value >= 0
    ):
        raise ValueError(f"`{argument}` must be a finite number >= 0. Received: {argument}={value!r}")
    return float(value)
