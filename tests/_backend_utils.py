"""Test-only helpers that need the backend framework itself: compiling a
function and taking gradients with respect to variables."""

import keras

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
