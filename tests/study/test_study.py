"""The article's study (keras_pinn.study): options and CLI validation, the run
plan, network builders, verdict logic, and a tiny study end to end on the
current backend (results.json, report.md and figures consistent)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import keras
import numpy as np
import pytest

from keras_pinn.study import config, report
from keras_pinn.study.config import BUDGETS, IDEAS, VARIANTS, make_options, plan_runs

BACKEND = keras.backend.backend()
STUDY_DIR = Path(__file__).resolve().parents[2] / "keras_pinn" / "study"


# --------------------------------------------------------------------------
# Options and command line
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, value",
    [
        ({"ideas": "1,bogus"}, "bogus"),
        ({"problems": "navier_stokes"}, "navier_stokes"),
        ({"backends": "theano"}, "theano"),
        ({"variants": "mlp,transformer"}, "transformer"),
        ({"seeds": "0"}, "0"),
        ({"seeds": "a,b"}, "a,b"),
        ({"budget": "huge"}, "huge"),
        ({"steps": 0}, "steps=0"),
        ({"diffusion": -1.0}, "diffusion=-1.0"),
        ({"ideas": "cnn", "problems": "buckley_leverett"}, "buckley_leverett"),
    ],
)
def test_make_options_rejects_bad_values_naming_them(kwargs, value):
    with pytest.raises(ValueError, match=re.escape(value)):
        make_options(**kwargs)


def test_make_options_parses_names_numbers_counts_and_lists():
    options = make_options(ideas="4, 1", problems="burgers", seeds="3", backends="torch,jax", steps=7)
    assert options.ideas == ("normalization", "vector_quantization")
    assert options.problems == ("burgers",)
    assert options.seeds == (0, 1, 2)
    assert options.backends == ("torch", "jax")
    assert options.budget.steps == 7 and options.budget.name == "quick+custom"
    assert make_options(seeds="4,7").seeds == (4, 7)
    assert make_options(seeds="5,").seeds == (5,)
    assert make_options().seeds == tuple(range(BUDGETS["quick"].seeds))
    assert make_options(ideas="all").ideas == tuple(IDEAS)
    assert make_options(backends="all").backends == config.BACKENDS


def test_default_backend_is_jax_when_installed(monkeypatch):
    import importlib.util

    expected = "jax" if importlib.util.find_spec("jax") else config.configured_backend()
    assert config.default_backend() == expected
    assert make_options().backends == (expected,)
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    assert config.configured_backend() == "torch"


@pytest.mark.parametrize(
    "argv, value",
    [
        (["--ideas", "9"], "'9'"),
        (["--problems", "burgers", "wave"], "'wave'"),
        (["--backend", "jax,mxnet"], "'mxnet'"),
        (["--budget", "huge"], "'huge'"),
        (["--variants", "cnn3d"], "'cnn3d'"),
        (["--seeds", "-1"], "-1"),
        (["--steps", "many"], "'many'"),
    ],
)
def test_cli_rejects_unknown_values_with_a_clear_error(argv, value, capsys):
    from keras_pinn.__main__ import main as console_main
    from keras_pinn.study.cli import main

    for entry, args in ((main, argv), (console_main, ["study", *argv])):
        with pytest.raises(SystemExit) as exit_info:
            entry(args)
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert "error" in err and value in err, err


def test_console_command_needs_a_subcommand(capsys):
    from keras_pinn.__main__ import main as console_main

    with pytest.raises(SystemExit):
        console_main([])
    assert "study" in capsys.readouterr().err


def test_parent_modules_import_no_backend():
    """The command-line parent must not import Keras or a backend before it
    starts the workers: config, cli, report, worker and __main__ import them
    (if at all) only inside functions."""
    heavy = {"keras", "jax", "tensorflow", "torch"}
    for path in [STUDY_DIR / f for f in ("config.py", "cli.py", "report.py", "worker.py", "__init__.py")] + [
        STUDY_DIR.parent / "__main__.py"
    ]:
        tree = ast.parse(path.read_text())
        for node in tree.body:
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in heavy, f"{path.name} imports {name} at module level"
                if name.startswith("keras_pinn.study."):
                    assert name.split(".")[-1] not in ("runner", "variants"), (path.name, name)


# --------------------------------------------------------------------------
# Plan, builders, hard constraints
# --------------------------------------------------------------------------


def test_plan_trains_shared_configurations_once():
    options = make_options(seeds=2)
    plan = plan_runs(options)
    ids = [r.run_id for r in plan]
    assert len(ids) == len(set(ids))
    # The tanh MLP is the baseline of ideas 1 and 2 (same problems): trained once per seed.
    assert options.problems == config.DEFAULT_PROBLEMS == ("heat_units",)
    assert ids.count("heat_units__mlp__s0") == 1
    assert not any(v in config.QUICK_SKIPS for r in plan for v in [r.variant])
    expected = (
        sum(len(options.idea_problems(i)) * len(options.idea_variants(i)) for i in options.ideas) * 2
        - len(options.problems) * 2
    )  # mlp shared by ideas 1 and 2 on each problem, 2 seeds
    assert len(plan) == expected
    bl = [r for r in plan if r.problem == "buckley_leverett"]
    assert {r.variant for r in bl} == {"mlp_welge", "vq_welge", "mlp", "vq", "mlp_diffusion"}
    assert all(r.problem_options == {"diffusion": options.diffusion} for r in bl if r.variant == "mlp_diffusion")
    assert options.diffusion <= 1e-3
    assert all(r.problem_options == {"flux": "welge"} for r in bl if r.variant.endswith("_welge"))
    full = make_options(budget="full")
    assert full.problems == config.FULL_PROBLEMS and len(full.seeds) >= 8
    assert "residual_mlp" in full.idea_variants("normalization")


def test_every_baseline_has_a_target_and_the_full_ones_are_the_issues():
    for budget in ("quick", "full"):
        for problem in config.PROBLEM_NAMES:
            assert config.target_of(problem, budget) is not None
    assert config.target_of("helmholtz", "full").threshold == 0.03
    assert config.target_of("burgers", "full").threshold == 0.02
    assert config.target_of("buckley_leverett", "full") == config.Target("shock_position_error", 0.02)
    assert config.target_of("burgers", "quick+custom") == config.target_of("burgers", "quick")


TINY = BUDGETS["quick"].replace(width=4, depth=2, vq_codes=3, vq_dim=2)


@pytest.mark.parametrize("variant", [v for v in VARIANTS if VARIANTS[v].builder != "gridconv"])
def test_every_variant_builds_and_maps_points_to_one_field(variant):
    from keras_pinn.problems import burgers
    from keras_pinn.study.variants import build_network

    problem = burgers()
    network = build_network(variant, problem.domain, problem.order, TINY)
    x = problem.domain.sample_interior(7, seed=0)
    assert tuple(network.model(x).shape) == (7, 1)
    assert network.info["n_params"] == network.model.count_params()
    if variant == "vq":
        codes = network.code_indices(x)
        assert codes.shape == (7,) and codes.min() >= 0 and codes.max() < TINY.vq_codes
    if variant == "mlp":
        hidden = network.hidden_values(x)
        assert len(hidden) == TINY.depth and hidden[0].shape == (7, TINY.width)


def test_gridconv_variant_works_on_its_grid():
    from keras_pinn.problems import helmholtz
    from keras_pinn.study.variants import build_network, grid_shape_of

    problem = helmholtz()
    budget = TINY.replace(n_collocation=20)
    network = build_network("gridconv_fd", problem.domain, problem.order, budget)
    assert network.grid_shape == grid_shape_of(problem.domain, 20) == (5, 5)
    assert tuple(network.model(problem.domain.grid((5, 5))).shape) == (25, 1)


@pytest.mark.parametrize("name", ["burgers", "heat", "heat_units", "helmholtz"])
def test_hard_constraint_imposes_the_conditions_exactly(name):
    from keras_pinn.problems import PROBLEMS
    from keras_pinn.study.variants import hard_constraint

    problem = PROBLEMS[name]()
    transform = hard_constraint(problem)
    domain = problem.domain
    u = np.random.default_rng(0).normal(size=(40, 1)).astype("float32") * 5
    walls = domain.sample_boundary(40, seed=0)
    target = problem.conditions(40)
    values = keras.ops.convert_to_numpy(transform(walls, u))
    np.testing.assert_allclose(values, 0.0, atol=1e-5)
    if name != "helmholtz":
        start = domain.sample_initial(40, seed=0)
        values = keras.ops.convert_to_numpy(transform(start, u))
        ic = [c for c in target if c.name == "ic"][0]
        np.testing.assert_allclose(values[:, 0], ic.targets(start)["y"].ravel(), atol=1e-5)
    with pytest.raises(ValueError, match="buckley_leverett"):
        hard_constraint(PROBLEMS["buckley_leverett"]())


# --------------------------------------------------------------------------
# Statistics and verdicts (no training)
# --------------------------------------------------------------------------


def _fake_runs(errors: dict) -> list[dict]:
    runs = []
    for (problem, variant), values in errors.items():
        for seed, e in enumerate(values):
            status = "failed" if e == "crash" else "ok" if e is not None else "diverged"
            runs.append(
                {
                    "backend": "jax",
                    "problem": problem,
                    "variant": variant,
                    "seed": seed,
                    "run_id": f"{problem}__{variant}__s{seed}",
                    "error": e if status == "ok" else None,
                    "status": status,
                    **({"message": "ValueError: boom"} if status == "failed" else {}),
                }
            )
    return runs


def test_summary_and_verdicts_come_from_the_numbers():
    errors = {
        ("burgers", "mlp"): [0.1, 0.2, 0.3],
        ("burgers", "no_scaling"): [0.5, 0.6, 0.7],
        ("heat_units", "mlp"): [0.01, 0.012, 0.011],
        ("heat_units", "no_scaling"): [0.3, 0.55, None],
        ("burgers", "batch_norm"): [None, None, None],
        ("heat_units", "batch_norm"): [0.011, 0.01, 0.012],
        ("burgers", "layer_norm"): [0.2, 0.2, 0.2],
        ("heat_units", "layer_norm"): [0.001, 0.0012, 0.0011],
        ("burgers", "residual_mlp"): ["crash", "crash", "crash"],
    }
    summary = report.summarize(_fake_runs(errors))
    entry = next(e for e in summary if (e["problem"], e["variant"]) == ("burgers", "mlp"))
    assert entry["error"]["mean"] == pytest.approx(0.2)
    assert entry["error"]["std"] == pytest.approx(0.1)
    assert (entry["error"]["min"], entry["error"]["max"], entry["best_seed"]) == (0.1, 0.3, 0)
    assert entry["values"]["relative_l2"] == [0.1, 0.2, 0.3]
    failed = next(e for e in summary if (e["problem"], e["variant"]) == ("burgers", "batch_norm"))
    assert failed["error"]["mean"] is None and failed["n_diverged"] == 3
    options = make_options(
        ideas="1", problems="burgers,heat_units", seeds=3, variants="mlp,no_scaling,batch_norm,layer_norm,residual_mlp"
    )
    (verdict,) = report.verdicts(options, summary, ["jax"])
    by = {(c["variant"], c["reference"]): c for c in verdict["comparisons"]}
    scaler = by[("no_scaling", "mlp")]
    from keras_pinn.study import stats

    for r in scaler["per_problem"].values():
        assert r["baseline"]["met"] is True  # mlp: 0.18 <= 0.6 on Burgers, 0.011 <= 0.15 on heat_units
        assert r["p_corrected"] >= r["p"]
        assert r["verdict"] == stats.decide(r["ratio"], r["p_corrected"], True)
    burgers = scaler["per_problem"]["burgers"]
    assert burgers["ratio"] == pytest.approx((0.5 * 0.6 * 0.7 / (0.1 * 0.2 * 0.3)) ** (1 / 3))
    assert scaler["per_problem"]["heat_units"]["n"] == 2  # the diverged seed has no error
    bn = by[("batch_norm", "mlp")]
    assert bn["per_problem"]["burgers"]["verdict"] == "worse"  # every run diverged
    assert bn["per_problem"]["heat_units"]["verdict"] == "inconclusive"  # same errors
    assert bn["per_problem"]["burgers"]["agrees_with_article"] is True
    ln = by[("layer_norm", "mlp")]
    assert ln["per_problem"]["heat_units"]["ratio"] == pytest.approx(0.1, rel=1e-9)
    assert ln["per_problem"]["heat_units"]["verdict"] == "better"  # 10x, tiny spread
    assert ln["per_problem"]["heat_units"]["agrees_with_article"] is False  # the article: not better
    # A configuration that crashed in every run says nothing: no comparison.
    assert ("residual_mlp", "mlp") not in by
    crashed = next(e for e in summary if e["variant"] == "residual_mlp")
    assert crashed["n_failed"] == 3 and crashed["messages"] == ["ValueError: boom"]
    for c in verdict["comparisons"]:
        for line in c["lines"]:
            assert any(w in line for w in ("Welch", "diverged")), line


# --------------------------------------------------------------------------
# A tiny study, end to end, in this process
# --------------------------------------------------------------------------


def _table_rows(markdown: str, heading: str) -> dict:
    """``{variant: [cells]}`` of the table under ``### heading``."""
    section = markdown.split(f"### {heading}\n", 1)[1]
    rows = {}
    for line in section.splitlines():
        if not line.strip() and rows:
            break  # the first table only
        if line.startswith("| ") and "`" in line:
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[re.search(r"`(\w+)`", cells[0]).group(1)] = cells
        elif line.startswith("#"):
            break
    return rows


def test_tiny_study_end_to_end(tmp_path):
    from keras_pinn.study import run_study

    options = make_options(
        ideas="4",
        variants="mlp,vq",
        seeds=1,
        steps=4,
        backends=BACKEND,
        out=str(tmp_path / "report"),
        width=4,
        depth=2,
        n_collocation=48,
        n_condition=8,
        tsne_points=16,
        log_points=2,
        vq_codes=3,
        vq_dim=2,
    )
    results = run_study(options, in_process=True, progress=False, command="pytest")
    out = tmp_path / "report"
    loaded = json.loads((out / "results.json").read_text())  # strict JSON
    assert loaded == results
    runs = loaded["runs"]
    assert {(r["problem"], r["variant"]) for r in runs} == {("buckley_leverett", "mlp"), ("buckley_leverett", "vq")}
    for run in runs:
        assert run["status"] in ("ok", "diverged"), run.get("message")
        assert run["backend"] == BACKEND and run["seed"] == 0 and run["steps"] == 4
        assert {"loss", "pde_loss", "ic_loss", "bc_loss"} <= set(run["history"])
        assert len(run["history"]["loss"]) == 2
        assert run["wall_time_s"] > 0 and run["steps_per_second"] > 0
    # the tanh MLP gets Taylor mode; the VQ network (which adds losses) autodiff
    assert {r["variant"]: r["derivative_method"] for r in runs} == {"mlp": "taylor", "vq": "autodiff"}
    assert loaded["backends"][BACKEND]["status"] == "complete"

    markdown = (out / "report.md").read_text()
    rows = _table_rows(markdown, f"buckley_leverett ({BACKEND})")
    assert set(rows) == {"mlp", "vq"} == {e["variant"] for e in loaded["summary"]}
    fmt = report.format_number
    for e in loaded["summary"]:
        cells, err = rows[e["variant"]], e["error"]
        assert cells[1] == f"{fmt(err['mean'])} ± {fmt(err['std'])}"
        assert cells[2:4] == [fmt(err["min"]), fmt(err["max"])]
        assert cells[4].startswith(f"{e['n_ok']}/{e['n_runs']}")
        assert cells[5:8] == [fmt(e["final_loss"]), fmt(e["wall_time_s"]), fmt(e["steps_per_second"])]
        run = next(r for r in runs if r["run_id"] == e["best_run"])
        assert err["mean"] == pytest.approx(run["error"])
        assert e["final_loss"] == pytest.approx(run["final_losses"]["loss"])
    for verdict in loaded["verdicts"]:
        assert verdict["headline"] in markdown

    figures = loaded["figures"]
    (verdict,) = loaded["verdicts"]
    assert [(c["variant"], c["reference"]) for c in verdict["comparisons"]] == [("vq", "mlp")]
    for key in (
        f"solutions/{BACKEND}/vector_quantization/buckley_leverett",
        f"losses/{BACKEND}/vector_quantization/buckley_leverett",
        f"vq_codes/{BACKEND}",
        f"tsne/{BACKEND}/buckley_leverett",
    ):
        assert key in figures, sorted(figures)
    for name in figures.values():
        path = out / "figures" / name
        assert path.stat().st_size > 1000
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"(figures/{name})" in markdown


@pytest.mark.parametrize("rate", [float("inf"), float("nan"), 0.0, -1e-3, True, "1e-3"])
def test_python_api_refuses_a_bad_learning_rate(rate):
    """make_options checks what the command line checks (#18, item 9)."""
    with pytest.raises(ValueError, match=r"`learning_rate` must be a positive finite number. Received: learning_rate="):
        make_options(learning_rate=rate)
