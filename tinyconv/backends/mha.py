"""`tinyconv.backends.mha`: the switch of nn.MultiheadAttention's inference fast path. tinyconv
has one path, so the switch is recorded only."""

_fastpath = [True]


def get_fastpath_enabled() -> bool:
    return _fastpath[0]


def set_fastpath_enabled(value: bool) -> None:
    _fastpath[0] = bool(value)
