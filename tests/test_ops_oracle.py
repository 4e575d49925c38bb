"""Every core op against PyTorch: values, dtypes, shapes and input gradients (float64, float32)."""

import numpy as np
import pytest
from oracle import check_grad_fd, check_op

torch = pytest.importorskip("torch")

BINARY = [
    ("add", lambda t, a, b: a + b), ("sub", lambda t, a, b: a - b),
    ("mul", lambda t, a, b: a * b), ("div", lambda t, a, b: a / b),
    ("add_alpha", lambda t, a, b: t.add(a, b, alpha=0.5)),
    ("maximum", lambda t, a, b: t.maximum(a, b)), ("minimum", lambda t, a, b: t.minimum(a, b)),
    ("atan2", lambda t, a, b: t.atan2(a, b)), ("where", lambda t, a, b: t.where(a > 0, a, b)),
    ("fmod", lambda t, a, b: t.fmod(a, b)),
]
SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((), (2, 3)), ((5,), ())]


@pytest.mark.parametrize("name,fn", BINARY, ids=[b[0] for b in BINARY])
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_binary(name, fn, shapes):
    check_op(fn, shapes)


SCALAR = [
    lambda t, a: a + 2, lambda t, a: 2 + a, lambda t, a: a - 1.5, lambda t, a: 3 - a,
    lambda t, a: a * 2.5, lambda t, a: 2 * a, lambda t, a: a / 4, lambda t, a: 2 / a,
    lambda t, a: a ** 2, lambda t, a: a ** 3, lambda t, a: a.abs() ** 0.5, lambda t, a: 2 ** a,
    lambda t, a: -a, lambda t, a: a % 1.5, lambda t, a: a.abs() ** a,
    lambda t, a: t.pow(2.0, a), lambda t, a: t.pow(a, 3), lambda t, a: t.fmod(a, 0.7),
]


@pytest.mark.parametrize("i", range(len(SCALAR)))
def test_scalar_ops(i):
    check_op(SCALAR[i], [(3, 4)])


UNARY = {
    "exp": lambda t, a: a.exp(), "log": lambda t, a: a.abs().log(),
    "log1p": lambda t, a: a.abs().log1p(), "sqrt": lambda t, a: a.abs().sqrt(),
    "rsqrt": lambda t, a: (a.abs() + 0.1).rsqrt(), "abs": lambda t, a: a.abs(),
    "neg": lambda t, a: a.neg(), "sign": lambda t, a: a.sign(), "sin": lambda t, a: a.sin(),
    "cos": lambda t, a: a.cos(), "tanh": lambda t, a: a.tanh(),
    "sigmoid": lambda t, a: a.sigmoid(), "relu": lambda t, a: a.relu(),
    "clamp": lambda t, a: a.clamp(-0.5, 0.5), "clamp_min": lambda t, a: a.clamp(min=0.1),
    "floor": lambda t, a: a.floor(), "ceil": lambda t, a: a.ceil(),
    "round": lambda t, a: a.round(), "reciprocal": lambda t, a: (a.abs() + 0.5).reciprocal(),
    "expm1": lambda t, a: a.expm1(), "erf": lambda t, a: a.erf(), "square": lambda t, a: a.square(),
    "trunc": lambda t, a: a.trunc(), "softmax": lambda t, a: a.softmax(-1),
    "log_softmax": lambda t, a: a.log_softmax(1), "sigmoid_big": lambda t, a: (a * 100).sigmoid(),
}


@pytest.mark.parametrize("name", UNARY)
def test_unary(name):
    check_op(UNARY[name], [(3, 5)])


REDUCTIONS = {
    "sum": lambda t, a: a.sum(), "sum0": lambda t, a: a.sum(0),
    "sum_keep": lambda t, a: a.sum((0, 2), keepdim=True), "mean": lambda t, a: a.mean(),
    "mean1": lambda t, a: a.mean(1), "mean_neg": lambda t, a: a.mean(-1, keepdim=True),
    "prod": lambda t, a: a.prod(), "prod1": lambda t, a: a.prod(1),
    "max": lambda t, a: a.max(), "max_dim": lambda t, a: a.max(1),
    "min_dim_keep": lambda t, a: a.min(2, keepdim=True), "amax": lambda t, a: a.amax((0, 1)),
    "amin": lambda t, a: a.amin(-1), "argmax": lambda t, a: a.argmax(1),
    "argmin": lambda t, a: a.argmin(), "var": lambda t, a: a.var(),
    "var_dim": lambda t, a: a.var(1, unbiased=False), "std": lambda t, a: a.std(0),
    "std_corr": lambda t, a: a.std(dim=(1, 2), correction=0, keepdim=True),
    "norm": lambda t, a: a.norm(), "norm1": lambda t, a: a.norm(p=1, dim=1),
    "norm3": lambda t, a: a.norm(p=3, dim=2), "logsumexp": lambda t, a: a.logsumexp(1),
    "cumsum": lambda t, a: a.cumsum(1), "cumprod": lambda t, a: a.cumprod(2),
    "all": lambda t, a: (a > -5).all(1), "any": lambda t, a: (a > 1).any(),
}


@pytest.mark.parametrize("name", REDUCTIONS)
def test_reductions(name):
    check_op(REDUCTIONS[name], [(3, 4, 5)])


SHAPE_OPS = {
    "view": lambda t, a: a.view(4, 15), "view_infer": lambda t, a: a.view(-1, 5),
    "reshape_t": lambda t, a: a.transpose(0, 2).reshape(-1), "flatten": lambda t, a: a.flatten(1),
    "unflatten": lambda t, a: a.unflatten(2, (5, 1)), "squeeze": lambda t, a: a[:, :1].squeeze(1),
    "squeeze_all": lambda t, a: a[:1, :1].squeeze(), "unsqueeze": lambda t, a: a.unsqueeze(-1),
    "permute": lambda t, a: a.permute(2, 0, 1), "transpose": lambda t, a: a.transpose(0, 1),
    "t": lambda t, a: a[0].t(), "T": lambda t, a: a[0].T,
    "expand": lambda t, a: a[:, :1].expand(3, 4, 5),
    "expand_new": lambda t, a: a.expand(2, 3, 4, 5),
    "repeat": lambda t, a: a.repeat(2, 1, 3), "repeat_more": lambda t, a: a.repeat(2, 1, 1, 2),
    "contiguous": lambda t, a: a.transpose(0, 2).contiguous(),
    "chunk": lambda t, a: a.chunk(3, 1), "split": lambda t, a: a.split(2, 2),
    "split_sizes": lambda t, a: a.split([1, 3], 1), "chunk_partial": lambda t, a: a.chunk(2, 2)[1],
    "narrow": lambda t, a: a.narrow(1, 1, 2), "unbind": lambda t, a: a.unbind(1),
    "flip": lambda t, a: a.flip(0, 2), "roll": lambda t, a: a.roll(2, 1),
    "cat": lambda t, a: t.cat([a, a * 2], 1), "stack": lambda t, a: t.stack([a, a + 1], 1),
    "repeat_interleave": lambda t, a: a.repeat_interleave(2, dim=1),
    "repeat_interleave_t": lambda t, a: a.repeat_interleave(t.tensor([1, 0, 3]), dim=0),
    "repeat_interleave_flat": lambda t, a: t.repeat_interleave(a, 2),
    "diagonal": lambda t, a: a.diagonal(1, 0, 2), "diag2d": lambda t, a: a[0].diag(-1),
    "diag1d": lambda t, a: t.diag(a[0, 0], 1), "trace": lambda t, a: a[1].trace(),
    "tril": lambda t, a: a[0].tril(), "movedim": lambda t, a: a.movedim(0, 2),
}


@pytest.mark.parametrize("name", SHAPE_OPS)
def test_shape_ops(name):
    check_op(SHAPE_OPS[name], [(3, 4, 5)])


INDEXING = {
    "int": lambda t, a: a[1], "neg_int": lambda t, a: a[-1, 2],
    "slice": lambda t, a: a[1:, ::2], "ellipsis": lambda t, a: a[..., 1],
    "one_slice": lambda t, a: a[1:3], "one_step_slice": lambda t, a: a[::2],
    "one_neg_int": lambda t, a: a[-2],
    "none": lambda t, a: a[None, :, None], "mask": lambda t, a: a[a > 0],
    "index_tensor": lambda t, a: a[t.tensor([0, 2, 0])],
    "index_pair": lambda t, a: a[t.tensor([0, 1]), t.tensor([2, 3])],
    "mixed": lambda t, a: a[1:, t.tensor([0, 0, 3])],
    "masked_fill": lambda t, a: a.masked_fill(a > 0.5, 0.0),
    "gather": lambda t, a: a.gather(1, t.tensor([[0, 1, 1, 3, 2], [2, 2, 0, 0, 1]])),
    "scatter": lambda t, a: a.scatter(0, t.tensor([[1, 0, 1, 0]]), a[:1] * 3),
    "index_select": lambda t, a: a.index_select(1, t.tensor([3, 0, 3])),
}


@pytest.mark.parametrize("name", INDEXING)
def test_indexing(name):
    check_op(INDEXING[name], [(3, 4, 5)] if name not in ("gather", "scatter") else [(2, 4)]
             if name == "scatter" else [(2, 5)])


LINALG = {
    "mm": ((3, 4), (4, 5), lambda t, a, b: a @ b), "mv": ((3, 4), (4,), lambda t, a, b: a @ b),
    "dot": ((4,), (4,), lambda t, a, b: t.dot(a, b)), "vm": ((4,), (4, 3), lambda t, a, b: a @ b),
    "bmm": ((2, 3, 4), (2, 4, 5), lambda t, a, b: t.bmm(a, b)),
    "matmul_bcast": ((2, 3, 4), (4, 5), lambda t, a, b: a @ b),
    "matmul_batched": ((2, 1, 3, 4), (3, 4, 2), lambda t, a, b: t.matmul(a, b)),
    "outer": ((3,), (4,), lambda t, a, b: t.outer(a, b)),
    "addmm": ((3, 4), (4, 5), lambda t, a, b: t.addmm(b[0], a, b, beta=0.5, alpha=2)),
    "linear": ((3, 4), (5, 4), lambda t, a, b: t.nn.functional.linear(a, b, b[:, 0])),
    "linear3d": ((2, 3, 4), (5, 4), lambda t, a, b: t.nn.functional.linear(a, b)),
    "einsum": ((2, 3, 4), (4, 5), lambda t, a, b: t.einsum("bij,jk->bik", a, b)),
    "einsum_ellipsis": ((2, 3, 4), (4, 5), lambda t, a, b: t.einsum("...i,ij->...j", a, b)),
    "einsum_implicit": ((3, 4), (4, 5), lambda t, a, b: t.einsum("ij,jk", a, b)),
    "einsum_diagonal": ((2, 2, 3), (3,), lambda t, a, b: t.einsum("iij,j->i", a, b)),
    "einsum_trace_scalar": ((3, 3), (4, 4), lambda t, a, b: t.einsum("ii,jj->", a, b)),
    "einsum_summed_alone": ((3, 4), (5,), lambda t, a, b: t.einsum("ij,k->ik", a, b)),
}


@pytest.mark.parametrize("name", LINALG)
def test_linalg(name):
    s1, s2, fn = LINALG[name]
    check_op(fn, [s1, s2])


def test_integer_promotion_matches_torch():
    import numtorch
    cases = [
        lambda t: t.tensor([1, 2]) / t.tensor([2, 4]), lambda t: t.tensor([1, 2]) * 2.5,
        lambda t: t.tensor([1, 2]) + True,
        lambda t: t.tensor([1., 2.]) + t.tensor(3, dtype=t.int64),
        lambda t: t.tensor([1, 2], dtype=t.int32) + t.tensor(3), lambda t: t.tensor([1, 2]) // 2,
        lambda t: t.tensor([True]) + t.tensor([1.5], dtype=t.float64),
        lambda t: t.ones(2) + t.tensor(1.0, dtype=t.float64), lambda t: t.arange(5) % 3,
        lambda t: t.tensor([1, 2], dtype=t.uint8) + t.tensor([1], dtype=t.int8),
        lambda t: t.tensor([3]) ** 2, lambda t: t.tensor([3]) ** 0.5,
    ]
    for fn in cases:
        a, b = fn(numtorch), fn(torch)
        assert str(a.dtype) == str(b.dtype), (a.dtype, b.dtype)
        np.testing.assert_allclose(a.numpy(), b.numpy())


@pytest.mark.parametrize("fn", [
    lambda x, y: (x * y + x.exp()).sum(1),
    lambda x, y: (x @ y.t()).tanh().logsumexp(0),
    lambda x, y: (x - y).abs().pow(1.5).mean(1) + x.softmax(1)[:, 0],
    lambda x, y: x.reshape(2, 6).permute(1, 0).cumsum(0) * y.sum(),
    lambda x, y: x.max(1).values + y.var(1),
])
def test_finite_differences(fn):
    rng = np.random.default_rng(1)
    check_grad_fd(fn, [rng.standard_normal((3, 4)), rng.standard_normal((3, 4))])
