"""pyskl / mmaction2 annotation pickles: {split: {name: [frame_dir]}, annotations: [...]}."""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any

import numpy as np

from bharnet.data.sample import Sample
from bharnet.data.source import Source, splits_per_group
from bharnet.errors import ConfigError, DataFormatError
from bharnet.skeleton.layouts import get_layout

MAX_CLASSES = 100_000  # without a class list, a larger label is a damaged file, not a class
# Joint count -> layout, used when the caller names none and the file does not say.
LAYOUT_BY_JOINTS = {25: "ntu25", 17: "coco17", 20: "nucla20", 75: "mediapipe_holistic75", 133: "coco_wholebody133"}
GROUP_KEYS = ("signer", "subject", "performer")
UNTRUSTED = (
    "refusing to unpickle: a pickle file can run arbitrary code when loaded. "
    "Load it only if you trust where it came from, then pass --trust (trusted=True)"
)


def load_annotation_pickle(path: str | Path, trusted: bool = False) -> dict[str, Any]:
    path = Path(path)
    if not trusted:
        raise DataFormatError(path, UNTRUSTED)
    try:
        content = path.read_bytes()  # loads() checks lengths against the bytes: a damaged size cannot over-read
    except OSError as err:
        raise DataFormatError(path, f"cannot read ({err.strerror or err})") from None
    try:
        data = pickle.loads(content)
    except Exception as err:  # a damaged pickle can raise almost any exception type
        raise DataFormatError(path, f"not a readable pickle (empty or truncated?): {type(err).__name__}: {err}") \
            from None
    if isinstance(data, list):  # mmaction2 also writes a bare annotation list
        data = {"annotations": data, "split": {}}
    if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
        raise DataFormatError(path, "expected a dict with an 'annotations' list")
    if not data["annotations"]:
        raise DataFormatError(path, "the annotations list is empty")
    return data


def _layout_from_header(data: dict[str, Any]) -> str | None:
    declared = data.get("layout")
    if not isinstance(declared, str):
        return None
    token = re.split(r"[:\s]", declared.strip(), maxsplit=1)[0]
    candidates = {token, re.sub(r"_(\d+)$", r"\1", token)}
    for candidate in candidates:
        try:
            return get_layout(candidate).name
        except ConfigError:
            continue
    return None


def annotation_to_sample(path: Path, index: int, ann: Any, num_joints: int) -> Sample:
    if not isinstance(ann, dict) or "keypoint" not in ann or "label" not in ann:
        raise DataFormatError(path, f"annotation {index} lacks keypoint or label")
    name = str(ann.get("frame_dir", f"sample{index:06d}"))
    try:
        keypoints = np.asarray(ann["keypoint"], dtype=np.float32)
        scores = np.asarray(ann["keypoint_score"], dtype=np.float32) if "keypoint_score" in ann else None
    except (ValueError, TypeError, OverflowError) as err:
        raise DataFormatError(path, f"{name}: keypoint or keypoint_score is not an array of numbers ({err})") \
            from None
    if keypoints.ndim != 4:
        raise DataFormatError(path, f"{name}: keypoint must be (M, T, V, C), got shape {keypoints.shape}")
    if scores is None:  # 3D files carry no scores: a joint is present where it is not all zeros
        scores = np.any(keypoints != 0, axis=-1).astype(np.float32)
    meta = {k: v for k, v in ann.items() if isinstance(v, str | int | float) and k not in ("frame_dir", "label")}
    group = next((ann[k] for k in GROUP_KEYS if k in ann), None)
    if group is not None:
        meta["group"] = str(group)
    label = ann["label"]
    if not isinstance(label, int | np.integer) or isinstance(label, bool):
        raise DataFormatError(path, f"{name}: label {label!r} is not an integer")
    return Sample(keypoints, scores, int(label), name, meta).validate(path, num_joints)


def scan(path: str | Path, trusted: bool = False, layout: str | None = None) -> Source:
    path = Path(path)
    data = load_annotation_pickle(path, trusted)
    head = data["annotations"][0]
    try:
        first = np.asarray(head.get("keypoint", ()) if isinstance(head, dict) else ())
    except (ValueError, TypeError, OverflowError):
        first = np.zeros(0)  # a ragged first annotation: reported with its name when it is read
    if layout is None:
        layout = _layout_from_header(data)
    if layout is None:
        joints = first.shape[2] if first.ndim == 4 else None
        if joints not in LAYOUT_BY_JOINTS:
            raise DataFormatError(path, f"cannot tell the layout of {joints}-joint keypoints; pass --layout")
        layout = LAYOUT_BY_JOINTS[joints]
    num_joints = get_layout(layout).num_joints
    samples = [annotation_to_sample(path, i, ann, num_joints) for i, ann in enumerate(data["annotations"])]
    num_classes = max(s.label for s in samples) + 1
    classes = data.get("classes")
    if not (isinstance(classes, list | tuple) and len(classes) >= num_classes):
        if num_classes > MAX_CLASSES:
            raise DataFormatError(path, f"label {num_classes - 1} with no class list: a damaged label?")
        classes = [f"class_{k}" for k in range(num_classes)]
    index_of = {s.name: i for i, s in enumerate(samples)}
    file_splits = data.get("split") or {}
    if not isinstance(file_splits, dict) or not all(
        isinstance(members, list | tuple) and all(isinstance(m, str) for m in members)
        for members in file_splits.values()
    ):
        raise DataFormatError(path, "'split' must map split names to lists of frame_dir names")

    def make_splits(parsed: list[Sample]) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for split, members in file_splits.items():
            unknown = [m for m in members if m not in index_of]
            if unknown:
                problem = f"split {split!r} names {len(unknown)} unknown samples, e.g. {unknown[0]!r}"
                raise DataFormatError(path, problem)
            out[str(split)] = [index_of[m] for m in members]
        return out | splits_per_group(parsed)

    return Source(
        format="pyskl",
        path=path,
        layout=layout,
        classes=[str(c) for c in classes],
        items=samples,
        read_item=lambda sample: [sample],
        make_splits=make_splits,
        parallel=False,
    )
