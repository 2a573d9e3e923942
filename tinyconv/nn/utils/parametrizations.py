"""weight_norm, spectral_norm and orthogonal as parametrizations, as
torch.nn.utils.parametrizations.

weight_norm(module) stores the weight as a magnitude g = ||v|| (over every dim but `dim`) and
a direction v (`parametrizations.weight.original0` and `original1`); the weight is
v * g / ||v||. spectral_norm(module) divides the weight by an estimate of its largest singular
value, refined by power iteration on vectors u, v kept as buffers of the parametrization.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._errors import TensorValueError
from ...autograd import grad_mode
from ...creation import eye, randn
from ...linalg import matrix_exp, solve
from ...tensor import Tensor
from ...torch_functions import cat
from ..functional import normalize
from ..module import Module
from .parametrize import register_parametrization

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


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
        raise TensorValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
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

    def _weight_norm_compat_hook(
        state_dict: dict, prefix: str, local_metadata: Any, strict: bool, *_: Any
    ) -> None:
        # a checkpoint of the old nn.utils.weight_norm (<name>_g, <name>_v) loads, as in PyTorch
        g_key, v_key = f"{prefix}{name}_g", f"{prefix}{name}_v"
        if g_key in state_dict and v_key in state_dict:
            state_dict[f"{prefix}parametrizations.{name}.original0"] = state_dict.pop(g_key)
            state_dict[f"{prefix}parametrizations.{name}.original1"] = state_dict.pop(v_key)

    module._register_load_state_dict_pre_hook(_weight_norm_compat_hook)
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
            raise TensorValueError(
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


# -- orthogonal ------------------------------------------------------------------------------

_ORTHOGONAL_MAPS = ("matrix_exp", "cayley", "householder")


def _householder_product(v: Tensor, tau: Tensor) -> Tensor:
    """The first k columns of H_1 ... H_k, H_i = I - tau_i v_i v_i^T, v_i being column i of the
    (..., n, k) v below its diagonal with a 1 on it (LAPACK's layout; differentiable)."""
    n, k = v.shape[-2], v.shape[-1]
    v = v.tril(-1) + eye(n, k, dtype=v.dtype)
    q = eye(n, dtype=v.dtype).expand(*v.shape[:-2], n, n)
    for i in range(k):
        vi = v[..., i : i + 1]  # (..., n, 1)
        q = q - (tau[..., i : i + 1].unsqueeze(-1) * q.matmul(vi)).matmul(vi.transpose(-2, -1))
    return q[..., :k]


def _qr_raw(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LAPACK's geqrf of each (..., n, k) matrix: R above the diagonal and the Householder
    vectors below it, and their factors tau (torch.geqrf)."""
    h, tau = np.linalg.qr(a, mode="raw")
    return np.swapaxes(h, -1, -2), tau


def _make_orthogonal(a: Tensor) -> Tensor:
    """The Q of a = QR (a tall), its columns' signs chosen so that R's diagonal is >= 0."""
    h, tau = _qr_raw(a._data)
    q = _householder_product(Tensor._make(h, None, False), Tensor._make(tau, None, False))
    signs = np.sign(np.diagonal(h, axis1=-2, axis2=-1))[..., None, :]
    return q * Tensor._make(signs.astype(h.dtype), None, False)


def _is_orthogonal(q: Tensor) -> bool:
    n, k = q.shape[-2], q.shape[-1]
    eps = 10.0 * n * np.finfo(q._data.dtype).eps
    return bool(q.transpose(-2, -1).matmul(q).allclose(eye(k, dtype=q.dtype), atol=eps))


class _Orthogonal(Module):
    """A (..., n, k) matrix with orthonormal columns (or rows, when wide) as a function of an
    unconstrained one: exp or Cayley map of a skew-symmetric matrix built from its lower
    triangle, or a product of Householder reflections. With use_trivialization, the result is
    multiplied by the buffer `base` (the weight made orthogonal when it was registered)."""

    def __init__(
        self, weight: Tensor, orthogonal_map: str, *, use_trivialization: bool = True
    ) -> None:
        super().__init__()
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X: Tensor) -> Tensor:
        n, k = X.shape[-2], X.shape[-1]
        transposed = n < k
        if transposed:
            X = X.transpose(-2, -1)
            n, k = k, n
        if self.orthogonal_map in ("matrix_exp", "cayley"):
            X = X.tril()
            if n != k:  # embed the tall matrix in a square one
                X = cat([X, X.new_zeros((n, n - k)).expand(*X.shape[:-2], n, n - k)], dim=-1)
            A = X - X.transpose(-2, -1)  # skew-symmetric, so its exp or Cayley map is orthogonal
            if self.orthogonal_map == "matrix_exp":
                Q = matrix_exp(A)
            else:
                Id = eye(n, dtype=A.dtype)
                Q = solve(Id - 0.5 * A, Id + 0.5 * A)
            Q = Q[..., :k]
        else:
            A = X.tril(-1)
            tau = 2.0 / (1.0 + (A * A).sum(dim=-2))
            Q = _householder_product(A, tau)
            # the signs on X's diagonal (+-1) flip Q's columns; no gradient goes there
            Q = Q * X.diagonal(dim1=-2, dim2=-1).int().unsqueeze(-2)
        if "base" in self._buffers:
            Q = self.base.matmul(Q)
        return Q.transpose(-2, -1) if transposed else Q

    def right_inverse(self, Q: Tensor) -> Tensor:
        """An X with forward(X) = Q (Q made orthogonal first when it is not)."""
        if tuple(Q.shape) != tuple(self.shape):
            raise TensorValueError(
                f"Expected a matrix or batch of matrices of shape {tuple(self.shape)}. "
                f"Got a tensor of shape {tuple(Q.shape)}."
            )
        with grad_mode.no_grad():
            Q_init = Q
            n, k = Q.shape[-2], Q.shape[-1]
            transpose = n < k
            if transpose:
                Q = Q.transpose(-2, -1)
                n, k = k, n
            if "base" not in self._buffers:
                if self.orthogonal_map != "householder":
                    raise NotImplementedError(
                        "It is not possible to assign to the matrix exponential or the Cayley "
                        "parametrizations when use_trivialization=False."
                    )
                # Householder vectors of Q's QR, the diagonal holding the signs of R's
                h, tau = _qr_raw(Q._data)
                d = np.sign(np.diagonal(h, axis1=-2, axis2=-1)) * np.where(tau == 0, -1, 1)
                idx = np.arange(k)
                h[..., idx, idx] = d
                A = Tensor._make(h.astype(Q._data.dtype), None, False)
                return A.transpose(-2, -1) if transpose else A
            if n == k:
                Q = Q.clone() if _is_orthogonal(Q) else _make_orthogonal(Q)
            else:  # complete Q to a square orthogonal matrix with random columns
                N = randn(*Q.shape[:-2], n, n - k, dtype=Q.dtype)
                Q = _make_orthogonal(cat([Q, N], dim=-1))
            self.base = Q
            # X = -I gives Q = I in every map: forward(-I) = base
            neg_id = np.zeros(Q_init.shape, Q_init._data.dtype)
            idx = np.arange(min(Q_init.shape[-2:]))
            neg_id[..., idx, idx] = -1.0
            return Tensor._make(neg_id, None, False)


def orthogonal(
    module: Module,
    name: str = "weight",
    orthogonal_map: str | None = None,
    *,
    use_trivialization: bool = True,
) -> Module:
    """Parametrize module.<name> (a matrix or a batch of them) to have orthonormal columns (or
    rows). orthogonal_map: 'matrix_exp' (default for square), 'cayley' or 'householder'
    (default otherwise). The current weight becomes the starting point."""
    weight = _tensor_attr(module, name)
    if weight.ndim < 2:
        raise TensorValueError(
            f"Expected a matrix or batch of matrices. Got a tensor of {weight.ndim} dimensions."
        )
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.shape[-2] == weight.shape[-1] else "householder"
    if orthogonal_map not in _ORTHOGONAL_MAPS:
        raise TensorValueError(
            'orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
            f"Got: {orthogonal_map}"
        )
    orth = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    register_parametrization(module, name, orth, unsafe=True)
    return module
