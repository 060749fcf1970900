"""Hand-written PINN training loop in TensorFlow, the reference for keras-pinn on TensorFlow.

The same MLP (Glorot-uniform, tanh), points and loss as every other
implementation (see common.py): ``tf.Variable`` weights, the points as
constants on the device, the whole step (residual, input derivatives,
weight gradient, Adam(1e-3) written out with ``assign``) in one
``tf.function``.

Variants: ``--xla`` (``jit_compile=True``, default on), ``--layout`` (``pf``:
activations (points, features), ``h @ W + b``; ``fp``: (features, points),
``W^T h + b``), ``--mode`` (``reverse``: nested ``GradientTape``, the
default; ``forward``: nested ``tf.autodiff.ForwardAccumulator``).

    python benchmarks/handwritten_tf.py --problem burgers --xla 1
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402


def build(spec, layout="pf", mode="reverse", xla=True):
    """``(step, variables, initial_loss)``: ``step()`` runs one training step
    and returns the loss."""
    import tensorflow as tf

    pts = common.make_points(spec)
    fp = layout == "fp"
    weights = common.make_weights(spec["sizes"])
    params = []
    for w, b in weights:
        params.append(tf.Variable(w.T if fp else w))
        params.append(tf.Variable(b[:, None] if fp else b))
    data = {k: tf.constant(v.T if fp else v) for k, v in pts.items()}

    def mlp(h):
        n = len(params) // 2
        for i in range(n):
            w, b = params[2 * i], params[2 * i + 1]
            h = tf.matmul(w, h) + b if fp else tf.matmul(h, w) + b
            if i < n - 1:
                h = tf.tanh(h)
        return h

    def coord(a, j):
        return a[j : j + 1] if fp else a[:, j : j + 1]

    def unit(x, j):
        e = tf.one_hot(j, 2, dtype=x.dtype)
        return tf.broadcast_to(e[:, None] if fp else e[None, :], tf.shape(x))

    def derivatives_reverse(x, second):
        """``u``, ``grad u`` and ``[u_jj for j in second]`` by nested tapes."""
        with tf.GradientTape(persistent=True) as outer:
            outer.watch(x)
            with tf.GradientTape() as inner:
                inner.watch(x)
                u = mlp(x)
            g = inner.gradient(u, x)
            parts = [coord(g, j) for j in second]
        return u, g, [coord(outer.gradient(p, x), j) for p, j in zip(parts, second)]

    def second_forward(x, j):
        """``(u, u_j, u_jj)`` by nested forward accumulators."""
        e = unit(x, j)
        with tf.autodiff.ForwardAccumulator(x, e) as outer:
            with tf.autodiff.ForwardAccumulator(x, e) as inner:
                u = mlp(x)
            u_j = inner.jvp(u)
        return u, u_j, outer.jvp(u_j)

    def pde_residual(x):
        if spec["pde"] == "burgers":
            if mode == "forward":
                u, u_x, u_xx = second_forward(x, 0)
                with tf.autodiff.ForwardAccumulator(x, unit(x, 1)) as acc:
                    u_ = mlp(x)
                u_t = acc.jvp(u_)
            else:
                u, g, (u_xx,) = derivatives_reverse(x, [0])
                u_x, u_t = coord(g, 0), coord(g, 1)
            return u_t + u * u_x - common.NU * u_xx
        if mode == "forward":
            u, _, u_xx = second_forward(x, 0)
            _, _, u_yy = second_forward(x, 1)
        else:
            u, _, (u_xx, u_yy) = derivatives_reverse(x, [0, 1])
        q = common.helmholtz_source(coord(x, 0), coord(x, 1), sin=tf.sin)
        return u_xx + u_yy + common.HELMHOLTZ["k"] ** 2 * u - q

    def loss_fn():
        total = tf.reduce_mean(tf.square(pde_residual(data["pde"])))
        for term in ("ic", "bc"):
            if term in data:
                total += tf.reduce_mean(tf.square(mlp(data[term]) - data[term + "_y"]))
        return total

    lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-7
    ms = [tf.Variable(tf.zeros_like(p)) for p in params]
    vs = [tf.Variable(tf.zeros_like(p)) for p in params]
    t = tf.Variable(0.0)

    @tf.function(jit_compile=xla)
    def step():
        with tf.GradientTape() as tape:
            loss = loss_fn()
        grads = tape.gradient(loss, params)
        t.assign_add(1.0)
        scale = lr * tf.sqrt(1.0 - b2**t) / (1.0 - b1**t)
        for p, g, m, v in zip(params, grads, ms, vs):
            m.assign(b1 * m + (1 - b1) * g)
            v.assign(b2 * v + (1 - b2) * g * g)
            p.assign_sub(scale * m / (tf.sqrt(v) + eps))
        return loss

    initial = float(tf.function(loss_fn, jit_compile=xla)())
    return step, params, initial


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_common_arguments(parser)
    parser.add_argument("--layout", default="pf", choices=["fp", "pf"])
    parser.add_argument("--mode", default="reverse", choices=["reverse", "forward"])
    parser.add_argument("--xla", type=int, default=1)
    args = parser.parse_args(argv)

    import tensorflow as tf

    spec = common.problem(args.problem, args.n_pde, args.width)
    step, _params, initial = build(spec, args.layout, args.mode, bool(args.xla))
    loss = None

    def run(n):
        nonlocal loss
        for _ in range(n):
            loss = step()
        loss.numpy()

    result = common.Timer(args.windows, args.seconds, args.steps).measure(run)
    result.update(
        implementation="handwritten",
        framework="tensorflow",
        backend="tensorflow",
        problem=args.problem,
        n_pde=spec["n_pde"],
        width=spec["widths"][0],
        variant=f"layout={args.layout}, {args.mode} ("
        + ("nested GradientTape" if args.mode == "reverse" else "nested ForwardAccumulator")
        + f"), tf.function{' + XLA' if args.xla else ''}",
        loop="python",
        initial_loss=initial,
        loss=float(loss),
        versions={"tensorflow": tf.__version__},
    )
    common.report(result, args.json)


if __name__ == "__main__":
    main()
