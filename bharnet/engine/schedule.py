"""Learning-rate schedule: linear warm-up, then cosine decay, stepped every iteration."""

from __future__ import annotations

import math

import torch

from bharnet.config import ScheduleConfig


def lr_factor(step: int, steps_per_epoch: int, config: ScheduleConfig) -> float:
    """Multiplier of the base learning rate after ``step`` optimizer steps."""
    warmup = config.effective_warmup_epochs * steps_per_epoch
    total = max(config.epochs * steps_per_epoch, 1)
    if step < warmup:
        return (step + 1) / warmup
    progress = min((step - warmup) / max(total - warmup, 1), 1.0)
    return config.min_lr_ratio + (1 - config.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def make_scheduler(optimizer: torch.optim.Optimizer, steps_per_epoch: int, config: ScheduleConfig):
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(step, steps_per_epoch, config))


def make_optimizer(model: torch.nn.Module, config) -> torch.optim.Optimizer:
    """SGD with Nesterov momentum or AdamW; no weight decay on biases, norms and gates (1-d parameters)."""
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() <= 1]
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if config.name == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov)
    return torch.optim.AdamW(groups, lr=config.lr)
