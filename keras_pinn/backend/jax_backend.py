"""JAX: nested forward mode (``jax.jvp``).

Each request ``D_{i1..ik} u`` is k nested jvps along unit tangents; the outer
jvp returns the prefix derivative as its primal, which is cached too, so
``u_xx`` also yields ``u_x``. One jvp gives all output components at once.
"""

import contextlib

import jax
import jax.numpy as jnp

DERIVATIVE_MODE = "forward (nested jax.jvp)"


def enable_grad():
    return contextlib.nullcontext()


class InputDerivatives:
    """Derivatives of ``fn(x)`` with respect to ``x`` on JAX."""

    def __init__(self, fn, x):
        self.x = x
        self._fn = fn
        self._n_inputs = x.shape[-1]
        self._fns = {(): fn}
        self.outputs = fn(x)
        self._cache = {(): self.outputs}
        self.passes = 0  # derivative passes run, for tests of the cache

    def _tangent(self, j):
        return jnp.zeros_like(self.x).at[:, j].set(1.0)

    def _function(self, index):
        if index not in self._fns:
            parent = self._function(index[:-1])
            tangent = self._tangent(index[-1])

            def f(x, parent=parent, tangent=tangent):
                return jax.jvp(parent, (x,), (tangent,))[1]

            self._fns[index] = f
        return self._fns[index]

    def _full(self, index):
        if index not in self._cache:
            parent = self._function(index[:-1])
            primal, tangent = jax.jvp(
                parent, (self.x,), (self._tangent(index[-1]),)
            )
            self.passes += 1
            self._cache.setdefault(index[:-1], primal)
            self._cache[index] = tangent
        return self._cache[index]

    def partial(self, component, index):
        return self._full(index)[:, component : component + 1]
