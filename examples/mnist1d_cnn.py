"""MNIST-1D: where a convolution's spatial prior pays. A small 1-D CNN and an MLP of similar
size, trained the same way on the same 4000 signals, tested on 1000.

MNIST-1D (Greydanus 2020, the ``mnist1d`` package, generated locally from a seed) hides ten
1-D digit templates at a random place in a 40-sample signal, scaled, sheared and noisy. An MLP
must learn each digit at every position separately; a convolution shares its weights over
positions, and pays off: the paper reports 94% for its CNN, 68% for its MLP.
Run: ``python examples/mnist1d_cnn.py [--steps 6000 --seed 0]`` (needs
``pip install chainrule[datasets]``). Seed 0, 6000 steps: CNN 93.7%, MLP 67.9%.
The models and the training loop are PyTorch code with the import swapped.
"""

import argparse

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.data import load_mnist1d


class ConvNet(nn.Module):
    """The paper's CNN: three strided convolutions (40 -> 19 -> 10 -> 5) and a linear read-out."""

    def __init__(self, channels: int = 25, classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(1, channels, 5, stride=2, padding=1)
        self.conv2 = nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.conv3 = nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.head = nn.Linear(channels * 5, classes)

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        x = x.unsqueeze(1)  # (N, 40) -> (N, 1, 40): one input channel
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.relu(self.conv3(x))
        return self.head(x.flatten(1))


def mlp(width: int = 100, classes: int = 10) -> nn.Module:
    """The paper's MLP: two hidden layers of 100 ReLUs."""
    return nn.Sequential(nn.Linear(40, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                         nn.Linear(width, classes))


def accuracy(model: nn.Module, x: cr.Tensor, y: cr.Tensor) -> float:
    with cr.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def train(model: nn.Module, data: tuple, steps: int, seed: int, batch: int = 100,
          lr: float = 1e-2) -> float:
    """Adam on random batches (the paper's recipe); returns the test accuracy."""
    x_train, y_train, x_test, y_test = data
    generator = cr.Generator().manual_seed(seed)
    opt = cr.optim.Adam(model.parameters(), lr=lr)
    for step in range(steps):
        idx = cr.randint(len(y_train), (batch,), generator=generator)
        loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 1000 == 0 or step == steps - 1:
            print(f"  step {step:5d}  train loss {loss.item():.4f}  "
                  f"test accuracy {accuracy(model, x_test, y_test):.4f}")
    return accuracy(model, x_test, y_test)


def main(steps: int = 6000, seed: int = 0) -> dict:
    data = load_mnist1d()  # the package's default: 5000 signals, seed 42, 4000 / 1000 split
    results = {}
    for name, build in (("CNN", ConvNet), ("MLP", mlp)):
        cr.manual_seed(seed)
        model = build()
        print(f"{name}: {sum(p.numel() for p in model.parameters())} parameters")
        results[name] = train(model, data, steps, seed)
    for name, acc in results.items():
        print(f"MNIST-1D {name}: test accuracy {acc:.2%} after {steps} steps")
    print(f"gap CNN - MLP: {results['CNN'] - results['MLP']:.2%}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(args.steps, args.seed)
