"""Backend-independent bookkeeping shared by the derivative engines."""

import contextlib
import threading
import types

_local = threading.local()


@contextlib.contextmanager
def watch_point_mixing():
    """Yields a record whose ``mixed`` turns true when a layer called inside
    the ``with`` block reports, through :func:`note_point_mixing`, that its
    output for one point depends on other points' inputs. The engines run
    the forward pass inside it to pick how they compute the derivative
    (see :class:`ReverseModeCache`)."""
    record = types.SimpleNamespace(mixed=False)
    stack = _local.__dict__.setdefault("stack", [])
    stack.append(record)
    try:
        yield record
    finally:
        stack.pop()


def note_point_mixing():
    """Reports that the layer being called mixes points: its output for one
    row depends on other rows' inputs (:class:`keras_pinn.layers.GridConv`
    calls it). A no-op outside a derivative engine's forward pass."""
    for record in getattr(_local, "stack", ()):
        record.mixed = True


def _merge(index, j):
    return tuple(sorted(index + (j,)))


class ReverseModeCache:
    """Lazy, cached partial derivatives for reverse-mode engines.

    The derivative along input column ``j`` is the one all engines compute
    (``docs/derivatives.md``): ``D_j u_i = sum_k du_i/dx_kj``, the
    derivative of each output row when every point moves together along
    ``j`` (a Jacobian-vector product with the tangent ``e_j`` on every row,
    what forward mode gives).

    For networks that treat each point on its own (``du_i/dx_k = 0`` for
    ``k != i``) that is the pointwise derivative, and one reverse pass of
    ``sum(D_index u_c)``, which gives ``sum_k du_k/dx_ij`` (a
    vector-Jacobian product), yields it along every input dimension at once:
    asking for ``u_x`` also caches ``u_t``, and asking for ``u_xx`` reuses
    ``u_x``. When a layer of the forward pass mixes points
    (``mixes_points``, reported through :func:`note_point_mixing`) the two
    differ, and subclasses compute the Jacobian-vector product by reverse
    mode twice (the VJP ``J^T w`` is linear in ``w``; its gradient with
    respect to ``w`` along ``e_j`` is ``J e_j``): one pass more than
    dimensions instead of one.

    Mixed partials are keyed by their sorted multi-index (the networks are
    smooth, so ``u_xt == u_tx``).

    Subclasses implement ``_grad(target)`` returning the ``(N, d)`` columns
    ``D_j target``, ``j = 0 .. d - 1``.
    """

    def __init__(self, outputs, n_inputs, mixes_points=False):
        self.outputs = outputs
        self.mixes_points = bool(mixes_points)
        self._n_inputs = n_inputs
        self._cache = {}
        self.passes = 0  # derivative passes run, for tests of the cache

    def partial(self, component, index):
        key = (component, index)
        if key in self._cache:
            return self._cache[key]
        if not index:
            value = self.outputs[:, component : component + 1]
            self._cache[key] = value
            return value
        parent_index = index[:-1]
        parent = self.partial(component, parent_index)
        grad = self._grad(parent)
        self.passes += 1
        for j in range(self._n_inputs):
            self._cache.setdefault((component, _merge(parent_index, j)), grad[:, j : j + 1])
        return self._cache[key]
