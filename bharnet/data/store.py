"""Our dataset file: every sample of a converted dataset in one safetensors container.

Tensors: ``keypoints`` (sum T, M, V, C) and ``scores`` (sum T, M, V), samples concatenated along time;
``offsets`` (N + 1) frame offsets; ``labels`` (N); ``persons`` (N) persons actually present;
``split/<name>`` sample indices per named split. The header metadata ``bharnet`` holds JSON: format version,
layout name, class names, sample names, per-sample meta and where the data came from. Reads are lazy
(memory-mapped), so a DataLoader worker only touches the samples it serves.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file

from bharnet.atomic import atomic_write
from bharnet.data.sample import Sample
from bharnet.errors import ConfigError, DataFormatError
from bharnet.skeleton import get_layout

FORMAT_VERSION = 1
_SPLIT_PREFIX = "split/"


def write_dataset(
    path: str | Path,
    samples: Sequence[Sample],
    classes: Sequence[str],
    splits: dict[str, Sequence[int]],
    layout: str,
    source: dict[str, Any] | None = None,
) -> Path:
    """Write samples atomically (temporary file, then rename); pads persons to the largest M."""
    path = Path(path)
    if not samples:
        raise DataFormatError(path, "no samples to write")
    num_joints = get_layout(layout).num_joints
    channels = {s.keypoints.shape[-1] for s in samples}
    if len(channels) != 1:
        raise DataFormatError(path, f"samples mix coordinate sizes {sorted(channels)}")
    for s in samples:
        if s.keypoints.shape[2] != num_joints:
            raise DataFormatError(path, f"{s.name}: {s.keypoints.shape[2]} joints, layout {layout} has {num_joints}")
        if not 0 <= s.label < len(classes):
            raise DataFormatError(path, f"{s.name}: label {s.label} outside the {len(classes)} classes")
    names = [s.name for s in samples]
    if len(set(names)) != len(names):
        raise DataFormatError(path, "sample names are not unique")
    max_persons = max(s.num_persons for s in samples)
    lengths = np.array([s.num_frames for s in samples], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    c = channels.pop()
    keypoints = np.zeros((offsets[-1], max_persons, num_joints, c), dtype=np.float32)
    scores = np.zeros((offsets[-1], max_persons, num_joints), dtype=np.float32)
    for s, start, stop in zip(samples, offsets[:-1], offsets[1:], strict=True):
        keypoints[start:stop, : s.num_persons] = s.keypoints.transpose(1, 0, 2, 3)
        scores[start:stop, : s.num_persons] = s.scores.transpose(1, 0, 2)
    tensors = {
        "keypoints": keypoints,
        "scores": scores,
        "offsets": offsets,
        "labels": np.array([s.label for s in samples], dtype=np.int64),
        "persons": np.array([s.num_persons for s in samples], dtype=np.int64),
    }
    for split_name, indices in splits.items():
        tensors[_SPLIT_PREFIX + split_name] = np.asarray(sorted(indices), dtype=np.int64).reshape(-1)
    header = {
        "version": FORMAT_VERSION,
        "layout": layout,
        "classes": list(classes),
        "names": names,
        "meta": [s.meta for s in samples],
        "source": source or {},
    }
    return atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata={"bharnet": json.dumps(header)}))


class DatasetFile:
    """A converted dataset: random access to its samples, its class names, splits and layout."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise DataFormatError(self.path, "dataset file not found (make one with `bharnet convert`)")
        try:
            with safe_open(str(self.path), framework="np") as f:
                header = json.loads((f.metadata() or {})["bharnet"])
                keys = set(f.keys())
                self.offsets = f.get_tensor("offsets")
                self.labels = f.get_tensor("labels")
                self.persons = f.get_tensor("persons")
                self.splits = {k[len(_SPLIT_PREFIX) :]: f.get_tensor(k) for k in keys if k.startswith(_SPLIT_PREFIX)}
        except (SafetensorError, OSError, KeyError, json.JSONDecodeError, ValueError) as err:
            raise DataFormatError(self.path, f"not a bharnet dataset file ({err})") from None
        if header.get("version") != FORMAT_VERSION:
            found = header.get("version")
            raise DataFormatError(self.path, f"dataset format version {found}, this bharnet reads {FORMAT_VERSION}")
        self.layout_name: str = header["layout"]
        self.classes: list[str] = header["classes"]
        self.names: list[str] = header["names"]
        self.meta: list[dict[str, Any]] = header["meta"]
        self.source: dict[str, Any] = header["source"]
        self._handle = None
        self._handle_pid = -1

    @property
    def layout(self):
        return get_layout(self.layout_name)

    @property
    def coordinates(self) -> int:
        """Values per joint (3, or 2 for 2D sources)."""
        return int(self._tensors().get_slice("keypoints").get_shape()[-1])

    def __len__(self) -> int:
        return len(self.names)

    def split_indices(self, split: str | Sequence[str]) -> np.ndarray:
        """Indices of a named split; a list of names (or 'a+b') is their union; 'all' is every sample."""
        parts = split.split("+") if isinstance(split, str) else list(split)
        chosen = []
        for part in parts:
            if part == "all":
                chosen.append(np.arange(len(self)))
            elif part in self.splits:
                chosen.append(self.splits[part])
            else:
                known = ", ".join(sorted(self.splits)) or "none"
                raise ConfigError(f"{self.path}: no split {part!r}; splits in this file: all, {known}")
        return np.unique(np.concatenate(chosen))

    def relabel(self, split: str, mapping: dict[str, str]) -> int:
        """In memory only: the samples of ``split`` labelled with a key of ``mapping`` get the class it maps
        to (all at once, so a mapping may swap two classes). Returns how many samples changed."""
        if not isinstance(mapping, dict):
            raise ConfigError(f"{self.path}: relabel of split {split!r} must map class names to class names")
        unknown = sorted({str(name) for pair in mapping.items() for name in pair} - set(self.classes))
        if unknown:
            raise ConfigError(f"{self.path}: relabel of split {split!r} names unknown class(es) {', '.join(unknown)}; "
                              f"classes: {', '.join(self.classes)}")
        indices = self.split_indices(split)
        lookup = np.arange(len(self.classes))
        for source, target in mapping.items():
            lookup[self.classes.index(str(source))] = self.classes.index(str(target))
        labels = self.labels.copy()
        labels[indices] = lookup[self.labels[indices]]
        changed = int((labels != self.labels).sum())
        self.labels = labels
        return changed

    def _tensors(self):
        # A safetensors handle cannot cross fork(): each DataLoader worker opens its own.
        if self._handle is None or self._handle_pid != os.getpid():
            self._handle = safe_open(str(self.path), framework="np")
            self._handle_pid = os.getpid()
        return self._handle

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_handle"] = None
        return state

    def __getitem__(self, index: int) -> Sample:
        if not -len(self) <= index < len(self):
            raise IndexError(f"sample {index} out of range for {len(self)} samples")
        index = int(index) % len(self)
        start, stop = int(self.offsets[index]), int(self.offsets[index + 1])
        m = int(self.persons[index])
        f = self._tensors()
        keypoints = f.get_slice("keypoints")[start:stop, :m]
        scores = f.get_slice("scores")[start:stop, :m]
        return Sample(
            keypoints=np.ascontiguousarray(keypoints.transpose(1, 0, 2, 3)),
            scores=np.ascontiguousarray(scores.transpose(1, 0, 2)),
            label=int(self.labels[index]),
            name=self.names[index],
            meta=self.meta[index],
        )

    def summary(self) -> str:
        lengths = np.diff(self.offsets)
        lines = [
            f"{self.path}: {len(self)} samples, {len(self.classes)} classes, layout {self.layout_name}",
            f"  frames per sample: min {lengths.min()}, median {int(np.median(lengths))}, max {lengths.max()}",
            f"  persons per sample: max {self.persons.max()}",
        ]
        lines += [f"  split {name}: {len(idx)}" for name, idx in sorted(self.splits.items())]
        return "\n".join(lines)
