"""The Distribution base class (as torch.distributions.Distribution): shapes, validation of
parameters and values, and the interface every distribution fills in.

Shapes: a draw has shape sample_shape + batch_shape + event_shape. batch_shape indexes
independent distributions of the same family (a Normal with a (3,) loc is 3 of them);
event_shape is the shape of one draw of one of them (() for scalars, (k,) for a
MultivariateNormal over R^k). log_prob sums over the event and returns sample+batch."""

from __future__ import annotations

import warnings
from typing import Any

from ..autograd import no_grad
from ..tensor import Size, Tensor
from . import constraints
from .utils import lazy_property

__all__ = ["Distribution"]

_SCALAR = Size()  # the default sample/batch/event shape (one immutable instance)


def _shown(value: Tensor) -> Any:
    """A tensor as error messages and reprs show it: a 0-d one as its number."""
    return value.item() if value.dim() == 0 else value


class Distribution:
    """Base class: subclasses set arg_constraints and support, and implement what they can of
    sample/rsample, log_prob, cdf, icdf, entropy, mean, mode, variance, enumerate_support."""

    has_rsample = False
    has_enumerate_support = False
    _validate_args = __debug__  # PyTorch validates by default (unless python -O)

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Turn argument/sample validation on or off for distributions made from now on that
        are not given validate_args."""
        if value not in (True, False):
            raise ValueError(f"set_default_validate_args: expected True or False, got {value!r}")
        Distribution._validate_args = value

    def __init__(
        self,
        batch_shape: Any = _SCALAR,
        event_shape: Any = _SCALAR,
        validate_args: bool | None = None,
    ) -> None:
        self._batch_shape = Size(batch_shape)
        self._event_shape = Size(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            try:
                arg_constraints = self.arg_constraints
            except NotImplementedError:
                arg_constraints = {}
                warnings.warn(
                    f"{type(self)} does not define `arg_constraints`. Please set "
                    "`arg_constraints = {}` or initialize the distribution with "
                    "`validate_args=False` to turn off validation.",
                    stacklevel=2,
                )
            for param, constraint in arg_constraints.items():
                if constraints.is_dependent(constraint):
                    continue  # (cannot be checked)
                if param not in self.__dict__ and isinstance(
                    getattr(type(self), param, None), lazy_property
                ):
                    continue  # (not given: e.g. logits when probs were; it follows from them)
                value = getattr(self, param)
                valid = constraint.check(value)
                if not bool(valid.all()):
                    raise ValueError(
                        f"Expected parameter {param} ({type(value).__name__} of shape "
                        f"{tuple(value.shape)}) of distribution {self!r} to satisfy the "
                        f"constraint {constraint!r}, but found invalid values:\n{_shown(value)}"
                    )
        super().__init__()

    def expand(self, batch_shape: Any, _instance: Any = None) -> Distribution:
        """A distribution of the same parameters broadcast to `batch_shape` (no copy)."""
        raise NotImplementedError

    @property
    def batch_shape(self) -> Size:
        """The shape over which the parameters are batched."""
        return self._batch_shape

    @property
    def event_shape(self) -> Size:
        """The shape of one sample (without batching)."""
        return self._event_shape

    @property
    def arg_constraints(self) -> dict:
        """Parameter name -> the Constraint it must satisfy."""
        raise NotImplementedError

    @property
    def support(self) -> Any:
        """The Constraint the values (samples) of this distribution satisfy."""
        raise NotImplementedError

    @property
    def mean(self) -> Tensor:
        raise NotImplementedError

    @property
    def mode(self) -> Tensor:
        raise NotImplementedError(f"{self.__class__} does not implement mode")

    @property
    def variance(self) -> Tensor:
        raise NotImplementedError

    @property
    def stddev(self) -> Tensor:
        return self.variance.sqrt()

    def sample(self, sample_shape: Any = _SCALAR) -> Tensor:
        """A draw of shape sample_shape + batch_shape + event_shape, without gradient."""
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape: Any = _SCALAR) -> Tensor:
        """A reparameterized draw: gradients flow from it back to the parameters."""
        raise NotImplementedError

    def sample_n(self, n: int) -> Tensor:
        """n draws (deprecated: use sample((n,)))."""
        warnings.warn(
            "`sample_n(n)` will be deprecated. Use `sample((n,))` instead.",
            FutureWarning,
            stacklevel=2,
        )
        return self.sample(Size((n,)))

    def log_prob(self, value: Tensor) -> Tensor:
        """log density (or mass) at value, of shape sample_shape + batch_shape."""
        raise NotImplementedError

    def cdf(self, value: Tensor) -> Tensor:
        raise NotImplementedError

    def icdf(self, value: Tensor) -> Tensor:
        raise NotImplementedError

    def enumerate_support(self, expand: bool = True) -> Tensor:
        """Every value of a discrete distribution along a new leading dim (then batch dims,
        expanded to batch_shape when expand, else of size 1)."""
        raise NotImplementedError

    def entropy(self) -> Tensor:
        raise NotImplementedError

    def perplexity(self) -> Tensor:
        return self.entropy().exp()

    def _extended_shape(self, sample_shape: Any = _SCALAR) -> Size:
        """sample_shape + batch_shape + event_shape."""
        # (sizes made ints: NumPy integers in a sample shape act as PyTorch's Size makes them)
        sample_shape = tuple(int(d) for d in sample_shape)
        return Size(sample_shape + tuple(self._batch_shape) + tuple(self._event_shape))

    def _validate_sample(self, value: Any) -> None:
        """Raise ValueError unless value is a Tensor whose shape ends in event_shape and
        broadcasts with batch_shape + event_shape, and which lies in the support."""
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        start = value.dim() - len(self._event_shape)
        if tuple(value.shape[start:]) != tuple(self._event_shape):
            raise ValueError(
                "The right-most size of value must match event_shape: "
                f"{value.shape} vs {self._event_shape}."
            )
        actual, expected = Size(value.shape), self._extended_shape()
        for i, j in zip(reversed(actual), reversed(expected), strict=False):
            if i != 1 and j != 1 and i != j:
                raise ValueError(
                    "Value is not broadcastable with batch_shape+event_shape: "
                    f"{actual} vs {expected}."
                )
        try:
            support = self.support
        except NotImplementedError:
            warnings.warn(
                f"{type(self)} does not define `support` to enable sample validation. Please "
                "initialize the distribution with `validate_args=False` to turn off validation.",
                stacklevel=2,
            )
            return
        valid = support.check(value)
        if not bool(valid.all()):
            raise ValueError(
                f"Expected value argument ({type(value).__name__} of shape {tuple(value.shape)}) "
                f"to be within the support ({support!r}) of the distribution {self!r}, but "
                f"found invalid values:\n{_shown(value)}"
            )

    def _expand_params(
        self, cls: type, batch_shape: Any, _instance: Any, names: tuple[str, ...]
    ) -> Any:
        """expand()'s shared body: a `cls` whose parameters `names` are self's, expanded to
        `batch_shape` (views, no copies), validated as self is."""
        new = self._get_checked_instance(cls, _instance)
        batch_shape = Size(batch_shape)
        for name in names:
            setattr(new, name, getattr(self, name).expand(batch_shape))
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _get_checked_instance(self, cls: type, _instance: Any = None) -> Any:
        """The instance expand() fills in: a bare one of `cls` (a subclass with its own
        __init__ must override expand)."""
        if _instance is None and type(self).__init__ != cls.__init__:
            raise NotImplementedError(
                f"Subclass {self.__class__.__name__} of {cls.__name__} that defines a custom "
                "__init__ method must also define a custom .expand() method."
            )
        return self.__new__(type(self)) if _instance is None else _instance

    def __repr__(self) -> str:
        names = [k for k in self.arg_constraints if k in self.__dict__]
        shown = []
        for p in names:
            v = self.__dict__[p]
            shown.append(f"{p}: {_shown(v) if v.numel() == 1 else v.size()}")
        return f"{type(self).__name__}({', '.join(shown)})"
