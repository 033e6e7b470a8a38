"""Model size, compute and CPU speed, per stream and in total (``bharnet info``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from bharnet.models.baselines import SingleStream
from bharnet.models.bench import Bench
from bharnet.models.factory import InputSpec


def part_of(model: nn.Module, child: str) -> str:
    """Which stream a top-level child belongs to: body, hand, or the cross-stream attention."""
    if isinstance(model, SingleStream):
        return model.stream
    for stream in ("body", "hand"):
        if child == stream or child.startswith(stream + "_"):
            return stream
    return "cross-attention"


@dataclass
class ModelProfile:
    parameters: dict[str, int] = field(default_factory=dict)  # per part, and "total"
    macs: dict[str, float] = field(default_factory=dict)  # per sample
    samples_per_second: float | None = None


def profile_model(model: nn.Module, spec: InputSpec, frames: int = 64, speed_batch: int = 16,
                  threads: int | None = 2, repeats: int = 5) -> ModelProfile:
    """Parameters and MACs (torch.utils.flop_counter, one sample of ``frames`` frames; 1 MAC = 2 FLOPs),
    then CPU inference samples/s in eval mode at ``speed_batch`` with ``threads`` threads (best of
    ``repeats`` after a warm-up; None skips the timing)."""
    model = model.eval()
    out = ModelProfile()
    params: dict[str, int] = defaultdict(int)
    for name, p in model.named_parameters():
        params[part_of(model, name.split(".")[0])] += p.numel()
    out.parameters = {**params, "total": sum(params.values())}

    generator = torch.Generator().manual_seed(0)
    with torch.no_grad(), FlopCounterMode(display=False, depth=2) as counter:
        model(*spec.example(1, frames, generator))
    counts = {key: sum(c.values()) for key, c in counter.get_flop_counts().items()}
    recorded = set(counts) - {type(model).__name__, "Global"}
    macs: dict[str, float] = defaultdict(float)
    for key in recorded:
        # count the outermost recorded modules only (containers that are never called are not recorded)
        parts = key.split(".")
        if not any(".".join(parts[:i]) in recorded for i in range(2, len(parts))):
            macs[part_of(model, parts[1])] += counts[key] / 2
    out.macs = {**macs, "total": counts["Global"] / 2}

    if threads is not None:
        bench = Bench(torch.device("cpu"), threads, repeats)
        out.samples_per_second = bench.inference(model, spec.example(speed_batch, frames, generator))
    return out
