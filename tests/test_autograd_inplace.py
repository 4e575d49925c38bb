"""In-place changes under autograd that PyTorch handles specially (against torch)."""

import pytest

import numtorch

torch = pytest.importorskip("torch")


def _dirty_fn(lib):
    class Double(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2

    return Double


@pytest.mark.parametrize("case", ["leaf", "non_leaf", "no_grad_leaf"])
def test_mark_dirty_matches_torch(case):
    def run(lib):
        fn = _dirty_fn(lib)
        x = lib.ones(2, requires_grad=True)
        try:
            if case == "leaf":
                fn.apply(x)
            elif case == "non_leaf":
                y = x.clone()
                z = fn.apply(y)
                z.sum().backward()
                return z is y, type(z.grad_fn).__name__, x.grad.tolist()
            else:
                with lib.no_grad():
                    return fn.apply(x).tolist()
        except RuntimeError as e:
            return str(e), x.detach().tolist()
        return None

    assert run(numtorch) == run(torch)
