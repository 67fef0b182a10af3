"""A tiny character-level GPT, written the way people write their first one: token and position
embeddings, blocks of causal self-attention (a registered lower-triangular mask) and an MLP,
weight tying, ``apply`` for init, AdamW with weight decay on matrices only, gradient clipping.

It learns from text every machine has offline: the source of Python's own ``textwrap`` module.
Swap the three chainrule imports for torch's and it runs unchanged (tests/nn/test_compat_programs.py
checks that both give the same losses). ``python examples/tiny_gpt.py [--steps 2000 --width 128]``
"""

import argparse
import inspect
import math
import textwrap

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F


class CausalSelfAttention(nn.Module):
    def __init__(self, width, heads, context):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        position = cr.arange(context)
        # a query may look at its own position and the ones before it
        self.register_buffer("causal", position[:, None] >= position[None, :])

    def forward(self, x):
        batch, length, width = x.shape
        q, k, v = self.qkv(x).split(width, dim=2)
        q, k, v = (t.view(batch, length, self.heads, width // self.heads).transpose(1, 2)
                   for t in (q, k, v))
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        scores = scores.masked_fill(~self.causal[:length, :length], float("-inf"))
        y = F.softmax(scores, dim=-1) @ v
        return self.proj(y.transpose(1, 2).contiguous().view(batch, length, width))


class Block(nn.Module):
    def __init__(self, width, heads, context):
        super().__init__()
        self.ln1 = nn.LayerNorm(width)
        self.attn = CausalSelfAttention(width, heads, context)
        self.ln2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(),
                                 nn.Linear(4 * width, width))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    def __init__(self, vocab, width=32, heads=2, layers=2, context=32):
        super().__init__()
        self.context = context
        self.tokens = nn.Embedding(vocab, width)
        self.positions = nn.Embedding(context, width)
        self.blocks = nn.Sequential(*[Block(width, heads, context) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab, bias=False)
        self.head.weight = self.tokens.weight  # weight tying: one matrix, two uses
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, idx):
        length = idx.shape[1]
        x = self.tokens(idx) + self.positions(cr.arange(length))
        return self.head(self.ln_f(self.blocks(x)))


def configure_optimizer(model, lr, weight_decay):
    """AdamW with weight decay on the matrices only (not on biases and LayerNorm gains)."""
    params = [p for _, p in model.named_parameters()]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return cr.optim.AdamW(groups, lr=lr, betas=(0.9, 0.99))


def train_step(model, optimizer, x, y):
    logits = model(x)
    loss = F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1))
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    return loss.item()


def get_batch(data, batch, context, generator):
    starts = cr.randint(len(data) - context - 1, (batch,), generator=generator).tolist()
    x = cr.stack([data[i:i + context] for i in starts])
    y = cr.stack([data[i + 1:i + 1 + context] for i in starts])
    return x, y


@cr.no_grad()
def generate(model, idx, count, generator):
    model.eval()
    for _ in range(count):
        logits = model(idx[:, -model.context:])[:, -1, :]
        nxt = cr.multinomial(F.softmax(logits, dim=-1), num_samples=1, generator=generator)
        idx = cr.cat([idx, nxt], dim=1)
    model.train()
    return idx


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--context", type=int, default=32)
    args = parser.parse_args()

    text = inspect.getsource(textwrap)
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = cr.tensor([stoi[c] for c in text])
    split = int(0.9 * len(data))
    train, val = data[:split], data[split:]

    cr.manual_seed(0)
    g = cr.Generator().manual_seed(1)
    model = GPT(len(chars), width=args.width, layers=args.layers, context=args.context)
    optimizer = configure_optimizer(model, lr=3e-3, weight_decay=0.1)
    every = max(1, args.steps // 10)
    for step in range(args.steps):
        loss = train_step(model, optimizer, *get_batch(train, 16, args.context, g))
        if step % every == 0 or step == args.steps - 1:
            print(f"step {step:4d}  train loss {loss:.4f}")
    with cr.no_grad():
        x, y = get_batch(val, 64, args.context, g)
        logits = model(x)
        val_loss = F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1)).item()
    print(f"validation loss {val_loss:.4f} (uniform guess: {math.log(len(chars)):.4f})")
    sample = generate(model, cr.tensor([[stoi["d"]]]), 80, g)[0].tolist()
    print("sample:", repr("".join(chars[i] for i in sample)))


if __name__ == "__main__":
    main()
