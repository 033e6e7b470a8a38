"""The torch Dataset over a converted dataset file: (body, hands, label) per sample of a split."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from bharnet.data.pipeline import BodyHandPipeline, PipelineConfig
from bharnet.data.sample import Sample
from bharnet.data.store import DatasetFile
from bharnet.skeleton import body_hand_split


def hand_presence(file: DatasetFile, indices: Sequence[int]) -> np.ndarray:
    """Per sample, the fraction of its frames in which at least one hand of its first person is detected
    (NaN for a layout without hands)."""
    split = body_hand_split(file.layout_name)
    if not split.has_hands:
        return np.full(len(indices), np.nan)
    hand_joints = list(split.left_hand + split.right_hand)
    return np.array([(file[int(i)].scores[0][:, hand_joints] > 0).any(1).mean() for i in indices])


class BodyHandDataset(Dataset):
    """Yields ``(body (C, T, Vb, M), hands (C, T, Vh, Mh), body_mask (T, M), hand_mask (T, Mh), label)``:
    float32 tensors (masks 1 where the person or hand is seen) and an int64 label.

    ``split`` is a split name of the file, ``'all'``, or several joined by '+'. Random augmentation is
    drawn from a generator seeded by (seed, epoch, sample index), so results do not depend on the number
    of DataLoader workers and a resumed run sees the same data; call :meth:`set_epoch` each epoch.
    A source without hand joints yields hands with V = 0. ``corruption`` (see :mod:`bharnet.data.corruptions`)
    alters each raw sample first, with its own generator seeded by (seed, sample index).
    """

    def __init__(
        self,
        path: str | Path | DatasetFile,
        split: str | Sequence[str] = "all",
        config: PipelineConfig | None = None,
        train: bool = False,
        seed: int = 0,
        corruption: Callable[[Sample, np.random.Generator], Sample] | None = None,
    ):
        self.file = path if isinstance(path, DatasetFile) else DatasetFile(path)
        self.indices = self.file.split_indices(split)
        self.config = config or PipelineConfig()
        self.split = body_hand_split(self.file.layout_name)
        self.pipeline = BodyHandPipeline(self.split, self.config, train)
        self.seed = seed
        self.epoch = 0
        self.corruption = corruption

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    @property
    def classes(self) -> list[str]:
        return self.file.classes

    @property
    def num_classes(self) -> int:
        return len(self.file.classes)

    @property
    def labels(self) -> np.ndarray:
        return self.file.labels[self.indices]

    @property
    def groups(self) -> list[str]:
        return [str(self.file.meta[i].get("group", "")) for i in self.indices]

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, position: int):
        index = int(self.indices[position])
        sample = self.file[index]
        if self.corruption is not None:
            sample = self.corruption(sample, np.random.default_rng([self.seed, index, 1]))
        rng = np.random.default_rng([self.seed, self.epoch, index])
        inputs = self.pipeline(sample, rng)
        return (*(torch.from_numpy(x) for x in inputs), torch.tensor(sample.label, dtype=torch.int64))
