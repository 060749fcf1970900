"""Derivative modes, orders 1, 2 and 4, and activation layouts, on every backend.

For each backend (one subprocess each, written directly in the framework)
it times one training-gradient evaluation: the loss ``mean((d^k u / dx^k)^2)``
of a tanh MLP and its gradient with respect to the weights, compiled the way
that framework compiles (``jax.jit``; ``tf.function`` with and without XLA;
PyTorch eager), for k = 1, 2, 4 and each mode:

* JAX: ``forward`` (k nested ``jax.jvp``), ``reverse`` (k nested ``jax.grad``
  of sums), ``taylor`` (``jax.experimental.jet``, one Taylor series of
  order k);
* TensorFlow: ``reverse`` (k nested ``GradientTape``), ``forward`` (k nested
  ``ForwardAccumulator``, without XLA: with XLA it compiles for minutes);
* PyTorch: ``reverse`` (``autograd.grad(create_graph=True)``), ``forward``
  (k nested ``torch.func.jvp``);

each with the activations stored (points, features) (``pf``, as
``keras.layers.Dense``) and (features, points) (``fp``). Variants are timed
interleaved (rounds of short windows, median), which resists other jobs on
a shared machine better than one variant after the other.

    python benchmarks/derivative_orders.py  # all backends, writes docs/performance/derivative_orders.json
    python benchmarks/derivative_orders.py --quick
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import common  # noqa: E402

#: (name, hidden widths, points)
NETWORKS = [("3x20, 2,540 points", [20] * 3, 2540), ("4x50, 10,000 points", [50] * 4, 10_000)]
ORDERS = (1, 2, 4)


def _jax_variants(widths, n, order):
    import jax
    import jax.numpy as jnp
    from jax.experimental import jet

    sizes = [2] + widths + [1]
    weights = common.make_weights(sizes)
    x_np = common.make_points(common.problem("burgers", n_pde=n))["pde"]
    out = {}
    for layout in ("pf", "fp"):
        fp = layout == "fp"
        params = [(jnp.asarray(w.T if fp else w), jnp.asarray(b[:, None] if fp else b)) for w, b in weights]
        x = jnp.asarray(x_np.T if fp else x_np)
        e = jnp.zeros_like(x).at[0].set(1.0) if fp else jnp.zeros_like(x).at[:, 0].set(1.0)

        def mlp(p, h, fp=fp):
            for w, b in p[:-1]:
                h = jnp.tanh(w @ h + b) if fp else jnp.tanh(h @ w + b)
            w, b = p[-1]
            return w @ h + b if fp else h @ w + b

        def forward(p, x=x, e=e, mlp=mlp):
            f = lambda z: mlp(p, z)  # noqa: E731
            for _ in range(order):
                f = (lambda g: lambda z: jax.jvp(g, (z,), (e,))[1])(f)
            return f(x)

        def reverse(p, x=x, fp=fp, mlp=mlp):
            f = lambda z: mlp(p, z)  # noqa: E731
            for _ in range(order):
                g = jax.grad(lambda z, f=f: f(z).sum())
                f = (lambda gg: lambda z: gg(z)[0:1] if fp else gg(z)[:, 0:1])(g)
            return f(x)

        def taylor(p, x=x, e=e, mlp=mlp):
            series = [e] + [jnp.zeros_like(x)] * (order - 1)
            _, terms = jet.jet(lambda z: mlp(p, z), (x,), (series,))
            return terms[order - 1]

        for mode, fn in (("forward", forward), ("reverse", reverse), ("taylor", taylor)):
            step = jax.jit(jax.value_and_grad(lambda p, fn=fn: jnp.mean(fn(p) ** 2)))

            def call(step=step, params=params):
                value, grads = step(params)
                jax.block_until_ready(grads)
                return float(value)

            out[(mode, layout, "jit")] = call
    return out


def _tf_variants(widths, n, order):
    import tensorflow as tf

    sizes = [2] + widths + [1]
    weights = common.make_weights(sizes)
    x_np = common.make_points(common.problem("burgers", n_pde=n))["pde"]
    out = {}
    for layout in ("pf", "fp"):
        fp = layout == "fp"
        params = [tf.Variable(a) for w, b in weights for a in ((w.T, b[:, None]) if fp else (w, b))]
        x = tf.constant(x_np.T if fp else x_np)
        e = tf.constant((x_np * 0 + [1.0, 0.0]).T if fp else x_np * 0 + [1.0, 0.0], dtype=tf.float32)

        def mlp(h, fp=fp, params=params):
            k = len(params) // 2
            for i in range(k):
                w, b = params[2 * i], params[2 * i + 1]
                h = (tf.matmul(w, h) if fp else tf.matmul(h, w)) + b
                if i < k - 1:
                    h = tf.tanh(h)
            return h

        def reverse(x=x, fp=fp, mlp=mlp):
            tapes = [tf.GradientTape(persistent=True) for _ in range(order)]
            for t in tapes:
                t.__enter__()
                t.watch(x)
            u = mlp(x)
            for i in range(order):
                tapes[-1 - i].__exit__(None, None, None)
                g = tapes[-1 - i].gradient(u, x)
                u = g[0:1] if fp else g[:, 0:1]
            return u

        def forward(x=x, e=e, mlp=mlp):
            accs = [tf.autodiff.ForwardAccumulator(x, e) for _ in range(order)]
            for a in accs:
                a.__enter__()
            u = mlp(x)
            values = [u]
            for i in range(order):
                accs[-1 - i].__exit__(None, None, None)
                values = [accs[-1 - i].jvp(v) for v in values]
            return values[0]

        for mode, fn, xlas in (("reverse", reverse, (True, False)), ("forward", forward, (False,))):
            for xla in xlas:

                @tf.function(jit_compile=xla)
                def step(fn=fn, params=params):
                    with tf.GradientTape() as tape:
                        loss = tf.reduce_mean(tf.square(fn()))
                    return loss, tape.gradient(loss, params)

                def call(step=step):
                    loss, _grads = step()
                    return float(loss.numpy())

                out[(mode, layout, "XLA" if xla else "tf.function")] = call
    return out


def _torch_variants(widths, n, order):
    import torch
    from torch.func import jvp

    sizes = [2] + widths + [1]
    weights = common.make_weights(sizes)
    x_np = common.make_points(common.problem("burgers", n_pde=n))["pde"]
    out = {}
    for layout in ("pf", "fp"):
        fp = layout == "fp"
        params = [
            torch.tensor(a.copy(), requires_grad=True)
            for w, b in weights
            for a in ((w.T, b[:, None]) if fp else (w, b))
        ]
        x0 = torch.tensor(x_np.T.copy() if fp else x_np)
        e = torch.zeros_like(x0)
        if fp:
            e[0] = 1.0
        else:
            e[:, 0] = 1.0

        def mlp(h, fp=fp, params=params):
            k = len(params) // 2
            for i in range(k):
                w, b = params[2 * i], params[2 * i + 1]
                h = torch.addmm(b, w, h) if fp else torch.addmm(b, h, w)
                if i < k - 1:
                    h = torch.tanh(h)
            return h

        def reverse(fp=fp, mlp=mlp, x0=x0):
            x = x0.detach().requires_grad_(True)
            u = mlp(x)
            for _ in range(order):
                (g,) = torch.autograd.grad(u.sum(), x, create_graph=True)
                u = g[0:1] if fp else g[:, 0:1]
            return u

        def forward(mlp=mlp, x0=x0, e=e):
            f = mlp
            for _ in range(order):
                f = (lambda g: lambda z: jvp(g, (z,), (e,))[1])(f)
            return f(x0)

        for mode, fn in (("reverse", reverse), ("forward", forward)):

            def call(fn=fn, params=params):
                loss = torch.mean(fn() ** 2)
                torch.autograd.grad(loss, params, allow_unused=True)
                return float(loss.detach())

            out[(mode, layout, "eager")] = call
    return out


def worker(args):
    if args.backend == "torch":
        common.set_torch_threads(args.threads)
    build = {"jax": _jax_variants, "tensorflow": _tf_variants, "torch": _torch_variants}[args.backend]
    networks = NETWORKS[:1] if args.quick else NETWORKS
    for name, widths, n in networks:
        for order in args.orders:
            variants = build(widths, n, order)
            values, compile_s, times = {}, {}, {key: [] for key in variants}
            for key, call in list(variants.items()):
                start = time.perf_counter()
                try:
                    values[key] = call()
                    call()
                except Exception as error:  # noqa: BLE001 - reported in the table
                    print(
                        "RESULT "
                        + json.dumps(
                            {
                                "backend": args.backend,
                                "network": name,
                                "order": order,
                                "mode": key[0],
                                "layout": key[1],
                                "compiler": key[2],
                                "error": f"{type(error).__name__}: {error}"[:200],
                            }
                        ),
                        flush=True,
                    )
                    del variants[key]
                    continue
                compile_s[key] = time.perf_counter() - start
            reps = {}
            for key, call in variants.items():  # calls per window of about args.seconds
                start = time.perf_counter()
                call()
                reps[key] = max(1, int(args.seconds / max(time.perf_counter() - start, 1e-5)))
            for _ in range(args.rounds):
                for key, call in variants.items():
                    start = time.perf_counter()
                    for _ in range(reps[key]):
                        call()
                    times[key].append((time.perf_counter() - start) / reps[key])
            for key in variants:
                ms = 1e3 * statistics.median(times[key])
                print(
                    "RESULT "
                    + json.dumps(
                        {
                            "backend": args.backend,
                            "network": name,
                            "order": order,
                            "mode": key[0],
                            "layout": key[1],
                            "compiler": key[2],
                            "ms_per_call": round(ms, 3),
                            "calls_per_s": round(1e3 / ms, 1),
                            "best_ms": round(1e3 * min(times[key]), 3),
                            "compile_s": round(compile_s[key], 2),
                            "loss": values[key],
                            "load_average": common.load_average(),
                        }
                    ),
                    flush=True,
                )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the small network only, fewer rounds")
    parser.add_argument("--backends", default="jax,tensorflow,torch")
    parser.add_argument("--orders", default="1,2,4")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=0.25, help="length of one timed window")
    parser.add_argument(
        "--malloc",
        default="tuned",
        choices=sorted(common.MALLOC_MODES),
        help="glibc malloc settings of the subprocesses (see common.MALLOC_TUNED)",
    )
    parser.add_argument("--threads", type=int, default=1, help="PyTorch intra-op threads")
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "performance", "derivative_orders"))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--backend", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.orders = [int(v) for v in str(args.orders).split(",")]
    args.rounds = args.rounds or (3 if args.quick else 5)
    if args.worker:
        return worker(args)
    command = " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])
    machine = common.machine()
    print(
        f"# python {command}\nmachine: {machine['cpu']}, {machine['cores']} cores; load {machine['load_average']}",
        flush=True,
    )

    def describe(backend, r):
        status = r.get("error") or f"{r['ms_per_call']:9.3f} ms  (best {r['best_ms']:.3f})"
        return (
            f"{backend:10s} {r['network']:20s} order {r['order']} {r['mode']:8s} {r['layout']} "
            f"{r['compiler']:11s} {status}"
        )

    started = time.time()
    worker_args = [
        "--orders",
        ",".join(map(str, args.orders)),
        "--rounds",
        str(args.rounds),
        "--seconds",
        str(args.seconds),
        "--threads",
        str(args.threads),
    ] + (["--quick"] if args.quick else [])
    results = common.run_backend_workers(__file__, args.backends.split(","), worker_args, args.malloc, describe, ROOT)
    out = {
        "command": f"python {command}",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": machine,
        "load_average_end": common.load_average(),
        "elapsed_s": round(time.time() - started),
        "torch_threads": args.threads,
        "malloc": args.malloc,
        "results": results,
    }
    common.write_json(out, args.out)
    print(f"wrote {args.out}.json ({out['elapsed_s']} s)")


if __name__ == "__main__":
    main()
