"""Data-parallel training through ``keras.distribution`` (JAX).

The forced-device test trains one PINN on one device and under
``DataParallel`` over 4 forced CPU host devices, in a process of its own
(XLA reads ``XLA_FLAGS`` when JAX starts): same losses within float32
round-off, each device holding a quarter of every term's points inside the
train step, weights replicated. It runs once, in the JAX pass of the suite.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import keras_pinn as kp
from keras_pinn.distribution import check_point_counts, data_shards

WORKER = Path(__file__).with_name("distribution_worker.py")
DEVICES = 4


@pytest.fixture(scope="module")
def forced_devices(tmp_path_factory):
    out = tmp_path_factory.mktemp("distribution") / "result.json"
    env = dict(
        os.environ,
        KERAS_BACKEND="jax",
        XLA_FLAGS=f"--xla_force_host_platform_device_count={DEVICES}",
        TF_CPP_MIN_LOG_LEVEL="3",
        JAX_PLATFORMS="cpu",
    )
    proc = subprocess.run([sys.executable, str(WORKER), str(out)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"distribution worker failed:\n{proc.stderr[-3000:]}"
    return json.loads(out.read_text())


@pytest.mark.requires_backend("jax")
def test_data_parallel_same_losses_as_one_device(forced_devices):
    r = forced_devices
    assert r["devices"] == [f"cpu:{i}" for i in range(DEVICES)]
    single, dist = r["single"]["history"], r["distributed"]["history"]
    assert r["distributed"]["same_initial_weights"]
    assert sorted(single) == sorted(dist) == ["bc_loss", "ic_loss", "loss", "pde_loss"]
    assert len(single["loss"]) == 20
    assert single["loss"][-1] < 0.5 * single["loss"][0]  # it trains
    # The global means are sums over 4 shards then an all-reduce: a different
    # float32 summation order, nothing else. Measured: < 1e-6 relative.
    for key in single:
        np.testing.assert_allclose(dist[key], single[key], rtol=1e-5, atol=1e-7, err_msg=key)
    assert r["distributed"]["max_weight_difference"] < 1e-5


@pytest.mark.requires_backend("jax")
def test_each_device_holds_its_share_of_every_term(forced_devices):
    r = forced_devices
    assert r["n_points"] == {"pde": 256, "ic": 64, "bc": 64}
    for term, n in r["n_points"].items():
        single = r["single"]["shards"][term]
        dist = r["distributed"]["shards"][term]
        assert sorted(single) == sorted(dist) and "x" in dist
        for key in dist:
            assert len(single[key]) == 1 and list(single[key].values()) == [n], (term, key)
            assert dist[key] == {str(i): n // DEVICES for i in range(DEVICES)}, (term, key)


@pytest.mark.requires_backend("jax")
def test_weights_and_optimizer_state_replicated(forced_devices):
    dist = forced_devices["distributed"]
    assert dist["n_weights"] == 6
    assert dist["weights_replicated"]
    assert dist["optimizer_replicated"]


@pytest.mark.requires_backend("jax")
def test_uneven_point_count_is_refused(forced_devices):
    message = forced_devices["uneven_check"]
    assert message is not None
    assert "'pde' holds 254 points" in message and "n_collocation=254" in message
    assert "multiple of 4" in message and "252 or 256" in message
    fit_error = forced_devices["uneven_fit"]
    # PINNModel.fit checks the counts itself: the error names the argument.
    assert fit_error is not None and "n_collocation=254" in fit_error, fit_error


class _Mesh:
    shape = (2, 3)
    axis_names = ("batch", "model")


class _Layout:
    def __init__(self, axes):
        self.axes = axes
        self.device_mesh = _Mesh()


class _StubDistribution:
    """Stands in for a Distribution (a 2 x 3 mesh) on every backend."""

    device_mesh = _Mesh()

    def __init__(self, axis):
        self.axis = axis

    def get_data_layout(self, shape):
        return _Layout((self.axis,) + (None,) * (len(shape) - 1))


def _model(n_collocation, n_points):
    domain = kp.Interval(0.0, 1.0)
    net = keras.Sequential([keras.Input((1,)), keras.layers.Dense(4, "tanh"), keras.layers.Dense(1)])
    return kp.PINNModel(
        net,
        domain,
        lambda d: d("u", "x", "x"),
        conditions=[kp.DirichletBC(0.0, n_points=n_points, name="edge")],
        n_collocation=n_collocation,
        sampler="uniform",
        seed=0,
    )


def test_check_point_counts_names_the_argument():
    assert data_shards((10, 2), _StubDistribution("batch")) == 2
    assert data_shards((10, 2), _StubDistribution("model")) == 3
    assert data_shards((10, 2), _StubDistribution(("batch", "model"))) == 6
    assert data_shards((10, 2), _StubDistribution(None)) == 1
    assert data_shards((10, 2)) == 1  # no distribution set

    model = _model(10, 6)
    check_point_counts(model)  # no distribution: nothing to check
    check_point_counts(model, _StubDistribution("batch"))
    with pytest.raises(ValueError, match=r"'pde' holds 10 points .* n_collocation=10\. .* 6 or 12"):
        check_point_counts(model, _StubDistribution(("batch", "model")))
    model = _model(12, 5)
    with pytest.raises(ValueError, match=r"'edge' holds 5 points .* DirichletBC\(name='edge'\) n_points=5"):
        check_point_counts(model, _StubDistribution("batch"))
    model.set_points("pde", np.linspace(0.0, 1.0, 9)[:, None])
    model.set_points("edge", np.array([[0.0], [1.0]]))
    with pytest.raises(ValueError, match=r"'pde' holds 9 points .* model\.set_points\('pde', \.\.\.\)"):
        check_point_counts(model, _StubDistribution("batch"))
