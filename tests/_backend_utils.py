"""Test-only helpers shared by the test files: compiling a function and
taking gradients with respect to variables on the backend framework itself,
and recording each training step's logs and weights."""

import keras
import numpy as np

BACKEND = keras.backend.backend()


def compiled_variants(fn):
    """``[(label, compiled fn)]``: the ways Keras itself runs code on this
    backend (JAX jit; tf.function with and without XLA; PyTorch eager)."""
    if BACKEND == "jax":
        import jax

        return [("eager", fn), ("jit", jax.jit(fn))]
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return [
            ("eager", fn),
            ("tf.function", tf.function(fn)),
            ("tf.function+XLA", tf.function(fn, jit_compile=True)),
        ]
    return [("eager", fn)]


def grad_wrt_variable(loss_fn, variable):
    """d loss_fn() / d variable, as NumPy."""
    if BACKEND == "jax":
        import jax

        def f(value):
            with keras.StatelessScope(state_mapping=[(variable, value)]):
                return loss_fn()

        return keras.ops.convert_to_numpy(jax.grad(f)(variable.value))
    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = loss_fn()
        return tape.gradient(loss, variable.value).numpy()
    import torch

    variable.value.grad = None
    loss = loss_fn()
    (g,) = torch.autograd.grad(loss, variable.value)
    return g.detach().cpu().numpy()


class Recorder(keras.callbacks.Callback):
    """Per-batch logs, and host copies of the weights before and after each step."""

    def __init__(self):
        super().__init__()
        self.logs, self.before, self.after = [], [], []

    def on_train_begin(self, logs=None):
        self.initial = [np.array(w, copy=True) for w in self.model.get_weights()]

    def on_train_batch_begin(self, batch, logs=None):
        self.before.append([np.array(w, copy=True) for w in self.model.get_weights()])

    def on_train_batch_end(self, batch, logs=None):
        self.logs.append(dict(logs))
        self.after.append([np.array(w, copy=True) for w in self.model.get_weights()])


def assert_weights_equal(actual, expected):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        np.testing.assert_array_equal(a, e)
