"""GridConv (a CNN over a regular grid of points) and finite-difference
derivatives on the grid (GridDerivatives): shapes, saving, second-order
convergence against analytic derivatives, which derivative autodiff through a
CNN over the grid is (the same on every backend), and training a PINNModel through
``derivative_method="finite_difference"``.

Run once per backend (``KERAS_BACKEND``).
"""

import math

import keras
import numpy as np
import pytest
from keras import ops

import keras_pinn as kp
from keras_pinn.differentiation import GridDerivatives, infer_grid
from keras_pinn.layers.domain_scaler import DomainScaler
from keras_pinn.layers.grid_conv import GridConv, check_regular_grid

# No derivative of sin(pi x) sin(pi y) vanishes on this box's boundary, so the
# edge stencils' leading error terms are not accidentally zero there.
BOX = kp.Box([0.2, 0.1], [1.3, 1.2], names=("x", "y"))


def to_np(x):
    return np.asarray(ops.convert_to_numpy(x), dtype="float64")


def sin_sin(z):
    return ops.sin(np.pi * z[:, :1]) * ops.sin(np.pi * z[:, 1:2])


def conv_net(grid_shape, filters=4, depth=2, out_dim=1, domain=BOX):
    return keras.Sequential(
        [
            keras.Input((domain.dim,)),
            DomainScaler(domain),
            GridConv.default(grid_shape, domain.dim, out_dim, filters=filters, depth=depth),
        ]
    )


# --------------------------------------------------------------------------
# GridConv: shape contract, exact mapping, errors, saving
# --------------------------------------------------------------------------


def test_grid_conv_shapes_1d_and_2d():
    layer = GridConv(
        [keras.layers.Conv1D(4, 3, padding="same", activation="tanh"), keras.layers.Conv1D(2, 1)],
        grid_shape=(16,),
    )
    x = kp.Interval(0.0, 1.0).grid((16,))
    assert tuple(layer(x).shape) == (16, 2)
    assert layer.compute_output_shape((16, 1)) == (16, 2)
    assert layer.compute_output_shape((None, 1)) == (None, 2)

    layer = GridConv.default((9, 9), in_dim=2, out_dim=3, filters=4, depth=2)
    assert layer.built and layer.num_points == 81
    assert tuple(layer(BOX.grid((9, 9))).shape) == (81, 3)
    assert layer.compute_output_shape((81, 2)) == (81, 3)
    assert len(layer.stack.layers) == 3
    assert all(isinstance(c, keras.layers.Conv2D) for c in layer.stack.layers)

    model = conv_net((9, 9))  # symbolic build through keras.Input((2,))
    assert tuple(model(BOX.grid((9, 9))).shape) == (81, 1)


def test_grid_conv_maps_rows_to_pixels_in_c_order():
    """A kernel that copies the left neighbour along grid axis 0: the output
    at grid point (i, j) is the x coordinate of point (i - 1, j)."""
    kernel = np.zeros((3, 3, 2, 1), "float32")
    kernel[0, 1, 0, 0] = 1.0
    conv = keras.layers.Conv2D(1, 3, padding="same", use_bias=False)
    layer = GridConv([conv], grid_shape=(5, 4))
    x = BOX.grid((5, 4))
    layer.build(x.shape)
    conv.set_weights([kernel])
    out = to_np(layer(x)).reshape(5, 4)
    xs = x[:, 0].reshape(5, 4).astype("float64")
    np.testing.assert_allclose(out[1:], xs[:-1], rtol=1e-6)
    np.testing.assert_allclose(out[0], 0.0)


def test_grid_conv_rejects_wrong_point_count():
    layer = GridConv.default((9, 9), 2, 1, filters=2, depth=1)
    with pytest.raises(ValueError, match=r"prod\(grid_shape\) = 81.*received 80 points"):
        layer(BOX.grid((9, 9))[:80])
    with pytest.raises(ValueError, match="batch_size=81"):
        layer(BOX.grid((5, 5)))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"layers": [], "grid_shape": (3, 3)}, "Received: layers="),
        ({"layers": ["conv"], "grid_shape": (3, 3)}, "Received: layers="),
        ({"layers": [keras.layers.Conv2D(1, 1)], "grid_shape": (3, 0)}, r"Received: grid_shape=\(3, 0\)"),
        ({"layers": [keras.layers.Conv2D(1, 1)], "grid_shape": (2, 2, 2, 2)}, "grid_shape"),
        ({"layers": [keras.layers.Conv2D(1, 1)], "grid_shape": (3.5, 3)}, "grid_shape"),
    ],
)
def test_grid_conv_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GridConv(**kwargs)


def test_grid_conv_rejects_stack_that_changes_the_grid():
    layer = GridConv([keras.layers.Conv2D(1, 3, padding="valid")], grid_shape=(9, 9))
    with pytest.raises(ValueError, match="padding='same'"):
        layer(BOX.grid((9, 9)))
    with pytest.raises(ValueError, match="filters"):
        GridConv.default((9, 9), 2, 1, filters=0)


def test_grid_conv_config_roundtrip():
    layer = GridConv.default((9, 9), 2, 1, filters=4, depth=2, name="cnn")
    config = layer.get_config()
    assert config["grid_shape"] == [9, 9]
    clone = GridConv.from_config(config)
    assert clone.grid_shape == (9, 9) and clone.name == "cnn"
    assert clone.get_config() == config
    x = BOX.grid((9, 9))
    clone.build(x.shape)
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(to_np(clone(x)), to_np(layer(x)))


def test_grid_conv_keras_file_roundtrip(tmp_path):
    model = conv_net((9, 9))
    x = BOX.grid((9, 9))
    expected = to_np(model(x))
    path = tmp_path / "grid_conv.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.layers[-1], GridConv)
    np.testing.assert_array_equal(to_np(loaded(x)), expected)


# --------------------------------------------------------------------------
# The grid check
# --------------------------------------------------------------------------


def test_check_regular_grid_accepts_box_grids():
    assert infer_grid(BOX.grid((17, 9))) == ((17, 9), pytest.approx((1.1 / 16, 1.1 / 8)))
    assert check_regular_grid(BOX.grid((17, 9)), (17, 9)) == pytest.approx((1.1 / 16, 1.1 / 8))
    line = kp.Interval(-1.0, 1.0).grid((11,))
    assert infer_grid(line) == ((11,), pytest.approx((0.2,)))
    cube = kp.Box([0, 0, 0], [1, 2, 3]).grid((3, 4, 5))
    assert infer_grid(cube)[0] == (3, 4, 5)


def test_check_regular_grid_rejects_other_points():
    grid = BOX.grid((9, 9))
    shuffled = grid[np.random.default_rng(0).permutation(81)]
    fortran = np.stack(np.meshgrid(*[np.linspace(0, 1, 9)] * 2, indexing="xy"), -1)
    fortran = fortran.reshape(-1, 2)  # first column fastest
    uneven = grid.copy()
    uneven[40, 1] += 0.3 * 1.1 / 8
    cases = [shuffled, fortran, uneven, BOX.sample_interior(81, seed=0)]
    for points in cases:
        with pytest.raises(ValueError, match="points do not form a regular grid"):
            check_regular_grid(points, (9, 9))
        with pytest.raises(ValueError, match="points do not form a regular grid"):
            GridDerivatives(sin_sin, points)
    with pytest.raises(ValueError, match="points do not form a regular grid of shape"):
        check_regular_grid(grid, (9, 8))
    with pytest.raises(ValueError, match=r"Received: grid_shape=\(81,\)"):
        check_regular_grid(grid, (81,))


# --------------------------------------------------------------------------
# Finite differences: second-order convergence, exactness, caching
# --------------------------------------------------------------------------


def _orders(request, exact):
    """Max errors of ``request(d)`` against ``exact(x, y)`` on 17x17 and
    33x33 grids, at the 17x17 nodes (which both grids share), and the
    observed orders ``log2(e_17 / e_33)`` in the interior and on the edges."""
    errors = {}
    for n in (17, 33):
        x = BOX.grid((n, n))
        d = GridDerivatives(sin_sin, x, input_names=BOX.names)
        value = to_np(request(d)).reshape(n, n)
        xs = x.astype("float64")
        truth = exact(xs[:, 0], xs[:, 1]).reshape(n, n)
        errors[n] = np.abs(value - truth)[:: (n - 1) // 16, :: (n - 1) // 16]
        scale = np.abs(truth).max()
    edge = np.zeros((17, 17), bool)
    edge[[0, -1], :] = edge[:, [0, -1]] = True
    interior = (errors[17][~edge].max(), errors[33][~edge].max())
    edges = (errors[17][edge].max(), errors[33][edge].max())
    return {
        "interior": math.log2(interior[0] / interior[1]),
        "edges": math.log2(edges[0] / edges[1]),
        "relative_error": max(interior[1], edges[1]) / scale,
    }


S, C = np.sin, np.cos
PI = np.pi


@pytest.mark.parametrize(
    "name, request_, exact",
    [
        ("laplacian", lambda d: d.laplacian("u"), lambda x, y: -2 * PI**2 * S(PI * x) * S(PI * y)),
        ("u_x", lambda d: d("u", "x"), lambda x, y: PI * C(PI * x) * S(PI * y)),
        ("u_y", lambda d: d("u", "y"), lambda x, y: PI * S(PI * x) * C(PI * y)),
        ("u_xy", lambda d: d("u", "x", "y"), lambda x, y: PI**2 * C(PI * x) * C(PI * y)),
        ("u_xxy", lambda d: d("u", "x", "y", "x"), lambda x, y: -(PI**3) * S(PI * x) * C(PI * y)),
    ],
)
def test_finite_differences_are_second_order(name, request_, exact):
    result = _orders(request_, exact)
    assert 1.7 <= result["interior"] <= 2.3, (name, result)
    assert 1.7 <= result["edges"] <= 2.3, (name, result)
    assert result["relative_error"] < 2e-2, (name, result)


def test_third_and_fourth_derivatives_exact_on_polynomials():
    """Second-order stencils of the k-th derivative (k + 2 points at the
    edges) are exact on polynomials of degree k + 1."""
    box = kp.Box([-1.0, -1.0], [1.0, 1.0], names=("x", "y"))
    x = box.grid((11, 9))
    xs, ys = x[:, :1].astype("float64"), x[:, 1:].astype("float64")

    def fn(z):
        return ops.concatenate([z[:, :1] ** 4, z[:, :1] ** 5, z[:, :1] ** 3 * z[:, 1:] ** 3], axis=1)

    d = GridDerivatives(fn, x, input_names=box.names, output_names=("p", "q", "r"))
    np.testing.assert_allclose(to_np(d("p", "x", "x", "x")), 24 * xs, atol=1e-3)
    np.testing.assert_allclose(to_np(d("q", "x", "x", "x", "x")), 120 * xs, atol=2e-2)
    np.testing.assert_allclose(to_np(d("r", "x", "x", "y", "y")), 36 * xs * ys, atol=1e-3)
    np.testing.assert_allclose(to_np(d("r", "y", "y", "y")), 6 * xs**3, atol=1e-3)
    assert np.abs(to_np(d("p", "y"))).max() < 1e-5
    with pytest.raises(ValueError, match="up to order 4"):
        d("q", *["x"] * 5)
    small = GridDerivatives(fn, box.grid((5, 5)), input_names=box.names)
    with pytest.raises(ValueError, match="at least 6 grid points"):
        small("u1", "y", "y", "y", "y")


def test_grid_derivatives_interface_and_cache():
    x = BOX.grid((9, 9))
    d = GridDerivatives(sin_sin, x, input_names=BOX.names, params={"k": 2.0})
    assert d.grid_shape == (9, 9) and d.spacing == pytest.approx((1.1 / 8, 1.1 / 8))
    assert d("u", "x", "y") is d("u", "y", "x")
    assert d.max_order == 2
    assert d(0, 0) is d("u", "x")
    assert tuple(d("u").shape) == (81, 1)
    assert tuple(d.gradient("u").shape) == (81, 2)
    np.testing.assert_allclose(to_np(d.coord("y")), x[:, 1:], rtol=0)
    np.testing.assert_allclose(to_np(d.outputs), to_np(sin_sin(x)))
    np.testing.assert_allclose(to_np(d.laplacian()), to_np(d("u", "x", "x")) + to_np(d("u", "y", "y")), rtol=1e-6)
    assert d.params == {"k": 2.0} and d.input_names == ("x", "y") and d.output_names == ("u",)
    # explicit grid_shape and spacing (the compiled path) agree with inference
    given = GridDerivatives(sin_sin, x, input_names=BOX.names, grid_shape=(9, 9), spacing=d.spacing)
    np.testing.assert_array_equal(to_np(given.laplacian()), to_np(d.laplacian()))
    with pytest.raises(ValueError, match=r"Received: grid_shape=\(9,\)"):
        GridDerivatives(sin_sin, x, grid_shape=(9,), spacing=0.1)
    with pytest.raises(ValueError, match="spacing"):
        GridDerivatives(sin_sin, x, grid_shape=(9, 9), spacing=(0.1, -0.1))
    with pytest.raises(ValueError, match="must hold the 64 points"):
        GridDerivatives(sin_sin, x, grid_shape=(8, 8), spacing=0.1)
    with pytest.raises(ValueError, match="Unknown input"):
        d("u", "z")


def _compile(fn):
    if keras.backend.backend() == "jax":
        import jax

        return jax.jit(fn)
    import tensorflow as tf

    return tf.function(fn)


@pytest.mark.requires_backend("jax", "tensorflow")
def test_grid_derivatives_inside_compiled_functions():
    """Traced points have no values: the grid is then given explicitly (as
    PINNModel does), and inferring it fails with a clear message."""
    x = BOX.grid((9, 9))
    shape, spacing = infer_grid(x)
    eager = to_np(GridDerivatives(sin_sin, x).laplacian())
    given = _compile(lambda z: GridDerivatives(sin_sin, z, grid_shape=shape, spacing=spacing).laplacian())
    np.testing.assert_allclose(to_np(given(ops.convert_to_tensor(x))), eager, rtol=1e-5, atol=1e-5)
    inferred = _compile(lambda z: GridDerivatives(sin_sin, z).laplacian())
    with pytest.raises(ValueError, match="pass `grid_shape=` and `spacing=`"):
        inferred(ops.convert_to_tensor(x))


# --------------------------------------------------------------------------
# Autodiff through a CNN over the grid: which derivative it is
# --------------------------------------------------------------------------


def _relative(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def test_autodiff_of_grid_conv_is_the_row_sum_of_the_jacobian_by_hand():
    """Every backend's autodiff derivative through a GridConv is
    D u_i = sum_k du_i/dx_k (the Jacobian's row sum: all points moved
    together), not the column sum sum_k du_k/dx_i that one reverse pass gives
    (TensorFlow's and PyTorch's result before) nor the diagonal du_i/dx_i.
    One tanh convolution, kernel (0.5, -1, 2), bias 0.1, on 5 points: u_i =
    tanh(z_i), z_i = sum_m w_m x_(i+m-1) + b with zero padding, so du_i/dx_k =
    (1 - u_i^2) w_(k-i+1) and the row sum is (1 - u_i^2) S_i, S_i the sum of
    the kernel weights that fall on points; the second derivative along
    the same motion is -2 u_i (1 - u_i^2) S_i^2."""
    kernel, bias = np.array([0.5, -1.0, 2.0]), 0.1
    conv = keras.layers.Conv1D(1, 3, padding="same", activation="tanh")
    net = GridConv([conv], (5,))
    net.build((5, 1))
    conv.set_weights([kernel.reshape(3, 1, 1).astype("float32"), np.array([bias], "float32")])
    x = np.linspace(0.0, 1.0, 5)[:, None]

    padded = np.concatenate([[0.0], x[:, 0], [0.0]])
    u = np.tanh(np.array([kernel @ padded[i : i + 3] for i in range(5)]) + bias)
    jacobian = np.zeros((5, 5))
    for i in range(5):
        for m in range(3):
            if 0 <= i + m - 1 < 5:
                jacobian[i, i + m - 1] = (1 - u[i] ** 2) * kernel[m]
    row_sum = jacobian.sum(axis=1)
    s = np.array([sum(kernel[m] for m in range(3) if 0 <= i + m - 1 < 5) for i in range(5)])
    second = -2 * u * (1 - u**2) * s**2

    d = kp.derivatives(net, x.astype("float32"), method="autodiff")
    u_x, u_xx = to_np(d("u", 0))[:, 0], to_np(d("u", 0, 0))[:, 0]
    np.testing.assert_allclose(to_np(d("u"))[:, 0], u, atol=1e-6)
    np.testing.assert_allclose(u_x, row_sum, atol=1e-6)
    np.testing.assert_allclose(u_xx, second, atol=2e-6)
    # the other candidates differ here by far more than the tolerance
    assert np.abs(jacobian.sum(axis=0) - row_sum).max() > 0.5
    assert np.abs(np.diag(jacobian) - row_sum).max() > 0.5


def test_autodiff_of_grid_conv_is_the_motion_of_all_points_in_2d():
    """On a 2-D grid with two stacked convolutions, each partial (first,
    second, mixed) is the derivative of the outputs when all points move
    together: central differences of the network at x + eps e_j."""
    n = (4, 5)
    x = BOX.grid(n).astype("float32")
    net = conv_net(n, filters=3)
    d = kp.derivatives(net, x, input_names=BOX.names, method="autodiff")

    def shifted(*steps):
        return to_np(net(ops.convert_to_tensor((x + np.array(steps, "float64")).astype("float32"))))

    eps = 1e-2  # float32 network: the quotients are good to about 1e-3 (first) and 1e-2 (second order)
    for j, name in enumerate(BOX.names):
        e = np.eye(2)[j] * eps
        np.testing.assert_allclose(to_np(d("u", name)), (shifted(*e) - shifted(*-e)) / (2 * eps), atol=5e-3)
        np.testing.assert_allclose(
            to_np(d("u", name, name)), (shifted(*e) - 2 * shifted(0, 0) + shifted(*-e)) / eps**2, atol=2e-2
        )
    mixed = (shifted(eps, eps) - shifted(eps, -eps) - shifted(-eps, eps) + shifted(-eps, -eps)) / (4 * eps**2)
    np.testing.assert_allclose(to_np(d("u", "x", "y")), mixed, atol=2e-2)


def test_autodiff_of_grid_conv_is_the_field_derivative_away_from_the_edges():
    """For a per-point MLP, autodiff u_x and the finite-difference derivative
    of its output field agree to the scheme's O(h^2) error everywhere. For a
    GridConv (two 3-wide convolutions: each output sees 2 points on either
    side), moving every point by s along x is, away from the edges, the same
    as reading the field one grid step further for s = h, so autodiff is the
    field's derivative there and finite differences approach it at O(h^2).
    Within reach of the edges the zero padding does not move with the
    points, and the two have nothing in common."""
    n = 17
    x = BOX.grid((n, n))
    mlp = keras.Sequential(
        [keras.Input((2,)), DomainScaler(BOX), keras.layers.Dense(16, "tanh"), keras.layers.Dense(1)]
    )
    fields = {}
    for name, net in (("mlp", mlp), ("cnn", conv_net((n, n)))):
        autodiff = to_np(kp.derivatives(net, x, input_names=BOX.names)("u", "x")).reshape(n, n)
        fd = to_np(GridDerivatives(net, x, input_names=BOX.names)("u", "x")).reshape(n, n)
        fields[name] = autodiff, fd
    assert _relative(*fields["mlp"]) < 0.01  # O(h^2), h = 0.06875
    autodiff, fd = fields["cnn"]
    inner = slice(3, n - 3)  # rows whose x-neighbours see no padding
    assert _relative(autodiff[inner], fd[inner]) < 0.05
    assert _relative(autodiff[:3], fd[:3]) > 0.5 and _relative(autodiff[-3:], fd[-3:]) > 0.5


# --------------------------------------------------------------------------
# PINNModel with derivative_method="finite_difference"
# --------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="keras_pinn_tests")
def _zero_on_unit_square(x, u):
    return x[:, :1] * (1 - x[:, :1]) * x[:, 1:2] * (1 - x[:, 1:2]) * u


def test_pinn_model_with_grid_conv_trains_with_finite_differences():
    """Poisson -lap u = 2 pi^2 sin(pi x) sin(pi y) on the unit square, u = 0
    on the boundary imposed exactly, a CNN over a 9x9 collocation grid."""
    box = kp.Box([0.0, 0.0], [1.0, 1.0], names=("x", "y"))
    n = 9

    def poisson(d):
        x, y = d.coord("x"), d.coord("y")
        return d.laplacian("u") + 2 * np.pi**2 * ops.sin(np.pi * x) * ops.sin(np.pi * y)

    model = kp.PINNModel(
        conv_net((n, n), domain=box),
        box,
        poisson,
        n_collocation=n * n,
        sampler="grid",
        output_transform=_zero_on_unit_square,
        derivative_method="finite_difference",
        seed=0,
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(epochs=2, steps_per_epoch=3, verbose=0)
    losses = history.history["loss"]
    assert len(losses) == 2 and np.all(np.isfinite(losses)), losses
    assert np.isfinite(history.history["pde_loss"]).all()
    grid = box.grid((n, n))
    assert model.predict(grid, batch_size=n * n, verbose=0).shape == (n * n, 1)
    assert np.isfinite(to_np(model.residual(grid))).all()
    with pytest.raises(ValueError, match="grid"):
        kp.PINNModel(
            conv_net((n, n), domain=box),
            box,
            poisson,
            n_collocation=n * n,
            sampler="lhs",
            derivative_method="finite_difference",
        )


def test_pinn_model_with_grid_conv_and_autodiff_probes_the_whole_grid():
    """The article's naive CNN-PINN: derivative_method="autodiff" on a
    GridConv. The model probes it with the whole collocation grid (a single
    point is not a grid), finds the PDE's order and trains."""
    box = kp.Box([0.0, 0.0], [1.0, 1.0], names=("x", "y"))
    n = 7

    def poisson(d):
        return d.laplacian("u") + 1.0

    model = kp.PINNModel(
        conv_net((n, n), domain=box),
        box,
        poisson,
        n_collocation=n * n,
        sampler="grid",
        output_transform=_zero_on_unit_square,
        seed=0,
    )
    assert model.resolved_derivative_method == "autodiff" and model.pde_order == 2
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(epochs=1, steps_per_epoch=2, verbose=0)
    assert np.isfinite(history.history["pde_loss"]).all()
    # The residual is the autodiff Laplacian of the CNN's outputs plus 1.
    grid = box.grid((n, n))
    d = kp.derivatives(model, ops.convert_to_tensor(grid.astype("float32")), input_names=box.names)
    expected = to_np(d.laplacian("u")) + 1.0
    np.testing.assert_allclose(to_np(model.residual(grid)), expected, rtol=1e-4, atol=1e-4)
