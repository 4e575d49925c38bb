"""0-d tensors hold 0-d ndarrays, never NumPy scalars (docs/internals.md): NumPy's ufuncs return
scalars for 0-d inputs, and a scalar cannot be written in place."""

import numpy as np
import pytest

import numtorch

OPS = {
    "add": lambda t, a: a + a, "sub": lambda t, a: a - 1, "mul": lambda t, a: a * 3,
    "div": lambda t, a: a / 2, "pow": lambda t, a: a ** 2, "neg": lambda t, a: -a,
    "exp": lambda t, a: a.exp(), "log": lambda t, a: a.log(), "sin": lambda t, a: a.sin(),
    "sqrt": lambda t, a: a.sqrt(), "abs": lambda t, a: a.abs(), "relu": lambda t, a: a.relu(),
    "sigmoid": lambda t, a: a.sigmoid(), "tanh": lambda t, a: a.tanh(),
    "clamp": lambda t, a: a.clamp(0, 1), "maximum": lambda t, a: t.maximum(a, a * 2),
    "where": lambda t, a: t.where(a > 0, a, a * 2), "sum": lambda t, a: a.sum(),
    "mean": lambda t, a: a.mean(), "max": lambda t, a: a.max(),
}


@pytest.mark.parametrize("requires_grad", [False, True])
@pytest.mark.parametrize("name", sorted(OPS))
def test_results_are_arrays_and_writable_in_place(name, requires_grad):
    a = numtorch.tensor(0.75, requires_grad=requires_grad)
    out = OPS[name](numtorch, a)
    assert type(out._data) is np.ndarray and out.shape == ()
    expected = float(out) + 1
    b = out.detach() if requires_grad else out
    b.add_(1)
    assert float(b) == pytest.approx(expected)
    assert type(b.numpy()) is np.ndarray


def test_matches_torch_after_in_place():
    torch = pytest.importorskip("torch")
    results = []
    for lib in (numtorch, torch):
        b = lib.tensor(0.3) * 2 + lib.tensor(0.1)
        b.mul_(3).add_(1)
        results.append(float(b))
    assert results[0] == pytest.approx(results[1], rel=1e-6)
