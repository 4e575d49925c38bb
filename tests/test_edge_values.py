"""Values at the edge of the float range: same results as torch, and no NumPy warnings (the
suite turns warnings into errors)."""

import numpy as np
import pytest

import numtorch

torch = pytest.importorskip("torch")

EDGES = [float("-inf"), 1e308, -2.0, float("nan"), 0.5, 0.0, 3.0, float("inf")]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_lgamma_and_gammaln_at_poles_and_overflow(dtype):
    for fn in (lambda lib, x: lib.lgamma(x), lambda lib, x: lib.special.gammaln(x)):
        mine = fn(numtorch, numtorch.tensor(EDGES, dtype=getattr(numtorch, dtype))).numpy()
        theirs = fn(torch, torch.tensor(EDGES, dtype=getattr(torch, dtype))).numpy()
        np.testing.assert_allclose(mine, theirs, rtol=1e-6)


def test_tensor_of_a_too_large_float_is_inf():
    mine = numtorch.tensor([1e308, -1e308]).numpy()
    np.testing.assert_array_equal(mine, torch.tensor([1e308, -1e308]).numpy())
    np.testing.assert_array_equal(numtorch.tensor([1e308], dtype=numtorch.float32).numpy(),
                                  [np.inf])
