"""Reference problems with exact or reference solutions computed locally."""

from keras_pinn.problems.problems import (
    PROBLEMS,
    BuckleyLeverettResidual,
    BurgersResidual,
    HeatResidual,
    HelmholtzResidual,
    Problem,
    buckley_leverett,
    burgers,
    heat,
    heat_units,
    helmholtz,
)
from keras_pinn.problems.reference import (
    buckley_leverett_flux,
    buckley_leverett_shock,
    buckley_leverett_solution,
    burgers_solution,
    heat_solution,
    helmholtz_solution,
    relative_l2_error,
)

__all__ = [
    "PROBLEMS",
    "BuckleyLeverettResidual",
    "BurgersResidual",
    "HeatResidual",
    "HelmholtzResidual",
    "Problem",
    "buckley_leverett",
    "buckley_leverett_flux",
    "buckley_leverett_shock",
    "buckley_leverett_solution",
    "burgers",
    "burgers_solution",
    "heat",
    "heat_solution",
    "heat_units",
    "helmholtz",
    "helmholtz_solution",
    "relative_l2_error",
]
