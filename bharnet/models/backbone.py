"""One GCN stream: data BatchNorm, then blocks of CTR-GC spatial and multi-scale temporal convolution."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from bharnet.models.graph_conv import CTRGraphConv
from bharnet.models.temporal import MultiScaleTemporalConv
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

    def block_plan(self) -> list[tuple[int, int]]:
        """(out_channels, temporal stride) per block."""
        widths = self.widths[: self.depth] if self.depth else self.widths
        return [
            (max(4, round(w * self.width_multiplier)), 2 if i + 1 in self.stride_blocks else 1)
            for i, w in enumerate(widths)
        ]


class GCNBlock(nn.Module):
    """Spatial graph conv, then temporal conv, with a block residual (none for the input block)."""

    def __init__(self, in_channels, out_channels, adjacency_subsets, stride=1, residual=True):
        super().__init__()
        self.spatial = CTRGraphConv(in_channels, out_channels, adjacency_subsets)
        self.temporal = MultiScaleTemporalConv(out_channels, out_channels, stride)
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


class StreamBackbone(nn.Module):
    """(N, C, T, V, M) -> feature cube (N, M, C', T', V) for any layout."""

    def __init__(self, layout: Layout, in_channels: int, persons: int, config: BackboneConfig | None = None):
        super().__init__()
        config = config or BackboneConfig()
        self.layout = layout
        self.data_norm = nn.BatchNorm1d(persons * layout.num_joints * in_channels)
        subsets = adjacency(layout)
        blocks: list[nn.Module] = []
        channels = in_channels
        for index, (width, stride) in enumerate(config.block_plan()):
            blocks.append(GCNBlock(channels, width, subsets, stride, residual=index > 0))
            channels = width
        self.blocks = nn.Sequential(*blocks)
        self.out_channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, v, m = x.shape
        x = x.permute(0, 4, 3, 1, 2).reshape(n, m * v * c, t)
        x = self.data_norm(x).view(n, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(n * m, c, t, v)
        x = self.blocks(x)
        _, channels, frames, joints = x.shape
        return x.view(n, m, channels, frames, joints)
