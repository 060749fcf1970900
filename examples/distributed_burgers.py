"""Burgers PINN trained data-parallel with keras.distribution.DataParallel (JAX).

The collocation, initial and boundary points are split evenly over the
devices, the weights are replicated, and the losses are those of a
one-device run. On a multi-GPU machine, run it as is: it uses every GPU JAX
sees. On a CPU, ``--devices N`` makes XLA show N host devices (slices of the
same cores: this checks the mechanics, it does not speed anything up).

    KERAS_BACKEND=jax python examples/distributed_burgers.py --steps 5000
    KERAS_BACKEND=jax python examples/distributed_burgers.py --devices 4 --collocation 100000 --steps 200

The first epoch's time includes compilation; steps_per_s is over the others.
"""

import argparse
import os
import resource
import time


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--devices",
        type=int,
        default=None,
        help="force this many CPU host devices (CPU only; default: use the devices JAX sees)",
    )
    parser.add_argument(
        "--collocation",
        type=int,
        default=100_000,
        help="collocation points, a multiple of the device count (default 100000)",
    )
    parser.add_argument("--conditions", type=int, default=1024, help="initial and boundary points each (default 1024)")
    parser.add_argument("--steps", type=int, default=1000, help="Adam steps (default 1000)")
    parser.add_argument("--steps-per-epoch", type=int, default=100, help="steps per logged epoch (default 100)")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.devices is not None:
        if args.devices < 1:
            parser.error(f"--devices must be >= 1, got {args.devices}")
        # XLA reads its flags when JAX starts: set them before importing Keras.
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={args.devices}".strip()
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ.setdefault("KERAS_BACKEND", "jax")

    import keras

    import keras_pinn as kp
    from keras_pinn.problems import burgers

    if keras.backend.backend() != "jax":
        parser.error(
            f"keras.distribution.DataParallel trains on the JAX backend only. Received: "
            f"KERAS_BACKEND={keras.backend.backend()!r}; see docs/distribution.md"
        )

    devices = keras.distribution.list_devices()
    distribution = keras.distribution.DataParallel(devices=devices)
    # Set the distribution before building the model: variables created
    # under it are replicated on every device.
    keras.distribution.set_distribution(distribution)

    keras.utils.set_random_seed(args.seed)
    problem = burgers()
    net = keras.Sequential(
        [keras.Input((2,)), kp.layers.DomainScaler(problem.domain)]
        + [keras.layers.Dense(32, "tanh") for _ in range(4)]
        + [keras.layers.Dense(1)]
    )
    model = problem.model(net, n_collocation=args.collocation, n_condition=args.conditions, seed=args.seed)
    model.compile(optimizer=keras.optimizers.Adam(args.lr))

    stamps = []
    clock = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: stamps.append(time.perf_counter()))
    per_epoch = max(1, min(args.steps, args.steps_per_epoch))
    epochs = max(1, args.steps // per_epoch)
    start = time.perf_counter()
    history = model.fit(epochs=epochs, steps_per_epoch=per_epoch, verbose=2, callbacks=[clock])
    wall = time.perf_counter() - start
    # The first epoch includes compilation; time the others.
    speed = per_epoch * (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else per_epoch / wall

    # Predict without the distribution: under it, predict shards each batch
    # too, so every batch would need a multiple of the device count.
    keras.distribution.set_distribution(None)
    error = problem.error(model)
    print(
        f"devices={len(devices)} ({', '.join(devices)}) collocation={args.collocation} "
        f"points/device={args.collocation // len(devices)} steps={epochs * per_epoch} "
        f"loss={history.history['loss'][-1]:.4g} relative_l2={error:.3e} "
        f"steps_per_s={speed:.3g} wall_s={wall:.0f} "
        f"peak_rss_mib={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}"
    )


if __name__ == "__main__":
    main()
