"""Training objectives over a model's outputs: the fused prediction plus optional per-stream terms.

With a dual-stream model and sum fusion this is the ensemble loss L = CE(z_B + z_H) + l_B CE(z_B) + l_H CE(z_H);
with BHaRNet-E the fused term sums all four branch heads and l_B, l_H sit on the interactive heads; with
Noisy-OR fusion the first term is CE on the renormalized Noisy-OR distribution. ``expert_weight`` adds a term
per expertized head (BE, HE), so that each is a classifier on its own. A hand term counts only the samples in
which a hand is seen: a hand head without hands has no evidence to be graded on. A single-stream model has no
per-stream terms: the loss is plain (label-smoothed) cross-entropy, the CE baseline.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from bharnet.errors import ConfigError


def smoothed_nll(log_probs: torch.Tensor, target: torch.Tensor, smoothing: float) -> torch.Tensor:
    """Cross-entropy against (1 - e) one-hot + e uniform, from log-probabilities."""
    nll = -log_probs.gather(1, target[:, None]).squeeze(1)
    return ((1 - smoothing) * nll - smoothing * log_probs.mean(1)).mean()


@dataclass(frozen=True)
class LossConfig:
    body_weight: float = 1.0  # l_B, on the body (interactive) head
    hand_weight: float = 1.0  # l_H, on the hand (interactive) head
    expert_weight: float = 0.0  # on each expertized head of BHaRNet-E
    label_smoothing: float = 0.1

    def __post_init__(self) -> None:
        if not 0 <= self.label_smoothing < 1:
            raise ConfigError(f"loss.label_smoothing = {self.label_smoothing}; it must lie in [0, 1)")
        if min(self.body_weight, self.hand_weight, self.expert_weight) < 0:
            raise ConfigError("loss.body_weight, loss.hand_weight and loss.expert_weight must not be negative")


class BodyHandLoss(torch.nn.Module):
    """``CE(fused) + sum_k weight_k CE(head_k)`` over the model's auxiliary heads (none for one stream)."""

    def __init__(self, config: LossConfig, auxiliary_heads: tuple[str, ...]):
        super().__init__()
        self.smoothing = config.label_smoothing
        weights = {"body": config.body_weight, "hand": config.hand_weight,
                   "body_expert": config.expert_weight, "hand_expert": config.expert_weight}
        self.terms = {head: weights[head] for head in auxiliary_heads if weights[head] > 0}

    def forward(self, outputs: dict[str, torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        # a model trained through another fusion than the one that predicts hands that one over in training
        loss = smoothed_nll(outputs.get("fused_objective", outputs["fused"]), target, self.smoothing)
        for head, weight in self.terms.items():  # at most four stream terms
            per_sample = F.cross_entropy(outputs[head], target, label_smoothing=self.smoothing, reduction="none")
            if head.startswith("hand") and "hand_presence" in outputs:
                seen = (outputs["hand_presence"] > 0).to(per_sample.dtype)
                per_sample = per_sample * seen * (len(seen) / seen.sum().clamp(min=1))
            loss = loss + weight * per_sample.mean()
        return loss
