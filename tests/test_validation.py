"""The shared argument checks (keras_pinn._validation): accepted values and
errors that name the argument and the value received."""

import math

import numpy as np
import pytest

from keras_pinn._validation import (
    column,
    finite,
    flag,
    float_vector,
    fraction,
    identifier,
    non_negative,
    positive,
    positive_int,
    rng,
    sampler,
    seed,
    vector,
)


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


@pytest.mark.parametrize(
    "check, value, expected",
    [
        (finite, -2, -2.0),
        (finite, np.float32(0.5), 0.5),
        (positive, 3, 3.0),
        (positive, 1e-9, 1e-9),
        (fraction, 0, 0.0),
        (fraction, 1.0, 1.0),
        (flag, np.True_, True),
        (flag, False, False),
    ],
)
def test_number_checks_accept(check, value, expected):
    result = check(value, "a")
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(
    "check, value, message",
    [
        (finite, math.inf, r"`a` must be a finite number\. Received: a=inf"),
        (finite, True, r"`a` must be a finite number\. Received: a=True"),
        (positive, 0.0, r"`a` must be a finite number > 0\. Received: a=0\.0"),
        (positive, "1", r"`a` must be a finite number > 0\. Received: a='1'"),
        (fraction, 1.5, r"`a` must be a number in \[0, 1\]\. Received: a=1\.5"),
        (fraction, math.nan, r"`a` must be a number in \[0, 1\]\. Received: a=nan"),
        (flag, 1, r"`a` must be True or False\. Received: a=1"),
        (flag, "no", r"`a` must be True or False\. Received: a='no'"),
    ],
)
def test_number_checks_reject(check, value, message):
    with pytest.raises(ValueError, match=message):
        check(value, "a")


def test_positive_int_maximum():
    assert positive_int(5, "n", maximum=5) == 5
    with pytest.raises(ValueError, match=r"`n` must be at most 5\. Received: n=6"):
        positive_int(6, "n", maximum=5)


def test_seed_and_rng():
    assert seed(None) is None and seed(np.int64(4)) == 4
    with pytest.raises(ValueError, match=r"`seed` must be a non-negative integer or None\. Received: seed=-1"):
        seed(-1)
    generator = np.random.default_rng(0)
    assert rng(generator) is generator
    np.testing.assert_array_equal(rng(3).random(2), np.random.default_rng(3).random(2))
    with pytest.raises(ValueError, match=r"Received: seed=1\.5"):
        rng(1.5)


def test_sampler():
    assert sampler("sobol") == "sobol"
    with pytest.raises(
        ValueError,
        match=r"Unknown sampler: expected one of \('uniform', 'lhs', 'sobol', 'grid'\)\. "
        r"Received: method='halton'",
    ):
        sampler("halton", "method")


def test_vector_and_float_vector():
    np.testing.assert_array_equal(vector([1, 2], 2, "center"), [1.0, 2.0])
    with pytest.raises(ValueError, match=r"`center` must be 2 finite numbers\. Received: center=\[1, nan\]"):
        vector([1, math.nan], 2, "center")
    with pytest.raises(ValueError, match=r"`center` must be 2 numbers\. Received: center='ab'"):
        vector("ab", 2, "center")
    np.testing.assert_array_equal(float_vector(2, "lower"), [2.0])
    with pytest.raises(ValueError, match=r"`lower` must be a number or a list of numbers\. Received: lower=\['a'\]"):
        float_vector(["a"], "lower")


def test_column_and_identifier():
    assert column("v", ("u", "v"), "output", "component") == 1
    assert column(-1, ("u", "v"), "output", "component") == 1
    with pytest.raises(
        ValueError,
        match=r"`component` index out of range: the output has 2 column\(s\) \('u', 'v'\)\. "
        r"Received: component=2",
    ):
        column(2, ("u", "v"), "output", "component")
    with pytest.raises(
        ValueError,
        match=r"Unknown output 'w': expected one of \('u', 'v'\) or an integer index\. "
        r"Received: component='w'",
    ):
        column("w", ("u", "v"), "output", "component")
    assert identifier("bc_2", "name", "a log key") == "bc_2"
    with pytest.raises(ValueError, match=r"`name` must be a Python identifier \(a log key\)\. Received: name='my bc'"):
        identifier("my bc", "name", "a log key")
