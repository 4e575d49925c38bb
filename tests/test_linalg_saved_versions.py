"""Review follow-ups: in-place changes to what linalg's backward nodes saved are caught as
PyTorch catches them."""

import numpy as np
import pytest

import numtorch

torch = pytest.importorskip("torch")

_A = np.array([[4.0, 1.0], [1.0, 3.0]])
_OPS = {
    "det": lambda L, A, B: L.det(A),
    "cholesky": lambda L, A, B: L.cholesky(A),
    "cholesky_upper": lambda L, A, B: L.cholesky(A, upper=True),
    "pinv": lambda L, A, B: L.pinv(A),
    "solve": lambda L, A, B: L.solve(A, B),
    "solve_vector": lambda L, A, B: L.solve(A, B[:, 0]),
    "solve_triangular": lambda L, A, B: L.solve_triangular(A, B, upper=False),
}


def _modified_then_backward(lib, op, which):
    """'ok' or 'error' after modifying the output, input A or input B in place."""
    A = lib.tensor(_A, requires_grad=True).clone()
    B = lib.ones(2, 1, dtype=A.dtype, requires_grad=True).clone()
    out = _OPS[op](lib.linalg, A, B)
    {"out": out, "A": A, "B": B}[which].mul_(2)
    try:
        out.sum().backward()
    except RuntimeError as err:
        assert "modified by an inplace operation" in str(err)
        return "error"
    return "ok"


@pytest.mark.parametrize("op", sorted(_OPS))
@pytest.mark.parametrize("which", ["out", "A", "B"])
def test_linalg_saved_tensor_versions(op, which):
    """det, cholesky, pinv, solve and solve_triangular read their own output in backward; an
    in-place change to it gave a silently wrong gradient (and modifying an input that backward
    does not read raised)."""
    assert (_modified_then_backward(numtorch, op, which)
            == _modified_then_backward(torch, op, which))
