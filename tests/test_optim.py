"""numtorch.optim against torch.optim: the same parameters and gradients, step for step."""

import copy

import numpy as np
import pytest

from numtorch import optim
from numtorch._tensor import Tensor
from numtorch.nn.parameter import Parameter

torch = pytest.importorskip("torch")

SHAPES = [(3, 4), (5,), (), (2, 3, 4)]
STEPS = 50

CONFIGS = {
    "SGD": [dict(lr=0.1), dict(lr=0.05, momentum=0.9), dict(lr=0.05, momentum=0.9, dampening=0.5),
            dict(lr=0.05, momentum=0.9, nesterov=True), dict(lr=0.1, weight_decay=0.1),
            dict(lr=0.05, momentum=0.8, weight_decay=0.01, maximize=True)],
    "Adam": [dict(lr=0.01), dict(lr=0.01, amsgrad=True), dict(lr=0.01, weight_decay=0.1),
             dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
             dict(lr=0.02, betas=(0.8, 0.9), eps=1e-3), dict(lr=0.01, maximize=True),
             dict(lr=0.01, amsgrad=True, weight_decay=0.05, maximize=True)],
    "AdamW": [dict(lr=0.01), dict(lr=0.01, amsgrad=True), dict(lr=0.01, weight_decay=0.2),
              dict(lr=0.01, maximize=True)],
    "Adamax": [dict(lr=0.01), dict(lr=0.01, weight_decay=0.1), dict(lr=0.01, maximize=True),
               dict(lr=0.05, betas=(0.5, 0.9), eps=1e-2)],
    "NAdam": [dict(lr=0.01), dict(lr=0.01, weight_decay=0.1),
              dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
              dict(lr=0.01, momentum_decay=0.01), dict(lr=0.01, maximize=True)],
    "RAdam": [dict(lr=0.01), dict(lr=0.01, weight_decay=0.1),
              dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
              dict(lr=0.01, betas=(0.9, 0.9)), dict(lr=0.01, maximize=True)],
    "RMSprop": [dict(lr=0.01), dict(lr=0.01, centered=True), dict(lr=0.01, momentum=0.9),
                dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1),
                dict(lr=0.01, alpha=0.9, eps=1e-3), dict(lr=0.01, maximize=True)],
    "Adagrad": [dict(lr=0.1), dict(lr=0.1, lr_decay=0.01),
                dict(lr=0.1, initial_accumulator_value=0.5),
                dict(lr=0.1, weight_decay=0.1), dict(lr=0.1, maximize=True, eps=1e-3)],
    "Adadelta": [dict(), dict(lr=0.5, rho=0.5), dict(weight_decay=0.1), dict(maximize=True),
                 dict(eps=1e-3)],
}
CONFIGS.update({
    "Adafactor": [dict(), dict(lr=0.05, beta2_decay=-0.5), dict(eps=(1e-6, 1e-2), d=2.0),
                  dict(weight_decay=0.1), dict(maximize=True)],
    "Rprop": [dict(), dict(lr=0.05, etas=(0.3, 1.5)), dict(step_sizes=(1e-3, 0.05)),
              dict(maximize=True)],
    "ASGD": [dict(lr=0.05), dict(lr=0.05, t0=10), dict(lr=0.1, lambd=0.01, alpha=0.5, t0=5),
             dict(lr=0.05, weight_decay=0.1, maximize=True, t0=20)],
})
CASES = [(name, kw) for name, kws in CONFIGS.items() for kw in kws]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'default'}" for name, kw in CASES]


def _make_params(rng, dtype):
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def _pair(arrays):
    nt = [Parameter(Tensor._wrap(a.copy())) for a in arrays]
    th = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in arrays]
    return nt, th


def _set_grads(nt, th, grads):
    for p, q, g in zip(nt, th, grads):
        p.grad = Tensor._wrap(g.copy())
        q.grad = torch.from_numpy(g.copy())


def _assert_close(nt, th, rtol, atol):
    for p, q in zip(nt, th):
        assert p._data.dtype == q.detach().numpy().dtype
        np.testing.assert_allclose(p._data, q.detach().numpy(), rtol=rtol, atol=atol)


def _run(name, kwargs, dtype, rtol, atol, steps=STEPS, seed=0):
    rng = np.random.default_rng(seed)
    nt, th = _pair(_make_params(rng, dtype))
    opt_nt = getattr(optim, name)(nt, **kwargs)
    opt_th = getattr(torch.optim, name)(th, **kwargs)
    for _ in range(steps):
        grads = [rng.standard_normal(p._data.shape).astype(dtype) for p in nt]
        _set_grads(nt, th, grads)
        opt_nt.step()
        opt_th.step()
        _assert_close(nt, th, rtol, atol)
    return opt_nt, opt_th


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_float64_matches_torch(name, kwargs):
    _run(name, kwargs, np.float64, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_float32_matches_torch(name, kwargs):
    opt_nt, _ = _run(name, kwargs, np.float32, rtol=1e-4, atol=1e-5)
    for group in opt_nt.param_groups:
        for p in group["params"]:
            assert p._data.dtype == np.float32
            for key, value in opt_nt.state[p].items():
                if isinstance(value, Tensor) and key not in ("step", "mu_product"):
                    assert value._data.dtype == np.float32, key


def _compare_state_dicts(sd_nt, sd_th):
    assert len(sd_nt["param_groups"]) == len(sd_th["param_groups"])
    for g_nt, g_th in zip(sd_nt["param_groups"], sd_th["param_groups"]):
        assert list(g_nt) == list(g_th)
        for key in g_th:
            assert g_nt[key] == g_th[key], key
    assert sorted(sd_nt["state"]) == sorted(sd_th["state"])
    for idx, st_th in sd_th["state"].items():
        st_nt = sd_nt["state"][idx]
        assert list(st_nt) == list(st_th)
        for key, v_th in st_th.items():
            v_nt = st_nt[key]
            if isinstance(v_th, torch.Tensor):
                assert isinstance(v_nt, Tensor), key
                assert str(v_nt._data.dtype) == str(v_th.dtype).replace("torch.", ""), key
                assert v_nt._data.shape == tuple(v_th.shape), key
                np.testing.assert_allclose(v_nt._data, v_th.numpy(), rtol=1e-9, atol=1e-12)
            else:
                assert v_nt == v_th, key


@pytest.mark.parametrize("name", list(CONFIGS))
def test_state_dict_layout_matches_torch(name):
    opt_nt, opt_th = _run(name, CONFIGS[name][-1], np.float64, 1e-10, 1e-10, steps=3)
    _compare_state_dicts(opt_nt.state_dict(), opt_th.state_dict())


def test_step_is_float32_scalar_tensor():
    p = Parameter(Tensor._wrap(np.zeros(3)))
    opt = optim.Adam([p])
    p.grad = Tensor._wrap(np.ones(3))
    opt.step()
    step = opt.state[p]["step"]
    assert isinstance(step, Tensor)
    assert step._data.dtype == np.float32 and step._data.shape == ()
    assert float(step._data) == 1.0


def _resumed_run(lib, name, kwargs, init, grads):
    """10 steps, state_dict, fresh parameters and optimizer, load, 10 more steps."""
    if lib is optim:
        wrap, param = Tensor._wrap, Parameter
    else:
        wrap, param = torch.from_numpy, torch.nn.Parameter

    def get(p):
        return p._data if lib is optim else p.detach().numpy()

    def feed(params, opt, gs):
        for g in gs:
            for p, gi in zip(params, g):
                p.grad = wrap(gi.copy())
            opt.step()

    first = [param(wrap(a.copy())) for a in init]
    opt1 = getattr(lib, name)(first, **kwargs)
    feed(first, opt1, grads[:10])
    saved = copy.deepcopy(opt1.state_dict())
    second = [param(wrap(get(p).copy())) for p in first]
    opt2 = getattr(lib, name)(second, lr=0.123)
    opt2.load_state_dict(saved)
    assert opt2.param_groups[0]["lr"] == opt1.param_groups[0]["lr"]
    feed(second, opt2, grads[10:])
    return [get(p) for p in second]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_resume_from_state_dict(name):
    kwargs = CONFIGS[name][-1]
    rng = np.random.default_rng(1)
    init = _make_params(rng, np.float64)
    grads = [[rng.standard_normal(a.shape) for a in init] for _ in range(20)]

    straight = [Parameter(Tensor._wrap(a.copy())) for a in init]
    opt = getattr(optim, name)(straight, **kwargs)
    for g in grads:
        for p, gi in zip(straight, g):
            p.grad = Tensor._wrap(gi.copy())
        opt.step()

    resumed = _resumed_run(optim, name, kwargs, init, grads)
    resumed_th = _resumed_run(torch.optim, name, kwargs, init, grads)
    for a, b, c in zip(straight, resumed, resumed_th):
        np.testing.assert_allclose(b, c, rtol=1e-10, atol=1e-12)
        if name == "NAdam":
            # Loading casts the float32 ``mu_product`` to the parameter's dtype, as PyTorch
            # does, which changes later rounding slightly.
            np.testing.assert_allclose(a._data, b, rtol=1e-6)
        else:
            np.testing.assert_array_equal(a._data, b)


def test_load_state_dict_casts_to_param_dtype():
    p64 = Parameter(Tensor._wrap(np.zeros(3)))
    opt = optim.SGD([p64], lr=0.1, momentum=0.9)
    p64.grad = Tensor._wrap(np.ones(3))
    opt.step()
    p32 = Parameter(Tensor._wrap(np.zeros(3, np.float32)))
    opt32 = optim.SGD([p32], lr=0.1, momentum=0.9)
    opt32.load_state_dict(opt.state_dict())
    buf = opt32.state[p32]["momentum_buffer"]
    assert buf._data.dtype == np.float32
    assert buf._data is not opt.state[p64]["momentum_buffer"]._data


# ---------------------------------------------------------------------- parameter groups
def test_param_groups_with_own_options():
    rng = np.random.default_rng(2)
    arrays = _make_params(rng, np.float64)
    nt, th = _pair(arrays)
    opt_nt = optim.SGD([{"params": nt[:1]}, {"params": nt[1:], "lr": 0.5, "momentum": 0.5}],
                       lr=0.1, momentum=0.9)
    opt_th = torch.optim.SGD([{"params": th[:1]}, {"params": th[1:], "lr": 0.5, "momentum": 0.5}],
                             lr=0.1, momentum=0.9)
    for _ in range(5):
        _set_grads(nt, th, [rng.standard_normal(a.shape) for a in arrays])
        opt_nt.step()
        opt_th.step()
        _assert_close(nt, th, 1e-12, 1e-12)
    _compare_state_dicts(opt_nt.state_dict(), opt_th.state_dict())


def test_add_param_group_and_errors():
    a, b = (Parameter(Tensor._wrap(np.zeros(2))) for _ in range(2))
    opt = optim.Adam([a], lr=0.1)
    opt.add_param_group({"params": b, "lr": 0.2})
    assert opt.param_groups[1]["lr"] == 0.2
    assert opt.param_groups[1]["betas"] == (0.9, 0.999)
    assert opt.param_groups[1]["params"] == [b]
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(TypeError):
        opt.add_param_group([b])
    with pytest.raises(TypeError, match="ordered collections"):
        opt.add_param_group({"params": {Parameter(Tensor._wrap(np.zeros(1)))}})


def test_adagrad_param_group_added_later():
    a, b = (Parameter(Tensor._wrap(np.ones(2))) for _ in range(2))
    opt = optim.Adagrad([a], lr=0.1)
    opt.add_param_group({"params": [b], "initial_accumulator_value": 1.0})
    for p in (a, b):
        p.grad = Tensor._wrap(np.ones(2))
    opt.step()
    np.testing.assert_allclose(b._data, 1 - 0.1 / (np.sqrt(2.0) + 1e-10))


def test_required_option():
    p = Parameter(Tensor._wrap(np.zeros(2)))

    class Custom(optim.Optimizer):
        def __init__(self, params, lr=optim.optimizer.required):
            super().__init__(params, {"lr": lr})

    with pytest.raises(ValueError, match="didn't specify a value of required"):
        Custom([p])
    assert Custom([{"params": [p], "lr": 1.0}]).param_groups[0]["lr"] == 1.0


def test_named_parameters():
    p = Parameter(Tensor._wrap(np.zeros(2)))
    opt = optim.SGD([("w", p)], lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["w"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["w"]


def test_repr():
    p = Parameter(Tensor._wrap(np.zeros(2)))
    q = torch.nn.Parameter(torch.zeros(2))
    assert repr(optim.SGD([p], lr=0.1)) == repr(torch.optim.SGD([q], lr=0.1))
    assert repr(optim.Adam([p])) == repr(torch.optim.Adam([q]))


# ---------------------------------------------------------------------- zero_grad and skipping
def test_zero_grad():
    p = Parameter(Tensor._wrap(np.ones(3)))
    opt = optim.SGD([p], lr=0.1)
    p.grad = Tensor._wrap(np.ones(3))
    grad = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is grad
    np.testing.assert_array_equal(grad._data, 0)
    opt.zero_grad()
    assert p.grad is None
    opt.step()  # parameters without a gradient are skipped
    np.testing.assert_array_equal(p._data, 1)
    assert opt.state[p] == {}


def test_step_bumps_version_and_updates_in_place():
    p = Parameter(Tensor._wrap(np.ones(3)))
    data = p._data
    opt = optim.Adam([p], lr=0.1)
    p.grad = Tensor._wrap(np.ones(3))
    before = p._version
    opt.step()
    assert p._data is data
    assert p._version > before


@pytest.mark.parametrize("name", list(CONFIGS))
def test_non_finite_gradients_propagate_silently(name):
    grad = np.array([np.inf, -np.inf, np.nan, 0.0])
    p = Parameter(Tensor._wrap(np.ones(4)))
    q = torch.nn.Parameter(torch.ones(4, dtype=torch.float64))
    opt_nt = getattr(optim, name)([p], **CONFIGS[name][0])
    opt_th = getattr(torch.optim, name)([q], **CONFIGS[name][0])
    for _ in range(2):
        p.grad = Tensor._wrap(grad.copy())
        q.grad = torch.from_numpy(grad.copy())
        opt_nt.step()  # no NumPy RuntimeWarning (warnings are errors in the test suite)
        opt_th.step()
    np.testing.assert_allclose(p._data, q.detach().numpy(), rtol=1e-12, equal_nan=True)


def test_closure_return_value():
    p = Parameter(Tensor._wrap(np.ones(3)))
    opt = optim.SGD([p], lr=0.1)

    def closure():
        p.grad = Tensor._wrap(2 * p._data)
        return 3.0

    assert opt.step(closure) == 3.0
    np.testing.assert_allclose(p._data, 0.8)


def test_step_hooks():
    p = Parameter(Tensor._wrap(np.ones(3)))
    opt = optim.SGD([p], lr=0.1)
    calls = []
    h1 = opt.register_step_pre_hook(lambda o, a, k: calls.append(("pre", o is opt)))
    opt.register_step_post_hook(lambda o, a, k: calls.append(("post", o is opt)))
    opt.step()
    assert calls == [("pre", True), ("post", True)]
    h1.remove()
    opt.step()
    assert calls[-1] == ("post", True) and len(calls) == 3


def test_global_step_hooks_and_pre_hook_changing_args():
    p = Parameter(Tensor._wrap(np.ones(2)))
    opt = optim.SGD([p], lr=0.5)
    seen = []
    h = optim.optimizer.register_optimizer_step_pre_hook(lambda o, a, k: seen.append(type(o)))

    def closure():
        p.grad = Tensor._wrap(np.ones(2))
        return 1.0

    opt.register_step_pre_hook(lambda o, a, k: ((closure,), {}))
    assert opt.step() == 1.0  # the pre-hook supplied the closure
    np.testing.assert_allclose(p._data, 0.5)
    h.remove()
    opt.step(closure)
    assert seen == [optim.SGD]


def test_state_dict_hooks():
    p = Parameter(Tensor._wrap(np.ones(2)))
    opt = optim.SGD([p], lr=0.5, momentum=0.9)
    events = []
    opt.register_state_dict_pre_hook(lambda o: events.append("pre"))
    opt.register_state_dict_post_hook(lambda o, sd: {**sd, "extra": 1})
    opt.register_load_state_dict_pre_hook(lambda o, sd: events.append("load-pre"))
    opt.register_load_state_dict_post_hook(lambda o: events.append("load-post"))
    sd = opt.state_dict()
    assert sd["extra"] == 1
    opt.load_state_dict(sd)
    assert events == ["pre", "load-pre", "load-post"]


def test_custom_optimizer_subclass():
    import numtorch

    class SignSGD(optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, {"lr": lr})

        @numtorch.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        self.state[p]["n"] = self.state[p].get("n", 0) + 1
                        p.add_(p.grad.sign(), alpha=-group["lr"])

    p = Parameter(numtorch.tensor([1.0, -2.0]))
    opt = SignSGD([p])
    calls = []
    opt.register_step_post_hook(lambda *args: calls.append(1))
    (p * p).sum().backward()
    opt.step()
    np.testing.assert_allclose(p._data, [0.9, -1.9], rtol=1e-6)
    assert opt.state_dict()["state"] == {0: {"n": 1}} and calls == [1]


# ---------------------------------------------------------------------- argument errors
BAD_ARGS = [
    ("SGD", dict(lr=-1)), ("SGD", dict(momentum=-0.1)), ("SGD", dict(weight_decay=-1)),
    ("SGD", dict(nesterov=True)), ("SGD", dict(momentum=0.9, dampening=0.1, nesterov=True)),
    ("SGD", dict(fused=True, differentiable=True)),
    ("Adam", dict(lr=-1)), ("Adam", dict(eps=-1)), ("Adam", dict(betas=(1.0, 0.9))),
    ("Adam", dict(betas=(0.9, -0.1))), ("Adam", dict(weight_decay=-1)),
    ("Adam", dict(betas=(0.9, 0))),
    ("AdamW", dict(lr=-0.5)), ("AdamW", dict(betas=(0.9, 1.0))),
    ("Adamax", dict(lr=-1)), ("Adamax", dict(eps=-1)), ("Adamax", dict(betas=(-0.1, 0.9))),
    ("NAdam", dict(momentum_decay=-1)), ("NAdam", dict(weight_decay=-1)),
    ("RAdam", dict(eps=-1)), ("RAdam", dict(betas=(0.9, 1.5))),
    ("RMSprop", dict(lr=-1)), ("RMSprop", dict(alpha=-1)), ("RMSprop", dict(momentum=-1)),
    ("RMSprop", dict(eps=-1)), ("RMSprop", dict(weight_decay=-1)),
    ("Adagrad", dict(lr_decay=-1)), ("Adagrad", dict(initial_accumulator_value=-1)),
    ("Adagrad", dict(eps=-1)), ("Adagrad", dict(weight_decay=-1)),
    ("Adadelta", dict(rho=1.5)), ("Adadelta", dict(eps=-1)), ("Adadelta", dict(lr=-1)),
    ("LBFGS", dict(lr=-1)), ("Rprop", dict(etas=(1.2, 1.5))), ("Rprop", dict(lr=-1)),
    ("ASGD", dict(lr=-1)), ("ASGD", dict(weight_decay=-1)),
    ("Adafactor", dict(lr=-1)), ("Adafactor", dict(beta2_decay=0.5)),
    ("Adafactor", dict(eps=(-1, 1e-3))), ("Adafactor", dict(d=0.5)),
    ("Adafactor", dict(weight_decay=-1)),
]


def _error_of(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001
        return type(e), str(e)
    return None, None


@pytest.mark.parametrize("name,kwargs", BAD_ARGS)
def test_invalid_arguments_raise_like_torch(name, kwargs):
    p = Parameter(Tensor._wrap(np.zeros(2)))
    q = torch.nn.Parameter(torch.zeros(2))
    cls_nt, msg_nt = _error_of(lambda: getattr(optim, name)([p], **kwargs))
    cls_th, msg_th = _error_of(lambda: getattr(torch.optim, name)([q], **kwargs))
    assert cls_th is not None
    assert cls_nt is cls_th
    assert msg_nt == msg_th


def test_invalid_params_raise_like_torch():
    p = Parameter(Tensor._wrap(np.zeros(2)))
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors"):
        optim.SGD([np.zeros(2)], lr=0.1)
    non_leaf = Tensor._wrap(np.zeros(2))
    non_leaf.grad_fn = object()
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.Adam([non_leaf])
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        optim.LBFGS([{"params": [p]}, {"params": [Parameter(Tensor._wrap(np.zeros(1)))]}])


def test_duplicate_parameters_warn():
    p = Parameter(Tensor._wrap(np.zeros(2)))
    with pytest.warns(UserWarning, match="duplicate parameters"):
        optim.SGD([p, p], lr=0.1)


# ---------------------------------------------------------------------- LBFGS
def _rosenbrock(x):
    a, b = x[:-1], x[1:]
    f = np.sum(100.0 * (b - a ** 2) ** 2 + (1 - a) ** 2)
    g = np.zeros_like(x)
    g[:-1] += -400.0 * a * (b - a ** 2) - 2 * (1 - a)
    g[1:] += 200.0 * (b - a ** 2)
    return f, g


def _quadratic(x):
    scales = np.arange(1, x.size + 1, dtype=x.dtype)
    return 0.5 * np.sum(scales * x ** 2), scales * x


@pytest.mark.parametrize("fn", [_rosenbrock, _quadratic])
@pytest.mark.parametrize("kwargs", [dict(), dict(line_search_fn="strong_wolfe"),
                                    dict(lr=0.5, history_size=3, max_iter=5),
                                    dict(line_search_fn="strong_wolfe", history_size=2,
                                         max_iter=7, tolerance_change=1e-12)])
def test_lbfgs_matches_torch(fn, kwargs):
    x0 = np.array([-1.2, 1.0, 0.5, -0.3])
    p = Parameter(Tensor._wrap(x0.copy()))
    q = torch.nn.Parameter(torch.from_numpy(x0.copy()))
    opt_nt = optim.LBFGS([p], **kwargs)
    opt_th = torch.optim.LBFGS([q], **kwargs)

    def closure_nt():
        f, g = fn(p._data)
        p.grad = Tensor._wrap(g)
        return f

    def closure_th():
        f, g = fn(q.detach().numpy().copy())
        q.grad = torch.from_numpy(g)
        return torch.tensor(f)

    for _ in range(6):
        loss_nt = opt_nt.step(closure_nt)
        loss_th = opt_th.step(closure_th)
        assert loss_nt == pytest.approx(float(loss_th), rel=1e-9, abs=1e-12)
        np.testing.assert_allclose(p._data, q.detach().numpy(), rtol=1e-8, atol=1e-10)
    st_nt, st_th = opt_nt.state[p], opt_th.state[q]
    assert list(st_nt) == list(st_th)
    for key, v_th in st_th.items():
        v_nt = st_nt[key]
        if isinstance(v_th, torch.Tensor):
            assert isinstance(v_nt, Tensor), key
        else:
            assert type(v_nt) is type(v_th), key
    assert st_nt["func_evals"] == st_th["func_evals"]
    assert st_nt["n_iter"] == st_th["n_iter"]
    assert len(st_nt["old_dirs"]) == len(st_th["old_dirs"])


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_float32(line_search_fn):
    x0 = np.array([-1.2, 1.0, 0.5, -0.3], np.float32)
    p = Parameter(Tensor._wrap(x0.copy()))
    q = torch.nn.Parameter(torch.from_numpy(x0.copy()))
    opt_nt = optim.LBFGS([p], line_search_fn=line_search_fn, max_iter=5)
    opt_th = torch.optim.LBFGS([q], line_search_fn=line_search_fn, max_iter=5)

    def closure_nt():
        f, g = _quadratic(p._data)
        p.grad = Tensor._wrap(g)
        return f

    def closure_th():
        f, g = _quadratic(q.detach().numpy().copy())
        q.grad = torch.from_numpy(g)
        return torch.tensor(f)

    for _ in range(3):
        opt_nt.step(closure_nt)
        opt_th.step(closure_th)
        assert p._data.dtype == np.float32
        np.testing.assert_allclose(p._data, q.detach().numpy(), rtol=1e-4, atol=1e-8)
    assert opt_nt.state[p]["d"]._data.dtype == np.float32


def test_lbfgs_converges_on_rosenbrock():
    p = Parameter(Tensor._wrap(np.array([-1.2, 1.0])))
    opt = optim.LBFGS([p], line_search_fn="strong_wolfe", max_iter=100)

    def closure():
        f, g = _rosenbrock(p._data)
        p.grad = Tensor._wrap(g)
        return f

    for _ in range(5):
        opt.step(closure)
    np.testing.assert_allclose(p._data, [1.0, 1.0], atol=1e-4)  # torch stops at the same point


def test_lbfgs_resume():
    x0 = np.array([-1.2, 1.0, 0.5])

    def make(x):
        p = Parameter(Tensor._wrap(x.copy()))

        def closure():
            f, g = _rosenbrock(p._data)
            p.grad = Tensor._wrap(g)
            return f
        return p, closure

    p, closure = make(x0)
    opt = optim.LBFGS([p], max_iter=3)
    for _ in range(4):
        opt.step(closure)
    p1, c1 = make(x0)
    opt1 = optim.LBFGS([p1], max_iter=3)
    for _ in range(2):
        opt1.step(c1)
    p2, c2 = make(p1._data)
    opt2 = optim.LBFGS([p2], max_iter=3)
    opt2.load_state_dict(copy.deepcopy(opt1.state_dict()))
    for _ in range(2):
        opt2.step(c2)
    np.testing.assert_allclose(p2._data, p._data, rtol=1e-12)


# ---------------------------------------------------------------------- with autograd
def _rosenbrock_loss(x):
    return ((1 - x[:-1]) ** 2 + 100 * (x[1:] - x[:-1] ** 2) ** 2).sum()


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_with_autograd_closure(line_search_fn):
    import numtorch

    x0 = np.array([-1.5, 2.0, 0.3, 1.1])
    p = Parameter(numtorch.tensor(x0))
    q = torch.nn.Parameter(torch.tensor(x0))
    opt_nt = optim.LBFGS([p], line_search_fn=line_search_fn, max_iter=10)
    opt_th = torch.optim.LBFGS([q], line_search_fn=line_search_fn, max_iter=10)

    def closure_nt():
        opt_nt.zero_grad()
        loss = _rosenbrock_loss(p)
        loss.backward()
        return loss

    def closure_th():
        opt_th.zero_grad()
        loss = _rosenbrock_loss(q)
        loss.backward()
        return loss

    for _ in range(4):
        loss_nt = opt_nt.step(closure_nt)
        loss_th = opt_th.step(closure_th)
        assert float(loss_nt) == pytest.approx(float(loss_th.detach()), rel=1e-9)
        np.testing.assert_allclose(p._data, q.detach().numpy(), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_least_squares_with_autograd(name, dtype):
    import numtorch

    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((8, 3)).astype(dtype), rng.standard_normal((8, 2)).astype(dtype)
    W0, b0 = rng.standard_normal((3, 2)).astype(dtype), np.zeros(2, dtype)
    kwargs = CONFIGS[name][1]
    results = []
    for lib in (numtorch, torch):
        param = Parameter if lib is numtorch else torch.nn.Parameter
        W = param(lib.tensor(W0))
        b = param(lib.tensor(b0))
        x, y = lib.tensor(X), lib.tensor(Y)
        opt = getattr(lib.optim, name)([W, b], **kwargs)
        losses = []
        for _ in range(20):
            opt.zero_grad()
            loss = ((x @ W + b - y) ** 2).mean()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        results.append((W.detach().numpy(), b.detach().numpy(), losses))
    (w_nt, b_nt, l_nt), (w_th, b_th, l_th) = results
    tol = 1e-10 if dtype == np.float64 else 1e-4
    assert w_nt.dtype == dtype
    np.testing.assert_allclose(w_nt, w_th, rtol=tol, atol=tol)
    np.testing.assert_allclose(b_nt, b_th, rtol=tol, atol=tol)
    np.testing.assert_allclose(l_nt, l_th, rtol=tol)
    assert l_nt[-1] < l_nt[0]


def test_load_old_style_numeric_step():
    p = Parameter(Tensor._wrap(np.zeros(2)))
    opt = optim.Adam([p], lr=0.1)
    p.grad = Tensor._wrap(np.ones(2))
    opt.step()
    sd = copy.deepcopy(opt.state_dict())
    sd["state"][0]["step"] = 1
    q = Parameter(Tensor._wrap(np.zeros(2)))
    opt2 = optim.Adam([q], lr=0.1)
    opt2.load_state_dict(sd)
    step = opt2.state[q]["step"]
    assert isinstance(step, Tensor) and step._data.dtype == np.float32


# ---------------------------------------------------------------------- swa_utils
def _linear_models():
    import numtorch

    if not hasattr(numtorch.nn, "Linear"):
        pytest.skip("numtorch.nn.Linear is not available yet")
    th = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2)).double()
    nt = numtorch.nn.Sequential(numtorch.nn.Linear(3, 4), numtorch.nn.Linear(4, 2))
    for p, q in zip(nt.parameters(), th.parameters()):
        p._data = q.detach().numpy().copy()
    return nt, th


@pytest.mark.parametrize("averaging", ["swa", "ema_avg_fn", "ema_multi", "swa_avg_fn",
                                       "swa_multi"])
def test_averaged_model_matches_torch(averaging):
    from numtorch.optim import swa_utils

    nt, th = _linear_models()

    def kwargs(lib):
        return {"swa": {},
                "ema_avg_fn": {"avg_fn": lib.get_ema_avg_fn(0.9)},
                "ema_multi": {"multi_avg_fn": lib.get_ema_multi_avg_fn(0.9)},
                "swa_avg_fn": {"avg_fn": lib.get_swa_avg_fn()},
                "swa_multi": {"multi_avg_fn": lib.get_swa_multi_avg_fn()}}[averaging]

    avg_nt = swa_utils.AveragedModel(nt, **kwargs(swa_utils))
    avg_th = torch.optim.swa_utils.AveragedModel(th, **kwargs(torch.optim.swa_utils))
    rng = np.random.default_rng(4)
    for _ in range(6):
        for p, q in zip(nt.parameters(), th.parameters()):
            new = rng.standard_normal(p._data.shape)
            p._data[...] = new
            with torch.no_grad():
                q.copy_(torch.from_numpy(new))
        avg_nt.update_parameters(nt)
        avg_th.update_parameters(th)
        for p, q in zip(avg_nt.module.parameters(), avg_th.module.parameters()):
            np.testing.assert_allclose(p._data, q.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert int(avg_nt.n_averaged._data) == int(avg_th.n_averaged) == 6
    # the averaged copy is independent of the model
    assert all(p is not q for p, q in zip(avg_nt.module.parameters(), nt.parameters()))


def test_ema_decay_validation():
    from numtorch.optim import swa_utils

    for fn in ("get_ema_avg_fn", "get_ema_multi_avg_fn"):
        with pytest.raises(ValueError, match="Invalid decay"):
            getattr(swa_utils, fn)(1.5)


# ---------------------------------------------------------------------- training a real network
class _TorchLeNet5(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 6, 5)
        self.conv2 = torch.nn.Conv2d(6, 16, 5)
        self.fc1 = torch.nn.Linear(400, 120)
        self.fc2 = torch.nn.Linear(120, 84)
        self.fc3 = torch.nn.Linear(84, 10)

    def forward(self, x):
        F = torch.nn.functional
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


# Every optimizer is checked step for step above; a few of them also train LeNet-5 (kept short:
# the whole file must stay fast).
LENET_OPTIMIZERS = [("SGD", dict(lr=0.05, momentum=0.9)), ("Adam", dict(lr=1e-3)),
                    ("RMSprop", dict(lr=1e-3)), ("Adagrad", dict(lr=0.005))]


@pytest.mark.parametrize("name,kwargs", LENET_OPTIMIZERS, ids=[n for n, _ in LENET_OPTIMIZERS])
def test_lenet_training_matches_torch(name, kwargs):
    import numtorch
    import numtorch.nn.functional as F

    try:
        from numtorch.apps.models import LeNet5
        net = LeNet5().double()
    except (ImportError, AttributeError) as e:
        pytest.skip(f"numtorch.nn is not complete yet: {e}")
    ref = _TorchLeNet5().double()
    ref.load_state_dict({k: torch.from_numpy(v._data.copy())
                         for k, v in net.state_dict().items()})
    rng = np.random.default_rng(5)
    x = rng.standard_normal((8, 1, 32, 32))
    y = rng.integers(0, 10, 8)
    opt = getattr(optim, name)(net.parameters(), **kwargs)
    opt_ref = getattr(torch.optim, name)(ref.parameters(), **kwargs)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = F.cross_entropy(net(numtorch.tensor(x)), numtorch.tensor(y))
        loss.backward()
        opt.step()
        opt_ref.zero_grad()
        loss_ref = torch.nn.functional.cross_entropy(ref(torch.tensor(x)), torch.tensor(y))
        loss_ref.backward()
        opt_ref.step()
        assert float(loss) == pytest.approx(float(loss_ref.detach()), rel=1e-8)
        losses.append(float(loss))
    for p, q in zip(net.parameters(), ref.parameters()):
        np.testing.assert_allclose(p._data, q.detach().numpy(), rtol=1e-7, atol=1e-9)
    assert losses[-1] < losses[0]


def test_update_bn_matches_torch():
    import numtorch
    from numtorch.optim import swa_utils

    if not hasattr(numtorch.nn, "BatchNorm1d"):
        pytest.skip("numtorch.nn.BatchNorm1d is not available yet")
    nt = numtorch.nn.Sequential(numtorch.nn.Linear(3, 4), numtorch.nn.BatchNorm1d(4)).double()
    th = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)).double()
    th.load_state_dict({k: torch.from_numpy(np.array(v._data))
                        for k, v in nt.state_dict().items()})
    rng = np.random.default_rng(6)
    batches = [rng.standard_normal((5, 3)) * 3 + 1 for _ in range(4)]
    nt.eval()
    th.eval()
    swa_utils.update_bn([(numtorch.tensor(b), 0) for b in batches], nt)
    torch.optim.swa_utils.update_bn([(torch.tensor(b), 0) for b in batches], th)
    assert nt.training is False and nt[1].momentum == th[1].momentum
    for key, value in th.state_dict().items():
        np.testing.assert_allclose(np.asarray(nt.state_dict()[key]._data), value.numpy(),
                                   rtol=1e-12, err_msg=key)
