"""A procedurally generated, clearly synthetic body+hand dataset in the MediaPipe Holistic layout.

Every class makes the same right-arm wave; only the fingers differ. A body-only model therefore cannot
tell the classes apart from the arm, while a hand expert can: the situation BHaRNet is built for.
Each synthetic performer has its own size, position, speed and hand-detection rate, so splitting by
performer is a real cross-subject test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bharnet.data.sample import Sample

CLASSES = ("wave with open hand", "wave with fist", "wave pointing", "wave counting fingers")
LAYOUT = "mediapipe_holistic75"

# A standing person in normalized image coordinates (y grows downwards), MediaPipe Pose order.
_POSE = np.array([
    [0.50, 0.20], [0.49, 0.19], [0.48, 0.19], [0.47, 0.19], [0.51, 0.19], [0.52, 0.19], [0.53, 0.19],
    [0.46, 0.20], [0.54, 0.20], [0.49, 0.22], [0.51, 0.22], [0.43, 0.30], [0.57, 0.30], [0.40, 0.42],
    [0.60, 0.42], [0.39, 0.53], [0.61, 0.53], [0.38, 0.55], [0.62, 0.55], [0.385, 0.555], [0.615, 0.555],
    [0.39, 0.545], [0.61, 0.545], [0.45, 0.55], [0.55, 0.55], [0.45, 0.70], [0.55, 0.70], [0.45, 0.85],
    [0.55, 0.85], [0.44, 0.87], [0.56, 0.87], [0.46, 0.89], [0.54, 0.89],
])
# An open right hand, palm to the camera, fingers up, wrist at the origin; units of palm length.
_HAND = np.array([
    [0.00, 0.00], [-0.25, -0.20], [-0.45, -0.40], [-0.60, -0.60], [-0.70, -0.80],
    [-0.20, -0.90], [-0.22, -1.30], [-0.23, -1.55], [-0.24, -1.75],
    [0.00, -1.00], [0.00, -1.45], [0.00, -1.72], [0.00, -1.95],
    [0.20, -0.92], [0.22, -1.32], [0.23, -1.57], [0.24, -1.77],
    [0.38, -0.80], [0.42, -1.10], [0.44, -1.30], [0.46, -1.45],
])
_FINGERS = [range(1, 5), range(5, 9), range(9, 13), range(13, 17), range(17, 21)]  # thumb .. pinky


def _curls(label: int, phase: np.ndarray) -> np.ndarray:
    """(T, 5) curl of each finger in [0, 1] over time for a class."""
    t = len(phase)
    if label == 0:
        return np.zeros((t, 5))
    if label == 1:
        return np.ones((t, 5))
    if label == 2:
        return np.tile([1.0, 0.0, 1.0, 1.0, 1.0], (t, 1))
    # counting: fingers open one after another along the clip
    return 1.0 - np.clip(phase[:, None] * 6 - np.arange(5)[None], 0, 1)


def _hand_shape(curls: np.ndarray) -> np.ndarray:
    """(T, 21, 2) hand points for per-frame finger curls: a curled finger folds towards the palm."""
    hand = np.repeat(_HAND[None], len(curls), axis=0).copy()
    for finger, joints in enumerate(_FINGERS):
        base = _HAND[joints[0]]
        for depth, joint in enumerate(joints[1:], 1):
            c = curls[:, finger, None]
            folded = base + (_HAND[joint] - base) * (1 - 0.85 * c) + c * np.array([0.0, 0.25 * depth])
            hand[:, joint] = folded
    return hand


@dataclass(frozen=True)
class Performer:
    scale: float
    offset: tuple[float, float]
    speed: float
    hand_detection: float


def _performers(count: int, rng: np.random.Generator) -> list[Performer]:
    return [
        Performer(
            scale=rng.uniform(0.8, 1.2),
            offset=tuple(rng.uniform(-0.08, 0.08, 2)),
            speed=rng.uniform(0.7, 1.4),
            hand_detection=rng.uniform(0.6, 0.95),
        )
        for _ in range(count)
    ]


def make_sample(label: int, performer: Performer, frames: int, rng: np.random.Generator, name: str) -> Sample:
    t = np.arange(frames)
    phase = t / (frames - 1)
    keypoints = np.zeros((frames, 75, 3), np.float32)
    body = np.repeat(_POSE[None], frames, axis=0)
    # The shared motion: the right forearm waves around the raised elbow.
    angle = np.pi * 0.9 + 0.45 * np.sin(2 * np.pi * performer.speed * 2 * phase + rng.uniform(0, 2 * np.pi))
    elbow = np.array([0.66, 0.30])
    body[:, 14] = elbow
    wrist = elbow + 0.13 * np.stack([np.sin(angle), np.cos(angle)], axis=1)
    body[:, 16] = wrist
    for tip in (18, 20, 22):
        body[:, tip] = wrist + (wrist - elbow) * 0.15
    palm = 0.045
    right = wrist[:, None] + palm * _hand_shape(_curls(label, phase))
    left = body[:, 15][:, None] + palm * _HAND[None] * np.array([-1.0, -1.0])  # resting, fingers down
    keypoints[:, :33, :2] = body
    keypoints[:, 33:54, :2] = left
    keypoints[:, 54:75, :2] = right
    keypoints[..., :2] = (keypoints[..., :2] - 0.5) * performer.scale + 0.5 + np.array(performer.offset)
    keypoints[..., :2] += rng.normal(scale=0.003, size=keypoints[..., :2].shape)
    keypoints[..., 2] = rng.normal(scale=0.01, size=keypoints.shape[:2])
    scores = np.ones((frames, 75), np.float32)
    for hand in (slice(33, 54), slice(54, 75)):
        missing = rng.random(frames) > performer.hand_detection
        scores[missing, hand] = 0
        keypoints[missing, hand] = 0
    meta = {"group": name.split("_")[0], "synthetic": 1}
    return Sample(keypoints[None], scores[None], label, name, meta)


def make_synthetic_dataset(
    performers: int = 6, per_class: int = 8, frames: int = 48, seed: int = 0
) -> tuple[list[Sample], dict[str, list[int]]]:
    """Samples and splits: one ``group/performerK`` split each, and train (first two thirds of the
    performers) / test (the rest) by performer."""
    rng = np.random.default_rng(seed)
    people = _performers(performers, rng)
    samples = [
        make_sample(label, person, frames, rng, f"performer{p}_{label}_{k:02d}")
        for p, person in enumerate(people)
        for label in range(len(CLASSES))
        for k in range(per_class)
    ]
    train_people = {f"performer{p}" for p in range(max(1, performers * 2 // 3))}
    splits = {
        "train": [i for i, s in enumerate(samples) if s.meta["group"] in train_people],
        "test": [i for i, s in enumerate(samples) if s.meta["group"] not in train_people],
    }
    for p in range(performers):
        splits[f"group/performer{p}"] = [i for i, s in enumerate(samples) if s.meta["group"] == f"performer{p}"]
    return samples, splits
