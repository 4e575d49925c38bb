"""Second derivatives of converted op families against PyTorch (check_op compares values,
gradients and Hessian-vector products in float64 and float32, plus finite differences), run
strictly: a node without a differentiable formula fails here instead of being skipped."""

import pytest
from oracle import check_op

torch = pytest.importorskip("torch")


def _setitem(t, a, b):
    c = a * 1.0
    c[1:3] = b[0] ** 2
    return c ** 2


IDX = [[0, 1], [2, 2], [1, 0], [0, 0]]
PERM = [[0, 1], [2, 1], [1, 0], [0, 2]]
CASES = {
    "select_slice": lambda t, a, b: (a[1:] * a[:-1]).sum(0) * b[0],
    "index": lambda t, a, b: a[t.tensor([0, 0, 2])] ** 2,
    "gather": lambda t, a, b: t.gather(a, 1, t.tensor(IDX)) ** 2 * b[:, :2],
    "scatter_add": lambda t, a, b: a.scatter_add(1, t.tensor(IDX), b[:, :2]) ** 2,
    "scatter": lambda t, a, b: a.scatter(1, t.tensor(PERM), b[:, :2]) ** 2,
    "index_select": lambda t, a, b: a.index_select(0, t.tensor([0, 3, 0])) ** 2 * b[:3],
    "masked_fill": lambda t, a, b: a.masked_fill(b > 0, 2.0) ** 2,
    "setitem": _setitem,
    "where": lambda t, a, b: t.where(a > 0, a * b, b ** 2),
    "amax": lambda t, a, b: a.amax(1) * b[:, 0],
    "max_dim": lambda t, a, b: a.max(1).values * b[:, 0],
    "max_all": lambda t, a, b: a.max() * b,
    "median_dim": lambda t, a, b: a.median(0).values * b[0],
    "cat_stack": lambda t, a, b: t.stack([t.cat([a, b], 1) ** 2, t.cat([b, a], 1)]),
    "cumsum_cumprod": lambda t, a, b: (a.cumsum(1) * b).cumprod(0),
    "flip_roll": lambda t, a, b: a.flip(0).roll(1, 1) * b,
    "norm": lambda t, a, b: a.norm(dim=1) * b[:, 0] + (a * b).norm(p=3),
    "softmax": lambda t, a, b: a.softmax(1) * b,
    "log_softmax": lambda t, a, b: a.log_softmax(0) * b,
    "logsumexp": lambda t, a, b: (a * b).logsumexp(1),
    "prod": lambda t, a, b: (a * b).prod(1),
    "split_unbind": lambda t, a, b: a.split([1, 2], 1)[1] * b.unbind(1)[0].unsqueeze(1),
    "var_std": lambda t, a, b: (a * b).var(1) + (a - b).std(0).sum(),
    "tril_triu": lambda t, a, b: (a * b).tril() + a.triu(1) ** 2,
    "mean_sum": lambda t, a, b: (a * b).mean(1) + (a ** 2).sum(),
}
ACTIVATIONS = ["celu", "elu", "selu", "gelu", "glu", "hardshrink", "hardsigmoid", "hardswish",
               "hardtanh", "leaky_relu", "logsigmoid", "mish", "silu", "softplus", "softshrink",
               "relu6", "softsign", "tanhshrink"]
for _name in ACTIVATIONS:
    CASES[_name] = (lambda n: lambda t, a, b: getattr(t.nn.functional, n)(a * 2) * b[..., :(
        a.shape[-1] // 2 if n == "glu" else None)])(_name)
CASES["gelu_tanh"] = lambda t, a, b: t.nn.functional.gelu(a * 2, approximate="tanh") * b
CASES["prelu"] = lambda t, a, b: t.nn.functional.prelu(a * 2, b[0, :1].abs()) * b
LOSSES = {
    "mse": lambda t, a, b: t.nn.functional.mse_loss(a * b, b),
    "huber": lambda t, a, b: t.nn.functional.huber_loss(a * 3, b, reduction="sum"),
    "smooth_l1": lambda t, a, b: t.nn.functional.smooth_l1_loss(a * 3, b, reduction="none"),
    "cross_entropy": lambda t, a, b: t.nn.functional.cross_entropy(a * b, t.tensor([0, 2, 1, 2])),
    "cross_entropy_none": lambda t, a, b: t.nn.functional.cross_entropy(
        a * b, t.tensor([0, 2, 1, 2]), reduction="none"),
    "nll_weighted": lambda t, a, b: t.nn.functional.nll_loss(
        (a * b).log_softmax(1), t.tensor([0, 2, 1, 2]), weight=t.tensor([1.0, 2.0, 0.5],
                                                                       dtype=a.dtype)),
    "bce": lambda t, a, b: t.nn.functional.binary_cross_entropy(a.sigmoid(), b.sigmoid()),
    "bce_logits": lambda t, a, b: t.nn.functional.binary_cross_entropy_with_logits(
        a * b, b.sigmoid(), pos_weight=t.tensor([1.0, 2.0, 0.5], dtype=a.dtype)),
    "soft_margin": lambda t, a, b: t.nn.functional.soft_margin_loss(
        a * b, t.tensor([[1.0, -1.0, 1.0]] * 4, dtype=a.dtype)),
    "margin_ranking": lambda t, a, b: t.nn.functional.margin_ranking_loss(
        a * b, b, t.tensor([[1.0, -1.0, 1.0]] * 4, dtype=a.dtype), margin=0.1),
    "kl_div": lambda t, a, b: t.nn.functional.kl_div(
        (a * b).log_softmax(1), b.softmax(1), reduction="batchmean"),
}
CASES.update(LOSSES)
CASES.update({
    "diag_embed_diagonal": lambda t, a, b: t.diag_embed(a * b).diagonal(0, 1, 2) ** 2,
    "erfinv": lambda t, a, b: (a.tanh() * 0.9).erfinv() * b,
    "lgamma": lambda t, a, b: (a.abs() + 0.5).lgamma() * b,
    "hypot_logaddexp": lambda t, a, b: t.hypot(a, b) * t.logaddexp(a, b) + t.logaddexp2(b, a),
    "logcumsumexp": lambda t, a, b: (a * b).logcumsumexp(0),
    "logit": lambda t, a, b: (a.sigmoid() * 0.9).logit() * b,
    "nan_to_num": lambda t, a, b: (a * b).nan_to_num() ** 2,
    "xlogy": lambda t, a, b: t.xlogy(a, b.abs() + 0.1),
    "repeat_interleave": lambda t, a, b: (a * b).repeat_interleave(2, 0) ** 2,
    "unfold": lambda t, a, b: (a * b).unfold(0, 2, 1) ** 2,
})


@pytest.fixture(autouse=True)
def _strict(monkeypatch):
    monkeypatch.setenv("NUMTORCH_GRADGRAD_STRICT", "1")


@pytest.mark.parametrize("name", sorted(CASES))
def test_second_derivatives(name):
    shape = (4, 6) if name in ACTIVATIONS or name in ("gelu_tanh", "prelu") else (4, 3)
    check_op(CASES[name], [shape, shape])
