"""The exceptions tinyconv raises for a bad argument: a ValueError (a bad value or shape) or a
TypeError (a bad dtype) that is also a RuntimeError.

tinyconv has always raised ValueError when an argument's value or shape is wrong (a clear
type for a learner: "this value is not allowed"). PyTorch raises RuntimeError for most of
those (shape mismatches, bad sizes inside ops) and ValueError for others (optimizer and
module arguments), so code written for PyTorch catches either. An exception of both types
is caught by ``except ValueError`` and by ``except RuntimeError`` alike, so such code runs
unchanged. It prints as ``ValueError`` (tracebacks name it so), and pickles as a plain one.
"""

from __future__ import annotations

import builtins


class TensorValueError(builtins.ValueError, builtins.RuntimeError):
    """A bad argument value or shape; ``except ValueError`` and ``except RuntimeError`` both
    catch it (PyTorch raises one or the other)."""

    def __reduce__(self) -> tuple:
        return (builtins.ValueError, self.args)


# shown as "ValueError: ..." in tracebacks and reprs, as tinyconv's errors always were
TensorValueError.__name__ = TensorValueError.__qualname__ = "ValueError"
TensorValueError.__module__ = "builtins"


class TensorTypeError(builtins.TypeError, builtins.RuntimeError):
    """A tensor of the wrong dtype (an input and a weight that differ, an int32 class target):
    PyTorch raises RuntimeError ("expected scalar type Long but found Int"), tinyconv a
    TypeError, and this is both."""

    def __reduce__(self) -> tuple:
        return (builtins.TypeError, self.args)


TensorTypeError.__name__ = TensorTypeError.__qualname__ = "TypeError"
TensorTypeError.__module__ = "builtins"


class DtypeNotImplementedError(builtins.TypeError, builtins.NotImplementedError):
    """An op that has no kernel for its input's dtype (a bitwise op on floats, softmax of
    integers): PyTorch raises NotImplementedError ('"bitwise_and_cpu" not implemented for
    'Float''), a RuntimeError; tinyconv raised TypeError. This is both, so ``except TypeError``,
    ``except NotImplementedError`` and ``except RuntimeError`` all catch it."""

    def __reduce__(self) -> tuple:
        return (builtins.NotImplementedError, self.args)


# shown as PyTorch names it
DtypeNotImplementedError.__name__ = DtypeNotImplementedError.__qualname__ = "NotImplementedError"
DtypeNotImplementedError.__module__ = "builtins"


class IndexDtypeError(builtins.IndexError, builtins.TypeError):
    """An index tensor of a dtype that cannot index (float, int16): PyTorch raises IndexError,
    tinyconv raised TypeError; this is both."""

    def __reduce__(self) -> tuple:
        return (builtins.IndexError, self.args)


IndexDtypeError.__name__ = IndexDtypeError.__qualname__ = "IndexError"
IndexDtypeError.__module__ = "builtins"


class TensorIndexError(builtins.IndexError, TensorValueError):
    """An index out of bounds that tinyconv's checks catch up front (a class target past the
    classes): PyTorch raises IndexError there, tinyconv's checks raise ValueError, and this
    is both (and a RuntimeError)."""

    def __reduce__(self) -> tuple:
        return (builtins.IndexError, self.args)


TensorIndexError.__name__ = TensorIndexError.__qualname__ = "IndexError"
TensorIndexError.__module__ = "builtins"


class OutOfMemoryError(builtins.RuntimeError):
    """torch.OutOfMemoryError (also torch.cuda.OutOfMemoryError): what PyTorch raises when a
    GPU runs out of memory. tinyconv runs on the CPU only, where running out of memory is
    NumPy's MemoryError, so it never raises this; it is here so that scripts that catch it
    (``except torch.cuda.OutOfMemoryError:``) run unchanged."""


OutOfMemoryError.__module__ = "tinyconv"


class CudaUnavailableError(builtins.AssertionError, builtins.RuntimeError):
    """A CUDA device asked of tinyconv, which runs on the CPU only: PyTorch's CPU-only build
    raises AssertionError ("Torch not compiled with CUDA enabled"); this is also the
    RuntimeError tinyconv raised before."""


CudaUnavailableError.__name__ = CudaUnavailableError.__qualname__ = "AssertionError"
CudaUnavailableError.__module__ = "builtins"
