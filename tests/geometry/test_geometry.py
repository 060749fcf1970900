"""keras_pinn.geometry: primitives, polygons, CSG, products with time,
Robin conditions and hard constraints, on every backend."""

import hashlib

import keras
import numpy as np
import pytest
from keras import ops

import keras_pinn as kp
from keras_pinn import geometry as kg


def plate_with_hole():
    return kg.Rectangle([-1.0, -1.0], [1.0, 1.0], name="plate") - kg.Disk([0.2, 0.0], 0.3, name="hole")


def l_shape():
    return kg.Polygon([[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2]], name="L")


GEOMETRIES = {
    "disk": lambda: kg.Disk([0.5, -1.0], 0.7),
    "ellipse": lambda: kg.Ellipse([0.0, 0.0], [2.0, 0.5]),
    "rounded_rectangle": lambda: kg.RoundedRectangle([0.0, 0.0], [2.0, 1.0], 0.3),
    "polygon_convex": lambda: kg.Polygon([[0, 0], [1, 0], [1.5, 1], [0.2, 1.4]]),
    "polygon_l_shape": l_shape,
    "ball": lambda: kg.Ball([0.0, 0.0, 0.0], 1.0),
    "cuboid": lambda: kg.Cuboid([0.0, 0.0, 0.0], [1.0, 2.0, 0.5]),
    "cylinder": lambda: kg.Cylinder([0.0, 1.0, 0.0], 0.5, 2.0, axis=1),
    "plate_with_hole": plate_with_hole,
    "union": lambda: kg.Disk([0.0, 0.0], 1.0) | kg.Disk([1.0, 0.0], 1.0, name="right"),
    "intersection": lambda: kg.Disk([0.0, 0.0], 1.0) & kg.Rectangle([0.0, -2.0], [2.0, 2.0]),
    "l_by_difference": lambda: kg.Rectangle([0, 0], [2, 2]) - kg.Rectangle([1, 1], [2, 2], name="notch"),
    "ball_minus_cylinder": lambda: kg.Ball([0, 0, 0], 1.0) - kg.Cylinder([0, 0, 0], 0.4, 3.0),
}


def _lens(r, d):
    """Area of the intersection of two disks of radius r, centres d apart."""
    return 2 * r**2 * np.arccos(d / (2 * r)) - d / 2 * np.sqrt(4 * r**2 - d**2)


EXACT_MEASURES = {
    "disk": np.pi * 0.49,
    "ellipse": np.pi,
    "rounded_rectangle": 2.0 - (4 - np.pi) * 0.09,
    "polygon_convex": 1.45,  # shoelace: (0 + 1 + 1.9 + 0) / 2
    "polygon_l_shape": 3.0,
    "ball": 4 / 3 * np.pi,
    "cuboid": 1.0,
    "cylinder": np.pi * 0.25 * 2.0,
    "plate_with_hole": 4.0 - np.pi * 0.09,
    "union": 2 * np.pi - _lens(1.0, 1.0),
    "intersection": np.pi / 2,
    "l_by_difference": 3.0,
    "ball_minus_cylinder": 4 / 3 * np.pi * 0.84**1.5,  # napkin ring: (4/3) pi (r^2 - a^2)^(3/2)
}


@pytest.fixture(params=sorted(GEOMETRIES))
def case(request):
    return request.param, GEOMETRIES[request.param]()


@pytest.mark.parametrize("method", ["uniform", "lhs", "sobol"])
def test_interior_points_are_inside(case, method):
    _, g = case
    x = g.sample_interior(300, method=method, seed=0)
    assert x.shape == (300, g.dim) and x.dtype == keras.config.floatx()
    assert np.all(g.sdf(x) < 1e-6 * g.length_scale)
    assert np.all(g.contains(x)) and np.all((x >= g.lower - 1e-6) & (x <= g.upper + 1e-6))


@pytest.mark.parametrize("method", ["uniform", "lhs", "sobol"])
def test_boundary_points_lie_on_the_boundary_with_outward_unit_normals(case, method):
    _, g = case
    x, n = g.sample_boundary(400, method=method, seed=1, return_normals=True)
    x64, n64 = x.astype("float64"), n.astype("float64")
    assert x.shape == n.shape == (400, g.dim)
    assert np.max(np.abs(g.sdf(x64))) <= 1e-6 * g.length_scale
    np.testing.assert_allclose(np.linalg.norm(n64, axis=1), 1.0, atol=1e-6)
    eps = 1e-3 * g.length_scale
    # Outward: a small step along n leaves the region, a step against it enters.
    assert np.mean(g.sdf(x64 + eps * n64) > 0) > 0.99
    assert np.mean(g.sdf(x64 - eps * n64) < 0) > 0.99
    # The normals recomputed from the points alone (what NeumannBC uses).
    agree = np.all(np.abs(g.normals(x64) - n64) < 1e-5, axis=1)
    assert agree.mean() > 0.99


def test_measure_by_sampling_within_one_percent(case):
    name, g = case
    estimate = g.estimate_measure(200_000, seed=0)
    assert abs(estimate / EXACT_MEASURES[name] - 1) < 0.01, (name, estimate, EXACT_MEASURES[name])
    if g.measure is not None:
        np.testing.assert_allclose(g.measure, EXACT_MEASURES[name], rtol=1e-12)


def test_exact_signed_distances():
    disk = kg.Disk([1.0, 0.0], 0.5)
    np.testing.assert_allclose(disk.sdf([[1.0, 0.0], [2.0, 0.0], [1.0, 0.25]]), [-0.5, 0.5, -0.25])
    rect = kg.Rectangle([0.0, 0.0], [2.0, 1.0])
    np.testing.assert_allclose(
        rect.sdf([[1.0, 0.5], [3.0, 2.0], [1.0, 0.9], [-1.0, 0.5]]), [-0.5, np.sqrt(2), -0.1, 1.0]
    )
    l_poly = l_shape()
    # (1.5, 1.5) is in the notch, 0.5 from the two inner edges; (0.5, 0.5) is 0.5 inside.
    np.testing.assert_allclose(
        l_poly.sdf([[1.5, 1.5], [0.5, 0.5], [3.0, 1.0], [1.0, 1.0]]), [0.5, -0.5, 1.0, 0.0], atol=1e-15
    )
    rounded = kg.RoundedRectangle([0.0, 0.0], [2.0, 2.0], 0.5)
    # Beyond a corner: distance to the corner circle (centre (1.5, 1.5), radius 0.5).
    np.testing.assert_allclose(rounded.sdf([[2.5, 2.5], [1.0, 1.0]]), [np.sqrt(2) - 0.5, -1.0])
    cyl = kg.Cylinder([0.0, 0.0, 0.0], 1.0, 2.0)
    np.testing.assert_allclose(
        cyl.sdf([[0, 0, 0], [2, 0, 0], [0, 0, 3], [2, 0, 2], [0.5, 0, 0.9]]), [-1, 1, 2, np.sqrt(2), -0.1]
    )
    ball = kg.Ball([0.0, 0.0, 1.0], 2.0)
    np.testing.assert_allclose(ball.sdf([[0, 0, 1], [0, 3, 1]]), [-2.0, 1.0])
    assert disk.exact_distance and l_poly.exact_distance and not kg.Ellipse([0, 0], [1, 2]).exact_distance
    assert not (disk - rect).exact_distance


def test_sdf_in_keras_ops_matches_numpy(case):
    _, g = case
    x = np.random.default_rng(3).uniform(g.lower - 0.3, g.upper + 0.3, (64, g.dim))
    got = ops.convert_to_numpy(g.sdf_ops(ops.convert_to_tensor(x.astype(keras.config.floatx()))))
    np.testing.assert_allclose(got, g.sdf(x.astype(keras.config.floatx())), atol=1e-5)


def test_csg_identities_on_points():
    a = kg.Rectangle([-1.0, -1.0], [1.0, 1.0])
    b = kg.Disk([0.5, 0.5], 0.8)
    x = np.random.default_rng(0).uniform(-1.5, 1.5, (20_000, 2))
    ina, inb = a.inside(x), b.inside(x)
    np.testing.assert_array_equal((a | b).inside(x), ina | inb)
    np.testing.assert_array_equal((a & b).inside(x), ina & inb)
    np.testing.assert_array_equal((a - b).inside(x), ina & ~inb)
    np.testing.assert_array_equal((a - (a - b)).inside(x), (a & b).inside(x))
    np.testing.assert_array_equal(((a | b) - b).inside(x), (a - b).inside(x))
    # Box-like bounds: union and intersection bounding boxes.
    np.testing.assert_allclose((a | b).lower, [-1.0, -1.0])
    np.testing.assert_allclose((a | b).upper, [1.3, 1.3])
    np.testing.assert_allclose((a & b).lower, [-0.3, -0.3])


def test_boundary_parts_select_the_hole_by_name_or_predicate():
    g = plate_with_hole()
    assert set(g.faces) >= {"plate", "hole", "plate.x_min"}
    hole, normals = g.sample_boundary(200, faces="hole", seed=0, return_normals=True)
    np.testing.assert_allclose(np.linalg.norm(hole - [0.2, 0.0], axis=1), 0.3, atol=1e-6)
    # Outward from the plate is into the hole: towards its centre.
    np.testing.assert_allclose(normals, -(hole - [0.2, 0.0]) / 0.3, atol=1e-5)
    left = g.sample_boundary(50, faces=["plate.x_min"], seed=0)
    np.testing.assert_array_equal(left[:, 0], -1.0)
    upper = g.sample_boundary(80, faces=lambda p: p[:, 1] > 0.5, seed=0)
    assert upper.shape == (80, 2) and np.all(upper[:, 1] > 0.5)
    labels = g.boundary_labels(np.array([[-1.0, 0.3], [0.5, 0.0], [0.0, 0.0]]))
    assert labels.tolist() == ["plate.x_min", "hole", ""]


def test_same_seed_same_points_on_every_backend():
    g = plate_with_hole()
    a = g.sample_interior(64, "lhs", seed=7)
    np.testing.assert_array_equal(a, g.sample_interior(64, "lhs", seed=7))
    b = g.sample_boundary(64, seed=7)
    np.testing.assert_array_equal(b, g.sample_boundary(64, seed=7))
    assert not np.array_equal(a, g.sample_interior(64, "lhs", seed=8))
    # NumPy does the sampling: the digest below is the same under every
    # Keras backend (recorded once, checked under each).
    digest = hashlib.sha256(np.round(np.concatenate([a, b]).astype("float64"), 5).tobytes()).hexdigest()[:16]
    assert digest == DIGEST, digest


DIGEST = "78a3d91b56776991"  # sha256 prefix of the rounded points, recorded under JAX


def test_too_thin_region_raises_a_clear_error():
    ring = kg.Disk([0.0, 0.0], 1.0) - kg.Disk([0.0, 0.0], 0.9999, name="inner")
    with pytest.raises(ValueError, match=r"Cannot sample the interior of Difference\(Disk.*acceptance rate"):
        ring.sample_interior(100, seed=0)
    empty = kg.Disk([0.0, 0.0], 1.0) & kg.Rectangle([0.8, 0.8], [1.0, 1.0])  # bounding boxes overlap, regions do not
    with pytest.raises(ValueError, match="acceptance rate 0"):
        empty.sample_interior(10, seed=0)


@pytest.mark.parametrize(
    "build, argument",
    [
        (lambda: kg.Disk([0, 0], -1.0), "radius"),
        (lambda: kg.Disk([0, 0, 0], 1.0), "center"),
        (lambda: kg.Ellipse([0, 0], [1.0, 0.0]), "semi_axes"),
        (lambda: kg.Polygon([[0, 0], [1, 1], [1, 0], [0, 1]]), "vertices"),
        (lambda: kg.Polygon([[0, 0], [1, 1]]), "vertices"),
        (lambda: kg.Polygon([[0, 0], [1, 1], [2, 2]]), "vertices"),
        (lambda: kg.RoundedRectangle([0, 0], [1, 1], 0.6), "radius"),
        (lambda: kg.Rectangle([0, 0], [0, 1]), "lower"),
        (lambda: kg.Cylinder([0, 0, 0], 1.0, 1.0, axis=3), "axis"),
        (lambda: kg.Disk([0, 0], 1.0, name="a.b"), "name"),
        (lambda: kg.Disk([0, 0], 1.0) | kg.Ball([0, 0, 0], 1.0), "`a` and `b`"),
        (lambda: kg.Disk([0, 0], 1.0) | "square", "b"),
        (lambda: kg.Disk([0, 0], 1.0).sample_interior(10, method="halton"), "method"),
        (lambda: kg.Disk([0, 0], 1.0).sample_interior(0), "n"),
        (lambda: kg.Disk([0, 0], 1.0).sample_boundary(10, faces="hole"), "face"),
        (lambda: kp.RobinBC(alpha=0.0, beta=0.0), "alpha"),
        (lambda: kp.RobinBC(alpha=float("nan")), "alpha"),
        (lambda: kg.HardDirichlet(kg.Disk([0, 0], 1.0), value="one"), "value"),
        (lambda: kg.HardDirichlet(kg.Disk([0, 0], 1.0), components=[-1]), "components"),
    ],
)
def test_bad_arguments_name_the_argument(build, argument):
    with pytest.raises(ValueError, match=argument):
        build()


def test_product_with_time():
    space = plate_with_hole()
    domain = kp.SpaceTime(space, 0.0, 2.0)
    assert isinstance(domain, kg.GeometryXTime) and isinstance(domain, kp.SpaceTime)
    np.testing.assert_allclose(domain.lower, [-1.0, -1.0, 0.0])
    np.testing.assert_allclose(domain.upper, [1.0, 1.0, 2.0])
    x = domain.sample_interior(200, "lhs", seed=0)
    assert np.all(space.inside(x[:, :2])) and np.all((x[:, 2] >= 0) & (x[:, 2] <= 2))
    xb, nb = domain.sample_boundary(100, faces="hole", seed=0, return_normals=True)
    np.testing.assert_allclose(np.linalg.norm(xb[:, :2] - [0.2, 0.0], axis=1), 0.3, atol=1e-6)
    np.testing.assert_array_equal(nb[:, 2], 0.0)
    np.testing.assert_allclose(domain.normals(xb, faces=["hole"]), nb, atol=1e-5)
    x0 = domain.sample_initial(50, seed=0)
    assert np.all(x0[:, 2] == 0.0) and np.all(space.inside(x0[:, :2]))
    assert not domain.contains([[0.2, 0.0, 1.0]])[0] and domain.contains([[0.9, 0.9, 1.0]])[0]
    scaler = kp.layers.DomainScaler(domain)
    np.testing.assert_allclose(scaler.lower, [-1.0, -1.0, 0.0])


@keras.saving.register_keras_serializable(package="keras_pinn_tests")
def poisson_residual(d):
    return d.laplacian("u") + 1.0


@keras.saving.register_keras_serializable(package="keras_pinn_tests")
def upper_half(points):
    return points[:, 1] > 0.0


# XLA compiles these small graphs for longer than the two steps take on TensorFlow.
JIT = False if keras.backend.backend() == "tensorflow" else "auto"


def _net(dim=2):
    return keras.Sequential(
        [
            keras.Input((dim,)),
            kp.layers.DomainScaler(plate_with_hole()),
            keras.layers.Dense(8, activation="tanh"),
            keras.layers.Dense(1),
        ]
    )


def make_csg_model(**kwargs):
    domain = plate_with_hole()
    conditions = [
        kp.DirichletBC(0.0, faces="plate", n_points=32),
        kp.RobinBC(alpha=1.0, beta=0.5, value=0.0, faces=["hole"], n_points=16),
        kp.NeumannBC(0.0, faces=upper_half, n_points=8, name="top_half"),
    ]
    return kp.PINNModel(_net(), domain, poisson_residual, conditions=conditions, n_collocation=64, seed=0, **kwargs)


def test_pinn_model_trains_on_a_csg_domain_and_round_trips(tmp_path):
    model = make_csg_model()
    points = model.point_sets()
    assert np.all(model.domain.inside(points["pde"]["x"]))
    np.testing.assert_allclose(np.linalg.norm(points["robin"]["x"] - [0.2, 0.0], axis=1), 0.3, atol=1e-6)
    np.testing.assert_allclose(points["robin"]["normal"], -(points["robin"]["x"] - [0.2, 0.0]) / 0.3, atol=1e-5)
    assert np.all(points["top_half"]["x"][:, 1] > 0)
    model.compile(keras.optimizers.Adam(1e-3), jit_compile=JIT)
    history = model.fit(epochs=2, steps_per_epoch=2, verbose=0).history
    assert set(history) == {"loss", "pde_loss", "bc_loss", "robin_loss", "top_half_loss"}
    assert all(np.isfinite(v).all() for v in history.values())
    path = tmp_path / "csg.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.domain == model.domain and isinstance(loaded.domain, kg.Difference)
    assert loaded.domain.faces == model.domain.faces
    robin = loaded.terms[2]
    assert isinstance(robin, kp.RobinBC) and (robin.alpha, robin.beta) == (1.0, 0.5)
    assert loaded.terms[3].faces == [upper_half]
    x = model.domain.sample_interior(5, seed=1)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_robin_and_neumann_use_the_curved_normals_exactly():
    """u = x^2 + y^2 on the unit disk: u = 1 and du/dn = 2 on the circle, so
    u + 0.5 du/dn = 2 and du/dn = 2 hold with zero residual."""
    disk = kg.Disk([0.0, 0.0], 1.0)
    net = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda x: ops.sum(x * x, axis=1, keepdims=True))])
    conditions = [kp.RobinBC(1.0, 0.5, 2.0, n_points=16), kp.NeumannBC(2.0, n_points=16)]
    model = kp.PINNModel(net, disk, conditions=conditions, seed=0)
    xb = disk.sample_boundary(32, seed=2)
    for term in ("robin", "neumann"):
        r = ops.convert_to_numpy(model.residual(xb, term=term))
        np.testing.assert_allclose(r, 0.0, atol=1e-5)
    wrong = kp.PINNModel(net, disk, conditions=[kp.RobinBC(1.0, 0.5, 0.0, n_points=4)], seed=0)
    np.testing.assert_allclose(ops.convert_to_numpy(wrong.residual(xb, term="robin")), 2.0, atol=1e-5)


def test_hard_dirichlet_holds_on_the_boundary_and_round_trips(tmp_path):
    domain = plate_with_hole()
    model = kp.PINNModel(
        _net(), domain, poisson_residual, n_collocation=64, seed=0, output_transform=kg.HardDirichlet(domain, value=0.5)
    )
    xb = domain.sample_boundary(40, seed=0)
    np.testing.assert_allclose(model.predict(xb, verbose=0), 0.5, atol=1e-5)
    model.compile(keras.optimizers.Adam(1e-2), jit_compile=JIT)
    model.fit(epochs=1, steps_per_epoch=2, verbose=0)
    np.testing.assert_allclose(model.predict(xb, verbose=0), 0.5, atol=1e-5)
    path = tmp_path / "hard.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded.predict(xb, verbose=0), 0.5, atol=1e-5)
    x = domain.sample_interior(8, seed=3)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_geometries_serialize(case):
    _, g = case
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(g))
    assert restored == g and type(restored) is type(g)
    x = np.random.default_rng(0).uniform(g.lower, g.upper, (50, g.dim))
    np.testing.assert_array_equal(restored.sdf(x), g.sdf(x))


@keras.saving.register_keras_serializable(package="keras_pinn_tests")
def heat_residual(d):
    return d("u", "t") - 0.1 * d.laplacian("u", over=("x", "y"))


def test_pinn_model_on_a_geometry_times_time(tmp_path):
    domain = kp.SpaceTime(kg.Disk([0.0, 0.0], 1.0) - kg.Rectangle([-0.2, -0.2], [0.2, 0.2], name="slot"), 0.0, 1.0)
    net = keras.Sequential(
        [
            keras.Input((3,)),
            kp.layers.DomainScaler(domain),
            keras.layers.Dense(8, activation="tanh"),
            keras.layers.Dense(1),
        ]
    )
    conditions = [
        kp.InitialCondition(1.0, n_points=16),
        kp.DirichletBC(0.0, faces="disk", n_points=16),
        kp.NeumannBC(0.0, faces="slot", n_points=16),
    ]
    model = kp.PINNModel(net, domain, heat_residual, conditions=conditions, n_collocation=32, seed=0)
    sets = model.point_sets()
    np.testing.assert_array_equal(sets["ic"]["x"][:, 2], 0.0)
    np.testing.assert_allclose(np.linalg.norm(sets["bc"]["x"][:, :2], axis=1), 1.0, atol=1e-6)
    assert np.all(np.abs(sets["neumann"]["x"][:, :2]).max(axis=1) > 0.2 - 1e-6)
    np.testing.assert_array_equal(sets["neumann"]["normal"][:, 2], 0.0)
    model.compile(keras.optimizers.Adam(1e-3), jit_compile=JIT)
    history = model.fit(epochs=1, steps_per_epoch=2, verbose=0).history
    assert all(np.isfinite(v).all() for v in history.values())
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(domain))
    assert isinstance(restored, kg.GeometryXTime) and restored == domain
