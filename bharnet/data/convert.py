"""Turn any supported source into one dataset file of ours."""

from __future__ import annotations

import functools
import json
import os
import time
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from tqdm import tqdm

from bharnet.data.readers import SCANNERS
from bharnet.data.sample import Sample
from bharnet.data.source import Source
from bharnet.data.store import write_dataset
from bharnet.errors import ConfigError, DataFormatError


@dataclass
class ConversionReport:
    out: Path
    samples: int
    classes: int
    splits: dict[str, int]
    seconds: float
    skipped: list[str] = field(default_factory=list)  # "file: problem" per skipped item


def _safe_read(read_item, item) -> tuple[list[Sample], DataFormatError | None]:
    try:
        return read_item(item), None
    except DataFormatError as err:
        return [], err


def read_all(source: Source, workers: int, on_error: str, progress: bool) -> tuple[list[Sample], list[str]]:
    """Parse every item, in worker processes when the format is text parsing; keeps item order."""
    bar = tqdm(total=len(source.items), desc=f"reading {source.format}", unit="item", disable=not progress)
    samples: list[Sample] = []
    skipped: list[str] = []

    def collect(result: tuple[list[Sample], DataFormatError | None]) -> None:
        parsed, problem = result
        if problem is not None:
            if on_error == "stop":
                raise problem
            skipped.append(str(problem))
        samples.extend(parsed)
        bar.update()

    try:
        if source.parallel and workers > 1 and len(source.items) > 1:
            chunk = max(1, len(source.items) // (workers * 16))
            with get_context("spawn" if os.name == "nt" else "fork").Pool(workers) as pool:
                reader = functools.partial(_safe_read, source.read_item)  # picklable: problems come back as values
                for result in pool.imap(reader, source.items, chunksize=chunk):
                    collect(result)
        else:
            for item in source.items:
                collect(_safe_read(source.read_item, item))
    finally:
        bar.close()
    return samples, skipped


def convert(
    source_path: str | Path,
    fmt: str,
    out: str | Path,
    workers: int | None = None,
    on_error: str = "stop",
    extra_splits: str | Path | None = None,
    progress: bool = True,
    **options,
) -> ConversionReport:
    """Read ``source_path`` as format ``fmt`` and write the dataset file ``out``.

    ``extra_splits``: a JSON file {split name: [sample names]} added to the format's own splits (e.g. a
    protocol list the format cannot derive from names). ``on_error``: 'stop' at the first bad item, or
    'skip' it and report it.
    """
    if fmt not in SCANNERS:
        raise ConfigError(f"unknown format {fmt!r}; known: {', '.join(SCANNERS)}")
    if on_error not in ("stop", "skip"):
        raise ConfigError(f"on_error must be 'stop' or 'skip', not {on_error!r}")
    started = time.perf_counter()
    source = SCANNERS[fmt](source_path, **options)
    workers = workers or min(os.cpu_count() or 1, 8)
    samples, skipped = read_all(source, workers, on_error, progress)
    if not samples:
        raise DataFormatError(source.path, f"no readable samples ({len(skipped)} skipped)")
    splits = source.make_splits(samples)
    if extra_splits:
        splits |= _read_extra_splits(Path(extra_splits), [s.name for s in samples])
    info = {"format": fmt, "path": Path(source_path).name, "options": {k: str(v) for k, v in source.options.items()}}
    if skipped:
        info["skipped"] = skipped
    write_dataset(out, samples, source.classes, splits, source.layout, info)
    return ConversionReport(
        out=Path(out),
        samples=len(samples),
        classes=len(source.classes),
        splits={k: len(v) for k, v in sorted(splits.items())},
        seconds=time.perf_counter() - started,
        skipped=skipped,
    )


def _read_extra_splits(path: Path, names: list[str]) -> dict[str, list[int]]:
    try:
        spec = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise DataFormatError(path, f"cannot read the split file ({err})") from None
    if not isinstance(spec, dict) or not all(isinstance(v, list) for v in spec.values()):
        raise DataFormatError(path, "expected {split name: [sample names]}")
    index = {n: i for i, n in enumerate(names)}
    out = {}
    for split, members in spec.items():
        missing = [m for m in members if m not in index]
        if missing:
            problem = f"split {split!r}: {len(missing)} names are not in the dataset, e.g. {missing[0]!r}"
            raise DataFormatError(path, problem)
        out[split] = [index[m] for m in members]
    return out
