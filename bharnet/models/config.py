"""What a model is, as data: the variant name and every option the paper leaves open, with our defaults."""

from __future__ import annotations

from dataclasses import dataclass

from bharnet import fields
from bharnet.errors import ConfigError
from bharnet.models.attention import READERS, ROUTES
from bharnet.models.backbone import DEFAULT_STRIDE_BLOCKS, DEFAULT_WIDTHS, BackboneConfig
from bharnet.models.fusion import FUSIONS
from bharnet.models.reliability import RELIABILITIES

SINGLE_STREAM = ("body", "hand", "unified")
DUAL_STREAM = ("B", "P", "E")
VARIANTS = SINGLE_STREAM + DUAL_STREAM
POOLINGS = ("gap", "pam")


@dataclass(frozen=True)
class ModelConfig:
    """``variant``: body / hand (one stream, the baselines), unified (body + both hands in one graph),
    B (basic dual stream: GAP + FC per stream, logits summed), P (interactive branches with cross-attention,
    Noisy-OR fusion), E (P plus a shared trunk and expertized branches). ``pooling: pam`` puts the
    pooling-attention module in place of GAP on the interactive heads; E with PAM is the full BHaRNet.
    ``fusion``: sum of logits or Noisy-OR; unset, Noisy-OR for P and sum otherwise. ``reliability``: how much
    say the hand expert gets per sample (see :mod:`bharnet.models.reliability`); ``hand_stream_dropout``: the
    probability that a training sample's hand stream gets no say (r = 0), so the body learns to stand alone."""

    variant: str = "E"
    pooling: str = "gap"
    fusion: str | None = None
    # the fusion whose cross-entropy trains the experts (None: ``fusion``); the prediction always uses ``fusion``
    training_fusion: str | None = None
    reliability: str = "learned"
    hand_stream_dropout: float = 0.0
    # the fused term of the loss puts no gradient into the hand expert: it learns from its own cross-entropy
    # only, as a hand-only model does, while the body learns what the hands leave open
    pure_hand_expert: bool = False
    # backbone, per stream
    widths: tuple[int, ...] = DEFAULT_WIDTHS
    stride_blocks: tuple[int, ...] = DEFAULT_STRIDE_BLOCKS
    width_multiplier: float = 1.0
    hand_width_multiplier: float | None = None  # the hand stream's own width (None: width_multiplier)
    hand_frame_stride: int = 1  # the hand stream sees every k-th frame: 1/k of its compute
    depth: int | None = None
    temporal: str = "standard"  # standard | deformable
    # BHaRNet-E: the paper leaves both open
    trunk_blocks: int = 4  # blocks shared by a stream's expertized and interactive branches
    exchange_blocks: tuple[int, ...] = (7, 10)  # 1-based blocks after which BI and HI cross-attend
    exchange_routes: tuple[str, ...] = ("frame", "joint")
    # attention (exchange and PAM)
    pam_routes: tuple[str, ...] = ("frame", "joint", "channel")
    attention_readers: tuple[str, ...] = ("body", "hands")  # the streams that read the other (body, hands)
    attention_heads: int = 4
    attention_ratio: float = 0.25  # attention width / feature width
    channel_bins: int = 8  # temporal bins describing a channel token
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.fusion is None:
            object.__setattr__(self, "fusion", "noisy_or" if self.variant == "P" else "sum")
        for key, allowed in (("variant", VARIANTS), ("pooling", POOLINGS), ("fusion", FUSIONS),
                             ("objective_fusion", FUSIONS), ("reliability", RELIABILITIES)):
            if getattr(self, key) not in allowed:
                raise ConfigError(f"model.{key} = {getattr(self, key)!r}; choose one of {', '.join(allowed)}")
        if self.variant in SINGLE_STREAM and (self.pooling != "gap" or self.fusion != "sum"
                                              or self.objective_fusion != "sum"):
            raise ConfigError(f"model.variant = {self.variant} has one stream: use pooling gap and fusion sum")
        if self.hand_frame_stride < 1 or (self.hand_frame_stride > 1 and self.variant in SINGLE_STREAM):
            raise ConfigError(f"model.hand_frame_stride = {self.hand_frame_stride}: a positive integer, above 1 "
                              f"only for a model with a hand stream beside the body (model.variant = {self.variant})")
        if self.pure_hand_expert and self.variant in SINGLE_STREAM:
            raise ConfigError(f"model.pure_hand_expert needs two streams; model.variant = {self.variant} has one")
        blocks = self.backbone().num_blocks
        if self.variant in ("P", "E"):
            trunk = self.trunk_blocks if self.variant == "E" else 0
            if not 0 <= trunk < blocks:
                raise ConfigError(f"model.trunk_blocks = {self.trunk_blocks}; it must lie in 0..{blocks - 1}")
            bad = [b for b in self.exchange_blocks if not trunk < b <= blocks]
            if bad:
                raise ConfigError(
                    f"model.exchange_blocks {bad} lie outside the interactive branch (blocks {trunk + 1}..{blocks})"
                )
        for key in ("exchange_routes", "pam_routes"):
            bad = [r for r in getattr(self, key) if r not in ROUTES]
            if bad or not getattr(self, key):
                raise ConfigError(f"model.{key} = {list(getattr(self, key))}; choose from {', '.join(ROUTES)}")
        if not self.attention_readers or set(self.attention_readers) - set(READERS):
            raise ConfigError(f"model.attention_readers = {list(self.attention_readers)}; choose from "
                              f"{', '.join(READERS)}")
        if "channel" in self.exchange_routes:
            raise ConfigError("model.exchange_routes: the channel route only pools; use frame and/or joint")
        if self.attention_heads < 1 or self.attention_ratio <= 0 or self.channel_bins < 1:
            raise ConfigError("model.attention_heads, attention_ratio and channel_bins must be positive")
        for key in ("dropout", "hand_stream_dropout"):
            if not 0 <= getattr(self, key) < 1:
                raise ConfigError(f"model.{key} = {getattr(self, key)}; it must lie in [0, 1)")

    @property
    def objective_fusion(self) -> str:
        """The fusion whose cross-entropy trains the experts."""
        return self.training_fusion or self.fusion

    @property
    def dual_stream(self) -> bool:
        return self.variant in DUAL_STREAM

    @property
    def name(self) -> str:
        """Short display name: body, hand, unified, B, P, E+PAM, E+PAM-NoisyOR, P-sum, ... (the fusion is named
        where it is not the variant's default)."""
        name = self.variant + ("+PAM" if self.pooling == "pam" else "")
        default = "noisy_or" if self.variant == "P" else "sum"
        suffixes = {"sum": "-sum", "noisy_or": "-NoisyOR", "mixture": "-mixture"}
        return name + ("" if self.fusion == default else suffixes[self.fusion])

    def backbone(self, stream: str = "body") -> BackboneConfig:
        """The backbone of the ``body`` or ``hand`` stream (they differ only in width)."""
        width = self.hand_width_multiplier if stream == "hand" and self.hand_width_multiplier else None
        return BackboneConfig(
            self.widths, self.stride_blocks, width or self.width_multiplier, self.depth, self.temporal
        )

    @classmethod
    def from_dict(cls, values: dict | None) -> ModelConfig:
        return fields.build(cls, values, "model")

    def to_dict(self) -> dict:
        return fields.to_dict(self)
