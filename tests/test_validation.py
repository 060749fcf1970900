"""The shared argument checks (keras_pinn._validation): accepted values and
errors that name the argument and the value received."""

import math

import numpy as np
import pytest

from keras_pinn._validation import non_negative, positive_int


@pytest.mark.parametrize("value", [1, 7, np.int64(3)])
def test_positive_int_accepts(value):
    assert positive_int(value, "n") == int(value)
    assert type(positive_int(value, "n")) is int


@pytest.mark.parametrize("value", [0, -2, 1.0, 2.5, True, "3", None])
def test_positive_int_rejects(value):
    with pytest.raises(ValueError, match=rf"`n_points` must be a positive integer\. Received: n_points={value!r}"):
        positive_int(value, "n_points")


@pytest.mark.parametrize("value", [0, 0.0, 2, 1e-9, np.float32(0.5)])
def test_non_negative_accepts(value):
    assert non_negative(value, "k") == float(value)


@pytest.mark.parametrize("value", [-1e-12, math.nan, math.inf, True, "1", None])
def test_non_negative_rejects(value):
    with pytest.raises(ValueError, match=r"`tol` must be a finite number >= 0\. Received: tol="):
        non_negative(value, "tol")
