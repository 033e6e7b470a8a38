"""Frame sources: a video file, a folder of images, a webcam index or a stream URL, read with OpenCV.

OpenCV comes with the ``video`` extra (mediapipe); every failure names the input and what is wrong.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bharnet.errors import BharnetError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
STREAM_PREFIXES = ("rtsp://", "rtmp://", "http://", "https://", "udp://", "tcp://")


class VideoError(BharnetError):
    """A video, folder, camera or stream that cannot be read."""

    def __init__(self, source: str | Path, message: str):
        super().__init__(f"{source}: {message}")
        self.source = source


def require_cv2():
    try:
        import cv2
    except ImportError:
        raise BharnetError("video input needs OpenCV and MediaPipe: pip install 'bharnet[video]'") from None
    return cv2


def is_live(source: str) -> bool:
    """A webcam index ('0') or a network stream URL."""
    return source.isdigit() or source.lower().startswith(STREAM_PREFIXES)


@dataclass
class FrameSource:
    """Frames (BGR uint8, H x W x 3) of one input, with its rate and size; iterate once."""

    source: str
    fps: float
    width: int
    height: int
    frame_count: int  # 0 when unknown (live)
    _frames: Iterator[np.ndarray]

    def __iter__(self) -> Iterator[np.ndarray]:
        return self._frames


def open_frames(source: str | Path) -> FrameSource:
    """Open a video file, an image folder (sorted by name), a webcam index or a stream URL."""
    cv2 = require_cv2()
    text = str(source)
    path = Path(text)
    if not is_live(text):
        if not path.exists():
            raise VideoError(path, "no such file or folder")
        if path.is_dir():
            return _image_folder(path, cv2)
    capture = cv2.VideoCapture(int(text) if text.isdigit() else text)
    if not capture.isOpened():
        capture.release()
        what = "camera" if text.isdigit() else "stream" if is_live(text) else "video (unknown format or damaged)"
        raise VideoError(text, f"cannot be opened as a {what}")
    ok, first = capture.read()
    if not ok or first is None:
        capture.release()
        raise VideoError(text, "has no readable frame (empty, truncated or not a video)")
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    count = 0 if is_live(text) else max(int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), 0)

    def frames() -> Iterator[np.ndarray]:
        try:
            yield first
            while True:
                ok, frame = capture.read()
                if not ok or frame is None:
                    return
                yield frame
        finally:
            capture.release()

    return FrameSource(text, float(fps), first.shape[1], first.shape[0], count, frames())


def count_frames(source: str | Path) -> int:
    """Frames of a video counted by decoding it: for containers whose header reports no frame count."""
    return sum(1 for _ in open_frames(source))


def _image_folder(folder: Path, cv2) -> FrameSource:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise VideoError(folder, f"holds no images ({', '.join(IMAGE_SUFFIXES)})")
    first = cv2.imread(str(files[0]))
    if first is None:
        raise VideoError(files[0], "cannot be read as an image")

    def frames() -> Iterator[np.ndarray]:
        for file in files:
            image = cv2.imread(str(file))
            if image is None:
                raise VideoError(file, "cannot be read as an image")
            yield image

    return FrameSource(str(folder), 30.0, first.shape[1], first.shape[0], len(files), frames())


def list_videos(folder: Path) -> list[Path]:
    """Every video file under ``folder`` (recursively), sorted."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
