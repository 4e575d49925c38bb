"""median: values, indices, NaN handling and gradients against PyTorch."""

import numpy as np
import pytest
from oracle import check_op

import numtorch

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("kw", [{}, dict(dim=0), dict(dim=1), dict(dim=-1, keepdim=True)])
def test_median_matches_torch(kw):
    check_op(lambda lib, x: lib.median(x, **kw), shapes=[(4, 5)])
    check_op(lambda lib, x: x.median(**kw), shapes=[(3, 6)])


def _both(array, fn):
    out = []
    for lib in (numtorch, torch):
        x = lib.tensor(array, requires_grad=True)
        res = fn(x)
        values = res if lib.is_tensor(res) else res.values
        values.sum().backward()
        indices = None if lib.is_tensor(res) else res.indices.numpy()
        out.append((values.detach().numpy(), indices, x.grad.numpy(),
                    type(values.grad_fn).__name__))
    return out


@pytest.mark.parametrize("dim", [None, 1])
def test_nan_and_ties_match_torch(dim):
    a = np.array([[3.0, np.nan, 1.0, 2.0, np.nan], [2.0, 1.0, 2.0, 1.0, 5.0]])
    fn = (lambda x: x.median()) if dim is None else (lambda x: x.median(dim=dim))
    mine, theirs = _both(a, fn)
    np.testing.assert_array_equal(mine[0], theirs[0])
    if dim is not None:
        np.testing.assert_array_equal(mine[1], theirs[1])
    np.testing.assert_allclose(mine[2], theirs[2])
    assert mine[3] == theirs[3]


def test_max_of_nan_sends_the_gradient_to_the_nans():
    mine, theirs = _both(np.array([1.0, np.nan, 3.0, np.nan]), lambda x: x.max())
    np.testing.assert_allclose(mine[2], theirs[2])
