"""The benchmarked networks, written once against a ``torch``-like module.

``lenet5(numtorch)`` and ``lenet5(torch)`` build the same network from the same source, so the
two libraries run identical code (the suite then loads the same weights into both).

These are the networks of :mod:`numtorch.apps.models` (what ``numtorch mnist`` trains), written
again against a library argument: the package's classes are built on numtorch alone, and
numtorch must not import torch. ``tests/test_benchmarks.py`` checks that the two stay the same.
"""

import numpy as np

__all__ = ["lenet5", "mlp", "make_batch", "MODELS", "INPUT_SHAPES"]

#: Per-sample input shape of each model.
INPUT_SHAPES = {"lenet": (1, 32, 32), "mlp": (1, 28, 28)}


def lenet5(torch, num_classes=10):
    r"""LeNet-5 on ``1×32×32`` inputs, as in the seed.

    conv 5×5 (1→6) → ReLU → max-pool 2 → conv 5×5 (6→16) → ReLU → max-pool 2 → flatten (400)
    → linear 120 → ReLU → linear 84 → ReLU → linear ``num_classes`` (logits).

    Args:
        torch: the library module to build with (``numtorch`` or ``torch``).
        num_classes (int): width of the last layer. Default: 10.
    """
    nn, F = torch.nn, torch.nn.functional

    class LeNet5(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, num_classes)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = torch.flatten(x, 1)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return self.fc3(x)

    return LeNet5()


def mlp(torch, num_classes=10):
    r"""A multilayer perceptron 784 → 128 → 64 → ``num_classes`` with ReLU, on ``1×28×28`` inputs.

    Args:
        torch: the library module to build with (``numtorch`` or ``torch``).
        num_classes (int): width of the last layer. Default: 10.
    """
    nn, F = torch.nn, torch.nn.functional

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(28 * 28, 128)
            self.fc2 = nn.Linear(128, 64)
            self.fc3 = nn.Linear(64, num_classes)

        def forward(self, x):
            x = torch.flatten(x, 1)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return self.fc3(x)

    return MLP()


MODELS = {"lenet": lenet5, "mlp": mlp}


def make_batch(model, batch, seed=0, num_classes=10):
    """A deterministic float32 input batch and int64 targets as NumPy arrays."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, *INPUT_SHAPES[model])).astype(np.float32)
    y = rng.integers(0, num_classes, size=batch).astype(np.int64)
    return x, y
