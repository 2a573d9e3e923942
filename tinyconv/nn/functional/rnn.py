"""Recurrent layers' time steps, and one layer's whole sequence as a single op.

The steps (`rnn_step`, `lstm_step`, `gru_step`) are the plain definitions, written in
differentiable Tensor ops: nn.RNNCell, LSTMCell and GRUCell use them as they are, and their
backward and double backward come from those ops.

Run that way over a sequence, an LSTM step is about a dozen graph nodes, and at the sizes
people train (hidden 32-256, batch 1-64) the Python cost of the nodes outweighs the
arithmetic. `rnn_layer` (a speed path, used by nn.RNN, LSTM and GRU) runs one layer and
direction over the whole sequence as one op:

- forward is the same step, once per time step, on NumPy arrays;
- backward walks the steps in reverse (backpropagation through time): at step t the
  gradient reaching h_t (from the output and from step t + 1) goes back through the gates
  to x W_ih^T (the input term, every step's at once), to h_{t-1} (times W_hh) and, for an
  LSTM, to c_{t-1} (times the forget gate). W_hh's gradient, a sum over the steps of
  d(gates)_t^T h_{t-1}, is one GEMM over all of them.

Both directions are written once, for arrays and for Tensors alike (`_ARRAYS`, `_TENSORS`
give the few functions that differ), so double backward runs the same steps as Tensor ops.
tests/test_rnn.py checks the op equal to the step-by-step path.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from ...autograd.ops import Op, _zero_where, sigmoid_array, tanh_array
from ...kernels import threads
from ...tensor import Tensor
from ...torch_functions import cat, stack
from .linear import linear

# gate blocks per mode, in PyTorch's order (LSTM: i, f, g, o; GRU: r, z, n)
GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def rnn_step(xw: Tensor, h: Tensor, w_hh: Tensor, b_hh: Any, relu: bool) -> Tensor:
    """h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh), act tanh or relu. xw (N, H), h (N, H):
    the input term xw is given already multiplied out (it does not depend on h)."""
    pre = xw + linear(h, w_hh, b_hh)
    return pre.relu() if relu else pre.tanh()


def lstm_step(xw: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh: Any, w_hr: Any = None) -> tuple:
    """(h', c'): gates i, f, g, o from one product each of x and h; c' = f c + i g,
    h' = o tanh(c') (projected, h' W_hr^T, when w_hr (P, H) is given). xw (N, 4H)."""
    gates = xw + linear(h, w_hh, b_hh)
    i, f, g, o = gates.chunk(4, 1)
    c2 = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h2 = o.sigmoid() * c2.tanh()
    return (h2 if w_hr is None else linear(h2, w_hr)), c2


def gru_step(xw: Tensor, h: Tensor, w_hh: Tensor, b_hh: Any) -> Tensor:
    """h' = (1 - z) n + z h with r = s(x_r + h_r), z = s(x_z + h_z), n = tanh(x_n + r h_n)
    (the reset gate multiplies h's part of n, bias included, as PyTorch). xw (N, 3H)."""
    x_r, x_z, x_n = xw.chunk(3, 1)
    h_r, h_z, h_n = linear(h, w_hh, b_hh).chunk(3, 1)
    r = (x_r + h_r).sigmoid()
    z = (x_z + h_z).sigmoid()
    n = (x_n + r * h_n).tanh()
    return (1 - z) * n + z * h


# -- the whole sequence as one op -------------------------------------------------------


def _hidden_term_array(h: np.ndarray, w_hh_t: np.ndarray, b_hh: Any) -> np.ndarray:
    """h W_hh^T + b_hh, given W_hh^T as a contiguous copy: OpenBLAS multiplies by a
    transposed view 1.7x slower at these sizes ((20, 128) @ (128, 512): 130-150 against
    75 us), and the copy is made once per sequence, not once per step."""
    y = threads.matmul(h, w_hh_t)
    if b_hh is not None:
        y += b_hh
    return y


_ARRAYS = SimpleNamespace(
    hidden_term=_hidden_term_array,
    project=threads.matmul,  # (by W_hr^T, a contiguous copy as W_hh^T's)
    sigmoid=sigmoid_array,
    tanh=tanh_array,
    relu=lambda a: _zero_where(a < 0, a),  # Relu's forward: NaN and -0.0 kept
    # Relu's backward: stopped where the output is <= 0, passed elsewhere (NaN included)
    relu_backward=lambda h, grad: _zero_where(h <= 0, grad),
    cat=np.concatenate,
    stack=np.stack,
    matmul=threads.matmul,
)

_TENSORS = SimpleNamespace(
    hidden_term=linear,
    project=linear,
    sigmoid=Tensor.sigmoid,
    tanh=Tensor.tanh,
    relu=Tensor.relu,
    relu_backward=lambda h, grad: grad.masked_fill(h <= 0, 0),
    cat=cat,
    stack=stack,
    matmul=lambda a, b: a @ b,
)


def _run_steps(ops: Any, mode: str, reverse: bool, xw, h0, c0, w, b_hh, w_hr) -> tuple:
    """The steps over time: (steps, hs, cs), each a list indexed by time step. steps[t] is
    what step t's backward needs, ending with h_{t-1}: LSTM (i, f, g, o, tanh(c_t), c_{t-1},
    o tanh(c_t), h_{t-1}); GRU (r, z, n, h_n, h_{t-1}); RNN (h_t, h_{t-1}). cs is empty but
    for an LSTM. w and w_hr (LSTM's projection, or None) as ops.hidden_term and ops.project
    take them."""
    length = xw.shape[0]
    size = xw.shape[-1] // GATES[mode]  # the hidden size H
    steps: list = [None] * length
    hs: list = [None] * length
    cs: list = [None] * length if mode == "LSTM" else []
    h, c = h0, c0
    for t in range(length - 1, -1, -1) if reverse else range(length):
        hid = ops.hidden_term(h, w, b_hh)
        if mode == "LSTM":
            gates = xw[t] + hid
            i = ops.sigmoid(gates[:, :size])
            f = ops.sigmoid(gates[:, size : 2 * size])
            g = ops.tanh(gates[:, 2 * size : 3 * size])
            o = ops.sigmoid(gates[:, 3 * size :])
            c_new = f * c + i * g
            tc = ops.tanh(c_new)
            h_new = o * tc
            steps[t] = (i, f, g, o, tc, c, h_new, h)
            h, c = h_new if w_hr is None else ops.project(h_new, w_hr), c_new
            cs[t] = c
        elif mode == "GRU":
            x, h_n = xw[t], hid[:, 2 * size :]
            r = ops.sigmoid(x[:, :size] + hid[:, :size])
            z = ops.sigmoid(x[:, size : 2 * size] + hid[:, size : 2 * size])
            n = ops.tanh(x[:, 2 * size :] + r * h_n)
            steps[t] = (r, z, n, h_n, h)
            h = (1 - z) * n + z * h
        else:
            pre = xw[t] + hid
            h_new = ops.relu(pre) if mode == "RNN_RELU" else ops.tanh(pre)
            steps[t] = (h_new, h)
            h = h_new
        hs[t] = h
    return steps, hs, cs


def _backward_through_time(
    ops: Any, mode: str, reverse: bool, grad, steps: list, w_hh, w_hr, need: tuple
) -> tuple:
    """Gradients (xw, h0, c0, w_hh, b_hh, w_hr) from grad, the gradient of the op's output
    (LSTM: of every h_t, then of every c_t, flat; else (L, N, H)), walking the steps in
    reverse."""
    length = len(steps)
    if mode == "LSTM":
        batch, size = steps[0][0].shape
        n_h = length * batch * w_hh.shape[1]
        grad_h = grad[:n_h].reshape(length, batch, -1)
        grad_c = grad[n_h:].reshape(length, batch, size)
    else:
        grad_h = grad
    d_input: list = [None] * length  # d xw_t: the gradient of step t's input term
    d_hidden: list = [None] * length  # d (h_{t-1} W_hh^T + b_hh) at step t
    d_projected: list = [None] * length  # LSTM with a projection: d h_t, h_t = W_hr (o tc)
    dh = dc = None
    for t in range(length) if reverse else range(length - 1, -1, -1):
        dh = grad_h[t] if dh is None else dh + grad_h[t]  # from the output and step t + 1
        if mode == "LSTM":
            i, f, g, o, tc, c_prev, _, _ = steps[t]
            if w_hr is not None:
                d_projected[t] = dh
                dh = ops.matmul(dh, w_hr)
            # c_t reaches the loss through the output, step t + 1 and h_t = o tanh(c_t)
            dc = grad_c[t] if dc is None else dc + grad_c[t]
            dc = dc + dh * o * (1 - tc * tc)
            d = ops.cat(
                [
                    dc * g * i * (1 - i),  # c_t = f c_{t-1} + i g; s' = s (1 - s)
                    dc * c_prev * f * (1 - f),
                    dc * i * (1 - g * g),  # tanh' = 1 - tanh^2
                    dh * tc * o * (1 - o),
                ],
                1,
            )
            d_input[t] = d_hidden[t] = d
            dc = dc * f
            dh = ops.matmul(d, w_hh)
        elif mode == "GRU":
            r, z, n, h_n, h_prev = steps[t]
            dn = dh * (1 - z) * (1 - n * n)  # h_t = (1 - z) n + z h_{t-1}, n = tanh(...)
            dz = dh * (h_prev - n) * z * (1 - z)
            dr = dn * h_n * r * (1 - r)  # n's argument is x_n + r h_n
            d_input[t] = ops.cat([dr, dz, dn], 1)
            d_hidden[t] = ops.cat([dr, dz, dn * r], 1)
            dh = dh * z + ops.matmul(d_hidden[t], w_hh)
        else:
            h, _ = steps[t]
            d = ops.relu_backward(h, dh) if mode == "RNN_RELU" else dh * (1 - h * h)
            d_input[t] = d_hidden[t] = d
            dh = ops.matmul(d, w_hh)
    gw = gb = g_hr = None
    if need[3] or need[4]:
        d_all = ops.stack(d_hidden, 0).reshape(-1, w_hh.shape[0])  # (L * N, G * H)
        if need[3]:
            h_prev = ops.stack([s[-1] for s in steps], 0).reshape(-1, w_hh.shape[1])
            gw = ops.matmul(d_all.transpose(1, 0), h_prev)  # sum over t of d_t^T h_{t-1}
        if need[4]:
            gb = d_all.sum(0)
    if w_hr is not None and need[5]:  # sum over t of (d h_t)^T (o tc)_t
        d_proj = ops.stack(d_projected, 0).reshape(-1, w_hr.shape[0])
        unprojected = ops.stack([s[-2] for s in steps], 0).reshape(-1, w_hr.shape[1])
        g_hr = ops.matmul(d_proj.transpose(1, 0), unprojected)
    gx = ops.stack(d_input, 0) if need[0] else None
    return gx, dh if need[1] else None, dc if need[2] else None, gw, gb, g_hr


class RnnLayer(Op):
    """One layer and direction of nn.RNN / LSTM / GRU over a whole sequence (see the top)."""

    torch_name = "StackBackward0"  # (PyTorch's CPU RNN and GRU stack their steps' outputs)
    next_functions_count = 6

    @staticmethod
    def forward(ctx, xw, h0, c0, w_hh, b_hh, w_hr, mode, reverse):
        w_t = np.ascontiguousarray(w_hh.T)
        w_hr_t = None if w_hr is None else np.ascontiguousarray(w_hr.T)
        steps, hs, cs = _run_steps(_ARRAYS, mode, reverse, xw, h0, c0, w_t, b_hh, w_hr_t)
        ctx.mode, ctx.reverse = mode, reverse
        # (xw and b_hh only for double backward, which runs the steps again; the steps' arrays
        # are saved as a constant, as other ops save a mask, so backward frees them too)
        ctx.save_for_backward(xw, h0, c0, w_hh, b_hh, w_hr, steps)
        if mode == "LSTM":  # every h_t, then every c_t (h_t has proj_size features, if any)
            return np.concatenate([np.stack(hs).reshape(-1), np.stack(cs).reshape(-1)])
        return np.stack(hs)

    @staticmethod
    def backward(ctx, grad):
        _, _, _, w_hh, _, w_hr, steps = ctx.saved_tensors
        need = ctx.needs_input_grad
        grads = _backward_through_time(
            _ARRAYS, ctx.mode, ctx.reverse, grad, steps, w_hh, w_hr, need
        )
        return grads + (None, None)

    @staticmethod
    def graph_backward(ctx, grad):
        # the steps again as Tensor ops from the inputs (wired into the graph), so the
        # gradients they give carry the inputs' graphs
        xw, h0, c0, w_hh, b_hh, w_hr, _ = ctx.saved_tensors
        mode, reverse, need = ctx.mode, ctx.reverse, ctx.needs_input_grad
        steps, _, _ = _run_steps(_TENSORS, mode, reverse, xw, h0, c0, w_hh, b_hh, w_hr)
        grads = _backward_through_time(_TENSORS, mode, reverse, grad, steps, w_hh, w_hr, need)
        return grads + (None, None)


def rnn_layer(
    mode: str,
    xw: Tensor,
    h0: Tensor,
    c0: Tensor | None,
    w_hh: Tensor,
    b_hh: Tensor | None,
    reverse: bool,
    w_hr: Tensor | None = None,
) -> Tensor:
    """One layer and direction over a sequence: xw (L, N, G * H) the input terms
    x_t W_ih^T + b_ih; h0 (N, H_out) and c0 (N, H) the initial states (c0 None unless mode
    is 'LSTM'); w_hh (G * H, H_out), b_hh (G * H,) or None; w_hr (P, H), an LSTM's
    projection (H_out = P), or None (H_out = H). reverse runs from the last step to the
    first. Returns every step's h_t, (L, N, H_out); for an LSTM every h_t and then every
    c_t, flat (L * N * H_out + L * N * H,)."""
    return RnnLayer.apply(xw, h0, c0, w_hh, b_hh, w_hr, mode, reverse)
