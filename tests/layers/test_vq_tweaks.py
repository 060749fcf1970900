"""The tweaks of vector quantisation on Buckley-Leverett (issue 21): the
Rankine-Hugoniot-coupled two-code quantiser, the soft quantiser's annealing,
and their study variants. Exact values on tiny hand-computed examples."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

from keras_pinn.layers import RankineHugoniotQuantizer, VectorQuantizer
from keras_pinn.layers.vector_quantizer import conservation_flux, oleinik_penalty, rankine_hugoniot_penalty


def _np(x):
    return np.asarray(ops.convert_to_numpy(x), dtype="float64")


def _t(values):
    return ops.convert_to_tensor(np.asarray(values, dtype="float32"))


# -- the penalties ------------------------------------------------------------


def test_flux_values():
    np.testing.assert_allclose(_np(conservation_flux(_t([0.5, 1.0]), "burgers")), [0.125, 0.5])
    # f(0.5) = 0.25 / (0.25 + 0.25 / 2) = 2/3 for M = 2.
    np.testing.assert_allclose(
        _np(conservation_flux(_t([0.0, 0.5, 1.0]), "buckley_leverett", 2.0)), [0.0, 2.0 / 3.0, 1.0], rtol=1e-6
    )
    with pytest.raises(ValueError, match="flux='heat'"):
        conservation_flux(_t([0.5]), "heat")


def test_rankine_hugoniot_penalty_by_hand():
    # Burgers, s = 0.5: (1, 0) satisfies RH exactly; (0.5, 0) leaves
    # 0.5 * 0.5 - 0.125 = 0.125, squared 0.015625; mean over 2 points.
    u_left, u_right = _t([1.0, 0.5]), _t([0.0, 0.0])
    assert float(_np(rankine_hugoniot_penalty(u_left, u_right, 0.5, "burgers"))) == pytest.approx(0.0078125)
    # Masked to the first point: 0; to the second: 0.015625.
    assert float(_np(rankine_hugoniot_penalty(u_left, u_right, 0.5, "burgers", mask=_t([1, 0])))) == 0.0
    assert float(_np(rankine_hugoniot_penalty(u_left, u_right, 0.5, "burgers", mask=_t([0, 1])))) == (
        pytest.approx(0.015625)
    )
    # Buckley-Leverett, M = 2: the Welge shock (s*, 0) at sigma satisfies RH.
    s_star, sigma = np.sqrt(1.0 / 3.0), (1.0 + np.sqrt(3.0)) / 2.0
    value = float(_np(rankine_hugoniot_penalty(_t([s_star]), _t([0.0]), sigma, "buckley_leverett", 2.0)))
    assert value < 1e-12


def test_oleinik_penalty_by_hand():
    # Entropic Burgers shock (1 -> 0 at speed 1/2): no violation.
    ok = oleinik_penalty(_t([1.0]), _t([0.0]), _t([0.5]), "burgers", n_samples=3)
    assert float(_np(ok)) == 0.0
    # Expansion shock (0 -> 1 at 1/2), one interior state u = 0.5, D = -1:
    # g_R = 0.125 - 0.5 - 0.5 (0.5 - 1) = -0.125, D g_R = 0.125;
    # g_L = 0.125 - 0 - 0.5 (0.5 - 0) = -0.125, D g_L = 0.125;
    # penalty 0.125^2 + 0.125^2 = 0.03125.
    bad = oleinik_penalty(_t([0.0]), _t([1.0]), _t([0.5]), "burgers", n_samples=1)
    assert float(_np(bad)) == pytest.approx(0.03125)
    # Buckley-Leverett: Welge's shock satisfies it (up to rounding), the
    # RH-admissible jump 1 -> 0 at speed f(1) = 1 does not.
    s_star, sigma = np.sqrt(1.0 / 3.0), (1.0 + np.sqrt(3.0)) / 2.0
    welge = oleinik_penalty(_t([s_star]), _t([0.0]), _t([sigma]), "buckley_leverett", 2.0, n_samples=16)
    assert float(_np(welge)) < 1e-10
    full = oleinik_penalty(_t([1.0]), _t([0.0]), _t([1.0]), "buckley_leverett", 2.0, n_samples=16)
    assert float(_np(full)) > 1e-4
    with pytest.raises(ValueError, match="n_samples=0"):
        oleinik_penalty(_t([1.0]), _t([0.0]), _t([0.5]), "burgers", n_samples=0)


# -- the layer ------------------------------------------------------------------


def _hand_layer(**kwargs) -> RankineHugoniotQuantizer:
    """Domain [0, 2] x [0, 1], Burgers flux, boundary x = 0.5 + 0.5 t, left
    branch 0.5, right branch 0 (all weights zero, head bias (0.5, 0))."""
    layer = RankineHugoniotQuantizer(
        units=4, depth=1, lower=(0.0, 0.0), upper=(2.0, 1.0), flux="burgers", n_boundary=4, n_entropy=1, **kwargs
    )
    layer(np.zeros((2, 2), "float32"))
    # Scaled coordinates xi = x - 1, eta = 2 t - 1: the line is
    # xi = -0.25 + 0.25 eta; a point on it and its normal (1, -0.25).
    mid, normal = np.array([-0.25, 0.0]), np.array([1.0, -0.25])
    step = layer.code_step
    layer.codebook.assign(np.stack([mid - 0.1 * normal, mid + 0.1 * normal]).astype("float32") / step)
    for dense in layer.hidden:
        dense.kernel.assign(np.zeros(dense.kernel.shape, "float32"))
    layer.head.kernel.assign(np.zeros(layer.head.kernel.shape, "float32"))
    layer.head.bias.assign(np.array([0.5, 0.0], "float32"))
    return layer


def test_boundary_points_lie_on_the_bisector():
    layer = _hand_layer()
    points, inside = layer.boundary_points()
    points = _np(points)
    np.testing.assert_allclose(points[:, 1], [0.125, 0.375, 0.625, 0.875], rtol=1e-6)
    np.testing.assert_allclose(points[:, 0], 0.5 + 0.5 * points[:, 1], rtol=1e-6)
    np.testing.assert_array_equal(_np(inside), [1, 1, 1, 1])
    # Equidistant from the two codes (in scaled coordinates).
    scaled = _np(layer.scale(points))
    codes = _np(layer.codes())
    np.testing.assert_allclose(
        np.linalg.norm(scaled - codes[0], axis=1), np.linalg.norm(scaled - codes[1], axis=1), rtol=1e-5
    )
    assert float(_np(layer.shock_speed())) == pytest.approx(0.5, rel=1e-6)
    # Left of the line: code 0 and u = 0.5; right: code 1 and u = 0.
    x = np.array([[0.4, 0.0], [0.6, 0.0], [0.7, 0.5], [0.8, 0.5]], "float32")
    np.testing.assert_array_equal(_np(layer.code_indices(x)), [0, 1, 0, 1])
    np.testing.assert_allclose(_np(layer(x))[:, 0], [0.5, 0.0, 0.5, 0.0])


def test_boundary_points_outside_the_domain_are_masked():
    layer = _hand_layer()
    # Boundary x = 1.5 + t leaves [0, 2] at t = 0.5: scaled
    # xi = 1 + eta / 2 (through (0.75, -0.5)), normal (1, -0.5).
    mid, normal = np.array([0.75, -0.5]), np.array([1.0, -0.5])
    layer.codebook.assign(np.stack([mid - 0.1 * normal, mid + 0.1 * normal]).astype("float32"))
    points, inside = layer.boundary_points()
    np.testing.assert_allclose(_np(points)[:, 0], 1.5 + _np(points)[:, 1], rtol=1e-6)
    np.testing.assert_array_equal(_np(inside), [1, 1, 0, 0])


def test_coupling_losses_by_hand():
    layer = _hand_layer(rh_weight=2.0, entropy_weight=3.0)
    rh, entropy = layer.coupling_losses()
    # u_L = 0.5, u_R = 0, s = 0.5: RH jump 0.25 - 0.125 = 0.125, squared.
    assert float(_np(rh)) == pytest.approx(2.0 * 0.015625, rel=1e-5)
    # Oleinik, u = 0.25: g_L = 0.03125 - 0.125 + 0.125 = 0.03125,
    # D g_L = 0.015625, squared 2.44140625e-4; g_R < 0.
    assert float(_np(entropy)) == pytest.approx(3.0 * 0.000244140625, rel=1e-4)


def test_mass_balance_by_hand():
    layer = _hand_layer()
    # mass(t) = 0.5 x_b(t) = 0.25 + 0.25 t; inflow f(0.5) = 0.125 through
    # x = 0, none through x = 2: imbalance 0.125 t_k at t_k = k / 4, so
    # mean_k (0.03125 k)^2 = 0.03125^2 * 7.5.
    assert float(_np(layer.mass_balance())) == pytest.approx(0.03125**2 * 7.5, rel=1e-4)


def test_losses_added_on_call():
    layer = _hand_layer(conservation_weight=10.0)
    inputs = keras.Input((2,))
    model = keras.Model(inputs, layer(inputs))
    model(np.zeros((3, 2), "float32"))
    expected = 0.015625 + 0.000244140625 + 10.0 * 0.03125**2 * 7.5
    assert float(_np(sum(model.losses))) == pytest.approx(expected, rel=1e-4)


def test_surrogate_gradient_keeps_the_value_and_input_derivatives():
    layer = _hand_layer(boundary_width=0.05)
    # The branches differ in x (not only in bias), so input derivatives differ.
    layer.hidden[0].kernel.assign(np.array([[1.0, 0, 0, 0], [0, 0, 0, 0]], "float32"))
    layer.head.kernel.assign(np.array([[1.0, -2.0], [0, 0], [0, 0], [0, 0]], "float32"))
    x = np.array([[0.49, 0.0], [0.52, 0.0], [1.2, 0.9]], "float32")
    plain = _hand_layer(boundary_width=0.0)
    for a, b in zip(plain.weights, layer.weights):
        a.assign(b)
    np.testing.assert_allclose(_np(layer(x)), _np(plain(x)), rtol=0, atol=0)
    np.testing.assert_array_equal(_np(layer.code_indices(x)), [0, 1, 1])


def test_rh_quantizer_keras_round_trip(tmp_path):
    keras.utils.set_random_seed(3)
    inputs = keras.Input((2,))
    layer = RankineHugoniotQuantizer(
        units=8,
        depth=2,
        lower=(0.0, 0.0),
        upper=(1.5, 1.0),
        conservation_weight=0.5,
        boundary_width=0.05,
        code_step=0.5,
        seed=7,
    )
    model = keras.Model(inputs, layer(inputs))
    path = tmp_path / "rh.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = np.random.default_rng(0).uniform([0, 0], [1.5, 1.0], (64, 2)).astype("float32")
    np.testing.assert_allclose(_np(loaded(x)), _np(model(x)), rtol=1e-6, atol=1e-7)
    restored = loaded.layers[-1]
    np.testing.assert_allclose(_np(restored.codes()), _np(layer.codes()))
    assert restored.get_config() == layer.get_config()


def test_rh_quantizer_initial_boundary_through_the_corner():
    keras.utils.set_random_seed(0)
    layer = RankineHugoniotQuantizer(lower=(0.0, 0.0), upper=(1.5, 1.0), code_noise=0.0, initial_speed=(1.0, 1.0))
    layer(np.zeros((1, 2), "float32"))
    points, _ = layer.boundary_points()
    points = _np(points)
    assert float(_np(layer.shock_speed())) == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(points[:, 0], points[:, 1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"flux": "heat"}, "flux='heat'"),
        ({"lower": (0.0, 0.0), "upper": (0.0, 1.0)}, r"upper=\(0.0, 1.0\)"),
        ({"initial_speed": (2.0, 1.0)}, r"initial_speed=\(2.0, 1.0\)"),
        ({"m": 0.0}, "m=0.0"),
        ({"code_step": 0}, "code_step=0"),
        ({"boundary_width": -1.0}, "boundary_width=-1.0"),
    ],
)
def test_rh_quantizer_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RankineHugoniotQuantizer(**kwargs)


# -- the soft quantiser and its schedule -------------------------------------------


def _soft_vq(temperature: float) -> VectorQuantizer:
    vq = VectorQuantizer(num_codes=2, code_dim=2, temperature=temperature, commitment_weight=0.0, codebook_weight=0.0)
    vq(np.zeros((1, 2), "float32"))
    vq.projection.kernel.assign(np.eye(2, dtype="float32"))
    vq.projection.bias.assign(np.zeros(2, "float32"))
    vq.codebook.assign(np.array([[1.0, 0.0], [0.0, 1.0]], "float32"))
    return vq


def test_soft_quantizer_weights_at_a_temperature():
    vq = _soft_vq(0.5)
    z = vq.project(np.array([[1.0, 0.0]], "float32"))
    # cos = (1, 0): softmax((2, 0)) = (e^2, 1) / (e^2 + 1).
    expected = np.array([np.e**2, 1.0]) / (np.e**2 + 1.0)
    np.testing.assert_allclose(_np(vq.soft_weights(z))[0], expected, rtol=1e-6)
    np.testing.assert_allclose(_np(vq(np.array([[1.0, 0.0]], "float32")))[0], expected, rtol=1e-6)
    vq.temperature.assign(0.01)
    np.testing.assert_allclose(_np(vq.soft_weights(z))[0], [1.0, np.exp(-100.0)], rtol=1e-6, atol=1e-30)


def test_hard_quantizer_has_no_soft_weights():
    vq = VectorQuantizer(num_codes=2, code_dim=2)
    vq(np.zeros((1, 2), "float32"))
    with pytest.raises(ValueError, match="temperature=None"):
        vq.soft_weights(np.zeros((1, 2), "float32"))
    with pytest.raises(ValueError, match="temperature=0"):
        VectorQuantizer(num_codes=2, code_dim=2, temperature=0)


def test_anneal_schedule_temperatures_and_diffusion():
    from keras_pinn.study.variants import AnnealSchedule

    vq = _soft_vq(1.0)
    schedule = AnnealSchedule(vq, temperatures=(1.0, 0.01), fraction=0.8)
    # 11 epochs: the temperature falls over epochs 0..8 (0.8 * 10).
    temps = [schedule.temperature_at(e, 11) for e in (0, 4, 8, 10)]
    np.testing.assert_allclose(temps, [1.0, 0.1, 0.01, 0.01], rtol=1e-12)
    schedule.set_model(keras.Sequential([keras.Input((2,)), vq]))
    schedule.params = {"epochs": 11}
    schedule.on_epoch_begin(4)
    assert float(_np(vq.temperature)) == pytest.approx(0.1, rel=1e-6)
    assert float(_np(schedule.diffusion_scale())) == pytest.approx(0.5, rel=1e-5)
    schedule.on_epoch_begin(9)
    assert float(_np(schedule.diffusion_scale())) == pytest.approx(0.0, abs=1e-6)


def test_soft_quantizer_keras_round_trip(tmp_path):
    keras.utils.set_random_seed(1)
    inputs = keras.Input((2,))
    vq = VectorQuantizer(num_codes=4, code_dim=3, temperature=0.3, concat_input=True)
    model = keras.Model(inputs, keras.layers.Dense(1)(vq(inputs)))
    vq.temperature.assign(0.05)
    path = tmp_path / "soft.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = np.random.default_rng(1).normal(size=(16, 2)).astype("float32")
    np.testing.assert_allclose(_np(loaded(x)), _np(model(x)), rtol=1e-6, atol=1e-7)
    assert float(_np(loaded.get_layer(vq.name).temperature)) == pytest.approx(0.05)


def test_diffusion_scale_multiplies_the_diffusion_term():
    from keras_pinn.problems import buckley_leverett

    problem = buckley_leverett(diffusion=0.1)
    values = {("u",): 0.5, ("u", "t"): 0.0, ("u", "x"): 0.0, ("u", "x", "x"): 2.0}

    def d(*names):
        return ops.convert_to_tensor(np.array([[values[names]]], "float32"))

    assert _np(problem.pde(d)).item() == pytest.approx(-0.2, rel=1e-6)
    problem.pde.diffusion_scale = lambda: ops.convert_to_tensor(0.25)
    assert _np(problem.pde(d)).item() == pytest.approx(-0.05, rel=1e-6)


# -- the study variants ---------------------------------------------------------


def test_new_variants_build_and_stay_out_of_the_quick_study():
    from keras_pinn.problems import buckley_leverett
    from keras_pinn.study.config import BUDGETS, QUICK_SKIPS, make_options, plan_runs
    from keras_pinn.study.variants import build_network

    budget = BUDGETS["quick"]
    domain = buckley_leverett().domain
    rh = build_network("rh_vq_mass", domain, 1, budget)
    assert isinstance(rh.quantizer, RankineHugoniotQuantizer)
    assert rh.quantizer.conservation_weight == 1.0
    codes = rh.code_indices(np.array([[0.0, 1.0], [1.5, 0.0]], "float32"))
    np.testing.assert_array_equal(codes, [0, 1])
    soft = build_network("vq_soft_anneal", domain, 1, budget)
    assert soft.quantizer.initial_temperature == 1.0 and soft.setup is not None
    last = build_network("parallel_pow_relu_last", domain, 2, budget)
    assert last.info["max_power"] == 3
    quick = {r.variant for r in plan_runs(make_options())}
    for name in ("rh_vq", "rh_vq_mass", "rh_vq_corner", "rh_vq_welge", "vq_soft_anneal", "parallel_pow_relu_last"):
        assert name in QUICK_SKIPS and name not in quick
