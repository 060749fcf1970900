"""Checks that training with ``steps_per_execution=4`` gives the same weights
as one step per execution (9 steps per epoch, so the last execution is
partial), with the proposed changes applied (patches.py ``fast``: fused JAX
steps, direct XLA calls on TensorFlow, the PyTorch clamp).

    KERAS_BACKEND=jax python benchmarks/check_steps_per_execution.py
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import patches  # noqa: E402

import keras_pinn as kp  # noqa: E402


def run(spe):
    keras.utils.set_random_seed(0)
    domain = kp.SpaceTime(kp.Interval(-1.0, 1.0, "x"), 0.0, 1.0)
    model = kp.PINNModel(
        kp.layers.MLP([8, 8], 1), domain,
        lambda d: d("u", "t") + d("u") * d("u", "x") - 0.01 * d("u", "x", "x"),
        conditions=[kp.InitialCondition(lambda p: -np.sin(np.pi * p[:, 0]), n_points=16),
                    kp.DirichletBC(0.0, n_points=16)],
        n_collocation=64, seed=0,
    )
    model.compile(keras.optimizers.Adam(1e-2), steps_per_execution=spe)
    history = model.fit(epochs=2, steps_per_epoch=9, verbose=0)
    return history.history["loss"], model.get_weights(), int(keras.ops.convert_to_numpy(model.optimizer.iterations))


def main():
    patches.apply("fast")
    (loss1, w1, it1), (loss4, w4, it4) = run(1), run(4)
    assert it1 == it4 == 18, (it1, it4)
    np.testing.assert_allclose(loss1, loss4, rtol=1e-5)
    for a, b in zip(w1, w4):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    print(f"{keras.backend.backend()}: steps_per_execution=4 matches 1 (losses {loss4}, 18 optimizer steps)")


if __name__ == "__main__":
    main()
