"""Shared pytest set-up: the backend is fixed for the whole process by
``KERAS_BACKEND``; torch is imported before tensorflow (as Keras's own test
suite does) to avoid a known crash when both are loaded."""

import importlib.util

if importlib.util.find_spec("torch") is not None:
    import torch

    # The tests use tiny tensors: one thread avoids OpenMP oversubscription,
    # which made small training tests wait for minutes on a busy 2-core CPU.
    torch.set_num_threads(1)

import keras
import numpy as np
import pytest

BACKEND = keras.backend.backend()


def pytest_report_header(config):
    return f"keras {keras.__version__}, backend: {BACKEND}"


@pytest.fixture
def float64():
    """floatx, dtype policy (and JAX's 64-bit mode) set to float64 for one
    test, then restored."""
    import keras_pinn as kp

    previous, policy = keras.config.floatx(), keras.config.dtype_policy()
    kp.set_precision("float64")
    yield
    kp.set_precision(previous)
    keras.config.set_dtype_policy(policy)


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
    np.random.seed(1234)
    yield


def pytest_configure(config):
    config.addinivalue_line("markers", "requires_backend(*names): run only on these Keras backends")


def pytest_collection_modifyitems(config, items):
    for item in items:
        marker = item.get_closest_marker("requires_backend")
        if marker is not None and BACKEND not in marker.args:
            item.add_marker(pytest.mark.skip(reason=f"requires backend {marker.args}, running {BACKEND}"))
