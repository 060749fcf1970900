"""The same weights give the same predictions and PDE residuals on all three
backends, and a model saved on any backend loads on each of the others; a
model compiled and trained on any backend (its own defaults: jit_compile
True on JAX, PyTorch's own optimizer class) loads on every backend,
predicts the same and trains on (the full 3 x 3 matrix).

Each backend runs in its own process (Keras fixes the backend at import);
this test spawns all three, so it runs once, in the JAX pass of the suite
(one save and one load process per backend; the three backends run at
once)."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

WORKER = Path(__file__).with_name("cross_backend_worker.py")
BACKENDS = [
    b for b, mod in [("jax", "jax"), ("tensorflow", "tensorflow"), ("torch", "torch")] if importlib.util.find_spec(mod)
]


def _run_all(mode, folder):
    """Runs the worker in ``mode`` for every backend at once (one process
    each) and returns ``{backend: its JSON output}``."""
    procs = {}
    for backend in BACKENDS:
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
        log = open(folder / f"{mode}-{backend}.log", "w")  # a file: a full pipe would block the worker
        procs[backend] = (
            subprocess.Popen(
                [sys.executable, str(WORKER), mode, str(folder)], env=env, stdout=log, stderr=subprocess.STDOUT
            ),
            log,
        )
    out = {}
    for backend, (proc, log) in procs.items():
        try:
            proc.wait(timeout=600)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        output = (folder / f"{mode}-{backend}.log").read_text()
        assert proc.returncode == 0, f"{mode} on {backend} failed:\n{output[-3000:]}"
        out[backend] = json.loads((folder / f"{mode}-{backend}.json").read_text())
    return out


@pytest.mark.requires_backend("jax")
def test_same_weights_same_residual_and_cross_loading(tmp_path):
    if len(BACKENDS) < 3:
        pytest.skip(reason=f"requires all three backends installed, found {BACKENDS}")
    rng = np.random.default_rng(0)
    shapes = [(2, 12), (12,), (12, 12), (12,), (12, 12), (12,), (12, 1), (1,)]
    np.savez(
        tmp_path / "weights.npz", **{f"w{i}": rng.normal(0, 0.5, s).astype("float32") for i, s in enumerate(shapes)}
    )
    points = np.stack([rng.uniform(-1, 1, 32), rng.uniform(0, 1, 32)], axis=1).astype("float32")
    np.save(tmp_path / "points.npy", points)

    saved = _run_all("save", tmp_path)
    reference = saved["jax"]
    assert np.abs(np.array(reference["residual"])).max() > 1e-3  # not a trivial field
    for b, out in saved.items():
        np.testing.assert_allclose(out["predict"], reference["predict"], rtol=1e-5, atol=1e-6, err_msg=b)
        np.testing.assert_allclose(out["residual"], reference["residual"], rtol=1e-4, atol=1e-5, err_msg=b)

    for loader, loaded in _run_all("load", tmp_path).items():
        assert sorted(loaded) == sorted(BACKENDS)
        for saver, out in loaded.items():
            msg = f"saved on {saver}, loaded on {loader}"
            np.testing.assert_allclose(out["predict"], reference["predict"], rtol=1e-5, atol=1e-6, err_msg=msg)
            np.testing.assert_allclose(out["residual"], reference["residual"], rtol=1e-4, atol=1e-5, err_msg=msg)

    # Compiled and trained on `saver`, loaded on `loader`: the same predictions
    # as on the saver, then 5 more training steps from the saved optimizer state.
    trained = {b: np.array(saved[b]["trained_predict"]) for b in BACKENDS}
    finals = {}
    for loader in BACKENDS:
        loaded = json.loads((tmp_path / f"load-{loader}.json").read_text())
        for saver in BACKENDS:
            out = loaded[saver]["resumed"]
            msg = f"trained on {saver}, loaded on {loader}"
            np.testing.assert_allclose(out["predict"], trained[saver], rtol=0, atol=1e-6, err_msg=msg)
            assert (out["iterations_at_load"], out["iterations_after"]) == (3, 8), msg
            assert np.isfinite(out["loss"]) and np.isfinite(out["after"]).all(), msg
            assert np.abs(np.array(out["after"]) - np.array(out["predict"])).max() > 1e-4, msg  # it trained
            finals[(saver, loader)] = np.array(out["after"])
    # the same weights and optimizer state train to the same fields everywhere
    first = finals[("jax", "jax")]
    for key, after in finals.items():
        np.testing.assert_allclose(
            after, first, rtol=1e-4, atol=1e-5, err_msg=f"trained on {key[0]}, resumed on {key[1]}"
        )


GRID_CONV_WORKER = """
import json, sys
import numpy as np, keras
import keras_pinn as kp
from keras_pinn import backend
from keras_pinn.layers.grid_conv import GridConv

kp.set_precision("float64")
folder = sys.argv[1]
shared = np.load(f"{folder}/grid_conv.npz")
# sigmoid: Keras 3.15's tanh computes float64 in float32 on JAX (keras-team/keras#23704)
net = GridConv.default((4, 5), 2, 1, filters=3, depth=2, activation="sigmoid")
net.set_weights([shared[f"w{i}"] for i in range(len(net.weights))])
x = shared["points"]
names = ("x", "y")
requests = [("x",), ("y",), ("x", "x"), ("x", "y"), ("y", "y")]

def loss():
    d = kp.derivatives(net, keras.ops.convert_to_tensor(x), input_names=names, method="autodiff")
    return keras.ops.sum(d.laplacian("u") ** 2 + d("u", "x") ** 2), ()

d = kp.derivatives(net, x, input_names=names, method="autodiff")
out = {"".join(r): keras.ops.convert_to_numpy(d("u", *r)).tolist() for r in requests}
value, _, grads = backend.value_and_grad(loss, net.trainable_variables)(
    [v.value for v in net.trainable_variables], [])
out["loss"] = float(keras.ops.convert_to_numpy(value))
out["grads"] = [keras.ops.convert_to_numpy(g).ravel().tolist() for g in grads]
json.dump(out, open(f"{folder}/grid_conv-{backend.BACKEND}.json", "w"))
"""


@pytest.mark.requires_backend("jax")
def test_grid_conv_autodiff_is_the_same_quantity_on_every_backend(tmp_path):
    """The same GridConv weights and grid give the same autodiff derivatives
    (first, second and mixed) on the three backends, to 1e-6 in float64,
    and the same weight gradient of a loss built on them. The quantity is
    sum_k du_i/dx_k, the derivative when all points move together:
    JAX's forward mode gives it as is, TensorFlow and PyTorch by a double
    backward pass (one reverse pass gives sum_k du_k/dx_i instead)."""
    if len(BACKENDS) < 3:
        pytest.skip(reason=f"requires all three backends installed, found {BACKENDS}")
    rng = np.random.default_rng(1)
    shapes = [(3, 3, 2, 3), (3,), (3, 3, 3, 3), (3,), (1, 1, 3, 1), (1,)]  # GridConv.default's weights
    points = np.stack(np.meshgrid(np.linspace(0.1, 0.7, 4), np.linspace(-0.5, 0.5, 5), indexing="ij"), -1)
    np.savez(
        tmp_path / "grid_conv.npz",
        points=points.reshape(-1, 2),
        **{f"w{i}": rng.normal(0, 0.6, s) for i, s in enumerate(shapes)},
    )
    script = tmp_path / "grid_conv_worker.py"
    script.write_text(GRID_CONV_WORKER)
    procs = {}
    for backend in BACKENDS:
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
        procs[backend] = subprocess.Popen(
            [sys.executable, str(script), str(tmp_path)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    out = {}
    for backend, proc in procs.items():
        log, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"{backend} failed:\n{log[-3000:]}"
        out[backend] = json.loads((tmp_path / f"grid_conv-{backend}.json").read_text())
    reference = out["jax"]
    assert np.abs(np.array(reference["x"])).max() > 0.1 and np.abs(np.array(reference["xy"])).max() > 0.01
    for backend, result in out.items():
        for key in ("x", "y", "xx", "xy", "yy", "loss"):
            np.testing.assert_allclose(result[key], reference[key], rtol=1e-6, atol=1e-6, err_msg=f"{backend} {key}")
        for i, (grad, expected) in enumerate(zip(result["grads"], reference["grads"])):
            np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-6, err_msg=f"{backend} grads[{i}]")
