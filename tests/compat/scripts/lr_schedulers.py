"""Learning-rate schedulers stepped once per epoch, as in the torch.optim documentation."""
import torch
from torch import nn
from torch.optim import SGD, Adam
from torch.optim.lr_scheduler import (CosineAnnealingLR, ExponentialLR, LambdaLR, LinearLR,
                                      MultiStepLR, OneCycleLR, ReduceLROnPlateau, SequentialLR,
                                      StepLR)


def make_optimizer(lr=0.1):
    model = nn.Linear(2, 1)
    return SGD(model.parameters(), lr=lr, momentum=0.9)


def run(name, make_scheduler, epochs=8, lr=0.1):
    optimizer = make_optimizer(lr)
    scheduler = make_scheduler(optimizer)
    lrs = []
    for _ in range(epochs):
        optimizer.step()
        lrs.append(round(scheduler.get_last_lr()[0], 6))
        scheduler.step()
    print(f"{name:12s}", lrs, round(optimizer.param_groups[0]["lr"], 6))


run("StepLR", lambda o: StepLR(o, step_size=3, gamma=0.5))
run("MultiStepLR", lambda o: MultiStepLR(o, milestones=[2, 5], gamma=0.1))
run("Exponential", lambda o: ExponentialLR(o, gamma=0.9))
run("Cosine", lambda o: CosineAnnealingLR(o, T_max=6, eta_min=0.01))
run("LambdaLR", lambda o: LambdaLR(o, lr_lambda=lambda epoch: 0.95 ** epoch))
run("LinearLR", lambda o: LinearLR(o, start_factor=0.25, total_iters=4))
run("Sequential", lambda o: SequentialLR(o, [LinearLR(o, start_factor=0.5, total_iters=2),
                                             ExponentialLR(o, gamma=0.8)], milestones=[3]))
run("OneCycle", lambda o: OneCycleLR(o, max_lr=1.0, total_steps=10), epochs=10)

optimizer = make_optimizer()
scheduler = ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=1)
for epoch, val_loss in enumerate([1.0, 0.9, 0.95, 0.97, 0.96, 0.8, 0.85, 0.9, 0.91]):
    scheduler.step(val_loss)
    print("plateau", epoch, optimizer.param_groups[0]["lr"])

# Two schedulers chained on one optimizer, and a state_dict round trip.
model = nn.Linear(2, 1)
optimizer = Adam(model.parameters(), lr=0.01)
s1 = ExponentialLR(optimizer, gamma=0.9)
s2 = MultiStepLR(optimizer, milestones=[3, 5], gamma=0.1)
for epoch in range(6):
    optimizer.step()
    s1.step()
    s2.step()
    print("chained", epoch, f"{optimizer.param_groups[0]['lr']:.6g}")
state = s2.state_dict()
print(sorted(k for k in state if not k.startswith("_")), state["last_epoch"])
