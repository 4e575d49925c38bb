"""Complex autograd with PyTorch's conjugate convention, against torch."""

import numpy as np
import pytest

import numtorch

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
Z = RNG.standard_normal((3, 3)) + 1j * RNG.standard_normal((3, 3))
W = RNG.standard_normal((3, 3)) + 1j * RNG.standard_normal((3, 3))
G = RNG.standard_normal((3, 3)) + 1j * RNG.standard_normal((3, 3))
R = RNG.standard_normal((3, 3))

OPS = {
    "mul": lambda L, z, w: z * w,
    "mul_scalar": lambda L, z, w: z * (2 + 1j),
    "div": lambda L, z, w: z / w,
    "rdiv": lambda L, z, w: w / z,
    "add_sub_neg": lambda L, z, w: -(z + w) - w,
    "exp": lambda L, z, w: z.exp(),
    "log": lambda L, z, w: z.log(),
    "sin_cos": lambda L, z, w: z.sin() * z.cos(),
    "tan": lambda L, z, w: z.tan(),
    "tanh": lambda L, z, w: z.tanh(),
    "sinh_cosh": lambda L, z, w: z.sinh() + z.cosh(),
    "sqrt": lambda L, z, w: z.sqrt(),
    "rsqrt": lambda L, z, w: z.rsqrt(),
    "reciprocal": lambda L, z, w: z.reciprocal(),
    "pow2": lambda L, z, w: z ** 2,
    "pow_tensor": lambda L, z, w: z ** w,
    "rpow": lambda L, z, w: 2 ** z,
    "abs": lambda L, z, w: z.abs(),
    "sum_mean": lambda L, z, w: z.sum(0) + z.mean(1),
    "matmul": lambda L, z, w: z @ w,
    "mv": lambda L, z, w: z @ w[0],
    "prod": lambda L, z, w: z.prod(0),
    "square": lambda L, z, w: z.square(),
    "expm1_log1p": lambda L, z, w: z.expm1() + z.log1p(),
    "log2_log10": lambda L, z, w: z.log2() + z.log10(),
    "asin_acos_atan": lambda L, z, w: z.asin() + z.acos() + z.atan(),
    "conj": lambda L, z, w: (z.conj() * w).resolve_conj(),
    "real": lambda L, z, w: z.real * 3,
    "imag": lambda L, z, w: z.imag * 3,
    "angle": lambda L, z, w: z.angle(),
    "sgn": lambda L, z, w: z.sgn(),
    "view_as_real": lambda L, z, w: L.view_as_real(z) * 2,
    "view_as_complex": lambda L, z, w: L.view_as_complex(L.view_as_real(z) * 2),
    "polar": lambda L, z, w: L.polar(z.abs(), w.angle()),
    "einsum": lambda L, z, w: L.einsum("ij,jk->ik", z, w),
    "dot_outer": lambda L, z, w: L.outer(z[0], w[0]) * L.dot(z[1], w[1]),
    "linear": lambda L, z, w: L.nn.functional.linear(z, w),
    "where": lambda L, z, w: L.where(z.real > 0, z, w),
    "addcmul": lambda L, z, w: L.addcmul(z, z, w),
    "lerp": lambda L, z, w: L.lerp(z, w, 0.3),
    "shape_ops": lambda L, z, w: L.cat([z.t(), w]).reshape(2, 9).flip(0)[:, 1:],
    "cumsum_tril": lambda L, z, w: z.cumsum(0).tril(),
    "masked_fill": lambda L, z, w: z.masked_fill(z.real > 0, 0),
    "real_times_complex": lambda L, z, w: L.tensor(R, requires_grad=True) * z,
    "sigmoid": lambda L, z, w: z.sigmoid(),
    "norm": lambda L, z, w: z.norm() + z.norm(dim=1).sum() + z.norm(p=1),
    "var_std": lambda L, z, w: z.var(1, keepdim=True) + z.std(0),
}


def _run(lib, f):
    z = lib.tensor(Z, requires_grad=True)
    w = lib.tensor(W, requires_grad=True)
    y = f(lib, z, w)
    gd = np.resize(G.reshape(-1), y.numel()).reshape(tuple(y.shape))
    g = lib.tensor(gd if y.is_complex() else gd.real)
    grads = lib.autograd.grad(y, [z, w], g, allow_unused=True)
    return [y.detach()] + [x for x in grads]


@pytest.mark.parametrize("name", sorted(OPS))
def test_values_and_gradients_match_torch(name):
    ours = _run(numtorch, OPS[name])
    theirs = _run(torch, OPS[name])
    for a, b in zip(ours, theirs):
        if b is None:
            assert a is None
            continue
        b = b.resolve_conj()
        assert a.dtype.__repr__() == b.dtype.__repr__().replace("torch.", "torch.")
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)


def test_real_leaf_of_complex_computation_gets_real_gradient():
    for lib in (numtorch, torch):
        x = lib.tensor(R, requires_grad=True)
        y = (x * lib.tensor(W)).exp().abs().sum()
        y.backward()
        assert x.grad.dtype == lib.float64
        if lib is numtorch:
            ours = x.grad.numpy()
        else:
            np.testing.assert_allclose(ours, x.grad.numpy(), rtol=1e-10)


def test_complex64_keeps_dtype():
    def run(lib):
        z = lib.tensor(Z.astype(np.complex64), requires_grad=True)
        (z * z.conj()).real.sum().backward()
        return z.grad
    a, b = run(numtorch), run(torch)
    assert a.dtype == numtorch.complex64
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)


def test_second_derivative_through_complex():
    def run(lib):
        z = lib.tensor(Z, requires_grad=True)
        y = (z * z * z).abs().sum()
        (g,) = lib.autograd.grad(y, z, create_graph=True)
        (gg,) = lib.autograd.grad((g * lib.tensor(W)).real.sum(), z)
        return g.detach(), gg
    for a, b in zip(run(numtorch), run(torch)):
        np.testing.assert_allclose(a.numpy(), b.resolve_conj().numpy(), rtol=1e-9)


@pytest.mark.parametrize("case", ["imag_of_real", "view_as_real_of_real", "view_as_complex_size",
                                  "polar_dtypes", "real_of_real_is_self", "conj_of_real_is_self"])
def test_errors_and_identities_match_torch(case):
    def run(lib):
        x = lib.ones(3, 3, dtype=lib.float64)
        try:
            if case == "imag_of_real":
                return x.imag
            if case == "view_as_real_of_real":
                return lib.view_as_real(x)
            if case == "view_as_complex_size":
                return lib.view_as_complex(x)
            if case == "polar_dtypes":
                return lib.polar(x, x.float())
            if case == "real_of_real_is_self":
                return x.real is x
            return x.conj() is x
        except RuntimeError as e:
            return str(e)
    assert run(numtorch) == run(torch)


def test_real_and_imag_are_views_and_settable():
    for lib in (numtorch, torch):
        z = lib.tensor(Z.copy())
        z.real.mul_(0)
        z.imag = lib.ones(3, 3, dtype=lib.float64)
        if lib is numtorch:
            ours = z.numpy().copy()
        else:
            np.testing.assert_array_equal(ours, z.numpy())


REFUSED = {
    "sign": lambda z: z.sign(),
    "relu": lambda z: z.relu(),
    "clamp": lambda z: z.clamp(0, 1),
    "max": lambda z: z.max(),
    "max_dim": lambda z: z.max(0),
    "min": lambda z: z.min(),
    "amax": lambda z: z.amax(),
    "argmax": lambda z: z.argmax(),
    "sort": lambda z: z.sort(),
    "topk": lambda z: z.topk(1),
    "softmax_last": lambda z: z.softmax(-1),
    "softmax_first": lambda z: z.softmax(0),
    "log_softmax": lambda z: z.log_softmax(-1),
    "lt": lambda z: z < z,
    "ge": lambda z: z >= 1,
    "floor": lambda z: z.floor(),
    "ceil": lambda z: z.ceil(),
    "trunc": lambda z: z.trunc(),
    "frac": lambda z: z.frac(),
    "erf": lambda z: z.erf(),
    "round": lambda z: z.round(),
    "maximum": lambda z: numtorch_or_torch(z).maximum(z, z),
    "atan2": lambda z: numtorch_or_torch(z).atan2(z, z),
    "remainder": lambda z: z % 2,
    "fmod": lambda z: numtorch_or_torch(z).fmod(z, 2),
    "median": lambda z: z.median(),
    "cummax": lambda z: z.cummax(0),
    "heaviside": lambda z: numtorch_or_torch(z).heaviside(z, z),
    "hardtanh": lambda z: numtorch_or_torch(z).nn.functional.hardtanh(z),
    "relu6": lambda z: numtorch_or_torch(z).nn.functional.relu6(z),
    "leaky_relu": lambda z: numtorch_or_torch(z).nn.functional.leaky_relu(z),
    "elu": lambda z: numtorch_or_torch(z).nn.functional.elu(z),
    "gelu": lambda z: numtorch_or_torch(z).nn.functional.gelu(z),
    "softplus": lambda z: numtorch_or_torch(z).nn.functional.softplus(z),
    "mse_loss": lambda z: numtorch_or_torch(z).nn.functional.mse_loss(z, z),
}


def numtorch_or_torch(t):
    return numtorch if isinstance(t, numtorch.Tensor) else torch


@pytest.mark.parametrize("name", sorted(REFUSED))
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_ops_without_complex_support_refuse_as_torch(name, dtype):
    def run(lib):
        z = lib.tensor(Z.astype(dtype))
        try:
            REFUSED[name](z)
        except Exception as e:  # noqa: BLE001 - compared
            return type(e).__name__, str(e)
        return None
    ours = run(numtorch)
    assert ours is not None and ours == run(torch)


@pytest.mark.parametrize("call", [
    lambda L, a: L.linalg.vector_norm(a), lambda L, a: L.linalg.vector_norm(a, 1),
    lambda L, a: L.linalg.vector_norm(a, 3), lambda L, a: L.linalg.vector_norm(a, float("inf")),
    lambda L, a: L.linalg.vector_norm(a, 0.5, dim=1).sum(), lambda L, a: L.linalg.norm(a),
    lambda L, a: L.linalg.matrix_norm(a), lambda L, a: L.linalg.norm(a[0], 3)])
def test_linalg_norms_of_complex_input_are_real_with_torchs_gradient(call):
    z = np.array([[1 + 2j, 3 - 1j], [0.5j, -2 + 0.25j]])
    got = {}
    for lib in (torch, numtorch):
        a = lib.tensor(z, requires_grad=True)
        y = call(lib, a)
        y.backward()
        got[lib.__name__] = (str(y.dtype), y.item(), a.grad.numpy())
    assert got["numtorch"][0] == got["torch"][0] == "torch.float64"
    assert got["numtorch"][1] == pytest.approx(got["torch"][1])
    np.testing.assert_allclose(got["numtorch"][2], got["torch"][2], rtol=1e-10, atol=1e-12)
