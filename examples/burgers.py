"""Raissi-style Burgers PINN: u_t + u u_x = (0.01/pi) u_xx on [-1, 1] x [0, 1].

8 hidden layers of 20 tanh units behind a DomainScaler, 10,000 Latin-hypercube
collocation points, Adam, then optionally full-batch L-BFGS. Prints the
relative L2 error against the Cole-Hopf reference and the training speed.

    KERAS_BACKEND=jax python examples/burgers.py --steps 20000
    KERAS_BACKEND=jax python examples/burgers.py --steps 2000 --lbfgs 10000
    KERAS_BACKEND=torch python examples/burgers.py --steps 2000 --lbfgs 6000 --float64
    KERAS_BACKEND=tensorflow python examples/burgers.py --steps 2000 --lbfgs 10000 --mlp --jit-compile
"""

import argparse
import time

import keras

import keras_pinn as kp
from keras_pinn.problems import burgers


def build_network(domain, depth=8, width=20, mlp=False):
    layers = [keras.Input((domain.dim,)), kp.layers.DomainScaler(domain)]
    if mlp:
        # The same network as one layer: faster, and float64-exact on every backend.
        layers.append(kp.layers.MLP([width] * depth, outputs=1, activation="tanh"))
    else:
        layers += [keras.layers.Dense(width, activation="tanh") for _ in range(depth)]
        layers.append(keras.layers.Dense(1))
    return keras.Sequential(layers, name="burgers_mlp")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5000, help="Adam steps (default 5000)")
    parser.add_argument("--collocation", type=int, default=10_000, help="collocation points")
    parser.add_argument("--lr", type=float, default=1e-3, help="initial learning rate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lbfgs", type=int, default=0, help="L-BFGS iterations after Adam (default 0)")
    parser.add_argument("--float64", action="store_true", help="train in float64 (kp.set_precision)")
    parser.add_argument("--mlp", action="store_true", help="use kp.layers.MLP instead of a stack of Dense layers")
    parser.add_argument(
        "--jit-compile", action="store_true", help="compile(jit_compile=True): XLA on TensorFlow, for Adam and L-BFGS"
    )
    parser.add_argument("--save", default=None, help="save the trained model to this .keras path")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps must be >= 1, got {args.steps}")
    if args.float64:
        kp.set_precision("float64")

    keras.utils.set_random_seed(args.seed)
    problem = burgers()
    model = problem.model(
        build_network(problem.domain, mlp=args.mlp), n_collocation=args.collocation, n_condition=512, seed=args.seed
    )
    # Exponential decay to 1/10 of the initial rate over the run.
    schedule = keras.optimizers.schedules.ExponentialDecay(args.lr, decay_steps=args.steps, decay_rate=0.1)
    model.compile(optimizer=keras.optimizers.Adam(schedule), jit_compile=True if args.jit_compile else "auto")

    steps_per_epoch = min(args.steps, 500)
    epochs = max(1, args.steps // steps_per_epoch)
    # The first epoch includes compilation; time the rest.
    stamps = []
    timer = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: stamps.append(time.perf_counter()))
    start = time.perf_counter()
    model.fit(epochs=epochs, steps_per_epoch=steps_per_epoch, verbose=2, callbacks=[timer])
    total = time.perf_counter() - start
    timed = (stamps[-1] - stamps[0]) if len(stamps) > 1 else total
    speed = steps_per_epoch * (len(stamps) - 1) / timed if len(stamps) > 1 else steps_per_epoch / total

    error = problem.error(model)
    print(
        f"backend={keras.backend.backend()} floatx={keras.config.floatx()} steps={epochs * steps_per_epoch} "
        f"collocation={args.collocation} relative_l2={error:.3e} "
        f"steps_per_s={speed:.1f} wall_s={total:.0f}"
    )
    if args.lbfgs:
        per_epoch = min(args.lbfgs, 500)
        report = keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: print(
                f"  L-BFGS epoch {epoch + 1}: relative_l2={problem.error(model):.3e}"
            )
        )
        start = time.perf_counter()
        history = model.fit_lbfgs(
            epochs=-(-args.lbfgs // per_epoch), steps_per_epoch=per_epoch, verbose=2, callbacks=[report]
        )
        lbfgs_wall = time.perf_counter() - start
        error = problem.error(model)
        info = history.lbfgs
        print(
            f"backend={keras.backend.backend()} adam_steps={epochs * steps_per_epoch} "
            f"lbfgs_iterations={info['iterations']} lbfgs_evaluations={info['evaluations']} "
            f"relative_l2={error:.3e} lbfgs_wall_s={lbfgs_wall:.0f} "
            f"total_wall_s={total + lbfgs_wall:.0f} ({info['message']})"
        )
    if args.save:
        model.save(args.save)
    return error


if __name__ == "__main__":
    main()
