"""Single-stream baselines of the same block design: body-only (our CTR-GCN/DeGCN-style reference),
hand-only, and the unified whole-body graph (body + both hands in one graph, wrists joined to hand roots)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from bharnet.models.backbone import BackboneConfig, StreamBackbone
from bharnet.models.masks import instances_first, masked_average, presence_from_values
from bharnet.models.pooling import ClassifierHead
from bharnet.skeleton import Layout


class SingleStream(nn.Module):
    """``stream`` says which input it reads: ``body``, ``hand``, or ``unified`` (body and the 42-joint hands
    of the same person concatenated along the joints). Returns ``{stream: logits, 'fused': log-probs}``.
    The masks say which instance is seen in which frame (the unified graph goes by the body's)."""

    auxiliary_heads: tuple[str, ...] = ()

    def __init__(self, stream: str, layout: Layout, channels: int, instances: int, num_classes: int,
                 backbone: BackboneConfig, dropout: float = 0.0):
        super().__init__()
        self.stream = stream
        self.backbone = StreamBackbone(layout, channels, instances, backbone)
        self.head = ClassifierHead(self.backbone.out_channels, num_classes, dropout)

    def select(self, body: torch.Tensor, hands: torch.Tensor, body_mask: torch.Tensor | None,
               hand_mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        if self.stream == "hand":
            return hands, presence_from_values(hands) if hand_mask is None else hand_mask
        x = body if self.stream == "body" else torch.cat([body, hands], dim=3)
        return x, presence_from_values(body) if body_mask is None else body_mask

    def forward(self, body: torch.Tensor, hands: torch.Tensor, body_mask: torch.Tensor | None = None,
                hand_mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        x, mask = self.select(body, hands, body_mask, hand_mask)
        mask = mask.to(x.dtype)
        rows = instances_first(mask)
        logits = self.head(masked_average(self.backbone(x, mask), rows), body.shape[0], rows)
        return {self.stream: logits, "fused": F.log_softmax(logits, -1)}
