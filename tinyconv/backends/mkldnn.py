"""`tinyconv.backends.mkldnn`: tinyconv is not built with it (NumPy's BLAS does the work), so
`is_available()` is False."""

enabled = True  # (recorded only, as PyTorch's switch)


def is_available() -> bool:
    return False
