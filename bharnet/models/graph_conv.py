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
        # phi and psi in one conv; they act on the temporal mean (a 1x1 conv commutes with it), T times cheaper
        self.relation = nn.Conv1d(in_channels, 2 * subsets * rel, 1)
        self.refine = nn.Conv2d(subsets * rel, subsets * out_channels, 1, groups=subsets)
        self.alpha = nn.Parameter(torch.zeros(1))
        # the per-subset values and, when widths differ, the residual projection: one 1x1 conv over x
        self.project_residual = in_channels != out_channels
        extra = out_channels if self.project_residual else 0
        self.value = nn.Conv2d(in_channels, subsets * out_channels + extra, 1)
        self.residual_norm = nn.BatchNorm2d(out_channels) if self.project_residual else None
        self.norm = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, T, V)
        n, _, t, v = x.shape
        s, c, r = self.subsets, self.out_channels, self.rel_channels
        query, key = self.relation(x.mean(2)).split(s * r, dim=1)  # (N, S*R, V) each
        relation = torch.tanh(query.unsqueeze(-1) - key.unsqueeze(-2))  # (N, S*R, V, V)
        refined = self.refine(relation).view(n, s, c, v, v)
        topology = torch.addcmul(self.topology.unsqueeze(1), refined, self.alpha)  # A + alpha R: (N, S, C, V, V)
        projected = self.value(x)
        value = projected[:, : s * c].view(n, s, c, t, v)
        # batched over (n, s, c): (T, V) @ (V, U); the transpose is a stride, not a copy
        y = self.norm(torch.matmul(value, topology.transpose(-1, -2)).sum(1))
        residual = self.residual_norm(projected[:, s * c :]) if self.project_residual else x
        return self.relu(y + residual)
