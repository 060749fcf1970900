"""Dask worker preload of tests/study/test_study_engine.py (``dask worker
--preload tests/study/study_engine_preload.py``): makes the run named by
``KERAS_PINN_TEST_FAILING_RUN`` raise inside the worker, and the one named by
``KERAS_PINN_TEST_DYING_RUN`` end its worker process, so the test sees how
the engine handles both on a real cluster."""

import os

from keras_pinn.study import runner

# Dask may import a preload file more than once: wrap the original only.
_real_run_one = getattr(runner, "_unpatched_run_one", runner.run_one)
runner._unpatched_run_one = _real_run_one


def _run_one(spec, budget, arrays_dir=None, bar=None):
    if spec.run_id == os.environ.get("KERAS_PINN_TEST_FAILING_RUN"):
        raise RuntimeError(f"injected failure of {spec.run_id} in worker {os.getpid()}")
    if spec.run_id == os.environ.get("KERAS_PINN_TEST_DYING_RUN"):
        os._exit(3)  # as if killed: no exception, no clean-up
    return _real_run_one(spec, budget, arrays_dir, bar)


runner.run_one = _run_one
