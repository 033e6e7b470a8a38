"""Skeleton and label overlays on video frames, written as a video (and a PNG of one frame)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bharnet.skeleton import body_hand_split, get_layout
from bharnet.video.frames import VideoError, require_cv2

BODY_COLOR, HAND_COLOR, TEXT_COLOR = (235, 160, 40), (40, 140, 255), (255, 255, 255)  # BGR


def draw_overlay(frame: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, layout_name: str,
                 label: str) -> np.ndarray:
    """A copy of ``frame`` with the skeleton (normalized image coordinates) and ``label`` drawn on it."""
    cv2 = require_cv2()
    out = frame.copy()
    height, width = out.shape[:2]
    layout = get_layout(layout_name)
    split = body_hand_split(layout_name)
    hands = set(split.left_hand + split.right_hand)
    points = np.round(keypoints[:, :2] * [width, height]).astype(int)
    thickness = max(1, round(height / 360))
    for child, parent in layout.edges:
        if scores[child] > 0 and scores[parent] > 0:
            color = HAND_COLOR if child in hands else BODY_COLOR
            cv2.line(out, tuple(points[child]), tuple(points[parent]), color, thickness, cv2.LINE_AA)
    for joint in np.flatnonzero(scores > 0):
        cv2.circle(out, tuple(points[joint]), thickness + 1, HAND_COLOR if joint in hands else BODY_COLOR, -1)
    if label:
        scale = height / 720
        (text_w, text_h), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
        cv2.rectangle(out, (0, 0), (text_w + 20, text_h + 20), (0, 0, 0), -1)
        cv2.putText(out, label, (10, text_h + 10), cv2.FONT_HERSHEY_SIMPLEX, scale, TEXT_COLOR, 2, cv2.LINE_AA)
    return out


class VideoWriter:
    """An mp4 (or avi) writer that fails with the path named when the codec or folder is unusable."""

    def __init__(self, path: Path, fps: float, width: int, height: int):
        cv2 = require_cv2()
        path.parent.mkdir(parents=True, exist_ok=True)
        codec = "mp4v" if path.suffix.lower() in (".mp4", ".m4v", ".mov") else "MJPG"
        self.path = path
        self._writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, (width, height))
        if not self._writer.isOpened():
            raise VideoError(path, f"cannot be written (codec {codec})")

    def write(self, frame: np.ndarray) -> None:
        self._writer.write(frame)

    def close(self) -> None:
        self._writer.release()


def save_png(path: Path, frame: np.ndarray) -> None:
    cv2 = require_cv2()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), frame):
        raise VideoError(path, "cannot be written as a PNG")
