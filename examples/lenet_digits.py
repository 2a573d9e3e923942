"""LeNet on real handwritten digits: a small CNN trained on scikit-learn's 8x8 digits.

The data is scikit-learn's bundled copy of the UCI optical digits (1,797 images of
8x8 pixels with values 0..16, classes 0-9); nothing is downloaded. A stratified
quarter of it is held out as the test set (the split is fixed, whatever --seed says,
so runs and saved checkpoints are always scored on the same images).

The code is written the way a PyTorch tutorial writes it (a Module with __init__
and forward, a train loop of zero_grad / backward / step, an eval loop under
no_grad): only the imports say tinyconv.

    python examples/lenet_digits.py                # train (SGD + momentum), save lenet_digits.npz
    python examples/lenet_digits.py --optimizer adam --lr 0.002
    python examples/lenet_digits.py --load lenet_digits.npz --eval-only
    python examples/lenet_digits.py --plot lenet.png  # filters and curves (needs matplotlib)

Batches come from tinyconv.utils.data.DataLoader, as in PyTorch. On a terminal each epoch
shows a progress bar: tqdm's where it is installed (pip install ".[progress]"), plain lines
otherwise.

Needs scikit-learn for the data: pip install ".[examples]"
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np

import tinyconv as torch
import tinyconv.nn.functional as F
from tinyconv import nn, optim
from tinyconv.utils.data import DataLoader, TensorDataset
from tinyconv.utils.progress import progress

SPLIT_SEED = 0  # the train/test split never changes, so every run is scored on the same test images
TEST_FRACTION = 0.25


class LeNet(nn.Module):
    """conv -> pool -> conv -> pool -> two fully connected layers, sized for 8x8 inputs.

    Shapes for a batch of N images:
      (N, 1, 8, 8) -conv1-> (N, 16, 8, 8) -pool-> (N, 16, 4, 4)
                   -conv2-> (N, 32, 4, 4) -pool-> (N, 32, 2, 2) -flatten-> (N, 128)
                   -fc1->   (N, 64)       -fc2->  (N, 10) logits
    """

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, kernel_size=3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(32 * 2 * 2, 64)
        self.fc2 = nn.Linear(64, num_classes)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


def load_digits_split():
    """The digits as standardised float32 tensors (N, 1, 8, 8), split into train and test."""
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        sys.exit(
            "lenet_digits: this example needs scikit-learn for its data set; install it with\n"
            '    pip install ".[examples]"\n'
            "(run in the tinyconv checkout; or: pip install scikit-learn)"
        )
    digits = load_digits()
    # pixels 0..16 -> 0..1, and a channel axis: (1797, 8, 8) -> (1797, 1, 8, 8)
    images = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    labels = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=TEST_FRACTION, stratify=labels, random_state=SPLIT_SEED
    )
    # Standardise with the training set's mean and spread (as transforms.Normalize does); the
    # test images get the same shift and scale, so nothing about them leaks into training.
    mean, std = x_train.mean(), x_train.std()
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    return (
        torch.from_numpy(x_train),
        torch.from_numpy(y_train),
        torch.from_numpy(x_test),
        torch.from_numpy(y_test),
    )


def train_one_epoch(model, loader, criterion, optimizer, bar):
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    for inputs, targets in loader:  # a new shuffled order every epoch
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, targets)
        loss.backward()
        optimizer.step()

        total_loss += loss.item() * targets.shape[0]
        correct += (outputs.argmax(dim=1) == targets).sum().item()
        seen += targets.shape[0]
        bar.set_postfix_str(
            f"loss {total_loss / seen:.4f}  acc {correct / seen:6.2%}", refresh=False
        )
        bar.update(1)
    bar.close()
    return total_loss / seen, correct / seen


def evaluate(model, x, y, criterion, batch_size=512):
    model.eval()
    total_loss, correct = 0.0, 0
    with torch.no_grad():
        for inputs, targets in DataLoader(TensorDataset(x, y), batch_size=batch_size):
            outputs = model(inputs)
            total_loss += criterion(outputs, targets).item() * targets.shape[0]
            correct += (outputs.argmax(dim=1) == targets).sum().item()
    return total_loss / y.shape[0], correct / y.shape[0]


def accuracy_text(acc, n):
    return f"{acc:.2%} ({round(acc * n)}/{n} test images)"


def save_plot(path, model, history=None):
    """Save the first layer's filters and, after training, the loss and accuracy curves."""
    try:
        import matplotlib
        import matplotlib.ticker

        matplotlib.use("Agg")  # draw to a file, no window needed
        import matplotlib.pyplot as plt
    except ImportError:
        print(
            f"--plot {path}: skipped, matplotlib is not installed; "
            'get it with: pip install ".[plot]"'
        )
        return False
    filters = model.conv1.weight.detach().numpy()[:, 0]  # (16, 3, 3): a 3x3 kernel per channel
    with_curves = bool(history and history["train_loss"])
    fig = plt.figure(figsize=(11, 3.8) if with_curves else (4, 4), layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=[1, 2.2]) if with_curves else (fig, None)
    cols = math.ceil(math.sqrt(len(filters)))
    rows = math.ceil(len(filters) / cols)
    limit = float(np.abs(filters).max())
    for i, ax in enumerate(np.ravel(left.subplots(rows, cols))):
        ax.set_axis_off()
        if i < len(filters):
            ax.imshow(filters[i], cmap="RdBu_r", vmin=-limit, vmax=limit)
    left.suptitle("conv1 filters (red +, blue -)")
    if with_curves:
        epochs = range(1, len(history["train_loss"]) + 1)
        ax_loss, ax_acc = right.subplots(1, 2)
        ax_loss.plot(epochs, history["train_loss"], "o-", label="train")
        ax_loss.plot(epochs, history["test_loss_per_epoch"], "s-", label="test")
        ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", yscale="log", title="loss")
        ax_loss.legend()
        ax_acc.plot(epochs, [100 * a for a in history["train_acc"]], "o-", label="train")
        ax_acc.plot(epochs, [100 * a for a in history["test_acc_per_epoch"]], "s-", label="test")
        ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
        ax_acc.legend()
        for ax in (ax_loss, ax_acc):
            ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"Saved plot to {path}")
    return True


def build_parser():
    p = argparse.ArgumentParser(
        description="Train a LeNet-style CNN on scikit-learn's 8x8 handwritten digits "
        "with tinyconv.",
        epilog='Needs scikit-learn (pip install ".[examples]"); --plot also needs matplotlib '
        '(pip install ".[plot]").',
    )
    p.add_argument(
        "--epochs", type=int, default=15, help="passes over the training set (default: %(default)s)"
    )
    p.add_argument(
        "--batch-size", type=int, default=32, help="images per mini-batch (default: %(default)s)"
    )
    p.add_argument(
        "--optimizer",
        choices=("sgd", "adam"),
        default="sgd",
        help="SGD with momentum 0.9, or Adam (default: %(default)s)",
    )
    p.add_argument(
        "--lr",
        type=float,
        default=None,
        help="learning rate (default: 0.02 for sgd, 0.002 for adam)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed for the initial weights and the shuffling (default: %(default)s)",
    )
    p.add_argument(
        "--save",
        metavar="PATH",
        default="lenet_digits.npz",
        help="where to save the trained weights, a tinyconv.save checkpoint (default: %(default)s)",
    )
    p.add_argument("--no-save", action="store_true", help="don't save the weights")
    p.add_argument(
        "--load", metavar="PATH", default=None, help="start from the weights in this checkpoint"
    )
    p.add_argument(
        "--eval-only",
        action="store_true",
        help="with --load: only evaluate the loaded weights on the test set",
    )
    p.add_argument(
        "--plot",
        metavar="PATH",
        default=None,
        help="save a figure of the first-layer filters and the training curves (needs matplotlib)",
    )
    return p


def main(argv=None) -> dict:
    """Run the example; returns the final metrics, the per-epoch history and the trained model."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.eval_only and args.load is None:
        parser.error("--eval-only needs --load PATH (the checkpoint to evaluate)")
    if args.epochs < 0 or args.batch_size < 1:
        parser.error("--epochs must be >= 0 and --batch-size >= 1")
    lr = args.lr if args.lr is not None else {"sgd": 0.02, "adam": 0.002}[args.optimizer]

    torch.manual_seed(args.seed)
    x_train, y_train, x_test, y_test = load_digits_split()
    model = LeNet()
    criterion = nn.CrossEntropyLoss()
    n_params = sum(p.numel() for p in model.parameters())

    if args.load is not None:
        try:
            model.load_state_dict(torch.load(args.load))
        except RuntimeError as e:  # unreadable file, or weights of another model's shape
            sys.exit(f"lenet_digits: can't use --load {args.load}: {e}")
        print(f"Loaded weights from {args.load}")

    if args.eval_only:
        test_loss, test_acc = evaluate(model, x_test, y_test, criterion)
        print(f"Test accuracy: {accuracy_text(test_acc, len(y_test))}, test loss {test_loss:.4f}")
        if args.plot:
            save_plot(args.plot, model)
        return {"test_acc": test_acc, "test_loss": test_loss, "n_test": len(y_test), "model": model}

    if args.optimizer == "sgd":
        optimizer = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    else:
        optimizer = optim.Adam(model.parameters(), lr=lr)

    print(
        f"digits: {len(y_train)} training and {len(y_test)} test images of 8x8 pixels, 10 classes"
    )
    print(
        f"model: LeNet, {n_params:,} parameters; optimizer: {args.optimizer} (lr {lr:g}), "
        f"batch size {args.batch_size}, {args.epochs} epochs, seed {args.seed}"
    )
    print()
    header = f"{'epoch':>5}  {'train loss':>10}  {'train acc':>9}  {'test acc':>8}  {'time':>6}"
    print(header)
    print("-" * len(header))

    history = {
        "train_loss": [],
        "train_acc": [],
        "test_loss_per_epoch": [],
        "test_acc_per_epoch": [],
        "epoch_seconds": [],
    }
    start = time.perf_counter()
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=args.batch_size, shuffle=True)
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        # A bar on a terminal only (tqdm's if installed, else plain lines); in a log or a pipe
        # the table row below is the one line per epoch.
        bar = progress(
            total=len(loader),
            desc=f"{epoch:>5}",
            unit="batch",
            file=sys.stdout,
            disable=None,
            leave=False,
        )
        train_loss, train_acc = train_one_epoch(model, loader, criterion, optimizer, bar)
        test_loss, test_acc = evaluate(model, x_test, y_test, criterion)
        seconds = time.perf_counter() - t0
        for key, value in zip(
            history, (train_loss, train_acc, test_loss, test_acc, seconds), strict=False
        ):
            history[key].append(value)
        print(
            f"{epoch:>5}  {train_loss:>10.4f}  {train_acc:>9.2%}  {test_acc:>8.2%}  "
            f"{seconds:>5.2f}s",
            flush=True,
        )
    total = time.perf_counter() - start

    test_loss, test_acc = evaluate(model, x_test, y_test, criterion)
    print()
    print(
        f"Test accuracy: {accuracy_text(test_acc, len(y_test))}, test loss {test_loss:.4f}; "
        f"trained in {total:.1f}s"
    )
    if not args.no_save:
        torch.save(model.state_dict(), args.save)
        print(f"Saved weights to {args.save} (reload with: --load {args.save} --eval-only)")
    if args.plot:
        save_plot(args.plot, model, history)
    return {
        "test_acc": test_acc,
        "test_loss": test_loss,
        "n_test": len(y_test),
        "n_train": len(y_train),
        "seconds": total,
        "save_path": None if args.no_save else args.save,
        "model": model,
        **history,
    }


if __name__ == "__main__":
    main()
