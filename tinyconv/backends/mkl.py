"""`tinyconv.backends.mkl`: tinyconv is not built with it (NumPy's BLAS does the work), so
`is_available()` is False."""


def is_available() -> bool:
    return False
