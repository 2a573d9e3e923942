"""Learn an edge-detection kernel back from its output: the classic first exercise.

1. Write the 2-D cross-correlation `corr2d` as the textbook loop.
2. Make a 6x8 image with a dark vertical band, and find its edges with K = [[-1, 1]].
3. Forget K, start from a random kernel, and learn it back by gradient descent
   on the squared error between our output and the edge map.

    python examples/edge_kernel.py            # hand-written Conv2D (loop) + plain gradient descent
    python examples/edge_kernel.py --module   # nn.Conv2d + optim.SGD instead
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import tinyconv as torch  # noqa: E402  (the PyTorch tutorial code, with only this import changed)
from tinyconv import nn  # noqa: E402


def corr2d(X, K):
    """2-D cross-correlation of one image X (h_x, w_x) with one kernel K (h, w), stride 1, no padding."""
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            # Y[i, j] is the window of X under the kernel, weighted by K and summed.
            # Assigning into Y is recorded by autograd, so gradients flow back to K.
            Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
    return Y


class Conv2D(nn.Module):
    """A one-channel convolution layer built on corr2d: y = corr2d(x, weight) + bias."""

    def __init__(self, kernel_size):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(kernel_size))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return corr2d(x, self.weight) + self.bias


def edge_image():
    """6x8 ones with columns 2..5 set to 0: a dark vertical band with two edges."""
    X = torch.ones((6, 8))
    X[:, 2:6] = 0
    return X


def train_by_hand(X, Y, steps, lr, log_every):
    """Plain gradient descent on the hand-written Conv2D: update .data, zero the grads."""
    conv2d = Conv2D(kernel_size=(1, 2))
    losses = []
    for step in range(1, steps + 1):
        Y_hat = conv2d(X)
        loss = ((Y_hat - Y) ** 2).sum()
        loss.backward()
        losses.append(loss.item())
        # The update itself must not be recorded: change the values through .data.
        conv2d.weight.data -= lr * conv2d.weight.grad
        conv2d.bias.data -= lr * conv2d.bias.grad
        conv2d.weight.grad.zero_()
        conv2d.bias.grad.zero_()
        if step % log_every == 0:
            print(f"step {step}, loss {loss.item():.3f}")
    return conv2d.weight.data.reshape(1, 2), conv2d.bias.data.reshape(()), losses


def train_with_modules(X, Y, steps, lr, log_every):
    """The same, with nn.Conv2d (shape (N, C, H, W)) and optim.SGD doing the bookkeeping."""
    conv2d = nn.Conv2d(1, 1, kernel_size=(1, 2))
    with torch.no_grad():  # start from the same kind of kernel as the hand-written version
        conv2d.weight.copy_(torch.randn(1, 1, 1, 2))
        conv2d.bias.zero_()
    optimizer = torch.optim.SGD(conv2d.parameters(), lr=lr)
    X4, Y4 = X.reshape((1, 1) + X.shape), Y.reshape((1, 1) + Y.shape)
    losses = []
    for step in range(1, steps + 1):
        optimizer.zero_grad()
        loss = ((conv2d(X4) - Y4) ** 2).sum()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if step % log_every == 0:
            print(f"step {step}, loss {loss.item():.3f}")
    return conv2d.weight.data.reshape(1, 2), conv2d.bias.data.reshape(()), losses


def plot(path, X, Y, Y_learned, losses):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print('(--plot needs matplotlib: pip install ".[plot]")')
        return
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.2))
    for ax, img, title in zip(axes, (X, Y, Y_learned), ("image X", "target edges Y = X * [[-1, 1]]",
                                                          "learned output")):
        im = ax.imshow(img.numpy(), cmap="gray" if img is X else "coolwarm", vmin=None if img is X else -1,
                       vmax=None if img is X else 1)
        ax.set_title(title)
        ax.set_xticks(range(img.shape[1]))
        fig.colorbar(im, ax=ax, fraction=0.046)
    axes[3].semilogy(range(1, len(losses) + 1), losses)
    axes[3].set_title("loss (sum of squares)")
    axes[3].set_xlabel("step")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"saved figure to {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20, help="gradient-descent steps (default 20)")
    parser.add_argument("--lr", type=float, default=0.01, help="learning rate (default 0.01)")
    parser.add_argument("--seed", type=int, default=0, help="random seed for the initial kernel (default 0)")
    parser.add_argument("--module", action="store_true", help="use nn.Conv2d + optim.SGD instead of the loop")
    parser.add_argument("--log-every", type=int, default=5, help="print the loss every N steps (default 5)")
    parser.add_argument("--plot", metavar="PATH", help="save a figure (needs matplotlib)")
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)

    print("corr2d([[0,1,2],[3,4,5],[6,7,8]], [[0,1],[2,3]]) =")
    print(corr2d(torch.tensor([[0.0, 1, 2], [3, 4, 5], [6, 7, 8]]), torch.tensor([[0.0, 1], [2, 3]])))

    X = edge_image()
    K = torch.tensor([[-1.0, 1.0]])
    Y = corr2d(X, K)
    print("\nimage X (6x8):")
    print(X)
    print("\nedge map Y = corr2d(X, [[-1, 1]]) (6x7): -1 where light turns dark, +1 where dark turns light")
    print(Y)

    how = "nn.Conv2d + optim.SGD" if args.module else "hand-written Conv2D + gradient descent on .data"
    print(f"\nlearning K back ({how}, {args.steps} steps, lr {args.lr}):")
    train = train_with_modules if args.module else train_by_hand
    weight, bias, losses = train(X, Y, args.steps, args.lr, args.log_every)
    print(f"learned weight: {weight}")
    print(f"learned bias:   {bias}")
    if args.plot:
        Y_learned = corr2d(X, weight) + bias
        plot(args.plot, X, Y, Y_learned.detach(), losses)
    return {"weight": weight.numpy().copy(), "bias": float(bias), "losses": losses, "Y": Y.numpy().copy()}


if __name__ == "__main__":
    main()
