"""Shared fixtures. Real data lives in ../shared/data beside the repository: tests that need it skip when
it is absent, and fail instead when CI is set (so CI can never pass by skipping them)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def require_folder(folder: Path, what: str) -> Path:
    """``folder`` when it exists; else the test skips, or fails when CI is set (CI must run every test)."""
    if not folder.is_dir():
        reason = f"{what} {folder} is absent"
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI is set: ../shared must be beside the repository)")
        pytest.skip(reason)
    return folder


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return require_folder(SHARED_DATA, "real data folder")


@pytest.fixture(scope="session")
def converted(shared_data, tmp_path_factory):
    """Convert a real source once per session: converted('nucla') -> dataset file path."""
    from bharnet.data.convert import convert

    sources = {
        "nucla": ("nucla/all_sqe", "nucla", {}),
        "signs": ("signs-crowd/signs_crowd12.pkl", "pyskl", {"trusted": True}),
        "mario": ("mediapipe-raw/mario13546/MP_Data", "mediapipe", {}),
        "neat": ("mediapipe-raw/neat11/MP_DATA", "mediapipe", {}),
        "msl": ("mediapipe-raw/msl150-demo/sample_npy", "mediapipe", {}),
    }
    cache: dict[str, tuple[Path, object]] = {}
    folder = tmp_path_factory.mktemp("converted")

    def get(name: str):
        if name not in cache:
            source, fmt, options = sources[name]
            out = folder / f"{name}.bhd"
            cache[name] = (out, convert(shared_data / source, fmt, out, workers=2, progress=False, **options))
        return cache[name]

    return get


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
