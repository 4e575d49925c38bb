"""numtorch.optim.lr_scheduler against torch.optim.lr_scheduler: the same rates, step by step."""

import copy
import warnings

import numpy as np
import pytest

from numtorch import optim
from numtorch._tensor import Tensor
from numtorch.nn.parameter import Parameter

torch = pytest.importorskip("torch")

STEPS = 45


class _Lib:
    """The pieces of one library (numtorch or torch) a schedule test needs."""

    def __init__(self, optim_module, make_param):
        self.optim = optim_module
        self.sched = optim_module.lr_scheduler
        self.make_param = make_param

    def optimizer(self, kind="SGD"):
        params = [self.make_param(), self.make_param()]
        if kind == "SGD":
            groups = [{"params": params[:1]}, {"params": params[1:], "lr": 0.05}]
            return self.optim.SGD(groups, lr=0.1, momentum=0.9)
        if kind == "Adam":
            return self.optim.Adam([{"params": params[:1]}, {"params": params[1:], "lr": 0.03}],
                                   lr=0.01)
        return getattr(self.optim, kind)(params, lr=0.1)


NT = _Lib(optim, lambda: Parameter(Tensor._wrap(np.zeros(2))))
TH = _Lib(torch.optim, lambda: torch.nn.Parameter(torch.zeros(2, dtype=torch.float64)))


def _scale(x):
    return 1 / (1.0 + 0.1 * x)


def _swa(L):
    """The swa_utils module next to the lr_scheduler module ``L``."""
    if L is torch.optim.lr_scheduler:
        return torch.optim.swa_utils
    from numtorch.optim import swa_utils
    return swa_utils


SCHEDULES = {
    "LambdaLR": lambda L, o: L.LambdaLR(o, lambda e: 0.95 ** e),
    "LambdaLR-list": lambda L, o: L.LambdaLR(o, [lambda e: 1 / (e + 1), lambda e: 0.9 ** e]),
    "MultiplicativeLR": lambda L, o: L.MultiplicativeLR(o, lambda e: 0.97),
    "StepLR": lambda L, o: L.StepLR(o, step_size=7, gamma=0.5),
    "MultiStepLR": lambda L, o: L.MultiStepLR(o, milestones=[5, 12, 12, 30], gamma=0.3),
    "ConstantLR": lambda L, o: L.ConstantLR(o, factor=0.5, total_iters=8),
    "LinearLR": lambda L, o: L.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=15),
    "ExponentialLR": lambda L, o: L.ExponentialLR(o, gamma=0.93),
    "PolynomialLR": lambda L, o: L.PolynomialLR(o, total_iters=30, power=2.0),
    "CosineAnnealingLR": lambda L, o: L.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
    "CosineAnnealingLR-long": lambda L, o: L.CosineAnnealingLR(o, T_max=60),
    "CosineAnnealingWarmRestarts": lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=5),
    "CosineAnnealingWarmRestarts-mult": lambda L, o: L.CosineAnnealingWarmRestarts(
        o, T_0=3, T_mult=2, eta_min=0.01),
    "CyclicLR": lambda L, o: L.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=6,
                                        step_size_down=4),
    "CyclicLR-triangular2": lambda L, o: L.CyclicLR(o, base_lr=[0.01, 0.02], max_lr=0.1,
                                                    step_size_up=5, mode="triangular2"),
    "CyclicLR-exp_range": lambda L, o: L.CyclicLR(o, 0.01, 0.1, step_size_up=4,
                                                  mode="exp_range", gamma=0.97,
                                                  base_momentum=0.7, max_momentum=0.95),
    "CyclicLR-scale_fn": lambda L, o: L.CyclicLR(o, 0.01, 0.1, step_size_up=3, scale_fn=_scale,
                                                 scale_mode="iterations",
                                                 cycle_momentum=False),
    "OneCycleLR": lambda L, o: L.OneCycleLR(o, max_lr=0.1, total_steps=50),
    "OneCycleLR-linear": lambda L, o: L.OneCycleLR(o, max_lr=[0.1, 0.2], epochs=5,
                                                   steps_per_epoch=10,
                                                   anneal_strategy="linear", pct_start=0.25),
    "OneCycleLR-three_phase": lambda L, o: L.OneCycleLR(o, max_lr=0.1, total_steps=46,
                                                        three_phase=True, div_factor=10.0,
                                                        final_div_factor=100.0),
    "OneCycleLR-no-momentum": lambda L, o: L.OneCycleLR(o, max_lr=0.1, total_steps=50,
                                                        cycle_momentum=False),
    "SequentialLR": lambda L, o: L.SequentialLR(
        o, [L.ConstantLR(o, factor=0.1, total_iters=3), L.ExponentialLR(o, gamma=0.9)],
        milestones=[6]),
    "SequentialLR-three": lambda L, o: L.SequentialLR(
        o, [L.LinearLR(o, start_factor=0.1, total_iters=5), L.CosineAnnealingLR(o, T_max=12),
            L.StepLR(o, step_size=4, gamma=0.5)], milestones=[5, 20]),
    "SWALR": lambda L, o: _swa(L).SWALR(o, swa_lr=0.02, anneal_epochs=5),
    "SWALR-linear": lambda L, o: _swa(L).SWALR(o, swa_lr=[0.5, 0.01], anneal_epochs=12,
                                               anneal_strategy="linear"),
    "SWALR-zero": lambda L, o: _swa(L).SWALR(o, swa_lr=0.3, anneal_epochs=0),
    "ChainedScheduler": lambda L, o: L.ChainedScheduler(
        [L.ConstantLR(o, factor=0.2, total_iters=4), L.ExponentialLR(o, gamma=0.9)]),
    "ChainedScheduler-cosine": lambda L, o: L.ChainedScheduler(
        [L.LinearLR(o, start_factor=0.5, total_iters=6), L.CosineAnnealingLR(o, T_max=9)],
        optimizer=o),
}
MOMENTUM_KEYS = ("momentum", "betas")


def _snapshot(opt, sched):
    groups = [(g["lr"], *(g[k] for k in MOMENTUM_KEYS if k in g)) for g in opt.param_groups]
    return list(sched.get_last_lr()), groups


def _assert_same(a, b):
    np.testing.assert_allclose(np.array(a[0], float), np.array(b[0], float), rtol=1e-13, atol=0)
    for ga, gb in zip(a[1], b[1]):
        np.testing.assert_allclose(np.hstack(ga).astype(float), np.hstack(gb).astype(float),
                                   rtol=1e-13, atol=0)


def _build(lib, name, kind):
    opt = lib.optimizer(kind)
    return opt, SCHEDULES[name](lib.sched, opt)


@pytest.mark.parametrize("kind", ["SGD", "Adam"])
@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_matches_torch(name, kind):
    opt_nt, s_nt = _build(NT, name, kind)
    opt_th, s_th = _build(TH, name, kind)
    _assert_same(_snapshot(opt_nt, s_nt), _snapshot(opt_th, s_th))
    for _ in range(STEPS):
        opt_nt.step()
        opt_th.step()
        s_nt.step()
        s_th.step()
        _assert_same(_snapshot(opt_nt, s_nt), _snapshot(opt_th, s_th))
    assert [set(g) for g in opt_nt.param_groups] == [set(g) for g in opt_th.param_groups]


def _plain_state(sd):
    """A scheduler state dict without callables, nested dicts flattened to key sets."""
    out = {}
    for k, v in sd.items():
        if k == "_schedulers":
            out[k] = [_plain_state(s) for s in v]
        elif not callable(v):
            out[k] = v
    return out


def _assert_same_state(ours, theirs, where="state_dict"):
    """``ours`` equals PyTorch's ``theirs``: numbers to 1e-13, everything else exactly.

    ``pytest.approx`` is kept to numbers: strings, booleans and ``None`` are compared with ``==``
    and containers element by element (pytest >= 9.2 refuses ``approx`` on a string).
    """
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and set(ours) == set(theirs), where
        for key, value in theirs.items():
            _assert_same_state(ours[key], value, f"{where}[{key!r}]")
    elif isinstance(theirs, (list, tuple)):
        assert isinstance(ours, (list, tuple)) and len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _assert_same_state(a, b, f"{where}[{i}]")
    elif isinstance(theirs, (int, float)) and not isinstance(theirs, bool):
        assert not isinstance(ours, (bool, str)) and ours == pytest.approx(theirs, rel=1e-13), \
            (where, ours, theirs)
    else:
        assert type(ours) is type(theirs) and ours == theirs, (where, ours, theirs)


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_state_dict_matches_torch(name):
    opt_nt, s_nt = _build(NT, name, "SGD")
    opt_th, s_th = _build(TH, name, "SGD")
    for _ in range(7):
        opt_nt.step()
        opt_th.step()
        s_nt.step()
        s_th.step()
    _assert_same_state(_plain_state(s_nt.state_dict()), _plain_state(s_th.state_dict()))


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_resume_scheduler_and_optimizer(name):
    opt, sched = _build(NT, name, "SGD")
    straight = []
    for _ in range(20):
        opt.step()
        sched.step()
        straight.append(_snapshot(opt, sched))

    opt1, sched1 = _build(NT, name, "SGD")
    for _ in range(10):
        opt1.step()
        sched1.step()
    opt_state = copy.deepcopy(opt1.state_dict())
    sched_state = copy.deepcopy(sched1.state_dict())

    opt2, sched2 = _build(NT, name, "SGD")
    sched2.load_state_dict(sched_state)
    opt2.load_state_dict(opt_state)
    for i in range(10, 20):
        opt2.step()
        sched2.step()
        _assert_same(_snapshot(opt2, sched2), straight[i])


METRICS = [1.0, 0.9, 0.95, 0.95, 0.96, 0.97, 0.5, 0.5, 0.51, 0.52, 0.53, 0.54, 0.55, 0.56,
           0.4, 0.41, 0.399999, 0.42, 0.43, 0.44, 0.45, 0.46, 0.47, 0.3, 0.31, 0.32, 0.33,
           0.34, 0.35, 0.36, 0.37, 0.38, 0.39, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9,
           1.0, 1.1, 1.2]
PLATEAU = [dict(), dict(patience=2), dict(patience=1, factor=0.5, cooldown=2),
           dict(mode="max", patience=2), dict(threshold_mode="abs", threshold=0.05, patience=1),
           dict(mode="max", threshold_mode="abs", threshold=0.01, patience=0),
           dict(patience=0, factor=0.5, min_lr=[0.02, 0.001]), dict(patience=0, eps=0.02)]


@pytest.mark.parametrize("kwargs", PLATEAU)
def test_reduce_lr_on_plateau_matches_torch(kwargs):
    assert len(METRICS) >= 40
    opt_nt, opt_th = NT.optimizer(), TH.optimizer()
    s_nt = optim.lr_scheduler.ReduceLROnPlateau(opt_nt, **kwargs)
    s_th = torch.optim.lr_scheduler.ReduceLROnPlateau(opt_th, **kwargs)
    for metric in METRICS:
        opt_nt.step()
        opt_th.step()
        s_nt.step(metric)
        s_th.step(torch.tensor(metric))
        assert s_nt.get_last_lr() == pytest.approx(s_th.get_last_lr(), rel=1e-13)
        assert s_nt.num_bad_epochs == s_th.num_bad_epochs
        assert s_nt.cooldown_counter == s_th.cooldown_counter
    assert set(s_nt.state_dict()) == set(s_th.state_dict())


def test_reduce_lr_on_plateau_resume():
    opt = NT.optimizer()
    sched = optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1)
    for m in METRICS[:10]:
        sched.step(m)
    saved = copy.deepcopy(sched.state_dict())
    opt2 = NT.optimizer()
    opt2.load_state_dict(opt.state_dict())
    sched2 = optim.lr_scheduler.ReduceLROnPlateau(opt2)
    sched2.load_state_dict(saved)
    for m in METRICS[10:]:
        sched.step(m)
        sched2.step(m)
        assert sched.get_last_lr() == sched2.get_last_lr()


# ---------------------------------------------------------------------- step(epoch)
CLOSED_FORM = ["StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR",
               "PolynomialLR", "CosineAnnealingLR", "LambdaLR"]


@pytest.mark.parametrize("name", CLOSED_FORM)
def test_step_with_epoch_uses_closed_form_and_warns(name):
    opt_nt, s_nt = _build(NT, name, "SGD")
    opt_th, s_th = _build(TH, name, "SGD")
    for epoch in [3, 4, 10, 7, 20, 31]:
        opt_nt.step()
        opt_th.step()
        with pytest.warns(UserWarning, match="epoch parameter"):
            s_nt.step(epoch)
        with pytest.warns(UserWarning, match="epoch parameter"):
            s_th.step(epoch)
        assert s_nt.last_epoch == s_th.last_epoch == epoch
        assert s_nt.get_last_lr() == pytest.approx(s_th.get_last_lr(), rel=1e-13)


@pytest.mark.parametrize("T_mult", [1, 2])
def test_warm_restarts_fractional_epochs(T_mult):
    opt_nt, opt_th = NT.optimizer(), TH.optimizer()
    s_nt = optim.lr_scheduler.CosineAnnealingWarmRestarts(opt_nt, T_0=3, T_mult=T_mult,
                                                          eta_min=0.001)
    s_th = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt_th, T_0=3, T_mult=T_mult,
                                                                eta_min=0.001)
    iters = 5
    for epoch in range(12):
        for i in range(iters):
            opt_nt.step()
            opt_th.step()
            s_nt.step(epoch + i / iters)
            s_th.step(epoch + i / iters)
            assert s_nt.get_last_lr() == pytest.approx(s_th.get_last_lr(), rel=1e-13)
            assert s_nt.T_i == s_th.T_i and s_nt.last_epoch == s_th.last_epoch
    with pytest.raises(ValueError, match="non-negative"):
        s_nt.step(-1)


# ---------------------------------------------------------------------- warnings
def test_warns_when_scheduler_steps_before_optimizer():
    opt = NT.optimizer()
    sched = optim.lr_scheduler.StepLR(opt, 3)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()


def test_no_warning_in_the_right_order():
    opt = NT.optimizer()
    sched = optim.lr_scheduler.StepLR(opt, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()
        sched.step()


def test_get_lr_outside_step_warns():
    opt = NT.optimizer()
    sched = optim.lr_scheduler.ExponentialLR(opt, 0.9)
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()


def test_initial_lr_and_base_lrs():
    opt = NT.optimizer()
    sched = optim.lr_scheduler.StepLR(opt, 3)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.05]
    assert sched.base_lrs == [0.1, 0.05]
    assert sched.last_epoch == 0 and sched.get_last_lr() == [0.1, 0.05]


# ---------------------------------------------------------------------- errors
BAD = [
    lambda L, o: L.ConstantLR(o, factor=2.0),
    lambda L, o: L.LinearLR(o, start_factor=0),
    lambda L, o: L.LinearLR(o, end_factor=1.5),
    lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=0),
    lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0),
    lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=2.5),
    lambda L, o: L.OneCycleLR(o, max_lr=0.1),
    lambda L, o: L.OneCycleLR(o, max_lr=0.1, total_steps=0),
    lambda L, o: L.OneCycleLR(o, max_lr=0.1, epochs=0, steps_per_epoch=3),
    lambda L, o: L.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=2.0),
    lambda L, o: L.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="x"),
    lambda L, o: L.OneCycleLR(o, max_lr=[0.1], total_steps=10),
    lambda L, o: L.ReduceLROnPlateau(o, factor=1.0),
    lambda L, o: L.ReduceLROnPlateau(o, mode="x"),
    lambda L, o: L.ReduceLROnPlateau(o, threshold_mode="x"),
    lambda L, o: L.ReduceLROnPlateau(o, min_lr=[0.1]),
    lambda L, o: L.CyclicLR(o, 0.01, 0.1, mode="x"),
    lambda L, o: L.LambdaLR(o, [lambda e: 1.0]),
    lambda L, o: L.MultiplicativeLR(o, [1.0, 2.0]),
    lambda L, o: L.StepLR(o, 3, last_epoch=4),
    lambda L, o: L.StepLR(object(), 3),
    lambda L, o: L.SequentialLR(o, [L.StepLR(o, 2), L.StepLR(o, 3)], milestones=[]),
    lambda L, o: L.SequentialLR(o, [], milestones=[]),
    lambda L, o: L.ChainedScheduler([]),
    lambda L, o: L.SequentialLR(o, [L.StepLR(o, 2), L.ReduceLROnPlateau(o)], milestones=[3]),
    lambda L, o: _swa(L).SWALR(o, 0.1, anneal_strategy="x"),
    lambda L, o: _swa(L).SWALR(o, 0.1, anneal_epochs=-1),
    lambda L, o: _swa(L).SWALR(o, [0.1]),
]


def _error(fn):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn()
    except Exception as e:  # noqa: BLE001
        return type(e)
    return None


@pytest.mark.parametrize("i", range(len(BAD)))
def test_invalid_arguments_raise_like_torch(i):
    err_th = _error(lambda: BAD[i](TH.sched, TH.optimizer()))
    err_nt = _error(lambda: BAD[i](NT.sched, NT.optimizer()))
    assert err_th is not None
    assert err_nt is err_th


def test_cycle_momentum_needs_momentum():
    for lib in (NT, TH):
        opt = lib.optimizer("Adagrad")
        with pytest.raises(ValueError, match="momentum or beta1"):
            lib.sched.CyclicLR(opt, 0.01, 0.1)
        with pytest.raises(ValueError, match="momentum or beta1"):
            lib.sched.OneCycleLR(opt, 0.1, total_steps=10)


def test_one_cycle_past_total_steps_raises():
    opt = NT.optimizer()
    sched = optim.lr_scheduler.OneCycleLR(opt, 0.1, total_steps=3)
    opt.step()
    for _ in range(3):
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        sched.step()
