"""Pre-0.4 PyTorch style still found in many tutorials: Variable wrappers, .data updates,
volatile-free evaluation, torch.FloatTensor constructors and size() arithmetic."""
import numpy as np
import torch
from torch.autograd import Variable

rng = np.random.default_rng(0)
x_np = rng.standard_normal((20, 3)).astype(np.float32)
y_np = (x_np @ np.array([[1.5], [-2.0], [0.5]], dtype=np.float32) + 0.3).astype(np.float32)

x = Variable(torch.from_numpy(x_np))
y = Variable(torch.from_numpy(y_np), requires_grad=False)
w = Variable(torch.FloatTensor(3, 1).zero_(), requires_grad=True)
b = Variable(torch.zeros(1), requires_grad=True)
print(type(x).__name__, x.requires_grad, w.requires_grad, x.size(), x.size()[0] * x.size(1))

learning_rate = 0.1
for t in range(50):
    y_pred = x.mm(w) + b
    loss = (y_pred - y).pow(2).mean()
    if t % 10 == 9:
        print(t, f"{loss.item():.5f}")
    loss.backward()
    w.data -= learning_rate * w.grad.data
    b.data -= learning_rate * b.grad.data
    w.grad.data.zero_()
    b.grad.data.zero_()
print([round(v, 3) for v in w.data.view(-1).tolist()], round(b.data[0].item(), 3))
print(torch.FloatTensor([[1, 2], [3, 4]]).t().contiguous().view(-1).tolist())
print(torch.LongTensor([3, 1, 2]).sort()[0].tolist(), torch.ByteTensor([1, 0]).dtype)
