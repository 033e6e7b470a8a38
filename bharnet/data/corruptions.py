"""Test-time corruptions of a sample in its source layout, for robustness evaluation.

Each acts before the preprocessing pipeline, where a real sensor or pose estimator would fail:
``noise`` adds Gaussian jitter to every detected joint, its standard deviation a fraction of the
person's size (``hand_noise`` and ``body_noise``: to the hand joints only, or to the body joints only, in
the same unit); ``frame_drop`` removes a fraction of the frames (the pipeline then samples from what is
left, as it would from a stuttering stream); ``hands_missing`` removes both hands in a fraction of frames,
as a hand detector that loses them.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from bharnet.data.sample import Sample
from bharnet.errors import ConfigError
from bharnet.skeleton import BodyHandSplit

KINDS = ("noise", "hand_noise", "body_noise", "frame_drop", "hands_missing")
NOISE_KINDS = ("noise", "hand_noise", "body_noise")
DEFAULT_LEVELS = {
    "noise": (0.0, 0.01, 0.02, 0.05, 0.1),
    "hand_noise": (0.0, 0.01, 0.02, 0.05),
    "body_noise": (0.0, 0.01, 0.02, 0.05),
    "frame_drop": (0.0, 0.1, 0.2, 0.3, 0.4, 0.5),
    "hands_missing": (0.0, 0.25, 0.5, 0.75, 1.0),
}
XLABELS = {
    "noise": "keypoint noise (std / person size)",
    "hand_noise": "noise on the hands only (std / person size)",
    "body_noise": "noise on the body only (std / person size)",
    "frame_drop": "fraction of frames dropped",
    "hands_missing": "fraction of frames without hands",
}


def person_size(keypoints: np.ndarray, scores: np.ndarray) -> float:
    """Median over frames of the diagonal of the detected joints' bounding box (first person)."""
    diagonals = []
    for frame, present in zip(keypoints[0], scores[0] > 0, strict=True):
        if present.sum() >= 2:
            points = frame[present]
            diagonals.append(np.linalg.norm(points.max(0) - points.min(0)))
    return float(np.median(diagonals)) if diagonals else 1.0


@dataclasses.dataclass(frozen=True)
class Corruption:
    kind: str
    level: float
    split: BodyHandSplit

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"corruption {self.kind!r}; choose one of {', '.join(KINDS)}")
        if self.level < 0 or (self.kind not in NOISE_KINDS and self.level > 1):
            raise ConfigError(f"{self.kind} level {self.level}: it must lie in [0, 1]")
        if self.kind in ("hands_missing", "hand_noise", "body_noise") and not self.split.has_hands:
            raise ConfigError(f"{self.kind}: layout {self.split.source} has no hand joints")

    def noisy_joints(self, joints: int) -> np.ndarray:
        """Which joints the noise kinds jitter."""
        chosen = np.zeros(joints, bool)
        hands = list(self.split.left_hand + self.split.right_hand)
        if self.kind == "hand_noise":
            chosen[hands] = True
        elif self.kind == "body_noise":
            chosen[list(self.split.body)] = True
        else:
            chosen[:] = True
        return chosen

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        if self.level == 0:
            return sample
        keypoints, scores = sample.keypoints, sample.scores
        if self.kind in NOISE_KINDS:
            sigma = self.level * person_size(keypoints, scores)
            jitter = rng.normal(0.0, sigma, keypoints.shape).astype(np.float32)
            chosen = (scores > 0) & self.noisy_joints(keypoints.shape[2])
            keypoints = np.where(chosen[..., None], keypoints + jitter, keypoints)
        elif self.kind == "frame_drop":
            frames = keypoints.shape[1]
            keep = np.sort(rng.permutation(frames)[: max(1, round(frames * (1 - self.level)))])
            keypoints, scores = keypoints[:, keep], scores[:, keep]
        else:
            lost = np.flatnonzero(rng.random(keypoints.shape[1]) < self.level)[:, None]
            hand_joints = np.array(self.split.left_hand + self.split.right_hand)[None]
            keypoints, scores = keypoints.copy(), scores.copy()
            keypoints[:, lost, hand_joints] = 0
            scores[:, lost, hand_joints] = 0
        return dataclasses.replace(sample, keypoints=keypoints, scores=scores)
