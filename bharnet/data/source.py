"""What a reader hands to the converter: the items to parse, how to parse one, classes and splits."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bharnet.data.sample import Sample


@dataclass
class Source:
    """A dataset on disk, ready to convert.

    ``read_item`` must be picklable (a module-level function or a partial of one) so the converter can
    parse items in worker processes when ``parallel`` is set. ``make_splits`` maps the parsed samples
    (in item order) to named splits of sample indices.
    """

    format: str
    path: Path
    layout: str
    classes: list[str]
    items: list[Any]
    read_item: Callable[[Any], list[Sample]]
    make_splits: Callable[[list[Sample]], dict[str, list[int]]]
    parallel: bool = True
    options: dict[str, Any] = field(default_factory=dict)


def splits_by_meta(samples: Sequence[Sample], key: str, prefix: str, train: Iterable[Any]) -> dict[str, list[int]]:
    """``prefix/train`` holds samples whose ``meta[key]`` is in ``train``; ``prefix/test`` the rest."""
    train = set(train)
    out: dict[str, list[int]] = {f"{prefix}/train": [], f"{prefix}/test": []}
    for i, s in enumerate(samples):
        out[f"{prefix}/train" if s.meta[key] in train else f"{prefix}/test"].append(i)
    return out


def splits_per_group(samples: Sequence[Sample]) -> dict[str, list[int]]:
    """One split per ``meta['group']`` value (signer, subject): the unit of grouped cross-validation."""
    out: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(samples):
        if "group" in s.meta:
            out[f"group/{s.meta['group']}"].append(i)
    return dict(out)


def holdout_splits(samples: Sequence[Sample], test_fraction: float = 0.2, seed: int = 0) -> dict[str, list[int]]:
    """A seeded, class-stratified train/test holdout for sources with no protocol of their own."""
    rng = np.random.default_rng(seed)
    by_class: dict[int, list[int]] = defaultdict(list)
    for i, s in enumerate(samples):
        by_class[s.label].append(i)
    train, test = [], []
    for label in sorted(by_class):
        members = rng.permutation(by_class[label]).tolist()
        n_test = max(1, round(len(members) * test_fraction)) if len(members) > 1 else 0
        test += members[:n_test]
        train += members[n_test:]
    return {"holdout/train": sorted(train), "holdout/test": sorted(test)}
