"""The large-tensor paths of GELU, softmax, layer norm, sigmoid and dropout: compiled kernels
(ops._fused, numba) or NumPy, in row runs shared among threads (ops._parallel). Their values
and gradients must match PyTorch, the compiled and NumPy paths must agree, and one thread or
several must give bitwise the same results."""

import numpy as np
import pytest

import numtorch
from numtorch.ops import _jit, _parallel

# above _parallel.MIN_PARALLEL, so the threaded path is taken
SHAPE = (8, 64, 512)


def _run(fn, x, g, dtype="float32"):
    a = numtorch.tensor(x.astype(dtype), requires_grad=True)
    y = fn(numtorch, a)
    y.backward(numtorch.tensor(g.astype(dtype)))
    return y.detach().numpy(), a.grad.numpy()


def _layer_norm(lib, a, shape=SHAPE[-1:]):
    gen = np.random.default_rng(3)
    w = lib.tensor(gen.standard_normal(shape).astype(np.float32), requires_grad=True)
    b = lib.tensor(gen.standard_normal(shape).astype(np.float32), requires_grad=True)
    y = lib.nn.functional.layer_norm(a, shape, w, b)
    _layer_norm.params = (w, b)
    return y


def _attention(lib, a):
    """The composed SDPA path (dropout on, though it keeps everything at this p) with a
    causal mask whose first row is masked everywhere (a zero row, PyTorch's safe softmax)."""
    q = a.reshape(8, 4, 64, 128)
    keep = np.tril(np.ones((64, 64), dtype=bool))
    keep[0] = False
    out = lib.nn.functional.scaled_dot_product_attention(q, q * 0.5, q, lib.tensor(keep),
                                                         dropout_p=1e-12)
    return out.reshape(SHAPE)


CASES = {
    "add_mul": lambda lib, a: (a + a * a) * a,
    "attention": _attention,
    "gelu": lambda lib, a: lib.nn.functional.gelu(a),
    "gelu_tanh": lambda lib, a: lib.nn.functional.gelu(a, approximate="tanh"),
    "softmax": lambda lib, a: lib.softmax(a, -1),
    "softmax_masked": lambda lib, a: lib.softmax(a.masked_fill(a > 1.5, float("-inf")), -1),
    "layer_norm": _layer_norm,
    "sigmoid": lambda lib, a: lib.sigmoid(a),
    "silu_logsigmoid": lambda lib, a: lib.nn.functional.silu(a) + lib.nn.functional.logsigmoid(a),
}


def _data():
    gen = np.random.default_rng(0)
    return gen.standard_normal(SHAPE) * 3, gen.standard_normal(SHAPE)


@pytest.mark.parametrize("name", sorted(CASES))
def test_large_float32_matches_torch(name):
    torch = pytest.importorskip("torch")
    x, g = _data()
    y, gx = _run(CASES[name], x, g)
    a = torch.tensor(x.astype(np.float32), requires_grad=True)
    want = CASES[name](torch, a)
    want.backward(torch.tensor(g.astype(np.float32)))
    np.testing.assert_allclose(y, want.detach().numpy(), rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(gx, a.grad.numpy(), rtol=2e-4, atol=2e-5)


def test_large_layer_norm_parameter_grads_match_torch():
    torch = pytest.importorskip("torch")
    x, g = _data()
    _run(_layer_norm, x, g)
    w, b = _layer_norm.params
    a = torch.tensor(x.astype(np.float32), requires_grad=True)
    _layer_norm(torch, a).backward(torch.tensor(g.astype(np.float32)))
    tw, tb = _layer_norm.params
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("name", sorted(CASES))
def test_large_float32_close_to_float64(name):
    x, g = _data()
    y, gx = _run(CASES[name], x, g)
    y64, gx64 = _run(CASES[name], x, g, "float64")
    np.testing.assert_allclose(y, y64, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gx, gx64, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", sorted(CASES))
def test_one_or_two_threads_give_the_same_bits(monkeypatch, name):
    x, g = _data()
    monkeypatch.setattr(_parallel, "threads_for", lambda size, per_thread=None: 1)
    one = _run(CASES[name], x, g)
    monkeypatch.setattr(_parallel, "threads_for",
                        lambda size, per_thread=None: 1 if size < _parallel.MIN_PARALLEL else 2)
    two = _run(CASES[name], x, g)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", sorted(CASES))
def test_compiled_and_numpy_paths_agree(monkeypatch, name):
    x, g = _data()
    monkeypatch.setattr(_jit, "ENABLED", True)
    on = _run(CASES[name], x, g)
    monkeypatch.setattr(_jit, "ENABLED", False)
    off = _run(CASES[name], x, g)
    np.testing.assert_allclose(on[0], off[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(on[1], off[1], rtol=1e-4, atol=1e-5)


def test_worker_errors_reach_the_caller(monkeypatch):
    monkeypatch.setattr(_parallel, "threads_for", lambda size, per_thread=None: 2)

    def fail(start, stop):
        if start:
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        _parallel.run_rows(fail, 1 << 18, 1)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_large_dropout_keeps_one_minus_p_and_scales(p):
    numtorch.manual_seed(0)
    x = numtorch.ones(SHAPE, requires_grad=True)
    y = numtorch.nn.functional.dropout(x, p)
    kept = y.detach().numpy() != 0
    assert abs(kept.mean() - (1 - p)) < 5e-3
    np.testing.assert_allclose(y.detach().numpy()[kept], 1 / (1 - p), rtol=1e-6)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())


def test_dropout_masks_repeat_under_a_seed_and_agree_on_both_paths(monkeypatch):
    x = numtorch.randn(SHAPE)
    masks = []
    for enabled in (True, False):
        monkeypatch.setattr(_jit, "ENABLED", enabled)
        numtorch.manual_seed(7)
        masks.append(numtorch.nn.functional.dropout(x, 0.3).numpy())
    np.testing.assert_array_equal(masks[0], masks[1])
    numtorch.manual_seed(8)
    assert not np.array_equal(masks[0], numtorch.nn.functional.dropout(x, 0.3).numpy())


def test_workers_keep_the_callers_error_state(monkeypatch):
    monkeypatch.setattr(_parallel, "threads_for", lambda size, per_thread=None: 2)
    a = np.full(2 * _parallel.LIGHT_PER_THREAD, 3e38, np.float32)  # (a pass that is cut)
    with np.errstate(over="ignore"):
        out = _parallel.binary(np.add, a, a)
    assert np.isinf(out).all()


@pytest.mark.parametrize("shapes", [((64, 4, 64, 64), (1, 1, 64, 64)), ((64, 4, 64, 64), ()),
                                    ((), (64, 4, 64, 64)), ((64, 128), (128, 64, 128)),
                                    ((1100, 1000), (1100, 1000))])
@pytest.mark.parametrize("ufunc", [np.add, np.subtract, np.multiply, np.divide])
def test_large_binary_with_a_scalar_or_leading_broadcast_is_cut_and_gives_the_same_bits(
        monkeypatch, shapes, ufunc):
    gen = np.random.default_rng(3)
    a, b = (np.asarray(gen.standard_normal(s), np.float32) for s in shapes)
    calls = []
    monkeypatch.setattr(_parallel, "threads_for", lambda size, per_thread=None: 2)
    monkeypatch.setattr(_parallel, "run_rows", lambda fn, rows, size, bounds=None, per=None: (
        calls.append(rows), [fn(s, min(rows, s + 7)) for s in range(0, rows, 7)]))
    got = _parallel.binary(ufunc, a, b)
    assert len(calls) == 1
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, ufunc(a, b))


def test_binary_leaves_comparisons_mixed_dtypes_and_inner_broadcasts_whole(monkeypatch):
    monkeypatch.setattr(_parallel, "threads_for", lambda size, per_thread=None: 2)
    monkeypatch.setattr(_parallel, "run_rows", lambda *args, **kw: pytest.fail("cut"))
    a = np.ones((1024, 1024), np.float32)  # (large enough to be cut were it not for the rest)
    assert _parallel.binary(np.greater, a, a).dtype == np.bool_
    assert _parallel.binary(np.add, a, np.ones((), np.float64)).dtype == np.float64
    np.testing.assert_array_equal(_parallel.binary(np.add, a, a[:, :1]), a + a[:, :1])
    np.testing.assert_array_equal(_parallel.binary(np.add, a.T, a.T), a.T + a.T)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_stack_of_small_products_shared_among_threads_gives_the_same_bits(monkeypatch, dtype):
    gen = np.random.default_rng(5)
    a = gen.standard_normal((256, 64, 32)).astype(dtype)
    b = gen.standard_normal((256, 64, 32)).astype(dtype).transpose(0, 2, 1)
    calls = []
    monkeypatch.setattr(_parallel, "threads_for", lambda size, per_thread=None: 2)
    monkeypatch.setattr(_parallel, "run_rows", lambda fn, rows, size, bounds=None: (
        calls.append(bounds), [fn(s, e) for s, e in bounds]))
    got = _parallel.stacked_matmul(a, b, np.matmul)
    assert len(calls) == 1 and len(calls[0]) == 8
    np.testing.assert_array_equal(got, np.matmul(a, b))


@pytest.mark.parametrize("shape", [(4096, 384), (1000, 65), (7, 16)])
def test_bias_gradient_row_sums_are_the_same_bits_on_any_thread_count(monkeypatch, shape):
    g = np.random.default_rng(4).standard_normal(shape).astype(np.float32)
    results = []
    for threads in (1, 2):
        monkeypatch.setattr(_parallel, "threads_for", lambda size, per_thread=None, t=threads: t)
        results.append(_parallel.row_sums(g))
    np.testing.assert_array_equal(results[0], results[1])
    assert results[0].shape == (shape[1],) and results[0].dtype == np.float32
    np.testing.assert_allclose(results[0], g.astype(np.float64).sum(0), rtol=1e-5, atol=1e-4)


def test_two_stacks_of_small_products_are_one_job_with_the_same_bits(monkeypatch):
    gen = np.random.default_rng(6)
    g = gen.standard_normal((256, 64, 64)).astype(np.float32)
    v = gen.standard_normal((256, 64, 32)).astype(np.float32)
    w = gen.standard_normal((256, 64, 32)).astype(np.float32)
    calls = []
    monkeypatch.setattr(_parallel, "threads_for", lambda size, per_thread=None: 2)
    monkeypatch.setattr(_parallel, "run_rows", lambda fn, rows, size, bounds=None: (
        calls.append(len(bounds)), [fn(s, e) for s, e in bounds]))
    pairs = [(g, v), (g.transpose(0, 2, 1), w), (v[:2], w[:2].transpose(0, 2, 1))]
    got = _parallel.stacked_matmuls(pairs, np.matmul)
    assert calls == [16]
    for (a, b), out in zip(pairs, got):
        np.testing.assert_array_equal(out, np.matmul(a, b))


def _heads(lib, a, used=3):
    """Attention's head split: a packed (N, L, 3, H, E) projection unbound into three
    (N, H, L, E) views, combined element-wise and flattened (a reshape that copies)."""
    q, k, v = (t.permute(0, 2, 1, 3) for t in a.unbind(2))
    mixed = q * 2 + k * v if used == 3 else q * k
    return mixed.reshape(mixed.shape[0] * mixed.shape[1], -1)


@pytest.mark.parametrize("used", [3, 2])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_large_unbind_and_copying_reshape_match_torch_on_one_or_two_threads(
        monkeypatch, dtype, used):
    torch = pytest.importorskip("torch")
    gen = np.random.default_rng(8)
    x = gen.standard_normal((16, 64, 3, 4, 64))
    g = gen.standard_normal((64, 4096))
    copies = []
    real_copy = _parallel.copy
    monkeypatch.setattr(_parallel, "copy", lambda dst, src: (
        copies.append(dst.shape), real_copy(dst, src))[1])
    results = []
    for threads in (1, 2):
        monkeypatch.setattr(_parallel, "threads_for", lambda size, per_thread=None, t=threads: t)
        results.append(_run(lambda lib, a: _heads(lib, a, used), x, g, dtype))
    assert copies, "the reshape copied through _parallel.copy"
    for got, again in zip(*results):
        np.testing.assert_array_equal(got, again)
    a = torch.tensor(x.astype(dtype), requires_grad=True)
    y = _heads(torch, a, used)
    y.backward(torch.tensor(g.astype(dtype)))
    tol = 1e-6 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(results[0][0], y.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(results[0][1], a.grad.numpy(), rtol=tol, atol=tol)
    assert results[0][1].dtype == np.dtype(dtype)


@pytest.mark.parametrize("shape", [(64, 4, 64, 32), (3, 200, 700), (1 << 19,)])
def test_parallel_copy_of_a_permuted_or_broadcast_array_gives_the_same_array(monkeypatch,
                                                                           shape):
    gen = np.random.default_rng(9)
    src = gen.standard_normal(shape[::-1]).astype(np.float32).T  # every stride reversed
    monkeypatch.setattr(_parallel, "threads_for", lambda size, per_thread=None: 2)
    got = _parallel.contiguous(src)
    assert got.flags.c_contiguous
    np.testing.assert_array_equal(got, src)
    row = src[:1]
    dst = np.empty(shape, np.float32)
    assert _parallel.copy(dst, row) is dst
    np.testing.assert_array_equal(dst, np.broadcast_to(row, shape))


@pytest.mark.parametrize("enabled", [False, True])
def test_sigmoid_tails_match_torch(monkeypatch, enabled):
    """Where exp(-x) overflows or underflows, nan and infinities: PyTorch's values and
    gradients (the compiled path flushes results below float32's smallest normal to 0)."""
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(_jit, "ENABLED", enabled)
    x = np.array([-np.inf, -1e4, -104.0, -88.5, -87.5, -20.0, -1e-30, -0.0, 0.0, 3e-8, 15.0,
                  17.0, 87.5, 89.0, 1e4, np.inf, np.nan] * 4000, np.float32)
    g = np.linspace(-2, 2, x.size).astype(np.float32)
    mine, mine_grad = _run(lambda lib, a: lib.sigmoid(a), x, g)
    a = torch.tensor(x, requires_grad=True)
    want = torch.sigmoid(a)
    want.backward(torch.tensor(g))
    np.testing.assert_allclose(mine, want.detach().numpy(), rtol=3e-7, atol=1.2e-38)
    np.testing.assert_allclose(mine_grad, a.grad.numpy(), rtol=1e-6, atol=1.2e-38)
