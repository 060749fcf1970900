"""Poisson on a plate with a hole, against a manufactured exact solution.

    -laplace(u) = f  on  [-1, 1]^2 minus the disk |x - (0.3, 0.2)| < 0.35,
    u = 0                          on the plate's edges (Dirichlet),
    u + du/dn = g                  on the hole (Robin, n the outward normal,
                                   which points into the hole),

with u(x, y) = sin(pi x) sin(pi y), f = 2 pi^2 u and g computed from u, so the
error is exact. The domain is built by constructive solid geometry
(``Rectangle - Disk``); the Robin condition uses the hole's curved normals.
Adam, then optionally full-batch L-BFGS; prints the relative L2 and max
errors on the grid points inside the domain and, with ``--plots DIR``, saves
the points (with boundary normals) and the solution and error over the domain.

    KERAS_BACKEND=jax python examples/poisson_plate_hole.py --steps 3000 --lbfgs 2000 --plots docs/geometry
"""

import argparse
import time

import keras
import numpy as np
from keras import ops

import keras_pinn as kp

HOLE_CENTER = np.array([0.3, 0.2])
HOLE_RADIUS = 0.35


def exact(points):
    x, y = points[:, 0], points[:, 1]
    return np.sin(np.pi * x) * np.sin(np.pi * y)


def robin_target(points):
    """u + du/dn on the hole, with n pointing into the hole (out of the plate)."""
    x, y = points[:, 0], points[:, 1]
    grad = np.pi * np.stack([np.cos(np.pi * x) * np.sin(np.pi * y), np.sin(np.pi * x) * np.cos(np.pi * y)], 1)
    normal = -(points - HOLE_CENTER) / np.linalg.norm(points - HOLE_CENTER, axis=1, keepdims=True)
    return exact(points) + np.sum(grad * normal, axis=1)


def poisson(d):
    x, y = d.coord("x"), d.coord("y")
    f = 2.0 * np.pi**2 * ops.sin(np.pi * x) * ops.sin(np.pi * y)
    return d.laplacian("u") + f


def build(seed=0, collocation=2000, boundary=400, width=32, depth=4):
    plate = kp.Rectangle([-1.0, -1.0], [1.0, 1.0], name="plate")
    hole = kp.Disk(HOLE_CENTER, HOLE_RADIUS, name="hole")
    domain = plate - hole
    net = keras.Sequential(
        [
            keras.Input((2,)),
            kp.layers.DomainScaler(domain),
            kp.layers.MLP([width] * depth, outputs=1, activation="tanh"),
        ]
    )
    conditions = [
        kp.DirichletBC(0.0, faces="plate", n_points=boundary, sampler="lhs"),
        kp.RobinBC(alpha=1.0, beta=1.0, value=robin_target, faces="hole", n_points=boundary // 2, sampler="lhs"),
    ]
    return kp.PINNModel(net, domain, poisson, conditions=conditions, n_collocation=collocation, seed=seed)


def errors(model, n=201):
    points = model.domain.grid((n, n)).astype("float64")
    points = points[model.domain.inside(points)]
    u = model.predict(points.astype(keras.config.floatx()), verbose=0, batch_size=8192)[:, 0].astype("float64")
    ref = exact(points)
    return float(np.linalg.norm(u - ref) / np.linalg.norm(ref)), float(np.max(np.abs(u - ref))), points, u, ref


def plot(model, directory):
    import pathlib

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.tri import Triangulation

    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    domain = model.domain
    interior = domain.sample_interior(1500, "sobol", seed=1)
    boundary, normals = domain.sample_boundary(120, method="lhs", seed=1, return_normals=True)
    hole = np.isin(domain.boundary_labels(boundary), ["hole"])
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(interior[:, 0], interior[:, 1], s=2, c="0.6", label="interior (Sobol)")
    ax.quiver(
        *boundary[~hole].T, *normals[~hole].T, color="tab:blue", scale=18, width=0.004, label="plate: outward normals"
    )
    ax.quiver(
        *boundary[hole].T, *normals[hole].T, color="tab:red", scale=18, width=0.004, label="hole: outward normals"
    )
    ax.set_aspect("equal")
    ax.set_xlim(-1.25, 1.25)
    ax.set_ylim(-1.25, 1.25)
    ax.legend(loc="upper left", fontsize=7, framealpha=0.9)
    ax.set_title("Rectangle - Disk: points and normals")
    fig.tight_layout()
    fig.savefig(directory / "poisson_points.png", dpi=80)
    plt.close(fig)

    _, _, points, u, ref = errors(model, n=121)
    tri = Triangulation(points[:, 0], points[:, 1])
    centroids = points[tri.triangles].mean(axis=1)
    tri.set_mask(~domain.inside(centroids))
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, values, title in ((axes[0], u, "PINN u"), (axes[1], np.abs(u - ref), "|u - exact|")):
        im = ax.tricontourf(tri, values, levels=30, cmap="viridis")
        fig.colorbar(im, ax=ax, shrink=0.85)
        ax.set_aspect("equal")
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(directory / "poisson_solution.png", dpi=80)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000, help="Adam steps (default 3000)")
    parser.add_argument("--lbfgs", type=int, default=0, help="L-BFGS iterations after Adam (default 0)")
    parser.add_argument("--collocation", type=int, default=2000)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plots", default=None, help="directory for the PNG figures")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps must be >= 1, got {args.steps}")
    keras.utils.set_random_seed(args.seed)
    model = build(seed=args.seed, collocation=args.collocation)
    schedule = keras.optimizers.schedules.ExponentialDecay(args.lr, decay_steps=args.steps, decay_rate=0.1)
    model.compile(optimizer=keras.optimizers.Adam(schedule))
    per_epoch = min(args.steps, 500)
    start = time.perf_counter()
    model.fit(epochs=max(1, args.steps // per_epoch), steps_per_epoch=per_epoch, verbose=2)
    if args.lbfgs:
        model.fit_lbfgs(epochs=1, steps_per_epoch=args.lbfgs, verbose=2)
    wall = time.perf_counter() - start
    rel, worst, *_ = errors(model)
    print(
        f"backend={keras.backend.backend()} adam_steps={args.steps} lbfgs={args.lbfgs} "
        f"relative_l2={rel:.3e} max_abs_error={worst:.3e} wall_s={wall:.0f}"
    )
    if args.plots:
        plot(model, args.plots)
    return rel


if __name__ == "__main__":
    main()
