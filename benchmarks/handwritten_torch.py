"""Hand-written PINN training loop in PyTorch, the reference for keras-pinn on PyTorch.

The same MLP (Glorot-uniform, tanh), points and loss as every other
implementation (see common.py); ``torch.optim.Adam(lr=1e-3)``; eager
execution, the points as tensors created once.

Variants:

* ``--mode reverse`` (default): input derivatives by
  ``torch.autograd.grad(..., create_graph=True)``, as PINN code in PyTorch
  is usually written (and as DeepXDE does);
* ``--mode forward``: nested ``torch.func.jvp``;
* ``--layout pf`` (default): activations (points, features),
  ``addmm(b, h, W)``; ``fp``: (features, points), ``addmm(b, W^T, h)``;
* ``--compile``: ``torch.compile`` the network's forward (``mode`` default).
  Double backward through a compiled graph is not supported by PyTorch's
  AOTAutograd, so this fails with reverse mode; it is kept to show it.

    python benchmarks/handwritten_torch.py --problem burgers --threads 1
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402


def build(spec, layout="pf", mode="reverse", compile_net=False):
    import torch

    pts = common.make_points(spec)
    fp = layout == "fp"
    params = []
    for w, b in common.make_weights(spec["sizes"]):
        params.append(torch.nn.Parameter(torch.tensor(w.T.copy() if fp else w)))
        params.append(torch.nn.Parameter(torch.tensor(b[:, None].copy() if fp else b)))
    data = {k: torch.tensor(v.T.copy() if fp else v) for k, v in pts.items()}
    n_layers = len(params) // 2

    def mlp(h):
        for i in range(n_layers):
            w, b = params[2 * i], params[2 * i + 1]
            h = torch.addmm(b, w, h) if fp else torch.addmm(b, h, w)
            if i < n_layers - 1:
                h = torch.tanh(h)
        return h

    net = torch.compile(mlp) if compile_net else mlp

    def coord(a, j):
        return a[j : j + 1] if fp else a[:, j : j + 1]

    def unit(x, j):
        e = torch.zeros(2, dtype=x.dtype)
        e[j] = 1.0
        return (e[:, None] if fp else e[None, :]).expand_as(x).contiguous()

    def pde_residual(x):
        if mode == "forward":
            from torch.func import jvp

            def second(j):
                e = unit(x, j)
                return jvp(lambda z: jvp(net, (z,), (e,))[1], (x,), (e,))

            if spec["pde"] == "burgers":
                u, u_t = jvp(net, (x,), (unit(x, 1),))
                u_x, u_xx = second(0)
                return u_t + u * u_x - common.NU * u_xx
            u = net(x)
            (_, u_xx), (_, u_yy) = second(0), second(1)
        else:
            x = x.detach().requires_grad_(True)
            u = net(x)
            (g,) = torch.autograd.grad(u.sum(), x, create_graph=True)
            if spec["pde"] == "burgers":
                u_x, u_t = coord(g, 0), coord(g, 1)
                (g2,) = torch.autograd.grad(u_x.sum(), x, create_graph=True)
                return u_t + u * u_x - common.NU * coord(g2, 0)
            u_xx = coord(torch.autograd.grad(coord(g, 0).sum(), x, create_graph=True)[0], 0)
            u_yy = coord(torch.autograd.grad(coord(g, 1).sum(), x, create_graph=True)[0], 1)
        q = common.helmholtz_source(coord(x, 0), coord(x, 1), sin=torch.sin)
        return u_xx + u_yy + common.HELMHOLTZ["k"] ** 2 * u - q

    def loss_fn():
        total = torch.mean(pde_residual(data["pde"]) ** 2)
        for term in ("ic", "bc"):
            if term in data:
                total = total + torch.mean((net(data[term]) - data[term + "_y"]) ** 2)
        return total

    optimizer = torch.optim.Adam(params, lr=1e-3)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        optimizer.step()
        return loss

    with torch.no_grad() if mode == "forward" else torch.enable_grad():
        initial = float(loss_fn().detach())
    return step, initial


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_common_arguments(parser)
    parser.add_argument("--layout", default="pf", choices=["fp", "pf"])
    parser.add_argument("--mode", default="reverse", choices=["reverse", "forward"])
    parser.add_argument("--compile", action="store_true", help="torch.compile the network")
    args = parser.parse_args(argv)

    threads = common.set_torch_threads(args.threads)
    import torch

    spec = common.problem(args.problem, args.n_pde, args.width)
    step, initial = build(spec, args.layout, args.mode, args.compile)
    loss = None

    def run(n):
        nonlocal loss
        for _ in range(n):
            loss = step()

    result = common.Timer(args.windows, args.seconds, args.steps).measure(run)
    mode = "reverse (autograd.grad, create_graph)" if args.mode == "reverse" else "forward (nested torch.func.jvp)"
    result.update(
        implementation="handwritten",
        framework="torch",
        backend="torch",
        problem=args.problem,
        n_pde=spec["n_pde"],
        width=spec["widths"][0],
        variant=f"layout={args.layout}, {mode}, " + ("torch.compile(net)" if args.compile else "eager"),
        loop="python",
        initial_loss=initial,
        loss=float(loss.detach()),
        versions={"torch": torch.__version__},
        torch_threads=threads,
    )
    common.report(result, args.json)


if __name__ == "__main__":
    main()
