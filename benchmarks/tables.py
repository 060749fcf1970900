"""Markdown tables from the benchmarks' JSON files (for docs/performance.md).

python benchmarks/tables.py compare docs/performance/compare.json
python benchmarks/tables.py orders docs/performance/derivative_orders.json
python benchmarks/tables.py scaling docs/performance/scaling.json
python benchmarks/tables.py options docs/performance/options.json
python benchmarks/tables.py malloc default.json tuned.json [PROBLEM|all]   # two compare runs, e.g.
                                                            # --malloc default against --malloc tuned
"""

from __future__ import annotations

import json
import sys

import compare


def _header(d):
    m = d["machine"]
    end = d.get("load_average_end") or m.get("load_average_end")
    return (
        f"`{d['command']}`, {d['date']}; {m['cpu']}, {m['cores']} cores; load average "
        f"{m['load_average']} at start, {end} at end"
    )


def tables_compare(d):
    print(_header(d) + f"; versions {d['versions']}; malloc {d.get('malloc', {}).get('mode')}\n")
    compare.print_table(d["rows"])


def tables_orders(d):
    print(_header(d) + "\n")
    rows = [r for r in d["results"] if "error" not in r]
    for network in dict.fromkeys(r["network"] for r in rows):
        print(f"\n**{network}** (ms per loss-and-weight-gradient call, median; lower is better)\n")
        keys = list(dict.fromkeys((r["backend"], r["mode"], r["compiler"]) for r in rows if r["network"] == network))
        print(
            "| backend | mode | compiled | layout | order 1 | order 2 "
            "| order 4 |\n| --- | --- | --- | --- | --- | --- | --- |"
        )
        for backend, mode, compiler in keys:
            for layout in ("pf", "fp"):
                cells = []
                for order in (1, 2, 4):
                    r = next(
                        (
                            r
                            for r in rows
                            if (r["network"], r["backend"], r["mode"], r["compiler"], r["layout"], r["order"])
                            == (network, backend, mode, compiler, layout, order)
                        ),
                        None,
                    )
                    cells.append("-" if r is None else f"{r['ms_per_call']:.2f}")
                print(f"| {backend} | {mode} | {compiler} | {layout} | " + " | ".join(cells) + " |")
    errors = [r for r in d["results"] if "error" in r]
    for r in errors:
        print(
            f"\nfailed: {r['backend']} {r['network']} order {r['order']} {r['mode']} {r['layout']} "
            f"{r['compiler']}: {r['error']}"
        )


def tables_scaling(d):
    print(_header(d) + "\n")
    rs = [r for r in d["results"] if "steps_per_s" in r]
    backends = list(dict.fromkeys(r["backend"] for r in rs))
    for axis, key, label in (("points", "n_pde", "collocation points"), ("width", "width", "hidden width")):
        values = sorted({r[key] for r in rs if r["axis"] == axis})
        print(f"\n| {label} | " + " | ".join(backends) + " |\n| --- | " + " | ".join("---" for _ in backends) + " |")
        for v in values:
            cells = []
            for b in backends:
                r = next((r for r in rs if r["axis"] == axis and r[key] == v and r["backend"] == b), None)
                cells.append("-" if r is None else f"{r['steps_per_s']:.1f}")
            print(f"| {v:,} | " + " | ".join(cells) + " |")


def tables_options(d):
    print(_header(d) + f"; problem {d['problem']}; malloc {d.get('malloc')}\n")
    print("| backend | configuration | steps/s | best window | CPU ms/step |\n| --- | --- | --- | --- | --- |")
    for r in d["rows"]:
        if "error" in r:
            print(f"| {r['backend']} | {r['implementation']}: {r['label']} | failed: {r['error'][:90]} | | |")
        else:
            print(
                f"| {r['backend']} | {r['implementation']}: {r['label']} | {r['steps_per_s']:.1f} "
                f"| {r['best_window_steps_per_s']:.1f} | {r['cpu_ms_per_step']:.2f} |"
            )


def _malloc_name(run):
    """``default``, or the malloc variables a compare run set."""
    env = run.get("malloc", {}).get("environment") or {}
    return "glibc defaults" if not env else "+".join(k.strip("_").replace("MALLOC_", "").lower() for k in env)


def tables_malloc(base, tuned, problem="raissi"):
    """Steps/s of the same rows in two compare runs with different malloc
    settings, for one problem (or ``all``)."""
    problems = sorted({r["problem"] for r in base["rows"]})
    if problem != "all" and problem not in problems:
        sys.exit(f"Unknown problem: expected 'all' or one of {problems}. Received: problem={problem!r}")
    a, b = _malloc_name(base), _malloc_name(tuned)
    print(
        f"{problem}: `{base['command']}` with malloc {a} ({base['date']}, load "
        f"average {base['machine']['load_average']} at start) against malloc {b} "
        f"({tuned['date']}, load average {tuned['machine']['load_average']} at start)\n"
    )
    print(f"| problem | backend | implementation | configuration | steps/s, {a} | steps/s, {b} | ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    key = lambda r: (r["problem"], r["backend"], r["implementation"], r["label"])  # noqa: E731
    after = {key(r): r for r in tuned["rows"] if "steps_per_s" in r}
    for r in base["rows"]:
        t = after.get(key(r))
        if problem not in ("all", r["problem"]) or "steps_per_s" not in r or t is None:
            continue
        print(
            f"| {r['problem']} | {r['backend']} | {r['implementation']} | {r['label']} | {r['steps_per_s']:.1f} "
            f"| {t['steps_per_s']:.1f} | {t['steps_per_s'] / r['steps_per_s']:.2f} |"
        )


def _load(path):
    with open(path) as f:
        return json.load(f)


if __name__ == "__main__":
    kind, paths = (sys.argv[1:2] or [None])[0], sys.argv[2:]
    tables = {
        "compare": tables_compare,
        "orders": tables_orders,
        "scaling": tables_scaling,
        "options": tables_options,
        "malloc": tables_malloc,
    }
    extra = paths[2:3] if kind == "malloc" else []  # malloc: an optional problem name or "all"
    paths = paths[:2] if kind == "malloc" else paths
    if kind not in tables or len(paths) != (2 if kind == "malloc" else 1):
        sys.exit(__doc__)
    tables[kind](*[_load(p) for p in paths], *extra)
