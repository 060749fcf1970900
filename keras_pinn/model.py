"""``PINNModel``: physics-informed training through plain ``model.fit``."""

from __future__ import annotations

import copy
import json
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from keras_pinn import _saving, _validation
from keras_pinn import backend as _backend
from keras_pinn import balancing as _balancing
from keras_pinn import distribution as _distribution
from keras_pinn import weighting as _weighting
from keras_pinn._validation import positive_int as _positive
from keras_pinn.conditions import Residual, Term, check_residual, point_count
from keras_pinn.differentiation import Derivatives, DerivativesBase, GridDerivatives, infer_grid, resolve_method
from keras_pinn.differentiation import taylor as _taylor
from keras_pinn.domains import Box

__all__ = ["DERIVATIVE_METHODS", "PREDICT_BATCH", "PINNModel"]

#: The ``derivative_method`` values :class:`PINNModel` accepts.
DERIVATIVE_METHODS = ("auto", "autodiff", "taylor", "finite_difference")

#: Largest batch ``PINNModel.predict`` uses when given no ``batch_size``.
PREDICT_BATCH = 65_536

_serialize = keras.saving.serialize_keras_object
# Keys of the point sets and the sampler's state in the saved variables.
_POINTS_KEY = "pinn_points"
_SAMPLER_KEY = "pinn_sampler_state"
_deserialize = keras.saving.deserialize_keras_object


class _PointSets(keras.utils.PyDataset):
    """Feeds the model's current point sets, the same batch every step, and
    redraws them at each epoch's end when the model resamples."""

    def __init__(self, model, steps):
        super().__init__()
        self._model = model
        self._steps = steps

    def __len__(self):
        return self._steps

    def __getitem__(self, index):
        return (self._model.point_sets(),)

    def on_epoch_begin(self):
        self._in_epoch = True

    def on_epoch_end(self):
        # Keras also calls on_epoch_end when fit starts (resetting its epoch
        # iterator): redraw only at the end of an epoch that ran, so a fit
        # resumed from saved points and sampler state continues exactly.
        if getattr(self, "_in_epoch", False) and self._model.resample:
            self._model.resample_points()
        self._in_epoch = False


@keras.saving.register_keras_serializable(package="keras_pinn")
class PINNModel(keras.Model):
    """A physics-informed neural network trained with ``model.fit``.

    The network maps coordinates ``(N, d)`` (columns in ``domain.names``
    order) to fields ``(N, m)``. Training minimises the weighted sum of the
    mean squared residuals of every term: the PDE residual at collocation
    points and each condition. The points are held by the model; ``fit`` and
    ``evaluate`` need no data (``model.fit(epochs=...)``), and ``predict(x)``
    returns the fields at ``x``. History holds ``loss`` (the weighted total,
    layer losses included) and one unweighted ``<term>_loss`` per term.

    Args:
        network: a Keras model or layer mapping ``(N, d)`` to ``(N, m)``.
        domain: a :class:`~keras_pinn.Box`, :class:`~keras_pinn.Interval` or
            :class:`~keras_pinn.SpaceTime`.
        pde: residual function ``pde(d)`` written in ``keras.ops`` (see
            :class:`~keras_pinn.Residual`), or None for data-only training.
        conditions: boundary, initial, periodic and data conditions.
        n_collocation: number of interior collocation points for ``pde``.
        sampler: collocation sampler, one of ``"uniform"``, ``"lhs"``,
            ``"sobol"``, ``"grid"``. Defaults to ``"lhs"``.
        resample: redraw sampled points at the end of every epoch.
        output_names: names of the network's outputs. Defaults to ``("u",)``
            for one output.
        parameters: PDE coefficients as ``{name: initial value}``; they are
            trainable weights, available as ``d.params[name]``.
        pde_weight: weight of the PDE term. Defaults to 1.
        output_transform: optional ``transform(x, u) -> u`` applied to the
            network's outputs, e.g. to impose conditions exactly.
        seed: seed of the point samplers.
        allow_batch_normalization: let a network holding BatchNormalization
            through (for studies of why it fails). Defaults to False. In a
            training step such a network runs once in training mode over the
            points of every term, collocation points included: the
            value terms' outputs are normalised by the statistics of all the
            points together, and so are the moving averages. The residuals'
            input derivatives are taken of the network in inference mode
            (the moving averages), the one definition that is pointwise and
            the same on every backend (with batch statistics, forward and
            reverse mode differentiate different sums over the batch).
        loss_balancing: how the terms are weighted: ``"fixed"`` (each
            term's ``weight``, the default), ``"relobralo"``,
            ``"annealing"``, ``"softadapt"``, or a
            :class:`~keras_pinn.balancing.LossBalancer`. Adaptive weights are
            logged in History as ``<term>_weight``.
        point_weighting: how the squared residuals of a term are averaged
            in training steps: None (the mean, default), a
            :class:`~keras_pinn.weighting.PointWeighting` (or ``"causal"``,
            ``"rba"``) for the PDE term, or ``{term: weighting}``; see
            :mod:`keras_pinn.weighting`.
        derivative_method: how residuals get the fields' derivatives with
            respect to the inputs. ``"auto"`` (the default): ``"taylor"``
            where the network supports it, ``"autodiff"`` otherwise. ``"autodiff"``: exact derivatives by
            the backend's automatic differentiation (nested). ``"taylor"``:
            exact derivatives pushed forward through the network in closed
            form (:mod:`keras_pinn.differentiation.taylor`; a network of ``kp.layers.MLP``,
            ``Dense``, ``Activation`` and ``DomainScaler`` layers with
            tanh, sigmoid, softplus, sin or linear activations, and no
            ``output_transform``). ``"finite_difference"``: central
            differences of the outputs on a regular grid of points, for grid
            models such as :class:`~keras_pinn.layers.GridConv`; the PDE's
            points must then be a regular grid, e.g. ``sampler="grid"``.
        **kwargs: passed to ``keras.Model`` (e.g. ``name``).

    Example:

    ```python
    domain = kp.SpaceTime(kp.Interval(-1.0, 1.0), 0.0, 1.0)
    nu = 0.01 / np.pi

    def burgers(d):
        return d("u", "t") + d("u") * d("u", "x") - nu * d("u", "x", "x")

    net = keras.Sequential([keras.Input((2,)), kp.layers.DomainScaler(domain),
                            keras.layers.Dense(20, "tanh"), keras.layers.Dense(1)])
    model = kp.PINNModel(net, domain, burgers, conditions=[
        kp.InitialCondition(lambda x: -np.sin(np.pi * x[:, 0]), n_points=256),
        kp.DirichletBC(0.0, n_points=256)], n_collocation=10_000)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(epochs=100, steps_per_epoch=50)
    u = model.predict(points)
    ```
    """

    def __init__(
        self,
        network: keras.Layer,
        domain: Box,
        pde: Callable | None = None,
        conditions: Sequence[Term] = (),
        n_collocation: int = 1000,
        sampler: str = "lhs",
        resample: bool = False,
        output_names: Sequence[str] | None = None,
        parameters: Mapping[str, float] | None = None,
        pde_weight: float = 1.0,
        output_transform: Callable | None = None,
        seed: int | None = None,
        allow_batch_normalization: bool = False,
        derivative_method: str = "auto",
        loss_balancing="fixed",
        point_weighting=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(network, keras.Layer):
            raise ValueError(f"`network` must be a Keras model or layer. Received: network={network!r}")
        if not isinstance(domain, Box):
            raise ValueError(f"`domain` must be a keras_pinn Box, Interval or SpaceTime. Received: domain={domain!r}")
        _validation.sampler(sampler)
        if output_transform is not None and not callable(output_transform):
            raise ValueError(f"`output_transform` must be callable. Received: output_transform={output_transform!r}")
        conditions = _own_conditions(conditions)
        _validation.flag(resample, "resample")
        _validation.flag(allow_batch_normalization, "allow_batch_normalization")
        _validation.seed(seed)
        self.network = network
        self.domain = domain
        self.pde = pde
        self.n_collocation = n_collocation
        self.sampler = sampler
        self.resample = bool(resample)
        self.pde_weight = pde_weight
        self.output_transform = output_transform
        self.seed = seed
        self.allow_batch_normalization = bool(allow_batch_normalization)
        if derivative_method not in DERIVATIVE_METHODS:
            raise ValueError(
                f"`derivative_method` must be one of {DERIVATIVE_METHODS}. "
                f"Received: derivative_method={derivative_method!r}"
            )
        self.derivative_method = derivative_method
        if derivative_method == "finite_difference" and pde is not None and sampler != "grid":
            raise ValueError(
                "derivative_method='finite_difference' differentiates the fields on a regular grid: "
                "the PDE's points must come from sampler='grid'. "
                f"Received: sampler={sampler!r}"
            )
        self._user_conditions = list(conditions)
        self._parameter_init = _check_parameters(parameters)

        terms: list[Term] = []
        if pde is not None:
            _positive(n_collocation, "n_collocation")
            _validation.non_negative(pde_weight, "pde_weight")
            terms.append(Residual(pde, n_points=n_collocation, sampler=sampler, name="pde", weight=pde_weight))
        terms.extend(self._user_conditions)
        if not terms:
            raise ValueError("A PINNModel needs `pde` or at least one condition. Received neither.")
        self.terms = _name_terms(terms)

        self.output_names = None if output_names is None else _check_output_names(output_names)
        self._rng = np.random.default_rng(seed)
        self._points: dict[str, dict[str, np.ndarray]] = {}
        # the point sets as tensors, made once per change (see _point_tensors)
        self._feed: dict[str, dict[str, Any]] | None = None
        self._fd_grid = None
        self.pde_parameters = {}
        for key, value in self._parameter_init.items():
            self.pde_parameters[key] = self.add_weight(
                shape=(), initializer=keras.initializers.Constant(value), name=key, trainable=True
            )
        self._trackers = {t.name: keras.metrics.Mean(name=f"{t.name}_loss") for t in self.terms}
        self.loss_balancer = _balancing.get(loss_balancing)
        self.loss_balancer.setup([t.name for t in self.terms], [t.weight for t in self.terms])
        logged = list(self.pde_parameters)
        if self.loss_balancer.adaptive:
            logged += [f"{t.name}_weight" for t in self.terms]
        self._state_log = _StateLog(logged)
        self._build_network()
        # Point weightings (keras_pinn.weighting): set up once the points exist.
        self.point_weighting = _weighting.resolve(point_weighting, [t.name for t in self.terms])
        for term_name, weighting in self.point_weighting.items():
            weighting.setup(self, term_name)
        self.built = True

    # -- set-up -----------------------------------------------------------
    def _build_network(self):
        d = self.domain.dim
        probe = ((self.domain.lower + self.domain.upper) / 2)[None, :]
        # Grid networks (GridConv) take the whole collocation grid at once:
        # probe them with it when the PDE's points are a grid.
        self._grid_network = self.pde is not None and (
            self.derivative_method == "finite_difference" or _holds_grid_layer(self.network)
        )
        if self._grid_network and self.sampler == "grid":
            probe = self.term("pde").draw(self.domain, np.random.default_rng(0))
        try:
            out = self.network(ops.convert_to_tensor(probe.astype(keras.config.floatx())))
        except ValueError as error:
            raise ValueError(
                f"`network` must accept (N, {d}) points, one column per coordinate "
                f"{self.domain.names} of `domain`; calling it on {probe.shape[0]} point(s) "
                f"of shape {probe.shape} failed. Received: network={self.network.name!r}, error: {error}"
            ) from error
        if isinstance(out, (list, tuple, dict)):
            raise ValueError(
                f"`network` must return one (N, m) tensor of fields (concatenate several outputs into "
                f"columns). Received: network={self.network.name!r} returning a {type(out).__name__} "
                f"of {len(out)} item(s)"
            )
        if len(out.shape) != 2:
            raise ValueError(
                f"`network` must map (N, {d}) points to (N, m) fields. Received: output shape {tuple(out.shape)}"
            )
        m = out.shape[-1]
        if self.output_transform is not None:
            x = ops.convert_to_tensor(probe.astype(keras.config.floatx()))
            fields = self.output_transform(x, out)
            shape = None if fields is None or isinstance(fields, (list, tuple, dict)) else tuple(fields.shape)
            if shape != tuple(out.shape):
                received = (
                    "None" if fields is None else (f"a {type(fields).__name__}" if shape is None else f"shape {shape}")
                )
                raise ValueError(
                    f"`output_transform(x, u)` must return the fields with the network's output shape "
                    f"{tuple(out.shape)} (one column per output). Received: output_transform="
                    f"{getattr(self.output_transform, '__name__', self.output_transform)!r} returning {received}"
                )
        if self.output_names is None:
            self.output_names = ("u",) if m == 1 else tuple(f"u{i}" for i in range(m))
        if len(self.output_names) != m:
            raise ValueError(
                f"`output_names` must name the network's {m} outputs. Received: output_names={self.output_names!r}"
            )
        self._network_adds_losses = bool(self.network.losses)
        self._network_normalizes_batches = any(
            isinstance(layer, keras.layers.BatchNormalization) for layer in _all_layers(self.network)
        )
        self._resolved_method = resolve_method(
            self.network,
            self.derivative_method,
            output_transform=self.output_transform,
            adds_losses=self._network_adds_losses,
            method_argument="derivative_method",
        )
        self._taylor = self._resolved_method == "taylor"
        for term in self.terms:
            term.bind(self.domain, self.output_names)
        self.resample_points(first=True)
        self.pde_order = self._probe_pde()
        self._check_architecture()

    @property
    def resolved_derivative_method(self) -> str:
        """The derivative method in use: ``derivative_method``, with
        ``"auto"`` resolved to ``"taylor"`` or ``"autodiff"`` by
        :func:`keras_pinn.differentiation.resolve_method` (as
        :class:`~keras_pinn.Derivatives` resolves its ``method``)."""
        return self._resolved_method

    def _probe_pde(self):
        """Evaluates the residual once on a few points: checks its shape
        early, finds its number of equations (stored on the PDE term) and
        the PDE's order (the highest derivative it asks for). Returns None
        when there is no PDE or it cannot be probed (a finite-difference
        model needs its whole grid).

        A pointwise network is probed on 3 points of the domain. A
        ``(3, 3)`` residual is either a system of 3 equations or an ``(N,)``
        tensor broadcast against an ``(N, 1)`` one; a second probe on 4
        points tells them apart (``(4, 3)`` or ``(4, 4)``), so no number of
        equations collides with the probe's number of points."""
        if self.pde is None or self.derivative_method == "finite_difference":
            return None
        pde_term = self.term("pde")
        if self._grid_network:
            # A grid network needs all the points (autodiff through a CNN:
            # the article's naive CNN-PINN).
            x = ops.convert_to_tensor(self._points["pde"]["x"])
            with _backend.enable_grad():
                d = self.derivatives(x)
                r = pde_term.residual_from(d, x.shape[0])
            pde_term.n_equations = int(r.shape[1])
            self._pde_uses_autodiff = d.uses_autodiff
            return d.max_order
        rng = np.random.default_rng(0)
        floatx = keras.config.floatx()
        x = ops.convert_to_tensor(self.domain.sample_interior(3, "uniform", rng).astype(floatx))
        with _backend.enable_grad():
            d = self.derivatives(x)
            raw = pde_term.fn(d)
            if raw is not None and tuple(ops.shape(raw)) == (3, 3):
                x4 = ops.convert_to_tensor(self.domain.sample_interior(4, "uniform", rng).astype(floatx))
                if tuple(ops.shape(pde_term.fn(self.derivatives(x4)))) == (4, 3):
                    pde_term.n_equations = 3
            r = check_residual(raw, 3, pde_term.name, pde_term.n_equations)
        pde_term.n_equations = int(r.shape[1])
        # Taylor mode takes mixed partials (u_xt) from the backend's autodiff.
        self._pde_uses_autodiff = d.uses_autodiff
        return d.max_order

    def _check_architecture(self):
        layers = _all_layers(self.network)
        floatx = keras.config.floatx()
        mixed = [
            v.path
            for v in self.network.weights
            if keras.backend.standardize_dtype(v.dtype) != floatx and "float" in str(v.dtype)
        ]
        if floatx == "float64" and mixed:
            warnings.warn(
                f"keras.config.floatx() is 'float64' but the network's weights are not "
                f"(e.g. {mixed[0]!r}): build the network after keras_pinn.set_precision('float64'), "
                "which also sets Keras's dtype policy and JAX's 64-bit mode.",
                stacklevel=3,
            )
        norms = [layer for layer in layers if isinstance(layer, keras.layers.BatchNormalization)]
        if norms and not self.allow_batch_normalization:
            raise ValueError(
                f"The network holds BatchNormalization ({norms[0].name!r}). In a PINN it "
                "couples the collocation points (each output then depends on the whole "
                "batch, so input derivatives are no longer pointwise) and it behaves "
                "differently in training and inference. Use keras_pinn.layers.DomainScaler "
                "(or LayerNormalization) instead, or pass allow_batch_normalization=True "
                "to study it."
            )
        if self.pde_order:
            for layer, power in _activation_powers(layers):
                if power <= self.pde_order:
                    warnings.warn(
                        f"Layer {layer.name!r} uses an activation whose derivatives vanish "
                        f"beyond order {power} (relu^{power}), but the PDE asks for derivatives "
                        f"of order {self.pde_order}: the residual then sees zero higher "
                        f"derivatives and those terms cannot train it. Use tanh, sin, or "
                        f"PowReLU with power > {self.pde_order}.",
                        stacklevel=3,
                    )

    # -- points -------------------------------------------------------------
    def resample_points(self, first: bool = False):
        """Draws new points for every sampled term (all terms when ``first``)."""
        self._points_changed()
        for term in self.terms:
            batch = term.sample(self.domain, self._rng, first=first)
            if batch is not None:
                self._points[term.name] = batch

    def set_points(self, term: str, points, **arrays):
        """Replaces the points of ``term`` (e.g. for adaptive sampling):
        ``points`` is ``(n, d)``, inside the domain; the term's targets are
        recomputed from them. Any other ``arrays`` (same length) replace
        batch entries by name. A term that resamples keeps drawing new
        points at each resampling."""
        t = self.term(term)
        points = self.domain.check_points(points, "points")
        if points.shape[0] == 0:
            raise ValueError(f"`points` must hold at least one point. Received: points of shape {points.shape}")
        batch = t.targets(points)
        for key, value in arrays.items():
            value = np.asarray(value)
            if value.shape[0] != points.shape[0]:
                raise ValueError(
                    f"`{key}` must have one row per point ({points.shape[0]}). Received: {key} of shape {value.shape}"
                )
            batch[key] = value
        self._points[term] = batch
        self._points_changed()

    def point_sets(self) -> dict:
        """The current ``{term: {"x": points, ...}}`` NumPy batch."""
        return {name: dict(batch) for name, batch in self._points.items()}

    def _points_changed(self):
        """Drops what was derived from the points: the tensors ``fit`` feeds
        and the finite-difference grid. Every change of ``_points`` calls it,
        so a feed never serves old points."""
        self._feed = None
        self._fd_grid = None

    def _point_tensors(self) -> dict:
        """The point sets as tensors, converted once after each change (the
        TensorFlow feed reads them at every epoch's start)."""
        if self._feed is None:
            self._feed = {
                name: {key: ops.convert_to_tensor(value) for key, value in batch.items()}
                for name, batch in self._points.items()
            }
        return self._feed

    # -- forward --------------------------------------------------------------
    def _fields(self, x, training=None):
        if getattr(self, "_taylor", False):
            # A network Taylor mode covers (none of its layers acts differently
            # in training) is evaluated by its rules' primal pass: the same
            # values as calling it, without Keras's per-layer dispatch, and a
            # Dense stack in MLP's (features, points) layout.
            u = _taylor.primal(self.network, ops.cast(x, self.network.compute_dtype))[0]
        else:
            u = self.network(x, training=training)
        if self.output_transform is not None:
            u = self.output_transform(x, u)
        return u

    def call(self, inputs, training=None):
        if not isinstance(inputs, dict):
            return self._fields(inputs, training=training)
        # One forward pass over the point sets that need only values, and over
        # all of them when the network adds losses (e.g. VectorQuantizer, so
        # those losses are taken over every point on every backend) or, in
        # training, normalises batches (so BatchNormalization's statistics
        # and moving averages are those of every point, not of the boundary's).
        every_point = self._network_adds_losses or (bool(training) and self._network_normalizes_batches)
        names = [t.name for t in self.terms if t.name in inputs and (every_point or not t.needs_derivatives)]
        if not names:
            return {}
        xs = [inputs[n]["x"] for n in names]
        u = self._fields(ops.concatenate(xs, axis=0) if len(xs) > 1 else xs[0], training=training)
        out, start = {}, 0
        for n, x in zip(names, xs):
            rows = point_count(x)
            out[n] = u[start : start + rows]
            start = start + rows
        return out

    def derivatives(self, x, training=None) -> DerivativesBase:
        """:class:`~keras_pinn.Derivatives` of the fields at ``x`` (or their
        finite-difference counterpart, :class:`~keras_pinn.GridDerivatives`,
        see ``derivative_method``)."""
        inputs, outputs, params = self.domain.names, self.output_names, self.pde_parameters
        if self.derivative_method == "finite_difference":
            grid = self._collocation_grid(x)
            return GridDerivatives(
                lambda z: self._fields(z, training=training),
                x,
                inputs,
                outputs,
                params,
                grid_shape=grid.get("grid_shape"),
                spacing=grid.get("spacing"),
            )
        if self._taylor:
            # Taylor mode reads the network's layers directly (none of them
            # behaves differently in training).
            return Derivatives(self.network, x, inputs, outputs, params, method="taylor")
        return Derivatives(lambda z: self._fields(z, training=training), x, inputs, outputs, params, method="autodiff")

    def _collocation_grid(self, x):
        """``grid_shape`` and ``spacing`` of the PDE's collocation grid, found
        and checked once on the NumPy side: inside a compiled train step the
        points are symbolic and GridDerivatives cannot infer them. Points of
        another (static) size are left to GridDerivatives to infer."""
        if not self._points or "pde" not in self._points:
            return {}
        points = self._points["pde"]["x"]
        if x.shape[0] is not None and x.shape[0] != points.shape[0]:
            return {}
        if self._fd_grid is None:
            self._fd_grid = infer_grid(points)
        shape, spacing = self._fd_grid
        return {"grid_shape": shape, "spacing": spacing}

    def residual(self, x, term: str = "pde"):
        """The residual of ``term`` at points ``x``, as a tensor ``(n, k)``."""
        t = self.term(term)
        x = self.domain.check_points(x, "x")
        batch = t.targets(x) if t.name != "pde" else {"x": x}
        batch = {k: ops.convert_to_tensor(v) for k, v in batch.items()}
        with _backend.enable_grad():
            values = None if t.needs_derivatives else self._fields(batch["x"])
            return t.residual(self, batch, values)

    def term(self, name: str) -> Term:
        """The term named ``name`` (``"pde"``, ``"bc"``, ...; see
        :attr:`terms`); an unknown name raises ``ValueError`` listing the
        terms."""
        for t in self.terms:
            if t.name == name:
                return t
        raise ValueError(f"Unknown term: expected one of {tuple(t.name for t in self.terms)}. Received: term={name!r}")

    # -- losses -----------------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        missing = None if isinstance(x, dict) else [t.name for t in self.terms]
        missing = missing or [t.name for t in self.terms if t.name not in x]
        if missing:
            raise ValueError(
                "PINNModel.fit and evaluate feed the model's own points: call them without `x`, "
                "or pass a dict {term name: {'x': points, ...}} holding every term "
                f"{tuple(t.name for t in self.terms)} (see point_sets()). Received: x of type "
                f"{type(x).__name__}" + (f" without the term(s) {missing}" if isinstance(x, dict) else "")
            )
        layer_losses = [ops.sum(loss) for loss in self.losses]
        losses = self.term_losses(x, y_pred, training=training)
        for name, mse in losses.items():
            self._trackers[name].update_state(mse)
        weights = self.loss_balancer.update({n: ops.stop_gradient(v) for n, v in losses.items()}, training=training)
        total = _weighted_sum(losses, weights)
        state = dict(self.pde_parameters)
        if self.loss_balancer.adaptive:
            state.update({f"{n}_weight": w for n, w in weights.items()})
        self._state_log.record(state)
        for loss in layer_losses:
            total = total + ops.cast(loss, total.dtype)
        return total

    def term_losses(self, x, y_pred=None, training=False) -> dict:
        """``{term: mean squared residual}`` (unweighted) on the point sets
        ``x`` (``{term: {"x": points, ...}}``, see :meth:`point_sets`);
        ``y_pred`` may hold the fields already computed for value-only
        terms. Pure: updates no metric."""
        losses = {}
        for term in self.terms:
            batch = x[term.name]
            values = None if y_pred is None else y_pred.get(term.name)
            if values is None and not term.needs_derivatives:
                values = self._fields(batch["x"], training=training)
            r = term.residual(self, batch, values)
            weighting = self.point_weighting.get(term.name) if training else None
            losses[term.name] = ops.mean(ops.square(r)) if weighting is None else weighting.loss(r, batch)
        return losses

    def loss_weights(self) -> dict:
        """The current weight of each term, as floats."""
        return {n: float(ops.convert_to_numpy(w)) for n, w in self.loss_balancer.current().items()}

    # -- training ---------------------------------------------------------------
    def fit(
        self,
        x=None,
        y=None,
        *,
        steps_per_epoch: int | None = None,
        stop_on_non_finite: bool = True,
        **kwargs,
    ):
        """``keras.Model.fit`` on the model's own points when ``x`` is None.

        Each step uses all points of every term (full batch, so
        ``batch_size`` is refused); an epoch is ``steps_per_epoch`` steps
        (default 1). Other arguments are Keras's.

        Args:
            x: None (the model's points), or a dict ``{term: {"x": points,
                ...}}`` holding every term (see :meth:`point_sets`).
            y: unused by a PINN; Keras's.
            steps_per_epoch: steps per epoch when ``x`` is None. Defaults
                to 1.
            stop_on_non_finite: stop at the first step whose loss (or a
                term's) is NaN or infinite, with a ``RuntimeWarning``
                naming the term and the step, by adding a
                :class:`~keras_pinn.callbacks.StopOnNonFinite` with
                ``restore_last_finite=False`` (it only reads each step's
                logs; the weights are left as the failing step made them).
                Pass your own ``StopOnNonFinite()`` in ``callbacks`` to also
                restore the last weights whose loss was finite (it is then
                used instead), or False to train on regardless. The check
                reads every step's logs as it ends, so with ``verbose=0``
                Keras no longer dispatches batch-end callbacks in a
                background thread (with a progress bar it never does).
                Defaults to True.
            **kwargs: ``keras.Model.fit``'s other arguments (``epochs``,
                ``callbacks``, ``verbose``, ...).
        """
        from keras_pinn.callbacks import StopOnNonFinite

        _validation.flag(stop_on_non_finite, "stop_on_non_finite")
        if kwargs.get("batch_size") is not None:
            raise ValueError(
                "PINNModel.fit uses every point of every term in each step (full batch); it has no "
                "batch size. Set the number of points per term instead (n_collocation, n_points). "
                f"Received: batch_size={kwargs['batch_size']!r}"
            )
        kwargs.pop("batch_size", None)
        auto_steps = 1  # Keras groups steps only over the model's own points
        if x is not None:
            self._check_x(x)
        callbacks = list(kwargs.get("callbacks") or [])
        if stop_on_non_finite and not any(isinstance(c, StopOnNonFinite) for c in callbacks):
            callbacks.append(StopOnNonFinite(restore_last_finite=False))
        if any(isinstance(c, keras.callbacks.ModelCheckpoint) and not c.save_weights_only for c in callbacks):
            self.get_config()  # a function save would refuse: say so now, not at the first checkpoint
        if x is None:
            steps = auto_steps = 1 if steps_per_epoch is None else _positive(steps_per_epoch, "steps_per_epoch")
            # Under a keras.distribution each point set is split over the
            # data shards: refuse uneven counts, naming the argument.
            _distribution.check_point_counts(self)
            x = None
            if not self.resample:
                # Points the model does not redraw itself: the backend may
                # feed them from tensors made once per change, read at each
                # epoch's start (TensorFlow: no Python per step), so points
                # set during fit (set_points, e.g. by RAR) are picked up.
                x = _backend.fixed_point_dataset(self._point_tensors, steps)
            if x is None:
                x = _PointSets(self, steps)
            steps_per_epoch = None
            kwargs.setdefault("shuffle", False)  # full batch: nothing to shuffle
        if self.loss_balancer.adaptive:
            callbacks.append(_BalancerCallback())
        if self.pde_parameters:
            callbacks.insert(0, _ParameterLog())
        if getattr(self, "_steps_per_execution_auto", False):
            self._use_steps_per_execution(_auto_steps_per_execution(callbacks, auto_steps))
        epochs = int(kwargs.get("epochs", 1)) - int(kwargs.get("initial_epoch", 0))
        if self._compiles_long_fits() and epochs * auto_steps >= LONG_FIT_STEPS:
            self.jit_compile = True  # kept for later fits: compiling again would cost as much
            self.make_train_function(force=True)
        if callbacks:
            kwargs["callbacks"] = callbacks
        return super().fit(x, y, steps_per_epoch=steps_per_epoch, **kwargs)

    def _compiles_long_fits(self) -> bool:
        return (
            getattr(self, "_jit_compile_auto", False)
            and _backend.COMPILE_LONG_FITS
            and not self.jit_compile
            and not self.uses_input_autodiff
        )

    def _use_steps_per_execution(self, n: int):
        if int(self.steps_per_execution) != n:  # type: ignore[has-type]  # set by keras.Model.compile
            self.steps_per_execution = n
            self.make_train_function(force=True)

    def _check_x(self, x):
        """A ValueError naming ``x`` unless it is a dict holding every term
        (each a dict with its ``"x"`` points)."""
        names = tuple(t.name for t in self.terms)
        if isinstance(x, Mapping):
            missing = [n for n in names if n not in x or not isinstance(x[n], Mapping) or "x" not in x[n]]
            if not missing:
                return
            detail = f"x={_short(x)} lacks the term(s) {missing}"
        else:
            detail = f"x of type {type(x).__name__}"
        raise ValueError(
            "PINNModel.fit and evaluate feed the model's own points: call them without `x`, "
            f"or pass a dict {{term name: {{'x': points, ...}}}} holding every term {names} "
            f"(see point_sets()). Received: {detail}"
        )

    def fit_lbfgs(self, epochs: int = 1, steps_per_epoch: int = 100, **kwargs):
        """Full-batch L-BFGS on the model's current points, usable before or
        after ``fit``; one step is one L-BFGS iteration. See
        :func:`keras_pinn.lbfgs.fit_lbfgs` for the options; returns a
        ``keras.callbacks.History``."""
        from keras_pinn.lbfgs import fit_lbfgs

        return fit_lbfgs(self, epochs=epochs, steps_per_epoch=steps_per_epoch, **kwargs)

    def fit_recipe(self, **kwargs) -> dict:
        """Adam with a decaying learning rate, then L-BFGS, optionally within
        a wall-clock budget: :func:`keras_pinn.recipe.train` (see it for the
        options and defaults)."""
        from keras_pinn.recipe import train

        return train(self, **kwargs)

    def evaluate(self, x=None, y=None, **kwargs):
        """``keras.Model.evaluate`` on the model's current points when ``x``
        is None: the loss of every term."""
        if x is None:
            _distribution.check_point_counts(self)
            x = _PointSets(self, 1)
        elif not isinstance(x, keras.utils.PyDataset):
            self._check_x(x)
        return super().evaluate(x, y, **kwargs)

    def predict(self, x, batch_size=None, **kwargs):
        """``keras.Model.predict``: the fields at the points ``x``.

        Without ``batch_size``, up to :data:`PREDICT_BATCH` points go through
        in one batch (Keras's default of 32 would make a 256 x 100 grid 800
        steps, minutes on PyTorch's CPU trainer); other arguments are Keras's.
        """
        if batch_size is None and len(getattr(x, "shape", ())) == 2 and x.shape[0]:
            batch_size = min(int(x.shape[0]), PREDICT_BATCH)
        return super().predict(x, batch_size=batch_size, **kwargs)

    def compile(self, optimizer="adam", **kwargs):
        """``keras.Model.compile``; the loss is the model's own, so only the
        optimizer (default Adam) and Keras options like ``jit_compile`` are
        needed. The defaults are chosen for speed where that is safe:

        - ``jit_compile`` (default ``"auto"``): Keras's choice, except on
          TensorFlow, where ``"auto"`` means XLA also on a CPU-only machine
          (Keras leaves XLA off there) when every layer of the network
          supports it (``layer.supports_jit``) and Taylor mode gives every
          derivative (with input autodiff, Keras's own choice: nested tapes
          under XLA lack the gradients of some ops). On PyTorch, eager, except
          that a ``fit`` of at least :data:`LONG_FIT_STEPS` steps (epochs
          times ``steps_per_epoch``) compiles the step with ``torch.compile``
          when Taylor mode gives every derivative (no double backward) and a
          C++ compiler is found: compiling costs 10 to 25 s at the first step
          and pays for itself from a few thousand steps on. The model then
          stays compiled. ``jit_compile=False`` keeps it eager; ``True``
          compiles every fit.
        - ``steps_per_execution`` (default: chosen at each ``fit``): Keras
          runs up to :data:`AUTO_STEPS_PER_EXECUTION` steps per call on JAX
          and TensorFlow (the largest divisor of ``steps_per_epoch`` up to
          32), so its per-step Python work is paid once per group of steps;
          1 when ``fit`` is given a callback that acts between single steps
          (one overriding a batch hook, except Keras's ``TerminateOnNaN`` and
          ``ModelCheckpoint``/``BackupAndRestore`` saving per epoch, and
          keras-pinn's ``StopOnNonFinite(restore_last_finite=False)`` and
          ``TimeLimit``), so such a callback still sees every step.
          Epoch-level callbacks (``RAR``, ``RAD``, learning-rate schedules
          per epoch) are unaffected; the number of steps run is exact.

        ``steps_per_execution > 1`` given explicitly is accepted on every
        backend, so the same code runs everywhere: Keras's PyTorch trainer
        runs one step per call and refuses more, so there it runs as 1."""
        self._steps_per_execution_auto = "steps_per_execution" not in kwargs
        if "steps_per_execution" in kwargs:
            spe = _positive(kwargs["steps_per_execution"], "steps_per_execution")
            limit = _backend.MAX_STEPS_PER_EXECUTION
            kwargs["steps_per_execution"] = spe if limit is None else min(spe, limit)
        if "loss" in kwargs and kwargs["loss"] is not None:
            raise ValueError(
                f"PINNModel computes its own loss from its terms; do not pass `loss`. Received: loss={kwargs['loss']!r}"
            )
        if _backend.BACKEND == "torch" and kwargs.get("jit_compile") is True and self.uses_input_autodiff:
            warnings.warn(
                "jit_compile=True on PyTorch: torch.compile cannot compile the double backward that input "
                f"derivatives by automatic differentiation need (derivative_method={self.derivative_method!r}, "
                f"resolved to {self.resolved_derivative_method!r}"
                + (", with mixed partials from autodiff" if self._taylor else "")
                + "), so this model trains eagerly (jit_compile=False). For the compiled fast path use a "
                f"network Taylor mode covers ({_taylor.SUPPORTED}) and no mixed partials.",
                stacklevel=2,
            )
            kwargs["jit_compile"] = False
        self._jit_compile_auto = (
            kwargs.get("jit_compile", "auto") == "auto"
            and not kwargs.get("run_eagerly", False)
            and all(getattr(layer, "supports_jit", True) for layer in _sublayers(self.network))
        )
        if self._jit_compile_auto and not self.uses_input_autodiff:
            # Taylor mode's step is plain forward ops; nested autodiff under
            # XLA can lack gradients of some ops (TensorFlow), so a step with
            # input autodiff keeps Keras's own choice.
            kwargs["jit_compile"] = _backend.DEFAULT_JIT_COMPILE
        super().compile(optimizer=optimizer, **kwargs)

    def get_compile_config(self):
        """Keras's compile config, plus the backend that compiled the model
        (``jit_compile`` means a different compiler on each backend)."""
        config = super().get_compile_config()
        if config is not None:
            config = dict(config, backend=keras.backend.backend())
            if getattr(self, "_steps_per_execution_auto", False):
                config.pop("steps_per_execution", None)  # chosen again at each fit after loading
            if getattr(self, "_jit_compile_auto", False):
                config.pop("jit_compile", None)  # "auto" again after loading
        return config

    @property
    def uses_input_autodiff(self) -> bool:
        """Whether a training step takes input derivatives by the backend's
        automatic differentiation (a derivative of a derivative): with
        ``derivative_method`` resolved to ``"autodiff"`` for a term that
        needs derivatives, or with Taylor mode for a PDE asking for mixed
        partials. PyTorch's ``torch.compile`` cannot compile such a step,
        so there ``compile(jit_compile=True)`` falls back to eager."""
        if self.resolved_derivative_method == "finite_difference":
            return False
        if self.pde is not None and getattr(self, "_pde_uses_autodiff", False):
            return True
        return not self._taylor and any(t.needs_derivatives for t in self.terms)

    def compile_from_config(self, config):
        """Restores ``compile()`` (optimizer and its state) when loading, on
        any backend: a file saved on another backend gets the public
        optimizer class (PyTorch saves its own subclass from Keras's
        backend modules, e.g. ``TorchAdam``) and this
        backend's default ``jit_compile`` (``True`` saved by JAX would mean
        ``torch.compile`` on PyTorch, which cannot take the double backward
        of input derivatives)."""
        config = dict(config)
        saved_backend = config.pop("backend", None)
        optimizer = config.get("optimizer")
        module = str(optimizer.get("module", "")) if isinstance(optimizer, dict) else ""
        if module.startswith("keras.") and module != "keras.optimizers":  # a backend's own subclass
            public = getattr(keras.optimizers, str(optimizer.get("class_name")), None)
            if public is not None:
                config["optimizer"] = dict(optimizer, module="keras.optimizers", registered_name=None)
        here = keras.backend.backend()
        if saved_backend != here and (saved_backend is not None or here == "torch"):
            config.pop("jit_compile", None)
        config = _deserialize(config)
        kwargs = {
            k: config[k] for k in ("optimizer", "jit_compile", "steps_per_execution", "run_eagerly") if k in config
        }
        self.compile(**kwargs)
        if self.built and self.optimizer is not None:
            self.optimizer.build(self.trainable_variables)

    # -- saving -----------------------------------------------------------------
    def save_own_variables(self, store):
        """Saves the PDE parameters (Keras's own variables), and with them
        the current point set of every term (points added by
        :class:`~keras_pinn.callbacks.RAR` included) and the state of the
        sampler's random generator, so that a run resumed from a ``.keras``
        file or a weights file (``ModelCheckpoint``, ``BackupAndRestore``)
        trains on the same points as an uninterrupted one."""
        super().save_own_variables(store)
        for term, batch in self._points.items():
            for key, value in batch.items():
                store[f"{_POINTS_KEY}:{term}:{key}"] = np.asarray(value)
        state = json.dumps(self._rng.bit_generator.state).encode("utf-8")
        store[_SAMPLER_KEY] = np.frombuffer(state, dtype="uint8")

    def load_own_variables(self, store):
        """Restores what :meth:`save_own_variables` saved; files without
        points (saved before they were saved) keep the points drawn at
        construction."""
        keys = list(store.keys())
        variables = self._trainable_variables + self._non_trainable_variables
        indices = [k for k in keys if k.isdigit()]
        if len(indices) != len(variables):
            raise ValueError(
                f"PINNModel {self.name!r} expects {len(variables)} variable(s) (its PDE parameters "
                f"{tuple(self.pde_parameters)}), but the file holds {len(indices)}."
            )
        for i, variable in enumerate(variables):
            variable.assign(store[f"{i}"])
        points = {}
        for key in keys:
            if key.startswith(f"{_POINTS_KEY}:"):
                _, term, name = key.split(":", 2)
                points.setdefault(term, {})[name] = np.asarray(store[key])
        if points:
            expected = {t.name for t in self.terms}
            if set(points) != expected:
                raise ValueError(
                    f"The saved point sets are for the terms {tuple(sorted(points))}, but the model's terms are "
                    f"{tuple(sorted(expected))}."
                )
            floatx = keras.config.floatx()
            self._points = {
                term: {k: v.astype(floatx) if np.issubdtype(v.dtype, np.floating) else v for k, v in batch.items()}
                for term, batch in points.items()
            }
            self._points_changed()
        if _SAMPLER_KEY in keys:
            self._rng.bit_generator.state = json.loads(np.asarray(store[_SAMPLER_KEY]).tobytes().decode("utf-8"))

    def save(self, filepath, *args, **kwargs):
        """``keras.Model.save``, after checking that every function the model
        holds (``pde``, condition targets, ``output_transform``) can be found
        again by ``load_model``: a lambda or an unregistered function raises
        ``ValueError`` before any file is written (see the README's "Saving
        and loading")."""
        self.get_config()
        return super().save(filepath, *args, **kwargs)

    def get_config(self):
        # Refuse now what load_model could not find again (lambdas,
        # unregistered functions): see keras_pinn._saving.
        _saving.check_saveable(self.pde, "pde")
        _saving.check_saveable(self.output_transform, "output_transform")
        return {
            "name": self.name,
            "network": _serialize(self.network),
            "domain": _serialize(self.domain),
            "pde": None if self.pde is None else _serialize(self.pde),
            "conditions": [_serialize(c) for c in self._user_conditions],
            "n_collocation": self.n_collocation,
            "sampler": self.sampler,
            "resample": self.resample,
            "output_names": list(self.output_names),
            "parameters": self._parameter_init,
            "pde_weight": self.pde_weight,
            "output_transform": None if self.output_transform is None else _serialize(self.output_transform),
            "seed": self.seed,
            "allow_batch_normalization": self.allow_batch_normalization,
            "derivative_method": self.derivative_method,
            "loss_balancing": _serialize(self.loss_balancer),
            "point_weighting": {name: _serialize(w) for name, w in self.point_weighting.items()} or None,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """The model of :meth:`get_config`'s dict: the network, domain,
        conditions, balancer and point weightings are deserialised here, and
        the saved functions (``pde``, ``output_transform``) found again by
        their registered names (or in ``custom_objects``)."""
        if custom_objects:
            with keras.saving.custom_object_scope(custom_objects):
                return cls.from_config(config)
        # Inside load_model, Keras's own custom-object scope is already in
        # place (a new scope would replace it, not add to it).
        config = dict(config)
        for key in ("network", "domain", "loss_balancing"):
            if isinstance(config.get(key), dict):
                config[key] = _deserialize(config[key])
        for key in ("pde", "output_transform"):
            if isinstance(config.get(key), dict):
                config[key] = _saving.deserialize_function(config[key], key)
        if isinstance(config.get("conditions"), (list, tuple)):
            config["conditions"] = [_deserialize(c) if isinstance(c, dict) else c for c in config["conditions"]]
        weighting = config.get("point_weighting")
        if isinstance(weighting, dict) and "class_name" not in weighting:
            config["point_weighting"] = {
                term: _deserialize(w) if isinstance(w, dict) else w for term, w in weighting.items()
            }
        return cls(**config)


class _StateLog(keras.metrics.Metric):
    """Reports the PDE parameters and adaptive loss weights in the logs
    (History gets their values at each epoch's end). It keeps copies in
    metric variables, recorded in every step by ``compute_loss``: inside
    Keras's compiled JAX step only metric variables can be read back for
    the logs. Keras's per-epoch metric reset leaves the copies alone."""

    def __init__(self, names):
        super().__init__(name="pinn_state")
        self._values = {name: self.add_variable(shape=(), initializer="zeros", name=name) for name in names}

    def record(self, values: dict):
        for name, value in values.items():
            self._values[name].assign(ops.cast(ops.stop_gradient(value), self._values[name].dtype))

    def update_state(self, *args, **kwargs):
        pass

    def reset_state(self):
        pass

    def result(self):
        return {name: variable.value for name, variable in self._values.items()}


class _ParameterLog(keras.callbacks.Callback):
    """Puts the PDE parameters' values after each epoch's last step into
    that epoch's logs (History, CSVLogger and later callbacks). The values
    ``compute_loss`` records are those the step started from, one optimizer
    update behind; at the epoch's end the variables themselves are current
    on every backend."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        for name, variable in self.model.pde_parameters.items():
            logs[name] = float(ops.convert_to_numpy(variable.value))


#: Steps of one ``fit`` (epochs times ``steps_per_epoch``) from which a PyTorch
#: model compiled with ``jit_compile="auto"`` trains with ``torch.compile``: on a
#: 2-core CPU, Burgers (3 x 20, 2,540 points) ran 99 steps/s with the README's
#: Sequential of Dense, eager, and 262 with the compiled MLP (one run each), so
#: 10 to 25 s of compilation pay for themselves after about 1,600 to 4,000
#: steps (docs/performance.md).
LONG_FIT_STEPS = 5_000

#: Steps Keras runs per call on JAX and TensorFlow when ``compile`` is not
#: given ``steps_per_execution`` and no callback acts between single steps
#: (see :meth:`PINNModel.compile`).
AUTO_STEPS_PER_EXECUTION = 32

_BATCH_HOOKS = ("on_batch_begin", "on_batch_end", "on_train_batch_begin", "on_train_batch_end")


def _acts_per_step(callback) -> bool:
    """Whether ``callback`` must see every training step: it overrides a
    batch hook and is not one known to work on groups of steps."""
    from keras_pinn.callbacks import StopOnNonFinite
    from keras_pinn.recipe import TimeLimit

    if not any(getattr(type(callback), h) is not getattr(keras.callbacks.Callback, h) for h in _BATCH_HOOKS):
        return False
    if isinstance(callback, (keras.callbacks.TerminateOnNaN, keras.callbacks.ProgbarLogger, TimeLimit)):
        return False
    if isinstance(callback, StopOnNonFinite):
        return callback.restore_last_finite
    if isinstance(callback, (keras.callbacks.ModelCheckpoint, keras.callbacks.BackupAndRestore)):
        return getattr(callback, "save_freq", "epoch") != "epoch"
    return True


def _auto_steps_per_execution(callbacks, steps_per_epoch: int) -> int:
    """The steps per call ``fit`` uses when ``compile`` chose none: the
    largest divisor of ``steps_per_epoch`` up to :data:`AUTO_STEPS_PER_EXECUTION`
    (so every call runs whole groups and callbacks see exact step indices),
    or 1 when a callback acts per step."""
    if any(_acts_per_step(c) for c in callbacks):
        return 1
    limit = _backend.MAX_STEPS_PER_EXECUTION
    most = AUTO_STEPS_PER_EXECUTION if limit is None else min(AUTO_STEPS_PER_EXECUTION, limit)
    return max(n for n in range(1, most + 1) if steps_per_epoch % n == 0)


def _sublayers(layer):
    """``layer`` and the layers nested in it through ``.layers``."""
    yield layer
    for sub in getattr(layer, "layers", None) or ():
        yield from _sublayers(sub)


class _BalancerCallback(keras.callbacks.Callback):
    """Lets the model's balancer act between epochs (gradient-based ones)."""

    def on_epoch_end(self, epoch, logs=None):
        self.model.loss_balancer.on_epoch_end(self.model, epoch)


def _weighted_sum(losses, weights):
    total = None
    for name, value in losses.items():
        term = ops.cast(weights[name], value.dtype) * value
        total = term if total is None else total + term
    return total


def _short(value, limit: int = 80) -> str:
    """``repr(value)``, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _own_conditions(conditions) -> list[Term]:
    """The model's own copies of the ``conditions`` argument, checked: each
    model binds its own copy (binding sets the component's index, the term's
    name and the checked points, which another model with other output names
    would otherwise overwrite)."""
    if isinstance(conditions, (Term, str, dict)) or not isinstance(conditions, (list, tuple)):
        raise ValueError(
            "`conditions` must be a list (or tuple) of keras_pinn Conditions, e.g. "
            f"conditions=[kp.DirichletBC(0.0)]; pass [] for none. Received: conditions={_short(conditions)}"
        )
    for c in conditions:
        if not isinstance(c, Term):
            raise ValueError(f"Each entry of `conditions` must be a keras_pinn Condition. Received: {c!r}")
    return [copy.copy(c) for c in conditions]


def _check_output_names(output_names):
    if isinstance(output_names, str) or not isinstance(output_names, (list, tuple)):
        raise ValueError(
            f"`output_names` must be a list or tuple of names, one per output. Received: output_names={output_names!r}"
        )
    names = tuple(output_names)
    if not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
        raise ValueError(
            "`output_names` must be distinct non-empty strings, one per output (derivative requests "
            f"d('u', 'x') name them). Received: output_names={output_names!r}"
        )
    return names


def _check_parameters(parameters):
    """``{name: float}`` from the ``parameters`` argument, with clear errors."""
    parameters = dict(parameters or {})
    checked = {}
    for key, value in parameters.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise ValueError(
                "`parameters` keys must be Python identifiers (residuals read d.params[name]). "
                f"Received: parameters={parameters!r}"
            )
        try:
            checked[key] = float(value)
        except (TypeError, ValueError):
            checked[key] = float("nan")
        if isinstance(value, bool) or not np.isfinite(checked[key]):
            raise ValueError(
                f"`parameters` values must be finite numbers (initial values). Received: parameters={parameters!r}"
            )
    return checked


def _name_terms(terms):
    seen = {}
    for t in terms:
        base = t.name or t.default_name
        name = base
        if name in seen:
            if t.name is not None:
                raise ValueError(f"Two terms are named {name!r}; term names must be unique.")
            k = 2
            while f"{base}_{k}" in seen:
                k += 1
            name = f"{base}_{k}"
        t.name = name
        seen[name] = t
    return list(seen.values())


def _activation_powers(layers):
    """``(layer, k)`` for each layer acting as relu^k (ReLU: k = 1)."""
    found = []
    for layer in layers:
        power = None
        if isinstance(layer, keras.layers.ReLU):
            power = 1
        elif hasattr(layer, "power") and type(layer).__name__ == "PowReLU":
            power = layer.power
        else:
            activation = getattr(layer, "activation", None)
            name = getattr(activation, "__name__", "")
            if name == "relu":
                power = 1
            elif name.startswith("relu") and name[4:].isdigit():
                power = int(name[4:])
        if power is not None:
            found.append((layer, power))
    return found


def _holds_grid_layer(network):
    """Whether ``network`` holds a layer that maps a whole grid of points at
    once (GridConv, or any layer with a ``grid_shape`` attribute)."""
    return any(getattr(layer, "grid_shape", None) is not None for layer in _all_layers(network)[1:]) or (
        getattr(network, "grid_shape", None) is not None
    )


def _all_layers(layer, seen=None):
    """``layer`` and every layer nested in it, found through the public
    ``layers`` property and through attributes holding layers."""
    seen = set() if seen is None else seen
    if id(layer) in seen:
        return []
    seen.add(id(layer))
    found = [layer]
    children = list(getattr(layer, "layers", None) or [])
    for value in vars(layer).values():
        items = value if isinstance(value, (list, tuple)) else [value]
        children.extend(v for v in items if isinstance(v, keras.Layer))
    for child in children:
        found.extend(_all_layers(child, seen))
    return found
