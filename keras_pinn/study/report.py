"""The study's report: statistics, verdicts, figures, ``report.md`` and
``results.json``.

Everything here works from the files the workers wrote
(``runs/<backend>.json`` and ``arrays/``), with NumPy, Matplotlib (Agg) and
scikit-learn only: the report is written by the command-line parent process,
which never imports a Keras backend.
"""

from __future__ import annotations

import json
import math
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from keras_pinn.study import stats
from keras_pinn.study.config import IDEAS, VARIANTS, StudyOptions, target_of

__all__ = [
    "compare",
    "format_number",
    "load_runs",
    "summarize",
    "verdicts",
    "write_report",
]

FIGURE_DPI = 72
TSNE_ITERATIONS = 500


def format_number(value: float | None, digits: int = 3) -> str:
    """How the report prints a number: ``digits`` significant digits, ``—``
    for a missing value (a diverged or failed run)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{value:.{digits}g}"


# -- loading and statistics -----------------------------------------------------


def load_runs(out: Path, backends: Sequence[str]) -> dict:
    """Merges ``runs/<backend>.json`` of ``backends`` into one dict:
    ``{"backends": {name: meta}, "problems": {...}, "runs": [...]}``."""
    merged: dict = {"backends": {}, "problems": {}, "runs": []}
    for backend in backends:
        path = Path(out) / "runs" / f"{backend}.json"
        if not path.exists():
            merged["backends"][backend] = {"status": "missing", "note": f"{path} was not written"}
            continue
        data = json.loads(path.read_text())
        merged["backends"][backend] = {k: data.get(k) for k in ("versions", "command", "started", "wall_time_s")}
        merged["backends"][backend]["status"] = data.get("status", "complete")
        merged["problems"].update(data.get("problems", {}))
        merged["runs"].extend(data.get("runs", []))
    return merged


def _stats(values: list[float]) -> dict:
    if not values:
        return {"mean": None, "std": None, "min": None, "max": None}
    a = np.asarray(values, dtype="float64")
    return {
        "mean": float(a.mean()),
        "std": float(a.std(ddof=1)) if a.size > 1 else 0.0,
        "min": float(a.min()),
        "max": float(a.max()),
    }


def _mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def _metric_values(runs: list[dict]) -> dict:
    """``{metric: [value per finished run]}`` of the scalar metrics (relative
    L2 always; Buckley-Leverett's shock metrics where recorded)."""
    values: dict[str, list] = {"relative_l2": [r["error"] for r in runs]}
    for run in runs:
        for key, value in (run.get("metrics") or {}).items():
            if key != "relative_l2" and isinstance(value, (int, float)):
                values.setdefault(key, [])
    for key in values:
        if key != "relative_l2":
            values[key] = [(r.get("metrics") or {}).get(key) for r in runs]
    times = sorted(
        {t for r in runs for t in ((r.get("metrics") or {}).get("shock_position_error_per_time") or {})}, key=float
    )
    for t in times:
        values[f"shock_position_error_t{t}"] = [
            ((r.get("metrics") or {}).get("shock_position_error_per_time") or {}).get(t) for r in runs
        ]
    return values


SHOCK_SUCCESS = {"shock_position_error": 0.02, "relative_l1": 0.03}
"""A Buckley-Leverett run *succeeds* (issue 21's criterion for vector
quantisation) when its shock position error is at most 0.02 at every time
of the profiles and its relative L1 error at most 0.03."""


def shock_successes(entry: dict) -> tuple[int, int]:
    """``(successes, seeds)`` of a summary entry under :data:`SHOCK_SUCCESS`
    (seeds: the finished runs with shock metrics)."""
    values = entry.get("values", {})
    per_time = [values[k] for k in values if k.startswith("shock_position_error_t")]
    l1 = values.get("relative_l1", [])
    if not per_time or not l1:
        return 0, 0
    seeds, wins = 0, 0
    for i, value in enumerate(l1):
        positions = [column[i] for column in per_time]
        if value is None or any(p is None for p in positions):
            continue
        seeds += 1
        wins += int(
            value <= SHOCK_SUCCESS["relative_l1"] and all(p <= SHOCK_SUCCESS["shock_position_error"] for p in positions)
        )
    return wins, seeds


def _shock_table(entries: list[dict]) -> list[str]:
    """Buckley-Leverett's shock position error per time, L1, L2 and front
    width (mean ± sample std over the seeds) and the seeds meeting
    :data:`SHOCK_SUCCESS`."""
    times = sorted(
        {k for e in entries for k in e.get("values", {}) if k.startswith("shock_position_error_t")},
        key=lambda k: float(k[len("shock_position_error_t") :]),
    )
    if not times:
        return []
    keys = [*times, "relative_l1", "relative_l2", "front_width"]
    labels = [f"shock position error, t = {k[len('shock_position_error_t') :]}" for k in times]
    labels += ["rel. L1", "rel. L2", "front width"]

    def cell(values: list) -> str:
        values = [v for v in values if v is not None]
        if not values:
            return "—"
        std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        return f"{format_number(float(np.mean(values)))} ± {format_number(std)}"

    lines = [
        "| variant | " + " | ".join(labels) + " | seeds meeting the success criterion |",
        "|---|" + "---|" * (len(keys) + 1),
    ]
    for e in entries:
        wins, seeds = shock_successes(e)
        cells = [cell(e.get("values", {}).get(k, [])) for k in keys]
        lines.append(f"| `{e['variant']}` | " + " | ".join(cells) + f" | {wins} of {seeds} |")
    return [
        *lines,
        "",
        "Mean ± standard deviation over the seeds. Success criterion: shock position error at most "
        f"{SHOCK_SUCCESS['shock_position_error']:g} at every one of these times and relative L1 at most "
        f"{SHOCK_SUCCESS['relative_l1']:g}.",
        "",
    ]


def summarize(runs: list[dict]) -> list[dict]:
    """One entry per (backend, problem, variant): the relative L2 error over
    the seeds (mean, sample std, min, max, over the runs that finished with
    a finite error), the seed counts, the best seed and mean timings."""
    groups: dict[tuple, list[dict]] = {}
    for run in runs:
        groups.setdefault((run["backend"], run["problem"], run["variant"]), []).append(run)
    summary = []
    for (backend, problem, variant), members in groups.items():
        ok = [r for r in members if r.get("error") is not None]
        best = min(ok, key=lambda r: r["error"]) if ok else None
        entry = {
            "backend": backend,
            "problem": problem,
            "variant": variant,
            "seeds": [r["seed"] for r in members],
            "n_runs": len(members),
            "n_ok": len(ok),
            "n_diverged": sum(r.get("status") == "diverged" for r in members),
            "n_failed": sum(r.get("status") == "failed" for r in members),
            "error": _stats([r["error"] for r in ok]),
            "values": _metric_values(ok),
            "best_seed": None if best is None else best["seed"],
            "best_run": None if best is None else best["run_id"],
            "final_loss": _mean([r.get("final_losses", {}).get("loss") for r in ok]),
            "wall_time_s": _mean([r.get("wall_time_s") for r in members]),
            "steps_per_second": _mean([r.get("steps_per_second") for r in members]),
            "n_params": next((r.get("n_params") for r in members if r.get("n_params")), None),
            "eval_grid": next((r.get("eval_grid") for r in members if r.get("eval_grid")), None),
            "messages": sorted({r["message"] for r in members if r.get("message")}),
            "warnings": sorted({w for r in members for w in r.get("warnings", [])}),
            "diffusion_floor": next((r["diffusion_floor"] for r in members if r.get("diffusion_floor")), None),
        }
        summary.append(entry)
    return summary


def _find(summary: list[dict], backend: str, problem: str, variant: str) -> dict | None:
    for entry in summary:
        if (entry["backend"], entry["problem"], entry["variant"]) == (backend, problem, variant):
            return entry
    return None


def _crashed(entry: dict) -> bool:
    """Every run raised an error: nothing was learnt about the idea (unlike a
    run that diverged, which counts as a worse result)."""
    return entry["n_runs"] > 0 and entry["n_failed"] == entry["n_runs"]


def comparison_metric(problem: str, budget: str) -> str:
    """The metric a comparison on ``problem`` uses: the problem's target
    metric (Buckley-Leverett: the shock position error), else relative L2."""
    target = target_of(problem, budget)
    return target.metric if target is not None else "relative_l2"


def _values(entry: dict, metric: str) -> list[float]:
    """The finished seeds' values of ``metric`` (floored at 1e-12: logs)."""
    return [max(float(v), 1e-12) for v in entry.get("values", {}).get(metric, []) if v is not None]


def baseline_status(entry: dict | None, problem: str, budget: str) -> dict:
    """Whether a reference configuration meets its problem's target: the
    geometric mean of the target metric over its finished seeds at most the
    threshold, with every seed finished. ``met`` is None when the problem has
    no target for this budget."""
    target = target_of(problem, budget)
    if target is None:
        return {"metric": "relative_l2", "threshold": None, "value": None, "met": None}
    values = _values(entry, target.metric) if entry else []
    value = stats.geometric_mean(values) if values else None
    complete = entry is not None and entry["n_ok"] == entry["n_runs"] and entry["n_runs"] > 0
    met = value is not None and complete and value <= target.threshold
    return {"metric": target.metric, "threshold": target.threshold, "value": value, "met": bool(met)}


def compare(a: dict | None, b: dict | None, metric: str = "relative_l2") -> dict | None:
    """Compares two summary entries on ``log(metric)``: Welch's t-test, the
    ratio of geometric means ``gm(a) / gm(b)`` and its bootstrap interval
    (:mod:`keras_pinn.study.stats`). None when either was not run or crashed
    in every run, or neither has a finished seed. A configuration with no
    finished seed (every run diverged) against one with finished seeds gets
    ``ratio`` infinity (``a``) or 0 (``b``) and no test."""
    if a is None or b is None or _crashed(a) or _crashed(b):
        return None
    va, vb = _values(a, metric), _values(b, metric)
    if not va and not vb:
        return None
    out = {
        "metric": metric,
        "n": len(va),
        "n_reference": len(vb),
        "mean": a["error"]["mean"],
        "reference_mean": b["error"]["mean"],
        "gm": None,
        "reference_gm": None,
        "ratio": None,
        "ratio_low": None,
        "ratio_high": None,
        "t": None,
        "df": None,
        "p": None,
    }
    if not va or not vb:
        out["ratio"] = math.inf if not va else 0.0
        return out
    ci = stats.ratio_ci(va, vb)
    test = stats.welch(va, vb)
    out.update(
        gm=stats.geometric_mean(va),
        reference_gm=stats.geometric_mean(vb),
        ratio=ci["ratio"],
        ratio_low=ci["low"],
        ratio_high=ci["high"],
        t=test["t"],
        df=test["df"],
        p=test["p"],
    )
    return out


_EXPECTS = {
    "better": {"better": True, "worse": False},
    "worse": {"worse": True, "better": False},
    "not better": {"better": False, "worse": True},
}


def _agrees(expects: str | None, verdict: str) -> bool | None:
    """Does a decided verdict agree with the article's claim? None when the
    article makes no claim or the verdict decides nothing ("inconclusive",
    "baseline unsolved")."""
    if expects is None:
        return None
    return _EXPECTS[expects].get(verdict)


def _fmt_p(p: float | None) -> str:
    if p is None:
        return "n/a"
    return f"{p:.2g}" if p >= 1e-3 else f"{p:.1e}"


def _line(c: dict, problem: str, r: dict) -> str:
    """One verdict line: names the test, the p-values and the ratio CI."""
    a, b = VARIANTS[c["variant"]].label, VARIANTS[c["reference"]].label
    metric = "shock position error" if r["metric"] == "shock_position_error" else "relative L2"
    base = r["baseline"]
    baseline = ""
    if base["met"] is not None:
        baseline = (
            f"; baseline {metric} {format_number(base['value'])} "
            f"(target <= {base['threshold']:g}: {'met' if base['met'] else 'missed'})"
        )
    if r["ratio"] is not None and not math.isfinite(r["ratio"]):
        stat = "every run of the variant diverged"
    elif r["ratio"] == 0.0 and r["gm"] is None:
        stat = "every run of the reference diverged"
    else:
        ci = (
            "95 % CI n/a"
            if r["ratio_low"] is None
            else f"95 % CI {format_number(r['ratio_low'])}-{format_number(r['ratio_high'])}"
        )
        stat = (
            f"{metric} ratio {format_number(r['ratio'])} ({ci}, bootstrap; {r['n']} vs {r['n_reference']} "
            f"seeds), Welch's t-test on log errors p = {_fmt_p(r['p'])}, Holm-corrected p = "
            f"{_fmt_p(r['p_corrected'])}"
        )
    return f"{a} vs {b} on {problem}: **{r['verdict']}** ({stat}{baseline})"


def verdicts(options: StudyOptions, summary: list[dict], backends: Sequence[str]) -> list[dict]:
    """The verdicts, computed from the numbers.

    For every idea, backend, comparison and problem: the variant's errors
    against the reference's on a log scale (:func:`compare`), Holm-corrected
    over every comparison of the report, and :func:`stats.decide`'s verdict:
    ``"better"`` / ``"worse"`` for an effect of at least 1.5x with corrected
    p < 0.05, ``"inconclusive"`` otherwise, ``"baseline unsolved"`` when the
    reference misses its problem's target (:data:`config.TARGETS`).
    """
    budget = options.budget.name
    found: list[dict] = []
    cells = []  # every (problem result) with a p-value, for Holm
    for idea_key in options.ideas:
        idea = IDEAS[idea_key]
        for backend in backends:
            comparisons = []
            for c in idea.comparisons:
                per_problem = {}
                for problem in options.idea_problems(idea_key):
                    reference = _find(summary, backend, problem, c.reference)
                    result = compare(
                        _find(summary, backend, problem, c.variant), reference, comparison_metric(problem, budget)
                    )
                    if result is None:
                        continue
                    result["baseline"] = baseline_status(reference, problem, budget)
                    per_problem[problem] = result
                    cells.append(result)
                if per_problem:
                    comparisons.append(
                        {
                            "variant": c.variant,
                            "reference": c.reference,
                            "per_problem": per_problem,
                            "article_expects": c.article_expects,
                            "claim": c.claim,
                        }
                    )
            found.append(
                {
                    "idea": idea_key,
                    "number": idea.number,
                    "title": idea.title,
                    "backend": backend,
                    "comparisons": comparisons,
                }
            )
    for r, p in zip(cells, stats.holm([r["p"] for r in cells])):
        r["p_corrected"] = p
        if r["baseline"]["met"] is not False and r["ratio"] is not None and not math.isfinite(r["ratio"]):
            r["verdict"] = "worse"  # every run of the variant diverged, the reference's did not
        elif r["baseline"]["met"] is not False and r["ratio"] == 0.0 and r["gm"] is None:
            r["verdict"] = "better"
        else:
            r["verdict"] = stats.decide(r["ratio"], p, r["baseline"]["met"])
    for v in found:
        for c in v["comparisons"]:
            lines, agree, disagree = [], 0, 0
            for problem, r in c["per_problem"].items():
                r["agrees_with_article"] = _agrees(c["article_expects"], r["verdict"])
                agree += r["agrees_with_article"] is True
                disagree += r["agrees_with_article"] is False
                lines.append(_line(c, problem, r))
            verdict_set = {r["verdict"] for r in c["per_problem"].values()}
            c["verdict"] = verdict_set.pop() if len(verdict_set) == 1 else "mixed"
            c["n_agree"], c["n_disagree"] = agree, disagree
            c["agrees_with_article"] = (
                None
                if c["article_expects"] is None or agree + disagree == 0
                else True
                if disagree == 0
                else False
                if agree == 0
                else None
            )
            c["lines"] = lines
            c["text"] = "; ".join(lines)
        judged = [c for c in v["comparisons"] if c["article_expects"] is not None]
        agree = sum(c["n_agree"] for c in judged)
        disagree = sum(c["n_disagree"] for c in judged)
        undecided = sum(len(c["per_problem"]) for c in judged) - agree - disagree
        v.update(n_agree=agree, n_disagree=disagree, n_undecided=undecided)
        if not judged:
            v["headline"] = "no comparison with a claim of the article could be made (variants missing)"
        else:
            v["headline"] = (
                f"of {agree + disagree + undecided} tested claim(s), {agree} agree with the article, "
                f"{disagree} disagree, {undecided} undecided (inconclusive or baseline unsolved)"
            )
    return found


# -- figures ------------------------------------------------------------------------


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _load(out: Path, name: str | None) -> dict | None:
    if not name:
        return None
    path = out / "arrays" / name
    if not path.exists():
        return None
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def _image(values: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Grid values (C order, first coordinate slowest) as an image with the
    first coordinate horizontal and the second vertical."""
    return np.asarray(values).reshape(tuple(shape)).T


def _extent(facts: dict) -> list[float]:
    return [facts["lower"][0], facts["upper"][0], facts["lower"][1], facts["upper"][1]]


def _runs_by_id(runs: list[dict]) -> dict:
    return {(r["backend"], r["run_id"]): r for r in runs}


def _figure_solutions(
    out: Path, fig_dir: Path, backend: str, idea: str, problem: str, entries: list[dict], runs: dict, facts: dict
) -> str | None:
    """Prediction and error map of the best seed of each variant, and the
    reference."""
    panels = []
    for entry in entries:
        run = runs.get((backend, entry["best_run"])) if entry["best_run"] else None
        data = _load(out, run.get("arrays")) if run else None
        ref = _load(out, run.get("reference")) if run else None
        if data is not None and ref is not None:
            panels.append((entry, data, ref))
    if not panels or len(facts["names"]) != 2:
        return None
    plt = _pyplot()
    n = len(panels) + 1
    fig, axes = plt.subplots(2, n, figsize=(2.3 * n, 4.4), squeeze=False)
    ref0 = panels[0][2]
    vmin, vmax = float(ref0["solution"].min()), float(ref0["solution"].max())  # shared colour scale
    names = facts["names"]
    axes[0, 0].imshow(
        _image(ref0["solution"], ref0["shape"]),
        origin="lower",
        extent=_extent(facts),
        aspect="auto",
        cmap="viridis",
        vmin=vmin,
        vmax=vmax,
    )
    axes[0, 0].set_title("reference", fontsize=8)
    axes[1, 0].axis("off")
    note = textwrap.fill(facts["description"], 30)
    axes[1, 0].text(
        0.0,
        0.5,
        f"{note}\n\nbest seed of each variant\ntop: prediction\nbottom: |prediction - reference|",
        fontsize=7,
        va="center",
    )
    for k, (entry, data, ref) in enumerate(panels, 1):
        shape = ref["shape"]
        err = np.abs(data["prediction"] - ref["solution"].ravel())
        axes[0, k].imshow(
            _image(data["prediction"], shape),
            origin="lower",
            extent=_extent(facts),
            aspect="auto",
            cmap="viridis",
            vmin=vmin,
            vmax=vmax,
        )
        axes[0, k].set_title(
            f"{VARIANTS[entry['variant']].label}\nseed {entry['best_seed']}, "
            f"rel. L2 {format_number(entry['error']['min'])}",
            fontsize=7,
        )
        im = axes[1, k].imshow(_image(err, shape), origin="lower", extent=_extent(facts), aspect="auto", cmap="magma")
        fig.colorbar(im, ax=axes[1, k], shrink=0.8)
    for ax in axes.ravel():
        ax.tick_params(labelsize=6)
    for ax in axes[:, 0]:
        ax.set_ylabel(names[1], fontsize=7)
    for ax in axes[1, 1:]:
        ax.set_xlabel(names[0], fontsize=7)
    fig.subplots_adjust(left=0.06, right=0.97, bottom=0.1, top=0.88, wspace=0.35, hspace=0.35)
    name = f"solutions_{backend}_{idea}_{problem}.png"
    fig.savefig(fig_dir / name, dpi=FIGURE_DPI)
    plt.close(fig)
    return name


def _figure_losses(fig_dir: Path, backend: str, idea: str, problem: str, entries: list[dict], runs: dict) -> str | None:
    """Loss per term over training, best seed of each variant."""
    candidates = [(e, runs.get((backend, e["best_run"]))) for e in entries if e["best_run"]]
    shown: list[tuple[dict, dict]] = [(e, r) for e, r in candidates if r and r.get("history")]
    if not shown:
        return None
    plt = _pyplot()
    n = len(shown)
    fig, axes = plt.subplots(1, n, figsize=(2.6 * n, 2.6), squeeze=False, sharey=True)
    for ax, (entry, run) in zip(axes[0], shown):
        steps = run["steps_per_epoch"] * (np.arange(len(run["history"]["loss"])) + 1)
        for key in sorted(run["history"], key=lambda k: (k != "loss", k)):
            values = np.asarray([np.nan if v is None else v for v in run["history"][key]], dtype="float64")
            label = "total" if key == "loss" else key.removesuffix("_loss")
            ax.semilogy(steps, values, lw=1.6 if key == "loss" else 1.0, label=label)
        ax.set_title(f"{VARIANTS[entry['variant']].label}\n(seed {entry['best_seed']})", fontsize=7)
        ax.set_xlabel("step", fontsize=7)
        ax.tick_params(labelsize=6)
        ax.legend(fontsize=6)
    axes[0, 0].set_ylabel("mean squared residual", fontsize=7)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.17, top=0.82, wspace=0.1)
    name = f"losses_{backend}_{idea}_{problem}.png"
    fig.savefig(fig_dir / name, dpi=FIGURE_DPI)
    plt.close(fig)
    return name


def _figure_codes(out: Path, fig_dir: Path, backend: str, entry: dict | None, runs: dict, facts: dict) -> str | None:
    """The VectorQuantizer's code at each point of (x, t), with the exact
    shock front x = shock_speed * t."""
    run = runs.get((backend, entry["best_run"])) if entry and entry["best_run"] else None
    data = _load(out, run.get("arrays")) if run else None
    ref = _load(out, run.get("reference")) if run else None
    if entry is None or run is None or data is None or ref is None or "codes" not in data:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(9.5, 3.0))
    shape = ref["shape"]
    n_codes = int(run.get("info", {}).get("vq_codes", int(data["codes"].max()) + 1))
    im = axes[0].imshow(
        _image(data["codes"], shape),
        origin="lower",
        extent=_extent(facts),
        aspect="auto",
        cmap="tab10" if n_codes <= 10 else "tab20",
        vmin=-0.5,
        vmax=n_codes - 0.5,
        interpolation="nearest",
    )
    fig.colorbar(im, ax=axes[0], ticks=range(n_codes), label="code")
    used = np.unique(data["codes"]).size
    axes[0].set_title(f"VQ code per point ({used} of {n_codes} codes used)", fontsize=8)
    axes[1].imshow(
        _image(data["prediction"], shape),
        origin="lower",
        extent=_extent(facts),
        aspect="auto",
        cmap="viridis",
        vmin=0,
        vmax=1,
    )
    axes[1].set_title(
        f"prediction (seed {entry['best_seed']}, rel. L2 {format_number(entry['error']['min'])})", fontsize=8
    )
    axes[2].imshow(
        _image(ref["solution"], shape),
        origin="lower",
        extent=_extent(facts),
        aspect="auto",
        cmap="viridis",
        vmin=0,
        vmax=1,
    )
    axes[2].set_title("exact (Welge) solution", fontsize=8)
    speed = facts.get("shock_speed")
    if speed:
        t = np.linspace(facts["lower"][1], facts["upper"][1], 50)
        x = speed * t
        keep = x <= facts["upper"][0]
        for ax in axes:
            ax.plot(x[keep], t[keep], "w--", lw=1.5, label=f"shock x = {speed:.3f} t")
        axes[0].legend(fontsize=7, loc="lower right")
    for ax in axes:
        ax.set_xlabel(facts["names"][0])
        ax.set_ylabel(facts["names"][1])
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.16, top=0.9, wspace=0.3)
    name = f"vq_codes_{backend}.png"
    fig.savefig(fig_dir / name, dpi=FIGURE_DPI)
    plt.close(fig)
    return name


def _figure_tsne(out: Path, fig_dir: Path, backend: str, problem: str, entry: dict | None, runs: dict) -> str | None:
    """t-SNE of the baseline's hidden representations of collocation points,
    coloured by layer and by the predicted value (the article's
    introduction)."""
    run = runs.get((backend, entry["best_run"])) if entry and entry["best_run"] else None
    data = _load(out, run.get("arrays")) if run else None
    if entry is None or data is None or "hidden" not in data:
        return None
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    hidden = data["hidden"]  # (layers, points, width)
    if hidden.ndim == 2:  # one hidden layer
        hidden = hidden[None]
    n_layers, n_points, width = hidden.shape
    features = hidden.reshape(-1, width)
    perplexity = float(min(30.0, max(2.0, (features.shape[0] - 1) / 3.0)))
    # One OpenMP thread: on a small, shared CPU sklearn's Barnes-Hut t-SNE is
    # several times faster single-threaded than oversubscribed.
    with threadpool_limits(1):
        embedding = TSNE(
            n_components=2, perplexity=perplexity, init="pca", random_state=0, max_iter=TSNE_ITERATIONS
        ).fit_transform(features)
    layer = np.repeat(np.arange(n_layers), n_points)
    value = np.tile(data["tsne_prediction"], n_layers)
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(8.0, 3.4))
    sc = axes[0].scatter(embedding[:, 0], embedding[:, 1], c=layer, cmap="tab10", s=6, vmin=-0.5, vmax=9.5)
    handles = [
        axes[0].scatter([], [], color=sc.cmap(sc.norm(k)), s=12, label=f"hidden layer {k + 1}") for k in range(n_layers)
    ]
    axes[0].legend(handles=handles, fontsize=7, loc="best")
    axes[0].set_title("coloured by layer", fontsize=8)
    sc = axes[1].scatter(embedding[:, 0], embedding[:, 1], c=value, cmap="viridis", s=6)
    fig.colorbar(sc, ax=axes[1], label="predicted u")
    axes[1].set_title("coloured by the predicted value", fontsize=8)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(
        f"t-SNE of the baseline's hidden layers, {n_points} collocation points ({problem}, seed {entry['best_seed']})",
        fontsize=9,
    )
    fig.subplots_adjust(left=0.02, right=0.95, bottom=0.03, top=0.85, wspace=0.08)
    name = f"tsne_{backend}_{problem}.png"
    fig.savefig(fig_dir / name, dpi=FIGURE_DPI)
    plt.close(fig)
    return name


def _figure_error_time(fig_dir: Path, backend: str, problem: str, merged_runs: list[dict]) -> str | None:
    """Relative L2 error against training wall time (every seed of every
    variant on ``problem``; the error is measured on a coarser grid during
    training, its measuring time taken out)."""
    by_variant: dict[str, list[dict]] = {}
    for run in merged_runs:
        if run.get("backend") == backend and run.get("problem") == problem and run.get("error_trace"):
            by_variant.setdefault(run["variant"], []).append(run)
    if not by_variant:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    colours = plt.get_cmap("tab20")
    for k, (variant, members) in enumerate(by_variant.items()):
        for j, run in enumerate(members):
            trace = [(t, e) for _, t, e in run["error_trace"] if e is not None]
            if not trace:
                continue
            t, e = zip(*trace)
            ax.semilogy(
                t, e, "-o", ms=2, lw=1, color=colours(k % 20), label=VARIANTS[variant].label if j == 0 else None
            )
    ax.set_xlabel("training wall time (s)", fontsize=8)
    ax.set_ylabel("relative L2 error", fontsize=8)
    ax.set_title(f"{problem} ({backend}): error against training time, every seed", fontsize=9)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.subplots_adjust(left=0.1, right=0.66, bottom=0.13, top=0.9)
    name = f"error_time_{backend}_{problem}.png"
    fig.savefig(fig_dir / name, dpi=FIGURE_DPI)
    plt.close(fig)
    return name


def make_figures(
    out: Path, options: StudyOptions, merged: dict, summary: list[dict], notes: list[str] | None = None
) -> dict:
    """Writes every figure under ``<out>/figures``; returns
    ``{key: file name}`` (keys ``solutions/<backend>/<idea>/<problem>``,
    ``losses/...``, ``vq_codes/<backend>``, ``tsne/<backend>/<problem>``).

    A figure that cannot be drawn is skipped: its key and the error are
    appended to ``notes`` (the report lists them), and the other figures and
    the results are written all the same."""
    out = Path(out)
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    runs = _runs_by_id(merged["runs"])
    figures: dict[str, str] = {}
    notes = [] if notes is None else notes

    def draw(key: str, function, *args) -> None:
        try:
            name = function(*args)
        except Exception as error:  # a figure must never cost the results
            notes.append(f"figure `{key}` skipped: {type(error).__name__}: {' '.join(str(error).split())[:300]}")
            try:
                _pyplot().close("all")
            except Exception:  # pragma: no cover - Matplotlib itself is broken
                pass
            return
        if name:
            figures[key] = name

    backends = list(merged["backends"])
    for backend in backends:
        for idea in options.ideas:
            for problem in options.idea_problems(idea):
                entries = [
                    e for v in options.idea_variants(idea) if (e := _find(summary, backend, problem, v)) is not None
                ]
                facts = merged["problems"].get(problem)
                if not entries or facts is None:
                    continue
                draw(
                    f"solutions/{backend}/{idea}/{problem}",
                    _figure_solutions,
                    out,
                    fig_dir,
                    backend,
                    idea,
                    problem,
                    entries,
                    runs,
                    facts,
                )
                draw(
                    f"losses/{backend}/{idea}/{problem}", _figure_losses, fig_dir, backend, idea, problem, entries, runs
                )
                if idea == "vector_quantization":
                    draw(
                        f"vq_codes/{backend}",
                        _figure_codes,
                        out,
                        fig_dir,
                        backend,
                        _find(summary, backend, problem, "vq"),
                        runs,
                        facts,
                    )
        for problem in dict.fromkeys(e["problem"] for e in summary if e["backend"] == backend):
            draw(f"error_time/{backend}/{problem}", _figure_error_time, fig_dir, backend, problem, merged["runs"])
            draw(
                f"tsne/{backend}/{problem}",
                _figure_tsne,
                out,
                fig_dir,
                backend,
                problem,
                _find(summary, backend, problem, "mlp"),
                runs,
            )
    return figures


# -- report.md --------------------------------------------------------------------

TABLE_HEADER = (
    "| variant | rel. L2 error, mean ± std | min | max | finished seeds | final loss | "
    "fit time (s) | steps/s | parameters |"
)


def _table(entries: list[dict]) -> list[str]:
    lines = [TABLE_HEADER, "|---|---|---|---|---|---|---|---|---|"]
    for e in entries:
        err = e["error"]
        note = ""
        if e["n_failed"]:
            note = f" ({e['n_failed']} failed)"
        elif e["n_diverged"]:
            note = f" ({e['n_diverged']} diverged)"
        lines.append(
            f"| {VARIANTS[e['variant']].label} (`{e['variant']}`) | {format_number(err['mean'])} ± "
            f"{format_number(err['std'])} | {format_number(err['min'])} | {format_number(err['max'])} | "
            f"{e['n_ok']}/{e['n_runs']}{note} | {format_number(e['final_loss'])} | "
            f"{format_number(e['wall_time_s'])} | {format_number(e['steps_per_second'])} | "
            f"{e['n_params'] if e['n_params'] is not None else '—'} |"
        )
    return lines


def _targets_lines(options: StudyOptions, merged: dict, summary: list[dict]) -> list[str]:
    """The baselines' targets and whether each baseline met them."""
    budget = options.budget.name
    references = {
        (c.reference, p) for i in options.ideas for c in IDEAS[i].comparisons for p in options.idea_problems(i)
    }
    rows = []
    for e in summary:
        if (e["variant"], e["problem"]) not in references:
            continue
        status = baseline_status(e, e["problem"], budget)
        if status["met"] is None:
            continue
        rows.append(
            f"| {e['backend']} | {e['problem']} | {VARIANTS[e['variant']].label} (`{e['variant']}`) | "
            f"{status['metric']} | {format_number(status['threshold'])} | "
            f"{format_number(status['value'])} | {'yes' if status['met'] else '**no**'} |"
        )
    if not rows:
        return []
    return [
        f"Baseline targets (budget `{budget.split('+')[0]}`; geometric mean over the seeds, every seed finished):",
        "",
        "| backend | problem | reference | metric | target (at most) | value | met |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]


def _metrics_table(entries: list[dict]) -> list[str]:
    """Buckley-Leverett's shock metrics, geometric/arithmetic means over the seeds."""
    keys = [
        ("relative_l2", "rel. L2"),
        ("shock_position_error", "shock position error"),
        ("relative_l1", "rel. L1"),
        ("front_width", "10-90 % front width"),
        ("relative_l2_outside_band", "rel. L2 outside the front band"),
    ]
    if not any("shock_position_error" in e.get("values", {}) for e in entries):
        return []
    lines = [
        "| variant | " + " | ".join(label for _, label in keys) + " | diffusion floor (rel. L2 / shock) |",
        "|---|" + "---|" * (len(keys) + 1),
    ]
    for e in entries:
        cells = []
        for key, _ in keys:
            values = [v for v in e.get("values", {}).get(key, []) if v is not None]
            cells.append(format_number(float(np.mean(values))) if values else "—")
        floor = e.get("diffusion_floor")
        floor_text = (
            "—"
            if not floor
            else f"{format_number(floor['relative_l2'])} / {format_number(floor['shock_position_error'])}"
            f" (eps {floor['diffusion']:g})"
        )
        lines.append(f"| `{e['variant']}` | " + " | ".join(cells) + f" | {floor_text} |")
    return [
        *lines,
        "",
        "Means over the seeds. Shock position error: mean over t = 0.25, 0.5, 0.75 of |x_f - sigma t| / "
        "(sigma t), x_f where the prediction last falls below s*/2. Front width: distance between the "
        "last crossings of 0.9 s* and 0.1 s* (exact: 0). The band left out is 0.05 either side of the "
        "exact front. Diffusion floor: the distance of the exact solution of the diffused problem "
        "(finite volumes) from the inviscid reference, the error a perfect `mlp_diffusion` would still "
        "have.",
        "",
    ]


def _unit_box(facts: dict) -> bool:
    return bool(facts) and all(lo == -1.0 for lo in facts["lower"]) and all(hi == 1.0 for hi in facts["upper"])


def _markdown(
    options: StudyOptions,
    merged: dict,
    summary: list[dict],
    found: list[dict],
    figures: dict,
    wall_time_s: float | None,
    command: str | None,
) -> str:
    b = options.budget
    lines = ["# keras-pinn study: four ideas for PINNs that failed", ""]
    lines += [
        "Reproduces the experiments of R. Bischof, *4 Ideas for Physics-Informed Neural Networks that "
        "Failed*, with keras-pinn. Every number below is computed from `results.json` in this folder.",
        "",
        f"- command: `{command or 'python -m keras_pinn.study'}`",
        f"- written: {time.strftime('%Y-%m-%d %H:%M:%S')}"
        + (f", total wall time {wall_time_s:.0f} s" if wall_time_s is not None else ""),
        f"- budget `{b.name}`: {len(options.seeds)} seed(s) {list(options.seeds)}, {b.steps} Adam steps "
        f"(learning rate {b.learning_rate:g}, decayed to a tenth), {b.n_collocation} collocation points, "
        f"{b.n_condition} points per condition, {b.depth} hidden layers of {b.width} units",
        f"- ideas 1 to 3 on: {', '.join(options.problems)}; idea 4 on Buckley-Leverett (M = 2); "
        f"artificial diffusion of `mlp_diffusion`: {options.diffusion:g}",
    ]
    for backend, meta in merged["backends"].items():
        versions = meta.get("versions") or {}
        version_text = ", ".join(
            f"{k} {versions[k]}" for k in ("keras", backend, "jaxlib", "tensorflow-cpu") if k in versions
        )
        wall = meta.get("wall_time_s")
        lines.append(
            f"- backend **{backend}**: {meta.get('status')}"
            + (f", {wall:.0f} s" if wall is not None else "")
            + (f" ({version_text})" if version_text else "")
        )
    quick = b.name.split("+")[0] != "full"
    lines += ["", "## Verdicts", ""]
    if quick:
        lines += [
            "**This is a smoke test, not evidence.** The quick budget trains small networks for a few "
            "hundred steps with few seeds; its verdicts show that the pipeline works and that the "
            "baselines are working networks (each meets its quick target below), not whether the "
            "article's claims hold. Run `keras-pinn study --budget full` for that.",
            "",
        ]
    lines += _targets_lines(options, merged, summary)
    for v in found:
        lines.append(f"- **Idea {v['number']}, {v['title']}** ({v['backend']}): {v['headline']}.")
        for c in v["comparisons"]:
            for line, r in zip(c["lines"], c["per_problem"].values()):
                judged = {
                    True: "agrees with the article",
                    False: "disagrees with the article",
                    None: "no claim in the article" if c["article_expects"] is None else "undecided",
                }[r["agrees_with_article"]]
                lines.append(f"  - {line}: {judged}.")
    lines += [
        "",
        "How to read the verdicts: each compares the variant's errors with the reference's over the "
        "seeds on a log scale (errors are roughly log-normal). The ratio is that of the geometric means "
        "(below 1: the variant's errors are lower), with a seeded percentile-bootstrap 95 % confidence "
        "interval; the p-value is Welch's t-test on the log errors, Holm-corrected over every comparison "
        'of this report. A verdict is "better" or "worse" only for a ratio of at least 1.5 (either '
        'way) with corrected p < 0.05, else "inconclusive"; it is "baseline unsolved" whenever the '
        "reference misses its problem's target, whatever the numbers. Buckley-Leverett comparisons use "
        "the shock position error (its target metric); the others the relative L2 error on the "
        "problem's evaluation grid (idea 3: on the collocation grid, the only points a GridConv can "
        "predict).",
        "",
    ]
    entries_by = {(e["backend"], e["problem"], e["variant"]): e for e in summary}
    for idea_key in options.ideas:
        idea = IDEAS[idea_key]
        lines += [f"## Idea {idea.number}: {idea.title}", ""]
        for v in (x for x in found if x["idea"] == idea_key):
            lines.append(f"Verdict ({v['backend']}): {v['headline']}.")
            lines.append("")
            for c in v["comparisons"]:
                claim = (
                    "the article makes no claim here"
                    if c["article_expects"] is None
                    else f'the article: "{c["claim"]}" (expects {c["article_expects"]})'
                )
                lines.append(f"- {VARIANTS[c['variant']].label} vs {VARIANTS[c['reference']].label}: {claim}.")
                for line in c["lines"]:
                    lines.append(f"  - {line}.")
            lines.append("")
        for backend in merged["backends"]:
            for problem in options.idea_problems(idea_key):
                entries = [
                    entries_by[k] for v in options.idea_variants(idea_key) if (k := (backend, problem, v)) in entries_by
                ]
                if not entries:
                    continue
                desc = merged["problems"].get(problem, {}).get("description", problem)
                grid = entries[0].get("eval_grid")
                lines += [
                    f"### {problem} ({backend})",
                    "",
                    f"{desc}; error on a {'x'.join(map(str, grid)) if grid else '?'} grid.",
                    "",
                ]
                lines += _table(entries)
                lines.append("")
                lines += _metrics_table(entries)
                lines += _shock_table(entries)
                for e in entries:
                    full = [v for v in e.get("values", {}).get("relative_l2_full_set_statistics", []) if v is not None]
                    if full:
                        lines += [
                            f"`{e['variant']}` scored with the batch statistics of the whole evaluation set "
                            f"(training mode) instead of its moving averages: relative L2 "
                            f"{format_number(float(np.mean(full)))} (mean over the seeds; moving averages: "
                            f"{format_number(e['error']['mean'])}).",
                            "",
                        ]
                facts = merged["problems"].get(problem, {})
                if idea_key == "normalization" and _unit_box(facts):
                    lines += [
                        "Note: this domain is already [-1, 1] in every coordinate, so DomainScaler is the "
                        "identity here and `mlp` and `no_scaling` are the same network (a tie).",
                        "",
                    ]
                for e in entries:
                    for message in e["messages"]:
                        lines.append(f"- `{e['variant']}` failed: {' '.join(message.split())[:400]}")
                    if e["warnings"]:
                        more = len(e["warnings"]) - 1
                        lines.append(
                            f"- `{e['variant']}` warned: {e['warnings'][0]}"
                            + (f" (and {more} similar warning(s))" if more else "")
                        )
                if any(e["messages"] or e["warnings"] for e in entries):
                    lines.append("")
                for key, title in (("solutions", "solutions and error maps"), ("losses", "loss per term")):
                    name = figures.get(f"{key}/{backend}/{idea_key}/{problem}")
                    if name:
                        lines.append(f"![{problem} {idea_key} {title} ({backend})](figures/{name})")
                        lines.append("")
                if idea_key == "vector_quantization" and figures.get(f"vq_codes/{backend}"):
                    lines += [
                        f"![VectorQuantizer codes over (x, t) with the exact shock front ({backend})]"
                        f"(figures/{figures[f'vq_codes/{backend}']})",
                        "",
                    ]
    error_time = [(k, v) for k, v in figures.items() if k.startswith("error_time/")]
    if error_time:
        lines += [
            "## Error against training time",
            "",
            "Relative L2 error during training (on a coarser grid, a quarter of the evaluation grid's "
            "points per dimension; grid networks on their grid) against the training wall time, every "
            "seed; the time spent measuring the error is left out. The first point includes the "
            "compilation.",
            "",
        ]
        for key, name in error_time:
            _, backend, problem = key.split("/")
            lines += [f"![error against time, {problem} ({backend})](figures/{name})", ""]
    tsne = [(k, v) for k, v in figures.items() if k.startswith("tsne/")]
    if tsne:
        lines += [
            "## Hidden representations of the baseline (t-SNE)",
            "",
            "As in the article's introduction: a joint t-SNE of every hidden layer's representation of "
            f"{options.budget.tsne_points} collocation points (best seed of the tanh MLP), coloured by "
            "layer and by the predicted value.",
            "",
        ]
        for key, name in tsne:
            _, backend, problem = key.split("/")
            lines += [f"![t-SNE {problem} ({backend})](figures/{name})", ""]
    lines += ["## Variants", "", "| name | what it is |", "|---|---|"]
    used = {e["variant"] for e in summary}
    lines += [f"| `{v.name}` | {v.description} |" for v in VARIANTS.values() if v.name in used]
    lines.append("")
    return "\n".join(lines)


def _clean(value):
    """Replaces NaN and infinities by None, recursively (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def _dumps(results: dict) -> str:
    """Strict JSON, compact but diffable: one line per top-level key and one
    line per entry of the top-level lists (runs, summary, verdicts)."""

    def compact(value) -> str:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)

    parts = []
    for key, value in results.items():
        if isinstance(value, list) and value:
            items = ",\n  ".join(compact(item) for item in value)
            parts.append(f" {compact(key)}: [\n  {items}\n ]")
        else:
            parts.append(f" {compact(key)}: {compact(value)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def write_report(
    out: str | Path,
    options: StudyOptions,
    backends: Sequence[str] | None = None,
    wall_time_s: float | None = None,
    command: str | None = None,
    figures: bool = True,
) -> dict:
    """Writes ``results.json``, ``report.md`` and ``figures/`` in ``out``
    from the workers' ``runs/<backend>.json``.

    Args:
        out: the report folder.
        options: the study's options.
        backends: backends to include (default: ``options.backends``).
        wall_time_s: total wall time of the study, for the report.
        command: the command line, for the report.
        figures: draw the figures.

    Returns:
        The results written to ``results.json``.
    """
    out = Path(out)
    backends = list(backends or options.backends)
    merged = load_runs(out, backends)
    summary = summarize(merged["runs"])
    found = verdicts(options, summary, [b for b in backends if merged["backends"][b].get("status") != "missing"])
    figure_notes: list[str] = []
    figs = make_figures(out, options, merged, summary, figure_notes) if figures else {}
    results = {
        "study": "keras-pinn: four ideas for PINNs that failed",
        "command": command,
        "written": time.strftime("%Y-%m-%d %H:%M:%S"),
        "wall_time_s": wall_time_s,
        "options": options.to_dict(),
        "backends": merged["backends"],
        "problems": merged["problems"],
        "summary": summary,
        "verdicts": found,
        "figures": figs,
        "figure_notes": figure_notes,
        "runs": merged["runs"],
    }
    results = _clean(results)
    (out / "results.json").write_text(_dumps(results))
    markdown = _markdown(options, merged, summary, found, figs, wall_time_s, command)
    if figure_notes:
        markdown += "\n## Figures not drawn\n\n" + "\n".join(f"- {n}" for n in figure_notes) + "\n"
    (out / "report.md").write_text(markdown)
    return results
