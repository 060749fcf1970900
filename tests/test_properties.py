"""Property-based tests (hypothesis) of the domain samplers and the
article's layers, on random boxes, sizes and shapes."""

import math

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from keras import ops

import keras_pinn as kp
from keras_pinn.domains import SAMPLERS, sample_unit_cube
from keras_pinn.layers import DomainScaler, PowReLU, VectorQuantizer

BACKEND = keras.backend.backend()
PROPERTY = settings(max_examples=25, deadline=None, derandomize=True)
# scipy warns that Sobol' balance needs n = 2^k; any n is a valid input here.
SOBOL_ANY_N = pytest.mark.filterwarnings("ignore:The balance properties of Sobol:UserWarning")

# Bounds exactly representable in float32, so that points (floatx) can be
# compared with them exactly: rounding to float32 is monotone, so a float64
# point inside [lower, upper] stays inside after the cast. Magnitudes in
# [1e-3, 1e3] (or 0) keep ``upper - lower`` exact in float64, so that
# ``lower + unit * extent`` never rounds past ``upper``; bounds of very
# different magnitudes break that today (see tests/test_reliability.py,
# test_samples_stay_in_a_box_with_bounds_of_very_different_magnitudes).
coordinate = st.floats(-1000.0, 1000.0, width=32, allow_nan=False, allow_subnormal=False).filter(
    lambda v: v == 0.0 or abs(v) >= 1e-3
)


@st.composite
def boxes(draw, max_dim=3):
    dim = draw(st.integers(1, max_dim))
    lower, upper = [], []
    for _ in range(dim):
        a, b = draw(st.tuples(coordinate, coordinate).filter(lambda ab: ab[0] != ab[1]))
        lower.append(min(a, b))
        upper.append(max(a, b))
    return kp.Box(lower, upper)


@st.composite
def space_time(draw):
    box = draw(boxes(max_dim=2))
    t0, t1 = draw(st.tuples(coordinate, coordinate).filter(lambda ab: ab[0] != ab[1]))
    return kp.SpaceTime(box, min(t0, t1), max(t0, t1))


def to_np(x):
    return np.asarray(ops.convert_to_numpy(x))


def bounds32(domain):
    return domain.lower.astype("float32"), domain.upper.astype("float32")


# -- DomainScaler ----------------------------------------------------------------


def corners(domain):
    """All 2^d corners of the box, as floatx."""
    lower, upper = bounds32(domain)
    grid = np.meshgrid(*[[lo, hi] for lo, hi in zip(lower, upper)], indexing="ij")
    return np.stack([g.ravel() for g in grid], axis=1)


@PROPERTY
@given(boxes())
def test_domain_scaler_maps_corners_onto_plus_minus_one(domain):
    """Exactly on TensorFlow and PyTorch (IEEE division: 2 (u - l) / (u - l)
    is 2). JAX is within one float32 ulp below 1: XLA rewrites a division by
    a broadcast divisor into a multiplication by its reciprocal, e.g. on
    [0, 35.25] the upper corner maps to 1 - 2^-23 (docs/determinism.md)."""
    points = corners(domain)
    scaled = to_np(DomainScaler(domain)(points))
    expected = np.where(points == bounds32(domain)[0], -1.0, 1.0).astype("float32")
    if BACKEND == "jax":
        np.testing.assert_array_max_ulp(scaled, expected, maxulp=2)
        np.testing.assert_array_equal(scaled[expected < 0], -1.0)  # 0 / e is exact
    else:
        np.testing.assert_array_equal(scaled, expected)


@PROPERTY
@given(boxes(), st.integers(0, 2**31 - 1))
def test_domain_scaler_input_derivative_is_two_over_extent(domain, seed):
    points = domain.sample_interior(5, "uniform", seed)
    scaled = to_np(DomainScaler(domain)(points))
    assert np.all(np.abs(scaled) <= 1.0)
    d = kp.derivatives(DomainScaler(domain), points)
    lower, upper = bounds32(domain)
    slope = 2.0 / (upper.astype("float64") - lower.astype("float64"))
    for i in range(domain.dim):
        for j in range(domain.dim):
            got = to_np(d(i, j))[:, 0]
            expected = np.full(5, slope[i] if i == j else 0.0)
            np.testing.assert_allclose(got, expected, rtol=1e-6, atol=0, err_msg=f"d y{i} / d x{j}")


# -- samplers ----------------------------------------------------------------------


@SOBOL_ANY_N
@PROPERTY
@given(boxes(), st.integers(1, 40), st.sampled_from(SAMPLERS), st.integers(0, 2**31 - 1))
def test_interior_samples_stay_inside_the_box(domain, n, method, seed):
    points = domain.sample_interior(n, method, seed)
    lower, upper = bounds32(domain)
    assert points.dtype == keras.config.floatx() and points.shape[1] == domain.dim
    if method == "grid":  # every grid point, ceil(n^(1/d)) (at least 2) per axis
        per_axis = max(2, math.ceil(round(n ** (1.0 / domain.dim), 9)))
        assert points.shape[0] == per_axis**domain.dim >= n
        np.testing.assert_array_equal(points.min(axis=0), lower)  # the faces are included
        np.testing.assert_array_equal(points.max(axis=0), upper)
    else:
        assert points.shape[0] == n
    assert np.all((points >= lower) & (points <= upper))
    assert domain.contains(points, tol=0.0).all()


@PROPERTY
@given(st.integers(1, 200), st.integers(1, 4), st.integers(0, 2**31 - 1))
def test_lhs_covers_every_stratum(n, dim, seed):
    unit = sample_unit_cube(n, dim, "lhs", seed)
    for j in range(dim):
        np.testing.assert_array_equal(np.sort(np.floor(unit[:, j] * n)), np.arange(n))


@PROPERTY
@given(boxes(), st.integers(1, 40), st.integers(0, 2**31 - 1))
def test_lhs_in_a_box_covers_every_stratum(domain, n, seed):
    """Sorted along each axis, the k-th point lies in the k-th of the n equal
    strata of the box, up to the float32 rounding of the points."""
    points = domain.sample_interior(n, "lhs", seed).astype("float64")
    cells = np.sort((points - domain.lower) / domain.extent * n, axis=0)
    magnitude = np.maximum(np.abs(domain.lower), np.abs(domain.upper))
    slack = 4 * n * magnitude * 2.0**-24 / domain.extent  # a few float32 ulps, in strata
    k = np.arange(n)[:, None]
    assert np.all(cells >= k - slack) and np.all(cells <= k + 1 + slack)


@SOBOL_ANY_N
@PROPERTY
@given(
    st.one_of(boxes(), space_time()),
    st.integers(1, 40),
    st.sampled_from(SAMPLERS),
    st.integers(0, 2**31 - 1),
    st.data(),
)
def test_boundary_samples_lie_on_faces_with_unit_outward_normals(domain, n, method, seed, data):
    faces = data.draw(st.lists(st.sampled_from(domain.faces), min_size=1, unique=True), label="faces")
    points, normals = domain.sample_boundary(n, faces, method, seed, return_normals=True)
    lower, upper = bounds32(domain)
    assert points.shape == normals.shape == (n, domain.dim)
    assert np.all((points >= lower) & (points <= upper))
    # each normal is +-e_j for one face coordinate j, pointing out of the box
    assert np.all(np.abs(normals).sum(axis=1) == 1.0) and np.all(np.isin(normals, (-1.0, 0.0, 1.0)))
    np.testing.assert_array_equal(np.linalg.norm(normals, axis=1), 1.0)
    j = np.argmax(np.abs(normals), axis=1)
    rows = np.arange(n)
    side = normals[rows, j]
    np.testing.assert_array_equal(points[rows, j], np.where(side < 0, lower[j], upper[j]))
    # ... on one of the requested faces
    names = [f"{domain.names[k]}_{'min' if s < 0 else 'max'}" for k, s in zip(j, side)]
    assert set(names) <= set(faces)
    # and Box.normals agrees wherever the point is near one face only (not an edge)
    atol = 1e-6 * domain.extent
    near = np.isclose(points, domain.lower, rtol=0, atol=atol) | np.isclose(points, domain.upper, rtol=0, atol=atol)
    single = near.sum(axis=1) == 1
    if single.any():
        np.testing.assert_array_equal(domain.normals(points[single], faces), normals[single])


# -- VectorQuantizer: straight-through estimator --------------------------------------


_VQ = {}


def quantizer(num_codes, code_dim, normalize, n):
    """One built layer per configuration (JAX compiles each op once per
    shape); every example gives it new random weights."""
    key = (num_codes, code_dim, normalize, n)
    if key not in _VQ:
        _VQ[key] = VectorQuantizer(num_codes, code_dim, normalize=normalize)
        _VQ[key](np.zeros((n, 3), "float32"))
    return _VQ[key]


@PROPERTY
@given(st.sampled_from([(5, 3, 8), (2, 1, 4)]), st.booleans(), st.integers(0, 2**31 - 1))
def test_vq_straight_through_passes_gradients_unchanged(config, normalize, seed):
    """d out_i / d z_j is the identity, whatever the codebook, the projection,
    the embedding and so the selected codes (same approach as
    tests/layers/test_layers_article.py: the input derivative of
    ``quantize_embedding`` w.r.t. the projected embedding)."""
    num_codes, code_dim, n = config
    rng = np.random.default_rng(seed)
    vq = quantizer(num_codes, code_dim, normalize, n)
    vq.set_weights([rng.normal(size=w.shape).astype("float32") for w in vq.get_weights()])
    z = vq.project(rng.normal(size=(n, 3)).astype("float32"))
    out, q, _ = vq.quantize_embedding(z)
    np.testing.assert_allclose(to_np(out), to_np(q), rtol=1e-5, atol=1e-6)  # the value is the code
    d = kp.derivatives(lambda e: vq.quantize_embedding(e)[0], z)
    for i in range(code_dim):
        for j in range(code_dim):
            np.testing.assert_allclose(to_np(d(i, j))[:, 0], np.full(n, float(i == j)), atol=1e-6)


# -- PowReLU ------------------------------------------------------------------------


@PROPERTY
@given(
    st.lists(st.integers(1, 5), min_size=1, max_size=4),
    st.sampled_from([1, 2, 3, 4, 2.5]),
    st.integers(0, 2**31 - 1),
)
def test_pow_relu_keeps_any_shape(shape, power, seed):
    x = np.random.default_rng(seed).normal(size=shape).astype("float32")
    layer = PowReLU(power)
    y = layer(x)
    assert tuple(y.shape) == tuple(shape)
    assert layer.compute_output_shape(tuple(shape)) == tuple(shape)
    assert layer.compute_output_shape((None,) + tuple(shape[1:])) == (None,) + tuple(shape[1:])
    np.testing.assert_allclose(to_np(y), np.maximum(x, 0.0) ** power, rtol=1e-5, atol=1e-7)
