"""Learn an edge-detection kernel back from its output: the classic first exercise.

1. Write the 2-D cross-correlation `corr2d` as the textbook loop.
2. Make a 6x8 image with a dark vertical band, and find its edges with K = [[-1, 1]].
3. Forget K, start from a random kernel, and learn it back by gradient descent
   on the squared error between our output and the edge map.

    python examples/edge_kernel.py            # hand-written Conv2D (loop) + plain gradient descent
    python examples/edge_kernel.py --module   # nn.Conv2d + optim.SGD instead
    python examples/edge_kernel.py --module --steps 1 --graph --trace
                                              # the graph of one step's loss, and its backward pass
    python examples/edge_kernel.py --module --algorithm loops
                                              # nn.Conv2d on the loop kernels of kernels/conv.py
                                              # (set a breakpoint in conv2d_reference; same numbers)
    python examples/edge_kernel.py --plot edge.png
                                              # a figure (needs matplotlib: pip install ".[plot]")
"""

from __future__ import annotations

import argparse

import tinyconv as torch  # the PyTorch tutorial code, with only this import changed
from tinyconv import nn, viz
from tinyconv.autograd import trace


def corr2d(X, K):
    """2-D cross-correlation of one image X (h_x, w_x) with one kernel K (h, w), stride 1, no
    padding."""
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            # Y[i, j] is the window of X under the kernel, weighted by K and summed.
            # Assigning into Y is recorded by autograd, so gradients flow back to K.
            Y[i, j] = (X[i : i + h, j : j + w] * K).sum()
    return Y


class Conv2D(nn.Module):
    """A one-channel convolution layer built on corr2d: y = corr2d(x, weight) + bias."""

    def __init__(self, kernel_size):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(kernel_size))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return corr2d(x, self.weight) + self.bias


EDGE_KERNEL = [[-1.0, 1.0]]  # light -> dark gives -1, dark -> light +1


def edge_image():
    """6x8 ones with columns 2..5 set to 0: a dark vertical band with two edges."""
    X = torch.ones((6, 8))
    X[:, 2:6] = 0
    return X


def backward(loss, model, graph=None, trace_it=False):
    """loss.backward(); on request, print the graph it ran through and a trace of the pass.

    graph: "-" prints the DOT text; a path ending in .dot saves it, .svg/.png/.pdf draws it.
    """
    if not (graph or trace_it):
        loss.backward()
        return
    with trace(names=model) as t:
        loss.backward()
    if graph:
        g = viz.graph(loss, values=True, grads=t, names=model)
        ops = sum(n.kind == "op" for n in g.nodes)
        if graph == "-":
            print(
                f"\nthe graph behind this step's loss ({ops} ops; Graphviz DOT text, "
                "draw it with --graph graph.svg or any Graphviz viewer):"
            )
            print(g.source, end="")
        elif graph.endswith(".dot"):
            print(f"\nsaved the graph behind this step's loss ({ops} ops) to {g.save(graph)}")
        else:
            try:
                print(
                    f"\ndrew the graph behind this step's loss ({ops} ops) into {g.render(graph)}"
                )
            except RuntimeError as e:
                print(f"\n{e}")
    if trace_it:
        print("\nthe backward pass of this step, node by node:")
        print(t, end="")
    print()


def train_by_hand(X, Y, steps, lr, log_every, show=None):
    """Plain gradient descent on the hand-written Conv2D: update .data, zero the grads.

    show: keyword arguments for `backward` on the first step (graph=..., trace_it=...).
    """
    conv2d = Conv2D(kernel_size=(1, 2))
    losses = []
    for step in range(1, steps + 1):
        Y_hat = conv2d(X)
        loss = ((Y_hat - Y) ** 2).sum()
        backward(loss, conv2d, **((show or {}) if step == 1 else {}))
        losses.append(loss.item())
        # The update itself must not be recorded: change the values through .data.
        conv2d.weight.data -= lr * conv2d.weight.grad
        conv2d.bias.data -= lr * conv2d.bias.grad
        conv2d.weight.grad.zero_()
        conv2d.bias.grad.zero_()
        if step % log_every == 0:
            print(f"step {step}, loss {loss.item():.3f}")
    return conv2d.weight.data.reshape(1, 2), conv2d.bias.data.reshape(()), losses


def train_with_modules(X, Y, steps, lr, log_every, show=None):
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
        backward(loss, conv2d, **((show or {}) if step == 1 else {}))
        optimizer.step()
        losses.append(loss.item())
        if step % log_every == 0:
            print(f"step {step}, loss {loss.item():.3f}")
    return conv2d.weight.data.reshape(1, 2), conv2d.bias.data.reshape(()), losses


def have_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def plot(path, X, Y, Y_learned, losses, weight, bias):
    """Save the figure: the image, the target edge map, the learned output, the loss curve."""
    if not have_matplotlib():
        print('(no figure: --plot needs matplotlib; install it with pip install ".[plot]")')
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    w0, w1 = weight.reshape(-1).tolist()
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6), gridspec_kw={"width_ratios": [8, 7, 7, 7]})
    panels = (
        (X, "image X (6x8): a dark band", "gray", (0, 1)),
        (Y, "target edges Y = corr2d(X, [[-1, 1]])", "coolwarm", (-1, 1)),
        (
            Y_learned,
            f"learned: corr2d(X, K) + b\nK = [[{w0:.3f}, {w1:.3f}]], b = {float(bias):.3f}",
            "coolwarm",
            (-1, 1),
        ),
    )
    for ax, (img, title, cmap, (lo, hi)) in zip(axes, panels, strict=False):
        a = img.numpy()
        im = ax.imshow(a, cmap=cmap, vmin=lo, vmax=hi)
        ax.set_title(title, fontsize=10)
        ax.set_xticks(range(a.shape[1]))
        ax.set_yticks(range(a.shape[0]))
        if cmap != "gray":  # write the edge values into their cells
            for r, row in enumerate(a.tolist()):
                for c, v in enumerate(row):
                    if abs(v) > 0.05:
                        ax.text(
                            c, r, f"{v:.2f}", ha="center", va="center", fontsize=7, color="white"
                        )
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    steps = range(1, len(losses) + 1)
    axes[3].semilogy(steps, losses, marker="o", markersize=3)
    axes[3].set_title(
        f"loss (sum of squared errors)\n{losses[0]:.3g} -> {losses[-1]:.3g}", fontsize=10
    )
    axes[3].set_xlabel("step")
    axes[3].xaxis.get_major_locator().set_params(integer=True)
    axes[3].grid(True, which="both", alpha=0.3)
    fig.suptitle(
        f"Learning the edge kernel [[-1, 1]] back from its output: {len(losses)} steps "
        "of gradient descent from a random kernel",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"saved figure to {path}")
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=20, help="gradient-descent steps (default 20)")
    parser.add_argument("--lr", type=float, default=0.01, help="learning rate (default 0.01)")
    parser.add_argument(
        "--seed", type=int, default=0, help="random seed for the initial kernel (default 0)"
    )
    parser.add_argument(
        "--module", action="store_true", help="use nn.Conv2d + optim.SGD instead of the loop"
    )
    parser.add_argument(
        "--log-every", type=int, default=5, help="print the loss every N steps (default 5)"
    )
    parser.add_argument(
        "--plot",
        metavar="PATH",
        help='save a figure, e.g. edge.png (needs matplotlib: pip install ".[plot]")',
    )
    parser.add_argument(
        "--graph",
        nargs="?",
        const="-",
        metavar="PATH",
        help="show the graph behind the first step's loss: print its Graphviz DOT text, "
        "or save it to PATH (.dot) or draw it (.svg/.png/.pdf, needs Graphviz)",
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="print the backward pass of the first step, node by node",
    )
    parser.add_argument(
        "--algorithm",
        choices=torch.kernels.conv_algorithms(),
        default="fast",
        help="the convolution kernels nn.Conv2d runs (with --module): 'loops' (the "
        "definitions, to step through), 'im2col' (the plain matrix form) or "
        "'fast' (default); all give the same numbers",
    )
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)

    print("corr2d([[0,1,2],[3,4,5],[6,7,8]], [[0,1],[2,3]]) =")
    print(
        corr2d(torch.tensor([[0.0, 1, 2], [3, 4, 5], [6, 7, 8]]), torch.tensor([[0.0, 1], [2, 3]]))
    )

    X = edge_image()
    K = torch.tensor(EDGE_KERNEL)
    Y = corr2d(X, K)
    print("\nimage X (6x8):")
    print(X)
    print(
        "\nedge map Y = corr2d(X, [[-1, 1]]) (6x7): -1 where light turns dark, +1 where dark turns "
        "light"
    )
    print(Y)

    how = (
        "nn.Conv2d + optim.SGD"
        if args.module
        else "hand-written Conv2D + gradient descent on .data"
    )
    steps = f"{args.steps} step{'' if args.steps == 1 else 's'}"
    print(f"\nlearning K back ({how}, {steps}, lr {args.lr}):")
    train = train_with_modules if args.module else train_by_hand
    with torch.kernels.conv_algorithm(args.algorithm):  # forward and backward of every nn.Conv2d
        weight, bias, losses = train(
            X,
            Y,
            args.steps,
            args.lr,
            args.log_every,
            show={"graph": args.graph, "trace_it": args.trace},
        )
    # (print's str(): a 0-d tensor in an f-string would show its full float, as in PyTorch)
    print("learned weight:", weight)
    print("learned bias:  ", bias)
    if args.plot:
        Y_learned = corr2d(X, weight) + bias
        plot(args.plot, X, Y, Y_learned.detach(), losses, weight, bias)
    elif have_matplotlib():
        print("\nto see it: --plot edge.png saves the image, the edge maps and the loss curve")
    else:
        print('\nfor pictures: pip install ".[plot]" (matplotlib), then add --plot edge.png')
    if not (args.graph or args.trace):
        print("to see the graph and the backward pass: --module --steps 1 --graph --trace")
    return {
        "weight": weight.numpy().copy(),
        "bias": float(bias),
        "losses": losses,
        "Y": Y.numpy().copy(),
    }


if __name__ == "__main__":
    main()
