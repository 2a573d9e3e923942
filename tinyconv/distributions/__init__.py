"""`tinyconv.distributions`, as torch.distributions: probability distributions with
PyTorch's parameters, shapes, validation and numbers (log_prob, entropy, KL and their
gradients through tinyconv's ops; samples drawn from the global stream as PyTorch draws
them, so the same seed gives the same samples).

Layer: with nn/optim (it uses nn.functional and linalg, below it; nothing below imports it).
"""

from . import constraints
from .bernoulli import Bernoulli
from .beta import Beta
from .categorical import Categorical
from .dirichlet import Dirichlet
from .distribution import Distribution
from .gamma import Gamma
from .independent import Independent
from .kl import kl_divergence, register_kl
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .one_hot_categorical import OneHotCategorical
from .uniform import Uniform

__all__ = [
    "Bernoulli",
    "Beta",
    "Categorical",
    "Dirichlet",
    "Distribution",
    "Gamma",
    "Independent",
    "MultivariateNormal",
    "Normal",
    "OneHotCategorical",
    "Uniform",
    "constraints",
    "kl_divergence",
    "register_kl",
]
