"""Building a model from its config and a description of the inputs it will get."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from bharnet.errors import ConfigError
from bharnet.models.baselines import SingleStream
from bharnet.models.bharnet import BHaRNet
from bharnet.models.config import ModelConfig
from bharnet.skeleton import Layout
from bharnet.skeleton.layouts import body_with_hands


@dataclass(frozen=True)
class InputSpec:
    """The two stream inputs: body (N, C, T, Vb, persons) and hands (N, C, T, Vh, hand_instances).

    Built from a dataset and its preprocessing by :mod:`bharnet.engine.inputs`, so models never read data."""

    source_layout: str
    body_layout: Layout
    hand_layout: Layout
    channels: int
    persons: int
    hand_instances: int
    num_classes: int
    has_hands: bool

    def example(self, batch: int = 2, frames: int = 64, generator: torch.Generator | None = None,
                persons_seen: int | None = None):
        """Random (body, hands, body_mask, hand_mask) of this shape, for shape checks and measurements:
        everything seen, or only the first ``persons_seen`` persons and their hands (the others absent: zeros,
        masked), as in an NTU clip of one person in a two-person input."""
        body = torch.randn(batch, self.channels, frames, self.body_layout.num_joints, self.persons,
                           generator=generator)
        joints = self.hand_layout.num_joints if self.has_hands else 0
        hands = torch.randn(batch, self.channels, frames, joints, self.hand_instances, generator=generator)
        seen_body = torch.ones(batch, frames, self.persons)
        seen_hands = torch.full((batch, frames, self.hand_instances), float(self.has_hands))
        if persons_seen is not None:  # hands are grouped by person
            seen_body[:, :, persons_seen:] = 0
            seen_hands[:, :, persons_seen * (self.hand_instances // self.persons):] = 0
            body, hands = body * seen_body[:, None, :, None], hands * seen_hands[:, None, :, None]
        return body, hands, seen_body, seen_hands


def build_model(config: ModelConfig, spec: InputSpec) -> nn.Module:
    needs_hands = config.variant != "body"
    if needs_hands and not spec.has_hands:
        raise ConfigError(
            f"model.variant = {config.variant} needs hand joints, and layout {spec.source_layout} has none: "
            "use variant body, or estimate hands from the RGB video first (bharnet extract)"
        )
    backbone = config.backbone("body")
    if config.variant == "body":
        return SingleStream("body", spec.body_layout, spec.channels, spec.persons, spec.num_classes, backbone,
                            config.dropout)
    if config.variant == "hand":
        return SingleStream("hand", spec.hand_layout, spec.channels, spec.hand_instances, spec.num_classes,
                            config.backbone("hand"), config.dropout)
    if config.variant == "unified":
        if spec.hand_instances != spec.persons:
            raise ConfigError("model.variant = unified reads hands as one 42-joint graph per person: "
                              "set data.hand_arrangement: graph42")
        layout = body_with_hands(f"{spec.body_layout.name}+hands", spec.body_layout, "unified whole-body graph")
        return SingleStream("unified", layout, spec.channels, spec.persons, spec.num_classes, backbone,
                            config.dropout)
    return BHaRNet(spec.body_layout, spec.hand_layout, spec.channels, spec.persons, spec.hand_instances,
                   spec.num_classes, config)
