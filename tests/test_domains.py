"""Domains and samplers: points inside, stratification, faces, normals,
seeding, grids, serialization and bad inputs."""

import keras
import numpy as np
import pytest

import keras_pinn as kp
from keras_pinn.domains import sample_unit_cube

BOX = kp.Box([-1.0, 0.0, 2.0], [1.0, 0.5, 3.0], names=("x", "y", "z"))
ST = kp.SpaceTime(kp.Interval(-1.0, 1.0, "x"), 0.0, 2.0)


@pytest.mark.parametrize("method", ["uniform", "lhs", "sobol", "grid"])
def test_interior_points_inside_and_seeded(method):
    a = BOX.sample_interior(64, method=method, seed=3)
    b = BOX.sample_interior(64, method=method, seed=3)
    assert a.dtype == keras.config.floatx()
    assert a.shape[1] == 3 and a.shape[0] >= 64
    assert BOX.contains(a).all()
    np.testing.assert_array_equal(a, b)


def test_lhs_has_one_point_per_stratum():
    u = sample_unit_cube(50, 2, "lhs", seed=0)
    for j in range(2):
        np.testing.assert_array_equal(np.sort(np.floor(u[:, j] * 50)), np.arange(50))


def test_sobol_covers_better_than_chance():
    # scrambled Sobol: each of the 16 cells of a 4x4 partition gets exactly 4 of 64 points
    u = sample_unit_cube(64, 2, "sobol", seed=0)
    counts = np.histogram2d(u[:, 0], u[:, 1], bins=4, range=[[0, 1], [0, 1]])[0]
    np.testing.assert_array_equal(counts, 4)


def test_grid_includes_faces():
    g = BOX.grid((3, 2, 2))
    assert g.shape == (12, 3)
    np.testing.assert_allclose(np.unique(g[:, 0]), [-1, 0, 1])
    np.testing.assert_allclose(g[:2], [[-1, 0, 2], [-1, 0, 3]])  # C order
    assert sample_unit_cube(10, 2, "grid").shape == (16, 2)  # ceil(sqrt(10)) = 4 per axis


def test_boundary_faces_share_points_by_measure_and_have_normals():
    pts, normals = BOX.sample_boundary(1000, seed=0, return_normals=True)
    assert pts.shape == (1000, 3)
    on_face = np.isclose(pts, BOX.lower) | np.isclose(pts, BOX.upper)
    assert on_face.any(axis=1).all()
    # the two x faces measure 0.5 each of a total 2 * (0.5 + 2 + 1) = 7
    on_x = np.isclose(np.abs(pts[:, 0]), 1.0).sum()
    assert abs(on_x - 1000 * 1.0 / 7.0) <= 2
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0)
    left = np.isclose(pts[:, 0], -1.0) & (normals[:, 0] != 0)
    assert (normals[left, 0] == -1).all()
    np.testing.assert_allclose(BOX.normals(pts), normals)


def test_named_faces_and_space_time():
    pts = BOX.sample_boundary(20, faces=["y_max"], seed=1)
    np.testing.assert_allclose(pts[:, 1], 0.5)
    assert ST.names == ("x", "t") and ST.faces == ("x_min", "x_max")
    walls = ST.sample_boundary(30, seed=0)
    assert np.isclose(np.abs(walls[:, 0]), 1.0).all()
    assert ((walls[:, 1] >= 0) & (walls[:, 1] <= 2)).all()
    init = ST.sample_initial(10, seed=0)
    np.testing.assert_allclose(init[:, 1], 0.0)
    one_d = kp.Interval(0.0, 1.0).sample_boundary(4)
    np.testing.assert_allclose(np.sort(one_d[:, 0]), [0, 0, 1, 1])


def test_serialization_round_trip():
    for domain in (BOX, ST, kp.Interval(2.0, 5.0, "r")):
        again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(domain))
        assert again == domain and type(again) is type(domain)


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: kp.Box([0.0, 1.0], [1.0, 1.0]), r"strictly below.*lower=\[0.0, 1.0\], upper=\[1.0, 1.0\]"),
        (lambda: kp.Box([0.0], [np.inf]), "finite"),
        (lambda: kp.Box([0.0, 0.0], [1.0]), "equal length"),
        (lambda: kp.Box([0.0, 0.0], [1.0, 1.0], names=("x", "x")), "distinct"),
        (lambda: kp.SpaceTime(kp.Interval(0, 1, "t"), 0, 1), "time_name"),
        (lambda: kp.SpaceTime((0, 1), 0, 1), "space"),
        (lambda: BOX.sample_interior(0), "n.*0"),
        (lambda: BOX.sample_interior(5, method="halton"), "halton"),
        (lambda: BOX.sample_boundary(5, faces=["w_min"]), "Unknown face.*w_min"),
        (lambda: BOX.grid((3, 1, 2)), "shape"),
        (lambda: BOX.index("q"), "Unknown coordinate.*q"),
        (lambda: BOX.check_points(np.zeros((2, 2))), r"shape \(n, 3\)"),
        (lambda: BOX.check_points(np.zeros((0, 3))), "empty"),
        (lambda: BOX.check_points([[0.0, 0.1, np.nan]]), "non-finite"),
        (lambda: BOX.check_points([[5.0, 0.1, 2.5]]), "outside the domain"),
        (lambda: BOX.normals([[0.0, 0.1, 2.5]]), "none of the faces"),
    ],
)
def test_bad_inputs(call, message):
    with pytest.raises(ValueError, match=message):
        call()
