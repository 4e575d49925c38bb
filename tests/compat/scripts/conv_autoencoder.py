"""A convolutional autoencoder: strided Conv2d down, ConvTranspose2d up, Sigmoid output,
MSELoss, Adam with weight decay, a StepLR schedule and a few epochs on fixed images."""
import numpy as np
import torch
import torch.nn as nn


class AutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU(True),
            nn.Conv2d(4, 8, 3, stride=2, padding=1), nn.ReLU(True),
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1), nn.ReLU(True),
            nn.ConvTranspose2d(4, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid(),
        )

    def forward(self, x):
        return self.decoder(self.encoder(x))


model = AutoEncoder()
print(model)
rng = np.random.default_rng(0)
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.tensor(rng.uniform(-0.3, 0.3, tuple(p.shape))))
images = torch.tensor(rng.uniform(0, 1, (8, 1, 16, 16)), dtype=torch.float32)
print(model.encoder(images).shape, model(images).shape)

criterion = nn.MSELoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-5)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
for epoch in range(4):
    for i in range(0, 8, 4):
        img = images[i:i + 4]
        output = model(img)
        loss = criterion(output, img)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    scheduler.step()
    print(f"epoch [{epoch + 1}/4], loss:{loss.item():.4f}, lr:{scheduler.get_last_lr()[0]:.4f}")
print(type(loss.grad_fn.next_functions[0][0]).__name__)
