"""``python -m keras_pinn.study``: the article's study (see
:mod:`keras_pinn.study.cli`)."""

import sys

from keras_pinn.study.cli import main

if __name__ == "__main__":
    sys.exit(main())
