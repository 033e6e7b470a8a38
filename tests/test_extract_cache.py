"""``bharnet extract`` bookkeeping without running MediaPipe: cache names, stale caches, NTU frame alignment
when the container reports no frame count, and a run killed mid-way. Needs OpenCV (the video extra)."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest

from bharnet.video import extract
from bharnet.video.frames import open_frames
from tests.skeleton_files import ntu_body_motion, write_ntu_skeleton


@pytest.fixture(scope="module")
def cv2():
    try:
        import cv2
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("OpenCV is not installed (CI is set: video tests must run)")
        pytest.skip("the video extra (OpenCV) is not installed")
    return cv2


def write_video(cv2, path, frames: int, size=(64, 48)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, size)
    for t in range(frames):
        writer.write(np.full((size[1], size[0], 3), 10 * t % 255, np.uint8))
    writer.release()
    return path


def test_videos_differing_only_in_extension_get_their_own_cache_and_name(tmp_path):
    folder = tmp_path / "videos" / "wave"
    folder.mkdir(parents=True)
    for name in ("a.mp4", "a.avi", "b.mp4"):
        (folder / name).write_bytes(b"not decoded here")
    jobs = extract.plan_jobs(tmp_path / "videos", tmp_path / "out.bhd")
    assert len({job.cache for job in jobs}) == 3
    assert sorted(job.name for job in jobs) == ["wave__a.avi", "wave__a.mp4", "wave__b"]
    assert {job.label for job in jobs} == {"wave"}


def test_a_cache_is_stale_when_the_video_or_the_options_change(tmp_path, monkeypatch):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"frames")
    job = extract.plan_jobs(video, tmp_path / "out.bhd")[0]
    assert not job.is_cached()
    extract.save_npz(job.cache, keypoints=np.zeros(1), fingerprint=np.array(job.fingerprint()))
    assert job.is_cached()
    extract.save_npz(job.cache, keypoints=np.zeros(1))  # a cache of an older bharnet: no fingerprint
    assert not job.is_cached()
    extract.save_npz(job.cache, keypoints=np.zeros(1), fingerprint=np.array(job.fingerprint()))
    monkeypatch.setattr(extract, "MODEL_COMPLEXITY", 2)
    assert not job.is_cached()
    monkeypatch.undo()
    video.write_bytes(b"other frames")  # the video was replaced
    assert not job.is_cached()
    job.cache.write_bytes(b"PK\x03\x04 half a file")
    assert not job.is_cached()


def test_ntu_alignment_counts_frames_when_the_container_reports_none(cv2, tmp_path, monkeypatch):
    """Some containers report CAP_PROP_FRAME_COUNT = 0: every video frame must not map to skeleton frame 0."""
    name = "S001C001P001R001A001"
    video = write_video(cv2, tmp_path / f"{name}_rgb.avi", frames=20)
    motion = ntu_body_motion(20, seed=1, amplitude=0.3)
    skeleton = write_ntu_skeleton(tmp_path / f"{name}.skeleton", [[("1", motion[t])] for t in range(20)])

    def no_count(source):
        return dataclasses.replace(open_frames(source), frame_count=0)

    class NoHands:
        def __init__(self, *args):
            pass

        def close(self):
            pass

    seen = []
    monkeypatch.setattr(extract, "open_frames", no_count)
    monkeypatch.setattr(extract, "HolisticDetector", NoHands)
    monkeypatch.setattr(extract, "person_box", lambda *args: None)
    monkeypatch.setattr(extract, "align_frames", lambda source, target: seen.append(target) or np.arange(target))
    sample = extract.ntu_keypoints(video, skeleton)
    assert seen == [20] and sample.num_frames == 20
