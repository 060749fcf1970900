"""The accuracy suite: relative L2 error against wall time on standard PINN
problems, for a vanilla PINN, keras-pinn's recipe and DeepXDE, at one
wall-clock budget per run, several seeds. Resumable and runnable problem by
problem: every run writes ``<out>/runs/<problem>-<method>-seed<s>.json``
and a run whose file exists is skipped.

    python benchmarks/suite.py --problems heat wave --methods vanilla recipe \
        --seeds 0 1 2 --budget 600 --out benchmarks/results/suite
    python benchmarks/suite.py --methods deepxde --deepxde-python <deepxde-venv>/bin/python ...
    python benchmarks/suite.py --report --out benchmarks/results/suite   # tables + figures only

Each run is its own subprocess (``KERAS_BACKEND`` from ``--backend``,
default jax). The problems and their sources are in suite_problems.py; the
methods:

* ``vanilla``: DomainScaler + MLP 4 x 50 tanh, Adam 1e-3 for the whole
  budget, fixed unit loss weights, PeriodicBC terms for periodic problems
  (Raissi et al. 2019's setup).
* ``recipe``: ``kp.recipe.network`` (DomainScaler, PeriodicEmbedding for
  periodic coordinates, 32 random Fourier features, ModifiedMLP 4 x 64),
  ``loss_balancing="gradnorm"``, causal weighting for time-dependent
  problems, ``fit_recipe``: Adam (1e-3, x0.9 every 2000 steps) for 70 % of
  the budget, then L-BFGS.
* ``deepxde``: benchmarks/suite_deepxde.py in the given Python: DeepXDE's
  documented setup (FNN 4 x 50 tanh, Glorot normal, Adam 1e-3, then
  L-BFGS), the same budget split.

The error is measured on the reference grid about 20 times per run (that
time is part of the wall time of every method alike). The recipe's
gradient-norm weights are updated every 500 Adam steps (jaxpi: 1000).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import suite_problems as problems  # noqa: E402

METHODS = ("vanilla", "recipe", "deepxde")


# -- one run (in a subprocess) ---------------------------------------------------------
def _reference(out, name):
    import numpy as np

    path = os.path.join(out, "references", f"{name}.npz")
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        points, values = problems.reference(name)
        np.savez_compressed(path, points=points, values=values)
    data = np.load(path)
    return data["points"], data["values"]


def run_one(name, method, seed, budget, out):
    import keras
    import numpy as np

    import keras_pinn as kp

    keras.utils.set_random_seed(seed)
    spec = problems.SPECS[name]
    points, values = _reference(out, name)
    dims = len(spec.names)
    if dims > 2 and spec.time_dependent:
        raise ValueError("space-time domains of more than one space dimension are not in the suite")
    if spec.time_dependent:
        domain = kp.SpaceTime(kp.Interval(spec.lower[0], spec.upper[0], spec.names[0]), spec.lower[1], spec.upper[1])
    else:
        domain = kp.Box(list(spec.lower), list(spec.upper), names=spec.names)
    trace = []
    start = [None]
    interval = budget / 20.0

    class Trace(keras.callbacks.Callback):
        """Records (time, error, phase) at most every ``interval`` seconds:
        at epoch ends in Adam (where Keras's JAX trainer syncs the weights
        back to the model) and after any L-BFGS iteration."""

        last = -1e9
        phase = "adam"

        def _record(self, phase):
            u = keras.ops.convert_to_numpy(model.network(keras.ops.convert_to_tensor(points, keras.config.floatx())))
            error = float(np.linalg.norm(u[:, 0] - values) / np.linalg.norm(values))
            trace.append([time.perf_counter() - start[0], error, phase])

        def _maybe(self):
            if time.perf_counter() - self.last >= interval:
                self._record(self.phase or "adam")
                self.last = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self._maybe()

        def on_train_batch_end(self, batch, logs=None):
            if self.phase == "lbfgs":
                self._maybe()

    tracer = Trace()
    if method == "vanilla":
        net = keras.Sequential([keras.Input((dims,)), kp.layers.DomainScaler(domain), kp.layers.MLP([50] * 4, 1)])
        model = kp.PINNModel(
            net,
            domain,
            problems.pde(name),
            conditions=problems.conditions(name, spec.n_condition),
            n_collocation=spec.n_collocation,
            seed=seed,
        )
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        start[0] = time.perf_counter()
        model.fit(
            epochs=10**6, steps_per_epoch=50, verbose=0, callbacks=[tracer, kp.recipe.TimeLimit(budget, start[0])]
        )
        steps = {"adam": int(keras.ops.convert_to_numpy(model.optimizer.iterations))}
    elif method == "recipe":
        time_scale = 0.5 * spec.fourier_scale if spec.time_dependent else None
        net = kp.recipe.network(
            domain,
            width=64,
            depth=4,
            fourier_features=32,
            scale=spec.fourier_scale,
            time_scale=time_scale,
            periodic=spec.periodic or None,
            seed=seed,
        )
        model = kp.PINNModel(
            net,
            domain,
            problems.pde(name),
            conditions=problems.conditions(name, spec.n_condition, periodic_in_network=True),
            n_collocation=spec.n_collocation,
            seed=seed,
            loss_balancing=kp.balancing.GradNorm(update_every=5),
            point_weighting=kp.weighting.CausalWeighting(chunks=16) if spec.time_dependent else None,
        )

        class Phase(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                tracer.phase = "adam" if tracer.phase is None else "lbfgs"

        tracer.phase = None
        start[0] = time.perf_counter()
        result = model.fit_recipe(
            adam_steps=10**7,
            lbfgs_steps=10**6,
            steps_per_epoch=100,
            time_limit=budget,
            adam_fraction=0.7,
            callbacks=[Phase(), tracer],
        )
        lbfgs = result["lbfgs"]
        steps = {
            "adam": int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
            "lbfgs": 0 if lbfgs is None else int(lbfgs.lbfgs["iterations"]),
        }
    else:
        raise ValueError(f"unknown method {method!r}")
    wall = time.perf_counter() - start[0]
    tracer._record("end")
    return {
        "problem": name,
        "method": method,
        "seed": seed,
        "budget_s": budget,
        "wall_s": wall,
        "backend": keras.backend.backend(),
        "final_error": trace[-1][1],
        "trace": trace,
        "steps": steps,
        "versions": {"keras": keras.__version__, "keras_pinn": kp.__version__},
    }


# -- the driver ------------------------------------------------------------------------
def _path(out, name, method, seed):
    return os.path.join(out, "runs", f"{name}-{method}-seed{seed}.json")


def launch(name, method, seed, args):
    path = _path(args.out, name, method, seed)
    if os.path.exists(path):
        print(f"skip {path} (done)")
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if method == "deepxde":
        if not args.deepxde_python:
            print(f"skip {name}/deepxde/seed{seed}: pass --deepxde-python <deepxde-venv>/bin/python")
            return
        _reference(args.out, name)
        cmd = [
            args.deepxde_python,
            os.path.join(HERE, "suite_deepxde.py"),
            "--problem",
            name,
            "--seed",
            str(seed),
            "--budget",
            str(args.budget),
            "--reference",
            os.path.join(args.out, "references", f"{name}.npz"),
            "--output",
            path,
        ]
        env = dict(os.environ, DDE_BACKEND=args.deepxde_backend)
    else:
        cmd = [
            sys.executable,
            os.path.abspath(__file__),
            "--worker",
            name,
            method,
            str(seed),
            "--budget",
            str(args.budget),
            "--out",
            args.out,
        ]
        env = dict(os.environ, KERAS_BACKEND=args.backend)
    env.setdefault("PYTHONPATH", ROOT)
    print(f"run {name} {method} seed {seed} ({args.budget:g} s) ...", flush=True)
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=args.budget * 3 + 600)
    if proc.returncode != 0 or not os.path.exists(path):
        log = path.replace(".json", ".err.txt")
        with open(log, "w") as f:
            f.write(proc.stdout + "\n" + proc.stderr)
        print(f"  FAILED (rc {proc.returncode}), log in {log}")
        return
    with open(path) as f:
        print(f"  relative L2 {json.load(f)['final_error']:.3e}")


def report(out):
    """Writes ``<out>/report.md`` (one table per problem: median, min and
    max over seeds of the final error) and ``<out>/<problem>.png``."""
    import numpy as np

    runs = []
    for file in sorted(os.listdir(os.path.join(out, "runs"))) if os.path.isdir(os.path.join(out, "runs")) else []:
        if file.endswith(".json"):
            with open(os.path.join(out, "runs", file)) as f:
                runs.append(json.load(f))
    lines = ["# Accuracy suite results", ""]
    for name in problems.SPECS:
        mine = [r for r in runs if r["problem"] == name]
        if not mine:
            continue
        spec = problems.SPECS[name]
        lines += [
            f"## {name}",
            "",
            f"{spec.description}. Source: {spec.source}.",
            "",
            "| method | seeds | relative L2, median (min - max) | budget (s) | steps (Adam / L-BFGS) | backend |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for method in METHODS:
            rs = [r for r in mine if r["method"] == method]
            if not rs:
                continue
            errors = np.array([r["final_error"] for r in rs])
            steps = " ; ".join(f"{r['steps'].get('adam', '-')} / {r['steps'].get('lbfgs', '-')}" for r in rs)
            lines.append(
                f"| {method} | {', '.join(str(r['seed']) for r in rs)} | {np.median(errors):.2e} "
                f"({errors.min():.2e} - {errors.max():.2e}) | "
                f"{rs[0]['budget_s']:g} | {steps} | {rs[0].get('backend', '-')} |"
            )
        lines += ["", f"![{name}]({name}.png)", ""]
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots(figsize=(5, 3.5))
            colors = {"vanilla": "tab:gray", "recipe": "tab:blue", "deepxde": "tab:orange"}
            for r in mine:
                t = [p[0] for p in r["trace"]]
                e = [p[1] for p in r["trace"]]
                label = r["method"] if r["seed"] == min(x["seed"] for x in mine if x["method"] == r["method"]) else None
                ax.semilogy(t, e, color=colors.get(r["method"], "k"), alpha=0.8, label=label)
            ax.set_xlabel("wall time (s)")
            ax.set_ylabel("relative L2 error")
            ax.set_title(name)
            ax.grid(True, which="both", alpha=0.3)
            ax.legend()
            fig.tight_layout()
            fig.savefig(os.path.join(out, f"{name}.png"), dpi=110)
            plt.close(fig)
        except ImportError:
            pass
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {os.path.join(out, 'report.md')}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", nargs="+", default=list(problems.SPECS), choices=list(problems.SPECS))
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--budget", type=float, default=600.0, help="wall-clock seconds per run (default 600)")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "suite"))
    parser.add_argument("--backend", default="jax", choices=("jax", "tensorflow", "torch"))
    parser.add_argument("--deepxde-python", default=None, help="the Python of a virtual environment with DeepXDE")
    parser.add_argument("--deepxde-backend", default="tensorflow", help="DDE_BACKEND for DeepXDE (default tensorflow)")
    parser.add_argument("--report", action="store_true", help="only write report.md and the figures")
    parser.add_argument("--worker", nargs=3, metavar=("PROBLEM", "METHOD", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.budget <= 0:
        parser.error(f"--budget must be > 0. Received: --budget {args.budget}")
    if args.worker:
        name, method, seed = args.worker
        result = run_one(name, method, int(seed), args.budget, args.out)
        path = _path(args.out, name, method, int(seed))
        with open(path + ".tmp", "w") as f:
            json.dump(result, f, indent=1)
        os.replace(path + ".tmp", path)
        return
    if not args.report:
        for name in args.problems:
            for method in args.methods:
                for seed in args.seeds:
                    launch(name, method, seed, args)
    report(args.out)


if __name__ == "__main__":
    main()
