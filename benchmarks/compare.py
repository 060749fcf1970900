"""keras-pinn against hand-written loops and DeepXDE, side by side, on every backend.

One command measures Adam steps per second (median of timed windows after
warm-up, compile excluded) and peak memory (ru_maxrss) of:

* hand-written training loops in the same framework (handwritten_jax.py,
  handwritten_tf.py, handwritten_torch.py), in their variants (activation
  layout; XLA on TensorFlow);
* keras-pinn, all through ``model.fit``: as shipped (``keras.Sequential``
  of ``Dense``, ``model.compile(optimizer)``); today's fast path
  (``kp.layers.MLP`` and the public compile options that pay on each
  backend: ``steps_per_execution=32`` on JAX and TensorFlow,
  ``jit_compile=True`` on TensorFlow and PyTorch; the same code on every
  backend, as PyTorch runs ``steps_per_execution`` as 1); the same with
  ``derivative_method="autodiff"`` instead of the default Taylor mode;
* DeepXDE on the same problem and backend, when a Python with DeepXDE is
  given (``--deepxde-python``) or DeepXDE is importable here;

each in its own subprocess, on the problems of common.py (Burgers as in
DeepXDE's example, Raissi's Burgers, Helmholtz 2D). It prints the machine,
the versions, the load average and a table with the ratios, and writes
``<out>.json`` and ``<out>.png``.

    python benchmarks/compare.py --deepxde-python <deepxde-venv>/bin/python --rounds 2
    python benchmarks/compare.py --quick          # Burgers only, a couple of minutes
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import common  # noqa: E402

BACKENDS = ("jax", "tensorflow", "torch")
DDE_BACKEND = {"jax": "jax", "tensorflow": "tensorflow", "torch": "pytorch"}

#: backend -> [(label, script arguments)] of the hand-written loops.
HANDWRITTEN = {
    "jax": [
        ("layout fp", ["--layout", "fp"]),
        ("layout pf", ["--layout", "pf"]),
        ("layout fp, 10 steps per jit call (lax.fori_loop)", ["--layout", "fp", "--loop", "fused"]),
    ],
    "tensorflow": [
        ("XLA, layout pf", ["--xla", "1", "--layout", "pf"]),
        ("XLA, layout fp", ["--xla", "1", "--layout", "fp"]),
        ("no XLA, layout pf", ["--xla", "0", "--layout", "pf"]),
    ],
    "torch": [("layout pf", ["--layout", "pf"]), ("layout fp", ["--layout", "fp"])],
}
SCRIPT = {"jax": "handwritten_jax.py", "tensorflow": "handwritten_tf.py", "torch": "handwritten_torch.py"}

#: [(label, arguments per backend)] of the keras-pinn configurations. Every
#: row uses the library's default derivative method ("auto": Taylor mode for
#: these networks) except the "autodiff" one, which shows what Taylor mode
#: buys in the same run. PyTorch's fast path adds jit_compile=True
#: (torch.compile), which Taylor mode makes possible (no double backward);
#: with autodiff it cannot compile, so that row runs eager.
KERAS_PINN = [
    ("as shipped: Sequential(Dense), compile(optimizer)", {b: ["--network", "dense"] for b in BACKENDS}),
    (
        "fast path with autodiff derivatives (derivative_method='autodiff')",
        {
            "jax": ["--network", "mlp", "--steps-per-execution", "32", "--derivative-method", "autodiff"],
            "tensorflow": [
                "--network",
                "mlp",
                "--steps-per-execution",
                "32",
                "--jit-compile",
                "true",
                "--derivative-method",
                "autodiff",
            ],
            "torch": ["--network", "mlp", "--derivative-method", "autodiff"],
        },
    ),
    (
        "today's fast path: MLP + public compile options",
        {
            "jax": ["--network", "mlp", "--steps-per-execution", "32"],
            "tensorflow": ["--network", "mlp", "--steps-per-execution", "32", "--jit-compile", "true"],
            "torch": ["--network", "mlp", "--steps-per-execution", "32", "--jit-compile", "true"],
        },
    ),
]
AUTODIFF, TODAY = KERAS_PINN[1][0], KERAS_PINN[2][0]
#: ``--rows`` names of the keras-pinn rows, in KERAS_PINN's order.
ROW_KEYS = ("default", "autodiff", "fast")
IMPLEMENTATIONS = ("handwritten", "keras-pinn", "deepxde")


def find_deepxde(python: str | None):
    """``(python, version)`` of a Python that imports DeepXDE, or ``(None, reason)``."""
    candidates = [python] if python else [sys.executable]
    for py in candidates:
        try:
            out = subprocess.run(
                [py, "-c", "import importlib.metadata as m; print(m.version('deepxde'))"],
                capture_output=True,
                text=True,
                timeout=120,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            return None, f"not installed ({py}: {error})"
        if out.returncode == 0 and out.stdout.strip():
            return py, out.stdout.strip()
    return None, "not installed" + (f" in {python}" if python else " (pass --deepxde-python)")


def run_one(cmd, env, timeout):
    """Runs one measurement subprocess; returns its RESULT dict or an error dict."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT ") :])
            result["wall_s"] = round(time.perf_counter() - start, 1)
            return result
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    return {"error": f"exit {proc.returncode}: " + " | ".join(tail)[-400:]}


def plan(args, dde_python):
    """The list of runs: dicts with ``problem, backend, implementation, label, cmd, env``."""
    runs = []
    timing = ["--windows", str(args.windows), "--seconds", str(args.seconds)]
    for problem in args.problems:
        for backend in args.backends:
            env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2", **common.malloc_env(args.malloc))
            threads = ["--threads", str(args.threads)] if backend == "torch" else []
            hand = HANDWRITTEN[backend][: 2 if args.quick else None] if "handwritten" in args.implementations else []
            for label, extra in hand:
                runs.append(
                    dict(
                        problem=problem,
                        backend=backend,
                        implementation="handwritten",
                        label=label,
                        env=env,
                        cmd=[sys.executable, os.path.join(HERE, SCRIPT[backend]), "--problem", problem]
                        + extra
                        + timing
                        + threads,
                    )
                )
            for key, (label, extras) in zip(ROW_KEYS, KERAS_PINN):
                if "keras-pinn" not in args.implementations or key not in args.rows:
                    continue
                runs.append(
                    dict(
                        problem=problem,
                        backend=backend,
                        implementation="keras-pinn",
                        label=label,
                        env=env,
                        cmd=[sys.executable, os.path.join(HERE, "keras_pinn_bench.py"), "--problem", problem]
                        + extras[backend]
                        + timing
                        + ["--min-fit-steps", str(args.min_fit_steps)]
                        + threads,
                    )
                )
            if dde_python and "deepxde" in args.implementations:
                dde_env = dict(env, DDE_BACKEND=DDE_BACKEND[backend])
                dde_env.pop("KERAS_BACKEND")
                runs.append(
                    dict(
                        problem=problem,
                        backend=backend,
                        implementation="deepxde",
                        label=f"DDE_BACKEND={DDE_BACKEND[backend]}",
                        env=dde_env,
                        cmd=[dde_python, os.path.join(HERE, "deepxde_bench.py"), "--problem", problem]
                        + timing
                        + threads,
                    )
                )
    return runs


def aggregate(runs, results):
    """Median over rounds per run; then the summary (:func:`summarize`) and
    each row's ratios to the best hand-written loop and to DeepXDE."""
    rows = []
    for i, run in enumerate(runs):
        ok = [r for r in results[i] if "error" not in r]
        row = {k: run[k] for k in ("problem", "backend", "implementation", "label")}
        row["command"] = " ".join(
            [f"{k}={run['env'][k]}" for k in ("KERAS_BACKEND", "DDE_BACKEND") if k in run["env"]]
            # The interpreter as "python": no path of the machine in the results.
            + ["python"]
            + [
                shlex.quote(os.path.relpath(c, ROOT) if os.path.isabs(c) and c.startswith(ROOT) else c)
                for c in run["cmd"][1:]
            ]
        )
        if not ok:
            row["error"] = results[i][-1]["error"] if results[i] else "not run"
        else:
            row["steps_per_s"] = round(statistics.median(r["steps_per_s"] for r in ok), 2)
            row["best_window_steps_per_s"] = round(max(r["best_window_steps_per_s"] for r in ok), 2)
            row["peak_rss_mb"] = max(r["peak_rss_mb"] for r in ok)
            row["runs"] = ok
            row["variant"] = ok[0].get("variant")
            row["versions"] = ok[0].get("versions")
        rows.append(row)
    summary = summarize(rows)
    for r in rows:
        s = next(s for s in summary if (s["problem"], s["backend"]) == (r["problem"], r["backend"]))
        if "steps_per_s" in r and s["best_handwritten"]:
            r["vs_best_handwritten"] = round(r["steps_per_s"] / s["best_handwritten"]["steps_per_s"], 3)
        if "steps_per_s" in r and s["deepxde"]:
            r["vs_deepxde"] = round(r["steps_per_s"] / s["deepxde"]["steps_per_s"], 3)
    return rows, summary


def _best(rows):
    return max(rows, key=lambda r: r["steps_per_s"]) if rows else None


def summarize(rows):
    """Per problem and backend: the best hand-written loop, DeepXDE and the
    best keras-pinn row ("today"), with the ratios. Computed from the rows
    only, so it works on any saved JSON."""
    summary = []
    for problem in dict.fromkeys(r["problem"] for r in rows):
        for backend in dict.fromkeys(r["backend"] for r in rows if r["problem"] == problem):
            group = [r for r in rows if r["problem"] == problem and r["backend"] == backend and "steps_per_s" in r]
            best = _best([r for r in group if r["implementation"] == "handwritten"])
            dde = _best([r for r in group if r["implementation"] == "deepxde"])
            keras = [r for r in group if r["implementation"] == "keras-pinn"]
            entry = {
                "problem": problem,
                "backend": backend,
                "best_handwritten": best and {"label": best["label"], "steps_per_s": best["steps_per_s"]},
                "deepxde": dde and {"label": dde["label"], "steps_per_s": dde["steps_per_s"]},
            }
            top = _best(keras)
            entry["today"] = top and {
                "label": top["label"],
                "steps_per_s": top["steps_per_s"],
                "ratio_vs_best_handwritten": best and round(top["steps_per_s"] / best["steps_per_s"], 3),
                "ratio_vs_deepxde": dde and round(top["steps_per_s"] / dde["steps_per_s"], 3),
                "meets_0.9x_handwritten": bool(best) and top["steps_per_s"] >= 0.9 * best["steps_per_s"],
                "beats_deepxde": (top["steps_per_s"] > dde["steps_per_s"]) if dde else None,
            }
            summary.append(entry)
    return summary


def print_table(rows, out=sys.stdout):
    """Markdown tables of the rows: one per problem, then the summary
    (recomputed from the rows, see :func:`summarize`)."""

    def fmt(v, spec=".2f"):
        return "-" if v is None else format(v, spec)

    summary = summarize(rows)
    for problem in dict.fromkeys(r["problem"] for r in rows):
        what = common.PROBLEMS[problem]["what"] if problem in common.PROBLEMS else ""
        print(f"\n### {problem}: {what}\n", file=out)
        print(
            "| backend | implementation | configuration | steps/s | best window | peak RSS MB "
            "| x best hand-written | x DeepXDE |",
            file=out,
        )
        print("| --- | --- | --- | --- | --- | --- | --- | --- |", file=out)
        for r in rows:
            if r["problem"] != problem:
                continue
            if "error" in r:
                print(
                    f"| {r['backend']} | {r['implementation']} | {r['label']} | failed: {r['error'][:120]} | | | | |",
                    file=out,
                )
                continue
            s = next(s for s in summary if (s["problem"], s["backend"]) == (problem, r["backend"]))
            hand = s["best_handwritten"] and r["steps_per_s"] / s["best_handwritten"]["steps_per_s"]
            dde = s["deepxde"] and r["steps_per_s"] / s["deepxde"]["steps_per_s"]
            print(
                f"| {r['backend']} | {r['implementation']} | {r['label']} | {fmt(r['steps_per_s'], '.1f')} "
                f"| {fmt(r['best_window_steps_per_s'], '.1f')} | {fmt(r['peak_rss_mb'], '.0f')} "
                f"| {fmt(hand)} | {fmt(dde)} |",
                file=out,
            )
    print("\n### Summary: keras-pinn against the best hand-written loop and DeepXDE\n", file=out)
    print(
        "| problem | backend | best hand-written | DeepXDE | keras-pinn (best configuration) | x hand | x DeepXDE |",
        file=out,
    )
    print("| --- | --- | --- | --- | --- | --- | --- |", file=out)

    def cells(k):
        if not k:
            return "- | - | -"
        hand = (
            "-"
            if k["ratio_vs_best_handwritten"] is None
            else fmt(k["ratio_vs_best_handwritten"]) + ("" if k["meets_0.9x_handwritten"] else " (< 0.9)")
        )
        dde = (
            "-"
            if k["ratio_vs_deepxde"] is None
            else fmt(k["ratio_vs_deepxde"]) + ("" if k["beats_deepxde"] else " (slower)")
        )
        return f"{fmt(k['steps_per_s'], '.1f')} ({k['label']}) | {hand} | {dde}"

    for s in summary:
        hw, dde = s["best_handwritten"], s["deepxde"]
        hw_cell = f"{fmt(hw['steps_per_s'], '.1f')} ({hw['label']})" if hw else "-"
        print(
            f"| {s['problem']} | {s['backend']} | {hw_cell} | {fmt(dde and dde['steps_per_s'], '.1f')} "
            f"| {cells(s['today'])} |",
            file=out,
        )


def defaults_summary(rows):
    """Per problem and backend: the default code's steps/s against the fast
    path's, from the rows (the bar: at least 0.9x)."""
    out = []
    for problem in dict.fromkeys(r["problem"] for r in rows):
        for backend in dict.fromkeys(r["backend"] for r in rows if r["problem"] == problem):
            group = {
                r["label"]: r
                for r in rows
                if r["problem"] == problem and r["backend"] == backend and "steps_per_s" in r
            }
            default, fast = group.get(KERAS_PINN[0][0]), group.get(TODAY)
            if default and fast:
                ratio = round(default["steps_per_s"] / fast["steps_per_s"], 3)
                out.append(
                    {
                        "problem": problem,
                        "backend": backend,
                        "default_steps_per_s": default["steps_per_s"],
                        "fast_path_steps_per_s": fast["steps_per_s"],
                        "ratio": ratio,
                        "meets_0.9x_fast_path": ratio >= 0.9,
                    }
                )
    return out


def print_defaults(rows, out=sys.stdout):
    entries = defaults_summary(rows)
    if not entries:
        return
    print("\n### The default code against the fast path\n", file=out)
    print("| problem | backend | default code (steps/s) | fast path (steps/s) | ratio |", file=out)
    print("| --- | --- | --- | --- | --- |", file=out)
    for e in entries:
        mark = "" if e["meets_0.9x_fast_path"] else " (< 0.9)"
        print(
            f"| {e['problem']} | {e['backend']} | {e['default_steps_per_s']:.1f} | {e['fast_path_steps_per_s']:.1f} "
            f"| {e['ratio']:.2f}{mark} |",
            file=out,
        )


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    problems = list(dict.fromkeys(r["problem"] for r in rows))
    fig, axes = plt.subplots(1, len(problems), figsize=(5.5 * len(problems), 4.2), squeeze=False)
    series = [
        (
            "best hand-written",
            lambda g: max(
                (r for r in g if r["implementation"] == "handwritten"), key=lambda r: r["steps_per_s"], default=None
            ),
        ),
        ("keras-pinn as shipped", lambda g: next((r for r in g if r["label"] == KERAS_PINN[0][0]), None)),
        ("keras-pinn fast path, autodiff", lambda g: next((r for r in g if r["label"] == AUTODIFF), None)),
        ("keras-pinn today's fast path", lambda g: next((r for r in g if r["label"] == TODAY), None)),
        ("DeepXDE", lambda g: next((r for r in g if r["implementation"] == "deepxde"), None)),
    ]
    colors = ["#555555", "#c6dbef", "#9ecae1", "#3182bd", "#e6550d"]
    kept = [k for k, (_, pick) in enumerate(series) if pick(rows) is not None]
    series, colors = [series[k] for k in kept], [colors[k] for k in kept]
    for ax, problem in zip(axes[0], problems):
        backends = list(dict.fromkeys(r["backend"] for r in rows if r["problem"] == problem))
        width = 0.8 / len(series)
        for k, ((name, pick), color) in enumerate(zip(series, colors)):
            values = []
            for b in backends:
                g = [r for r in rows if r["problem"] == problem and r["backend"] == b and "steps_per_s" in r]
                r = pick(g)
                values.append(r["steps_per_s"] if r else 0.0)
            xs = [i + (k - (len(series) - 1) / 2) * width for i in range(len(backends))]
            ax.bar(xs, values, width, label=name, color=color)
        ax.set_xticks(range(len(backends)), backends)
        ax.set_title(problem)
        ax.set_ylabel("Adam steps / s")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Burgers only, short windows, fewer variants")
    parser.add_argument("--problems", default=None, help="comma-separated (default: all; --quick: burgers)")
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument(
        "--deepxde-python",
        default=os.environ.get("DEEPXDE_PYTHON"),
        help="a Python with DeepXDE installed (default: this one, if it has it)",
    )
    parser.add_argument("--no-deepxde", action="store_true")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="repeat every run this many times, interleaved; odd rounds run in reverse order",
    )
    parser.add_argument("--windows", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--threads", type=int, default=1, help="PyTorch intra-op threads (all PyTorch runs)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per subprocess")
    parser.add_argument(
        "--malloc",
        default="tuned",
        choices=sorted(common.MALLOC_MODES),
        help="glibc malloc settings of every subprocess (tuned: see common.MALLOC_TUNED)",
    )
    parser.add_argument(
        "--min-fit-steps",
        type=int,
        default=5120,
        help="keras-pinn rows: the timed fit runs at least this many steps (PyTorch's defaults compile such a fit)",
    )
    parser.add_argument(
        "--implementations",
        default=",".join(IMPLEMENTATIONS),
        help=f"comma-separated subset of {','.join(IMPLEMENTATIONS)} (default: all)",
    )
    parser.add_argument(
        "--rows",
        default=",".join(ROW_KEYS),
        help="keras-pinn rows, comma-separated: default (Sequential(Dense), compile(optimizer)), "
        "autodiff (fast path with derivative_method='autodiff'), fast (the fast path); default: all",
    )
    parser.add_argument(
        "--out", default=os.path.join(ROOT, "docs", "performance", "compare"), help="writes OUT.json and OUT.png"
    )
    args = parser.parse_args(argv)
    args.problems = (args.problems or ("burgers" if args.quick else ",".join(common.PROBLEMS))).split(",")
    args.backends = args.backends.split(",")
    args.implementations = args.implementations.split(",")
    args.rows = args.rows.split(",")
    for name, values, allowed in (
        ("implementations", args.implementations, IMPLEMENTATIONS),
        ("rows", args.rows, ROW_KEYS),
    ):
        if not values or any(v not in allowed for v in values):
            parser.error(f"--{name} must be a comma-separated subset of {','.join(allowed)}. Received: {values}")
    args.windows = args.windows or (3 if args.quick else 5)
    args.seconds = args.seconds or (0.8 if args.quick else 1.2)

    if args.no_deepxde:
        dde_python, dde_version = None, "not run (--no-deepxde)"
    else:
        dde_python, dde_version = find_deepxde(args.deepxde_python)
    machine = common.machine()
    command = " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])
    print(f"# python {command}")
    print(f"machine: {machine['cpu']}, {machine['cores']} cores, {machine['platform']}, python {machine['python']}")
    print(f"load average at start (1, 5, 15 min): {machine['load_average']}")
    print(f"DeepXDE: {dde_version}" + (f" ({dde_python})" if dde_python else ""))
    print(f"glibc malloc: {args.malloc} {common.malloc_env(args.malloc) or ''} (every subprocess)")
    print(
        f"PyTorch threads: {args.threads} (torch.set_num_threads, all PyTorch runs); "
        f"timing: {args.windows} windows of ~{args.seconds} s after warm-up, median",
        flush=True,
    )

    runs = plan(args, dde_python)
    results = [[] for _ in runs]
    started = time.time()
    for rnd in range(args.rounds):
        # Odd rounds run in reverse order, so that every row is timed both
        # before and after its neighbours: a slow drift of the machine (or a
        # row that leaves the next one a worse state) cannot favour one row.
        order = range(len(runs)) if rnd % 2 == 0 else reversed(range(len(runs)))
        for i in order:
            run = runs[i]
            load = common.load_average()
            result = run_one(run["cmd"], run["env"], args.timeout)
            result["load_average_start"] = load
            results[i].append(result)
            status = result.get("error") or f"{result['steps_per_s']:8.1f} steps/s  {result['peak_rss_mb']:7.0f} MB"
            print(
                f"[{rnd + 1}/{args.rounds} {i + 1:2d}/{len(runs)}] {run['problem']:9s} {run['backend']:10s} "
                f"{run['implementation']:11s} {run['label'][:48]:48s} {status}  (load {load[0] if load else '?'})",
                flush=True,
            )
    rows, summary = aggregate(runs, results)
    machine["load_average_end"] = common.load_average()
    versions = {}
    for r in rows:
        for k, v in (r.get("versions") or {}).items():
            versions.setdefault(k, v)
    print(f"\nversions: {versions}")
    print(f"load average at end: {machine['load_average_end']}; elapsed {time.time() - started:.0f} s")
    print_table(rows)
    print_defaults(rows)
    out = {
        "command": f"python {command}",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": machine,
        "versions": versions,
        "deepxde": dde_version,
        "torch_threads": args.threads,
        "malloc": {"mode": args.malloc, "environment": common.malloc_env(args.malloc)},
        "timing": {"windows": args.windows, "seconds": args.seconds, "rounds": args.rounds},
        "problems": {p: common.PROBLEMS[p]["what"] for p in args.problems},
        "summary": summary,
        "defaults": defaults_summary(rows),
        "rows": rows,
    }
    common.write_json(out, args.out)
    plot(rows, args.out + ".png")
    print(f"\nwrote {args.out}.json and {args.out}.png")


if __name__ == "__main__":
    main()
