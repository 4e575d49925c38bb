"""numtorch.linalg against torch.linalg: values, dtypes, gradients (float64, float32), errors."""

import numpy as np
import pytest
from oracle import check_grad_fd, check_op

import numtorch

torch = pytest.importorskip("torch")


def _spd(t, a):
    """A well-conditioned symmetric positive-definite matrix built from ``a``."""
    n = a.shape[-1]
    return a @ a.mT + n * t.eye(n, dtype=a.dtype)


def _sym(t, a):
    return a + a.mT


def _fix_svd_signs(t, U, S, Vh):
    """Singular vectors are defined up to sign: make each column of U start non-negative."""
    s = t.where(U[..., :1, :] < 0, -1.0, 1.0).to(U.dtype)
    return U * s, S, Vh * s.mT


def _fix_eig_signs(t, w, V):
    s = t.where(V[..., :1, :] < 0, -1.0, 1.0).to(V.dtype)
    return w, V * s


CASES = {
    "det": ((3, 3), lambda t, a: t.linalg.det(a)),
    "det_batch": ((2, 3, 3), lambda t, a: t.linalg.det(a)),
    "det_top": ((3, 3), lambda t, a: t.det(a)),
    "slogdet": ((2, 3, 3), lambda t, a: tuple(t.linalg.slogdet(a))),
    "slogdet_top": ((3, 3), lambda t, a: tuple(t.slogdet(a))),
    "inv": ((2, 3, 3), lambda t, a: t.linalg.inv(a)),
    "inverse": ((3, 3), lambda t, a: t.inverse(a)),
    "cholesky": ((2, 3, 3), lambda t, a: t.linalg.cholesky(_spd(t, a))),
    "cholesky_upper": ((3, 3), lambda t, a: t.linalg.cholesky(_spd(t, a), upper=True)),
    "qr_tall": ((4, 3), lambda t, a: tuple(t.linalg.qr(a))),
    "qr_wide": ((2, 3, 5), lambda t, a: tuple(t.linalg.qr(a))),
    "qr_square_complete": ((3, 3), lambda t, a: tuple(t.linalg.qr(a, mode="complete"))),
    "eigh": ((2, 4, 4), lambda t, a: _fix_eig_signs(t, *t.linalg.eigh(_sym(t, a)))),
    "eigh_U": ((3, 3), lambda t, a: _fix_eig_signs(t, *t.linalg.eigh(_sym(t, a), UPLO="U"))),
    "eigvalsh": ((2, 3, 3), lambda t, a: t.linalg.eigvalsh(_sym(t, a))),
    "svd_square": ((3, 3), lambda t, a: _fix_svd_signs(t, *t.linalg.svd(a))),
    "svd_tall": ((2, 5, 3), lambda t, a: _fix_svd_signs(t, *t.linalg.svd(a, False))),
    "svd_wide": ((3, 5), lambda t, a: _fix_svd_signs(t, *t.linalg.svd(a, full_matrices=False))),
    "svd_full_tall_S": ((5, 3), lambda t, a: t.linalg.svd(a).S),
    "svdvals": ((2, 4, 3), lambda t, a: t.linalg.svdvals(a)),
    "pinv_tall": ((2, 5, 3), lambda t, a: t.linalg.pinv(a)),
    "pinv_wide": ((3, 4), lambda t, a: t.linalg.pinv(a)),
    "pinverse": ((3, 4), lambda t, a: t.pinverse(a)),
    "solve": ((2, 3, 3), lambda t, a: t.linalg.solve(a, a[0] + 1)),
    "solve_vec": ((3, 3), lambda t, a: t.linalg.solve(a, a[1])),
    "solve_right": ((3, 3), lambda t, a: t.linalg.solve(a, a.exp(), left=False)),
    "lstsq": ((5, 3), lambda t, a: t.linalg.lstsq(a, a[:, :2].exp()).solution),
    "matrix_norm_fro": ((2, 3, 4), lambda t, a: t.linalg.matrix_norm(a)),
    "matrix_norm_nuc": ((2, 3, 4), lambda t, a: t.linalg.matrix_norm(a, "nuc")),
    "matrix_norm_2": ((2, 3, 4), lambda t, a: t.linalg.matrix_norm(a, 2, keepdim=True)),
    "matrix_norm_m2": ((3, 4), lambda t, a: t.linalg.matrix_norm(a, -2)),
    "matrix_norm_1": ((2, 3, 4), lambda t, a: t.linalg.matrix_norm(a, 1)),
    "matrix_norm_m1": ((2, 3, 4), lambda t, a: t.linalg.matrix_norm(a, -1, keepdim=True)),
    "matrix_norm_inf": ((2, 3, 4), lambda t, a: t.linalg.matrix_norm(a, float("inf"))),
    "matrix_norm_dims": ((3, 2, 4), lambda t, a: t.linalg.matrix_norm(a, "nuc", dim=(0, 2))),
    "vector_norm": ((3, 4), lambda t, a: t.linalg.vector_norm(a, 3, dim=1)),
    "norm_default": ((2, 3, 4), lambda t, a: t.linalg.norm(a)),
    "norm_dim": ((3, 4), lambda t, a: t.linalg.norm(a, dim=0)),
    "norm_mat": ((3, 4), lambda t, a: t.linalg.norm(a, 1)),
    "norm_mat_dim": ((2, 3, 4), lambda t, a: t.linalg.norm(a, "fro", dim=(1, 2))),
    "cross": ((2, 3), lambda t, a: t.linalg.cross(a, a.flip(0))),
    "cross_bcast": ((4, 3), lambda t, a: t.linalg.cross(a, a[:1].exp())),
    "cross_dim0": ((3, 2), lambda t, a: t.linalg.cross(a, a.exp(), dim=0)),
    "matrix_power3": ((2, 3, 3), lambda t, a: t.linalg.matrix_power(a, 3)),
    "matrix_power_neg": ((3, 3), lambda t, a: t.linalg.matrix_power(a, -2)),
    "matrix_power0": ((3, 3), lambda t, a: t.linalg.matrix_power(a, 0)),
    "multi_dot": ((3, 3), lambda t, a: t.linalg.multi_dot([a, a.exp(), a.T])),
    "multi_dot_vec": ((3, 3), lambda t, a: t.linalg.multi_dot([a[0], a, a.exp(), a[1]])),
    "vecdot": ((3, 4), lambda t, a: t.linalg.vecdot(a, a.exp(), dim=0)),
    "logdet": ((3, 3), lambda t, a: t.logdet(_spd(t, a))),
    "svd_top": ((4, 3), lambda t, a: tuple(t.svd(a))[1]),
    "solve_triangular": ((2, 3, 3), lambda t, a: t.linalg.solve_triangular(
        a + 3 * t.eye(3, dtype=a.dtype), a[0].exp(), upper=False)),
    "solve_triangular_upper_right": ((3, 3), lambda t, a: t.linalg.solve_triangular(
        a + 3 * t.eye(3, dtype=a.dtype), a[:2].exp(), upper=True, left=False)),
    "solve_triangular_unit": ((3, 3), lambda t, a: t.linalg.solve_triangular(
        a, a.exp(), upper=True, unitriangular=True)),
    "inv_ex": ((3, 3), lambda t, a: t.linalg.inv_ex(a).inverse),
    "cholesky_ex": ((3, 3), lambda t, a: t.linalg.cholesky_ex(_spd(t, a)).L),
    "solve_ex": ((3, 3), lambda t, a: t.linalg.solve_ex(a, a[0]).result),
    "matrix_exp": ((2, 3, 3), lambda t, a: t.linalg.matrix_exp(a)),
    "matrix_exp_big": ((3, 3), lambda t, a: t.matrix_exp(a * 4)),
    "matrix_exp_method": ((3, 3), lambda t, a: a.matrix_exp()),
    "diagonal": ((2, 3, 4), lambda t, a: t.linalg.diagonal(a, offset=1)),
    "diagonal_dims": ((2, 3, 4), lambda t, a: t.linalg.diagonal(a, offset=-1, dim1=0, dim2=2)),
    "vander": ((2, 3), lambda t, a: t.linalg.vander(a)),
    "vander_N": ((3,), lambda t, a: t.linalg.vander(a, N=5)),
}


@pytest.mark.parametrize("name", CASES)
def test_against_torch(name):
    shape, fn = CASES[name]
    check_op(fn, [shape])


def _first(out):
    return out if not isinstance(out, tuple) else out[0]


FD = {
    "det": lambda a: numtorch.linalg.det(a),
    "logabsdet": lambda a: numtorch.linalg.slogdet(a).logabsdet,
    "inv": lambda a: numtorch.linalg.inv(a),
    "solve": lambda a: numtorch.linalg.solve(a, a.exp()),
    "cholesky": lambda a: numtorch.linalg.cholesky(_spd(numtorch, a)),
    "qr_Q": lambda a: numtorch.linalg.qr(a).Q,
    "qr_R_wide": lambda a: numtorch.linalg.qr(a[:2]).R,
    "eigh_vals": lambda a: numtorch.linalg.eigh(_sym(numtorch, a)).eigenvalues,
    "eigh_vecs": lambda a: _fix_eig_signs(numtorch, *numtorch.linalg.eigh(_sym(numtorch, a)))[1],
    "svd_U": lambda a: _fix_svd_signs(numtorch, *numtorch.linalg.svd(a[:, :2], False))[0],
    "svd_Vh": lambda a: _fix_svd_signs(numtorch, *numtorch.linalg.svd(a[:2], False))[2],
    "svdvals": lambda a: numtorch.linalg.svdvals(a),
    "pinv": lambda a: numtorch.linalg.pinv(a[:, :2]),
    "matrix_norm_nuc": lambda a: numtorch.linalg.matrix_norm(a, "nuc"),
    "cross": lambda a: numtorch.linalg.cross(a, a.exp()),
    "solve_triangular": lambda a: numtorch.linalg.solve_triangular(
        a + 3 * numtorch.eye(3, dtype=a.dtype), a.exp(), upper=False),
    "matrix_exp": lambda a: numtorch.linalg.matrix_exp(a * 2),
}


@pytest.mark.parametrize("name", FD)
def test_finite_differences(name):
    rng = np.random.default_rng(3)
    check_grad_fd(FD[name], [rng.standard_normal((3, 3))])


def test_return_types_and_node_names():
    a = numtorch.randn(3, 3, dtype=numtorch.float64, requires_grad=True)
    r = numtorch.linalg.slogdet(a)
    assert type(r).__name__ == "linalg_slogdet" and r._fields == ("sign", "logabsdet")
    assert repr(r).startswith("torch.return_types.linalg_slogdet(")
    assert numtorch.linalg.eigh(a)._fields == ("eigenvalues", "eigenvectors")
    assert numtorch.linalg.svd(a)._fields == ("U", "S", "Vh")
    assert numtorch.svd(a)._fields == ("U", "S", "V")
    assert numtorch.linalg.qr(a)._fields == ("Q", "R")
    names = {
        "LinalgDetBackward0": numtorch.linalg.det(a),
        "LinalgInvExBackward0": numtorch.linalg.inv(a),
        "LinalgSlogdetBackward0": r.logabsdet,
        "LinalgSvdBackward0": numtorch.linalg.svdvals(a),
        "LinalgEighBackward0": numtorch.linalg.eigvalsh(a),
        "LinalgQrBackward0": numtorch.linalg.qr(a).R,
        "LinalgSolveExBackward0": numtorch.linalg.solve(a, a),
        "LinalgPinvBackward0": numtorch.linalg.pinv(a),
        "LinalgCrossBackward0": numtorch.linalg.cross(a, a),
        "LinalgCholeskyExBackward0": numtorch.linalg.cholesky(a @ a.mT + numtorch.eye(3)),
    }
    for name, out in names.items():
        assert type(out.grad_fn).__name__ == name


def test_matrix_rank():
    for t in (numtorch, torch):
        a = t.tensor([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 1.0, 1.0]])
        r = t.linalg.matrix_rank(a)
        assert r.item() == 2 and str(r.dtype).endswith("int64")
        assert t.linalg.matrix_rank(t.stack([a, t.eye(3)])).tolist() == [2, 3]
        assert t.linalg.matrix_rank(a, atol=1.0).item() == 1
        assert t.linalg.matrix_rank(a, atol=10.0).item() == 0
        assert t.linalg.matrix_rank(a, hermitian=True).item() == \
            torch.linalg.matrix_rank(torch.tensor(a.tolist()), hermitian=True).item()
        lst = t.linalg.lstsq(a[:, :2] + 1, a[:, :1])
        assert lst.rank.item() == 2


def _raises(fn):
    errors = []
    for t in (numtorch, torch):
        with pytest.raises(RuntimeError) as info:
            fn(t)
        errors.append(info)
    return errors


@pytest.mark.parametrize("fn", [
    lambda t: t.linalg.inv(t.zeros(2, 2)),
    lambda t: t.linalg.inv(t.tensor([[1.0, 2.0], [2.0, 4.0]])),
    lambda t: t.linalg.inv(t.stack([t.eye(2), t.zeros(2, 2)])),
    lambda t: t.linalg.cholesky(-t.eye(2)),
    lambda t: t.linalg.cholesky(t.tensor([[1.0, 2.0], [2.0, 1.0]])),
    lambda t: t.linalg.solve(t.zeros(2, 2), t.ones(2)),
])
def test_linalg_errors(fn):
    ours, theirs = _raises(fn)
    assert isinstance(ours.value, numtorch.linalg.LinAlgError)
    assert type(theirs.value).__name__ == "_LinAlgError"
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("fn", [
    lambda t: t.linalg.inv(t.zeros(2, 3)),
    lambda t: t.linalg.det(t.zeros(2, 2, dtype=t.long)),
    lambda t: t.linalg.cross(t.zeros(2, 4), t.zeros(2, 4)),
    lambda t: t.linalg.norm(t.zeros(2, 2, 2), 1),
    lambda t: t.linalg.multi_dot([t.zeros(2, 2)]),
])
def test_shape_and_dtype_errors(fn):
    ours, theirs = _raises(fn)
    assert str(ours.value) == str(theirs.value)


def test_float32_stays_float32_and_det_of_singular():
    # PyTorch's LU-based backward gives a zero gradient for an exactly singular matrix.
    a = numtorch.randn(2, 3, 3)
    for fn in (numtorch.linalg.det, numtorch.linalg.inv, numtorch.linalg.svdvals,
               numtorch.linalg.pinv, lambda x: numtorch.linalg.qr(x).Q):
        assert fn(a).dtype == numtorch.float32
    s = numtorch.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=numtorch.float64, requires_grad=True)
    numtorch.linalg.det(s).backward()
    ts = torch.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=torch.float64, requires_grad=True)
    torch.linalg.det(ts).backward()
    np.testing.assert_allclose(s.grad.numpy(), ts.grad.numpy(), atol=1e-12)


def test_qr_mode_r_and_complete_backward_error():
    a = numtorch.randn(4, 2, requires_grad=True)
    q, r = numtorch.linalg.qr(a, mode="r")
    assert q.shape == (0,) and r.shape == (2, 2)
    with pytest.raises(RuntimeError, match="mode='r'"):
        r.sum().backward()
    q, r = numtorch.linalg.qr(a, mode="complete")
    assert q.shape == (4, 4)
    with pytest.raises(RuntimeError, match="not differentiable when mode='complete'"):
        q.sum().backward()


def test_ex_variants_report_failures_in_info():
    for t in (numtorch, torch):
        z = t.stack([t.eye(2), t.zeros(2, 2)])
        assert t.linalg.inv_ex(z).info.tolist() == [0, 1]
        assert str(t.linalg.inv_ex(z).info.dtype).endswith("int32")
        assert t.linalg.cholesky_ex(-t.eye(2)).info.item() == 1
        assert t.linalg.solve_ex(t.eye(2), t.ones(2)).info.item() == 0
        with pytest.raises(RuntimeError):
            t.linalg.inv_ex(z, check_errors=True)


def test_solve_triangular_singular_gives_inf_like_torch():
    a, b = numtorch.zeros(2, 2), numtorch.ones(2, 1)
    ours = numtorch.linalg.solve_triangular(a, b, upper=True).tolist()
    theirs = torch.linalg.solve_triangular(torch.zeros(2, 2), torch.ones(2, 1), upper=True)
    assert str(ours) == str(theirs.tolist())


DECOMPOSITIONS = {
    "eigh": lambda t, a: t.linalg.eigh(a @ a.mT),
    "svd": lambda t, a: t.linalg.svd(a, full_matrices=False),
    "qr": lambda t, a: t.linalg.qr(a),
    "slogdet": lambda t, a: t.linalg.slogdet(a + 3 * t.eye(3, dtype=a.dtype)),
    "inv": lambda t, a: (t.linalg.inv(a + 3 * t.eye(3, dtype=a.dtype)),),
    "cholesky": lambda t, a: (t.linalg.cholesky(a @ a.mT + t.eye(3, dtype=a.dtype)),),
}


@pytest.mark.parametrize("name", DECOMPOSITIONS)
def test_every_saved_output_is_version_checked(name):
    """Changing any output a decomposition's backward reads raises, as in torch."""
    base = np.random.default_rng(0).standard_normal((3, 3))
    n_out = len(DECOMPOSITIONS[name](numtorch, numtorch.tensor(base)))
    for k in range(n_out):
        raised = []
        for lib in (numtorch, torch):
            a = lib.tensor(base, requires_grad=True)
            outs = DECOMPOSITIONS[name](lib, a)
            loss = sum(o.sum() for o in outs if o.requires_grad)
            with lib.no_grad():
                outs[k].mul_(2)
            try:
                loss.backward()
                raised.append(False)
            except RuntimeError as e:
                assert "modified by an inplace operation" in str(e)
                raised.append(True)
        assert raised[0] == raised[1], (name, k, raised)


GRADGRAD = {
    # well-conditioned: A = Q diag(s) Q^T with s in [1, 2]
    "inv": lambda t, a: t.linalg.inv(a),
    "det": lambda t, a: t.linalg.det(a),
    "solve": lambda t, a: t.linalg.solve(a, a.exp()),
    "cholesky": lambda t, a: t.linalg.cholesky((a + a.mT) / 2),
    "eigh": lambda t, a: t.linalg.eigh((a + a.mT) / 2).eigenvalues,
    "eigh_vectors": lambda t, a: _fix_eig_signs(t, *t.linalg.eigh((a + a.mT) / 2))[1],
    "svdvals": lambda t, a: t.linalg.svdvals(a),
    "matrix_exp": lambda t, a: t.linalg.matrix_exp(a),
    "pinv": lambda t, a: t.linalg.pinv(a),
}


@pytest.mark.parametrize("name", GRADGRAD)
@pytest.mark.parametrize("seed", [0, 1])
def test_second_derivatives_of_well_conditioned_matrices(name, seed):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    a = q @ np.diag(rng.uniform(1, 2, 3) + np.arange(3)) @ q.T
    check_op(GRADGRAD[name], arrays=[a])


def test_addmm_inplace_records_like_torch():
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in ((3, 5), (3, 4), (4, 5))]
    grads = []
    for lib in (numtorch, torch):
        b, m1, m2 = (lib.tensor(a, requires_grad=True) for a in arrays)
        out = b * 1
        out.addmm_(m1, m2, beta=0.5, alpha=2)
        assert type(out.grad_fn).__name__ == "AddmmBackward0"
        (out * out).sum().backward()
        grads.append([np.asarray(t.grad.numpy() if lib is torch else t.grad._data)
                      for t in (b, m1, m2)])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-10)


@pytest.mark.parametrize("bias_shape", [(40,), (1, 40), (64, 40), (64, 1), ()])
@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2)])
@pytest.mark.parametrize("rows", [64, 1])
def test_addmm_gradients_of_every_bias_shape_with_products_cut(monkeypatch, bias_shape, beta,
                                                               alpha, rows):
    from numtorch import _threads
    monkeypatch.setattr(_threads, "FLOPS_PER_THREAD", 1000)  # products this small are cut
    monkeypatch.setattr(_threads, "_requested", 2)
    monkeypatch.setattr(_threads, "workers", lambda: 2)
    rng = np.random.default_rng(0)
    shape = tuple(rows if d == 64 else d for d in bias_shape)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in (shape, (rows, 48), (48, 40))]
    results = []
    for lib in (numtorch, torch):
        b, m1, m2 = (lib.tensor(a, requires_grad=True) for a in arrays)
        out = lib.addmm(b, m1, m2, beta=beta, alpha=alpha)
        (out * out).sum().backward()
        results.append([np.asarray(t.detach().numpy()) for t in (out, b.grad, m1.grad, m2.grad)])
    for a, b in zip(*results):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-3)


@pytest.mark.parametrize("bias_shape", [(3,), (4, 3), (4, 5), (3, 1), (2, 3, 5)])
@pytest.mark.parametrize("alpha", [1, 2])
def test_addmm_bias_that_does_not_expand_raises_torchs_error(bias_shape, alpha):
    torch = pytest.importorskip("torch")
    messages = []
    for lib in (numtorch, torch):
        bias = lib.zeros(*bias_shape, dtype=lib.float64)
        with pytest.raises(RuntimeError) as info:
            lib.addmm(bias, lib.ones(2, 4, dtype=lib.float64), lib.ones(4, 5, dtype=lib.float64),
                      alpha=alpha)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
