"""NTU RGB+D body + hands: MediaPipe hands from the RGB video, each given to the Kinect body whose wrist is
nearest in the colour image (the .skeleton file's colorX, colorY), frames aligned by time. The same holds
for PKU-MMD and N-UCLA RGB wherever their skeletons carry colour-image joint positions.

The result is one sample in ``ntu25_hands67``: body joints 0-24 as Kinect 3D (metres), hands 25-45 (left)
and 46-66 (right) as MediaPipe image coordinates (x, y normalized, z relative): the hand stream normalizes
each hand to its wrist, so the two coordinate systems never mix inside one stream.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bharnet.data.sample import Sample
from bharnet.video.detectors import HAND_JOINTS

LAYOUT = "ntu25_hands67"
WRISTS = (6, 10)  # NTU 0-based: left wrist, right wrist
LEFT_FIRST, RIGHT_FIRST = 25, 46


def align_frames(source_frames: int, target_frames: int) -> np.ndarray:
    """For each target frame the source frame at the same time (video and skeleton span the same clip;
    NTU's usually have equal counts)."""
    if source_frames == target_frames:
        return np.arange(target_frames)
    return np.minimum(np.round(np.arange(target_frames) * source_frames / target_frames), source_frames - 1
                      ).astype(int)


def person_box(color_joints: np.ndarray, width: int, height: int, margin: float = 0.25,
               min_side: int = 96) -> tuple[int, int, int] | None:
    """Square (x0, y0, side) around one body's colour-image joints, widened by ``margin`` on each side so
    raised hands stay inside; None when the body is off-image or too small to hold a readable hand."""
    inside = (color_joints[:, 0] > 0) & (color_joints[:, 1] > 0)
    if inside.sum() < 2:
        return None
    low, high = color_joints[inside].min(0), color_joints[inside].max(0)
    center = (low + high) / 2
    side = int(max(high - low) * (1 + 2 * margin))
    if side < min_side:
        return None
    side = min(side, width, height)
    x0 = int(np.clip(center[0] - side / 2, 0, width - side))
    y0 = int(np.clip(center[1] - side / 2, 0, height - side))
    return x0, y0, side


def assign_hands(hands: Sequence[np.ndarray], wrists_px: np.ndarray, present: np.ndarray, width: int,
                 height: int, max_distance: float = 0.25) -> dict[tuple[int, int], np.ndarray]:
    """Map detected hands of one frame to (body, side) slots, side 0 = left, 1 = right.

    hands: (21, 3) arrays in normalized image coordinates. wrists_px: (M, 2, 2) Kinect wrist positions in
    colour-image pixels; present: (M,) whether each body is tracked in this frame. Pairs are taken nearest
    first, so each slot and each hand are used once; a hand farther than ``max_distance`` x the image
    diagonal from every free wrist belongs to nobody tracked and is dropped.
    """
    size = np.array([width, height], np.float64)
    diagonal = float(np.hypot(width, height))
    pairs = []
    for h, hand in enumerate(hands):
        wrist = hand[0, :2] * size
        for m in np.flatnonzero(present):
            for side in (0, 1):
                pairs.append((float(np.linalg.norm(wrist - wrists_px[m, side])), h, int(m), side))
    assigned: dict[tuple[int, int], np.ndarray] = {}
    used = set()
    for distance, h, m, side in sorted(pairs):
        if distance > max_distance * diagonal:
            break
        if h in used or (m, side) in assigned:
            continue
        assigned[(m, side)] = hands[h]
        used.add(h)
    return assigned


def ntu_body_hands(body: Sample, hands_per_frame: Sequence[Sequence[np.ndarray]], width: int,
                   height: int) -> Sample:
    """The Kinect bodies (from :func:`read_ntu_skeleton`) with the video's hands attached (see
    :func:`assign_hands`); ``hands_per_frame`` has one list of (21, 3) hands per video frame."""
    m, t = body.num_persons, body.num_frames
    keypoints = np.zeros((m, t, 67, 3), np.float32)
    scores = np.zeros((m, t, 67), np.float32)
    keypoints[:, :, :25] = body.keypoints
    scores[:, :, :25] = body.scores
    color = body.extras["color_xy"]  # (M, T, 25, 2)
    video_index = align_frames(len(hands_per_frame), t)
    for frame in range(t):
        present = body.scores[:, frame].any(1)
        wrists = color[:, frame, list(WRISTS)]
        for (person, side), hand in assign_hands(hands_per_frame[video_index[frame]], wrists, present,
                                                 width, height).items():
            first = LEFT_FIRST if side == 0 else RIGHT_FIRST
            keypoints[person, frame, first:first + HAND_JOINTS] = hand
            scores[person, frame, first:first + HAND_JOINTS] = 1.0
    meta = {**body.meta, "hands": "MediaPipe Hands from RGB, nearest Kinect wrist"}
    return Sample(keypoints, scores, body.label, body.name, meta).validate(body.name, 67)
