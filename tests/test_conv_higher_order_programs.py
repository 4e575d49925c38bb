"""Programs that differentiate through convolutions and pooling twice, against PyTorch to float
rounding (float64): a WGAN-GP critic step (gradient penalty) and a Hessian-vector product
through LeNet-5 with cross_entropy."""

import numpy as np
import pytest

import numtorch

torch = pytest.importorskip("torch")

TOL = dict(rtol=1e-9, atol=1e-11)


def _set_params(lib, module, seed, scale=0.3):
    rng = np.random.default_rng(seed)
    with lib.no_grad():
        for p in module.parameters():
            p.copy_(lib.tensor(rng.standard_normal(tuple(p.shape)) * scale))


def _wgan_gp_step(lib):
    nn = lib.nn
    critic = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, dtype=lib.float64), nn.LeakyReLU(0.2), nn.MaxPool2d(2),
        nn.Conv2d(4, 8, 3, stride=2, padding=1, padding_mode="reflect", dtype=lib.float64),
        nn.LeakyReLU(0.2), nn.AvgPool2d(2, stride=1, padding=1),
        nn.Conv2d(8, 1, 3, dtype=lib.float64), nn.Flatten())
    _set_params(lib, critic, 0, 0.4)
    rng = np.random.default_rng(1)
    real = lib.tensor(rng.standard_normal((5, 1, 8, 8)))
    fake = lib.tensor(rng.standard_normal((5, 1, 8, 8)) * 0.5 + 0.3)
    alpha = lib.tensor(rng.uniform(0, 1, (5, 1, 1, 1)))
    interp = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    d = critic(interp)
    grads = lib.autograd.grad(d, interp, grad_outputs=lib.ones_like(d), create_graph=True)[0]
    gp = ((grads.reshape(5, -1).norm(2, dim=1) - 1) ** 2).mean()
    loss = critic(fake).mean() - critic(real).mean() + 10 * gp
    loss.backward()
    return [loss.item(), gp.item()] + [p.grad.numpy() for p in critic.parameters()]


def test_wgan_gp_critic_step_matches_torch():
    ours, theirs = _wgan_gp_step(numtorch), _wgan_gp_step(torch)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, **TOL)


class _LeNet:
    """LeNet-5 (conv, max pool, conv, max pool, three linear layers), built for either library."""

    def __init__(self, lib):
        nn = lib.nn
        kw = dict(dtype=lib.float64)
        self.lib = lib
        self.layers = nn.ModuleList([
            nn.Conv2d(1, 6, 5, padding=2, **kw), nn.Conv2d(6, 16, 5, **kw),
            nn.Linear(16 * 5 * 5, 32, **kw), nn.Linear(32, 16, **kw), nn.Linear(16, 10, **kw)])
        _set_params(lib, self.layers, 2, 0.1)

    def __call__(self, x):
        F = self.lib.nn.functional
        c1, c2, f1, f2, f3 = self.layers
        x = F.max_pool2d(F.relu(c1(x)), 2)
        x = F.max_pool2d(F.tanh(c2(x)), 2)
        x = x.flatten(1)
        return f3(F.tanh(f2(F.tanh(f1(x)))))


def _lenet_hvp(lib):
    net = _LeNet(lib)
    rng = np.random.default_rng(3)
    x = lib.tensor(rng.standard_normal((4, 1, 28, 28)))
    y = lib.tensor(rng.integers(0, 10, 4))
    params = list(net.layers.parameters())
    vs = [lib.tensor(rng.standard_normal(tuple(p.shape))) for p in params]
    loss = lib.nn.functional.cross_entropy(net(x), y)
    grads = lib.autograd.grad(loss, params, create_graph=True)
    gv = sum((g * v).sum() for g, v in zip(grads, vs))
    hvp = lib.autograd.grad(gv, params)
    return [loss.item()] + [g.detach().numpy() for g in grads] + [h.numpy() for h in hvp]


def test_lenet_hessian_vector_product_matches_torch():
    ours, theirs = _lenet_hvp(numtorch), _lenet_hvp(torch)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, **TOL)


def test_lenet_convolutional_part_hessian_vector_product_matches_torch():
    """The same Hessian-vector product with LeNet's classifier replaced by a mean over
    channels (no linear layer): convolutions, pooling and cross_entropy only."""
    def run(lib):
        net = _LeNet(lib)
        F = lib.nn.functional
        c1, c2 = net.layers[0], net.layers[1]
        rng = np.random.default_rng(3)
        x = lib.tensor(rng.standard_normal((4, 1, 28, 28)))
        y = lib.tensor(rng.integers(0, 10, 4))
        h = F.max_pool2d(F.tanh(c2(F.max_pool2d(F.relu(c1(x)), 2))), 2)  # (4, 16, 5, 5)
        logits = h[:, :10].mean((2, 3)) * 5
        params = [c1.weight, c1.bias, c2.weight, c2.bias]
        vs = [lib.tensor(rng.standard_normal(tuple(p.shape))) for p in params]
        loss = F.cross_entropy(logits, y)
        grads = lib.autograd.grad(loss, params, create_graph=True)
        hvp = lib.autograd.grad(sum((g * v).sum() for g, v in zip(grads, vs)), params)
        return [loss.item()] + [g.detach().numpy() for g in grads] + [h.numpy() for h in hvp]

    for a, b in zip(run(numtorch), run(torch)):
        np.testing.assert_allclose(a, b, **TOL)
