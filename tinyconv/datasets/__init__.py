"""Real image datasets, as torchvision.datasets: MNIST, FashionMNIST and CIFAR10.

They read the original files (IDX for the MNISTs, CIFAR-10's binary batches; never a
pickle) and, with download=True, fetch them from a list of mirrors, trusting a file only
after its MD5 matches. Items are `(image, label)` with `image` a float32 Tensor (C, H, W)
in [0, 1] (what torchvision gives after `transforms.ToTensor()`) and `label` an int:

    train = tinyconv.datasets.MNIST("data", train=True, download=True)
    loader = tinyconv.utils.data.DataLoader(train, batch_size=64, shuffle=True)
"""

from ._download import DownloadError
from .cifar import CIFAR10
from .mnist import MNIST, FashionMNIST, read_idx
from .vision import VisionDataset

__all__ = ["CIFAR10", "MNIST", "DownloadError", "FashionMNIST", "VisionDataset", "read_idx"]
