"""`tinyconv.backends.mps`: Apple's GPU is not available (older tutorials pick their device
with `torch.backends.mps.is_available()`)."""


def is_available() -> bool:
    return False


def is_built() -> bool:
    return False
