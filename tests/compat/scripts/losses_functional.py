"""Loss functions and torch.nn.functional building blocks on fixed inputs: values and gradients."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(0)
logits = torch.tensor(rng.standard_normal((6, 5)), dtype=torch.float32, requires_grad=True)
target = torch.tensor([0, 4, 2, 2, 1, 3])
probs_target = torch.tensor(rng.uniform(0, 1, (6, 5)), dtype=torch.float32)
pred = torch.tensor(rng.standard_normal((6, 5)), dtype=torch.float32, requires_grad=True)
real = torch.tensor(rng.standard_normal((6, 5)), dtype=torch.float32)


def show(name, loss):
    grads = torch.autograd.grad(loss, [t for t in (logits, pred) if t.requires_grad],
                                allow_unused=True, retain_graph=True)
    norms = [round(g.norm().item(), 4) for g in grads if g is not None]
    print(f"{name:22s} {loss.item():.5f} {type(loss.grad_fn).__name__} {norms}")


show("cross_entropy", F.cross_entropy(logits, target))
show("ce smoothing", nn.CrossEntropyLoss(label_smoothing=0.1)(logits, target))
show("ce weights", nn.CrossEntropyLoss(weight=torch.linspace(0.5, 1.5, 5))(logits, target))
show("ce ignore_index", F.cross_entropy(logits, target, ignore_index=2))
show("ce soft targets", F.cross_entropy(logits, probs_target.softmax(dim=1)))
show("nll_loss", nn.NLLLoss()(F.log_softmax(logits, dim=1), target))
show("bce_with_logits", nn.BCEWithLogitsLoss()(logits, probs_target))
show("bce", nn.BCELoss()(torch.sigmoid(logits), probs_target))
show("mse", nn.MSELoss()(pred, real))
show("mse sum", F.mse_loss(pred, real, reduction="sum"))
show("l1", nn.L1Loss()(pred, real))
show("smooth_l1", nn.SmoothL1Loss(beta=0.5)(pred, real))
show("huber", nn.HuberLoss(delta=0.7)(pred, real))
show("kl_div", nn.KLDivLoss(reduction="batchmean")(F.log_softmax(logits, 1), probs_target.softmax(1)))
print(F.cross_entropy(logits, target, reduction="none").shape)

x = torch.tensor(rng.standard_normal((2, 3, 8, 8)), dtype=torch.float32)
w = torch.tensor(rng.standard_normal((4, 3, 3, 3)), dtype=torch.float32) * 0.2
y = F.conv2d(x, w, stride=2, padding=1)
print(y.shape, f"{y.sum().item():.4f}")
print(F.conv2d(x, w, padding="same", dilation=2).shape)
print(F.max_pool2d(x, 3, stride=2, padding=1).shape, f"{F.avg_pool2d(x, 2).mean().item():.5f}")
print(F.adaptive_avg_pool2d(x, (1, 1)).flatten(1).shape, f"{F.adaptive_max_pool2d(x, 3).sum().item():.4f}")
print(F.pad(x, (1, 2, 0, 1)).shape, F.interpolate(x, scale_factor=2, mode="nearest").shape)
print(f"{F.interpolate(x, size=(5, 5), mode='bilinear', align_corners=False).sum().item():.4f}")
v = torch.linspace(-3, 3, 7)
for fn in (F.relu, F.gelu, F.silu, F.elu, F.softplus, torch.tanh, torch.sigmoid, F.leaky_relu,
           F.hardtanh, F.relu6):
    print(f"{fn.__name__:10s}", [round(a, 4) for a in fn(v).tolist()])
print([round(a, 4) for a in F.softmax(v, dim=0).tolist()])
print(F.one_hot(target, num_classes=5).sum(0).tolist(), F.one_hot(target).dtype)
print([round(a, 4) for a in F.normalize(real, dim=1)[0].tolist()])
print([round(a, 4) for a in F.cosine_similarity(pred, real, dim=1).tolist()])
ln = F.layer_norm(real, (5,))
print([round(a, 4) for a in ln.mean(1).tolist()], [round(a, 3) for a in ln.var(1, unbiased=False).tolist()])
emb = nn.Embedding(10, 3)
with torch.no_grad():
    emb.weight.copy_(torch.arange(30, dtype=torch.float32).reshape(10, 3))
print(emb(torch.tensor([[1, 2], [9, 0]])).shape, emb(torch.tensor([3])).tolist())
