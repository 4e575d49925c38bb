"""nn.init: gains, fans, and the distributions every initialiser draws (bounds, mean, std)."""

import math
import warnings

import numpy as np
import pytest

import numtorch
import numtorch.nn as nnn
from numtorch.nn import init

torch = pytest.importorskip("torch")
tinit = torch.nn.init


def err(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the class is what we compare
        return type(e), str(e)
    return None, None


@pytest.mark.parametrize("name,param", [
    ("linear", None), ("conv2d", None), ("conv_transpose3d", None), ("sigmoid", None),
    ("tanh", None), ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
    ("leaky_relu", math.sqrt(5)), ("leaky_relu", 3), ("selu", None),
])
def test_calculate_gain_equals_torch(name, param):
    assert init.calculate_gain(name, param) == tinit.calculate_gain(name, param)


@pytest.mark.parametrize("call", [
    lambda i: i.calculate_gain("softmax"),
    lambda i: i.calculate_gain("leaky_relu", "x"),
    lambda i: i.calculate_gain("leaky_relu", True),
])
def test_calculate_gain_errors(call):
    assert err(lambda: call(init)) == err(lambda: call(tinit))


@pytest.mark.parametrize("shape", [(3, 4), (6, 1, 5, 5), (2, 3, 4), (16, 6, 3, 3, 2)])
def test_fan_in_fan_out(shape):
    a = init._calculate_fan_in_and_fan_out(numtorch.empty(*shape))
    b = tinit._calculate_fan_in_and_fan_out(torch.empty(*shape))
    assert a == b


def test_fan_errors():
    assert (err(lambda: init._calculate_fan_in_and_fan_out(numtorch.empty(3)))
            == err(lambda: tinit._calculate_fan_in_and_fan_out(torch.empty(3))))
    assert (err(lambda: init.kaiming_uniform_(numtorch.empty(3, 3), mode="fan_avg"))
            == err(lambda: tinit.kaiming_uniform_(torch.empty(3, 3), mode="fan_avg")))


def _stats(t):
    a = t._data.astype(np.float64)
    return a.mean(), a.std(), np.abs(a).max()


def _check_uniform(t, bound):
    mean, std, amax = _stats(t)
    assert amax <= bound * (1 + 1e-6)
    assert amax > 0.98 * bound
    assert abs(mean) < 0.02 * bound
    assert abs(std - bound / math.sqrt(3)) < 0.02 * bound


def _check_normal(t, std_expected, mean_expected=0.0):
    mean, std, _ = _stats(t)
    assert abs(mean - mean_expected) < 0.02 * std_expected + 1e-12
    assert abs(std - std_expected) < 0.02 * std_expected


SHAPE = (256, 128, 3)  # fan_in 384, fan_out 768


def test_in_place_version_and_no_graph():
    p = nnn.Parameter(numtorch.empty(*SHAPE))
    before = p._version
    out = init.kaiming_uniform_(p, a=math.sqrt(5))
    assert out is p and p._version > before and p.grad_fn is None and p.requires_grad
    assert p.dtype == numtorch.float32


def test_uniform_normal_constant():
    t = numtorch.empty(*SHAPE)
    _check_uniform(init.uniform_(t, -0.5, 0.5), 0.5)
    init.uniform_(t, 2.0, 3.0)
    assert t._data.min() >= 2.0 and t._data.max() <= 3.0
    _check_normal(init.normal_(t, 1.5, 0.3), 0.3, 1.5)
    assert (init.constant_(t, 0.25)._data == 0.25).all()
    assert (init.ones_(t)._data == 1).all() and (init.zeros_(t)._data == 0).all()


@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_xavier(gain):
    t = numtorch.empty(*SHAPE)
    fan_in, fan_out = 384, 768
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    _check_uniform(init.xavier_uniform_(t, gain=gain), math.sqrt(3) * std)
    _check_normal(init.xavier_normal_(t, gain=gain), std)


@pytest.mark.parametrize("a,mode,nonlinearity", [
    (0, "fan_in", "leaky_relu"), (math.sqrt(5), "fan_in", "leaky_relu"),
    (0, "fan_out", "relu"), (0, "fan_in", "tanh"), (0.1, "fan_out", "leaky_relu"),
])
def test_kaiming(a, mode, nonlinearity):
    t = numtorch.empty(*SHAPE)
    fan = 384 if mode == "fan_in" else 768
    std = tinit.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    _check_uniform(init.kaiming_uniform_(t, a=a, mode=mode, nonlinearity=nonlinearity),
                   math.sqrt(3) * std)
    _check_normal(init.kaiming_normal_(t, a=a, mode=mode, nonlinearity=nonlinearity), std)


def test_kaiming_zero_element_warns():
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        init.kaiming_uniform_(numtorch.empty(0, 3))


@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, -2.0, 2.0), (0.0, 0.02, -0.04, 0.04),
                                          (1.0, 2.0, 0.0, 1.5), (0.0, 1.0, 1.0, 3.0)])
def test_trunc_normal_matches_torch_statistics(mean, std, a, b):
    x = init.trunc_normal_(numtorch.empty(50_000), mean, std, a, b)._data.astype(np.float64)
    torch.manual_seed(0)
    y = tinit.trunc_normal_(torch.empty(50_000, dtype=torch.float64), mean, std, a, b).numpy()
    assert x.min() >= a and x.max() <= b
    assert abs(x.mean() - y.mean()) < 0.01 * std + 0.005 * (b - a)
    assert abs(x.std() - y.std()) < 0.01 * std + 0.005 * (b - a)


def test_trunc_normal_warns_far_mean():
    with pytest.warns(UserWarning, match="mean is more than 2 std"):
        init.trunc_normal_(numtorch.empty(10), mean=10.0, std=1.0)


@pytest.mark.parametrize("shape", [(6, 6), (3, 10), (10, 3), (4, 2, 3, 3)])
def test_orthogonal(shape):
    t = init.orthogonal_(numtorch.empty(*shape, dtype=numtorch.float64), gain=2.0)
    m = t._data.reshape(shape[0], -1)
    rows, cols = m.shape
    gram = m @ m.T if rows <= cols else m.T @ m
    np.testing.assert_allclose(gram, 4.0 * np.eye(min(rows, cols)), atol=1e-10)
    assert (err(lambda: init.orthogonal_(numtorch.empty(3)))
            == err(lambda: tinit.orthogonal_(torch.empty(3))))


def test_eye_and_dirac_equal_torch():
    np.testing.assert_array_equal(init.eye_(numtorch.empty(3, 5))._data,
                                  tinit.eye_(torch.empty(3, 5)).numpy())
    for shape, groups in [((4, 2, 3), 1), ((6, 3, 3, 3), 1), ((4, 2, 3, 3), 2),
                          ((2, 2, 3, 3, 3), 1)]:
        np.testing.assert_array_equal(init.dirac_(numtorch.empty(*shape), groups)._data,
                                      tinit.dirac_(torch.empty(*shape), groups).numpy())
    assert err(lambda: init.eye_(numtorch.empty(3))) == err(lambda: tinit.eye_(torch.empty(3)))
    assert (err(lambda: init.dirac_(numtorch.empty(3, 3)))
            == err(lambda: tinit.dirac_(torch.empty(3, 3))))
    assert (err(lambda: init.dirac_(numtorch.empty(3, 3, 3), 2))
            == err(lambda: tinit.dirac_(torch.empty(3, 3, 3), 2)))


def test_sparse():
    t = init.sparse_(numtorch.empty(100, 20), sparsity=0.3, std=0.5)
    assert ((t._data == 0).sum(axis=0) >= 30).all()


def test_generator_makes_draws_reproducible():
    g1 = numtorch.Generator().manual_seed(7)
    g2 = numtorch.Generator().manual_seed(7)
    a = init.kaiming_normal_(numtorch.empty(5, 5), generator=g1)
    b = init.kaiming_normal_(numtorch.empty(5, 5), generator=g2)
    np.testing.assert_array_equal(a._data, b._data)
    numtorch.manual_seed(1)
    c = init.uniform_(numtorch.empty(4))._data.copy()
    numtorch.manual_seed(1)
    np.testing.assert_array_equal(init.uniform_(numtorch.empty(4))._data, c)


def test_float64_and_float32_keep_dtype():
    for dtype in (numtorch.float32, numtorch.float64):
        t = numtorch.empty(4, 4, dtype=dtype)
        for fn in (init.xavier_uniform_, init.orthogonal_, init.trunc_normal_, init.normal_):
            assert fn(t).dtype == dtype


def test_no_warnings_on_ordinary_use():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nnn.Linear(3, 2)
        nnn.Embedding(4, 2)


def test_deprecated_aliases_warn_like_torch():
    for lib in (numtorch, torch):
        with pytest.warns(FutureWarning, match="`nn.init.xavier_uniform` is now deprecated"):
            lib.nn.init.xavier_uniform(lib.empty(3, 3))
