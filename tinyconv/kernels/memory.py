"""Fresh memory: keep glibc's heap from handing back the step's memory after every step.

A new page costs a page fault the first time it is written (the kernel maps and zeroes
it): ~2.4 us per 4 KiB page on this KVM machine, so 1.2 ms for a fresh 2 MB array
against 0.06 ms for a reused one. NumPy takes its arrays' memory from malloc, and glibc's
malloc serves big requests with mmap (fresh pages every time) up to a threshold it raises
as big blocks are freed: to the size of the biggest freed one, and it returns ("trims")
free memory at the top of the heap to the system once more than twice that is free. A
training step keeps its activations until backward and frees them all at the end. With
tensors of 2 MB, the residual block's (16, 32, 32, 32), the threshold stayed near 2 MB,
so every step's ~20 MB were handed back at its end and faulted in again in the next:
3040-3170 page faults and 6.6-8.1 ms of system time a step, in a process running
tinyconv alone (PyTorch in the same process hid it: its own frees of big blocks raise the
threshold, the benchmark's ratio never showed it).

``prime_heap`` frees one block of ``_PRIME_BYTES`` right away, as any program that frees
a big array does: glibc then takes allocations below 16 MB from its heap and keeps up to
32 MB free there (its documented dynamic threshold, ``mallopt(3)``). The residual block's
step, tinyconv alone, same machine, median of 25, processes run one after the other:
1 thread 37.5-41.7 -> 33.0-33.6 ms, 2 threads 31.7 -> 25.5 ms (page faults 3168 -> 0 a
step). c3 and ResNet-18, whose bigger arrays raised the threshold themselves, had no faults
before either. A ``MALLOC_MMAP_THRESHOLD_`` or ``MALLOC_TRIM_THRESHOLD_`` in the environment
turns glibc's dynamic threshold off, and then this changes nothing (the benchmark's memory
probes set one); other C libraries just allocate and free one block.
"""

from __future__ import annotations

import numpy as np

# 16 MB: below glibc's cap for its dynamic threshold (32 MB on 64-bit: a block of 32 MB
# or more leaves it where it was)
_PRIME_BYTES = 16 << 20


def prime_heap() -> None:
    """Allocate and free one ``_PRIME_BYTES`` block (see the module docstring)."""
    np.empty(_PRIME_BYTES, np.uint8)  # (freed at once: nothing holds it)
