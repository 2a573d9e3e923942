"""A small ResNet on scikit-learn's 8x8 digits, with data augmentation and a one-cycle schedule.

The network is the ResNet recipe at toy size: a 3x3 stem, then three stages of BasicBlocks
(conv-BN-ReLU-conv-BN plus a skip connection; a stage that halves the resolution and widens
the channels gives its first block's skip a strided 1x1 conv + BN), global average pooling
and one linear layer:

    (N, 1, 8, 8) -stem-> (N, 16, 8, 8) -stage1-> (N, 16, 8, 8) -stage2-> (N, 32, 4, 4)
                 -stage3-> (N, 64, 2, 2) -avgpool-> (N, 64) -fc-> (N, 10) logits

Training uses the same data split as examples/lenet_digits.py (its loader is reused), SGD
with Nesterov momentum and weight decay, and OneCycleLR stepped after every batch (or
CosineAnnealingLR with --schedule cosine). Each batch is augmented with tinyconv ops: a random
crop of the image padded by --pad pixels (a random shift), and, with --flip-prob > 0, random
horizontal flips. Flips are off by default: digits are not mirror-symmetric (a mirrored 2 is
no digit, a mirrored 3 looks like an E), so on this data flipping costs accuracy; the option
is there to show the op.

    python examples/resnet_digits.py                      # 12 epochs, prints the table and time
    python examples/resnet_digits.py --schedule cosine --epochs 20
    python examples/resnet_digits.py --flip-prob 0.5      # see what flipping digits does

Needs scikit-learn for the data: pip install ".[examples]"
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import tinyconv as torch
import tinyconv.nn.functional as F
from tinyconv import nn, optim
from tinyconv.optim import lr_scheduler
from tinyconv.utils.data import DataLoader, TensorDataset

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the sibling example's helpers
from lenet_digits import accuracy_text, evaluate, load_digits_split  # noqa: E402


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers and a skip connection:
    relu(bn2(conv2(relu(bn1(conv1(x))))) + skip(x))."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            # the skip must match the new shape: a strided 1x1 conv (+ BN), as in ResNet
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + identity)


class ResNet(nn.Module):
    """Stem, three stages of BasicBlocks (widths 16, 32, 64; the last two halve H and W),
    global average pooling, linear classifier."""

    def __init__(self, blocks=(1, 1, 1), widths=(8, 16, 32), num_classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(1, widths[0], 3, padding=1, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(),
        )
        stages, in_ch = [], widths[0]
        for i, (n, width) in enumerate(zip(blocks, widths, strict=True)):
            stride = 1 if i == 0 else 2
            layers = [BasicBlock(in_ch, width, stride)]
            layers += [BasicBlock(width, width) for _ in range(n - 1)]
            stages.append(nn.Sequential(*layers))
            in_ch = width
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_ch, num_classes)
        for m in self.modules():  # He initialisation for the convs, as torchvision's ResNet
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = self.stages(self.stem(x))
        return self.fc(torch.flatten(self.pool(x), 1))


def augment(images, pad: int, flip_prob: float):
    """Random shifts (pad by `pad` pixels with the background value, crop back at a random
    offset per image) and random horizontal flips, as tinyconv ops on a batch (N, C, H, W)."""
    n, _, h, w = images.shape
    if pad > 0:
        # pad with the background value (the images are standardised, so it is not 0)
        background = float(images.min())
        padded = F.pad(images, (pad, pad, pad, pad), value=background)
        offsets = torch.randint(0, 2 * pad + 1, (n, 2))
        images = torch.stack(
            [padded[i, :, dy : dy + h, dx : dx + w] for i, (dy, dx) in enumerate(offsets.tolist())]
        )
    if flip_prob > 0:
        flip = (torch.rand(n) < flip_prob).reshape(n, 1, 1, 1)
        images = torch.where(flip, images.flip(3), images)
    return images


def build_parser():
    p = argparse.ArgumentParser(
        description="Train a small ResNet on scikit-learn's 8x8 digits with tinyconv "
        "(augmentation, OneCycleLR or cosine annealing).",
        epilog='Needs scikit-learn (pip install ".[examples]").',
    )
    p.add_argument(
        "--epochs", type=int, default=15, help="passes over the training set (default: %(default)s)"
    )
    p.add_argument(
        "--batch-size", type=int, default=32, help="images per mini-batch (default: %(default)s)"
    )
    p.add_argument(
        "--lr", type=float, default=0.05, help="peak learning rate (default: %(default)s)"
    )
    p.add_argument(
        "--schedule",
        choices=("onecycle", "cosine"),
        default="onecycle",
        help="OneCycleLR stepped per batch, or CosineAnnealingLR per epoch (default: %(default)s)",
    )
    p.add_argument(
        "--pad", type=int, default=1, help="random-crop padding in pixels (default: %(default)s)"
    )
    p.add_argument(
        "--flip-prob",
        type=float,
        default=0.0,
        help="probability of a horizontal flip per image (default: %(default)s; digits are not "
        "mirror-symmetric)",
    )
    p.add_argument(
        "--width",
        type=int,
        default=8,
        help="channels of the first stage; the other two have 2x and 4x (default: %(default)s)",
    )
    p.add_argument(
        "--max-steps",
        type=int,
        default=None,
        help="stop after this many batches (for quick checks)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed for weights, shuffling and augmentation (default: %(default)s)",
    )
    return p


def main(argv=None) -> dict:
    """Train and evaluate; returns the final metrics, the per-epoch history and the model."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1 or args.pad < 0 or not 0 <= args.flip_prob <= 1:
        parser.error("need --epochs >= 1, --batch-size >= 1, --pad >= 0, 0 <= --flip-prob <= 1")

    torch.manual_seed(args.seed)
    x_train, y_train, x_test, y_test = load_digits_split()
    model = ResNet(widths=(args.width, 2 * args.width, 4 * args.width))
    criterion = nn.CrossEntropyLoss()
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=args.batch_size, shuffle=True)
    optimizer = optim.SGD(
        model.parameters(), lr=args.lr, momentum=0.9, nesterov=True, weight_decay=5e-4
    )
    if args.schedule == "onecycle":
        scheduler = lr_scheduler.OneCycleLR(
            optimizer, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=len(loader)
        )
    else:
        scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    n_params = sum(p.numel() for p in model.parameters())

    print(
        f"digits: {len(y_train)} training and {len(y_test)} test images of 8x8 pixels, 10 classes"
    )
    print(
        f"model: ResNet, widths {args.width}/{2 * args.width}/{4 * args.width}, "
        f"{n_params:,} parameters; SGD (nesterov, peak lr {args.lr:g}) with {args.schedule}; "
        f"batch size {args.batch_size}, "
        f"{args.epochs} epochs; augmentation: pad {args.pad}, flip {args.flip_prob:g}; "
        f"seed {args.seed}"
    )
    print()
    header = (
        f"{'epoch':>5}  {'lr':>8}  {'train loss':>10}  {'train acc':>9}  {'test acc':>8}  "
        f"{'time':>6}"
    )
    print(header)
    print("-" * len(header))

    history = {"train_loss": [], "train_acc": [], "test_acc_per_epoch": [], "lr": []}
    steps = 0
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        model.train()
        total_loss, correct, seen = 0.0, 0, 0
        for inputs, targets in loader:
            inputs = augment(inputs, args.pad, args.flip_prob)
            optimizer.zero_grad()
            outputs = model(inputs)
            loss = criterion(outputs, targets)
            loss.backward()
            optimizer.step()
            if args.schedule == "onecycle":
                scheduler.step()
            total_loss += loss.item() * targets.shape[0]
            correct += (outputs.argmax(dim=1) == targets).sum().item()
            seen += targets.shape[0]
            steps += 1
            if args.max_steps is not None and steps >= args.max_steps:
                break
        if args.schedule == "cosine":
            scheduler.step()
        _, test_acc = evaluate(model, x_test, y_test, criterion)
        for key, value in zip(
            history, (total_loss / seen, correct / seen, test_acc, lr), strict=True
        ):
            history[key].append(value)
        print(
            f"{epoch:>5}  {lr:>8.5f}  {total_loss / seen:>10.4f}  {correct / seen:>9.2%}  "
            f"{test_acc:>8.2%}  {time.perf_counter() - t0:>5.2f}s",
            flush=True,
        )
        if args.max_steps is not None and steps >= args.max_steps:
            break
    seconds = time.perf_counter() - start

    test_loss, test_acc = evaluate(model, x_test, y_test, criterion)
    print()
    print(
        f"Test accuracy: {accuracy_text(test_acc, len(y_test))}, test loss {test_loss:.4f}; "
        f"trained in {seconds:.1f}s"
    )
    return {
        "test_acc": test_acc,
        "test_loss": test_loss,
        "n_test": len(y_test),
        "seconds": seconds,
        "steps": steps,
        "model": model,
        **history,
    }


if __name__ == "__main__":
    main()
