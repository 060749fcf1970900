"""PyTorch: reverse mode with ``torch.autograd.grad(create_graph=True)``.

Keras runs ``evaluate`` and ``predict`` under ``torch.no_grad()``; the engine
re-enables autograd locally so residuals can be evaluated there too.
"""

import os
import shutil

import keras
import torch

from keras_pinn.backend._common import ReverseModeCache, watch_point_mixing

DERIVATIVE_MODE = "reverse (torch.autograd.grad, create_graph=True)"
MAX_STEPS_PER_EXECUTION = 1  # Keras's PyTorch trainer refuses more
#: PINNModel.compile's jit_compile for "auto": Keras's own choice (eager; torch.compile
#: costs 10 to 25 s at the first step and needs a C++ compiler), until a long fit.
DEFAULT_JIT_COMPILE = "auto"


def _cpp_compiler_found() -> bool:
    return any(shutil.which(c) for c in (os.environ.get("CXX"), "g++", "c++", "clang++") if c)


#: Whether PINNModel.fit compiles a long run with torch.compile when compile() left
#: jit_compile at "auto" (torch.compile's CPU code generation needs a C++ compiler).
COMPILE_LONG_FITS = _cpp_compiler_found()


def enable_grad():
    return torch.enable_grad()


class InputDerivatives(ReverseModeCache):
    """Derivatives of ``fn(x)`` with respect to ``x`` on PyTorch.

    When the forward pass mixes points (a GridConv), each derivative is the
    Jacobian-vector product ``J e_j`` (see :class:`ReverseModeCache`): the
    gradient of the VJP ``J^T w`` with respect to the cotangent ``w``
    (``torch.autograd.functional.jvp``'s double-backward trick, kept
    differentiable).
    """

    def __init__(self, fn, x):
        with torch.enable_grad(), watch_point_mixing() as mixing:
            self.x = x.detach().requires_grad_(True)
            outputs = fn(self.x)
        super().__init__(outputs, x.shape[-1], mixes_points=mixing.mixed)

    def _grad(self, target):
        if not target.requires_grad:  # e.g. u_x of a linear map of x with frozen weights
            return torch.zeros_like(self.x)
        with torch.enable_grad():
            if self.mixes_points:
                return self._jvp_columns(target)
            (grad,) = torch.autograd.grad(target.sum(), self.x, create_graph=True, allow_unused=True)
        if grad is None:
            grad = torch.zeros_like(self.x)
        return grad

    def _jvp_columns(self, target):
        """``(N, d)``: column ``j`` is ``J e_j``, ``J`` the Jacobian of the
        ``(N, 1)`` ``target`` with respect to all the points."""
        w = torch.zeros_like(target, requires_grad=True)
        (vjp,) = torch.autograd.grad(target, self.x, grad_outputs=w, create_graph=True, allow_unused=True)
        columns = []
        for j in range(self._n_inputs):
            column = None
            if vjp is not None and vjp.requires_grad:
                (column,) = torch.autograd.grad(vjp[:, j].sum(), w, create_graph=True, allow_unused=True)
            columns.append(torch.zeros_like(target) if column is None else column)
        return torch.cat(columns, dim=1)

    def partial(self, component, index):
        with torch.enable_grad():
            return super().partial(component, index)


def value_and_grad(fn, variables, others=(), jit_compile=False):
    """``g(values, other_values, *args) -> (value, aux, grads)``: assigns
    ``values`` to ``variables`` and ``other_values`` to ``others``, then
    evaluates ``fn(*args) -> (value, aux)`` and the gradient of ``value``
    with respect to ``variables`` (eager autograd; ``jit_compile`` is
    ignored: ``torch.compile`` cannot compile the double backward that
    input derivatives need)."""
    variables, others = list(variables), list(others)

    def call(values, other_values, *args):
        with torch.no_grad():
            for v, value in zip(variables, values):
                v.assign(value)
            for v, value in zip(others, other_values):
                v.assign(value)
        with torch.enable_grad():
            value, aux = fn(*args)
            grads = torch.autograd.grad(value, [v.value for v in variables], allow_unused=True)
        grads = [torch.zeros_like(v.value) if g is None else g for v, g in zip(variables, grads)]
        value = value.detach()
        aux = keras.tree.map_structure(lambda t: t.detach() if isinstance(t, torch.Tensor) else t, aux)
        return value, aux, grads

    return call


def enable_float64(enable: bool = True):
    """Nothing to do: float64 follows Keras's floatx."""


def native_activation(fn):
    """Keras's activations keep float64 here: ``fn`` unchanged."""
    return fn


def fixed_point_dataset(read, steps):
    """None: Keras's trainer here pulls ``PyDataset`` batches cheaply, so
    ``fit`` keeps feeding the model's points step by step."""
    return None
