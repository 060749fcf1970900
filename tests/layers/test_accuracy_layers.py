"""The accuracy layers (FourierFeatures, PeriodicEmbedding, ModifiedMLP,
PirateBlock, PirateNet): exact values on tiny inputs, Taylor-mode rules
against the backend's autodiff, `.keras` round trips, argument checks."""

import keras
import numpy as np
import pytest
from keras import ops

import keras_pinn as kp
from keras_pinn.differentiation import taylor
from tests._backend_utils import compiled_variants

RNG = np.random.default_rng(5)
X = RNG.uniform(-1.0, 1.0, size=(7, 2)).astype("float32")
INDICES = [(), (0,), (1,), (0, 0), (1, 1), (0, 0, 0), (1, 1, 1), (0, 0, 0, 0), (1, 1, 1, 1), (0, 1)]


def _networks():
    box = kp.Box([-1.0, 0.0], [1.0, 1.0])
    nets = {
        "FourierFeatures": keras.Sequential(
            [
                keras.Input((2,)),
                kp.layers.FourierFeatures(4, scale=1.5, time_scale=0.5, seed=1),
                keras.layers.Dense(3, "tanh"),
                keras.layers.Dense(2),
            ]
        ),
        "FourierFeatures(include_inputs)": keras.Sequential(
            [
                keras.Input((2,)),
                kp.layers.FourierFeatures(3, include_inputs=True, seed=2),
                kp.layers.MLP([4], 2),
            ]
        ),
        "PeriodicEmbedding": keras.Sequential(
            [
                keras.Input((2,)),
                kp.layers.PeriodicEmbedding((0,), 2.0, harmonics=2),
                kp.layers.MLP([5], 2),
            ]
        ),
        "ModifiedMLP": keras.Sequential(
            [
                keras.Input((2,)),
                kp.layers.DomainScaler(box),
                kp.layers.ModifiedMLP(6, 2, outputs=2),
            ]
        ),
        "PirateNet(FourierFeatures)": keras.Sequential(
            [
                keras.Input((2,)),
                kp.layers.FourierFeatures(3, seed=0),
                kp.layers.PirateNet(6, 2, outputs=2),
            ]
        ),
        "PirateNet(sin, projection)": keras.Sequential(
            [
                keras.Input((2,)),
                kp.layers.PirateNet(5, 1, outputs=2, activation=ops.sin),
            ]
        ),
    }
    for net in nets.values():
        net(ops.convert_to_tensor(X))
        for layer in net.layers:
            for block in getattr(layer, "blocks", []):
                block.alpha.assign(0.4)  # a block that is not the identity
    return nets


NETS = list(_networks())


@pytest.mark.parametrize("label", NETS)
def test_taylor_rule_matches_autodiff(label):
    net = _networks()[label]
    assert taylor.supports(net), label
    x = ops.convert_to_tensor(X)
    auto = kp.derivatives(net, x, method="autodiff")
    jets = kp.derivatives(net, x, method="taylor")
    for index in INDICES:
        for c in (0, 1):
            want = ops.convert_to_numpy(auto(c, *index))
            got = ops.convert_to_numpy(jets(c, *index))
            scale = max(1.0, float(np.abs(want).max()))
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-5 * scale, err_msg=f"{label} {c} {index}")


def test_taylor_rule_compiled():
    """The rules trace under jit / tf.function (+XLA) as the train step does."""
    net = _networks()["PirateNet(FourierFeatures)"]
    x = ops.convert_to_tensor(X)

    def uxx(z):
        d = kp.derivatives(net, z, method="taylor")
        return d("u0", "x0", "x0") + d("u1", "x1")

    want = ops.convert_to_numpy(kp.derivatives(net, x, method="autodiff")("u0", "x0", "x0")) + ops.convert_to_numpy(
        kp.derivatives(net, x, method="autodiff")("u1", "x1")
    )
    for label, fn in compiled_variants(uxx):
        np.testing.assert_allclose(ops.convert_to_numpy(fn(x)), want, rtol=1e-4, atol=2e-5, err_msg=label)


def test_pinn_model_uses_taylor_with_the_new_layers():
    domain = kp.SpaceTime(kp.Interval(-1.0, 1.0), 0.0, 1.0)
    net = keras.Sequential(
        [
            keras.Input((2,)),
            kp.layers.PeriodicEmbedding((0,), 2.0),
            kp.layers.FourierFeatures(4, seed=0),
            kp.layers.PirateNet(8, 1),
        ]
    )
    model = kp.PINNModel(
        net,
        domain,
        lambda d: d("u", "t") - 0.1 * d("u", "x", "x"),
        n_collocation=16,
        conditions=[kp.InitialCondition(lambda p: np.sin(np.pi * p[:, :1]), n_points=8)],
        derivative_method="taylor",
        seed=0,
    )
    assert model.resolved_derivative_method == "taylor"
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(epochs=1, steps_per_epoch=2, verbose=0)
    assert np.isfinite(history.history["loss"][-1])


# -- exact values -------------------------------------------------------------
def test_fourier_features_values_and_scales():
    layer = kp.layers.FourierFeatures(3, seed=7)
    layer.build((None, 2))
    b = np.array([[1.0, -2.0, 0.5], [0.25, 3.0, -1.0]], "float32")
    layer.kernel.assign(b)
    z = X @ b
    np.testing.assert_allclose(ops.convert_to_numpy(layer(X)), np.concatenate([np.cos(z), np.sin(z)], 1), atol=1e-6)
    assert not layer.kernel.trainable and layer.compute_output_shape((None, 2)) == (None, 6)
    with_inputs = kp.layers.FourierFeatures(3, include_inputs=True, seed=7)
    with_inputs.build((None, 2))
    with_inputs.kernel.assign(b)
    np.testing.assert_allclose(ops.convert_to_numpy(with_inputs(X))[:, :2], X, atol=0)
    # The same seed draws the same normal matrix; each row is scaled by its scale.
    unit = kp.layers.FourierFeatures(64, scale=1.0, seed=11)
    unit.build((None, 2))
    scaled = kp.layers.FourierFeatures(64, scale=2.0, time_scale=0.5, seed=11)
    scaled.build((None, 2))
    k1, k2 = ops.convert_to_numpy(unit.kernel), ops.convert_to_numpy(scaled.kernel)
    np.testing.assert_allclose(k2[0], 2.0 * k1[0], rtol=1e-6)
    np.testing.assert_allclose(k2[1], 0.5 * k1[1], rtol=1e-6)
    assert kp.layers.FourierFeatures(4, trainable_frequencies=True, seed=0).build((None, 2)) is None


def test_periodic_embedding_values_and_periodicity():
    layer = kp.layers.PeriodicEmbedding(axes=(0,), periods=2.0, harmonics=2)
    out = ops.convert_to_numpy(layer(X))
    w = np.pi * X[:, :1]
    want = np.concatenate([X[:, 1:], np.cos(w), np.cos(2 * w), np.sin(w), np.sin(2 * w)], 1)
    np.testing.assert_allclose(out, want, atol=1e-6)
    shifted = ops.convert_to_numpy(layer(X + np.array([2.0, 0.0], "float32")))
    np.testing.assert_allclose(shifted, out, atol=1e-5)
    both = kp.layers.PeriodicEmbedding(axes=(0, 1), periods=(1.0, 4.0))
    assert ops.convert_to_numpy(both(X)).shape == (7, 4) == both.compute_output_shape((7, 2))


def _sigma(z):
    return np.tanh(z)


def test_modified_mlp_values():
    layer = kp.layers.ModifiedMLP(width=2, depth=2, outputs=1)
    layer.build((None, 2))
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=tuple(w.shape)).astype("float32") for w in layer.weights]
    layer.set_weights(weights)
    (ku, bu, kv, bv, k1, b1, k2, b2, ko, bo) = [w.astype("float64") for w in weights]
    x = X.astype("float64")
    u, v = _sigma(x @ ku + bu), _sigma(x @ kv + bv)
    h = x
    for k, b in ((k1, b1), (k2, b2)):
        z = _sigma(h @ k + b)
        h = z * u + (1 - z) * v
    np.testing.assert_allclose(ops.convert_to_numpy(layer(X)), h @ ko + bo, rtol=1e-5, atol=1e-5)


def test_pirate_block_and_net_values():
    block = kp.layers.PirateBlock()
    x, u, v = (RNG.normal(size=(4, 3)).astype("float32") for _ in range(3))
    np.testing.assert_allclose(ops.convert_to_numpy(block([x, u, v])), x, atol=1e-6)  # alpha = 0: identity
    block.alpha.assign(1.0)
    (k1, b1, k2, b2, k3, b3) = [w.astype("float64") for w in block.get_weights()[:6]]
    f = _sigma(x @ k1 + b1)
    z1 = f * u + (1 - f) * v
    g = _sigma(z1 @ k2 + b2)
    z2 = g * u + (1 - g) * v
    np.testing.assert_allclose(ops.convert_to_numpy(block([x, u, v])), _sigma(z2 @ k3 + b3), rtol=1e-5, atol=1e-5)
    # A fresh PirateNet is a linear model of its input (every alpha is 0).
    net = kp.layers.PirateNet(width=2, blocks=2, outputs=1)
    out = ops.convert_to_numpy(net(X))
    head_k, head_b = ops.convert_to_numpy(net.head[0]), ops.convert_to_numpy(net.head[1])
    np.testing.assert_allclose(out, X @ head_k + head_b, rtol=1e-5, atol=1e-6)


# -- saving ---------------------------------------------------------------------
# ops.sin is not a serializable activation (kp.activations.sin is, where present).
@pytest.mark.parametrize("label", [n for n in NETS if "sin" not in n])
def test_keras_round_trip(label, tmp_path):
    net = _networks()[label]
    path = tmp_path / "net.keras"
    net.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(ops.convert_to_numpy(loaded(X)), ops.convert_to_numpy(net(X)), rtol=1e-6, atol=1e-6)
    for a, b in zip(net.layers, loaded.layers):
        assert type(a) is type(b) and a.get_config() == b.get_config()


def test_pirate_block_round_trip(tmp_path):
    x, u, v = (keras.Input((3,)) for _ in range(3))
    block = kp.layers.PirateBlock(alpha_init=0.5)
    model = keras.Model([x, u, v], block([x, u, v]))
    data = [RNG.normal(size=(4, 3)).astype("float32") for _ in range(3)]
    model.save(tmp_path / "block.keras")
    loaded = keras.saving.load_model(tmp_path / "block.keras")
    np.testing.assert_allclose(ops.convert_to_numpy(loaded(data)), ops.convert_to_numpy(model(data)), atol=1e-6)


# -- argument checks ------------------------------------------------------------
@pytest.mark.parametrize(
    "make, argument",
    [
        (lambda: kp.layers.FourierFeatures(0), "units"),
        (lambda: kp.layers.FourierFeatures(4, scale=-1.0), "scale"),
        (lambda: kp.layers.FourierFeatures(4, time_scale=0.0), "time_scale"),
        (lambda: kp.layers.FourierFeatures(4, seed=-2), "seed"),
        (lambda: kp.layers.FourierFeatures(4, include_inputs="yes"), "include_inputs"),
        (lambda: kp.layers.FourierFeatures(4, time_scale=1.0, time_axis=5).build((None, 2)), "time_axis"),
        (lambda: kp.layers.PeriodicEmbedding((), 1.0), "axes"),
        (lambda: kp.layers.PeriodicEmbedding((0,), (1.0, 2.0)), "periods"),
        (lambda: kp.layers.PeriodicEmbedding((0,), 0.0), "periods"),
        (lambda: kp.layers.PeriodicEmbedding((0,), 1.0, harmonics=0), "harmonics"),
        (lambda: kp.layers.PeriodicEmbedding((3,), 1.0).build((None, 2)), "axes"),
        (lambda: kp.layers.ModifiedMLP(width=0), "width"),
        (lambda: kp.layers.ModifiedMLP(depth=1.5), "depth"),
        (lambda: kp.layers.ModifiedMLP(activation="nope"), "activation"),
        (lambda: kp.layers.PirateNet(blocks=0), "blocks"),
        (lambda: kp.layers.PirateNet(outputs=True), "outputs"),
        (lambda: kp.layers.PirateBlock(alpha_init="a"), "alpha_init"),
    ],
)
def test_bad_arguments_name_the_argument(make, argument):
    with pytest.raises(ValueError, match=f"{argument}"):
        make()
