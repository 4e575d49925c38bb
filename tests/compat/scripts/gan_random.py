"""A tiny GAN on random 2-D points ("DCGAN tutorial" training loop, fully connected): two models,
two Adam optimizers, BCELoss, real/fake labels, and detach() between the two updates."""
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

nz = 4
real_label = 1.
fake_label = 0.


class Generator(nn.Module):
    def __init__(self):
        super(Generator, self).__init__()
        self.main = nn.Sequential(nn.Linear(nz, 16), nn.LeakyReLU(0.2, inplace=True),
                                  nn.Linear(16, 2))

    def forward(self, input):
        return self.main(input)


class Discriminator(nn.Module):
    def __init__(self):
        super(Discriminator, self).__init__()
        self.main = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2, inplace=True),
                                  nn.Linear(16, 1), nn.Sigmoid())

    def forward(self, input):
        return self.main(input)


rng = np.random.default_rng(0)


def weights_init(m):
    classname = m.__class__.__name__
    if classname.find("Linear") != -1:
        with torch.no_grad():
            m.weight.copy_(torch.tensor(rng.normal(0.0, 0.3, tuple(m.weight.shape))))
            m.bias.fill_(0.0)


netG = Generator()
netG.apply(weights_init)
print(netG)
netD = Discriminator()
netD.apply(weights_init)
print(netD)

criterion = nn.BCELoss()
fixed_noise = torch.tensor(rng.standard_normal((8, nz)), dtype=torch.float32)
optimizerD = optim.Adam(netD.parameters(), lr=0.01, betas=(0.5, 0.999))
optimizerG = optim.Adam(netG.parameters(), lr=0.01, betas=(0.5, 0.999))

for i in range(6):
    real_cpu = torch.tensor(rng.normal([2.0, -1.0], 0.5, (16, 2)), dtype=torch.float32)
    b_size = real_cpu.size(0)
    # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
    netD.zero_grad()
    label = torch.full((b_size,), real_label, dtype=torch.float)
    output = netD(real_cpu).view(-1)
    errD_real = criterion(output, label)
    errD_real.backward()
    D_x = output.mean().item()
    noise = torch.tensor(rng.standard_normal((b_size, nz)), dtype=torch.float32)
    fake = netG(noise)
    label.fill_(fake_label)
    output = netD(fake.detach()).view(-1)
    errD_fake = criterion(output, label)
    errD_fake.backward()
    D_G_z1 = output.mean().item()
    errD = errD_real + errD_fake
    optimizerD.step()
    # (2) Update G network: maximize log(D(G(z)))
    netG.zero_grad()
    label.fill_(real_label)
    output = netD(fake).view(-1)
    errG = criterion(output, label)
    errG.backward()
    D_G_z2 = output.mean().item()
    optimizerG.step()
    print(f"[{i}] Loss_D: {errD.item():.4f} Loss_G: {errG.item():.4f} "
          f"D(x): {D_x:.4f} D(G(z)): {D_G_z1:.4f} / {D_G_z2:.4f}")

with torch.no_grad():
    fake = netG(fixed_noise).detach().cpu()
print(fake.shape, [round(v, 4) for v in fake.mean(0).tolist()])
print(fake.requires_grad, netG.main[0].weight.grad is not None)
