# ruff: noqa: E501  (the programs' own lines)
"""Tutorial-style programs (blitz, GAN, actor-critic, 1x1-convolution heads) and the Python
protocols they lean on, run in PyTorch and, with only `torch` renamed, in tinyconv
(program_harness.compare_program): every top-level tensor, number, module and optimizer must
agree, and what the program printed. Layouts are compared through the `.stride()` and
`is_contiguous()` tuples the programs record, since a layout decides whether a later
`.view()` works and in which order a dropout draws its mask.
"""

from __future__ import annotations

import pytest
from program_harness import compare_program

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")


# A 1x1 convolution whose weight has one input channel per group, (O, 1, 1, 1): that weight's
# strides are both contiguous and channels-last, and PyTorch (suggest_memory_format) reads
# such an N111 tensor as contiguous, so the output is contiguous too. tinyconv laid the output
# out channels-last: `.view(N, -1)` raised, and the dropout after it drew its mask in another
# order (other numbers than PyTorch's after the same seed).
POINTWISE_HEAD = """
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.expand = nn.Conv2d(1, 4, 1)                 # grayscale -> 4 maps, 1x1
        self.depthwise = nn.Conv2d(4, 4, 1, groups=4)    # per-channel scale, 1x1
        self.fc = nn.Linear(4 * 5 * 5, 3)

    def forward(self, x):
        x = F.relu(self.expand(x))
        x = F.dropout(self.depthwise(x), 0.5, training=self.training)
        return self.fc(x.view(x.size(0), -1))


net = Net().double()
x = torch.randn(2, 1, 5, 5, dtype=torch.float64)
layouts = [
    (y.stride(), y.is_contiguous())
    for y in (net.expand(x), net.depthwise(net.expand(x)), F.conv1d(torch.randn(2, 1, 6), torch.randn(3, 1, 1)),
              F.conv2d(torch.randn(2, 1, 1, 1), torch.randn(3, 1, 1, 1), padding=1),
              nn.ConvTranspose2d(1, 2, 3)(torch.randn(2, 1, 1, 1)))
]
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
losses = []
for step in range(3):
    out = net(x)
    loss = F.cross_entropy(out, torch.tensor([0, 2]))
    opt.zero_grad()
    loss.backward()
    opt.step()
    losses.append(loss.item())
print([f"{v:.10g}" for v in losses])
"""


def test_pointwise_conv_with_one_input_channel_gives_a_contiguous_output():
    compare_program(POINTWISE_HEAD)


# `element in tensor` is PyTorch's Tensor.__contains__: (element == tensor).any() for a number
# or a tensor, RuntimeError for anything else. Without it Python iterated over the rows and
# asked bool() of each comparison: fine for 1-d, RuntimeError for `2 in t` of a 2-d t, and
# False (not RuntimeError) for a string.
CONTAINS = """
import torch

t = torch.tensor([[1, 2], [3, 4]])
answers = [2 in t, 5 in t, torch.tensor(3) in t, torch.tensor([3, 4]) in t,
           torch.tensor([1, 4]) in t, 2.0 in t.double(), 3 in torch.tensor([1, 2, 3])]
try:
    "a" in t
    error = None
except RuntimeError as e:
    error = type(e).__name__
print(answers, error)
"""


def test_in_operator_on_tensors():
    compare_program(CONTAINS)


# reversed(t) is PyTorch's Tensor.__reversed__: t flipped along dim 0 (a Tensor, 0-d as is),
# not Python's reversed iterator over the rows.
REVERSED = """
import torch

t = torch.arange(6.).reshape(3, 2)
r = reversed(t)
rows = [row.tolist() for row in reversed(t)]
total = reversed(torch.tensor([1., 2., 3.])).cumsum(0)
"""


def test_reversed_tensor_is_flipped_tensor():
    compare_program(REVERSED)


# An elementwise op of a transposed (or permuted) tensor and a contiguous one: PyTorch's
# TensorIterator lays the result out like its first operand (strides (1, 3) here), so
# `.view(-1)` raises, as it does on the transposed input itself, and a dropout or rand_like
# after it draws in that memory order. tinyconv returned a C-ordered result: the view silently
# succeeded and the dropout mask (seq-first code: `emb.permute(1, 0, 2) + pos`, then dropout)
# was another than PyTorch's after the same seed.
MIXED_LAYOUT = """
import torch
import torch.nn as nn

torch.manual_seed(0)
x = torch.arange(12.).reshape(4, 3)
y = torch.ones(3, 4)
strides = [(x.t() + y).stride(), (x.t() * y).stride(), torch.maximum(x.t(), y).stride(), (y + x.t()).stride()]
try:
    (x.t() + y).view(-1)
    error = None
except RuntimeError as e:
    error = type(e).__name__
emb = torch.randn(2, 5, 4)                       # (batch, time, features)
pos = torch.randn(5, 2, 4)                       # (time, batch, features)
torch.manual_seed(1)
dropped = nn.Dropout(0.3)(emb.permute(1, 0, 2) + pos)
"""


def test_binary_op_result_follows_first_operands_layout():
    compare_program(MIXED_LAYOUT)


# WGAN-GP: the gradient penalty (autograd.grad with create_graph through a critic of strided
# convolutions, InstanceNorm2d(affine), LayerNorm over (C, H, W), LeakyReLU, ELU and
# AvgPool2d), a generator of Linear, Unflatten, Upsample, BatchNorm2d, SiLU, ConvTranspose2d
# and Tanh, and Adam with betas (0, 0.9); then a double backward through max_pool2d, gelu,
# a training-mode BatchNorm2d, softplus(beta) and adaptive_avg_pool2d. float64.
WGAN_GP = """
import torch
import torch.nn as nn
import torch.autograd as autograd

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)


class Critic(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 4, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(4, 8, 4, 2, 1, bias=False), nn.InstanceNorm2d(8, affine=True), nn.LeakyReLU(0.2),
            nn.Conv2d(8, 8, 3, 1, 1), nn.LayerNorm([8, 2, 2]), nn.ELU(),
            nn.AvgPool2d(2), nn.Flatten(), nn.Linear(8, 1))

    def forward(self, x):
        return self.net(x)


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(6, 8 * 2 * 2), nn.Unflatten(1, (8, 2, 2)),
            nn.Upsample(scale_factor=2, mode='nearest'), nn.Conv2d(8, 4, 3, padding=1, bias=False),
            nn.BatchNorm2d(4), nn.SiLU(), nn.ConvTranspose2d(4, 1, 4, 2, 1), nn.Tanh())

    def forward(self, z):
        return self.net(z)


netD, netG = Critic(), Generator()
optD = torch.optim.Adam(netD.parameters(), lr=1e-4, betas=(0.0, 0.9))
optG = torch.optim.Adam(netG.parameters(), lr=1e-4, betas=(0.0, 0.9))


def compute_gradient_penalty(D, real_samples, fake_samples):
    alpha = torch.rand((real_samples.size(0), 1, 1, 1))
    interpolates = (alpha * real_samples + ((1 - alpha) * fake_samples)).requires_grad_(True)
    d_interpolates = D(interpolates)
    fake = torch.ones(real_samples.shape[0], 1, requires_grad=False)
    gradients = autograd.grad(outputs=d_interpolates, inputs=interpolates, grad_outputs=fake,
                              create_graph=True, retain_graph=True, only_inputs=True)[0]
    gradients = gradients.view(gradients.size(0), -1)
    return ((gradients.norm(2, dim=1) - 1) ** 2).mean()


real = torch.rand(4, 1, 8, 8) * 2 - 1
for it in range(4):
    z = torch.randn(4, 6)
    fake = netG(z)
    optD.zero_grad()
    gp = compute_gradient_penalty(netD, real, fake.detach())
    d_loss = -torch.mean(netD(real)) + torch.mean(netD(fake.detach())) + 10 * gp
    d_loss.backward()
    optD.step()
    if it % 2 == 0:
        optG.zero_grad()
        g_loss = -torch.mean(netD(netG(z)))
        g_loss.backward()
        optG.step()
        print(it, f"{d_loss.item():.10g} {gp.item():.10g} {g_loss.item():.10g}")

x = torch.randn(2, 3, 6, 6, requires_grad=True)
bn = nn.BatchNorm2d(3)
y = nn.functional.max_pool2d(nn.functional.gelu(bn(x)), 2, stride=1)
y = nn.functional.softplus(y, beta=2).sum() + nn.functional.adaptive_avg_pool2d(x, 3).pow(2).sum()
gx, = torch.autograd.grad(y, x, create_graph=True)
gx.sum().backward()
torch.set_default_dtype(torch.float32)
"""


def test_wgan_gp_program():
    compare_program(WGAN_GP)


# A SAC-style squashed-Gaussian actor: chunk into mean and log-std, tanh rescaling of the
# log-std, Normal.rsample, the tanh correction of the log-probability (in-place -=), and
# Adam; then Independent, MultivariateNormal and the KL divergences such code logs. float64.
SQUASHED_GAUSSIAN_ACTOR = """
import torch
import torch.nn as nn
from torch.distributions import Normal, Independent, MultivariateNormal, kl_divergence

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)


class Actor(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 4))
        self.log_std_min, self.log_std_max = -5, 2

    def forward(self, s):
        mu, log_std = self.net(s).chunk(2, dim=-1)
        log_std = torch.tanh(log_std)
        log_std = self.log_std_min + 0.5 * (self.log_std_max - self.log_std_min) * (log_std + 1)
        dist = Normal(mu, log_std.exp())
        x_t = dist.rsample()
        y_t = torch.tanh(x_t)
        log_prob = dist.log_prob(x_t)
        log_prob -= torch.log(1 - y_t.pow(2) + 1e-6)
        return y_t, log_prob.sum(1, keepdim=True), torch.tanh(mu)


actor = Actor()
opt = torch.optim.Adam(actor.parameters(), lr=3e-4)
s = torch.randn(5, 3)
for i in range(3):
    a, lp, m = actor(s)
    loss = (0.2 * lp - a.sum(1, keepdim=True)).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(f"{loss.item():.10g}")
q = Normal(torch.tensor([0.5, -1., 2.]), torch.tensor([0.5, 2., 1.]))
ind = Independent(q, 1)
mvn = MultivariateNormal(torch.zeros(2), covariance_matrix=torch.tensor([[2., 0.5], [0.5, 1.]]))
kls = [kl_divergence(Normal(torch.zeros(3), torch.ones(3)), q),
       kl_divergence(ind, Independent(Normal(torch.zeros(3), torch.ones(3)), 1)),
       kl_divergence(mvn, MultivariateNormal(torch.ones(2), torch.eye(2)))]
samples = mvn.sample((4,))
log_probs = mvn.log_prob(samples)
torch.set_default_dtype(torch.float32)
"""


def test_squashed_gaussian_actor_program():
    compare_program(SQUASHED_GAUSSIAN_ACTOR)
