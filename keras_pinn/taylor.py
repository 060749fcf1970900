"""Taylor mode: input derivatives pushed forward through the network in
closed form, written once in ``keras.ops`` for every backend.

For networks built from layers whose derivatives are known (``kp.layers.MLP``,
``keras.layers.Dense`` and ``keras.layers.Activation`` with a supported
activation, ``kp.layers.DomainScaler``, and ``keras.Sequential`` stacks or
functional chains of them), the derivatives ``D_j u, D_j^2 u, ..., D_j^k u`` along one input
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
Mixed partials such as ``u_xt`` are not pushed forward: :class:`Derivatives`
takes them from the backend's autodiff engine.

This is the same arithmetic as Taylor-mode automatic differentiation
(``jax.experimental.jet``) restricted to one direction and to the layers
above; see Griewank & Walther, *Evaluating Derivatives*, ch. 13.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from keras_pinn import backend as _backend

__all__ = [
    "MAX_ORDER", "SUPPORTED", "activation_primal", "activation_push", "activation_supported", "add_push",
    "compose", "linear_push", "primal", "product_push", "push", "register_rule", "sin_cos_push", "supports",
    "unit_series",
]

#: Highest derivative order pushed forward along one coordinate.
MAX_ORDER = 4

#: The networks :func:`supports` accepts, in words (for error messages).
SUPPORTED = (
    "kp.layers.MLP, Dense, Activation or DomainScaler with a tanh, sigmoid, softplus, sin or linear "
    "activation, or a keras.Sequential or functional chain of them"
)


# -- activations: (a, z) -> [s', s'', s''', s''''] ---------------------------
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


def _activation_rule(fn):
    """``"linear"``, or ``series(a, z, order)`` giving the activation's
    derivatives 1..order at ``z`` (``a`` its value there); None when the
    activation is not supported."""
    from keras_pinn.activations import sin

    act = keras.activations
    if fn is None or fn is act.linear:
        return "linear"
    rules = {
        act.tanh: _tanh_series, act.sigmoid: _sigmoid_series, act.softplus: _softplus_series,
        ops.tanh: _tanh_series, ops.sigmoid: _sigmoid_series, ops.softplus: _softplus_series,
        ops.sin: _sin_series, sin: _sin_series,
    }
    try:
        return rules.get(fn)
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
        terms = [t for t in terms if t is not None]
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
        out.append(add(
            mul(s1, z4), mul(derivs[1], inner), mul(6.0, derivs[2], z1sq, z2), mul(derivs[3], z1sq, z1sq)
        ))
    return out


def _activate(rule, apply, z):
    """``(a, state)`` of an activation on the pre-activations ``z``."""
    if rule == "linear":
        return z, None
    return apply(z), z


def _activation_push(rule, a, z, zs):
    if rule == "linear":
        return zs
    if all(s is None for s in zs):
        return zs
    return _compose(rule(a, z, len(zs)), zs)


# -- layers ----------------------------------------------------------------
def _mlp_rule(layer):
    from keras_pinn.layers.mlp import MLP

    if not isinstance(layer, MLP) or not layer.built:
        return None
    return _activation_rule(layer.activation)


def _dense_rule(layer):
    if not isinstance(layer, keras.layers.Dense) or not layer.built or getattr(layer, "lora_enabled", False):
        return None
    if getattr(layer, "quantization_mode", None):
        return None
    return _activation_rule(layer.activation)


def _sequential_layers(layer):
    """The layers of a ``keras.Sequential``, or of a functional
    ``keras.Model`` whose graph is a single chain (one input, one output,
    each layer called once on the previous layer's output); else None."""
    if isinstance(layer, keras.Sequential):
        return list(layer.layers)
    if not isinstance(layer, keras.Model):
        return None
    try:
        inputs, outputs = layer.inputs, layer.outputs
    except (AttributeError, ValueError):  # a subclassed model
        return None
    if not inputs or not outputs or len(inputs) != 1 or len(outputs) != 1:
        return None
    chain = [sub for sub in layer.layers if not isinstance(sub, keras.layers.InputLayer)]
    h = inputs[0]
    for sub in chain:
        try:
            if sub.input is not h:  # a branch, a skip connection, ...
                return None
            h = sub.output
        except (AttributeError, ValueError):  # a layer called more than once
            return None
    return chain if h is outputs[0] else None


class _Chain(list):
    """:func:`primal`'s state of a chain of layers: ``[(layer, state), ...]``."""


def supports(fn) -> bool:
    """Whether Taylor mode can push derivatives through ``fn``: a built
    ``kp.layers.MLP``, ``Dense``, ``Activation`` or ``DomainScaler`` with a
    supported activation (tanh, sigmoid, softplus, sin, linear), or a
    ``keras.Sequential`` (or a functional ``keras.Model`` chaining them one
    after another), computing in its variables' dtype."""
    from keras_pinn.layers.domain_scaler import DomainScaler

    if not isinstance(fn, keras.layers.Layer):
        return False
    inner = _sequential_layers(fn)
    if inner is not None:
        return fn.built and bool(inner) and all(supports(layer) for layer in inner)
    if getattr(fn, "compute_dtype", None) != getattr(fn, "variable_dtype", None):
        return False
    if _registered(fn) is not None:  # a layer that registered its own rule
        return fn.built and _registered(fn)[0](fn)
    if isinstance(fn, DomainScaler):
        return True
    if isinstance(fn, keras.layers.Activation):
        return _activation_rule(fn.activation) is not None
    return _mlp_rule(fn) is not None or _dense_rule(fn) is not None


def primal(fn, x):
    """``(outputs, state)``: the values of ``fn(x)`` and what :func:`push`
    needs of them. ``fn`` must satisfy :func:`supports`."""
    from keras_pinn.layers.domain_scaler import DomainScaler
    from keras_pinn.layers.mlp import MLP

    inner = _sequential_layers(fn)
    if inner is not None:
        chain = _Chain()
        h = x
        for layer in inner:
            h, state = primal(layer, h)
            chain.append((layer, state))
        return h, chain
    if _registered(fn) is not None:
        return _registered(fn)[1](fn, x)
    if isinstance(fn, DomainScaler):
        return fn.call(x), None
    if isinstance(fn, keras.layers.Activation):
        rule = _activation_rule(fn.activation)
        a, z = _activate(rule, _backend.native_activation(fn.activation), x)
        return a, (rule, a, z)
    if isinstance(fn, MLP):
        return _mlp_primal(fn, x)
    rule = _dense_rule(fn)
    z = ops.matmul(x, fn.kernel.value)
    if fn.use_bias:
        z = z + fn.bias.value
    a, pre = _activate(rule, _backend.native_activation(fn.activation), z)
    return a, (rule, a, pre)


def push(fn, state, series):
    """The series ``[D u, D^2 u, ...]`` of ``fn``'s outputs along one
    direction, from its inputs' series ``series`` (same length, None for a
    zero term) and the ``state`` of :func:`primal`."""
    from keras_pinn.layers.domain_scaler import DomainScaler
    from keras_pinn.layers.mlp import MLP

    if isinstance(state, _Chain):  # the layers found by primal, in order
        for layer, layer_state in state:
            series = push(layer, layer_state, series)
        return series
    if _registered(fn) is not None:
        return _registered(fn)[2](fn, state, series)
    if isinstance(fn, DomainScaler):
        lo = ops.convert_to_tensor(fn.lower, dtype=fn.compute_dtype)
        hi = ops.convert_to_tensor(fn.upper, dtype=fn.compute_dtype)
        scale = ops.expand_dims(2.0 / (hi - lo), 0)
        return [None if s is None else s * scale for s in series]
    if isinstance(fn, keras.layers.Activation):
        rule, a, z = state
        return _activation_push(rule, a, z, series)
    if isinstance(fn, MLP):
        return _mlp_push(fn, state, series)
    rule, a, z = state
    kernel = fn.kernel.value
    zs = [None if s is None else ops.matmul(s, kernel) for s in series]
    return _activation_push(rule, a, z, zs)


def _mlp_weights(layer):
    return [k.value for k in layer.kernels], [b.value for b in layer.biases]


def _mlp_primal(layer, x):
    rule = _activation_rule(layer.activation)
    apply = _backend.native_activation(layer.activation)
    kernels, biases = _mlp_weights(layer)
    last = len(kernels) - 1
    fp = layer.resolved_layout == "features_points"
    h = ops.transpose(x) if fp else x
    kernels = [ops.transpose(k) for k in kernels] if fp else kernels
    states = []
    for i, (k, b) in enumerate(zip(kernels, biases)):
        z = k @ h + ops.expand_dims(b, 1) if fp else h @ k + b
        if i < last:
            h, pre = _activate(rule, apply, z)
            states.append((h, pre))
        else:
            h = z
    return (ops.transpose(h) if fp else h), (rule, kernels, states, fp)


def _mlp_push(layer, state, series):
    rule, kernels, states, fp = state
    if fp:
        series = [None if s is None else ops.transpose(s) for s in series]
    last = len(kernels) - 1
    for i, k in enumerate(kernels):
        zs = [None if s is None else (k @ s if fp else s @ k) for s in series]
        if i < last:
            a, z = states[i]
            series = _activation_push(rule, a, z, zs)
        else:
            series = zs
    if fp:
        series = [None if s is None else ops.transpose(s) for s in series]
    return series


def unit_series(x, j, order):
    """The series of the input coordinates along ``e_j``: ``[e_j, 0, ...]``
    (``e_j`` as a ``(1, d)`` row, broadcast over the points)."""
    d = x.shape[-1]
    e = ops.expand_dims(ops.one_hot(j, d, dtype=x.dtype), 0)
    return [e] + [None] * (order - 1)


# -- rules registered by layers ---------------------------------------------
# A layer outside this module gives Taylor mode its rule with
# :func:`register_rule`; the helpers below are the building blocks such rules
# use (linear maps, activations, elementwise functions, products, sums).
_LAYER_RULES: dict = {}


def register_rule(layer_class, primal_fn, push_fn, supports_fn=None):
    """Registers Taylor mode's rule for ``layer_class`` (and its subclasses).

    Args:
        layer_class: a ``keras.layers.Layer`` subclass.
        primal_fn: ``primal_fn(layer, x) -> (outputs, state)``, the layer's
            values and what ``push_fn`` needs of them.
        push_fn: ``push_fn(layer, state, series) -> series``: the series
            ``[D y, D^2 y, ...]`` of the outputs from the inputs' series
            (None entries are zero; entries may be ``(1, d)`` rows that
            broadcast over the points).
        supports_fn: ``supports_fn(layer) -> bool`` for a built layer (e.g.
            whether its activation has a rule). Defaults to always True.
    """
    if not (isinstance(layer_class, type) and issubclass(layer_class, keras.layers.Layer)):
        raise ValueError(f"`layer_class` must be a keras.layers.Layer subclass. Received: layer_class={layer_class!r}")
    for name, value in (("primal_fn", primal_fn), ("push_fn", push_fn)):
        if not callable(value):
            raise ValueError(f"`{name}` must be callable. Received: {name}={value!r}")
    _LAYER_RULES[layer_class] = (supports_fn or (lambda layer: True), primal_fn, push_fn)


def _registered(fn):
    for cls in type(fn).__mro__:
        if cls in _LAYER_RULES:
            return _LAYER_RULES[cls]
    return None


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
    a, pre = _activate(rule, _backend.native_activation(activation), z)
    return a, (rule, a, pre)


def activation_push(state, zs):
    """The series of ``activation(z)`` from the series ``zs`` of ``z``."""
    rule, a, z = state
    return _activation_push(rule, a, z, zs)


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
