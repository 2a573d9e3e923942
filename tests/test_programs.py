# ruff: noqa: E501  (the programs are written as learners write them, long lines included)
"""Differential programs: PyTorch code as learners write it, run with `torch` and with tinyconv.

Each program below is ordinary PyTorch code (written for these tests, in the style of
tutorials and course notebooks). `program_harness.compare_program` runs it twice, once as
written and once with `torch` replaced by `tinyconv` in its imports, then compares every
top-level variable (Tensors: shape, dtype, requires_grad, values and `.grad`; numbers,
strings, containers; Modules: state_dict and parameter grads; optimizers: state_dict) and
every printed line. Programs are float64 where the numbers matter, so they agree to ~1e-10;
initial weights come from a NumPy generator (`det_init`), because the two libraries' random
streams differ. Values drawn from tinyconv's own random stream are only checked for shape and
dtype (`del`-eted before the comparison, or reduced to an order-free summary).
"""

from __future__ import annotations

import pytest
from program_harness import allowing, compare_program

pytestmark = pytest.mark.torch
pytest.importorskip("torch")

PROGRAMS: dict[str, str] = {}

COMMON = """
from collections import OrderedDict
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

def det_init(model, seed=0, scale=0.3):
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.from_numpy(rng.normal(0, scale, tuple(p.shape))))
    return model
"""

PROGRAMS["regression_manual"] = """
import numpy as np
import torch

rng = np.random.default_rng(0)
x = torch.from_numpy(rng.uniform(-1, 1, 64))
y = 2.0 * x ** 3 - 0.5 * x ** 2 + 0.3 * x + 0.1 + torch.from_numpy(rng.normal(0, 0.05, 64))

a, b, c, d = (torch.tensor(v, dtype=torch.float64) for v in (0.1, -0.2, 0.3, 0.0))
lr = 0.05
losses = []
for t in range(200):
    y_pred = a + b * x + c * x ** 2 + d * x ** 3
    loss = (y_pred - y).pow(2).sum().item()
    if t % 50 == 49:
        print(t, round(loss, 6))
    losses.append(loss)
    grad_y_pred = 2.0 * (y_pred - y) / len(x)
    grad_a = grad_y_pred.sum()
    grad_b = (grad_y_pred * x).sum()
    grad_c = (grad_y_pred * x ** 2).sum()
    grad_d = (grad_y_pred * x ** 3).sum()
    a -= lr * grad_a
    b -= lr * grad_b
    c -= lr * grad_c
    d -= lr * grad_d
print(f"Result: y = {a.item():.4f} + {b.item():.4f} x + {c.item():.4f} x^2 + {d.item():.4f} x^3")
final = [a.item(), b.item(), c.item(), d.item()]
"""

PROGRAMS["regression_autograd"] = """
import math
import numpy as np
import torch

dtype = torch.float64
x = torch.linspace(-math.pi, math.pi, 200, dtype=dtype)
y = torch.sin(x)
a = torch.zeros((), dtype=dtype, requires_grad=True)
b = torch.zeros((), dtype=dtype, requires_grad=True)
c = torch.zeros((), dtype=dtype, requires_grad=True)
d = torch.zeros((), dtype=dtype, requires_grad=True)
learning_rate = 1e-6
for t in range(300):
    y_pred = a + b * x + c * x ** 2 + d * x ** 3
    loss = (y_pred - y).pow(2).sum()
    if t % 100 == 99:
        print(t, f"{loss.item():.6f}")
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad.zero_()
        d.grad.zero_()
print(a.requires_grad, a.is_leaf, y_pred.grad_fn is not None)
final_loss = loss.item()
grads = [c.grad, d.grad]
"""

PROGRAMS["regression_function"] = """
import torch
from torch.autograd import Function
from torch.autograd.function import once_differentiable

class LegendrePolynomial3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)

class ScaledClamp(Function):
    @staticmethod
    def forward(ctx, x, scale, lo):
        mask = x > lo
        ctx.save_for_backward(mask)
        ctx.scale = scale
        ctx.mark_non_differentiable(mask)
        return x.clamp(min=lo) * scale, mask

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out, grad_mask):
        mask, = ctx.saved_tensors
        gx = grad_out * ctx.scale * mask.to(grad_out.dtype) if ctx.needs_input_grad[0] else None
        return gx, None, None

dtype = torch.float64
x = torch.linspace(-1.0, 1.0, 50, dtype=dtype)
y = x ** 3 - 0.2 * x
a = torch.full((), 0.0, dtype=dtype, requires_grad=True)
b = torch.full((), -1.0, dtype=dtype, requires_grad=True)
c = torch.full((), 0.0, dtype=dtype, requires_grad=True)
d = torch.full((), 0.3, dtype=dtype, requires_grad=True)
P3 = LegendrePolynomial3.apply
for t in range(100):
    y_pred = a + b * P3(c + d * x)
    loss = (y_pred - y).pow(2).sum()
    loss.backward()
    with torch.no_grad():
        for p in (a, b, c, d):
            p -= 5e-3 * p.grad
            p.grad = None
final_loss = loss.item()
print(y_pred.grad_fn is not None, type(y_pred.grad_fn).__name__.startswith("Add"))

z = torch.tensor([-1.0, 0.5, 2.0, -0.1], dtype=dtype, requires_grad=True)
out, mask = ScaledClamp.apply(z, 3.0, 0.0)
print(mask.requires_grad, mask.dtype, out.requires_grad)
out.sum().backward()
zgrad = z.grad.clone()
w = torch.tensor([1.0, 2.0], dtype=dtype)
out2, m2 = ScaledClamp.apply(w, 2.0, 1.5)
print(out2.requires_grad, out2)
ok = torch.autograd.gradcheck(LegendrePolynomial3.apply, (torch.randn(5, dtype=dtype, requires_grad=True),))
print("gradcheck", ok)
"""

PROGRAMS["regression_module"] = """
import numpy as np
import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)
try:
    x = torch.linspace(-2, 2, 100)
    p = torch.tensor([1, 2, 3])
    xx = x.unsqueeze(-1).pow(p)
    y = 0.5 - 1.0 * x + 0.25 * x ** 2 + 0.7 * x ** 3
    model = nn.Sequential(nn.Linear(3, 1), nn.Flatten(0, 1))
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for prm in model.parameters():
            prm.copy_(torch.from_numpy(rng.normal(0, 0.1, tuple(prm.shape))))
    loss_fn = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    for t in range(150):
        y_pred = model(xx)
        loss = loss_fn(y_pred, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    linear_layer = model[0]
    print(f"y = {linear_layer.bias.item():.5f} + {linear_layer.weight[:, 0].item():.5f} x")
    final_loss = loss.item()
    print(xx.dtype, y_pred.shape, model[0].weight.dtype)
finally:
    torch.set_default_dtype(torch.float32)
"""

PROGRAMS["data_custom"] = """
import numpy as np
import torch
from torch.utils.data import Dataset, DataLoader, TensorDataset, random_split, Subset, ConcatDataset
from torch.utils.data import SequentialSampler, RandomSampler, BatchSampler, SubsetRandomSampler

class Squares(Dataset):
    def __init__(self, n):
        self.x = torch.arange(n, dtype=torch.float32)
    def __len__(self):
        return len(self.x)
    def __getitem__(self, idx):
        return self.x[idx], self.x[idx] ** 2

ds = Squares(10)
print(len(ds), ds[3])
loader = DataLoader(ds, batch_size=4)
batches = [(xb.clone(), yb.clone()) for xb, yb in loader]
print(len(loader), [b[0].shape for b in batches])
loader2 = DataLoader(ds, batch_size=4, drop_last=True)
n_dl = len(loader2)
last = [xb for xb, _ in loader2][-1]

g = torch.Generator().manual_seed(0)
shuffled = DataLoader(ds, batch_size=3, shuffle=True, generator=g)
seen = sorted(int(v) for xb, _ in shuffled for v in xb)
print(seen)

def collate(batch):
    xs, ys = zip(*batch)
    return {"x": torch.stack(xs), "y": torch.stack(ys), "n": len(batch)}
dict_batches = list(DataLoader(ds, batch_size=5, collate_fn=collate))
print(dict_batches[0]["n"], dict_batches[1]["x"])

tds = TensorDataset(torch.arange(12).view(6, 2), torch.tensor([0, 1, 0, 1, 1, 0]))
item = tds[2]
xb, yb = next(iter(DataLoader(tds, batch_size=6)))
print(xb.dtype, yb.dtype, xb.shape, yb)
train, val = random_split(tds, [4, 2], generator=torch.Generator().manual_seed(42))
print(len(train), len(val), type(train).__name__)
fr = random_split(range(10), [0.7, 0.3], generator=torch.Generator().manual_seed(1))
print([len(s) for s in fr])
sub = Subset(ds, [0, 2, 4])
sub_items = [sub[i][1] for i in range(len(sub))]
cat = ConcatDataset([ds, sub])
print(len(cat), cat[11], cat[12])
cat_batches = [b[1] for b in DataLoader(cat, batch_size=13)]

print(list(SequentialSampler(range(4))))
print(sorted(RandomSampler(range(5), generator=torch.Generator().manual_seed(3))))
print(list(BatchSampler(SequentialSampler(range(7)), batch_size=3, drop_last=False)))
print(list(BatchSampler(range(7), batch_size=3, drop_last=True)))
print(sorted(SubsetRandomSampler([1, 5, 7])))


bs_loader = DataLoader(ds, batch_sampler=BatchSampler(SequentialSampler(ds), 4, False))
bs_sizes = [len(xb) for xb, _ in bs_loader]
sampler_loader = DataLoader(ds, batch_size=2, sampler=SubsetRandomSampler([0, 1, 2, 3]))
total = sum(float(xb.sum()) for xb, _ in sampler_loader)
"""

PROGRAMS["data_dict_items"] = """
import numpy as np
import torch
from torch.utils.data import Dataset, DataLoader

class Tabular(Dataset):
    def __init__(self):
        rng = np.random.default_rng(0)
        self.feats = rng.normal(size=(7, 3)).astype(np.float32)
        self.labels = rng.integers(0, 3, 7)
    def __len__(self):
        return len(self.labels)
    def __getitem__(self, i):
        return {"features": torch.tensor(self.feats[i]), "label": int(self.labels[i]),
                "name": f"row{i}", "np": self.feats[i], "pair": (i, float(i) / 2)}

dl = DataLoader(Tabular(), batch_size=3)
out = []
for batch in dl:
    out.append(batch)
    print(sorted(batch.keys()), batch["features"].shape, batch["label"].dtype, batch["name"])
    print(batch["np"].dtype, batch["pair"][0], batch["pair"][1].dtype)
first_label = out[0]["label"]
pairs = out[-1]["pair"]
ints = DataLoader([1, 2, 3, 4], batch_size=2)
int_batches = list(ints)
floats = list(DataLoader([1.5, 2.5, 3.5], batch_size=2))
arrays = list(DataLoader([np.ones(2), np.zeros(2)], batch_size=2))
nested = list(DataLoader([[1, 2.0], [3, 4.0]], batch_size=2))
print(int_batches, floats[0].dtype, arrays[0].dtype, nested)
"""

PROGRAMS["train_loop"] = (
    COMMON
    + """
torch.set_default_dtype(torch.float64)
try:
    rng = np.random.default_rng(5)
    X = torch.tensor(rng.normal(size=(40, 4)))
    Y = torch.tensor(rng.integers(0, 3, 40))
    model = det_init(nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 3)))
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if name.endswith("bias") else decay).append(p)
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 1e-2}, {"params": no_decay, "weight_decay": 0.0}],
                          lr=0.1, momentum=0.9, nesterov=True)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
    history = []
    for epoch in range(7):
        model.train()
        model.eval()  # dropout off so both libraries agree
        for i in range(0, 40, 10):
            xb, yb = X[i:i + 10], Y[i:i + 10]
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            total_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            torch.nn.utils.clip_grad_value_(model.parameters(), clip_value=0.05)
            opt.step()
        sched.step()
        with torch.no_grad():
            acc = (model(X).argmax(dim=1) == Y).float().mean().item()
        history.append((loss.item(), acc, sched.get_last_lr()[0], float(total_norm)))
        print(epoch, f"{loss.item():.6f}", f"{acc:.3f}", sched.get_last_lr())
    with torch.inference_mode():
        pred = model(X[:5])
    print(pred.requires_grad)
    print(model.training, [m.training for m in model])
    final_lr = opt.param_groups[0]["lr"]
    osd = opt.state_dict()
    print(sorted(osd.keys()), sorted(osd["param_groups"][0].keys()))
    print(sorted(osd["state"].keys()), sorted(osd["state"][0].keys()))
    print(osd["param_groups"][0]["params"], osd["param_groups"][1]["params"])
    opt2 = torch.optim.SGD([{"params": decay, "weight_decay": 1e-2}, {"params": no_decay, "weight_decay": 0.0}],
                           lr=0.1, momentum=0.9, nesterov=True)
    opt2.load_state_dict(osd)
    mom = opt2.state_dict()["state"][1]["momentum_buffer"]
    ssd = sched.state_dict()
    print(sorted(ssd.keys()), ssd["last_epoch"], ssd["_last_lr"])
finally:
    torch.set_default_dtype(torch.float32)
"""
)

PROGRAMS["schedulers"] = """
import torch
import torch.nn as nn
from torch.optim import lr_scheduler as S

def lrs(make_sched, n=12, opt_cls=torch.optim.SGD, metric=None, **kw):
    p = nn.Parameter(torch.zeros(2))
    opt = opt_cls([p], lr=0.1, **kw)
    sched = make_sched(opt)
    out = []
    for i in range(n):
        opt.step()
        if metric is None:
            sched.step()
        else:
            sched.step(metric[i])
        out.append([round(g["lr"], 12) for g in opt.param_groups])
    return out

step = lrs(lambda o: S.StepLR(o, step_size=3, gamma=0.1))
multi = lrs(lambda o: S.MultiStepLR(o, milestones=[2, 5, 9], gamma=0.5))
expo = lrs(lambda o: S.ExponentialLR(o, gamma=0.9))
cos = lrs(lambda o: S.CosineAnnealingLR(o, T_max=5, eta_min=0.001))
lam = lrs(lambda o: S.LambdaLR(o, lr_lambda=lambda e: 1.0 / (e + 1)))
mult = lrs(lambda o: S.MultiplicativeLR(o, lr_lambda=lambda e: 0.95))
plateau = lrs(lambda o: S.ReduceLROnPlateau(o, mode="min", factor=0.5, patience=1, threshold=0.01),
              metric=[1.0, 0.9, 0.95, 0.91, 0.92, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5])
onecycle = lrs(lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=12), n=12)
onecycle_lin = lrs(lambda o: S.OneCycleLR(o, max_lr=1.0, epochs=3, steps_per_epoch=4, anneal_strategy="linear", pct_start=0.25), n=12)
onecycle_adam = lrs(lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=12), n=12, opt_cls=torch.optim.Adam)
warm = lrs(lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=4), S.CosineAnnealingLR(o, T_max=8)], milestones=[4]))
chain = lrs(lambda o: S.ChainedScheduler([S.ConstantLR(o, factor=0.5, total_iters=3), S.ExponentialLR(o, gamma=0.9)]))
cyc = lrs(lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3), n=12)
warm_restart = lrs(lambda o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2), n=12)
poly = lrs(lambda o: S.PolynomialLR(o, total_iters=6, power=2.0))
for k, v in [("step", step), ("multi", multi), ("plateau", plateau), ("onecycle", onecycle)]:
    print(k, v[-1])

p = nn.Parameter(torch.zeros(1))
opt = torch.optim.SGD([p], lr=1.0)
sched = S.StepLR(opt, 2)
for _ in range(3):
    opt.step(); sched.step()
sd = sched.state_dict()
opt3 = torch.optim.SGD([p], lr=1.0)
sched3 = S.StepLR(opt3, 2)
sched3.load_state_dict(sd)
last = sched3.last_epoch
last_lr = sched3.get_last_lr()
"""

PROGRAMS["checkpoint"] = (
    COMMON
    + """
import os, tempfile
model = det_init(nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2)).double())
opt = torch.optim.Adam(model.parameters(), lr=1e-2, betas=(0.8, 0.99), weight_decay=1e-3)
x = torch.linspace(-1, 1, 24, dtype=torch.float64).view(8, 3)
t = torch.tensor([0, 1, 1, 0, 1, 0, 0, 1])
for _ in range(3):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), t)
    loss.backward()
    opt.step()
keys = list(model.state_dict().keys())
print(keys)
tmp = tempfile.mkdtemp()
path = os.path.join(tmp, "ckpt.pt")
torch.save({"epoch": 3, "model_state_dict": model.state_dict(), "optimizer_state_dict": opt.state_dict(),
            "loss": loss.item(), "note": "hello", "hist": [1.0, 2.0]}, path)
ckpt = torch.load(path, map_location="cpu", weights_only=True)
print(sorted(ckpt.keys()), ckpt["epoch"], ckpt["note"], ckpt["hist"])
model2 = det_init(nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2)).double(), seed=9)
opt2 = torch.optim.Adam(model2.parameters(), lr=1e-2, betas=(0.8, 0.99), weight_decay=1e-3)
res = model2.load_state_dict(ckpt["model_state_dict"])
print(res.missing_keys, res.unexpected_keys)
opt2.load_state_dict(ckpt["optimizer_state_dict"])
loaded_step = ckpt["optimizer_state_dict"]["state"][0]["step"].item()
# (PyTorch keeps the loaded step Tensors themselves and counts on in place, so the dict would
# change with the next step; tinyconv copies them)
del ckpt["optimizer_state_dict"]
for m_ in (model, model2):
    o_ = opt if m_ is model else opt2
    o_.zero_grad()
    l_ = F.cross_entropy(m_(x), t)
    l_.backward()
    o_.step()
same = [torch.equal(a, b) for a, b in zip(model.state_dict().values(), model2.state_dict().values())]
print(all(same), ckpt["loss"] == loss.item())
torch.save(model.state_dict(), os.path.join(tmp, "w.pth"))
sd = torch.load(os.path.join(tmp, "w.pth"))
print(type(sd).__name__, sd["1.num_batches_tracked"])
torch.save(torch.arange(5), os.path.join(tmp, "t.pt"))
tt = torch.load(os.path.join(tmp, "t.pt"), map_location=torch.device("cpu"))
model.eval()
ev = model(x)
bad = nn.Linear(3, 4)
try:
    bad.load_state_dict({"weight": torch.zeros(4, 3)})
except RuntimeError as e:
    err = "Missing key" in str(e)
print(err)
r2 = bad.load_state_dict({"weight": torch.zeros(4, 3)}, strict=False)
print(r2.missing_keys)
del tmp, path, bad  # (bad: random initial bias)
"""
)

PROGRAMS["transfer"] = (
    COMMON
    + """
class Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(OrderedDict([
            ("conv1", nn.Conv2d(3, 8, 3, padding=1, bias=False)),
            ("bn1", nn.BatchNorm2d(8)),
            ("relu1", nn.ReLU(inplace=True)),
            ("pool", nn.MaxPool2d(2)),
            ("conv2", nn.Conv2d(8, 16, 3)),
            ("relu2", nn.ReLU()),
        ]))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(16, 10)
        self.register_buffer("mean", torch.tensor([0.5, 0.4, 0.3]).view(1, 3, 1, 1))
        self.register_buffer("scratch", torch.zeros(2), persistent=False)
    def forward(self, x):
        x = self.features(x - self.mean)
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)

model = det_init(Backbone().double())
print(list(model.state_dict().keys()))
print([n for n, _ in model.named_buffers()])
print([n for n, _ in model.named_children()])
print([n for n, _ in model.named_modules()])
n_params = sum(p.numel() for p in model.parameters())
n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)
for param in model.parameters():
    param.requires_grad_(False)
model.fc = nn.Linear(model.fc.in_features, 3).double()
det_init(model.fc, seed=3)
n_train2 = sum(p.numel() for p in model.parameters() if p.requires_grad)
print(n_params, n_train, n_train2)
trainable = [n for n, p in model.named_parameters() if p.requires_grad]
print(trainable)
opt_ = torch.optim.SGD(filter(lambda p: p.requires_grad, model.parameters()), lr=0.1, momentum=0.9)
x = torch.from_numpy(np.random.default_rng(1).uniform(size=(4, 3, 10, 10)))
y = torch.tensor([0, 2, 1, 2])
model.train()
for step in range(3):
    opt_.zero_grad()
    out = model(x)
    loss = nn.CrossEntropyLoss()(out, y)
    loss.backward()
    opt_.step()
    print(step, f"{loss.item():.10f}")
conv_grad = model.features.conv1.weight.grad
print(conv_grad is None, model.features.bn1.running_mean.shape, int(model.features.bn1.num_batches_tracked))
model.eval()
with torch.no_grad():
    probs = F.softmax(model(x), dim=1)
top_p, top_class = probs.topk(1, dim=1)
print(top_class.view(-1).tolist())
for name, module in model.named_modules():
    if isinstance(module, nn.Conv2d):
        print(name, module.kernel_size, module.stride, module.padding, module.weight.shape)
print(model.features[0] is model.features.conv1, len(model.features))
sub = model.features[:3]
print(type(sub).__name__, len(sub))
"""
)

PROGRAMS["init_apply"] = (
    COMMON
    + """
class Net(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])
        self.norms = nn.ModuleDict({"first": nn.LayerNorm(sizes[1]), "last": nn.Identity()})
        self.scale = nn.Parameter(torch.ones(1))
    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i == 0:
                x = self.norms["first"](x)
            if i < len(self.layers) - 1:
                x = torch.tanh(x)
        return self.norms["last"](x) * self.scale

def init_weights(m):
    if isinstance(m, nn.Linear):
        nn.init.constant_(m.weight, 0.05)
        nn.init.zeros_(m.bias)
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.constant_(m.bias, 0.1)

torch.manual_seed(0)  # (the Linear appended below draws its initial weights)
net = Net([3, 5, 4, 2]).double()
ret = net.apply(init_weights)
print(ret is net)
x = torch.arange(6, dtype=torch.float64).view(2, 3) / 5
out = net(x)
out.pow(2).mean().backward()
print([n for n, _ in net.named_parameters()])
print(len(net.layers), net.layers[-1].out_features, "first" in net.norms, list(net.norms.keys()))
grads = {n: p.grad for n, p in net.named_parameters()}
shapes = {n: tuple(p.shape) for n, p in net.state_dict().items()}
net.layers.append(nn.Linear(2, 2))
print(len(net.layers), len(list(net.parameters())))
w = torch.empty(3, 5)
nn.init.xavier_uniform_(w)
print(w.shape, w.dtype, bool(w.abs().max() <= (6 / 8) ** 0.5))
nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")


nn.init.uniform_(w, -0.1, 0.1)
nn.init.normal_(w, 0, 0.01)
print(nn.init.calculate_gain("leaky_relu", 0.2), nn.init.calculate_gain("tanh"))
print(net)
del w
"""
)

PROGRAMS["tensor_ops"] = """
import numpy as np
import torch

x = torch.arange(24, dtype=torch.float64).reshape(2, 3, 4)
a1 = x[..., 1]
a2 = x[:, None, 1, :]
a3 = x[x > 10]
a4 = x[[0, 1], [2, 0]]
a5 = x[0, [2, 0, 2]]
a6 = x[:, [True, False, True]]
a7 = x[1, ..., ::2]
a8 = x[torch.tensor([1, 0])][:, -1]
a9 = x[:, 1:, None][..., 0]
y = x.clone()
y[y % 3 == 0] = -1.0
y[0, :, [0, 3]] = torch.tensor([7.0, 8.0], dtype=torch.float64)
y[1, 1] += 100
y[:, 0, 0] = torch.tensor([5.0, 6.0], dtype=torch.float64)
idx = torch.tensor([[0, 2], [1, 1]])
y[0, idx] = 0.5
print(y)
c = torch.cat([x, x], dim=0)
s = torch.stack([x[0], x[1]], dim=-1)
parts = torch.split(x, [1, 3], dim=2)
parts2 = x.split(2, dim=1)
chunks = torch.chunk(x, 3, dim=2)
unb = x.unbind(1)
print([p.shape for p in parts], [p.shape for p in parts2], [c_.shape for c_ in chunks], len(unb))
w = torch.where(x > 5, x, torch.zeros_like(x))
w2 = torch.where(x > 5, x, 0.0)
w3 = torch.where(x < 3)
cl = x.clamp(2, 20)
cl2 = torch.clamp(x, max=3)
vals, inds = x.topk(2, dim=-1)
vals2, inds2 = torch.topk(x.flatten(), 3, largest=False)
sv, si = torch.sort(x, dim=1, descending=True)
asr = torch.argsort(-x, dim=2)
am = x.argmax(dim=1, keepdim=True)
am0 = x.argmax()
mx, mi = x.max(dim=2)
mn = x.min()
g = torch.gather(x, 2, torch.tensor([[[0], [1], [3]], [[2], [2], [0]]]))
sc = torch.zeros(3, 5).scatter_(1, torch.tensor([[0, 1], [2, 3], [4, 0]]), 1.0)
sc2 = torch.zeros(2, 4, dtype=torch.float64).scatter_(0, torch.tensor([[1, 0, 1, 0]]), torch.ones(1, 4, dtype=torch.float64))
sa = torch.zeros(5).scatter_add(0, torch.tensor([0, 1, 0, 4]), torch.tensor([1.0, 2.0, 3.0, 4.0]))
e1 = torch.einsum("bij,bjk->bik", x[:, :, :3], x.transpose(1, 2)[:, :3])
e2 = torch.einsum("ii->i", torch.eye(3) * 2)
e3 = torch.einsum("i,j->ij", torch.arange(3.0), torch.arange(2.0))
e4 = torch.einsum("bhqd,bhkd->bhqk", torch.ones(1, 2, 3, 4), torch.ones(1, 2, 5, 4))
bc = x + torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)
bc2 = x[:, :, :1] * x[:1]
lng = x.long()
flt = lng.float()
dbl = lng.to(torch.float64)
i32 = x.to(dtype=torch.int32)
bl = x.bool()
hf = x.half()
item = x[1, 2, 3].item()
lst = x[0].tolist()
nump = x.numpy()
shared = torch.from_numpy(np.arange(4.0))
shared_np = shared.numpy()
shared_np[0] = 42.0
print(shared, type(item), type(lst[0][0]), type(lng[0, 0, 0].item()))
ar = torch.arange(0, 1, 0.1)
ar2 = torch.arange(5)
ar3 = torch.arange(1, 10, 3)
ls = torch.linspace(0, 1, 5)
ey = torch.eye(2, 3)
fu = torch.full((2, 2), 7)
fu2 = torch.full((2,), 1.5)
zl = torch.zeros_like(x, dtype=torch.int64)
ol = torch.ones_like(lng)
el = torch.empty(3).shape

tri = torch.tril(torch.ones(3, 3))
tri2 = torch.triu(torch.ones(3, 4), diagonal=1)
mask = torch.ones(3, 3).tril().bool()
masked = torch.zeros(3, 3).masked_fill(~mask, float("-inf"))
nz = torch.nonzero(x[0] > 6)
nz2 = (x[0] > 6).nonzero(as_tuple=True)
uq, cnt = torch.unique(torch.tensor([3, 1, 3, 2, 1]), return_counts=True)
cs = x.cumsum(dim=1)
cp = torch.tensor([1.0, 2.0, 3.0]).cumprod(0)
rp = torch.tensor([[1, 2]]).repeat(2, 3)
ex = torch.tensor([[1], [2]]).expand(2, 3)
ri = torch.repeat_interleave(torch.tensor([1, 2]), 2)
fl = torch.flip(x, [0, 2])
rl = torch.roll(x, shifts=1, dims=2)
pm = x.permute(2, 0, 1).contiguous().view(4, -1)
sq = x[:, :1].squeeze(1).unsqueeze(0)
mm = x[0] @ x[1].T
bm = torch.bmm(x, x.transpose(1, 2))
dt = torch.dot(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0]))
nrm = x.norm(dim=-1)
nrm2 = x[0].norm()
st = x.std(dim=1)
vr = x.var(unbiased=False)
mean_k = x.mean(dim=(0, 2), keepdim=True)
sm = x.sum(-1)
pr = x[0, 0].prod()
an = (x > 3).any(), (x > -1).all(), (x > 3).sum(), (x > 3).float().mean()
ic = torch.isclose(x, x + 1e-12).all()
eq = torch.equal(x, x.clone())
print(x.shape, x.size(), x.size(1), x.dim(), x.ndim, x.numel(), x.is_contiguous(), x.T.shape if x.dim() == 2 else None)
print(x.stride(), x.transpose(0, 2).is_contiguous(), x.element_size())
print(torch.tensor([1, 2]) / 2, torch.tensor([5, -5]) // 2, torch.tensor([5, -5]) % 3, 7 // torch.tensor([2]))
print(torch.tensor([1, 2]).dtype, torch.tensor([1.0, 2]).dtype, torch.tensor(True).dtype, torch.tensor([1, 2]) * 1.5)
print(torch.tensor([3]) + torch.tensor([True]), torch.tensor([1], dtype=torch.int32) + 1.0, torch.tensor([1.0]) + torch.tensor([1.0], dtype=torch.float64))
"""

PROGRAMS["printing"] = """
import torch
print(torch.tensor([1.0, 2.5, -3.0]))
print(torch.tensor([[1, 2], [3, 4]]))
print(torch.tensor([0.001, 1000.0]))
print(torch.tensor([1e-8, 1.0]))
print(torch.tensor([1.23456789, 2.0], dtype=torch.float64))
print(torch.zeros(2, 3, requires_grad=True))
print(torch.ones(2) * torch.ones(2, requires_grad=True))
print(torch.tensor(3.5), torch.tensor(7), torch.tensor(True))
print(torch.tensor([True, False]))
print(torch.arange(12.0).view(2, 2, 3))
print(torch.tensor([float("nan"), float("inf"), -float("inf"), 1.0]))
print(torch.tensor([]), torch.zeros(0, 3))
print(repr(torch.tensor([1.5])), str(torch.tensor([[1.5]])))
print(torch.arange(2000.0))
print(torch.randn(3).shape, torch.Size([2, 3]), torch.float32, torch.int64)
print(torch.tensor([1, 2], dtype=torch.int32), torch.tensor([1.0], dtype=torch.float16))
print(torch.tensor([123456789.0]), torch.tensor([0.1, 0.25]), torch.tensor([1e10, 1.0]))
print(f"{torch.tensor(2.5):.2f}", f"{torch.tensor(3).item()}")
x = torch.tensor([1.0, 2.0], requires_grad=True)
print(x * 2, x.sum(), x[0])
print(torch.nn.Parameter(torch.ones(2)))
"""

PROGRAMS["cnn"] = (
    COMMON
    + """
class SmallCNN(nn.Module):
    def __init__(self, num_classes=5):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=3, padding=1)
        self.bn1 = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 12, kernel_size=3, stride=2, padding=1)
        self.bn2 = nn.BatchNorm2d(12, momentum=0.2)
        self.pool = nn.MaxPool2d(2, 2)
        self.drop = nn.Dropout(0.25)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(12, num_classes)
    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        x = F.relu(self.bn2(self.conv2(x)))
        x = self.drop(x)
        x = self.flatten(self.gap(x))
        return self.fc(x)

torch.set_default_dtype(torch.float64)
try:
    model = det_init(SmallCNN())
    rng = np.random.default_rng(2)
    images = torch.from_numpy(rng.normal(size=(8, 1, 12, 12)))
    labels = torch.from_numpy(rng.integers(0, 5, 8))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)  # (not Adam: conv biases before BatchNorm have zero gradient up to rounding, which Adam would scale to full steps)
    for step in range(4):
        model.train()
        model.drop.eval()
        logits = model(images)
        loss = F.cross_entropy(logits, labels, label_smoothing=0.1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        print(step, f"{loss.item():.10f}")
    model.eval()
    with torch.no_grad():
        eval_logits = model(images)
        preds = eval_logits.argmax(1)
        correct = (preds == labels).sum().item()
    print(correct, eval_logits.shape, model.bn2.running_var)
    feat = model.conv1(images[:2])
    print(feat.shape, feat.grad_fn.name() if hasattr(feat.grad_fn, "name") else None)
finally:
    torch.set_default_dtype(torch.float32)
"""
)

PROGRAMS["mlp_seq_losses"] = (
    COMMON
    + """
class BagModel(nn.Module):
    def __init__(self, vocab, dim, n_out):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim, padding_idx=0)
        self.fc = nn.Linear(dim, n_out)
    def forward(self, tokens):
        mask = (tokens != 0).unsqueeze(-1).to(self.emb.weight.dtype)
        e = self.emb(tokens) * mask
        pooled = e.sum(1) / mask.sum(1).clamp(min=1)
        return self.fc(pooled)

m = det_init(BagModel(10, 4, 3).double())
with torch.no_grad():
    m.emb.weight[0].zero_()
tokens = torch.tensor([[1, 2, 3, 0], [4, 4, 0, 0], [9, 8, 7, 6]])
target = torch.tensor([2, 0, 1])
out = m(tokens)
ce = F.cross_entropy(out, target, weight=torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64))
ce_ign = nn.CrossEntropyLoss(ignore_index=1)(out, target)
ce_ls = nn.CrossEntropyLoss(label_smoothing=0.2, reduction="sum")(out, target)
ce_ls_w = F.cross_entropy(out, target, weight=torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64), label_smoothing=0.3, ignore_index=0)
ce_prob = F.cross_entropy(out, F.softmax(out.detach() * 2, dim=1))
nll = nn.NLLLoss()(F.log_softmax(out, dim=1), target)
nll_none = F.nll_loss(F.log_softmax(out, dim=-1), target, reduction="none")
total = ce + ce_ign + ce_ls + ce_ls_w + ce_prob + nll + nll_none.sum()
total.backward()
emb_grad_row0 = m.emb.weight.grad[0]
print(f"{total.item():.10f}")

mlp = det_init(nn.Sequential(nn.Linear(5, 8), nn.GELU(), nn.Linear(8, 8), nn.SiLU(), nn.Linear(8, 3)).double(), seed=4)
x = torch.linspace(-1, 1, 20, dtype=torch.float64).view(4, 5)
y_bin = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0], [0.0, 1.0, 0.0]], dtype=torch.float64)
z = mlp(x)
bce = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([1.0, 3.0, 0.5], dtype=torch.float64))(z, y_bin)
bce2 = F.binary_cross_entropy(torch.sigmoid(z), y_bin, weight=torch.tensor([2.0, 1.0, 1.0], dtype=torch.float64))
mse = nn.MSELoss()(z, y_bin)
l1 = nn.L1Loss(reduction="sum")(z, y_bin)
sl1 = nn.SmoothL1Loss(beta=0.5)(z, y_bin)
hub = nn.HuberLoss(delta=0.3)(z, y_bin)
kl = nn.KLDivLoss(reduction="batchmean")(F.log_softmax(z, 1), F.softmax(y_bin, 1))
margin = nn.MarginRankingLoss(margin=0.1)(z[:, 0], z[:, 1], torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=torch.float64))
cos = F.cosine_similarity(z, y_bin, dim=1)
losses = [bce, bce2, mse, l1, sl1, hub, kl, margin]
sum(losses).backward()
print([f"{l.item():.8f}" for l in losses])
"""
)

PROGRAMS["dtypes_and_info"] = """
import numpy as np
import torch

x = torch.rand(3, 4)
print(f"Shape of tensor: {x.shape}")
print(f"Datatype of tensor: {x.dtype}")
print(f"Device tensor is stored on: {x.device}")
ints = torch.tensor([[1, 2], [3, 4]])
print(ints.dtype, ints.float().dtype, ints.double().dtype, ints.to(torch.int32).dtype, ints.bool().dtype)
print(torch.get_default_dtype(), torch.float32 == torch.float, torch.int64 == torch.long, torch.float16 is torch.half)
print(x.dtype == torch.float32, x.dtype is torch.float32, x.dtype != torch.float64, x.is_floating_point())
print(torch.tensor(1.5).dtype, torch.tensor([1, 2.5]).dtype, torch.tensor([True]).dtype, torch.zeros(2, dtype=torch.int16).dtype)
print(torch.float32.is_floating_point, torch.int64.is_floating_point, torch.int8.is_signed, torch.uint8.is_signed)
print(torch.float64.itemsize, torch.int16.itemsize, x.element_size(), str(torch.bool), repr(torch.float16))
print(torch.finfo(torch.float32).eps, torch.finfo(torch.float64).max, torch.iinfo(torch.int32).max)
print({torch.float32: "f32", torch.int64: "i64"}[ints.dtype], isinstance(x.dtype, torch.dtype))
print(torch.from_numpy(np.zeros(2, np.float32)).dtype, torch.from_numpy(np.arange(3)).dtype)
torch.set_default_dtype(torch.float64)
try:
    print(torch.get_default_dtype(), torch.tensor([1.0]).dtype, torch.zeros(1), torch.tensor([1.0], dtype=torch.float32))
finally:
    torch.set_default_dtype(torch.float32)
rows = [(name, t.dtype, tuple(t.shape)) for name, t in {"a": x, "b": ints}.items()]
print(rows)
shape_tuple = tuple(x.shape)
del x
"""

PROGRAMS["autograd_tour"] = """
import torch

x = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64, requires_grad=True)
w = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]], dtype=torch.float64, requires_grad=True)
h = w @ x
h.retain_grad()
y = torch.tanh(h).pow(2).sum() + (x * x).mean()
print(y.grad_fn.name(), h.is_leaf, y.requires_grad, x.grad is None)
hooked = []
x.register_hook(lambda g: hooked.append(g.clone()))
y.backward(retain_graph=True)
print(x.grad, h.grad)
gx, gw = torch.autograd.grad(y, (x, w), create_graph=True, retain_graph=True)
hess_row = torch.autograd.grad(gx[0], x, retain_graph=True)[0]
print(gx.requires_grad, hess_row)
x.grad.zero_()
y.backward()
print(x.grad, len(hooked))
z = x.detach().requires_grad_()
with torch.no_grad():
    q = z * 2
print(q.requires_grad, torch.is_grad_enabled())
with torch.enable_grad():
    r = z * 2
print(r.requires_grad)
with torch.set_grad_enabled(False):
    s = z * 2
print(s.requires_grad)
v = torch.ones(3, dtype=torch.float64)
jvp_like = torch.autograd.grad((x ** 3), x, grad_outputs=v)[0]
out = x.sum()
out.backward()
acc = x.grad
torch.manual_seed(0)
detached = x.detach()
detached[0] = 10.0
print(x[0].item(), detached.data_ptr() == x.data_ptr() if hasattr(x, "data_ptr") else True)
a = torch.ones(2, requires_grad=True)
b = a * 3
b.sum().backward()
try:
    b.sum().backward()
    err = None
except RuntimeError as e:
    err = "second time" in str(e)
print(err)
"""

PROGRAMS["generated_chain_1"] = """
import numpy as np
import torch
import torch.nn.functional as F

rng = np.random.default_rng(11)
a = torch.tensor(rng.normal(size=(4, 6)), requires_grad=True)
b = torch.tensor(rng.normal(size=(6, 3)), requires_grad=True)
c = torch.tensor(rng.normal(size=(3,)), requires_grad=True)
v0 = a @ b + c
v1 = F.relu(v0) - 0.5 * torch.sigmoid(v0)
v2 = v1.transpose(0, 1).reshape(-1, 2)
v3 = torch.cat([v2, v2.flip(0)], dim=1)
v4 = v3.softmax(dim=-1) * v3.exp().clamp(max=5.0)
v5 = v4.unsqueeze(0).expand(2, -1, -1).sum(0)
v6 = torch.where(v5 > v5.mean(), v5 ** 2, -v5.abs().sqrt())
v7 = v6.log_softmax(1)[:, 1:] + v6[:, :1].tanh()
v8 = v7.cumsum(0).max(dim=0).values + v7.norm()
v9 = (v8 * torch.arange(1, v8.numel() + 1, dtype=v8.dtype)).prod()
v10 = F.layer_norm(v3, (4,)).std(dim=0).var() + F.gelu(v0).amax()
v11 = torch.stack([v9, v10, v0.logsumexp(dim=(0, 1))]).sin().sum()
v11.backward()
"""

PROGRAMS["generated_chain_2"] = """
import numpy as np
import torch
import torch.nn.functional as F

rng = np.random.default_rng(3)
x = torch.tensor(rng.normal(size=(2, 3, 6, 6)), requires_grad=True)
k = torch.tensor(rng.normal(size=(4, 3, 3, 3)), requires_grad=True)
g = torch.tensor(rng.uniform(0.5, 1.5, size=(4,)), requires_grad=True)
e = torch.tensor(rng.normal(size=(10, 5)), requires_grad=True)
y = F.conv2d(x, k, padding=1, stride=1)
y = F.batch_norm(y, None, None, weight=g, training=True)
y = F.max_pool2d(F.leaky_relu(y, 0.1), 2) + F.avg_pool2d(y, 2)
y = F.interpolate(y, scale_factor=2, mode="nearest")
y = F.adaptive_avg_pool2d(y, (2, 2)).flatten(1)
idx = torch.tensor([[1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6], [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7]])
emb = F.embedding(idx, e).mean(-1)
z = y * emb + F.dropout(y, p=0.5, training=False)
z = F.pad(z, (1, 2), value=0.5)
t = torch.tensor([1, 0])
loss = F.cross_entropy(z.reshape(2, -1), t, label_smoothing=0.05) + F.mse_loss(z, torch.zeros_like(z))
loss.backward()
print(f"{loss.item():.12f}")
"""

PROGRAMS["generated_chain_3"] = """
import numpy as np
import torch

rng = np.random.default_rng(5)
p = torch.tensor(rng.normal(size=(3, 4, 5)), requires_grad=True)
q = torch.tensor(rng.normal(size=(5, 4)), requires_grad=True)
m = p.permute(1, 0, 2)
n = torch.einsum("ijk,kl->ijl", m, q)
o = n[..., ::2].contiguous().view(4, -1)
o2 = o.gather(1, torch.tensor([[0], [3], [5], [1]])).squeeze(1)
o3 = o.scatter_add(1, torch.tensor([[0, 1], [2, 2], [1, 0], [4, 4]]), o[:, :2] * 2)
s = o3.sort(dim=1, descending=True).values[:, :3]
t = s.topk(2, dim=1).values.sum(1) + o2
u = torch.maximum(t, t.flip(0)) - torch.minimum(t, t.roll(1))
w = u.clone()
w[w < 0] = 0.0
w[1] = w[1] * 3
x = (w.unsqueeze(1) * o3).mean(dim=1, keepdim=True).squeeze()
r = torch.outer(x, x).triu(1).sum() + x.dot(x) + torch.trace(torch.outer(x, u))
r.backward()
counts = (o3 > 0).sum(dim=1)
print(counts.tolist(), r.dtype, x.shape)
"""

PROGRAMS["device_agnostic"] = (
    COMMON
    + """
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
print(f"Using {device} device", device.type)
model = det_init(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))).to(device)
x = torch.linspace(-1, 1, 12, device=device).view(3, 4)
pos = torch.arange(3, device=device)
mask = torch.ones_like(x, dtype=torch.bool, device=device).tril()
bias = torch.zeros_like(x, device=device) + torch.eye(3, 4, device=device)
y = torch.tensor([0, 1, 1], device=device)
w = torch.as_tensor([1.0, 2.0], device=device)
logits = model(x.masked_fill(~mask, 0.0) + bias)
loss = F.cross_entropy(logits, y, weight=w)
loss.backward()
print(logits.device, pos.device, loss.item() > 0, next(model.parameters()).device)
batch = {"x": x, "y": y}
batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
windows = torch.arange(10.0, device=device).unfold(0, 4, 3)
grid = torch.logspace(-2, 0, 3, device=device)
cpu_copy = logits.detach().cpu().numpy()
"""
)

PROGRAMS["module_api"] = """
import numpy as np
import torch
import torch.nn as nn

class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.lin = nn.Linear(c, c)
        self.norm = nn.LayerNorm(c)
    def forward(self, x):
        return x + self.norm(torch.relu(self.lin(x)))
    def extra_repr(self):
        return "residual=True"

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Linear(3, 4)
        self.blocks = nn.Sequential(*[Block(4) for _ in range(2)])
        self.head = nn.Linear(4, 2, bias=False)
        self.register_parameter("extra", None)
        self.add_module("act", nn.Tanh())
    def forward(self, x):
        return self.head(self.act(self.blocks(self.stem(x))))

net = Net()
rng = np.random.default_rng(0)
with torch.no_grad():
    for p in net.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.5, tuple(p.shape))).float())
print(net)
print([n for n, _ in net.named_parameters(prefix="model")][:3])
print([n for n, _ in net.named_parameters(recurse=False)], len(list(net.children())), len(list(net.modules())))
print(net.get_submodule("blocks.1.norm"), type(net.blocks[0].lin).__name__)
x = torch.linspace(-1, 1, 6).view(2, 3)
out = net(x)
out.sum().backward()
net.zero_grad()
print([p.grad for p in net.parameters()][:2])
out = net(x)
out.sum().backward()
net.zero_grad(set_to_none=False)
zero_grads = [p.grad for p in net.parameters()][:2]
net.requires_grad_(False)
print(all(not p.requires_grad for p in net.parameters()))
net.requires_grad_(True)
sd = net.state_dict(keep_vars=True)
print(type(sd["stem.weight"]).__name__, sd["stem.weight"].requires_grad)
net64 = Net().double()
net64.load_state_dict(net.state_dict())
print(net64.stem.weight.dtype, net64(x.double()).dtype)
half = Net().half()
print(half.stem.weight.dtype)
net.train(False)
print(net.training, net.blocks[0].training)
vec = torch.nn.utils.parameters_to_vector(net.parameters())
torch.nn.utils.vector_to_parameters(vec * 2, net.parameters())
print(vec.shape, net.stem.bias)
n = sum(p.numel() for p in net.parameters())
del half
"""

PROGRAMS["tensor_misc"] = """
import numpy as np
import torch
import torch.nn.functional as F

x = torch.tensor([[3.0, -1.0, 2.0], [0.5, 4.0, -2.0]], dtype=torch.float64, requires_grad=True)
a = x.masked_select(x > 0)
b = x.index_select(1, torch.tensor([2, 0]))
c = torch.narrow(x, 1, 1, 2)
d = x.mT
e = torch.std_mean(x, dim=1)
f = torch.var_mean(x, unbiased=False)
g = torch.diff(x, dim=1)
h = torch.clip(x, -1, 1)
i = F.one_hot(torch.tensor([0, 2, 1]), num_classes=4)
j = F.normalize(x, dim=1)
k = torch.allclose(x, x + 1e-9)
l = x.new_ones(2)
m = x.new_tensor([1, 2])
n = x.type(torch.float32)
o = x.type()
p = torch.searchsorted(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([0.5, 2.5]))
q = torch.bucketize(torch.tensor([0.5, 2.5]), torch.tensor([1.0, 2.0, 3.0]))
r = torch.max(x, x.flip(0))
s = torch.sum(x, 1, keepdim=True)
t = x.detach().clone().numpy()
u = torch.cdist(x, x)
v = torch.histc(torch.tensor([1.0, 2.0, 1.5, 3.0]), bins=4, min=0, max=4)
w = None
y = x.softmax(-1).argmax(-1)
z = torch.cat((x, x), 0).chunk(3)
aa = x.unsqueeze(0).repeat(2, 1, 1).view(-1, 3)[::2]
bb = torch.tensor(np.float32(2.5)) * 2
cc = torch.tensor([[1, 2], [3, 4]]).float().mean()
dd = x.sum().item()
ee = torch.tensor(5).item()
ff = torch.as_tensor(np.arange(3)).tolist()
gg = x.norm(p=1, dim=0)
hh = torch.flatten(x)
ii = x.abs().sqrt().log1p().sum(dim=-1)
jj = None
kk = torch.tensor([1, 2, 3]).sum(dtype=torch.float64)
ll = torch.stack([x, x]).amax(dim=(0, 1))
mm = x.clamp_min(0) + x.clamp_max(0)
nn_ = torch.count_nonzero(x > 0)
total = (a.sum() + b.sum() + c.sum() + d.sum() + e[0].sum() + f[1] + g.sum() + h.sum() + j.sum() + u.sum() + ii.sum() + gg.sum() + mm.sum())
total.backward()
try:
    x.numpy()
    numpy_err = None
except RuntimeError as err:
    numpy_err = "requires grad" in str(err)
try:
    x.view(3, 2).T.view(6)
    view_err = None
except RuntimeError:
    view_err = True
print(numpy_err, view_err, o, y, w)
"""

PROGRAMS["no_grad_decorator_and_eval"] = """
import numpy as np
import torch
import torch.nn as nn

@torch.no_grad()
def evaluate(model, xs):
    return model(xs).argmax(1)

@torch.inference_mode()
def predict(model, xs):
    return model(xs).softmax(1)

model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.Dropout(0.3), nn.Linear(3, 2))
rng = np.random.default_rng(4)
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(size=tuple(p.shape))))
xs = torch.from_numpy(rng.normal(size=(5, 2)).astype(np.float32))
model.eval()
preds = evaluate(model, xs)
probs = predict(model, xs)
print(preds, probs.requires_grad, torch.is_grad_enabled())
model.train()
bn = model[1]
_ = model[1](model[0](xs))
print(bn.running_mean, bn.num_batches_tracked)
model.eval()
out1 = model(xs)
"""
PROGRAMS["mini_gpt"] = """
import math
import numpy as np
import torch
import torch.nn as nn
from torch.nn import functional as F

torch.set_default_dtype(torch.float64)
try:
    block_size, vocab, n_embd, n_head = 8, 11, 16, 2

    class Head(nn.Module):
        def __init__(self, head_size):
            super().__init__()
            self.key = nn.Linear(n_embd, head_size, bias=False)
            self.query = nn.Linear(n_embd, head_size, bias=False)
            self.value = nn.Linear(n_embd, head_size, bias=False)
            self.register_buffer("tril", torch.tril(torch.ones(block_size, block_size)))
        def forward(self, x):
            B, T, C = x.shape
            k, q = self.key(x), self.query(x)
            wei = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5
            wei = wei.masked_fill(self.tril[:T, :T] == 0, float("-inf"))
            wei = F.softmax(wei, dim=-1)
            return wei @ self.value(x)

    class MultiHead(nn.Module):
        def __init__(self):
            super().__init__()
            self.heads = nn.ModuleList([Head(n_embd // n_head) for _ in range(n_head)])
            self.proj = nn.Linear(n_embd, n_embd)
        def forward(self, x):
            return self.proj(torch.cat([h(x) for h in self.heads], dim=-1))

    class FusedAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = nn.Linear(n_embd, 3 * n_embd)
            self.c_proj = nn.Linear(n_embd, n_embd)
        def forward(self, x):
            B, T, C = x.size()
            q, k, v = self.c_attn(x).split(n_embd, dim=2)
            k = k.view(B, T, n_head, C // n_head).transpose(1, 2)
            q = q.view(B, T, n_head, C // n_head).transpose(1, 2)
            v = v.view(B, T, n_head, C // n_head).transpose(1, 2)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=True)
            y = y.transpose(1, 2).contiguous().view(B, T, C)
            return self.c_proj(y)

    class Block(nn.Module):
        def __init__(self, fused):
            super().__init__()
            self.sa = FusedAttention() if fused else MultiHead()
            self.ffwd = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.GELU(approximate="tanh"), nn.Linear(4 * n_embd, n_embd), nn.Dropout(0.0))
            self.ln1, self.ln2 = nn.LayerNorm(n_embd), nn.LayerNorm(n_embd)
        def forward(self, x):
            x = x + self.sa(self.ln1(x))
            return x + self.ffwd(self.ln2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(vocab, n_embd)
            self.pos = nn.Embedding(block_size, n_embd)
            self.blocks = nn.Sequential(Block(False), Block(True))
            self.ln_f = nn.LayerNorm(n_embd)
            self.lm_head = nn.Linear(n_embd, vocab)
            self.apply(self._init_weights)
        def _init_weights(self, module):
            if isinstance(module, nn.Linear):
                torch.nn.init.zeros_(module.weight)
                if module.bias is not None:
                    torch.nn.init.zeros_(module.bias)
        def forward(self, idx, targets=None):
            B, T = idx.shape
            x = self.tok(idx) + self.pos(torch.arange(T))
            logits = self.lm_head(self.ln_f(self.blocks(x)))
            if targets is None:
                return logits, None
            B, T, C = logits.shape
            return logits, F.cross_entropy(logits.view(B * T, C), targets.view(B * T))

    model = GPT()
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.from_numpy(rng.normal(0, 0.2, tuple(p.shape))))
    data = torch.tensor(rng.integers(0, vocab, 200))
    def get_batch(step):
        ix = torch.tensor([(step * 7 + j * 13) % (len(data) - block_size) for j in range(4)])
        x = torch.stack([data[i:i + block_size] for i in ix])
        y = torch.stack([data[i + 1:i + block_size + 1] for i in ix])
        return x, y
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for step in range(3):
        xb, yb = get_batch(step)
        logits, loss = model(xb, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    print([f"{l:.10f}" for l in losses])
    model.eval()
    with torch.no_grad():
        idx = torch.zeros((1, 1), dtype=torch.long)
        logits, _ = model(idx)
        probs = F.softmax(logits[:, -1, :], dim=-1)
        top = torch.topk(probs, 3)
        nxt = torch.multinomial(probs, num_samples=1)
        print(nxt.shape, nxt.dtype, top.indices)
    del nxt
finally:
    torch.set_default_dtype(torch.float32)
"""

# Programs not run yet, each with the difference that stops it (remove a line once fixed).
PENDING: dict[str, str] = {}


# -- PyTorch's official tutorials and courses, as learners copy them (fake data in place of
# downloads, NumPy-made initial weights, float64 where values must agree to ~1e-10) --------

PROGRAMS["lpwe_nn_manual_update"] = """
import math
import numpy as np
import torch

torch.set_default_dtype(torch.float64)
x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)
p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)
print(p.dtype, xx.shape, xx.dtype)
model = torch.nn.Sequential(
    torch.nn.Linear(3, 1),
    torch.nn.Flatten(0, 1)
)
rng = np.random.default_rng(0)
with torch.no_grad():
    model[0].weight.copy_(torch.from_numpy(rng.normal(0, 0.1, (1, 3))))
    model[0].bias.fill_(0.05)
loss_fn = torch.nn.MSELoss(reduction='sum')
learning_rate = 1e-6
for t in range(400):
    y_pred = model(xx)
    loss = loss_fn(y_pred, y)
    if t % 100 == 99:
        print(t, f"{loss.item():.2f}")
    model.zero_grad()
    loss.backward()
    with torch.no_grad():
        for param in model.parameters():
            param -= learning_rate * param.grad
linear_layer = model[0]
print(f'Result: y = {linear_layer.bias.item():.4f} + {linear_layer.weight[:, 0].item():.4f} x + {linear_layer.weight[:, 1].item():.4f} x^2 + {linear_layer.weight[:, 2].item():.4f} x^3')
print(y_pred.grad_fn.name(), loss.dtype)
torch.set_default_dtype(torch.float32)
"""

PROGRAMS["lpwe_custom_modules"] = """
import math
import random
import torch

class Polynomial3(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.tensor(0.1))
        self.b = torch.nn.Parameter(torch.tensor(-0.2))
        self.c = torch.nn.Parameter(torch.tensor(0.05))
        self.d = torch.nn.Parameter(torch.tensor(0.0))

    def forward(self, x):
        return self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3

    def string(self):
        return f'y = {self.a.item():.4f} + {self.b.item():.4f} x + {self.c.item():.4f} x^2 + {self.d.item():.4f} x^3'

class DynamicNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.tensor(0.1))
        self.b = torch.nn.Parameter(torch.tensor(0.2))
        self.c = torch.nn.Parameter(torch.tensor(-0.1))
        self.d = torch.nn.Parameter(torch.tensor(0.01))
        self.e = torch.nn.Parameter(torch.tensor(0.0))

    def forward(self, x):
        y = self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3
        for exp in range(4, random.randint(4, 6)):
            y = y + self.e * x ** exp
        return y

    def string(self):
        return f'y = {self.a.item():.10f} + {self.b.item():.10f} x + {self.c.item():.10f} x^2 + {self.d.item():.10f} x^3 + {self.e.item():.10f} x^4 ? + {self.e.item():.10f} x^5 ?'

torch.set_default_dtype(torch.float64)
try:
    x = torch.linspace(-math.pi, math.pi, 500)
    y = torch.sin(x)
    model = Polynomial3()
    print(list(n for n, _ in model.named_parameters()), model.a.shape, model.a.dtype)
    criterion = torch.nn.MSELoss(reduction='sum')
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)
    for t in range(300):
        y_pred = model(x)
        loss = criterion(y_pred, y)
        if t % 100 == 99:
            print(t, f"{loss.item():.6f}")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(f'Result: {model.string()}')
    poly = model

    random.seed(0)
    model = DynamicNet()
    criterion = torch.nn.MSELoss(reduction='sum')
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-8, momentum=0.9)
    for t in range(200):
        y_pred = model(x)
        loss = criterion(y_pred, y)
        if t % 50 == 49:
            print(t, f"{loss.item():.6f}")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(f'Result: {model.string()}')
finally:
    torch.set_default_dtype(torch.float32)
"""

PROGRAMS["lpwe_optim_adam_float32"] = """
import math
import numpy as np
import torch

x = torch.linspace(-math.pi, math.pi, 200)
y = torch.sin(x)
p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)
model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
with torch.no_grad():
    model[0].weight.copy_(torch.tensor([[0.1, -0.05, 0.02]]))
    model[0].bias.zero_()
loss_fn = torch.nn.MSELoss(reduction='sum')
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for t in range(30):  # (by step 50 weight.grad[0, 2] is a float32 cancellation: see the commit)
    y_pred = model(xx)
    loss = loss_fn(y_pred, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
final = round(loss.item(), 2)
state = optimizer.state_dict()
print(sorted(state["state"][0].keys()), state["param_groups"][0]["lr"], state["state"][0]["step"])
"""

PROGRAMS["nn_really_from_scratch"] = """
import math
import numpy as np
import torch

rng = np.random.default_rng(0)
x_train = torch.tensor(rng.uniform(0, 1, (120, 784)).astype(np.float32))
y_train = torch.tensor(rng.integers(0, 10, 120))
x_valid = torch.tensor(rng.uniform(0, 1, (40, 784)).astype(np.float32))
y_valid = torch.tensor(rng.integers(0, 10, 40))
n, c = x_train.shape
print(x_train, y_train)
print(x_train.shape)
print(y_train.min(), y_train.max())

weights = torch.from_numpy(rng.normal(size=(784, 10)).astype(np.float32)) / math.sqrt(784)
weights.requires_grad_()
bias = torch.zeros(10, requires_grad=True)
print(weights.is_leaf, weights.requires_grad, bias.dtype)

def log_softmax(x):
    return x - x.exp().sum(-1).log().unsqueeze(-1)

def model(xb):
    return log_softmax(xb @ weights + bias)

bs = 64
xb = x_train[0:bs]
preds = model(xb)
print(preds[0], preds.shape)

def nll(input, target):
    return -input[range(target.shape[0]), target].mean()

loss_func = nll
yb = y_train[0:bs]
print(loss_func(preds, yb))

def accuracy(out, yb):
    preds = torch.argmax(out, dim=1)
    return (preds == yb).float().mean()

print(accuracy(preds, yb))

lr = 0.5
epochs = 2
for epoch in range(epochs):
    for i in range((n - 1) // bs + 1):
        start_i = i * bs
        end_i = start_i + bs
        xb = x_train[start_i:end_i]
        yb = y_train[start_i:end_i]
        pred = model(xb)
        loss = loss_func(pred, yb)

        loss.backward()
        with torch.no_grad():
            weights -= weights.grad * lr
            bias -= bias.grad * lr
            weights.grad.zero_()
            bias.grad.zero_()
print(loss_func(model(xb), yb), accuracy(model(xb), yb))
"""

PROGRAMS["nn_really_refactor"] = """
import math
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch import optim
from torch.utils.data import TensorDataset, DataLoader

torch.set_default_dtype(torch.float64)
try:
    rng = np.random.default_rng(1)
    x_train = torch.tensor(rng.uniform(0, 1, (96, 784)))
    y_train = torch.tensor(rng.integers(0, 10, 96))
    x_valid = torch.tensor(rng.uniform(0, 1, (32, 784)))
    y_valid = torch.tensor(rng.integers(0, 10, 32))
    n, c = x_train.shape
    W0 = rng.normal(size=(784, 10)) / math.sqrt(784)
    bs = 32
    lr = 0.5
    epochs = 2
    loss_func = F.cross_entropy

    def accuracy(out, yb):
        preds = torch.argmax(out, dim=1)
        return (preds == yb).float().mean()

    class Mnist_Logistic(nn.Module):
        def __init__(self):
            super().__init__()
            self.weights = nn.Parameter(torch.from_numpy(W0.copy()))
            self.bias = nn.Parameter(torch.zeros(10))

        def forward(self, xb):
            return xb @ self.weights + self.bias

    model = Mnist_Logistic()
    print(loss_func(model(x_train[:bs]), y_train[:bs]))

    def fit():
        for epoch in range(epochs):
            for i in range((n - 1) // bs + 1):
                start_i = i * bs
                end_i = start_i + bs
                xb = x_train[start_i:end_i]
                yb = y_train[start_i:end_i]
                pred = model(xb)
                loss = loss_func(pred, yb)

                loss.backward()
                with torch.no_grad():
                    for p in model.parameters():
                        p -= p.grad * lr
                    model.zero_grad()

    fit()
    print(loss_func(model(x_train[:bs]), y_train[:bs]))
    logistic = model

    class Mnist_Logistic2(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(784, 10)

        def forward(self, xb):
            return self.lin(xb)

    def get_model():
        model = Mnist_Logistic2()
        with torch.no_grad():
            model.lin.weight.copy_(torch.from_numpy(W0.T.copy()))
            model.lin.bias.zero_()
        return model, optim.SGD(model.parameters(), lr=lr)

    model, opt = get_model()
    print(loss_func(model(x_train[:bs]), y_train[:bs]))
    train_ds = TensorDataset(x_train, y_train)
    train_dl = DataLoader(train_ds, batch_size=bs)
    for epoch in range(epochs):
        for xb, yb in train_dl:
            pred = model(xb)
            loss = loss_func(pred, yb)
            loss.backward()
            opt.step()
            opt.zero_grad()
    print(loss_func(model(x_train[:bs]), y_train[:bs]))
    linear = model

    valid_ds = TensorDataset(x_valid, y_valid)
    valid_dl = DataLoader(valid_ds, batch_size=bs * 2)
    model, opt = get_model()
    for epoch in range(epochs):
        model.train()
        for xb, yb in train_dl:
            pred = model(xb)
            loss = loss_func(pred, yb)
            loss.backward()
            opt.step()
            opt.zero_grad()
        model.eval()
        with torch.no_grad():
            valid_loss = sum(loss_func(model(xb), yb) for xb, yb in valid_dl)
        print(epoch, valid_loss / len(valid_dl))
    vl = valid_loss

    def loss_batch(model, loss_func, xb, yb, opt=None):
        loss = loss_func(model(xb), yb)
        if opt is not None:
            loss.backward()
            opt.step()
            opt.zero_grad()
        return loss.item(), len(xb)

    def fit2(epochs, model, loss_func, opt, train_dl, valid_dl):
        hist = []
        for epoch in range(epochs):
            model.train()
            for xb, yb in train_dl:
                loss_batch(model, loss_func, xb, yb, opt)
            model.eval()
            with torch.no_grad():
                losses, nums = zip(
                    *[loss_batch(model, loss_func, xb, yb) for xb, yb in valid_dl]
                )
            val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)
            print(epoch, f"{val_loss:.10f}")
            hist.append(float(val_loss))
        return hist

    def get_data(train_ds, valid_ds, bs):
        return (
            DataLoader(train_ds, batch_size=bs, shuffle=False),
            DataLoader(valid_ds, batch_size=bs * 2),
        )

    train_dl, valid_dl = get_data(train_ds, valid_ds, bs)
    model, opt = get_model()
    hist = fit2(epochs, model, loss_func, opt, train_dl, valid_dl)
    final = model
finally:
    torch.set_default_dtype(torch.float32)
"""

PROGRAMS["nn_really_cnn"] = (
    COMMON
    + """
from torch import optim
from torch.utils.data import TensorDataset, DataLoader

torch.set_default_dtype(torch.float64)
try:
    rng = np.random.default_rng(2)
    x_train = torch.tensor(rng.uniform(0, 1, (16, 784)))
    y_train = torch.tensor(rng.integers(0, 10, 16))
    x_valid = torch.tensor(rng.uniform(0, 1, (8, 784)))
    y_valid = torch.tensor(rng.integers(0, 10, 8))
    train_ds = TensorDataset(x_train, y_train)
    valid_ds = TensorDataset(x_valid, y_valid)
    bs = 8
    lr = 0.1
    loss_func = F.cross_entropy

    def loss_batch(model, loss_func, xb, yb, opt=None):
        loss = loss_func(model(xb), yb)
        if opt is not None:
            loss.backward()
            opt.step()
            opt.zero_grad()
        return loss.item(), len(xb)

    def fit(epochs, model, loss_func, opt, train_dl, valid_dl):
        out = []
        for epoch in range(epochs):
            model.train()
            for xb, yb in train_dl:
                loss_batch(model, loss_func, xb, yb, opt)
            model.eval()
            with torch.no_grad():
                losses, nums = zip(*[loss_batch(model, loss_func, xb, yb) for xb, yb in valid_dl])
            val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)
            print(epoch, f"{val_loss:.10f}")
            out.append(val_loss)
        return out

    class Mnist_CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1)
            self.conv2 = nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1)
            self.conv3 = nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1)

        def forward(self, xb):
            xb = xb.view(-1, 1, 28, 28)
            xb = F.relu(self.conv1(xb))
            xb = F.relu(self.conv2(xb))
            xb = F.relu(self.conv3(xb))
            xb = F.avg_pool2d(xb, 4)
            return xb.view(-1, xb.size(1))

    train_dl = DataLoader(train_ds, batch_size=bs)
    valid_dl = DataLoader(valid_ds, batch_size=bs * 2)
    model = det_init(Mnist_CNN(), seed=3, scale=0.2)
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    h1 = fit(2, model, loss_func, opt, train_dl, valid_dl)
    cnn = model

    class Lambda(nn.Module):
        def __init__(self, func):
            super().__init__()
            self.func = func

        def forward(self, x):
            return self.func(x)

    def preprocess(x):
        return x.view(-1, 1, 28, 28)

    model = nn.Sequential(
        Lambda(preprocess),
        nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.AvgPool2d(4),
        Lambda(lambda x: x.view(x.size(0), -1)),
    )
    det_init(model, seed=3, scale=0.2)
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    h2 = fit(2, model, loss_func, opt, train_dl, valid_dl)
    print(model)
    seq = model

    def preprocess2(x, y):
        return x.view(-1, 1, 28, 28), y

    class WrappedDataLoader:
        def __init__(self, dl, func):
            self.dl = dl
            self.func = func

        def __len__(self):
            return len(self.dl)

        def __iter__(self):
            for b in self.dl:
                yield (self.func(*b))

    train_dl2 = WrappedDataLoader(DataLoader(train_ds, batch_size=bs), preprocess2)
    valid_dl2 = WrappedDataLoader(DataLoader(valid_ds, batch_size=bs * 2), preprocess2)
    model = nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        Lambda(lambda x: x.view(x.size(0), -1)),
    )
    det_init(model, seed=4, scale=0.2)
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    h3 = fit(2, model, loss_func, opt, train_dl2, valid_dl2)
    adaptive = model
    print(len(train_dl2), next(iter(valid_dl2))[0].shape)
finally:
    torch.set_default_dtype(torch.float32)
"""
)

PROGRAMS["cifar_net"] = """
import os
import tempfile
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import TensorDataset, DataLoader

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

torch.set_default_dtype(torch.float64)
try:
    rng = np.random.default_rng(0)
    images_all = torch.from_numpy(rng.uniform(-1, 1, (16, 3, 32, 32)))
    labels_all = torch.from_numpy(rng.integers(0, 10, 16))
    trainloader = DataLoader(TensorDataset(images_all, labels_all), batch_size=4, shuffle=False, num_workers=0)
    testloader = DataLoader(TensorDataset(images_all[:8], labels_all[:8]), batch_size=4, shuffle=False)
    classes = ('plane', 'car', 'bird', 'cat',
               'deer', 'dog', 'frog', 'horse', 'ship', 'truck')
    dataiter = iter(trainloader)
    images, labels = next(dataiter)
    print(' '.join(f'{classes[labels[j]]:5s}' for j in range(4)))

    net = Net()
    with torch.no_grad():
        for name, prm in net.named_parameters():
            prm.copy_(torch.from_numpy(rng.normal(0, 0.1, tuple(prm.shape))))
    print(net)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
    for epoch in range(2):  # loop over the dataset multiple times
        running_loss = 0.0
        for i, data in enumerate(trainloader, 0):
            inputs, labels = data
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
            if i % 2 == 1:
                print(f'[{epoch + 1}, {i + 1:5d}] loss: {running_loss / 2:.3f}')
                running_loss = 0.0
    print('Finished Training')
    PATH = os.path.join(tempfile.mkdtemp(), 'cifar_net.pth')
    torch.save(net.state_dict(), PATH)
    dataiter = iter(testloader)
    images, labels = next(dataiter)
    print('GroundTruth: ', ' '.join(f'{classes[labels[j]]:5s}' for j in range(4)))
    net2 = Net()
    net2.load_state_dict(torch.load(PATH, weights_only=True))
    outputs = net2(images)
    _, predicted = torch.max(outputs, 1)
    print('Predicted: ', ' '.join(f'{classes[predicted[j]]:5s}' for j in range(4)))
    correct = 0
    total = 0
    with torch.no_grad():
        for data in testloader:
            images, labels = data
            outputs = net2(images)
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
    print(f'Accuracy of the network on the 8 test images: {100 * correct // total} %')
    correct_pred = {classname: 0 for classname in classes}
    total_pred = {classname: 0 for classname in classes}
    with torch.no_grad():
        for data in testloader:
            images, labels = data
            outputs = net2(images)
            _, predictions = torch.max(outputs, 1)
            for label, prediction in zip(labels, predictions):
                if label == prediction:
                    correct_pred[classes[label]] += 1
                total_pred[classes[label]] += 1
    for classname, correct_count in correct_pred.items():
        if total_pred[classname]:
            accuracy = 100 * float(correct_count) / total_pred[classname]
            print(f'Accuracy for class: {classname:5s} is {accuracy:.1f} %')
    del PATH
finally:
    torch.set_default_dtype(torch.float32)
"""

PROGRAMS["build_model"] = (
    COMMON
    + """
device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
print(f"Using {device} device")

class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28*28, 512),
            nn.ReLU(),
            nn.Linear(512, 512),
            nn.ReLU(),
            nn.Linear(512, 10),
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits

model = det_init(NeuralNetwork(), scale=0.05).to(device)
print(model)
rng = np.random.default_rng(7)
X = torch.tensor(rng.uniform(size=(1, 28, 28)), dtype=torch.float32, device=device)
logits = model(X)
pred_probab = nn.Softmax(dim=1)(logits)
y_pred = pred_probab.argmax(1)
print(f"Predicted class: {y_pred}")
input_image = torch.tensor(rng.uniform(size=(3, 28, 28)).astype(np.float32))
print(input_image.size())
flatten = nn.Flatten()
flat_image = flatten(input_image)
print(flat_image.size())
layer1 = det_init(nn.Linear(in_features=28*28, out_features=20), seed=2, scale=0.05)
hidden1 = layer1(flat_image)
print(hidden1.size())
print(f"Before ReLU: {hidden1}\\n\\n")
hidden1 = nn.ReLU()(hidden1)
print(f"After ReLU: {hidden1}")
seq_modules = nn.Sequential(
    flatten,
    layer1,
    nn.ReLU(),
    det_init(nn.Linear(20, 10), seed=3)
)
input_image = torch.tensor(rng.uniform(size=(3, 28, 28)).astype(np.float32))
logits = seq_modules(input_image)
softmax = nn.Softmax(dim=1)
pred_probab = softmax(logits)
print(pred_probab)
print(f"Model structure: {model}\\n\\n")
for name, param in model.named_parameters():
    print(f"Layer: {name} | Size: {param.size()} | Values : {param[:2]} \\n")
"""
)

PROGRAMS["optimization_loops"] = (
    COMMON
    + """
from torch.utils.data import DataLoader, TensorDataset

rng = np.random.default_rng(11)
train_data = TensorDataset(torch.tensor(rng.uniform(size=(40, 1, 8, 8)).astype(np.float32)), torch.tensor(rng.integers(0, 10, 40)))
test_data = TensorDataset(torch.tensor(rng.uniform(size=(20, 1, 8, 8)).astype(np.float32)), torch.tensor(rng.integers(0, 10, 20)))
learning_rate = 1e-1
batch_size = 8
epochs = 3
train_dataloader = DataLoader(train_data, batch_size=batch_size)
test_dataloader = DataLoader(test_data, batch_size=batch_size)

class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(8*8, 32),
            nn.ReLU(),
            nn.Linear(32, 32),
            nn.ReLU(),
            nn.Linear(32, 10),
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits

model = det_init(NeuralNetwork(), scale=0.2).double()
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)

def train_loop(dataloader, model, loss_fn, optimizer):
    size = len(dataloader.dataset)
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        pred = model(X.double())
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if batch % 2 == 0:
            loss, current = loss.item(), batch * batch_size + len(X)
            print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")

def test_loop(dataloader, model, loss_fn):
    model.eval()
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            pred = model(X.double())
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    print(f"Test Error: \\n Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8f} \\n")
    return test_loss, correct

for t in range(epochs):
    print(f"Epoch {t+1}\\n-------------------------------")
    train_loop(train_dataloader, model, loss_fn, optimizer)
    result = test_loop(test_dataloader, model, loss_fn)
print("Done!")
"""
)

PROGRAMS["tensors_tutorial"] = """
import numpy as np
import torch

data = [[1, 2],[3, 4]]
x_data = torch.tensor(data)
np_array = np.array(data)
x_np = torch.from_numpy(np_array)
x_ones = torch.ones_like(x_data) # retains the properties of x_data
print(f"Ones Tensor: \\n {x_ones} \\n")
x_rand = torch.rand_like(x_data, dtype=torch.float)
print(x_rand.shape, x_rand.dtype)
del x_rand
shape = (2,3,)
ones_tensor = torch.ones(shape)
zeros_tensor = torch.zeros(shape)
print(f"Ones Tensor: \\n {ones_tensor} \\n")
print(f"Zeros Tensor: \\n {zeros_tensor}")
tensor = torch.ones(3, 4)
print(f"Shape of tensor: {tensor.shape}")
print(f"Datatype of tensor: {tensor.dtype}")
print(f"Device tensor is stored on: {tensor.device}")
tensor = torch.ones(4, 4)
print(f"First row: {tensor[0]}")
print(f"First column: {tensor[:, 0]}")
print(f"Last column: {tensor[..., -1]}")
tensor[:,1] = 0
print(tensor)
t1 = torch.cat([tensor, tensor, tensor], dim=1)
print(t1)
y1 = tensor @ tensor.T
y2 = tensor.matmul(tensor.T)
y3 = torch.rand_like(y1)
torch.matmul(tensor, tensor.T, out=y3)
z1 = tensor * tensor
z2 = tensor.mul(tensor)
z3 = torch.rand_like(tensor)
torch.mul(tensor, tensor, out=z3)
agg = tensor.sum()
agg_item = agg.item()
print(agg_item, type(agg_item))
print(f"{tensor} \\n")
tensor.add_(5)
print(tensor)
t = torch.ones(5)
print(f"t: {t}")
n = t.numpy()
print(f"n: {n}")
t.add_(1)
print(f"t: {t}")
print(f"n: {n}")
n = np.ones(5)
t = torch.from_numpy(n)
np.add(n, 1, out=n)
print(f"t: {t}")
print(f"n: {n}")
"""

PROGRAMS["autograd_tutorial"] = """
import torch

x = torch.ones(5)  # input tensor
y = torch.zeros(3)  # expected output
w = torch.linspace(-1, 1, 15).reshape(5, 3).requires_grad_(True)
b = torch.tensor([0.1, -0.2, 0.3], requires_grad=True)
z = torch.matmul(x, w)+b
loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
print(f"Gradient function for z = {z.grad_fn.name()}")
print(f"Gradient function for loss = {loss.grad_fn.name()}")
loss.backward()
print(w.grad)
print(b.grad)
z = torch.matmul(x, w)+b
print(z.requires_grad)
with torch.no_grad():
    z = torch.matmul(x, w)+b
print(z.requires_grad)
z = torch.matmul(x, w)+b
z_det = z.detach()
print(z_det.requires_grad)
inp = torch.eye(4, 5, requires_grad=True)
out = (inp+1).pow(2).t()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"First call\\n{inp.grad}")
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\\nSecond call\\n{inp.grad}")
inp.grad.zero_()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\\nCall after zeroing gradients\\n{inp.grad}")
print(out)
print(z)
"""

PROGRAMS["freeze_clip_sched"] = (
    COMMON
    + """
torch.set_default_dtype(torch.float64)
try:
    rng = np.random.default_rng(3)
    X = torch.tensor(rng.normal(size=(32, 6)))
    Y = torch.tensor(rng.normal(size=(32, 2)))
    model = det_init(nn.Sequential(nn.Linear(6, 12), nn.Tanh(), nn.Linear(12, 12), nn.GELU(), nn.Linear(12, 2)))
    for param in model[0].parameters():
        param.requires_grad_(False)
    model[2].bias.requires_grad = False
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    print(trainable, sum(p.numel() for p in model.parameters() if p.requires_grad))
    optimizer = torch.optim.AdamW(filter(lambda p: p.requires_grad, model.parameters()), lr=0.05, weight_decay=0.1)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=10)
    warm = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.5, total_iters=3)
    lrs = []
    norms = []
    for epoch in range(10):
        for i in range(0, 32, 8):
            optimizer.zero_grad(set_to_none=True)
            out = model(X[i:i + 8])
            loss = nn.functional.smooth_l1_loss(out, Y[i:i + 8], beta=0.5)
            loss.backward()
            norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5, norm_type=2.0)
            norms.append(norm.item())
            optimizer.step()
        scheduler.step()
        warm.step()
        lrs.append(scheduler.get_last_lr()[0])
        print(epoch, f"{loss.item():.8f}", f"{lrs[-1]:.8f}")
    print(model[0].weight.grad, model[2].bias.grad is None)
    frozen_w = model[0].weight
    vec = nn.utils.parameters_to_vector(model.parameters())
    print(vec.shape, vec.requires_grad)
    nn.utils.vector_to_parameters(vec * 0.5, model.parameters())
    half = model[4].weight.clone()
    g = torch.tensor([3.0, 4.0], requires_grad=True)
    (g * g).sum().backward()
    total = nn.utils.clip_grad_norm_([g], max_norm=1.0)
    print(total, g.grad)
finally:
    torch.set_default_dtype(torch.float32)
"""
)

PROGRAMS["custom_dataset_shuffle"] = """
import numpy as np
import torch
from torch.utils.data import DataLoader
from torch.utils.data.dataset import Dataset
from torch.utils.data.dataloader import default_collate

class CustomImageDataset(Dataset):
    def __init__(self, n, transform=None, target_transform=None):
        rng = np.random.default_rng(0)
        self.images = rng.integers(0, 256, (n, 1, 4, 4)).astype(np.uint8)
        self.img_labels = rng.integers(0, 5, n)
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self):
        return len(self.img_labels)

    def __getitem__(self, idx):
        image = torch.from_numpy(self.images[idx])
        label = int(self.img_labels[idx])
        if self.transform:
            image = self.transform(image)
        if self.target_transform:
            label = self.target_transform(label)
        return image, label

to_float = lambda img: img.float() / 255.0
one_hot = lambda y: torch.zeros(5, dtype=torch.float).scatter_(0, torch.tensor(y), value=1)
ds = CustomImageDataset(10, transform=to_float, target_transform=one_hot)
img0, lab0 = ds[0]
print(img0.dtype, img0.shape, lab0)
raw_ds = CustomImageDataset(10)
print(raw_ds[1][0].dtype, type(raw_ds[1][1]).__name__)
g = torch.Generator()
g.manual_seed(0)
loader = DataLoader(ds, batch_size=4, shuffle=True, generator=g)
xs = []
ys = []
for xb, yb in loader:
    print(xb.shape, yb.shape, xb.dtype, yb.dtype)
    xs.append(xb)
    ys.append(yb)
total_x = sorted(round(float(v), 4) for v in torch.cat(xs).sum(dim=(1, 2, 3)))
total_y = torch.cat(ys).sum(0)
del xs, ys, xb, yb  # (the shuffled order comes from each library's own random stream)
raw_loader = DataLoader(raw_ds, batch_size=3, collate_fn=default_collate)
rb = next(iter(raw_loader))
print(rb[0].dtype, rb[1], rb[1].dtype)

def pad_collate(batch):
    imgs, labels = zip(*batch)
    lengths = torch.tensor([int(l) + 1 for l in labels])
    seqs = [torch.arange(int(n), dtype=torch.float32) for n in lengths]
    padded = torch.nn.utils.rnn.pad_sequence(seqs, batch_first=True, padding_value=-1.0)
    return torch.stack(imgs), padded, lengths

pb = list(DataLoader(raw_ds, batch_size=4, collate_fn=pad_collate))
print([p[1].shape for p in pb])
pad_last = pb[-1]
"""

PROGRAMS["blitz_neural_networks"] = (
    COMMON
    + """
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

torch.set_default_dtype(torch.float64)
try:
    net = det_init(Net(), scale=0.1)
    print(net)
    params = list(net.parameters())
    print(len(params))
    print(params[0].size())  # conv1's .weight
    rng = np.random.default_rng(0)
    input = torch.from_numpy(rng.normal(size=(1, 1, 32, 32)))
    out = net(input)
    print(out)
    net.zero_grad()
    out.backward(torch.from_numpy(rng.normal(size=(1, 10))))
    g_conv1 = net.conv1.weight.grad.clone()
    output = net(input)
    target = torch.from_numpy(rng.normal(size=10))  # a dummy target, for example
    target = target.view(1, -1)  # make it the same shape as output
    criterion = nn.MSELoss()
    loss = criterion(output, target)
    print(loss)
    print(loss.grad_fn.name())  # MSELoss
    net.zero_grad()     # zeroes the gradient buffers of all parameters
    print('conv1.bias.grad before backward')
    print(net.conv1.bias.grad)
    loss.backward()
    print('conv1.bias.grad after backward')
    print(net.conv1.bias.grad)
    learning_rate = 0.01
    for f in net.parameters():
        f.data.sub_(f.grad.data * learning_rate)
    import torch.optim as optim
    optimizer = optim.SGD(net.parameters(), lr=0.01)
    for _ in range(3):
        optimizer.zero_grad()   # zero the gradient buffers
        output = net(input)
        loss = criterion(output, target)
        loss.backward()
        optimizer.step()    # Does the update
    print(loss)
finally:
    torch.set_default_dtype(torch.float32)
"""
)

PROGRAMS["gentle_autograd"] = """
import torch
from torch import nn, optim

a = torch.tensor([2., 3.], requires_grad=True)
b = torch.tensor([6., 4.], requires_grad=True)
Q = 3*a**3 - b**2
external_grad = torch.tensor([1., 1.])
Q.backward(gradient=external_grad)
print(9*a**2 == a.grad)
print(-2*b == b.grad)
x = torch.linspace(0, 1, 25).view(5, 5)
y = torch.linspace(1, 2, 25).view(5, 5)
z = torch.linspace(0, 1, 25).view(5, 5).requires_grad_()
a2 = x + y
print(f"Does `a` require gradients?: {a2.requires_grad}")
b2 = x + z
print(f"Does `b` require gradients?: {b2.requires_grad}")

model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(4, 6))
for param in model.parameters():
    param.requires_grad = False
del param  # (the replaced layer's random bias)
model[4] = nn.Linear(4, 10)
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.linspace(-0.3, 0.3, p.numel()).view(p.shape))
optimizer = optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
data = torch.linspace(-1, 1, 2 * 3 * 6 * 6).view(2, 3, 6, 6)
labels = torch.linspace(0, 1, 20).view(2, 10)
prediction = model(data)
loss = (prediction - labels).sum()
loss.backward()
optimizer.step()
print([p.grad is None for p in model.parameters()])
print(model[0].weight.requires_grad, model[4].weight.requires_grad, prediction.requires_grad)
"""

PROGRAMS["word_embeddings_ngram"] = """
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
import numpy as np

CONTEXT_SIZE = 2
EMBEDDING_DIM = 10
test_sentence = \"\"\"When forty winters shall besiege thy brow,
And dig deep trenches in thy beauty's field,
Thy youth's proud livery so gazed on now,
Will be a totter'd weed of small worth held:
Then being asked, where all thy beauty lies,\"\"\".split()
ngrams = [
    (
        [test_sentence[i - j - 1] for j in range(CONTEXT_SIZE)],
        test_sentence[i]
    )
    for i in range(CONTEXT_SIZE, len(test_sentence))
]
print(ngrams[:3])
vocab = set(test_sentence)
word_to_ix = {word: i for i, word in enumerate(sorted(vocab))}

class NGramLanguageModeler(nn.Module):

    def __init__(self, vocab_size, embedding_dim, context_size):
        super(NGramLanguageModeler, self).__init__()
        self.embeddings = nn.Embedding(vocab_size, embedding_dim)
        self.linear1 = nn.Linear(context_size * embedding_dim, 128)
        self.linear2 = nn.Linear(128, vocab_size)

    def forward(self, inputs):
        embeds = self.embeddings(inputs).view((1, -1))
        out = F.relu(self.linear1(embeds))
        out = self.linear2(out)
        log_probs = F.log_softmax(out, dim=1)
        return log_probs

torch.set_default_dtype(torch.float64)
try:
    losses = []
    loss_function = nn.NLLLoss()
    model = NGramLanguageModeler(len(vocab), EMBEDDING_DIM, CONTEXT_SIZE)
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.normal(0, 0.2, tuple(p.shape))))
    optimizer = optim.SGD(model.parameters(), lr=0.001)
    for epoch in range(3):
        total_loss = 0
        for context, target in ngrams:
            context_idxs = torch.tensor([word_to_ix[w] for w in context], dtype=torch.long)
            model.zero_grad()
            log_probs = model(context_idxs)
            loss = loss_function(log_probs, torch.tensor([word_to_ix[target]], dtype=torch.long))
            loss.backward()
            optimizer.step()
            total_loss += loss.item()
        losses.append(total_loss)
    print([round(l, 8) for l in losses])
    print(model.embeddings.weight[word_to_ix["beauty"]])

    class CBOW(nn.Module):
        def __init__(self, vocab_size, embedding_dim):
            super().__init__()
            self.embeddings = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
            self.proj = nn.Linear(embedding_dim, vocab_size)

        def forward(self, inputs):
            embeds = self.embeddings(inputs).sum(dim=0)
            return F.log_softmax(self.proj(embeds), dim=-1)

    def make_context_vector(context, word_to_ix):
        idxs = [word_to_ix[w] for w in context]
        return torch.tensor(idxs, dtype=torch.long)

    cbow = CBOW(len(vocab), EMBEDDING_DIM)
    with torch.no_grad():
        for p in cbow.parameters():
            p.copy_(torch.from_numpy(rng.normal(0, 0.2, tuple(p.shape))))
    opt = optim.Adam(cbow.parameters(), lr=0.01)
    for context, target in ngrams:
        opt.zero_grad()
        lp = cbow(make_context_vector(context, word_to_ix))
        loss = F.nll_loss(lp.unsqueeze(0), torch.tensor([word_to_ix[target]]))
        loss.backward()
        opt.step()
    emb_pad = cbow.embeddings.weight[0]
finally:
    torch.set_default_dtype(torch.float32)
"""

PROGRAMS["char_rnn_manual"] = """
import string
import math
import numpy as np
import torch
import torch.nn as nn

all_letters = string.ascii_letters + " .,;'"
n_letters = len(all_letters)

def letterToIndex(letter):
    return all_letters.find(letter)

def letterToTensor(letter):
    tensor = torch.zeros(1, n_letters)
    tensor[0][letterToIndex(letter)] = 1
    return tensor

def lineToTensor(line):
    tensor = torch.zeros(len(line), 1, n_letters)
    for li, letter in enumerate(line):
        tensor[li][0][letterToIndex(letter)] = 1
    return tensor

print(letterToTensor('J'))
print(lineToTensor('Jones').size())

class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super(RNN, self).__init__()
        self.hidden_size = hidden_size
        self.i2h = nn.Linear(input_size + hidden_size, hidden_size)
        self.i2o = nn.Linear(input_size + hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, input, hidden):
        combined = torch.cat((input, hidden), 1)
        hidden = self.i2h(combined)
        output = self.i2o(combined)
        output = self.softmax(output)
        return output, hidden

    def initHidden(self):
        return torch.zeros(1, self.hidden_size)

all_categories = ['English', 'French', 'Italian']
n_hidden = 32
rnn = RNN(n_letters, n_hidden, len(all_categories))
rng = np.random.default_rng(4)
with torch.no_grad():
    for p in rnn.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.1, tuple(p.shape)).astype(np.float32)))
input = lineToTensor('Albert')
hidden = torch.zeros(1, n_hidden)
output, next_hidden = rnn(input[0], hidden)
print(output)

def categoryFromOutput(output):
    top_n, top_i = output.topk(1)
    category_i = top_i[0].item()
    return all_categories[category_i], category_i

print(categoryFromOutput(output))
criterion = nn.NLLLoss()
learning_rate = 0.005

def train(category_tensor, line_tensor):
    hidden = rnn.initHidden()
    rnn.zero_grad()
    for i in range(line_tensor.size()[0]):
        output, hidden = rnn(line_tensor[i], hidden)
    loss = criterion(output, category_tensor)
    loss.backward()
    for p in rnn.parameters():
        p.data.add_(p.grad.data, alpha=-learning_rate)
    return output, loss.item()

data = [('Smith', 0), ('Dubois', 1), ('Rossi', 2), ('Brown', 0), ('Moreau', 1), ('Ricci', 2)]
current_loss = 0
all_losses = []
for iter, (line, cat) in enumerate(data * 3, 1):
    category_tensor = torch.tensor([cat], dtype=torch.long)
    output, loss = train(category_tensor, lineToTensor(line))
    current_loss += loss
    if iter % 6 == 0:
        guess, guess_i = categoryFromOutput(output)
        correct = '✓' if guess == all_categories[cat] else '✗ (%s)' % all_categories[cat]
        print('%d %d%% %.4f %s / %s %s' % (iter, iter / 18 * 100, loss, line, guess, correct))
        all_losses.append(round(current_loss / 6, 4))
        current_loss = 0
confusion = torch.zeros(len(all_categories), len(all_categories))
with torch.no_grad():
    for line, cat in data:
        hidden = rnn.initHidden()
        lt = lineToTensor(line)
        for i in range(lt.size()[0]):
            output, hidden = rnn(lt[i], hidden)
        guess, guess_i = categoryFromOutput(output)
        confusion[cat][guess_i] += 1
for i in range(len(all_categories)):
    confusion[i] = confusion[i] / confusion[i].sum()
print(confusion)
"""

PROGRAMS["intro_tensors_series"] = """
import math
import torch

x = torch.empty(3, 4)
print(type(x), x.shape)
del x
zeros = torch.zeros(2, 3)
ones = torch.ones(2, 3)
torch.manual_seed(1729)
random = torch.rand(2, 3)
print(random.shape, bool(((random >= 0) & (random < 1)).all()))
del random
x = torch.empty(2, 2, 3)
empty_like_x = torch.empty_like(x)
print(empty_like_x.shape)
zeros_like_x = torch.zeros_like(x)
ones_like_x = torch.ones_like(x)
del x, empty_like_x
some_constants = torch.tensor([[3.1415926, 2.71828], [1.61803, 0.0072897]])
some_integers = torch.tensor((2, 3, 5, 7, 11, 13, 17, 19))
more_integers = torch.tensor(((2, 4, 6), [3, 6, 9]))
print(some_constants)
print(some_integers)
print(more_integers)
a = torch.ones((2, 3), dtype=torch.int16)
print(a)
b = torch.linspace(0, 1, 6).view(2, 3) * 20.
print(b)
c = b.to(torch.int32)
print(c)
ones = torch.zeros(2, 2) + 1
twos = torch.ones(2, 2) * 2
threes = (torch.ones(2, 2) * 7 - 1) / 2
fours = twos ** 2
sqrt2s = twos ** 0.5
print(ones, twos, threes, fours, sqrt2s)
powers2 = twos ** torch.tensor([[1, 2], [3, 4]])
print(powers2)
fives = ones + fours
dozens = threes * fours
print(fives, dozens)
rand = torch.linspace(0, 1, 6).view(2, 3)
doubled = rand * (torch.ones(1, 3) * 2)
print(doubled)
a = torch.ones(4, 3, 2)
b = a * torch.tensor([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
c = a * torch.tensor([[0.1], [0.2], [0.3]])
d = a * torch.tensor([[0.5, 0.7]])
print(b.shape, c[0], d[1])
a = torch.linspace(-1, 1, 4).view(2, 2) * 2 - 1
print('Common functions:')
print(torch.abs(a))
print(torch.ceil(a))
print(torch.floor(a))
print(torch.clamp(a, -0.5, 0.5))
angles = torch.tensor([0, math.pi / 4, math.pi / 2, 3 * math.pi / 4])
sines = torch.sin(angles)
inverses = torch.asin(sines)
print('\\nSine and arcsine:')
print(angles)
print(sines)
print(inverses)
print('\\nBitwise XOR:')
b = torch.tensor([1, 5, 11])
c = torch.tensor([2, 7, 10])
print(torch.bitwise_xor(b, c))
print('\\nBroadcasted, element-wise equality comparison:')
d = torch.tensor([[1., 2.], [3., 4.]])
e = torch.ones(1, 2)  # many comparison ops support broadcasting!
print(torch.eq(d, e)) # returns a tensor of type bool
print('\\nReduction ops:')
print(torch.max(d))        # returns a single-element tensor
print(torch.max(d).item()) # extracts the value from the returned tensor
print(torch.mean(d))       # average
print(torch.std(d))        # standard deviation
print(torch.prod(d))       # product of all numbers
print(torch.unique(torch.tensor([1, 2, 1, 2, 1, 2]))) # filter unique elements
v1 = torch.tensor([1., 0., 0.])         # x unit vector
v2 = torch.tensor([0., 1., 0.])         # y unit vector
m1 = torch.arange(4.).view(2, 2) / 4                   # random matrix
m2 = torch.tensor([[3., 0.], [0., 3.]]) # three times identity matrix
print('\\nVectors & Matrices:')
print(torch.linalg.cross(v2, v1)) # negative of z unit vector (v1 x v2 == -v2 x v1)
print(m1)
m3 = torch.linalg.matmul(m1, m2)
print(m3)                  # 3 times m1
print(torch.det(m3))
a = torch.tensor([0, math.pi / 4, math.pi / 2, 3 * math.pi / 4])
print('a:')
print(a)
print(torch.sin(a))   # this operation creates a new tensor in memory
print(a)              # a has not changed
b = torch.tensor([0, math.pi / 4, math.pi / 2, 3 * math.pi / 4])
print('\\nb:')
print(b)
print(torch.sin_(b))  # note the underscore
print(b)              # b has changed
a = torch.ones(2, 2)
b = torch.linspace(0, 1, 4).view(2, 2)
print('Before:')
print(a)
print(b)
print('\\nAfter adding:')
print(a.add_(b))
print(a)
print(b)
print('\\nAfter multiplying')
print(b.mul_(b))
print(b)
a = torch.linspace(0, 1, 4).view(2, 2)
b = torch.linspace(1, 2, 4).view(2, 2)
c = torch.zeros(2, 2)
old_id = id(c)
print(c)
d = torch.matmul(a, b, out=c)
print(c)                # contents of c have changed
assert c is d           # test c & d are same object, not just containing equal values
assert id(c) == old_id  # make sure that our new c is the same object as the old one
torch.rand(2, 2, out=c) # works for creation too!
print(id(c) == old_id)  # still the same object!
del old_id
a = torch.ones(2, 2)
b = a.clone()
assert b is not a      # different objects in memory...
print(torch.eq(a, b))  # ...but still with the same contents!
a[0][1] = 561          # we change a...
print(b)               # ...but b is still all ones
a = torch.linspace(0, 1, 4).view(2, 2).requires_grad_(True)
print(a)
b = a.clone()
print(b)
c = a.detach().clone()
print(c)
print(a)
a = torch.linspace(0, 1, 3 * 226 * 226).view(3, 226, 226)[:, :5, :5]
b = a.unsqueeze(0)
print(a.shape)
print(b.shape)
c = torch.linspace(0, 1, 20).view(1, 1, 1, 1, 20)
print(c.shape)
d = c.squeeze(0)
print(d.shape)
e = torch.rand(1, 1)
f = e.squeeze(0)
print(f.shape)
del e, f, c
a = torch.ones(4, 3, 2)
c = a * torch.linspace(0, 1, 3).unsqueeze(1)       # 3rd dim = 1, 2nd dim identical to a
print(c)
batch_me = torch.ones(3, 226, 226)
print(batch_me.shape)
batch_me.unsqueeze_(0)
print(batch_me.shape)
output3d = torch.linspace(0, 1, 6 * 20 * 20).view(6, 20, 20)
input1d = output3d.reshape(6 * 20 * 20)
print(input1d.shape)
print(torch.reshape(output3d, (6 * 20 * 20,)).shape)
del output3d, batch_me
import numpy as np
numpy_array = np.ones((2, 3))
print(numpy_array)
pytorch_tensor = torch.from_numpy(numpy_array)
print(pytorch_tensor)
pytorch_rand = torch.linspace(0, 1, 6).view(2, 3)
numpy_rand = pytorch_rand.numpy()
print(numpy_rand)
numpy_array[1, 1] = 23
print(pytorch_tensor)
pytorch_rand[1, 1] = 17
print(numpy_rand)
"""

PROGRAMS["d2l_from_scratch"] = """
import random
import numpy as np
import torch

def synthetic_data(w, b, num_examples, rng):
    X = torch.from_numpy(rng.normal(0, 1, (num_examples, len(w))))
    y = torch.matmul(X, w) + b
    y += torch.from_numpy(rng.normal(0, 0.01, tuple(y.shape)))
    return X, y.reshape((-1, 1))

rng = np.random.default_rng(0)
true_w = torch.tensor([2, -3.4], dtype=torch.float64)
true_b = 4.2
features, labels = synthetic_data(true_w, true_b, 100, rng)
print('features:', features[0],'\\nlabel:', labels[0])

def data_iter(batch_size, features, labels):
    num_examples = len(features)
    indices = list(range(num_examples))
    random.Random(0).shuffle(indices)
    for i in range(0, num_examples, batch_size):
        batch_indices = torch.tensor(
            indices[i: min(i + batch_size, num_examples)])
        yield features[batch_indices], labels[batch_indices]

w = torch.from_numpy(rng.normal(0, 0.01, size=(2, 1))).requires_grad_(True)
b = torch.zeros(1, dtype=torch.float64, requires_grad=True)

def linreg(X, w, b):
    return torch.matmul(X, w) + b

def squared_loss(y_hat, y):
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2

def sgd(params, lr, batch_size):
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()

lr = 0.03
num_epochs = 3
net = linreg
loss = squared_loss
batch_size = 10
for epoch in range(num_epochs):
    for X, y in data_iter(batch_size, features, labels):
        l = loss(net(X, w, b), y)
        l.sum().backward()
        sgd([w, b], lr, batch_size)
    with torch.no_grad():
        train_l = loss(net(features, w, b), labels)
        print(f'epoch {epoch + 1}, loss {float(train_l.mean()):f}')
print(f'error in estimating w: {true_w - w.reshape(true_w.shape)}')
print(f'error in estimating b: {true_b - b}')

def softmax(X):
    X_exp = torch.exp(X)
    partition = X_exp.sum(1, keepdim=True)
    return X_exp / partition

X = torch.from_numpy(rng.normal(0, 1, (2, 5)))
X_prob = softmax(X)
# (rounded: exp's last bit differs between libraries and CPUs, and a sum of 1 - 2e-16 prints
# as 1.0000 where 1.0 prints as 1.)
print(X_prob, X_prob.sum(1).round(decimals=12))
y = torch.tensor([0, 2])
y_hat = torch.tensor([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]])
print(y_hat[[0, 1], y])

def cross_entropy(y_hat, y):
    return - torch.log(y_hat[range(len(y_hat)), y])

print(cross_entropy(y_hat, y))

def accuracy(y_hat, y):
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())

print(accuracy(y_hat, y) / len(y))

def batch_norm(X, gamma, beta, moving_mean, moving_var, eps, momentum):
    if not torch.is_grad_enabled():
        X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
    else:
        assert len(X.shape) in (2, 4)
        if len(X.shape) == 2:
            mean = X.mean(dim=0)
            var = ((X - mean) ** 2).mean(dim=0)
        else:
            mean = X.mean(dim=(0, 2, 3), keepdim=True)
            var = ((X - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
        X_hat = (X - mean) / torch.sqrt(var + eps)
        moving_mean = (1.0 - momentum) * moving_mean + momentum * mean
        moving_var = (1.0 - momentum) * moving_var + momentum * var
    Y = gamma * X_hat + beta
    return Y, moving_mean.data, moving_var.data

Xb = torch.from_numpy(rng.normal(1, 2, (4, 3, 5, 5))).requires_grad_()
gamma = torch.ones((1, 3, 1, 1), dtype=torch.float64, requires_grad=True)
beta = torch.zeros((1, 3, 1, 1), dtype=torch.float64, requires_grad=True)
mm = torch.zeros((1, 3, 1, 1), dtype=torch.float64)
mv = torch.ones((1, 3, 1, 1), dtype=torch.float64)
Yb, mm, mv = batch_norm(Xb, gamma, beta, mm, mv, eps=1e-5, momentum=0.1)
(Yb * Yb.detach().sin()).sum().backward()
with torch.no_grad():
    Ye, _, _ = batch_norm(Xb, gamma, beta, mm, mv, eps=1e-5, momentum=0.1)
bn = torch.nn.BatchNorm2d(3).double()
Yr = bn(Xb.detach())
print(torch.allclose(Yr, Yb), bn.running_mean.shape, bool((bn.running_mean.view(1, 3, 1, 1) - mm).abs().max() < 1e-12))
"""

PROGRAMS["saving_loading_warmstart"] = (
    COMMON
    + """
import os, tempfile, io

class TheModelClass(nn.Module):
    def __init__(self):
        super(TheModelClass, self).__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(-1, 16 * 5 * 5)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x

model = det_init(TheModelClass(), scale=0.05)
optimizer = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
print("Model's state_dict:")
for param_tensor in model.state_dict():
    print(param_tensor, "\\t", model.state_dict()[param_tensor].size())
print("Optimizer's state_dict:")
for var_name in optimizer.state_dict():
    print(var_name, "\\t", optimizer.state_dict()[var_name])
tmp = tempfile.mkdtemp()
PATH = os.path.join(tmp, "model.pt")
torch.save(model.state_dict(), PATH)
model2 = TheModelClass()
print(model2.load_state_dict(torch.load(PATH, weights_only=True)))
model2.eval()
x = torch.linspace(-1, 1, 2 * 3 * 32 * 32).view(2, 3, 32, 32)
same = torch.equal(model(x), model2(x))

class ModelB(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.head = nn.Linear(16, 2)

modelB = ModelB()
res = modelB.load_state_dict(torch.load(PATH, weights_only=True), strict=False)
print(res.missing_keys, res.unexpected_keys)
conv_w = modelB.conv1.weight
del modelB

modelA = det_init(nn.Linear(3, 2), seed=1)
modelA2 = det_init(nn.Linear(2, 1), seed=2)
optA = torch.optim.Adam(modelA.parameters())
torch.save({
    'modelA_state_dict': modelA.state_dict(),
    'modelB_state_dict': modelA2.state_dict(),
    'optimizerA_state_dict': optA.state_dict(),
}, PATH)
checkpoint = torch.load(PATH, weights_only=True)
print(sorted(checkpoint))
mA = nn.Linear(3, 2)
mA.load_state_dict(checkpoint['modelA_state_dict'])
mB = nn.Linear(2, 1)
mB.load_state_dict(checkpoint['modelB_state_dict'])
buf = io.BytesIO()
torch.save(mA.state_dict(), buf)
buf.seek(0)
from_buffer = torch.load(buf)
print(list(from_buffer.keys()), type(from_buffer).__name__)
renamed = {k.replace("fc", "dense"): v for k, v in model.state_dict().items()}
print(list(renamed)[-2:])
sd_copy = {k: v.clone() for k, v in model.state_dict().items()}
sd_view = model.state_dict(keep_vars=True)
print(type(sd_view['conv1.weight']).__name__, sd_view['conv1.weight'].requires_grad, model.state_dict()['conv1.weight'].requires_grad)
del tmp, PATH, sd_view, checkpoint
"""
)


PROGRAMS["fgsm_adversarial"] = (
    COMMON
    + """
class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, 1)
        self.conv2 = nn.Conv2d(4, 8, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(8 * 4 * 4, 16)
        self.fc2 = nn.Linear(16, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output

torch.set_default_dtype(torch.float64)
try:
    device = torch.device("cpu")
    model = det_init(Net(), scale=0.2).to(device)
    model.eval()
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.uniform(0, 1, (6, 1, 12, 12)))
    targets = torch.from_numpy(rng.integers(0, 10, 6))

    def fgsm_attack(image, epsilon, data_grad):
        sign_data_grad = data_grad.sign()
        perturbed_image = image + epsilon*sign_data_grad
        perturbed_image = torch.clamp(perturbed_image, 0, 1)
        return perturbed_image

    def denorm(batch, mean=[0.1307], std=[0.3081]):
        if isinstance(mean, list):
            mean = torch.tensor(mean).to(device)
        if isinstance(std, list):
            std = torch.tensor(std).to(device)
        return batch * std.view(1, -1, 1, 1) + mean.view(1, -1, 1, 1)

    def test(model, device, epsilon):
        correct = 0
        adv_examples = []
        for i in range(len(images)):
            data, target = images[i:i + 1].to(device), targets[i:i + 1].to(device)
            data.requires_grad = True
            output = model(data)
            init_pred = output.max(1, keepdim=True)[1]
            loss = F.nll_loss(output, target)
            model.zero_grad()
            loss.backward()
            data_grad = data.grad.data
            data_denorm = denorm(data)
            perturbed_data = fgsm_attack(data_denorm, epsilon, data_grad)
            perturbed_data_normalized = (perturbed_data - 0.1307) / 0.3081
            output = model(perturbed_data_normalized)
            final_pred = output.max(1, keepdim=True)[1]
            if final_pred.item() == target.item():
                correct += 1
            if len(adv_examples) < 3:
                adv_ex = perturbed_data.squeeze().detach().cpu().numpy()
                adv_examples.append( (init_pred.item(), final_pred.item(), adv_ex) )
        final_acc = correct/float(len(images))
        print(f"Epsilon: {epsilon}\\tTest Accuracy = {correct} / {len(images)} = {final_acc}")
        return final_acc, adv_examples

    accuracies = []
    examples = []
    for eps in [0, .05, .1, .3]:
        acc, ex = test(model, device, eps)
        accuracies.append(acc)
        examples.append(ex)
finally:
    torch.set_default_dtype(torch.float32)
"""
)

PROGRAMS["dcgan_small"] = (
    COMMON
    + """
nc, nz, ngf, ndf = 1, 8, 4, 4
real_label, fake_label = 1., 0.

def weights_init(m):
    classname = m.__class__.__name__
    if classname.find('Conv') != -1:
        nn.init.constant_(m.weight.data, 0.02)
        with torch.no_grad():
            m.weight.add_(torch.linspace(-0.05, 0.05, m.weight.numel(), dtype=m.weight.dtype).view(m.weight.shape))
    elif classname.find('BatchNorm') != -1:
        nn.init.constant_(m.weight.data, 1.0)
        nn.init.constant_(m.bias.data, 0)

class Generator(nn.Module):
    def __init__(self):
        super(Generator, self).__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d( nz, ngf * 4, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d( ngf * 2, nc, 4, 2, 1, bias=False),
            nn.Tanh()
        )

    def forward(self, input):
        return self.main(input)

class Discriminator(nn.Module):
    def __init__(self):
        super(Discriminator, self).__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False),
            nn.Sigmoid()
        )

    def forward(self, input):
        return self.main(input)

torch.set_default_dtype(torch.float64)
try:
    netG = Generator()
    netG.apply(weights_init)
    print(netG)
    netD = Discriminator()
    netD.apply(weights_init)
    criterion = nn.BCELoss()
    rng = np.random.default_rng(0)
    fixed_noise = torch.from_numpy(rng.normal(size=(4, nz, 1, 1)))
    optimizerD = torch.optim.Adam(netD.parameters(), lr=0.0002, betas=(0.5, 0.999))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=0.0002, betas=(0.5, 0.999))
    G_losses = []
    D_losses = []
    data = torch.from_numpy(rng.uniform(-1, 1, (3, 4, nc, 16, 16)))
    for i in range(3):
        netD.zero_grad()
        real_cpu = data[i]
        b_size = real_cpu.size(0)
        label = torch.full((b_size,), real_label, dtype=torch.double)
        output = netD(real_cpu).view(-1)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()
        noise = torch.from_numpy(rng.normal(size=(b_size, nz, 1, 1)))
        fake = netG(noise)
        label.fill_(fake_label)
        output = netD(fake.detach()).view(-1)
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        optimizerD.step()
        netG.zero_grad()
        label.fill_(real_label)
        output = netD(fake).view(-1)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        optimizerG.step()
        print('[%d/%d]\\tLoss_D: %.4f\\tLoss_G: %.4f\\tD(x): %.4f\\tD(G(z)): %.4f / %.4f'
              % (i, 3, errD.item(), errG.item(), D_x, D_G_z1, D_G_z2))
        G_losses.append(errG.item())
        D_losses.append(errD.item())
    with torch.no_grad():
        fake = netG(fixed_noise).detach().cpu()
    print(fake.shape, label.dtype)
finally:
    torch.set_default_dtype(torch.float32)
"""
)

PROGRAMS["custom_function_double_backward"] = """
import torch

class Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**2

    @staticmethod
    def backward(ctx, grad_out):
        x, = ctx.saved_tensors
        return grad_out * 2 * x

class Exp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        result = torch.exp(x)
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, grad_out):
        result, = ctx.saved_tensors
        return result * grad_out

def sinh(x):
    return torch.exp(x) - torch.exp(-x)

class Sinh(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        expx = torch.exp(x)
        expnegx = torch.exp(-x)
        ctx.save_for_backward(expx, expnegx)
        return expx - expnegx

    @staticmethod
    def backward(ctx, grad_out):
        expx, expnegx = ctx.saved_tensors
        grad_input = grad_out * (expx + expnegx)
        ctx.save_for_backward  # (untouched)
        return grad_input

x = torch.rand(3, 3, requires_grad=True, dtype=torch.double)
x = torch.linspace(-1, 1, 9, dtype=torch.double).view(3, 3).requires_grad_()
ok1 = torch.autograd.gradcheck(Square.apply, x)
ok2 = torch.autograd.gradgradcheck(Square.apply, x)
ok3 = torch.autograd.gradcheck(Exp.apply, x)
ok4 = torch.autograd.gradgradcheck(Exp.apply, x)
ok5 = torch.autograd.gradcheck(Sinh.apply, x)
try:  # Sinh saved intermediates (not inputs or outputs): its double backward is wrong, and says so
    torch.autograd.gradgradcheck(Sinh.apply, x)
    ok6 = True
except RuntimeError as e:
    ok6 = "mismatch" in str(e).lower()
print(ok1, ok2, ok3, ok4, ok5, ok6)
y = Square.apply(x).sum()
g, = torch.autograd.grad(y, x, create_graph=True)
gg, = torch.autograd.grad(g.sum(), x)
print(g.requires_grad, g.grad_fn is not None, gg)
out = Exp.apply(x)
grad_x, = torch.autograd.grad(out.sum(), x, create_graph=True)
hess_diag, = torch.autograd.grad(grad_x.sum(), x)
print(torch.allclose(hess_diag, torch.exp(x)))
z = Sinh.apply(x)
print(torch.allclose(z, sinh(x)))
z.sum().backward()
"""

PROGRAMS["vae_step"] = (
    COMMON
    + """
class VAE(nn.Module):
    def __init__(self):
        super(VAE, self).__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc21 = nn.Linear(32, 4)
        self.fc22 = nn.Linear(32, 4)
        self.fc3 = nn.Linear(4, 32)
        self.fc4 = nn.Linear(32, 64)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar, eps):
        std = torch.exp(0.5*logvar)
        return mu + eps*std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x, eps):
        mu, logvar = self.encode(x.view(-1, 64))
        z = self.reparameterize(mu, logvar, eps)
        return self.decode(z), mu, logvar

def loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 64), reduction='sum')
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD

torch.set_default_dtype(torch.float64)
try:
    model = det_init(VAE(), scale=0.2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    data = torch.from_numpy(rng.uniform(0, 1, (3, 8, 1, 8, 8)))
    model.train()
    train_loss = 0
    for batch_idx in range(3):
        x = data[batch_idx]
        eps = torch.from_numpy(rng.normal(size=(8, 4)))
        optimizer.zero_grad()
        recon_batch, mu, logvar = model(x, eps)
        loss = loss_function(recon_batch, x, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        optimizer.step()
        print('Train batch {} Loss: {:.6f}'.format(batch_idx, loss.item() / len(x)))
    print('====> Average loss: {:.4f}'.format(train_loss / 24))
    model.eval()
    with torch.no_grad():
        sample = torch.from_numpy(rng.normal(size=(5, 4)))
        sample = model.decode(sample).cpu()
        comparison = torch.cat([x[:2], recon_batch.view(8, 1, 8, 8)[:2]])
    print(sample.shape, comparison.shape)
finally:
    torch.set_default_dtype(torch.float32)
"""
)

PROGRAMS["autograd_functional"] = """
import torch
from torch.autograd.functional import jacobian, hessian, vjp, jvp, hvp

def exp_reducer(x):
    return x.exp().sum(dim=1)

inputs = torch.linspace(-1, 1, 8, dtype=torch.float64).view(4, 2)
J = jacobian(exp_reducer, inputs)
print(J.shape)
Jc = jacobian(exp_reducer, inputs, create_graph=True)
print(Jc.requires_grad)

def exp_adder(x, y):
    return 2 * x.exp() + 3 * y

xy = (torch.linspace(0, 1, 2, dtype=torch.float64), torch.linspace(1, 2, 2, dtype=torch.float64))
Jxy = jacobian(exp_adder, xy)

def pow_reducer(x):
    return x.pow(3).sum()

H = hessian(pow_reducer, torch.linspace(-1, 1, 4, dtype=torch.float64).view(2, 2))
print(H.shape)
v = torch.ones(4, dtype=torch.float64)
out_vjp, g_vjp = vjp(exp_reducer, inputs, v)
out_jvp, g_jvp = jvp(exp_reducer, inputs, torch.ones(4, 2, dtype=torch.float64))
out_hvp, g_hvp = hvp(pow_reducer, inputs, torch.ones(4, 2, dtype=torch.float64))
"""

PROGRAMS["lstm_tagger"] = """
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

lstm = nn.LSTM(3, 3).double()  # Input dim is 3, output dim is 3
with torch.no_grad():
    for i, p in enumerate(lstm.parameters()):
        p.copy_(torch.from_numpy(np.random.default_rng(i).normal(0, 0.3, tuple(p.shape))))
inputs = [torch.from_numpy(np.random.default_rng(10 + i).normal(size=(1, 3))) for i in range(5)]
hidden = (torch.from_numpy(np.random.default_rng(20).normal(size=(1, 1, 3))),
          torch.from_numpy(np.random.default_rng(21).normal(size=(1, 1, 3))))
for i in inputs:
    out, hidden = lstm(i.view(1, 1, -1), hidden)
inputs = torch.cat(inputs).view(len(inputs), 1, -1)
hidden = (torch.zeros(1, 1, 3, dtype=torch.float64), torch.zeros(1, 1, 3, dtype=torch.float64))
out, hidden = lstm(inputs, hidden)
print(out)
print(hidden)

def prepare_sequence(seq, to_ix):
    idxs = [to_ix[w] for w in seq]
    return torch.tensor(idxs, dtype=torch.long)

training_data = [
    ("The dog ate the apple".split(), ["DET", "NN", "V", "DET", "NN"]),
    ("Everybody read that book".split(), ["NN", "V", "DET", "NN"])
]
word_to_ix = {}
for sent, tags in training_data:
    for word in sent:
        if word not in word_to_ix:
            word_to_ix[word] = len(word_to_ix)
print(word_to_ix)
tag_to_ix = {"DET": 0, "NN": 1, "V": 2}
EMBEDDING_DIM = 6
HIDDEN_DIM = 6

class LSTMTagger(nn.Module):

    def __init__(self, embedding_dim, hidden_dim, vocab_size, tagset_size):
        super(LSTMTagger, self).__init__()
        self.hidden_dim = hidden_dim
        self.word_embeddings = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim)
        self.hidden2tag = nn.Linear(hidden_dim, tagset_size)

    def forward(self, sentence):
        embeds = self.word_embeddings(sentence)
        lstm_out, _ = self.lstm(embeds.view(len(sentence), 1, -1))
        tag_space = self.hidden2tag(lstm_out.view(len(sentence), -1))
        tag_scores = F.log_softmax(tag_space, dim=1)
        return tag_scores

torch.set_default_dtype(torch.float64)
try:
    model = LSTMTagger(EMBEDDING_DIM, HIDDEN_DIM, len(word_to_ix), len(tag_to_ix))
    rng = np.random.default_rng(3)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.normal(0, 0.3, tuple(p.shape))))
    loss_function = nn.NLLLoss()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    with torch.no_grad():
        inputs = prepare_sequence(training_data[0][0], word_to_ix)
        tag_scores = model(inputs)
        print(tag_scores)
    for epoch in range(30):
        for sentence, tags in training_data:
            model.zero_grad()
            sentence_in = prepare_sequence(sentence, word_to_ix)
            targets = prepare_sequence(tags, tag_to_ix)
            tag_scores = model(sentence_in)
            loss = loss_function(tag_scores, targets)
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        inputs = prepare_sequence(training_data[0][0], word_to_ix)
        tag_scores = model(inputs)
        print(tag_scores)
        print(tag_scores.argmax(dim=1))
finally:
    torch.set_default_dtype(torch.float32)
"""

PROGRAMS["char_rnn_nn_rnn"] = (
    COMMON
    + """
import string
allowed_characters = string.ascii_letters + " .,;'" + "_"
n_letters = len(allowed_characters)

def letterToIndex(letter):
    if letter not in allowed_characters:
        return allowed_characters.find("_")
    else:
        return allowed_characters.find(letter)

def lineToTensor(line):
    tensor = torch.zeros(len(line), 1, n_letters)
    for li, letter in enumerate(line):
        tensor[li][0][letterToIndex(letter)] = 1
    return tensor

class CharRNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super(CharRNN, self).__init__()
        self.rnn = nn.RNN(input_size, hidden_size)
        self.h2o = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, line_tensor):
        rnn_out, hidden = self.rnn(line_tensor)
        output = self.h2o(hidden[0])
        output = self.softmax(output)
        return output

class GRUNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(n_letters, 8, num_layers=2, batch_first=True, bidirectional=True)
        self.out = nn.Linear(16, 3)

    def forward(self, x):
        out, h = self.gru(x)
        return self.out(out[:, -1, :])

torch.set_default_dtype(torch.float64)
try:
    rnn = det_init(CharRNN(n_letters, 16, 3), scale=0.2)
    print(rnn)
    output = rnn(lineToTensor('Albert'))
    print(output)
    criterion = nn.NLLLoss()
    optimizer = torch.optim.SGD(rnn.parameters(), lr=0.05)
    names = [('Smith', 0), ('Dubois', 1), ('Rossi', 2), ('Brown', 0)]
    losses = []
    for epoch in range(3):
        for name, label in names:
            rnn.zero_grad()
            output = rnn(lineToTensor(name))
            loss = criterion(output, torch.tensor([label]))
            loss.backward()
            nn.utils.clip_grad_norm_(rnn.parameters(), 3)
            optimizer.step()
            losses.append(loss.item())
    print([round(l, 8) for l in losses[-4:]])
    gnet = det_init(GRUNet(), seed=5, scale=0.2)
    batch = torch.cat([lineToTensor(n[:5]).transpose(0, 1) for n, _ in names])
    print(batch.shape)
    opt = torch.optim.Adam(gnet.parameters(), lr=0.01)
    for _ in range(3):
        opt.zero_grad()
        l2 = F.cross_entropy(gnet(batch), torch.tensor([l for _, l in names]))
        l2.backward()
        opt.step()
    print(gnet)
finally:
    torch.set_default_dtype(torch.float32)
"""
)

PROGRAMS["neural_style_transfer"] = (
    COMMON
    + """
import torch.optim as optim

torch.set_default_dtype(torch.float64)
try:
    rng = np.random.default_rng(0)
    style_img = torch.from_numpy(rng.uniform(0, 1, (1, 3, 16, 16)))
    content_img = torch.from_numpy(rng.uniform(0, 1, (1, 3, 16, 16)))
    assert style_img.size() == content_img.size(), "we need to import style and content images of the same size"

    class ContentLoss(nn.Module):
        def __init__(self, target,):
            super(ContentLoss, self).__init__()
            self.target = target.detach()

        def forward(self, input):
            self.loss = F.mse_loss(input, self.target)
            return input

    def gram_matrix(input):
        a, b, c, d = input.size()
        features = input.view(a * b, c * d)
        G = torch.mm(features, features.t())
        return G.div(a * b * c * d)

    class StyleLoss(nn.Module):
        def __init__(self, target_feature):
            super(StyleLoss, self).__init__()
            self.target = gram_matrix(target_feature).detach()

        def forward(self, input):
            G = gram_matrix(input)
            self.loss = F.mse_loss(G, self.target)
            return input

    cnn = det_init(nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(inplace=True),
        nn.MaxPool2d(2, 2), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(16, 16, 3, padding=1),
    ), scale=0.2).eval()
    cnn_normalization_mean = torch.tensor([0.485, 0.456, 0.406])
    cnn_normalization_std = torch.tensor([0.229, 0.224, 0.225])

    class Normalization(nn.Module):
        def __init__(self, mean, std):
            super(Normalization, self).__init__()
            self.mean = torch.tensor(mean).view(-1, 1, 1)
            self.std = torch.tensor(std).view(-1, 1, 1)

        def forward(self, img):
            return (img - self.mean) / self.std

    content_layers_default = ['conv_4']
    style_layers_default = ['conv_1', 'conv_2', 'conv_3', 'conv_4']

    def get_style_model_and_losses(cnn, normalization_mean, normalization_std,
                                   style_img, content_img,
                                   content_layers=content_layers_default,
                                   style_layers=style_layers_default):
        normalization = Normalization(normalization_mean, normalization_std)
        content_losses = []
        style_losses = []
        model = nn.Sequential(normalization)
        i = 0  # increment every time we see a conv
        for layer in cnn.children():
            if isinstance(layer, nn.Conv2d):
                i += 1
                name = 'conv_{}'.format(i)
            elif isinstance(layer, nn.ReLU):
                name = 'relu_{}'.format(i)
                layer = nn.ReLU(inplace=False)
            elif isinstance(layer, nn.MaxPool2d):
                name = 'pool_{}'.format(i)
            elif isinstance(layer, nn.BatchNorm2d):
                name = 'bn_{}'.format(i)
            else:
                raise RuntimeError('Unrecognized layer: {}'.format(layer.__class__.__name__))
            model.add_module(name, layer)
            if name in content_layers:
                target = model(content_img).detach()
                content_loss = ContentLoss(target)
                model.add_module("content_loss_{}".format(i), content_loss)
                content_losses.append(content_loss)
            if name in style_layers:
                target_feature = model(style_img).detach()
                style_loss = StyleLoss(target_feature)
                model.add_module("style_loss_{}".format(i), style_loss)
                style_losses.append(style_loss)
        for i in range(len(model) - 1, -1, -1):
            if isinstance(model[i], ContentLoss) or isinstance(model[i], StyleLoss):
                break
        model = model[:(i + 1)]
        return model, style_losses, content_losses

    input_img = content_img.clone()

    def get_input_optimizer(input_img):
        optimizer = optim.LBFGS([input_img])
        return optimizer

    def run_style_transfer(cnn, normalization_mean, normalization_std,
                           content_img, style_img, input_img, num_steps=3,
                           style_weight=1000, content_weight=1):
        print('Building the style transfer model..')
        model, style_losses, content_losses = get_style_model_and_losses(cnn,
            normalization_mean, normalization_std, style_img, content_img)
        input_img.requires_grad_(True)
        model.eval()
        model.requires_grad_(False)
        optimizer = get_input_optimizer(input_img)
        print('Optimizing..')
        run = [0]
        while run[0] <= num_steps:
            def closure():
                with torch.no_grad():
                    input_img.clamp_(0, 1)
                optimizer.zero_grad()
                model(input_img)
                style_score = 0
                content_score = 0
                for sl in style_losses:
                    style_score += sl.loss
                for cl in content_losses:
                    content_score += cl.loss
                style_score *= style_weight
                content_score *= content_weight
                loss = style_score + content_score
                loss.backward()
                run[0] += 1
                if run[0] % 4 == 0:
                    print("run {}:".format(run))
                    print('Style Loss : {:4f} Content Loss: {:4f}'.format(
                        style_score.item(), content_score.item()))
                    print()
                return style_score + content_score
            optimizer.step(closure)
        with torch.no_grad():
            input_img.clamp_(0, 1)
        print(model)
        return input_img

    output = run_style_transfer(cnn, cnn_normalization_mean, cnn_normalization_std,
                                content_img, style_img, input_img)
    print(output.shape, output.requires_grad)
finally:
    torch.set_default_dtype(torch.float32)
"""
)

PROGRAMS["transformer_language_model"] = (
    COMMON
    + """
import math
from torch import Tensor
from torch.nn import TransformerEncoder, TransformerEncoderLayer

torch.set_default_dtype(torch.float64)
try:
    class PositionalEncoding(nn.Module):

        def __init__(self, d_model: int, dropout: float = 0.1, max_len: int = 5000):
            super().__init__()
            self.dropout = nn.Dropout(p=dropout)
            position = torch.arange(max_len).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
            pe = torch.zeros(max_len, 1, d_model)
            pe[:, 0, 0::2] = torch.sin(position * div_term)
            pe[:, 0, 1::2] = torch.cos(position * div_term)
            self.register_buffer('pe', pe)

        def forward(self, x: Tensor) -> Tensor:
            x = x + self.pe[:x.size(0)]
            return self.dropout(x)

    class TransformerModel(nn.Module):

        def __init__(self, ntoken: int, d_model: int, nhead: int, d_hid: int,
                     nlayers: int, dropout: float = 0.5):
            super().__init__()
            self.model_type = 'Transformer'
            self.pos_encoder = PositionalEncoding(d_model, dropout, max_len=64)
            encoder_layers = TransformerEncoderLayer(d_model, nhead, d_hid, dropout)
            self.transformer_encoder = TransformerEncoder(encoder_layers, nlayers)
            self.embedding = nn.Embedding(ntoken, d_model)
            self.d_model = d_model
            self.linear = nn.Linear(d_model, ntoken)

        def forward(self, src: Tensor, src_mask: Tensor = None) -> Tensor:
            src = self.embedding(src) * math.sqrt(self.d_model)
            src = self.pos_encoder(src)
            if src_mask is None:
                src_mask = nn.Transformer.generate_square_subsequent_mask(len(src)).to(src.device)
            output = self.transformer_encoder(src, src_mask)
            output = self.linear(output)
            return output

    rng = np.random.default_rng(0)
    train_data = torch.tensor(rng.integers(0, 20, 130), dtype=torch.long)

    def batchify(data: Tensor, bsz: int) -> Tensor:
        seq_len = data.size(0) // bsz
        data = data[:seq_len * bsz]
        data = data.view(bsz, seq_len).t().contiguous()
        return data

    train_data = batchify(train_data, 4)
    print(train_data.shape)
    bptt = 8

    def get_batch(source: Tensor, i: int):
        seq_len = min(bptt, len(source) - 1 - i)
        data = source[i:i+seq_len]
        target = source[i+1:i+1+seq_len].reshape(-1)
        return data, target

    ntokens = 20
    model = det_init(TransformerModel(ntokens, 8, 2, 16, 2, dropout=0.0), scale=0.2).double()
    criterion = nn.CrossEntropyLoss()
    lr = 0.5
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.95)
    total_losses = []
    for epoch in range(2):
        model.train()
        total_loss = 0.
        num_batches = len(train_data) // bptt
        for batch, i in enumerate(range(0, train_data.size(0) - 1, bptt)):
            data, targets = get_batch(train_data, i)
            output = model(data)
            output_flat = output.view(-1, ntokens)
            loss = criterion(output_flat, targets)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            optimizer.step()
            total_loss += loss.item()
        cur_loss = total_loss / num_batches
        ppl = math.exp(cur_loss)
        print(f'| epoch {epoch:3d} | lr {scheduler.get_last_lr()[0]:02.2f} | loss {cur_loss:5.6f} | ppl {ppl:8.4f}')
        total_losses.append(cur_loss)
        scheduler.step()
    model.eval()
    with torch.no_grad():
        data, targets = get_batch(train_data, 0)
        eval_out = model(data)
    print(list(model.state_dict())[:4], model.pos_encoder.pe.shape)
finally:
    torch.set_default_dtype(torch.float32)
"""
)


PROGRAMS["knowledge_distillation"] = (
    COMMON
    + """
import torch.optim as optim

class DeepNN(nn.Module):
    def __init__(self, num_classes=10):
        super(DeepNN, self).__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(8, 4, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.classifier = nn.Sequential(
            nn.Linear(4 * 4 * 4, 16),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.Linear(16, num_classes)
        )

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(x, 1)
        x = self.classifier(x)
        return x

class LightNN(nn.Module):
    def __init__(self, num_classes=10):
        super(LightNN, self).__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 4, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.classifier = nn.Sequential(
            nn.Linear(4 * 4 * 4, 8),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.Linear(8, num_classes)
        )

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(x, 1)
        x = self.classifier(x)
        return x

torch.set_default_dtype(torch.float64)
try:
    rng = np.random.default_rng(0)
    train_loader = [(torch.from_numpy(rng.uniform(-1, 1, (4, 3, 8, 8))), torch.from_numpy(rng.integers(0, 10, 4))) for _ in range(3)]
    teacher = det_init(DeepNN(num_classes=10), seed=1, scale=0.2)
    student = det_init(LightNN(num_classes=10), seed=2, scale=0.2)
    total_params_deep = "{:,}".format(sum(p.numel() for p in teacher.parameters()))
    print(f"DeepNN parameters: {total_params_deep}")
    total_params_light = "{:,}".format(sum(p.numel() for p in student.parameters()))
    print(f"LightNN parameters: {total_params_light}")

    def train_knowledge_distillation(teacher, student, train_loader, epochs, learning_rate, T, soft_target_loss_weight, ce_loss_weight):
        ce_loss = nn.CrossEntropyLoss()
        optimizer = optim.Adam(student.parameters(), lr=learning_rate)
        teacher.eval()
        student.train()
        student.classifier[2].p = 0.0  # (no dropout: both libraries' masks differ)
        for epoch in range(epochs):
            running_loss = 0.0
            for inputs, labels in train_loader:
                optimizer.zero_grad()
                with torch.no_grad():
                    teacher_logits = teacher(inputs)
                student_logits = student(inputs)
                soft_targets = nn.functional.softmax(teacher_logits / T, dim=-1)
                soft_prob = nn.functional.log_softmax(student_logits / T, dim=-1)
                soft_targets_loss = torch.sum(soft_targets * (soft_targets.log() - soft_prob)) / soft_prob.size()[0] * (T**2)
                label_loss = ce_loss(student_logits, labels)
                loss = soft_target_loss_weight * soft_targets_loss + ce_loss_weight * label_loss
                loss.backward()
                optimizer.step()
                running_loss += loss.item()
            print(f"Epoch {epoch+1}/{epochs}, Loss: {running_loss / len(train_loader):.10f}")

    train_knowledge_distillation(teacher=teacher, student=student, train_loader=train_loader, epochs=2, learning_rate=0.001, T=2, soft_target_loss_weight=0.25, ce_loss_weight=0.75)
    kl = F.kl_div(F.log_softmax(student(train_loader[0][0]) / 2, dim=1), F.softmax(teacher(train_loader[0][0]) / 2, dim=1), reduction="batchmean")
    cos = nn.CosineEmbeddingLoss()(torch.flatten(student.features(train_loader[0][0]), 1), torch.flatten(teacher.features(train_loader[0][0]), 1)[:, :64], torch.ones(4))
    ls = F.cross_entropy(student(train_loader[1][0]), train_loader[1][1], label_smoothing=0.1)
    oh = F.one_hot(train_loader[1][1], num_classes=10)
    print(oh.dtype, oh.shape, kl.grad_fn is not None)
finally:
    torch.set_default_dtype(torch.float32)
"""
)

PROGRAMS["forward_backward_hooks"] = (
    COMMON
    + """
torch.set_default_dtype(torch.float64)
try:
    model = det_init(nn.Sequential(OrderedDict([
        ("conv", nn.Conv2d(1, 3, 3)), ("relu", nn.ReLU()), ("pool", nn.AdaptiveAvgPool2d((2, 2))),
        ("flat", nn.Flatten()), ("fc", nn.Linear(12, 2))])), scale=0.3)
    activation = {}
    def get_activation(name):
        def hook(model, input, output):
            activation[name] = output.detach()
        return hook
    h1 = model.conv.register_forward_hook(get_activation('conv'))
    h2 = model.fc.register_forward_hook(get_activation('fc'))
    grads = {}
    def save_grad(name):
        def hook(module, grad_input, grad_output):
            grads[name] = [g.detach().clone() if g is not None else None for g in grad_output]
        return hook
    h3 = model.fc.register_full_backward_hook(save_grad('fc'))
    seen_inputs = []
    h4 = model.register_forward_pre_hook(lambda m, inp: seen_inputs.append(inp[0].shape))
    x = torch.linspace(-1, 1, 2 * 36).view(2, 1, 6, 6)
    x.requires_grad_(True)
    out = model(x)
    out.sum().backward()
    print(sorted(activation), activation['conv'].shape, grads['fc'][0].shape, seen_inputs)
    def scale_hook(grad):
        return grad * 2
    hx = x.register_hook(scale_hook)
    x.grad = None
    model(x).sum().backward()
    doubled = x.grad
    for h in (h1, h2, h3, h4, hx):
        h.remove()
    x.grad = None
    model(x).sum().backward()
    plain = x.grad
    y = model.fc.weight * 1
    y.retain_grad()
    (y ** 2).sum().backward()
    print(y.grad.shape, y.is_leaf)
finally:
    torch.set_default_dtype(torch.float32)
"""
)


PROGRAMS["generated_prints"] = """
# what the generated-program fuzzer found printed differently (each line once differed)
import torch
import torch.nn.functional as F

print(torch.arange(-1, 1, 0.1))
print(torch.linspace(-1, 1, 7), torch.linspace(0, -3, 7))
x = torch.tensor([[1.0, 3.0, -2.0], [2.0, 0.0, 5.0]], requires_grad=True)
print(torch.max(x, 1))
values, indices = x.detach().sort(dim=1, descending=True)
print(x.detach().topk(2), values, indices)
print(torch.tensor([[-2.0, 1.0, 0.5]]) % -0.5)
print(torch.tensor([0.1, 0.2, 0.3]).var().item(), torch.tensor([0.1, 0.2, 0.3]).std().item())
img = torch.linspace(-1, 1, 2 * 3 * 2 * 2).reshape(2, 3, 2, 2).requires_grad_()
seg = F.cross_entropy(img, torch.tensor([[[0, 1], [2, 0]], [[1, 1], [0, 2]]]))
soft = F.cross_entropy(x, torch.softmax(x.detach(), 1))
print(seg, soft)
(seg + soft).backward()
print(F.soft_margin_loss(x, torch.ones(2, 3)), F.margin_ranking_loss(x[0], x[1], torch.ones(3), reduction="none"))
print(torch.xlogy(torch.tensor([False, True]), -2.25), torch.tensor([True, False]).logit())
grads = [x.grad, img.grad]
"""

PROGRAMS["spatial_transformer"] = (
    COMMON
    + """
# A spatial transformer network as in PyTorch's STN tutorial: a small convolutional
# localisation net predicts an affine theta per image, affine_grid turns it into sampling
# positions and grid_sample resamples the input before the classifier sees it.
import warnings

class STNClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.localization = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=7),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(True),
            nn.Conv2d(8, 10, kernel_size=5),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(True),
        )
        self.fc_loc = nn.Sequential(nn.Linear(10 * 3 * 3, 32), nn.ReLU(True), nn.Linear(32, 3 * 2))
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)

    def stn(self, x):
        xs = self.localization(x).view(-1, 10 * 3 * 3)
        theta = self.fc_loc(xs).view(-1, 2, 3)
        grid = F.affine_grid(theta, x.size())  # align_corners left out, as the tutorial does
        return F.grid_sample(x, grid)

    def forward(self, x):
        x = self.stn(x)
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2(x), 2))
        x = F.relu(self.fc1(x.view(-1, 320)))
        return F.log_softmax(self.fc2(x), dim=1)

torch.set_default_dtype(torch.float64)
try:
    model = det_init(STNClassifier(), seed=4, scale=0.2)
    # start from the identity transform: every sample lands exactly on a pixel centre
    model.fc_loc[2].weight.data.zero_()
    model.fc_loc[2].bias.data.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))
    rng = np.random.default_rng(5)
    data = torch.from_numpy(rng.uniform(0, 1, (4, 1, 28, 28)))
    target = torch.from_numpy(rng.integers(0, 10, 4))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (the align_corners default warning, in both)
        for step in range(2):
            optimizer.zero_grad()
            output = model(data)
            loss = F.nll_loss(output, target)
            loss.backward()
            optimizer.step()
            print(step, f"{loss.item():.10f}")
        with torch.no_grad():
            transformed = model.stn(data)
            theta = model.fc_loc(model.localization(data).view(-1, 90)).view(-1, 2, 3)
    print(transformed.shape, theta.shape)
finally:
    torch.set_default_dtype(torch.float32)
"""
)


# Programs whose float32 values are compared at a wider tolerance than program_harness.TOLS
TOLS = {
    # its log_softmax is x - log(sum(exp(x))): outputs near -0.03 made from terms near 5, so
    # float32 rounds them ~2e-6 absolutely (how, the BLAS kernel decides)
    "nn_really_from_scratch": {"float32": (2e-5, 5e-6)},
    # float64, but 20 LBFGS-style steps through VGG-like layers: how the BLAS kernel of the
    # machine rounds (AVX-512 against AVX2) moves the input's gradient by up to 6e-10 relative
    "neural_style_transfer": {"float64": (2e-9, 1e-12)},
}


@pytest.mark.parametrize("name", sorted(set(PROGRAMS) - set(PENDING)))
def test_program(name: str) -> None:
    with allowing(tols=TOLS.get(name)):
        compare_program(PROGRAMS[name])


def test_printing_matches_pytorch() -> None:
    """repr of tensors of every dtype, shape and value range, with and without summarising,
    and under set_printoptions, is PyTorch's (up to the library's name)."""
    torch = pytest.importorskip("torch")
    import numpy as np

    import tinyconv

    rng = np.random.default_rng(0)
    shapes = [(), (1,), (5,), (3, 4), (2, 3, 4), (40,), (30, 40), (3, 400), (2, 2, 300), (1100,)]
    shapes += [(0,), (2, 0), (7, 7, 7, 7)]
    scales = {"float": 1.0, "small": 1e-5, "big": 1e9}
    for shape in shapes:
        base = rng.normal(size=shape)
        arrays = [base.astype(np.float32) * s for s in scales.values()]
        arrays += [
            np.round(base * 10).astype(np.int64),
            (base * 100).astype(np.int32),
            base > 0,
            base.astype(np.float16),
            (base * 10.0 ** rng.integers(-3, 4, size=shape)).astype(np.float32),
            np.where(base > 1, np.nan, np.round(base)),
            np.where(base > 1, np.inf, base * 0),
        ]
        for a in arrays:
            for rg in (False, True) if a.dtype.kind == "f" else (False,):
                want = repr(torch.tensor(a, requires_grad=rg))
                got = repr(tinyconv.tensor(a, requires_grad=rg)).replace("tinyconv.", "torch.")
                assert got == want, (shape, a.dtype)
    for opts in [
        {"precision": 2},
        {"sci_mode": False},
        {"sci_mode": True},
        {"profile": "short"},
        {"linewidth": 40, "precision": 6},
        {"threshold": 5, "edgeitems": 1},
    ]:
        try:
            torch.set_printoptions(**opts)
            tinyconv.set_printoptions(**opts)
            for a in [
                np.linspace(-1, 1, 13).astype(np.float32),
                np.array([1e-6, 1.0], np.float32),
                rng.normal(size=(9, 9)).astype(np.float32),
                np.arange(5.0),
            ]:
                want = repr(torch.tensor(a))
                assert repr(tinyconv.tensor(a)).replace("tinyconv.", "torch.") == want, opts
        finally:
            torch.set_printoptions(profile="default", sci_mode=None)
            tinyconv.set_printoptions(profile="default", sci_mode=None)
    tinyconv.set_default_dtype(tinyconv.float64)
    try:  # the default dtype is the one not shown
        assert repr(tinyconv.tensor([1.5])) == "tensor([1.5000])"
        assert repr(tinyconv.tensor([1.5], dtype=tinyconv.float32)) == (
            "tensor([1.5000], dtype=tinyconv.float32)"
        )
    finally:
        tinyconv.set_default_dtype(tinyconv.float32)
    with pytest.raises(ValueError, match="profile"):
        tinyconv.set_printoptions(profile="long")
