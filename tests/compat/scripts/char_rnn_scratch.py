"""A character-level RNN written from nn.Linear cells ("NLP From Scratch: classifying names"):
one-hot letters, a hidden state carried through a Python loop, NLLLoss, manual SGD."""
import string

import numpy as np
import torch
import torch.nn as nn

all_letters = string.ascii_letters + " .,;'"
n_letters = len(all_letters)
categories = ["English", "French", "Greek"]
names = [("Smith", 0), ("Dupont", 1), ("Papadopoulos", 2), ("Taylor", 0), ("Lefebvre", 1),
         ("Nikolaidis", 2), ("Brown", 0), ("Moreau", 1), ("Georgiou", 2)]


def letterToIndex(letter):
    return all_letters.find(letter)


def lineToTensor(line):
    tensor = torch.zeros(len(line), 1, n_letters)
    for li, letter in enumerate(line):
        tensor[li][0][letterToIndex(letter)] = 1
    return tensor


print(letterToIndex("J"), lineToTensor("Jones").size())


class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super(RNN, self).__init__()
        self.hidden_size = hidden_size
        self.i2h = nn.Linear(input_size + hidden_size, hidden_size)
        self.i2o = nn.Linear(input_size + hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, input, hidden):
        combined = torch.cat((input, hidden), 1)
        hidden = torch.tanh(self.i2h(combined))
        output = self.softmax(self.i2o(combined))
        return output, hidden

    def initHidden(self):
        return torch.zeros(1, self.hidden_size)


n_hidden = 32
rnn = RNN(n_letters, n_hidden, len(categories))
print(rnn)
rng = np.random.default_rng(0)
with torch.no_grad():
    for p in rnn.parameters():
        p.copy_(torch.tensor(rng.uniform(-0.15, 0.15, tuple(p.shape))))

criterion = nn.NLLLoss()
learning_rate = 0.05


def train(category_tensor, line_tensor):
    hidden = rnn.initHidden()
    rnn.zero_grad()
    for i in range(line_tensor.size()[0]):
        output, hidden = rnn(line_tensor[i], hidden)
    loss = criterion(output, category_tensor)
    loss.backward()
    for p in rnn.parameters():
        p.data.add_(p.grad.data, alpha=-learning_rate)
    return output, loss.item()


for epoch in range(4):
    total = 0.0
    for name, category in names:
        output, loss = train(torch.tensor([category], dtype=torch.long), lineToTensor(name))
        total += loss
    print(epoch, f"{total / len(names):.4f}")


def evaluate(line_tensor):
    hidden = rnn.initHidden()
    for i in range(line_tensor.size()[0]):
        output, hidden = rnn(line_tensor[i], hidden)
    return output


with torch.no_grad():
    for name, category in names[:4]:
        output = evaluate(lineToTensor(name))
        topv, topi = output.topk(1, 1, True)
        print(name, categories[topi[0][0].item()], f"{topv[0][0].item():.4f}")
