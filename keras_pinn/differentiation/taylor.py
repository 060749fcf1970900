"""Taylor mode: input derivatives pushed forward through the network in
closed form, written once in ``keras.ops`` for every backend.

For networks built from layers whose derivatives are known (``kp.layers.MLP``,
``keras.layers.Dense`` and ``keras.layers.Activation`` with a supported
activation, ``kp.layers.DomainScaler``, the other layers of
:mod:`keras_pinn.layers` that register a rule, and ``keras.Sequential`` stacks
or functional chains of them), the derivatives ``D_j u, D_j^2 u, ..., D_j^k u`` along one input
coordinate ``j`` (``k <= 4``) are propagated layer by layer next to the
values: a linear map carries each order through its kernel, an activation
``a = s(z)`` composes them by Faa di Bruno's formula,

    a1 = s' z1
    a2 = s' z2 + s'' z1^2
    a3 = s' z3 + 3 s'' z1 z2 + s''' z1^3
    a4 = s' z4 + s'' (4 z1 z3 + 3 z2^2) + 6 s''' z1^2 z2 + s'''' z1^4

so one forward pass per input coordinate gives every order along it, and
the gradient with respect to the weights is one ordinary backward pass,
with no derivative of a derivative (which is what lets ``torch.compile``
compile a PINN step: it cannot compile a double backward). The values of a
layer (its activations) are computed once and shared by every coordinate.
Mixed partials such as ``u_xt`` are not pushed forward:
:class:`~keras_pinn.differentiation.Derivatives` takes them from the backend's
autodiff engine.

Each layer's rule lives in a registry, filled with :func:`register_rule` by
the module that defines the layer (``kp.layers.MLP`` in ``layers/mlp.py``,
...); this module registers the rules of Keras's own ``Dense``,
``Activation`` and ``Sequential``/functional chains. Activations likewise:
:func:`register_activation_rule` gives an activation's derivatives (this
module registers Keras's ``tanh``, ``sigmoid``, ``softplus``, ``linear`` and
``keras.ops.sin``; :mod:`keras_pinn.activations` registers its ``sin``).

This is the same arithmetic as Taylor-mode automatic differentiation
(``jax.experimental.jet``) restricted to one direction and to the layers
above; see Griewank & Walther, *Evaluating Derivatives*, ch. 13.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import keras
from keras import ops

from keras_pinn import backend as _backend

__all__ = [
    "MAX_ORDER",
    "SUPPORTED",
    "activation_primal",
    "activation_push",
    "activation_supported",
    "add_push",
    "compose",
    "linear_push",
    "primal",
    "product_push",
    "push",
    "register_activation_rule",
    "register_rule",
    "sin_cos_push",
    "supports",
    "unit_series",
]

#: Highest derivative order pushed forward along one coordinate.
MAX_ORDER = 4

#: The networks :func:`supports` accepts, in words (for error messages).
SUPPORTED = (
    "kp.layers.MLP, Dense, Activation or DomainScaler with a tanh, sigmoid, softplus, sin or linear "
    "activation, or a keras.Sequential or functional chain of them"
)


# -- activations: (a, z, order) -> [s', s'', ..., s^(order)] ------------------
_ACTIVATION_RULES: dict[Any, Callable] = {}


def register_activation_rule(activation: Callable, derivatives_fn: Callable) -> None:
    """Registers Taylor mode's rule for the activation function ``activation``.

    Args:
        activation: the activation function, as layers hold it (e.g.
            ``keras.activations.tanh``); it must be hashable.
        derivatives_fn: ``derivatives_fn(a, z, order) -> [s', s'', ...]``:
            the activation's first ``order`` derivatives (``order <=``
            :data:`MAX_ORDER`) at the pre-activations ``z``, where ``a`` is its
            value there (many derivatives are cheapest written in ``a``, e.g.
            ``tanh' = 1 - a^2``).

    Example:

    ```python
    def sin_derivatives(a, z, order):
        c = keras.ops.cos(z)
        return [c, -a, -c, a][:order]

    register_activation_rule(my_sin, sin_derivatives)
    ```
    """
    if not callable(activation):
        raise ValueError(f"`activation` must be callable. Received: activation={activation!r}")
    if not callable(derivatives_fn):
        raise ValueError(f"`derivatives_fn` must be callable. Received: derivatives_fn={derivatives_fn!r}")
    try:
        _ACTIVATION_RULES[activation] = derivatives_fn
    except TypeError as error:
        raise ValueError(f"`activation` must be hashable. Received: activation={activation!r}") from error


def _tanh_series(a, z, order):
    s1 = 1.0 - a * a
    out = [s1]
    if order >= 2:
        out.append(-2.0 * a * s1)
    if order >= 3:
        out.append(-2.0 * s1 * (1.0 - 3.0 * a * a))
    if order >= 4:
        out.append(8.0 * a * s1 * (2.0 - 3.0 * a * a))
    return out


def _sigmoid_series(a, z, order):
    p = a * (1.0 - a)
    out = [p]
    if order >= 2:
        out.append(p * (1.0 - 2.0 * a))
    if order >= 3:
        out.append(p * (1.0 - 6.0 * a + 6.0 * a * a))
    if order >= 4:
        out.append(p * (1.0 - 2.0 * a) * (1.0 - 12.0 * a + 12.0 * a * a))
    return out


def _softplus_series(a, z, order):
    s = ops.sigmoid(z)
    return [s] + _sigmoid_series(s, z, order - 1) if order > 1 else [s]


def _sin_series(a, z, order):
    c = ops.cos(z)
    return [c, -a, -c, a][:order]


register_activation_rule(keras.activations.tanh, _tanh_series)
register_activation_rule(keras.activations.sigmoid, _sigmoid_series)
register_activation_rule(keras.activations.softplus, _softplus_series)
register_activation_rule(ops.tanh, _tanh_series)
register_activation_rule(ops.sigmoid, _sigmoid_series)
register_activation_rule(ops.softplus, _softplus_series)
register_activation_rule(ops.sin, _sin_series)


def _activation_rule(fn):
    """``"linear"``, or ``series(a, z, order)`` giving the activation's
    derivatives 1..order at ``z`` (``a`` its value there); None when the
    activation has no rule."""
    if fn is None or fn is keras.activations.linear:
        return "linear"
    try:
        return _ACTIVATION_RULES.get(fn)
    except TypeError:  # an unhashable callable object
        return None


def _compose(derivs, zs):
    """Faa di Bruno: the series of ``s(z)`` from ``s``'s derivatives
    ``derivs`` and ``z``'s series ``zs`` (None entries are zero)."""

    def mul(*factors):
        if any(f is None for f in factors):
            return None
        out = factors[0]
        for f in factors[1:]:
            out = out * f
        return out

    def add(*terms):
        terms = tuple(t for t in terms if t is not None)
        if not terms:
            return None
        out = terms[0]
        for t in terms[1:]:
            out = out + t
        return out

    order = len(zs)
    z1 = zs[0]
    z2 = zs[1] if order >= 2 else None
    z3 = zs[2] if order >= 3 else None
    z4 = zs[3] if order >= 4 else None
    s1 = derivs[0]
    out = [mul(s1, z1)]
    if order >= 2:
        z1sq = mul(z1, z1)
        out.append(add(mul(s1, z2), mul(derivs[1], z1sq)))
    if order >= 3:
        out.append(add(mul(s1, z3), mul(3.0, derivs[1], z1, z2), mul(derivs[2], z1sq, z1)))
    if order >= 4:
        inner = add(mul(4.0, z1, z3), mul(3.0, z2, z2))
        out.append(add(mul(s1, z4), mul(derivs[1], inner), mul(6.0, derivs[2], z1sq, z2), mul(derivs[3], z1sq, z1sq)))
    return out


# -- the registry of layer rules ---------------------------------------------
class _Rule(NamedTuple):
    supports: Callable[[Any], bool]
    primal: Callable[[Any, Any], tuple[Any, Any]]
    push: Callable[[Any, Any, list], list]


_LAYER_RULES: dict[type, _Rule] = {}


def register_rule(
    layer_class: type,
    primal_fn: Callable[[Any, Any], tuple[Any, Any]],
    push_fn: Callable[[Any, Any, list], list],
    supports_fn: Callable[[Any], bool] | None = None,
) -> None:
    """Registers Taylor mode's rule for ``layer_class`` (and its subclasses).

    The module that defines a layer registers its rule, next to the layer
    (see ``keras_pinn/layers/mlp.py``); the rule of the nearest class in a
    layer's method resolution order applies. The helpers of this module
    (:func:`linear_push`, :func:`activation_primal`, :func:`activation_push`,
    :func:`compose`, :func:`product_push`, :func:`add_push`, ...) are the
    building blocks of such rules.

    Args:
        layer_class: a ``keras.layers.Layer`` subclass.
        primal_fn: ``primal_fn(layer, x) -> (outputs, state)``, the layer's
            values and what ``push_fn`` needs of them.
        push_fn: ``push_fn(layer, state, series) -> series``: the series
            ``[D y, D^2 y, ...]`` of the outputs from the inputs' series
            (None entries are zero; entries may be ``(1, d)`` rows that
            broadcast over the points).
        supports_fn: ``supports_fn(layer) -> bool`` for a built layer
            computing in its variables' dtype (e.g. whether its activation
            has a rule). Defaults to always True.
    """
    if not (isinstance(layer_class, type) and issubclass(layer_class, keras.layers.Layer)):
        raise ValueError(f"`layer_class` must be a keras.layers.Layer subclass. Received: layer_class={layer_class!r}")
    for name, value in (("primal_fn", primal_fn), ("push_fn", push_fn)):
        if not callable(value):
            raise ValueError(f"`{name}` must be callable. Received: {name}={value!r}")
    if supports_fn is not None and not callable(supports_fn):
        raise ValueError(f"`supports_fn` must be callable or None. Received: supports_fn={supports_fn!r}")
    _LAYER_RULES[layer_class] = _Rule(supports_fn or _always, primal_fn, push_fn)


def _always(layer) -> bool:
    return True


def _rule_for(fn) -> _Rule | None:
    for cls in type(fn).__mro__:
        if cls in _LAYER_RULES:
            return _LAYER_RULES[cls]
    return None


def supports(fn) -> bool:
    """Whether Taylor mode can push derivatives through ``fn``: a built
    Keras layer computing in its variables' dtype whose class (or a parent
    class) has a registered rule that accepts it. That covers
    ``kp.layers.MLP``, ``Dense``, ``Activation`` and ``DomainScaler`` with a
    supported activation (tanh, sigmoid, softplus, sin, linear), the other
    layers of :mod:`keras_pinn.layers` that register a rule, and a
    ``keras.Sequential`` (or a functional ``keras.Model`` chaining layers one
    after another) of supported layers."""
    if not isinstance(fn, keras.layers.Layer) or not fn.built:
        return False
    if getattr(fn, "compute_dtype", None) != getattr(fn, "variable_dtype", None):
        return False
    rule = _rule_for(fn)
    return rule is not None and bool(rule.supports(fn))


def primal(fn, x):
    """``(outputs, state)``: the values of ``fn(x)`` and what :func:`push`
    needs of them. ``fn`` must satisfy :func:`supports`."""
    rule = _rule_for(fn)
    if rule is None:
        raise ValueError(f"Taylor mode has no rule for `fn` ({SUPPORTED}). Received: fn={fn!r}")
    return rule.primal(fn, x)


def push(fn, state, series):
    """The series ``[D u, D^2 u, ...]`` of ``fn``'s outputs along one
    direction, from its inputs' series ``series`` (same length, None for a
    zero term) and the ``state`` of :func:`primal`."""
    rule = _rule_for(fn)
    if rule is None:
        raise ValueError(f"Taylor mode has no rule for `fn` ({SUPPORTED}). Received: fn={fn!r}")
    return rule.push(fn, state, series)


def unit_series(x, j, order):
    """The series of the input coordinates along ``e_j``: ``[e_j, 0, ...]``
    (``e_j`` as a ``(1, d)`` row, broadcast over the points)."""
    d = x.shape[-1]
    e = ops.expand_dims(ops.one_hot(j, d, dtype=x.dtype), 0)
    return [e] + [None] * (order - 1)


# -- building blocks of rules --------------------------------------------------
def linear_push(series, kernel):
    """The series of ``x @ kernel`` from the series of ``x``."""
    return [None if s is None else ops.matmul(s, kernel) for s in series]


def activation_supported(activation) -> bool:
    """Whether :func:`activation_primal` has a rule for ``activation``."""
    return _activation_rule(activation) is not None


def activation_primal(activation, z):
    """``(a, state)``: ``a = activation(z)`` (the backend's native op) and
    the state :func:`activation_push` needs."""
    rule = _activation_rule(activation)
    if rule == "linear":
        return z, (rule, z, None)
    a = _backend.native_activation(activation)(z)
    return a, (rule, a, z)


def activation_push(state, zs):
    """The series of ``activation(z)`` from the series ``zs`` of ``z``."""
    rule, a, z = state
    if rule == "linear" or all(s is None for s in zs):
        return zs
    return _compose(rule(a, z, len(zs)), zs)


def compose(derivs, zs):
    """The series of ``f(z)`` from ``f``'s derivatives ``derivs`` (``[f',
    f'', ...]`` at ``z``, at least ``len(zs)`` of them) and ``z``'s series
    ``zs`` (Faa di Bruno's formula)."""
    if all(s is None for s in zs):
        return list(zs)
    return _compose(derivs, zs)


def sin_cos_push(sin_z, cos_z, zs):
    """The series of ``sin(z)`` and of ``cos(z)`` from ``z``'s series."""
    return compose([cos_z, -sin_z, -cos_z, sin_z], zs), compose([-sin_z, -cos_z, sin_z, cos_z], zs)


def product_push(f, fs, g, gs):
    """The series of ``f * g`` (elementwise) by Leibniz's rule, from the
    values ``f``, ``g`` and their series ``fs``, ``gs``."""
    out = []
    for n in range(1, len(fs) + 1):
        total = None
        for k in range(n + 1):
            a = f if k == 0 else fs[k - 1]
            b = g if k == n else gs[n - k - 1]
            if a is None or b is None:
                continue
            term = a * b if math.comb(n, k) == 1 else float(math.comb(n, k)) * (a * b)
            total = term if total is None else total + term
        out.append(total)
    return out


def add_push(*series_list, coefficients=None):
    """The series of ``sum_i c_i y_i`` from the series of the ``y_i``
    (coefficients default to 1; a coefficient may be a tensor)."""
    coefficients = coefficients or [1.0] * len(series_list)
    out = []
    for terms in zip(*series_list):
        total = None
        for c, s in zip(coefficients, terms):
            if s is None:
                continue
            s = s if (isinstance(c, float) and c == 1.0) else c * s
            total = s if total is None else total + s
        out.append(total)
    return out


# -- Keras's own layers --------------------------------------------------------
def _dense_supports(layer) -> bool:
    if getattr(layer, "lora_enabled", False) or getattr(layer, "quantization_mode", None):
        return False
    return activation_supported(layer.activation)


def _dense_primal(layer, x):
    z = ops.matmul(x, layer.kernel.value)
    if layer.use_bias:
        z = z + layer.bias.value
    return activation_primal(layer.activation, z)


def _dense_push(layer, state, series):
    return activation_push(state, linear_push(series, layer.kernel.value))


def _activation_layer_supports(layer) -> bool:
    return activation_supported(layer.activation)


def _activation_layer_primal(layer, x):
    return activation_primal(layer.activation, x)


def _activation_layer_push(layer, state, series):
    return activation_push(state, series)


def _chain(model):
    """The layers of a ``keras.Sequential``, or of a functional
    ``keras.Model`` whose graph is a single chain (one input, one output,
    each layer called once on the previous layer's output); else None."""
    if isinstance(model, keras.Sequential):
        return list(model.layers)
    try:
        inputs, outputs = model.inputs, model.outputs
    except (AttributeError, ValueError):  # a subclassed model
        return None
    if not inputs or not outputs or len(inputs) != 1 or len(outputs) != 1:
        return None
    chain = [sub for sub in model.layers if not isinstance(sub, keras.layers.InputLayer)]
    h = inputs[0]
    for sub in chain:
        try:
            if sub.input is not h:  # a branch, a skip connection, ...
                return None
            h = sub.output
        except (AttributeError, ValueError):  # a layer called more than once
            return None
    return chain if h is outputs[0] else None


def _chain_supports(model) -> bool:
    chain = _chain(model)
    return bool(chain) and all(supports(layer) for layer in chain)


def _in_dense_run(layer) -> bool:
    """Whether ``layer`` is a Keras ``Dense`` or ``Activation`` layer that
    this module's own rule covers (not a subclass with a rule of its own)."""
    rule = _rule_for(layer)
    return rule is not None and rule.primal in (_dense_primal, _activation_layer_primal) and supports(layer)


def _segments(chain):
    """``chain`` cut into runs: lists of two or more ``Dense`` layers (with
    any ``Activation`` layers between them), and single other layers."""
    out, i = [], 0
    while i < len(chain):
        j = i
        while j < len(chain) and _in_dense_run(chain[j]):
            j += 1
        dense = sum(isinstance(layer, keras.layers.Dense) for layer in chain[i:j])
        if dense >= 2:
            out.append(chain[i:j])
            i = j
        else:
            out.append(chain[i])
            i += 1
    return out


def _dense_run_primal(layers, x):
    """A run of ``Dense``/``Activation`` layers computed on ``(features,
    points)`` activations, as :class:`keras_pinn.layers.MLP` does (faster
    on every backend: docs/performance.md); transposed once in and out."""
    h = ops.transpose(x)
    steps = []
    for layer in layers:
        kernel = None
        if isinstance(layer, keras.layers.Dense):
            kernel = ops.transpose(layer.kernel.value)
            h = ops.matmul(kernel, h)
            if layer.use_bias:
                h = h + ops.expand_dims(layer.bias.value, 1)
        h, state = activation_primal(layer.activation, h)
        steps.append((kernel, state))
    return ops.transpose(h), steps


def _dense_run_push(steps, series):
    series = [None if s is None else ops.transpose(s) for s in series]
    for kernel, state in steps:
        if kernel is not None:
            series = [None if s is None else ops.matmul(kernel, s) for s in series]
        series = activation_push(state, series)
    return [None if s is None else ops.transpose(s) for s in series]


class _DenseRun(list):
    """The layers of one run of :func:`_segments`."""


def _chain_primal(model, x):
    states = []
    h = x
    for segment in _segments(_chain(model) or []):
        if isinstance(segment, list):
            h, state = _dense_run_primal(segment, h)
            states.append((_DenseRun(segment), state))
        else:
            h, state = primal(segment, h)
            states.append((segment, state))
    return h, states


def _chain_push(model, state, series):
    for layer, layer_state in state:  # the layers primal found, in order
        if isinstance(layer, _DenseRun):
            series = _dense_run_push(layer_state, series)
        else:
            series = push(layer, layer_state, series)
    return series


register_rule(keras.layers.Dense, _dense_primal, _dense_push, _dense_supports)
register_rule(keras.layers.Activation, _activation_layer_primal, _activation_layer_push, _activation_layer_supports)
register_rule(keras.Model, _chain_primal, _chain_push, _chain_supports)
