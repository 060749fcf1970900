"""The accuracy training methods: causal weighting, residual-based attention,
gradient-norm balancing and the Adam + L-BFGS recipe, against hand-computed
values on tiny examples, inside PINNModel.fit on every backend."""

import math
import types

import keras
import numpy as np
import pytest
from keras import ops

import keras_pinn as kp
from keras_pinn.balancing import GradNorm
from keras_pinn.weighting import CausalWeighting, ResidualAttention
from tests._backend_utils import grad_wrt_variable

DOMAIN = kp.SpaceTime(kp.Interval(-1.0, 1.0, "x"), 0.0, 1.0)


@keras.saving.register_keras_serializable(package="tests_accuracy")
def heat(d):
    return d("u", "t") - 0.1 * d("u", "x", "x")


@keras.saving.register_keras_serializable(package="tests_accuracy")
def initial(p):
    return np.sin(np.pi * p[:, :1])


def _stub(n=4, resample=False):
    points = {"pde": {"x": np.zeros((n, 2), "float32")}}
    return types.SimpleNamespace(domain=DOMAIN, resample=resample, point_sets=lambda: points)


def _tiny_model(**kwargs):
    net = keras.Sequential([keras.Input((2,)), kp.layers.DomainScaler(DOMAIN), kp.layers.MLP([8], 1)])
    return kp.PINNModel(
        net, DOMAIN, heat, conditions=[kp.InitialCondition(initial, n_points=16)], n_collocation=32, seed=0, **kwargs
    )


# -- causal weighting -------------------------------------------------------------
T = np.array([[0.0, 0.1], [0.0, 0.3], [0.0, 0.6], [0.0, 0.9], [0.0, 1.0]], "float32")
R = np.array([[1.0], [2.0], [3.0], [0.0], [1.0]], "float32")


def test_causal_weights_equal_hand_computed():
    w = CausalWeighting(chunks=2, epsilon=0.5)
    w.setup(_stub(), "pde")
    batch = {"x": ops.convert_to_tensor(T)}
    # chunk 0 (t < 0.5): r = 1, 2 -> L0 = 2.5; chunk 1: r = 3, 0, 1 (t = 1 in the last) -> L1 = 10 / 3
    losses = ops.convert_to_numpy(w.chunk_losses(ops.convert_to_tensor(R), batch))
    np.testing.assert_allclose(losses, [2.5, 10.0 / 3.0], rtol=1e-6)
    loss = float(ops.convert_to_numpy(w.loss(ops.convert_to_tensor(R), batch)))
    w1 = math.exp(-0.5 * 2.5)
    np.testing.assert_allclose(ops.convert_to_numpy(w.causal_weights), [1.0, w1], rtol=1e-6)
    assert loss == pytest.approx((2.5 + w1 * 10.0 / 3.0) / 2.0, rel=1e-6)
    # Three chunks, one empty (its loss 0): w_i = exp(-eps * sum of the earlier losses)
    w3 = CausalWeighting(chunks=4, epsilon=2.0)
    w3.setup(_stub(), "pde")
    w3.loss(ops.convert_to_tensor(R), batch)
    # chunks [0, .25): r=1 -> 1; [.25, .5): r=2 -> 4; [.5, .75): r=3 -> 9; [.75, 1]: r=0, 1 -> 0.5
    want = np.exp(-2.0 * np.array([0.0, 1.0, 5.0, 14.0]))
    np.testing.assert_allclose(ops.convert_to_numpy(w3.causal_weights), want, rtol=1e-5)


def test_causal_weights_carry_no_gradient():
    w = CausalWeighting(chunks=2, epsilon=0.5)
    w.setup(_stub(), "pde")
    s = keras.Variable(1.0, name="s")
    batch = {"x": ops.convert_to_tensor(T)}
    g = grad_wrt_variable(lambda: w.loss(s * ops.convert_to_tensor(R), batch), s)
    w1 = math.exp(-0.5 * 2.5)
    # d/ds of mean(w_i s^2 L_i) with w held constant, at s = 1
    assert float(g) == pytest.approx((2 * 2.5 + 2 * w1 * 10.0 / 3.0) / 2.0, rel=1e-5)


def test_causal_weighting_in_fit_updates_its_weights_and_evaluate_is_plain():
    model = _tiny_model(point_weighting=CausalWeighting(chunks=4, epsilon=1e4))
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(epochs=1, steps_per_epoch=2, verbose=0)
    weights = ops.convert_to_numpy(model.point_weighting["pde"].causal_weights)
    assert weights[0] == 1.0 and weights[-1] < 1.0  # updated inside the compiled step
    result = model.evaluate(verbose=0, return_dict=True)
    r = ops.convert_to_numpy(model.residual(model.point_sets()["pde"]["x"]))
    assert result["pde_loss"] == pytest.approx(float(np.mean(r**2)), rel=1e-4)


# -- residual-based attention ----------------------------------------------------------
def test_rba_update_rule_on_a_tiny_example():
    w = ResidualAttention(gamma=0.5, eta=0.1, initial=1.0)
    w.setup(_stub(4), "pde")
    r = np.array([[1.0], [-2.0], [0.5], [4.0]], "float32")
    loss = float(ops.convert_to_numpy(w.loss(ops.convert_to_tensor(r), {})))
    lam = 0.5 * 1.0 + 0.1 * np.abs(r[:, 0]) / 4.0
    np.testing.assert_allclose(ops.convert_to_numpy(w.point_weights), lam, rtol=1e-6)
    assert loss == pytest.approx(float(np.mean((lam * r[:, 0]) ** 2)), rel=1e-6)
    w.loss(ops.convert_to_tensor(r), {})
    np.testing.assert_allclose(
        ops.convert_to_numpy(w.point_weights), 0.5 * lam + 0.1 * np.abs(r[:, 0]) / 4.0, rtol=1e-6
    )


def test_rba_in_fit_and_its_errors():
    model = _tiny_model(point_weighting="rba")
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(epochs=1, steps_per_epoch=3, verbose=0)
    lam = ops.convert_to_numpy(model.point_weighting["pde"].point_weights)
    # three updates lambda <- 0.999 lambda + 0.01 |r| / max |r| from 1: within these bounds, and moved
    assert lam.shape == (32,) and np.all(lam >= 0.999**3 - 1e-6) and np.all(lam <= 0.999**3 + 0.01 * 2.997 + 1e-6)
    assert lam.max() - lam.min() > 1e-4
    with pytest.raises(ValueError, match="resample"):
        _tiny_model(point_weighting="rba", resample=True)
    with pytest.raises(ValueError, match="point_weighting"):
        _tiny_model(point_weighting={"nope": "rba"})
    with pytest.raises(ValueError, match="time"):
        ResidualAttention()  # fine
        w = CausalWeighting(time="s")
        w.setup(_stub(), "pde")


@pytest.mark.parametrize(
    "make, argument",
    [
        (lambda: CausalWeighting(chunks=0), "chunks"),
        (lambda: CausalWeighting(epsilon=-1.0), "epsilon"),
        (lambda: ResidualAttention(gamma=1.0), "gamma"),
        (lambda: ResidualAttention(eta=0.0), "eta"),
        (lambda: GradNorm(momentum=1.0), "momentum"),
        (lambda: GradNorm(update_every=0), "update_every"),
        (lambda: kp.recipe.train(None, adam_steps=0), "adam_steps"),
        (lambda: kp.recipe.TimeLimit(0), "seconds"),
    ],
)
def test_bad_arguments_name_the_argument(make, argument):
    with pytest.raises(ValueError, match=argument):
        make()


# -- gradient-norm balancing ---------------------------------------------------------
def test_gradnorm_weights_on_a_tiny_example():
    np.testing.assert_allclose(GradNorm.weights_from_norms([1.0, 3.0]), [2.0 / (1 + 2e-5), 2.0 / (3 + 2e-5)])
    # u = w x, one data point at x = 1 and one at x = 2, targets 0: L1 = w^2, L2 = 4 w^2;
    # at w = 1 the gradient norms are 2 and 8.
    net = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    net.set_weights([np.ones((1, 1), "float32")])
    model = kp.PINNModel(
        net,
        kp.Interval(0.0, 3.0),
        conditions=[kp.PointData([[1.0]], [0.0], name="a"), kp.PointData([[2.0]], [0.0], name="b")],
        loss_balancing=GradNorm(momentum=0.9),
    )
    model.loss_balancer.on_epoch_end(model, 0)
    hat = np.array([5.0 / (2 + 5e-5), 5.0 / (8 + 5e-5)])
    weights = model.loss_weights()
    np.testing.assert_allclose([weights["a"], weights["b"]], 0.9 + 0.1 * hat, rtol=1e-5)
    assert kp.balancing.get("gradnorm").name == "gradnorm"


# -- the recipe, saving ---------------------------------------------------------------
def test_recipe_runs_adam_then_lbfgs_and_saves(tmp_path):
    net = kp.recipe.network(DOMAIN, width=8, depth=1, fourier_features=4, time_scale=0.5, periodic={"x": 2.0})
    model = kp.PINNModel(
        net,
        DOMAIN,
        heat,
        conditions=[kp.InitialCondition(initial, n_points=16)],
        n_collocation=32,
        seed=0,
        loss_balancing="gradnorm",
        point_weighting="causal",
    )
    result = model.fit_recipe(adam_steps=4, lbfgs_steps=3, steps_per_epoch=2)
    assert len(result["adam"].history["loss"]) == 2
    assert result["lbfgs"].lbfgs["iterations"] <= 3
    assert int(ops.convert_to_numpy(model.loss_balancer.n_updates)) == 2  # after each Adam epoch
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.point_weighting["pde"], CausalWeighting)
    assert isinstance(loaded.loss_balancer, GradNorm)
    np.testing.assert_allclose(
        ops.convert_to_numpy(loaded.point_weighting["pde"].causal_weights),
        ops.convert_to_numpy(model.point_weighting["pde"].causal_weights),
    )
    x = DOMAIN.grid((4, 3))
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_time_limit_stops_fit():
    model = _tiny_model()
    model.compile(optimizer="adam")
    history = model.fit(epochs=50, steps_per_epoch=2, verbose=0, callbacks=[kp.recipe.TimeLimit(1e-9)])
    assert len(history.history["loss"]) == 1


# -- the recipe's examples, tiny budgets --------------------------------------------
def _example(name):
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parent.parent / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["recipe_wave", "recipe_poisson3d"])
def test_recipe_examples_run(name, capsys):
    error = _example(name).main(["--adam-steps", "2", "--lbfgs-steps", "2", "--collocation", "32", "--width", "8"])
    assert math.isfinite(error) and f"relative_l2={error:.3e}" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        _example(name).main(["--adam-steps", "0"])
