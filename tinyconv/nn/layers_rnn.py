"""Recurrent layers, as torch.nn: RNN, LSTM, GRU and their one-step cells.

Each time step is defined in differentiable Tensor ops (a matrix product per gate block,
sigmoid, tanh: nn.functional.rnn's steps), and the cells are exactly those. RNN, LSTM and GRU
run each layer's sequence as one op with the same steps and a hand-written backward through
time (nn.functional.rnn.rnn_layer; tested equal to the cells step by step). PyTorch's
parameter names, shapes, gate order (LSTM: input, forget, cell, output; GRU: reset, update,
new) and initialisation (U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) for every weight and
bias) are kept, so a state_dict moves between the two libraries and gives the same numbers.

Shapes (L: sequence length, N: batch, D: 2 if bidirectional else 1):
input (L, N, H_in) ((N, L, H_in) with batch_first, or (L, H_in) unbatched); h_0 and c_0
(D * num_layers, N, H_out); output (L, N, D * H_out). A PackedSequence input (from
nn.utils.rnn.pack_padded_sequence) gives a PackedSequence output, and each sequence's final
state is taken after its own last step.
"""

from __future__ import annotations

import builtins
import math
import warnings
from typing import Any

import numpy as np

from .. import _dtype
from .._errors import TensorTypeError, TensorValueError
from ..creation import empty, zeros
from ..tensor import Tensor
from ..torch_functions import cat, stack
from . import functional as F
from . import init
from .functional.rnn import GATES, gru_step, lstm_step, rnn_layer, rnn_step
from .module import Module, Parameter, _factory_dtype
from .utils.rnn import PackedSequence

# The steps are defined in nn.functional.rnn (rnn_step, lstm_step, gru_step), where each
# takes its input's share already multiplied out, xw = x W_ih^T + b_ih (N, G * H): it does
# not depend on the hidden state, so RNNBase computes it for every time step at once, one
# GEMM over (L * N) rows instead of L small ones (as PyTorch's CPU path does), and
# backward's weight gradient of W_ih is one GEMM too. The cells pass F.linear(x, W_ih, b_ih).
# RNNBase runs each layer and direction's time loop as one op (rnn_layer, the same steps
# with a hand-written backward through time); a packed sequence runs the steps one by one.


_ONE_OP_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _check_dtype(x: Tensor, w: Tensor, what: str) -> None:
    if x._data.dtype != w._data.dtype:
        raise TensorValueError(
            f"{what}: input dtype ({_dtype.dtype_name(x._data.dtype)}) does not match weight "
            f"dtype ({_dtype.dtype_name(w._data.dtype)}); convert the input with .to(...) or "
            f"the model with model.to(...)"
        )


def _check_state_dtype(h: Tensor, x: Tensor, name: str) -> None:
    """A given state in the input's dtype: PyTorch multiplies them together and refuses a
    mix (RuntimeError), where NumPy would promote the output silently."""
    if isinstance(h, Tensor) and h._data.dtype != x._data.dtype:
        raise RuntimeError(
            f"{name}: the hidden state's dtype ({_dtype.dtype_name(h._data.dtype)}) must be the "
            f"input's ({_dtype.dtype_name(x._data.dtype)}): mat1 and mat2 must have the same dtype"
        )


class _MissingStateError(builtins.IndexError, builtins.TypeError):
    """An LSTM hx tuple with fewer than two states: PyTorch fails reading hx[1] (IndexError),
    tinyconv raised TypeError; this is both."""

    def __reduce__(self) -> tuple:
        return (builtins.IndexError, self.args)


_MissingStateError.__name__ = _MissingStateError.__qualname__ = "IndexError"
_MissingStateError.__module__ = "builtins"


def _given_states(hx: Any, n_states: int, name: str, batched: bool = True) -> list:
    """hx as a list of n_states tensors' worth: the one state (RNN, GRU) or LSTM's (h_0, c_0),
    with PyTorch's errors for a tuple of the wrong length."""
    if n_states == 1:
        return [hx]
    rank = 3 if batched else 2
    if isinstance(hx, Tensor) and hx.ndim - 1 != rank:
        # (PyTorch checks the ranks of hx[0] and hx[1] first, which a Tensor's rows have)
        raise RuntimeError(
            f"For {'batched 3-D' if batched else 'unbatched 2-D'} input, hx and cx should "
            f"also be {rank}-D but got ({hx.ndim - 1}-D, {hx.ndim - 1}-D) tensors"
        )
    if not isinstance(hx, tuple | list):
        raise TypeError(f"{name}: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
    if len(hx) < n_states:
        raise _MissingStateError(
            f"tuple index out of range: {name}'s hx must be a tuple (h_0, c_0), got "
            f"{len(hx)} tensor(s)"
        )
    if len(hx) > n_states:  # (PyTorch's RuntimeError, still the TypeError tinyconv raised)
        raise TensorTypeError(
            f"lstm expects two hidden states: {name}'s hx must be a tuple (h_0, c_0), got "
            f"{len(hx)} tensors"
        )
    return list(hx)


class RNNBase(Module):
    """What RNN, LSTM and GRU share: the parameters per layer and direction, the checks, and
    the loop over layers, directions and time steps."""

    __constants__ = [
        "mode",
        "input_size",
        "hidden_size",
        "num_layers",
        "bias",
        "batch_first",
        "dropout",
        "bidirectional",
        "proj_size",
    ]

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        for n, v in (("input_size", input_size), ("hidden_size", hidden_size)):
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise TensorValueError(f"{name}: {n} must be a positive integer, got {v!r}")
        if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers <= 0:
            raise TensorValueError(
                f"{name}: num_layers must be a positive integer, got {num_layers!r}"
            )
        if not isinstance(dropout, (int, float)) or isinstance(dropout, bool):
            raise TensorValueError(f"{name}: dropout must be a number in [0, 1], got {dropout!r}")
        if not 0 <= dropout <= 1:
            raise TensorValueError(f"{name}: dropout must be a number in [0, 1], got {dropout}")
        if isinstance(proj_size, bool) or not isinstance(proj_size, int) or proj_size < 0:
            raise ValueError(
                "proj_size should be a positive integer or zero to disable projections"
            )
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if dropout and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero "
                f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
                f"num_layers={num_layers}",
                UserWarning,
                stacklevel=3,
            )
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first = bool(bias), bool(batch_first)
        self.dropout, self.bidirectional = float(dropout), bool(bidirectional)
        self.proj_size = proj_size
        # with proj_size (LSTM only), h_t is projected: h_t = W_hr (o * tanh(c_t)), of size P
        out_size = proj_size or hidden_size
        dt = _factory_dtype(device, dtype, f"{name}()")
        gate_size = GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []  # the names per layer and direction (PyTorch's)
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else out_size * directions
            for d in range(directions):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                shapes = [
                    ("weight_ih", (gate_size, layer_in)),
                    ("weight_hh", (gate_size, out_size)),
                ]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                for pname, shape in shapes:
                    setattr(self, pname + sfx, Parameter(empty(*shape, dtype=dt)))
                    self._flat_weights_names.append(pname + sfx)
                self._all_weights.append([pname + sfx for pname, _ in shapes])
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -stdv, stdv)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        if "_all_weights" not in self.__dict__:  # (a module pickled before it was kept)
            groups: dict[str, list[str]] = {}
            for name in self._flat_weights_names:  # 'weight_ih_l0', 'bias_hh_l1_reverse', ...
                groups.setdefault(name.split("_", 2)[2], []).append(name)
            self._all_weights = list(groups.values())

    def flatten_parameters(self) -> None:
        """Nothing to do (PyTorch packs cuDNN weights here); kept so model code runs."""

    @property
    def _flat_weights(self) -> list:
        """The parameters in _flat_weights_names' order (PyTorch keeps this list for cuDNN;
        some model code reads it). Looked up at each call, so a reassigned parameter shows."""
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list:
        """The parameters per layer and direction: [[w_ih, w_hh, b_ih, b_hh(, w_hr)], ...]."""
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s

    # -- the forward pass ------------------------------------------------------------------
    def _weights(self, layer: int, d: int) -> tuple:
        sfx = f"_l{layer}" + ("_reverse" if d else "")
        """(w_ih, w_hh, b_ih, b_hh, w_hr) of a layer and direction; None for those it lacks."""
        w = (getattr(self, "weight_ih" + sfx), getattr(self, "weight_hh" + sfx))
        if self.bias:
            w += (getattr(self, "bias_ih" + sfx), getattr(self, "bias_hh" + sfx))
        else:
            w += (None, None)
        return w + (getattr(self, "weight_hr" + sfx) if self.proj_size else None,)

    def _check_input(self, input: Any) -> bool:
        """Check the input; True if it is batched (3-D)."""
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
        if input.ndim not in (2, 3):
            raise TensorValueError(
                f"{name}: Expected input to be 2D or 3D, got {input.ndim}D instead"
            )
        if input.shape[-1] != self.input_size:
            raise RuntimeError(
                f"{name}: input.size(-1) must be equal to input_size. Expected "
                f"{self.input_size}, got {input.shape[-1]}"
            )
        _check_dtype(input, self.weight_ih_l0, name)
        return input.ndim == 3

    def _state_shapes(self, batch: int, n_states: int) -> list:
        """The shape of h_0 (and c_0): (layers * D, N, H_out), H_out = proj_size or hidden
        size (c_0: always the hidden size)."""
        rows = self.num_layers * (2 if self.bidirectional else 1)
        return [(rows, batch, self.proj_size or self.hidden_size), (rows, batch, self.hidden_size)][
            :n_states
        ]

    def _check_hidden(self, h: Any, want: tuple, which: str) -> None:
        if not isinstance(h, Tensor):
            raise TypeError(
                f"{type(self).__name__}: {which} must be a Tensor, got {type(h).__name__}"
            )
        if tuple(h.shape) != want:
            raise RuntimeError(
                f"{type(self).__name__}: Expected {which} size {want}, got {list(h.shape)}"
            )

    def _run(self, input: Tensor, states: list) -> tuple:
        """input (L, N, H_in); states: per hidden state (h, and c for LSTM) a tensor
        (layers * D, N, H). Returns output (L, N, D * H) and the final states, same layout."""
        directions = 2 if self.bidirectional else 1
        finals: list = [[] for _ in states]
        x = input
        for layer in range(self.num_layers):
            outs = []
            for d in range(directions):
                k = layer * directions + d
                w_ih, w_hh, b_ih, b_hh, w_hr = self._weights(layer, d)
                xw = F.linear(x, w_ih, b_ih)  # (L, N, G * H): every step's input term at once
                s = [st[k] for st in states]
                steps, n = x.shape[0], x.shape[1]
                if not xw.numel():  # an empty batch: empty outputs, still in the graph
                    joined = xw.sum() * 0  # (0, carrying the weights' requires_grad)
                    outs.append(x.new_zeros((steps, n, s[0].shape[-1])) + joined)
                    s = [v + joined for v in s]
                elif xw._data.dtype in _ONE_OP_DTYPES:
                    c0 = s[1] if len(s) > 1 else None
                    y = rnn_layer(self.mode, xw, s[0], c0, w_hh, b_hh, bool(d), w_hr)
                    last = 0 if d else steps - 1
                    if len(s) > 1:  # LSTM: y is every step's h, then every step's c, flat
                        size = steps * n * s[0].shape[-1]
                        hs = y[:size].view(steps, n, -1)
                        cs = y[size:].view(steps, n, -1)
                        if hs.grad_fn is not None:
                            hs.grad_fn.torch_name = "StackBackward0"  # (as the steps')
                        outs.append(hs)
                        s = [hs[last], cs[last]]
                    else:
                        outs.append(y)
                        s = [y[last]]
                else:  # (float16, bfloat16: the steps one by one, each op rounding as its own)
                    ys = []
                    for t in range(x.shape[0] - 1, -1, -1) if d else range(x.shape[0]):
                        s = self._step(xw[t], s, (w_hh, b_hh, w_hr))
                        ys.append(s[0])
                    if d:
                        ys.reverse()
                    outs.append(stack(ys, 0))
                for i, v in enumerate(s):
                    finals[i].append(v)
            x = outs[0] if directions == 1 else cat(outs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        return x, [stack(f, 0) for f in finals]

    def _run_packed(self, data: Tensor, batch_sizes: list, states: list) -> tuple:
        """The packed counterpart of _run: data (sum(lengths), H_in), its step t the rows
        offsets[t]:offsets[t] + batch_sizes[t]. Step t runs on the first batch_sizes[t]
        states only; the rest are finished (forward) or not yet started (reverse)."""
        directions = 2 if self.bidirectional else 1
        offsets = [0]
        for b in batch_sizes:
            offsets.append(offsets[-1] + b)
        finals: list = [[] for _ in states]
        x = data
        for layer in range(self.num_layers):
            outs = []
            for d in range(directions):
                k = layer * directions + d
                w_ih, w_hh, b_ih, b_hh, w_hr = self._weights(layer, d)
                w = (w_hh, b_hh, w_hr)
                xw = F.linear(x, w_ih, b_ih)  # (sum(lengths), G * H): every step's input term
                init = [st[k] for st in states]
                ys = []
                if d == 0:
                    s, done = init, []
                    for t, b in enumerate(batch_sizes):
                        if b < s[0].shape[0]:  # the sequences past b ended at step t - 1
                            done.append([v[b:] for v in s])
                            s = [v[:b] for v in s]
                        s = self._step(xw[offsets[t] : offsets[t + 1]], s, w)
                        ys.append(s[0])
                    # rows in batch order: the still-running ones, then those that ended
                    # later before those that ended earlier
                    ended = [s] + done[::-1]
                    s = [cat([e[i] for e in ended], 0) if done else s[i] for i in range(len(s))]
                else:
                    s = [v[:0] for v in init]
                    for t in range(len(batch_sizes) - 1, -1, -1):
                        b, have = batch_sizes[t], s[0].shape[0]
                        if b > have:  # sequences have..b-1 start here, from their h_0
                            s = [
                                cat([v, h0[have:b]], 0) if have else h0[:b]
                                for v, h0 in zip(s, init, strict=True)
                            ]
                        s = self._step(xw[offsets[t] : offsets[t + 1]], s, w)
                        ys.append(s[0])
                    ys.reverse()
                outs.append(cat(ys, 0))
                for i, v in enumerate(s):
                    finals[i].append(v)
            x = outs[0] if directions == 1 else cat(outs, 1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        return x, [stack(f, 0) for f in finals]

    def _forward_packed(self, packed: PackedSequence, hx: Any, n_states: int) -> tuple:
        """The forward of a PackedSequence: a PackedSequence out with the input's batch_sizes
        and indices; hx and the final states in the caller's batch order."""
        name = type(self).__name__
        data, batch_sizes, sorted_indices, unsorted_indices = packed
        if not isinstance(data, Tensor) or data.ndim != 2:
            got = data.ndim if isinstance(data, Tensor) else type(data).__name__
            raise RuntimeError(f"{name}: packed input data must have 2 dimensions, got {got}")
        self._check_input(data)
        bs = [int(b) for b in batch_sizes._data.tolist()]
        wants = self._state_shapes(bs[0] if bs else 0, n_states)
        if hx is None:
            states = [zeros(*want, dtype=data._data.dtype) for want in wants]
        else:
            given = _given_states(hx, n_states, name)
            states = []
            for i, h in enumerate(given):
                self._check_hidden(h, wants[i], "hidden" if n_states == 1 else f"hidden[{i}]")
                _check_state_dtype(h, data, name)
                # hx comes in the caller's order; the packed batch is sorted
                states.append(h if sorted_indices is None else h.index_select(1, sorted_indices))
        out, finals = self._run_packed(data, bs, states)
        if unsorted_indices is not None:
            finals = [f.index_select(1, unsorted_indices) for f in finals]
        return PackedSequence(out, batch_sizes, sorted_indices, unsorted_indices), finals

    def _forward(self, input: Tensor, hx: Any, n_states: int) -> tuple:
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx, n_states)
        batched = self._check_input(input)
        directions = 2 if self.bidirectional else 1
        x = input if batched else input.unsqueeze(1)
        if self.batch_first and batched:
            x = x.transpose(0, 1)
        if x.shape[0] == 0:  # (PyTorch's check; an empty batch is fine)
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
        n = x.shape[1]
        wants = self._state_shapes(n, n_states)
        if hx is None:
            states = [zeros(*want, dtype=x._data.dtype) for want in wants]
        else:
            given = _given_states(hx, n_states, type(self).__name__, batched)
            states = []
            for i, h in enumerate(given):
                which = "hidden" if n_states == 1 else f"hidden[{i}]"
                if batched:
                    self._check_hidden(h, wants[i], which)
                else:
                    self._check_hidden(h, (wants[i][0], wants[i][2]), which)
                    h = h.unsqueeze(1)
                _check_state_dtype(h, x, type(self).__name__)
                states.append(h)
        out, finals = self._run(x, states)
        if (
            out.grad_fn is not None
            and n_states == 2
            and directions == 1
            and out.numel()
            and not self.proj_size
        ):
            # PyTorch's CPU build runs a float32 (or bfloat16) LSTM through oneDNN (but not
            # one with projections): its output's grad_fn prints as this (what the
            # sequence-models tutorial shows)
            if _dtype.dtype_name(out._data.dtype).endswith(("float32", "bfloat16")):
                out.grad_fn.torch_name = "MkldnnRnnLayerBackward0"
        if self.batch_first and batched:
            out = out.transpose(0, 1)
            if out.grad_fn is not None and n_states == 1:
                # RNN and GRU transpose their output in place in PyTorch (transpose_)
                out.grad_fn.torch_name = "TransposeBackward1"
        if not batched:
            out = out.squeeze(1)
            finals = [f.squeeze(1) for f in finals]
        return out, finals


def _no_projection(kwargs: dict) -> None:
    if "proj_size" in kwargs:  # (PyTorch refuses the argument itself, even 0)
        raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")


class RNN(RNNBase):
    """Elman RNN: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act 'tanh' or 'relu'.
    Returns (output, h_n)."""

    def __init__(self, *args: Any, nonlinearity: str = "tanh", **kwargs: Any) -> None:
        if len(args) > 3:  # PyTorch's positional order: ..., num_layers, nonlinearity, bias, ...
            nonlinearity, args = args[3], args[:3] + args[4:]
        if nonlinearity not in ("tanh", "relu"):
            raise TensorValueError(
                f"RNN: unknown nonlinearity {nonlinearity!r} (expected 'tanh' or 'relu')"
            )
        _no_projection(kwargs)
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", *args, **kwargs)

    def _step(self, xw: Tensor, s: list, w: tuple) -> list:
        return [rnn_step(xw, s[0], w[0], w[1], self.nonlinearity == "relu")]

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple:
        out, (h,) = self._forward(input, hx, 1)
        return out, h


class LSTM(RNNBase):
    """Long short-term memory. Returns (output, (h_n, c_n)). With proj_size P > 0, each
    h_t is projected, h_t = (o * tanh(c_t)) W_hr^T (weight_hr_l{k}: (P, hidden_size)), so
    output and h_n have P features and c_n keeps hidden_size."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__("LSTM", *args, **kwargs)

    def _step(self, xw: Tensor, s: list, w: tuple) -> list:
        return list(lstm_step(xw, s[0], s[1], *w))

    def forward(self, input: Tensor, hx: Any = None) -> tuple:
        out, (h, c) = self._forward(input, hx, 2)
        return out, (h, c)


class GRU(RNNBase):
    """Gated recurrent unit. Returns (output, h_n)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _no_projection(kwargs)
        super().__init__("GRU", *args, **kwargs)

    def _step(self, xw: Tensor, s: list, w: tuple) -> list:
        return [gru_step(xw, s[0], w[0], w[1])]

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple:
        out, (h,) = self._forward(input, hx, 1)
        return out, h


class RNNCellBase(Module):
    """One time step: weight_ih (G * hidden, input), weight_hh (G * hidden, hidden), biases
    (G * hidden,); input (N, H_in) or unbatched (H_in,)."""

    __constants__ = ["input_size", "hidden_size", "bias"]

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool,
        gates: int,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        for n, v in (("input_size", input_size), ("hidden_size", hidden_size)):
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise TensorValueError(f"{name}: {n} must be a positive integer, got {v!r}")
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bool(bias)
        dt = _factory_dtype(device, dtype, f"{name}()")
        self.weight_ih = Parameter(empty(gates * hidden_size, input_size, dtype=dt))
        self.weight_hh = Parameter(empty(gates * hidden_size, hidden_size, dtype=dt))
        if bias:
            self.bias_ih = Parameter(empty(gates * hidden_size, dtype=dt))
            self.bias_hh = Parameter(empty(gates * hidden_size, dtype=dt))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _prepare(self, input: Any, hx: Any, n_states: int) -> tuple:
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
        if input.ndim not in (1, 2):
            raise TensorValueError(
                f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead"
            )
        if input.shape[-1] != self.input_size:
            raise RuntimeError(
                f"{name}: input has inconsistent input_size: got {input.shape[-1]} expected "
                f"{self.input_size}"
            )
        _check_dtype(input, self.weight_ih, name)
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        want = (x.shape[0], self.hidden_size)
        if hx is None:
            states = [zeros(*want, dtype=x._data.dtype) for _ in range(n_states)]
        else:
            if n_states > 1 and not isinstance(hx, tuple | list):  # (PyTorch's lstm_cell)
                raise TypeError(
                    f"lstm_cell(): argument 'hx' (position 2) must be tuple of Tensors, not "
                    f"{type(hx).__name__}"
                )
            if n_states > 1 and len(hx) != n_states:
                raise RuntimeError(f"lstm_cell expects two hidden states, got {len(hx)}")
            states = list(hx) if n_states > 1 else [hx]
            for i, h in enumerate(states):
                shape = tuple(h.shape) if isinstance(h, Tensor) else None
                if shape != (want if batched else want[1:]):
                    raise RuntimeError(
                        f"{name}: hidden state {i} has shape {shape}, expected "
                        f"{want if batched else want[1:]}"
                    )
                _check_state_dtype(h, x, name)
            if not batched:
                states = [h.unsqueeze(0) for h in states]
        return x, states, batched

    def _input_term(self, x: Tensor) -> Tensor:
        """x W_ih^T + b_ih (N, G * H): the input's share of the gates (see rnn_step)."""
        return F.linear(x, self.weight_ih, self.bias_ih)


class RNNCell(RNNCellBase):
    __constants__ = ["input_size", "hidden_size", "bias", "nonlinearity"]

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise TensorValueError(
                f"RNNCell: unknown nonlinearity {nonlinearity!r} (expected 'tanh' or 'relu')"
            )
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), batched = self._prepare(input, hx, 1)
        h = rnn_step(
            self._input_term(x), h, self.weight_hh, self.bias_hh, self.nonlinearity == "relu"
        )
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: Any = None) -> tuple:
        x, (h, c), batched = self._prepare(input, hx, 2)
        h, c = lstm_step(self._input_term(x), h, c, self.weight_hh, self.bias_hh)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), batched = self._prepare(input, hx, 1)
        h = gru_step(self._input_term(x), h, self.weight_hh, self.bias_hh)
        return h if batched else h.squeeze(0)
