"""Worker for test_cross_backend.py, run in its own process per backend.

python tests/cross_backend_worker.py save DIR   # build from shared weights, save, record;
                                                # also compile, train 3 steps, save to DIR/trained
python tests/cross_backend_worker.py load DIR   # load every saved model, record; load every
                                                # trained one, predict, train 5 steps, record
"""

import json
import os
import sys
import warnings
from pathlib import Path

import keras
import numpy as np

import keras_pinn as kp
from keras_pinn.problems import burgers


def build(**model_kwargs):
    problem = burgers()
    net = keras.Sequential(
        [keras.Input((2,)), kp.layers.DomainScaler(problem.domain)]
        + [keras.layers.Dense(12, "tanh") for _ in range(3)]
        + [keras.layers.Dense(1)]
    )
    return problem, problem.model(net, n_collocation=16, n_condition=8, seed=0, **model_kwargs)


def record(model, points):
    return {
        "predict": np.asarray(model.predict(points, verbose=0)).tolist(),
        "residual": keras.ops.convert_to_numpy(model.residual(points)).tolist(),
    }


def shared_model(folder, **model_kwargs):
    _, model = build(**model_kwargs)
    weights = np.load(folder / "weights.npz")
    model.network.set_weights([weights[f"w{i}"] for i in range(len(weights.files))])
    return model


def save_trained(folder, points):
    """Compiled with this backend's defaults (jit_compile="auto": True on
    JAX; PyTorch saves its own optimizer subclass), trained 3 steps with
    autodiff derivatives, saved with its optimizer state."""
    model = shared_model(folder, derivative_method="autodiff")
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(epochs=1, steps_per_epoch=3, verbose=0)
    model.save(folder / "trained" / f"{keras.backend.backend()}.keras")
    return np.asarray(model.predict(points, verbose=0)).tolist()


def resume(path, points):
    """Loads a trained model, predicts, trains 5 more steps."""
    loaded = keras.models.load_model(path)
    predict = np.asarray(loaded.predict(points, verbose=0))
    iterations = int(keras.ops.convert_to_numpy(loaded.optimizer.iterations))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # fit stops on a non-finite loss with one
        history = loaded.fit(epochs=1, steps_per_epoch=5, verbose=0)
    after = np.asarray(loaded.predict(points, verbose=0))
    return {
        "predict": predict.tolist(),
        "after": after.tolist(),
        "iterations_at_load": iterations,
        "iterations_after": int(keras.ops.convert_to_numpy(loaded.optimizer.iterations)),
        "loss": history.history["loss"][-1],
    }


def main(mode, folder):
    folder = Path(folder)
    backend = keras.backend.backend()
    points = np.load(folder / "points.npy")
    if mode == "save":
        model = shared_model(folder)
        model.save(folder / f"{backend}.keras")
        out = record(model, points)
        (folder / "trained").mkdir(exist_ok=True)
        out["trained_predict"] = save_trained(folder, points)
    else:
        out = {}
        for path in sorted(folder.glob("*.keras")):
            out[path.stem] = record(keras.models.load_model(path), points)
            out[path.stem]["resumed"] = resume(folder / "trained" / path.name, points)
    (folder / f"{mode}-{backend}.json").write_text(json.dumps(out))


if __name__ == "__main__":
    assert os.environ.get("KERAS_BACKEND"), "set KERAS_BACKEND"
    main(sys.argv[1], sys.argv[2])
