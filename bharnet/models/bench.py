"""Speed and memory of models on one input (``bharnet bench``): inference and training throughput, peak memory,
and a plain matmul's FLOP/s as the machine's yardstick. Every model is measured by the same
:class:`Bench`, so figures from one run compare; CTR-GCN's own code joins through :class:`ReferenceCTRGCN`."""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from bharnet.errors import ConfigError
from bharnet.models.losses import BodyHandLoss, LossConfig

# the reference code sits beside the repository, never inside it (see its README)
DEFAULT_REFERENCE = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "ctrgcn"


class ReferenceCTRGCN(nn.Module):
    """CTR-GCN's own model (Chen et al. 2021) behind our model interface: it reads the body only and returns
    ``{'fused': log-probabilities}``, so the same bench and loss measure it."""

    auxiliary_heads: tuple[str, ...] = ()

    def __init__(self, folder: Path, num_classes: int = 60, joints: int = 25, persons: int = 2):
        super().__init__()
        if not (folder / "model" / "ctrgcn.py").is_file():
            raise ConfigError(f"{folder}: no CTR-GCN reference code (model/ctrgcn.py) there")
        # the reference loads its graph by dotted name, so its folder must be importable; only at run time
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
        model_class = importlib.import_module("model.ctrgcn").Model
        self.model = model_class(num_class=num_classes, num_point=joints, num_person=persons,
                                 graph="graph.ntu_rgb_d.Graph", graph_args={"labeling_mode": "spatial"})

    def forward(self, body: torch.Tensor, hands: torch.Tensor, body_mask: torch.Tensor | None = None,
                hand_mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        return {"fused": F.log_softmax(self.model(body), -1)}


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass
class Bench:
    """``threads``: CPU threads while measuring (also on CUDA, for the host side); ``repeats``: timings taken
    after one warm-up call, of which the best counts (the least disturbed by other work on the machine)."""

    device: torch.device
    threads: int
    repeats: int = 5

    def best_seconds(self, step: Callable[[], object]) -> float:
        return min(self.rounds_in_turns([step], self.repeats)[0])

    def rounds_in_turns(self, steps: list[Callable[[], object]], rounds: int) -> list[list[float]]:
        """Seconds of each step in each round, timed in turns (every round calls each step once, after one
        warm-up round): on a machine whose speed drifts, every step meets the same drift, so their ratios hold.
        Each round starts one step further on (a rotation), so every step follows every other one equally often
        (what ran before a step, and left in cache and heap, changes its speed)."""
        previous = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            seconds: list[list[float]] = [[] for _ in steps]
            for round_ in range(rounds + 1):
                for index in ((round_ + i) % len(steps) for i in range(len(steps))):
                    step = steps[index]
                    start = time.perf_counter()
                    step()
                    synchronize(self.device)
                    if round_:  # round 0 warms up
                        seconds[index].append(time.perf_counter() - start)
            return seconds
        finally:
            torch.set_num_threads(previous)

    def inputs(self, example: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        return tuple(x.to(self.device) for x in example)

    def inference(self, model: Callable, inputs: tuple[torch.Tensor, ...]) -> float:
        """Samples/s of ``model(*inputs)`` in inference mode (the caller puts a module in eval mode)."""
        with torch.inference_mode():
            return inputs[0].shape[0] / self.best_seconds(lambda: model(*inputs))

    def training_step(self, model: nn.Module, inputs: tuple[torch.Tensor, ...]) -> Callable[[], None]:
        """One SGD step (forward, the ensemble loss, backward, Nesterov momentum update) in train mode."""
        model.train()
        loss_fn = BodyHandLoss(LossConfig(), model.auxiliary_heads)
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, nesterov=True)
        classes = model(*inputs)["fused"].shape[1]
        target = torch.arange(inputs[0].shape[0], device=self.device) % classes

        def step() -> None:
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(*inputs), target).backward()
            optimizer.step()

        return step

    def training(self, step: Callable[[], None], batch: int) -> float:
        return batch / self.best_seconds(step)

    def peak_bytes(self, step: Callable[[], object]) -> int:
        """Peak memory allocated by torch during one ``step`` above what was allocated before it (model
        weights, and optimizer state that already exists, excluded). CUDA: the caching allocator's peak.
        CPU: the running sum of the memory that torch.profiler attributes to each operator, in time order
        (process RSS cannot be reset, and tracemalloc does not see torch's allocations)."""
        torch.set_num_threads(self.threads)
        if self.device.type == "cuda":
            synchronize(self.device)
            before = torch.cuda.memory_allocated(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            step()
            synchronize(self.device)
            return torch.cuda.max_memory_allocated(self.device) - before
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as prof:
            step()
        # each operator carries the memory it allocated net of what it freed (its own, children excluded);
        # frees outside any operator come as "[memory]" events
        live = peak = 0
        for event in sorted(prof.events(), key=lambda e: e.time_range.start):
            live += event.self_cpu_memory_usage
            peak = max(peak, live)
        return peak


def matmul_flops(bench: Bench, size: int = 1024, dtype: torch.dtype = torch.float32) -> float:
    """FLOP/s of a plain (size x size) @ (size x size) matmul in ``dtype``: what the machine can do at best."""
    generator = torch.Generator().manual_seed(0)
    a, b = (torch.randn(size, size, generator=generator).to(bench.device, dtype) for _ in range(2))
    return 2 * size**3 / bench.best_seconds(lambda: a @ b)
