"""`tinyconv.backends.cpu`: which vector instructions the CPU offers."""

from __future__ import annotations


def get_cpu_capability() -> str:
    """'AVX512', 'AVX2' or 'DEFAULT' (PyTorch's names), from the features NumPy detected."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # NumPy < 2
        from numpy.core._multiarray_umath import __cpu_features__ as features
    if all(features.get(f, False) for f in ("AVX512F", "AVX512BW", "AVX512VL", "AVX512DQ")):
        return "AVX512"
    if features.get("AVX2", False) and features.get("FMA3", False):
        return "AVX2"
    return "DEFAULT"
