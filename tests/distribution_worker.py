"""Worker for test_distribution.py: one PINN trained on one device, then under
``keras.distribution.DataParallel`` over forced CPU host devices.

    XLA_FLAGS=--xla_force_host_platform_device_count=4 KERAS_BACKEND=jax \\
        python tests/distribution_worker.py OUT.json

XLA reads XLA_FLAGS when JAX starts, hence a process of its own. Both runs
start from the same weights and points; the JSON holds their loss histories,
the rows of each term's arrays that each device holds inside the compiled
train step (from ``jax.debug.inspect_array_sharding``), whether every weight
and optimizer variable is replicated on all devices, and the errors for a
point count that does not split evenly.
"""

import json
import os
import sys

import jax
import keras
import numpy as np

import keras_pinn as kp
from keras_pinn.distribution import check_point_counts
from keras_pinn.problems import burgers

STEPS = 20
N_COLLOCATION = 256
N_CONDITION = 64


def build(n_collocation=N_COLLOCATION):
    keras.utils.set_random_seed(0)
    problem = burgers()
    net = keras.Sequential(
        [keras.Input((2,)), kp.layers.DomainScaler(problem.domain)]
        + [keras.layers.Dense(16, "tanh") for _ in range(2)]
        + [keras.layers.Dense(1)]
    )
    model = problem.model(net, n_collocation=n_collocation, n_condition=N_CONDITION, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    return model


def record_shards(model):
    """Makes ``model`` note, while its train step is traced, how many rows of
    each array of each term every device holds: ``{term: {key: {device: rows}}}``."""
    seen = {}
    term_losses = model.term_losses

    def spy(x, y_pred=None, training=False):
        for name, batch in x.items():
            for key, array in batch.items():

                def note(sharding, name=name, key=key, shape=tuple(array.shape)):
                    rows = {
                        str(device.id): len(range(*index[0].indices(shape[0])))
                        for device, index in sharding.devices_indices_map(shape).items()
                    }
                    seen.setdefault(name, {})[key] = rows

                jax.debug.inspect_array_sharding(array, callback=note)
        return term_losses(x, y_pred, training=training)

    model.term_losses = spy
    return seen


def replicated(variables, n_devices):
    """True when every variable lives, whole and equal, on all devices."""
    for v in variables:
        value = v.value
        sharding = value.sharding
        if not sharding.is_fully_replicated or len(sharding.device_set) != n_devices:
            return False
        shards = [np.asarray(s.data) for s in value.addressable_shards]
        if len(shards) != n_devices or any(not np.array_equal(s, shards[0]) for s in shards):
            return False
    return True


def train(model):
    history = model.fit(epochs=STEPS, steps_per_epoch=1, verbose=0).history
    return {k: [float(v) for v in values] for k, values in history.items()}


def main(out):
    devices = keras.distribution.list_devices()
    result = {"devices": devices, "n_points": {}}

    single = build()
    initial = single.get_weights()
    result["n_points"] = {n: int(b["x"].shape[0]) for n, b in single.point_sets().items()}
    single_shards = record_shards(single)
    result["single"] = {"history": train(single), "shards": single_shards}

    distribution = keras.distribution.DataParallel(devices=devices)
    keras.distribution.set_distribution(distribution)
    model = build()
    model.set_weights(initial)
    same_start = all(np.array_equal(a, b) for a, b in zip(model.get_weights(), initial))
    shards = record_shards(model)
    history = train(model)
    n = len(devices)
    result["distributed"] = {
        "history": history,
        "shards": shards,
        "same_initial_weights": same_start,
        "weights_replicated": replicated(model.trainable_variables, n),
        "optimizer_replicated": replicated(model.optimizer.variables, n),
        "n_weights": len(model.trainable_variables),
        "max_weight_difference": max(
            float(np.max(np.abs(a - b))) for a, b in zip(model.get_weights(), single.get_weights())
        ),
    }

    # A point count that does not split over the devices.
    uneven = build(n_collocation=N_COLLOCATION - 2)
    try:
        check_point_counts(uneven)
        result["uneven_check"] = None
    except ValueError as error:
        result["uneven_check"] = str(error)
    try:
        uneven.fit(epochs=1, steps_per_epoch=1, verbose=0)
        result["uneven_fit"] = None
    except ValueError as error:
        result["uneven_fit"] = f"{type(error).__name__}: {error}"
    keras.distribution.set_distribution(None)
    with open(out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    assert os.environ.get("KERAS_BACKEND") == "jax", "set KERAS_BACKEND=jax"
    main(sys.argv[1])
