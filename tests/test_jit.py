"""The optional compiled kernels (numba) against the NumPy paths and PyTorch, and the fallback
to NumPy when numba is missing, broken or switched off."""

import os
import subprocess
import sys
import types

import numpy as np
import pytest
from conftest import skip_without_numba

from numtorch.ops import _jit
from numtorch.ops import conv as conv_ops

GEOMETRIES = [
    # (N, C, H, W), (kh, kw), stride, dilation
    ((2, 3, 9, 8), (3, 3), (1, 1), (1, 1)),
    ((2, 3, 9, 8), (5, 2), (1, 1), (1, 1)),
    ((2, 3, 11, 10), (3, 3), (2, 3), (1, 1)),
    ((2, 3, 11, 10), (3, 2), (1, 1), (2, 3)),
    ((1, 2, 12, 13), (2, 3), (3, 2), (2, 2)),
    ((3, 1, 5, 5), (1, 1), (2, 2), (1, 1)),
]


def _geometry(shape, kernel, stride, dilation):
    ho = (shape[2] - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1
    wo = (shape[3] - dilation[1] * (kernel[1] - 1) - 1) // stride[1] + 1
    return ho, wo


@pytest.fixture
def jit(monkeypatch):
    skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", True)
    kernels = _jit.kernels(np.empty(1, np.float32))
    assert kernels is not None
    return kernels


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,kernel,stride,dilation", GEOMETRIES)
def test_im2col_and_col2im_match_numpy(jit, shape, kernel, stride, dilation, dtype):
    rng = np.random.default_rng(0)
    xp = rng.standard_normal(shape).astype(dtype)
    ho, wo = _geometry(shape, kernel, stride, dilation)
    geom = (*kernel, *stride, *dilation, ho, wo)
    reference = np.ascontiguousarray(conv_ops.windows(xp, *geom))
    cols = np.full(reference.shape, np.nan, dtype)
    jit.im2col(xp, cols, *stride, *dilation)
    np.testing.assert_array_equal(cols, reference)

    # col2im is the adjoint of im2col: scatter-add a random gradient of the columns, then
    # compare with the slice-add loop written directly in NumPy
    g = rng.standard_normal(reference.shape).astype(dtype)
    out = np.zeros(shape, dtype)
    jit.col2im(g, out, *stride, *dilation)
    expected = np.zeros(shape, dtype)
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            hi, wj = i * dilation[0], j * dilation[1]
            expected[:, :, hi:hi + stride[0] * (ho - 1) + 1:stride[0],
                     wj:wj + stride[1] * (wo - 1) + 1:stride[1]] += g[:, :, i, j]
    np.testing.assert_allclose(out, expected, rtol=1e-6 if dtype == np.float32 else 1e-12,
                               atol=1e-6 if dtype == np.float32 else 1e-12)


def test_non_contiguous_input(jit):
    rng = np.random.default_rng(1)
    xp = rng.standard_normal((3, 2, 9, 10)).transpose(1, 0, 2, 3)  # (2, 3, 9, 10), strided
    cols = np.empty((2, 3, 3, 3, 7, 8))
    jit.im2col(xp, cols, 1, 1, 1, 1)
    np.testing.assert_array_equal(cols, conv_ops.windows(xp, 3, 3, 1, 1, 1, 1, 7, 8))


def test_other_dtypes_and_switch_fall_back_to_numpy(monkeypatch):
    monkeypatch.setattr(_jit, "ENABLED", True)
    assert _jit.kernels(np.empty(1, np.float16)) is None
    assert _jit.kernels(np.empty(1, np.float32), np.empty(1, np.int64)) is None
    monkeypatch.setattr(_jit, "ENABLED", False)
    assert _jit.kernels(np.empty(1, np.float32)) is None


def test_a_broken_numba_falls_back_to_numpy(monkeypatch):
    # e.g. a numba built for another NumPy raises on import; here: a module without njit
    monkeypatch.setitem(sys.modules, "numba", types.ModuleType("numba"))
    monkeypatch.setattr(_jit, "_kernels", None)
    monkeypatch.setattr(_jit, "unavailable_reason", None)
    monkeypatch.setattr(_jit, "ENABLED", True)
    assert _jit.kernels(np.empty(1, np.float32)) is None
    assert "AttributeError" in _jit.unavailable_reason
    import numtorch

    x = numtorch.randn(2, 3, 6, 6, requires_grad=True)  # the NumPy path still serves
    numtorch.nn.functional.conv2d(x, numtorch.randn(4, 3, 3, 3)).sum().backward()
    assert x.grad.shape == (2, 3, 6, 6)


def test_environment_variable_turns_the_kernels_off():
    code = ("import numtorch.ops._jit as j, numpy as np; "
            "print(j.ENABLED, j.kernels(np.empty(1, np.float32)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "NUMTORCH_JIT": "0"}, check=True)
    assert out.stdout.split() == ["False", "None"]


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("enabled", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relu_large_tensors_match_torch(monkeypatch, enabled, dtype, workers):
    torch = pytest.importorskip("torch")
    import numtorch
    from numtorch.ops import elementwise

    if enabled:
        skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", enabled)
    # runs of 4096 elements (the last one short), shared among that many threads
    monkeypatch.setattr(elementwise, "_RELU_RUN", 4096)
    monkeypatch.setattr(elementwise, "_RELU_BACKWARD_RUN", 4096)
    monkeypatch.setattr(numtorch._threads, "_requested", workers)
    monkeypatch.setattr(numtorch._threads, "workers", lambda: workers)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 5000)).astype(dtype)  # above the compiled kernels' size floor
    x[0, :4] = [np.nan, -0.0, 0.0, -np.inf]
    g = rng.standard_normal(x.shape).astype(dtype)
    results = []
    for lib in (numtorch, torch):
        xt = lib.tensor(x, requires_grad=True)
        out = lib.relu(xt * 1)  # a non-leaf, so the in-place form below is allowed
        out.backward(lib.tensor(g))
        y = (xt * 1).relu_()
        results.append((out.detach().numpy(), xt.grad.numpy(), y.detach().numpy()))
    for mine, theirs in zip(*results):
        np.testing.assert_array_equal(mine, theirs)


def _sgd_run(lib, dtype, steps=15, **kw):
    rng = np.random.default_rng(3)
    p = lib.nn.Parameter(lib.tensor(rng.standard_normal((90, 70)).astype(dtype)))
    opt = lib.optim.SGD([p], lr=0.05, **kw)
    for _ in range(steps):
        p.grad = lib.tensor(rng.standard_normal((90, 70)).astype(dtype))
        opt.step()
    return p.detach().numpy().copy()


@pytest.mark.parametrize("kw", [dict(momentum=0.9), dict(momentum=0.9, weight_decay=5e-4),
                                dict(), dict(weight_decay=0.01)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_sgd_momentum_equals_numpy_path_and_torch(monkeypatch, dtype, kw):
    import numtorch

    skip_without_numba()
    monkeypatch.setattr(_jit, "ENABLED", True)
    calls = []
    kernels = _jit.kernels(np.zeros(1, dtype))
    name = "sgd_momentum" if kw.get("momentum") else "sgd"
    fn = getattr(kernels, name)
    monkeypatch.setattr(kernels, name, lambda *a: calls.append(1) or fn(*a))
    fused = _sgd_run(numtorch, dtype, **kw)
    assert calls  # the compiled update ran
    monkeypatch.setattr(_jit, "ENABLED", False)
    plain = _sgd_run(numtorch, dtype, **kw)
    np.testing.assert_array_equal(fused, plain)  # same rounding, operation by operation
    torch = pytest.importorskip("torch")
    np.testing.assert_allclose(fused, _sgd_run(torch, dtype, **kw),
                               rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-6)


@pytest.mark.parametrize("kw", [dict(momentum=0.9, nesterov=True),
                                dict(momentum=0.9, dampening=0.3),
                                dict(momentum=0.9, weight_decay=0.01, maximize=True)])
def test_sgd_variants_unchanged_with_kernels_on(monkeypatch, kw):
    import numtorch

    monkeypatch.setattr(_jit, "ENABLED", True)
    on = _sgd_run(numtorch, "float64", **kw)
    monkeypatch.setattr(_jit, "ENABLED", False)
    np.testing.assert_array_equal(on, _sgd_run(numtorch, "float64", **kw))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_erf_family_equal_on_both_paths(monkeypatch, dtype):
    import numtorch
    import numtorch.nn.functional as F
    import numtorch.special as special

    skip_without_numba()
    rng = np.random.default_rng(4)
    a = (rng.standard_normal(3000) * 4).astype(dtype)
    a[:3] = [np.nan, np.inf, -np.inf]
    p = np.clip(rng.standard_normal(3000) * 0.4, -0.99, 0.99).astype(dtype)

    def run():
        x = numtorch.tensor(a)
        return [x.erf().numpy(), special.erfc(x).numpy(), F.gelu(x).numpy(),
                special.log_ndtr(x).numpy(), numtorch.tensor(p).erfinv().numpy()]

    monkeypatch.setattr(_jit, "ENABLED", True)
    compiled = run()
    monkeypatch.setattr(_jit, "ENABLED", False)
    for i, (c, v) in enumerate(zip(compiled, run())):
        if i == 2 and dtype == "float32":
            # float32 gelu: the same erfc fit, compiled (ops._fused) or as NumPy passes, with
            # exp(poly - z*z) split in two on the compiled path: equal to a few ulp
            np.testing.assert_allclose(c, v, rtol=4e-6, atol=1e-9)
        else:
            np.testing.assert_array_equal(c, v)  # both are libm's erf/erfc, rounded alike


def _ulps_apart(a, b):
    """How many float32 steps lie between ``a`` and ``b`` (elementwise, finite or inf)."""
    def ordered(v):
        i = v.view(np.int32).astype(np.int64)
        return np.where(i < 0, -(i & 0x7FFFFFFF), i)

    return np.abs(ordered(a) - ordered(b))


def test_float32_log1p_within_one_ulp_and_its_special_values(jit):
    """The compiled float32 log1p against float64 log1p rounded to float32: a sweep of bit
    patterns from the smallest subnormal to the largest float and down to -1, and the values
    where its parts change (the rounding of 1 + x, the mantissa split at sqrt(1/2))."""
    sweep = np.arange(1, 0x7F800000, 997, dtype=np.uint32).view(np.float32)
    negative = -sweep[sweep < 1]
    special = np.array([0.0, -0.0, -1.0, -1.0 + 2**-24, -0.5, np.sqrt(0.5) - 1,
                        np.sqrt(2) - 1, 2**-24, -(2**-25), 2**-30, 1e-38, 1.0, 3.0, 2.0**127,
                        np.finfo(np.float32).max, np.inf], np.float32)
    x = np.concatenate([sweep, negative, special])
    out = np.empty_like(x)
    jit.log1p32(x, out)
    with np.errstate(divide="ignore"):  # (log1p(-1))
        expected = np.log1p(x.astype(np.float64)).astype(np.float32)
    assert _ulps_apart(out, expected).max() <= 1
    assert np.mean(out == expected) > 0.9999
    assert np.array_equal(np.signbit(out[x == 0]), np.signbit(x[x == 0]))
    below = np.array([-1.0000001, -2.0, -np.inf, np.nan], np.float32)
    jit.log1p32(below, out[:4])
    assert np.isnan(out[:4]).all()


@pytest.mark.parametrize("enabled", [False, True])
def test_float32_log1p_users_match_torch(monkeypatch, enabled, jit):
    """log1p, softplus, logsigmoid, binary cross entropy (with and without logits) on float32:
    forward and gradients as PyTorch's, on the compiled log1p and on NumPy's."""
    torch = pytest.importorskip("torch")
    import numtorch

    monkeypatch.setattr(_jit, "ENABLED", enabled)
    rng = np.random.default_rng(5)
    z = (rng.standard_normal((64, 50)) * 6).astype(np.float32)
    p = 1 / (1 + np.exp(-z))
    t = rng.random(z.shape).astype(np.float32)
    u = np.abs(z) - 0.9

    def run(lib, fn_of):
        xs = [lib.tensor(v, requires_grad=True) for v in (z, p, u, t)]
        outs = fn_of(lib, *xs)
        sum(o.sum() for o in outs).backward()
        return [o.detach().numpy() for o in outs] + [x.grad.numpy() for x in xs]

    def fns(lib, z_, p_, u_, t_):  # (the target's gradient too: BCE's uses log1p)
        nf = lib.nn.functional
        return [lib.log1p(u_.clamp(min=-0.999)), nf.softplus(z_), nf.logsigmoid(z_),
                nf.binary_cross_entropy(p_, t_),
                nf.binary_cross_entropy_with_logits(z_, t_)]

    for mine, theirs in zip(run(numtorch, fns), run(torch, fns)):
        np.testing.assert_allclose(mine, theirs, rtol=2e-6, atol=1e-6)
