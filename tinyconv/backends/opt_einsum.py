"""`tinyconv.backends.opt_einsum`: the opt_einsum package does not choose tinyconv's
contraction order, so it reports itself unavailable (as PyTorch does when opt_einsum is not
installed): `enabled` False and `strategy` None."""

enabled = False
strategy = None


def is_available() -> bool:
    return False


def get_opt_einsum() -> None:
    return None
