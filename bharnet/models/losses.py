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

CLASS_WEIGHTS = ("none", "balanced")


def smoothed_nll(log_probs: torch.Tensor, target: torch.Tensor, smoothing: float) -> torch.Tensor:
    """Per-sample cross-entropy against (1 - e) one-hot + e uniform, from log-probabilities."""
    nll = -log_probs.gather(1, target[:, None]).squeeze(1)
    return (1 - smoothing) * nll - smoothing * log_probs.mean(1)


def balanced_class_weights(counts: torch.Tensor) -> torch.Tensor:
    """n / (K n_k) per class k seen in training (K of them), 0 for a class with no training sample: every
    class then weighs as much in the loss as in a mean class accuracy."""
    counts = counts.to(torch.float32)
    seen = counts > 0
    return torch.where(seen, counts.sum() / (seen.sum() * counts.clamp(min=1)), 0.0)


@dataclass(frozen=True)
class LossConfig:
    body_weight: float = 1.0  # l_B, on the body (interactive) head
    hand_weight: float = 1.0  # l_H, on the hand (interactive) head
    expert_weight: float = 0.0  # on each expertized head of BHaRNet-E
    label_smoothing: float = 0.1
    # "balanced": each sample weighted by n / (K n_k) of its class in the training split, for unbalanced data
    # judged by mean class accuracy
    class_weights: str = "none"

    def __post_init__(self) -> None:
        if self.class_weights not in CLASS_WEIGHTS:
            raise ConfigError(f"loss.class_weights = {self.class_weights!r}; choose one of {', '.join(CLASS_WEIGHTS)}")
        if not 0 <= self.label_smoothing < 1:
            raise ConfigError(f"loss.label_smoothing = {self.label_smoothing}; it must lie in [0, 1)")
        if min(self.body_weight, self.hand_weight, self.expert_weight) < 0:
            raise ConfigError("loss.body_weight, loss.hand_weight and loss.expert_weight must not be negative")


class BodyHandLoss(torch.nn.Module):
    """``CE(fused) + sum_k weight_k CE(head_k)`` over the model's auxiliary heads (none for one stream), each a
    mean over the batch weighted per sample by its class weight (``class_counts``: the training split's samples
    per class, used when ``config.class_weights`` is balanced)."""

    def __init__(self, config: LossConfig, auxiliary_heads: tuple[str, ...], class_counts: torch.Tensor | None = None):
        super().__init__()
        self.smoothing = config.label_smoothing
        if config.class_weights == "balanced" and class_counts is None:
            raise ConfigError("loss.class_weights = balanced needs the training split's class counts")
        balanced = config.class_weights == "balanced"
        self.register_buffer("class_weight", balanced_class_weights(class_counts) if balanced else None)
        weights = {"body": config.body_weight, "hand": config.hand_weight,
                   "body_expert": config.expert_weight, "hand_expert": config.expert_weight}
        self.terms = {head: weights[head] for head in auxiliary_heads if weights[head] > 0}

    def forward(self, outputs: dict[str, torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        weights = (torch.ones(len(target), device=target.device) if self.class_weight is None
                   else self.class_weight[target])

        def mean(per_sample: torch.Tensor, graded: torch.Tensor | None = None) -> torch.Tensor:
            w = weights if graded is None else weights * graded
            return (per_sample * w).sum() / w.sum().clamp(min=1e-12)

        # a model trained through another fusion than the one that predicts hands that one over in training
        loss = mean(smoothed_nll(outputs.get("fused_objective", outputs["fused"]), target, self.smoothing))
        for head, weight in self.terms.items():  # at most four stream terms
            per_sample = F.cross_entropy(outputs[head], target, label_smoothing=self.smoothing, reduction="none")
            graded = None
            if head.startswith("hand") and "hand_presence" in outputs:  # only the samples with a hand seen
                graded = (outputs["hand_presence"] > 0).to(per_sample.dtype)
            loss = loss + weight * mean(per_sample, graded)
        return loss
