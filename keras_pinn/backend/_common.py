"""Backend-independent bookkeeping shared by the derivative engines."""


def _merge(index, j):
    return tuple(sorted(index + (j,)))


class ReverseModeCache:
    """Lazy, cached partial derivatives for reverse-mode engines.

    One reverse pass of ``sum(D_index u_c)`` gives the derivatives of
    ``D_index u_c`` along every input dimension at once, so asking for
    ``u_x`` also caches ``u_t``, and asking for ``u_xx`` reuses ``u_x``.
    Mixed partials are keyed by their sorted multi-index (the networks are
    smooth, so ``u_xt == u_tx``).

    Subclasses implement ``_grad(target)`` returning ``d sum(target) / dx`` of
    shape ``(N, d)``.
    """

    def __init__(self, outputs, n_inputs):
        self.outputs = outputs
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
            self._cache.setdefault(
                (component, _merge(parent_index, j)), grad[:, j : j + 1]
            )
        return self._cache[key]
