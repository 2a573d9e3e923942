"""Real tutorial code, run end to end with only its imports changed.

Each tutorial below is a copy of the published code (pytorch/tutorials: the "Tensors",
"Autograd", "Quickstart", "Neural Networks" and "Training a Classifier" (CIFAR-10)
tutorials; d2l.ai's convolution chapters), split into the cells the tutorial itself
shows, and executed in one namespace. What differs from the originals, and why:

- the imports: `import torch` -> `import tinyconv as torch`, `import torch.nn as nn` ->
  `import tinyconv.nn as nn`, and so on;
- datasets: torchvision's FashionMNIST / CIFAR10 (a download) are replaced by small
  synthetic TensorDatasets of the same shapes and dtypes, made by `fake_datasets` below
  and imported where the tutorial imports torchvision.datasets (torchvision.transforms becomes
  tinyconv.transforms; the stand-in datasets hold already-normalised images and leave the
  transform unused); d2l's `from d2l import torch as d2l`
  imports a stand-in holding the same aliases d2l's torch.py defines (d2l.zeros = torch.zeros, ...);
- the CIFAR tutorial's matplotlib `imshow` calls are left out.

The tests then check real values: known numbers from the tutorials, shapes, shared memory,
gradients against their closed forms, and losses going down.
"""

from __future__ import annotations

import copy
import inspect
import itertools
import math
import re
import sys
import textwrap
import types

import numpy as np
import pytest

import tinyconv as torch
from tinyconv import nn
from tinyconv.utils.data import TensorDataset


def run(cell: str, ns: dict, name: str) -> dict:
    """Execute one tutorial cell in the namespace `ns` (so later cells see earlier names)."""
    code = compile(textwrap.dedent(cell), f"<tutorial {name}>", "exec")
    exec(code, ns)  # noqa: S102  (the tutorial code is the test)
    return ns


def fake_datasets(n_train: int, n_test: int, shape: tuple, lo: float, hi: float, seed: int):
    """A stand-in for `torchvision.datasets.X(root, train, download, transform)`: a TensorDataset
    of float32 images of `shape` in [lo, hi] and int64 labels 0..9. Each class is a fixed random
    image plus noise, so a network can learn it."""
    rng = np.random.default_rng(seed)
    protos = rng.uniform(lo, hi, (10,) + shape)

    def make(n: int) -> TensorDataset:
        y = rng.integers(0, 10, n)
        x = 0.7 * protos[y] + 0.3 * rng.uniform(lo, hi, (n,) + shape)
        return TensorDataset(torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y))

    train_set, test_set = make(n_train), make(n_test)

    def dataset(root=None, train=True, download=False, transform=None):
        return train_set if train else test_set

    return types.SimpleNamespace(FashionMNIST=dataset, CIFAR10=dataset)


# -- pytorch/tutorials: Tensors (beginner_source/basics/tensorqs_tutorial.py) --------------------

TENSORS = [
    """
    import tinyconv as torch
    import numpy as np

    data = [[1, 2],[3, 4]]
    x_data = torch.tensor(data)
    np_array = np.array(data)
    x_np = torch.from_numpy(np_array)

    x_ones = torch.ones_like(x_data) # retains the properties of x_data
    print(f"Ones Tensor: \\n {x_ones} \\n")

    x_rand = torch.rand_like(x_data, dtype=torch.float) # overrides the datatype of x_data
    print(f"Random Tensor: \\n {x_rand} \\n")

    shape = (2,3,)
    rand_tensor = torch.rand(shape)
    ones_tensor = torch.ones(shape)
    zeros_tensor = torch.zeros(shape)

    print(f"Random Tensor: \\n {rand_tensor} \\n")
    print(f"Ones Tensor: \\n {ones_tensor} \\n")
    print(f"Zeros Tensor: \\n {zeros_tensor}")
    """,
    """
    tensor = torch.rand(3,4)

    print(f"Shape of tensor: {tensor.shape}")
    print(f"Datatype of tensor: {tensor.dtype}")
    print(f"Device tensor is stored on: {tensor.device}")

    # We move our tensor to the GPU if available, and if the cuda version is supported
    if torch.cuda.is_available() & (torch.device('cuda').index is not None):
        tensor = tensor.to('cuda')
    # (the newer version of the tutorial:)
    if torch.accelerator.is_available():
        tensor = tensor.to(torch.accelerator.current_accelerator())
    """,
    """
    tensor = torch.ones(4, 4)
    print('First row: ', tensor[0])
    print('First column: ', tensor[:, 0])
    print('Last column:', tensor[..., -1])
    tensor[:,1] = 0
    print(tensor)

    t1 = torch.cat([tensor, tensor, tensor], dim=1)
    print(t1)

    # This computes the matrix multiplication between two tensors. y1, y2, y3 will have the same value
    y1 = tensor @ tensor.T
    y2 = tensor.matmul(tensor.T)

    y3 = torch.rand_like(tensor)
    torch.matmul(tensor, tensor.T, out=y3)

    # This computes the element-wise product. z1, z2, z3 will have the same value
    z1 = tensor * tensor
    z2 = tensor.mul(tensor)

    z3 = torch.rand_like(tensor)
    torch.mul(tensor, tensor, out=z3)

    agg = tensor.sum()
    agg_item = agg.item()
    print(agg_item, type(agg_item))

    print(tensor, "\\n")
    tensor.add_(5)
    print(tensor)
    """,  # noqa: E501 (the tutorial's own line, kept verbatim)
    """
    t = torch.ones(5)
    print(f"t: {t}")
    n = t.numpy()
    print(f"n: {n}")

    t.add_(1)
    print(f"t: {t}")
    print(f"n: {n}")
    """,
    """
    n = np.ones(5)
    t = torch.from_numpy(n)

    np.add(n, 1, out=n)
    print(f"t: {t}")
    print(f"n: {n}")
    """,
]


def test_tensors_tutorial(capsys):
    ns: dict = {}
    run(TENSORS[0], ns, "tensors")
    assert ns["x_data"].dtype == torch.int64 and ns["x_ones"].tolist() == [[1, 1], [1, 1]]
    assert ns["x_ones"].dtype == torch.int64 and ns["x_rand"].dtype == torch.float32
    assert ns["rand_tensor"].shape == (2, 3) and ns["zeros_tensor"].sum().item() == 0
    ns["np_array"][0, 0] = 100  # from_numpy shares memory
    assert ns["x_np"][0, 0].item() == 100
    run(TENSORS[1], ns, "tensors")
    out = capsys.readouterr().out
    assert (
        "Shape of tensor: tinyconv.Size([3, 4])" in out and "Device tensor is stored on: cpu" in out
    )
    run(TENSORS[2], ns, "tensors")
    tensor = ns["tensor"]
    expected = np.ones((4, 4), np.float32)
    expected[:, 1] = 0
    np.testing.assert_array_equal(tensor.numpy(), expected + 5)
    assert ns["t1"].shape == (4, 12)
    for a, b in (("y1", "y2"), ("y1", "y3"), ("z1", "z2"), ("z1", "z3")):
        assert torch.equal(ns[a], ns[b]), (a, b)
    np.testing.assert_array_equal(ns["y1"].numpy(), np.full((4, 4), 3.0))
    assert ns["agg_item"] == 12.0 and type(ns["agg_item"]) is float
    out = capsys.readouterr().out
    assert "First row:  tensor([1., 1., 1., 1.])" in out and "12.0 <class 'float'>" in out
    run(TENSORS[3], ns, "tensors")
    assert ns["n"].tolist() == [2.0] * 5  # t.add_(1) shows in the NumPy array
    run(TENSORS[4], ns, "tensors")
    assert ns["t"].tolist() == [2.0] * 5 and ns["t"].dtype == torch.float64  # and back
    assert (
        capsys.readouterr().out.splitlines()[-2]
        == "t: tensor([2., 2., 2., 2., 2.], dtype=tinyconv.float64)"
    )


# -- pytorch/tutorials: Autograd (beginner_source/basics/autogradqs_tutorial.py) ------------------

AUTOGRAD = [
    """
    import tinyconv as torch

    x = torch.ones(5)  # input tensor
    y = torch.zeros(3)  # expected output
    w = torch.randn(5, 3, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    z = torch.matmul(x, w)+b
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)

    print(f"Gradient function for z = {z.grad_fn}")
    print(f"Gradient function for loss = {loss.grad_fn}")

    loss.backward()
    print(w.grad)
    print(b.grad)
    """,
    """
    z = torch.matmul(x, w)+b
    print(z.requires_grad)

    with torch.no_grad():
        z = torch.matmul(x, w)+b
    print(z.requires_grad)

    z = torch.matmul(x, w)+b
    z_det = z.detach()
    print(z_det.requires_grad)
    """,
    """
    inp = torch.eye(4, 5, requires_grad=True)
    out = (inp+1).pow(2).t()
    out.backward(torch.ones_like(out), retain_graph=True)
    print(f"First call\\n{inp.grad}")
    first = inp.grad.clone()
    out.backward(torch.ones_like(out), retain_graph=True)
    print(f"\\nSecond call\\n{inp.grad}")
    second = inp.grad.clone()
    inp.grad.zero_()
    out.backward(torch.ones_like(out), retain_graph=True)
    print(f"\\nCall after zeroing gradients\\n{inp.grad}")
    """,
]


def test_autograd_tutorial(capsys):
    torch.manual_seed(0)
    ns = run(AUTOGRAD[0], {}, "autograd")
    x, w, b = ns["x"].numpy(), ns["w"].detach().numpy(), ns["b"].detach().numpy()
    z = x @ w + b
    # loss = mean over 3 outputs of BCE(sigmoid(z), 0): dloss/dz = sigmoid(z) / 3
    dz = 1 / (1 + np.exp(-z)) / 3
    np.testing.assert_allclose(ns["b"].grad.numpy(), dz, rtol=1e-5)
    np.testing.assert_allclose(ns["w"].grad.numpy(), np.outer(x, dz), rtol=1e-5)
    np.testing.assert_allclose(ns["loss"].item(), np.mean(np.log1p(np.exp(z))), rtol=1e-5)
    capsys.readouterr()
    run(AUTOGRAD[1], ns, "autograd")
    assert capsys.readouterr().out.split() == ["True", "False", "False"]
    run(AUTOGRAD[2], ns, "autograd")
    eye = np.eye(4, 5, dtype=np.float32)
    np.testing.assert_array_equal(ns["first"].numpy(), 2 * (eye + 1))  # d (inp+1)^2 = 2 (inp+1)
    np.testing.assert_array_equal(ns["second"].numpy(), 4 * (eye + 1))  # accumulated
    np.testing.assert_array_equal(ns["inp"].grad.numpy(), 2 * (eye + 1))
    assert "First call\ntensor([[4., 2., 2., 2., 2.]," in capsys.readouterr().out


# -- pytorch/tutorials: Neural Networks (beginner_source/blitz/neural_networks_tutorial.py) -------

NEURAL_NETWORKS = [
    """
    import tinyconv as torch
    import tinyconv.nn as nn
    import tinyconv.nn.functional as F


    class Net(nn.Module):

        def __init__(self):
            super(Net, self).__init__()
            # 1 input image channel, 6 output channels, 5x5 square convolution
            # kernel
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.conv2 = nn.Conv2d(6, 16, 5)
            # an affine operation: y = Wx + b
            self.fc1 = nn.Linear(16 * 5 * 5, 120)  # 5*5 from image dimension
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, input):
            c1 = F.relu(self.conv1(input))
            s2 = F.max_pool2d(c1, (2, 2))
            c3 = F.relu(self.conv2(s2))
            s4 = F.max_pool2d(c3, 2)
            s4 = torch.flatten(s4, 1)
            f5 = F.relu(self.fc1(s4))
            f6 = F.relu(self.fc2(f5))
            output = self.fc3(f6)
            return output


    net = Net()
    print(net)

    params = list(net.parameters())
    print(len(params))
    print(params[0].size())  # conv1's .weight

    input = torch.randn(1, 1, 32, 32)
    out = net(input)
    print(out)

    net.zero_grad()
    out.backward(torch.randn(1, 10))
    """,
    """
    output = net(input)
    target = torch.randn(10)  # a dummy target, for example
    target = target.view(1, -1)  # make it the same shape as output
    criterion = nn.MSELoss()

    loss = criterion(output, target)
    print(loss)

    print(loss.grad_fn)  # MSELoss
    print(loss.grad_fn.next_functions[0][0])  # Linear
    print(loss.grad_fn.next_functions[0][0].next_functions[0][0])  # ReLU

    net.zero_grad()     # zeroes the gradient buffers of all parameters

    print('conv1.bias.grad before backward')
    print(net.conv1.bias.grad)

    loss.backward()

    print('conv1.bias.grad after backward')
    print(net.conv1.bias.grad)
    """,
    """
    learning_rate = 0.01
    for f in net.parameters():
        f.data.sub_(f.grad.data * learning_rate)
    """,
    """
    import tinyconv.optim as optim

    # create your optimizer
    optimizer = optim.SGD(net.parameters(), lr=0.01)

    # in your training loop:
    optimizer.zero_grad()   # zero the gradient buffers
    output = net(input)
    loss = criterion(output, target)
    loss.backward()
    optimizer.step()    # Does the update
    """,
]

NET_REPR = """\
Net(
  (conv1): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))
  (conv2): Conv2d(6, 16, kernel_size=(5, 5), stride=(1, 1))
  (fc1): Linear(in_features=400, out_features=120, bias=True)
  (fc2): Linear(in_features=120, out_features=84, bias=True)
  (fc3): Linear(in_features=84, out_features=10, bias=True)
)"""


def test_neural_networks_tutorial(capsys):
    torch.manual_seed(0)
    ns = run(NEURAL_NETWORKS[0], {}, "neural networks")
    out = capsys.readouterr().out
    assert out.startswith(NET_REPR + "\n10\ntinyconv.Size([6, 1, 5, 5])\n")
    assert len(ns["params"]) == 10 and ns["out"].shape == (1, 10)
    assert all(p.grad is not None and p.grad.shape == p.shape for p in ns["params"])
    run(NEURAL_NETWORKS[1], ns, "neural networks")
    loss, output, target = ns["loss"], ns["output"], ns["target"]
    assert math.isclose(
        loss.item(), float(np.mean((output.detach().numpy() - target.numpy()) ** 2)), rel_tol=1e-5
    )
    out = capsys.readouterr().out
    # the graph as PyTorch prints it: the fused loss, the last Linear's addmm, its bias's leaf
    assert re.search(
        r"<MseLossBackward0 object at 0x[0-9a-f]+>\n<AddmmBackward0 object at 0x[0-9a-f]+>\n"
        r"<AccumulateGrad object at 0x[0-9a-f]+>\n",
        out,
    )
    assert "conv1.bias.grad before backward\nNone\nconv1.bias.grad after backward\ntensor([" in out
    assert ns["net"].conv1.bias.grad.shape == (6,)
    before = [(p.detach().numpy().copy(), p.grad.numpy().copy()) for p in ns["net"].parameters()]
    run(NEURAL_NETWORKS[2], ns, "neural networks")
    for (old, grad), p in zip(before, ns["net"].parameters(), strict=True):
        np.testing.assert_allclose(
            p.detach().numpy(), old - grad * np.float32(0.01), rtol=1e-6, atol=1e-7
        )
    loss_before = ns["criterion"](ns["net"](ns["input"]), ns["target"]).item()
    run(NEURAL_NETWORKS[3], ns, "neural networks")
    assert math.isclose(
        ns["loss"].item(), loss_before, rel_tol=1e-5
    )  # the loss of the same weights
    assert (
        ns["criterion"](ns["net"](ns["input"]), ns["target"]).item() < loss_before
    )  # the step helped


# -- pytorch/tutorials: Quickstart (beginner_source/basics/quickstart_tutorial.py) ----------------

QUICKSTART = [
    """
    import tinyconv as torch
    from tinyconv import nn
    from tinyconv.utils.data import DataLoader
    from fake_torchvision import datasets
    from tinyconv.transforms import ToTensor

    # Download training data from open datasets.
    training_data = datasets.FashionMNIST(
        root="data",
        train=True,
        download=True,
        transform=ToTensor(),
    )

    # Download test data from open datasets.
    test_data = datasets.FashionMNIST(
        root="data",
        train=False,
        download=True,
        transform=ToTensor(),
    )

    batch_size = 64

    # Create data loaders.
    train_dataloader = DataLoader(training_data, batch_size=batch_size)
    test_dataloader = DataLoader(test_data, batch_size=batch_size)

    for X, y in test_dataloader:
        print(f"Shape of X [N, C, H, W]: {X.shape}")
        print(f"Shape of y: {y.shape} {y.dtype}")
        break

    device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
    print(f"Using {device} device")

    # Define model
    class NeuralNetwork(nn.Module):
        def __init__(self):
            super().__init__()
            self.flatten = nn.Flatten()
            self.linear_relu_stack = nn.Sequential(
                nn.Linear(28*28, 512),
                nn.ReLU(),
                nn.Linear(512, 512),
                nn.ReLU(),
                nn.Linear(512, 10)
            )

        def forward(self, x):
            x = self.flatten(x)
            logits = self.linear_relu_stack(x)
            return logits

    model = NeuralNetwork().to(device)
    print(model)

    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)

    def train(dataloader, model, loss_fn, optimizer):
        size = len(dataloader.dataset)
        model.train()
        for batch, (X, y) in enumerate(dataloader):
            X, y = X.to(device), y.to(device)

            # Compute prediction error
            pred = model(X)
            loss = loss_fn(pred, y)

            # Backpropagation
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()

            if batch % 100 == 0:
                loss, current = loss.item(), (batch + 1) * len(X)
                print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")

    def test(dataloader, model, loss_fn):
        size = len(dataloader.dataset)
        num_batches = len(dataloader)
        model.eval()
        test_loss, correct = 0, 0
        with torch.no_grad():
            for X, y in dataloader:
                X, y = X.to(device), y.to(device)
                pred = model(X)
                test_loss += loss_fn(pred, y).item()
                correct += (pred.argmax(1) == y).type(torch.float).sum().item()
        test_loss /= num_batches
        correct /= size
        print(f"Test Error: \\n Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8f} \\n")

    epochs = 5
    for t in range(epochs):
        print(f"Epoch {t+1}\\n-------------------------------")
        train(train_dataloader, model, loss_fn, optimizer)
        test(test_dataloader, model, loss_fn)
    print("Done!")

    torch.save(model.state_dict(), "model.pth")
    print("Saved PyTorch Model State to model.pth")
    """,  # noqa: E501 (the tutorial's own line, kept verbatim)
    """
    model = NeuralNetwork().to(device)
    model.load_state_dict(torch.load("model.pth", weights_only=True))

    classes = [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ]

    model.eval()
    x, y = test_data[0][0], test_data[0][1]
    with torch.no_grad():
        x = x.to(device)
        pred = model(x)
        predicted, actual = classes[pred[0].argmax(0)], classes[y]
        print(f'Predicted: "{predicted}", Actual: "{actual}"')
    """,
]


@pytest.fixture
def fake_torchvision(monkeypatch):
    """Put a `fake_torchvision` package (its datasets) where the tutorials import
    torchvision's datasets."""

    def install(datasets):
        pkg = types.ModuleType("fake_torchvision")
        pkg.datasets = datasets
        monkeypatch.setitem(sys.modules, "fake_torchvision", pkg)

    return install


def test_quickstart_tutorial(capsys, tmp_path, monkeypatch, fake_torchvision):
    monkeypatch.chdir(tmp_path)
    # seed 1: PyTorch 2.13 running this tutorial on these data prints the same numbers (its
    # stream is tinyconv's), accuracy 10.9% -> 15.6% in 5 epochs at lr 1e-3 (chance: 10%)
    torch.manual_seed(1)
    fake_torchvision(fake_datasets(512, 128, (1, 28, 28), 0.0, 1.0, seed=1))
    ns = run(QUICKSTART[0], {}, "quickstart")
    out = capsys.readouterr().out
    assert (
        "Shape of X [N, C, H, W]: tinyconv.Size([64, 1, 28, 28])\nShape of y: tinyconv.Size([64]) "
        "tinyconv.int64" in out
    )
    assert (
        "Using cpu device" in out
        and "(0): Linear(in_features=784, out_features=512, bias=True)" in out
    )
    assert (
        "loss: " in out
        and "[   64/  512]" in out
        and out.rstrip().endswith("Saved PyTorch Model State to model.pth")
    )
    accuracy = [float(a) for a in re.findall(r"Accuracy: ([\d.]+)%", out)]
    avg_loss = [float(v) for v in re.findall(r"Avg loss: ([\d.]+)", out)]
    assert len(avg_loss) == 5 and all(b < a for a, b in itertools.pairwise(avg_loss)), avg_loss
    assert accuracy[-1] > accuracy[0] and accuracy[-1] > 15, accuracy
    trained = ns["model"]
    run(QUICKSTART[1], ns, "quickstart")
    for (k, v), (k2, v2) in zip(
        trained.state_dict().items(), ns["model"].state_dict().items(), strict=True
    ):
        assert k == k2 and torch.equal(v, v2)
    assert not ns["model"].training
    assert re.search(r'Predicted: "[^"]+", Actual: "[^"]+"', capsys.readouterr().out)
    assert ns["actual"] == ns["classes"][int(ns["test_data"][0][1])]


# -- pytorch/tutorials: Training a Classifier (beginner_source/blitz/cifar10_tutorial.py) ---------

CIFAR = [
    """
    import tinyconv as torch
    import fake_torchvision as torchvision
    from tinyconv import transforms

    transform = transforms.Compose(
        [transforms.ToTensor(),
         transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])

    batch_size = 4

    trainset = torchvision.datasets.CIFAR10(root='./data', train=True,
                                            download=True, transform=transform)
    trainloader = torch.utils.data.DataLoader(trainset, batch_size=batch_size,
                                              shuffle=True, num_workers=2)

    testset = torchvision.datasets.CIFAR10(root='./data', train=False,
                                           download=True, transform=transform)
    testloader = torch.utils.data.DataLoader(testset, batch_size=batch_size,
                                             shuffle=False, num_workers=2)

    classes = ('plane', 'car', 'bird', 'cat',
               'deer', 'dog', 'frog', 'horse', 'ship', 'truck')

    # get some random training images
    dataiter = iter(trainloader)
    images, labels = next(dataiter)

    # print labels
    print(' '.join(f'{classes[labels[j]]:5s}' for j in range(batch_size)))

    import tinyconv.nn as nn
    import tinyconv.nn.functional as F


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 6, 5)
            self.pool = nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = self.pool(F.relu(self.conv1(x)))
            x = self.pool(F.relu(self.conv2(x)))
            x = torch.flatten(x, 1) # flatten all dimensions except batch
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            x = self.fc3(x)
            return x


    net = Net()

    import tinyconv.optim as optim

    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
    """,
    """
    for epoch in range(2):  # loop over the dataset multiple times

        running_loss = 0.0
        for i, data in enumerate(trainloader, 0):
            # get the inputs; data is a list of [inputs, labels]
            inputs, labels = data

            # zero the parameter gradients
            optimizer.zero_grad()

            # forward + backward + optimize
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()

            # print statistics
            running_loss += loss.item()
            if i % 2000 == 1999:    # print every 2000 mini-batches
                print(f'[{epoch + 1}, {i + 1:5d}] loss: {running_loss / 2000:.3f}')
                running_loss = 0.0

    print('Finished Training')

    PATH = './cifar_net.pth'
    torch.save(net.state_dict(), PATH)

    dataiter = iter(testloader)
    images, labels = next(dataiter)

    print('GroundTruth: ', ' '.join(f'{classes[labels[j]]:5s}' for j in range(4)))

    net = Net()
    net.load_state_dict(torch.load(PATH, weights_only=True))

    outputs = net(images)

    _, predicted = torch.max(outputs, 1)

    print('Predicted: ', ' '.join(f'{classes[predicted[j]]:5s}'
                                  for j in range(4)))

    correct = 0
    total = 0
    # since we're not training, we don't need to calculate the gradients for our outputs
    with torch.no_grad():
        for data in testloader:
            images, labels = data
            # calculate outputs by running images through the network
            outputs = net(images)
            # the class with the highest energy is what we choose as prediction
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()

    print(f'Accuracy of the network on the 10000 test images: {100 * correct // total} %')

    # prepare to count predictions for each class
    correct_pred = {classname: 0 for classname in classes}
    total_pred = {classname: 0 for classname in classes}

    # again no gradients needed
    with torch.no_grad():
        for data in testloader:
            images, labels = data
            outputs = net(images)
            _, predictions = torch.max(outputs, 1)
            # collect the correct predictions for each class
            for label, prediction in zip(labels, predictions):
                if label == prediction:
                    correct_pred[classes[label]] += 1
                total_pred[classes[label]] += 1


    # print accuracy for each class
    for classname, correct_count in correct_pred.items():
        accuracy = 100 * float(correct_count) / total_pred[classname]
        print(f'Accuracy for class: {classname:5s} is {accuracy:.1f} %')

    device = torch.device('cuda:0' if torch.cuda.is_available() else 'cpu')

    # Assuming that we are on a CUDA machine, this should print a CUDA device:

    print(device)
    """,
]


def test_cifar10_tutorial(capsys, tmp_path, monkeypatch, fake_torchvision):
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    datasets = fake_datasets(80, 20, (3, 32, 32), -1.0, 1.0, seed=2)
    datasets.CIFAR10(train=False).tensors[1][:10] = torch.arange(10)  # every class in the test set
    fake_torchvision(datasets)
    ns = run(CIFAR[0], {}, "cifar10")
    first = capsys.readouterr().out.split()
    assert len(first) == 4 and set(first) <= set(ns["classes"])
    assert ns["images"].shape == (4, 3, 32, 32) and ns["labels"].dtype == torch.int64
    start = copy.deepcopy(ns["net"])

    def test_loss(net):
        with torch.no_grad():
            return sum(ns["criterion"](net(x), y).item() for x, y in ns["testloader"]) / len(
                ns["testloader"]
            )

    before = test_loss(start)
    run(CIFAR[1], ns, "cifar10")
    assert test_loss(ns["net"]) < before  # two epochs of SGD with momentum lowered the loss
    assert 0 < ns["running_loss"] / len(ns["trainloader"]) < math.log(10) + 0.2
    assert ns["total"] == 20 and 0 <= ns["correct"] <= 20
    assert (
        sum(ns["total_pred"].values()) == 20 and sum(ns["correct_pred"].values()) == ns["correct"]
    )
    assert all(ns["total_pred"][c] >= 1 for c in ns["classes"])
    out = capsys.readouterr().out
    assert (
        "Finished Training\nGroundTruth: " in out
        and f"test images: {100 * ns['correct'] // 20} %" in out
    )
    assert out.count("Accuracy for class:") == 10 and out.rstrip().endswith("cpu")


# -- d2l.ai: Convolutional Neural Networks, chapters 7.2-7.6
# ----------------------------------------


def d2l_standin() -> types.ModuleType:
    """`from d2l import torch as d2l`: the aliases d2l/torch.py defines over torch, over tinyconv
    here, plus the d2l.Module / d2l.Classifier plumbing the LeNet chapter uses."""
    d2l = types.ModuleType("d2l_torch")
    for name in (
        "zeros",
        "ones",
        "tensor",
        "arange",
        "normal",
        "randn",
        "rand",
        "matmul",
        "stack",
        "abs",
        "float32",
    ):
        setattr(d2l, name, getattr(torch, name))
    d2l.concat = torch.cat
    d2l.reshape = lambda x, *args, **kwargs: x.reshape(*args, **kwargs)
    d2l.reduce_sum = lambda x, *args, **kwargs: x.sum(*args, **kwargs)
    d2l.transpose = lambda x, *args, **kwargs: x.t(*args, **kwargs)

    def add_to_class(Class):
        def wrapper(obj):
            setattr(Class, obj.__name__, obj)

        return wrapper

    class Module(nn.Module):
        def save_hyperparameters(self, ignore=()):
            frame = inspect.currentframe().f_back
            _, _, _, local_vars = inspect.getargvalues(frame)
            self.hparams = {
                k: v
                for k, v in local_vars.items()
                if k not in set(ignore) | {"self"} and not k.startswith("_")
            }
            for k, v in self.hparams.items():
                setattr(self, k, v)

        def forward(self, X):
            return self.net(X)

        def apply_init(self, inputs, init=None):
            self.forward(*inputs)
            if init is not None:
                self.net.apply(init)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=self.lr)

    class Classifier(Module):
        def loss(self, Y_hat, Y, averaged=True):
            Y_hat = d2l.reshape(Y_hat, (-1, Y_hat.shape[-1]))
            Y = d2l.reshape(Y, (-1,))
            return nn.functional.cross_entropy(Y_hat, Y, reduction="mean" if averaged else "none")

    d2l.add_to_class, d2l.Module, d2l.Classifier = add_to_class, Module, Classifier
    return d2l


D2L_CONV_LAYER = [
    """
    import tinyconv as torch
    from tinyconv import nn

    def corr2d(X, K):  #@save
        \"\"\"Compute 2D cross-correlation.\"\"\"
        h, w = K.shape
        Y = d2l.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
        for i in range(Y.shape[0]):
            for j in range(Y.shape[1]):
                Y[i, j] = d2l.reduce_sum((X[i: i + h, j: j + w] * K))
        return Y

    X = d2l.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
    K = d2l.tensor([[0.0, 1.0], [2.0, 3.0]])
    corr = corr2d(X, K)

    class Conv2D(nn.Module):
        def __init__(self, kernel_size):
            super().__init__()
            self.weight = nn.Parameter(torch.rand(kernel_size))
            self.bias = nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return corr2d(x, self.weight) + self.bias

    X = d2l.ones((6, 8))
    X[:, 2:6] = 0
    K = d2l.tensor([[1.0, -1.0]])
    Y = corr2d(X, K)
    Y_t = corr2d(d2l.transpose(X), K)
    """,
    """
    # Construct a two-dimensional convolutional layer with 1 output channel and a
    # kernel of shape (1, 2). For the sake of simplicity, we ignore the bias here
    conv2d = nn.LazyConv2d(1, kernel_size=(1, 2), bias=False)

    # The two-dimensional convolutional layer uses four-dimensional input and
    # output in the format of (example, channel, height, width), where the batch
    # size (number of examples in the batch) and the number of channels are both 1
    X = X.reshape((1, 1, 6, 8))
    Y = Y.reshape((1, 1, 6, 7))
    lr = 3e-2  # Learning rate

    for i in range(10):
        Y_hat = conv2d(X)
        l = (Y_hat - Y) ** 2
        conv2d.zero_grad()
        l.sum().backward()
        # Update the kernel
        conv2d.weight.data[:] -= lr * conv2d.weight.grad
        if (i + 1) % 2 == 0:
            print(f'epoch {i + 1}, loss {l.sum():.3f}')

    learned = d2l.reshape(conv2d.weight.data, (1, 2))
    """,
]

D2L_PADDING = """
    import tinyconv as torch
    from tinyconv import nn

    # We define a helper function to calculate convolutions. It initializes the
    # convolutional layer weights and performs corresponding dimensionality
    # elevations and reductions on the input and output
    def comp_conv2d(conv2d, X):
        # (1, 1) indicates that batch size and the number of channels are both 1
        X = X.reshape((1, 1) + X.shape)
        Y = conv2d(X)
        # Strip the first two dimensions: examples and channels
        return Y.reshape(Y.shape[2:])

    # 1 row and column is padded on either side, so a total of 2 rows or columns
    # are added
    conv2d = nn.LazyConv2d(1, kernel_size=3, padding=1)
    X = torch.rand(size=(8, 8))
    shapes = [comp_conv2d(conv2d, X).shape]

    conv2d = nn.LazyConv2d(1, kernel_size=(5, 3), padding=(2, 1))
    shapes.append(comp_conv2d(conv2d, X).shape)

    conv2d = nn.LazyConv2d(1, kernel_size=3, padding=1, stride=2)
    shapes.append(comp_conv2d(conv2d, X).shape)

    conv2d = nn.LazyConv2d(1, kernel_size=(3, 5), padding=(0, 1), stride=(3, 4))
    shapes.append(comp_conv2d(conv2d, X).shape)
"""

D2L_CHANNELS = """
    import tinyconv as torch

    def corr2d_multi_in(X, K):
        # Iterate through the 0th dimension (channel) of K first, then add them up
        return sum(d2l.corr2d(x, k) for x, k in zip(X, K))

    X = d2l.tensor([[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]],
                   [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]])
    K = d2l.tensor([[[0.0, 1.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0]]])

    multi_in = corr2d_multi_in(X, K)

    def corr2d_multi_in_out(X, K):
        # Iterate through the 0th dimension of K, and each time, perform
        # cross-correlation operations with input X. All of the results are
        # stacked together
        return d2l.stack([corr2d_multi_in(X, k) for k in K], 0)

    K = d2l.stack((K, K + 1, K + 2), 0)
    K_shape = K.shape
    multi_in_out = corr2d_multi_in_out(X, K)

    def corr2d_multi_in_out_1x1(X, K):
        c_i, h, w = X.shape
        c_o = K.shape[0]
        X = d2l.reshape(X, (c_i, h * w))
        K = d2l.reshape(K, (c_o, c_i))
        # Matrix multiplication in the fully connected layer
        Y = d2l.matmul(K, X)
        return d2l.reshape(Y, (c_o, h, w))

    X = d2l.normal(0, 1, (3, 3, 3))
    K = d2l.normal(0, 1, (2, 3, 1, 1))
    Y1 = corr2d_multi_in_out_1x1(X, K)
    Y2 = corr2d_multi_in_out(X, K)
    assert float(d2l.reduce_sum(d2l.abs(Y1 - Y2))) < 1e-6
"""

D2L_POOLING = """
    import tinyconv as torch
    from tinyconv import nn

    def pool2d(X, pool_size, mode='max'):
        p_h, p_w = pool_size
        Y = d2l.zeros((X.shape[0] - p_h + 1, X.shape[1] - p_w + 1))
        for i in range(Y.shape[0]):
            for j in range(Y.shape[1]):
                if mode == 'max':
                    Y[i, j] = X[i: i + p_h, j: j + p_w].max()
                elif mode == 'avg':
                    Y[i, j] = X[i: i + p_h, j: j + p_w].mean()
        return Y

    X = d2l.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
    hand_max = pool2d(X, (2, 2))
    hand_avg = pool2d(X, (2, 2), 'avg')

    X = d2l.reshape(d2l.arange(16, dtype=d2l.float32), (1, 1, 4, 4))
    pool2d = nn.MaxPool2d(3)
    # Pooling has no model parameters, hence it needs no initialization
    p1 = pool2d(X)
    pool2d = nn.MaxPool2d(3, padding=1, stride=2)
    p2 = pool2d(X)
    pool2d = nn.MaxPool2d((2, 3), stride=(2, 3), padding=(0, 1))
    p3 = pool2d(X)
    X = d2l.concat((X, X + 1), 1)
    pool2d = nn.MaxPool2d(3, padding=1, stride=2)
    p4 = pool2d(X)
"""

D2L_LENET = [
    """
    import tinyconv as torch
    from tinyconv import nn

    def init_cnn(module):  #@save
        \"\"\"Initialize weights for CNNs.\"\"\"
        if type(module) == nn.Linear or type(module) == nn.Conv2d:
            nn.init.xavier_uniform_(module.weight)

    class LeNet(d2l.Classifier):  #@save
        \"\"\"The LeNet-5 model.\"\"\"
        def __init__(self, lr=0.1, num_classes=10):
            super().__init__()
            self.save_hyperparameters()
            self.net = nn.Sequential(
                nn.LazyConv2d(6, kernel_size=5, padding=2), nn.Sigmoid(),
                nn.AvgPool2d(kernel_size=2, stride=2),
                nn.LazyConv2d(16, kernel_size=5), nn.Sigmoid(),
                nn.AvgPool2d(kernel_size=2, stride=2),
                nn.Flatten(),
                nn.LazyLinear(120), nn.Sigmoid(),
                nn.LazyLinear(84), nn.Sigmoid(),
                nn.LazyLinear(num_classes))

    @d2l.add_to_class(d2l.Classifier)  #@save
    def layer_summary(self, X_shape):
        X = d2l.randn(*X_shape)
        for layer in self.net:
            X = layer(X)
            print(layer.__class__.__name__, 'output shape:\\t', X.shape)

    model = LeNet()
    model.layer_summary((1, 1, 28, 28))
    """,
    """
    model = LeNet(lr=0.1)
    model.apply_init([next(iter(data.get_dataloader(True)))[0]], init_cnn)
    """,
]

LENET_SUMMARY = """\
Conv2d output shape:\t tinyconv.Size([1, 6, 28, 28])
Sigmoid output shape:\t tinyconv.Size([1, 6, 28, 28])
AvgPool2d output shape:\t tinyconv.Size([1, 6, 14, 14])
Conv2d output shape:\t tinyconv.Size([1, 16, 10, 10])
Sigmoid output shape:\t tinyconv.Size([1, 16, 10, 10])
AvgPool2d output shape:\t tinyconv.Size([1, 16, 5, 5])
Flatten output shape:\t tinyconv.Size([1, 400])
Linear output shape:\t tinyconv.Size([1, 120])
Sigmoid output shape:\t tinyconv.Size([1, 120])
Linear output shape:\t tinyconv.Size([1, 84])
Sigmoid output shape:\t tinyconv.Size([1, 84])
Linear output shape:\t tinyconv.Size([1, 10])
"""


def test_d2l_convolutions_for_images(capsys):
    torch.manual_seed(0)
    d2l = d2l_standin()
    ns = run(D2L_CONV_LAYER[0], {"d2l": d2l}, "d2l conv-layer")
    assert ns["corr"].tolist() == [[19.0, 25.0], [37.0, 43.0]]
    assert ns["Y"].tolist() == [[0.0, 1.0, 0.0, 0.0, 0.0, -1.0, 0.0]] * 6
    assert ns["Y_t"].abs().sum().item() == 0  # the kernel only detects vertical edges
    layer = ns["Conv2D"]((1, 2))
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    assert layer(ns["X"]).shape == (6, 7)
    run(D2L_CONV_LAYER[1], ns, "d2l conv-layer")
    losses = [float(v) for v in re.findall(r"loss ([\d.]+)", capsys.readouterr().out)]
    assert len(losses) == 5 and all(b < a for a, b in itertools.pairwise(losses)), losses
    assert losses[-1] < losses[0] / 20, losses
    assert type(ns["conv2d"]) is nn.Conv2d and ns["conv2d"].weight.shape == (1, 1, 1, 2)
    np.testing.assert_allclose(
        ns["learned"].numpy(), [[1.0, -1.0]], atol=0.15
    )  # the kernel K was learned


def test_d2l_padding_and_stride():
    torch.manual_seed(0)
    ns = run(D2L_PADDING, {"d2l": d2l_standin()}, "d2l padding-and-strides")
    assert [tuple(s) for s in ns["shapes"]] == [(8, 8), (8, 8), (4, 4), (2, 2)]


def test_d2l_multiple_channels():
    torch.manual_seed(0)
    d2l = d2l_standin()
    d2l.corr2d = run(D2L_CONV_LAYER[0], {"d2l": d2l}, "d2l conv-layer")["corr2d"]  # its #@save
    ns = run(D2L_CHANNELS, {"d2l": d2l}, "d2l channels")
    assert ns["multi_in"].tolist() == [[56.0, 72.0], [104.0, 120.0]]
    assert ns["K_shape"] == (3, 2, 2, 2)
    assert ns["multi_in_out"].tolist() == [
        [[56.0, 72.0], [104.0, 120.0]],
        [[76.0, 100.0], [148.0, 172.0]],
        [[96.0, 128.0], [192.0, 224.0]],
    ]
    assert ns["Y1"].shape == ns["Y2"].shape == (2, 3, 3)


def test_d2l_pooling():
    ns = run(D2L_POOLING, {"d2l": d2l_standin()}, "d2l pooling")
    assert ns["hand_max"].tolist() == [[4.0, 5.0], [7.0, 8.0]]
    assert ns["hand_avg"].tolist() == [[2.0, 3.0], [5.0, 6.0]]
    assert ns["p1"].tolist() == [[[[10.0]]]]
    assert ns["p2"].tolist() == [[[[5.0, 7.0], [13.0, 15.0]]]]
    assert ns["p3"].tolist() == [[[[5.0, 7.0], [13.0, 15.0]]]]
    assert ns["p4"].tolist() == [[[[5.0, 7.0], [13.0, 15.0]], [[6.0, 8.0], [14.0, 16.0]]]]


def test_d2l_lenet(capsys):
    torch.manual_seed(0)
    d2l = d2l_standin()
    ns = run(D2L_LENET[0], {"d2l": d2l}, "d2l lenet")
    assert capsys.readouterr().out == LENET_SUMMARY
    assert ns["model"].lr == 0.1 and ns["model"].num_classes == 10
    # The training set-up: d2l initialises the lazy layers with one batch, then applies init_cnn.
    fmnist = fake_datasets(32, 1, (1, 28, 28), 0.0, 1.0, seed=3).FashionMNIST(train=True)
    loader = torch.utils.data.DataLoader(fmnist, batch_size=32, shuffle=True)
    ns["data"] = types.SimpleNamespace(get_dataloader=lambda train: loader)
    run(D2L_LENET[1], ns, "d2l lenet")
    model = ns["model"]
    convs = [m for m in model.net if type(m) is nn.Conv2d]
    assert [tuple(c.weight.shape) for c in convs] == [(6, 1, 5, 5), (16, 6, 5, 5)]
    w = convs[1].weight.detach().numpy()
    bound = math.sqrt(6 / (6 * 25 + 16 * 25))  # xavier_uniform_ replaced the default init
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    optimizer = model.configure_optimizers()
    X, y = next(iter(loader))
    losses = []
    for _ in range(8):  # d2l's training_step: loss of the batch, backward, step
        loss = model.loss(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
