"""Connectionist temporal classification (CTC): the loss of a label sequence given per-frame
class log-probabilities, summed over every alignment, and its gradient. Pure NumPy, in log
space, vectorised over the batch and the label positions; the only loop runs over time.

The math (Graves et al., 2006), for one sample with log-probabilities lp[t, c] (t < T, the
sample's input length) and target l = (l_1, ..., l_L):

- The *extended* label sequence puts a blank before, between and after the labels:
  l' = (b, l_1, b, l_2, ..., b, l_L, b), of length 2L + 1; position s is a blank when s is
  even and the label l_{(s+1)/2} when s is odd.
- An alignment is a path pi over t = 0..T-1 through the positions of l' that starts at
  s = 0 or 1, ends at s = 2L or 2L - 1, and at each step stays, moves on by one, or skips
  a blank (s - 2 -> s) when s is a label that differs from the label at s - 2 (two equal
  labels in a row need a blank between them, or they would merge into one).
  p(l | x) = sum over alignments of prod_t exp(lp[t, l'_{pi_t}]).
- Forward variables: alpha_t(s) = log of the summed probability of the paths' prefixes
  that are at s at time t, emissions up to t included:
      alpha_{-1} = (0, -inf, -inf, ...)            (the empty prefix, before position 0)
      alpha_t(s) = lp[t, l'_s] + logsumexp(alpha_{t-1}(s), alpha_{t-1}(s-1),
                                           alpha_{t-1}(s-2) if the skip into s is allowed)
  and the loss is  -log p(l | x) = -logsumexp(alpha_{T-1}(2L), alpha_{T-1}(2L-1)).
  (With T = 0 this reads alpha_{-1}: a loss of -0 for an empty target, inf otherwise.)
- Backward variables: beta_t(s) = log of the summed probability of the paths' suffixes
  after time t given the path is at s at time t (emissions after t only):
      beta_{T-1}(s) = 0 for s in {2L, 2L-1}, -inf elsewhere
      beta_t(s) = logsumexp(lp[t+1, l'_s] + beta_{t+1}(s), lp[t+1, l'_{s+1}] +
                            beta_{t+1}(s+1), lp[t+1, l'_{s+2}] + beta_{t+1}(s+2) if allowed)
- So alpha_t(s) + beta_t(s) is the log-probability of the paths through s at time t, and
  gamma_t(s) = exp(alpha_t(s) + beta_t(s) + loss) the posterior of being at s at time t
  (it sums to 1 over s for each t). The posterior of class c at time t is
  gamma_t(c) = sum of gamma_t(s) over the positions s with l'_s = c.
- The gradient: each alignment's probability is a product with one factor exp(lp[t, c]) per
  frame, so d loss / d lp[t, c] = -gamma_t(c) exactly, for log_probs as free inputs.
  PyTorch's CTC backward returns exp(lp[t, c]) - gamma_t(c) instead: the gradient with
  respect to the *logits* when lp = log_softmax(logits) (the chain rule through
  log_softmax adds exp(lp) times the sum over classes of the upstream gradient, which is
  -sum_c gamma_t(c) = -1). Through a log_softmax the two give the same logits gradient
  (log_softmax's backward subtracts exp(lp) * sum_c g[t, c], and sum_c exp(lp) = 1), which is
  how CTC is used; tinyconv returns PyTorch's numbers. Frames t >= T get a zero gradient.

Non-finite cases, as PyTorch's: an impossible target (no alignment fits in T frames, e.g.
more labels than frames) has loss inf and a nan gradient on its frames t < T (PyTorch's
formula meets inf - inf there), and a class with lp = -inf on a frame t < T gets a nan
gradient for the same reason.
"""

from __future__ import annotations

import numpy as np


def _lse(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Elementwise log(exp(a) + exp(b) + exp(c)), stable; -inf where all three are -inf."""
    m = np.maximum(np.maximum(a, b), c)
    # shift by the max, but by 0 where the max is -inf (-inf - -inf would be nan)
    m = np.where(np.isneginf(m), 0, m)
    with np.errstate(divide="ignore"):  # log(0) = -inf: no path reaches this position
        return m + np.log(np.exp(a - m) + np.exp(b - m) + np.exp(c - m))


def _shift(x: np.ndarray, k: int) -> np.ndarray:
    """x moved k places along the last axis (right for k > 0, left for k < 0), -inf filled."""
    out = np.full_like(x, -np.inf)
    if k > 0:
        out[..., k:] = x[..., :-k]
    else:
        out[..., :k] = x[..., -k:]
    return out


def extended_labels(
    targets: np.ndarray, target_lengths: np.ndarray, blank: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The extended label sequences of a padded (N, S) target batch.

    Returns (labels (N, 2S+1) int64, valid (N, 2S+1) bool: s <= 2 L_n, skip (N, 2S+1) bool:
    the step s-2 -> s is allowed). Padding past a target's length is read as the blank.
    """
    N, S = targets.shape
    in_target = np.arange(S) < target_lengths[:, None]
    lab = np.full((N, 2 * S + 1), blank, dtype=np.int64)
    lab[:, 1::2] = np.where(in_target, targets, blank)
    valid = np.arange(2 * S + 1) <= 2 * target_lengths[:, None]
    skip = np.zeros((N, 2 * S + 1), dtype=bool)
    # odd s >= 3 (a label, not the first) whose label differs from the one two back
    skip[:, 3::2] = lab[:, 3::2] != lab[:, 1:-2:2]
    return lab, valid, skip


def ctc_alpha(
    log_probs: np.ndarray,
    targets: np.ndarray,
    input_lengths: np.ndarray,
    target_lengths: np.ndarray,
    blank: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The forward recursion. log_probs (T, N, C), targets padded (N, S), lengths (N,).

    Returns (loss (N,) = -log p(l | x), log_alpha (T+1, N, 2S+1)) with log_alpha[t+1] =
    alpha_t and log_alpha[0] = alpha_{-1}, the empty prefix.
    """
    T, N, _ = log_probs.shape
    lab, valid, skip = extended_labels(targets, target_lengths, blank)
    # lp_ext[t, n, s] = lp[t, n, l'_s], -inf past the target (so no path goes there)
    lp_ext = np.take_along_axis(log_probs, np.broadcast_to(lab, (T,) + lab.shape), axis=2)
    lp_ext = np.where(valid, lp_ext, -np.inf)
    alpha = np.full((T + 1,) + lab.shape, -np.inf, dtype=log_probs.dtype)
    alpha[0, :, 0] = 0.0
    for t in range(T):
        prev = alpha[t]
        from_skip = np.where(skip, _shift(prev, 2), -np.inf)
        alpha[t + 1] = lp_ext[t] + _lse(prev, _shift(prev, 1), from_skip)
    last = alpha[input_lengths, np.arange(N)]  # alpha_{T_n - 1} of each sample, (N, 2S+1)
    end = 2 * target_lengths
    at_end = last[np.arange(N), end]
    before_end = np.where(end > 0, last[np.arange(N), np.maximum(end - 1, 0)], -np.inf)
    loss = -_lse(at_end, before_end, np.full_like(at_end, -np.inf))
    return loss, alpha


def ctc_grad(
    log_probs: np.ndarray,
    targets: np.ndarray,
    input_lengths: np.ndarray,
    target_lengths: np.ndarray,
    blank: int,
    loss: np.ndarray,
    log_alpha: np.ndarray,
) -> np.ndarray:
    """PyTorch's gradient of each sample's loss w.r.t. log_probs: exp(lp) - gamma (see the
    module docstring), (T, N, C); zero on frames t >= input_lengths[n]. Runs the backward
    recursion (beta) from each sample's last frame."""
    T, N, C = log_probs.shape
    lab, valid, skip = extended_labels(targets, target_lengths, blank)
    lp_ext = np.take_along_axis(log_probs, np.broadcast_to(lab, (T,) + lab.shape), axis=2)
    lp_ext = np.where(valid, lp_ext, -np.inf)
    n_idx = np.arange(N)
    end = 2 * target_lengths
    beta_last = np.full(lab.shape, -np.inf, dtype=log_probs.dtype)
    beta_last[n_idx, end] = 0.0
    beta_last[n_idx[end > 0], end[end > 0] - 1] = 0.0
    skip_next = np.zeros_like(skip)  # may s go on to s + 2?
    skip_next[:, :-2] = skip[:, 2:]
    beta = np.full((T,) + lab.shape, -np.inf, dtype=log_probs.dtype)
    for t in range(T - 1, -1, -1):
        if t + 1 < T:
            nxt = lp_ext[t + 1] + beta[t + 1]  # (emission at t+1, then the rest)
            cur = _lse(nxt, _shift(nxt, -1), np.where(skip_next, _shift(nxt, -2), -np.inf))
        else:
            cur = beta_last
        # a sample's recursion starts at its own last frame; frames after it stay -inf
        cur = np.where((t == input_lengths - 1)[:, None], beta_last, cur)
        beta[t] = np.where((t < input_lengths)[:, None], cur, -np.inf)
    frames = np.arange(T)[:, None] < input_lengths  # (T, N): the frames each sample has
    possible = np.isfinite(loss)
    with np.errstate(invalid="ignore"):  # -inf + inf of an impossible sample: masked below
        log_post = log_alpha[1:] + beta + np.where(possible, loss, 0)[:, None]
    post = np.where(valid & frames[:, :, None] & possible[:, None], np.exp(log_post), 0)
    # gamma[t, n, c] = sum of post[t, n, s] over s with l'_s = c: a product with the one-hot
    # (N, 2S+1, C) matrix of the extended labels, batched over n
    onehot = (lab[:, :, None] == np.arange(C)).astype(log_probs.dtype)
    gamma = np.matmul(post.transpose(1, 0, 2), onehot).transpose(1, 0, 2)
    grad = np.where(frames[:, :, None], np.exp(log_probs) - gamma, 0)
    # PyTorch's nan: its exp(log(gamma * p) + loss - lp) meets inf - inf where the target is
    # impossible or lp = -inf (on the sample's frames)
    nan_at = frames[:, :, None] & (~possible[None, :, None] | np.isneginf(log_probs))
    return np.where(nan_at, np.nan, grad).astype(log_probs.dtype, copy=False)
