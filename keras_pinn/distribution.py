"""Checks for training a :class:`~keras_pinn.PINNModel` under a
``keras.distribution`` (``DataParallel`` on JAX, see ``docs/distribution.md``).

keras-pinn has no distribution layer of its own: Keras's JAX trainer shards
every array of the step's batch along its first axis over the mesh's batch
axis and replicates the weights. Each term's point set is one array of that
batch, so its number of points must divide evenly into the shards; JAX's own
error for an uneven split names only an array shape. :func:`check_point_counts`
names the term and the argument that set its size instead.

Uses only the public ``keras.distribution`` API (no backend import).
"""

from __future__ import annotations

import keras

__all__ = ["check_point_counts", "data_shards"]


def data_shards(shape, distribution=None) -> int:
    """Number of pieces the first axis of an array of ``shape`` is split into
    under ``distribution`` (the current ``keras.distribution.distribution()``
    by default); 1 when there is none or it leaves that axis whole."""
    distribution = keras.distribution.distribution() if distribution is None else distribution
    if distribution is None:
        return 1
    layout = distribution.get_data_layout(tuple(shape))
    if layout is None or not layout.axes or layout.axes[0] is None:
        return 1
    mesh = layout.device_mesh or distribution.device_mesh
    names = layout.axes[0] if isinstance(layout.axes[0], (tuple, list)) else (layout.axes[0],)
    count = 1
    for name in names:
        count *= int(mesh.shape[list(mesh.axis_names).index(name)])
    return count


def check_point_counts(model, distribution=None) -> None:
    """Raises ValueError when a term of ``model`` holds a number of points
    that does not split evenly over the data shards of ``distribution``
    (the current one by default). Does nothing without a distribution."""
    distribution = keras.distribution.distribution() if distribution is None else distribution
    if distribution is None:
        return
    for name, batch in model.point_sets().items():
        for key, array in batch.items():
            shards = data_shards(array.shape, distribution)
            n = array.shape[0]
            if n % shards:
                raise ValueError(
                    f"Under {type(distribution).__name__}, every point set is split over {shards} "
                    f"data shards, so each term's number of points must be a multiple of {shards}. "
                    f"Term {name!r} holds {n} points ({key!r}), set by {_source(model, name, n)}. "
                    f"Use a multiple of {shards}, e.g. {n - n % shards or shards} or {n + shards - n % shards}."
                )


def _source(model, name, n):
    """What set the size ``n`` of term ``name``, e.g. ``n_collocation=1000``."""
    term = model.term(name)
    if term.points is not None:
        if len(term.points) == n:
            return f"the {n} `points` given to {type(term).__name__}(name={name!r})"
        return f"model.set_points({name!r}, ...)"
    if name == "pde":
        argument, configured = "n_collocation", model.n_collocation
    else:
        argument, configured = f"{type(term).__name__}(name={name!r}) n_points", term.n_points
    if term.sampler == "grid":
        return f"{argument}={configured!r} with sampler='grid'"
    if n != configured:
        return f"model.set_points({name!r}, ...)"
    return f"{argument}={configured!r}"
