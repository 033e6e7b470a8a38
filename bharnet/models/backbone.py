"""One GCN stream: data BatchNorm, then blocks of CTR-GC spatial and multi-scale temporal convolution."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from bharnet.errors import ConfigError
from bharnet.models.graph_conv import CTRGraphConv
from bharnet.models.masks import instances_first, on_seen_instances, seen_rows
from bharnet.models.temporal import TEMPORAL_KINDS, MultiScaleTemporalConv
from bharnet.skeleton import Layout, adjacency

DEFAULT_WIDTHS = (64, 64, 64, 64, 128, 128, 128, 256, 256, 256)
DEFAULT_STRIDE_BLOCKS = (5, 8)  # 1-based blocks with temporal stride 2


@dataclass(frozen=True)
class BackboneConfig:
    """Width multiplier and depth give 'lite' streams: depth keeps the first ``depth`` blocks."""

    widths: tuple[int, ...] = DEFAULT_WIDTHS
    stride_blocks: tuple[int, ...] = DEFAULT_STRIDE_BLOCKS
    width_multiplier: float = 1.0
    depth: int | None = None
    temporal: str = "standard"  # standard | deformable (DeGCN-style) dilated temporal branches

    def __post_init__(self) -> None:
        if self.temporal not in TEMPORAL_KINDS:
            raise ConfigError(f"model.temporal = {self.temporal!r}; choose one of {', '.join(TEMPORAL_KINDS)}")
        if self.width_multiplier <= 0 or not self.widths:
            raise ConfigError("model.widths must be non-empty and model.width_multiplier positive")
        if self.depth is not None and not 1 <= self.depth <= len(self.widths):
            raise ConfigError(f"model.depth = {self.depth}; it must lie in 1..{len(self.widths)}")

    @property
    def num_blocks(self) -> int:
        return self.depth or len(self.widths)

    def block_plan(self) -> list[tuple[int, int]]:
        """(out_channels, temporal stride) per block."""
        return [
            (max(4, round(w * self.width_multiplier)), 2 if i + 1 in self.stride_blocks else 1)
            for i, w in enumerate(self.widths[: self.num_blocks])
        ]

    def channels_after(self, block: int, in_channels: int) -> int:
        """Width of the features after the first ``block`` blocks (``in_channels`` when block = 0)."""
        return self.block_plan()[block - 1][0] if block else in_channels

    def blocks(self, layout: Layout, in_channels: int, start: int = 0, stop: int | None = None) -> nn.Sequential:
        """Blocks ``start`` .. ``stop - 1`` (0-based) for ``layout``; the very first block has no residual."""
        subsets = adjacency(layout)
        plan = self.block_plan()
        channels = self.channels_after(start, in_channels)
        blocks: list[nn.Module] = []
        for index in range(start, len(plan) if stop is None else stop):
            width, stride = plan[index]
            blocks.append(GCNBlock(channels, width, subsets, stride, index > 0, self.temporal))
            channels = width
        return nn.Sequential(*blocks)


class GCNBlock(nn.Module):
    """Spatial graph conv, then temporal conv, with a block residual (none for the input block)."""

    def __init__(self, in_channels, out_channels, adjacency_subsets, stride=1, residual=True, temporal="standard"):
        super().__init__()
        self.spatial = CTRGraphConv(in_channels, out_channels, adjacency_subsets)
        self.temporal = MultiScaleTemporalConv(out_channels, out_channels, stride, kind=temporal)
        if not residual:
            self.residual = None
        elif in_channels == out_channels and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, (stride, 1)), nn.BatchNorm2d(out_channels)
            )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.temporal(self.spatial(x))
        return self.relu(y if self.residual is None else y + self.residual(x))


class DataNorm(nn.Module):
    """BatchNorm over M*V*C of the raw input, its statistics taken over the frames where the instance is seen
    only; absent frames come out as zero (the normalized mean), then instances are folded into the batch:
    (N, C, T, V, M), mask (N, T, M) -> (N*M, C, T, V). With every frame seen this is exactly BatchNorm1d."""

    def __init__(self, joints: int, in_channels: int, instances: int):
        super().__init__()
        self.norm = nn.BatchNorm1d(instances * joints * in_channels)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n, c, t, v, m = x.shape
        x = x.permute(0, 4, 3, 1, 2).reshape(n, m, v * c, t)
        weights = mask.permute(0, 2, 1)[:, :, None, :].to(x.dtype)  # (N, M, 1, T)
        norm = self.norm
        if self.training:
            count = weights.sum((0, 3))  # (M, 1): seen frames per instance slot
            mean = (x * weights).sum((0, 3)) / count.clamp(min=1)
            var = ((x - mean[None, :, :, None]) ** 2 * weights).sum((0, 3)) / count.clamp(min=1)
            self._track(mean, var, count)
        else:
            mean, var = norm.running_mean.view(m, v * c), norm.running_var.view(m, v * c)
        scale = norm.weight.view(m, v * c) * torch.rsqrt(var + norm.eps)
        y = (x - mean[None, :, :, None]) * scale[None, :, :, None] + norm.bias.view(1, m, v * c, 1)
        y = y * weights
        return y.view(n, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(n * m, c, t, v)

    @torch.no_grad()
    def _track(self, mean: torch.Tensor, var: torch.Tensor, count: torch.Tensor) -> None:
        """Running statistics as BatchNorm keeps them; a slot seen in fewer than two frames keeps its own."""
        norm, momentum = self.norm, self.norm.momentum
        seen = count > 1
        unbiased = var * count / (count - 1).clamp(min=1)
        running_mean, running_var = norm.running_mean.view_as(mean), norm.running_var.view_as(var)
        running_mean.copy_(torch.where(seen, running_mean.lerp(mean, momentum), running_mean))
        running_var.copy_(torch.where(seen, running_var.lerp(unbiased, momentum), running_var))
        norm.num_batches_tracked += 1


class StreamBackbone(nn.Module):
    """(N, C, T, V, I) -> feature cube (N*I, C', T', V) for any layout; I = persons, or hand instances.
    The input of absent instance frames is never read: the data norm zeroes it.

    ``stop`` keeps only the first ``stop`` blocks (a trunk that branches afterwards).
    """

    def __init__(
        self,
        layout: Layout,
        in_channels: int,
        instances: int,
        config: BackboneConfig | None = None,
        stop: int | None = None,
    ):
        super().__init__()
        config = config or BackboneConfig()
        self.layout = layout
        self.data_norm = DataNorm(layout.num_joints, in_channels, instances)
        self.blocks = config.blocks(layout, in_channels, 0, stop)
        self.out_channels = config.channels_after(len(self.blocks), in_channels)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x (N, C, T, V, I), mask (N, T, I) of seen instance frames."""
        cube = self.data_norm(x, mask)
        if not len(self.blocks):
            return cube
        return on_seen_instances(self.blocks, cube, seen_rows(instances_first(mask), self.training))
