"""MediaPipe exports in the tutorial layout ACTION/SEQ/FRAME.npy, one flat vector per frame.

Every vector layout is decoded into ``mediapipe_holistic75`` (pose 0-32, left hand 33-53, right hand 54-74),
so all MediaPipe sources share one skeleton and one hand layout; the face mesh is dropped.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bharnet.data.sample import Sample
from bharnet.data.source import Source, holdout_splits
from bharnet.errors import NUMPY_FILE_ERRORS, ConfigError, DataFormatError

LAYOUT = "mediapipe_holistic75"
FLOAT32_MAX = float(np.finfo(np.float32).max)  # samples are float32: larger values would become infinity
NUM_JOINTS = 75
_FIRST_JOINT = {"pose": 0, "left": 33, "right": 54}


@dataclass(frozen=True)
class Segment:
    part: str  # pose, face, left, right
    points: int
    values: int  # 3 (x y z) or 4 (x y z visibility)


@dataclass(frozen=True)
class FrameVector:
    """The order of one exported frame vector; its length identifies it."""

    name: str
    segments: tuple[Segment, ...]
    description: str

    @property
    def length(self) -> int:
        return sum(s.points * s.values for s in self.segments)


_POSE = Segment("pose", 33, 4)
FRAME_VECTORS = {
    v.length: v
    for v in (
        FrameVector("1662", (_POSE, Segment("face", 468, 3), Segment("left", 21, 3), Segment("right", 21, 3)),
                    "pose 33x(x,y,z,vis) + face 468x3 + left hand 21x3 + right hand 21x3"),
        FrameVector("258", (_POSE, Segment("left", 21, 3), Segment("right", 21, 3)),
                    "pose 33x(x,y,z,vis) + left hand 21x3 + right hand 21x3"),
        FrameVector("1704", (_POSE, Segment("face", 468, 3), Segment("left", 21, 4), Segment("right", 21, 4)),
                    "pose 33x4 + face 468x3 + left hand 21x4 + right hand 21x4"),
        FrameVector("2172", (_POSE, Segment("face", 468, 4), Segment("left", 21, 4), Segment("right", 21, 4)),
                    "pose 33x4 + face 468x4 + left hand 21x4 + right hand 21x4"),
        # MSL-150: checked on its files that the 25 upper-body pose points come first, then the hand whose
        # wrist sits on pose landmark 15 (left), then the one on landmark 16 (right).
        FrameVector("226", (Segment("pose", 25, 4), Segment("left", 21, 3), Segment("right", 21, 3)),
                    "MSL-150: pose 25x(x,y,z,vis) + left hand 21x3 + right hand 21x3"),
    )
}


def frame_vector(name_or_length: str | int) -> FrameVector:
    try:
        return FRAME_VECTORS[int(name_or_length)]
    except (KeyError, ValueError):
        known = ", ".join(str(k) for k in FRAME_VECTORS)
        raise ConfigError(f"unknown MediaPipe frame vector {name_or_length!r}; known lengths: {known}") from None


def decode_frames(frames: np.ndarray, vector: FrameVector) -> tuple[np.ndarray, np.ndarray]:
    """(T, length) vectors -> keypoints (T, 75, 3) and scores (T, 75).

    Pose score = its visibility; a hand (or pose) whose values are all zero in a frame was not detected
    and gets score 0.
    """
    t = len(frames)
    keypoints = np.zeros((t, NUM_JOINTS, 3), dtype=np.float32)
    scores = np.zeros((t, NUM_JOINTS), dtype=np.float32)
    start = 0
    for seg in vector.segments:
        block = frames[:, start : start + seg.points * seg.values].reshape(t, seg.points, seg.values)
        start += seg.points * seg.values
        if seg.part not in _FIRST_JOINT:
            continue
        first = _FIRST_JOINT[seg.part]
        joints = slice(first, first + seg.points)
        keypoints[:, joints] = block[..., :3]
        detected = np.any(block != 0, axis=(1, 2))[:, None]
        if seg.part == "pose":
            scores[:, joints] = np.where(detected, np.clip(block[..., 3], 0, 1), 0)
        else:
            scores[:, joints] = detected
    return keypoints, scores


def _frame_order(path: Path) -> tuple[int, int | str]:
    return (0, int(path.stem)) if path.stem.isdigit() else (1, path.stem)


def read_sequence(folder: str | Path, label: int, vector: FrameVector | None = None) -> Sample:
    """One SEQ folder of FRAME.npy vectors as a Sample (1, T, 75, 3)."""
    folder = Path(folder)
    files = sorted(folder.glob("*.npy"), key=_frame_order)
    if not files:
        raise DataFormatError(folder, "no .npy frame files in this sequence folder")
    rows = []
    for file in files:
        try:
            # memory-mapped first: a damaged header claiming a huge shape fails on the file size, not in RAM
            row = np.array(np.load(file, mmap_mode="r", allow_pickle=False))
        except NUMPY_FILE_ERRORS as err:
            raise DataFormatError(file, f"not a readable .npy array (empty, truncated, damaged?): {err}") from None
        if row.dtype.kind not in "iuf":
            raise DataFormatError(file, f"expected real numbers, found dtype {row.dtype}")
        if row.ndim != 1:
            raise DataFormatError(file, f"expected one flat vector per frame, got shape {row.shape}")
        if vector is None:
            if row.size not in FRAME_VECTORS:
                known = ", ".join(str(k) for k in FRAME_VECTORS)
                raise DataFormatError(file, f"vector length {row.size} matches no known layout ({known})")
            vector = FRAME_VECTORS[row.size]
        if row.size != vector.length:
            raise DataFormatError(file, f"vector length {row.size}, expected {vector.length} (layout {vector.name})")
        if not np.isfinite(row).all():
            raise DataFormatError(file, "frame vector contains NaN or infinity")
        if np.abs(row).max(initial=0) > FLOAT32_MAX:
            raise DataFormatError(file, "frame vector holds a value beyond the float32 range (damaged?)")
        rows.append(row)
    keypoints, scores = decode_frames(np.stack(rows), vector)
    action, sequence = folder.parent.name, folder.name
    meta = {"action": action, "sequence": sequence, "vector": vector.name}
    return Sample(keypoints[None], scores[None], label, f"{action}/{sequence}", meta).validate(folder, NUM_JOINTS)


def _read_item(item: tuple[Path, int], vector: FrameVector | None) -> list[Sample]:
    folder, label = item
    return [read_sequence(folder, label, vector)]


def scan(path: str | Path, vector: str | int | None = None, test_fraction: float = 0.2, seed: int = 0) -> Source:
    """ACTION/SEQ/FRAME.npy under ``path``; classes are the ACTION folders in sorted order."""
    root = Path(path)
    if not root.is_dir():
        raise DataFormatError(root, "expected a folder ACTION/SEQ/FRAME.npy")
    actions = sorted(p for p in root.iterdir() if p.is_dir())
    items = [
        (seq, label)
        for label, action in enumerate(actions)
        for seq in sorted((p for p in action.iterdir() if p.is_dir()), key=_frame_order)
    ]
    if not items:
        raise DataFormatError(root, "no ACTION/SEQ folders found")
    chosen = frame_vector(vector) if vector is not None else None
    return Source(
        format="mediapipe",
        path=root,
        layout=LAYOUT,
        classes=[a.name for a in actions],
        items=items,
        read_item=functools.partial(_read_item, vector=chosen),
        make_splits=functools.partial(holdout_splits, test_fraction=test_fraction, seed=seed),
        options={"vector": chosen.name if chosen else "auto"},
    )
