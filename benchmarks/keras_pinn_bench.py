"""keras-pinn's training speed on one backend (``KERAS_BACKEND``), the user's way:
``PINNModel`` + ``model.compile`` + ``model.fit(epochs, steps_per_epoch)``.

The network is ``--network dense`` (``keras.Sequential`` of ``Dense``
layers, activations stored (points, features)) or ``--network mlp``
(``keras_pinn.layers.MLP``, the fast path: the same weights, activations
stored (features, points)). The same points, initial
weights and loss as the hand-written loops (common.py).

    KERAS_BACKEND=jax python benchmarks/keras_pinn_bench.py --problem burgers --network mlp
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402


def _bool(value):
    if value in (None, "auto"):
        return "auto"
    return {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}[value.lower()]


def build(spec, network="mlp", seed=0, derivative_method="auto"):
    """The :class:`keras_pinn.PINNModel` of ``spec`` with the shared points
    and initial weights."""
    import keras

    import keras_pinn as kp
    from keras_pinn.problems import BurgersResidual, HelmholtzResidual

    pts = common.make_points(spec, seed)
    if network == "dense":
        net = keras.Sequential(
            [keras.Input((2,))] + [keras.layers.Dense(w, "tanh") for w in spec["widths"]] + [keras.layers.Dense(1)]
        )
    elif network == "mlp-seq":
        net = keras.Sequential([keras.Input((2,)), kp.layers.MLP(spec["widths"], 1, "tanh")])
    else:
        net = kp.layers.MLP(spec["widths"], 1, "tanh")
        net.build((None, 2))
    weights = [a for pair in common.make_weights(spec["sizes"], seed) for a in pair]
    net.set_weights(weights)
    if spec["pde"] == "burgers":
        domain = kp.SpaceTime(kp.Interval(-1.0, 1.0, "x"), 0.0, 1.0)
        pde = BurgersResidual(common.NU)
        conditions = [
            kp.InitialCondition(common.burgers_initial, points=pts["ic"], name="ic"),
            kp.DirichletBC(0.0, points=pts["bc"], name="bc"),
        ]
    else:
        domain = kp.Box([-1.0, -1.0], [1.0, 1.0], names=("x", "y"))
        pde = HelmholtzResidual(**common.HELMHOLTZ)
        conditions = [kp.DirichletBC(0.0, points=pts["bc"], name="bc")]
    model = kp.PINNModel(
        net,
        domain,
        pde,
        conditions=conditions,
        n_collocation=spec["n_pde"],
        seed=seed,
        derivative_method=derivative_method,
    )
    model.set_points("pde", pts["pde"])
    return model


class _Clock:
    """Times each epoch of one ``fit`` call, synchronised with the device
    (a weight is read back at each epoch's end)."""

    def __init__(self):
        import keras

        class Clock(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.marks = []

                self.cpu = []

            def on_epoch_begin(self, epoch, logs=None):
                if not self.marks:
                    self.marks.append(time.perf_counter())
                    self.cpu.append(time.process_time())

            def on_epoch_end(self, epoch, logs=None):
                keras.ops.convert_to_numpy(self.model.trainable_variables[0].value)
                self.marks.append(time.perf_counter())
                self.cpu.append(time.process_time())

        self.callback = Clock()


def measure(
    spec,
    network="mlp",
    jit_compile="auto",
    steps_per_execution=None,
    windows=6,
    seconds=2.0,
    steps=None,
    evaluate=True,
    derivative_method="auto",
    min_fit_steps=0,
):
    """Builds, compiles and times keras-pinn on ``spec``; returns the result dict."""
    import keras
    import numpy as np

    model = build(spec, network, derivative_method=derivative_method)
    compile_kwargs = {"optimizer": keras.optimizers.Adam(1e-3)}
    if steps_per_execution is not None:
        compile_kwargs["steps_per_execution"] = steps_per_execution
    if jit_compile != "auto":
        compile_kwargs["jit_compile"] = jit_compile
    model.compile(**compile_kwargs)
    initial = model.evaluate(verbose=0, return_dict=True)["loss"] if evaluate else None

    def run(n):
        model.fit(epochs=1, steps_per_epoch=n, verbose=0)
        keras.ops.convert_to_numpy(model.trainable_variables[0].value)

    # Every row runs whole groups of 32 steps (the fast path's
    # steps_per_execution, and what PINNModel picks by default for them).
    timer = common.Timer(windows, seconds, steps, multiple=32)
    compile_s, steps = timer.plan(run)
    # The timed windows are the epochs of one fit of at least min_fit_steps
    # steps: the length of run for which PINNModel's defaults compile on
    # PyTorch (keras_pinn.model.LONG_FIT_STEPS); its first window then holds
    # the compilation, which the median leaves out.
    steps = max(steps, -(-min_fit_steps // (windows * 32)) * 32)
    spe = model.steps_per_execution
    clock = _Clock()
    history = model.fit(epochs=windows, steps_per_epoch=steps, verbose=0, callbacks=[clock.callback])
    marks = clock.callback.marks
    rates = [steps / (b - a) for a, b in zip(marks[:-1], marks[1:])]
    cpu = [(b - a) / steps for a, b in zip(clock.callback.cpu[:-1], clock.callback.cpu[1:])]
    result = common.summary(rates, steps, compile_s, cpu)
    result.update(
        network=network,
        jit_compile=bool(model.jit_compile),
        steps_per_execution=spe,
        n_pde=spec["n_pde"],
        width=spec["widths"][0],
        derivative_method=derivative_method,
        taylor=model.resolved_derivative_method == "taylor",
        initial_loss=None if initial is None else float(initial),
        loss=float(np.asarray(history.history["loss"][-1])),
    )
    return result


def versions():
    import keras

    import keras_pinn as kp

    out = {"keras": keras.__version__, "keras_pinn": kp.__version__}
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        out["jax"] = jax.__version__
    elif backend == "tensorflow":
        import tensorflow as tf

        out["tensorflow"] = tf.__version__
    else:
        import torch

        out["torch"] = torch.__version__
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_common_arguments(parser)
    parser.add_argument(
        "--network",
        default="mlp",
        choices=["mlp", "mlp-seq", "dense"],
        help="mlp: kp.layers.MLP as the network; mlp-seq: inside a Sequential; dense: Sequential of Dense",
    )
    parser.add_argument("--jit-compile", default="auto", help="model.compile(jit_compile=...): auto, true, false")
    parser.add_argument("--steps-per-execution", type=int, default=None)
    parser.add_argument(
        "--min-fit-steps", type=int, default=0, help="the timed fit runs at least this many steps (all windows)"
    )
    parser.add_argument(
        "--derivative-method",
        default="auto",
        choices=["auto", "autodiff", "taylor"],
        help="PINNModel(derivative_method=...)",
    )
    args = parser.parse_args(argv)

    threads = None
    if os.environ.get("KERAS_BACKEND") == "torch":
        threads = common.set_torch_threads(args.threads)
    import keras

    import keras_pinn as kp

    spec = common.problem(args.problem, args.n_pde, args.width)
    result = measure(
        spec,
        args.network,
        _bool(args.jit_compile),
        args.steps_per_execution,
        args.windows,
        args.seconds,
        args.steps,
        derivative_method=args.derivative_method,
        min_fit_steps=args.min_fit_steps,
    )
    backend = keras.backend.backend()
    result.update(
        implementation="keras-pinn",
        framework=backend,
        backend=backend,
        problem=args.problem,
        variant=f"{args.network}, jit_compile={result['jit_compile']}, "
        f"steps_per_execution={result['steps_per_execution']}, "
        f"derivatives={'taylor' if result['taylor'] else 'autodiff'}",
        loop="model.fit",
        derivative_mode="taylor (keras_pinn.differentiation.taylor)"
        if result["taylor"]
        else kp.backend.DERIVATIVE_MODE,
        versions=versions(),
        torch_threads=threads,
    )
    common.report(result, args.json)


if __name__ == "__main__":
    main()
