"""Scaling curves: keras-pinn's Adam steps/s as the collocation points grow
(1,000 to 100,000; Burgers, 3x20 tanh) and as the hidden width grows (20 to
256; Burgers, 3 hidden layers, 2,540 points), per backend.

keras-pinn's fast path is measured, as the library is: ``kp.layers.MLP``
with the layout chosen per backend, the default derivative method (Taylor
mode for this network) and ``compile(jit_compile=True,
steps_per_execution=32)`` (one step per call on PyTorch), through
``model.fit``. One subprocess per backend; few steps per point to keep it
affordable.

    python benchmarks/scaling.py            # writes docs/performance/scaling.json and .png
    python benchmarks/scaling.py --quick
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import common  # noqa: E402

POINTS = [1_000, 3_000, 10_000, 30_000, 100_000]
WIDTHS = [20, 32, 64, 128, 256]
BACKENDS = ("jax", "tensorflow", "torch")


def worker(args):
    if args.backend == "torch":
        common.set_torch_threads(args.threads)
    import keras_pinn_bench as kb

    configs = [("points", n, None) for n in args.points] + [("width", None, w) for w in args.widths]
    for axis, n, w in configs:
        if args.backend == "torch":
            # A fresh torch.compile per size, as in a process of its own:
            # otherwise dynamo recompiles for the new shapes, turns them
            # dynamic and, after its recompile limit, falls back to eager.
            import torch

            torch._dynamo.reset()
        spec = common.problem("burgers", n_pde=n, width=w)
        try:
            result = kb.measure(
                spec,
                "mlp",
                jit_compile=True,
                steps_per_execution=32,
                windows=args.windows,
                seconds=args.seconds,
                evaluate=False,
            )
        except Exception as error:  # noqa: BLE001 - reported, the curve goes on
            result = {"error": f"{type(error).__name__}: {error}"[:300]}
        result.update(
            axis=axis,
            backend=args.backend,
            n_pde=spec["n_pde"],
            width=spec["widths"][0],
            peak_rss_mb=round(common.peak_rss_mb(), 1),
            load_average=common.load_average(),
        )
        print("RESULT " + json.dumps(result), flush=True)


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, axis, key, label in [
        (axes[0], "points", "n_pde", "collocation points (Burgers, 3x20 tanh)"),
        (axes[1], "width", "width", "hidden width (Burgers, 3 layers, 2,540 points)"),
    ]:
        for backend in dict.fromkeys(r["backend"] for r in results):
            rs = sorted(
                (r for r in results if r["backend"] == backend and r["axis"] == axis and "steps_per_s" in r),
                key=lambda r: r[key],
            )
            if rs:
                ax.plot([r[key] for r in rs], [r["steps_per_s"] for r in rs], "o-", label=backend)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("Adam steps / s")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle("keras-pinn fast path, model.fit, 2-core CPU (indicative)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 sizes per axis, shorter windows")
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--points", default=None, help="comma-separated collocation counts")
    parser.add_argument("--widths", default=None, help="comma-separated hidden widths")
    parser.add_argument("--windows", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument(
        "--malloc",
        default="tuned",
        choices=sorted(common.MALLOC_MODES),
        help="glibc malloc settings of the subprocesses (see common.MALLOC_TUNED)",
    )
    parser.add_argument("--threads", type=int, default=1, help="PyTorch intra-op threads")
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "performance", "scaling"))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--backend", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    default_points = [1_000, 10_000, 100_000] if args.quick else POINTS
    default_widths = [20, 64, 256] if args.quick else WIDTHS
    args.points = [int(v) for v in args.points.split(",")] if args.points else default_points
    args.widths = [int(v) for v in args.widths.split(",")] if args.widths else default_widths
    args.windows = args.windows or (2 if args.quick else 3)
    args.seconds = args.seconds or (0.5 if args.quick else 1.0)
    if args.worker:
        return worker(args)

    command = " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])
    machine = common.machine()
    print(
        f"# python {command}\nmachine: {machine['cpu']}, {machine['cores']} cores; load {machine['load_average']}",
        flush=True,
    )

    def describe(backend, r):
        status = r.get("error") or f"{r['steps_per_s']:9.2f} steps/s"
        return (
            f"{backend:10s} {r['axis']:6s} points={r['n_pde']:7d} width={r['width']:4d} {status} "
            f"(peak {r['peak_rss_mb']:.0f} MB so far, load {r['load_average'][0]})"
        )

    started = time.time()
    worker_args = [
        "--points",
        ",".join(map(str, args.points)),
        "--widths",
        ",".join(map(str, args.widths)),
        "--windows",
        str(args.windows),
        "--seconds",
        str(args.seconds),
        "--threads",
        str(args.threads),
    ]
    results = common.run_backend_workers(__file__, args.backends.split(","), worker_args, args.malloc, describe, ROOT)
    out = {
        "command": f"python {command}",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": machine,
        "load_average_end": common.load_average(),
        "elapsed_s": round(time.time() - started),
        "torch_threads": args.threads,
        "malloc": args.malloc,
        "results": results,
    }
    common.write_json(out, args.out)
    plot(results, args.out + ".png")
    print(f"wrote {args.out}.json and {args.out}.png ({out['elapsed_s']} s)")


if __name__ == "__main__":
    main()
