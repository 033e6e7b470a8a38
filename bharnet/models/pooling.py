"""From feature cubes to one vector per sample: global average pooling, or the pooling-attention module.
Both pool over the frames where the instance is seen, and the heads average over the instances seen."""

from __future__ import annotations

import torch
from torch import nn

from bharnet.models.attention import READERS, BodyHandAttention, Route
from bharnet.models.masks import instance_mean, masked_average, seen
from bharnet.models.reliability import Presence


class PoolingAttention(nn.Module):
    """P.A.M.: each route pools its stream's cube into tokens that cross-attend to the partner stream's
    tokens of the same route; the route's vector is GAP plus the mean token update, each route is projected
    and the projections are summed (one linear map over the concatenated route vectors).

    With the attention updates at zero (the gates' initial value) every route vector is GAP, so the module is
    exactly the linear map ``(W_frame + W_joint + W_channel) GAP + b`` followed by a BatchNorm (affine in eval).
    """

    def __init__(self, routes: list[Route], body_channels: int, hand_channels: int, heads: int, ratio: float,
                 readers: tuple[str, ...] = READERS):
        super().__init__()
        self.attention = nn.ModuleList(BodyHandAttention(r, body_channels, hand_channels, heads, ratio, readers)
                                       for r in routes)
        # BatchNorm after the projection keeps the summed routes at the scale GAP has (without it the pooled
        # vector, the one path into the head with no normalization, blows up under SGD at lr 0.1); in
        # eval mode it is affine, so the module stays a linear map of GAP while the attention is zero
        self.body_projection = nn.Sequential(
            nn.Linear(len(routes) * body_channels, body_channels), nn.BatchNorm1d(body_channels)
        )
        self.hand_projection = nn.Sequential(
            nn.Linear(len(routes) * hand_channels, hand_channels), nn.BatchNorm1d(hand_channels)
        )

    def forward(self, body: torch.Tensor, hands: torch.Tensor, presence: Presence
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """(N*M, C, T, V), (N*M*H, C, T, Vh) -> pooled (N*M, C), (N*M*H, C)."""
        body_gap, hand_gap = masked_average(body, presence.body), masked_average(hands, presence.hands)
        body_routes, hand_routes = [], []
        for attention in self.attention:  # the three routes, not persons or hands
            body_update, hand_update = attention(body, hands, presence)
            body_routes.append(body_gap + attention.route.to_channels(body_update))
            hand_routes.append(hand_gap + attention.route.to_channels(hand_update))
        return self.body_projection(torch.cat(body_routes, 1)), self.hand_projection(torch.cat(hand_routes, 1))


class AveragePooling(nn.Module):
    """GAP on both streams, with the pooling-attention module's signature."""

    def forward(self, body: torch.Tensor, hands: torch.Tensor, presence: Presence
                ) -> tuple[torch.Tensor, torch.Tensor]:
        return masked_average(body, presence.body), masked_average(hands, presence.hands)


class ClassifierHead(nn.Module):
    """Pooled instance vectors (N*I, C) -> mean over a sample's seen instances -> dropout -> FC -> logits (N, K).
    A sample with no instance seen gets the bias alone: no evidence (the fusion gives it no say)."""

    def __init__(self, channels: int, classes: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, classes)
        nn.init.normal_(self.fc.weight, 0, 0.01)  # near-uniform initial predictions, whatever the class count
        nn.init.zeros_(self.fc.bias)

    def forward(self, pooled: torch.Tensor, batch: int, mask: torch.Tensor) -> torch.Tensor:
        """``mask``: the instances' frame masks (N*I, T). Logits in fp32 whatever autocast computed them in:
        CPU autocast would run the fusion's log-softmax in bfloat16."""
        return self.fc(self.dropout(instance_mean(pooled, batch, seen(mask)))).float()
