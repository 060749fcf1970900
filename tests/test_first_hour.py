"""What a new user meets in the first hour (issue 23, issue 18 items 6 and 8):
the README's snippet saves and loads as printed, the save/load contract for
user functions, the "sin" activation, the submodules as attributes, every
registered object loadable after ``import keras_pinn``, no TensorFlow tape
warning, PDE parameters in History after fit, and torch.compile with input
autodiff. Every test runs on every backend."""

import os
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import ops

import keras_pinn as kp

ROOT = Path(__file__).resolve().parents[1]
BACKEND = keras.backend.backend()
DOMAIN = kp.SpaceTime(kp.Interval(-1.0, 1.0, "x"), 0.0, 1.0)


def run_python(code, cwd, timeout=600):
    """Runs ``code`` in a fresh interpreter on this backend, from ``cwd``
    with the worktree first on the path; returns the completed process."""
    env = dict(os.environ, KERAS_BACKEND=BACKEND, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-5000:]}"
    return proc


# -- 1. the README's snippet, saved and loaded as printed -----------------------
def readme_snippet() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## A PINN in a few lines") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def shrink(code: str) -> str:
    """The snippet with a short training run (the test's only change)."""
    for old, new in [
        ("epochs=20, steps_per_epoch=250", "epochs=1, steps_per_epoch=2"),
        ("n_collocation=10_000", "n_collocation=64"),
        ("n_points=512", "n_points=16"),
    ]:
        assert old in code, f"the README snippet no longer holds {old!r}: update this test"
        code = code.replace(old, new)
    return code


def test_readme_snippet_saves_and_loads_as_printed(tmp_path):
    code = readme_snippet()
    assert "@keras.saving.register_keras_serializable()" in code
    assert 'model.save("burgers.keras")' in code and 'keras.saving.load_model("burgers.keras")' in code
    # As printed (fewer steps), then the loaded copy must predict the same.
    run_python(
        shrink(code)
        + "\nnp.save('u.npy', u)\n"
        + "np.testing.assert_allclose(same.predict(domain.grid((256, 100)), verbose=0), u, rtol=1e-6, atol=1e-6)\n",
        tmp_path,
    )
    assert (tmp_path / "burgers.keras").exists()
    # In a new process, as the README says: define the registered functions
    # (the snippet's lines before the network), then load_model.
    definitions = code[: code.index("net = ")]
    run_python(
        definitions
        + "model = keras.saving.load_model('burgers.keras')\n"
        + "assert isinstance(model, kp.PINNModel) and model.pde is burgers\n"
        + "u = np.load('u.npy')\n"
        + "np.testing.assert_allclose(model.predict(domain.grid((256, 100)), verbose=0), u, rtol=1e-6, atol=1e-6)\n"
        + "assert np.isfinite(model.evaluate(verbose=0)).all()\n",
        tmp_path,
    )


def test_predict_takes_the_points_in_one_batch():
    model = small_model()
    x = DOMAIN.grid((40, 10))
    calls = []
    model.make_predict_function()
    inner = model.predict_function
    model.predict_function = lambda *a, **k: (calls.append(1), inner(*a, **k))[1]
    u = model.predict(x, verbose=0)
    assert len(calls) == 1 and u.shape == (400, 1)
    np.testing.assert_allclose(model.predict(x, batch_size=32, verbose=0), u, rtol=1e-6, atol=1e-7)


# -- 1. the save/load contract ------------------------------------------------------
def heat_pde(d):  # not registered on purpose
    return d("u", "t") - 0.1 * d("u", "x", "x")


@keras.saving.register_keras_serializable(package="keras_pinn_tests_first_hour")
def registered_heat(d):
    return d("u", "t") - 0.1 * d("u", "x", "x")


@keras.saving.register_keras_serializable(package="keras_pinn_tests_first_hour")
def registered_initial(p):
    return -np.sin(np.pi * p[:, :1])


def small_model(pde=registered_heat, conditions=None, **kwargs):
    conditions = conditions or [kp.DirichletBC(0.0, n_points=8)]
    return kp.PINNModel(kp.layers.MLP([6], 1), DOMAIN, pde, conditions=conditions, n_collocation=16, seed=0, **kwargs)


@pytest.mark.parametrize(
    "make, match",
    [
        (
            lambda: small_model(heat_pde),
            r"Cannot save `pde`: the function 'heat_pde' is not registered.*custom_objects",
        ),
        (lambda: small_model(lambda d: d("u", "t")), r"Cannot save `pde`: it is a lambda"),
        (
            lambda: small_model(conditions=[kp.InitialCondition(lambda p: p[:, :1], n_points=8)]),
            r"Cannot save `value \(of InitialCondition 'ic'\)`: it is a lambda",
        ),
        (lambda: small_model(output_transform=lambda x, u: u), r"Cannot save `output_transform`: it is a lambda"),
    ],
    ids=["unregistered-pde", "lambda-pde", "lambda-target", "lambda-transform"],
)
def test_save_refuses_what_cannot_load(make, match, tmp_path):
    model = make()
    path = tmp_path / "m.keras"
    with pytest.raises(ValueError, match=match):
        model.save(path)
    assert not path.exists()  # refused before any file is written
    with pytest.raises(ValueError, match=match):
        keras.saving.serialize_keras_object(model)  # keras.saving.save_model goes through get_config


def test_registered_functions_round_trip_and_custom_objects_by_plain_name(tmp_path):
    model = small_model(conditions=[kp.InitialCondition(registered_initial, n_points=8)])
    path = tmp_path / "m.keras"
    model.save(path)
    pts = DOMAIN.sample_interior(10, seed=3)
    loaded = keras.saving.load_model(path)
    assert loaded.pde is registered_heat
    np.testing.assert_allclose(loaded.predict(pts, verbose=0), model.predict(pts, verbose=0), rtol=1e-6, atol=1e-7)
    # A process where the functions are not registered: custom_objects under
    # their plain names finds them; without them the error says what to do.
    registry = keras.saving.get_custom_objects()
    saved = {k: registry.pop(k) for k in list(registry) if k.startswith("keras_pinn_tests_first_hour>")}
    try:
        with pytest.raises(
            TypeError, match=r"Could not locate 'keras_pinn_tests_first_hour>registered_heat'.*custom_objects"
        ):
            keras.saving.load_model(path)
        loaded = keras.saving.load_model(
            path, custom_objects={"registered_heat": registered_heat, "registered_initial": registered_initial}
        )
    finally:
        registry.update(saved)
    assert loaded.pde is registered_heat
    np.testing.assert_allclose(
        ops.convert_to_numpy(loaded.residual(pts)), ops.convert_to_numpy(model.residual(pts)), rtol=1e-5, atol=1e-6
    )


# -- 2. activations -------------------------------------------------------------------
def test_sin_activation_is_registered_and_exact():
    assert kp.activations.get("sin") is kp.activations.sin
    assert keras.saving.get_registered_name(kp.activations.sin) == "keras_pinn>sin"
    x = np.array([[-1.0, 0.0, 0.5, 2.0]], dtype="float32")
    np.testing.assert_allclose(ops.convert_to_numpy(kp.activations.sin(x)), np.sin(x), rtol=1e-6, atol=1e-7)
    assert kp.activations.get("tanh") is keras.activations.tanh
    with pytest.raises(ValueError, match=r"Unknown `activation`.*'sin'.*Received: activation='sine'"):
        kp.activations.get("sine")


@pytest.mark.parametrize("fn", [np.sin, np.tanh], ids=["np.sin", "np.tanh"])
def test_numpy_activation_gets_a_helpful_error(fn):
    name = fn.__name__
    with pytest.raises(ValueError, match=rf"NumPy function.*keras\.ops\.{name}.*Received: activation=<ufunc '{name}'>"):
        kp.layers.MLP([4], 1, activation=fn)


def test_mlp_activation_sin_trains_with_taylor_mode(tmp_path):
    net = kp.layers.MLP([8, 8], 1, activation="sin")
    model = kp.PINNModel(
        net,
        DOMAIN,
        registered_heat,
        conditions=[kp.InitialCondition(registered_initial, n_points=8)],
        n_collocation=16,
        seed=0,
        derivative_method="taylor",
    )
    assert model.resolved_derivative_method == "taylor"
    # Taylor mode's derivatives of the sin network equal autodiff's
    x = ops.convert_to_tensor(model.point_sets()["pde"]["x"])
    taylor = kp.derivatives(net, x, input_names=("x", "t"), method="taylor")
    auto = kp.derivatives(net, x, input_names=("x", "t"), method="autodiff")
    for wrt in [("x",), ("x", "x"), ("t",), ("x", "x", "x", "x")]:
        np.testing.assert_allclose(
            ops.convert_to_numpy(taylor("u", *wrt)), ops.convert_to_numpy(auto("u", *wrt)), rtol=2e-4, atol=2e-5
        )
    model.compile(keras.optimizers.Adam(1e-2))
    losses = model.fit(epochs=1, steps_per_epoch=5, verbose=0).history["loss"]
    assert np.isfinite(losses).all()
    path = tmp_path / "sin.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.network.activation is kp.activations.sin
    pts = DOMAIN.sample_interior(5, seed=1)
    np.testing.assert_allclose(loaded.predict(pts, verbose=0), model.predict(pts, verbose=0), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    "activation", [kp.activations.sin, ops.sin, ops.tanh, "softplus"], ids=["kp.sin", "ops.sin", "ops.tanh", "softplus"]
)
def test_dense_activations_taylor_mode_covers(activation):
    net = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4, activation=activation), keras.layers.Dense(1)])
    assert kp.differentiation.taylor.supports(net)


# -- 3. submodules as attributes; 18.8: everything loads after `import keras_pinn` ---
def test_submodules_and_registry_after_import_keras_pinn_alone(tmp_path):
    model = kp.problems.heat().model(kp.layers.MLP([6], 1), n_collocation=16, n_condition=8, seed=0)
    model.compile()
    model.fit(epochs=1, verbose=0)
    model.save(tmp_path / "heat.keras")
    pts = kp.problems.heat().domain.sample_interior(8, seed=2)
    np.save(tmp_path / "pts.npy", pts)
    np.save(tmp_path / "u.npy", model.predict(pts, verbose=0))
    listing = "print(sorted(k for k in keras.saving.get_custom_objects() if k.startswith('keras_pinn>')))"
    fresh = run_python(
        textwrap.dedent(
            f"""
            import keras, numpy as np
            import keras_pinn as kp
            assert callable(kp.problems.heat) and callable(kp.lbfgs.fit_lbfgs)
            assert kp.problems.HeatResidual and kp.differentiation.taylor.supports and kp.activations.sin
            model = keras.saving.load_model("heat.keras")
            assert type(model.pde).__name__ == "HeatResidual"
            np.testing.assert_allclose(model.predict(np.load("pts.npy"), verbose=0), np.load("u.npy"),
                                       rtol=1e-6, atol=1e-7)
            {listing}
            """
        ),
        tmp_path,
    )
    every = run_python(
        textwrap.dedent(
            f"""
            import importlib, pkgutil
            import keras
            import keras_pinn
            for module in pkgutil.walk_packages(keras_pinn.__path__, "keras_pinn."):
                if not module.name.endswith("__main__"):
                    importlib.import_module(module.name)
            {listing}
            """
        ),
        tmp_path,
    )
    after_import = eval(fresh.stdout.strip().splitlines()[-1])
    in_package = eval(every.stdout.strip().splitlines()[-1])
    assert "keras_pinn>HeatResidual" in after_import and "keras_pinn>sin" in after_import
    missing = sorted(set(in_package) - set(after_import))
    assert not missing, f"registered only when their module is imported: {missing}"


# -- 5. no TensorFlow tape warning; History after fit --------------------------------
def test_autodiff_derivatives_log_no_tape_warning(tmp_path):
    code = textwrap.dedent(
        """
        import keras, numpy as np
        import keras_pinn as kp

        @keras.saving.register_keras_serializable(package="first_hour_tape")
        def wave(d):
            return d("u", "t", "t") - d("u", "x", "x") + d("u", "x", "t")

        domain = kp.SpaceTime(kp.Interval(-1.0, 1.0, "x"), 0.0, 1.0)
        model = kp.PINNModel(kp.layers.MLP([6], 1), domain, wave, conditions=[kp.DirichletBC(0.0, n_points=8)],
                             n_collocation=16, seed=0, derivative_method="autodiff")
        model.compile()
        model.fit(epochs=1, steps_per_epoch=2, verbose=0)
        model.save("wave.keras")
        loaded = keras.saving.load_model("wave.keras")
        print("residual", float(np.abs(keras.ops.convert_to_numpy(loaded.residual(domain.grid((4, 4))))).max()))
        """
    )
    proc = run_python(code, tmp_path)
    assert "residual" in proc.stdout
    assert "persistent tape inside its context" not in proc.stderr + proc.stdout


def test_autodiff_derivatives_exact_to_order_six():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.0, 1.0, (5, 2)).astype("float32")
    d = kp.derivatives(
        lambda z: ops.sin(z[:, :1]) * ops.exp(z[:, 1:2]),
        ops.convert_to_tensor(x),
        input_names=("x", "y"),
        method="autodiff",
    )
    s, c, e = np.sin(x[:, :1]), np.cos(x[:, :1]), np.exp(x[:, 1:2])
    expected = {
        ("x",): c * e,
        ("x", "x"): -s * e,
        ("x", "y"): c * e,
        ("y", "y", "y"): s * e,
        ("x", "x", "x", "x"): s * e,
        ("x", "x", "x", "x", "y"): s * e,
        ("x",) * 6: -s * e,
    }
    for wrt, want in expected.items():
        np.testing.assert_allclose(ops.convert_to_numpy(d("u", *wrt)), want, rtol=1e-4, atol=1e-5, err_msg=str(wrt))


def test_history_parameter_equals_variable_after_fit():
    @keras.saving.register_keras_serializable(package="keras_pinn_tests_first_hour")
    def diffusion(d):
        return d("u", "t") - d.params["nu"] * d("u", "x", "x")

    model = small_model(diffusion, parameters={"nu": 0.5})
    model.compile(keras.optimizers.Adam(0.05))
    history = model.fit(epochs=2, steps_per_epoch=3, verbose=0)
    nu = float(ops.convert_to_numpy(model.pde_parameters["nu"]))
    assert nu != 0.5
    assert history.history["nu"][-1] == pytest.approx(nu, rel=1e-6, abs=0)


# -- 6. / 18.6: the fast path with a network Taylor mode does not cover --------------------
@keras.saving.register_keras_serializable(package="keras_pinn_tests_first_hour")
class ScaledTanh(keras.layers.Layer):
    """A custom layer: ``tanh(x) * scale``, outside Taylor mode's rules."""

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="scale")

    def call(self, x):
        return ops.tanh(x) * self.scale


def custom_network():
    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(8), ScaledTanh(), keras.layers.Dense(1)])


def test_fast_path_with_a_custom_layer_trains_on_every_backend():
    model = kp.PINNModel(
        custom_network(),
        DOMAIN,
        registered_heat,
        conditions=[kp.DirichletBC(0.0, n_points=8)],
        n_collocation=16,
        seed=0,
    )
    assert model.resolved_derivative_method == "autodiff" and model.uses_input_autodiff
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.compile(keras.optimizers.Adam(1e-3), jit_compile=True, steps_per_execution=4)
    fallback = [w for w in caught if "jit_compile" in str(w.message)]
    if BACKEND == "torch":
        # torch.compile cannot compile the double backward: eager, said before the first step
        assert len(fallback) == 1
        message = str(fallback[0].message)
        assert "derivative_method='auto'" in message and "jit_compile=False" in message
        assert model.jit_compile is False
    else:
        assert not fallback
        assert model.jit_compile is True
    losses = model.fit(epochs=1, steps_per_epoch=4, verbose=0).history["loss"]
    assert np.isfinite(losses).all()


def test_taylor_networks_keep_the_compiled_path():
    model = small_model()
    assert model.resolved_derivative_method == "taylor" and not model.uses_input_autodiff
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.compile(jit_compile=True)
    assert model.jit_compile is True

    @keras.saving.register_keras_serializable(package="keras_pinn_tests_first_hour")
    def mixed(d):
        return d("u", "x", "t")

    # a mixed partial comes from autodiff even in Taylor mode
    assert small_model(mixed).uses_input_autodiff


# -- 4. the reference pages' examples run as printed --------------------------------
def test_reference_examples_run(tmp_path):
    blocks = []
    for page in sorted((ROOT / "docs" / "reference").glob("*.md")):
        for block in re.findall(r"```python\n(.*?)```", page.read_text(), re.S):
            blocks.append(f"exec(compile({block!r}, {str(page.name)!r}, 'exec'), {{}})\nprint('ran', {page.name!r})")
    assert len(blocks) >= 8
    proc = run_python("\n".join(blocks), tmp_path, timeout=600)
    assert proc.stdout.count("ran ") == len(blocks)


def test_model_checkpoint_refuses_before_training(tmp_path):
    model = small_model(heat_pde)
    model.compile()
    checkpoint = keras.callbacks.ModelCheckpoint(str(tmp_path / "m.keras"))
    with pytest.raises(ValueError, match=r"Cannot save `pde`: the function 'heat_pde' is not registered"):
        model.fit(epochs=1, verbose=0, callbacks=[checkpoint])
    assert int(ops.convert_to_numpy(model.optimizer.iterations)) == 0  # no step was taken
    weights_only = keras.callbacks.ModelCheckpoint(str(tmp_path / "m.weights.h5"), save_weights_only=True)
    model.fit(epochs=1, verbose=0, callbacks=[weights_only])
    assert (tmp_path / "m.weights.h5").exists()
