"""A character-level LSTM language model: embeddings, a 2-layer ``nn.LSTM`` (batch_first),
a linear read-out; trained with Adam and gradient clipping, then sampled one character at a
time by carrying the LSTM's ``(h, c)`` state forward.

It learns from the source of Python's own ``textwrap`` module (on every machine, offline).
Swap the three chainrule imports for torch's and it runs unchanged (tests/nn/test_compat_programs.py
checks that both give the same losses). ``python examples/char_lstm.py [--steps 1000 --hidden 256]``
"""

import argparse
import inspect
import math
import textwrap

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F


class CharLSTM(nn.Module):
    def __init__(self, vocab, embed=16, hidden=32, layers=2, dropout=0.0):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, num_layers=layers, batch_first=True,
                            dropout=dropout)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, idx, state=None):
        out, state = self.lstm(self.embed(idx), state)
        return self.head(out), state


def configure_optimizer(model, lr, weight_decay):
    """Adam with (L2) weight decay on the weight matrices only."""
    named = list(model.named_parameters())
    groups = [{"params": [p for n, p in named if "weight" in n], "weight_decay": weight_decay},
              {"params": [p for n, p in named if "weight" not in n], "weight_decay": 0.0}]
    return cr.optim.Adam(groups, lr=lr)


def train_step(model, optimizer, x, y):
    logits, _ = model(x)
    loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    return loss.item()


def get_batch(data, batch, length, generator):
    starts = cr.randint(len(data) - length - 1, (batch,), generator=generator).tolist()
    x = cr.stack([data[i:i + length] for i in starts])
    y = cr.stack([data[i + 1:i + 1 + length] for i in starts])
    return x, y


@cr.no_grad()
def generate(model, first, count, generator):
    model.eval()
    idx, state, out = cr.tensor([[first]]), None, [first]
    for _ in range(count):
        logits, state = model(idx, state)
        idx = cr.multinomial(F.softmax(logits[:, -1], dim=-1), 1, generator=generator)
        out.append(idx.item())
    model.train()
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--length", type=int, default=32)
    args = parser.parse_args()

    text = inspect.getsource(textwrap)
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = cr.tensor([stoi[c] for c in text])
    split = int(0.9 * len(data))
    train, val = data[:split], data[split:]

    cr.manual_seed(0)
    g = cr.Generator().manual_seed(1)
    model = CharLSTM(len(chars), hidden=args.hidden)
    optimizer = configure_optimizer(model, lr=1e-2, weight_decay=1e-4)
    every = max(1, args.steps // 10)
    for step in range(args.steps):
        loss = train_step(model, optimizer, *get_batch(train, 16, args.length, g))
        if step % every == 0 or step == args.steps - 1:
            print(f"step {step:4d}  train loss {loss:.4f}")
    with cr.no_grad():
        x, y = get_batch(val, 64, args.length, g)
        logits, _ = model(x)
        val_loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1)).item()
    print(f"validation loss {val_loss:.4f} (uniform guess: {math.log(len(chars)):.4f})")
    sample = generate(model, stoi["d"], 80, g)
    print("sample:", repr("".join(chars[i] for i in sample)))


if __name__ == "__main__":
    main()
