"""Multi-scale temporal convolution: branches k5 d1, k5 d2, max-pool and 1x1, concatenated.

The dilated branches are ordinary or deformable (DeGCN-style) temporal convolutions.
"""

from __future__ import annotations

import torch
from torch import nn

TEMPORAL_KINDS = ("standard", "deformable")


def _padding(kernel: int, dilation: int) -> int:
    return (kernel - 1) * dilation // 2


class DeformableTemporalConv(nn.Module):
    """A (kernel x 1) temporal conv whose taps are shifted by learned fractional offsets, one per tap, output
    frame and joint, read by linear interpolation along time. Offsets start at zero, so it starts as the
    ordinary dilated conv; frames outside the sequence read as zero padding."""

    def __init__(self, channels: int, kernel: int, stride: int, dilation: int):
        super().__init__()
        self.kernel, self.stride, self.dilation = kernel, stride, dilation
        pad = _padding(kernel, dilation)
        self.offset = nn.Conv2d(channels, kernel, (kernel, 1), (stride, 1), (pad, 0), (dilation, 1))
        nn.init.zeros_(self.offset.weight)
        nn.init.zeros_(self.offset.bias)
        self.weight = nn.Parameter(torch.empty(channels, channels, kernel))
        nn.init.kaiming_uniform_(self.weight.view(channels, channels * kernel, 1), a=5**0.5)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, T, V)
        n, c, t, v = x.shape
        offsets = self.offset(x)  # (N, K, T', V)
        t_out = offsets.shape[2]
        taps = (torch.arange(self.kernel, device=x.device) - self.kernel // 2) * self.dilation
        centres = torch.arange(t_out, device=x.device) * self.stride
        position = (centres.view(1, 1, -1, 1) + taps.view(1, -1, 1, 1)).to(x.dtype) + offsets  # (N, K, T', V)
        low = position.floor()
        frac = position - low
        # one zero frame on each side stands for everything outside the sequence
        padded = torch.nn.functional.pad(x, (0, 0, 1, 1))
        low_index = (low.long() + 1).clamp(0, t + 1)
        high_index = (low.long() + 2).clamp(0, t + 1)
        flat = padded.unsqueeze(2).expand(n, c, self.kernel, t + 2, v)

        def read(index: torch.Tensor) -> torch.Tensor:
            return flat.gather(3, index.view(n, 1, self.kernel, t_out, v).expand(n, c, -1, -1, -1))

        sampled = read(low_index) * (1 - frac).unsqueeze(1) + read(high_index) * frac.unsqueeze(1)  # (N,C,K,T',V)
        return torch.einsum("nckti,ock->noti", sampled, self.weight) + self.bias.view(1, -1, 1, 1)


class TemporalMaxPool(nn.Module):
    """Max over 3 consecutive frames (padded), every ``stride``-th frame: the same as
    ``MaxPool2d((3, 1), (stride, 1), (1, 0))``, as two elementwise maxima of shifted views, which on the CPU
    is tens of times faster than the pooling kernel (it computes argmax indices even without gradients)."""

    def __init__(self, stride: int):
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, T, V)
        t = x.shape[2]
        padded = torch.nn.functional.pad(x, (0, 0, 1, 1), value=float("-inf"))
        before, centre, after = (padded[:, :, shift : shift + t : self.stride] for shift in range(3))
        return torch.maximum(torch.maximum(before, centre), after)


def _dilated_conv(channels: int, kernel: int, stride: int, dilation: int, kind: str) -> nn.Module:
    if kind == "deformable":
        return DeformableTemporalConv(channels, kernel, stride, dilation)
    pad = _padding(kernel, dilation)
    return nn.Conv2d(channels, channels, (kernel, 1), (stride, 1), (pad, 0), (dilation, 1))


class MultiScaleTemporalConv(nn.Module):
    """Four branches of ``out_channels // 4`` channels each (the last takes the remainder).

    Each branch opens with a 1x1 conv + BatchNorm; these four run as one conv (the 1x1 branch's temporal
    stride is applied after it, which is the same since a 1x1 conv acts frame by frame).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        kernel: int = 5,
        dilations: tuple[int, ...] = (1, 2),
        kind: str = "standard",
    ):
        super().__init__()
        branches = len(dilations) + 2
        width = out_channels // branches
        self.widths = [width] * (branches - 1) + [out_channels - width * (branches - 1)]
        self.stride = stride
        self.entry = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
        self.relu = nn.ReLU(inplace=False)
        self.dilated = nn.ModuleList(
            nn.Sequential(_dilated_conv(width, kernel, stride, d, kind), nn.BatchNorm2d(width)) for d in dilations
        )
        self.pool = nn.Sequential(TemporalMaxPool(stride), nn.BatchNorm2d(self.widths[-2]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        *opened, point = self.entry(x).split(self.widths, dim=1)
        *dilated_inputs, pooled_input = (self.relu(part) for part in opened)
        outputs = [branch(part) for branch, part in zip(self.dilated, dilated_inputs, strict=True)]
        outputs.append(self.pool(pooled_input))
        outputs.append(point[:, :, :: self.stride])
        return torch.cat(outputs, dim=1)
