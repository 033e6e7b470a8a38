"""Single-stream baselines of the same block design: body-only (our CTR-GCN/DeGCN-style reference),
hand-only, and the unified whole-body graph (body + both hands in one graph, wrists joined to hand roots)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from bharnet.models.backbone import BackboneConfig, StreamBackbone
from bharnet.models.pooling import ClassifierHead, global_average
from bharnet.skeleton import Layout


class SingleStream(nn.Module):
    """``stream`` says which input it reads: ``body``, ``hand``, or ``unified`` (body and the 42-joint hands
    of the same person concatenated along the joints). Returns ``{stream: logits, 'fused': log-probs}``."""

    auxiliary_heads: tuple[str, ...] = ()

    def __init__(self, stream: str, layout: Layout, channels: int, instances: int, num_classes: int,
                 backbone: BackboneConfig, dropout: float = 0.0):
        super().__init__()
        self.stream = stream
        self.backbone = StreamBackbone(layout, channels, instances, backbone)
        self.head = ClassifierHead(self.backbone.out_channels, num_classes, dropout)

    def select(self, body: torch.Tensor, hands: torch.Tensor) -> torch.Tensor:
        if self.stream == "body":
            return body
        if self.stream == "hand":
            return hands
        return torch.cat([body, hands], dim=3)

    def forward(self, body: torch.Tensor, hands: torch.Tensor) -> dict[str, torch.Tensor]:
        logits = self.head(global_average(self.backbone(self.select(body, hands))), body.shape[0])
        return {self.stream: logits, "fused": F.log_softmax(logits, -1)}
