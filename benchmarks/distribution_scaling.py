"""Data-parallel PINN training speed vs number of devices and collocation points.

Trains the Burgers PINN (DomainScaler + 4 x 32 tanh + linear, Adam 1e-3,
1024 initial and 1024 boundary points) with PINNModel.fit, once per
(devices, collocation points) configuration, each in its own process: XLA
reads ``XLA_FLAGS=--xla_force_host_platform_device_count=D`` when JAX starts.
One device is the plain run (no distribution); 2 and 4 devices use
``keras.distribution.DataParallel``. Records steps per second after the
compiling first step, the process's CPU time per step (user + system, all
threads: less sensitive than wall time to other load on the machine), its
peak resident memory, the loss at every step and the rows of the collocation
array each device holds inside the train step. Writes docs/distribution/scaling.json and scaling.png.

    KERAS_BACKEND=jax python benchmarks/distribution_scaling.py
    python benchmarks/distribution_scaling.py --devices 1,4 --points 10000,1000000

Forced host devices are slices of the same CPU cores, not extra hardware:
see docs/distribution.md for what this does and does not say about GPUs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "distribution"


def default_steps(n):
    """Timed steps per configuration: fewer for more points (a few minutes in all)."""
    return 20 if n <= 100_000 else 5


# -- one configuration, in its own process ------------------------------------
def worker(devices, n_points, steps, n_condition, lr):
    import resource

    import jax
    import keras
    import numpy as np

    import keras_pinn as kp
    from keras_pinn.problems import burgers

    assert len(jax.devices()) == devices, jax.devices()
    if devices > 1:
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=keras.distribution.list_devices()))
    keras.utils.set_random_seed(0)
    problem = burgers()
    net = keras.Sequential(
        [keras.Input((2,)), kp.layers.DomainScaler(problem.domain)]
        + [keras.layers.Dense(32, "tanh") for _ in range(4)]
        + [keras.layers.Dense(1)]
    )
    model = problem.model(net, n_collocation=n_points, n_condition=n_condition, sampler="uniform", seed=0)
    model.compile(optimizer=keras.optimizers.Adam(lr))

    rows = {}
    term_losses = model.term_losses

    def spy(x, y_pred=None, training=False):
        shape = tuple(x["pde"]["x"].shape)

        def note(sharding):
            for device, index in sharding.devices_indices_map(shape).items():
                rows[str(device.id)] = len(range(*index[0].indices(shape[0])))

        jax.debug.inspect_array_sharding(x["pde"]["x"], callback=note)
        return term_losses(x, y_pred, training=training)

    model.term_losses = spy

    stamps, means = [], []

    class Clock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            stamps.append(time.perf_counter())
            means.append(float(logs["loss"]))

    start = time.perf_counter()
    first = model.fit(epochs=1, steps_per_epoch=1, verbose=0).history["loss"][0]  # compiles
    compile_s = time.perf_counter() - start
    start, cpu_start = time.perf_counter(), time.process_time()
    model.fit(epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[Clock()])
    cpu_s = time.process_time() - cpu_start
    # The logs hold the epoch's running mean: undo it for each step's loss.
    losses = [first] + [k * m - (k - 1) * p for k, m, p in zip(range(1, steps + 1), means, [0.0] + means)]
    elapsed = stamps[-1] - start
    return {
        "devices": devices,
        "n_collocation": n_points,
        "n_condition": n_condition,
        "timed_steps": steps,
        "steps_per_s": steps / elapsed,
        "cpu_s_per_step": cpu_s / steps,
        "first_step_s": compile_s,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "loss": [float(v) for v in losses],
        "loss_decreased": bool(losses[-1] < losses[0]),
        "collocation_rows_per_device": rows,
        "weights_replicated": all(v.value.sharding.is_fully_replicated for v in model.trainable_variables),
        "weight_devices": sorted({len(v.value.sharding.device_set) for v in model.trainable_variables}),
        "finite": bool(np.all(np.isfinite(losses))),
    }


def run_config(devices, n_points, steps, n_condition, lr, timeout):
    env = dict(
        os.environ,
        KERAS_BACKEND="jax",
        JAX_PLATFORMS="cpu",
        TF_CPP_MIN_LOG_LEVEL="3",
        XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
    )
    args = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        str(devices),
        str(n_points),
        str(steps),
        str(n_condition),
        str(lr),
    ]
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"devices={devices} n={n_points} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - start
    result["load_average_before"] = load
    return result


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4))
    for n in sorted({r["n_collocation"] for r in results}):
        rs = sorted((r for r in results if r["n_collocation"] == n), key=lambda r: r["devices"])
        d = [r["devices"] for r in rs]
        ax.plot(d, [r["steps_per_s"] for r in rs], "o-", label=f"{n:,} points")
        bx.plot(d, [r["cpu_s_per_step"] for r in rs], "o-", label=f"{n:,} points")
    devices = sorted({r["devices"] for r in results})
    ax.set(
        xlabel="forced host devices (all on the same CPU cores)",
        ylabel="steps / s (wall clock)",
        yscale="log",
        xticks=devices,
        title="PINNModel.fit under DataParallel, CPU",
    )
    bx.set(
        xlabel="forced host devices (all on the same CPU cores)",
        ylabel="CPU seconds / step (all threads)",
        yscale="log",
        xticks=devices,
        title="total work per step",
    )
    for a in (ax, bx):
        a.set_ylim(0.02, 100)
        a.grid(alpha=0.3, which="both")
        a.legend(fontsize=8, loc="upper center", ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", default="1,2,4", help="forced host device counts (default 1,2,4)")
    parser.add_argument("--points", default="10000,100000,1000000", help="collocation point counts")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per config (default: 20, 5 for 1M)")
    parser.add_argument("--n-condition", type=int, default=1024, help="points per condition (default 1024)")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--timeout", type=int, default=900, help="seconds per configuration")
    parser.add_argument("--out", default=str(OUT), help="output folder (default docs/distribution)")
    parser.add_argument("--replot", action="store_true", help="only redraw scaling.png from scaling.json")
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        d, n, s, c, lr = args.worker
        print(json.dumps(worker(int(d), int(n), int(s), int(c), float(lr))))
        return 0
    if args.replot:
        plot(json.loads((Path(args.out) / "scaling.json").read_text())["results"], Path(args.out) / "scaling.png")
        return 0

    devices = [int(v) for v in args.devices.split(",")]
    points = [int(v) for v in args.points.split(",")]
    for d in devices:
        for n in points + [args.n_condition]:
            if n % d:
                parser.error(f"every point count must be a multiple of each device count: {n} % {d} != 0")
    results = []
    for n in points:
        for d in devices:
            steps = args.steps or default_steps(n)
            r = run_config(d, n, steps, args.n_condition, args.lr, args.timeout)
            results.append(r)
            print(
                f"devices={d} n_collocation={n:>9,} steps/s={r['steps_per_s']:8.3f} "
                f"cpu_s/step={r['cpu_s_per_step']:7.3f} first_step_s={r['first_step_s']:6.1f} "
                f"peak_rss_mib={r['peak_rss_mib']:7.0f} "
                f"loss {r['loss'][0]:.4f} -> {r['loss'][-1]:.4f} rows/device={r['collocation_rows_per_device']} "
                f"load={r['load_average_before']:.1f}",
                flush=True,
            )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from importlib.metadata import version

    meta = {
        "command": " ".join(
            ["python benchmarks/distribution_scaling.py", *(argv if argv is not None else sys.argv[1:])]
        ),
        "machine": f"{platform.machine()}, {os.cpu_count()} logical CPUs ({platform.processor() or 'cpu'}), "
        f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "keras": version("keras"),
        "jax": version("jax"),
        "network": "DomainScaler + 4 x Dense(32, tanh) + Dense(1)",
        "problem": "Burgers, nu = 0.01/pi, uniform collocation points",
        "optimizer": f"Adam({args.lr})",
        "date": time.strftime("%Y-%m-%d"),
    }
    (out / "scaling.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    plot(results, out / "scaling.png")
    print(f"wrote {out / 'scaling.json'} and {out / 'scaling.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
