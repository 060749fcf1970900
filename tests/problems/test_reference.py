"""Tests of the numpy reference solutions in keras_pinn.problems.reference."""

import math

import numpy as np
import pytest

from keras_pinn.problems.reference import (
    BURGERS_NU,
    buckley_leverett_flux,
    buckley_leverett_flux_derivative,
    buckley_leverett_shock,
    buckley_leverett_solution,
    burgers_reference_grid,
    burgers_solution,
    heat_solution,
    helmholtz_solution,
    helmholtz_source,
    relative_l2_error,
)

# --------------------------------------------------------------------------
# Burgers
# --------------------------------------------------------------------------


def _burgers_trapezoid(x, t, nu=BURGERS_NU, step=0.01, half_range=40.0):
    """Independent Cole-Hopf evaluation: trapezoidal rule in z on [-40, 40]."""
    z = np.arange(-half_range, half_range + step / 2, step)
    y = x - np.sqrt(4 * nu * t) * z
    log_terms = -(z**2) - np.cos(np.pi * y) / (2 * np.pi * nu)
    terms = np.exp(log_terms - log_terms.max())
    return -np.sum(np.sin(np.pi * y) * terms) / np.sum(terms)


def test_burgers_initial_condition_is_exact():
    x = np.linspace(-1, 1, 101)
    np.testing.assert_array_equal(burgers_solution(x, 0.0), -np.sin(np.pi * x))


def test_burgers_boundary_values_vanish():
    t = np.linspace(0, 1, 21)
    for edge in (-1.0, 1.0):
        assert np.max(np.abs(burgers_solution(edge, t))) < 1e-12


def test_burgers_is_odd_in_x():
    x = np.linspace(0, 1, 41)[:, None]
    t = np.array([0.1, 0.5, 1.0])[None, :]
    u = burgers_solution(x, t)
    np.testing.assert_allclose(burgers_solution(-x, t), -u, atol=1e-13)
    # The profile is not trivially zero: the front is steep at t = 1.
    assert np.max(np.abs(u)) > 0.5


def test_burgers_broadcasting_and_shape():
    x = np.linspace(-1, 1, 7)
    t = np.array([0.0, 0.3, 1.0])
    u = burgers_solution(x[None, :], t[:, None])
    assert u.shape == (3, 7)
    np.testing.assert_array_equal(u[1], burgers_solution(x, 0.3))
    assert np.ndim(burgers_solution(0.2, 0.4)) == 0


SAMPLE_POINTS = [
    (0.0, 0.5),
    (1e-3, 0.5),
    (5e-3, 0.5),
    (-0.01, 0.5),
    (1e-3, 1.0),
    (-5e-3, 1.0),
    (0.01, 1.0),
    (0.05, 1.0),
    (0.3, 0.25),
    (-0.7, 0.75),
]


def test_burgers_quadrature_converged_by_doubling_nodes():
    x, t = np.array(SAMPLE_POINTS).T
    coarse = burgers_solution(x, t, n_quadrature=128)
    fine = burgers_solution(x, t, n_quadrature=256)
    assert np.max(np.abs(coarse - fine)) < 1e-9
    # Sensitivity: too few nodes are visibly wrong at the late front.
    too_few = burgers_solution(0.01, 1.0, n_quadrature=16)
    assert abs(too_few - fine[6]) > 1e-2


def test_burgers_matches_independent_trapezoidal_rule():
    for x, t in SAMPLE_POINTS:
        assert abs(burgers_solution(x, t) - _burgers_trapezoid(x, t)) < 1e-12, (x, t)


def test_burgers_reproduces_basdevant_maximum_slope():
    # Basdevant et al. (1986): max |u_x(0, t)| = 152.00516 at t = 1.6037 / pi.
    t = 1.6037 / np.pi

    def slope(h):
        return (burgers_solution(h, t) - burgers_solution(-h, t)) / (2 * h)

    richardson = (4 * slope(1e-6) - slope(2e-6)) / 3
    assert abs(abs(richardson) - 152.00516) < 2e-3


@pytest.mark.parametrize(
    "x, t, h",
    [(-0.5, 0.5, 1e-3), (0.3, 0.25, 1e-3), (0.6, 0.75, 1e-3), (0.01, 0.5, 1e-5), (0.005, 0.5, 1e-5)],
)
def test_burgers_finite_difference_residual(x, t, h):
    nu = BURGERS_NU
    u = burgers_solution(x, t)
    u_t = (burgers_solution(x, t + h) - burgers_solution(x, t - h)) / (2 * h)
    u_plus, u_minus = burgers_solution(x + h, t), burgers_solution(x - h, t)
    u_x = (u_plus - u_minus) / (2 * h)
    u_xx = (u_plus - 2 * u + u_minus) / h**2
    residual = u_t + u * u_x - nu * u_xx
    scale = abs(u_t) + abs(u * u_x) + abs(nu * u_xx)
    assert abs(residual) < 1e-4 * scale
    # The viscous term matters at these points: dropping it would fail.
    assert abs(residual) < 1e-2 * abs(nu * u_xx)


def test_burgers_reference_grid():
    x, t, u = burgers_reference_grid(nx=33, nt=11)
    np.testing.assert_array_equal(x, np.linspace(-1, 1, 33))
    np.testing.assert_array_equal(t, np.linspace(0, 1, 11))
    assert u.shape == (11, 33)
    np.testing.assert_array_equal(u[0], -np.sin(np.pi * x))
    np.testing.assert_array_equal(u[5], burgers_solution(x, t[5]))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"nu": -1.0}, r"`nu` must be a finite number > 0\. Received: nu=-1\.0"),
        ({"nu": 0.0}, r"nu=0\.0"),
        ({"n_quadrature": 0}, r"n_quadrature=0"),
        ({"n_quadrature": 1000}, r"n_quadrature=1000"),
        ({"n_quadrature": 64.0}, r"n_quadrature=64\.0"),
        ({"t": -0.1}, r"t must be non-negative"),
        ({"t": np.nan}, r"t must be finite"),
        ({"x": np.ones(3), "t": np.ones(4)}, r"broadcastable"),
    ],
)
def test_burgers_validation(kwargs, match):
    args = {"x": 0.0, "t": 0.5, **kwargs}
    with pytest.raises(ValueError, match=match):
        burgers_solution(**args)


def test_burgers_reference_grid_validation():
    with pytest.raises(ValueError, match=r"nx=1"):
        burgers_reference_grid(nx=1)
    with pytest.raises(ValueError, match=r"nt=0"):
        burgers_reference_grid(nt=0)


# --------------------------------------------------------------------------
# Helmholtz
# --------------------------------------------------------------------------


@pytest.mark.parametrize("k, a1, a2", [(1.0, 1.0, 4.0), (3.0, 2.0, 1.0)])
def test_helmholtz_source_matches_finite_difference_laplacian(k, a1, a2):
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-1, 1, (2, 50))
    h = 1e-3

    def u(a, b):
        return helmholtz_solution(a, b, a1=a1, a2=a2)

    laplacian = (u(x + h, y) + u(x - h, y) + u(x, y + h) + u(x, y - h) - 4 * u(x, y)) / h**2
    q = helmholtz_source(x, y, k=k, a1=a1, a2=a2)
    np.testing.assert_allclose(laplacian + k**2 * u(x, y), q, atol=1e-4 * np.max(np.abs(q)))
    assert np.max(np.abs(q)) > 10.0


def test_helmholtz_defaults_and_boundary():
    x = np.array([0.5, 0.25])
    y = np.array([0.125, 0.375])
    np.testing.assert_allclose(helmholtz_solution(x, y), np.sin(np.pi * x) * np.sin(4 * np.pi * y))
    factor = 1.0 - np.pi**2 - 16 * np.pi**2
    np.testing.assert_allclose(helmholtz_source(x, y), factor * helmholtz_solution(x, y))
    edge = np.linspace(-1, 1, 9)
    for a, b in ((edge, -1.0), (edge, 1.0), (-1.0, edge), (1.0, edge)):
        assert np.max(np.abs(helmholtz_solution(a, b))) < 1e-14


def test_helmholtz_validation():
    with pytest.raises(ValueError, match=r"k=nan"):
        helmholtz_source(0.0, 0.0, k=float("nan"))
    with pytest.raises(ValueError, match=r"a1='1'"):
        helmholtz_solution(0.0, 0.0, a1="1")
    with pytest.raises(ValueError, match=r"broadcastable"):
        helmholtz_solution(np.ones(2), np.ones(3))


# --------------------------------------------------------------------------
# Heat
# --------------------------------------------------------------------------


@pytest.mark.parametrize("alpha, n, length", [(0.1, 1, 1.0), (0.5, 3, 2.0)])
def test_heat_finite_difference_residual(alpha, n, length):
    x = np.linspace(0.05, 0.95, 19) * length
    t = 0.4
    h = 1e-4

    def u(a, b):
        return heat_solution(a, b, alpha=alpha, n=n, length=length)

    u_t = (u(x, t + h) - u(x, t - h)) / (2 * h)
    u_xx = (u(x + h, t) - 2 * u(x, t) + u(x - h, t)) / h**2
    np.testing.assert_allclose(u_t, alpha * u_xx, atol=1e-5 * np.max(np.abs(u_t)))
    assert np.max(np.abs(u_t)) > 1e-2


def test_heat_initial_and_boundary_conditions():
    x = np.linspace(0, 2, 11)
    np.testing.assert_allclose(heat_solution(x, 0.0, n=2, length=2.0), np.sin(np.pi * x), atol=1e-15)
    t = np.linspace(0, 1, 5)
    assert np.max(np.abs(heat_solution(0.0, t))) == 0.0
    assert np.max(np.abs(heat_solution(1.0, t))) < 1e-15
    # Default alpha = 0.1: the first mode decays by exp(-0.1 pi^2) at t = 1.
    assert math.isclose(heat_solution(0.5, 1.0), math.exp(-0.1 * np.pi**2), rel_tol=1e-14)


def test_heat_validation():
    with pytest.raises(ValueError, match=r"`alpha` must be a finite number > 0\. Received: alpha=-0\.1"):
        heat_solution(0.5, 0.1, alpha=-0.1)
    with pytest.raises(ValueError, match=r"n=0"):
        heat_solution(0.5, 0.1, n=0)
    with pytest.raises(ValueError, match=r"length=0"):
        heat_solution(0.5, 0.1, length=0)
    with pytest.raises(ValueError, match=r"t must be non-negative"):
        heat_solution(0.5, -1.0)


# --------------------------------------------------------------------------
# Buckley-Leverett
# --------------------------------------------------------------------------


def test_buckley_leverett_shock_closed_form():
    s_shock, speed = buckley_leverett_shock(2.0)
    assert math.isclose(s_shock, 0.5773502691896258, rel_tol=1e-14)
    assert math.isclose(speed, (1 + math.sqrt(3)) / 2, rel_tol=1e-14)
    s_shock, speed = buckley_leverett_shock(5.0)
    assert math.isclose(s_shock, math.sqrt(1 / 6), rel_tol=1e-14)


@pytest.mark.parametrize("m", [0.3, 1.0, 2.0, 5.0, 50.0])
def test_buckley_leverett_tangent_condition(m):
    s_shock, speed = buckley_leverett_shock(m)
    f = buckley_leverett_flux(s_shock, m)
    f_prime = buckley_leverett_flux_derivative(s_shock, m)
    assert math.isclose(f_prime, f / s_shock, rel_tol=1e-12)
    assert math.isclose(speed, f / s_shock, rel_tol=1e-12)
    # The tangent from the origin lies above the flux curve (Welge).
    s = np.linspace(1e-3, 1, 1001)
    assert np.all(speed * s >= buckley_leverett_flux(s, m) - 1e-12)


@pytest.mark.parametrize("m", [0.5, 2.0, 10.0])
def test_buckley_leverett_flux_derivative_matches_finite_difference(m):
    s = np.linspace(0.01, 0.99, 99)
    h = 1e-6
    numeric = (buckley_leverett_flux(s + h, m) - buckley_leverett_flux(s - h, m)) / (2 * h)
    np.testing.assert_allclose(buckley_leverett_flux_derivative(s, m), numeric, rtol=1e-7, atol=1e-9)
    assert buckley_leverett_flux(0.0, m) == 0.0 and buckley_leverett_flux(1.0, m) == 1.0


@pytest.mark.parametrize("m", [2.0, 5.0])
def test_buckley_leverett_mass_balance(m):
    _, speed = buckley_leverett_shock(m)
    t = 0.8 / speed  # front at x = 0.8, inside [0, 1]
    x = np.linspace(0, 1, 200_001)
    s = buckley_leverett_solution(x, t, m)
    mass = np.sum(0.5 * (s[1:] + s[:-1]) * np.diff(x))
    assert abs(mass - t * buckley_leverett_flux(1.0, m)) < 1e-3


def test_buckley_leverett_profile():
    m = 2.0
    s_shock, speed = buckley_leverett_shock(m)
    t = 0.5
    x = np.linspace(0, 1, 2001)
    s = buckley_leverett_solution(x, t, m)
    assert np.all((s >= 0) & (s <= 1))
    assert np.all(np.diff(s) <= 0)
    assert s[0] == 1.0
    front = speed * t
    assert np.all(s[x > front] == 0.0)
    behind = x < front
    assert np.all(s[behind] >= s_shock - 1e-12)
    # Just behind the front S -> s*.
    assert abs(buckley_leverett_solution(front * (1 - 1e-9), t, m) - s_shock) < 1e-4
    # Rarefaction: f'(S) = x / t in the fan.
    inner = (x > 0) & behind
    np.testing.assert_allclose(buckley_leverett_flux_derivative(s[inner], m), x[inner] / t, rtol=1e-10, atol=1e-12)


def test_buckley_leverett_initial_time_and_broadcasting():
    x = np.array([0.0, 0.1, 0.5])
    np.testing.assert_array_equal(buckley_leverett_solution(x, 0.0), [1.0, 0.0, 0.0])
    s = buckley_leverett_solution(x[None, :], np.array([0.0, 0.2, 0.6])[:, None])
    assert s.shape == (3, 3)
    np.testing.assert_array_equal(s[:, 0], 1.0)
    assert 0 < s[2, 1] < 1


def test_buckley_leverett_validation():
    with pytest.raises(ValueError, match=r"`m` must be a finite number > 0\. Received: m=-2\.0"):
        buckley_leverett_shock(-2.0)
    with pytest.raises(ValueError, match=r"m=0"):
        buckley_leverett_solution(0.5, 0.5, m=0)
    with pytest.raises(ValueError, match=r"x must be non-negative"):
        buckley_leverett_solution(-0.1, 0.5)
    with pytest.raises(ValueError, match=r"t must be non-negative"):
        buckley_leverett_solution(0.1, -0.5)
    with pytest.raises(ValueError, match=r"s must lie in \[0, 1\]"):
        buckley_leverett_flux(1.5)
    with pytest.raises(ValueError, match=r"s must lie in \[0, 1\]"):
        buckley_leverett_flux_derivative(np.array([-0.1, 0.5]))


# --------------------------------------------------------------------------
# relative_l2_error
# --------------------------------------------------------------------------


def test_relative_l2_error_values():
    assert relative_l2_error([3.0, 4.0], [3.0, 4.0]) == 0.0
    assert math.isclose(relative_l2_error([3.0, 5.0], [3.0, 4.0]), 0.2, rel_tol=1e-15)
    assert math.isclose(relative_l2_error(np.zeros(4), np.ones(4)), 1.0)
    prediction = np.array([[1.0], [2.0], [2.0]])
    reference = np.array([1.0, 2.0, 4.0])
    assert math.isclose(relative_l2_error(prediction, reference), 2.0 / math.sqrt(21), rel_tol=1e-15)
    assert isinstance(relative_l2_error(prediction, reference), float)


def test_relative_l2_error_validation():
    with pytest.raises(ValueError, match=r"prediction\.shape=\(2, 3\), reference\.shape=\(3, 2\)"):
        relative_l2_error(np.ones((2, 3)), np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"\(4,\).*\(3, 1\)"):
        relative_l2_error(np.ones(4), np.ones((3, 1)))
    with pytest.raises(ValueError, match=r"non-zero norm"):
        relative_l2_error(np.ones(3), np.zeros(3))
