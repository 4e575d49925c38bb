"""Checks added in the review of ``numtorch.optim``."""

import copy

import numpy as np
import pytest

from numtorch import optim
from numtorch._tensor import Tensor
from numtorch.nn.parameter import Parameter

torch = pytest.importorskip("torch")

NAMES = ["SGD", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop", "Adagrad", "Adadelta",
         "Adafactor", "Rprop", "ASGD", "LBFGS"]
# Options added to torch.optim after its first releases: a checkpoint from an old version lacks
# them, and ``__setstate__`` fills them in.
LATE_OPTIONS = ["nesterov", "amsgrad", "momentum", "centered", "maximize", "foreach",
                "capturable", "differentiable", "fused", "decoupled_weight_decay"]


@pytest.mark.parametrize("name", NAMES)
def test_old_checkpoint_options_filled_like_torch(name):
    a = np.arange(6.0).reshape(2, 3)
    p_nt, p_th = Parameter(Tensor._wrap(a.copy())), torch.nn.Parameter(torch.from_numpy(a.copy()))
    opt_nt = getattr(optim, name)([p_nt], lr=0.1)
    opt_th = getattr(torch.optim, name)([p_th], lr=0.1)
    for opt, sd in ((opt_nt, opt_nt.state_dict()), (opt_th, opt_th.state_dict())):
        sd = copy.deepcopy(sd)
        for group in sd["param_groups"]:
            for key in LATE_OPTIONS:
                group.pop(key, None)
        opt.load_state_dict(sd)
    for g_nt, g_th in zip(opt_nt.param_groups, opt_th.param_groups):
        assert list(g_nt) == list(g_th)
        assert {k: v for k, v in g_nt.items() if k != "params"} == \
            {k: v for k, v in g_th.items() if k != "params"}


def _steps(module, name, lr, **kwargs):
    """Five float32 steps of ``module.<name>`` (numtorch's or torch's optim); the parameter."""
    rng = np.random.default_rng(0)
    wrap = Tensor._wrap if module is optim else torch.from_numpy
    w = rng.standard_normal((6, 5)).astype(np.float32)
    p = (Parameter if module is optim else torch.nn.Parameter)(wrap(w))
    opt = getattr(module, name)([p], lr=lr, **kwargs)
    for _ in range(5):
        p.grad = wrap(rng.standard_normal(w.shape).astype(np.float32))
        opt.step()
    return p.detach().numpy().copy()


OPTIONS = {"SGD": dict(momentum=0.9, nesterov=True), "Adam": dict(), "AdamW": dict(),
           "RMSprop": dict(momentum=0.5), "Adagrad": dict(), "NAdam": dict()}


@pytest.mark.parametrize("name", list(OPTIONS))
def test_one_element_tensor_lr_of_any_shape(name):
    import numtorch

    got = _steps(optim, name, numtorch.tensor([0.01]), **OPTIONS[name])
    want = _steps(torch.optim, name, torch.tensor([0.01]), **OPTIONS[name])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", list(OPTIONS))
def test_numpy_scalar_lr_computes_in_parameter_dtype(name):
    # np.float64 is a strong type for NumPy: left as it is, it made float32 updates compute
    # (and round) in float64. It must act like the Python float it equals.
    as_numpy = _steps(optim, name, np.float64(0.01), **OPTIONS[name])
    as_python = _steps(optim, name, 0.01, **OPTIONS[name])
    assert as_numpy.dtype == np.float32
    np.testing.assert_array_equal(as_numpy, as_python)
