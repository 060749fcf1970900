"""keras_pinn.callbacks. Adaptive collocation: RAR adds the points of
largest residual and RAD redraws with the residual-based density, checked on
networks whose residual is known in closed form; inside fit; seeds; bad
arguments. StopOnNonFinite stops a poisoned run, names the term and restores
the last finite state."""

import math
import warnings

import keras
import numpy as np
import pytest
from keras import ops

import keras_pinn as kp
from keras_pinn.callbacks import RAD, RAR, StopOnNonFinite, residual_magnitude
from keras_pinn.layers import DomainScaler
from tests._backend_utils import Recorder, assert_weights_equal

DOMAIN = kp.Interval(-1.0, 1.0)
SPACE_TIME = kp.SpaceTime(kp.Interval(0.0, 1.0), 0.0, 2.0)


def analytic_model(power=3, n_collocation=20, fn=None, **kwargs):
    """u = x^power (no weights), pde u_xx: r = power (power - 1) x^(power - 2)."""
    net = keras.Sequential([keras.Input((1,)), keras.layers.Lambda(fn or (lambda z: z**power))])
    return kp.PINNModel(
        net,
        DOMAIN,
        lambda d: d("u", "x", "x"),
        conditions=[kp.DirichletBC(0.0, n_points=2, name="bc")],
        n_collocation=n_collocation,
        seed=0,
        **kwargs,
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
        net,
        DOMAIN,
        lambda d: d("u", "x", "x") + 1.0,
        conditions=[kp.DirichletBC(0.0, n_points=4, name="bc")],
        n_collocation=16,
        seed=0,
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
        "every": 1,
        "n_candidates": 10_000,
        "term": "pde",
        "sampler": "uniform",
        "seed": None,
        "chunk_size": 4096,
        "n_collocation": None,
        "k": 2.0,
        "c": 0.5,
    }


# -- StopOnNonFinite ---------------------------------------------------------------


def mlp(width=4):
    return keras.Sequential(
        [keras.Input((2,)), DomainScaler(SPACE_TIME), keras.layers.Dense(width, "tanh"), keras.layers.Dense(1)]
    )


def heat_pde(d):
    return d("u", "t") - 0.1 * d("u", "x", "x")


class Gate(keras.layers.Layer):
    """Appends a column ``g = flag`` (a non-trainable weight) to its input."""

    def build(self, input_shape):
        self.flag = self.add_weight(shape=(), initializer="ones", trainable=False, name="flag")

    def call(self, inputs):
        return ops.concatenate([inputs, self.flag * ops.ones_like(inputs[:, :1])], axis=1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (input_shape[-1] + 1,)


def gated_model(lr=1e-2):
    """A PINN whose PDE residual is multiplied by the output ``g``: setting
    the gate's flag to NaN poisons the ``pde`` term alone."""
    net = keras.Sequential(
        [
            keras.Input((2,)),
            DomainScaler(SPACE_TIME),
            keras.layers.Dense(6, "tanh"),
            keras.layers.Dense(1),
            Gate(name="gate"),
        ]
    )
    m = kp.PINNModel(
        net,
        SPACE_TIME,
        lambda d: heat_pde(d) * d("g"),
        conditions=[kp.DirichletBC(0.0, component="u", n_points=8)],
        output_names=("u", "g"),
        n_collocation=16,
        seed=0,
    )
    m.compile(optimizer=keras.optimizers.Adam(lr))
    return m


class PoisonAt(keras.callbacks.Callback):
    """Sets the gate's flag to NaN just before training step ``step``."""

    def __init__(self, step):
        super().__init__()
        self.at, self.seen = step, 0

    def on_train_batch_begin(self, batch, logs=None):
        if self.seen == self.at:
            # self.model (not a captured reference): on JAX it syncs the trainer's state first.
            self.model.network.get_layer("gate").flag.assign(float("nan"))
        self.seen += 1


def test_stop_on_non_finite_names_term_and_restores_last_finite_weights():
    m = gated_model()
    poisoned = 4  # epoch 1, batch 1 with 3 steps per epoch
    stop, rec = StopOnNonFinite(), Recorder()
    with pytest.warns(RuntimeWarning, match=r"term 'pde' \(log 'pde_loss'\).*at step 4 \(epoch 1, batch 1\)"):
        history = m.fit(epochs=3, steps_per_epoch=3, verbose=0, callbacks=[PoisonAt(poisoned), rec, stop])
    # stopped at once: no step ran after the poisoned one
    assert len(rec.logs) == poisoned + 1
    assert (stop.step, stop.epoch, stop.batch) == (4, 1, 1)
    assert stop.term == "pde" and stop.key == "pde_loss" and math.isnan(stop.value)
    assert [k for k, _ in stop.non_finite] == ["pde_loss", "loss"]  # bc stayed finite
    # the per-batch logs hold each term (on JAX too): pde went NaN, bc did not
    assert all(math.isfinite(v) for log in rec.logs[:poisoned] for v in log.values())
    assert math.isnan(rec.logs[poisoned]["pde_loss"]) and math.isfinite(rec.logs[poisoned]["bc_loss"])
    assert len(history.history["loss"]) == 2 and math.isnan(history.history["pde_loss"][-1])
    # step 4's own loss was NaN: the callback put back the weights step 3
    # started from, the last whose logged loss was finite
    assert not all(np.isfinite(w).all() for w in rec.after[poisoned])
    assert stop.restored and stop.restored_from_step == poisoned - 1
    assert_weights_equal(m.get_weights(), rec.before[poisoned - 1])  # the gate's flag is back to 1 too
    # the optimizer state is the matching one (3 applied steps), so training resumes
    assert int(ops.convert_to_numpy(m.optimizer.iterations)) == poisoned - 1
    assert all(np.isfinite(ops.convert_to_numpy(v)).all() for v in m.optimizer.variables)
    healthy = StopOnNonFinite()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        resumed = m.fit(epochs=2, steps_per_epoch=1, verbose=0, callbacks=[healthy])
    assert all(math.isfinite(v) for v in resumed.history["loss"])
    assert healthy.step is None and healthy.term is None and not healthy.restored


def test_stop_at_first_step_has_nothing_finite_to_restore():
    """A non-finite loss at the first step: the weights training started
    from are the ones whose loss was not finite; nothing is restored."""
    m = gated_model()
    stop, rec = StopOnNonFinite(), Recorder()
    with pytest.warns(RuntimeWarning, match=r"term 'pde'.*at step 0 .*nothing to restore"):
        m.fit(epochs=2, steps_per_epoch=2, verbose=0, callbacks=[PoisonAt(0), rec, stop])
    assert stop.step == 0 and stop.term == "pde" and not stop.restored and stop.restored_from_step is None
    assert len(rec.logs) == 1


def test_stop_without_restoring_leaves_the_failed_weights():
    m = gated_model()
    stop, rec = StopOnNonFinite(restore_last_finite=False), Recorder()
    with pytest.warns(RuntimeWarning, match=r"term 'pde'.*at step 1 .*restore_last_finite=False"):
        m.fit(epochs=1, steps_per_epoch=4, verbose=0, callbacks=[PoisonAt(1), rec, stop])
    assert stop.step == 1 and not stop.restored and len(rec.logs) == 2
    assert_weights_equal(m.get_weights(), rec.after[1])
    assert not all(np.isfinite(w).all() for w in m.get_weights())


class CorruptKernelAfter(keras.callbacks.Callback):
    """Writes NaN into the first Dense kernel after step ``step``: a finite
    loss with a non-finite update, as an infinite gradient gives."""

    def __init__(self, step):
        super().__init__()
        self.at, self.seen = step, 0

    def on_train_batch_end(self, batch, logs=None):
        if self.seen == self.at:
            kernel = self.model.network.layers[1].kernel
            kernel.assign(np.full(kernel.shape, np.nan, "float32"))
        self.seen += 1


def test_non_finite_weights_after_a_finite_loss_stop_too():
    m = gated_model()
    stop, rec = StopOnNonFinite(), Recorder()
    with pytest.warns(RuntimeWarning, match=r"finite but that step's update made variable '.*kernel' non-finite"):
        m.fit(epochs=1, steps_per_epoch=5, verbose=0, callbacks=[rec, CorruptKernelAfter(2), stop])
    assert stop.step == 2 and stop.term == "weights" and stop.variable.endswith("kernel")
    assert len(rec.logs) == 3 and all(math.isfinite(v) for v in rec.logs[2].values())
    # step 2's loss was finite: the weights it started from come back
    assert stop.restored_from_step == 2
    assert_weights_equal(m.get_weights(), rec.after[1])


# -- non-finite losses that arise from training (#18, items 1 and 2) ------------------


def log_parameter_model():
    """The PDE's coefficient enters under a log and SGD drives it negative
    in the first step: ``r = heat + log(a) + 5`` with ``a = 1`` has
    ``d mean(r^2) / da ~ 10``, so a learning rate of 0.5 moves ``a`` to
    about -4, and step 1's loss is NaN."""
    m = kp.PINNModel(
        mlp(),
        SPACE_TIME,
        lambda d: heat_pde(d) + ops.log(d.params["a"]) + 5.0,
        conditions=[kp.DirichletBC(0.0, n_points=8)],
        parameters={"a": 1.0},
        n_collocation=16,
        seed=0,
    )
    m.compile(optimizer=keras.optimizers.SGD(0.5))
    return m


def test_stop_restores_weights_whose_own_loss_is_finite_log_parameter():
    m = log_parameter_model()
    stop, rec = StopOnNonFinite(), Recorder()
    with pytest.warns(RuntimeWarning, match=r"term 'pde' \(log 'pde_loss'\) became non-finite \(nan\) at step 1 "):
        m.fit(epochs=3, steps_per_epoch=2, verbose=0, callbacks=[rec, stop])
    assert (stop.step, stop.term) == (1, "pde") and math.isfinite(rec.logs[0]["loss"])
    assert float(ops.convert_to_numpy(m.pde_parameters["a"])) == 1.0  # before the step that drove it negative
    assert stop.restored_from_step == 0
    assert_weights_equal(m.get_weights(), rec.initial)
    evaluated = m.evaluate(verbose=0, return_dict=True)
    assert all(math.isfinite(v) for v in evaluated.values()), evaluated


def test_stop_restores_weights_whose_own_loss_is_finite_overflow():
    """A huge learning rate drives the weights to about 1e37 in one Adam
    step: finite weights whose fields overflow (u^2 = inf)."""
    m = kp.PINNModel(
        mlp(), SPACE_TIME, heat_pde, conditions=[kp.DirichletBC(1.0, n_points=8)], n_collocation=16, seed=0
    )
    m.compile(optimizer=keras.optimizers.Adam(1e37))
    stop, rec = StopOnNonFinite(), Recorder()
    with pytest.warns(RuntimeWarning, match=r"became non-finite .* at step 1 "):
        m.fit(epochs=1, steps_per_epoch=4, verbose=0, callbacks=[rec, stop])
    assert stop.step == 1 and stop.restored_from_step == 0
    assert max(np.abs(w).max() for w in rec.after[0]) > 1e30  # the update that overflowed
    assert_weights_equal(m.get_weights(), rec.initial)
    evaluated = m.evaluate(verbose=0, return_dict=True)
    assert all(math.isfinite(v) for v in evaluated.values()), evaluated


def test_fit_stops_on_non_finite_loss_by_default_unless_opted_out():
    m = log_parameter_model()
    with pytest.warns(RuntimeWarning, match=r"term 'pde' .* at step 1 .*restore_last_finite=False"):
        history = m.fit(epochs=5, verbose=0)
    assert len(history.history["loss"]) == 2 and math.isnan(history.history["pde_loss"][-1])
    m = log_parameter_model()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        history = m.fit(epochs=5, verbose=0, stop_on_non_finite=False)
    assert len(history.history["loss"]) == 5 and math.isnan(history.history["loss"][-1])
    # the user's own StopOnNonFinite is used instead of the default one
    m, stop = log_parameter_model(), StopOnNonFinite()
    with pytest.warns(RuntimeWarning) as caught:
        m.fit(epochs=5, verbose=0, callbacks=[stop])
    assert stop.restored and len([w for w in caught if "StopOnNonFinite" in str(w.message)]) == 1
