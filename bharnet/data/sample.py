"""The one sample type every reader returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bharnet.errors import DataFormatError


@dataclass
class Sample:
    """One action instance in its source layout.

    keypoints: (M, T, V, C) float32, C = 3 (x, y, z) or 2 (x, y); an absent person/joint is zeros.
    scores: (M, T, V) float32 confidence in [0, 1]; 0 marks a missing joint.
    label: 0-based class index. name: unique sample name. meta: small JSON-able facts (view, subject,
    group, ...). extras: reader-specific arrays kept in memory only (e.g. NTU colour-image joint positions).
    """

    keypoints: np.ndarray
    scores: np.ndarray
    label: int
    name: str
    meta: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def num_frames(self) -> int:
        return self.keypoints.shape[1]

    @property
    def num_persons(self) -> int:
        return self.keypoints.shape[0]

    def validate(self, source: str | Path, num_joints: int | None = None) -> Sample:
        """Check shapes and values; raise DataFormatError naming ``source`` on the first problem."""
        kp, sc = self.keypoints, self.scores
        if kp.ndim != 4 or kp.shape[-1] not in (2, 3):
            raise DataFormatError(source, f"{self.name}: keypoints must be (M, T, V, 2|3), got {kp.shape}")
        if sc.shape != kp.shape[:3]:
            raise DataFormatError(source, f"{self.name}: scores {sc.shape} do not match keypoints {kp.shape}")
        if kp.shape[0] == 0 or kp.shape[1] == 0:
            raise DataFormatError(source, f"{self.name}: no persons or no frames (keypoints {kp.shape})")
        if num_joints is not None and kp.shape[2] != num_joints:
            raise DataFormatError(source, f"{self.name}: {kp.shape[2]} joints, the layout has {num_joints}")
        if not (np.isfinite(kp).all() and np.isfinite(sc).all()):
            raise DataFormatError(source, f"{self.name}: keypoints or scores contain NaN or infinity")
        if self.label < 0:
            raise DataFormatError(source, f"{self.name}: negative label {self.label}")
        return self
