"""NTU RGB+D ``.skeleton`` files (Kinect v2, 25 joints, several bodies per frame)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bharnet.data.protocols import NTU120_CLASSES, NtuName, ntu_splits, ntu_version, read_name_list
from bharnet.data.readers.text import TextLines
from bharnet.data.sample import Sample
from bharnet.data.source import Source
from bharnet.errors import DataFormatError

NUM_JOINTS = 25
JOINT_VALUES = 12  # x y z depthX depthY colorX colorY orientationW..Z trackingState
BODY_VALUES = 10  # bodyID clippedEdges handLeft/Right Confidence/State isRestricted leanX leanY trackingState
# Noise-body rules of the NTU authors' preprocessing: too short a track, or wider than tall in most frames.
NOISE_MAX_FRAMES = 11
NOISE_SPREAD_RATIO = 0.8
NOISE_SPREAD_FRAMES = 0.69754


@dataclass
class _BodyTrack:
    frames: list[int] = field(default_factory=list)
    joints: list[np.ndarray] = field(default_factory=list)  # (25, 12) per frame

    def array(self) -> np.ndarray:
        return np.stack(self.joints)

    def is_noise(self) -> bool:
        if len(self.frames) <= NOISE_MAX_FRAMES:
            return True
        xyz = self.array()[:, :, :3]
        spread = xyz.max(axis=1) - xyz.min(axis=1)
        wide = spread[:, 0] > NOISE_SPREAD_RATIO * spread[:, 1]
        return wide.mean() > NOISE_SPREAD_FRAMES

    def motion(self) -> float:
        return float(self.array()[:, :, :3].var(axis=0).sum())


def parse_bodies(path: str | Path) -> tuple[int, dict[str, _BodyTrack]]:
    """Frame count and every body track in the file, keyed by Kinect body id."""
    text = TextLines(path)
    num_frames = text.next_int("frame count")
    if num_frames <= 0:
        raise text.error(f"frame count {num_frames}: the file holds no frames")
    tracks: dict[str, _BodyTrack] = {}
    for frame in range(num_frames):
        num_bodies = text.next_int(f"body count of frame {frame}")
        if num_bodies < 0:
            raise text.error(f"negative body count {num_bodies} in frame {frame}")
        for body in range(num_bodies):
            info = text.next_line(f"body {body} of frame {frame}").split()
            if len(info) != BODY_VALUES:
                raise text.error(f"body info of frame {frame}: expected {BODY_VALUES} values, found {len(info)}")
            num_joints = text.next_int(f"joint count of frame {frame}")
            if num_joints != NUM_JOINTS:
                raise text.error(f"expected {NUM_JOINTS} joints, found {num_joints}")
            joints = text.next_floats(JOINT_VALUES, NUM_JOINTS, f"joints of frame {frame} body {body}")
            track = tracks.setdefault(info[0], _BodyTrack())
            track.frames.append(frame)
            track.joints.append(joints)
    return num_frames, tracks


def select_bodies(tracks: dict[str, _BodyTrack], max_bodies: int = 2) -> list[_BodyTrack]:
    """Drop noise bodies, then keep the ``max_bodies`` most active ones (most active first).

    When every body looks like noise, the most active bodies are kept anyway: a short or odd track is
    still better evidence than none.
    """
    bodies = list(tracks.values())
    real = [b for b in bodies if not b.is_noise()] if len(bodies) > 1 else bodies
    return sorted(real or bodies, key=_BodyTrack.motion, reverse=True)[:max_bodies]


def read_ntu_skeleton(path: str | Path, max_bodies: int = 2) -> Sample:
    """One ``.skeleton`` file as a Sample (M, T, 25, 3) in metres.

    Scores: 1 for a tracked joint, 0.5 for an inferred one, 0 where the body is absent. The label comes
    from the file name (A001 -> 0). ``extras['color_xy']`` keeps the joints' colour-image positions.
    """
    path = Path(path)
    name = path.name.split(".")[0]
    try:
        ids = NtuName.parse(name)
    except ValueError as err:
        raise DataFormatError(path, f"{err}; the label is taken from the file name") from None
    num_frames, tracks = parse_bodies(path)
    if not tracks:
        raise DataFormatError(path, "no body in any frame (a sample with missing skeletons)")
    bodies = select_bodies(tracks, max_bodies)
    keypoints = np.zeros((len(bodies), num_frames, NUM_JOINTS, 3), dtype=np.float32)
    scores = np.zeros((len(bodies), num_frames, NUM_JOINTS), dtype=np.float32)
    color_xy = np.zeros((len(bodies), num_frames, NUM_JOINTS, 2), dtype=np.float32)
    for m, body in enumerate(bodies):
        joints = body.array()
        keypoints[m, body.frames] = joints[:, :, :3]
        scores[m, body.frames] = np.where(joints[:, :, 11] == 2, 1.0, 0.5)
        color_xy[m, body.frames] = joints[:, :, 5:7]
    meta = {
        "setup": ids.setup, "camera": ids.camera, "performer": ids.performer, "replication": ids.replication,
        "group": f"P{ids.performer:03d}", "bodies_in_file": len(tracks),
    }
    return Sample(keypoints, scores, ids.action - 1, name, meta, {"color_xy": color_xy}).validate(path, NUM_JOINTS)


def _read_item(path: Path, max_bodies: int) -> list[Sample]:
    return [read_ntu_skeleton(path, max_bodies)]


def scan(
    path: str | Path, missing: str | Path | None = None, version: int | None = None, max_bodies: int = 2
) -> Source:
    """A folder of ``.skeleton`` files; ``missing`` lists samples to leave out (the published list)."""
    root = Path(path)
    if not root.is_dir():
        raise DataFormatError(root, "expected a folder of NTU .skeleton files")
    excluded = set(read_name_list(missing)) if missing else set()
    files = sorted(p for p in root.rglob("*.skeleton") if p.name.split(".")[0] not in excluded)
    if not files:
        raise DataFormatError(root, "no .skeleton files found")
    names = [p.name.split(".")[0] for p in files]
    try:
        version = version or ntu_version(names)
    except ValueError as err:
        raise DataFormatError(root, str(err)) from None
    classes = list(NTU120_CLASSES[: 60 if version == 60 else 120])
    return Source(
        format="ntu",
        path=root,
        layout="ntu25",
        classes=classes,
        items=files,
        read_item=functools.partial(_read_item, max_bodies=max_bodies),
        make_splits=lambda samples: ntu_splits([s.name for s in samples], version),
        options={"version": version, "excluded": len(excluded), "max_bodies": max_bodies},
    )
