"""MediaPipe detectors (the ``video`` extra, mediapipe 0.10.14, whose wheels ship the models).

``HolisticDetector``: one person, pose 33 + both hands 21 (+ face 468), in ``mediapipe_holistic75`` order.
Holistic finds hands from the pose (a crop around each wrist), which works where a person is too small in
the frame for a whole-frame palm detector, as in NTU RGB+D.
Coordinates are MediaPipe's: x, y normalized to the image width and height, z relative depth.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np

from bharnet.errors import BharnetError

POSE_JOINTS, HAND_JOINTS, FACE_POINTS = 33, 21, 468
LEFT_HAND, RIGHT_HAND = slice(33, 54), slice(54, 75)


def require_mediapipe():
    # MediaPipe's C++ and protobuf start-up chatter would bury the progress bars
    os.environ.setdefault("GLOG_minloglevel", "2")
    warnings.filterwarnings("ignore", message="SymbolDatabase.GetPrototype")
    try:
        import mediapipe
    except ImportError:
        raise BharnetError("keypoint extraction needs MediaPipe: pip install 'bharnet[video]' "
                           "(mediapipe 0.10.14)") from None
    return mediapipe


def _landmarks(landmarks, count: int, visibility: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(count, 3) x y z and (count,) scores: visibility for pose, 1 for a detected hand, 0 when absent."""
    if landmarks is None:
        return np.zeros((count, 3), np.float32), np.zeros(count, np.float32)
    points = np.array([(p.x, p.y, p.z) for p in landmarks.landmark], np.float32)
    scores = (np.clip([p.visibility for p in landmarks.landmark], 1e-3, 1) if visibility
              else np.ones(count)).astype(np.float32)
    return points, scores


@dataclass
class HolisticFrame:
    keypoints: np.ndarray  # (75, 3)
    scores: np.ndarray  # (75,), 0 = not detected
    face: np.ndarray  # (468, 3), zeros when no face

    @property
    def has_person(self) -> bool:
        return bool(self.scores[:POSE_JOINTS].any())

    @property
    def hands_found(self) -> int:
        return int(self.scores[LEFT_HAND].any()) + int(self.scores[RIGHT_HAND].any())


class HolisticDetector:
    """MediaPipe Holistic in tracking mode: call it on consecutive frames of one video (BGR)."""

    def __init__(self, model_complexity: int = 1):
        mp = require_mediapipe()
        self._holistic = mp.solutions.holistic.Holistic(static_image_mode=False, model_complexity=model_complexity)

    def __call__(self, frame_bgr: np.ndarray) -> HolisticFrame:
        result = self._holistic.process(np.ascontiguousarray(frame_bgr[..., ::-1]))
        pose, pose_scores = _landmarks(result.pose_landmarks, POSE_JOINTS, visibility=True)
        left, left_scores = _landmarks(result.left_hand_landmarks, HAND_JOINTS)
        right, right_scores = _landmarks(result.right_hand_landmarks, HAND_JOINTS)
        face, _ = _landmarks(result.face_landmarks, FACE_POINTS)
        return HolisticFrame(np.concatenate([pose, left, right]), np.concatenate([pose_scores, left_scores,
                                                                                  right_scores]), face)

    def close(self) -> None:
        self._holistic.close()

    def __enter__(self) -> HolisticDetector:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
