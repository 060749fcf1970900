"""Network builders of the study's variants (see :data:`config.VARIANTS`).

Every builder takes the problem's domain, the PDE's order and the budget and
returns a :class:`Network`: the Keras model that maps ``(N, d)`` coordinates
to ``(N, 1)`` and, where the study needs them, handles on its inner parts
(the hidden layers for the t-SNE figure, the VectorQuantizer for the code
map). Seeding is the caller's job (``keras.utils.set_random_seed``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np
from keras import ops

from keras_pinn.domains import sample_unit_cube
from keras_pinn.layers import (
    DomainScaler,
    GridConv,
    LearnableNormalization,
    ParallelPowerBlock,
    PowReLU,
    RankineHugoniotQuantizer,
    VectorQuantizer,
)
from keras_pinn.study.config import VARIANTS, Budget

__all__ = ["BUILDERS", "HARD_CONSTRAINT_PROBLEMS", "Network", "build_network", "grid_shape_of", "hard_constraint"]

_INIT = "glorot_normal"  # as in the article's code


@dataclass
class Network:
    """A built network and handles on its parts.

    Attributes:
        model: maps ``(N, d)`` coordinates to ``(N, 1)``.
        hidden: maps coordinates to the list of hidden representations (one
            per hidden layer, equal widths), or None.
        quantizer: the VectorQuantizer, or None.
        quantizer_input: maps coordinates to the quantiser's inputs, or None.
        grid_shape: the grid a grid-bound network (GridConv) works on, or None.
        info: facts for the results (e.g. grid shape, powers).
        setup: None, or ``setup(problem) -> list of callbacks``: connects
            the network to the problem before training (e.g. a schedule of
            the residual's diffusion) and returns the callbacks of ``fit``.
    """

    model: keras.Model
    hidden: keras.Model | None = None
    quantizer: keras.Layer | None = None
    quantizer_input: keras.Model | None = None
    grid_shape: tuple[int, ...] | None = None
    info: dict = field(default_factory=dict)
    setup: Callable | None = None

    def code_indices(self, points: np.ndarray) -> np.ndarray | None:
        """The VectorQuantizer's code index at each point, or None."""
        if self.quantizer is None:
            return None
        if isinstance(self.quantizer, RankineHugoniotQuantizer):
            return np.asarray(keras.ops.convert_to_numpy(self.quantizer.code_indices(points))).astype("int32")
        if self.quantizer_input is None:
            return None
        z = self.quantizer.project(self.quantizer_input(points))
        _, _, indices = self.quantizer.quantize_embedding(z)
        return np.asarray(keras.ops.convert_to_numpy(indices)).astype("int32")

    def hidden_values(self, points: np.ndarray) -> list[np.ndarray] | None:
        """The hidden layers' representations of ``points``, or None."""
        if self.hidden is None:
            return None
        values = self.hidden(points)
        return [np.asarray(keras.ops.convert_to_numpy(v)) for v in values]


def _dense(units: int, activation=None, use_bias: bool = True, name: str | None = None) -> keras.layers.Dense:
    return keras.layers.Dense(units, activation=activation, use_bias=use_bias, kernel_initializer=_INIT, name=name)


def _activation_layer(activation, index: int) -> keras.Layer:
    if isinstance(activation, int):
        return PowReLU(activation, name=f"relu{activation}_{index}")
    return keras.layers.Activation(activation, name=f"{activation}_{index}")


def _mlp(
    domain,
    budget: Budget,
    *,
    scale: bool = True,
    activation: str | int = "tanh",
    norm: Callable[[int], keras.Layer] | None = None,
    residual: bool = False,
    quantize: bool = False,
    name: str = "mlp",
    soft: bool = False,
) -> Network:
    """A fully connected network.

    Args:
        domain: the problem's domain (bounds of the DomainScaler, input width).
        budget: width and depth (and the VectorQuantizer's size).
        scale: put a DomainScaler after the input.
        activation: a Keras activation name, or an int ``k`` for relu^k.
        norm: ``norm(i)`` makes the normalisation layer of hidden layer ``i``,
            placed between the Dense layer and its activation.
        residual: the article's snippet: ``u = Dense(u) + u`` after the first
            layer, and a last Dense without bias.
        quantize: put a VectorQuantizer (code concatenated to the inputs)
            before the hidden layers, as in the article's idea 4.
        name: model name.
        soft: a soft VectorQuantizer (``temperature=1``) instead of the
            straight-through one.
    """
    inputs = keras.Input((domain.dim,), name="coordinates")
    h = DomainScaler(domain, name="domain_scaler")(inputs) if scale else inputs
    network = Network(model=None)
    if quantize:
        network.quantizer_input = keras.Model(inputs, h, name="quantizer_input")
        network.quantizer = VectorQuantizer(
            budget.vq_codes,
            budget.vq_dim,
            concat_input=True,
            name="vq",
            temperature=ANNEAL_TEMPERATURES[0] if soft else None,
        )
        h = network.quantizer(h)
        network.info.update(vq_codes=budget.vq_codes, vq_dim=budget.vq_dim)
    hidden = []
    for i in range(budget.depth):
        if norm is None and isinstance(activation, str):
            z = _dense(budget.width, activation, name=f"dense_{i}")(h)
        else:
            z = _dense(budget.width, name=f"dense_{i}")(h)
            if norm is not None:
                z = norm(i)(z)
            z = _activation_layer(activation, i)(z)
        if residual and i > 0:
            z = keras.layers.Add(name=f"skip_{i}")([z, h])
        h = z
        hidden.append(h)
    outputs = _dense(1, use_bias=not residual, name="output")(h)
    network.model = keras.Model(inputs, outputs, name=name)
    network.hidden = keras.Model(inputs, hidden, name=f"{name}_hidden")
    return network


def _parallel_pow_relu(domain, order: int, budget: Budget, preserve_variance: bool = False) -> Network:
    inputs = keras.Input((domain.dim,), name="coordinates")
    scaler = DomainScaler(domain, name="domain_scaler")
    h = scaler(inputs)
    block = ParallelPowerBlock(units=budget.width, max_power=order + 1, n_layers=budget.depth, name="powers")
    h = block(h)
    outputs = _dense(1, name="output")(h)
    info: dict = {"max_power": order + 1}
    if preserve_variance:
        # 1024 interior points (fixed seed), scaled as the block sees them.
        sample = scaler(domain.sample_interior(1024, seed=0))
        block.preserve_variance(sample)
        info["init"] = "variance_preserving"
    spread = _branch_spread(block, scaler(domain.sample_interior(256, seed=1)))
    info["branch_output_std"] = spread
    name = "parallel_pow_relu_vp" if preserve_variance else "parallel_pow_relu"
    return Network(keras.Model(inputs, outputs, name=name), info=info)


def _branch_spread(block: ParallelPowerBlock, x) -> list[float]:
    """Standard deviation of each branch's output at initialisation."""
    out = np.asarray(keras.ops.convert_to_numpy(block(x)), dtype="float64")
    if block.combine != "concat":
        return [float(out.std())]
    return [float(out[:, k * block.units : (k + 1) * block.units].std()) for k in range(block.max_power)]


def grid_shape_of(domain, n_collocation: int) -> tuple[int, ...]:
    """The shape of the regular grid that ``sampler="grid"`` gives for
    ``n_collocation`` points in ``domain`` (per-dimension counts)."""
    unit = sample_unit_cube(n_collocation, domain.dim, method="grid")
    return tuple(int(np.unique(unit[:, j]).size) for j in range(domain.dim))


def _gridconv(domain, order: int, budget: Budget) -> Network:
    shape = grid_shape_of(domain, budget.n_collocation)
    conv = GridConv.default(shape, domain.dim, 1, filters=budget.width, depth=budget.depth)
    inputs = keras.Input((domain.dim,), name="coordinates")
    h = DomainScaler(domain, name="domain_scaler")(inputs)
    outputs = conv(h)
    return Network(keras.Model(inputs, outputs, name="gridconv"), grid_shape=shape, info={"grid_shape": list(shape)})


def _norm_factory(kind: str) -> Callable[[int], keras.Layer]:
    def make(i: int) -> keras.Layer:
        if kind == "batch":
            return keras.layers.BatchNormalization(name=f"batch_norm_{i}")
        if kind == "layer":
            return keras.layers.LayerNormalization(name=f"layer_norm_{i}")
        return LearnableNormalization(name=f"learnable_norm_{i}")

    return make


def _parallel_pow_relu_last(domain, order: int, budget: Budget) -> Network:
    """Parallel branches, ``k = 1 .. order + 1``, of ReLU layers whose *last*
    layer alone is raised to the power ``k`` (each branch a piecewise
    polynomial of degree ``k``, not ``k^depth``), concatenated."""
    inputs = keras.Input((domain.dim,), name="coordinates")
    h = DomainScaler(domain, name="domain_scaler")(inputs)
    branches = []
    for k in range(1, order + 2):
        z = h
        for i in range(budget.depth):
            z = _dense(budget.width, name=f"branch{k}_dense_{i}")(z)
            z = PowReLU(k if i == budget.depth - 1 else 1, name=f"branch{k}_relu_{i}")(z)
        branches.append(z)
    outputs = _dense(1, name="output")(keras.layers.Concatenate(name="concat")(branches))
    return Network(
        keras.Model(inputs, outputs, name="parallel_pow_relu_last"),
        info={"max_power": order + 1, "power": "last layer only"},
    )


RH_BOUNDARY_WIDTH = 0.05
"""``boundary_width`` of the RH-coupled quantiser's surrogate code gradient
(scaled units: 2.5 % of the domain's half width)."""


def _rh_vq(domain, order: int, budget: Budget, conservation: bool = False, code_noise: float = 0.02) -> Network:
    """The Rankine-Hugoniot-coupled two-code quantiser on Buckley-Leverett
    (M = 2): stop-gradient coordinates, two codes, RH and Oleinik penalties
    on the code boundary (:class:`RankineHugoniotQuantizer`); with
    ``conservation`` also the integral mass balance; ``code_noise=0``
    starts the boundary exactly at the corner (0, 0)."""
    inputs = keras.Input((domain.dim,), name="coordinates")
    layer = RankineHugoniotQuantizer(
        units=budget.width,
        depth=budget.depth,
        lower=[float(v) for v in domain.lower],
        upper=[float(v) for v in domain.upper],
        flux="buckley_leverett",
        m=2.0,
        name="rh_vq",
        conservation_weight=1.0 if conservation else 0.0,
        boundary_width=RH_BOUNDARY_WIDTH,
        code_noise=code_noise,
    )
    outputs = layer(inputs)
    network = Network(
        keras.Model(inputs, outputs, name="rh_vq"),
        quantizer=layer,
        info={"vq_codes": 2, "initial_shock_speed": float(keras.ops.convert_to_numpy(layer.shock_speed()))},
    )

    def setup(problem) -> list:
        return [_ShockSpeedLog(layer)]

    network.setup = setup
    return network


class _ShockSpeedLog(keras.callbacks.Callback):
    """Records the code boundary's speed and its position at t = 0 per epoch
    (``history`` entries ``shock_speed`` and ``shock_x0``)."""

    def __init__(self, layer: RankineHugoniotQuantizer):
        super().__init__()
        self.layer = layer

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        points, _ = self.layer.boundary_points()
        points = np.asarray(keras.ops.convert_to_numpy(points))
        speed = float(keras.ops.convert_to_numpy(self.layer.shock_speed()))
        logs["shock_speed"] = speed
        logs["shock_x0"] = float(points[0, 0] - speed * points[0, 1])


ANNEAL_TEMPERATURES = (1.0, 0.01)
"""Start and end temperature of the annealed soft quantiser."""

ANNEAL_FRACTION = 0.8
"""Fraction of the epochs over which the temperature falls (geometrically)
and the diffusion (linearly in log T) to zero; the rest is trained at the
end values."""


class AnnealSchedule(keras.callbacks.Callback):
    """Lowers a soft VectorQuantizer's temperature from ``T0`` to ``T1``
    geometrically over the first ``ANNEAL_FRACTION`` of the epochs, setting
    the variable at the start of each epoch (outside the compiled step).
    :meth:`diffusion_scale` is ``log(T / T1) / log(T0 / T1)``: 1 at the
    start, 0 once the temperature is down, read from the same variable."""

    def __init__(
        self,
        layer: VectorQuantizer,
        temperatures: tuple[float, float] = ANNEAL_TEMPERATURES,
        fraction: float = ANNEAL_FRACTION,
    ):
        super().__init__()
        self.layer = layer
        self.t0, self.t1 = (float(v) for v in temperatures)
        self.fraction = float(fraction)

    def temperature_at(self, epoch: int, epochs: int) -> float:
        """The temperature of epoch ``epoch`` (0-based) of ``epochs``."""
        span = max(1.0, self.fraction * (epochs - 1))
        progress = min(1.0, epoch / span)
        return self.t0 * (self.t1 / self.t0) ** progress

    def diffusion_scale(self):
        t = keras.ops.convert_to_tensor(self.layer.temperature)
        return keras.ops.log(t / self.t1) / float(np.log(self.t0 / self.t1))

    def on_epoch_begin(self, epoch, logs=None):
        self.layer.temperature.assign(self.temperature_at(epoch, int(self.params["epochs"])))


def _vq_soft(domain, order: int, budget: Budget) -> Network:
    """The article's VQ network with a soft quantiser annealed from T = 1 to
    0.01 while the problem's artificial diffusion falls to 0."""
    network = _mlp(domain, budget, quantize=True, name="vq_soft_anneal", soft=True)
    assert isinstance(network.quantizer, VectorQuantizer)
    schedule = AnnealSchedule(network.quantizer)

    def setup(problem) -> list:
        if getattr(problem.pde, "diffusion", 0.0) > 0:
            problem.pde.diffusion_scale = schedule.diffusion_scale
        return [schedule]

    network.setup = setup
    network.info.update(temperatures=list(ANNEAL_TEMPERATURES), anneal_fraction=ANNEAL_FRACTION)
    return network


BUILDERS: dict[str, Callable] = {
    "mlp": lambda domain, order, budget: _mlp(domain, budget),
    "residual_mlp": lambda domain, order, budget: _mlp(domain, budget, residual=True, name="residual_mlp"),
    "no_scaling": lambda domain, order, budget: _mlp(domain, budget, scale=False, name="no_scaling"),
    "batch_norm": lambda domain, order, budget: _mlp(
        domain, budget, scale=False, norm=_norm_factory("batch"), name="batch_norm"
    ),
    "layer_norm": lambda domain, order, budget: _mlp(
        domain, budget, scale=False, norm=_norm_factory("layer"), name="layer_norm"
    ),
    "layer_norm_scaled": lambda domain, order, budget: _mlp(
        domain, budget, norm=_norm_factory("layer"), name="layer_norm_scaled"
    ),
    "learnable_norm_scaled": lambda domain, order, budget: _mlp(
        domain, budget, norm=_norm_factory("learnable"), name="learnable_norm_scaled"
    ),
    "parallel_pow_relu_vp": lambda domain, order, budget: _parallel_pow_relu(
        domain, order, budget, preserve_variance=True
    ),
    "learnable_norm": lambda domain, order, budget: _mlp(
        domain, budget, scale=False, norm=_norm_factory("learnable"), name="learnable_norm"
    ),
    "parallel_pow_relu": _parallel_pow_relu,
    "pow_relu": lambda domain, order, budget: _mlp(domain, budget, activation=order + 1, name="pow_relu"),
    "relu": lambda domain, order, budget: _mlp(domain, budget, activation="relu", name="relu"),
    "gridconv": _gridconv,
    "vq": lambda domain, order, budget: _mlp(domain, budget, quantize=True, name="vq"),
    "rh_vq": _rh_vq,
    "rh_vq_mass": lambda domain, order, budget: _rh_vq(domain, order, budget, conservation=True),
    "rh_vq_corner": lambda domain, order, budget: _rh_vq(domain, order, budget, code_noise=0.0),
    "vq_soft": _vq_soft,
    "parallel_pow_relu_last": _parallel_pow_relu_last,
}
"""Builder of each ``Variant.builder`` name: ``builder(domain, order, budget)``."""


def build_network(variant: str, domain, order: int, budget: Budget) -> Network:
    """Builds the network of ``variant`` for a PDE of order ``order``.

    Args:
        variant: a key of :data:`keras_pinn.study.config.VARIANTS`.
        domain: the problem's domain.
        order: the PDE's highest derivative order.
        budget: network size.
    """
    if variant not in VARIANTS:
        raise ValueError(f"Unknown variant: expected one of {tuple(VARIANTS)}. Received: variant={variant!r}")
    network = BUILDERS[VARIANTS[variant].builder](domain, int(order), budget)
    network.info["n_params"] = int(network.model.count_params())
    return network


# Initial values, in keras.ops, of the problems with zero Dirichlet boundaries
# (None: no initial condition, a steady problem).
_INITIAL_VALUES: dict[str, Callable | None] = {
    "burgers": lambda x: -ops.sin(np.pi * x),
    "heat": lambda x: ops.sin(np.pi * x),
    "heat_units": lambda x: ops.sin(np.pi * x / 100.0),
    "helmholtz": None,
}
HARD_CONSTRAINT_PROBLEMS = tuple(_INITIAL_VALUES)
"""Problems whose conditions :func:`hard_constraint` can impose exactly."""


def hard_constraint(problem) -> Callable:
    """An output transform imposing the problem's conditions exactly.

    A grid network (GridConv) predicts only at the points of its grid, so it
    cannot be asked for its values at separately sampled boundary or initial
    points; idea 3 therefore imposes the conditions exactly for all its
    variants (the MLP baseline on the grid too, so the comparison is fair):
    ``u = g(x) + (t - t0) / (t1 - t0) * prod_j b_j(x_j) * N(x, t)``, with
    ``b_j = (x_j - lo_j)(hi_j - x_j) / ((hi_j - lo_j) / 2)^2`` vanishing on
    the spatial faces and ``g`` the initial value (the time factor and ``g``
    are left out for a steady problem such as Helmholtz).

    Args:
        problem: a :class:`~keras_pinn.problems.Problem` with zero Dirichlet
            boundaries: one of :data:`HARD_CONSTRAINT_PROBLEMS`.

    Returns:
        ``transform(x, u) -> u`` for ``PINNModel(output_transform=...)``.
    """
    if problem.name not in _INITIAL_VALUES:
        raise ValueError(
            "Exact (hard) conditions are defined for the problems "
            f"{HARD_CONSTRAINT_PROBLEMS}. Received: problem={problem.name!r}"
        )
    initial = _INITIAL_VALUES[problem.name]
    domain = problem.domain
    lower, upper = [float(v) for v in domain.lower], [float(v) for v in domain.upper]
    n_space = domain.dim - 1 if initial is not None else domain.dim

    def transform(x, u):
        factor = None
        for j in range(n_space):
            xj = x[:, j : j + 1]
            half = (upper[j] - lower[j]) / 2.0
            bump = (xj - lower[j]) * (upper[j] - xj) / half**2
            factor = bump if factor is None else factor * bump
        if initial is None:
            return factor * u
        t = (x[:, -1:] - lower[-1]) / (upper[-1] - lower[-1])
        return initial(x[:, :1]) + t * factor * u

    return transform
