"""The source article's study: each of its four ideas against its baseline,
on the same problems, budgets and seeds, on every backend.

Run it as ``keras-pinn study`` or ``python -m keras_pinn.study`` (see
``docs/study.md``), or from Python::

    from keras_pinn.study import make_options, run_study

    options = make_options(ideas="1,2", problems="burgers", seeds=2, steps=500, out="my-report")
    results = run_study(options)                  # on a local Dask cluster (docs/study-engine.md)
    results = run_study(options, in_process=True)  # or here, on the current backend

Modules: :mod:`~keras_pinn.study.config` (ideas, variants, budgets, plan; no
Keras), :mod:`~keras_pinn.study.variants` (network builders),
:mod:`~keras_pinn.study.runner` (one run; a backend's runs),
:mod:`~keras_pinn.study.report` (statistics, verdicts, figures, report),
:mod:`~keras_pinn.study.engine` (resumable execution on Dask),
:mod:`~keras_pinn.study.worker` (one run on a worker) and
:mod:`~keras_pinn.study.cli` (arguments). Importing this
package imports no Keras backend.
"""

from keras_pinn.study.cli import main, run_study
from keras_pinn.study.config import BUDGETS, IDEAS, VARIANTS, Budget, StudyOptions, make_options

__all__ = ["BUDGETS", "IDEAS", "VARIANTS", "Budget", "StudyOptions", "main", "make_options", "run_study"]
