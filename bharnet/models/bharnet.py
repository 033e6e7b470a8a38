"""BHaRNet: a body-expert and a hand-expert GCN stream, joined by cross-attention, fused at the end.

    body  -> trunk -+-> expertized branch BE ------------------------------> GAP -> FC -> z_BE   (E only)
                    +-> interactive branch BI -x- ... -x-> pooling (GAP|PAM) -> FC -> z_B
                                               |         |  cross-attention at the exchange blocks
    hands -> trunk -+-> interactive branch HI -x- ... -x-> pooling (GAP|PAM) -> FC -> z_H
                    +-> expertized branch HE ------------------------------> GAP -> FC -> z_HE   (E only)

    prediction: fuse(z_B [+ z_BE], z_H [+ z_HE]) by logit sum or Noisy-OR.

Variant B is the same network with no expertized branch, no exchange, and the whole backbone as trunk.
"""

from __future__ import annotations

import torch
from torch import nn

from bharnet.models.attention import Route, StreamExchange
from bharnet.models.backbone import BackboneConfig, StreamBackbone
from bharnet.models.config import ModelConfig
from bharnet.models.fusion import fuse
from bharnet.models.pooling import AveragePooling, ClassifierHead, PoolingAttention, global_average
from bharnet.skeleton import Layout


class ExpertStream(nn.Module):
    """One expert: a trunk, an optional expertized branch, and the interactive branch cut into segments
    at the exchange points (the cuts are block counts)."""

    def __init__(self, layout: Layout, channels: int, instances: int, backbone: BackboneConfig,
                 cuts: list[int], expertized: bool):
        super().__init__()
        self.trunk = StreamBackbone(layout, channels, instances, backbone, stop=cuts[0])
        self.expert = backbone.blocks(layout, channels, cuts[0]) if expertized else None
        self.segments = nn.ModuleList(
            backbone.blocks(layout, channels, a, b) for a, b in zip(cuts, cuts[1:], strict=False)
        )
        self.out_channels = backbone.channels_after(backbone.num_blocks, channels)


class PassThrough(nn.Module):
    """A segment end where the streams do not exchange."""

    def forward(self, body: torch.Tensor, hands: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return body, hands


class BHaRNet(nn.Module):
    """Inputs body (N, C, T, Vb, M) and hands (N, C, T, Vh, Mh) with Mh = H * M, hands grouped by person.

    Returns a dict of logits per head (``body``, ``hand``, and for E ``body_expert``, ``hand_expert``) and
    ``fused``, the fused log-probabilities.
    """

    auxiliary_heads = ("body", "hand")

    def __init__(self, body_layout: Layout, hand_layout: Layout, channels: int, persons: int,
                 hand_instances: int, num_classes: int, config: ModelConfig):
        super().__init__()
        body_backbone, hand_backbone = config.backbone("body"), config.backbone("hand")
        blocks = body_backbone.num_blocks
        self.expertized = config.variant == "E"
        exchange_points = set(config.exchange_blocks) if self.expertized else set()
        trunk = config.trunk_blocks if self.expertized else blocks
        cuts = sorted({trunk, *exchange_points, blocks})
        self.body = ExpertStream(body_layout, channels, persons, body_backbone, cuts, self.expertized)
        self.hand = ExpertStream(hand_layout, channels, hand_instances, hand_backbone, cuts, self.expertized)
        heads, ratio = config.attention_heads, config.attention_ratio

        def exchange_after(block: int) -> nn.Module:
            if block not in exchange_points:
                return PassThrough()
            routes = [Route(r) for r in config.exchange_routes]
            widths = (body_backbone.channels_after(block, channels), hand_backbone.channels_after(block, channels))
            return StreamExchange(routes, *widths, heads, ratio)

        self.exchanges = nn.ModuleList(exchange_after(block) for block in cuts[1:])
        body_width, hand_width = self.body.out_channels, self.hand.out_channels
        if config.pooling == "pam":
            routes = [Route(r, config.channel_bins) for r in config.pam_routes]
            self.pool = PoolingAttention(routes, body_width, hand_width, heads, ratio)
        else:
            self.pool = AveragePooling()
        self.body_head = ClassifierHead(body_width, num_classes, config.dropout)
        self.hand_head = ClassifierHead(hand_width, num_classes, config.dropout)
        if self.expertized:
            self.body_expert_head = ClassifierHead(body_width, num_classes, config.dropout)
            self.hand_expert_head = ClassifierHead(hand_width, num_classes, config.dropout)
        self.fusion = config.fusion

    def forward(self, body: torch.Tensor, hands: torch.Tensor) -> dict[str, torch.Tensor]:
        n = body.shape[0]
        b, h = self.body.trunk(body), self.hand.trunk(hands)
        logits: dict[str, torch.Tensor] = {}
        if self.expertized:
            logits["body_expert"] = self.body_expert_head(global_average(self.body.expert(b)), n)
            logits["hand_expert"] = self.hand_expert_head(global_average(self.hand.expert(h)), n)
        for body_segment, hand_segment, exchange in zip(
            self.body.segments, self.hand.segments, self.exchanges, strict=True
        ):
            b, h = exchange(body_segment(b), hand_segment(h))
        pooled_body, pooled_hands = self.pool(b, h)
        logits["body"] = self.body_head(pooled_body, n)
        logits["hand"] = self.hand_head(pooled_hands, n)
        body_logits, hand_logits = logits["body"], logits["hand"]
        if self.expertized:
            body_logits = body_logits + logits["body_expert"]
            hand_logits = hand_logits + logits["hand_expert"]
        logits["fused"] = fuse(body_logits, hand_logits, self.fusion)
        return logits
