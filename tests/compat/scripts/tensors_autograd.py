"""Tensors and autograd basics, in the style of PyTorch's "Learn the Basics" tutorials."""
import numpy as np
import torch

# Creating tensors
data = [[1, 2], [3, 4]]
x_data = torch.tensor(data)
print(x_data)
print(x_data.dtype, x_data.shape)
np_array = np.array(data)
x_np = torch.from_numpy(np_array)
print(x_np)
x_ones = torch.ones_like(x_data)
print(f"Ones Tensor: \n {x_ones} \n")
x_float = torch.zeros_like(x_data, dtype=torch.float)
print(f"Zeros Tensor: \n {x_float} \n")
shape = (2, 3)
print(torch.ones(shape))
print(torch.zeros(shape))
print(torch.arange(6).reshape(2, 3))
print(torch.linspace(0, 1, 5))
print(torch.eye(3))

# Attributes
tensor = torch.tensor(np.arange(12, dtype=np.float32).reshape(3, 4))
print(f"Shape of tensor: {tensor.shape}")
print(f"Datatype of tensor: {tensor.dtype}")
print(f"Device tensor is stored on: {tensor.device}")

# Operations
print(f"First row: {tensor[0]}")
print(f"First column: {tensor[:, 0]}")
print(f"Last column: {tensor[..., -1]}")
tensor[:, 1] = 0
print(tensor)
t1 = torch.cat([tensor, tensor, tensor], dim=1)
print(t1.shape)
y1 = tensor @ tensor.T
y2 = tensor.matmul(tensor.T)
y3 = torch.rand_like(y1)
y3 = torch.matmul(tensor, tensor.T)
print(y1)
print(torch.equal(y1, y2), torch.equal(y1, y3))
z1 = tensor * tensor
print(z1)
agg = tensor.sum()
agg_item = agg.item()
print(agg_item, type(agg_item))
tensor.add_(5)
print(tensor)
print(tensor.view(2, 6).shape, tensor.unsqueeze(0).shape, tensor.t().shape)
print(tensor.mean(dim=0), tensor.max(dim=1).values, tensor.argmax(dim=1))
print(torch.stack([tensor[0], tensor[1]]).shape)
n = tensor.numpy()
print(type(n).__name__, n.dtype, n.shape)
print(x_data.float() / 3)
print((x_data > 2).sum().item(), x_data[x_data > 1])

# Autograd
x = torch.ones(5)
y = torch.zeros(3)
w = torch.tensor(np.linspace(-1, 1, 15, dtype=np.float32).reshape(5, 3), requires_grad=True)
b = torch.tensor([0.1, -0.2, 0.3], requires_grad=True)
z = torch.matmul(x, w) + b
loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
print(f"Gradient function for z = {type(z.grad_fn).__name__}")
print(f"Gradient function for loss = {type(loss.grad_fn).__name__}")
loss.backward()
print(w.grad)
print(b.grad)
print(round(loss.item(), 5))
z = torch.matmul(x, w) + b
print(z.requires_grad)
with torch.no_grad():
    z = torch.matmul(x, w) + b
print(z.requires_grad)
z_det = (torch.matmul(x, w) + b).detach()
print(z_det.requires_grad)

inp = torch.eye(4, 5, requires_grad=True)
out = (inp + 1).pow(2).t()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"First call\n{inp.grad}")
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\nSecond call\n{inp.grad}")
inp.grad.zero_()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\nCall after zeroing gradients\n{inp.grad}")

a = torch.tensor([2.0, 3.0], requires_grad=True)
b = torch.tensor([6.0, 4.0], requires_grad=True)
Q = 3 * a**3 - b**2
Q.backward(gradient=torch.tensor([1.0, 1.0]))
print(9 * a**2 == a.grad)
print(-2 * b == b.grad)
print(a.grad, b.grad)
