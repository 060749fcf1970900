"""The study's statistics (keras_pinn.study.stats) and verdicts on synthetic
results: Welch's test, the bootstrap ratio interval and Holm's correction
against hand-computed values and scipy.stats; "baseline unsolved" and
"inconclusive" verdicts from made-up runs. Plain NumPy/SciPy: the same on
every backend."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from keras_pinn.study import report, stats
from keras_pinn.study.config import make_options

# --------------------------------------------------------------------------
# Welch, bootstrap, Holm
# --------------------------------------------------------------------------


def test_welch_on_log_errors_matches_a_hand_computation():
    # log a = (0, 1, 2), log b = (1, 2, 3, 4): means 1 and 2.5, variances 1 and 5/3.
    a, b = np.exp([0.0, 1.0, 2.0]), np.exp([1.0, 2.0, 3.0, 4.0])
    se2 = 1.0 / 3 + (5.0 / 3) / 4  # 0.75
    t = (1.0 - 2.5) / math.sqrt(se2)
    df = se2**2 / ((1.0 / 3) ** 2 / 2 + ((5.0 / 3) / 4) ** 2 / 3)
    p = 2 * sps.t.sf(abs(t), df)
    result = stats.welch(a, b)
    assert result["t"] == pytest.approx(t, rel=1e-12)
    assert result["df"] == pytest.approx(df, rel=1e-12)
    assert result["p"] == pytest.approx(p, rel=1e-9)
    assert result["p"] == pytest.approx(sps.ttest_ind(np.log(a), np.log(b), equal_var=False).pvalue, rel=1e-12)


def test_welch_is_undefined_for_one_seed_or_no_spread():
    assert stats.welch([0.1], [0.2, 0.3])["p"] is None
    assert stats.welch([0.1, 0.1], [0.2, 0.2])["p"] is None


@pytest.mark.parametrize("bad", [[0.1, -0.2], [0.1, float("nan")], []])
def test_errors_must_be_positive_and_finite(bad):
    with pytest.raises(ValueError, match="Received: a="):
        stats.welch(bad, [0.1, 0.2])


def test_ratio_of_geometric_means_and_its_seeded_bootstrap_interval():
    a, b = [0.01, 0.04], [0.1, 0.4]
    ci = stats.ratio_ci(a, b)
    assert ci["ratio"] == pytest.approx(0.1, rel=1e-12)  # gm 0.02 / gm 0.2
    # Each log sample has two values, so every bootstrap mean is log(0.01),
    # log(0.02) or log(0.04) (and 10x for b): the ratio lies in [0.025, 0.4].
    assert 0.025 - 1e-12 <= ci["low"] <= ci["ratio"] <= ci["high"] <= 0.4 + 1e-12
    assert stats.ratio_ci(a, b) == ci  # seeded
    rng = np.random.default_rng(1)
    la, lb = rng.normal(0.0, 0.3, 8), rng.normal(1.0, 0.3, 8)
    ours = stats.ratio_ci(np.exp(la), np.exp(lb), seed=3)
    ref = sps.bootstrap(
        (la, lb),
        lambda x, y, axis=-1: x.mean(axis) - y.mean(axis),
        n_resamples=2000,
        method="percentile",
        vectorized=True,
        random_state=np.random.default_rng(3),
    )
    assert ours["low"] == pytest.approx(math.exp(ref.confidence_interval.low), rel=1e-12)
    assert ours["high"] == pytest.approx(math.exp(ref.confidence_interval.high), rel=1e-12)
    assert ours["low"] < math.exp(-1.0) < ours["high"]
    assert stats.ratio_ci([0.1], [0.2, 0.3])["low"] is None


def test_holm_matches_a_hand_computation():
    # Sorted 0.01, 0.02, 0.03, 0.04 -> 4*0.01, 3*0.02, 2*0.03 (raised to 0.06), 1*0.04 (raised to 0.06).
    adjusted = stats.holm([0.04, 0.01, None, 0.03, 0.02])
    assert adjusted == pytest.approx([0.06, 0.04, None, 0.06, 0.06])
    assert adjusted[2] is None
    assert stats.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert stats.holm([]) == []


@pytest.mark.parametrize(
    "ratio, p, met, expected",
    [
        (0.5, 0.01, True, "better"),
        (2.0, 0.01, None, "worse"),
        (0.7, 0.001, True, "inconclusive"),  # significant but below 1.5x
        (0.1, 0.2, True, "inconclusive"),  # large but not significant
        (0.1, None, True, "inconclusive"),
        (0.1, 0.001, False, "baseline unsolved"),
        (1 / 1.5, 0.049, True, "better"),
        (1.5, 0.05, True, "inconclusive"),
    ],
)
def test_decide(ratio, p, met, expected):
    assert stats.decide(ratio, p, met) == expected


# --------------------------------------------------------------------------
# Verdicts on synthetic results
# --------------------------------------------------------------------------


def _runs(problem, variant, errors, backend="jax", metric=None):
    runs = []
    for seed, e in enumerate(errors):
        metrics = {"relative_l2": e}
        if metric:
            metrics[metric[0]] = metric[1][seed]
        runs.append(
            {
                "backend": backend,
                "problem": problem,
                "variant": variant,
                "seed": seed,
                "run_id": f"{problem}__{variant}__s{seed}",
                "status": "ok",
                "error": e,
                "metrics": metrics,
            }
        )
    return runs


def _verdict(found, idea, variant, reference):
    for v in found:
        if v["idea"] == idea:
            for c in v["comparisons"]:
                if (c["variant"], c["reference"]) == (variant, reference):
                    return c
    raise AssertionError(f"no comparison {variant} vs {reference}")


def test_unsolved_baseline_gives_baseline_unsolved_whatever_the_numbers():
    options = make_options(ideas="2", problems="burgers", seeds=4)
    # Baseline 0.9 on Burgers misses the quick target (0.6); relu is 10x worse.
    runs = _runs("burgers", "mlp", [0.9, 0.95, 0.85, 0.9]) + _runs("burgers", "relu", [9.0, 9.5, 8.5, 9.1])
    found = report.verdicts(options, report.summarize(runs), ["jax"])
    c = _verdict(found, "relu_powers", "relu", "mlp")
    assert c["verdict"] == "baseline unsolved"
    assert c["agrees_with_article"] is None
    assert "baseline unsolved" in c["text"] and "Welch" in c["text"]


def test_small_or_noisy_differences_are_inconclusive_and_clear_ones_decided():
    options = make_options(ideas="2", problems="burgers", seeds=8)
    rng = np.random.default_rng(0)
    base = list(0.05 * np.exp(rng.normal(0, 0.1, 8)))
    close = list(0.055 * np.exp(rng.normal(0, 0.1, 8)))  # 1.1x: significant maybe, never an effect
    far = list(0.5 * np.exp(rng.normal(0, 0.1, 8)))  # 10x worse
    runs = _runs("burgers", "mlp", base) + _runs("burgers", "pow_relu", close) + _runs("burgers", "relu", far)
    found = report.verdicts(options, report.summarize(runs), ["jax"])
    inconclusive = _verdict(found, "relu_powers", "pow_relu", "mlp")
    assert inconclusive["verdict"] == "inconclusive"
    decided = _verdict(found, "relu_powers", "relu", "mlp")
    assert decided["verdict"] == "worse" and decided["agrees_with_article"] is True
    for c in (inconclusive, decided):
        p = c["per_problem"]["burgers"]
        assert p["p_corrected"] >= p["p"]
        assert p["ratio_low"] <= p["ratio"] <= p["ratio_high"]
        assert "Welch" in c["text"] and "Holm" in c["text"] and "CI" in c["text"]


def test_buckley_leverett_target_is_the_shock_position():
    options = make_options(ideas="4", seeds=3)
    good = ("shock_position_error", [0.01, 0.02, 0.015])
    bad = ("shock_position_error", [0.4, 0.5, 0.45])
    runs = (
        _runs("buckley_leverett", "mlp_welge", [0.3, 0.3, 0.3], metric=good)
        + _runs("buckley_leverett", "vq_welge", [0.31, 0.3, 0.29], metric=good)
        + _runs("buckley_leverett", "mlp", [0.5, 0.5, 0.5], metric=bad)
        + _runs("buckley_leverett", "vq", [0.5, 0.49, 0.51], metric=bad)
    )
    found = report.verdicts(options, report.summarize(runs), ["jax"])
    assert _verdict(found, "vector_quantization", "vq", "mlp")["verdict"] == "baseline unsolved"
    assert _verdict(found, "vector_quantization", "vq_welge", "mlp_welge")["verdict"] == "inconclusive"


# --------------------------------------------------------------------------
# Buckley-Leverett: Welge hull flux and shock metrics; heat in physical units
# --------------------------------------------------------------------------


def test_hull_flux_is_the_welge_construction():
    from keras_pinn.problems import reference as ref

    m = 2.0
    s_star, sigma = ref.buckley_leverett_shock(m)
    s = np.linspace(0.0, 1.0, 2001)
    f, hull = ref.buckley_leverett_flux(s, m), ref.buckley_leverett_hull_flux(s, m)
    # The tangent from the origin touches f at s* = 1/sqrt(3) with slope sigma = (1 + sqrt(3)) / 2.
    assert s_star == pytest.approx(1 / math.sqrt(3)) and sigma == pytest.approx((1 + math.sqrt(3)) / 2)
    np.testing.assert_allclose(hull[s < s_star], sigma * s[s < s_star], rtol=0, atol=1e-15)
    np.testing.assert_allclose(hull[s >= s_star], f[s >= s_star], rtol=0, atol=1e-15)
    # Welge: the hull is the upper concave envelope here, above f, touching it at s*, continuous
    # with a continuous slope (the tangent condition f'(s*) = f(s*) / s*).
    assert np.all(hull >= f - 1e-15)
    assert ref.buckley_leverett_flux(s_star, m) == pytest.approx(sigma * s_star, rel=1e-12)
    d = ref.buckley_leverett_hull_flux_derivative(s, m)
    assert ref.buckley_leverett_flux_derivative(s_star, m) == pytest.approx(sigma, rel=1e-9)
    np.testing.assert_allclose(np.diff(hull) / np.diff(s), 0.5 * (d[1:] + d[:-1]), atol=2e-3)
    # The concave envelope of f on [0, 1]: no chord from the origin lies above the hull.
    chord = f / np.maximum(s, 1e-300)
    assert chord[1:].max() == pytest.approx(sigma, rel=1e-6)


def test_welge_residual_uses_the_shock_speed_below_the_shock_saturation():
    from keras_pinn.problems import BuckleyLeverettResidual

    r = BuckleyLeverettResidual(2.0, flux="welge")
    assert r.get_config() == {"m": 2.0, "diffusion": 0.0, "flux": "welge"}
    with pytest.raises(ValueError, match="flux='convex'"):
        BuckleyLeverettResidual(2.0, flux="convex")


def test_shock_metrics_of_the_exact_and_of_a_shifted_solution():
    from keras_pinn.problems import reference as ref

    exact = ref.buckley_leverett_metrics(lambda p: ref.buckley_leverett_solution(p[:, 0], p[:, 1]))
    assert exact["relative_l1"] == 0 and exact["relative_l2_outside_band"] == 0
    assert exact["shock_position_error"] < 1e-3 and exact["front_width"] < 2e-3
    # The same profile 5 % late in time: the front 5 % short at every time.
    late = ref.buckley_leverett_metrics(lambda p: ref.buckley_leverett_solution(p[:, 0], 0.95 * p[:, 1]))
    assert late["shock_position_error"] == pytest.approx(0.05, abs=2e-3)
    # The floor of artificial diffusion: a finite-volume viscous solution with eps = 1e-3 is a few
    # per cent from the inviscid one, more with 1e-2.
    x, t = np.meshgrid(np.linspace(0, 1.5, 151), np.linspace(0, 1, 21))
    inviscid = ref.buckley_leverett_solution(x, t)
    near = ref.relative_l2_error(ref.buckley_leverett_viscous(x, t, 1e-3, cells=1500), inviscid)
    far = ref.relative_l2_error(ref.buckley_leverett_viscous(x, t, 1e-2, cells=1500), inviscid)
    assert 0.02 < near < far < 0.3


def test_heat_in_physical_units_is_the_unit_problem_rescaled():
    from keras_pinn.problems import heat, heat_units

    unit, big = heat(), heat_units()
    assert list(big.domain.upper) == [100.0, 10.0]
    p = unit.domain.grid((11, 6))
    np.testing.assert_allclose(big.solution(p * [100.0, 10.0]), unit.solution(p), atol=1e-12)
    ic = [c for c in big.conditions(8) if c.name == "ic"][0]
    pts = big.domain.sample_initial(8, seed=0)
    np.testing.assert_allclose(ic.targets(pts)["y"].ravel(), np.sin(np.pi * pts[:, 0] / 100.0), atol=1e-6)
