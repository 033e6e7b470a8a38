"""Spatial graph convolution with channel-wise topology refinement (CTR-GC), over 3 adjacency subsets."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class CTRGraphConv(nn.Module):
    """Per subset s: a shared topology A_s (learnable, initialized from the skeleton) refined per channel by
    alpha * conv(tanh(phi(x)_u - psi(x)_v)), then y_u = sum_s sum_v A_s[c, u, v] * x3_s[c, v].

    The three subsets run as one grouped computation (no Python loop over subsets). ``adjacency`` is
    (S, V, V) with A[s, u, v] the weight of joint v's message into joint u.
    """

    def __init__(self, in_channels: int, out_channels: int, adjacency: np.ndarray, reduction: int = 8):
        super().__init__()
        subsets = adjacency.shape[0]
        self.subsets, self.out_channels = subsets, out_channels
        rel = 8 if in_channels <= 16 else in_channels // reduction
        self.rel_channels = rel
        self.topology = nn.Parameter(torch.as_tensor(adjacency, dtype=torch.float32))
        self.query = nn.Conv2d(in_channels, subsets * rel, 1)
        self.key = nn.Conv2d(in_channels, subsets * rel, 1)
        self.value = nn.Conv2d(in_channels, subsets * out_channels, 1)
        self.refine = nn.Conv2d(subsets * rel, subsets * out_channels, 1, groups=subsets)
        self.alpha = nn.Parameter(torch.zeros(1))
        self.norm = nn.BatchNorm2d(out_channels)
        self.residual = (
            nn.Sequential(nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
            if in_channels != out_channels
            else nn.Identity()
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, T, V)
        n, _, t, v = x.shape
        s, c = self.subsets, self.out_channels
        q = self.query(x).mean(2)  # (N, S*R, V): temporal mean, as the topology is per sample
        k = self.key(x).mean(2)
        relation = torch.tanh(q.unsqueeze(-1) - k.unsqueeze(-2))  # (N, S*R, V, V)
        refined = self.refine(relation).view(n, s, c, v, v)
        topology = torch.addcmul(self.topology.unsqueeze(1), refined, self.alpha)  # A + alpha R: (N, S, C, V, V)
        value = self.value(x).view(n, s, c, t, v)
        # batched over (n, s, c): (T, V) @ (V, U); the transpose is a stride, not a copy
        y = torch.matmul(value, topology.transpose(-1, -2)).sum(1)
        return self.relu(self.norm(y) + self.residual(x))
