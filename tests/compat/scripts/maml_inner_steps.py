"""Two MAML inner steps on sine regression: the meta-gradient flows through the inner updates
(create_graph=True), then one outer Adam step."""
import numpy as np
import torch

rng = np.random.default_rng(3)
W1 = torch.tensor(rng.standard_normal((1, 16)) * 0.5, dtype=torch.float64, requires_grad=True)
b1 = torch.zeros(16, dtype=torch.float64, requires_grad=True)
W2 = torch.tensor(rng.standard_normal((16, 1)) * 0.5, dtype=torch.float64, requires_grad=True)
b2 = torch.zeros(1, dtype=torch.float64, requires_grad=True)
params = [W1, b1, W2, b2]


def net(x, p):
    w1, c1, w2, c2 = p
    h = torch.tanh((x.unsqueeze(2) * w1).sum(1) + c1)
    return (h.unsqueeze(2) * w2).sum(1) + c2


def task(seed):
    r = np.random.default_rng(seed)
    amp, phase = r.uniform(0.5, 2.0), r.uniform(0, np.pi)
    xs = torch.tensor(r.uniform(-3, 3, (10, 1)))
    xq = torch.tensor(r.uniform(-3, 3, (10, 1)))
    return xs, amp * torch.sin(xs + phase), xq, amp * torch.sin(xq + phase)


opt = torch.optim.Adam(params, lr=0.01)
for it in range(3):
    opt.zero_grad()
    meta_loss = 0
    for seed in (10 * it, 10 * it + 1):
        xs, ys, xq, yq = task(seed)
        fast = params
        for _ in range(2):
            inner = ((net(xs, fast) - ys) ** 2).mean()
            grads = torch.autograd.grad(inner, fast, create_graph=True)
            fast = [p - 0.1 * g for p, g in zip(fast, grads)]
        meta_loss = meta_loss + ((net(xq, fast) - yq) ** 2).mean()
    meta_loss.backward()
    print(it, f"meta loss {meta_loss.item():.6f}",
          "grad norms", [f"{p.grad.norm().item():.6f}" for p in params])
    opt.step()
print("W2 head", [f"{v:.6f}" for v in W2.detach().reshape(-1)[:4].tolist()])
