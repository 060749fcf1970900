"""Proposed changes to keras_pinn/model.py and keras_pinn/backend/, applied as
monkeypatches so the benchmarks can measure them before they are merged.

Each patch is the runtime form of a diff given in docs/performance.md (a
fourth, ``jax_towers``, derivative towers under jit, is now in the library:
``keras_pinn/backend/jax_backend.py``):

* ``compile``: ``PINNModel.compile`` defaults ``jit_compile`` to True on
  TensorFlow when every layer supports XLA (Keras's ``"auto"`` turns XLA off
  on CPU-only TensorFlow; JAX always compiles), and accepts
  ``steps_per_execution > 1`` on PyTorch, where Keras refuses it, by running
  one step per execution there. So ``model.compile(optimizer,
  steps_per_execution=32)``, which amortises Keras's per-step Python work
  on JAX and TensorFlow, is the same user code on every backend. The
  default stays 1: with more, per-batch callbacks (``StopOnNonFinite``) see
  every 32nd step only.
* ``jax_fused``: on JAX, with ``steps_per_execution = n > 1``, runs the n
  steps of an execution inside one jitted ``lax.fori_loop`` (Keras's JAX
  trainer calls its jitted step n times from Python). A PINN's batch is the
  same at every step of an epoch, so the loop reuses it; XLA then allocates
  the step's temporaries once per execution instead of once per step, which
  is what made hand-written fused loops up to 1.75x faster on 10,000 points
  (large temporaries come from fresh ``mmap``-ed pages at every call).
* ``tf_direct``: on TensorFlow, ``fit`` calls the compiled (XLA) train step
  directly from Python, one call per step, instead of from Keras's outer
  ``tf.function`` over the dataset iterator. Measured slower than without
  it on all three problems on 2026-11-29 (docs/performance.md), so it is
  withdrawn; kept here so that run can be reproduced.
* ``fast``: all of them.
* ``stepwise_feed``: not a proposal but the opposite, to measure an applied
  change: ``fit`` feeds the points step by step through a ``PyDataset`` on
  every backend, as before 2026-11-29 (on TensorFlow ``fit`` now feeds
  fixed points as tensors made once, ``backend.fixed_point_dataset``).

Usage: ``patches.apply("fast")`` before building the model (keras_pinn_bench.py
``--patch fast``), or as a pytest plugin to run the test suite with them::

    KERAS_BACKEND=jax KERAS_PINN_PATCH=fast python -m pytest -p benchmarks.patches tests -q
"""

from __future__ import annotations

import os

PATCHES = ("compile", "jax_fused", "tf_direct", "fast", "stepwise_feed")


def _fused_train_function(model):
    """Keras's JAX ``iterator_step(state, iterator)``, with the execution's
    steps in one jitted ``lax.fori_loop`` on the first batch (the PINN's
    point sets, identical at every step of an epoch)."""
    import jax

    spe = model.steps_per_execution

    def multi(state, data, n):
        logs, state = model.train_step(state, data)

        def body(_, carry):
            return model.train_step(carry[1], data)

        return jax.lax.fori_loop(1, n, body, (logs, state))

    compiled = jax.jit(multi, donate_argnums=0)

    def iterator_step(state, iterator):
        data, n = next(iterator), 1
        for _ in range(spe - 1):
            try:
                next(iterator)
            except StopIteration:
                break
            n += 1
        return compiled(state, data, n)

    return iterator_step


def _tf_direct_train_function(model):
    """``function(iterator)`` for Keras's TensorFlow fit loop: pulls each
    batch in Python and calls the compiled step on it."""
    import tensorflow as tf

    step = tf.function(model.train_step, jit_compile=model.jit_compile, reduce_retracing=True)

    def function(iterator):
        outputs = None
        for _ in range(model.steps_per_execution):
            try:
                data = next(iterator)
            except (StopIteration, tf.errors.OutOfRangeError):
                break
            outputs = step(data)
        if outputs is None:
            raise StopIteration
        return outputs

    return function


def apply(name: str = "fast"):
    """Applies patch ``name`` (one of :data:`PATCHES`) in this process."""
    if name not in PATCHES:
        raise ValueError(f"Unknown patch {name!r}: expected one of {PATCHES}")
    import keras

    from keras_pinn.model import PINNModel

    backend = keras.backend.backend()
    if name == "stepwise_feed":
        import keras_pinn.backend

        keras_pinn.backend.fixed_point_dataset = lambda batch, steps: None
    if name in ("jax_fused", "fast") and backend == "jax" and not getattr(PINNModel.make_train_function, "_patched", False):
        make = PINNModel.make_train_function

        def make_train_function(self, force=False):
            if self.train_function is not None and not force:
                return self.train_function
            if self.steps_per_execution > 1 and self.jit_compile and not self.run_eagerly:
                self.train_function = _fused_train_function(self)
                return self.train_function
            return make(self, force)

        make_train_function._patched = True
        PINNModel.make_train_function = make_train_function
    if name in ("tf_direct", "fast") and backend == "tensorflow" and not getattr(
        PINNModel.make_train_function, "_patched", False
    ):
        make_tf = PINNModel.make_train_function

        def make_train_function(self, force=False):
            if self.train_function is not None and not force:
                return self.train_function
            if self.run_eagerly or self.distribute_strategy.num_replicas_in_sync > 1:
                return make_tf(self, force)
            self.train_function = _tf_direct_train_function(self)
            return self.train_function

        make_train_function._patched = True
        PINNModel.make_train_function = make_train_function
    if name in ("compile", "fast") and not getattr(PINNModel.compile, "_patched", False):
        original = PINNModel.compile

        def compile(self, optimizer="adam", **kwargs):
            if backend == "tensorflow" and "jit_compile" not in kwargs:
                kwargs["jit_compile"] = _supports_xla(self.network)
            if backend == "torch" and kwargs.get("steps_per_execution", 1) > 1:
                kwargs["steps_per_execution"] = 1
            return original(self, optimizer=optimizer, **kwargs)

        compile._patched = True
        compile.__doc__ = original.__doc__
        PINNModel.compile = compile


def _supports_xla(network) -> bool:
    """False when a layer declares ``supports_jit = False`` or is a
    VectorQuantizer (whose codebook update has no XLA gradient on
    TensorFlow: the proposed diff sets ``supports_jit = False`` on it)."""
    from keras_pinn.model import _all_layers

    return all(
        getattr(layer, "supports_jit", True) and type(layer).__name__ != "VectorQuantizer"
        for layer in _all_layers(network)
    )


def pytest_configure(config):  # pragma: no cover - used as a pytest plugin
    apply(os.environ.get("KERAS_PINN_PATCH", "fast"))
