"""The networks that ``numtorch mnist`` trains.

Both are ordinary ``nn.Module`` subclasses written as one would write them for PyTorch; only the
import differs.
"""

import numtorch as torch
import numtorch.nn as nn
import numtorch.nn.functional as F

__all__ = ["LeNet5", "MLP", "MODELS", "build_model"]


class LeNet5(nn.Module):
    r"""LeNet-5 for ``1×32×32`` inputs (MNIST digits padded by 2 pixels on each side).

    conv 5×5 (1→6) → ReLU → max-pool 2 → conv 5×5 (6→16) → ReLU → max-pool 2 → flatten (400)
    → linear 120 → ReLU → linear 84 → ReLU → linear ``num_classes``. Returns logits.
    """

    input_size = 32

    def __init__(self, num_classes=10):
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


class MLP(nn.Module):
    r"""A multilayer perceptron for ``28×28`` digits: 784 → 128 → 64 → ``num_classes``, ReLU."""

    input_size = 28

    def __init__(self, num_classes=10):
        super().__init__()
        self.fc1 = nn.Linear(28 * 28, 128)
        self.fc2 = nn.Linear(128, 64)
        self.fc3 = nn.Linear(64, num_classes)

    def forward(self, x):
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


MODELS = {"lenet": LeNet5, "mlp": MLP}


def build_model(name, num_classes=10):
    """A fresh model by its command-line name (``'lenet'`` or ``'mlp'``)."""
    try:
        cls = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}") from None
    return cls(num_classes)
