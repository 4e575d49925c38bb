"""Mistakes a type checker must catch before the program runs (never run; tests/test_typing.py
checks that mypy reports exactly the lines marked ``# E: <error code>``, and nothing else).
"""

import numtorch as torch
import numtorch.nn as nn

x = torch.zeros(2, 3)
x.sum(dim="a")  # E: arg-type
torch.zeros(2).no_such_method()  # E: attr-defined
torch.zeros("2")  # E: arg-type
x.view(2, "3")  # E: call-overload
x.shape = torch.Size([3, 2])  # E: misc
n: int = x.item()  # E: assignment
values: str = x.max(1).values  # E: assignment
x.grad.zero_()  # E: union-attr
torch.manual_seed("0")  # E: arg-type
half = torch.float33  # E: attr-defined
with torch.no_grad(True):  # E: call-overload
    pass
layer = nn.Linear("3", 4)  # E: arg-type
ok = x.sum(dim=(0, 1), keepdim=True) + x.mean(1, keepdim=True) * 2
