"""Northwestern-UCLA Multiview Action3D json files: {file_name, skeletons [T][20][3], label 1..10}."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from bharnet.data.protocols import NUCLA_CLASSES
from bharnet.data.sample import Sample
from bharnet.data.source import Source, splits_by_meta, splits_per_group
from bharnet.errors import DataFormatError

NUM_JOINTS = 20
NUCLA_NAME = re.compile(r"a(\d+)_s(\d+)_e(\d+)_v(\d+)")
TRAIN_VIEWS = (1, 2)  # the standard cross-view protocol tests on view 3


def read_nucla_json(path: str | Path) -> Sample:
    path = Path(path)
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise DataFormatError(path, f"invalid JSON ({err.msg})", line=err.lineno) from None
    except (OSError, UnicodeDecodeError) as err:
        raise DataFormatError(path, f"cannot read ({err})") from None
    except RecursionError:
        raise DataFormatError(path, "JSON nested too deeply to be a skeleton file") from None
    if not isinstance(record, dict) or not {"file_name", "skeletons", "label"} <= record.keys():
        raise DataFormatError(path, "expected an object with file_name, skeletons and label")
    name = str(record["file_name"])
    match = NUCLA_NAME.fullmatch(name)
    if not match:
        raise DataFormatError(path, f"file_name {name!r} is not aXX_sYY_eZZ_vVV")
    label = record["label"]
    if not isinstance(label, int) or isinstance(label, bool) or not 1 <= label <= len(NUCLA_CLASSES):
        raise DataFormatError(path, f"label {label!r} is not an integer in 1..{len(NUCLA_CLASSES)}")
    try:
        skeletons = np.asarray(record["skeletons"], dtype=np.float32)
    except (ValueError, TypeError, OverflowError):
        raise DataFormatError(path, "skeletons is not a regular [T][20][3] array of numbers") from None
    if skeletons.ndim != 3 or skeletons.shape[1:] != (NUM_JOINTS, 3) or len(skeletons) == 0:
        raise DataFormatError(path, f"skeletons must be [T][{NUM_JOINTS}][3] with T > 0, got {skeletons.shape}")
    action, subject, episode, view = (int(g) for g in match.groups())
    present = np.any(skeletons != 0, axis=-1).astype(np.float32)
    meta = {"action": action, "subject": subject, "episode": episode, "view": view, "group": f"s{subject:02d}"}
    return Sample(skeletons[None], present[None], label - 1, name, meta).validate(path, NUM_JOINTS)


def _read_item(path: Path) -> list[Sample]:
    return [read_nucla_json(path)]


def _splits(samples: list[Sample]) -> dict[str, list[int]]:
    return splits_by_meta(samples, "view", "xview", TRAIN_VIEWS) | splits_per_group(samples)


def scan(path: str | Path) -> Source:
    """A folder of N-UCLA json files (``all_sqe``)."""
    root = Path(path)
    if not root.is_dir():
        raise DataFormatError(root, "expected a folder of N-UCLA json files")
    files = sorted(root.glob("*.json"))
    if not files:
        raise DataFormatError(root, "no .json files found")
    return Source("nucla", root, "nucla20", list(NUCLA_CLASSES), files, _read_item, _splits)
