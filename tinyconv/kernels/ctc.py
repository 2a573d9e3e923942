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
- The gradient: each alignment's probability has one factor exp(lp[t, c]) per frame, so
  for log_probs as free inputs d loss / d lp[t, c] = -gamma_t(c). PyTorch's CTC backward
  returns exp(lp[t, c]) - gamma_t(c) instead, and so does tinyconv (PyTorch's numbers).
  The extra exp(lp) vanishes once the gradient flows on through log_softmax, which is how
  CTC is used: log_softmax's backward maps g to g - exp(lp) * sum_c g[t, c]; for
  g = -gamma (sum -1) and for g = exp(lp) - gamma (sum 0) both give the logits gradient
  exp(lp) - gamma. So PyTorch's log_probs gradient already is the logits gradient, and a
  finite-difference check of ctc_loss in raw log_probs differs from it by exp(lp)
  (tests/test_ctc_loss.py checks both). Frames t >= T get a zero gradient.

Non-finite cases, as PyTorch's: an impossible target (no alignment fits in T frames, e.g.
more labels than frames) has loss inf and a nan gradient on its frames t < T (PyTorch's
formula meets inf - inf there), and a class with lp = -inf on a frame t < T gets a nan
gradient for the same reason.
"""

from __future__ import annotations

import numpy as np


def _lse3(a, b, c, out, m, x) -> None:
    """out = log(exp(a) + exp(b) + exp(c)) elementwise, stable, -inf where all three are
    -inf; m and x are scratch arrays of out's shape (the recursions call this once per frame
    on small arrays, where the number of NumPy calls, not their size, sets the time)."""
    np.maximum(a, b, out=m)
    np.maximum(m, c, out=m)
    # shift by the max, but by a finite number where the max is -inf (-inf - -inf is nan)
    np.maximum(m, np.finfo(m.dtype).min, out=m)
    np.subtract(a, m, out=x)
    np.exp(x, out=out)
    np.subtract(b, m, out=x)
    np.exp(x, out=x)
    out += x
    np.subtract(c, m, out=x)
    np.exp(x, out=x)
    out += x
    np.log(out, out=out)  # log(0) = -inf where no path reaches (callers ignore the warning)
    out += m


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


def _emissions(log_probs: np.ndarray, lab: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """lp_ext[t, n, s] = lp[t, n, l'_s] (T, N, 2S+1), -inf past the target (no path goes
    there)."""
    T = log_probs.shape[0]
    lp_ext = np.take_along_axis(log_probs, np.broadcast_to(lab, (T,) + lab.shape), axis=2)
    return np.where(valid, lp_ext, -np.inf).astype(log_probs.dtype, copy=False)


def _additive(mask: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """0 where mask is True, -inf where False: added to a log-probability, it forbids."""
    return np.where(mask, 0, -np.inf).astype(dtype)


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
    dt = log_probs.dtype
    lab, valid, skip = extended_labels(targets, target_lengths, blank)
    W = lab.shape[1]
    lp_ext = _emissions(log_probs, lab, valid)
    skip_add = _additive(skip, dt)
    # two -inf columns in front of position 0, so that alpha_{t-1}(s-1) and alpha_{t-1}(s-2)
    # are slices of the same buffer
    buf = np.full((T + 1, N, W + 2), -np.inf, dtype=dt)
    buf[0, :, 2] = 0.0
    from_skip, m, x = (np.empty((N, W), dt) for _ in range(3))
    with np.errstate(divide="ignore"):
        for t in range(T):
            prev, out = buf[t], buf[t + 1, :, 2:]
            np.add(prev[:, :-2], skip_add, out=from_skip)
            _lse3(prev[:, 2:], prev[:, 1:-1], from_skip, out, m, x)
            out += lp_ext[t]
    alpha = buf[:, :, 2:]
    n_idx = np.arange(N)
    last = alpha[input_lengths, n_idx]  # alpha_{T_n - 1} of each sample, (N, 2S+1)
    end = 2 * target_lengths
    before_end = np.where(end > 0, last[n_idx, np.maximum(end - 1, 0)], -np.inf)
    loss = -np.logaddexp(last[n_idx, end], before_end)
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
    dt = log_probs.dtype
    lab, valid, skip = extended_labels(targets, target_lengths, blank)
    W = lab.shape[1]
    lp_ext = _emissions(log_probs, lab, valid)
    n_idx = np.arange(N)
    end = 2 * target_lengths
    beta_last = np.full((N, W), -np.inf, dtype=dt)
    beta_last[n_idx, end] = 0.0
    beta_last[n_idx[end > 0], end[end > 0] - 1] = 0.0
    skip_next = np.zeros_like(skip)  # may s go on to s + 2?
    skip_next[:, :-2] = skip[:, 2:]
    skip_next_add = _additive(skip_next, dt)
    ends_at = [np.nonzero(input_lengths == t + 1)[0] for t in range(T)]
    beta = np.full((T, N, W), -np.inf, dtype=dt)
    # emitted[t] = lp_ext[t] + beta_t, with two -inf columns after position 2S so that
    # positions s+1 and s+2 are slices; emitted[T] (after every sample's end) stays -inf
    emitted = np.full((T + 1, N, W + 2), -np.inf, dtype=dt)
    to_skip, m, x = (np.empty((N, W), dt) for _ in range(3))
    with np.errstate(divide="ignore"):
        for t in range(T - 1, -1, -1):
            nxt = emitted[t + 1]
            np.add(nxt[:, 2:], skip_next_add, out=to_skip)
            _lse3(nxt[:, :-2], nxt[:, 1:-1], to_skip, beta[t], m, x)
            # a sample's recursion starts at its own last frame (before it, beta[t + 1] and
            # so beta[t] are -inf)
            if ends_at[t].size:
                beta[t, ends_at[t]] = beta_last[ends_at[t]]
            np.add(beta[t], lp_ext[t], out=emitted[t, :, :-2])
    frames = np.arange(T)[:, None] < input_lengths  # (T, N): the frames each sample has
    possible = np.isfinite(loss)
    log_post = log_alpha[1:] + beta + np.where(possible, loss, 0)[:, None]
    post = np.where(valid & frames[:, :, None] & possible[:, None], np.exp(log_post), 0)
    # gamma[t, n, c] = sum of post[t, n, s] over s with l'_s = c: a product with the one-hot
    # (N, 2S+1, C) matrix of the extended labels, batched over n
    onehot = (lab[:, :, None] == np.arange(C)).astype(dt)
    gamma = np.matmul(post.transpose(1, 0, 2), onehot).transpose(1, 0, 2)
    grad = np.where(frames[:, :, None], np.exp(log_probs) - gamma, 0)
    # PyTorch's nan: its exp(log(gamma * p) + loss - lp) meets inf - inf where the target is
    # impossible or lp = -inf (on the sample's frames)
    nan_at = frames[:, :, None] & (~possible[None, :, None] | np.isneginf(log_probs))
    return np.where(nan_at, np.nan, grad).astype(dt, copy=False)
