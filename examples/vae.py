"""A variational autoencoder (Kingma and Welling 2013) on the 8x8 handwritten digits.

The encoder maps an image to a Gaussian over a small latent space (a mean and a log-variance
per dimension); a latent vector is drawn from it; the decoder maps it back to pixel
probabilities. The loss is the reconstruction's binary cross-entropy plus the KL divergence from
the Gaussian to the standard normal prior, which keeps the latent space smooth enough to sample
new digits from. Written as in PyTorch; swap the three chainrule imports for torch's and it runs
unchanged (tests/nn/test_compat_programs.py checks that both give the same losses).
``python examples/vae.py [--epochs 30]`` (needs ``pip install chainrule[datasets]``)
"""

import argparse

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F


class VAE(nn.Module):
    def __init__(self, pixels=64, hidden=128, latent=4):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(pixels, hidden), nn.ReLU())
        self.to_mean = nn.Linear(hidden, latent)
        self.to_log_var = nn.Linear(hidden, latent)  # log sigma^2: any real number is valid
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(),
                                     nn.Linear(hidden, pixels), nn.Sigmoid())

    def forward(self, x):
        h = self.encoder(x)
        mean, log_var = self.to_mean(h), self.to_log_var(h)
        # The reparameterisation trick: z ~ N(mean, sigma^2) written as mean + sigma * noise,
        # so the draw is a differentiable function of mean and log_var and the randomness
        # (noise ~ N(0, 1)) is an input the gradient does not need to flow through.
        noise = cr.randn_like(mean)
        z = mean + cr.exp(0.5 * log_var) * noise
        return self.decoder(z), mean, log_var


def vae_loss(x, reconstruction, mean, log_var):
    """Negative evidence lower bound per image: reconstruction error + KL(q(z|x) || N(0, I))."""
    bce = F.binary_cross_entropy(reconstruction, x, reduction="sum")
    # closed form of the KL divergence between N(mean, sigma^2) and N(0, 1), per dimension
    kl = -0.5 * cr.sum(1 + log_var - mean.pow(2) - log_var.exp())
    return (bce + kl) / x.shape[0]


def train_step(model, optimizer, x):
    loss = vae_loss(x, *model(x))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def show(images):
    """Digits as text: one row of 8x8 images, darker pixels as denser characters."""
    shades = " .:-=+*#%@"
    rows = []
    for r in range(8):
        rows.append("  ".join("".join(shades[min(9, int(p * 10))] for p in image[r * 8:r * 8 + 8])
                              for image in images.tolist()))
    return "\n".join(rows)


def main():
    from chainrule.data import load_digits  # the one chainrule-only line: where the data is

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()

    cr.manual_seed(0)
    x_train, _, x_test, _ = (cr.tensor(t.numpy()) for t in load_digits())
    loader = cr.utils.data.DataLoader(cr.utils.data.TensorDataset(x_train), batch_size=64,
                                      shuffle=True)
    model = VAE()
    optimizer = cr.optim.Adam(model.parameters(), lr=2e-3)
    for epoch in range(args.epochs):
        total = sum(train_step(model, optimizer, xb) * len(xb) for (xb,) in loader)
        if epoch % 5 == 4 or epoch == args.epochs - 1:
            print(f"epoch {epoch + 1:3d}  train loss {total / len(x_train):.2f} nats per image")

    model.eval()
    with cr.no_grad():
        test_loss = vae_loss(x_test, *model(x_test)).item()
        print(f"test loss {test_loss:.2f} nats per image (pixels alone: 64 x ln 2 = 44.36)")
        print("test digits and their reconstructions:")
        print(show(cr.cat([x_test[:4], model(x_test[:4])[0]])))
        # new digits: decode draws from the prior, no encoder involved
        print("digits decoded from z ~ N(0, I):")
        print(show(model.decoder(cr.randn(6, model.to_mean.out_features))))


if __name__ == "__main__":
    main()
