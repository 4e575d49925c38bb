"""Model ensembling with torch.func: stack_module_state + functional_call + vmap (the torch.func
"model ensembling" tutorial), checked against calling each model."""
import copy

import numpy as np
import torch
import torch.nn as nn
from torch.func import functional_call, stack_module_state, vmap

rng = np.random.default_rng(3)


class SimpleMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(12, 20)
        self.fc2 = nn.Linear(20, 4)

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))


models = []
for _ in range(5):
    m = SimpleMLP()
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.tensor(rng.uniform(-0.3, 0.3, tuple(p.shape)), dtype=torch.float32))
    models.append(m)

minibatch = torch.tensor(rng.standard_normal((6, 12)), dtype=torch.float32)
minibatches = torch.tensor(rng.standard_normal((5, 6, 12)), dtype=torch.float32)

params, buffers = stack_module_state(models)
print(sorted(params), [tuple(v.shape) for v in params.values()], sorted(buffers))

base = copy.deepcopy(models[0])


def fmodel(params, buffers, x):
    return functional_call(base, (params, buffers), (x,))


same_batch = vmap(fmodel, in_dims=(0, 0, None))(params, buffers, minibatch)
per_model = vmap(fmodel)(params, buffers, minibatches)
print(tuple(same_batch.shape), tuple(per_model.shape))
print([round(v, 5) for v in same_batch.sum(dim=(1, 2)).tolist()])
print([round(v, 5) for v in per_model.sum(dim=(1, 2)).tolist()])
expected = torch.stack([m(minibatch) for m in models])
print(torch.allclose(same_batch, expected, atol=1e-6))
expected = torch.stack([m(x) for m, x in zip(models, minibatches)])
print(torch.allclose(per_model, expected, atol=1e-6))

# Gradients flow back to the stacked parameters through vmap.
per_model.pow(2).mean().backward()
print([round(v, 5) for v in params["fc1.weight"].grad.flatten(1).norm(dim=1).tolist()])
