"""Reference PDE problems: domain, residual, conditions and exact solution.

Each factory returns a :class:`Problem`; ``problem.model(network)`` builds a
:class:`~keras_pinn.PINNModel` and ``problem.error(model)`` gives the relative
L2 error against the exact or reference solution on a regular grid. The
residuals are registered serializable classes, so models save and load.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np
from keras import ops

import keras_pinn.problems.reference as ref
from keras_pinn.conditions import DirichletBC, InitialCondition
from keras_pinn.domains import Box, Interval, SpaceTime
from keras_pinn.model import PINNModel

__all__ = [
    "Problem",
    "BurgersResidual",
    "HelmholtzResidual",
    "HeatResidual",
    "BuckleyLeverettResidual",
    "burgers",
    "helmholtz",
    "heat",
    "heat_units",
    "buckley_leverett",
    "PROBLEMS",
]


@dataclass
class Problem:
    """A PDE with its domain, conditions and exact or reference solution.

    Attributes:
        name: short name.
        domain: the domain.
        pde: the residual, ``pde(d)``.
        conditions: ``conditions(n_points) -> list`` of fresh conditions.
        solution: ``solution(points) -> (n, 1)`` exact or reference values.
        order: highest derivative order in the PDE.
        grid_shape: evaluation grid for :meth:`error`.
        description: one line for reports.
    """

    name: str
    domain: Box
    pde: Callable
    conditions: Callable[[int], list]
    solution: Callable[[np.ndarray], np.ndarray]
    order: int
    grid_shape: tuple = (101, 101)
    description: str = ""
    parameters: dict = field(default_factory=dict)

    def model(self, network, n_collocation: int = 2000, n_condition: int = 256, **kwargs) -> PINNModel:
        """A :class:`PINNModel` for this problem around ``network``."""
        return PINNModel(
            network,
            self.domain,
            self.pde,
            conditions=self.conditions(n_condition),
            n_collocation=n_collocation,
            **kwargs,
        )

    def grid(self) -> np.ndarray:
        """The evaluation grid, ``(prod(grid_shape), d)``."""
        return self.domain.grid(self.grid_shape)

    def error(self, model, points: np.ndarray | None = None) -> float:
        """Relative L2 error of ``model`` against the solution at ``points``
        (the evaluation grid by default)."""
        points = self.grid() if points is None else points
        pred = np.asarray(model.predict(points, verbose=0, batch_size=len(points)))
        return float(ref.relative_l2_error(pred[:, :1], self.solution(points)))


class _ResidualBase:
    """Serialization shared by the residual classes: the config is the
    constructor's keyword arguments, kept as attributes of the same names."""

    _config_keys: tuple = ()

    def get_config(self):
        return {key: getattr(self, key) for key in self._config_keys}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _col(a):
    return np.asarray(a, dtype="float64").reshape(-1, 1)


@keras.saving.register_keras_serializable(package="keras_pinn")
class BurgersResidual(_ResidualBase):
    """``u_t + u u_x - nu u_xx`` on coordinates ``(x, t)``."""

    _config_keys = ("nu",)

    def __init__(self, nu: float = 0.01 / np.pi):
        if not nu > 0:
            raise ValueError(f"`nu` must be positive. Received: nu={nu!r}")
        self.nu = float(nu)

    def __call__(self, d):
        nu = d.params.get("nu", self.nu)
        return d("u", "t") + d("u") * d("u", "x") - nu * d("u", "x", "x")


@keras.saving.register_keras_serializable(package="keras_pinn")
class HelmholtzResidual(_ResidualBase):
    """``u_xx + u_yy + k^2 u - q(x, y)`` with the source of the exact
    solution ``sin(a1 pi x) sin(a2 pi y)``."""

    _config_keys = ("k", "a1", "a2")

    def __init__(self, k: float = 1.0, a1: float = 1.0, a2: float = 4.0):
        self.k, self.a1, self.a2 = float(k), float(a1), float(a2)

    def __call__(self, d):
        x, y = d.coord("x"), d.coord("y")
        q = (self.k**2 - (self.a1 * np.pi) ** 2 - (self.a2 * np.pi) ** 2) * (
            ops.sin(self.a1 * np.pi * x) * ops.sin(self.a2 * np.pi * y)
        )
        return d.laplacian("u", ("x", "y")) + self.k**2 * d("u") - q


@keras.saving.register_keras_serializable(package="keras_pinn")
class HeatResidual(_ResidualBase):
    """``u_t - alpha u_xx``."""

    _config_keys = ("alpha",)

    def __init__(self, alpha: float = 0.1):
        if not alpha > 0:
            raise ValueError(f"`alpha` must be positive. Received: alpha={alpha!r}")
        self.alpha = float(alpha)

    def __call__(self, d):
        return d("u", "t") - self.alpha * d("u", "x", "x")


@keras.saving.register_keras_serializable(package="keras_pinn")
class BuckleyLeverettResidual(_ResidualBase):
    """``S_t + f'(S) S_x - eps S_xx`` with ``f(S) = S^2 / (S^2 + (1-S)^2 / M)``.

    ``eps > 0`` adds artificial diffusion (Fuks & Tchelepi 2020), which
    smooths the shock so a PINN can place it. ``flux="welge"`` replaces ``f``
    on ``[0, s*]`` by the tangent from the origin (Welge's convex hull; Diab
    & Al Kobaisi 2021, arXiv:2112.14826): ``f'(S)`` becomes the shock speed
    ``sigma`` below ``s*`` (see
    :func:`keras_pinn.problems.reference.buckley_leverett_hull_flux`).

    ``diffusion_scale`` (attribute, not part of the config): None, or a
    callable returning a scalar tensor ``a`` read on every evaluation; the
    diffusion term is then ``a * eps * S_xx`` (a schedule that lets the
    diffusion vanish during training; ``a`` must be a variable the trained
    model tracks, so that compiled training steps see its changes).
    """

    _config_keys = ("m", "diffusion", "flux")
    diffusion_scale = None

    def __init__(self, m: float = 2.0, diffusion: float = 0.0, flux: str = "plain"):
        if not m > 0:
            raise ValueError(f"`m` must be positive. Received: m={m!r}")
        if not diffusion >= 0:
            raise ValueError(f"`diffusion` must be >= 0. Received: diffusion={diffusion!r}")
        if flux not in ("plain", "welge"):
            raise ValueError(f"`flux` must be 'plain' or 'welge'. Received: flux={flux!r}")
        self.m, self.diffusion, self.flux = float(m), float(diffusion), flux
        self.s_shock, self.shock_speed = ref.buckley_leverett_shock(self.m)

    def __call__(self, d):
        s = d("u")
        denom = ops.square(s) + ops.square(1.0 - s) / self.m
        flux_prime = 2.0 * s * (1.0 - s) / self.m / ops.square(denom)
        if self.flux == "welge":
            flux_prime = ops.where(s < self.s_shock, self.shock_speed * ops.ones_like(s), flux_prime)
        r = d("u", "t") + flux_prime * d("u", "x")
        if self.diffusion > 0:
            eps = self.diffusion if self.diffusion_scale is None else self.diffusion * self.diffusion_scale()
            r = r - eps * d("u", "x", "x")
        return r


def burgers(nu: float = 0.01 / np.pi) -> Problem:
    """Viscous Burgers on ``x in [-1, 1], t in [0, 1]``, ``u(x, 0) = -sin(pi x)``,
    ``u(+-1, t) = 0``; reference by the Cole-Hopf integral (Raissi et al. 2019)."""
    domain = SpaceTime(Interval(-1.0, 1.0, "x"), 0.0, 1.0)

    def conditions(n):
        return [
            InitialCondition(_initial_burgers, n_points=n, name="ic"),
            DirichletBC(0.0, n_points=n, name="bc"),
        ]

    return Problem(
        "burgers",
        domain,
        BurgersResidual(nu),
        conditions,
        lambda p: _col(ref.burgers_solution(p[:, 0], p[:, 1], nu=nu)),
        order=2,
        grid_shape=(256, 100),
        description=f"Burgers, nu = {nu:.5g}, shock at x = 0",
    )


@keras.saving.register_keras_serializable(package="keras_pinn")
def _initial_burgers(points):
    return -np.sin(np.pi * points[:, 0])


def helmholtz(k: float = 1.0, a1: float = 1.0, a2: float = 4.0) -> Problem:
    """Helmholtz on ``[-1, 1]^2``, exact ``u = sin(a1 pi x) sin(a2 pi y)``,
    ``u = 0`` on the boundary (Bischof & Kraus 2021)."""
    domain = Box([-1.0, -1.0], [1.0, 1.0], names=("x", "y"))

    def conditions(n):
        return [DirichletBC(0.0, n_points=n, name="bc")]

    return Problem(
        "helmholtz",
        domain,
        HelmholtzResidual(k, a1, a2),
        conditions,
        lambda p: _col(ref.helmholtz_solution(p[:, 0], p[:, 1], a1=a1, a2=a2)),
        order=2,
        grid_shape=(101, 101),
        description=f"Helmholtz 2D, k = {k:g}, u = sin({a1:g} pi x) sin({a2:g} pi y)",
    )


def heat(alpha: float = 0.1) -> Problem:
    """1D heat on ``x in [0, 1], t in [0, 1]``, ``u(x, 0) = sin(pi x)``,
    ``u(0, t) = u(1, t) = 0``."""
    domain = SpaceTime(Interval(0.0, 1.0, "x"), 0.0, 1.0)

    def conditions(n):
        return [
            InitialCondition(_initial_heat, n_points=n, name="ic"),
            DirichletBC(0.0, n_points=n, name="bc"),
        ]

    return Problem(
        "heat",
        domain,
        HeatResidual(alpha),
        conditions,
        lambda p: _col(ref.heat_solution(p[:, 0], p[:, 1], alpha=alpha)),
        order=2,
        grid_shape=(101, 101),
        description=f"heat, alpha = {alpha:g}",
    )


@keras.saving.register_keras_serializable(package="keras_pinn")
def _initial_heat(points):
    return np.sin(np.pi * points[:, 0])


def buckley_leverett(
    m: float = 2.0, diffusion: float = 0.0, t1: float = 1.0, flux: str = "plain", length: float = 1.5
) -> Problem:
    """Buckley-Leverett ``S_t + f(S)_x = 0`` on ``x in [0, length], t in [0, t1]``,
    ``S(x, 0) = 0``, ``S(0, t) = 1``; exact solution by Welge's tangent
    construction (shock saturation ``sqrt(1 / (1 + M))``, speed
    ``(1 + sqrt(1 + M)) / 2``: 1.366 for M = 2, so with the default
    ``length = 1.5`` the front stays inside the domain up to ``t = 1``).

    Args:
        m: mobility ratio.
        diffusion: artificial diffusion ``eps`` of the residual (the
            reference stays the inviscid solution).
        t1: final time.
        flux: ``"plain"`` (the fractional flow ``f``) or ``"welge"`` (its
            convex hull below the shock saturation).
        length: right end of the domain.
    """
    domain = SpaceTime(Interval(0.0, float(length), "x"), 0.0, t1)

    def conditions(n):
        return [
            InitialCondition(0.0, n_points=n, name="ic"),
            DirichletBC(1.0, faces=["x_min"], n_points=n, name="bc"),
        ]

    return Problem(
        "buckley_leverett",
        domain,
        BuckleyLeverettResidual(m, diffusion, flux),
        conditions,
        lambda p: _col(ref.buckley_leverett_solution(p[:, 0], p[:, 1], m=m)),
        order=2 if diffusion > 0 else 1,
        grid_shape=(301, 101),
        description=f"Buckley-Leverett, M = {m:g}, x in [0, {length:g}], {flux} flux, diffusion = {diffusion:g}",
        parameters={
            "m": float(m),
            "diffusion": float(diffusion),
            "flux": flux,
            "length": float(length),
            "t1": float(t1),
        },
    )


def heat_units(alpha: float = 100.0, length: float = 100.0, t1: float = 10.0) -> Problem:
    """The heat problem in physical units: ``u_t = alpha u_xx`` on
    ``x in [0, length], t in [0, t1]``, ``u(x, 0) = sin(pi x / length)``,
    ``u(0, t) = u(length, t) = 0``.

    With the defaults it is :func:`heat` (``alpha = 0.1`` on the unit square)
    rescaled by ``x = 100 x'``, ``t = 10 t'``: the same solution, on a domain
    far from ``[-1, 1]``, where scaling the inputs (``DomainScaler``) can
    matter at all.
    """
    domain = SpaceTime(Interval(0.0, float(length), "x"), 0.0, float(t1))

    def conditions(n):
        return [
            InitialCondition(_HeatUnitsInitial(float(length)), n_points=n, name="ic"),
            DirichletBC(0.0, n_points=n, name="bc"),
        ]

    return Problem(
        "heat_units",
        domain,
        HeatResidual(alpha),
        conditions,
        lambda p: _col(ref.heat_solution(p[:, 0], p[:, 1], alpha=alpha, length=length)),
        order=2,
        grid_shape=(101, 101),
        description=f"heat in physical units, x in [0, {length:g}], t in [0, {t1:g}], alpha = {alpha:g}",
        parameters={"alpha": float(alpha), "length": float(length), "t1": float(t1)},
    )


@keras.saving.register_keras_serializable(package="keras_pinn")
class _HeatUnitsInitial:
    """``sin(pi x / length)``, serializable."""

    def __init__(self, length: float = 100.0):
        self.length = float(length)

    def __call__(self, points):
        return np.sin(np.pi * points[:, 0] / self.length)

    def get_config(self):
        return {"length": self.length}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


PROBLEMS: dict[str, Callable[..., Problem]] = {
    "burgers": burgers,
    "helmholtz": helmholtz,
    "heat": heat,
    "heat_units": heat_units,
    "buckley_leverett": buckley_leverett,
}
