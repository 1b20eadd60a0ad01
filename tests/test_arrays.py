"""lakefuse.arrays: the sorted distinct values equal NumPy's, for every dtype it takes."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lakefuse.arrays import unique_sorted

_INTS = st.sampled_from([np.int8, np.int32, np.int64, np.uint16, np.uint64, np.bool_])


@given(hnp.arrays(_INTS, hnp.array_shapes(max_dims=1, min_side=0, max_side=300)))
def test_unique_sorted_equals_numpy_on_integers(x: np.ndarray) -> None:
    got = unique_sorted(x)
    want = np.unique(x)
    assert got.dtype == want.dtype
    assert np.array_equal(got, want)


def test_unique_sorted_leaves_floats_and_strings_to_numpy() -> None:
    nan = np.array([np.nan, 1.0, np.nan, 0.5])
    assert np.array_equal(unique_sorted(nan), np.array([0.5, 1.0, np.nan]), equal_nan=True)
    words = np.array(["b", "a", "b"])
    assert unique_sorted(words).tolist() == ["a", "b"]


def test_lakefuse_calls_no_plain_np_unique() -> None:
    """A plain ``np.unique`` (no ``return_index``, ``return_inverse`` or ``return_counts``)
    takes NumPy's hash-table path, many times slower on mostly distinct ids: the source calls
    :func:`unique_sorted` instead (which hands other dtypes to NumPy itself)."""
    import ast
    from pathlib import Path

    import lakefuse

    root = Path(lakefuse.__file__).resolve().parent
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "arrays.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"unique", "union1d"}
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in {"np", "numpy"}
                and not any((k.arg or "").startswith("return_") for k in node.keywords)
            ):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    assert not found, found
