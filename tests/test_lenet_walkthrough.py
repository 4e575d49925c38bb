"""The classic PyTorch "Neural Networks" walkthrough (LeNet) runs unchanged on numtorch and
prints what PyTorch prints.

The program text below is executed twice: once with ``import torch`` resolving to numtorch and
once to PyTorch. Every ``print`` is captured; object addresses are masked, and floating-point
numbers (random here) are masked too, so the comparison is of the text around the values:
reprs, ``Parameter containing:``, ``torch.Size``, ``grad_fn=<...>``, node names and ``None``.
A second test gives both libraries the same weights and inputs and compares the values.
"""

import builtins
import importlib
import re

import numpy as np
import pytest

import numtorch

torch = pytest.importorskip("torch")

PROGRAM = '''
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):

    def __init__(self):
        super(Net, self).__init__()
        # 1 input image channel, 6 output channels, 5x5 square convolution kernel
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        # an affine operation: y = Wx + b
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        # Max pooling over a (2, 2) window
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        # If the size is a square you can only specify a single number
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(-1, self.num_flat_features(x))
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x

    def num_flat_features(self, x):
        size = x.size()[1:]  # all dimensions except the batch dimension
        num_features = 1
        for s in size:
            num_features *= s
        return num_features


net = Net()
print(net)

params = list(net.parameters())
print(len(params))
print(params[0].size())  # conv1's .weight
print(params[1])

input = torch.randn(1, 1, 32, 32)
out = net(input)
print(out)

net.zero_grad()
out.backward(torch.randn(1, 10))

output = net(input)
target = torch.randn(10)  # a dummy target, for example
target = target.view(1, -1)  # make it the same shape as output
criterion = nn.MSELoss()

loss = criterion(output, target)
print(loss)

print(loss.grad_fn)  # MSELoss
print(loss.grad_fn.next_functions[0][0])  # Linear
print(loss.grad_fn.next_functions[0][0].next_functions[0][0])  # ReLU

net.zero_grad()     # zeroes the gradient buffers of all parameters

print('conv1.bias.grad before backward')
print(net.conv1.bias.grad)

loss.backward()

print('conv1.bias.grad after backward')
print(net.conv1.bias.grad)

learning_rate = 0.01
for f in net.parameters():
    f.data.sub_(f.grad.data * learning_rate)

import torch.optim as optim

# create your optimizer
optimizer = optim.SGD(net.parameters(), lr=0.01)

# in your training loop:
optimizer.zero_grad()   # zero the gradient buffers
output = net(input)
loss = criterion(output, target)
loss.backward()
optimizer.step()    # Does the update
print(optimizer)
'''

def _importer(package):
    """An ``__import__`` that resolves ``torch`` and ``torch.*`` to ``package``."""
    real = builtins.__import__

    def imp(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and (name == "torch" or name.startswith("torch.")):
            mod = importlib.import_module(package + name[len("torch"):])
            return mod if fromlist else importlib.import_module(package)
        return real(name, globals, locals, fromlist, level)
    return imp


def run_program(package, source=PROGRAM):
    """Execute ``source`` with ``torch`` bound to ``package``; return (printed texts, globals)."""
    printed = []

    def capture(*args, sep=" ", end="\n"):
        printed.append(sep.join(str(a) for a in args))

    env_builtins = dict(vars(builtins), __import__=_importer(package), print=capture)
    namespace = {"__builtins__": env_builtins, "__name__": "walkthrough"}
    exec(compile(source, "<walkthrough>", "exec"), namespace)
    return printed, namespace


_NUMBER = re.compile(r"-?\d+\.\d*(?:e[-+]?\d+)?")  # a printed float (integers are kept)


def mask(text):
    """Mask addresses and floating-point values; keep sizes and integers in names."""
    text = _NUMBER.sub("#", re.sub(r"0x[0-9a-fA-F]+", "0x?", text))
    return re.sub(r"\s+", " ", text).replace("[ ", "[").strip()


def _layout_and_numbers(text):
    """The printed text with every number replaced by '#', and the numbers themselves.

    Comparing the numbers with a tolerance (not digit by digit) keeps the check exact about
    layout while float32 rounding may move a printed last digit, and even carry into others.
    """
    return _NUMBER.sub("#", text), [float(n) for n in _NUMBER.findall(text)]


def test_walkthrough_prints_what_torch_prints():
    ours, _ = run_program("numtorch")
    theirs, _ = run_program("torch")
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert mask(a) == mask(b), f"\nnumtorch:\n{a}\ntorch:\n{b}"


def test_walkthrough_exact_lines():
    ours, _ = run_program("numtorch")
    assert ours[0] == (
        "Net(\n"
        "  (conv1): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))\n"
        "  (conv2): Conv2d(6, 16, kernel_size=(5, 5), stride=(1, 1))\n"
        "  (fc1): Linear(in_features=400, out_features=120, bias=True)\n"
        "  (fc2): Linear(in_features=120, out_features=84, bias=True)\n"
        "  (fc3): Linear(in_features=84, out_features=10, bias=True)\n"
        ")")
    assert ours[1:3] == ["10", "torch.Size([6, 1, 5, 5])"]
    assert ours[3].startswith("Parameter containing:\ntensor([")
    assert ours[3].endswith("requires_grad=True)")
    assert ours[4].endswith("grad_fn=<AddmmBackward0>)")
    assert ours[5].endswith("grad_fn=<MseLossBackward0>)")
    assert [mask(s) for s in ours[6:9]] == ["<MseLossBackward0 object at 0x?>",
                                            "<AddmmBackward0 object at 0x?>",
                                            "<AccumulateGrad object at 0x?>"]
    assert ours[9:11] == ["conv1.bias.grad before backward", "None"]
    assert ours[11] == "conv1.bias.grad after backward"
    assert ours[12].startswith("tensor([") and "grad_fn" not in ours[12]


def _graph(tensor):
    """Every node reachable from ``tensor.grad_fn``, depth first: (name, [next names])."""
    out, seen, stack = [], set(), [tensor.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        nexts = [n for n, _ in node.next_functions]
        out.append((type(node).__name__, [None if n is None else type(n).__name__
                                          for n in nexts]))
        stack.extend(reversed(nexts))
    return out


def test_backward_graph_matches_torch():
    _, ours = run_program("numtorch")
    _, theirs = run_program("torch")
    ours_out = ours["net"](ours["input"])
    theirs_out = theirs["net"](theirs["input"])
    g1 = _graph(ours["criterion"](ours_out, ours["target"]))
    g2 = _graph(theirs["criterion"](theirs_out, theirs["target"]))
    assert g1 == g2
    names = {name for name, _ in g1}
    assert {"ConvolutionBackward0", "MaxPool2DWithIndicesBackward0", "ReluBackward0",
            "ViewBackward0", "AddmmBackward0", "TBackward0", "MseLossBackward0",
            "AccumulateGrad"} <= names


def test_same_weights_give_same_values_and_updates():
    """Both libraries, fed the same weights, input and target, agree on every number."""
    _, ours = run_program("numtorch")
    _, theirs = run_program("torch")
    net_a, net_b = ours["net"], theirs["net"]
    net_a.load_state_dict({k: numtorch.tensor(v.numpy()) for k, v in net_b.state_dict().items()})
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 1, 32, 32)).astype(np.float32)
    t = rng.standard_normal((4, 10)).astype(np.float32)
    results = []
    for lib, net, ns in ((numtorch, net_a, ours), (torch, net_b, theirs)):
        net.zero_grad()
        out = net(lib.tensor(x))
        loss = ns["criterion"](out, lib.tensor(t))
        loss.backward()
        grads = [p.grad.numpy().copy() for p in net.parameters()]
        for f in net.parameters():
            f.data.sub_(f.grad.data * 0.01)
        opt = ns["optim"].SGD(net.parameters(), lr=0.01, momentum=0.9)
        for _ in range(2):
            opt.zero_grad()
            ns["criterion"](net(lib.tensor(x)), lib.tensor(t)).backward()
            opt.step()
        printed = [str(out), str(loss), str(net.conv1.bias.grad), str(net.fc3.bias)]
        results.append((out.detach().numpy(), loss.item(), grads,
                        [p.detach().numpy() for p in net.parameters()], printed))
    (oa, la, ga, pa, sa), (ob, lb, gb, pb, sb) = results
    # same numbers print the same: identical layout, values equal to float32 rounding
    for text_a, text_b in zip(sa, sb):
        layout_a, nums_a = _layout_and_numbers(text_a)
        layout_b, nums_b = _layout_and_numbers(text_b)
        assert layout_a == layout_b
        np.testing.assert_allclose(nums_a, nums_b, rtol=2e-3, atol=2e-4)
    np.testing.assert_allclose(oa, ob, rtol=1e-4, atol=1e-6)
    assert abs(la - lb) <= 1e-5 * abs(lb) + 1e-7
    for u, v in zip(ga + pa, gb + pb):
        np.testing.assert_allclose(u, v, rtol=1e-4, atol=1e-6)


def test_wrong_input_size_errors_like_torch():
    _, ours = run_program("numtorch")
    _, theirs = run_program("torch")
    for ns, lib in ((ours, numtorch), (theirs, torch)):
        with pytest.raises(RuntimeError) as info:
            ns["net"].fc1(lib.randn(1, 399))
        assert "mat1 and mat2 shapes cannot be multiplied (1x399 and 400x120)" in str(info.value)
