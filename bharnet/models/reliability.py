"""How much say the hand expert gets for one sample: its reliability r in [0, 1], made from the hand input.

r scales the hand stream's evidence in the fusion and the hands' updates to the body branch. With no hand seen
in any frame r is exactly 0, so the prediction is the body expert's own. Modes:

- ``presence``: r = the fraction of frames in which a hand is seen;
- ``learned``: r = sigmoid(w . [presence fraction, log jitter] + b), 0 when no hand is seen. Jitter is the
  mean size of the hand joints' second temporal difference: keypoint noise raises it far above real motion,
  so the gate learns to turn noisy hands down (train with ``data.hand_jitter`` so that it sees some);
- ``none``: r = 1 (hands always fully trusted; the ablation).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from bharnet.errors import ConfigError
from bharnet.models.masks import instances_first

RELIABILITIES = ("learned", "presence", "none")


@dataclass(frozen=True)
class Presence:
    """What the streams know about their inputs, in the cubes' row order: body (N*M, T) and hands (N*M*H, T)
    frame masks, and each person's hand reliability (N*M,)."""

    body: torch.Tensor
    hands: torch.Tensor
    reliability: torch.Tensor


def hand_fraction(hand_mask: torch.Tensor) -> torch.Tensor:
    """(N, T, Mh) -> (N,): the fraction of frames in which any hand is seen."""
    return hand_mask.amax(-1).mean(-1)


def hand_jitter(hands: torch.Tensor, hand_mask: torch.Tensor) -> torch.Tensor:
    """(N, C, T, V, Mh), (N, T, Mh) -> (N,): mean norm of x[t+1] - 2 x[t] + x[t-1] over the joints of hands
    seen in all three frames (0 when there are none)."""
    if hands.shape[2] < 3:
        return hands.new_zeros(hands.shape[0])
    second = hands[:, :, 2:] - 2 * hands[:, :, 1:-1] + hands[:, :, :-2]
    size = second.norm(dim=1).mean(2)  # (N, T-2, Mh)
    valid = hand_mask[:, 2:] * hand_mask[:, 1:-1] * hand_mask[:, :-2]
    return (size * valid).sum((1, 2)) / valid.sum((1, 2)).clamp(min=1)


class HandReliability(nn.Module):
    def __init__(self, mode: str = "learned"):
        super().__init__()
        if mode not in RELIABILITIES:
            raise ConfigError(f"model.reliability = {mode!r}; choose one of {', '.join(RELIABILITIES)}")
        self.mode = mode
        if mode == "learned":
            self.gate = nn.Linear(2, 1)
            with torch.no_grad():  # starts close to the presence fraction, blind to jitter
                self.gate.weight.copy_(torch.tensor([[4.0, 0.0]]))
                self.gate.bias.fill_(-1.0)

    def forward(self, hands: torch.Tensor, hand_mask: torch.Tensor) -> torch.Tensor:
        """(N, C, T, V, Mh), (N, T, Mh) -> r (N,)."""
        fraction = hand_fraction(hand_mask)
        if self.mode == "none":
            return torch.ones_like(fraction)
        if self.mode == "presence":
            return fraction
        features = torch.stack([fraction, torch.log(hand_jitter(hands, hand_mask) + 1e-3)], dim=1)
        return torch.sigmoid(self.gate(features)).squeeze(1) * (fraction > 0).to(fraction.dtype)


def presence_of(body_mask: torch.Tensor, hand_mask: torch.Tensor, reliability: torch.Tensor) -> Presence:
    """Masks (N, T, M) and (N, T, Mh) and per-sample reliability (N,) in the cubes' row order."""
    persons = body_mask.shape[2]
    return Presence(instances_first(body_mask), instances_first(hand_mask),
                    reliability.repeat_interleave(persons))
