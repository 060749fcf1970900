"""Loss balancing on Helmholtz 2D: fixed weights against ReLoBRaLo (and
learning-rate annealing and SoftAdapt), several seeds.

Problem: ``keras_pinn.problems.helmholtz()`` (u_xx + u_yy + u = q on
[-1, 1]^2, exact u = sin(pi x) sin(4 pi y), u = 0 on the boundary; the
benchmark of Bischof & Kraus 2021). Every run trains the same network
(DomainScaler + depth x width tanh) with Adam at a constant learning rate for
the same number of full-batch steps; only the balancer differs. The
relative L2 error on the problem's 101 x 101 grid is measured at the end.

Writes ``<out>/results.json`` (configuration, versions, every run's error,
time and per-epoch losses and weights, and the summary) and
``<out>/helmholtz.png`` (error per method; weight and loss trajectories).

    KERAS_BACKEND=jax python benchmarks/balancing_helmholtz.py \\
        [--methods fixed relobralo annealing annealing_weighted softadapt] [--seeds 0 1 2] \\
        [--steps 5000] [--width 32] [--depth 3] [--out docs/balancing]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import keras
import numpy as np

import keras_pinn as kp
from keras_pinn.problems import helmholtz

METHODS = ("fixed", "relobralo", "annealing", "annealing_weighted", "softadapt")


def network(domain, width, depth):
    layers = [keras.Input((2,)), kp.layers.DomainScaler(domain)]
    layers += [keras.layers.Dense(width, "tanh") for _ in range(depth)]
    return keras.Sequential(layers + [keras.layers.Dense(1)])


def balancer(method, seed):
    if method == "relobralo":
        return kp.balancing.ReLoBRaLo(seed=seed)  # the authors' defaults
    if method == "annealing_weighted":
        return kp.balancing.LearningRateAnnealing(weighted_gradients=True)
    return method  # "fixed", "annealing", "softadapt" with their defaults


def run(method, seed, args, problem):
    keras.utils.set_random_seed(seed)
    model = problem.model(
        network(problem.domain, args.width, args.depth),
        n_collocation=args.n_collocation,
        n_condition=args.n_condition,
        loss_balancing=balancer(method, seed),
        seed=seed,
    )
    model.compile(keras.optimizers.Adam(args.learning_rate))
    epochs = args.steps // args.steps_per_epoch
    start = time.perf_counter()
    history = model.fit(epochs=epochs, steps_per_epoch=args.steps_per_epoch, verbose=0).history
    wall = time.perf_counter() - start
    error = problem.error(model)
    names = [t.name for t in model.terms]
    if model.loss_balancer.adaptive:
        weights = {n: [float(v) for v in history[f"{n}_weight"]] for n in names}
    else:
        weights = {n: [w] * epochs for n, w in model.loss_weights().items()}
    return {
        "method": method,
        "seed": seed,
        "error": error,
        "wall_s": round(wall, 2),
        "final_loss": {n: float(history[f"{n}_loss"][-1]) for n in names},
        "history": {
            "loss": {n: [float(v) for v in history[f"{n}_loss"]] for n in names},
            "weight": weights,
        },
    }


def summarize(runs, methods):
    table = {}
    for method in methods:
        errors = np.array([r["error"] for r in runs if r["method"] == method])
        if errors.size:
            table[method] = {
                "mean": float(errors.mean()),
                "std": float(errors.std(ddof=1)) if errors.size > 1 else 0.0,
                "min": float(errors.min()),
                "max": float(errors.max()),
                "errors": errors.tolist(),
            }
    return table


def plot(runs, methods, steps_per_epoch, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = dict(zip(METHODS, ("tab:gray", "tab:red", "tab:blue", "tab:purple", "tab:green")))
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ax = axes[0]
    for i, method in enumerate(methods):
        errors = [r["error"] for r in runs if r["method"] == method]
        ax.bar(i, np.mean(errors), color=colors[method], alpha=0.5)
        ax.plot([i] * len(errors), errors, "o", color=colors[method])
    ax.set_xticks(range(len(methods)), [m.replace("_", "\n") for m in methods])
    ax.set_yscale("log")
    ax.set_ylabel("relative L2 error (bar: mean, dots: seeds)")
    ax.set_title("Helmholtz: error after training")
    for r in runs:
        steps = steps_per_epoch * np.arange(1, len(r["history"]["loss"]["pde"]) + 1)
        w = r["history"]["weight"]
        label = r["method"] if r["seed"] == min(x["seed"] for x in runs) else None
        axes[1].plot(steps, np.asarray(w["bc"]) / np.asarray(w["pde"]), color=colors[r["method"]], label=label, lw=1)
        axes[2].plot(steps, r["history"]["loss"]["bc"], color=colors[r["method"]], label=label, lw=1)
    axes[1].set_yscale("log")
    axes[1].set_xlabel("Adam step")
    axes[1].set_ylabel("bc weight / pde weight")
    axes[1].set_title("Loss weights (one line per seed)")
    axes[1].legend()
    axes[2].set_yscale("log")
    axes[2].set_xlabel("Adam step")
    axes[2].set_ylabel("unweighted boundary loss")
    axes[2].set_title("Boundary loss")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def versions():
    out = {
        "python": sys.version.split()[0],
        "keras": keras.__version__,
        "numpy": np.__version__,
        "backend": keras.backend.backend(),
        "keras_pinn": kp.__version__,
    }
    if out["backend"] == "jax":
        import jax

        out["jax"] = jax.__version__
    elif out["backend"] == "tensorflow":
        import tensorflow as tf

        out["tensorflow"] = tf.__version__
    else:
        import torch

        out["torch"] = torch.__version__
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--steps-per-epoch", type=int, default=100)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--n-collocation", type=int, default=1000)
    parser.add_argument("--n-condition", type=int, default=256)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--out", default="docs/balancing")
    args = parser.parse_args()
    if args.steps % args.steps_per_epoch:
        parser.error("--steps must be a multiple of --steps-per-epoch")
    problem = helmholtz()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = []
    start = time.perf_counter()
    for seed in args.seeds:
        for method in args.methods:
            r = run(method, seed, args, problem)
            runs.append(r)
            print(
                f"{method:10s} seed {seed}: error {r['error']:.4g}, {r['wall_s']:.1f} s, "
                f"final losses {r['final_loss']}",
                flush=True,
            )
    total = time.perf_counter() - start
    summary = summarize(runs, args.methods)
    result = {
        "problem": problem.description,
        "command": "KERAS_BACKEND=" + keras.backend.backend() + " python " + " ".join(sys.argv),
        "config": vars(args),
        "network": f"DomainScaler + {args.depth} x {args.width} tanh + Dense(1)",
        "optimizer": f"Adam, constant learning rate {args.learning_rate}, {args.steps} full-batch steps",
        "balancers": {
            "fixed": "all weights 1",
            "relobralo": "ReLoBRaLo(alpha=0.999, rho=0.99, temperature=0.1, seed=seed)",
            "annealing": "LearningRateAnnealing(alpha=0.9, update_every=1 epoch = "
            f"{args.steps_per_epoch} steps), the paper's rule",
            "annealing_weighted": "LearningRateAnnealing(alpha=0.9, update_every=1, weighted_gradients=True), "
            "the authors' code's rule",
            "softadapt": "SoftAdapt(beta=0.1, variant='normalized')",
        },
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "load_average_at_end": list(os.getloadavg()),
        },
        "versions": versions(),
        "total_wall_s": round(total, 1),
        "summary": summary,
        "runs": runs,
    }
    (out / "results.json").write_text(json.dumps(result, indent=1))
    plot(runs, args.methods, args.steps_per_epoch, out / "helmholtz.png")
    print(f"total {total:.0f} s")
    for method, s in summary.items():
        print(f"{method:10s} {s['mean']:.4g} +- {s['std']:.2g}  (min {s['min']:.4g}, max {s['max']:.4g})")


if __name__ == "__main__":
    main()
