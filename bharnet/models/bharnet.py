"""BHaRNet: a body-expert and a hand-expert GCN stream, joined by cross-attention, fused at the end.

    body  -> trunk -+-> expertized branch BE ------------------------------> GAP -> FC -> z_BE   (E only)
                    +-> interactive branch BI -x- ... -x-> pooling (GAP|PAM) -> FC -> z_B
                                               |         |  cross-attention at the exchange blocks
    hands -> trunk -+-> interactive branch HI -x- ... -x-> pooling (GAP|PAM) -> FC -> z_H
                    +-> expertized branch HE ------------------------------> GAP -> FC -> z_HE   (E only)
      |
      +-> reliability r (hand presence, jitter) ------------> scales the hands' updates to the body and
                                                              the hand evidence in the fusion

    prediction: fuse(z_B [+ z_BE], z_H [+ z_HE]; r) by Noisy-OR, logit sum or the r-weighted mixture; the
    experts may be trained through another of these (``training_fusion``) than the one that predicts.

Variants: P has the interactive branches only (no trunk, no expertized branches); E adds the trunk and the
expertized branches; B is the same network with no exchange (the basic dual stream). Presence masks say which
person and hand is seen in which frame: every pooling, attention and normalization reads them.
"""

from __future__ import annotations

import torch
from torch import nn

from bharnet.models.attention import Route, StreamExchange
from bharnet.models.backbone import BackboneConfig, StreamBackbone
from bharnet.models.config import ModelConfig
from bharnet.models.fusion import fuse
from bharnet.models.masks import masked_average, on_seen_instances, presence_from_values, seen_rows
from bharnet.models.pooling import AveragePooling, ClassifierHead, PoolingAttention
from bharnet.models.reliability import HandReliability, Presence, hand_fraction, presence_of
from bharnet.skeleton import Layout


class ExpertStream(nn.Module):
    """One expert: a trunk (the data norm and the first ``cuts[0]`` blocks), an optional expertized branch,
    and the interactive branch cut into segments at the exchange points (the cuts are block counts)."""

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

    def forward(self, body: torch.Tensor, hands: torch.Tensor, presence: Presence
                ) -> tuple[torch.Tensor, torch.Tensor]:
        return body, hands


class BHaRNet(nn.Module):
    """Inputs body (N, C, T, Vb, M) and hands (N, C, T, Vh, Mh) with Mh = H * M, hands grouped by person, and
    their presence masks (N, T, M) and (N, T, Mh) (None: derived from the values, an all-zero frame absent).

    Returns a dict of logits per head (``body``, ``hand``, and for E ``body_expert``, ``hand_expert``),
    ``fused`` (the fused log-probabilities), ``reliability`` (N,) and ``hand_presence`` (N,), the fraction
    of frames with a hand seen.
    """

    def __init__(self, body_layout: Layout, hand_layout: Layout, channels: int, persons: int,
                 hand_instances: int, num_classes: int, config: ModelConfig):
        super().__init__()
        body_backbone, hand_backbone = config.backbone("body"), config.backbone("hand")
        blocks = body_backbone.num_blocks
        self.expertized = config.variant == "E"
        self.auxiliary_heads = ("body", "hand") + (("body_expert", "hand_expert") if self.expertized else ())
        exchange_points = set(config.exchange_blocks) if config.variant in ("P", "E") else set()
        trunk = config.trunk_blocks if self.expertized else 0
        cuts = sorted({trunk, *exchange_points, blocks})
        self.body = ExpertStream(body_layout, channels, persons, body_backbone, cuts, self.expertized)
        self.hand = ExpertStream(hand_layout, channels, hand_instances, hand_backbone, cuts, self.expertized)
        heads, ratio = config.attention_heads, config.attention_ratio

        def exchange_after(block: int) -> nn.Module:
            if block not in exchange_points:
                return PassThrough()
            routes = [Route(r) for r in config.exchange_routes]
            widths = (body_backbone.channels_after(block, channels), hand_backbone.channels_after(block, channels))
            return StreamExchange(routes, *widths, heads, ratio, config.attention_readers)

        self.exchanges = nn.ModuleList(exchange_after(block) for block in cuts[1:])
        body_width, hand_width = self.body.out_channels, self.hand.out_channels
        if config.pooling == "pam":
            routes = [Route(r, config.channel_bins) for r in config.pam_routes]
            self.pool = PoolingAttention(routes, body_width, hand_width, heads, ratio, config.attention_readers)
        else:
            self.pool = AveragePooling()
        self.body_head = ClassifierHead(body_width, num_classes, config.dropout)
        self.hand_head = ClassifierHead(hand_width, num_classes, config.dropout)
        if self.expertized:
            self.body_expert_head = ClassifierHead(body_width, num_classes, config.dropout)
            self.hand_expert_head = ClassifierHead(hand_width, num_classes, config.dropout)
        self.reliability = HandReliability(config.reliability)
        self.hand_stream_dropout = config.hand_stream_dropout
        self.fusion = config.fusion
        self.training_fusion = config.objective_fusion
        self.pure_hand_expert = config.pure_hand_expert
        self.hand_frame_stride = config.hand_frame_stride

    def forward(self, body: torch.Tensor, hands: torch.Tensor, body_mask: torch.Tensor | None = None,
                hand_mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        n = body.shape[0]
        body_mask = presence_from_values(body) if body_mask is None else body_mask.to(body.dtype)
        hand_mask = presence_from_values(hands) if hand_mask is None else hand_mask.to(hands.dtype)
        reliability = self.reliability(hands, hand_mask)
        if self.training and self.hand_stream_dropout > 0:  # the body must also stand alone
            reliability = reliability * (torch.rand_like(reliability) >= self.hand_stream_dropout)
        hand_presence = hand_fraction(hand_mask)
        if self.hand_frame_stride > 1:  # the hand stream sees every k-th frame; the reliability saw them all
            hands, hand_mask = hands[:, :, :: self.hand_frame_stride], hand_mask[:, :: self.hand_frame_stride]
        presence = presence_of(body_mask, hand_mask, reliability)
        b, h = self.body.trunk(body, body_mask), self.hand.trunk(hands, hand_mask)
        # in inference the blocks skip the instances seen in no frame (masks.on_seen_instances)
        body_rows, hand_rows = seen_rows(presence.body, self.training), seen_rows(presence.hands, self.training)
        logits: dict[str, torch.Tensor] = {}
        if self.expertized:
            body_expert = on_seen_instances(self.body.expert, b, body_rows)
            hand_expert = on_seen_instances(self.hand.expert, h, hand_rows)
            logits["body_expert"] = self.body_expert_head(masked_average(body_expert, presence.body), n,
                                                          presence.body)
            logits["hand_expert"] = self.hand_expert_head(masked_average(hand_expert, presence.hands), n,
                                                          presence.hands)
        for body_segment, hand_segment, exchange in zip(
            self.body.segments, self.hand.segments, self.exchanges, strict=True
        ):
            b, h = on_seen_instances(body_segment, b, body_rows), on_seen_instances(hand_segment, h, hand_rows)
            b, h = exchange(b, h, presence)
        pooled_body, pooled_hands = self.pool(b, h, presence)
        logits["body"] = self.body_head(pooled_body, n, presence.body)
        logits["hand"] = self.hand_head(pooled_hands, n, presence.hands)
        body_logits, hand_logits = logits["body"], logits["hand"]
        if self.expertized:
            body_logits = body_logits + logits["body_expert"]
            hand_logits = hand_logits + logits["hand_expert"]
        logits["fused"] = fuse(body_logits, hand_logits, self.fusion, reliability)
        if self.training and (self.training_fusion != self.fusion or self.pure_hand_expert):  # what the loss trains on
            # a pure hand expert learns from its own term only, as a hand-only model does: the fused term
            # reads its logits without a gradient into them
            objective_hands = hand_logits.detach() if self.pure_hand_expert else hand_logits
            logits["fused_objective"] = fuse(body_logits, objective_hands, self.training_fusion, reliability)
        logits["reliability"] = reliability
        logits["hand_presence"] = hand_presence
        return logits
