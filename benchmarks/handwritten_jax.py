"""Hand-written PINN training loop in pure JAX, the reference for keras-pinn on JAX.

The same MLP (Glorot-uniform, tanh), points and loss as every other
implementation (see common.py); Adam(1e-3) written out in jax.numpy; the
whole step (residual, input derivatives by nested ``jax.jvp``, weight
gradient, Adam update) in one ``jax.jit`` with donated buffers; the points
live on the device and are passed as arguments.

Variants (``--layout``, ``--loop``):

* ``fp``: activations stored (features, points), ``h = tanh(W h + b)``;
* ``pf``: activations stored (points, features), ``h = tanh(h W + b)`` as
  ``keras.layers.Dense`` does;
* ``--loop python``: one jitted call per step (as in any training loop);
  ``--loop fused``: ``--chunk`` steps per call in a ``lax.fori_loop``.

    python benchmarks/handwritten_jax.py --problem burgers --layout fp
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402


def build(spec, layout="fp", mode="forward"):
    """``(params, data, step)``: initial parameters, device points and the
    jitted ``step(params, opt_state, data) -> (params, opt_state, loss)``."""
    import jax
    import jax.numpy as jnp

    pts = common.make_points(spec)
    weights = common.make_weights(spec["sizes"])
    if layout == "fp":
        params = [(jnp.asarray(w.T), jnp.asarray(b[:, None])) for w, b in weights]
        data = {k: jnp.asarray(v.T) for k, v in pts.items()}  # (2, n) and (1, n)
    else:
        params = [(jnp.asarray(w), jnp.asarray(b)) for w, b in weights]
        data = {k: jnp.asarray(v) for k, v in pts.items()}
    axis = 0 if layout == "fp" else 1  # the coordinate axis

    def mlp(p, h):
        for w, b in p[:-1]:
            h = jnp.tanh(w @ h + b) if layout == "fp" else jnp.tanh(h @ w + b)
        w, b = p[-1]
        return w @ h + b if layout == "fp" else h @ w + b

    def unit(x, j):
        return jnp.zeros_like(x).at[j].set(1.0) if axis == 0 else jnp.zeros_like(x).at[:, j].set(1.0)

    def coord(x, j):
        return x[j : j + 1] if axis == 0 else x[:, j : j + 1]

    def second(f, x, j):
        """``(u_j, u_jj)`` by nested forward mode."""
        e = unit(x, j)
        fj = lambda z: jax.jvp(f, (z,), (e,))[1]  # noqa: E731
        return jax.jvp(fj, (x,), (e,))

    def second_reverse(p, x, j):
        """``(u, grad u, u_jj)`` by nested reverse mode (rows independent)."""
        g = jax.grad(lambda z: mlp(p, z).sum())
        grad = g(x)
        gj = jax.grad(lambda z: coord(g(z), j).sum())(x)
        return grad, gj

    def pde_residual(p, x):
        f = lambda z: mlp(p, z)  # noqa: E731
        if spec["pde"] == "burgers":
            if mode == "reverse":
                u = f(x)
                grad, g2 = second_reverse(p, x, 0)
                u_x, u_t, u_xx = coord(grad, 0), coord(grad, 1), coord(g2, 0)
            else:
                u, u_t = jax.jvp(f, (x,), (unit(x, 1),))
                u_x, u_xx = second(f, x, 0)
            return u_t + u * u_x - common.NU * u_xx
        u = f(x)
        _, u_xx = second(f, x, 0)
        _, u_yy = second(f, x, 1)
        q = common.helmholtz_source(coord(x, 0), coord(x, 1), sin=jnp.sin)
        return u_xx + u_yy + common.HELMHOLTZ["k"] ** 2 * u - q

    def loss_fn(p, d):
        total = jnp.mean(pde_residual(p, d["pde"]) ** 2)
        for term in ("ic", "bc"):
            if term in d:
                total = total + jnp.mean((mlp(p, d[term]) - d[term + "_y"]) ** 2)
        return total

    lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-7

    def step(p, opt, d):
        loss, g = jax.value_and_grad(loss_fn)(p, d)
        m, v, t = opt
        t = t + 1
        m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
        v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
        scale = lr * jnp.sqrt(1 - b2**t) / (1 - b1**t)
        p = jax.tree_util.tree_map(lambda p, m, v: p - scale * m / (jnp.sqrt(v) + eps), p, m, v)
        return p, (m, v, t), loss

    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    opt = (zeros, jax.tree_util.tree_map(jnp.zeros_like, params), jnp.zeros((), "float32"))
    return params, opt, data, step


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_common_arguments(parser)
    parser.add_argument("--layout", default="fp", choices=["fp", "pf"])
    parser.add_argument("--mode", default="forward", choices=["forward", "reverse"])
    parser.add_argument("--loop", default="python", choices=["python", "fused"])
    parser.add_argument("--chunk", type=int, default=10, help="steps per call with --loop fused")
    args = parser.parse_args(argv)

    import jax

    spec = common.problem(args.problem, args.n_pde, args.width)
    params, opt, data, step = build(spec, args.layout, args.mode)
    initial = float(jax.jit(step)(params, opt, data)[2])
    if args.loop == "python":
        jstep = jax.jit(step, donate_argnums=(0, 1))

        def run(n):
            nonlocal params, opt
            for _ in range(n):
                params, opt, loss = jstep(params, opt, data)
            jax.block_until_ready(loss)
    else:

        def chunk(p, o, d):
            def body(_, carry):
                p, o, _ = carry
                return step(p, o, d)

            return jax.lax.fori_loop(0, args.chunk, body, (p, o, 0.0))

        jchunk = jax.jit(chunk, donate_argnums=(0, 1))

        def run(n):
            nonlocal params, opt
            calls = max(1, -(-n // args.chunk))
            for _ in range(calls):
                params, opt, loss = jchunk(params, opt, data)
            jax.block_until_ready(loss)
            return calls * args.chunk

    result = common.Timer(args.windows, args.seconds, args.steps).measure(run)
    _, _, loss = jax.jit(step)(params, opt, data)
    result.update(
        implementation="handwritten",
        framework="jax",
        backend="jax",
        problem=args.problem,
        n_pde=spec["n_pde"],
        width=spec["widths"][0],
        variant=f"layout={args.layout}, {args.mode} (nested jvp)"
        if args.mode == "forward"
        else f"layout={args.layout}, reverse (nested grad)",
        loop=args.loop if args.loop == "python" else f"fused x{args.chunk}",
        initial_loss=initial,
        loss=float(loss),
        versions={"jax": jax.__version__},
    )
    common.report(result, args.json)


if __name__ == "__main__":
    main()
