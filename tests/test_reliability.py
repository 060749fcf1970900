"""Reliability: bad inputs give clear errors (the rows of docs/errors.md not
tested elsewhere), Keras's per-batch logs hold the per-term values, two
seeded runs on one backend repeat exactly (docs/determinism.md), and points
and sampler state are saved with the model. StopOnNonFinite's tests are in
test_callbacks.py, the conditions' in test_conditions.py."""

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
from tests._backend_utils import Recorder, assert_weights_equal

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
    pytest.param(
        ValueError,
        lambda: kp.Interval(1.0, 0.0),
        r"strictly below.*Received: lower=\[1.0\], upper=\[0.0\]",
        id="interval-reversed",
    ),
    pytest.param(
        ValueError, lambda: kp.Box([0, 0], [1, 1], names=("x",)), r"Received: names=\('x',\)", id="box-names-count"
    ),
    pytest.param(
        ValueError,
        lambda: DomainScaler([1.0], [0.0]),
        r"strictly below.*Received: lower=\[1.0\], upper=\[0.0\]",
        id="scaler-reversed",
    ),
    pytest.param(
        ValueError,
        lambda: DomainScaler([0.0], [np.nan]),
        r"finite.*Received: lower=\[0.0\], upper=\[nan\]",
        id="scaler-nan",
    ),
    pytest.param(
        ValueError,
        lambda: DomainScaler([0.0, 0.0], [1.0]),
        r"equal length.*Received: lower=\[0.0, 0.0\], upper=\[1.0\]",
        id="scaler-lengths",
    ),
    pytest.param(
        ValueError,
        lambda: DomainScaler(DOMAIN, [1.0, 1.0]),
        r"not both.*Received: lower=SpaceTime",
        id="scaler-domain-and-upper",
    ),
    pytest.param(ValueError, lambda: DomainScaler([0.0]), "Received: upper=None", id="scaler-no-upper"),
    # shapes
    pytest.param(
        ValueError,
        lambda: DomainScaler(DOMAIN)(np.zeros((3, 3), "float32")),
        r"2 coordinate\(s\).*3 column\(s\)",
        id="scaler-columns",
    ),
    pytest.param(
        ValueError,
        lambda: kp.PointData([[0.5, 0.5], [0.2, 0.2]], [1.0, 2.0, 3.0]),
        r"values.*shape \(3, 1\) for 2 points",
        id="data-rows",
    ),
    pytest.param(
        ValueError,
        lambda: model(conditions=[kp.PointData([[0.5, 0.5]], [[1.0, 2.0]])]),
        r"Received: values with shape \(1, 2\)",
        id="data-columns",
    ),
    pytest.param(
        ValueError,
        lambda: model(conditions=[kp.DirichletBC(np.zeros(3), points=[[0.0, 0.5], [1.0, 0.5]])]),
        r"one target per point.*Received: shape \(3, 1\)",
        id="target-array-length",
    ),
    pytest.param(
        ValueError,
        lambda: kp.PINNModel(keras.layers.Lambda(lambda z: ops.sum(z, axis=1)), DOMAIN, heat_pde),
        r"`network` must map \(N, 2\).*Received: output shape \(1,\)",
        id="network-output-rank",
    ),
    # empty or NaN point sets and targets
    pytest.param(
        ValueError,
        lambda: model(conditions=[kp.PointData(np.zeros((0, 2)), np.zeros(0))]),
        r"points` is empty. Received: shape \(0, 2\)",
        id="data-empty",
    ),
    pytest.param(ValueError, lambda: kp.DirichletBC(np.nan), "Received: value=nan", id="target-nan"),
    pytest.param(ValueError, lambda: kp.DirichletBC(0.0, n_points=True), "Received: n_points=True", id="n-points-bool"),
    pytest.param(ValueError, lambda: DOMAIN.sample_interior(4.0), r"Received: n=4.0", id="n-float"),
    pytest.param(ValueError, lambda: DOMAIN.sample_boundary(4, faces=[]), r"Received: faces=\[\]", id="faces-empty"),
    # points outside the domain
    pytest.param(
        ValueError,
        lambda: model().residual(np.array([[5.0, 0.5]])),
        r"`x` has 1 point\(s\) outside the domain.*\[5.0, 0.5\]",
        id="residual-outside",
    ),
    pytest.param(
        ValueError,
        lambda: model(conditions=[kp.NeumannBC(0.0, points=[[0.5, 0.5]])]),
        r"Point \[0.5, 0.5\] \(row 0\) lies on none of the faces",
        id="neumann-off-face",
    ),
    # unknown names
    pytest.param(
        ValueError,
        lambda: DOMAIN.sample_boundary(4, faces=["t_min"]),
        r"Unknown face.*Received: face='t_min'",
        id="face-time",
    ),
    pytest.param(ValueError, lambda: DOMAIN.index(5), r"Unknown coordinate.*5", id="coordinate-index"),
    pytest.param(
        ValueError,
        lambda: model(pde=lambda d: d("v", "x")),
        r"Unknown output 'v'.*Received: output='v'",
        id="pde-unknown-output",
    ),
    pytest.param(
        ValueError,
        lambda: model(pde=lambda d: d("u", "y")),
        r"Unknown input 'y'.*Received: wrt='y'",
        id="pde-unknown-input",
    ),
    pytest.param(
        ValueError,
        lambda: model(pde=lambda d: d.coord("y") * d("u")),
        r"Unknown input 'y'.*Received: name='y'",
        id="pde-unknown-coord",
    ),
    pytest.param(
        ValueError,
        lambda: kp.derivatives(lambda z: z[:, :1], np.zeros((2, 2), "float32")).gradient("u", ["q"]),
        "Received: wrt='q'",
        id="gradient-unknown-input",
    ),
    pytest.param(
        ValueError,
        lambda: kp.derivatives(lambda z: z[:, :1], np.zeros((2, 2), "float32")).laplacian("w"),
        "Received: output='w'",
        id="laplacian-unknown-output",
    ),
    pytest.param(
        ValueError,
        lambda: model(conditions=[kp.DirichletBC(0.0, component=3)]),
        r"component.*Received: component=3",
        id="component-index",
    ),
    # residuals
    pytest.param(ValueError, lambda: model(pde=lambda d: None), "returned None", id="residual-none"),
    pytest.param(
        ValueError,
        lambda: model(pde=lambda d: d("u")[:1]),
        r"term 'pde'.*\(3,\) or \(3, k\).*Received: shape \(1, 1\)",
        id="residual-rows",
    ),
    pytest.param(
        ValueError, lambda: model(pde=lambda d: d("u")[:, :, None]), r"Received: shape \(3, 1, 1\)", id="residual-rank"
    ),
    # reference problems' residuals
    pytest.param(
        ValueError, lambda: BurgersResidual(nu=0.0), r"`nu` must be positive. Received: nu=0.0", id="burgers-nu"
    ),
    pytest.param(ValueError, lambda: HeatResidual(alpha=-1.0), r"Received: alpha=-1.0", id="heat-alpha"),
    pytest.param(ValueError, lambda: BuckleyLeverettResidual(m=0.0), r"Received: m=0.0", id="buckley-leverett-m"),
    # other arguments
    pytest.param(ValueError, lambda: kp.Residual(3), "Received: fn=3", id="residual-fn"),
    pytest.param(ValueError, lambda: kp.DirichletBC(0.0, name="my bc"), "Received: name='my bc'", id="term-name"),
    pytest.param(ValueError, lambda: kp.DirichletBC(0.0, weight=np.nan), "Received: weight=nan", id="weight-nan"),
    pytest.param(
        ValueError,
        lambda: model(conditions=[kp.DirichletBC(0.0, name="a"), kp.DirichletBC(1.0, name="a")]),
        "Two terms are named 'a'",
        id="term-name-twice",
    ),
    pytest.param(ValueError, fit_with_bad_steps, "Received: steps_per_epoch=0", id="steps-per-epoch"),
    pytest.param(
        ValueError,
        lambda: StopOnNonFinite(restore_last_finite="yes"),
        "Received: restore_last_finite='yes'",
        id="callback-flag",
    ),
]


def test_integer_points_are_cast_not_refused():
    d = kp.derivatives(lambda z: z[:, :1] ** 2, np.array([[1, 2], [3, 4]], "int32"))
    assert keras.backend.is_float_dtype(d("u", 0).dtype)
    np.testing.assert_allclose(ops.convert_to_numpy(d("u", 0)), [[2.0], [6.0]])


MORE_BAD_INPUTS = [
    pytest.param(
        ValueError,
        lambda: kp.SpaceTime(kp.Interval(0, 1), 1.0, 0.0),
        r"Received: t0=1.0, t1=0.0",
        id="spacetime-t1-before-t0",
    ),
    pytest.param(
        ValueError,
        lambda: DOMAIN.check_points([["a", "b"]]),
        r"`points` must be an array of numbers.*Received: points=",
        id="points-not-numbers",
    ),
    pytest.param(
        ValueError,
        lambda: model(conditions=[kp.PeriodicBC("q")]),
        r"Unknown coordinate.*Received: coordinate='q'",
        id="periodic-unknown-coordinate",
    ),
    pytest.param(
        ValueError,
        lambda: kp.PointData([["a", 0.1]], [1.0]),
        r"`points` must be an array of numbers.*Received: points=",
        id="data-points-not-numbers",
    ),
    pytest.param(
        ValueError,
        lambda: kp.PointData([[0.5, 0.5]], ["a"]),
        r"`values` must be an array of numbers.*Received: values=",
        id="data-values-not-numbers",
    ),
    pytest.param(
        ValueError,
        lambda: kp.DirichletBC("zero"),
        r"`value` must be a number, an array or a callable.*Received: value='zero'",
        id="target-string",
    ),
    pytest.param(
        ValueError,
        lambda: kp.PointData([[0.5, 0.5]], [np.inf]),
        r"`values` holds 1 non-finite.*row 0",
        id="data-values-inf",
    ),
    pytest.param(
        ValueError,
        lambda: model(conditions=[kp.DirichletBC(lambda p: np.full(len(p), np.nan), n_points=4)]),
        r"produced 4 non-finite target\(s\).*first at row 0",
        id="target-callable-nan",
    ),
    pytest.param(
        ValueError,
        lambda: model(conditions=[kp.InitialCondition(0.0, points=[[0.5, 0.5]])]),
        r"t = t0 = 0.0.*Received: 1 point\(s\) off it, first at row 0: \[0.5, 0.5\]",
        id="initial-points-off-t0",
    ),
    pytest.param(
        ValueError,
        lambda: model(conditions=[kp.PeriodicBC("x", points=[[0.5, 0.5]])]),
        r"lower face x = 0.0.*Received: 1 point\(s\) off it, first at row 0: \[0.5, 0.5\]",
        id="periodic-points-off-face",
    ),
    pytest.param(
        ValueError,
        lambda: kp.DirichletBC(0.0, sampler="halton"),
        r"Unknown sampler.*Received: sampler='halton'",
        id="condition-sampler",
    ),
    pytest.param(ValueError, lambda: model(pde_weight=-1.0), r"Received: pde_weight=-1.0", id="pde-weight"),
    pytest.param(ValueError, lambda: model(n_collocation=0), r"Received: n_collocation=0", id="n-collocation"),
    pytest.param(
        ValueError,
        lambda: model(parameters={"my alpha": 1.0}),
        r"identifiers.*Received: parameters=\{'my alpha': 1.0\}",
        id="parameter-name",
    ),
    pytest.param(
        ValueError,
        lambda: model(parameters={"a": "x"}),
        r"numbers.*Received: parameters=\{'a': 'x'\}",
        id="parameter-value",
    ),
    pytest.param(ValueError, lambda: model(output_transform=3), r"Received: output_transform=3", id="output-transform"),
    pytest.param(
        ValueError,
        lambda: model().residual(np.array([[0.5, 0.5]]), term="foo"),
        r"Unknown term.*Received: term='foo'",
        id="residual-unknown-term",
    ),
    pytest.param(
        ValueError,
        lambda: kp.PINNModel(keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)]), DOMAIN, heat_pde),
        r"`network` must accept \(N, 2\) points.*\('x', 't'\)",
        id="network-input-width",
    ),
    pytest.param(
        KeyError,
        lambda: model(pde=lambda d: d.params["beta"] * d("u")),
        r"Unknown PDE parameter 'beta'.*parameters=",
        id="pde-unknown-parameter",
    ),
]


def fit_with(**kwargs):
    m = model()
    m.compile()
    m.fit(verbose=0, **kwargs)


class ListNet(keras.layers.Layer):
    """A network returning a list of two (N, 1) tensors."""

    def call(self, inputs):
        return [inputs[:, :1], inputs[:, 1:]]


def two_outputs():
    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])


def load_file(tmp, content):
    path = tmp / "model.keras"
    path.write_bytes(content)
    return keras.models.load_model(path)


# Inputs that were refused with another library's message, or accepted
# silently (#18, item 9).
NEW_BAD_INPUTS = [
    pytest.param(
        ValueError,
        lambda: model(seed="abc"),
        r"`seed` must be a non-negative integer or None. Received: seed='abc'",
        id="seed-string",
    ),
    pytest.param(ValueError, lambda: model(seed=-1), r"Received: seed=-1", id="seed-negative"),
    pytest.param(ValueError, lambda: model(seed=1.5), r"Received: seed=1.5", id="seed-float"),
    pytest.param(
        ValueError,
        lambda: model(conditions=None),
        r"`conditions` must be a list .*Received: conditions=None",
        id="conditions-none",
    ),
    pytest.param(
        ValueError,
        lambda: model(conditions=kp.DirichletBC(0.0)),
        r"`conditions` must be a list .*Received: conditions=DirichletBC\(",
        id="conditions-single",
    ),
    pytest.param(
        ValueError,
        lambda: kp.PINNModel(ListNet(), DOMAIN, heat_pde),
        r"`network` must return one \(N, m\) tensor.*returning a list of 2",
        id="network-list",
    ),
    pytest.param(
        ValueError,
        lambda: model(output_transform=lambda x, u: None),
        r"`output_transform\(x, u\)` must return .*\(1, 1\).*returning None",
        id="output-transform-none",
    ),
    pytest.param(
        ValueError,
        lambda: model(output_transform=lambda x, u: ops.concatenate([u, u], axis=1)),
        r"`output_transform\(x, u\)` must return .*Received: .*returning shape \(1, 2\)",
        id="output-transform-width",
    ),
    pytest.param(
        ValueError,
        lambda: fit_with(x={}),
        r"pass a dict .*Received: x=\{\} lacks the term\(s\) \['pde'\]",
        id="fit-x-empty-dict",
    ),
    pytest.param(
        ValueError, lambda: fit_with(batch_size=32), r"full batch.*Received: batch_size=32", id="fit-batch-size"
    ),
    pytest.param(
        ValueError,
        lambda: fit_with(stop_on_non_finite="yes"),
        r"Received: stop_on_non_finite='yes'",
        id="fit-stop-flag",
    ),
    pytest.param(
        ValueError,
        lambda: kp.Interval("a", 1.0),
        r"`lower` must be a number or a list of numbers. Received: lower=\['a'\]",
        id="interval-string-bound",
    ),
    pytest.param(
        ValueError,
        lambda: DomainScaler([0.0], ["b"]),
        r"`upper` must be a number or a list of numbers. Received: upper=\['b'\]",
        id="scaler-string-bound",
    ),
    pytest.param(
        ValueError, lambda: kp.Box([], []), r"at least one coordinate. Received: lower=\[\], upper=\[\]", id="box-empty"
    ),
    pytest.param(
        ValueError,
        lambda: model(resample="no"),
        r"`resample` must be True or False. Received: resample='no'",
        id="resample-string",
    ),
    pytest.param(
        ValueError,
        lambda: kp.DirichletBC(0.0, resample="no"),
        r"Received: resample='no'",
        id="condition-resample-string",
    ),
    pytest.param(
        ValueError,
        lambda: model(network=two_outputs(), output_names=("u", "u")),
        r"distinct.*Received: output_names=\('u', 'u'\)",
        id="output-names-duplicate",
    ),
    pytest.param(
        ValueError,
        lambda: model(output_names=(1,)),
        r"distinct non-empty strings.*Received: output_names=\(1,\)",
        id="output-names-not-strings",
    ),
    pytest.param(
        ValueError,
        lambda: model(output_names="u"),
        r"list or tuple.*Received: output_names='u'",
        id="output-names-string",
    ),
    pytest.param(
        ValueError,
        lambda: kp.layers.VectorQuantizer(8, 4, epsilon=np.inf),
        r"`epsilon` must be a finite number > 0. Received: epsilon=inf",
        id="vq-epsilon-inf",
    ),
    pytest.param(
        ValueError,
        lambda: DomainScaler([-1e39], [1e39]),
        r"overflow the layer's dtype float32.*Received: lower=\[-1e\+39\]",
        id="scaler-bounds-overflow",
    ),
    pytest.param(
        ValueError,
        lambda: DomainScaler([-3e38], [3e38]),
        r"2 \* \(upper - lower\) must be finite",
        id="scaler-extent-overflow",
    ),
]


@pytest.mark.parametrize("error,call,message", BAD_INPUTS + MORE_BAD_INPUTS + NEW_BAD_INPUTS)
def test_bad_input_errors(error, call, message):
    """One row of docs/errors.md each."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(error, match=message):
            call()


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 truncated"], ids=["empty", "truncated"])
def test_empty_or_truncated_keras_file_is_keras_file_not_found(tmp_path, content):
    """Keras's own load_model (keras_pinn has no loader of its own) calls a
    file that is not a whole zip archive "not found", though it exists:
    docs/errors.md documents it."""
    with pytest.raises(ValueError, match=r"File not found: filepath=.*model.keras"):
        load_file(tmp_path, content)


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


# -- per-batch logs ------------------------------------------------------------------


def test_batch_logs_hold_running_means_of_each_term():
    """What a batch-level callback reads is the step's own values, not stale
    or lazy ones (JAX's trainer returns device arrays; Keras converts them to
    floats before calling the callback): at batch k each ``<term>_loss`` is
    the running mean over the epoch's steps 0..k of that term at the weights
    the step started from."""
    m = kp.PINNModel(
        mlp(6),
        DOMAIN,
        heat_pde,
        conditions=[
            kp.DirichletBC(0.0, n_points=8),
            kp.InitialCondition(lambda p: np.sin(np.pi * p[:, 0]), n_points=8),
        ],
        n_collocation=16,
        seed=0,
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
        mlp(6),
        DOMAIN,
        heat_pde,
        conditions=[
            kp.DirichletBC(0.0, n_points=8, sampler="lhs"),
            kp.InitialCondition(lambda p: np.sin(np.pi * p[:, 0]), n_points=8),
        ],
        n_collocation=16,
        resample=True,
        seed=seed,
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


# -- non-finite losses in L-BFGS (#18, item 2) -----------------------------------------


def test_fit_lbfgs_from_non_finite_weights_warns_naming_the_term():
    m = kp.PINNModel(
        mlp(),
        DOMAIN,
        lambda d: heat_pde(d) + ops.log(d.params["a"]),
        conditions=[kp.DirichletBC(0.0, n_points=8)],
        parameters={"a": -1.0},
        n_collocation=16,
        seed=0,
    )
    with pytest.warns(
        RuntimeWarning, match=r"fit_lbfgs: the loss at the starting weights is not finite: term 'pde' \(nan\)"
    ):
        history = m.fit_lbfgs(epochs=1, steps_per_epoch=3, verbose=0)
    assert "not finite" in history.lbfgs["message"] and history.lbfgs["iterations"] == 0


# -- points and sampler state saved with the model (#18, item 7) ------------------------------


def resampling_model():
    keras.utils.set_random_seed(3)
    m = kp.PINNModel(
        mlp(6),
        DOMAIN,
        HeatResidual(0.1),
        conditions=[kp.DirichletBC(0.0, n_points=8), kp.InitialCondition(0.0, n_points=8)],
        n_collocation=16,
        resample=True,
        seed=5,
    )
    m.compile(optimizer=keras.optimizers.Adam(1e-2))
    return m


def test_resumed_resampling_run_is_identical_to_an_uninterrupted_one(tmp_path):
    whole = resampling_model()
    whole.fit(epochs=4, verbose=0)
    first = resampling_model()
    first.fit(epochs=2, verbose=0)
    first.save(tmp_path / "half.keras")
    resumed = keras.models.load_model(tmp_path / "half.keras")
    for name, batch in first.point_sets().items():
        np.testing.assert_array_equal(resumed.point_sets()[name]["x"], batch["x"])
    resumed.fit(epochs=2, verbose=0)
    assert_weights_equal(resumed.get_weights(), whole.get_weights())
    for name, batch in whole.point_sets().items():
        np.testing.assert_array_equal(resumed.point_sets()[name]["x"], batch["x"])
    # a weights file (what BackupAndRestore and ModelCheckpoint write) carries them too
    first.save_weights(tmp_path / "half.weights.h5")
    fresh = resampling_model()
    fresh.optimizer.build(fresh.trainable_variables)
    fresh.load_weights(tmp_path / "half.weights.h5")
    np.testing.assert_array_equal(fresh.point_sets()["pde"]["x"], first.point_sets()["pde"]["x"])


def test_points_added_by_rar_are_saved(tmp_path):
    m = kp.PINNModel(
        mlp(6), DOMAIN, HeatResidual(0.1), conditions=[kp.DirichletBC(0.0, n_points=8)], n_collocation=32, seed=0
    )
    m.compile(optimizer=keras.optimizers.Adam(1e-2))
    m.fit(epochs=2, verbose=0, callbacks=[kp.callbacks.RAR(n_candidates=200, n_add=24, seed=0)])
    assert m.point_sets()["pde"]["x"].shape == (80, 2)
    m.save(tmp_path / "rar.keras")
    loaded = keras.models.load_model(tmp_path / "rar.keras")
    np.testing.assert_array_equal(loaded.point_sets()["pde"]["x"], m.point_sets()["pde"]["x"])
    np.testing.assert_allclose(
        loaded.evaluate(verbose=0, return_dict=True)["pde_loss"],
        m.evaluate(verbose=0, return_dict=True)["pde_loss"],
        rtol=1e-6,
    )
