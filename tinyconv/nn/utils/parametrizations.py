"""weight_norm and spectral_norm as parametrizations, as torch.nn.utils.parametrizations.

weight_norm(module) stores the weight as a magnitude g = ||v|| (over every dim but `dim`) and
a direction v (`parametrizations.weight.original0` and `original1`); the weight is
v * g / ||v||. spectral_norm(module) divides the weight by an estimate of its largest singular
value, refined by power iteration on vectors u, v kept as buffers of the parametrization.
"""

from __future__ import annotations

from ...autograd import grad_mode
from ...tensor import Tensor
from ..functional import normalize
from ..module import Module
from .parametrize import register_parametrization

__all__ = ["spectral_norm", "weight_norm"]


def _norm_except_dim(v: Tensor, dim: int) -> Tensor:
    """The 2-norm of v over every dim but `dim`, kept as size-1 dims (shape (1, .., n, .., 1));
    dim=-1 means the norm of all of v (a 0-d tensor), as PyTorch's norm_except_dim."""
    if dim == -1:
        return v.norm(2)
    dim %= v.ndim
    others = tuple(d for d in range(v.ndim) if d != dim)
    return v.norm(2, others, keepdim=True) if others else v.abs()


def _weight_norm(v: Tensor, g: Tensor, dim: int) -> Tensor:
    """v * (g / ||v||), the norm over every dim but `dim` (all dims for dim=-1)."""
    return v * (g / _norm_except_dim(v, dim))


def _weight_matrix(weight: Tensor, dim: int) -> Tensor:
    """weight as a matrix (weight.shape[dim], rest): `dim` moved to the front, the rest
    flattened."""
    if dim != 0:
        weight = weight.permute(dim, *(d for d in range(weight.ndim) if d != dim))
    return weight.reshape(weight.shape[0], -1)


def _default_dim(module: Module) -> int:
    # a transposed convolution's weight is (in, out, ...): its output channels are dim 1
    # (by class name, so that every ConvTranspose{1,2,3}d counts, parametrized or not)
    transposed = {"ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"}
    return 1 if any(c.__name__ in transposed for c in type(module).__mro__) else 0


def _tensor_attr(module: Module, name: str) -> Tensor:
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    return weight


class _WeightNorm(Module):
    """(g, v) -> v * g / ||v||; its right_inverse splits a weight into (||weight||, weight)."""

    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        return _norm_except_dim(weight, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Parametrize module.<name> as g * v / ||v|| (norms over every dim but `dim`; dim=None:
    over all of it). g and v are `parametrizations.<name>.original0` and `original1`."""
    _tensor_attr(module, name)
    register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


class _SpectralNorm(Module):
    """weight -> weight / sigma, sigma the largest singular value of the weight as a matrix
    (`dim` first), estimated by power iteration on the buffers _u (rows) and _v (columns),
    one or more steps per forward in training mode. A 1-D weight is just normalised."""

    def __init__(
        self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12
    ) -> None:
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(
                "Dimension out of range (expected to be in range of "
                f"[-{ndim}, {ndim - 1}] but got {dim})"
            )
        if n_power_iterations <= 0:
            raise ValueError(
                "Expected n_power_iterations to be positive, but got "
                f"n_power_iterations={n_power_iterations}"
            )
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            weight_mat = _weight_matrix(weight, self.dim)
            h, w = weight_mat.shape
            # u then v from the global generator, as PyTorch draws them
            u = weight_mat.new_empty(h).normal_(0, 1)
            v = weight_mat.new_empty(w).normal_(0, 1)
            self.register_buffer("_u", normalize(u, dim=0, eps=self.eps))
            self.register_buffer("_v", normalize(v, dim=0, eps=self.eps))
            self._power_method(weight_mat, 15)  # start from a good estimate

    def _power_method(self, weight_mat: Tensor, n_power_iterations: int) -> None:
        """Refine _u and _v in place: u = normalize(W v), then v = normalize(W^T u)."""
        with grad_mode.no_grad():
            for _ in range(n_power_iterations):
                self._u.copy_(normalize(weight_mat.mv(self._v), dim=0, eps=self.eps))
                self._v.copy_(normalize(weight_mat.T.mv(self._u), dim=0, eps=self.eps))

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return normalize(weight, dim=0, eps=self.eps)
        weight_mat = _weight_matrix(weight, self.dim)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        # copies: the next power iteration changes the buffers in place, and autograd
        # saves u and v for the backward of sigma
        u, v = self._u.clone(), self._v.clone()
        sigma = u.vdot(weight_mat.mv(v))
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        # value is taken to be normalised already: the stored weight is value itself
        return value


def spectral_norm(
    module: Module,
    name: str = "weight",
    n_power_iterations: int = 1,
    eps: float = 1e-12,
    dim: int | None = None,
) -> Module:
    """Parametrize module.<name> as weight / sigma(weight), sigma its spectral norm estimated
    by power iteration (dim: the output dim, 1 for ConvTranspose and 0 otherwise). The
    vectors are `parametrizations.<name>.0._u` and `_v`; their random start comes from the
    global generator."""
    weight = _tensor_attr(module, name)
    if dim is None:
        dim = _default_dim(module)
    register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
