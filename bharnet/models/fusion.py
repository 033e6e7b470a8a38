"""Fusing the body expert's and the hand expert's logits into one class distribution (log-probabilities)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

FUSIONS = ("sum", "noisy_or", "mixture")


def log_complement_softmax(logits: torch.Tensor) -> torch.Tensor:
    """log(1 - softmax(z)_k) = logsumexp_{j != k} z_j - logsumexp_j z_j, finite even when p_k rounds to 1."""
    k = logits.shape[-1]
    others = logits.unsqueeze(-2).expand(*logits.shape[:-1], k, k)
    eye = torch.eye(k, dtype=torch.bool, device=logits.device)
    others = others.masked_fill(eye, float("-inf"))
    return torch.logsumexp(others, dim=-1) - torch.logsumexp(logits, dim=-1, keepdim=True)


def log_weight(weight: torch.Tensor) -> torch.Tensor:
    """log w for w in [0, 1], exactly -inf at w = 0 (the term vanishes) with a finite gradient there."""
    return torch.where(weight > 0, torch.log(weight.clamp(min=1e-30)), float("-inf"))


def noisy_or_log_probs(body_logits: torch.Tensor, hand_logits: torch.Tensor,
                       reliability: torch.Tensor | None = None) -> torch.Tensor:
    """Renormalized Noisy-OR with the hand's evidence discounted by its reliability r (N,):
    q_k = 1 - (1 - p_B,k)(1 - r p_H,k) = p_B,k + r p_H,k (1 - p_B,k), then q / sum(q). With r = 0 the result is
    p_B itself. Written in log space from the second form, so no 1 - x of a number near 1 is ever taken.
    """
    log_body, log_hand = F.log_softmax(body_logits, -1), F.log_softmax(hand_logits, -1)
    if reliability is not None:
        # log r, and -inf (no hand term at all) where r = 0; the where keeps the gradient finite there
        log_hand = log_hand + log_weight(reliability)[:, None]
    log_q = torch.logaddexp(log_body, log_hand + log_complement_softmax(body_logits))
    return log_q - torch.logsumexp(log_q, dim=-1, keepdim=True)


def noisy_or_probs(body_logits: torch.Tensor, hand_logits: torch.Tensor) -> torch.Tensor:
    """The unnormalized Noisy-OR 1 - (1 - p_B)(1 - p_H), for analysis."""
    return 1 - (1 - body_logits.softmax(-1)) * (1 - hand_logits.softmax(-1))


def mixture_log_probs(body_logits: torch.Tensor, hand_logits: torch.Tensor,
                      reliability: torch.Tensor | None = None) -> torch.Tensor:
    """The reliability decides which expert speaks: q = r p_H + (1 - r) p_B. Trusted hands (r near 1) give the
    hand expert the say, so a body unlike any seen in training cannot outvote it; with r = 0 it is p_B exactly.
    In log space; r = 1 and r = 0 drop the other term entirely (-inf), keeping gradients finite."""
    log_body, log_hand = F.log_softmax(body_logits, -1), F.log_softmax(hand_logits, -1)
    if reliability is None:
        return log_hand
    r = reliability[:, None]
    return torch.logaddexp(log_weight(1 - r) + log_body, log_weight(r) + log_hand)


def fuse(body_logits: torch.Tensor, hand_logits: torch.Tensor, method: str,
         reliability: torch.Tensor | None = None) -> torch.Tensor:
    """Fused log-probabilities: ``sum`` is softmax(z_B + r z_H), ``noisy_or`` the renormalized Noisy-OR with the
    hand evidence scaled by r, ``mixture`` r p_H + (1 - r) p_B. ``reliability`` r (N,) in [0, 1]; None is
    r = 1."""
    if method == "mixture":
        return mixture_log_probs(body_logits, hand_logits, reliability)
    if method == "sum":
        scaled = hand_logits if reliability is None else reliability[:, None] * hand_logits
        return F.log_softmax(body_logits + scaled, -1)
    return noisy_or_log_probs(body_logits, hand_logits, reliability)
