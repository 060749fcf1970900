"""The accuracy recipe on a time-dependent problem: the 1D wave equation
``u_tt = 4 u_xx`` on ``x, t in [0, 1]`` with the exact solution
``u = sin(pi x) cos(2 pi t) + 0.5 sin(4 pi x) cos(8 pi t)`` (Wang, Yu &
Perdikaris 2022), ``u = 0`` at ``x = 0, 1``, ``u`` and ``u_t`` given at
``t = 0``.

The recipe: random Fourier features with a smaller temporal scale in front
of a modified MLP (``kp.recipe.network``), causal weighting of the residual
over time, gradient-norm loss balancing, then Adam followed by L-BFGS in one
call (``model.fit_recipe``), optionally within a wall-clock budget.

    KERAS_BACKEND=jax python examples/recipe_wave.py --time-limit 600
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_pinn as kp  # noqa: E402


def exact(p):
    x, t = p[:, :1], p[:, 1:2]
    return np.sin(np.pi * x) * np.cos(2 * np.pi * t) + 0.5 * np.sin(4 * np.pi * x) * np.cos(8 * np.pi * t)


def wave(d):
    return d("u", "t", "t") - 4.0 * d("u", "x", "x")


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--adam-steps", type=int, default=20_000)
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

    domain = kp.SpaceTime(kp.Interval(0.0, 1.0, "x"), 0.0, 1.0)
    net = kp.recipe.network(
        domain, width=args.width, depth=4, fourier_features=32, scale=2.0, time_scale=1.0, seed=args.seed
    )
    model = kp.PINNModel(
        net,
        domain,
        wave,
        conditions=[
            kp.InitialCondition(exact, n_points=512),
            kp.InitialDerivative(0.0, n_points=512),
            kp.DirichletBC(0.0, n_points=512),
        ],
        n_collocation=args.collocation,
        seed=args.seed,
        loss_balancing="gradnorm",
        point_weighting=kp.weighting.CausalWeighting(chunks=16),
    )
    result = model.fit_recipe(
        adam_steps=args.adam_steps,
        lbfgs_steps=args.lbfgs_steps,
        time_limit=args.time_limit,
        steps_per_epoch=min(500, args.adam_steps),
    )
    points = domain.grid((101, 101))
    u = model.predict(points, verbose=0)
    error = float(np.linalg.norm(u - exact(points)) / np.linalg.norm(exact(points)))
    seconds = result["seconds"]
    print(
        f"backend={keras.backend.backend()} adam {seconds['adam']:.0f} s, L-BFGS {seconds['lbfgs']:.0f} s, "
        f"weights {model.loss_weights()}, relative_l2={error:.3e}"
    )
    return error


if __name__ == "__main__":
    main()
