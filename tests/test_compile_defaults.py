"""PINNModel.compile's defaults: jit_compile="auto" and steps_per_execution
chosen at each fit (docs/performance.md, "Defaults")."""

import math

import keras
import pytest
from keras import ops

import keras_pinn as kp
from keras_pinn import model as model_module

BACKEND = keras.backend.backend()
GROUPS = BACKEND in ("jax", "tensorflow")  # Keras's PyTorch trainer runs one step per call
DOMAIN = kp.SpaceTime(kp.Interval(-1.0, 1.0, "x"), 0.0, 1.0)


@keras.saving.register_keras_serializable(package="test_compile_defaults")
def heat(d):
    return d("u", "t") - 0.1 * d("u", "x", "x")


def make(network=None, **kwargs):
    net = network or keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, "tanh"), keras.layers.Dense(1)])
    m = kp.PINNModel(net, DOMAIN, heat, conditions=[kp.DirichletBC(0.0, n_points=8)], n_collocation=16, seed=0)
    m.compile(keras.optimizers.Adam(1e-3), **kwargs)
    return m


def iterations(m):
    return int(ops.convert_to_numpy(m.optimizer.iterations))


class StepCounter(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batches = []

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append(batch)


def test_auto_jit_compile_per_backend():
    m = make()
    assert m.jit_compile is {"jax": True, "tensorflow": True, "torch": False}[BACKEND]
    assert make(jit_compile=False).jit_compile is False
    assert make(run_eagerly=True).jit_compile is False


def test_auto_jit_compile_respects_a_layer_without_jit():
    class NoJit(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_jit = False

        def call(self, x):
            return x

    net = keras.Sequential([keras.Input((2,)), NoJit(), keras.layers.Dense(1)])
    assert make(net).jit_compile is False  # Keras's own "auto" for a model with such a layer


@pytest.mark.parametrize(("steps", "group"), [(1, 1), (7, 7), (40, 20), (64, 32), (250, 25), (37, 1)])
def test_auto_steps_per_execution_divides_the_epoch_and_runs_exact_steps(steps, group):
    m = make()
    m.fit(epochs=2, steps_per_epoch=steps, verbose=0)
    assert m.steps_per_execution == (group if GROUPS else 1)
    assert iterations(m) == 2 * steps


def test_a_per_step_callback_sees_every_step():
    m = make()
    m.fit(epochs=1, steps_per_epoch=64, verbose=0)
    assert m.steps_per_execution == (32 if GROUPS else 1)
    counter = StepCounter()
    m.fit(epochs=1, steps_per_epoch=10, verbose=0, callbacks=[counter])
    assert m.steps_per_execution == 1 and counter.batches == list(range(10))
    m.fit(epochs=1, steps_per_epoch=64, verbose=0)  # grouped again without it
    assert m.steps_per_execution == (32 if GROUPS else 1) and iterations(m) == 138


def test_which_callbacks_act_per_step():
    acts = model_module._acts_per_step
    assert not acts(kp.callbacks.StopOnNonFinite(restore_last_finite=False))
    assert acts(kp.callbacks.StopOnNonFinite())
    assert not acts(keras.callbacks.TerminateOnNaN())
    assert not acts(keras.callbacks.ModelCheckpoint("m.weights.h5", save_weights_only=True))
    assert acts(keras.callbacks.ModelCheckpoint("m.weights.h5", save_weights_only=True, save_freq=5))
    assert not acts(keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr))
    assert acts(StepCounter())


def test_explicit_steps_per_execution_is_kept():
    m = make(steps_per_execution=4)
    m.fit(epochs=1, steps_per_epoch=10, verbose=0, callbacks=[StepCounter()])
    assert m.steps_per_execution == (4 if GROUPS else 1)
    assert "steps_per_execution" in m.get_compile_config()


def test_auto_steps_per_execution_survives_saving(tmp_path):
    m = make()
    m.fit(epochs=1, steps_per_epoch=64, verbose=0)
    assert "steps_per_execution" not in m.get_compile_config()
    path = str(tmp_path / "m.keras")
    m.save(path)
    loaded = keras.saving.load_model(path)
    loaded.fit(epochs=1, steps_per_epoch=7, verbose=0)
    assert loaded.steps_per_execution == (7 if GROUPS else 1)


def test_grouped_steps_name_their_range_when_the_loss_turns_non_finite():
    m = kp.PINNModel(
        keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, "tanh"), keras.layers.Dense(1)]),
        DOMAIN,
        lambda d: heat(d) + ops.log(d.params["a"]) + 5.0,
        conditions=[kp.DirichletBC(0.0, n_points=8)],
        parameters={"a": 1.0},
        n_collocation=16,
        seed=0,
    )
    m.compile(optimizer=keras.optimizers.SGD(0.5))  # drives `a` negative in the first step
    expected = r"in steps 0 to 3 \(epoch 0, batches 0 to 3; Keras ran 4 steps per call" if GROUPS else r"at step 1 "
    with pytest.warns(RuntimeWarning, match=expected):
        history = m.fit(epochs=2, steps_per_epoch=4, verbose=0)
    assert len(history.history["loss"]) == 1 and math.isnan(history.history["loss"][-1])


@pytest.mark.skipif(not kp.backend.COMPILE_LONG_FITS, reason="compiles long fits on PyTorch with a C++ compiler")
def test_a_long_fit_compiles_on_pytorch(monkeypatch):
    monkeypatch.setattr(model_module, "LONG_FIT_STEPS", 8)
    m = make()
    m.fit(epochs=1, steps_per_epoch=4, verbose=0)
    assert m.jit_compile is False  # short: eager
    m.fit(epochs=2, steps_per_epoch=4, verbose=0)
    assert m.jit_compile is True and iterations(m) == 12
    m.fit(epochs=1, steps_per_epoch=2, verbose=0)
    assert m.jit_compile is True and iterations(m) == 14  # stays compiled
    assert "jit_compile" not in m.get_compile_config()


def test_long_fits_stay_as_chosen(monkeypatch):
    monkeypatch.setattr(model_module, "LONG_FIT_STEPS", 8)
    m = make(jit_compile=False)
    m.fit(epochs=2, steps_per_epoch=4, verbose=0)
    assert m.jit_compile is False
    autodiff = kp.PINNModel(
        keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, "tanh"), keras.layers.Dense(1)]),
        DOMAIN,
        heat,
        conditions=[kp.DirichletBC(0.0, n_points=8)],
        n_collocation=16,
        seed=0,
        derivative_method="autodiff",
    )
    autodiff.compile(keras.optimizers.Adam(1e-3))
    autodiff.fit(epochs=2, steps_per_epoch=4, verbose=0)
    # Keras's own choice with input autodiff: jax.jit; no XLA on a CPU; no torch.compile of a double backward
    assert autodiff.jit_compile is (BACKEND == "jax")
