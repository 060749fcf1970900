"""Inverse Burgers: identify the viscosity nu from noisy observations.

Raissi et al. (2019), section 4.1.1: observations of the Cole-Hopf solution
(true nu = 0.01/pi) at random points of [-1, 1] x [0, 1] with Gaussian noise
of 1% of the data's standard deviation; no initial or boundary conditions.
The PINN fits the data while u_t + u u_x - nu u_xx = 0 holds at collocation
points, with nu = exp(log_nu) and log_nu a trainable parameter (as in
Raissi's code: nu spans orders of magnitude, its logarithm is better scaled
for the optimisers), Adam then L-BFGS. Prints nu's relative error; History
holds log_nu per epoch.

    KERAS_BACKEND=jax python examples/burgers_inverse.py
"""

import argparse
import json
import time

import keras
import numpy as np

import keras_pinn as kp
from keras_pinn.problems import burgers, burgers_solution

TRUE_NU = 0.01 / np.pi


@keras.saving.register_keras_serializable(package="keras_pinn_examples")
def burgers_log_nu(d):
    nu = keras.ops.exp(d.params["log_nu"])
    return d("u", "t") + d("u") * d("u", "x") - nu * d("u", "x", "x")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=2000, help="observed points (default 2000)")
    parser.add_argument("--noise", type=float, default=0.01, help="noise, a fraction of the data's std (0.01)")
    parser.add_argument("--collocation", type=int, default=2000, help="collocation points (default 2000)")
    parser.add_argument("--steps", type=int, default=2000, help="Adam steps (default 2000)")
    parser.add_argument("--lbfgs", type=int, default=3000, help="L-BFGS iterations (default 3000)")
    parser.add_argument("--nu0", type=float, default=0.01, help="initial guess of nu (default 0.01)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--float64", action="store_true", help="train in float64 (kp.set_precision)")
    parser.add_argument("--json", default=None, help="write the result to this JSON file")
    args = parser.parse_args(argv)

    if args.float64:
        kp.set_precision("float64")
    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    domain = burgers().domain
    points = domain.sample_interior(args.observations, "lhs", rng)
    u = burgers_solution(points[:, 0], points[:, 1], nu=TRUE_NU)
    u_noisy = u + args.noise * np.std(u) * rng.standard_normal(u.shape)

    layers = [keras.Input((2,)), kp.layers.DomainScaler(domain)]
    layers += [keras.layers.Dense(20, "tanh") for _ in range(8)] + [keras.layers.Dense(1)]
    model = kp.PINNModel(
        keras.Sequential(layers),
        domain,
        burgers_log_nu,
        conditions=[kp.PointData(points, u_noisy, name="data")],
        n_collocation=args.collocation,
        parameters={"log_nu": float(np.log(args.nu0))},
        seed=args.seed,
    )
    model.compile(keras.optimizers.Adam(1e-3))
    start = time.perf_counter()
    adam = model.fit(epochs=max(1, args.steps // 500), steps_per_epoch=min(args.steps, 500), verbose=2)
    lbfgs = None
    if args.lbfgs:
        lbfgs = model.fit_lbfgs(epochs=max(1, args.lbfgs // 500), steps_per_epoch=min(args.lbfgs, 500), verbose=2)
    wall = time.perf_counter() - start
    nu = float(np.exp(keras.ops.convert_to_numpy(model.pde_parameters["log_nu"])))
    error = abs(nu - TRUE_NU) / TRUE_NU
    trajectory = [float(np.exp(v)) for v in adam.history["log_nu"] + (lbfgs.history["log_nu"] if lbfgs else [])]
    result = {
        "backend": keras.backend.backend(),
        "true_nu": TRUE_NU,
        "nu": nu,
        "relative_error": error,
        "noise": args.noise,
        "floatx": keras.config.floatx(),
        "observations": args.observations,
        "adam_steps": args.steps,
        "lbfgs_iterations": lbfgs.lbfgs["iterations"] if lbfgs else 0,
        "wall_s": wall,
        "nu_per_epoch": trajectory,
    }
    print(
        f"backend={result['backend']} nu={nu:.6g} true={TRUE_NU:.6g} relative_error={error:.2%} "
        f"floatx={keras.config.floatx()} adam_steps={args.steps} "
        f"lbfgs_iterations={result['lbfgs_iterations']} wall_s={wall:.0f}"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    main()
