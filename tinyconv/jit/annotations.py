"""torch.jit.annotations: the type names TorchScript code imports from here.

torchvision's roi_align/roi_pool sign their arguments as ``BroadcastingList2[int]`` (an int
or a pair); tinyconv runs eagerly, so these are plain typing aliases for annotations only.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple  # noqa: UP035 (the names TorchScript code imports)

BroadcastingList1 = list
BroadcastingList2 = list
BroadcastingList3 = list

__all__ = [
    "BroadcastingList1",
    "BroadcastingList2",
    "BroadcastingList3",
    "Dict",
    "List",
    "Optional",
    "Tuple",
]
