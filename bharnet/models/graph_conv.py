"""Spatial graph convolution with channel-wise topology refinement (CTR-GC), over 3 adjacency subsets."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bharnet.models.inference import traced

# On a CPU the gradient-free aggregation runs over a few samples at a time, so that the per-channel topology of
# those samples is still in cache when the matmul after the one that built it reads it (the whole batch's maps
# are tens of MB at NTU size). Its working set per chunk, in bytes: measured on one machine (2 cores of an AMD
# EPYC, 1 MB L2 per core, 32 MB L3; docs/performance.md), where 2-16 MB did alike; a module constant to tune.
CPU_CHUNK_BYTES = 8 << 20


def samples_per_chunk(subsets: int, channels: int, frames: int, joints: int, element_size: int) -> int:
    """How many samples' topologies, values and products fit in ``CPU_CHUNK_BYTES`` (at least one)."""
    per_sample = subsets * channels * (joints * joints + 2 * frames * joints) * element_size
    return max(1, CPU_CHUNK_BYTES // per_sample)


def aggregate(values: torch.Tensor, mixing: torch.Tensor, relation: torch.Tensor) -> torch.Tensor:
    """y[n, c] = sum_s values[n, s, c] @ T[n, s, c], the transposed topology T[n, s, c] = mixing[s] @ relation[n, s]
    as (V, V): values (N, S*C, T, V), mixing (S, C, K), relation (N, S, K, V*V) -> (N, C, T, V). The chunked
    form writes into buffers (``out=``), which autograd cannot follow: with gradients it runs in one shot."""
    n, _, t, v = values.shape
    s, c, _ = mixing.shape
    values = values.view(n, s, c, t, v)
    # under bf16 autocast the values come from a conv in bf16 while the mixing weights stay fp32: one dtype
    # for the topology, as the ``out=`` buffers below need
    mixing, relation = mixing.to(values.dtype), relation.to(values.dtype)
    # a traced graph keeps the one-shot form: a Python loop over chunks would be unrolled into it for the traced
    # batch size alone
    if traced() or torch.is_grad_enabled() or values.device.type != "cpu":
        return torch.matmul(values, torch.matmul(mixing, relation).view(n, s, c, v, v)).sum(1)
    chunk = max(1, min(n, samples_per_chunk(s, c, t, v, values.element_size())))  # an empty batch has no chunk
    y = values.new_empty(n, c, t, v)
    # one topology and one product buffer, reused by every chunk: they stay in cache
    topology = values.new_empty(chunk, s, c, v * v)
    products = values.new_empty(chunk, s, c, t, v)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        size = stop - start
        torch.matmul(mixing, relation[start:stop], out=topology[:size])
        torch.matmul(values[start:stop], topology[:size].view(size, s, c, v, v), out=products[:size])
        sum_subsets(products[:size], out=y[start:stop])
    return y


def sum_subsets(products: torch.Tensor, out: torch.Tensor) -> None:
    """``out = products.sum(1)`` over the (at least two) subsets as adds of contiguous slices: a CPU reduction
    over that strided dimension is 2x (fp32) to 6x (bf16) slower. The same sum in fp32; in bf16 each add
    rounds (a reduction rounds once)."""
    torch.add(products[:, 0], products[:, 1], out=out)
    for subset in range(2, products.shape[1]):
        out.add_(products[:, subset])


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
        self.topology = nn.Parameter(torch.tensor(adjacency, dtype=torch.float32))  # a copy: blocks share no storage
        # phi and psi in one conv; they act on the temporal mean (a 1x1 conv commutes with it), T times cheaper
        self.relation = nn.Conv1d(in_channels, 2 * subsets * rel, 1)
        # per subset, a 1x1 map from the R relation channels to the C output channels, applied as a batched
        # matmul over the (V*V) relation maps: a grouped conv there is slow, above all backwards, on CPU
        self.refine_weight = nn.Parameter(torch.empty(subsets, out_channels, rel))
        self.refine_bias = nn.Parameter(torch.empty(subsets, out_channels, 1))
        bound = 1 / rel**0.5  # the default init of the equivalent conv
        nn.init.uniform_(self.refine_weight, -bound, bound)
        nn.init.uniform_(self.refine_bias, -bound, bound)
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
        # the values and the residual projection as two convs over row blocks of one weight: each output is
        # contiguous, so the matmuls below need no copy of it
        weight, bias = self.value.weight, self.value.bias
        values = F.conv2d(x, weight[: s * c], bias[: s * c])  # (N, S*C, T, V)
        if torch.is_grad_enabled():
            value = values.unflatten(1, (s, c))  # (N, S, C, T, V)
            relation = torch.tanh(query.unsqueeze(-1) - key.unsqueeze(-2)).view(n, s, r, v * v)  # [u, v]
            # (A + alpha R) x, split: the shared A as one large matmul over (C*T) rows per subset; only the
            # refinement is batched per (n, s, c), so no per-sample topology tensor needs a gradient. Transposes
            # are strides, not copies.
            refined = torch.matmul(self.refine_weight, relation).view(n, s, c, v, v)  # R[n,s,c,u,v], bias aside
            shared = torch.matmul(value.flatten(2, 3), self.topology.transpose(-1, -2)).sum(1).view(n, c, t, v)
            # the refinement bias b[s, c] adds b * sum_v x[v] to every joint u: no (V, V) tensor needed for it
            offset = (self.refine_bias.unsqueeze(-1) * value.sum(-1, keepdim=True)).sum(1)  # (N, C, T, 1)
            refinement = torch.matmul(value, refined.transpose(-1, -2)).sum(1) + offset
            y = torch.addcmul(shared, refinement, self.alpha)
        else:
            # without gradients one matmul per (n, s, c) with the whole topology A + alpha (R + b) is faster.
            # The topology itself is one matmul too: A_s and a constant 1 ride as two more relation channels
            # (weights 1 and alpha b), so no pass over the (N, S, C, V, V) maps adds them, and alpha scales the
            # small weights rather than the maps. It is built transposed ([v, u]: the query broadcast along
            # rows), so the aggregation reads it contiguously
            relation = torch.tanh(query.unsqueeze(-2) - key.unsqueeze(-1)).view(n, s, r, v * v)  # [v, u]
            # in the relation's dtype: an fp32 A would promote the whole concatenation out of bf16
            topology = self.topology.to(relation.dtype).transpose(-1, -2).reshape(1, s, 1, v * v).expand(n, s, 1, v * v)
            relation = torch.cat([relation, topology, relation.new_ones(n, s, 1, v * v)], dim=2)
            mixing = torch.cat([self.alpha * self.refine_weight, self.refine_weight.new_ones(s, c, 1),
                                self.alpha * self.refine_bias], dim=2)
            y = aggregate(values, mixing, relation)
        y = self.norm(y)
        residual = self.residual_norm(F.conv2d(x, weight[s * c :], bias[s * c :])) if self.project_residual else x
        return self.relu(y + residual)
