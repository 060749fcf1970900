"""Vector quantisation with a cosine-similarity codebook (the article's idea 4)."""

from __future__ import annotations

import math
import numbers
from typing import Any

import keras
from keras import ops

__all__ = ["VectorQuantizer"]


def _l2_normalize(x: Any, epsilon: float) -> Any:
    norm_sq = ops.sum(ops.square(x), axis=-1, keepdims=True)
    return x * ops.rsqrt(ops.maximum(norm_sq, epsilon))


def _check_int(name: str, value: Any, minimum: int = 1) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value < minimum
    ):
        raise ValueError(
            f"`{name}` must be an integer >= {minimum}. Received: {name}={value!r}"
        )
    return int(value)


def _check_weight(name: str, value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(float(value))
        or value < 0
    ):
        raise ValueError(
            f"`{name}` must be a finite number >= 0. Received: {name}={value!r}"
        )
    return float(value)


def _check_fraction(name: str, value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not 0 <= float(value) <= 1
    ):
        raise ValueError(
            f"`{name}` must be a number in [0, 1]. Received: {name}={value!r}"
        )
    return float(value)


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
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.num_codes = _check_int("num_codes", num_codes)
        self.code_dim = _check_int("code_dim", code_dim)
        self.commitment_weight = _check_weight(
            "commitment_weight", commitment_weight
        )
        self.codebook_weight = _check_weight("codebook_weight", codebook_weight)
        self.dead_code_threshold = (
            None
            if dead_code_threshold is None
            else _check_fraction("dead_code_threshold", dead_code_threshold)
        )
        if (
            isinstance(epsilon, bool)
            or not isinstance(epsilon, numbers.Real)
            or not math.isfinite(float(epsilon))
            or not float(epsilon) > 0
        ):
            raise ValueError(
                f"`epsilon` must be a finite number > 0. Received: epsilon={epsilon!r}"
            )
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
        self.input_spec = keras.InputSpec(
            min_ndim=2, axes={-1: input_shape[-1]}
        )
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
        codes_unit = _l2_normalize(
            ops.convert_to_tensor(self.codebook), self.epsilon
        )
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
        q = ops.take(self._codes(), indices, axis=0)
        out = z + ops.stop_gradient(q - z)
        return out, q, indices

    def compute_vq_losses(self, z: Any, q: Any) -> tuple[Any, Any]:
        """The weighted ``(codebook_loss, commitment_loss)`` for ``z``, ``q``."""
        codebook_loss = ops.mean(
            ops.sum(ops.square(ops.stop_gradient(z) - q), axis=-1)
        )
        commitment_loss = ops.mean(
            ops.sum(ops.square(z - ops.stop_gradient(q)), axis=-1)
        )
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
        width = self.code_dim
        if self.concat_input:
            width = None if input_shape[-1] is None else (
                input_shape[-1] + self.code_dim
            )
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
                "`threshold` must be given when the layer has no "
                "`dead_code_threshold`. Received: threshold=None"
            )
        threshold = _check_fraction("threshold", threshold)
        fractions, z = self._code_fractions(inputs)
        z = ops.reshape(z, (-1, self.code_dim))
        dead = fractions < threshold
        n_dead = int(ops.convert_to_numpy(ops.sum(ops.cast(dead, "int32"))))
        if n_dead == 0:
            return 0
        choice = keras.random.randint(
            (self.num_codes,), 0, ops.shape(z)[0], seed=seed
        )
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
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
                "codebook_initializer": keras.initializers.serialize(
                    self.codebook_initializer
                ),
                "epsilon": self.epsilon,
            }
        )
        return config
