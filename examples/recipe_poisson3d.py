"""The accuracy recipe on a steady problem: Poisson in 3D,
``-lap u = 3 pi^2 sin(pi x) sin(pi y) sin(pi z)`` on the unit cube with
``u = 0`` on its boundary; the exact solution is
``u = sin(pi x) sin(pi y) sin(pi z)``.

The recipe: random Fourier features in front of a modified MLP
(``kp.recipe.network``), gradient-norm loss balancing, then Adam followed
by L-BFGS in one call (``model.fit_recipe``), optionally within a
wall-clock budget.

    KERAS_BACKEND=jax python examples/recipe_poisson3d.py --time-limit 300
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

import keras_pinn as kp  # noqa: E402


def exact(p):
    return np.prod(np.sin(np.pi * p), axis=1, keepdims=True)


def poisson(d):
    source = ops.sin(np.pi * d.coord("x")) * ops.sin(np.pi * d.coord("y")) * ops.sin(np.pi * d.coord("z"))
    return d.laplacian("u") + 3 * np.pi**2 * source


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--adam-steps", type=int, default=10_000)
    parser.add_argument("--lbfgs-steps", type=int, default=5_000)
    parser.add_argument("--time-limit", type=float, default=None, help="wall-clock budget in seconds")
    parser.add_argument("--collocation", type=int, default=4096)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for name in ("adam_steps", "collocation", "width"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    keras.utils.set_random_seed(args.seed)

    domain = kp.Box([0.0, 0.0, 0.0], [1.0, 1.0, 1.0], names=("x", "y", "z"))
    net = kp.recipe.network(domain, width=args.width, depth=4, fourier_features=32, scale=1.0, seed=args.seed)
    model = kp.PINNModel(
        net,
        domain,
        poisson,
        conditions=[kp.DirichletBC(0.0, n_points=1024)],
        n_collocation=args.collocation,
        seed=args.seed,
        loss_balancing="gradnorm",
    )
    result = model.fit_recipe(
        adam_steps=args.adam_steps,
        lbfgs_steps=args.lbfgs_steps,
        time_limit=args.time_limit,
        steps_per_epoch=min(500, args.adam_steps),
    )
    points = domain.grid((21, 21, 21))
    u = model.predict(points, verbose=0)
    error = float(np.linalg.norm(u - exact(points)) / np.linalg.norm(exact(points)))
    seconds = result["seconds"]
    print(
        f"backend={keras.backend.backend()} adam {seconds['adam']:.0f} s, L-BFGS {seconds['lbfgs']:.0f} s, "
        f"relative_l2={error:.3e}"
    )
    return error


if __name__ == "__main__":
    main()
