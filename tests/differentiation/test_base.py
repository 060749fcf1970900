"""What every kind of derivatives shares (keras_pinn.differentiation.base):
column names resolved to indices, points checked; and the public interfaces
other modules use instead of private functions."""

import ast
import pathlib

import numpy as np
import pytest

import keras_pinn as kp
from keras_pinn.differentiation import check_grid_shape, check_points, resolve_column

PACKAGE = pathlib.Path(kp.__file__).parent


def test_resolve_column_names_and_indices():
    names = ("u", "v", "w")
    assert [resolve_column(v, names, "output", "component") for v in ("u", "w", 0, 2, -1, -3)] == [0, 2, 0, 2, 2, 0]


@pytest.mark.parametrize(
    "value,message",
    [
        ("p", "Unknown output 'p': expected one of ('u', 'v') or an integer index. Received: component='p'"),
        (2, "`component` index out of range: the output has 2 column(s) ('u', 'v'). Received: component=2"),
        (-3, "`component` index out of range: the output has 2 column(s) ('u', 'v'). Received: component=-3"),
        (True, "Unknown output True: expected one of ('u', 'v') or an integer index. Received: component=True"),
        (1.0, "Unknown output 1.0: expected one of ('u', 'v') or an integer index. Received: component=1.0"),
    ],
)
def test_resolve_column_errors_name_the_value(value, message):
    with pytest.raises(ValueError) as error:
        resolve_column(value, ("u", "v"), "output", "component")
    assert str(error.value) == message


def test_check_points():
    x = check_points(np.array([[1, 2], [3, 4]]))
    assert kp.differentiation.base.keras.backend.is_float_dtype(x.dtype)
    np.testing.assert_array_equal(kp.differentiation.base.ops.convert_to_numpy(x), [[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(
        ValueError, match=r"^`x` must have shape \(N, d\), one row per point. Received: x with shape \(3,\)$"
    ):
        check_points(np.zeros(3))


def test_check_grid_shape():
    assert check_grid_shape([3, 4]) == (3, 4)
    assert check_grid_shape(5, d=1) == (5,)
    assert check_grid_shape((1, 2), minimum=1) == (1, 2)
    for bad, kwargs in (((3, 1), {}), ((3, 4), {"d": 3}), ("ab", {}), ((2.5, 3), {}), ((True, 3), {})):
        with pytest.raises(ValueError, match=r"^`grid_shape` must give .*Received: grid_shape="):
            check_grid_shape(bad, **kwargs)


def _private_uses(path):
    """Private names of keras_pinn.differentiation that ``path`` uses: imported
    (``from keras_pinn.differentiation.x import _y``) or taken from an imported
    module of it (``taylor._y``)."""
    tree = ast.parse(path.read_text())
    found, modules = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("keras_pinn.differentiation"):
            for alias in node.names:
                if alias.name.startswith("_"):
                    found.append(alias.name)
                modules.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
            if node.attr.startswith("_"):
                found.append(f"{node.value.id}.{node.attr}")
    return found


def test_no_module_uses_a_private_name_of_the_derivatives():
    uses = {
        str(path.relative_to(PACKAGE)): _private_uses(path)
        for path in PACKAGE.rglob("*.py")
        if not path.is_relative_to(PACKAGE / "differentiation")
    }
    assert {k: v for k, v in uses.items() if v} == {}
    # the checker sees the layers' own use of the public interface
    assert "_taylor" in ast.dump(ast.parse((PACKAGE / "layers" / "mlp.py").read_text()))
