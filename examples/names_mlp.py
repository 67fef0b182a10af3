"""Inventing names one character at a time: an MLP over character embeddings (Bengio et al.
2003) with a batch normalization layer written by hand.

The names are Python's own standard-library module names (``sys.stdlib_module_names``, about
300 of them, on every machine with Python 3.10+): ``argparse``, ``asyncio``, ``zipfile``... The
model reads the previous ``block`` characters, looks each up in an embedding table, joins the
vectors, and predicts the next character. Written as in PyTorch; swap the three chainrule
imports for torch's and it runs unchanged (tests/nn/test_compat_programs.py checks that both
give the same losses). ``python examples/names_mlp.py [--steps 3000]``
"""

import argparse
import sys

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F

END = "."  # marks the start (as padding) and the end of every name


def build_dataset(words, stoi, block):
    """Every (context, next character) pair of every word: ``'ast'`` with block 3 gives
    ``... -> a``, ``..a -> s``, ``.as -> t``, ``ast -> .``."""
    xs, ys = [], []
    for word in words:
        context = [stoi[END]] * block
        for ch in word + END:
            xs.append(context)
            ys.append(stoi[ch])
            context = context[1:] + [stoi[ch]]
    return cr.tensor(xs), cr.tensor(ys)


class BatchNorm(nn.Module):
    """Batch normalization by hand: in training, normalise each feature with the batch's mean
    and variance and keep running averages of both; in evaluation, use the running averages
    (one example at a time has no batch statistics)."""

    def __init__(self, features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.gain = nn.Parameter(cr.ones(features))
        self.bias = nn.Parameter(cr.zeros(features))
        # buffers: saved in the state_dict, moved by .to(), but not trained
        self.register_buffer("running_mean", cr.zeros(features))
        self.register_buffer("running_var", cr.ones(features))

    def forward(self, x):
        if self.training:
            mean = x.mean(0, keepdim=True)
            var = x.var(0, keepdim=True)  # unbiased, as the running estimate should be
            with cr.no_grad():
                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean[0])
                self.running_var.mul_(1 - self.momentum).add_(self.momentum * var[0])
            # normalise with the biased variance, as the batch really is
            var = x.var(0, keepdim=True, unbiased=False)
        else:
            mean, var = self.running_mean, self.running_var
        return self.gain * (x - mean) / cr.sqrt(var + self.eps) + self.bias


class NameMLP(nn.Module):
    def __init__(self, vocab, block=3, embed=10, hidden=64):
        super().__init__()
        self.block = block
        self.embedding = nn.Embedding(vocab, embed)
        # no bias: the batch norm right after it subtracts the mean, bias included
        self.hidden = nn.Linear(block * embed, hidden, bias=False)
        self.norm = BatchNorm(hidden)
        self.out = nn.Linear(hidden, vocab)
        with cr.no_grad():
            # a small last layer: the first predictions are close to uniform, so the first
            # loss is about log(vocab) instead of a confident mistake
            self.out.weight.mul_(0.1)
            self.out.bias.zero_()

    def forward(self, context):
        x = self.embedding(context).flatten(1)  # (batch, block * embed): the joined vectors
        return self.out(cr.tanh(self.norm(self.hidden(x))))


def train_step(model, x, y, lr):
    """One step of plain gradient descent, the update written out."""
    loss = F.cross_entropy(model(x), y)
    for p in model.parameters():
        p.grad = None
    loss.backward()
    for p in model.parameters():
        p.data += -lr * p.grad
    return loss.item()


@cr.no_grad()
def sample(model, itos, stoi, generator, longest=30):
    model.eval()
    context, out = [stoi[END]] * model.block, []
    while len(out) < longest:
        probs = F.softmax(model(cr.tensor([context])), dim=1)
        ix = cr.multinomial(probs, num_samples=1, generator=generator).item()
        if ix == stoi[END]:
            break
        out.append(itos[ix])
        context = context[1:] + [ix]
    model.train()
    return "".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()

    words = sorted(name.lstrip("_") for name in sys.stdlib_module_names)
    chars = sorted(set("".join(words)) | {END})
    stoi = {c: i for i, c in enumerate(chars)}
    itos = dict(enumerate(chars))

    cr.manual_seed(0)
    g = cr.Generator().manual_seed(2147483647)
    order = cr.randperm(len(words), generator=g).tolist()
    split = int(0.9 * len(words))
    x_train, y_train = build_dataset([words[i] for i in order[:split]], stoi, block=3)
    x_val, y_val = build_dataset([words[i] for i in order[split:]], stoi, block=3)
    model = NameMLP(len(chars))
    print(f"{len(words)} names, {len(x_train)} training examples, "
          f"{sum(p.numel() for p in model.parameters())} parameters")

    every = max(1, args.steps // 5)
    for step in range(args.steps):
        ix = cr.randint(0, len(x_train), (args.batch,), generator=g)
        lr = 0.1 if step < args.steps * 3 // 4 else 0.01  # a step decay near the end
        loss = train_step(model, x_train[ix], y_train[ix], lr)
        if step % every == 0 or step == args.steps - 1:
            print(f"step {step:5d}  train loss {loss:.4f}")

    model.eval()
    with cr.no_grad():
        val = F.cross_entropy(model(x_val), y_val).item()
    print(f"validation loss {val:.4f} (the running statistics, not the batch's)")
    print("invented:", ", ".join(sample(model, itos, stoi, g) for _ in range(8)))


if __name__ == "__main__":
    main()
