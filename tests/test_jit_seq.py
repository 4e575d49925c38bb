"""The compiled sequence-model kernels' own arithmetic (ops/_jit_native.py, ops/_jit_seq.py):
the vectorised float32 exp and tanh, the product from a packed weight and the direct
convolution's products of shifted runs (``tap_product``, ``tap_panel_product``) against
NumPy's in float64, and the compiled log-softmax against PyTorch, special values included."""

import numpy as np
import pytest

import numtorch

torch = pytest.importorskip("torch")


def _kernels_or_skip():
    pytest.importorskip("numba")
    from numtorch.ops import _jit_seq
    kern = _jit_seq.kernels(np.zeros(1, np.float32))
    if kern is None:
        pytest.skip("compiled kernels are off")
    return kern


def _compiled_unary(name):
    import numba

    from numtorch.ops import _jit_native as nat
    fn = getattr(nat, name)

    @numba.njit(error_model="numpy")
    def run(x, out):
        for i in range(x.shape[0]):
            out[i] = fn(x[i])

    return run


@pytest.mark.parametrize("name", ["exp", "tanh", "sigmoid"])
def test_float32_math_within_two_ulp(name):
    _kernels_or_skip()
    x = np.concatenate([np.linspace(-100, 100, 200_001), np.linspace(-1, 1, 20_001),
                        [0.0, -0.0, 1e-30, -1e-30, 88.7, -87.3, 89.0, -90.0]]).astype(np.float32)
    out = np.empty_like(x)
    _compiled_unary(name)(x, out)
    x64 = x.astype(np.float64)
    with np.errstate(over="ignore"):
        exact = {"exp": np.exp, "tanh": np.tanh,
                 "sigmoid": lambda v: 1 / (1 + np.exp(-v))}[name](x64)
    f32 = np.finfo(np.float32)
    # float32 results of normal size (below, exp flushes to 0)
    normal = (np.abs(exact) >= f32.tiny) & (np.abs(exact) <= f32.max) | (exact == 0)
    ulp = np.spacing(np.abs(exact[normal]).astype(np.float32)).astype(np.float64)
    err = np.abs(out[normal] - exact[normal]) / np.maximum(ulp, f32.smallest_subnormal)
    assert err.max() <= 2.0
    if name == "exp":
        assert np.isposinf(out[x > 88.8]).all()
        assert (out[x < -104.0] == 0).all()


def _ulps_apart(a, b):
    """Distance in units in the last place between float32 arrays (ordered bit patterns)."""
    def key(v):
        i = v.view(np.int32).astype(np.int64)
        return np.where(i < 0, -(i & 0x7FFFFFFF), i)
    return np.abs(key(a) - key(b))


def test_float32_exp_within_one_ulp_at_every_edge():
    # every float32 around overflow (the largest finite result at 88.72283) and through the
    # subnormal results down to 0 (below -103.97), and a sample of all bit patterns: within one
    # unit in the last place of e**x computed in float64 and rounded to float32
    _kernels_or_skip()
    x = np.concatenate([
        np.arange(np.float32(88.0).view(np.int32), np.float32(89.0).view(np.int32),
                  dtype=np.int32).view(np.float32),
        -np.arange(np.float32(86.5).view(np.int32), np.float32(104.5).view(np.int32),
                   dtype=np.int32).view(np.float32),
        np.random.default_rng(0).integers(0, 2**32, 1_000_000, dtype=np.uint32)
        .view(np.float32),
        np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 1e-45, -1e-45], np.float32)])
    out = np.empty_like(x)
    _compiled_unary("exp")(x, out)
    with np.errstate(over="ignore", invalid="ignore"):  # random bits hold signalling nans
        want = np.exp(x.astype(np.float64)).astype(np.float32)
    nan = np.isnan(want)
    np.testing.assert_array_equal(np.isnan(out), nan)
    assert _ulps_apart(out[~nan], want[~nan]).max() <= 1
    top = np.float32(88.72283)
    assert np.isfinite(out[x == top]).all() and out[x == top][0] > np.float32(3.4e38)
    assert np.isposinf(out[x == np.nextafter(top, np.float32(np.inf))]).all()
    subnormal = (x > -103.9) & (x < -87.4)
    assert (out[subnormal] > 0).all() and (out[subnormal] < np.finfo(np.float32).tiny).all()
    assert (out[x < np.float32(-103.98)] == 0).all()


def test_float32_math_special_values():
    _kernels_or_skip()
    x = np.array([np.nan, np.inf, -np.inf], np.float32)
    for name, want in [("exp", [np.nan, np.inf, 0.0]), ("tanh", [np.nan, 1.0, -1.0]),
                       ("sigmoid", [np.nan, 1.0, 0.0])]:
        out = np.empty_like(x)
        _compiled_unary(name)(x, out)
        np.testing.assert_array_equal(out, np.array(want, np.float32))


def _compiled_panel_product():
    import numba

    from numtorch.ops import _jit_native as nat

    @numba.njit
    def pack(b, panels):
        nat.pack_panels(b, panels)

    @numba.njit
    def product(a, panels, c):
        nat.panel_product(a, panels, c)

    return nat, pack, product


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m, k, n", [(20, 256, 512), (1, 3, 5), (2, 9, 33), (5, 1, 16), (6, 9, 17),
                                     (7, 40, 8), (13, 17, 37), (64, 33, 48), (11, 0, 9),
                                     (0, 4, 16), (3, 5, 0), (500, 300, 20), (1000, 70, 40)])
def test_panel_product_matches_numpy(dtype, m, k, n):
    """Blocks of one to six rows, full panels and a last panel partly filled, an empty inner
    dimension (zeros) and empty results, rows in several chunks of 128 KiB; the columns past
    ``n`` untouched."""
    _kernels_or_skip()
    nat, pack, product = _compiled_panel_product()
    rng = np.random.default_rng(m * 1000 + k * 10 + n)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    panels = np.full(nat.panels_shape(k, n, dtype), np.nan, dtype)
    pack(b, panels)
    assert panels.shape[2] == 64 // np.dtype(dtype).itemsize
    if n % panels.shape[2]:
        assert (panels[-1, :, n % panels.shape[2]:] == 0).all()
    wide = np.full((m, n + 3), 7.0, dtype)
    product(a, panels, wide[:, :n])
    want = a.astype(np.float64) @ b.astype(np.float64)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(wide[:, :n], want, rtol=tol, atol=tol * max(k, 1))
    assert (wide[:, n:] == 7.0).all()


def test_panel_product_strided_operands():
    """A transposed weight (a column-major ``b``) and rows of ``a`` and ``c`` that are views
    into wider arrays (the LSTM backward's column block of the hidden gradient)."""
    _kernels_or_skip()
    nat, pack, product = _compiled_panel_product()
    rng = np.random.default_rng(3)
    w = rng.standard_normal((40, 24)).astype(np.float32)  # b = w.T: (24, 40), column-major
    a_wide = rng.standard_normal((9, 30)).astype(np.float32)
    panels = np.empty(nat.panels_shape(24, 40, np.float32), np.float32)
    pack(w.T, panels)
    out = np.zeros((9, 100), np.float32)
    product(a_wide[:, 3:27], panels, out[:, 50:90])
    want = a_wide[:, 3:27].astype(np.float64) @ w.T.astype(np.float64)
    np.testing.assert_allclose(out[:, 50:90], want, rtol=1e-5, atol=1e-5)
    assert (out[:, :50] == 0).all() and (out[:, 90:] == 0).all()


def test_panel_product_rejects_mismatched_shapes_and_strided_rows():
    _kernels_or_skip()
    nat, pack, product = _compiled_panel_product()
    panels = np.zeros(nat.panels_shape(4, 16, np.float32), np.float32)
    with pytest.raises(ValueError, match="shapes"):
        product(np.zeros((2, 5), np.float32), panels, np.zeros((2, 16), np.float32))
    with pytest.raises(ValueError, match="shapes"):
        product(np.zeros((2, 4), np.float32), panels, np.zeros((2, 17), np.float32))
    with pytest.raises(ValueError, match="contiguous"):
        product(np.zeros((2, 8), np.float32)[:, ::2], panels, np.zeros((2, 16), np.float32))
    with pytest.raises(ValueError, match="pack_panels"):  # panels of float64's width
        product(np.zeros((2, 4), np.float32), np.zeros((2, 4, 8), np.float32),
                np.zeros((2, 16), np.float32))


def _compiled_tap_product():
    import numba

    from numtorch.ops import _jit_native as nat

    @numba.njit
    def product(planes, offsets, weights, out):
        nat.tap_product(planes, offsets, weights, out)

    return product


def _taps_want(planes, offsets, weights, length):
    want = np.zeros((weights.shape[1], length))
    for t, off in enumerate(offsets):
        want += np.outer(weights[t].astype(np.float64), planes[off:off + length])
    return want


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("o, taps, blocks", [(1, 1, 1), (2, 9, 3), (5, 27, 2), (6, 4, 1),
                                              (7, 25, 2), (13, 144, 4), (16, 9, 1), (33, 3, 2),
                                              (4, 0, 1), (0, 5, 1)])
def test_tap_product_matches_numpy(dtype, o, taps, blocks):
    """Blocks of one to six output rows (rows not a multiple of six cut as evenly as they
    come), several blocks of positions, offsets in any order and repeated, no taps (zeros), no
    rows; the positions past the rows' length untouched."""
    _kernels_or_skip()
    product = _compiled_tap_product()
    rng = np.random.default_rng(o * 100 + taps)
    length = blocks * 64 // np.dtype(dtype).itemsize
    planes = rng.standard_normal(length + 90).astype(dtype)
    offsets = rng.integers(0, 91, taps).astype(np.int64)
    weights = rng.standard_normal((taps, o)).astype(dtype)
    wide = np.full((o, length + 5), 7.0, dtype)
    product(planes, offsets, weights, wide[:, :length])
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(wide[:, :length], _taps_want(planes, offsets, weights, length),
                               rtol=tol, atol=tol * max(taps, 1))
    assert (wide[:, length:] == 7.0).all()


def test_tap_product_strided_weight_and_rows():
    """A weight whose rows are a view into a wider array, and output rows of a wider array."""
    _kernels_or_skip()
    product = _compiled_tap_product()
    rng = np.random.default_rng(4)
    planes = rng.standard_normal(200).astype(np.float32)
    offsets = np.array([0, 7, 3, 50, 100], np.int64)
    weights = rng.standard_normal((5, 20)).astype(np.float32)[:, 4:15]
    out = np.zeros((11, 80), np.float32)
    product(planes, offsets, weights, out[:, 16:48])
    np.testing.assert_allclose(out[:, 16:48], _taps_want(planes, offsets, weights, 32),
                               rtol=1e-5, atol=1e-5)
    assert (out[:, :16] == 0).all() and (out[:, 48:] == 0).all()


def test_tap_product_rejects_reads_beyond_the_planes_and_bad_shapes():
    """An offset that would read before or past the planes raises instead of reading memory
    that is not theirs; so do mismatched shapes, a length that is not whole blocks and
    strided planes."""
    _kernels_or_skip()
    product = _compiled_tap_product()
    planes = np.zeros(100, np.float32)
    weights = np.zeros((1, 2), np.float32)
    out = np.zeros((2, 32), np.float32)
    for bad in (-1, 69):
        with pytest.raises(ValueError, match="beyond the planes"):
            product(planes, np.array([bad], np.int64), weights, out)
    product(planes, np.array([68], np.int64), weights, out)  # the last run that fits
    with pytest.raises(ValueError, match="shapes"):
        product(planes, np.array([0, 1], np.int64), weights, out)
    with pytest.raises(ValueError, match="shapes"):
        product(planes, np.array([0], np.int64), weights, np.zeros((2, 24), np.float32))
    with pytest.raises(ValueError, match="contiguous"):
        product(np.zeros(200, np.float32)[::2], np.array([0], np.int64), weights, out)


def _compiled_tap_panel_product():
    import numba

    from numtorch.ops import _jit_native as nat

    @numba.njit
    def packed(planes, offsets, b, panels, c):
        nat.pack_panels(b, panels)
        nat.tap_panel_product(planes, offsets, panels, c)

    @numba.njit
    def raw(planes, offsets, panels, c):
        nat.tap_panel_product(planes, offsets, panels, c)

    def product(planes, offsets, b, c):
        panels = np.empty(nat.panels_shape(b.shape[0], b.shape[1], b.dtype), b.dtype)
        packed(planes, offsets, b, panels, c)

    return product, raw


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("taps, n, depth", [(1, 1, 7), (6, 16, 40), (7, 6, 33), (13, 17, 50),
                                            (150, 16, 100), (5, 40, 0), (0, 4, 9), (3, 0, 9)])
def test_tap_panel_product_adds_to_its_output(dtype, taps, n, depth):
    """``c += runs @ b`` for the taps' shifted runs: one to six taps a block, a last panel
    filled in part (its columns past ``n`` untouched), several panels, an empty inner
    dimension (``c`` unchanged), no taps, no columns."""
    _kernels_or_skip()
    product, _ = _compiled_tap_panel_product()
    rng = np.random.default_rng(taps * 1000 + n * 10 + depth)
    planes = rng.standard_normal(depth + 80).astype(dtype)
    offsets = rng.integers(0, 81, taps).astype(np.int64)
    b = rng.standard_normal((depth, n)).astype(dtype)
    wide = rng.standard_normal((taps, n + 3)).astype(dtype)
    before = wide.copy()
    product(planes, offsets, b, wide[:, :n])
    runs = np.array([planes[off:off + depth] for off in offsets], np.float64).reshape(taps, depth)
    want = before[:, :n].astype(np.float64) + runs @ b.astype(np.float64)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(wide[:, :n], want, rtol=tol, atol=tol * max(depth, 1))
    np.testing.assert_array_equal(wide[:, n:], before[:, n:])


def test_tap_panel_product_rejects_reads_beyond_the_planes_and_bad_shapes():
    _kernels_or_skip()
    product, raw = _compiled_tap_panel_product()
    planes = np.zeros(50, np.float32)
    b = np.zeros((20, 3), np.float32)
    c = np.zeros((1, 3), np.float32)
    for bad in (-1, 31):
        with pytest.raises(ValueError, match="beyond the planes"):
            product(planes, np.array([bad], np.int64), b, c)
    product(planes, np.array([30], np.int64), b, c)  # the last run that fits
    with pytest.raises(ValueError, match="shapes"):
        product(planes, np.array([0, 1], np.int64), b, c)
    with pytest.raises(ValueError, match="contiguous"):
        product(np.zeros(100, np.float32)[::2], np.array([0], np.int64), b, c)
    with pytest.raises(ValueError, match="pack_panels"):  # panels of float64's width
        raw(planes, np.array([0], np.int64), np.zeros((1, 20, 8), np.float32), c)


@pytest.mark.parametrize("shape", [(700, 1000), (3, 4, 17), (6, 32), (2, 15), (5, 1)])
def test_compiled_log_softmax_matches_torch(shape):
    _kernels_or_skip()
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 5).astype(np.float32)
    x.reshape(-1, shape[-1])[0, 0] = -np.inf
    if shape[-1] > 1:
        x.reshape(-1, shape[-1])[-1, -1] = 80.0
    g = rng.standard_normal(shape).astype(np.float32)
    nx = numtorch.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    ny = numtorch.nn.functional.log_softmax(nx, -1)
    ty = torch.log_softmax(tx, -1)
    np.testing.assert_allclose(ny.detach().numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-5)
    ny.backward(numtorch.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(nx.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_compiled_log_softmax_same_bits_on_one_and_two_threads(monkeypatch):
    # each row's maximum and sum are the row's own, whichever thread runs it
    _kernels_or_skip()
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((700, 1000)) * 5).astype(np.float32)
    g = rng.standard_normal((700, 1000)).astype(np.float32)
    results = []
    for threads in (1, 2):
        monkeypatch.setattr(numtorch._threads, "_requested", threads)
        monkeypatch.setattr(numtorch._threads, "workers", lambda threads=threads: threads)
        nx = numtorch.tensor(x, requires_grad=True)
        ny = numtorch.nn.functional.log_softmax(nx, 1)
        ny.backward(numtorch.tensor(g))
        results.append((ny.detach().numpy(), nx.grad.numpy()))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_compiled_log_softmax_nan_row():
    _kernels_or_skip()
    x = np.array([[0.0, np.nan, 1.0], [1.0, 2.0, 3.0]], np.float32)
    y = numtorch.nn.functional.log_softmax(numtorch.tensor(x), 1).numpy()
    want = torch.log_softmax(torch.tensor(x), 1).numpy()
    np.testing.assert_array_equal(np.isnan(y), np.isnan(want))
    np.testing.assert_allclose(y[1], want[1], rtol=1e-6)


def test_compiled_log_softmax_keeps_the_log_term_next_to_huge_values():
    # (x - max) - log(sum) must not be reassociated to x - (max + log(sum)): with max near
    # float32's largest value the log term vanishes in the sum and every output read 0
    _kernels_or_skip()
    x = np.array([[3e38, 3e38, 3e38], [3.4e38, 3.4e38, -1.0], [-3e38, 0.0, 1.0]], np.float32)
    nx = numtorch.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    ny = numtorch.nn.functional.log_softmax(nx, 1)
    ty = torch.log_softmax(tx, 1)
    np.testing.assert_allclose(ny.detach().numpy(), ty.detach().numpy(), rtol=1e-6)
    ny.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(nx.grad.numpy(), tx.grad.numpy(), atol=1e-6)


def test_compiled_log_softmax_gradient_keeps_subnormal_exps():
    # exp(y) of log-probabilities between -103.9 and -87.4 is a subnormal float32: the backward
    # g - exp(y) * sum(g) keeps it (within a subnormal step of torch's), as torch does
    _kernels_or_skip()
    x = np.array([[0.0, -88.0, -90.0, -95.0, -100.0, -103.0, -110.0, -1.0]], np.float32)
    g = np.zeros_like(x)
    g[0, 0] = 1.0
    nx = numtorch.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    ny = numtorch.nn.functional.log_softmax(nx, 1)
    ty = torch.log_softmax(tx, 1)
    np.testing.assert_allclose(ny.detach().numpy(), ty.detach().numpy(), rtol=1e-6)
    ny.backward(numtorch.tensor(g))
    ty.backward(torch.tensor(g))
    ours, theirs = nx.grad.numpy()[0], tx.grad.numpy()[0]
    tiny = np.finfo(np.float32).smallest_subnormal
    assert (ours[1:6] < 0).all() and (ours[1:6] > -np.finfo(np.float32).tiny).all()
    np.testing.assert_allclose(ours[1:7], theirs[1:7], rtol=0, atol=2 * tiny)
    np.testing.assert_allclose(ours[[0, 7]], theirs[[0, 7]], rtol=1e-6)
