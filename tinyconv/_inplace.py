"""In-place ops and views, as PyTorch does them (a mixin of Tensor, so tensor.py keeps the
PyTorch surface): every view remembers its root and the view ops that re-derive it; an
in-place write bumps the shared version counter, rewrites the root's history (CopySlices)
and makes older views re-derive theirs on next use; the saved-tensor check refuses writes
to what a backward still needs."""

from __future__ import annotations

import builtins
import weakref
from typing import Any

import numpy as np

from ._dtype import _PY_INT_HIGH, _PY_INT_LOW, can_cast, dtype_name
from .autograd import grad_mode
from .autograd.grad_mode import _state as _gm_state
from .autograd.ieee import quiet, restore

# How a view was made (Tensor._view_of flags): in no_grad mode; in no_grad mode of a root that
# required grad; by a function returning several views (split/chunk/unbind).
_VIEW_NO_GRAD, _VIEW_NO_GRAD_OF_GRAD, _VIEW_MULTI = 1, 2, 4


# The outputs of custom Functions that are views of an input (or an input returned as-is)
# -> (their output index, the Function's name); among them the Tensors a module with a full
# backward hook passes its inputs and outputs through (nn/hooks.py's BackwardHookFunction).
# PyTorch refuses to modify them in place while grad mode is on (the write would bypass the
# Function's own backward); tinyconv's hook outputs are copies, refused the same way.
# Keyed by id (a Tensor's == is elementwise, so no WeakKeyDictionary); an entry leaves with
# its Tensor.
_HOOK_OUTPUTS: dict = {}


def mark_hook_output(t: Any, index: int, name: str = "BackwardHookFunction") -> None:
    """Refuse in-place ops on `t` (and on its views) under grad mode, as PyTorch does."""
    key = id(t)
    ref = weakref.ref(t, lambda _, key=key: _HOOK_OUTPUTS.pop(key, None))
    _HOOK_OUTPUTS[key] = (ref, index, name)


def _refuse_hook_output(t: Any, what: str) -> None:
    root = t if t._view_of is None else t._view_of[0]
    entry = _HOOK_OUTPUTS.get(id(root))
    if entry is None or entry[0]() is not root:
        return
    _, index, name = entry
    whose = "" if root is t else "a view of "
    hint = (
        " (here: a module with a full backward hook; clone its output, or use inplace=False)"
        if name == "BackwardHookFunction"
        else ""
    )
    raise RuntimeError(
        f"{what}: {whose}Output {index} of {name} is a view and is being modified "
        "inplace. This view was created inside a custom Function (or because an input was "
        "returned as-is) and the autograd logic to handle view+inplace would override the custom "
        "backward associated with the custom Function, leading to incorrect gradients. This "
        f"behavior is forbidden. You can fix this by cloning the output of the custom Function"
        f"{hint}."
    )


def _distinct_made_writable(a: np.ndarray) -> bool:
    """Make the read-only view `a` writable if no two of its elements share memory (a row of
    an expand()ed tensor, `x.expand(2, 3)[0]`: NumPy marks every view of a broadcast
    read-only, PyTorch writes through it and refuses only a tensor whose own elements
    overlap). Returns whether `a` is now writable."""
    need = a.itemsize  # sorted by stride, each dim must step past all of the ones before it
    dims = [] if a.size == 0 else zip(a.shape, a.strides, strict=True)  # (empty: no overlap)
    for stride, n in sorted((abs(st), n) for n, st in dims):
        if n == 1:
            continue
        if stride < need:
            return False
        need = stride * n
    try:
        a.flags.writeable = True  # (allowed when the memory's owner is writable)
    except ValueError:
        return False
    return True


def _fw_carry(src: Any, dst: Any) -> None:
    """forward_ad: dst's tangent becomes src's (an in-place op's result written into dst)."""
    from .autograd.forward_ad import _carry  # (engine to engine; loaded once a level is open)

    _carry(src, dst)


def _fw_written(dst: Any, src: Any, index: Any = None) -> None:
    """forward_ad: dst (dst[index]) was overwritten with src's values (src: a Tensor, or a
    constant); its tangent there becomes src's (zeros for a constant)."""
    from .autograd.forward_ad import _written

    _written(dst, src, index)


class ViewInplace:
    """The view and in-place machinery of Tensor (its slots live on Tensor)."""

    __slots__ = ()

    # -- views: in-place _t.ops on a base and its views, as PyTorch does ---------------------
    # Every view remembers its root (the tensor it is ultimately a view of) and the view _t.ops
    # that re-derive it from the root. An in-place op on a view writes into the root's
    # memory, so it also rewrites the root's history: the root's old history with the view's
    # region replaced by the in-place result (a CopySlices node). An in-place op on the root,
    # or through another view, bumps the shared version counter; a view whose history is
    # older than that counter re-derives its history from the root's on its next use.
    def _mark_view(self, parent: _t.Tensor, step: tuple) -> None:
        """Make self a view of `parent` by the view op `step` = (Function class, extra args)."""
        self._vc = parent._vc
        self._gv = parent._vc[0]
        if grad_mode._inference_tensors or grad_mode._inference:  # (a view: as its base)
            grad_mode.mark_inference(self, grad_mode.is_inference_tensor(parent))
        pb = parent._view_of
        flags = 0 if grad_mode.enabled else _VIEW_NO_GRAD
        if pb is None:
            if flags and parent._requires_grad:
                flags |= _VIEW_NO_GRAD_OF_GRAD
            self._view_of = (parent, (step,), flags)
        else:
            root, steps, pflags = pb
            if flags and root._requires_grad:
                flags |= _VIEW_NO_GRAD_OF_GRAD
            self._view_of = (root, steps + (step,), flags | pflags)

    def _refresh_view(self) -> None:
        """The root changed in place since this view's history was made: re-derive the view
        from the root (PyTorch's rebase of a view's grad_fn)."""
        root, steps, flags = self._view_of
        self._gv = self._vc[0]
        if not root._requires_grad:  # the root left the graph (e.g. zero_()): so does the view
            if self._grad_fn is not None:
                self._grad_fn = None
                self._requires_grad = False
            return
        if flags & _VIEW_NO_GRAD_OF_GRAD:
            raise RuntimeError(
                "A view was created in no_grad mode and its base or another view of its base has "
                "been modified inplace with grad mode enabled. Given that this use case is "
                "ambiguous and error-prone, it is forbidden. You can clarify your code by moving "
                "both the view and the inplace either both inside the no_grad block (if you don't "
                f"want the inplace to be tracked) or both outside (base shape {tuple(root.shape)})"
            )
        # the history exists whatever the mode of this access (PyTorch rebases inside
        # inference_mode() too); both modes are put back as they were (restoring `enabled`
        # alone turned grad mode off inside an enable_grad() within inference_mode())
        prev = (_gm_state.grad, _gm_state.inference)
        grad_mode._set(True, False)
        try:
            t = root
            for cls, extra in steps:
                t = cls.apply(t, *extra)
        finally:
            grad_mode._set(*prev)
        if (
            t._data.shape != self._data.shape
            or t._data.strides != self._data.strides
            or (t._data.size and t._data.ctypes.data != self._data.ctypes.data)
        ):
            # the root's layout changed in place (t_, squeeze_, ...) after this view was
            # taken: replaying its view ops would describe other elements
            raise RuntimeError(
                f"a view of shape {tuple(self.shape)} was taken before its base changed its "
                "shape in place (t_, transpose_, squeeze_, unsqueeze_); its history can't be "
                "re-derived from the base. Take the view again after the in-place view op"
            )
        _move_retained(self, t._grad_fn)
        self._grad_fn = t._grad_fn
        self._requires_grad = True

    def _view_before_write(self, what: str, other: Any = None) -> None:
        """Checks before an in-place op on a view, and its history made current."""
        root, _, flags = self._view_of
        if not self._data.flags.writeable and not _distinct_made_writable(self._data):
            # an expand()ed view whose own elements share memory
            raise RuntimeError(
                f"{what}: unsupported operation: more than one element of the written-to tensor "
                f"refers to a single memory location (a view made by expand(), shape "
                f"{tuple(self.shape)}). Please clone() the tensor before performing the operation."
            )
        if not grad_mode.enabled:
            return
        if self._gv != self._vc[0]:
            self._refresh_view()
        tracked = (
            root._requires_grad
            or self._requires_grad
            or (isinstance(other, _t.Tensor) and other._requires_grad)
        )
        if not tracked:
            return
        if flags & _VIEW_NO_GRAD:
            raise RuntimeError(
                f"{what}: A view was created in no_grad mode and is being modified inplace with "
                "grad mode enabled. Given that this use case is ambiguous and error-prone, it is "
                "forbidden. You can clarify your code by moving both the view and the inplace "
                "either both inside the no_grad block (if you don't want the inplace to be "
                "tracked) or both outside (if you want the inplace to be tracked)."
            )
        if flags & _VIEW_MULTI:
            raise RuntimeError(
                f"{what}: this tensor is a view made by a function that returns several views "
                "(split/chunk/unbind) and is being modified inplace; such views may not be "
                "modified inplace, as in PyTorch. Replace the inplace operation by an out-of-place "
                "one."
            )
        # (PyTorch's rule: the view requires grad and its base is a leaf; the base need not
        # require grad itself: `x = base.view(...).requires_grad_()` made x a leaf, and a view
        # of x written in place would silently turn x into a non-leaf with a wrong gradient)
        if self._requires_grad and root.grad_fn is None:
            raise RuntimeError(
                f"{what}: a view of a leaf Variable that requires grad is being used in an "
                f"in-place operation (leaf shape {tuple(root.shape)}); wrap the update in "
                "`with tinyconv.no_grad():` or update `.data` instead"
            )

    def _view_after_write(self) -> None:
        """After an in-place op on a view: the root's history now says `root[view] = self`
        (PyTorch's CopySlices), and the view's own history is current."""
        root, steps, _ = self._view_of
        if grad_mode.enabled and (root._requires_grad or self._requires_grad):
            cls, extra = steps[0]
            if len(steps) == 1 and cls is _t.ops.Index:
                index = extra[0]  # one basic index: the region is that index
            elif root._data.ndim == 0:  # a view of a 0-d root covers all of it
                index = _t._indexing.IndexPlan((Ellipsis,), None, (), True)
            else:  # the flat positions of the view's elements in the root, as an index
                pos = np.arange(root._data.size).reshape(root._data.shape)
                for cls, extra in steps:
                    pos = cls.forward(cls.__new__(cls), pos, *extra)
                index = _t._indexing.IndexPlan(
                    (Ellipsis,),
                    np.unravel_index(np.asarray(pos), root._data.shape),
                    pos.shape,
                    True,
                )
            self._gv = self._vc[0]  # self's history is current (it just made it)
            _t._record_set_index(root, index, self)
            if not self._requires_grad:  # e.g. zero_() on the view: it is still in root's graph
                self._gv = -1
                self._refresh_view()
                return
        self._gv = self._vc[0]

    # -- in-place ------------------------------------------------------------------------
    def _check_inplace(self, what: str) -> None:
        if _HOOK_OUTPUTS:  # (empty unless a module with a full backward hook ran)
            _refuse_hook_output(self, what)
        # (a non-view's grad_fn is its _grad_fn: the property's view refresh is skipped for the
        # usual in-place target, zero_() on a .grad every training step)
        if (
            self._requires_grad and self._grad_fn is None
            if self._view_of is None
            else self.grad_fn is None and self._requires_grad
        ):
            raise RuntimeError(
                f"{what}: a leaf tensor that requires grad (shape {tuple(self.shape)}) is being "
                "used in an in-place operation; wrap the update in `with tinyconv.no_grad():` "
                "or update `.data` instead"
            )

    def _refuse_partial_overlap(self, others: Any, what: str) -> None:
        """PyTorch refuses an in-place op whose operand shares only part of the memory it
        writes (``x[1:] += x[:-1]``): the result would depend on the order of the writes. Only
        views can share memory, so tensors that own their arrays skip the check."""
        for o in others:
            if (
                isinstance(o, _t.Tensor)
                and (o._data.base is not None or self._data.base is not None)
                and _t._indexing.overlap(self._data, o._data) == "partial"
            ):
                raise RuntimeError(
                    f"{what}: unsupported operation: some elements of the input tensor and the "
                    "written-to tensor refer to a single memory location. Please clone() the "
                    "tensor before performing the operation."
                )

    def _inplace(self, op: Any, other: Any, what: str) -> _t.Tensor:
        if grad_mode._inference_tensors:
            grad_mode.check_inplace_inference(self)
        # (only views can overlap in part: the call is skipped for tensors owning their arrays)
        if type(other) is _t.Tensor and (
            other._data.base is not None or self._data.base is not None
        ):
            self._refuse_partial_overlap((other,), what)
        # (the thread's grad mode read once, from its state: nothing below changes it)
        enabled = _gm_state.enabled
        if enabled:
            _t._current(other)
        view = self._view_of is not None
        if view:
            self._view_before_write(what, other)
        track = enabled and (
            self._requires_grad or (isinstance(other, _t.Tensor) and other._requires_grad)
        )
        if not track and not view and not grad_mode.dual_level and self._inplace_direct(op, other):
            return self
        if track:
            self._check_inplace(what)
            # Mul, Div and Pow save their first operand for backward; the write below would
            # overwrite it, so they get a copy from before the write (PyTorch's original self).
            before = (
                self
                if op is _t.ops.Add or op is _t.ops.Sub
                else _t.Tensor._make(self._data.copy(), self.grad_fn, self._requires_grad)
            )
            if grad_mode.dual_level and before is not self:
                _fw_carry(self, before)
            out = _t._binary(op, before, other)
        else:
            with grad_mode.no_grad():
                out = _t._binary(op, self, other)
        return self._write_back(out, what, track, view)

    def _write_back(self, out: Any, what: str, track: bool, view: bool) -> _t.Tensor:
        """The tail every in-place op shares: `out` (the out-of-place result) must fit self as
        PyTorch requires (same shape, a same-kind cast); it is written into self, the version
        counter moves, and when tracked, out's node becomes self's grad_fn."""
        if grad_mode._inference_tensors:
            grad_mode.check_inplace_inference(self)
        if out._data.shape != self._data.shape:
            raise RuntimeError(
                f"{what}: the result has shape {tuple(out.shape)}, which can't be written back "
                f"into a tensor of shape {tuple(self.shape)}"
            )
        if out._data.dtype != self._data.dtype and not can_cast(out._data.dtype, self._data.dtype):
            raise RuntimeError(
                f"{what}: result type {dtype_name(out._data.dtype)} can't be cast to the "
                f"in-place output's dtype {dtype_name(self._data.dtype)}"
            )
        self._data[...] = out._data
        self._vc[0] += 1
        if grad_mode.dual_level:  # out's tangent (J v of the op) is self's now
            _fw_carry(out, self)
        if track:
            _move_retained(self, out.grad_fn)
            self.grad_fn = node = out.grad_fn
            self._requires_grad = True
            if node is not None and node._saved_versions:
                # an op that saved its output (exp, sigmoid, tanh, reciprocal, ...) saved what is
                # now self: a later in-place change of self must fail its backward, as in PyTorch
                node._saved_versions = tuple(
                    (self._vc, self._vc[0], sh) if vc is out._vc else (vc, v, sh)
                    for vc, v, sh in node._saved_versions
                )
        if view:
            self._view_after_write()
        return self

    def _inplace_direct(self, op: Any, other: Any) -> bool:
        """The untracked update of an optimiser step (`w -= lr * w.grad` under no_grad), written
        straight into self by the op's ufunc; False (nothing done) unless that is exactly what
        the general path would compute: a float tensor, and a Python number or an operand of
        the same shape and dtype (so no broadcasting, promotion or cast to check)."""
        data = self._data
        dt = data.dtype
        od = other._data if isinstance(other, _t.Tensor) else other
        if (
            op.ufunc is None
            or dt.kind != "f"
            # (dtype == costs ~0.1 us: the itemsize test first, float16's alone is 2)
            or (dt.itemsize == 2 and dt == np.float16 and not isinstance(od, np.ndarray))
            or not (
                type(od) is builtins.float
                or (type(od) is builtins.int and _PY_INT_LOW <= od <= _PY_INT_HIGH)
                or (
                    isinstance(od, np.ndarray)
                    and od.shape == data.shape
                    and (od.dtype is dt or od.dtype == dt)
                )
            )
        ):
            return False
        token = quiet()  # (as every op: inf - inf is nan without a NumPy warning, ieee.py)
        try:
            op.ufunc(data, od, out=data)
        finally:
            restore(token)
        self._vc[0] += 1
        return True

    def __iadd__(self, other: Any) -> _t.Tensor:
        return self._inplace(_t.ops.Add, other, "+=")

    def __isub__(self, other: Any) -> _t.Tensor:
        return self._inplace(_t.ops.Sub, other, "-=")

    def __imul__(self, other: Any) -> _t.Tensor:
        return self._inplace(_t.ops.Mul, other, "*=")

    def __itruediv__(self, other: Any) -> _t.Tensor:
        return self._inplace(_t.ops.Div, other, "/=")

    def add_(self, other: Any, alpha: Any = 1) -> _t.Tensor:
        if alpha != 1:
            _t._check_alpha(self, other, alpha, "add_()")
            if type(other) is _t.Tensor:  # (checked here: other * alpha is a new tensor)
                self._refuse_partial_overlap((other,), "add_()")
        return self._inplace(_t.ops.Add, _t._scaled(self, other, alpha), "add_()")

    def sub_(self, other: Any, alpha: Any = 1) -> _t.Tensor:
        if alpha != 1:
            _t._check_alpha(self, other, alpha, "sub_()")
            if type(other) is _t.Tensor:  # (checked here: other * alpha is a new tensor)
                self._refuse_partial_overlap((other,), "sub_()")
        return self._inplace(_t.ops.Sub, _t._scaled(self, other, alpha), "sub_()")

    def mul_(self, other: Any) -> _t.Tensor:
        return self._inplace(_t.ops.Mul, other, "mul_()")

    # Without these, Python runs `x //= y` as `x = x // y`: a new tensor, so other names for
    # x (and its views and base) kept the old values, where PyTorch writes into x.
    def floor_divide_(self, other: Any) -> _t.Tensor:
        return self._inplace(_t.ops.FloorDivide, other, "floor_divide_()")

    def remainder_(self, other: Any) -> _t.Tensor:
        return self._inplace(_t.ops.Remainder, other, "remainder_()")

    def __ifloordiv__(self, other: Any) -> _t.Tensor:
        return self._inplace(_t.ops.FloorDivide, other, "//=")

    def __imod__(self, other: Any) -> _t.Tensor:
        return self._inplace(_t.ops.Remainder, other, "%=")

    def __ipow__(self, other: Any) -> _t.Tensor:
        return self.pow_(other)

    def bitwise_and_(self, other: Any) -> _t.Tensor:
        return self._inplace_result(lambda x: x & other, "bitwise_and_()", (other,))

    def bitwise_or_(self, other: Any) -> _t.Tensor:
        return self._inplace_result(lambda x: x | other, "bitwise_or_()", (other,))

    def bitwise_xor_(self, other: Any) -> _t.Tensor:
        return self._inplace_result(lambda x: x ^ other, "bitwise_xor_()", (other,))

    def bitwise_left_shift_(self, other: Any) -> _t.Tensor:
        return self._inplace_result(lambda x: x << other, "bitwise_left_shift_()", (other,))

    def bitwise_right_shift_(self, other: Any) -> _t.Tensor:
        return self._inplace_result(lambda x: x >> other, "bitwise_right_shift_()", (other,))

    __iand__ = bitwise_and_
    __ior__ = bitwise_or_
    __ixor__ = bitwise_xor_
    __ilshift__ = bitwise_left_shift_
    __irshift__ = bitwise_right_shift_

    def div_(self, other: Any, *, rounding_mode: str | None = None) -> _t.Tensor:
        if rounding_mode is None:
            return self._inplace(_t.ops.Div, other, "div_()")
        return self._inplace(_t._rounded_div_op(rounding_mode), other, "div_()")

    def _overwrite(self, values: Any, what: str, node: Any = None, value: Any = None) -> _t.Tensor:
        """Replace every value (fill_, zero_, copy_ of a constant, uniform_, normal_, init).

        A tensor in the graph stays in it, as in PyTorch: it gets a `node` (an _t.ops.Overwrite)
        that sends zero gradient to its old history, and the gradient's sum to `value`
        (fill_ with a 0-d tensor that requires grad).
        """
        if grad_mode._inference_tensors:
            grad_mode.check_inplace_inference(self)
        view = self._view_of is not None
        if view:
            self._view_before_write(what, value)
        # (the thread's grad mode read once, from its state: `p.grad.zero_()` every step read
        # it three times through the module property, 0.65 -> 0.41 us)
        enabled = _gm_state.enabled
        # (_check_inplace does nothing for a plain tensor outside the graph: skip the call)
        if enabled and (_HOOK_OUTPUTS or view or self._requires_grad):
            self._check_inplace(what)
        self._data[...] = values
        self._vc[0] += 1
        if grad_mode.dual_level:
            _fw_written(self, value)
        v_req = enabled and isinstance(value, _t.Tensor) and value._requires_grad
        if enabled and (self._grad_fn is not None or v_req):
            n = (node or _t.ops.Overwrite).__new__(node or _t.ops.Overwrite)
            if node is _t.ops.Fill and isinstance(value, _t.Tensor):
                n.torch_name = "FillBackward3"  # PyTorch's fill_ with a tensor value
            n.needs_input_grad = (self._requires_grad, v_req)
            n.edges = (
                (self._grad_fn or self) if self._requires_grad else None,
                (value._grad_fn or value) if v_req else None,
            )
            n.value_meta = (value._data.shape, value._data.dtype) if v_req else None
            n._out_meta = (self._data.shape, self._data.dtype)
            _move_retained(self, n)
            self.grad_fn = n
            self._requires_grad = True
        if view:
            self._view_after_write()  # the root's overwritten region now comes from here
        return self


# tensor.py imports this module first (Tensor mixes it in), so tensor is bound at the end
from . import tensor as _t  # noqa: E402


def _move_retained(t: Any, new: Any) -> None:
    """retain_grad() follows the tensor through an in-place op, as in PyTorch: its .grad is
    then the gradient of the new value (the node that now makes it), not of the old one."""
    old = t._grad_fn
    if old is not None and old._retained is not None and new is not None:
        if old._retained() is t:
            new._retained, old._retained = old._retained, None
