"""Worker for test_cross_backend.py, run in its own process per backend.

    python tests/cross_backend_worker.py save DIR   # build from shared weights, save, record
    python tests/cross_backend_worker.py load DIR   # load every saved model, record
"""

import json
import os
import sys
from pathlib import Path

import keras
import numpy as np

import keras_pinn as kp
from keras_pinn.problems import burgers


def build():
    problem = burgers()
    net = keras.Sequential(
        [keras.Input((2,)), kp.layers.DomainScaler(problem.domain)]
        + [keras.layers.Dense(12, "tanh") for _ in range(3)]
        + [keras.layers.Dense(1)]
    )
    return problem, problem.model(net, n_collocation=16, n_condition=8, seed=0)


def record(model, points):
    return {
        "predict": np.asarray(model.predict(points, verbose=0)).tolist(),
        "residual": keras.ops.convert_to_numpy(model.residual(points)).tolist(),
    }


def main(mode, folder):
    folder = Path(folder)
    backend = keras.backend.backend()
    points = np.load(folder / "points.npy")
    if mode == "save":
        _, model = build()
        weights = np.load(folder / "weights.npz")
        model.network.set_weights([weights[f"w{i}"] for i in range(len(weights.files))])
        model.save(folder / f"{backend}.keras")
        out = record(model, points)
    else:
        out = {}
        for path in sorted(folder.glob("*.keras")):
            loaded = keras.models.load_model(path)
            out[path.stem] = record(loaded, points)
    (folder / f"{mode}-{backend}.json").write_text(json.dumps(out))


if __name__ == "__main__":
    assert os.environ.get("KERAS_BACKEND"), "set KERAS_BACKEND"
    main(sys.argv[1], sys.argv[2])
