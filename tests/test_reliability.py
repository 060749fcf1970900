"""Reliability: bad inputs give clear errors (the rows of docs/errors.md not
tested elsewhere), StopOnNonFinite stops a poisoned run and restores the
last finite state, Keras's per-batch logs hold the per-term values, and two
seeded runs on one backend repeat exactly (docs/determinism.md)."""

import math
import warnings

import keras
import numpy as np
import pytest
from keras import ops

import keras_pinn as kp
from keras_pinn.callbacks import StopOnNonFinite
from keras_pinn.layers import DomainScaler
from keras_pinn.problems import BuckleyLeverettResidual, BurgersResidual, HeatResidual

BACKEND = keras.backend.backend()
DOMAIN = kp.SpaceTime(kp.Interval(0.0, 1.0), 0.0, 2.0)


def mlp(width=4):
    return keras.Sequential(
        [keras.Input((2,)), DomainScaler(DOMAIN), keras.layers.Dense(width, "tanh"), keras.layers.Dense(1)]
    )


def heat_pde(d):
    return d("u", "t") - 0.1 * d("u", "x", "x")


def model(**kwargs):
    args = {"network": mlp(), "domain": DOMAIN, "pde": heat_pde, "n_collocation": 4}
    args.update(kwargs)
    return kp.PINNModel(**args)


def fit_with_bad_steps():
    m = model()
    m.compile()
    m.fit(steps_per_epoch=0, verbose=0)


# -- bad inputs: the rows of docs/errors.md not tested in other files ------------

BAD_INPUTS = [
    # bounds
    pytest.param(lambda: kp.Interval(1.0, 0.0), r"strictly below.*Received: lower=\[1.0\], upper=\[0.0\]", id="interval-reversed"),
    pytest.param(lambda: kp.Box([0, 0], [1, 1], names=("x",)), r"Received: names=\('x',\)", id="box-names-count"),
    pytest.param(lambda: DomainScaler([1.0], [0.0]), r"strictly below.*Received: lower=\[1.0\], upper=\[0.0\]", id="scaler-reversed"),
    pytest.param(lambda: DomainScaler([0.0], [np.nan]), r"finite.*Received: lower=\[0.0\], upper=\[nan\]", id="scaler-nan"),
    pytest.param(lambda: DomainScaler([0.0, 0.0], [1.0]), r"equal length.*Received: lower=\[0.0, 0.0\], upper=\[1.0\]", id="scaler-lengths"),
    pytest.param(lambda: DomainScaler(DOMAIN, [1.0, 1.0]), r"not both.*Received: lower=SpaceTime", id="scaler-domain-and-upper"),
    pytest.param(lambda: DomainScaler([0.0]), "Received: upper=None", id="scaler-no-upper"),
    # shapes
    pytest.param(lambda: DomainScaler(DOMAIN)(np.zeros((3, 3), "float32")), r"2 coordinate\(s\).*3 column\(s\)", id="scaler-columns"),
    pytest.param(lambda: kp.PointData([[0.5, 0.5], [0.2, 0.2]], [1.0, 2.0, 3.0]), r"values.*shape \(3, 1\) for 2 points", id="data-rows"),
    pytest.param(lambda: model(conditions=[kp.PointData([[0.5, 0.5]], [[1.0, 2.0]])]), r"Received: values with shape \(1, 2\)", id="data-columns"),
    pytest.param(
        lambda: model(conditions=[kp.DirichletBC(np.zeros(3), points=[[0.0, 0.5], [1.0, 0.5]])]),
        r"one target per point.*Received: shape \(3, 1\)",
        id="target-array-length",
    ),
    pytest.param(
        lambda: kp.PINNModel(keras.layers.Lambda(lambda z: ops.sum(z, axis=1)), DOMAIN, heat_pde),
        r"`network` must map \(N, 2\).*Received: output shape \(1,\)",
        id="network-output-rank",
    ),
    # empty or NaN point sets and targets
    pytest.param(lambda: model(conditions=[kp.PointData(np.zeros((0, 2)), np.zeros(0))]), r"points` is empty. Received: shape \(0, 2\)", id="data-empty"),
    pytest.param(lambda: kp.DirichletBC(np.nan), "Received: value=nan", id="target-nan"),
    pytest.param(lambda: kp.DirichletBC(0.0, n_points=True), "Received: n_points=True", id="n-points-bool"),
    pytest.param(lambda: DOMAIN.sample_interior(4.0), r"Received: n=4.0", id="n-float"),
    pytest.param(lambda: DOMAIN.sample_boundary(4, faces=[]), r"Received: faces=\[\]", id="faces-empty"),
    # points outside the domain
    pytest.param(lambda: model().residual(np.array([[5.0, 0.5]])), r"`x` has 1 point\(s\) outside the domain.*\[5.0, 0.5\]", id="residual-outside"),
    pytest.param(
        lambda: model(conditions=[kp.NeumannBC(0.0, points=[[0.5, 0.5]])]),
        r"Point \[0.5, 0.5\] \(row 0\) lies on none of the faces",
        id="neumann-off-face",
    ),
    # unknown names
    pytest.param(lambda: DOMAIN.sample_boundary(4, faces=["t_min"]), r"Unknown face.*Received: face='t_min'", id="face-time"),
    pytest.param(lambda: DOMAIN.index(5), r"Unknown coordinate.*5", id="coordinate-index"),
    pytest.param(lambda: model(pde=lambda d: d("v", "x")), r"Unknown output 'v'.*Received: output='v'", id="pde-unknown-output"),
    pytest.param(lambda: model(pde=lambda d: d("u", "y")), r"Unknown input 'y'.*Received: wrt='y'", id="pde-unknown-input"),
    pytest.param(lambda: model(pde=lambda d: d.coord("y") * d("u")), r"Unknown input 'y'.*Received: name='y'", id="pde-unknown-coord"),
    pytest.param(
        lambda: kp.derivatives(lambda z: z[:, :1], np.zeros((2, 2), "float32")).gradient("u", ["q"]),
        "Received: wrt='q'",
        id="gradient-unknown-input",
    ),
    pytest.param(
        lambda: kp.derivatives(lambda z: z[:, :1], np.zeros((2, 2), "float32")).laplacian("w"),
        "Received: output='w'",
        id="laplacian-unknown-output",
    ),
    pytest.param(lambda: model(conditions=[kp.DirichletBC(0.0, component=3)]), r"component.*Received: component=3", id="component-index"),
    # residuals
    pytest.param(lambda: model(pde=lambda d: None), "returned None", id="residual-none"),
    pytest.param(lambda: model(pde=lambda d: d("u")[:1]), r"term 'pde'.*\(2,\) or \(2, k\).*Received: shape \(1, 1\)", id="residual-rows"),
    pytest.param(lambda: model(pde=lambda d: d("u")[:, :, None]), r"Received: shape \(2, 1, 1\)", id="residual-rank"),
    # reference problems' residuals
    pytest.param(lambda: BurgersResidual(nu=0.0), r"`nu` must be positive. Received: nu=0.0", id="burgers-nu"),
    pytest.param(lambda: HeatResidual(alpha=-1.0), r"Received: alpha=-1.0", id="heat-alpha"),
    pytest.param(lambda: BuckleyLeverettResidual(m=0.0), r"Received: m=0.0", id="buckley-leverett-m"),
    # other arguments
    pytest.param(lambda: kp.Residual(3), "Received: fn=3", id="residual-fn"),
    pytest.param(lambda: kp.DirichletBC(0.0, name="my bc"), "Received: name='my bc'", id="term-name"),
    pytest.param(lambda: kp.DirichletBC(0.0, weight=np.nan), "Received: weight=nan", id="weight-nan"),
    pytest.param(
        lambda: model(conditions=[kp.DirichletBC(0.0, name="a"), kp.DirichletBC(1.0, name="a")]),
        "Two terms are named 'a'",
        id="term-name-twice",
    ),
    pytest.param(fit_with_bad_steps, "Received: steps_per_epoch=0", id="steps-per-epoch"),
    pytest.param(lambda: StopOnNonFinite(restore_last_finite="yes"), "Received: restore_last_finite='yes'", id="callback-flag"),
]


@pytest.mark.parametrize("call,message", BAD_INPUTS)
def test_bad_input_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_integer_points_are_cast_not_refused():
    d = kp.derivatives(lambda z: z[:, :1] ** 2, np.array([[1, 2], [3, 4]], "int32"))
    assert keras.backend.is_float_dtype(d("u", 0).dtype)
    np.testing.assert_allclose(ops.convert_to_numpy(d("u", 0)), [[2.0], [6.0]])


# More bad inputs, each with its error type (one is a KeyError), checked with
# warnings silenced: each message names the argument and the value received.
BAD_INPUTS_BY_TYPE = [
    pytest.param(lambda: kp.SpaceTime(kp.Interval(0, 1), 1.0, 0.0), ValueError, r"Received: t0=1.0, t1=0.0", id="spacetime-t1-before-t0"),
    pytest.param(lambda: DOMAIN.check_points([["a", "b"]]), ValueError, r"`points` must be an array of numbers.*Received: points=", id="points-not-numbers"),
    pytest.param(lambda: model(conditions=[kp.PeriodicBC("q")]), ValueError, r"Unknown coordinate.*Received: coordinate='q'", id="periodic-unknown-coordinate"),
    pytest.param(lambda: kp.PointData([["a", 0.1]], [1.0]), ValueError, r"`points` must be an array of numbers.*Received: points=", id="data-points-not-numbers"),
    pytest.param(lambda: kp.PointData([[0.5, 0.5]], ["a"]), ValueError, r"`values` must be an array of numbers.*Received: values=", id="data-values-not-numbers"),
    pytest.param(lambda: kp.DirichletBC("zero"), ValueError, r"`value` must be a number, an array or a callable.*Received: value='zero'", id="target-string"),
    pytest.param(lambda: kp.PointData([[0.5, 0.5]], [np.inf]), ValueError, r"`values` holds 1 non-finite.*row 0", id="data-values-inf"),
    pytest.param(
        lambda: model(conditions=[kp.DirichletBC(lambda p: np.full(len(p), np.nan), n_points=4)]),
        ValueError,
        r"produced 4 non-finite target\(s\).*first at row 0",
        id="target-callable-nan",
    ),
    pytest.param(
        lambda: model(conditions=[kp.InitialCondition(0.0, points=[[0.5, 0.5]])]),
        ValueError,
        r"t = t0 = 0.0.*Received: 1 point\(s\) off it, first at row 0: \[0.5, 0.5\]",
        id="initial-points-off-t0",
    ),
    pytest.param(
        lambda: model(conditions=[kp.PeriodicBC("x", points=[[0.5, 0.5]])]),
        ValueError,
        r"lower face x = 0.0.*Received: 1 point\(s\) off it, first at row 0: \[0.5, 0.5\]",
        id="periodic-points-off-face",
    ),
    pytest.param(lambda: kp.DirichletBC(0.0, sampler="halton"), ValueError, r"Unknown sampler.*Received: sampler='halton'", id="condition-sampler"),
    pytest.param(lambda: model(pde_weight=-1.0), ValueError, r"Received: pde_weight=-1.0", id="pde-weight"),
    pytest.param(lambda: model(n_collocation=0), ValueError, r"Received: n_collocation=0", id="n-collocation"),
    pytest.param(lambda: model(parameters={"my alpha": 1.0}), ValueError, r"identifiers.*Received: parameters=\{'my alpha': 1.0\}", id="parameter-name"),
    pytest.param(lambda: model(parameters={"a": "x"}), ValueError, r"numbers.*Received: parameters=\{'a': 'x'\}", id="parameter-value"),
    pytest.param(lambda: model(output_transform=3), ValueError, r"Received: output_transform=3", id="output-transform"),
    pytest.param(lambda: model().residual(np.array([[0.5, 0.5]]), term="foo"), ValueError, r"Unknown term.*Received: term='foo'", id="residual-unknown-term"),
    pytest.param(
        lambda: kp.PINNModel(keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)]), DOMAIN, heat_pde),
        ValueError,
        r"`network` must accept \(N, 2\) points.*\('x', 't'\)",
        id="network-input-width",
    ),
    pytest.param(lambda: model(pde=lambda d: d.params["beta"] * d("u")), KeyError, r"Unknown PDE parameter 'beta'.*parameters=", id="pde-unknown-parameter"),
]


@pytest.mark.parametrize("call,error,message", BAD_INPUTS_BY_TYPE)
def test_bad_input_errors_by_type(call, error, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(error, match=message):
            call()


def test_evaluate_with_plain_array_names_the_expected_input():
    """Today each backend fails differently (JAX and TensorFlow TypeError,
    PyTorch IndexError) deep inside compute_loss."""
    m = model(conditions=[kp.DirichletBC(0.0, n_points=4)])
    m.compile()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch: "non-tuple sequence for multidimensional indexing"
        with pytest.raises(ValueError, match=r"own points.*Received: x of type"):
            m.evaluate(np.zeros((3, 2), "float32"), verbose=0)


def test_float64_residual_trains_on_every_backend():
    """A residual in float64 (floatx float32): JAX truncates it, PyTorch
    promotes the loss; TensorFlow fails with a TypeError from AddV2."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # JAX: "float64 ... truncated to float32"
        m = model(pde=lambda d: ops.cast(heat_pde(d), "float64"), conditions=[kp.DirichletBC(0.0, n_points=4)])
        m.compile()
        history = m.fit(epochs=1, verbose=0)
    assert math.isfinite(history.history["loss"][0])


def test_samples_stay_in_a_box_with_bounds_of_very_different_magnitudes():
    """``lower + unit * (upper - lower)`` rounds in float64 when |upper| is
    far below |lower|: the grid's last point then lies past ``upper`` (by
    1e-16 here) or short of it; ``Box.contains`` (relative tolerance 1e-6)
    accepts both, but the points are not on the face nor in the closed box."""
    for upper in (1e-12, 6.34e-34):
        box = kp.Interval(-1.0, upper)
        points = box.sample_interior(2, "grid")
        top = np.float32(upper)
        assert points.max() <= top, (upper, points.max())
        assert points.max() == top, (upper, points.max())


# -- StopOnNonFinite ---------------------------------------------------------------


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
        [keras.Input((2,)), DomainScaler(DOMAIN), keras.layers.Dense(6, "tanh"), keras.layers.Dense(1), Gate(name="gate")]
    )
    m = kp.PINNModel(
        net,
        DOMAIN,
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


class Recorder(keras.callbacks.Callback):
    """Per-batch logs, and host copies of the weights before and after each step."""

    def __init__(self):
        super().__init__()
        self.logs, self.before, self.after = [], [], []

    def on_train_begin(self, logs=None):
        self.initial = [np.array(w, copy=True) for w in self.model.get_weights()]

    def on_train_batch_begin(self, batch, logs=None):
        self.before.append([np.array(w, copy=True) for w in self.model.get_weights()])

    def on_train_batch_end(self, batch, logs=None):
        self.logs.append(dict(logs))
        self.after.append([np.array(w, copy=True) for w in self.model.get_weights()])


def assert_weights_equal(actual, expected):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        np.testing.assert_array_equal(a, e)


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
    # the failing update made the weights NaN; the callback put back those of the step before
    assert not all(np.isfinite(w).all() for w in rec.after[poisoned])
    assert stop.restored and stop.restored_from_step == poisoned - 1
    assert_weights_equal(m.get_weights(), rec.after[poisoned - 1])  # the gate's flag is back to 1 too
    # the optimizer state is the finite one too (4 applied steps), so training resumes
    assert int(ops.convert_to_numpy(m.optimizer.iterations)) == poisoned
    assert all(np.isfinite(ops.convert_to_numpy(v)).all() for v in m.optimizer.variables)
    healthy = StopOnNonFinite()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        resumed = m.fit(epochs=2, steps_per_epoch=1, verbose=0, callbacks=[healthy])
    assert all(math.isfinite(v) for v in resumed.history["loss"])
    assert healthy.step is None and healthy.term is None and not healthy.restored


def test_stop_at_first_step_restores_initial_state():
    m = gated_model()
    stop, rec = StopOnNonFinite(), Recorder()
    with pytest.warns(RuntimeWarning, match=r"term 'pde'.*at step 0 .*start of training"):
        m.fit(epochs=2, steps_per_epoch=2, verbose=0, callbacks=[PoisonAt(0), rec, stop])
    assert stop.step == 0 and stop.term == "pde" and stop.restored_from_step == -1
    assert len(rec.logs) == 1
    assert_weights_equal(m.get_weights(), rec.initial)
    assert int(ops.convert_to_numpy(m.optimizer.iterations)) == 0
    assert all(np.isfinite(ops.convert_to_numpy(v)).all() for v in m.optimizer.variables)


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
    assert_weights_equal(m.get_weights(), rec.after[1])


def test_batch_logs_hold_running_means_of_each_term():
    """What a batch-level callback reads is the step's own values, not stale
    or lazy ones (JAX's trainer returns device arrays; Keras converts them to
    floats before calling the callback): at batch k each ``<term>_loss`` is
    the running mean over the epoch's steps 0..k of that term at the weights
    the step started from."""
    m = kp.PINNModel(
        mlp(6), DOMAIN, heat_pde,
        conditions=[kp.DirichletBC(0.0, n_points=8), kp.InitialCondition(lambda p: np.sin(np.pi * p[:, 0]), n_points=8)],
        n_collocation=16, seed=0,
    )
    m.compile(optimizer=keras.optimizers.SGD(0.05))
    rec = Recorder()
    m.fit(epochs=1, steps_per_epoch=4, verbose=0, callbacks=[rec])
    assert len(rec.logs) == 4
    at_start = []
    for weights in rec.before:
        m.set_weights(weights)
        at_start.append(m.evaluate(verbose=0, return_dict=True))
    for key in ("loss", "pde_loss", "bc_loss", "ic_loss"):
        logged = [log[key] for log in rec.logs]
        assert all(isinstance(v, float) for v in logged), key
        per_step = [e[key] for e in at_start]
        running = np.cumsum(per_step) / np.arange(1, 5)
        np.testing.assert_allclose(logged, running, rtol=2e-5, err_msg=key)
        assert len(set(per_step)) == 4, key  # the weights moved: values are per step


# -- determinism on one backend -------------------------------------------------------


def seeded_run(seed):
    keras.utils.set_random_seed(seed)
    m = kp.PINNModel(
        mlp(6), DOMAIN, heat_pde,
        conditions=[kp.DirichletBC(0.0, n_points=8, sampler="lhs"), kp.InitialCondition(lambda p: np.sin(np.pi * p[:, 0]), n_points=8)],
        n_collocation=16, resample=True, seed=seed,
    )
    m.compile(optimizer=keras.optimizers.Adam(1e-2))
    rec = Recorder()
    m.fit(epochs=3, steps_per_epoch=2, verbose=0, callbacks=[rec])
    return rec, m


def test_same_seeds_repeat_the_run_exactly():
    """set_random_seed(s) plus PINNModel(seed=s): the same initial weights,
    points, per-step losses and final weights, bit for bit (measured exact on
    CPU for jax, tensorflow and torch; see docs/determinism.md)."""
    (a, model_a), (b, model_b) = seeded_run(7), seeded_run(7)
    assert_weights_equal(a.initial, b.initial)
    assert a.logs == b.logs
    assert_weights_equal(model_a.get_weights(), model_b.get_weights())
    for name, batch in model_a.point_sets().items():
        np.testing.assert_array_equal(batch["x"], model_b.point_sets()[name]["x"])
    # and the seed matters
    keras.utils.set_random_seed(8)
    other = mlp(6)
    assert not np.array_equal(other.get_weights()[0], a.initial[0])
