"""Tests of the article's layers: PowReLU (+ ParallelPowerBlock and the relu^k
activations), VectorQuantizer and LearnableNormalization.

Run once per backend (``KERAS_BACKEND``); input derivatives use the library's
own ``keras_pinn.derivatives``.
"""

import math

import keras
import numpy as np
import pytest
from keras import ops

from keras_pinn import derivatives
from keras_pinn.layers.normalization import LearnableNormalization
from keras_pinn.layers.pow_relu import (
    ParallelPowerBlock,
    PowReLU,
    pow_relu,
    relu2,
    relu3,
    relu4,
    relu5,
)
from keras_pinn.layers.vector_quantizer import VectorQuantizer


def to_np(x):
    return np.asarray(ops.convert_to_numpy(x))


def unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def roundtrip(model, tmp_path):
    path = tmp_path / "model.keras"
    model.save(path)
    return keras.saving.load_model(path)


def assert_config_roundtrip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config


# --------------------------------------------------------------------------
# PowReLU and the relu^k activations
# --------------------------------------------------------------------------

X_1D = np.array([[-2.0], [-0.5], [0.0], [0.5], [1.0], [2.0]], "float32")


@pytest.mark.parametrize("power", [1, 2, 3, 4, 2.5])
def test_pow_relu_exact_values(power):
    expected = np.maximum(X_1D, 0.0) ** power
    np.testing.assert_allclose(to_np(PowReLU(power)(X_1D)), expected, rtol=1e-6)
    np.testing.assert_allclose(to_np(pow_relu(X_1D, power)), expected, rtol=1e-6)


def test_pow_relu_shape_and_float_integer_power():
    x = np.random.randn(3, 4, 5).astype("float32")
    layer = PowReLU(3.0)
    assert layer.power == 3 and isinstance(layer.power, int)
    y = layer(x)
    assert tuple(y.shape) == (3, 4, 5)
    assert layer.compute_output_shape((None, 4, 5)) == (None, 4, 5)
    np.testing.assert_allclose(to_np(y), np.maximum(x, 0) ** 3, rtol=1e-5)


@pytest.mark.parametrize("bad", [0, 0.5, -1, float("nan"), float("inf"), "2", None, True])
def test_pow_relu_rejects_bad_power(bad):
    with pytest.raises(ValueError, match="power"):
        PowReLU(bad)
    with pytest.raises(ValueError, match="power"):
        pow_relu(X_1D, bad)


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_pow_relu_input_derivatives_match_analytic(k):
    """d^j/dx^j relu(x)^k = k!/(k-j)! relu(x)^(k-j) (j <= k), 0 beyond."""
    d = derivatives(PowReLU(k), X_1D)
    x = X_1D[:, 0]
    r = np.maximum(x, 0.0)
    for j in range(k + 2):
        got = to_np(d(0, *([0] * j)))[:, 0]
        assert got.shape == x.shape
        assert np.all(np.isfinite(got)), (k, j, got)
        if j <= k:
            coeff = math.factorial(k) / math.factorial(k - j)
            expected = coeff * np.where(x > 0, r ** (k - j), 0.0)
        else:
            expected = np.zeros_like(x)
        nonzero = x != 0  # the value at the kink is checked below
        np.testing.assert_allclose(got[nonzero], expected[nonzero], rtol=1e-5, atol=1e-6)
        if j == k:  # k! on the positive side
            np.testing.assert_allclose(got[x > 0], math.factorial(k), rtol=1e-6)
        # At the kink x = 0, every derivative of order < k is 0.
        if 1 <= j < k:
            assert got[x == 0] == pytest.approx(0.0)


def test_pow_relu_non_integer_power_derivatives_finite_at_zero():
    d = derivatives(PowReLU(2.5), X_1D)
    x = X_1D[:, 0]
    r = np.maximum(x, 0.0)
    d1 = to_np(d(0, 0))[:, 0]
    d2 = to_np(d(0, 0, 0))[:, 0]
    assert np.all(np.isfinite(d1)) and np.all(np.isfinite(d2))
    np.testing.assert_allclose(d1, 2.5 * r**1.5, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(d2, 3.75 * r**0.5, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fn,k", [(relu2, 2), (relu3, 3), (relu4, 4), (relu5, 5)])
def test_registered_activations(fn, k):
    np.testing.assert_allclose(to_np(fn(X_1D)), np.maximum(X_1D, 0.0) ** k, rtol=1e-6)
    name = f"keras_pinn>relu{k}"
    assert keras.saving.get_registered_name(fn) == name
    assert keras.saving.get_registered_object(name) is fn
    serialized = keras.activations.serialize(fn)
    assert keras.activations.get(serialized) is fn


def test_activation_in_dense_survives_saving(tmp_path):
    x = np.random.randn(5, 3).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation=relu3)])
    loaded = roundtrip(model, tmp_path)
    assert loaded.layers[0].activation is relu3
    np.testing.assert_allclose(to_np(loaded(x)), to_np(model(x)), rtol=1e-6)


def test_pow_relu_config_and_saving(tmp_path):
    layer = PowReLU(power=2.5, name="p")
    assert_config_roundtrip(layer)
    assert PowReLU.from_config(layer.get_config()).power == 2.5
    x = np.random.randn(6, 3).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), PowReLU(3)])
    loaded = roundtrip(model, tmp_path)
    assert isinstance(loaded.layers[-1], PowReLU)
    np.testing.assert_allclose(to_np(loaded(x)), to_np(model(x)), rtol=1e-6)


# --------------------------------------------------------------------------
# ParallelPowerBlock
# --------------------------------------------------------------------------


@pytest.mark.parametrize("combine,n_layers,width", [("concat", 1, 4 * 3), ("sum", 2, 4)])
def test_parallel_power_block_shapes(combine, n_layers, width):
    block = ParallelPowerBlock(4, 3, n_layers=n_layers, combine=combine)
    x = np.random.randn(7, 2).astype("float32")
    y = block(x)
    assert tuple(y.shape) == (7, width)
    assert block.compute_output_shape((None, 2)) == (None, width)
    # one kernel and one bias per Dense layer, 3 branches
    assert len(block.trainable_weights) == 2 * 3 * n_layers


@pytest.mark.parametrize("combine", ["concat", "sum"])
def test_parallel_power_block_values(combine):
    block = ParallelPowerBlock(3, 3, combine=combine)
    x = np.random.randn(5, 2).astype("float32")
    y = to_np(block(x))
    branches = []
    for k, (dense,) in zip((1, 2, 3), block.branches, strict=True):
        w, b = (to_np(v) for v in dense.weights)
        branches.append(np.maximum(x @ w + b, 0.0) ** k)
    expected = np.concatenate(branches, axis=-1) if combine == "concat" else sum(branches)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)


def test_parallel_power_block_saving(tmp_path):
    x = np.random.randn(6, 2).astype("float32")
    inputs = keras.Input((2,))
    h = ParallelPowerBlock(4, 3, n_layers=2, combine="sum", name="ppb")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    assert_config_roundtrip(model.get_layer("ppb"))
    loaded = roundtrip(model, tmp_path)
    np.testing.assert_allclose(to_np(loaded(x)), to_np(model(x)), rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs,arg",
    [
        (dict(units=0, max_power=2), "units"),
        (dict(units=4, max_power=0), "max_power"),
        (dict(units=4, max_power=2, n_layers=0), "n_layers"),
        (dict(units=2.5, max_power=2), "units"),
        (dict(units=4, max_power=2, combine="mean"), "combine"),
    ],
)
def test_parallel_power_block_rejects_bad_args(kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        ParallelPowerBlock(**kwargs)


def test_parallel_power_block_rejects_mismatched_input():
    block = ParallelPowerBlock(4, 2)
    block(np.zeros((3, 2), "float32"))
    with pytest.raises(ValueError):
        block(np.zeros((3, 5), "float32"))
    with pytest.raises(ValueError, match="input_shape"):
        ParallelPowerBlock(4, 2).build((None,))


# --------------------------------------------------------------------------
# VectorQuantizer
# --------------------------------------------------------------------------


def vq_reference(layer, x):
    """numpy forward pass: (z, q, indices, vq loss)."""
    kernel, bias = (to_np(v) for v in layer.projection.weights)
    z = unit(x @ kernel + bias)
    codes = unit(to_np(layer.codebook))
    indices = np.argmax(z @ codes.T, axis=-1)
    q = codes[indices]
    sq = np.mean(np.sum((z - q) ** 2, axis=-1))
    loss = (layer.codebook_weight + layer.commitment_weight) * sq
    return z, q, indices, loss


def test_vq_forward_values_and_shapes():
    x = np.random.randn(32, 2).astype("float32")
    vq = VectorQuantizer(8, 4, return_indices=True)
    out, idx = vq(x)
    assert tuple(out.shape) == (32, 4) and tuple(idx.shape) == (32,)
    assert "int" in str(idx.dtype)
    z, q, indices, loss = vq_reference(vq, x)
    np.testing.assert_array_equal(to_np(idx), indices)
    np.testing.assert_allclose(to_np(out), q, rtol=1e-5, atol=1e-6)
    assert len(vq.losses) == 1
    assert float(to_np(vq.losses[0])) == pytest.approx(loss, rel=1e-4)

    cat = VectorQuantizer(8, 4, concat_input=True)
    y = to_np(cat(x))
    assert y.shape == (32, 6)
    np.testing.assert_allclose(y[:, :2], x)
    assert cat.compute_output_shape((None, 2)) == (None, 6)
    assert vq.compute_output_shape((None, 2)) == ((None, 4), (None,))


def test_vq_unnormalized_mode_outputs_raw_codes():
    x = np.random.randn(32, 2).astype("float32")
    vq = VectorQuantizer(5, 4, normalize=False)
    out = to_np(vq(x))
    kernel, bias = (to_np(v) for v in vq.projection.weights)
    codes = to_np(vq.codebook)
    indices = np.argmax(unit(x @ kernel + bias) @ unit(codes).T, axis=-1)
    np.testing.assert_allclose(out, codes[indices], rtol=1e-5, atol=1e-6)


def test_vq_straight_through_is_identity_wrt_embedding():
    vq = VectorQuantizer(6, 3)
    x = np.random.randn(32, 2).astype("float32")
    z = vq.project(x)
    d = derivatives(lambda e: vq.quantize_embedding(e)[0], z)
    for i in range(3):
        for j in range(3):
            np.testing.assert_allclose(to_np(d(i, j))[:, 0], np.full(32, float(i == j)), atol=1e-6)


def test_vq_input_derivatives_equal_continuous_path():
    """d out / d x through the STE equals d z / d x of the projection."""
    vq = VectorQuantizer(6, 3, commitment_weight=0.0, codebook_weight=0.0)
    x = np.random.randn(32, 2).astype("float32")
    vq(x)
    d_vq = derivatives(vq, x)
    d_z = derivatives(vq.project, x)
    for i in range(3):
        for j in range(2):
            np.testing.assert_allclose(to_np(d_vq(i, j)), to_np(d_z(i, j)), rtol=1e-5, atol=1e-6)


def _vq_model(**kwargs):
    inputs = keras.Input((2,))
    h = VectorQuantizer(8, 4, concat_input=True, name="vq", **kwargs)(inputs)
    return keras.Model(inputs, keras.layers.Dense(1, name="head")(h))


def test_vq_losses_reach_model_loss_and_train_the_codebook():
    x = np.random.randn(32, 2).astype("float32")
    y = np.random.randn(32, 1).astype("float32")
    model = _vq_model()
    pred = to_np(model(x))
    assert len(model.losses) == 1
    vq = model.get_layer("vq")
    vq_loss = vq_reference(vq, x)[3]
    assert vq_loss > 0
    assert float(to_np(model.losses[0])) == pytest.approx(vq_loss, rel=1e-4)
    mse = float(np.mean((pred - y) ** 2))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    evaluated = model.evaluate(x, y, batch_size=32, verbose=0)
    assert evaluated == pytest.approx(mse + vq_loss, rel=1e-4)
    codebook0 = to_np(vq.codebook).copy()
    # one batch: the reported loss is the one at the initial weights
    history = model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    assert history.history["loss"][0] == pytest.approx(mse + vq_loss, rel=1e-4)
    # the codebook only gets gradients from the codebook loss
    assert np.abs(to_np(vq.codebook) - codebook0).max() > 1e-6


def test_vq_training_updates_projection_through_ste():
    """With zero VQ-loss weights the projection can only learn through the
    straight-through estimator; the codebook gets no gradient at all."""
    x = np.random.randn(32, 2).astype("float32")
    y = np.random.randn(32, 1).astype("float32")
    model = _vq_model(commitment_weight=0.0, codebook_weight=0.0)
    model(x)
    vq = model.get_layer("vq")
    kernel0 = to_np(vq.projection.kernel).copy()
    codebook0 = to_np(vq.codebook).copy()
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    model.fit(x, y, batch_size=32, epochs=2, verbose=0)
    assert np.abs(to_np(vq.projection.kernel) - kernel0).max() > 1e-6
    np.testing.assert_allclose(to_np(vq.codebook), codebook0)


def test_vq_usage_metrics():
    x = np.random.randn(32, 2).astype("float32")
    vq = VectorQuantizer(8, 4)
    vq(x)
    indices = vq_reference(vq, x)[2]
    p = np.bincount(indices, minlength=8) / len(indices)
    nz = p[p > 0]
    usage = vq.usage(x)
    assert float(to_np(usage["perplexity"])) == pytest.approx(math.exp(-np.sum(nz * np.log(nz))), rel=1e-5)
    assert float(to_np(usage["fraction_used"])) == pytest.approx(len(nz) / 8)


def test_vq_reinitialize_dead_codes():
    x = np.random.randn(32, 2).astype("float32")
    vq = VectorQuantizer(8, 4)
    vq(x)
    z, _, indices, _ = vq_reference(vq, x)
    fractions = np.bincount(indices, minlength=8) / len(indices)
    dead = fractions < 0.1
    before = to_np(vq.codebook).copy()
    n = vq.reinitialize_dead_codes(x, threshold=0.1, seed=0)
    assert n == int(dead.sum()) and n > 0
    after = to_np(vq.codebook)
    np.testing.assert_allclose(after[~dead], before[~dead])
    for row in after[dead]:  # each new code is one of the current embeddings
        assert np.min(np.abs(z - row).max(axis=-1)) < 1e-5
    assert vq.reinitialize_dead_codes(x, threshold=0.0) == 0
    with pytest.raises(ValueError, match="threshold"):
        vq.reinitialize_dead_codes(x)


def test_vq_reinitialize_from_callback_on_epoch_end():
    """Assigning the codebook from a callback sticks on every backend (with a
    zero learning rate, the final codebook is the callback's)."""
    x = np.random.randn(32, 2).astype("float32")
    y = np.zeros((32, 1), "float32")
    inputs = keras.Input((2,))
    vq = VectorQuantizer(8, 4, dead_code_threshold=0.2, name="vq")
    model = keras.Model(inputs, keras.layers.Dense(1)(vq(inputs)))
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    counts = []
    snapshot = {}

    def on_epoch_end(epoch, logs):
        counts.append(vq.reinitialize_dead_codes(x, seed=1))
        snapshot["codebook"] = to_np(vq.codebook).copy()

    callback = keras.callbacks.LambdaCallback(on_epoch_end=on_epoch_end)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0, callbacks=[callback])
    assert counts[0] > 0
    np.testing.assert_allclose(to_np(vq.codebook), snapshot["codebook"])


def test_vq_config_and_saving(tmp_path):
    layer = VectorQuantizer(
        5,
        3,
        commitment_weight=0.5,
        codebook_weight=2.0,
        return_indices=True,
        concat_input=True,
        dead_code_threshold=0.05,
        normalize=False,
    )
    assert_config_roundtrip(layer)
    x = np.random.randn(32, 2).astype("float32")
    model = _vq_model()
    loaded = roundtrip(model, tmp_path)
    np.testing.assert_allclose(to_np(loaded(x)), to_np(model(x)), rtol=1e-6)
    np.testing.assert_allclose(to_np(loaded.get_layer("vq").codebook), to_np(model.get_layer("vq").codebook))


@pytest.mark.parametrize(
    "kwargs,arg",
    [
        (dict(num_codes=0, code_dim=4), "num_codes"),
        (dict(num_codes=8, code_dim=0), "code_dim"),
        (dict(num_codes=8.0, code_dim=4), "num_codes"),
        (dict(num_codes=8, code_dim=4, commitment_weight=-0.1), "commitment_weight"),
        (dict(num_codes=8, code_dim=4, codebook_weight=-1.0), "codebook_weight"),
        (dict(num_codes=8, code_dim=4, codebook_weight=float("nan")), "codebook_weight"),
        (dict(num_codes=8, code_dim=4, dead_code_threshold=1.5), "dead_code_threshold"),
        (dict(num_codes=8, code_dim=4, epsilon=0.0), "epsilon"),
    ],
)
def test_vq_rejects_bad_args(kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        VectorQuantizer(**kwargs)


def test_vq_rejects_mismatched_input():
    vq = VectorQuantizer(4, 3)
    vq(np.zeros((3, 2), "float32"))
    with pytest.raises(ValueError):
        vq(np.zeros((3, 5), "float32"))
    with pytest.raises(ValueError, match="input_shape"):
        VectorQuantizer(4, 3).build((7,))


# --------------------------------------------------------------------------
# LearnableNormalization
# --------------------------------------------------------------------------


def test_learnable_normalization_identity_at_init_and_loss():
    x = np.random.randn(32, 3).astype("float32")
    layer = LearnableNormalization(regularization=0.1)
    y = to_np(layer(x))
    np.testing.assert_allclose(y, x, rtol=1e-6, atol=1e-6)
    assert layer.compute_output_shape((None, 3)) == (None, 3)
    expected = 0.1 * np.mean(x.mean(-1) ** 2 + (x.var(-1) - 1.0) ** 2)
    assert len(layer.losses) == 1
    assert float(to_np(layer.losses[0])) == pytest.approx(expected, rel=1e-4)
    assert len(LearnableNormalization(regularization=0.0)(x).shape) == 2


def test_learnable_normalization_formula_and_per_sample():
    x = np.random.randn(8, 3).astype("float32")
    layer = LearnableNormalization(kernel_initializer="glorot_uniform")
    y = to_np(layer(x))
    kernel, bias = (to_np(v) for v in layer.shift_scale.weights)
    params = x @ kernel + bias
    shift = params[:, :3]
    scale = np.log1p(np.exp(params[:, 3:] + math.log(math.e - 1.0)))
    np.testing.assert_allclose(y, (x - shift) * scale, rtol=1e-5, atol=1e-6)
    # no coupling between the samples of a batch
    single = np.concatenate([to_np(layer(x[i : i + 1])) for i in range(8)])
    np.testing.assert_allclose(single, y, rtol=1e-5, atol=1e-6)
    # input derivatives are those of a pointwise map
    d = derivatives(layer, x)
    assert to_np(d(0, 0)).shape == (8, 1)


def test_learnable_normalization_trains_and_saves(tmp_path):
    x = np.random.randn(32, 3).astype("float32")
    y = np.random.randn(32, 1).astype("float32")
    inputs = keras.Input((3,))
    h = LearnableNormalization(regularization=0.5, name="ln")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    pred = to_np(model(x))
    assert len(model.losses) == 1
    reg = float(to_np(model.losses[0]))
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    history = model.fit(x, y, batch_size=32, epochs=2, verbose=0)
    # one batch per epoch: the first reported loss is at the initial weights
    first = history.history["loss"][0]
    assert first == pytest.approx(np.mean((pred - y) ** 2) + reg, rel=1e-4)
    assert_config_roundtrip(model.get_layer("ln"))
    loaded = roundtrip(model, tmp_path)
    np.testing.assert_allclose(to_np(loaded(x)), to_np(model(x)), rtol=1e-6)


@pytest.mark.parametrize("bad", [-1e-3, float("inf"), "big", None])
def test_learnable_normalization_rejects_bad_regularization(bad):
    with pytest.raises(ValueError, match="regularization"):
        LearnableNormalization(regularization=bad)


def test_learnable_normalization_rejects_bad_inputs():
    with pytest.raises(ValueError, match="input_shape"):
        LearnableNormalization().build((None, 1))
    with pytest.raises(ValueError, match="input_shape"):
        LearnableNormalization().build((None, None))
    layer = LearnableNormalization()
    layer(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError):
        layer(np.zeros((2, 4), "float32"))
