"""DeepXDE on the accuracy suite's problems, with DeepXDE's documented
setup: ``FNN([d] + [50] * 4 + [1], "tanh", "Glorot normal")``, Adam with
learning rate 1e-3, then L-BFGS (as in DeepXDE's examples), within the same
wall-clock budget as the other methods (Adam 70 %, L-BFGS the rest).

Run by benchmarks/suite.py with the Python of an environment that has
DeepXDE (kept apart from the project's), the backend from ``DDE_BACKEND``;
or by hand:

    DDE_BACKEND=tensorflow <deepxde-venv>/bin/python benchmarks/suite_deepxde.py \
        --problem heat --seed 0 --budget 600 --reference <out>/references/heat.npz --output heat.json

The reference solution comes from the .npz file suite.py wrote (so this
script needs only DeepXDE and NumPy). Adam trains in chunks of 200
iterations and L-BFGS in chunks of 200 iterations (each chunk a new
``model.compile("L-BFGS")``, so the L-BFGS memory restarts every chunk);
the error is measured between chunks.

Not yet run in this project (no DeepXDE environment on the development
machine): expect to fix details on first use.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np

PI = math.pi


def build(name):
    import deepxde as dde

    bk = dde.backend
    sin, cos = bk.sin, bk.cos

    def on_boundary(x, on_b):
        return on_b

    def on_initial(x, on_i):
        return on_i

    def lap(u, x, dims):
        return sum(dde.grad.hessian(u, x, i=j, j=j) for j in range(dims))

    if name in ("poisson2d", "poisson3d", "helmholtz"):
        if name == "poisson3d":
            geom, dims = dde.geometry.Cuboid([0, 0, 0], [1, 1, 1]), 3
        else:
            geom, dims = dde.geometry.Rectangle([-1, -1], [1, 1]), 2

        def pde(x, u):
            if name == "poisson2d":
                return lap(u, x, 2) + 2 * PI**2 * sin(PI * x[:, 0:1]) * sin(PI * x[:, 1:2])
            if name == "poisson3d":
                return lap(u, x, 3) + 3 * PI**2 * sin(PI * x[:, 0:1]) * sin(PI * x[:, 1:2]) * sin(PI * x[:, 2:3])
            ue = sin(PI * x[:, 0:1]) * sin(4 * PI * x[:, 1:2])
            return lap(u, x, 2) + u - (1.0 - 17 * PI**2) * ue

        bc = dde.icbc.DirichletBC(geom, lambda x: np.zeros((len(x), 1)), on_boundary)
        data = dde.data.PDE(geom, pde, [bc], num_domain=4096, num_boundary=512)
        return data, dims

    lower, upper = {"burgers": (-1, 1), "allen_cahn": (-1, 1)}.get(name, (0, 1))
    geomtime = dde.geometry.GeometryXTime(dde.geometry.Interval(lower, upper), dde.geometry.TimeDomain(0, 1))

    def exact(x):
        xs, t = x[:, 0:1], x[:, 1:2]
        if name == "heat":
            return np.exp(-0.1 * PI**2 * t) * np.sin(PI * xs)
        if name == "wave":
            return np.sin(PI * xs) * np.cos(2 * PI * t) + 0.5 * np.sin(4 * PI * xs) * np.cos(8 * PI * t)
        if name == "klein_gordon":
            return xs * np.cos(5 * PI * t) + (xs * t) ** 3
        if name == "burgers":
            return -np.sin(PI * xs)
        return xs**2 * np.cos(PI * xs)  # allen_cahn's initial condition

    def pde(x, u):
        u_t = dde.grad.jacobian(u, x, i=0, j=1)
        u_xx = dde.grad.hessian(u, x, i=0, j=0)
        if name == "heat":
            return u_t - 0.1 * u_xx
        if name == "burgers":
            return u_t + u * dde.grad.jacobian(u, x, i=0, j=0) - 0.01 / PI * u_xx
        if name == "allen_cahn":
            return u_t - 1e-4 * u_xx - 5 * u + 5 * u**3
        u_tt = dde.grad.hessian(u, x, i=1, j=1)
        if name == "wave":
            return u_tt - 4 * u_xx
        xs, t = x[:, 0:1], x[:, 1:2]
        f = (
            -25 * PI**2 * xs * cos(5 * PI * t)
            + 6 * xs**3 * t
            - 6 * xs * t**3
            + (xs * cos(5 * PI * t) + (xs * t) ** 3) ** 3
        )
        return u_tt - u_xx + u**3 - f

    conditions = [dde.icbc.IC(geomtime, exact, on_initial)]
    if name == "allen_cahn":

        def x_boundary(x, on_b):
            return on_b and (np.isclose(x[0], -1) or np.isclose(x[0], 1))

        conditions += [
            dde.icbc.PeriodicBC(geomtime, 0, x_boundary, derivative_order=0),
            dde.icbc.PeriodicBC(geomtime, 0, x_boundary, derivative_order=1),
        ]
    else:
        value = exact if name == "klein_gordon" else (lambda x: np.zeros((len(x), 1)))
        conditions.append(dde.icbc.DirichletBC(geomtime, value, on_boundary))
    if name in ("wave", "klein_gordon"):
        conditions.append(
            dde.icbc.OperatorBC(
                geomtime, lambda x, u, _: dde.grad.jacobian(u, x, i=0, j=1), lambda x, _: np.isclose(x[1], 0)
            )
        )
    data = dde.data.TimePDE(geomtime, pde, conditions, num_domain=4096, num_boundary=512, num_initial=512)
    return data, 2


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--problem", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=float, default=600.0)
    parser.add_argument("--reference", required=True)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()

    import deepxde as dde

    dde.config.set_random_seed(args.seed)
    ref = np.load(args.reference)
    points, values = ref["points"], ref["values"]
    data, dims = build(args.problem)
    net = dde.nn.FNN([dims] + [50] * 4 + [1], "tanh", "Glorot normal")
    model = dde.Model(data, net)
    trace = []
    start = time.perf_counter()

    def record(phase):
        u = model.predict(points)[:, 0]
        trace.append([time.perf_counter() - start, float(np.linalg.norm(u - values) / np.linalg.norm(values)), phase])

    model.compile("adam", lr=1e-3)
    adam_steps = 0
    while time.perf_counter() - start < 0.7 * args.budget:
        model.train(iterations=200, display_every=10**9, verbose=0)
        adam_steps += 200
        record("adam")
    lbfgs_steps = 0
    while time.perf_counter() - start < args.budget:
        dde.optimizers.config.set_LBFGS_options(maxiter=200)
        model.compile("L-BFGS")
        model.train(display_every=10**9, verbose=0)
        lbfgs_steps += 200
        record("lbfgs")
    wall = time.perf_counter() - start
    record("end")
    result = {
        "problem": args.problem,
        "method": "deepxde",
        "seed": args.seed,
        "budget_s": args.budget,
        "wall_s": wall,
        "backend": f"deepxde-{dde.backend.backend_name}",
        "final_error": trace[-1][1],
        "trace": trace,
        "steps": {"adam": adam_steps, "lbfgs": lbfgs_steps},
        "versions": {"deepxde": dde.__version__},
    }
    with open(args.output, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
