"""Writing a file so that a crash (SIGKILL, power loss) leaves the old file or the new one, never a mix.

The content goes to a temporary file beside the target, is flushed to disk, and is renamed over the
target: a rename within one folder is atomic, so readers and a resumed run only ever see complete files.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def temporary_name(path: Path) -> Path:
    """A hidden name beside ``path``, unique per process, that keeps the suffix (numpy's savez would
    otherwise append .npz to it)."""
    return path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> Path:
    """``write(tmp)`` writes the whole content to ``tmp``; it then replaces ``path`` in one step."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        write(tmp)
        with tmp.open("rb") as f:
            os.fsync(f.fileno())  # the data is on disk before the name points at it
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text))
