"""`tinyconv.backends.mha`: the switch of nn.MultiheadAttention's inference fast path. tinyconv
computes the same numbers either way; the switch decides only what PyTorch's fast path changes
(NaN, not zeros, for a query that may attend to nothing; see nn.MultiheadAttention)."""

from ..nn.layers_attention import FASTPATH_ENABLED


def get_fastpath_enabled() -> bool:
    return FASTPATH_ENABLED[0]


def set_fastpath_enabled(value: bool) -> None:
    FASTPATH_ENABLED[0] = bool(value)
