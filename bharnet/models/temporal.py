"""Multi-scale temporal convolution: branches k5 d1, k5 d2, max-pool and 1x1, concatenated."""

from __future__ import annotations

import torch
from torch import nn


def _temporal_conv(channels: int, kernel: int, stride: int, dilation: int) -> nn.Sequential:
    padding = (kernel + (kernel - 1) * (dilation - 1) - 1) // 2
    return nn.Sequential(
        nn.Conv2d(channels, channels, (kernel, 1), (stride, 1), (padding, 0), (dilation, 1)),
        nn.BatchNorm2d(channels),
    )


def _bottleneck(in_channels: int, channels: int) -> list[nn.Module]:
    return [nn.Conv2d(in_channels, channels, 1), nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]


class MultiScaleTemporalConv(nn.Module):
    """Four branches of ``out_channels // 4`` channels each (the last takes the remainder)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, kernel: int = 5, dilations=(1, 2)):
        super().__init__()
        branches = len(dilations) + 2
        width = out_channels // branches
        widths = [width] * (branches - 1) + [out_channels - width * (branches - 1)]
        self.branches = nn.ModuleList(
            [nn.Sequential(*_bottleneck(in_channels, w), _temporal_conv(w, kernel, stride, d))
             for w, d in zip(widths, dilations, strict=False)]
        )
        pool_width, point_width = widths[len(dilations)], widths[-1]
        self.branches.append(
            nn.Sequential(
                *_bottleneck(in_channels, pool_width),
                nn.MaxPool2d((3, 1), (stride, 1), (1, 0)),
                nn.BatchNorm2d(pool_width),
            )
        )
        self.branches.append(
            nn.Sequential(nn.Conv2d(in_channels, point_width, 1, (stride, 1)), nn.BatchNorm2d(point_width))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches], dim=1)
