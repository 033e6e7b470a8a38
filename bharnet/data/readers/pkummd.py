"""PKU-MMD: one skeleton txt per video (a line per frame: 2 persons x 25 joints x xyz) plus a label file
per video (lines ``label,start,end,confidence``); each labelled interval becomes one sample."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from bharnet.data.readers.text import TextLines
from bharnet.data.sample import Sample
from bharnet.data.source import Source, splits_by_meta, splits_per_group
from bharnet.errors import DataFormatError

PERSONS, NUM_JOINTS = 2, 25
FRAME_VALUES = PERSONS * NUM_JOINTS * 3
NUM_CLASSES = 51
TRAIN_VIEWS = ("M", "R")  # cross-view protocol: middle and right cameras train, left tests
VIDEO_NAME = re.compile(r"(\d+)-([LMR])")


def read_pku_skeleton(path: str | Path) -> np.ndarray:
    """(T, 2, 25, 3) float32 from a PKU-MMD skeleton txt."""
    text = TextLines(path)
    rows = [i for i, line in enumerate(text.lines) if line.strip()]
    values = np.empty((len(rows), FRAME_VALUES))
    for frame, line_index in enumerate(rows):
        text.position = line_index
        values[frame] = text.next_floats(FRAME_VALUES, 1, f"frame {frame}")[0]
    return values.reshape(-1, PERSONS, NUM_JOINTS, 3).astype(np.float32)


def read_pku_labels(path: str | Path) -> list[tuple[int, int, int]]:
    """(0-based label, first frame, last frame) per labelled interval."""
    text = TextLines(path)
    intervals = []
    for number, line in enumerate(text.lines, 1):
        if not line.strip():
            continue
        fields = [f for f in re.split(r"[,\s]+", line.strip()) if f]
        try:
            label, start, end = (int(float(f)) for f in fields[:3])
        except (ValueError, OverflowError):
            raise DataFormatError(path, f"expected 'label,start,end,confidence', found {line[:40]!r}", number) from None
        if not 1 <= label <= NUM_CLASSES or start < 0 or end < start:
            problem = f"bad interval {line.strip()[:40]!r} (label 1..{NUM_CLASSES}, 0 <= start <= end)"
            raise DataFormatError(path, problem, number)
        intervals.append((label - 1, start, end))
    return intervals


def read_pku_video(skeleton: str | Path, labels: str | Path) -> list[Sample]:
    skeleton, labels = Path(skeleton), Path(labels)
    frames = read_pku_skeleton(skeleton)
    match = VIDEO_NAME.fullmatch(skeleton.stem)
    video, view = (int(match[1]), match[2]) if match else (skeleton.stem, "?")
    samples = []
    for k, (label, start, end) in enumerate(read_pku_labels(labels)):
        if start >= len(frames):
            raise DataFormatError(labels, f"interval {k} starts at frame {start}, the video has {len(frames)}")
        clip = frames[start : end + 1].transpose(1, 0, 2, 3)
        present = np.any(clip != 0, axis=-1)
        # persons by content, not slot: an actor recorded in slot 2 alone must not leave slot 1's zeros
        acting = present.any(axis=(1, 2))
        if not acting.any():
            raise DataFormatError(skeleton, f"interval {k} (frames {start}-{end}): no person in any frame")
        meta = {"video": skeleton.stem, "view": view, "start": start, "end": end, "group": str(video)}
        sample = Sample(clip[acting], present[acting].astype(np.float32), label, f"{skeleton.stem}_{k:03d}", meta)
        samples.append(sample.validate(skeleton, NUM_JOINTS))
    return samples


def _read_item(item: tuple[Path, Path]) -> list[Sample]:
    return read_pku_video(*item)


def _find_folder(root: Path, word: str) -> Path:
    found = [p for p in root.iterdir() if p.is_dir() and word in p.name.lower()]
    if len(found) != 1:
        raise DataFormatError(root, f"expected exactly one sub-folder whose name contains {word!r}, found {len(found)}")
    return found[0]


def _splits(samples: list[Sample]) -> dict[str, list[int]]:
    return splits_by_meta(samples, "view", "xview", TRAIN_VIEWS) | splits_per_group(samples)


def scan(path: str | Path, labels: str | Path | None = None) -> Source:
    """``path``: the skeleton folder (then ``labels`` is the label folder) or a folder holding both."""
    root = Path(path)
    if not root.is_dir():
        raise DataFormatError(root, "expected the PKU-MMD skeleton folder")
    skeleton_dir = root if labels else _find_folder(root, "skeleton")
    label_dir = Path(labels) if labels else _find_folder(root, "label")
    items = []
    for skeleton in sorted(skeleton_dir.glob("*.txt")):
        label_file = label_dir / skeleton.name
        if label_file.exists():
            items.append((skeleton, label_file))
    if not items:
        raise DataFormatError(skeleton_dir, f"no skeleton txt with a same-named label file in {label_dir}")
    classes = [f"A{k:02d}" for k in range(1, NUM_CLASSES + 1)]
    return Source("pku-mmd", root, "ntu25", classes, items, _read_item, _splits)
