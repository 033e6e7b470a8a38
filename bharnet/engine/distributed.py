"""One process or many (torchrun): rank, world size, and the few collective steps the trainer needs."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class ProcessGroup:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def init_from_environment(device_kind: str) -> ProcessGroup:
    """Under torchrun (WORLD_SIZE > 1) joins the process group: NCCL on CUDA, gloo on CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return ProcessGroup()
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device_kind == "cuda" else "gloo")
    return ProcessGroup(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def gather_arrays(group: ProcessGroup, arrays: dict) -> list[dict]:
    """Every rank's ``arrays`` (numpy), on every rank."""
    if not group.distributed:
        return [arrays]
    out: list = [None] * group.world_size
    dist.all_gather_object(out, arrays)
    return out


def broadcast_buffers(group: ProcessGroup, model: torch.nn.Module) -> None:
    """Rank 0's BatchNorm statistics everywhere, so every shard is scored by the same model."""
    if group.distributed:
        for buffer in model.buffers():
            dist.broadcast(buffer, 0)


def barrier(group: ProcessGroup) -> None:
    if group.distributed:
        dist.barrier()


def shutdown(group: ProcessGroup) -> None:
    if group.distributed and dist.is_initialized():
        dist.destroy_process_group()


def resolve_device(name: str, group: ProcessGroup | None = None) -> torch.device:
    """``auto``: CUDA when present (one GPU per local rank), else CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", group.local_rank if group else 0)
    return device
