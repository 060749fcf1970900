"""Exact and reference solutions of the reference PINN problems, in numpy.

Everything here is plain float64 numpy (no Keras, no backend): these are the
ground truths that trained networks are scored against.

* Viscous Burgers (Raissi et al. 2019): :func:`burgers_solution`,
  :func:`burgers_reference_grid` (Cole-Hopf transformation, Gauss-Hermite
  quadrature).
* Helmholtz on ``[-1, 1]^2`` (Bischof & Kraus 2021): :func:`helmholtz_solution`,
  :func:`helmholtz_source`.
* Heat equation on ``[0, L]``: :func:`heat_solution`.
* Buckley-Leverett (Fuks & Tchelepi 2020): :func:`buckley_leverett_flux`,
  :func:`buckley_leverett_flux_derivative`, :func:`buckley_leverett_shock`,
  :func:`buckley_leverett_solution`.
* :func:`relative_l2_error`, the usual PINN accuracy metric.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.polynomial.hermite import hermgauss

from keras_pinn import _validation

__all__ = [
    "buckley_leverett_flux",
    "buckley_leverett_flux_derivative",
    "buckley_leverett_shock",
    "buckley_leverett_solution",
    "burgers_reference_grid",
    "burgers_solution",
    "heat_solution",
    "helmholtz_solution",
    "helmholtz_source",
    "relative_l2_error",
]

BURGERS_NU = 0.01 / np.pi
"""Viscosity of the Raissi et al. (2019) Burgers benchmark, ``0.01 / pi``."""

HEAT_ALPHA = 0.1
"""Default diffusivity of :func:`heat_solution`."""

# numpy's hermgauss returns NaN weights from n = 372 on.
_MAX_HERMITE_NODES = 360
# Points evaluated at once in burgers_solution (bounds temporary memory to
# about _CHUNK * n_quadrature * 8 bytes per temporary array).
_CHUNK = 8192


# --------------------------------------------------------------------------
# Argument validation
# --------------------------------------------------------------------------


def _array(value, name: str) -> np.ndarray:
    """A finite float64 array."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"{name} must be a real number or array of real numbers. Received: {name}={value!r}"
        ) from error
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite. Received: {name}={value!r}")
    return array


def _non_negative_array(value, name: str) -> np.ndarray:
    array = _array(value, name)
    if np.any(array < 0):
        raise ValueError(f"{name} must be non-negative. Received: {name} with minimum {array.min()!r}")
    return array


def _broadcast(a: np.ndarray, b: np.ndarray, names: tuple[str, str]):
    try:
        return np.broadcast_arrays(a, b)
    except ValueError as error:
        raise ValueError(
            f"{names[0]} and {names[1]} must be broadcastable. Received shapes "
            f"{names[0]}: {a.shape}, {names[1]}: {b.shape}"
        ) from error


# --------------------------------------------------------------------------
# Viscous Burgers
# --------------------------------------------------------------------------


def burgers_solution(
    x,
    t,
    nu: float = BURGERS_NU,
    n_quadrature: int = 128,
) -> np.ndarray:
    """Exact solution of the viscous Burgers benchmark (Cole-Hopf).

    Solves ``u_t + u u_x = nu u_xx`` with ``u(x, 0) = -sin(pi x)`` and
    ``u(-1, t) = u(1, t) = 0``, the setup of Raissi et al. (2019). The
    Cole-Hopf transformation gives, on the whole line (the periodic, odd
    initial condition makes ``u(+-1, t) = 0`` hold automatically),

    ``u(x, t) = - I[sin(pi (x - eta)) f(x - eta)] / I[f(x - eta)]``, with
    ``I[g] = int g(eta) exp(-eta^2 / (4 nu t)) d eta`` and
    ``f(y) = exp(-cos(pi y) / (2 pi nu))``.

    Substituting ``eta = sqrt(4 nu t) z`` turns both integrals into
    Gauss-Hermite form ``int g(z) exp(-z^2) dz``, evaluated with
    ``n_quadrature`` Gauss-Hermite nodes (``numpy.polynomial.hermite
    .hermgauss``). ``f`` spans ``exp(+-1 / (2 pi nu))`` (``exp(+-50)`` for the
    default ``nu``), so the logarithms of ``weight * f`` are shifted by their
    maximum before exponentiating (log-sum-exp); the ratio is unaffected and
    nothing overflows in float64.

    Accuracy (measured against an independent trapezoidal rule with
    ``8001`` nodes on ``z in [-40, 40]``, and by doubling the nodes): for the
    default ``nu = 0.01 / pi`` the default 128 nodes agree to about ``1e-15``
    everywhere in ``[-1, 1] x [0, 1]``, including the steep front at ``x = 0``
    at ``t = 1``; 64 nodes give ``~1e-10`` there. Smaller viscosities need
    more nodes: ``nu = 0.003 / pi`` is at machine precision with 128 nodes,
    ``nu = 0.001 / pi`` needs about 350 (256 give ``~1e-6``). numpy's
    ``hermgauss`` breaks down past about 370 nodes, so ``n_quadrature`` is
    capped at 360 and viscosities much below ``0.001 / pi`` are not supported
    accurately; check by doubling ``n_quadrature``. The maximum slope
    ``|u_x(0, t)|`` reproduces the reference value ``152.00516`` at
    ``t = 1.6037 / pi`` of Basdevant et al. (1986).

    Args:
        x: positions, a scalar or array broadcastable with ``t``.
        t: times, non-negative, a scalar or array broadcastable with ``x``.
        nu: viscosity, positive. Defaults to ``0.01 / pi``.
        n_quadrature: number of Gauss-Hermite nodes, from 1 to 360.

    Returns:
        float64 array of ``u(x, t)`` with the broadcast shape of ``x`` and
        ``t``. At ``t = 0`` it is ``-sin(pi x)`` exactly.

    Raises:
        ValueError: if ``nu`` is not positive, ``n_quadrature`` is not an
            integer in ``[1, 360]``, ``x`` or ``t`` is not finite, ``t`` is
            negative, or ``x`` and ``t`` do not broadcast.

    References:
        Raissi, M., Perdikaris, P., Karniadakis, G. E. (2019).
        Physics-informed neural networks. Journal of Computational Physics
        378, 686-707.

        Basdevant, C., Deville, M., Haldenwang, P., Lacroix, J. M.,
        Ouazzani, J., Peyret, R., Orlandi, P., Patera, A. T. (1986). Spectral
        and finite difference solutions of the Burgers equation. Computers &
        Fluids 14(1), 23-41.

        Cole, J. D. (1951). On a quasi-linear parabolic equation occurring in
        aerodynamics. Quarterly of Applied Mathematics 9(3), 225-236.
    """
    nu = _validation.positive(nu, "nu")
    n_quadrature = _validation.positive_int(n_quadrature, "n_quadrature", maximum=_MAX_HERMITE_NODES)
    x = _array(x, "x")
    t = _non_negative_array(t, "t")
    x, t = _broadcast(x, t, ("x", "t"))
    shape = x.shape
    x = x.ravel()
    t = t.ravel()

    u = -np.sin(np.pi * x)  # exact at t = 0
    z, w = hermgauss(n_quadrature)
    keep = w > 0
    z, log_w = z[keep], np.log(w[keep])
    scale = 1.0 / (2.0 * np.pi * nu)

    (active,) = np.nonzero(t > 0)
    for start in range(0, active.size, _CHUNK):
        index = active[start : start + _CHUNK]
        width = np.sqrt(4.0 * nu * t[index])[:, None]
        y = x[index, None] - width * z[None, :]
        log_terms = log_w[None, :] - scale * np.cos(np.pi * y)
        log_terms -= log_terms.max(axis=1, keepdims=True)
        terms = np.exp(log_terms)
        u[index] = -np.sum(np.sin(np.pi * y) * terms, axis=1) / np.sum(terms, axis=1)
    return u.reshape(shape)


def burgers_reference_grid(
    nx: int = 256,
    nt: int = 100,
    nu: float = BURGERS_NU,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Burgers solution on a uniform space-time grid.

    The same layout as the ``burgers_shock.mat`` data of Raissi et al.
    (2019): ``nx`` points in ``x in [-1, 1]``, ``nt`` times in ``[0, 1]``.

    Args:
        nx: number of positions, at least 2.
        nt: number of times, at least 2.
        nu: viscosity, positive. Defaults to ``0.01 / pi``.

    Returns:
        ``(x, t, u)``: ``x = linspace(-1, 1, nx)``, ``t = linspace(0, 1, nt)``
        and ``u`` of shape ``(nt, nx)`` with ``u[i, j] = u(x[j], t[i])``.

    Raises:
        ValueError: if ``nx`` or ``nt`` is not an integer >= 2, or ``nu`` is
            not positive.

    References:
        Raissi, M., Perdikaris, P., Karniadakis, G. E. (2019).
        Physics-informed neural networks. Journal of Computational Physics
        378, 686-707.
    """
    for name, value in (("nx", nx), ("nt", nt)):
        if _validation.positive_int(value, name) < 2:
            raise ValueError(f"`{name}` must be at least 2. Received: {name}={value!r}")
    nu = _validation.positive(nu, "nu")
    x = np.linspace(-1.0, 1.0, nx)
    t = np.linspace(0.0, 1.0, nt)
    u = burgers_solution(x[None, :], t[:, None], nu=nu)
    return x, t, u


# --------------------------------------------------------------------------
# Helmholtz
# --------------------------------------------------------------------------


def helmholtz_solution(x, y, a1: float = 1.0, a2: float = 4.0) -> np.ndarray:
    """Manufactured Helmholtz solution ``u = sin(a1 pi x) sin(a2 pi y)``.

    On ``[-1, 1]^2`` with ``u = 0`` on the boundary for integer ``a1``,
    ``a2``; the benchmark of Bischof & Kraus (2021) uses ``a1 = 1``,
    ``a2 = 4``.

    Args:
        x: first coordinate, broadcastable with ``y``.
        y: second coordinate, broadcastable with ``x``.
        a1: wave number factor in ``x``.
        a2: wave number factor in ``y``.

    Returns:
        float64 array of ``u(x, y)`` with the broadcast shape.

    Raises:
        ValueError: if an argument is not finite or ``x``, ``y`` do not
            broadcast.

    References:
        Bischof, R., Kraus, M. (2021). Multi-Objective Loss Balancing for
        Physics-Informed Deep Learning. arXiv:2110.09813.
    """
    a1 = _validation.finite(a1, "a1")
    a2 = _validation.finite(a2, "a2")
    x, y = _broadcast(_array(x, "x"), _array(y, "y"), ("x", "y"))
    return np.sin(a1 * np.pi * x) * np.sin(a2 * np.pi * y)


def helmholtz_source(x, y, k: float = 1.0, a1: float = 1.0, a2: float = 4.0) -> np.ndarray:
    """Source ``q`` of ``u_xx + u_yy + k^2 u = q`` for :func:`helmholtz_solution`.

    ``q = (k^2 - (a1 pi)^2 - (a2 pi)^2) sin(a1 pi x) sin(a2 pi y)``.

    Args:
        x: first coordinate, broadcastable with ``y``.
        y: second coordinate, broadcastable with ``x``.
        k: wave number of the Helmholtz operator.
        a1: wave number factor in ``x``.
        a2: wave number factor in ``y``.

    Returns:
        float64 array of ``q(x, y)`` with the broadcast shape.

    Raises:
        ValueError: if an argument is not finite or ``x``, ``y`` do not
            broadcast.

    References:
        Bischof, R., Kraus, M. (2021). Multi-Objective Loss Balancing for
        Physics-Informed Deep Learning. arXiv:2110.09813.
    """
    k = _validation.finite(k, "k")
    a1 = _validation.finite(a1, "a1")
    a2 = _validation.finite(a2, "a2")
    factor = k**2 - (a1 * np.pi) ** 2 - (a2 * np.pi) ** 2
    return factor * helmholtz_solution(x, y, a1=a1, a2=a2)


# --------------------------------------------------------------------------
# Heat
# --------------------------------------------------------------------------


def heat_solution(
    x,
    t,
    alpha: float = HEAT_ALPHA,
    n: int = 1,
    length: float = 1.0,
) -> np.ndarray:
    """Exact solution of the 1-D heat equation with one Fourier mode.

    ``u_t = alpha u_xx`` on ``[0, L]``, ``u(0, t) = u(L, t) = 0``,
    ``u(x, 0) = sin(n pi x / L)``; the solution is
    ``u = exp(-alpha (n pi / L)^2 t) sin(n pi x / L)``. The default
    ``alpha = 0.1`` makes the first mode decay by ``exp(-0.1 pi^2) ~ 0.37``
    over ``t in [0, 1]``: visible decay without a vanishing solution.

    Args:
        x: positions, broadcastable with ``t``.
        t: times, non-negative, broadcastable with ``x``.
        alpha: diffusivity, positive. Defaults to ``0.1``.
        n: mode number, a positive integer.
        length: domain length ``L``, positive.

    Returns:
        float64 array of ``u(x, t)`` with the broadcast shape.

    Raises:
        ValueError: if ``alpha`` or ``length`` is not positive, ``n`` is not a
            positive integer, ``x`` or ``t`` is not finite, ``t`` is negative,
            or ``x``, ``t`` do not broadcast.

    References:
        Evans, L. C. (2010). Partial Differential Equations, 2nd ed., §2.3.
        American Mathematical Society.
    """
    alpha = _validation.positive(alpha, "alpha")
    n = _validation.positive_int(n, "n")
    length = _validation.positive(length, "length")
    x, t = _broadcast(_array(x, "x"), _non_negative_array(t, "t"), ("x", "t"))
    wave = n * np.pi / length
    return np.exp(-alpha * wave**2 * t) * np.sin(wave * x)


# --------------------------------------------------------------------------
# Buckley-Leverett
# --------------------------------------------------------------------------


def buckley_leverett_flux(s, m: float = 2.0) -> np.ndarray:
    """Fractional-flow function ``f(S) = S^2 / (S^2 + (1 - S)^2 / M)``.

    Args:
        s: saturations in ``[0, 1]``.
        m: mobility ratio ``M``, positive.

    Returns:
        float64 array ``f(s)``, same shape as ``s``.

    Raises:
        ValueError: if ``m`` is not positive or ``s`` is not finite or leaves
            ``[0, 1]``.

    References:
        Buckley, S. E., Leverett, M. C. (1942). Mechanism of fluid
        displacement in sands. Transactions of the AIME 146(1), 107-116.

        Fuks, O., Tchelepi, H. A. (2020). Limitations of physics informed
        machine learning for nonlinear two-phase transport in porous media.
        Journal of Machine Learning for Modeling and Computing 1(1), 19-37.
    """
    m = _validation.positive(m, "m")
    s = _saturation(s)
    return s**2 / (s**2 + (1.0 - s) ** 2 / m)


def buckley_leverett_flux_derivative(s, m: float = 2.0) -> np.ndarray:
    """Analytic derivative ``f'(S) = 2 S (1 - S) / (M D^2)``.

    Here ``D = S^2 + (1 - S)^2 / M`` is the denominator of
    :func:`buckley_leverett_flux`.

    Args:
        s: saturations in ``[0, 1]``.
        m: mobility ratio ``M``, positive.

    Returns:
        float64 array ``f'(s)``, same shape as ``s``.

    Raises:
        ValueError: if ``m`` is not positive or ``s`` is not finite or leaves
            ``[0, 1]``.

    References:
        Buckley, S. E., Leverett, M. C. (1942). Mechanism of fluid
        displacement in sands. Transactions of the AIME 146(1), 107-116.
    """
    m = _validation.positive(m, "m")
    s = _saturation(s)
    return _flux_derivative(s, m)


def _flux_derivative(s: np.ndarray, m: float) -> np.ndarray:
    denominator = s**2 + (1.0 - s) ** 2 / m
    return 2.0 * s * (1.0 - s) / (m * denominator**2)


def _saturation(s) -> np.ndarray:
    s = _array(s, "s")
    if np.any((s < 0) | (s > 1)):
        raise ValueError(f"s must lie in [0, 1]. Received: s with range [{s.min()!r}, {s.max()!r}]")
    return s


def buckley_leverett_shock(m: float = 2.0) -> tuple[float, float]:
    """Shock saturation and speed from Welge's tangent construction.

    With zero initial saturation the shock saturation ``s*`` solves
    ``f'(s*) = f(s*) / s*`` (the tangent to ``f`` from the origin). For this
    flux the condition reduces to ``(1 - s^2) / M = s^2``, so
    ``s* = sqrt(1 / (1 + M))`` for every ``M > 0``, and the shock speed is
    ``f(s*) / s* = (1 + sqrt(1 + M)) / 2``. The closed form is returned,
    cross-checked on every call against a bisection solve of the tangent
    condition (a mismatch raises ``RuntimeError``).

    Args:
        m: mobility ratio ``M``, positive.

    Returns:
        ``(s_shock, shock_speed)`` as floats; for ``M = 2``
        ``(0.5773502..., 1.3660254...)``.

    Raises:
        ValueError: if ``m`` is not positive.

    References:
        Welge, H. J. (1952). A simplified method for computing oil recovery
        by gas or water drive. Journal of Petroleum Technology 4(4), 91-98.

        Buckley, S. E., Leverett, M. C. (1942). Mechanism of fluid
        displacement in sands. Transactions of the AIME 146(1), 107-116.
    """
    m = _validation.positive(m, "m")
    s_shock = math.sqrt(1.0 / (1.0 + m))
    speed = 0.5 * (1.0 + math.sqrt(1.0 + m))

    # Numeric cross-check: g(s) = s f'(s) - f(s) = s^2 ((1 - s^2) / M - s^2) / D^2
    # is > 0 below s* and < 0 above it on (0, 1), so bisection converges to s*.
    def tangent_gap(s: float) -> float:
        denominator = s**2 + (1.0 - s) ** 2 / m
        return s * 2.0 * s * (1.0 - s) / (m * denominator**2) - s**2 / denominator

    low, high = 0.0, 1.0
    for _ in range(200):
        middle = 0.5 * (low + high)
        if middle in (low, high):
            break
        if tangent_gap(middle) > 0:
            low = middle
        else:
            high = middle
    numeric = 0.5 * (low + high)
    if not math.isclose(numeric, s_shock, rel_tol=1e-9, abs_tol=1e-12):
        raise RuntimeError(
            f"Welge tangent bisection ({numeric!r}) disagrees with the closed "
            f"form sqrt(1 / (1 + M)) ({s_shock!r}) for m={m!r}"
        )
    return s_shock, speed


def buckley_leverett_solution(x, t, m: float = 2.0) -> np.ndarray:
    """Entropy (Oleinik) solution of the Buckley-Leverett Riemann problem.

    ``S_t + f(S)_x = 0`` on ``x >= 0`` with ``S(x, 0) = 0`` for ``x > 0`` and
    injection ``S(0, t) = 1``. With ``(s*, sigma)`` from
    :func:`buckley_leverett_shock`: for ``x / t <= sigma`` the solution is the
    rarefaction ``S`` in ``[s*, 1]`` with ``f'(S) = x / t`` (``f'`` decreases
    strictly there, so the root is unique; found by 64 steps of vectorised
    bisection, accurate to ~1e-16); for ``x / t > sigma`` ``S = 0``. At
    ``t = 0``, ``S = 1`` at ``x = 0`` and ``0`` for ``x > 0``. The profile
    jumps from ``s*`` to ``0`` at the front ``x = sigma t``. Mass balance:
    ``int_0^inf S dx = t f(1) = t``.

    Args:
        x: positions, non-negative, broadcastable with ``t``.
        t: times, non-negative, broadcastable with ``x``.
        m: mobility ratio ``M``, positive.

    Returns:
        float64 array of ``S(x, t)`` in ``[0, 1]`` with the broadcast shape.

    Raises:
        ValueError: if ``m`` is not positive, ``x`` or ``t`` is not finite or
            negative, or ``x``, ``t`` do not broadcast.

    References:
        Buckley, S. E., Leverett, M. C. (1942). Mechanism of fluid
        displacement in sands. Transactions of the AIME 146(1), 107-116.

        Fuks, O., Tchelepi, H. A. (2020). Limitations of physics informed
        machine learning for nonlinear two-phase transport in porous media.
        Journal of Machine Learning for Modeling and Computing 1(1), 19-37.

        LeVeque, R. J. (2002). Finite Volume Methods for Hyperbolic Problems,
        §16.1. Cambridge University Press.
    """
    m = _validation.positive(m, "m")
    x, t = _broadcast(_non_negative_array(x, "x"), _non_negative_array(t, "t"), ("x", "t"))
    s_shock, speed = buckley_leverett_shock(m)

    s = np.zeros(x.shape, dtype=np.float64)
    s[x == 0] = 1.0
    moving = t > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        xi = np.where(moving, x / np.where(moving, t, 1.0), np.inf)
    fan = moving & (xi <= speed) & (x > 0)
    target = xi[fan]
    low = np.full(target.shape, s_shock)
    high = np.ones(target.shape)
    for _ in range(64):
        middle = 0.5 * (low + high)
        above = _flux_derivative(middle, m) > target  # root lies to the right
        low = np.where(above, middle, low)
        high = np.where(above, high, middle)
    s[fan] = 0.5 * (low + high)
    return s


def buckley_leverett_hull_flux(s, m: float = 2.0) -> np.ndarray:
    """Welge's convex-hull flux: ``f`` with ``[0, s*]`` replaced by the tangent
    from the origin, ``f_hull(S) = sigma S`` for ``S < s*``, ``f(S)`` above.

    ``sigma = f(s*) / s*`` is the shock speed of
    :func:`buckley_leverett_shock`. With zero initial saturation the entropy
    solution of ``S_t + f(S)_x = 0`` equals the (continuous-fan) solution of
    ``S_t + f_hull(S)_x = 0`` away from the jump, and a PINN trained on
    ``S_t + f_hull'(S) S_x = 0`` no longer sees the non-convex part of ``f``
    that makes it miss the shock (Diab & Al Kobaisi 2021).

    Args:
        s: saturations in ``[0, 1]``.
        m: mobility ratio ``M``, positive.

    Returns:
        float64 array ``f_hull(s)``, same shape as ``s``.

    References:
        Diab, W., Al Kobaisi, M. (2021). PINNs for the solution of the
        hyperbolic Buckley-Leverett problem with a non-convex flux function.
        arXiv:2112.14826.
    """
    m = _validation.positive(m, "m")
    s = _saturation(s)
    s_shock, speed = buckley_leverett_shock(m)
    return np.where(s < s_shock, speed * s, s**2 / (s**2 + (1.0 - s) ** 2 / m))


def buckley_leverett_hull_flux_derivative(s, m: float = 2.0) -> np.ndarray:
    """Derivative of :func:`buckley_leverett_hull_flux`: the shock speed
    ``sigma`` below ``s*``, ``f'(S)`` from ``s*`` on (continuous at ``s*``,
    where the tangent touches ``f``)."""
    m = _validation.positive(m, "m")
    s = _saturation(s)
    s_shock, speed = buckley_leverett_shock(m)
    return np.where(s < s_shock, speed, _flux_derivative(s, m))


def buckley_leverett_viscous(
    x, t, diffusion: float, m: float = 2.0, length: float = 1.5, cells: int = 3000
) -> np.ndarray:
    """Finite-volume solution of ``S_t + f(S)_x = eps S_xx`` (the problem a
    PINN with artificial diffusion ``eps`` is trained on).

    Upwind fluxes (``f' >= 0``, so the upwind cell is the left one), central
    diffusion, explicit Euler steps at half the stable step, ``S = 1`` left
    of the domain and zero gradient at ``x = length``; values are linearly
    interpolated to ``(x, t)``. The scheme's own numerical diffusion is about
    ``max f' dx / 2`` (``4e-4`` with the defaults), so the result is the
    viscous solution for ``eps`` well above that; it measures how far the
    smoothed problem's exact solution lies from the inviscid (Welge) one:
    the error floor of the ``diffusion`` variants.

    Args:
        x: positions in ``[0, length]``.
        t: times, non-negative, broadcastable with ``x``.
        diffusion: ``eps >= 0``.
        m: mobility ratio ``M``, positive.
        length: right end of the domain.
        cells: finite-volume cells.

    Returns:
        float64 array of ``S(x, t)`` with the broadcast shape.
    """
    m = _validation.positive(m, "m")
    length = _validation.positive(length, "length")
    cells = _validation.positive_int(cells, "cells")
    eps = _validation.finite(diffusion, "diffusion")
    if eps < 0:
        raise ValueError(f"diffusion must be >= 0. Received: diffusion={diffusion!r}")
    x, t = _broadcast(_non_negative_array(x, "x"), _non_negative_array(t, "t"), ("x", "t"))
    dx = length / cells
    centres = (np.arange(cells) + 0.5) * dx
    grid = np.linspace(0.0, 1.0, 2001)
    max_speed = float(_flux_derivative(grid, m).max())
    dt = 0.5 / (max_speed / dx + 2.0 * eps / dx**2)
    times = np.unique(t)
    s = np.zeros(cells)
    out = np.empty(x.shape)
    now = 0.0
    for target in times:
        while now < target - 1e-15:
            step = min(dt, target - now)
            ghost_left, ghost_right = 1.0, s[-1]
            padded = np.concatenate(([ghost_left], s, [ghost_right]))
            flux = padded**2 / (padded**2 + (1.0 - padded) ** 2 / m)
            advect = (flux[1:-1] - flux[:-2]) / dx
            diffuse = eps * (padded[2:] - 2.0 * s + padded[:-2]) / dx**2
            s = np.clip(s + step * (diffuse - advect), 0.0, 1.0)
            now += step
        mask = t == target
        profile = np.concatenate(([1.0], s))
        out[mask] = np.interp(x[mask], np.concatenate(([0.0], centres)), profile)
    return out


def front_positions(profiles: np.ndarray, x: np.ndarray, level: float) -> np.ndarray:
    """Where each profile (rows of ``profiles`` over ``x``) last falls below
    ``level``, linearly interpolated; ``x[-1]`` when it never does and
    ``x[0]`` when it starts below."""
    profiles = np.atleast_2d(np.asarray(profiles, dtype="float64"))
    x = np.asarray(x, dtype="float64")
    found = np.empty(profiles.shape[0])
    for i, row in enumerate(profiles):
        above = np.nonzero(row >= level)[0]
        if above.size == 0:
            found[i] = x[0]
            continue
        j = above[-1]
        if j == row.size - 1:
            found[i] = x[-1]
            continue
        a, b = row[j], row[j + 1]
        found[i] = x[j] + (x[j + 1] - x[j]) * (a - level) / (a - b) if a != b else x[j]
    return found


def buckley_leverett_metrics(
    predict, m: float = 2.0, times=(0.25, 0.5, 0.75), length: float = 1.5, n_x: int = 1501, band: float = 0.05
) -> dict:
    """Error measures that fit a moving shock, for a prediction ``predict(points) -> (n, 1)``.

    On ``n_x`` points of ``[0, length]`` at each time in ``times``:
    ``shock_position_error`` (mean over the times of ``|x_f - sigma t| /
    (sigma t)``, with ``x_f`` where the prediction last falls below
    ``s* / 2``) and its value per time, ``relative_l1``, the 10-90 % front
    width ``front_width`` (distance between the last crossings of ``0.9 s*``
    and ``0.1 s*``, mean over the times; the exact solution's is 0), and
    ``relative_l2_outside_band``, the relative L2 error over the points
    farther than ``band`` from the exact front.

    Args:
        predict: maps ``(n, 2)`` points ``(x, t)`` to predicted saturations.
        m: mobility ratio.
        times: times of the profiles (the exact front must lie inside).
        length: right end of the domain.
        n_x: points per profile.
        band: half width of the band around the exact front left out of
            ``relative_l2_outside_band``.

    Returns:
        A dict of floats (JSON-ready).
    """
    s_shock, speed = buckley_leverett_shock(m)
    x = np.linspace(0.0, length, n_x)
    times = np.asarray(times, dtype="float64")
    xx, tt = np.meshgrid(x, times)
    points = np.stack([xx.ravel(), tt.ravel()], axis=1)
    pred = np.asarray(predict(points), dtype="float64").reshape(len(times), n_x)
    exact = buckley_leverett_solution(xx, tt, m=m)
    fronts = speed * times
    found = front_positions(pred, x, 0.5 * s_shock)
    position = np.abs(found - fronts) / fronts
    width = front_positions(pred, x, 0.1 * s_shock) - front_positions(pred, x, 0.9 * s_shock)
    outside = np.abs(xx - fronts[:, None]) > band
    diff = pred - exact
    return {
        "shock_position_error": float(position.mean()),
        "shock_position_error_per_time": {f"{t:g}": float(e) for t, e in zip(times, position)},
        "front_position_per_time": {f"{t:g}": float(p) for t, p in zip(times, found)},
        "relative_l1": float(np.abs(diff).sum() / np.abs(exact).sum()),
        "front_width": float(np.abs(width).mean()),
        "relative_l2_outside_band": float(np.linalg.norm(diff[outside]) / np.linalg.norm(exact[outside])),
        "relative_l2_profiles": float(np.linalg.norm(diff) / np.linalg.norm(exact)),
    }


# --------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------


def _squeeze_trailing(shape: tuple[int, ...]) -> tuple[int, ...]:
    shape = tuple(shape)
    while shape and shape[-1] == 1:
        shape = shape[:-1]
    return shape


def relative_l2_error(prediction, reference) -> float:
    """Relative L2 error ``||prediction - reference||_2 / ||reference||_2``.

    Both arrays are flattened; their shapes must agree once trailing
    singleton dimensions are dropped (so ``(N, 1)`` matches ``(N,)``).

    Args:
        prediction: predicted values, array-like.
        reference: reference values, array-like, not identically zero.

    Returns:
        The relative error as a Python float.

    Raises:
        ValueError: if the shapes differ (after squeezing trailing singleton
            dimensions), either array is not finite, or ``reference`` has
            zero norm.

    References:
        Raissi, M., Perdikaris, P., Karniadakis, G. E. (2019).
        Physics-informed neural networks. Journal of Computational Physics
        378, 686-707.
    """
    prediction = _array(prediction, "prediction")
    reference = _array(reference, "reference")
    if _squeeze_trailing(prediction.shape) != _squeeze_trailing(reference.shape):
        raise ValueError(
            "prediction and reference must have the same shape (up to trailing "
            f"dimensions of size 1). Received: prediction.shape="
            f"{prediction.shape}, reference.shape={reference.shape}"
        )
    denominator = np.linalg.norm(reference.ravel())
    if denominator == 0:
        raise ValueError(
            "reference must have a non-zero norm. Received: reference with "
            f"shape {reference.shape} and all entries zero"
        )
    return float(np.linalg.norm(prediction.ravel() - reference.ravel()) / denominator)
