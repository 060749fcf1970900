"""PyTorch: reverse mode with ``torch.autograd.grad(create_graph=True)``.

Keras runs ``evaluate`` and ``predict`` under ``torch.no_grad()``; the engine
re-enables autograd locally so residuals can be evaluated there too.
"""

import torch

from keras_pinn.backend._common import ReverseModeCache

DERIVATIVE_MODE = "reverse (torch.autograd.grad, create_graph=True)"


def enable_grad():
    return torch.enable_grad()


class InputDerivatives(ReverseModeCache):
    """Derivatives of ``fn(x)`` with respect to ``x`` on PyTorch."""

    def __init__(self, fn, x):
        with torch.enable_grad():
            self.x = x.detach().requires_grad_(True)
            outputs = fn(self.x)
        super().__init__(outputs, x.shape[-1])

    def _grad(self, target):
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(
                target.sum(), self.x, create_graph=True, allow_unused=True
            )
        if grad is None:
            grad = torch.zeros_like(self.x)
        return grad

    def partial(self, component, index):
        with torch.enable_grad():
            return super().partial(component, index)
