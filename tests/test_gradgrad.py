"""Second derivatives of converted op families against PyTorch (check_op compares values,
gradients and Hessian-vector products in float64 and float32, plus finite differences), run
strictly: a node without a differentiable formula fails here instead of being skipped."""

import pytest
from oracle import check_op

torch = pytest.importorskip("torch")


def _setitem(t, a, b):
    c = a * 1.0
    c[1:3] = b[0] ** 2
    return c ** 2


IDX = [[0, 1], [2, 2], [1, 0], [0, 0]]
PERM = [[0, 1], [2, 1], [1, 0], [0, 2]]
CASES = {
    "select_slice": lambda t, a, b: (a[1:] * a[:-1]).sum(0) * b[0],
    "index": lambda t, a, b: a[t.tensor([0, 0, 2])] ** 2,
    "gather": lambda t, a, b: t.gather(a, 1, t.tensor(IDX)) ** 2 * b[:, :2],
    "scatter_add": lambda t, a, b: a.scatter_add(1, t.tensor(IDX), b[:, :2]) ** 2,
    "scatter": lambda t, a, b: a.scatter(1, t.tensor(PERM), b[:, :2]) ** 2,
    "index_select": lambda t, a, b: a.index_select(0, t.tensor([0, 3, 0])) ** 2 * b[:3],
    "masked_fill": lambda t, a, b: a.masked_fill(b > 0, 2.0) ** 2,
    "setitem": _setitem,
    "where": lambda t, a, b: t.where(a > 0, a * b, b ** 2),
}


@pytest.fixture(autouse=True)
def _strict(monkeypatch):
    monkeypatch.setenv("NUMTORCH_GRADGRAD_STRICT", "1")


@pytest.mark.parametrize("name", sorted(CASES))
def test_second_derivatives(name):
    check_op(CASES[name], [(4, 3), (4, 3)])
