"""torch.fft against torch: values, dtypes, shapes, norms, n/s resizing, errors, gradients for
real and complex inputs (PyTorch's conjugate convention) and second derivatives; and
view_as_real / view_as_complex / conj."""

import numpy as np
import pytest

import numtorch

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
REAL = RNG.standard_normal((3, 4, 6))
CPLX = RNG.standard_normal((3, 4, 6)) + 1j * RNG.standard_normal((3, 4, 6))


def _run(lib, name, data, kwargs, dtype):
    x = lib.tensor(data.astype(dtype), requires_grad=True)
    y = getattr(lib.fft, name)(x, **kwargs)
    # a real loss reading real and imaginary parts with different weights
    w = np.linspace(-1, 1, int(np.prod(y.shape))).reshape(tuple(y.shape))
    parts = lib.view_as_real(y.resolve_conj()) if y.is_complex() else y.unsqueeze(-1)
    ww = np.stack([w, 0.5 * w + 0.25], -1)[..., :parts.shape[-1]]
    loss = (parts * lib.tensor(ww.astype(parts.detach().numpy().dtype))).sum()
    loss.backward()
    return y, x.grad


CASES = [
    ("fft", {}), ("fft", {"n": 8}), ("fft", {"n": 3, "dim": 1, "norm": "ortho"}),
    ("ifft", {}), ("ifft", {"norm": "forward", "dim": 0}), ("fft2", {}),
    ("ifft2", {"s": (5, 4), "norm": "ortho"}), ("fftn", {}), ("fftn", {"s": (2, 7)}),
    ("ifftn", {"dim": (0, 2), "norm": "forward"}),
    ("rfft", {}), ("rfft", {"n": 7, "norm": "ortho"}), ("rfft2", {}), ("rfftn", {"dim": (0, 1)}),
    ("irfft", {}), ("irfft", {"n": 9}), ("irfft", {"n": 4, "dim": 1, "norm": "forward"}),
    ("irfft2", {}), ("irfftn", {"s": (3, 5)}), ("irfftn", {"norm": "ortho"}),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_fft_matches_torch(name, kwargs, dtype):
    inputs = [REAL] if name.startswith("r") else [REAL, CPLX]
    cdtype = np.complex128 if dtype is np.float64 else np.complex64
    tol = dict(rtol=1e-10, atol=1e-10) if dtype is np.float64 else dict(rtol=1e-4, atol=1e-4)
    for data in inputs:
        d = dtype if np.isrealobj(data) else cdtype
        yn, gn = _run(numtorch, name, data, kwargs, d)
        yt, gt = _run(torch, name, data, kwargs, d)
        assert str(yn.dtype) == str(yt.dtype) and tuple(yn.shape) == tuple(yt.shape)
        np.testing.assert_allclose(yn.detach().numpy(), yt.detach().resolve_conj().numpy(), **tol)
        assert str(gn.dtype) == str(gt.dtype)
        np.testing.assert_allclose(gn.numpy(), gt.numpy(), **tol)
        assert type(yn.grad_fn).__name__ == type(yt.grad_fn).__name__


@pytest.mark.parametrize("name,kwargs", [("fft", {}), ("rfft", {}), ("irfft", {"n": 6}),
                                         ("fft2", {"norm": "ortho"})])
def test_fft_second_derivatives_match_torch(name, kwargs):
    out = {}
    for lib in (numtorch, torch):
        x = lib.tensor(REAL[0], requires_grad=True)
        if name == "irfft":
            x = lib.tensor(CPLX[0, :, :4], requires_grad=True)
        y = getattr(lib.fft, name)(x, **kwargs)
        parts = lib.view_as_real(y) if y.is_complex() else y
        loss = (parts ** 3).sum()
        (g,) = lib.autograd.grad(loss, x, create_graph=True)
        gp = lib.view_as_real(g) if g.is_complex() else g
        (gg,) = lib.autograd.grad((gp ** 2).sum(), x)
        out[lib.__name__] = (g.detach().numpy(), gg.numpy())
    for a, b in zip(out["numtorch"], out["torch"]):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


def test_integer_input_and_freq_helpers_match_torch():
    for lib_n, lib_t in ((numtorch, torch),):
        np.testing.assert_allclose(lib_n.fft.fft(lib_n.arange(4)).numpy(),
                                   lib_t.fft.fft(lib_t.arange(4)).numpy())
        assert str(lib_n.fft.fft(lib_n.arange(4)).dtype) == "torch.complex64"
    for n in (1, 4, 5):
        for d in (1.0, 0.5):
            for fn in ("fftfreq", "rfftfreq"):
                a = getattr(numtorch.fft, fn)(n, d)
                b = getattr(torch.fft, fn)(n, d)
                assert str(a.dtype) == str(b.dtype)
                np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-7)
    assert numtorch.fft.fftfreq(4, dtype=numtorch.float64).dtype is numtorch.float64
    for shape, dim in (((6,), None), ((5,), None), ((2, 3), 1), ((4, 5), (0, 1))):
        x = np.arange(int(np.prod(shape))).reshape(shape)
        for fn in ("fftshift", "ifftshift"):
            assert getattr(numtorch.fft, fn)(numtorch.tensor(x), dim=dim).tolist() == getattr(
                torch.fft, fn)(torch.tensor(x), dim=dim).tolist()


def _outcome(fn, *args, **kwargs):
    try:
        return ("ok", tuple(fn(*args, **kwargs).shape))
    except Exception as e:  # noqa: BLE001  (class and message are compared)
        return (type(e).__name__, str(e))


@pytest.mark.parametrize("name,data,kwargs", [
    ("fft", "real", {"norm": "xyz"}), ("rfft", "complex", {}), ("fft", "real", {"n": 0}),
    ("fft", "real", {"dim": 3}), ("fftn", "real", {"s": (4, 5), "dim": (0,)}),
    ("irfft", "complex", {"n": 0})])
def test_fft_errors_match_torch(name, data, kwargs):
    arr = REAL[0] if data == "real" else CPLX[0]
    assert _outcome(getattr(numtorch.fft, name), numtorch.tensor(arr), **kwargs) == _outcome(
        getattr(torch.fft, name), torch.tensor(arr), **kwargs)


def test_view_as_real_complex_and_conj():
    z = CPLX[0].astype(np.complex64)
    for lib in (numtorch, torch):
        t = lib.tensor(z, requires_grad=True)
        r = lib.view_as_real(t)
        assert tuple(r.shape) == (4, 6, 2) and str(r.dtype) == "torch.float32"
        back = lib.view_as_complex(r)
        weights = lib.tensor(np.arange(48.0, dtype=np.float32).reshape(4, 6, 2))
        (lib.view_as_real(back.conj().resolve_conj()) * weights).sum().backward()
        if lib is numtorch:
            gn = t.grad.numpy()
        else:
            gt = t.grad.numpy()
    np.testing.assert_allclose(gn, gt)
    assert _outcome(numtorch.view_as_real, numtorch.ones(2)) == _outcome(torch.view_as_real,
                                                                         torch.ones(2))
    assert _outcome(numtorch.view_as_complex, numtorch.ones(2, 3)) == _outcome(
        torch.view_as_complex, torch.ones(2, 3))
