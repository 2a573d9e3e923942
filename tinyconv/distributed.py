"""`tinyconv.distributed`: torch.distributed for one process.

Training scripts written for several processes guard their distributed code with
`dist.is_initialized()` or launch it with `torchrun`. tinyconv runs in one process, so a
process group here has world size 1 (rank 0); `init_process_group` with a larger world size
raises `NotImplementedError`. In a group of one every collective leaves its data as it is
(a sum or mean over one rank is that rank's tensor; a gather collects the one tensor), which
is what PyTorch's gloo backend computes with a world size of 1.
"""

from __future__ import annotations

import enum
import os
from typing import Any

from . import _process_group
from .tensor import Tensor

__all__ = [
    "ReduceOp",
    "Work",
    "all_gather",
    "all_gather_object",
    "all_reduce",
    "barrier",
    "broadcast",
    "broadcast_object_list",
    "destroy_process_group",
    "gather",
    "get_backend",
    "get_rank",
    "get_world_size",
    "init_process_group",
    "is_available",
    "is_gloo_available",
    "is_initialized",
    "is_mpi_available",
    "is_nccl_available",
    "is_torchelastic_launched",
    "reduce",
    "scatter",
]


class ReduceOp(enum.Enum):
    """The reductions of all_reduce / reduce (PyTorch's names and values)."""

    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7
    PREMUL_SUM = 8
    UNUSED = 9

    def __repr__(self) -> str:
        return f"<RedOpType.{self.name}: {self.value}>"

    def __str__(self) -> str:
        return f"RedOpType.{self.name}"


class Work:
    """What an `async_op=True` collective returns: already complete in one process."""

    def wait(self, timeout: Any = None) -> bool:
        return True

    def is_completed(self) -> bool:
        return True

    def is_success(self) -> bool:
        return True


def is_available() -> bool:
    return True


def is_gloo_available() -> bool:
    return True


def is_nccl_available() -> bool:
    return False


def is_mpi_available() -> bool:
    return False


def is_torchelastic_launched() -> bool:
    return os.environ.get("TORCHELASTIC_RUN_ID") is not None


def is_initialized() -> bool:
    return bool(_process_group.DEFAULT)


def _from_env(name: str, given: int) -> int:
    if given != -1:
        return int(given)
    if name not in os.environ:
        raise ValueError(
            "Error initializing torch.distributed using env:// rendezvous: environment "
            f"variable {name} expected, but not set"
        )
    return int(os.environ[name])


def init_process_group(
    backend: str | None = None,
    init_method: str | None = None,
    timeout: Any = None,
    world_size: int = -1,
    rank: int = -1,
    store: Any = None,
    group_name: str = "",
    pg_options: Any = None,
    device_id: Any = None,
) -> None:
    """Make the default group: world size and rank from the arguments, else from the
    environment (`WORLD_SIZE`, `RANK`, as torchrun sets them). Only a world size of 1 runs."""
    if _process_group.DEFAULT:
        raise ValueError("trying to initialize the default process group twice!")
    name = "gloo" if backend is None else str(backend).lower()
    if name == "nccl":
        raise RuntimeError("Distributed package doesn't have NCCL built in")
    if name == "mpi":
        raise RuntimeError("Distributed package doesn't have MPI built in")
    if name not in ("gloo", "cpu:gloo"):
        raise ValueError(f"Invalid backend: '{backend}'")
    if store is None and (init_method is None or init_method.startswith("env://")):
        rank = _from_env("RANK", rank)
        world_size = _from_env("WORLD_SIZE", world_size)
    if world_size != 1 or rank not in (0, -1):
        raise NotImplementedError(
            "init_process_group: tinyconv runs in one process, so the world size must be 1 "
            f"(got world_size={world_size}, rank={rank})"
        )
    _process_group.DEFAULT.update(backend="gloo", rank=0, world_size=1)


def destroy_process_group(group: Any = None) -> None:
    _process_group.require_default()
    _process_group.DEFAULT.clear()


def get_rank(group: Any = None) -> int:
    return _process_group.require_default()["rank"]


def get_world_size(group: Any = None) -> int:
    return _process_group.require_default()["world_size"]


def get_backend(group: Any = None) -> str:
    return _process_group.require_default()["backend"]


def _done(async_op: bool) -> Work | None:
    _process_group.require_default()
    return Work() if async_op else None


def _check_tensor(tensor: Any, what: str) -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{what}: expected a Tensor, got {type(tensor).__name__}")


def _check_rank(rank: int, what: str) -> None:
    if rank != 0:
        raise ValueError(f"{what}: rank {rank} is not in the group (world size 1: rank 0)")


def barrier(group: Any = None, async_op: bool = False, device_ids: Any = None) -> Work | None:
    return _done(async_op)


def all_reduce(
    tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group: Any = None, async_op: bool = False
) -> Work | None:
    """Reduce `tensor` over the ranks in place: over one rank, it stays as it is."""
    _check_tensor(tensor, "all_reduce")
    return _done(async_op)


def reduce(
    tensor: Tensor,
    dst: int = 0,
    op: ReduceOp = ReduceOp.SUM,
    group: Any = None,
    async_op: bool = False,
) -> Work | None:
    _check_tensor(tensor, "reduce")
    _check_rank(dst, "reduce")
    return _done(async_op)


def broadcast(
    tensor: Tensor, src: int = 0, group: Any = None, async_op: bool = False
) -> Work | None:
    _check_tensor(tensor, "broadcast")
    _check_rank(src, "broadcast")
    return _done(async_op)


def _one_slot(items: list, what: str) -> None:
    if len(items) != 1:
        raise ValueError(f"{what}: expected a list of world size (1) entries, got {len(items)}")


def all_gather(
    tensor_list: list[Tensor], tensor: Tensor, group: Any = None, async_op: bool = False
) -> Work | None:
    """tensor_list[r] = rank r's tensor: the list holds one slot, which gets `tensor`."""
    _check_tensor(tensor, "all_gather")
    _one_slot(tensor_list, "all_gather")
    work = _done(async_op)
    tensor_list[0].copy_(tensor)
    return work


def gather(
    tensor: Tensor,
    gather_list: list[Tensor] | None = None,
    dst: int = 0,
    group: Any = None,
    async_op: bool = False,
) -> Work | None:
    _check_tensor(tensor, "gather")
    _check_rank(dst, "gather")
    work = _done(async_op)
    if gather_list is not None:
        _one_slot(gather_list, "gather")
        gather_list[0].copy_(tensor)
    return work


def scatter(
    tensor: Tensor,
    scatter_list: list[Tensor] | None = None,
    src: int = 0,
    group: Any = None,
    async_op: bool = False,
) -> Work | None:
    _check_tensor(tensor, "scatter")
    _check_rank(src, "scatter")
    work = _done(async_op)
    if scatter_list is not None:
        _one_slot(scatter_list, "scatter")
        tensor.copy_(scatter_list[0])
    return work


def all_gather_object(object_list: list, obj: Any, group: Any = None) -> None:
    _process_group.require_default()
    _one_slot(object_list, "all_gather_object")
    object_list[0] = obj


def broadcast_object_list(
    object_list: list, src: int = 0, group: Any = None, device: Any = None
) -> None:
    """Rank `src`'s objects for every rank: in one process, the list as it is."""
    _process_group.require_default()
    _check_rank(src, "broadcast_object_list")
