"""Loss balancers: update formulas against NumPy re-implementations (eager
and inside fit's compiled step), logging in History, evaluate leaving them
alone, learning-rate annealing against hand-derived gradients, saving, and
bad arguments."""

import functools

import keras
import numpy as np
import pytest
from keras import ops

import keras_pinn as kp
from keras_pinn.balancing import FixedWeights, LearningRateAnnealing, ReLoBRaLo, SoftAdapt

TINY = 1e-30
DOMAIN = kp.Interval(0.0, 1.0)


@keras.saving.register_keras_serializable(package="tests_balancing")
def poisson(d):
    return d("u", "x", "x") + 1.0


def np_softmax(z):
    e = np.exp(z - np.max(z))
    return e / e.sum()


def np_relobralo(sequence, alpha, rho, temperature, base):
    """ReLoBRaLo in NumPy for a fixed lookback variable rho (0 or 1)."""
    m = len(base)
    lam, last, init, out = np.ones(m), np.ones(m), np.ones(m), []
    for t, loss in enumerate(np.asarray(sequence, dtype="float64")):
        if t == 0:
            init = loss
        hat_last = m * np_softmax(loss / (temperature * last + TINY))
        hat_init = m * np_softmax(loss / (temperature * init + TINY))
        a = 1.0 if t == 0 else 0.0 if t == 1 else alpha
        r = 1.0 if t < 2 else rho
        lam = a * (r * lam + (1 - r) * hat_init) + (1 - a) * hat_last
        last = loss
        out.append(np.asarray(base) * lam)
    return np.array(out)


def np_softadapt(sequence, beta, variant, base):
    m = len(base)
    last, out = None, []
    for loss in np.asarray(sequence, dtype="float64"):
        s = loss - (loss if last is None else last)
        if variant != "original":
            s = s / (np.abs(s).sum() + TINY)
        z = beta * s
        e = np.exp(z - z.max())
        if variant == "loss_weighted":
            e = e * loss
        out.append(np.asarray(base) * m * e / max(e.sum(), TINY))
        last = loss
    return np.array(out)


LOSSES = [[4.0, 0.5, 2.0], [3.0, 0.45, 2.2], [2.0, 0.5, 1.0], [1.5, 0.2, 1.1], [1.4, 0.3, 0.2], [0.7, 0.25, 0.3]]
NAMES = ["pde", "bc", "data"]
BASE = [1.0, 2.0, 0.5]


def run_eager(balancer, sequence=LOSSES):
    balancer.setup(NAMES, BASE)
    out = []
    for losses in sequence:
        w = balancer.update({n: ops.convert_to_tensor(v, "float32") for n, v in zip(NAMES, losses)}, training=True)
        out.append([float(ops.convert_to_numpy(w[n])) for n in NAMES])
    return np.array(out)


@pytest.mark.parametrize("rho", [1.0, 0.0])
def test_relobralo_formula_matches_numpy(rho):
    got = run_eager(ReLoBRaLo(alpha=0.9, rho=rho, temperature=0.5, seed=1))
    np.testing.assert_allclose(got, np_relobralo(LOSSES, 0.9, rho, 0.5, BASE), rtol=2e-5)
    # the weights sum to m times the base weights' mix: lambda sums to m
    lam = got / np.asarray(BASE)
    np.testing.assert_allclose(lam.sum(axis=1), 3.0, rtol=1e-5)


def test_relobralo_random_lookback_is_bernoulli_and_seeded():
    sequence = [np.abs(np.sin(np.arange(3) + 0.7 * t)) + 0.1 for t in range(40)]
    got = run_eager(ReLoBRaLo(alpha=0.5, rho=0.5, temperature=1.0, seed=3), sequence)
    again = run_eager(ReLoBRaLo(alpha=0.5, rho=0.5, temperature=1.0, seed=3), sequence)
    np.testing.assert_array_equal(got, again)
    # replay: at each step the result is the "keep" (rho=1) or "look back"
    # (rho=0) branch from the previous weights; both happen
    m, base = 3, np.asarray(BASE)
    branches = []
    seq = np.asarray(sequence, dtype="float64")
    init = seq[0]
    for t in range(2, len(seq)):
        lam_prev = got[t - 1] / base
        hat_last = m * np_softmax(seq[t] / (1.0 * seq[t - 1] + TINY))
        hat_init = m * np_softmax(seq[t] / (1.0 * init + TINY))
        keep = base * (0.5 * lam_prev + 0.5 * hat_last)
        back = base * (0.5 * hat_init + 0.5 * hat_last)
        if np.allclose(got[t], keep, rtol=1e-5):
            branches.append(1)
        else:
            np.testing.assert_allclose(got[t], back, rtol=1e-5)
            branches.append(0)
    assert 0 < sum(branches) < len(branches)


@pytest.mark.parametrize("variant", ["original", "normalized", "loss_weighted"])
def test_softadapt_formula_matches_numpy(variant):
    got = run_eager(SoftAdapt(beta=0.7, variant=variant))
    np.testing.assert_allclose(got, np_softadapt(LOSSES, 0.7, variant, BASE), rtol=2e-5)


def test_training_false_changes_nothing():
    b = ReLoBRaLo(seed=0)
    b.setup(NAMES, BASE)
    w = b.update({n: ops.convert_to_tensor(v, "float32") for n, v in zip(NAMES, LOSSES[0])}, training=False)
    assert [float(ops.convert_to_numpy(w[n])) for n in NAMES] == BASE
    assert int(ops.convert_to_numpy(b.step.value)) == 0


# -- inside fit ----------------------------------------------------------------
def small_model(balancer, seed=0):
    net = keras.Sequential([keras.Input((1,)), keras.layers.Dense(8, "tanh"), keras.layers.Dense(1)])
    return kp.PINNModel(
        net,
        DOMAIN,
        poisson,
        conditions=[kp.DirichletBC(0.0, n_points=4, name="bc", weight=2.0)],
        n_collocation=16,
        loss_balancing=balancer,
        seed=seed,
    )


@functools.cache
def fitted(kind):
    """A small model trained 4 epochs of 1 step each with the balancer
    ``kind``; cached (the fits are the slow part)."""
    keras.utils.set_random_seed(7)
    balancer = {
        "relobralo": lambda: ReLoBRaLo(alpha=0.9, rho=1.0, temperature=0.5, seed=2),
        "softadapt": lambda: SoftAdapt(beta=2.0, variant="loss_weighted"),
        "annealing": lambda: LearningRateAnnealing(alpha=0.5, update_every=1, weighted_gradients=True),
    }[kind]()
    model = small_model(balancer)
    model.compile(keras.optimizers.Adam(1e-2))
    history = model.fit(epochs=4, steps_per_epoch=1, verbose=0)
    return model, history.history


@pytest.mark.parametrize("kind", ["relobralo", "softadapt", "annealing"])
def test_weights_change_in_fit_and_are_logged(kind):
    model, h = fitted(kind)
    for key in ("pde_weight", "bc_weight", "pde_loss", "bc_loss"):
        assert len(h[key]) == 4, key
    weights = np.stack([h["pde_weight"], h["bc_weight"]], axis=1)
    assert np.all(np.isfinite(weights))
    assert len({tuple(np.round(w, 7)) for w in weights}) > 1  # they changed
    losses = np.stack([h["pde_loss"], h["bc_loss"]], axis=1)
    if kind == "relobralo":
        expected = np_relobralo(losses, 0.9, 1.0, 0.5, [1.0, 2.0])
    elif kind == "softadapt":
        expected = np_softadapt(losses, 2.0, "loss_weighted", [1.0, 2.0])
    else:
        # first epoch at lambda = 1; later ones after an update each
        assert weights[0].tolist() == [1.0, 2.0]
        assert np.all(weights[:, 0] == 1.0)
        expected = None
    if expected is not None:
        # one step per epoch: History holds exactly that step's losses and weights
        np.testing.assert_allclose(weights, expected, rtol=1e-4)
    # the last logged weights are the current ones (annealing updates after the epoch)
    if kind != "annealing":
        current = model.loss_weights()
        np.testing.assert_allclose([current["pde"], current["bc"]], weights[-1], rtol=1e-6)


def test_fixed_weights_are_not_logged():
    model = small_model("fixed")
    model.compile(keras.optimizers.Adam(1e-2))
    h = model.fit(epochs=1, steps_per_epoch=1, verbose=0).history
    assert "bc_weight" not in h and "pde_loss" in h
    assert model.loss_weights() == {"pde": 1.0, "bc": 2.0}


@pytest.mark.parametrize("kind", ["relobralo", "annealing"])
def test_evaluate_leaves_the_weights_alone(kind):
    model, _ = fitted(kind)
    state = [ops.convert_to_numpy(v).copy() for v in model.loss_balancer.non_trainable_variables]
    before = model.loss_weights()
    model.evaluate(verbose=0)
    assert model.loss_weights() == before
    for a, v in zip(state, model.loss_balancer.non_trainable_variables):
        np.testing.assert_array_equal(a, ops.convert_to_numpy(v))


@pytest.mark.parametrize("kind", ["relobralo", "softadapt", "annealing"])
def test_save_and_load_keeps_type_config_and_state(kind, tmp_path):
    model, _ = fitted(kind)
    path = tmp_path / f"{kind}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    a, b = model.loss_balancer, loaded.loss_balancer
    assert type(a) is type(b)
    assert a.get_config() == b.get_config()
    assert [v.path for v in a.weights] == [v.path for v in b.weights]
    for va, vb in zip(a.weights, b.weights):
        np.testing.assert_array_equal(ops.convert_to_numpy(va), ops.convert_to_numpy(vb))
    assert loaded.loss_weights() == model.loss_weights()


# -- learning-rate annealing against hand-derived gradients --------------------
def linear_model(**kwargs):
    """u = w x + b; pde u_x - 1 (r = w - 1), u = 0 on both ends, u(0.5) = 2."""
    net = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model = kp.PINNModel(
        net,
        DOMAIN,
        lambda d: d("u", "x") - 1.0,
        conditions=[kp.DirichletBC(0.0, n_points=4, name="bc"), kp.PointData([[0.5]], [2.0], name="data")],
        n_collocation=5,
        loss_balancing=LearningRateAnnealing(**kwargs),
        seed=0,
    )
    net.layers[-1].set_weights([np.array([[0.3]]), np.array([0.2])])
    return model


def test_annealing_matches_gradients_by_hand():
    model = linear_model(alpha=0.9, update_every=2)
    w, b = 0.3, 0.2
    xb = model.point_sets()["bc"]["x"][:, 0].astype("float64")
    rb = w * xb + b
    rd = 0.5 * w + b - 2.0
    grads = {
        "pde": np.array([2 * (w - 1), 0.0]),
        "bc": np.array([2 * np.mean(rb * xb), 2 * np.mean(rb)]),
        "data": np.array([2 * rd * 0.5, 2 * rd]),
    }
    balancer = model.loss_balancer
    got = balancer.term_gradients(model)
    for name in grads:
        np.testing.assert_allclose(got[name], grads[name], rtol=1e-5, atol=1e-7)
    balancer.on_epoch_end(model, 0)  # update_every=2: not yet
    assert model.loss_weights() == {"pde": 1.0, "bc": 1.0, "data": 1.0}
    balancer.on_epoch_end(model, 1)
    top = np.max(np.abs(grads["pde"]))
    expected = {n: 0.9 + 0.1 * top / np.mean(np.abs(grads[n])) for n in ("bc", "data")}
    got = model.loss_weights()
    assert got["pde"] == 1.0
    for n in expected:
        np.testing.assert_allclose(got[n], expected[n], rtol=1e-5)
    # a second update averages with the first
    balancer.on_epoch_end(model, 3)
    for n in expected:
        np.testing.assert_allclose(
            model.loss_weights()[n], 0.9 * expected[n] + 0.1 * top / np.mean(np.abs(grads[n])), rtol=1e-5
        )
    assert int(ops.convert_to_numpy(balancer.n_updates.value)) == 2
    # the authors' code: the gradient of the weighted term lambda_i L_i
    weighted = linear_model(alpha=0.5, weighted_gradients=True)
    lam = {"bc": 1.0, "data": 1.0}
    for epoch in range(3):
        weighted.loss_balancer.on_epoch_end(weighted, epoch)
        lam = {n: 0.5 * lam[n] + 0.5 * top / (lam[n] * np.mean(np.abs(grads[n]))) for n in lam}
        got = weighted.loss_weights()
        for n in lam:
            np.testing.assert_allclose(got[n], lam[n], rtol=1e-5)


# -- names and arguments ---------------------------------------------------------
def test_get_by_name_and_errors():
    from keras_pinn import balancing

    for name, cls in [
        ("fixed", FixedWeights),
        ("relobralo", ReLoBRaLo),
        ("annealing", LearningRateAnnealing),
        ("softadapt", SoftAdapt),
        ("ReLoBRaLo", ReLoBRaLo),
    ]:
        assert type(balancing.get(name)) is cls
    instance = SoftAdapt(beta=0.3)
    assert balancing.get(instance) is instance
    assert type(balancing.get(None)) is FixedWeights
    config = keras.saving.serialize_keras_object(ReLoBRaLo(alpha=0.5, seed=4))
    restored = balancing.get(config)
    assert isinstance(restored, ReLoBRaLo) and restored.alpha == 0.5 and restored.seed == 4
    assert type(balancing.get("gradnorm")) is balancing.GradNorm
    with pytest.raises(ValueError, match=r"loss_balancing='nope'"):
        balancing.get("nope")
    with pytest.raises(ValueError, match=r"loss_balancing='nope'"):
        small_model("nope")


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: ReLoBRaLo(alpha=1.5), r"`alpha`.*alpha=1\.5"),
        (lambda: ReLoBRaLo(alpha="0.9"), r"`alpha`.*alpha='0\.9'"),
        (lambda: ReLoBRaLo(rho=-0.1), r"`rho`.*rho=-0\.1"),
        (lambda: ReLoBRaLo(temperature=0.0), r"`temperature`.*temperature=0\.0"),
        (lambda: ReLoBRaLo(temperature=float("nan")), r"`temperature`.*temperature=nan"),
        (lambda: ReLoBRaLo(seed=-1), r"`seed`.*seed=-1"),
        (lambda: ReLoBRaLo(seed=True), r"`seed`.*seed=True"),
        (lambda: SoftAdapt(beta=float("inf")), r"`beta`.*beta=inf"),
        (lambda: SoftAdapt(variant="weighted"), r"`variant`.*variant='weighted'"),
        (lambda: LearningRateAnnealing(alpha=1.0), r"`alpha`.*alpha=1\.0"),
        (lambda: LearningRateAnnealing(alpha=-0.5), r"`alpha`.*alpha=-0\.5"),
        (lambda: LearningRateAnnealing(update_every=0), r"`update_every`.*update_every=0"),
        (lambda: LearningRateAnnealing(update_every=1.5), r"`update_every`.*update_every=1\.5"),
        (lambda: LearningRateAnnealing(reference=3), r"`reference`.*reference=3"),
        (lambda: LearningRateAnnealing(weighted_gradients="yes"), r"`weighted_gradients`.*weighted_gradients='yes'"),
        (lambda: small_model(LearningRateAnnealing(reference="ic")), r"`reference`.*reference='ic'"),
    ],
)
def test_bad_arguments_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_a_balancer_belongs_to_one_model():
    b = ReLoBRaLo()
    small_model(b)
    with pytest.raises(ValueError, match="belongs to one model"):
        small_model(b)
