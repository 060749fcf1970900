"""Forward vs reverse mode for PINN input derivatives, hand-written in JAX.

Times one Adam-free training-gradient evaluation (the Burgers residual's mean
square and its gradient with respect to the weights) of an 8 x 20 tanh MLP on
N collocation points, with u_x, u_t, u_xx from nested forward mode (jax.jvp)
or nested reverse mode (jax.grad of sums). Used to choose keras-pinn's JAX
derivative mode; see docs/derivatives.md.

    python benchmarks/derivative_modes.py [--points 2000] [--repeats 200]
"""

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np


def init(key, sizes):
    params = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        key, sub = jax.random.split(key)
        params.append((jax.random.normal(sub, (a, b)) * np.sqrt(2 / (a + b)), jnp.zeros(b)))
    return params


def mlp(params, x):
    for w, b in params[:-1]:
        x = jnp.tanh(x @ w + b)
    w, b = params[-1]
    return x @ w + b


NU = 0.01 / np.pi


def residual_forward(params, x):
    f = lambda z: mlp(params, z)  # noqa: E731
    ex = jnp.zeros_like(x).at[:, 0].set(1.0)
    et = jnp.zeros_like(x).at[:, 1].set(1.0)
    fx = lambda z: jax.jvp(f, (z,), (ex,))[1]  # noqa: E731
    u, u_t = jax.jvp(f, (x,), (et,))
    u_x, u_xx = jax.jvp(fx, (x,), (ex,))
    return u_t + u * u_x - NU * u_xx


def residual_reverse(params, x):
    f = lambda z: mlp(params, z)[:, 0].sum()  # noqa: E731  (rows are independent)
    g = jax.grad(f)
    gx = lambda z: g(z)[:, 0].sum()  # noqa: E731
    u = mlp(params, x)[:, 0]
    grad = g(x)
    u_x, u_t = grad[:, 0], grad[:, 1]
    u_xx = jax.grad(gx)(x)[:, 0]
    return (u_t + u * u_x - NU * u_xx)[:, None]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    params = init(jax.random.PRNGKey(0), [2] + [20] * 8 + [1])
    x = jax.random.uniform(jax.random.PRNGKey(1), (args.points, 2), minval=-1.0)
    results = {}
    for name, res in [("forward (nested jvp)", residual_forward), ("reverse (nested grad)", residual_reverse)]:
        step = jax.jit(jax.value_and_grad(lambda p, res=res: jnp.mean(res(p, x) ** 2)))
        value, _ = step(params)
        jax.block_until_ready(value)
        times = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(args.repeats // 5):
                value, grads = step(params)
            jax.block_until_ready(grads)
            times.append((time.perf_counter() - start) / (args.repeats // 5))
        results[name] = (float(value), float(np.median(times)))
    ref = results["forward (nested jvp)"][0]
    print(f"jax {jax.__version__}, {args.points} points, 8x20 tanh MLP, loss+weight gradient per call:")
    for name, (value, seconds) in results.items():
        print(
            f"  {name:<24} {seconds * 1e3:7.2f} ms  ({1 / seconds:6.1f} "
            f"/s)  loss={value:.6g} (diff {abs(value - ref):.1e})"
        )


if __name__ == "__main__":
    main()
