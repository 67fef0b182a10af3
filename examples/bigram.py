"""A character-level bigram model of names, the way a first lecture on language models builds it:
count which letter follows which, turn the counts into probabilities, sample new names with a
seeded generator; then learn the same table by gradient descent from ``manual_seed``.

Swap ``import chainrule as cr`` for ``import torch as cr`` and the output is the same: the same
seed gives PyTorch's random numbers, so a learner can check every line against the lecture.
``python examples/bigram.py``
"""

import chainrule as cr

NAMES = """emma olivia ava isabella sophia charlotte mia amelia harper evelyn abigail emily
elizabeth mila ella avery sofia camila aria scarlett victoria madison luna grace chloe penelope
layla riley zoey nora lily eleanor hannah lillian addison aubrey ellie stella natalie zoe leah
hazel violet aurora savannah audrey brooklyn bella claire skylar lucy paisley everly anna
caroline nova genesis emilia kennedy samantha maya willow kinsley naomi aaliyah elena sarah
ariana allison gabriella alice madelyn cora ruby eva serenity autumn adeline hailey gianna
valentina isla eliana quinn nevaeh ivy sadie piper lydia alexa josephine emery julia delilah
arianna vivian kaylee sophie brielle madeline""".split()


def bigrams(words):
    """(previous, next) letter indices, with '.' (index 0) marking the start and the end."""
    for w in words:
        chars = ["."] + list(w) + ["."]
        for a, b in zip(chars, chars[1:]):
            yield STOI[a], STOI[b]


LETTERS = sorted(set("".join(NAMES)))
STOI = {c: i + 1 for i, c in enumerate(LETTERS)} | {".": 0}
ITOS = {i: c for c, i in STOI.items()}
V = len(STOI)


def sample(P, g, count):
    names = []
    for _ in range(count):
        out, ix = [], 0
        while True:
            ix = cr.multinomial(P[ix], num_samples=1, replacement=True, generator=g).item()
            if ix == 0:
                break
            out.append(ITOS[ix])
        names.append("".join(out))
    return names


def main():
    counts = [[0] * V for _ in range(V)]
    for a, b in bigrams(NAMES):
        counts[a][b] += 1
    N = cr.tensor(counts)
    P = (N + 1).float()  # +1: no bigram is impossible
    P /= P.sum(1, keepdim=True)
    g = cr.Generator().manual_seed(2147483647)
    print("sampled from the counts:", " ".join(sample(P, g, 12)))
    pairs = list(bigrams(NAMES))
    nll = -sum(P[a, b].log().item() for a, b in pairs) / len(pairs)
    print(f"counts model: average negative log-likelihood {nll:.4f} over {len(pairs)} bigrams")

    # the same table as a one-layer network: logits = one_hot(previous) @ W
    xs = cr.tensor([a for a, _ in pairs])
    ys = cr.tensor([b for _, b in pairs])
    cr.manual_seed(42)
    W = cr.randn((V, V), requires_grad=True)
    print("first weights:", " ".join(f"{v:.4f}" for v in W[0, :5].tolist()))
    xenc = cr.nn.functional.one_hot(xs, num_classes=V).float()
    for step in range(30):
        logits = xenc @ W
        probs = logits.exp() / logits.exp().sum(1, keepdim=True)
        loss = -probs[cr.arange(len(pairs)), ys].log().mean()
        W.grad = None
        loss.backward()
        with cr.no_grad():
            W -= 10 * W.grad
        if step % 10 == 0 or step == 29:
            print(f"step {step:2d}  loss {loss.item():.4f}")
    print("sampled from the network:", " ".join(sample(probs_table(W), g, 5)))


def probs_table(W):
    with cr.no_grad():
        return W.exp() / W.exp().sum(1, keepdim=True)


if __name__ == "__main__":
    main()
