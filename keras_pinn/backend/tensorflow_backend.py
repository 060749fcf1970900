"""TensorFlow: nested reverse mode on one persistent ``GradientTape``."""

import contextlib

import tensorflow as tf

from keras_pinn.backend._common import ReverseModeCache

DERIVATIVE_MODE = "reverse (nested tf.GradientTape)"
MAX_STEPS_PER_EXECUTION = None


def enable_grad():
    return contextlib.nullcontext()


class InputDerivatives(ReverseModeCache):
    """Derivatives of ``fn(x)`` with respect to ``x`` on TensorFlow.

    The tape is persistent and re-entered for every request, so each gradient
    is itself recorded and can be differentiated again (higher orders) and
    with respect to the weights by Keras's outer tape.
    """

    def __init__(self, fn, x):
        self.x = x
        self._recording = False
        self._tape = tf.GradientTape(persistent=True)
        with self._tape:
            self._tape.watch(x)
            outputs = fn(x)
        super().__init__(outputs, x.shape[-1])

    def _grad(self, target):
        return self._tape.gradient(
            tf.reduce_sum(target),
            self.x,
            unconnected_gradients=tf.UnconnectedGradients.ZERO,
        )

    def partial(self, component, index):
        # Every op, slices and sums included, must be recorded on the tape
        # for the next order to see it: re-enter it around the whole request.
        if self._recording:
            return super().partial(component, index)
        self._recording = True
        try:
            with self._tape:
                return super().partial(component, index)
        finally:
            self._recording = False


def value_and_grad(fn, variables, others=(), jit_compile=False):
    """``g(values, other_values, *args) -> (value, aux, grads)``: assigns
    ``values`` to ``variables`` and ``other_values`` to ``others``, then
    evaluates ``fn(*args) -> (value, aux)`` and the gradient of ``value``
    with respect to ``variables`` in one ``tf.function``, compiled with XLA
    when ``jit_compile`` is true."""
    variables, others = list(variables), list(others)

    @tf.function(reduce_retracing=True, jit_compile=bool(jit_compile))
    def compiled(*args):
        with tf.GradientTape() as tape:
            value, aux = fn(*args)
        # The tf.Variables under Keras's variables: for an unconnected one,
        # tape.gradient builds zeros from its (TensorFlow) dtype.
        grads = tape.gradient(
            value, [v.value for v in variables], unconnected_gradients=tf.UnconnectedGradients.ZERO
        )
        return value, aux, grads

    def call(values, other_values, *args):
        for v, value in zip(variables, values):
            v.assign(value)
        for v, value in zip(others, other_values):
            v.assign(value)
        value, aux, grads = compiled(*args)
        return value, aux, list(grads)

    return call


def enable_float64(enable: bool = True):
    """Nothing to do: float64 follows Keras's floatx."""


def native_activation(fn):
    """Keras's activations keep float64 here: ``fn`` unchanged."""
    return fn


def fixed_point_dataset(batch, steps):
    """A ``tf.data`` pipeline yielding ``(batch,)`` ``steps`` times from
    tensors made once. Keras's TensorFlow trainer pulls a ``PyDataset``'s
    batches through a Python generator at every step, which cost about as
    much as a small PINN's whole step (on Burgers with 16 points, 0.55 ms
    of CPU a step against 0.32 ms with this feed)."""
    import tensorflow as tf

    return tf.data.Dataset.from_tensors((batch,)).repeat(steps)
