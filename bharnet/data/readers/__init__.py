"""Readers of every supported source format; each returns :class:`bharnet.data.sample.Sample`."""

from __future__ import annotations

from collections.abc import Callable

from bharnet.data.readers import mediapipe, ntu, nucla, pkummd, pyskl
from bharnet.data.source import Source

SCANNERS: dict[str, Callable[..., Source]] = {
    "ntu": ntu.scan,
    "nucla": nucla.scan,
    "pyskl": pyskl.scan,
    "pku-mmd": pkummd.scan,
    "mediapipe": mediapipe.scan,
}

__all__ = ["SCANNERS", "Source"]
