"""TensorFlow: nested reverse mode on persistent ``GradientTape``s, one per order."""

import contextlib

import tensorflow as tf

from keras_pinn.backend._common import ReverseModeCache, _merge, watch_point_mixing

DERIVATIVE_MODE = "reverse (nested tf.GradientTape)"
MAX_STEPS_PER_EXECUTION = None
#: PINNModel.compile's jit_compile for "auto": XLA, also on a CPU-only machine
#: (Keras's "auto" leaves it off there; a PINN step compiles in seconds and runs faster).
DEFAULT_JIT_COMPILE = True
#: Whether PINNModel.fit switches to compiled steps for long runs (it compiles from the start here).
COMPILE_LONG_FITS = False


def enable_grad():
    return contextlib.nullcontext()


#: Derivative orders computed by tapes that are not recording themselves
#: (orders above this re-enter the last tape, the one case where TensorFlow
#: logs its "persistent tape inside its context" warning).
TAPE_ORDERS = 4


class InputDerivatives(ReverseModeCache):
    """Derivatives of ``fn(x)`` with respect to ``x`` on TensorFlow.

    One persistent ``GradientTape`` per derivative order, all recording the
    forward pass (nested, as ``tf.GradientTape``'s higher-order recipe):
    the order-``k + 1`` derivatives are taken by tape ``k`` while only the
    tapes above it record, so each result can be differentiated again by
    the next tape, and with respect to the weights by Keras's outer tape.
    No tape computes a gradient inside its own context (which TensorFlow
    warns about) up to order :data:`TAPE_ORDERS`; beyond it the last tape
    is re-entered for every further order.

    When the forward pass mixes points (a GridConv), each derivative is the
    Jacobian-vector product ``J e_j`` (see :class:`ReverseModeCache`): the
    order tape's gradient ``J^T w`` along a zero cotangent ``w``, then the
    gradient of its column ``j`` with respect to ``w`` by one more tape.
    """

    def __init__(self, fn, x):
        self.x = x
        self._tapes = [tf.GradientTape(persistent=True) for _ in range(TAPE_ORDERS + 1)]
        with self._recording(0), watch_point_mixing() as mixing:
            for tape in self._tapes:
                tape.watch(x)
            outputs = fn(x)
        super().__init__(outputs, x.shape[-1], mixes_points=mixing.mixed)

    def _recording(self, order):
        """The contexts of the tapes that must record a derivative of
        ``order`` (0: the outputs): those that will differentiate it."""
        stack = contextlib.ExitStack()
        for tape in reversed(self._tapes[min(order, TAPE_ORDERS) :]):
            stack.enter_context(tape)
        return stack

    def partial(self, component, index):
        key = (component, index)
        if key in self._cache:
            return self._cache[key]
        if not index:
            with self._recording(0):
                value = self.outputs[:, component : component + 1]
            self._cache[key] = value
            return value
        parent_index = index[:-1]
        parent = self.partial(component, parent_index)
        order = len(index)
        tape = self._tapes[min(order - 1, TAPE_ORDERS)]
        with self._recording(order):
            if self.mixes_points:
                columns = self._jvp_columns(tape, parent)
            else:
                grad = tape.gradient(
                    parent,
                    self.x,
                    output_gradients=tf.ones_like(parent),
                    unconnected_gradients=tf.UnconnectedGradients.ZERO,
                )
                columns = [grad[:, j : j + 1] for j in range(self._n_inputs)]
        self.passes += 1
        for j, column in enumerate(columns):
            self._cache.setdefault((component, _merge(parent_index, j)), column)
        return self._cache[key]

    def _jvp_columns(self, tape, parent):
        """``J e_j`` for every input column ``j``, ``J`` the Jacobian of
        ``parent`` with respect to all the points: the gradient of the VJP
        ``J^T w`` (linear in the cotangent ``w``) with respect to ``w``."""
        w = tf.zeros_like(parent)
        with tf.GradientTape(persistent=True) as w_tape:
            w_tape.watch(w)
            vjp = tape.gradient(parent, self.x, output_gradients=w, unconnected_gradients=tf.UnconnectedGradients.ZERO)
            parts = [vjp[:, j] for j in range(self._n_inputs)]  # (J^T w) along e_j
        return [
            w_tape.gradient(
                part, w, output_gradients=tf.ones_like(part), unconnected_gradients=tf.UnconnectedGradients.ZERO
            )
            for part in parts
        ]


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
        grads = tape.gradient(value, [v.value for v in variables], unconnected_gradients=tf.UnconnectedGradients.ZERO)
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


def fixed_point_dataset(read, steps):
    """A ``tf.data`` pipeline yielding ``(batch,)`` ``steps`` times per
    epoch, where ``batch = read()`` is the model's point sets as tensors,
    read once at each epoch's start (one Python call per epoch): points set
    during ``fit`` (``model.set_points``, e.g. by a callback at an epoch's
    end) are fed from the next epoch on, their number of points included
    (the first axis is left unknown). Keras's TensorFlow trainer pulls a
    ``PyDataset``'s batches through a Python generator at every step, which
    cost about as much as a small PINN's whole step (on Burgers with 16
    points, 0.55 ms of CPU a step against 0.32 ms with this feed)."""
    import tensorflow as tf

    template = read()
    specs = tf.nest.map_structure(lambda t: tf.TensorSpec((None,) + tuple(t.shape[1:]), tf.as_dtype(t.dtype)), template)
    flat_specs = tf.nest.flatten(specs)

    def current():
        batch = read()
        try:
            tf.nest.assert_same_structure(batch, template)
        except (TypeError, ValueError) as error:
            raise ValueError(
                "The point sets changed their entries during fit (terms or arrays added or removed); "
                f"only their points may change. Error: {error}"
            ) from error
        return tf.nest.flatten(batch)

    def epoch(_):
        tensors = tf.py_function(current, [], Tout=[s.dtype for s in flat_specs])
        for tensor, spec in zip(tensors, flat_specs):
            tensor.set_shape(spec.shape)
        batch = tf.nest.pack_sequence_as(specs, tensors)
        return tf.data.Dataset.from_tensors((batch,)).repeat(steps)

    # flat_map leaves the number of steps unknown to Keras, which would then
    # run off the end of every epoch: state it.
    return tf.data.Dataset.from_tensors(0).flat_map(epoch).apply(tf.data.experimental.assert_cardinality(steps))
