"""The accuracy suite's problems: PDE, conditions, reference solution and
the source of each setup. Shared by benchmarks/suite.py (keras-pinn) and,
for the reference solutions, by benchmarks/suite_deepxde.py (through the
.npz files suite.py writes).

Every reference is exact or computed here (Allen-Cahn: Fourier spectral
ETDRK4; Burgers: the Cole-Hopf integral of keras_pinn.problems).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

PI = math.pi


@dataclass
class Spec:
    name: str
    source: str  # where the setup comes from
    description: str
    lower: tuple
    upper: tuple
    names: tuple  # coordinate names; a time-dependent problem ends with "t"
    time_dependent: bool
    grid: tuple  # reference grid, points per coordinate
    periodic: dict = field(default_factory=dict)  # {coordinate: period}
    n_collocation: int = 4096
    n_condition: int = 512
    fourier_scale: float = 1.0

    def grid_points(self):
        axes = [np.linspace(lo, hi, n) for lo, hi, n in zip(self.lower, self.upper, self.grid)]
        mesh = np.meshgrid(*axes, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=1)


SPECS = {
    "poisson2d": Spec(
        "poisson2d",
        "manufactured solution; the Poisson problems of PINNacle (Hao et al. 2023) and DeepXDE's "
        "Poisson Dirichlet example",
        "-lap u = 2 pi^2 sin(pi x) sin(pi y) on [-1, 1]^2, u = 0 on the boundary",
        (-1.0, -1.0),
        (1.0, 1.0),
        ("x", "y"),
        False,
        (101, 101),
    ),
    "poisson3d": Spec(
        "poisson3d",
        "manufactured solution; PINNacle's Poisson 3D family (Hao et al. 2023), the 3D Poisson of issue #19",
        "-lap u = 3 pi^2 sin(pi x) sin(pi y) sin(pi z) on [0, 1]^3, u = 0 on the boundary",
        (0.0, 0.0, 0.0),
        (1.0, 1.0, 1.0),
        ("x", "y", "z"),
        False,
        (21, 21, 21),
        n_collocation=4096,
    ),
    "helmholtz": Spec(
        "helmholtz",
        "Wang, Teng & Perdikaris (2021), SIAM J. Sci. Comput. 43(5) (a1 = 1, a2 = 4, k = 1); "
        "also Bischof & Kraus (2021)",
        "lap u + u = q, exact u = sin(pi x) sin(4 pi y) on [-1, 1]^2",
        (-1.0, -1.0),
        (1.0, 1.0),
        ("x", "y"),
        False,
        (101, 101),
        fourier_scale=2.0,
    ),
    "heat": Spec(
        "heat",
        "keras_pinn.problems.heat (1D heat, exact Fourier solution); PINNacle's heat family",
        "u_t = 0.1 u_xx on [0, 1] x [0, 1], u(x, 0) = sin(pi x), u = 0 at x = 0, 1",
        (0.0, 0.0),
        (1.0, 1.0),
        ("x", "t"),
        True,
        (101, 101),
    ),
    "wave": Spec(
        "wave",
        "Wang, Yu & Perdikaris (2022), J. Comput. Phys. 449, 110768 (the NTK paper's 1D wave, c = 2)",
        "u_tt = 4 u_xx on [0, 1] x [0, 1], exact u = sin(pi x) cos(2 pi t) + 0.5 sin(4 pi x) cos(8 pi t)",
        (0.0, 0.0),
        (1.0, 1.0),
        ("x", "t"),
        True,
        (101, 101),
        fourier_scale=2.0,
    ),
    "burgers": Spec(
        "burgers",
        "Raissi, Perdikaris & Karniadakis (2019); jaxpi's Burgers; reference by Cole-Hopf",
        "u_t + u u_x = (0.01 / pi) u_xx on [-1, 1] x [0, 1], u(x, 0) = -sin(pi x), u(+-1, t) = 0",
        (-1.0, 0.0),
        (1.0, 1.0),
        ("x", "t"),
        True,
        (256, 100),
    ),
    "allen_cahn": Spec(
        "allen_cahn",
        "Raissi et al. (2019); jaxpi's Allen-Cahn (Wang, Sankaran & Perdikaris 2022); reference by "
        "Fourier spectral ETDRK4 (Kassam & Trefethen 2005), 512 modes, dt = 1e-4",
        "u_t = 1e-4 u_xx + 5 u - 5 u^3 on [-1, 1] x [0, 1], u(x, 0) = x^2 cos(pi x), periodic in x",
        (-1.0, 0.0),
        (1.0, 1.0),
        ("x", "t"),
        True,
        (256, 101),
        periodic={"x": 2.0},
    ),
    "klein_gordon": Spec(
        "klein_gordon",
        "Wang, Teng & Perdikaris (2021), SIAM J. Sci. Comput. 43(5) (nonlinear Klein-Gordon, "
        "alpha = -1, beta = 0, gamma = 1, k = 3)",
        "u_tt - u_xx + u^3 = f on [0, 1] x [0, 1], exact u = x cos(5 pi t) + (x t)^3",
        (0.0, 0.0),
        (1.0, 1.0),
        ("x", "t"),
        True,
        (101, 101),
    ),
}


# -- exact solutions (NumPy, points (n, d)) -----------------------------------------
def exact(name, p):
    x = p[:, 0]
    if name == "poisson2d":
        return np.sin(PI * x) * np.sin(PI * p[:, 1])
    if name == "poisson3d":
        return np.sin(PI * x) * np.sin(PI * p[:, 1]) * np.sin(PI * p[:, 2])
    if name == "helmholtz":
        return np.sin(PI * x) * np.sin(4 * PI * p[:, 1])
    t = p[:, -1]
    if name == "heat":
        return np.exp(-0.1 * PI**2 * t) * np.sin(PI * x)
    if name == "wave":
        return np.sin(PI * x) * np.cos(2 * PI * t) + 0.5 * np.sin(4 * PI * x) * np.cos(8 * PI * t)
    if name == "klein_gordon":
        return x * np.cos(5 * PI * t) + (x * t) ** 3
    if name == "burgers":
        from keras_pinn.problems import burgers_solution

        return np.asarray(burgers_solution(x, t, nu=0.01 / PI)).reshape(-1)
    if name == "allen_cahn":
        raise ValueError("allen_cahn has no closed form: use reference()")
    raise ValueError(f"unknown problem {name!r}")


def allen_cahn_reference(n_modes=512, dt=1e-4, t_out=None):
    """``(x, t, u[x, t])`` of Allen-Cahn by Fourier spectral ETDRK4
    (Kassam & Trefethen 2005): ``u_t = L u + N(u)``, ``L = -1e-4 k^2 + 5``,
    ``N(u) = -5 u^3``, on the periodic grid ``x_j = -1 + 2 j / n``."""
    t_out = np.linspace(0.0, 1.0, 101) if t_out is None else t_out
    x = -1.0 + 2.0 * np.arange(n_modes) / n_modes
    u = x**2 * np.cos(PI * x)
    k = PI * np.fft.fftfreq(n_modes, d=1.0 / n_modes)
    lin = -1e-4 * k**2 + 5.0
    e, e2 = np.exp(dt * lin), np.exp(dt * lin / 2)
    m = 32
    r = np.exp(1j * PI * (np.arange(1, m + 1) - 0.5) / m)
    lr = dt * lin[:, None] + r[None, :]
    q = dt * np.real(np.mean((np.exp(lr / 2) - 1) / lr, axis=1))
    f1 = dt * np.real(np.mean((-4 - lr + np.exp(lr) * (4 - 3 * lr + lr**2)) / lr**3, axis=1))
    f2 = dt * np.real(np.mean((2 + lr + np.exp(lr) * (-2 + lr)) / lr**3, axis=1))
    f3 = dt * np.real(np.mean((-4 - 3 * lr - lr**2 + np.exp(lr) * (4 - lr)) / lr**3, axis=1))

    def nonlinear(v_hat):
        w = np.real(np.fft.ifft(v_hat))
        return np.fft.fft(-5.0 * w**3)

    v = np.fft.fft(u)
    steps = int(round(t_out[-1] / dt))
    keep = {int(round(t / dt)): i for i, t in enumerate(t_out)}
    out = np.zeros((n_modes, len(t_out)))
    out[:, keep.get(0, 0)] = u
    for n in range(1, steps + 1):
        nv = nonlinear(v)
        a = e2 * v + q * nv
        na = nonlinear(a)
        b = e2 * v + q * na
        nb = nonlinear(b)
        c = e2 * a + q * (2 * nb - nv)
        nc = nonlinear(c)
        v = e * v + nv * f1 + 2 * (na + nb) * f2 + nc * f3
        if n in keep:
            out[:, keep[n]] = np.real(np.fft.ifft(v))
    return x, t_out, out


def reference(name):
    """``(points (n, d), values (n,))`` on the problem's reference grid."""
    spec = SPECS[name]
    if name == "allen_cahn":
        x, t, u = allen_cahn_reference(t_out=np.linspace(0.0, 1.0, spec.grid[1]))
        xs = x[:: 512 // spec.grid[0]]
        mesh_x, mesh_t = np.meshgrid(xs, t, indexing="ij")
        return np.stack([mesh_x.ravel(), mesh_t.ravel()], 1), u[:: 512 // spec.grid[0]].ravel()
    p = spec.grid_points()
    return p, exact(name, p)


# -- the PDEs in keras.ops, for keras-pinn ------------------------------------------------
def pde(name):
    from keras import ops

    if name == "poisson2d":
        return lambda d: d.laplacian("u") + 2 * PI**2 * ops.sin(PI * d.coord("x")) * ops.sin(PI * d.coord("y"))
    if name == "poisson3d":
        return lambda d: (
            d.laplacian("u")
            + 3 * PI**2 * (ops.sin(PI * d.coord("x")) * ops.sin(PI * d.coord("y")) * ops.sin(PI * d.coord("z")))
        )
    if name == "helmholtz":

        def helmholtz(d):
            x, y = d.coord("x"), d.coord("y")
            u_exact = ops.sin(PI * x) * ops.sin(4 * PI * y)
            q = (1.0 - PI**2 - (4 * PI) ** 2) * u_exact
            return d.laplacian("u") + d("u") - q

        return helmholtz
    if name == "heat":
        return lambda d: d("u", "t") - 0.1 * d("u", "x", "x")
    if name == "wave":
        return lambda d: d("u", "t", "t") - 4.0 * d("u", "x", "x")
    if name == "burgers":
        return lambda d: d("u", "t") + d("u") * d("u", "x") - (0.01 / PI) * d("u", "x", "x")
    if name == "allen_cahn":
        return lambda d: d("u", "t") - 1e-4 * d("u", "x", "x") - 5.0 * d("u") + 5.0 * d("u") ** 3
    if name == "klein_gordon":

        def klein_gordon(d):
            x, t = d.coord("x"), d.coord("t")
            u_exact = x * ops.cos(5 * PI * t) + (x * t) ** 3
            f = -25 * PI**2 * x * ops.cos(5 * PI * t) + 6 * x**3 * t - 6 * x * t**3 + u_exact**3
            return d("u", "t", "t") - d("u", "x", "x") + d("u") ** 3 - f

        return klein_gordon
    raise ValueError(f"unknown problem {name!r}")


def conditions(name, n, periodic_in_network=False):
    """keras-pinn conditions; with ``periodic_in_network`` the periodic
    boundary is left to the network's PeriodicEmbedding."""
    import keras_pinn as kp

    def exact_of(p):
        return exact(name, p)[:, None]

    if name in ("poisson2d", "poisson3d", "helmholtz"):
        return [kp.DirichletBC(0.0, n_points=n, name="bc")]
    if name == "heat":
        return [kp.InitialCondition(exact_of, n_points=n, name="ic"), kp.DirichletBC(0.0, n_points=n, name="bc")]
    if name == "burgers":
        return [
            kp.InitialCondition(lambda p: -np.sin(PI * p[:, :1]), n_points=n, name="ic"),
            kp.DirichletBC(0.0, n_points=n, name="bc"),
        ]
    if name == "wave":
        return [
            kp.InitialCondition(exact_of, n_points=n, name="ic"),
            kp.InitialDerivative(0.0, n_points=n, name="ic_t"),
            kp.DirichletBC(0.0, n_points=n, name="bc"),
        ]
    if name == "klein_gordon":
        return [
            kp.InitialCondition(exact_of, n_points=n, name="ic"),
            kp.InitialDerivative(0.0, n_points=n, name="ic_t"),
            kp.DirichletBC(exact_of, n_points=n, name="bc"),
        ]
    if name == "allen_cahn":
        out = [kp.InitialCondition(lambda p: p[:, :1] ** 2 * np.cos(PI * p[:, :1]), n_points=n, name="ic")]
        if not periodic_in_network:
            out.append(kp.PeriodicBC("x", derivative_order=1, n_points=n, name="periodic"))
        return out
    raise ValueError(f"unknown problem {name!r}")
