"""A line cursor for the text formats: every parse error names the file and line."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bharnet.errors import DataFormatError

FLOAT32_MAX = float(np.finfo(np.float32).max)  # samples are float32: larger values would become infinity


class TextLines:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            text = self.path.read_text()
        except UnicodeDecodeError:
            raise DataFormatError(self.path, "not a text file") from None
        except OSError as err:
            raise DataFormatError(self.path, f"cannot read ({err.strerror})") from None
        if not text.strip():
            raise DataFormatError(self.path, "empty file")
        self.lines = text.splitlines()
        self.position = 0  # index of the next line to read

    def error(self, problem: str, line: int | None = None) -> DataFormatError:
        return DataFormatError(self.path, problem, line=line if line is not None else self.position)

    def next_line(self, what: str) -> str:
        if self.position >= len(self.lines):
            raise self.error(f"file ends early (truncated?) while reading {what}", line=len(self.lines))
        self.position += 1
        return self.lines[self.position - 1]

    def next_int(self, what: str) -> int:
        text = self.next_line(what).strip()
        try:
            return int(text)
        except ValueError:
            raise self.error(f"expected an integer {what}, found {text[:40]!r}") from None

    def next_floats(self, count: int, rows: int, what: str) -> np.ndarray:
        """``rows`` lines of ``count`` numbers each, as a (rows, count) float64 array."""
        first = self.position + 1
        block = [self.next_line(what) for _ in range(rows)]
        try:
            values = np.array(" ".join(block).split(), dtype=np.float64)
        except ValueError:
            values = None
        if values is None or values.size != rows * count:
            for offset, line in enumerate(block):
                fields = line.split()
                try:
                    [float(f) for f in fields]
                except ValueError:
                    raise self.error(f"non-numeric value in {what}", line=first + offset) from None
                if len(fields) != count:
                    raise self.error(f"{what}: expected {count} values, found {len(fields)}", line=first + offset)
        values = values.reshape(rows, count)
        if not np.isfinite(values).all():
            bad = int(np.flatnonzero(~np.isfinite(values).all(axis=1))[0])
            raise self.error(f"NaN or infinite value in {what}", line=first + bad)
        if np.abs(values).max(initial=0) > FLOAT32_MAX:
            bad = int(np.flatnonzero(np.abs(values).max(axis=1) > FLOAT32_MAX)[0])
            raise self.error(f"value beyond the float32 range in {what}", line=first + bad)
        return values
