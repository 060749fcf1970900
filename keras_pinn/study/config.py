"""What the study runs: ideas, variants, problems, budgets and the run plan.

This module is plain Python (no Keras, no backend): the command-line parent
process validates its arguments and plans the runs with it before it spawns
one worker process per backend.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "BACKENDS",
    "BUDGETS",
    "CNN_PROBLEMS",
    "DEFAULT_DIFFUSION",
    "DEFAULT_PROBLEMS",
    "FULL_PROBLEMS",
    "QUICK_SKIPS",
    "EXACT_CONDITIONS",
    "TARGETS",
    "IDEAS",
    "PROBLEM_NAMES",
    "VARIANTS",
    "Budget",
    "Comparison",
    "Idea",
    "RunSpec",
    "StudyOptions",
    "Target",
    "Variant",
    "configured_backend",
    "default_backend",
    "make_options",
    "parse_backends",
    "parse_ideas",
    "parse_problems",
    "parse_seeds",
    "parse_variants",
    "plan_runs",
    "target_of",
]

BACKENDS = ("jax", "tensorflow", "torch")
"""Keras backends the study can run on, each in its own process."""

PROBLEM_NAMES = ("burgers", "helmholtz", "heat", "heat_units", "buckley_leverett")
"""Problems of :mod:`keras_pinn.problems` that ideas 1 to 3 can run on."""

CNN_PROBLEMS = ("burgers", "helmholtz", "heat", "heat_units")
"""Problems idea 3 can run on: its variants impose the conditions exactly,
which :func:`keras_pinn.study.variants.hard_constraint` can do for these."""

DEFAULT_PROBLEMS = ("heat_units",)
"""Problems of ideas 1 to 3 of the quick budget when ``--problems`` is not
given: the heat problem in physical units (where input scaling can matter at
all), which the quick baseline solves to its quick target; one problem, so
that the quick study stays within 5 minutes."""

FULL_PROBLEMS = ("helmholtz", "burgers", "heat_units")
"""Problems of ideas 1 to 3 of the full budget when ``--problems`` is not
given (Helmholtz with exact boundary conditions needs more than the quick
budget's steps: relative L2 about 1 after 1000 steps)."""

DEFAULT_DIFFUSION = 1e-3
"""Artificial diffusion ``eps`` of the ``mlp_diffusion`` variant on
Buckley-Leverett (residual ``S_t + f'(S) S_x - eps S_xx``).

Small on purpose: the exact solution of the diffused problem is itself a
distance away from the inviscid (Welge) reference, and that distance grows
with ``eps`` (finite volumes on the study's domain: relative L2 0.064 at
1e-3, 0.149 at 1e-2). Every report prints this floor beside the variant's
error (:func:`keras_pinn.study.runner.diffusion_floor`).
"""

EXACT_CONDITIONS = ("helmholtz",)
"""Problems on which every variant imposes the boundary conditions exactly
(an output transform, :func:`keras_pinn.study.variants.hard_constraint`)
instead of a loss term: with a loss term the quick and full budgets leave
Helmholtz unsolved (relative L2 above 1), so no comparison on it would be
between working networks."""


@dataclass(frozen=True)
class Target:
    """What a problem's baseline must reach for a comparison to count.

    Attributes:
        metric: the run's metric (``"relative_l2"`` or
            ``"shock_position_error"``), lower is better.
        threshold: the largest value that meets the target (the mean over
            the baseline's seeds, geometric).
    """

    metric: str
    threshold: float


TARGETS: dict[str, dict[str, Target]] = {
    # The full-budget targets.
    "full": {
        "helmholtz": Target("relative_l2", 0.03),
        "burgers": Target("relative_l2", 0.02),
        "heat": Target("relative_l2", 0.01),
        "heat_units": Target("relative_l2", 0.01),
        "buckley_leverett": Target("shock_position_error", 0.02),
    },
    # Looser targets that a 300-step baseline reaches: the network has learnt
    # the solution's shape (well below the error 1 of predicting zero) and
    # places the Buckley-Leverett front, but is far from converged. Quick
    # verdicts remain a smoke test.
    "quick": {
        "helmholtz": Target("relative_l2", 0.3),
        "burgers": Target("relative_l2", 0.6),
        "heat": Target("relative_l2", 0.1),
        "heat_units": Target("relative_l2", 0.15),
        "buckley_leverett": Target("shock_position_error", 0.25),
    },
}
"""Baseline targets per budget and problem (see :func:`target_of`)."""


def target_of(problem: str, budget: str) -> Target | None:
    """The baseline target of ``problem`` for the budget named ``budget``
    (``"quick+custom"`` uses the quick targets; None for an unknown budget or
    problem)."""
    return TARGETS.get(str(budget).split("+")[0], {}).get(problem)


ANNEAL_DIFFUSION = 1e-2
"""Initial artificial diffusion of ``vq_soft_anneal`` (falls to 0)."""


@dataclass(frozen=True)
class Variant:
    """One network configuration.

    Attributes:
        name: key used in plans, results and ``--variants``.
        label: short human-readable name for tables and figures.
        description: one line for the report.
        builder: name of the network builder in
            :mod:`keras_pinn.study.variants`.
        sampler: collocation sampler of the PINNModel.
        derivative_method: ``PINNModel``'s: ``"auto"`` (Taylor mode where
            the network supports it, autodiff otherwise), ``"autodiff"`` or
            ``"finite_difference"``.
        allow_batch_normalization: passed to the PINNModel.
        hard_constraints: impose the conditions exactly through an output
            transform instead of loss terms (idea 3: a grid network can only
            predict at its own grid points).
        problem_options: keyword arguments of the problem factory (e.g.
            ``{"diffusion": ...}``), resolved at plan time.
    """

    name: str
    label: str
    description: str
    builder: str
    sampler: str = "lhs"
    derivative_method: str = "auto"
    allow_batch_normalization: bool = False
    hard_constraints: bool = False
    problem_options: tuple = ()


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in [
        Variant("mlp", "tanh MLP + DomainScaler", "baseline: DomainScaler, Dense tanh layers", "mlp"),
        Variant(
            "residual_mlp",
            "residual tanh MLP + DomainScaler",
            "the article's snippet: DomainScaler, u = Dense(u) + u skip connections",
            "residual_mlp",
        ),
        Variant("no_scaling", "no input scaling", "raw coordinates into the tanh MLP", "no_scaling"),
        Variant(
            "batch_norm",
            "BatchNormalization",
            "raw coordinates; BatchNormalization after every hidden Dense (before tanh)",
            "batch_norm",
            allow_batch_normalization=True,
        ),
        Variant(
            "layer_norm",
            "LayerNormalization",
            "raw coordinates; LayerNormalization after every hidden Dense (before tanh)",
            "layer_norm",
        ),
        Variant(
            "learnable_norm",
            "LearnableNormalization",
            "raw coordinates; LearnableNormalization after every hidden Dense (before tanh)",
            "learnable_norm",
        ),
        Variant(
            "layer_norm_scaled",
            "DomainScaler + LayerNormalization",
            "DomainScaler; LayerNormalization after every hidden Dense (before tanh)",
            "layer_norm_scaled",
        ),
        Variant(
            "learnable_norm_scaled",
            "DomainScaler + LearnableNormalization",
            "DomainScaler; LearnableNormalization after every hidden Dense (before tanh)",
            "learnable_norm_scaled",
        ),
        Variant(
            "parallel_pow_relu_vp",
            "ParallelPowerBlock, variance-preserving init",
            "ParallelPowerBlock with every branch rescaled to unit output variance at initialisation (LSUV)",
            "parallel_pow_relu_vp",
        ),
        Variant(
            "parallel_pow_relu",
            "ParallelPowerBlock",
            "DomainScaler; parallel branches with relu^k, k = 1 .. order + 1, concatenated",
            "parallel_pow_relu",
        ),
        Variant("pow_relu", "relu^(order+1) MLP", "DomainScaler; every hidden layer relu^(order + 1)", "pow_relu"),
        Variant("relu", "ReLU MLP", "DomainScaler; plain ReLU hidden layers", "relu"),
        Variant(
            "gridconv_autodiff",
            "GridConv, autodiff",
            "CNN over the regular grid of collocation points, exact input derivatives; exact conditions",
            "gridconv",
            sampler="grid",
            derivative_method="autodiff",
            hard_constraints=True,
        ),
        Variant(
            "gridconv_fd",
            "GridConv, finite differences",
            "CNN over the regular grid, PDE residual from finite differences on the grid; exact conditions",
            "gridconv",
            sampler="grid",
            derivative_method="finite_difference",
            hard_constraints=True,
        ),
        Variant(
            "mlp_grid",
            "tanh MLP on the grid",
            "baseline MLP with the PDE points on the same regular grid; exact conditions",
            "mlp",
            sampler="grid",
            hard_constraints=True,
        ),
        Variant(
            "vq",
            "VectorQuantizer + MLP",
            "DomainScaler; VectorQuantizer code concatenated to the coordinates, then the tanh MLP",
            "vq",
        ),
        Variant(
            "mlp_diffusion",
            "MLP + artificial diffusion",
            "baseline MLP trained on the residual with a small artificial diffusion eps S_xx",
            "mlp",
            problem_options=(("diffusion", None),),
        ),
        Variant(
            "mlp_welge",
            "tanh MLP, Welge hull flux",
            "baseline MLP trained with Welge's convex-hull flux (Diab & Al Kobaisi 2021)",
            "mlp",
            problem_options=(("flux", "welge"),),
        ),
        Variant(
            "vq_welge",
            "VectorQuantizer + MLP, Welge hull flux",
            "the VectorQuantizer network trained with Welge's convex-hull flux",
            "vq",
            problem_options=(("flux", "welge"),),
        ),
        Variant(
            "rh_vq",
            "RH-coupled two-code quantiser",
            "two codes on stop-gradient coordinates, a two-headed tanh MLP, Rankine-Hugoniot and Oleinik "
            "penalties on the code boundary; plain flux, no diffusion",
            "rh_vq",
        ),
        Variant(
            "rh_vq_mass",
            "RH-coupled quantiser + mass balance",
            "rh_vq with the integral conservation law (mass in the domain = net inflow) as a further coupling; "
            "plain flux, no diffusion",
            "rh_vq_mass",
        ),
        Variant(
            "rh_vq_corner",
            "RH-coupled quantiser, boundary from the corner",
            "rh_vq with the initial boundary exactly through (x, t) = (0, 0) (no code noise; random speed)",
            "rh_vq_corner",
        ),
        Variant(
            "rh_vq_welge",
            "RH-coupled two-code quantiser, Welge hull flux",
            "the RH-coupled quantiser trained with Welge's convex-hull flux",
            "rh_vq",
            problem_options=(("flux", "welge"),),
        ),
        Variant(
            "vq_soft_anneal",
            "soft VQ annealed + vanishing diffusion",
            f"soft VectorQuantizer, temperature 1 -> 0.01, artificial diffusion {ANNEAL_DIFFUSION:g} -> 0 "
            "over the first 80 % of the epochs",
            "vq_soft",
            problem_options=(("diffusion", ANNEAL_DIFFUSION),),
        ),
        Variant(
            "parallel_pow_relu_last",
            "ParallelPowerBlock, power in the last layer",
            "DomainScaler; parallel ReLU branches, relu^k (k = 1 .. order + 1) only in each branch's last layer",
            "parallel_pow_relu_last",
        ),
    ]
}
"""Every network configuration the study knows, by name."""


QUICK_SKIPS = (
    "residual_mlp",
    "pow_relu",
    "layer_norm",
    "learnable_norm",
    "rh_vq",
    "rh_vq_mass",
    "rh_vq_corner",
    "rh_vq_welge",
    "vq_soft_anneal",
    "parallel_pow_relu_last",
)
"""Variants left out of the quick budget (which must finish within 5 minutes
on a 2-core CPU): those of comparisons without a claim of the article, and
the normalisation variants without DomainScaler (slow, without a Taylor
rule, and confounded with "no input scaling"; their DomainScaler versions
test the claim), and the tweaks of the article's closing invitation (no
claim of the article; slower)."""


@dataclass(frozen=True)
class Comparison:
    """A verdict: does ``variant`` beat ``reference`` (lower mean error)?

    Attributes:
        variant: the variant under test.
        reference: the variant it is compared with.
        article_expects: ``"better"``, ``"not better"``, ``"worse"`` or None
            (no claim in the article; the verdict is then reported alone).
        claim: the article's claim, in words, for the report.
    """

    variant: str
    reference: str
    article_expects: str | None
    claim: str = ""


@dataclass(frozen=True)
class Idea:
    """One of the article's four ideas.

    Attributes:
        key: name used on the command line.
        number: the article's numbering (1 to 4).
        title: section title.
        variants: variants trained, the baseline first.
        comparisons: the verdicts computed from the numbers.
        problems: fixed problems, or None to use ``--problems``.
    """

    key: str
    number: int
    title: str
    variants: tuple[str, ...]
    comparisons: tuple[Comparison, ...]
    problems: tuple[str, ...] | None = None


IDEAS: dict[str, Idea] = {
    i.key: i
    for i in [
        Idea(
            "normalization",
            1,
            "Normalisation (batch, layer, learnable) vs DomainScaler",
            (
                "mlp",
                "no_scaling",
                "batch_norm",
                "layer_norm",
                "learnable_norm",
                "layer_norm_scaled",
                "learnable_norm_scaled",
                "residual_mlp",
            ),
            (
                Comparison(
                    "no_scaling",
                    "mlp",
                    "worse",
                    "without scaling the inputs to [-1, 1] with the domain's bounds, training is slower",
                ),
                Comparison("batch_norm", "mlp", "worse", "batch normalisation breaks PINN training"),
                Comparison("layer_norm", "mlp", "not better", "layer-level normalisation is not necessary"),
                Comparison("learnable_norm", "mlp", "not better", "layer-level normalisation is not necessary"),
                Comparison(
                    "layer_norm_scaled",
                    "mlp",
                    "not better",
                    "layer-level normalisation is not necessary (both with DomainScaler)",
                ),
                Comparison(
                    "learnable_norm_scaled",
                    "mlp",
                    "not better",
                    "layer-level normalisation is not necessary (both with DomainScaler)",
                ),
                Comparison("residual_mlp", "mlp", None),
            ),
        ),
        Idea(
            "relu_powers",
            2,
            "Powers of ReLU (parallel relu^k branches)",
            ("mlp", "parallel_pow_relu", "parallel_pow_relu_vp", "pow_relu", "relu", "parallel_pow_relu_last"),
            (
                Comparison("parallel_pow_relu", "mlp", "worse", "the parallel relu^k architecture fails to converge"),
                Comparison(
                    "parallel_pow_relu_vp",
                    "mlp",
                    "worse",
                    "the parallel relu^k architecture fails to converge (with no dead branch at the start)",
                ),
                Comparison("relu", "mlp", "worse", "plain ReLU cannot represent second derivatives"),
                Comparison("pow_relu", "mlp", None),
                Comparison("parallel_pow_relu_last", "mlp", None),
                Comparison("parallel_pow_relu_last", "parallel_pow_relu", None),
            ),
        ),
        Idea(
            "cnn",
            3,
            "CNNs over a grid of collocation points",
            ("mlp_grid", "gridconv_autodiff", "gridconv_fd"),
            (
                Comparison(
                    "gridconv_autodiff",
                    "mlp_grid",
                    "worse",
                    "a CNN on grid coordinates has no patterns to learn; it does not help",
                ),
                Comparison(
                    "gridconv_fd",
                    "gridconv_autodiff",
                    "better",
                    "CNNs need a changed problem setting (finite differences on the grid, PhyGeoNet)",
                ),
                Comparison("gridconv_fd", "mlp_grid", None),
            ),
        ),
        Idea(
            "vector_quantization",
            4,
            "Vector quantisation on Buckley-Leverett (M = 2)",
            (
                "mlp_welge",
                "vq_welge",
                "mlp",
                "vq",
                "mlp_diffusion",
                "rh_vq",
                "rh_vq_mass",
                "rh_vq_corner",
                "rh_vq_welge",
                "vq_soft_anneal",
            ),
            (
                Comparison(
                    "vq_welge",
                    "mlp_welge",
                    "not better",
                    "the quantised network splits the domain, but not at the shock: no improvement",
                ),
                Comparison(
                    "vq",
                    "mlp",
                    "not better",
                    "the quantised network splits the domain, but not at the shock: no improvement",
                ),
                Comparison("mlp", "mlp_welge", None),
                Comparison("mlp_diffusion", "mlp", None),
                Comparison("rh_vq", "mlp_welge", None),
                Comparison("rh_vq", "vq", None),
                Comparison("rh_vq_mass", "mlp_welge", None),
                Comparison("rh_vq_mass", "rh_vq", None),
                Comparison("rh_vq_corner", "mlp_welge", None),
                Comparison("rh_vq_corner", "rh_vq", None),
                Comparison("rh_vq_welge", "mlp_welge", None),
                Comparison("vq_soft_anneal", "mlp_welge", None),
                Comparison("vq_soft_anneal", "vq", None),
            ),
            problems=("buckley_leverett",),
        ),
    ]
}
"""The article's ideas, by command-line key."""

IDEA_ALIASES = {str(i.number): i.key for i in IDEAS.values()}


@dataclass(frozen=True)
class Budget:
    """Training budget and network size shared by every run of a study.

    Attributes:
        name: ``"quick"``, ``"full"`` or ``"custom"``.
        seeds: number of seeds per configuration.
        steps: Adam steps per run (full batch).
        n_collocation: interior collocation points (the grid variants use
            ``ceil(n ** (1 / d))`` points per dimension).
        n_condition: points per boundary or initial condition.
        width: units per hidden layer (channels of the CNN).
        depth: hidden layers.
        learning_rate: initial Adam learning rate, decayed exponentially to a
            tenth of it over the run.
        log_points: number of points of the loss curves (epochs).
        vq_codes: codebook size of the VectorQuantizer.
        vq_dim: code dimension of the VectorQuantizer.
        tsne_points: collocation points of the t-SNE figure.
    """

    name: str
    seeds: int
    steps: int
    n_collocation: int
    n_condition: int
    width: int
    depth: int
    learning_rate: float
    log_points: int = 50
    vq_codes: int = 8
    vq_dim: int = 8
    tsne_points: int = 300

    def replace(self, **changes) -> Budget:
        """A copy with ``changes`` (named ``"custom"`` when anything changed)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        if not changes:
            return self
        for key, value in changes.items():
            if key in ("learning_rate",):
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
                    raise ValueError(f"`{key}` must be a positive finite number. Received: {key}={value!r}")
            elif key != "name" and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"`{key}` must be a positive integer. Received: {key}={value!r}")
        return dataclasses.replace(self, **{"name": f"{self.name}+custom", **changes})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


BUDGETS: dict[str, Budget] = {
    # 600 steps at learning rate 1e-2: a check with 2 seeds gave the heat
    # baseline relative L2 0.079 and 0.115 and the Buckley-Leverett (Welge)
    # baseline shock position errors 0.11 and 0.19, within the quick targets
    # (TARGETS["quick"]); 1000 steps would not fit in 5 minutes.
    "quick": Budget(
        "quick",
        seeds=2,
        steps=600,
        n_collocation=1000,
        n_condition=128,
        width=20,
        depth=3,
        learning_rate=1e-2,
        tsne_points=200,
    ),
    # Raissi et al.'s 8 x 20 tanh network; 8 seeds per arm for the statistics.
    "full": Budget(
        "full",
        seeds=8,
        steps=10_000,
        n_collocation=4000,
        n_condition=256,
        width=20,
        depth=8,
        learning_rate=3e-3,
        log_points=100,
    ),
}


@dataclass(frozen=True)
class RunSpec:
    """One training run: a variant on a problem with one seed."""

    problem: str
    variant: str
    seed: int
    problem_options: dict = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return f"{self.problem}__{self.variant}__s{self.seed}"

    def to_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "problem": self.problem,
            "variant": self.variant,
            "seed": self.seed,
            "problem_options": dict(self.problem_options),
        }


@dataclass
class StudyOptions:
    """Everything one study needs, validated.

    Attributes:
        ideas: idea keys, in the article's order.
        problems: problems of ideas 1 to 3.
        seeds: the seeds.
        budget: the budget (with overrides applied).
        backends: backends to run on.
        out: report folder.
        diffusion: artificial diffusion of ``mlp_diffusion``.
        variants: restrict to these variants (None: every variant of the
            chosen ideas).
    """

    ideas: tuple[str, ...]
    problems: tuple[str, ...]
    seeds: tuple[int, ...]
    budget: Budget
    backends: tuple[str, ...]
    out: str = "study-report"
    diffusion: float = DEFAULT_DIFFUSION
    variants: tuple[str, ...] | None = None

    def to_dict(self) -> dict:
        return {
            "ideas": list(self.ideas),
            "problems": list(self.problems),
            "seeds": list(self.seeds),
            "budget": self.budget.to_dict(),
            "backends": list(self.backends),
            "out": self.out,
            "diffusion": self.diffusion,
            "variants": None if self.variants is None else list(self.variants),
        }

    @classmethod
    def from_dict(cls, data: dict) -> StudyOptions:
        data = dict(data)
        data["budget"] = Budget(**data["budget"])
        for key in ("ideas", "problems", "seeds", "backends"):
            data[key] = tuple(data[key])
        if data.get("variants") is not None:
            data["variants"] = tuple(data["variants"])
        return cls(**data)

    def idea_problems(self, idea: str) -> tuple[str, ...]:
        """The problems idea ``idea`` runs on."""
        fixed = IDEAS[idea].problems
        return fixed if fixed is not None else self.problems

    def idea_variants(self, idea: str) -> tuple[str, ...]:
        """The variants of idea ``idea`` that this study runs (the quick
        budget leaves out :data:`QUICK_SKIPS` unless ``variants`` names them)."""
        names = IDEAS[idea].variants
        if self.variants is None:
            if self.budget.name.split("+")[0] == "quick":
                return tuple(v for v in names if v not in QUICK_SKIPS)
            return names
        return tuple(v for v in names if v in self.variants)


# -- parsing and validation (shared by the CLI and the Python API) ------------


def _split(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        items = value.split(",")
    else:
        items = [str(v) for v in value]
    return [item.strip().lower().replace("-", "_") for item in items if item.strip()]


def _unique(items: Sequence) -> tuple:
    return tuple(dict.fromkeys(items))


def parse_ideas(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Idea keys from ``"1,3"``, ``"normalization,cnn"`` or ``"all"`` (None:
    all), in the article's order."""
    items = _split(value)
    if not items or items == ["all"]:
        return tuple(IDEAS)
    keys = []
    for item in items:
        key = IDEA_ALIASES.get(item, item)
        if key not in IDEAS:
            choices = ", ".join(f"{k} ({i.number})" for k, i in IDEAS.items())
            raise ValueError(f"Unknown idea {item!r}: choose from {choices} or 'all'. Received: ideas={value!r}")
        keys.append(key)
    return tuple(k for k in IDEAS if k in keys)


def parse_problems(value: str | Iterable[str] | None, budget: str = "quick") -> tuple[str, ...]:
    """Problem names for ideas 1 to 3 (None: :data:`DEFAULT_PROBLEMS`, or
    :data:`FULL_PROBLEMS` for the full budget)."""
    items = _split(value)
    if not items:
        return FULL_PROBLEMS if budget == "full" else DEFAULT_PROBLEMS
    for item in items:
        if item not in PROBLEM_NAMES:
            raise ValueError(
                f"Unknown problem {item!r}: choose from {', '.join(PROBLEM_NAMES)}. Received: problems={value!r}"
            )
    return _unique(items)


def parse_backends(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Backend names (None: :func:`default_backend`); ``"all"`` for the three."""
    items = _split(value)
    if not items:
        return (default_backend(),)
    if items == ["all"]:
        return BACKENDS
    for item in items:
        if item not in BACKENDS:
            raise ValueError(
                f"Unknown backend {item!r}: choose from {', '.join(BACKENDS)} or 'all'. Received: backend={value!r}"
            )
    return _unique(items)


def parse_variants(value: str | Iterable[str] | None) -> tuple[str, ...] | None:
    """Variant names to restrict the study to (None: all)."""
    items = _split(value)
    if not items:
        return None
    for item in items:
        if item not in VARIANTS:
            raise ValueError(
                f"Unknown variant {item!r}: choose from {', '.join(VARIANTS)}. Received: variants={value!r}"
            )
    return _unique(items)


def parse_seeds(value: str | int | Iterable[int] | None, default_count: int) -> tuple[int, ...]:
    """Seeds from a count (``3`` or ``"3"``: seeds 0, 1, 2) or a
    comma-separated list (``"0,4,7"``; ``"7,"`` for seed 7 alone)."""
    if value is None:
        return tuple(range(default_count))
    if isinstance(value, bool):
        raise ValueError(f"`seeds` must be a count or a list of seeds. Received: seeds={value!r}")
    items: list
    if isinstance(value, int):
        items, is_count = [value], True
    elif isinstance(value, str):
        is_count = "," not in value
        items = [s.strip() for s in value.split(",") if s.strip()]
    else:
        items, is_count = list(value), False
    try:
        numbers = [int(s) for s in items]
    except (TypeError, ValueError):
        raise ValueError(
            f"`seeds` must be a count (e.g. 3) or comma-separated integers (e.g. 0,4,7). Received: seeds={value!r}"
        ) from None
    if not numbers or any(n < 0 for n in numbers) or (is_count and numbers[0] < 1):
        raise ValueError(f"`seeds` must be a positive count or non-negative seeds. Received: seeds={value!r}")
    return tuple(range(numbers[0])) if is_count else _unique(numbers)


def configured_backend() -> str:
    """The backend Keras is set to: ``KERAS_BACKEND``, else the one Keras
    chose at import (from its ``keras.json``)."""
    import keras

    return os.environ.get("KERAS_BACKEND") or keras.config.backend()


def default_backend() -> str:
    """JAX if installed (the fastest backend for PINNs here), else the
    backend Keras is configured with."""
    if importlib.util.find_spec("jax") is not None:
        return "jax"
    return configured_backend()


def make_options(
    ideas: str | Iterable[str] | None = None,
    problems: str | Iterable[str] | None = None,
    seeds: str | int | Iterable[int] | None = None,
    steps: int | None = None,
    budget: str = "quick",
    backends: str | Iterable[str] | None = None,
    out: str = "study-report",
    diffusion: float = DEFAULT_DIFFUSION,
    variants: str | Iterable[str] | None = None,
    **budget_overrides,
) -> StudyOptions:
    """Validated :class:`StudyOptions` from command-line style values.

    Args:
        ideas: ``"1,3"``, ``"normalization,cnn"``, a list, or None for all.
        problems: problems of ideas 1 to 3 (None: helmholtz and burgers).
        seeds: a count or a list of seeds (None: the budget's count).
        steps: Adam steps per run (None: the budget's).
        budget: ``"quick"`` or ``"full"``.
        backends: backends (None: JAX if installed, else Keras's backend).
        out: the report folder.
        diffusion: artificial diffusion of ``mlp_diffusion``, > 0.
        variants: restrict the study to these variants (None: all).
        **budget_overrides: other :class:`Budget` fields, e.g. ``width=8``.

    Raises:
        ValueError: naming the argument and the value received.
    """
    if budget not in BUDGETS:
        raise ValueError(f"Unknown budget {budget!r}: choose from {', '.join(BUDGETS)}. Received: budget={budget!r}")
    unknown = set(budget_overrides) - {f.name for f in dataclasses.fields(Budget)} - {"name"}
    if unknown:
        raise ValueError(f"Unknown budget field(s) {sorted(unknown)}. Received: {budget_overrides!r}")
    chosen = BUDGETS[budget].replace(steps=steps, **budget_overrides)
    if not (isinstance(diffusion, (int, float)) and not isinstance(diffusion, bool) and diffusion > 0):
        raise ValueError(f"`diffusion` must be a positive number. Received: diffusion={diffusion!r}")
    options = StudyOptions(
        ideas=parse_ideas(ideas),
        problems=parse_problems(problems, budget),
        seeds=parse_seeds(seeds, chosen.seeds),
        budget=chosen,
        backends=parse_backends(backends),
        out=str(out),
        diffusion=float(diffusion),
        variants=parse_variants(variants),
    )
    if "cnn" in options.ideas:
        bad = [p for p in options.problems if p not in CNN_PROBLEMS]
        if bad:
            raise ValueError(
                f"Idea 'cnn' (3) imposes the conditions exactly, which is defined for {', '.join(CNN_PROBLEMS)} "
                f"only. Received: problems={','.join(options.problems)!r} (leave out {', '.join(bad)} or idea 3)"
            )
    if not plan_runs(options):
        raise ValueError(f"The chosen ideas and variants give no run. Received: ideas={ideas!r}, variants={variants!r}")
    return options


def plan_runs(options: StudyOptions) -> list[RunSpec]:
    """The unique runs of a study: a configuration shared by two ideas (the
    tanh MLP is the baseline of ideas 1, 2 and 4) is trained once."""
    runs: dict[str, RunSpec] = {}
    for idea in options.ideas:
        for problem in options.idea_problems(idea):
            for variant in options.idea_variants(idea):
                opts = {}
                for key, value in VARIANTS[variant].problem_options:
                    opts[key] = options.diffusion if (key == "diffusion" and value is None) else value
                for seed in options.seeds:
                    spec = RunSpec(problem, variant, seed, opts)
                    runs.setdefault(spec.run_id, spec)
    return list(runs.values())
