"""Where keras-pinn's time goes on each backend: one problem, many configurations.

Runs keras_pinn_bench.py (``model.fit``) in its own subprocess per
configuration and backend, interleaved over ``--rounds``: the network
(``Sequential(Dense)``, ``kp.layers.MLP``, MLP
inside a Sequential), Keras's ``jit_compile`` and ``steps_per_execution``,
and a 16-point problem that shows the
fixed per-step cost of the training loop. Writes
docs/performance/options.json.

    python benchmarks/keras_options.py [--problem burgers] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import common  # noqa: E402
from compare import run_one  # noqa: E402

#: backend -> [(label, arguments)]
CONFIGS = {
    "jax": [
        ("Sequential(Dense)", ["--network", "dense"]),
        ("Sequential(Dense), steps_per_execution=32", ["--network", "dense", "--steps-per-execution", "32"]),
        ("MLP", ["--network", "mlp"]),
        ("MLP, steps_per_execution=32", ["--network", "mlp", "--steps-per-execution", "32"]),
        ("16 points: MLP", ["--network", "mlp", "--n-pde", "16"]),
        (
            "16 points: MLP, steps_per_execution=32",
            ["--network", "mlp", "--n-pde", "16", "--steps-per-execution", "32"],
        ),
    ],
    "tensorflow": [
        ("Sequential(Dense), defaults", ["--network", "dense"]),
        ("Sequential(Dense), jit_compile=True", ["--network", "dense", "--jit-compile", "true"]),
        ("MLP, jit_compile=True", ["--network", "mlp", "--jit-compile", "true"]),
        (
            "MLP, jit_compile=True, steps_per_execution=32",
            ["--network", "mlp", "--jit-compile", "true", "--steps-per-execution", "32"],
        ),
        (
            "16 points: MLP, jit_compile=True",
            ["--network", "mlp", "--n-pde", "16", "--jit-compile", "true"],
        ),
        (
            "16 points: MLP, jit_compile=True, steps_per_execution=32",
            [
                "--network",
                "mlp",
                "--n-pde",
                "16",
                "--jit-compile",
                "true",
                "--steps-per-execution",
                "32",
            ],
        ),
    ],
    "torch": [
        ("Sequential(Dense)", ["--network", "dense"]),
        ("MLP", ["--network", "mlp"]),
    ],
}
HANDWRITTEN_16 = {
    "jax": ("handwritten_jax.py", ["--layout", "fp"]),
    "tensorflow": ("handwritten_tf.py", ["--layout", "pf"]),
    "torch": ("handwritten_torch.py", ["--layout", "pf"]),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", default="burgers", choices=sorted(common.PROBLEMS))
    parser.add_argument("--backends", default="jax,tensorflow,torch")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--windows", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument(
        "--malloc",
        default="tuned",
        choices=sorted(common.MALLOC_MODES),
        help="glibc malloc settings of the subprocesses (see common.MALLOC_TUNED)",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "performance", "options.json"))
    args = parser.parse_args(argv)
    command = " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])
    machine = common.machine()
    print(
        f"# python {command}\nmachine: {machine['cpu']}, {machine['cores']} cores; load {machine['load_average']}",
        flush=True,
    )
    timing = ["--windows", str(args.windows), "--seconds", str(args.seconds)]
    runs = []
    for backend in args.backends.split(","):
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2", **common.malloc_env(args.malloc))
        threads = ["--threads", str(args.threads)] if backend == "torch" else []
        for label, extra in CONFIGS[backend]:
            runs.append(
                (
                    backend,
                    "keras-pinn",
                    label,
                    env,
                    [sys.executable, os.path.join(HERE, "keras_pinn_bench.py"), "--problem", args.problem]
                    + extra
                    + timing
                    + threads,
                )
            )
        script, extra = HANDWRITTEN_16[backend]
        runs.append(
            (
                backend,
                "handwritten",
                f"16 points: {' '.join(extra)}",
                env,
                [sys.executable, os.path.join(HERE, script), "--problem", args.problem, "--n-pde", "16"]
                + extra
                + timing
                + threads,
            )
        )
    results = [[] for _ in runs]
    for rnd in range(args.rounds):
        for i, (backend, impl, label, env, cmd) in enumerate(runs):
            load = common.load_average()
            r = run_one(cmd, env, 900)
            r["load_average_start"] = load
            results[i].append(r)
            status = r.get("error") or (f"{r['steps_per_s']:8.1f} steps/s  cpu {r.get('cpu_ms_per_step')} ms/step")
            print(
                f"[{rnd + 1}/{args.rounds}] {backend:10s} {impl:11s} {label:58s} {status} (load {load[0]})", flush=True
            )
    rows = []
    for (backend, impl, label, _, cmd), rs in zip(runs, results):
        ok = [r for r in rs if "error" not in r]
        row = {
            "backend": backend,
            "implementation": impl,
            "label": label,
            "command": " ".join(shlex.quote(os.path.relpath(c, ROOT) if c.startswith(ROOT) else c) for c in cmd[1:]),
        }
        if ok:
            row.update(
                steps_per_s=round(statistics.median(r["steps_per_s"] for r in ok), 2),
                cpu_ms_per_step=round(statistics.median(r["cpu_ms_per_step"] for r in ok), 3),
                best_window_steps_per_s=max(r["best_window_steps_per_s"] for r in ok),
                variant=ok[0].get("variant"),
                runs=ok,
            )
        else:
            row["error"] = rs[-1]["error"]
        rows.append(row)
    print("\n| backend | configuration | steps/s | best window | CPU ms/step |\n| --- | --- | --- | --- | --- |")
    for r in rows:
        if "error" in r:
            print(f"| {r['backend']} | {r['implementation']}: {r['label']} | failed: {r['error'][:100]} | | |")
        else:
            print(
                f"| {r['backend']} | {r['implementation']}: {r['label']} | {r['steps_per_s']:.1f} "
                f"| {r['best_window_steps_per_s']:.1f} | {r['cpu_ms_per_step']:.2f} |"
            )
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(
            {
                "command": f"python {command}",
                "date": time.strftime("%Y-%m-%d %H:%M:%S"),
                "machine": machine,
                "load_average_end": common.load_average(),
                "problem": args.problem,
                "malloc": args.malloc,
                "torch_threads": args.threads,
                "rows": rows,
            },
            f,
            indent=1,
        )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
