"""Compiled kernels that may regroup arithmetic (numba's fastmath reassociation) stay as
accurate as PyTorch's float32 at extreme magnitudes: values and gradients against a float64
reference, the error no larger than a few times PyTorch's own."""

import numpy as np
import pytest

import numtorch

pytestmark = pytest.mark.usefixtures("jit_kernels")

OPS = {
    "softmax": lambda lib, x: lib.softmax(x, -1),
    "log_softmax": lambda lib, x: lib.log_softmax(x, -1),
    "layer_norm": lambda lib, x: lib.nn.functional.layer_norm(x, (x.shape[-1],)),
    "batch_norm": lambda lib, x: lib.nn.functional.batch_norm(x, None, None, training=True),
    "gelu": lambda lib, x: lib.nn.functional.gelu(x),
}


def _run(lib, op, x, g, dtype):
    t = lib.tensor(x.astype(dtype), requires_grad=True)
    y = OPS[op](lib, t)
    y.backward(lib.tensor(g.astype(dtype)))
    return y.detach().numpy().astype(np.float64), t.grad.numpy().astype(np.float64)


CASES = [(op, scale, offset) for op in sorted(OPS)
         for scale, offset in [(1.0, 1e4), (1e-3, 1e3), (1.0, 0.0)]]
# near float32's largest value; the normalisations' squares overflow there, and they give
# torch's NaNs without NumPy's overflow warnings (the suite turns warnings into errors)
CASES += [(op, 1.0, 3e38) for op in ("softmax", "log_softmax", "gelu")]
CASES += [(op, 1.0, 7.5e37) for op in ("layer_norm", "batch_norm")]


@pytest.mark.parametrize("op, scale, offset", CASES)
def test_as_accurate_as_torch_float32(op, scale, offset):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 256)) * scale + offset
    g = rng.standard_normal((64, 256))
    ref = _run(torch, op, x, g, "float64")
    theirs = _run(torch, op, x, g, "float32")
    mine = _run(numtorch, op, x, g, "float32")
    for r, t, m in zip(ref, theirs, mine):
        assert np.array_equal(np.isnan(m), np.isnan(t))
        ok = ~np.isnan(r) & ~np.isnan(t)
        if not ok.any():
            continue
        size = np.max(np.abs(r[ok])) or 1.0
        torch_err = np.max(np.abs(t[ok] - r[ok])) / size
        my_err = np.max(np.abs(m[ok] - r[ok])) / size
        assert my_err <= 4 * torch_err + 1e-6
