"""DeepXDE's training speed on the same problems, the user's way: ``dde.Model.train``.

Run with the Python of a virtual environment that has DeepXDE (kept apart
from the project's, see docs/performance.md), the backend chosen by
``DDE_BACKEND`` (``tensorflow``, ``jax``, ``pytorch``):

    DDE_BACKEND=tensorflow <deepxde-venv>/bin/python benchmarks/deepxde_bench.py --problem burgers

DeepXDE samples its own points (the same numbers as the other
implementations: ``num_domain``, ``num_boundary``, ``num_initial``) and
evaluates the PDE residual at all its training points, as it always does.
Its defaults are kept (no XLA on TensorFlow on a CPU, eager PyTorch,
reverse-mode derivatives with its own cache), with Glorot-uniform weights,
Adam(1e-3), float32. Each timed window is one ``model.train(iterations=n)``
call (which also evaluates the loss once at its start and end).
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402


def build(spec):
    import deepxde as dde
    import numpy as np

    backend = dde.backend.backend_name
    jax_pairs = backend == "jax"  # on JAX DeepXDE passes and returns (value, function) pairs

    def value(a):
        return a[0] if jax_pairs else a

    if spec["pde"] == "burgers":
        geom = dde.geometry.Interval(-1.0, 1.0)
        geomtime = dde.geometry.GeometryXTime(geom, dde.geometry.TimeDomain(0.0, 1.0))

        def pde(x, y):
            dy_x = value(dde.grad.jacobian(y, x, i=0, j=0))
            dy_t = value(dde.grad.jacobian(y, x, i=0, j=1))
            dy_xx = value(dde.grad.hessian(y, x, i=0, j=0))
            return dy_t + value(y) * dy_x - common.NU * dy_xx

        bc = dde.icbc.DirichletBC(geomtime, lambda x: 0, lambda _, on_boundary: on_boundary)
        ic = dde.icbc.IC(geomtime, lambda x: -np.sin(np.pi * x[:, 0:1]), lambda _, on_initial: on_initial)
        data = dde.data.TimePDE(
            geomtime,
            pde,
            [bc, ic],
            num_domain=spec["n_pde"],
            num_boundary=spec["n_bc"],
            num_initial=spec["n_ic"],
        )
    else:
        geom = dde.geometry.Rectangle([-1.0, -1.0], [1.0, 1.0])
        k, a1, a2 = common.HELMHOLTZ["k"], common.HELMHOLTZ["a1"], common.HELMHOLTZ["a2"]
        sin = dde.backend.sin

        def pde(x, y):
            dy_xx = value(dde.grad.hessian(y, x, i=0, j=0))
            dy_yy = value(dde.grad.hessian(y, x, i=1, j=1))
            q = common.helmholtz_source(x[:, 0:1], x[:, 1:2], k, a1, a2, sin=sin)
            return dy_xx + dy_yy + k**2 * value(y) - q

        bc = dde.icbc.DirichletBC(geom, lambda x: 0, lambda _, on_boundary: on_boundary)
        data = dde.data.PDE(geom, pde, bc, num_domain=spec["n_pde"], num_boundary=spec["n_bc"])
    net = dde.nn.FNN(spec["sizes"], "tanh", "Glorot uniform")
    model = dde.Model(data, net)
    model.compile("adam", lr=1e-3)
    return model, backend, dde


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_common_arguments(parser)
    args = parser.parse_args(argv)

    threads = None
    if os.environ.get("DDE_BACKEND") == "pytorch":
        threads = common.set_torch_threads(args.threads)
    spec = common.problem(args.problem, args.n_pde, args.width)
    model, backend, dde = build(spec)

    def run(n):
        model.train(iterations=n, display_every=10 * n + 1, verbose=0)

    result = common.Timer(args.windows, args.seconds, args.steps).measure(run)
    versions = {"deepxde": dde.__version__}
    if backend.startswith("tensorflow"):
        import tensorflow as tf

        versions["tensorflow"] = tf.__version__
    elif backend == "jax":
        import jax

        versions["jax"] = jax.__version__
    elif backend == "pytorch":
        import torch

        versions["torch"] = torch.__version__
    framework = {"pytorch": "torch", "tensorflow": "tensorflow", "jax": "jax"}.get(backend, backend)
    loss = model.train_state.loss_train
    result.update(
        implementation="deepxde",
        framework=framework,
        backend=framework,
        problem=args.problem,
        n_pde=spec["n_pde"],
        width=spec["widths"][0],
        variant=f"DDE_BACKEND={backend}, xla_jit={dde.config.xla_jit}, "
        f"{model.train_state.X_train.shape[0]} training points (residual evaluated at all)",
        loop="dde.Model.train",
        loss=None if loss is None else float(sum(loss)),
        versions=versions,
        torch_threads=threads,
    )
    common.report(result, args.json)


if __name__ == "__main__":
    main()
