"""Adaptive collocation callbacks: RAR adds the points of largest residual
and RAD redraws with the residual-based density, checked on networks whose
residual is known in closed form; inside fit; seeds; bad arguments."""

import keras
import numpy as np
import pytest
from keras import ops

import keras_pinn as kp
from keras_pinn.adaptive import RAD, RAR, residual_magnitude

DOMAIN = kp.Interval(-1.0, 1.0)


def analytic_model(power=3, n_collocation=20, fn=None, **kwargs):
    """u = x^power (no weights), pde u_xx: r = power (power - 1) x^(power - 2)."""
    net = keras.Sequential([keras.Input((1,)), keras.layers.Lambda(fn or (lambda z: z**power))])
    return kp.PINNModel(
        net, DOMAIN, lambda d: d("u", "x", "x"), conditions=[kp.DirichletBC(0.0, n_points=2, name="bc")],
        n_collocation=n_collocation, seed=0, **kwargs,
    )


def attach(callback, model, epochs=10):
    callback.set_model(model)
    callback.set_params({"epochs": epochs, "steps": 1, "verbose": 0})
    callback.on_train_begin()
    return callback


def test_residual_magnitude_is_exact_and_chunked():
    model = analytic_model(power=3)
    x = np.linspace(-1, 1, 23)[:, None]
    np.testing.assert_allclose(residual_magnitude(model, x), np.abs(6 * x[:, 0]), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(residual_magnitude(model, x, chunk_size=5), residual_magnitude(model, x))


def test_rar_adds_the_largest_residual_points():
    model = analytic_model(power=3)
    before = model.point_sets()["pde"]["x"].copy()
    rar = attach(RAR(n_candidates=50, n_add=5, seed=0), model)
    logs = {}
    rar.on_epoch_end(0, logs)
    rng = np.random.default_rng(0)
    candidates = DOMAIN.sample_interior(50, "uniform", rng)
    worst = candidates[np.argsort(-np.abs(candidates[:, 0]))[:5]]  # |r| = 6 |x|
    after = model.point_sets()["pde"]["x"]
    np.testing.assert_array_equal(after[:20], before)
    np.testing.assert_array_equal(after[20:], worst)
    np.testing.assert_array_equal(rar.last_added, worst)
    assert rar.events == [(0, 25)] and logs == {"pde_points": 25}
    np.testing.assert_allclose(rar.last_mean_residual, np.mean(6 * np.abs(candidates[:, 0])), rtol=1e-5)
    # the added points are the worst of the candidates
    assert np.abs(worst).min() >= np.sort(np.abs(candidates[:, 0]))[-5]


def test_rar_every_max_points_and_tolerance():
    model = analytic_model(power=3)
    rar = attach(RAR(every=2, n_candidates=30, n_add=5, max_points=27, seed=1), model)
    for epoch in range(6):
        rar.on_epoch_end(epoch, {})
    assert rar.events == [(1, 25), (3, 27)]
    assert model.point_sets()["pde"]["x"].shape == (27, 1)
    quiet = attach(RAR(n_candidates=30, n_add=5, tolerance=100.0, seed=1), analytic_model(power=3))
    quiet.on_epoch_end(0, {})
    assert quiet.events == [] and quiet.last_added is None and quiet.last_mean_residual < 100.0


def test_rad_density_and_draw_are_exact():
    model = analytic_model(power=5, n_collocation=100)  # |r| = 20 |x|^3
    rad = attach(RAD(n_candidates=2000, n_collocation=200, seed=4), model)
    logs = {}
    rad.on_epoch_end(0, logs)
    rng = np.random.default_rng(4)
    candidates = DOMAIN.sample_interior(2000, "uniform", rng)
    r = residual_magnitude(model, candidates)
    np.testing.assert_allclose(r, 20 * np.abs(candidates[:, 0]) ** 3, rtol=1e-4, atol=1e-5)
    p = r / r.mean() + 1.0
    p /= p.sum()
    np.testing.assert_allclose(rad.last_probabilities, p, rtol=1e-12)
    chosen = np.sort(rng.choice(2000, size=200, replace=False, p=p))
    new = model.point_sets()["pde"]["x"]
    np.testing.assert_array_equal(new, candidates[chosen])
    assert logs == {"pde_points": 200} and rad.events == [(0, 200)]
    # p ~ 4|x|^3 + 1: P(|x| > 0.5) = 0.72 against 0.5 for uniform points
    share = np.mean(np.abs(new[:, 0]) > 0.5)
    assert share > 0.62, share
    # n_collocation=None keeps the current size; k=0 is uniform
    keep = attach(RAD(n_candidates=500, k=0.0, seed=4), model)
    keep.on_epoch_end(0, {})
    assert model.point_sets()["pde"]["x"].shape == (200, 1)
    np.testing.assert_allclose(keep.last_probabilities, 1 / 500)


def test_rad_with_c_zero_and_zero_residuals_still_draws():
    # u = relu(x)^3: r = 6 relu(x) is 0 on half the domain
    model = analytic_model(n_collocation=10, fn=lambda z: ops.relu(z) ** 3)
    rad = attach(RAD(n_candidates=10, c=0.0, k=2.0, seed=0), model)
    rad.on_epoch_end(0, {})
    x = model.point_sets()["pde"]["x"]
    assert x.shape == (10, 1) and np.sum(x <= 0) > 0


@pytest.mark.parametrize("cls", [RAR, RAD])
def test_seeds_make_it_reproducible(cls):
    runs = []
    for seed in (5, 5, 6):
        model = analytic_model(power=5)
        cb = attach(cls(n_candidates=200, seed=seed, **({"n_add": 10} if cls is RAR else {})), model)
        cb.on_epoch_end(0, {})
        cb.on_epoch_end(1, {})
        runs.append(model.point_sets()["pde"]["x"])
    np.testing.assert_array_equal(runs[0], runs[1])
    assert runs[0].shape != runs[2].shape or not np.array_equal(runs[0], runs[2])


def trainable_model():
    net = keras.Sequential([keras.Input((1,)), keras.layers.Dense(8, "tanh"), keras.layers.Dense(1)])
    model = kp.PINNModel(
        net, DOMAIN, lambda d: d("u", "x", "x") + 1.0, conditions=[kp.DirichletBC(0.0, n_points=4, name="bc")],
        n_collocation=16, seed=0,
    )
    model.compile(keras.optimizers.Adam(1e-2))
    return model


def test_rad_and_rar_inside_fit():
    model = trainable_model()
    # RAD keeps the size (one compiled step on JAX), then RAR grows the set
    rad = RAD(n_candidates=100, seed=0)
    h = model.fit(epochs=2, steps_per_epoch=1, verbose=0, callbacks=[rad]).history
    assert h["pde_points"] == [16, 16] and len(rad.events) == 2
    assert np.all(np.isfinite(h["loss"]))
    rar = RAR(n_candidates=64, n_add=4, seed=0)
    h = model.fit(epochs=2, steps_per_epoch=2, verbose=0, callbacks=[rar]).history
    assert h["pde_points"] == [20, 24] and rar.events == [(0, 20), (1, 24)]
    assert np.all(np.isfinite(h["loss"]))
    x = model.point_sets()["pde"]["x"]
    assert x.shape == (24, 1)
    np.testing.assert_allclose(residual_magnitude(model, x), np.abs(ops.convert_to_numpy(model.residual(x))[:, 0]))


def test_model_checks():
    model = analytic_model()
    with pytest.raises(ValueError, match=r"term='bc'"):
        attach(RAR(term="bc"), model)
    with pytest.raises(ValueError, match=r"term='nope'"):
        attach(RAD(term="nope"), model)
    with pytest.raises(ValueError, match=r"resample=True"):
        attach(RAR(), analytic_model(resample=True))
    with pytest.raises(ValueError, match=r"n_candidates=10"):
        attach(RAD(n_candidates=10), analytic_model(n_collocation=20))
    with pytest.raises(ValueError, match="PINNModel"):
        attach(RAR(), keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: RAR(every=0), r"`every`.*every=0"),
        (lambda: RAR(n_candidates=1.5), r"`n_candidates`.*n_candidates=1\.5"),
        (lambda: RAR(n_add=0), r"`n_add`.*n_add=0"),
        (lambda: RAR(n_candidates=10, n_add=11), r"`n_add`.*n_add=11"),
        (lambda: RAR(max_points=-3), r"`max_points`.*max_points=-3"),
        (lambda: RAR(tolerance=-1.0), r"`tolerance`.*tolerance=-1\.0"),
        (lambda: RAR(sampler="random"), r"sampler='random'"),
        (lambda: RAR(seed=-2), r"`seed`.*seed=-2"),
        (lambda: RAR(term=0), r"`term`.*term=0"),
        (lambda: RAR(chunk_size=0), r"`chunk_size`.*chunk_size=0"),
        (lambda: RAD(k=-1.0), r"`k`.*k=-1\.0"),
        (lambda: RAD(c=float("nan")), r"`c`.*c=nan"),
        (lambda: RAD(n_collocation=0), r"`n_collocation`.*n_collocation=0"),
        (lambda: RAD(n_candidates=10, n_collocation=11), r"`n_collocation`.*n_collocation=11"),
    ],
)
def test_bad_arguments_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_get_config():
    assert RAR(every=3, n_add=7, seed=1).get_config()["n_add"] == 7
    assert RAD(k=2.0, c=0.5).get_config() == {
        "every": 1, "n_candidates": 10_000, "term": "pde", "sampler": "uniform", "seed": None,
        "chunk_size": 4096, "n_collocation": None, "k": 2.0, "c": 0.5,
    }
