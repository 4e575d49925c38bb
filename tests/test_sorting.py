"""sort, argsort, topk and trace against torch: values, indices, gradients, second derivatives,
and the in-place check on the returned indices."""

import numpy as np
import pytest
from oracle import check_op

import numtorch

torch = pytest.importorskip("torch")

CASES = {
    "sort": ([(3, 5)], lambda t, a: tuple(t.sort(a))),
    "sort_desc_dim0": ([(4, 3)], lambda t, a: tuple(t.sort(a, 0, descending=True))),
    "sort_method": ([(2, 3, 4)], lambda t, a: tuple(a.sort(dim=1))),
    "topk": ([(3, 5)], lambda t, a: tuple(t.topk(a, 2))),
    "topk_smallest_dim0": ([(4, 3)], lambda t, a: tuple(t.topk(a, 3, 0, largest=False))),
    "topk_method": ([(2, 5)], lambda t, a: tuple(a.topk(1))),
    "sort_then_square": ([(3, 4)], lambda t, a: t.sort(a * a).values * a),
    "trace": ([(3, 4)], lambda t, a: t.trace(a)),
    "trace_times_x": ([(3, 3)], lambda t, a: t.trace(a) * a),
    "argsort": ([(3, 5)], lambda t, a: t.argsort(a, 1, descending=True)),
}


@pytest.mark.parametrize("name", CASES)
def test_against_torch(name):
    shapes, fn = CASES[name]
    check_op(fn, shapes)


@pytest.mark.parametrize("descending", [False, True])
def test_nan_and_ties_order_like_torch(descending):
    x = np.array([[1.0, np.nan, 3.0, 1.0, -np.inf, 3.0], [2.0, 2.0, np.nan, np.nan, 0.0, 5.0]])
    ours = numtorch.sort(numtorch.tensor(x), descending=descending, stable=True)
    theirs = torch.sort(torch.tensor(x), descending=descending, stable=True)
    np.testing.assert_array_equal(ours.values._data, theirs.values.numpy())
    np.testing.assert_array_equal(ours.indices._data, theirs.indices.numpy())
    for dtype in (np.int32, np.int64, np.uint8, np.bool_):
        xi = np.array([[3, 1, 2, 1, 0, 3]]).astype(dtype)
        ours = numtorch.sort(numtorch.tensor(xi), descending=descending, stable=True)
        theirs = torch.sort(torch.tensor(xi), descending=descending, stable=True)
        np.testing.assert_array_equal(ours.indices._data, theirs.indices.numpy())


@pytest.mark.parametrize("op", ["sort", "topk"])
def test_changed_indices_raise_at_backward(op):
    for lib in (numtorch, torch):
        x = lib.tensor([[3.0, 1.0, 2.0]], requires_grad=True)
        values, indices = lib.sort(x) if op == "sort" else lib.topk(x, 2)
        indices.add_(0)  # an in-place change bumps the version
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            values.sum().backward()


def test_node_names_errors_and_zero_dim():
    x = numtorch.tensor([[3.0, 1.0, 2.0]], requires_grad=True)
    assert type(numtorch.sort(x).values.grad_fn).__name__ == "SortBackward0"
    assert type(numtorch.topk(x, 1).values.grad_fn).__name__ == "TopkBackward0"
    assert type(numtorch.trace(x).grad_fn).__name__ == "TraceBackward0"
    assert numtorch.argsort(x).grad_fn is None
    with pytest.raises(RuntimeError, match="selected index k out of range"):
        numtorch.topk(x, 4)
    with pytest.raises(RuntimeError, match="trace: expected a matrix, but got tensor with dim 1"):
        numtorch.trace(x[0])
    s = numtorch.sort(numtorch.tensor(3.0))
    assert s.values.item() == 3.0 and s.indices.item() == 0
    assert numtorch.trace(numtorch.ones(2, 2, dtype=numtorch.int32)).dtype == numtorch.int64


CDIST = {
    "p2": ([(4, 3), (5, 3)], lambda t, a, b: t.cdist(a, b)),
    "p1": ([(4, 3), (5, 3)], lambda t, a, b: t.cdist(a, b, p=1)),
    "p3_batched": ([(2, 4, 3), (1, 5, 3)], lambda t, a, b: t.cdist(a, b, p=3.0)),
    "pinf": ([(4, 3), (5, 3)], lambda t, a, b: t.cdist(a, b, p=float("inf"))),
    "p0": ([(4, 3), (5, 3)], lambda t, a, b: t.cdist(a, b.round(), p=0)),
}


@pytest.mark.parametrize("name", CDIST)
def test_cdist_against_torch(name):
    shapes, fn = CDIST[name]
    check_op(fn, shapes)  # torch has no second derivative: check_op skips it


def test_cdist_second_derivative_raises_as_torch_and_errors():
    x = numtorch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = numtorch.tensor([[0.0, 1.0], [1.0, 1.5]])
    d = numtorch.cdist(x, y)
    assert type(d.grad_fn).__name__ == "CdistBackward0"
    (g,) = numtorch.autograd.grad(d.sum(), x, create_graph=True)
    with pytest.raises(NotImplementedError, match="the derivative for '_cdist_backward' is not"):
        numtorch.autograd.grad(g.sum(), x)
    with pytest.raises(RuntimeError, match="X1 and X2 must have the same number of columns"):
        numtorch.cdist(x, numtorch.ones(3, 3))
    with pytest.raises(RuntimeError, match="cdist only supports non-negative p values"):
        numtorch.cdist(x, y, p=-1)
    with pytest.raises(RuntimeError, match="cdist only supports at least 2D tensors, X1 got: 1D"):
        numtorch.cdist(x[0], y)
