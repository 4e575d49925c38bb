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
