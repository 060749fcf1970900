"""JAX: nested forward mode (``jax.jvp``).

Each request ``D_{i1..ik} u`` is k nested jvps along unit tangents; the outer
jvp returns the prefix derivative as its primal, which is cached too, so
``u_xx`` also yields ``u_x``. One jvp gives all output components at once.

Under ``jax.jit`` (training), a request for ``u`` or for a derivative along
a single input ``j`` computes the whole *tower* ``u, D_j u, ..., D_j^k u``
(``k`` at least 2) in one nested jvp and caches every level: XLA removes the
levels the residual does not use, and the derivatives the residual does use
share one forward and one backward pass, as in hand-written JAX (asking for
``u_x`` before ``u_xx``, or ``u`` apart from its derivatives, otherwise
costs extra passes).

A jvp along ``e_j`` on every row is by itself the derivative all engines
compute, ``D_j u_i = sum_k du_i/dx_kj`` (see ``_common.ReverseModeCache``),
whether or not the network mixes points.
"""

import contextlib

import jax
import jax.numpy as jnp

from keras_pinn.backend._common import watch_point_mixing

DERIVATIVE_MODE = "forward (nested jax.jvp)"
MAX_STEPS_PER_EXECUTION = None
#: PINNModel.compile's jit_compile for "auto": Keras's own choice (jax.jit).
DEFAULT_JIT_COMPILE = "auto"
#: Whether PINNModel.fit switches to compiled steps for long runs (it compiles from the start here).
COMPILE_LONG_FITS = False


def enable_grad():
    return contextlib.nullcontext()


class InputDerivatives:
    """Derivatives of ``fn(x)`` with respect to ``x`` on JAX."""

    def __init__(self, fn, x):
        self.x = x
        self._fn = fn
        self._n_inputs = x.shape[-1]
        self._fns = {(): fn}
        with watch_point_mixing() as mixing:
            self.outputs = fn(x)  # under jit, unused when a tower gives u (XLA drops it)
        self.mixes_points = mixing.mixed  # informative here: forward mode needs no other path
        self._towers = isinstance(x, jax.core.Tracer)
        self._cache = {} if self._towers else {(): self.outputs}
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

    def _tower(self, j, order):
        """Caches ``(u, D_j u, ..., D_j^order u)``, from ``order`` nested
        jvps along ``e_j`` (each level's primal outputs are the previous
        level's values)."""
        e = self._tangent(j)

        def lift(h):
            def lifted(z):
                values, tangents = jax.jvp(h, (z,), (e,))
                return values + (tangents[-1],)

            return lifted

        def h(z):
            return (self._fn(z),)

        for _ in range(order):
            h = lift(h)
        self.passes += order
        for m, value in enumerate(h(self.x)):
            self._cache.setdefault((j,) * m, value)

    def _full(self, index):
        if index not in self._cache and self._towers and len(set(index)) <= 1:
            self._tower(index[0] if index else 0, max(len(index), 2))
        if index not in self._cache:
            parent = self._function(index[:-1])
            primal, tangent = jax.jvp(parent, (self.x,), (self._tangent(index[-1]),))
            self.passes += 1
            self._cache.setdefault(index[:-1], primal)
            self._cache[index] = tangent
        return self._cache[index]

    def partial(self, component, index):
        return self._full(index)[:, component : component + 1]


def value_and_grad(fn, variables, others=(), jit_compile=True):
    """``g(values, other_values, *args) -> (value, aux, grads)``: ``fn(*args)
    -> (value, aux)`` evaluated with ``variables`` holding ``values`` and
    ``others`` holding ``other_values``, and the gradient of ``value`` with
    respect to ``variables``; compiled with ``jax.jit`` once per argument
    shape, whatever ``jit_compile`` says (as Keras's JAX trainer always
    jits). Pure: no variable is assigned."""
    import keras

    variables, others = list(variables), list(others)

    def pure(values, other_values, *args):
        mapping = list(zip(variables, values)) + list(zip(others, other_values))
        with keras.StatelessScope(state_mapping=mapping):
            return fn(*args)

    compiled = jax.jit(jax.value_and_grad(pure, has_aux=True))

    def call(values, other_values, *args):
        (value, aux), grads = compiled(list(values), list(other_values), *args)
        return value, aux, list(grads)

    return call


def enable_float64(enable: bool = True):
    """JAX computes in float32 unless 64-bit mode is on."""
    jax.config.update("jax_enable_x64", bool(enable))


def native_activation(fn):
    """``jnp.tanh`` for Keras's tanh: Keras 3.15's ``ops.tanh`` computes a
    float64 input in float32 on JAX (its type promotion maps float64 to
    float32, keras-team/keras#23704); ``jnp.tanh`` keeps the input's dtype.
    Any other activation is returned unchanged."""
    import keras

    return jnp.tanh if fn is keras.activations.tanh else fn


def fixed_point_dataset(read, steps):
    """None: Keras's trainer here pulls ``PyDataset`` batches cheaply, so
    ``fit`` keeps feeding the model's points step by step."""
    return None
