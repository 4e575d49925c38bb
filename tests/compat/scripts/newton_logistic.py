"""Newton's method on a logistic regression: the Hessian row by row with create_graph."""
import numpy as np
import torch

rng = np.random.default_rng(0)
X = torch.tensor(rng.standard_normal((64, 3)), dtype=torch.float64)
true_w = torch.tensor([1.5, -2.0, 0.5], dtype=torch.float64)
y = ((X * true_w).sum(1) + 0.3 * torch.tensor(rng.standard_normal(64)) > 0).double()

w = torch.zeros(3, dtype=torch.float64, requires_grad=True)


def loss_fn(w):
    logits = (X * w).sum(1)
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, y) + 0.01 * (w * w).sum()


for step in range(4):
    loss = loss_fn(w)
    g, = torch.autograd.grad(loss, w, create_graph=True)
    rows = [torch.autograd.grad(g[i], w, retain_graph=True)[0] for i in range(3)]
    H = torch.stack(rows)
    print(step, f"loss {loss.item():.6f}", "grad", [f"{v:.6f}" for v in g.tolist()])
    print("hessian diag", [f"{H[i, i].item():.6f}" for i in range(3)],
          "symmetric", bool(torch.allclose(H, H.t())))
    with torch.no_grad():
        # 3x3 solve by Cramer's rule, written with tensor ops
        det = (H[0, 0] * (H[1, 1] * H[2, 2] - H[1, 2] * H[2, 1])
               - H[0, 1] * (H[1, 0] * H[2, 2] - H[1, 2] * H[2, 0])
               + H[0, 2] * (H[1, 0] * H[2, 1] - H[1, 1] * H[2, 0]))
        step_vec = []
        for j in range(3):
            M = H.clone()
            M[:, j] = g.detach()
            dj = (M[0, 0] * (M[1, 1] * M[2, 2] - M[1, 2] * M[2, 1])
                  - M[0, 1] * (M[1, 0] * M[2, 2] - M[1, 2] * M[2, 0])
                  + M[0, 2] * (M[1, 0] * M[2, 1] - M[1, 1] * M[2, 0]))
            step_vec.append(dj / det)
        w -= torch.stack(step_vec)
print("w", [f"{v:.6f}" for v in w.tolist()])
print(type(g.grad_fn).__name__, g.requires_grad)
