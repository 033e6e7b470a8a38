"""Models: the DeGCN/CTR-GCN-style stream backbone, BHaRNet (B, E, PAM; sum or Noisy-OR fusion), the
single-stream baselines, and the losses."""

from bharnet.models.config import ModelConfig
from bharnet.models.factory import InputSpec, build_model
from bharnet.models.losses import BodyHandLoss, LossConfig

__all__ = ["BodyHandLoss", "InputSpec", "LossConfig", "ModelConfig", "build_model"]
