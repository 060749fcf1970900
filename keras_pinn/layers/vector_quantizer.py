"""Vector quantisation with a cosine-similarity codebook (the article's idea 4)."""

from __future__ import annotations

import math
import numbers
from typing import Any

import keras
from keras import ops

from keras_pinn import _validation

__all__ = [
    "RankineHugoniotQuantizer",
    "VectorQuantizer",
    "conservation_flux",
    "oleinik_penalty",
    "rankine_hugoniot_penalty",
]


def _l2_normalize(x: Any, epsilon: float) -> Any:
    norm_sq = ops.sum(ops.square(x), axis=-1, keepdims=True)
    return x * ops.rsqrt(ops.maximum(norm_sq, epsilon))


@keras.saving.register_keras_serializable(package="keras_pinn")
class VectorQuantizer(keras.layers.Layer):
    """Cosine-similarity vector quantiser with a straight-through estimator.

    The article's discretisation layer: the input (typically the collocation
    coordinates) is projected by an internal Dense layer to ``code_dim``, the
    cosine similarity of this embedding to each vector of a trainable codebook
    of ``num_codes`` entries is computed, and the most similar code is output.
    The hard selection is made differentiable with the straight-through
    estimator (Bengio et al., 2013)::

        z   = normalize(Dense(inputs))          # projected embedding
        k   = argmax_j cos(z, codebook[j])      # selected code index
        q   = normalize(codebook[k])            # selected code
        out = z + stop_gradient(q - z)          # value q, gradient identity

    so the forward value is the selected code and the Jacobian of ``out`` with
    respect to the projected embedding ``z`` is the identity.

    Normalised vectors. With ``normalize=True`` (default) ``z`` and the codes
    are L2-normalised before they are compared, output and used in the losses
    (as in the "l2-normalised codes" of ViT-VQGAN, Yu et al., 2022). This is
    consistent with selecting by cosine similarity: the nearest code in the
    losses' Euclidean distance on the unit sphere is exactly the code of
    highest cosine similarity, and ``||z - q||^2 = 2 - 2 cos(z, q)``, so
    minimising the losses raises the cosine similarity that drives the
    selection. With ``normalize=False`` the selection is still by cosine
    similarity, but ``z``, ``q``, the output and the losses use the raw
    (unnormalised) vectors.

    Losses (VQ-VAE, van den Oord et al., 2017), added with ``add_loss`` on
    every call, so they enter the training loss of any Keras model holding
    the layer (``model.losses``), on every backend::

        codebook_loss   = codebook_weight   * mean ||stop_gradient(z) - q||^2
        commitment_loss = commitment_weight * mean ||z - stop_gradient(q)||^2

    where ``||.||^2`` is the squared norm over the code axis and ``mean`` is
    over all other axes (the samples).

    Note for PINNs: the losses are added on every call. If a training loop
    calls the network inside a derivative transform (e.g. ``jax.jvp`` for the
    PDE residual), use ``commitment_weight=codebook_weight=0`` there or make
    sure that call's losses are discarded.

    Dead codes. :meth:`usage` reports the perplexity and the fraction of codes
    used on a batch; :meth:`reinitialize_dead_codes` re-assigns codes used by
    fewer than a threshold fraction of a batch to randomly chosen current
    embeddings. It assigns the codebook variable directly, so it must run
    outside the compiled training step, e.g. from a callback's
    ``on_epoch_end`` (on JAX the model's variables only hold the current
    state between epochs)::

        vq = model.get_layer("vq")
        keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: vq.reinitialize_dead_codes(x_vq)
        )

    where ``x_vq`` is the batch of inputs *of the quantiser layer*.

    Args:
        num_codes: Number of codebook vectors, ``>= 1``.
        code_dim: Dimension of the codes and of the projected embedding,
            ``>= 1``.
        commitment_weight: Weight of the commitment loss, ``>= 0``.
            Defaults to 0.25.
        codebook_weight: Weight of the codebook loss, ``>= 0``. Defaults to
            1.0.
        return_indices: If True, the layer returns ``(output, indices)``.
            Defaults to False.
        concat_input: If True, the output is
            ``concatenate([inputs, code], axis=-1)``: the article feeds the
            code to the PINN alongside the coordinates. Defaults to False.
        dead_code_threshold: Default ``threshold`` of
            :meth:`reinitialize_dead_codes`, a fraction in ``[0, 1]``, or
            None (then the method needs an explicit threshold). Defaults to
            None.
        normalize: Whether to L2-normalise the embedding and codes (see
            above). Defaults to True.
        kernel_initializer: Initializer of the projection kernel. Defaults to
            ``"glorot_uniform"``.
        codebook_initializer: Initializer of the codebook. Defaults to
            ``"random_normal"`` (directions uniform on the sphere).
        epsilon: Floor of the squared norm in the normalisation. Defaults to
            1e-12.
        temperature: None (default) for the hard quantiser above, or the
            initial temperature ``T > 0`` of a *soft* quantiser: the output
            is ``q = sum_j softmax_j(cos(z, c_j) / T) c_j`` (the codes
            normalised if ``normalize``), a smooth function of the input, so
            input derivatives are exact (no straight-through estimator).
            ``T`` is a non-trainable variable ``temperature`` that a
            schedule (e.g. a callback) may lower towards a hard choice; the
            indices remain those of the most similar code.
        **kwargs: Base layer keyword arguments (``name``, ``dtype``, ...).

    Call arguments:
        inputs: A tensor of shape ``(..., features)``.

    Input shape:
        ``(..., features)``, at least 2D, e.g. ``(N, d)`` coordinates.

    Output shape:
        ``(..., code_dim)``, or ``(..., features + code_dim)`` with
        ``concat_input=True``; with ``return_indices=True`` also the int32
        indices of shape ``(...)``.

    Example:

    >>> import numpy as np
    >>> vq = VectorQuantizer(num_codes=8, code_dim=4, concat_input=True)
    >>> tuple(vq(np.zeros((5, 2), "float32")).shape)
    (5, 6)

    References:
        A. van den Oord, O. Vinyals, K. Kavukcuoglu, "Neural discrete
        representation learning", NeurIPS 2017.
        Y. Bengio, N. Leonard, A. Courville, "Estimating or propagating
        gradients through stochastic neurons for conditional computation",
        arXiv:1308.3432 (2013).
        J. Yu et al., "Vector-quantized image modeling with improved VQGAN",
        ICLR 2022.
        R. Bischof, "4 Ideas for Physics-Informed Neural Networks that
        failed" (2023), section "Vector Quantisation".
    """

    num_codes: int
    code_dim: int
    commitment_weight: float
    codebook_weight: float
    dead_code_threshold: float | None
    epsilon: float
    return_indices: bool
    concat_input: bool
    normalize: bool
    kernel_initializer: Any
    codebook_initializer: Any
    projection: Any
    codebook: Any
    temperature: Any
    initial_temperature: float | None

    def __init__(
        self,
        num_codes: int,
        code_dim: int,
        commitment_weight: float = 0.25,
        codebook_weight: float = 1.0,
        return_indices: bool = False,
        concat_input: bool = False,
        dead_code_threshold: float | None = None,
        normalize: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        codebook_initializer: Any = "random_normal",
        epsilon: float = 1e-12,
        temperature: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if temperature is not None and (
            isinstance(temperature, bool)
            or not isinstance(temperature, numbers.Real)
            or not math.isfinite(float(temperature))
            or not float(temperature) > 0
        ):
            raise ValueError(
                f"`temperature` must be None or a finite number > 0. Received: temperature={temperature!r}"
            )
        self.initial_temperature = None if temperature is None else float(temperature)
        self.num_codes = _validation.integer(num_codes, "num_codes")
        self.code_dim = _validation.integer(code_dim, "code_dim")
        self.commitment_weight = _validation.non_negative(commitment_weight, "commitment_weight")
        self.codebook_weight = _validation.non_negative(codebook_weight, "codebook_weight")
        self.dead_code_threshold = (
            None if dead_code_threshold is None else _validation.fraction(dead_code_threshold, "dead_code_threshold")
        )
        if (
            isinstance(epsilon, bool)
            or not isinstance(epsilon, numbers.Real)
            or not math.isfinite(float(epsilon))
            or not float(epsilon) > 0
        ):
            raise ValueError(f"`epsilon` must be a finite number > 0. Received: epsilon={epsilon!r}")
        self.epsilon = float(epsilon)
        self.return_indices = bool(return_indices)
        self.concat_input = bool(concat_input)
        self.normalize = bool(normalize)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.codebook_initializer = keras.initializers.get(codebook_initializer)
        self.projection = keras.layers.Dense(
            self.code_dim,
            kernel_initializer=self.kernel_initializer,
            dtype=self.dtype_policy,
            name="projection",
        )

    def build(self, input_shape: tuple) -> None:
        input_shape = tuple(input_shape)
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(
                "`VectorQuantizer` needs inputs of rank >= 2 with a known last "
                f"dimension. Received: input_shape={input_shape}"
            )
        self.projection.build(input_shape)
        self.codebook = self.add_weight(
            name="codebook",
            shape=(self.num_codes, self.code_dim),
            initializer=self.codebook_initializer,
            trainable=True,
        )
        if self.initial_temperature is not None:
            self.temperature = self.add_weight(
                name="temperature",
                shape=(),
                initializer=keras.initializers.Constant(self.initial_temperature),
                trainable=False,
            )
        self.input_spec = keras.InputSpec(min_ndim=2, axes={-1: input_shape[-1]})
        self.built = True

    # -- pieces of the forward pass, public so they can be inspected/tested --

    def project(self, inputs: Any) -> Any:
        """The projected embedding ``z`` (normalised if ``normalize``).

        Builds the layer on first use, like calling it.
        """
        if not self.built:
            self.build(tuple(ops.shape(inputs)))
        z = self.projection(inputs)
        return _l2_normalize(z, self.epsilon) if self.normalize else z

    def _codes(self) -> Any:
        codebook = ops.convert_to_tensor(self.codebook)
        if self.normalize:
            return _l2_normalize(codebook, self.epsilon)
        return codebook

    def _nearest(self, z: Any) -> Any:
        """Indices of the codes of highest cosine similarity to ``z``."""
        z_unit = z if self.normalize else _l2_normalize(z, self.epsilon)
        codes_unit = _l2_normalize(ops.convert_to_tensor(self.codebook), self.epsilon)
        similarity = ops.matmul(z_unit, ops.transpose(codes_unit))
        return ops.cast(ops.argmax(similarity, axis=-1), "int32")

    def quantize_embedding(self, z: Any) -> tuple[Any, Any, Any]:
        """Quantises a projected embedding ``z`` with the straight-through
        estimator.

        Args:
            z: Projected embedding of shape ``(..., code_dim)``, as returned
                by :meth:`project`.

        Returns:
            ``(out, q, indices)``: ``out = z + stop_gradient(q - z)`` (value
            ``q``, identity Jacobian w.r.t. ``z``), the selected codes ``q``
            (differentiable w.r.t. the codebook) and the int32 indices.
        """
        indices = self._nearest(ops.stop_gradient(z))
        if self.initial_temperature is not None:
            q = ops.matmul(self.soft_weights(z), self._codes())
            return q, q, indices
        q = ops.take(self._codes(), indices, axis=0)
        out = z + ops.stop_gradient(q - z)
        return out, q, indices

    def soft_weights(self, z: Any) -> Any:
        """The soft assignment ``softmax_j(cos(z, c_j) / T)`` of a projected
        embedding ``z`` to the codes, shape ``(..., num_codes)``, at the
        layer's current ``temperature`` variable ``T`` (soft mode only)."""
        if self.initial_temperature is None:
            raise ValueError("`soft_weights` needs a soft quantiser: pass `temperature`. Received: temperature=None")
        z_unit = z if self.normalize else _l2_normalize(z, self.epsilon)
        codes_unit = _l2_normalize(ops.convert_to_tensor(self.codebook), self.epsilon)
        similarity = ops.matmul(z_unit, ops.transpose(codes_unit))
        temperature = ops.cast(ops.convert_to_tensor(self.temperature), similarity.dtype)
        return ops.softmax(similarity / temperature, axis=-1)

    def compute_vq_losses(self, z: Any, q: Any) -> tuple[Any, Any]:
        """The weighted ``(codebook_loss, commitment_loss)`` for ``z``, ``q``."""
        codebook_loss = ops.mean(ops.sum(ops.square(ops.stop_gradient(z) - q), axis=-1))
        commitment_loss = ops.mean(ops.sum(ops.square(z - ops.stop_gradient(q)), axis=-1))
        return (
            self.codebook_weight * codebook_loss,
            self.commitment_weight * commitment_loss,
        )

    def call(self, inputs: Any) -> Any:
        z = self.project(inputs)
        out, q, indices = self.quantize_embedding(z)
        codebook_loss, commitment_loss = self.compute_vq_losses(z, q)
        self.add_loss(codebook_loss + commitment_loss)
        if self.concat_input:
            out = ops.concatenate([ops.cast(inputs, out.dtype), out], axis=-1)
        if self.return_indices:
            return out, indices
        return out

    def compute_output_shape(self, input_shape: tuple) -> Any:
        input_shape = tuple(input_shape)
        width: int | None = self.code_dim
        if self.concat_input:
            width = None if input_shape[-1] is None else (input_shape[-1] + self.code_dim)
        out_shape = input_shape[:-1] + (width,)
        if self.return_indices:
            return out_shape, input_shape[:-1]
        return out_shape

    def compute_output_spec(self, inputs: Any) -> Any:
        shape = self.compute_output_shape(inputs.shape)
        if self.return_indices:
            return (
                keras.KerasTensor(shape[0], dtype=self.compute_dtype),
                keras.KerasTensor(shape[1], dtype="int32"),
            )
        return keras.KerasTensor(shape, dtype=self.compute_dtype)

    # -- codebook usage and maintenance (outside the training graph) --

    def _code_fractions(self, inputs: Any) -> Any:
        z = ops.stop_gradient(self.project(inputs))
        indices = ops.reshape(self._nearest(z), (-1,))
        one_hot = ops.one_hot(indices, self.num_codes, dtype=z.dtype)
        return ops.mean(one_hot, axis=0), z

    def usage(self, inputs: Any) -> dict[str, Any]:
        """Codebook usage on a batch.

        Args:
            inputs: A batch of the layer's inputs, shape ``(..., features)``.

        Returns:
            A dict of scalar tensors: ``perplexity``, ``exp(-sum p log p)``
            of the code frequencies ``p`` (1 when a single code is used,
            ``num_codes`` when all are used equally), and ``fraction_used``,
            the fraction of codes selected at least once.
        """
        fractions, _ = self._code_fractions(inputs)
        safe = ops.where(fractions > 0, fractions, ops.ones_like(fractions))
        entropy = -ops.sum(fractions * ops.log(safe))
        return {
            "perplexity": ops.exp(entropy),
            "fraction_used": ops.mean(ops.cast(fractions > 0, fractions.dtype)),
        }

    def reinitialize_dead_codes(
        self,
        inputs: Any,
        threshold: float | None = None,
        seed: int | None = None,
    ) -> int:
        """Re-assigns rarely used codes to randomly chosen current embeddings.

        A code is dead when it is selected by fewer than ``threshold`` times
        the number of inputs of the batch. Each dead code is assigned the
        projected embedding of a randomly chosen input (normalised if
        ``normalize``). This writes the codebook variable directly: call it
        outside the compiled training step, e.g. from a callback's
        ``on_epoch_end``.

        Args:
            inputs: A batch of the layer's inputs, shape ``(..., features)``.
            threshold: Fraction in ``[0, 1]``. Defaults to the layer's
                ``dead_code_threshold``.
            seed: Optional integer seed of the random choice of embeddings.

        Returns:
            The number of codes re-initialised.
        """
        if threshold is None:
            threshold = self.dead_code_threshold
        if threshold is None:
            raise ValueError(
                "`threshold` must be given when the layer has no `dead_code_threshold`. Received: threshold=None"
            )
        threshold = _validation.fraction(threshold, "threshold")
        fractions, z = self._code_fractions(inputs)
        z = ops.reshape(z, (-1, self.code_dim))
        dead = fractions < threshold
        n_dead = int(ops.convert_to_numpy(ops.sum(ops.cast(dead, "int32"))))
        if n_dead == 0:
            return 0
        choice = keras.random.randint((self.num_codes,), 0, ops.shape(z)[0], seed=seed)
        candidates = ops.cast(ops.take(z, choice, axis=0), self.codebook.dtype)
        current = ops.convert_to_tensor(self.codebook)
        self.codebook.assign(ops.where(dead[:, None], candidates, current))
        return n_dead

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "num_codes": self.num_codes,
                "code_dim": self.code_dim,
                "commitment_weight": self.commitment_weight,
                "codebook_weight": self.codebook_weight,
                "return_indices": self.return_indices,
                "concat_input": self.concat_input,
                "dead_code_threshold": self.dead_code_threshold,
                "normalize": self.normalize,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "codebook_initializer": keras.initializers.serialize(self.codebook_initializer),
                "epsilon": self.epsilon,
                "temperature": self.initial_temperature,
            }
        )
        return config


# ---------------------------------------------------------------------------
# Rankine-Hugoniot-coupled two-code quantiser (a shock-fitting network)
# ---------------------------------------------------------------------------

_FLUXES = ("buckley_leverett", "burgers")


def conservation_flux(u: Any, flux: str, m: float = 2.0) -> Any:
    """The flux ``f(u)`` of a scalar conservation law ``u_t + f(u)_x = 0``.

    Args:
        u: tensor of states.
        flux: ``"buckley_leverett"`` (``u^2 / (u^2 + (1 - u)^2 / m)``) or
            ``"burgers"`` (``u^2 / 2``).
        m: mobility ratio of the Buckley-Leverett flux.
    """
    if flux == "burgers":
        return 0.5 * ops.square(u)
    if flux == "buckley_leverett":
        u2 = ops.square(u)
        return u2 / (u2 + ops.square(1.0 - u) / m)
    raise ValueError(f"`flux` must be one of {_FLUXES}. Received: flux={flux!r}")


def rankine_hugoniot_penalty(u_left: Any, u_right: Any, speed: Any, flux: str, m: float = 2.0, mask: Any = None) -> Any:
    """Mean squared violation of the Rankine-Hugoniot jump condition.

    ``mean_i (s (u_L - u_R) - (f(u_L) - f(u_R)))^2`` over the points with
    ``mask`` (all when None; 0 when no point is masked in).

    Args:
        u_left: states just left of the discontinuity (smaller ``x``), ``(n,)``.
        u_right: states just right of it, ``(n,)``.
        speed: the discontinuity's speed ``s = dx/dt`` (scalar or ``(n,)``).
        flux: see :func:`conservation_flux`.
        m: mobility ratio of the Buckley-Leverett flux.
        mask: optional ``(n,)`` weights (1 in, 0 out).
    """
    jump = speed * (u_left - u_right) - (conservation_flux(u_left, flux, m) - conservation_flux(u_right, flux, m))
    return _masked_mean(ops.square(jump), mask)


def oleinik_penalty(
    u_left: Any, u_right: Any, speed: Any, flux: str, m: float = 2.0, n_samples: int = 8, mask: Any = None
) -> Any:
    """Squared-hinge violation of Oleinik's entropy condition.

    Oleinik's condition (LeVeque 1992, eq. 3.47): for every ``u`` between
    ``u_L`` and ``u_R``::

        (f(u) - f(u_L)) / (u - u_L)  >=  s  >=  (f(u) - f(u_R)) / (u - u_R)

    With ``u = u_R + theta (u_L - u_R)``, ``theta_j = j / (n_samples + 1)``
    (``j = 1 .. n_samples``), ``D = u_L - u_R`` and the chord gaps
    ``g_R = f(u) - f(u_R) - s (u - u_R)`` and ``g_L = f(u) - f(u_L) - s (u - u_L)``,
    the two inequalities read ``D g_R <= 0`` and ``D g_L <= 0`` (no division
    by a vanishing jump), and the penalty is::

        mean_{i, j} (relu(D g_R)^2 + relu(D g_L)^2)

    over the points with ``mask``.

    Args:
        u_left, u_right, speed, flux, m, mask: as in
            :func:`rankine_hugoniot_penalty`.
        n_samples: interior states per point, ``>= 1``.
    """
    n_samples = _validation.integer(n_samples, "n_samples")
    theta = ops.convert_to_tensor([(j + 1) / (n_samples + 1) for j in range(n_samples)], dtype=u_left.dtype)
    ul, ur = u_left[:, None], u_right[:, None]
    s = speed[:, None] if len(ops.shape(speed)) == 1 else speed
    delta = ul - ur
    u = ur + theta[None, :] * delta
    f_u = conservation_flux(u, flux, m)
    gap_right = f_u - conservation_flux(ur, flux, m) - s * (u - ur)
    gap_left = f_u - conservation_flux(ul, flux, m) - s * (u - ul)
    hinge = ops.square(ops.relu(delta * gap_right)) + ops.square(ops.relu(delta * gap_left))
    return _masked_mean(ops.mean(hinge, axis=1), mask)


def _masked_mean(values: Any, mask: Any) -> Any:
    if mask is None:
        return ops.mean(values)
    mask = ops.cast(mask, values.dtype)
    return ops.sum(values * mask) / ops.maximum(ops.sum(mask), 1.0)


@keras.saving.register_keras_serializable(package="keras_pinn")
class RankineHugoniotQuantizer(keras.layers.Layer):
    """A two-code quantiser of space-time whose code boundary is a shock.

    Fits one discontinuity of a scalar conservation law ``u_t + f(u)_x = 0``
    in one space dimension. Two trainable codes ``c_0, c_1`` live in the
    scaled coordinates ``p = 2 (x - lower) / (upper - lower) - 1`` (space
    first, time last). Each point is assigned the nearest code, computed from
    ``stop_gradient(p)``, so the region index is piecewise constant and the
    input derivatives of the output are exactly those of the selected
    branch (no straight-through mismatch in the PDE residual). A code region
    is a half-plane: the boundary is the perpendicular bisector of the
    codes, a straight line ``x = x_b(t)`` of speed ``s = dx_b/dt``.

    A tanh MLP on ``p`` with two outputs gives one state per region::

        u(x, t) = U_k(p)    with k the code nearest to stop_gradient(p)

    The regions are coupled on the boundary (what hard, independent
    sub-domains lack): at ``n_boundary`` points of the bisector (evenly
    spaced in ``t``, differentiable w.r.t. the codes, so the penalties move
    the boundary) the layer evaluates the left state ``u_L`` (the region of
    smaller ``x``) and the right state ``u_R`` and adds, with ``add_loss`` on
    every call::

        rh_weight      * rankine_hugoniot_penalty(u_L, u_R, s)
        entropy_weight * oleinik_penalty(u_L, u_R, s)

    (see :func:`rankine_hugoniot_penalty` and :func:`oleinik_penalty`);
    boundary points outside the domain (``|p_x| > 1``) are left out.

    Initial boundary: the codes are initialised so that the bisector passes
    through the lower-left corner ``(x, t) = (lower_x, lower_t)`` with a
    speed drawn uniformly from ``initial_speed`` (physical units), plus
    ``N(0, code_noise)`` on every code coordinate.

    Args:
        units: width of the MLP's hidden layers.
        depth: number of hidden layers.
        lower: the domain's lower corner ``(x_min, t_min)``.
        upper: the domain's upper corner ``(x_max, t_max)``.
        flux: ``"buckley_leverett"`` or ``"burgers"`` (see
            :func:`conservation_flux`).
        m: mobility ratio of the Buckley-Leverett flux.
        n_boundary: boundary points per call.
        n_entropy: interior states per boundary point of the Oleinik penalty.
        rh_weight: weight of the Rankine-Hugoniot penalty, ``>= 0``.
        entropy_weight: weight of the Oleinik penalty, ``>= 0``.
        initial_speed: ``(low, high)`` range of the initial boundary speed.
        code_noise: standard deviation of the noise on the initial codes.
        seed: seed of the initial speed and noise (None: Keras's global seed).
        conservation_weight: weight of the integral conservation penalty,
            ``>= 0`` (0, the default, leaves it out): at the times
            ``t_k = t_min + k (t_max - t_min) / n_times``, the mass
            ``int u(x, t_k) dx`` (each side of the boundary integrated with
            its own branch, ``n_quadrature`` midpoints per side, so the
            mass is differentiable w.r.t. the boundary's position) minus the
            mass at ``t_min`` must equal the net inflow
            ``int (f(u(x_min, t)) - f(u(x_max, t))) dt`` (midpoint rule);
            the penalty is the mean squared imbalance over the ``t_k``.
        n_times: times of the conservation penalty.
        n_quadrature: quadrature points per side and per time interval.
        boundary_width: 0 (default), or the width ``delta`` (scaled
            units) of a surrogate gradient of the assignment w.r.t. the
            codes: the output becomes
            ``u_k + (w - stop_gradient(w)) (U_1 - U_0)`` with
            ``w = sigmoid(signed distance of stop_gradient(p) to the
            boundary / delta)``. Its value and its input derivatives are
            those of the selected branch; only the codes' gradient sees
            that moving the boundary switches nearby points to the other
            branch, so every loss term (PDE, initial and boundary
            conditions) can move the boundary.
        code_step: the codes are ``code_step`` times the trainable
            variable, so that an optimizer step moves them ``code_step``
            times as far (Adam's step is about the learning rate whatever
            the gradient's scale). Defaults to 1.

    Input shape:
        ``(N, 2)`` physical coordinates ``(x, t)``.

    Output shape:
        ``(N, 1)``.
    """

    units: int
    depth: int
    lower: list[float]
    upper: list[float]
    flux: str
    m: float
    n_boundary: int
    n_entropy: int
    rh_weight: float
    entropy_weight: float
    initial_speed: tuple[float, float]
    code_noise: float
    seed: int | None
    conservation_weight: float
    n_times: int
    n_quadrature: int
    code_step: float
    boundary_width: float
    hidden: list[Any]
    head: Any
    codebook: Any

    def __init__(
        self,
        units: int = 20,
        depth: int = 3,
        lower: Any = (0.0, 0.0),
        upper: Any = (1.0, 1.0),
        flux: str = "buckley_leverett",
        m: float = 2.0,
        n_boundary: int = 32,
        n_entropy: int = 8,
        rh_weight: float = 1.0,
        entropy_weight: float = 1.0,
        initial_speed: Any = (0.5, 3.0),
        code_noise: float = 0.02,
        seed: int | None = None,
        conservation_weight: float = 0.0,
        n_times: int = 4,
        n_quadrature: int = 64,
        code_step: float = 1.0,
        boundary_width: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.units = _validation.integer(units, "units")
        self.depth = _validation.integer(depth, "depth")
        self.lower = [float(v) for v in lower]
        self.upper = [float(v) for v in upper]
        if len(self.lower) != 2 or len(self.upper) != 2 or not all(h > lo for lo, h in zip(self.lower, self.upper)):
            raise ValueError(
                f"`lower` and `upper` must be (x, t) corners with upper > lower. Received: lower={lower!r}, "
                f"upper={upper!r}"
            )
        if flux not in _FLUXES:
            raise ValueError(f"`flux` must be one of {_FLUXES}. Received: flux={flux!r}")
        self.flux = flux
        if isinstance(m, bool) or not isinstance(m, numbers.Real) or not float(m) > 0:
            raise ValueError(f"`m` must be a number > 0. Received: m={m!r}")
        self.m = float(m)
        self.n_boundary = _validation.integer(n_boundary, "n_boundary")
        self.n_entropy = _validation.integer(n_entropy, "n_entropy")
        self.rh_weight = _validation.non_negative(rh_weight, "rh_weight")
        self.entropy_weight = _validation.non_negative(entropy_weight, "entropy_weight")
        low, high = (float(v) for v in initial_speed)
        if not 0 < low <= high:
            raise ValueError(
                f"`initial_speed` must be (low, high) with 0 < low <= high. Received: initial_speed={initial_speed!r}"
            )
        self.initial_speed = (low, high)
        self.code_noise = _validation.non_negative(code_noise, "code_noise")
        self.seed = seed
        self.conservation_weight = _validation.non_negative(conservation_weight, "conservation_weight")
        self.n_times = _validation.integer(n_times, "n_times")
        self.n_quadrature = _validation.integer(n_quadrature, "n_quadrature")
        if isinstance(code_step, bool) or not isinstance(code_step, numbers.Real) or not float(code_step) > 0:
            raise ValueError(f"`code_step` must be a number > 0. Received: code_step={code_step!r}")
        self.code_step = float(code_step)
        self.boundary_width = _validation.non_negative(boundary_width, "boundary_width")
        self.hidden = [
            keras.layers.Dense(
                self.units,
                activation="tanh",
                kernel_initializer="glorot_normal",
                dtype=self.dtype_policy,
                name=f"dense_{i}",
            )
            for i in range(self.depth)
        ]
        self.head = keras.layers.Dense(2, kernel_initializer="glorot_normal", dtype=self.dtype_policy, name="heads")

    # -- geometry ----------------------------------------------------------

    @property
    def _half(self) -> list[float]:
        return [(h - lo) / 2.0 for lo, h in zip(self.lower, self.upper)]

    def scale(self, points: Any) -> Any:
        """Physical ``(x, t)`` to the scaled ``[-1, 1]^2``."""
        lower = ops.convert_to_tensor(self.lower, dtype=self.compute_dtype)
        half = ops.convert_to_tensor(self._half, dtype=self.compute_dtype)
        return (ops.cast(points, self.compute_dtype) - lower) / half - 1.0

    def _initial_codes(self) -> Any:
        rng = keras.random.SeedGenerator(self.seed)
        low, high = self.initial_speed
        speed = keras.random.uniform((), low, high, seed=rng)
        # Boundary through the scaled corner (-1, -1) with scaled slope
        # d xi / d eta = speed * half_t / half_x; codes symmetric about a
        # point of the line, along its normal.
        slope = speed * self._half[1] / self._half[0]
        direction = ops.stack([slope, ops.ones_like(slope)])
        direction = direction / ops.norm(direction)
        normal = ops.stack([direction[1], -direction[0]])  # points to larger x
        mid = ops.convert_to_tensor([-1.0, -1.0]) + 1.0 * direction
        codes = ops.stack([mid - 0.5 * normal, mid + 0.5 * normal])
        noise = keras.random.normal((2, 2), stddev=self.code_noise, seed=rng)
        return codes + noise

    def build(self, input_shape: tuple) -> None:
        input_shape = tuple(input_shape)
        if len(input_shape) != 2 or input_shape[-1] != 2:
            raise ValueError(
                f"`RankineHugoniotQuantizer` needs (N, 2) inputs (x, t). Received: input_shape={input_shape}"
            )
        self.codebook = self.add_weight(name="codebook", shape=(2, 2), initializer="zeros", trainable=True)
        self.codebook.assign(ops.cast(self._initial_codes() / self.code_step, self.codebook.dtype))
        shape: tuple = (None, 2)
        for layer in self.hidden:
            layer.build(shape)
            shape = (None, self.units)
        self.head.build(shape)
        self.built = True

    def codes(self) -> Any:
        """The two codes ``(2, 2)`` in scaled coordinates: ``code_step``
        times the trainable ``codebook`` variable."""
        return self.code_step * ops.convert_to_tensor(self.codebook)

    def _normal(self) -> tuple[Any, Any]:
        codes = self.codes()
        return codes[1] - codes[0], 0.5 * (codes[0] + codes[1])

    def code_indices(self, points: Any) -> Any:
        """The int32 code (region) index of each physical point ``(N, 2)``."""
        p = ops.stop_gradient(self.scale(points))
        normal, mid = self._normal()
        side = ops.sum((p - mid[None, :]) * normal[None, :], axis=-1)
        return ops.cast(side > 0, "int32")

    def shock_speed(self) -> Any:
        """The boundary's speed ``dx/dt`` in physical units."""
        normal, _ = self._normal()
        nx = _safe(normal[0])
        return -normal[1] / nx * (self._half[0] / self._half[1])

    def boundary_points(self) -> tuple[Any, Any]:
        """``(points, inside)``: ``n_boundary`` physical points of the code
        boundary at the times ``t_j`` of the midpoints of ``n_boundary``
        equal time cells, and whether each lies in the domain (float 0/1).
        Differentiable w.r.t. the codes."""
        normal, mid = self._normal()
        n = self.n_boundary
        eta = ops.convert_to_tensor([-1.0 + (2.0 * j + 1.0) / n for j in range(n)], dtype=mid.dtype)
        xi = mid[0] - (eta - mid[1]) * normal[1] / _safe(normal[0])
        inside = ops.cast(ops.abs(ops.stop_gradient(xi)) <= 1.0, xi.dtype)
        lower = ops.convert_to_tensor(self.lower, dtype=xi.dtype)
        half = ops.convert_to_tensor(self._half, dtype=xi.dtype)
        points = (ops.stack([xi, eta], axis=-1) + 1.0) * half + lower
        return points, inside

    def heads(self, points: Any) -> Any:
        """Both branches ``(N, 2)`` at physical points: column ``k`` is the
        state of code ``k``."""
        h = self.scale(points)
        for layer in self.hidden:
            h = layer(h)
        return self.head(h)

    def left_right(self, heads: Any) -> tuple[Any, Any]:
        """``(u_L, u_R)`` from :meth:`heads`: code 1 is on the right when the
        normal ``c_1 - c_0`` points to larger ``x``."""
        normal, _ = self._normal()
        code1_right = ops.stop_gradient(normal[0]) > 0
        u0, u1 = heads[:, 0], heads[:, 1]
        return ops.where(code1_right, u0, u1), ops.where(code1_right, u1, u0)

    def coupling_losses(self) -> tuple[Any, Any]:
        """The weighted ``(rankine_hugoniot, oleinik)`` penalties."""
        points, inside = self.boundary_points()
        u_left, u_right = self.left_right(self.heads(points))
        speed = self.shock_speed()
        rh = rankine_hugoniot_penalty(u_left, u_right, speed, self.flux, self.m, inside)
        entropy = oleinik_penalty(
            u_left, u_right, ops.ones_like(u_left) * speed, self.flux, self.m, self.n_entropy, inside
        )
        return self.rh_weight * rh, self.entropy_weight * entropy

    def _select(self, points: Any, surrogate: bool = False) -> Any:
        u = self.heads(points)
        index = self.code_indices(points)
        out = ops.where(index[:, None] > 0, u[:, 1:2], u[:, 0:1])
        if surrogate and self.boundary_width > 0:
            # Value 0 and no input derivative (stop-gradient coordinates):
            # only the codes' gradient sees the switch between the branches.
            p = ops.stop_gradient(self.scale(points))
            normal, mid = self._normal()
            side = ops.sum((p - mid[None, :]) * normal[None, :], axis=-1, keepdims=True)
            side = side / ops.sqrt(ops.sum(ops.square(normal)))
            w = ops.sigmoid(side / self.boundary_width)
            out = out + (w - ops.stop_gradient(w)) * (u[:, 1:2] - u[:, 0:1])
        return out

    def mass_balance(self) -> Any:
        """The unweighted conservation penalty (see ``conservation_weight``)."""
        dtype = self.compute_dtype
        (x0, t0), (x1, t1) = self.lower, self.upper
        nq, nt = self.n_quadrature, self.n_times
        nodes = ops.convert_to_tensor([(j + 0.5) / nq for j in range(nq)], dtype=dtype)
        times = [t0 + (t1 - t0) * k / nt for k in range(nt + 1)]
        speed = self.shock_speed()
        points, _ = self.boundary_points()
        x_at_t0 = points[0, 0] - speed * (points[0, 1] - t0)
        masses = []
        for t in times:
            xb = ops.clip(x_at_t0 + speed * (t - t0), x0, x1)
            left_x = x0 + (xb - x0) * nodes
            right_x = xb + (x1 - xb) * nodes
            tt = ops.full((nq,), t, dtype=dtype)
            u_left, _ = self.left_right(self.heads(ops.stack([left_x, tt], axis=-1)))
            _, u_right = self.left_right(self.heads(ops.stack([right_x, tt], axis=-1)))
            masses.append((xb - x0) * ops.mean(u_left) + (x1 - xb) * ops.mean(u_right))
        # Net inflow through x0 and x1, midpoint rule on nt * nq cells in time.
        n_cells = nt * nq
        tau = ops.convert_to_tensor([t0 + (t1 - t0) * (j + 0.5) / n_cells for j in range(n_cells)], dtype=dtype)
        inflow = conservation_flux(
            self._select(ops.stack([ops.full((n_cells,), x0, dtype=dtype), tau], -1)), self.flux, self.m
        )
        outflow = conservation_flux(
            self._select(ops.stack([ops.full((n_cells,), x1, dtype=dtype), tau], -1)), self.flux, self.m
        )
        cell = (t1 - t0) / n_cells
        net = cell * ops.cumsum(ops.sum(ops.reshape(inflow - outflow, (nt, nq)), axis=1))
        balance = ops.stack([masses[k + 1] - masses[0] for k in range(nt)]) - net
        return ops.mean(ops.square(balance))

    def call(self, inputs: Any) -> Any:
        out = self._select(inputs, surrogate=True)
        rh, entropy = self.coupling_losses()
        loss = rh + entropy
        if self.conservation_weight > 0:
            loss = loss + self.conservation_weight * self.mass_balance()
        self.add_loss(loss)
        return out

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)[:-1] + (1,)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "depth": self.depth,
                "lower": list(self.lower),
                "upper": list(self.upper),
                "flux": self.flux,
                "m": self.m,
                "n_boundary": self.n_boundary,
                "n_entropy": self.n_entropy,
                "rh_weight": self.rh_weight,
                "entropy_weight": self.entropy_weight,
                "initial_speed": list(self.initial_speed),
                "code_noise": self.code_noise,
                "seed": self.seed,
                "conservation_weight": self.conservation_weight,
                "n_times": self.n_times,
                "n_quadrature": self.n_quadrature,
                "code_step": self.code_step,
                "boundary_width": self.boundary_width,
            }
        )
        return config


def _safe(value: Any, floor: float = 1e-6) -> Any:
    """``value`` pushed away from 0 to ``+-floor`` (sign kept, 0 -> +floor)."""
    sign = ops.where(value < 0, -ops.ones_like(value), ops.ones_like(value))
    return sign * ops.maximum(ops.abs(value), floor)
