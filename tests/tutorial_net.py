"""The LeNet of PyTorch's "Neural Networks" tutorial, built with either library.

Shared by the tests of ``numtorch.summary`` and ``numtorch.viz``, which compare what numtorch
prints or draws for it with what torchinfo and PyTorch give for the same network. The class is
called ``Net`` as in the tutorial (the summary tables show that name).
"""


def lenet(lib):
    """The tutorial's LeNet built with ``lib`` (``numtorch`` or ``torch``): 61,706 parameters."""
    nn, F = lib.nn, lib.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = lib.flatten(x, 1)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return self.fc3(x)

    return Net()
