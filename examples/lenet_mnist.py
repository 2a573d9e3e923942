"""LeNet-5 on MNIST: the network every course trains first, on the real 28x28 digits.

The data is MNIST's original files (60,000 training and 10,000 test images), read by
tinyconv.datasets.MNIST from DATA_DIR/MNIST/raw/ and batched by DataLoader, exactly as a
PyTorch tutorial does with torchvision; only the imports say tinyconv.

    python examples/lenet_mnist.py --download       # fetch MNIST (11 MB) into ./data, then train
    python examples/lenet_mnist.py --data-dir ~/datasets --epochs 5
    python examples/lenet_mnist.py --save lenet5.safetensors
                                                    # weights PyTorch can load (needs safetensors)

With the defaults it should reach about 99% test accuracy (README says how long that
takes). Without the files, and without --download, it stops and says where to put them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import tinyconv as torch
import tinyconv.nn.functional as F
from tinyconv import nn, optim
from tinyconv.datasets import MNIST, DownloadError
from tinyconv.utils.data import DataLoader
from tinyconv.utils.progress import progress

MEAN, STD = 0.1307, 0.3081  # of MNIST's training pixels in [0, 1]: the usual Normalize values


class LeNet5(nn.Module):
    """LeCun's LeNet-5 with ReLU and max pooling, as most tutorials write it today.

    Shapes for a batch of N images:
      (N, 1, 28, 28) -conv1 5x5 pad 2-> (N, 6, 28, 28) -pool-> (N, 6, 14, 14)
                     -conv2 5x5->       (N, 16, 10, 10) -pool-> (N, 16, 5, 5) -flatten-> (N, 400)
                     -fc1-> (N, 120) -fc2-> (N, 84) -fc3-> (N, 10) logits
    """

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def normalize(image):
    """transforms.Normalize((0.1307,), (0.3081,)) on the [0, 1] image the dataset gives."""
    return (image - MEAN) / STD


def load_mnist(data_dir: str, download: bool):
    """The train and test sets, or exit with what to do when the files are not there."""
    try:
        train = MNIST(data_dir, train=True, transform=normalize, download=download)
        test = MNIST(data_dir, train=False, transform=normalize, download=download)
    except DownloadError as e:
        sys.exit(f"lenet_mnist: {e}")
    except RuntimeError as e:
        if "dataset not found" not in str(e):
            raise
        raw = os.path.join(data_dir, "MNIST", "raw")
        sys.exit(
            f"lenet_mnist: MNIST is not in {raw}.\n"
            f"Run again with --download to fetch it (about 11 MB), or copy the four files\n"
            f"    {', '.join(name for name, _ in MNIST.resources)}\n"
            f"(gzipped, or uncompressed as torchvision leaves them) into {raw}.\n"
            f"No network? The offline example is: python examples/lenet_digits.py"
        )
    return train, test


def train_one_epoch(model, loader, criterion, optimizer, bar, max_steps=None):
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    for step, (inputs, targets) in enumerate(loader, 1):
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
        if max_steps is not None and step >= max_steps:
            break
    bar.close()
    return total_loss / seen, correct / seen


def evaluate(model, loader, criterion):
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    with torch.no_grad():
        for inputs, targets in loader:
            outputs = model(inputs)
            total_loss += criterion(outputs, targets).item() * targets.shape[0]
            correct += (outputs.argmax(dim=1) == targets).sum().item()
            seen += targets.shape[0]
    return total_loss / seen, correct / seen


def build_parser():
    p = argparse.ArgumentParser(
        description="Train LeNet-5 on MNIST with tinyconv (reads MNIST's original IDX files).",
        epilog="Without the files, run with --download once (needs a network), or copy them into "
        'DATA_DIR/MNIST/raw. With tqdm installed (pip install ".[progress]") a terminal '
        "shows a progress bar per epoch.",
    )
    p.add_argument(
        "--data-dir", default="data", help="folder holding MNIST/raw/ (default: %(default)s)"
    )
    p.add_argument(
        "--download",
        action="store_true",
        help="fetch the MNIST files first if they are missing (verified by MD5)",
    )
    p.add_argument(
        "--epochs",
        type=int,
        default=10,
        help="passes over the 60,000 training images (default: %(default)s)",
    )
    p.add_argument(
        "--batch-size", type=int, default=64, help="images per mini-batch (default: %(default)s)"
    )
    p.add_argument(
        "--lr",
        type=float,
        default=0.02,
        help="initial learning rate of SGD with momentum 0.9, annealed to 0 along a cosine "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed for the initial weights and the shuffling (default: %(default)s)",
    )
    p.add_argument(
        "--max-steps",
        type=int,
        default=None,
        help="stop each epoch after this many mini-batches (for a quick try)",
    )
    p.add_argument(
        "--save",
        metavar="PATH",
        default=None,
        help="save the trained weights: a .safetensors path gives a file PyTorch loads with "
        "safetensors.torch.load_file; any other name, tinyconv's .npz checkpoint",
    )
    return p


def main(argv=None) -> dict:
    """Run the example; returns the final metrics, the per-epoch history and the trained model."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if (
        args.epochs < 1
        or args.batch_size < 1
        or (args.max_steps is not None and args.max_steps < 1)
    ):
        parser.error("--epochs, --batch-size and --max-steps must be >= 1")
    if args.save and args.save.lower().endswith(".safetensors"):
        try:
            import safetensors.numpy  # noqa: F401  (checked now, not after the training)
        except ImportError:
            parser.error(
                "--save to a .safetensors file needs the safetensors package: "
                'pip install ".[safetensors]"'
            )

    train_set, test_set = load_mnist(args.data_dir, args.download)
    torch.manual_seed(args.seed)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=1000)
    model = LeNet5()
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    n_params = sum(p.numel() for p in model.parameters())

    print(
        f"MNIST: {len(train_set)} training and {len(test_set)} test images of 28x28 pixels, "
        f"from {os.path.join(args.data_dir, 'MNIST', 'raw')}"
    )
    print(
        f"model: LeNet-5, {n_params:,} parameters; SGD momentum 0.9, lr {args.lr:g} (cosine), "
        f"batch size {args.batch_size}, {args.epochs} epochs, seed {args.seed}"
    )
    print()
    header = f"{'epoch':>5}  {'train loss':>10}  {'train acc':>9}  {'test acc':>8}  {'time':>7}"
    print(header)
    print("-" * len(header))

    history = {"train_loss": [], "train_acc": [], "test_acc_per_epoch": [], "epoch_seconds": []}
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        steps = (
            len(train_loader) if args.max_steps is None else min(args.max_steps, len(train_loader))
        )
        bar = progress(
            total=steps,
            desc=f"{epoch:>5}",
            unit="batch",
            file=sys.stdout,
            disable=None,
            leave=False,
        )
        train_loss, train_acc = train_one_epoch(
            model, train_loader, criterion, optimizer, bar, args.max_steps
        )
        scheduler.step()
        _, test_acc = evaluate(model, test_loader, criterion)
        seconds = time.perf_counter() - t0
        for key, value in zip(history, (train_loss, train_acc, test_acc, seconds), strict=False):
            history[key].append(value)
        print(
            f"{epoch:>5}  {train_loss:>10.4f}  {train_acc:>9.2%}  {test_acc:>8.2%}  "
            f"{seconds:>6.1f}s",
            flush=True,
        )
    total = time.perf_counter() - start

    test_loss, test_acc = evaluate(model, test_loader, criterion)
    print()
    print(
        f"Test accuracy: {test_acc:.2%} ({round(test_acc * len(test_set))}/{len(test_set)} test "
        f"images), test loss {test_loss:.4f}; trained in {total:.1f}s"
    )
    if args.save:
        torch.save(model.state_dict(), args.save)
        print(f"Saved weights to {args.save}")
    return {
        "test_acc": test_acc,
        "test_loss": test_loss,
        "seconds": total,
        "model": model,
        **history,
    }


if __name__ == "__main__":
    main()
