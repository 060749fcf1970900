"""keras-pinn's two exact derivative methods against each other, order by
order, on the current backend (``KERAS_BACKEND``).

Times one evaluation of ``mean((d^k u / dx^k)^2)`` and its gradient with
respect to the weights (what a training step differentiates), for orders
1, 2 and 4, through ``kp.derivatives(net, x, method=...)`` with
``method="autodiff"`` (the backend's nested automatic differentiation) and
``method="taylor"`` (keras_pinn.differentiation.taylor), compiled as keras-pinn compiles a
training step (``keras_pinn.backend.value_and_grad``: jax.jit on JAX,
tf.function with XLA on TensorFlow, eager on PyTorch; on PyTorch Taylor mode
is also timed under ``torch.compile``, which autodiff's double backward
cannot use). Networks: 3 x 20 tanh on 2,540 points and 4 x 50 tanh on
10,000 points (``kp.layers.MLP``, layout auto). Median of interleaved
windows. Prints one ``RESULT`` JSON line per configuration. ``--all`` runs
each backend in a subprocess with the glibc malloc settings of
``common.MALLOC_TUNED``; for a single backend, export them yourself (the
malloc tip of docs/performance.md).

    KERAS_BACKEND=jax python benchmarks/taylor_orders.py
    python benchmarks/taylor_orders.py --all --json docs/performance/taylor_orders.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import common  # noqa: E402

SIZES = {"3x20, 2,540 points": ([20] * 3, 2540), "4x50, 10,000 points": ([50] * 4, 10000)}
ORDERS = (1, 2, 4)


def _configs(backend):
    configs = [("autodiff", False), ("taylor", False)]
    if backend == "torch":
        configs.append(("taylor", True))
    return configs


def measure(windows, seconds):
    import keras
    import numpy as np
    from keras import ops

    import keras_pinn as kp
    from keras_pinn import backend as kb

    backend = keras.backend.backend()
    results = []
    for size, (widths, n) in SIZES.items():
        net = kp.layers.MLP(widths, 1, "tanh")
        x = ops.convert_to_tensor(np.random.default_rng(0).uniform(-1, 1, (n, 2)).astype("float32"))
        net(x)
        variables = list(net.trainable_variables)
        values = [v.value for v in variables]
        for order in ORDERS:
            calls = {}
            for method, torch_compile in _configs(backend):

                def loss(method=method, order=order, net=net, x=x):
                    d = kp.derivatives(net, x, method=method)
                    return ops.mean(ops.square(d(0, *([0] * order)))), ()

                if torch_compile:
                    import torch

                    compiled = torch.compile(lambda fn=loss: fn()[0])

                    def call(compiled=compiled, variables=variables):
                        value = compiled()
                        grads = torch.autograd.grad(value, [v.value for v in variables], allow_unused=True)
                        return value, (), grads
                else:
                    g = kb.value_and_grad(loss, variables, jit_compile=True)

                    def call(g=g, values=values):
                        return g(values, [])

                label = f"{method}" + (", torch.compile" if torch_compile else "")
                start = time.perf_counter()
                out = call()
                keras.ops.convert_to_numpy(out[0])
                calls[label] = (call, time.perf_counter() - start)
            times = {label: [] for label in calls}
            for _ in range(windows):
                for label, (call, _) in calls.items():
                    steps, start = 0, time.perf_counter()
                    while time.perf_counter() - start < seconds:
                        out = call()
                        steps += 1
                    keras.ops.convert_to_numpy(out[0])
                    times[label].append((time.perf_counter() - start) / steps * 1e3)
            for label, ms in times.items():
                results.append(
                    {
                        "backend": backend,
                        "size": size,
                        "order": order,
                        "method": label,
                        "ms": round(statistics.median(ms), 3),
                        "windows_ms": [round(m, 3) for m in ms],
                        "compile_s": round(calls[label][1], 2),
                    }
                )
                print("RESULT " + json.dumps(results[-1]), flush=True)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.5)
    parser.add_argument("--threads", type=int, default=1, help="PyTorch intra-op threads")
    parser.add_argument("--all", action="store_true", help="every backend, one subprocess each")
    parser.add_argument("--json", default=None, help="write every result here (with --all)")
    args = parser.parse_args(argv)
    if not args.all:
        if os.environ.get("KERAS_BACKEND") == "torch":
            common.set_torch_threads(args.threads)
        measure(args.windows, args.seconds)
        return
    machine = common.machine()
    command = "python benchmarks/taylor_orders.py " + " ".join(argv if argv is not None else sys.argv[1:])
    rows = []
    for backend in ("jax", "tensorflow", "torch"):
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2", **common.MALLOC_TUNED)
        cmd = [
            sys.executable,
            os.path.abspath(__file__),
            "--windows",
            str(args.windows),
            "--seconds",
            str(args.seconds),
            "--threads",
            str(args.threads),
        ]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        got = [json.loads(line[7:]) for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
        if not got:
            common.log(f"{backend}: failed: {proc.stderr.strip().splitlines()[-3:]}")
        rows.extend(got)
    print(
        f"`{command}`, {time.strftime('%Y-%m-%d %H:%M:%S')}; {machine['cpu']}, {machine['cores']} cores; "
        f"load average {machine['load_average']} at start\n"
    )
    for size in SIZES:
        print(f"**{size}** (ms per loss-and-weight-gradient call, median; lower is better)\n")
        print("| backend | method | order 1 | order 2 | order 4 |\n| --- | --- | --- | --- | --- |")
        for backend in dict.fromkeys(r["backend"] for r in rows):
            for method in dict.fromkeys(r["method"] for r in rows if r["backend"] == backend):
                cells = [
                    next(
                        (
                            f"{r['ms']:.2f}"
                            for r in rows
                            if (r["backend"], r["size"], r["method"], r["order"]) == (backend, size, method, k)
                        ),
                        "-",
                    )
                    for k in ORDERS
                ]
                print(f"| {backend} | {method} | " + " | ".join(cells) + " |")
        print()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"command": command, "date": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine, "rows": rows},
                f,
                indent=1,
            )


if __name__ == "__main__":
    main()
